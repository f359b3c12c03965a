<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="es_ES" sourcelanguage="en">
<context>
    <name>CommissioningComparisonModel</name>
    <message>
        <source>%1: %2</source>
        <extracomment>A check's result in the comparison: "&lt;status&gt;: &lt;measured&gt;"</extracomment>
        <translation>%1: %2</translation>
    </message>
    <message>
        <source>Meter</source>
        <translation>Medidor</translation>
    </message>
    <message>
        <source>Check</source>
        <translation>Comprobación</translation>
    </message>
    <message>
        <source>Before</source>
        <translation>Antes</translation>
    </message>
    <message>
        <source>After</source>
        <translation>Después</translation>
    </message>
    <message>
        <source>Change</source>
        <translation>Cambio</translation>
    </message>
    <message>
        <source>same</source>
        <translation>igual</translation>
    </message>
    <message>
        <source>changed</source>
        <translation>cambiada</translation>
    </message>
    <message>
        <source>better</source>
        <translation>mejor</translation>
    </message>
    <message>
        <source>worse</source>
        <translation>peor</translation>
    </message>
    <message>
        <source>added</source>
        <translation>añadida</translation>
    </message>
    <message>
        <source>removed</source>
        <translation>eliminada</translation>
    </message>
</context>
<context>
    <name>CommissioningModel</name>
    <message>
        <source>Checking…</source>
        <translation>Comprobando…</translation>
    </message>
    <message>
        <source>Meter / check</source>
        <translation>Medidor / comprobación</translation>
    </message>
    <message>
        <source>Status</source>
        <translation>Estado</translation>
    </message>
    <message>
        <source>Measured</source>
        <translation>Valor medido</translation>
    </message>
    <message>
        <source>Explanation</source>
        <translation>Explicación</translation>
    </message>
    <message>
        <source>no checks yet</source>
        <translation>aún sin comprobaciones</translation>
    </message>
    <message>
        <source>no findings</source>
        <translation>sin incidencias</translation>
    </message>
    <message>
        <source>1 warning</source>
        <translation>1 aviso</translation>
    </message>
    <message numerus="yes">
        <source>%n warnings</source>
        <translation>
            <numerusform>%n aviso</numerusform>
            <numerusform>%n avisos</numerusform>
        </translation>
    </message>
    <message>
        <source>1 failure</source>
        <translation>1 fallo</translation>
    </message>
    <message numerus="yes">
        <source>%n failures</source>
        <translation>
            <numerusform>%n fallo</numerusform>
            <numerusform>%n fallos</numerusform>
        </translation>
    </message>
    <message>
        <source>%1, %2</source>
        <extracomment>A meter's findings: "2 warnings, 1 failure"</extracomment>
        <translation>%1, %2</translation>
    </message>
</context>
<context>
    <name>CommissioningPage</name>
    <message>
        <source>Commissioning</source>
        <translation>Puesta en servicio</translation>
    </message>
    <message>
        <source>Re-run</source>
        <translation>Repetir</translation>
    </message>
    <message>
        <source>Export commissioning CSV</source>
        <translation>Exportar CSV de puesta en servicio</translation>
    </message>
    <message>
        <source>CSV files (*.csv)</source>
        <translation>Archivos CSV (*.csv)</translation>
    </message>
    <message>
        <source>Export CSV</source>
        <translation>Exportar CSV</translation>
    </message>
    <message>
        <source>Export commissioning report</source>
        <translation>Exportar informe de puesta en servicio</translation>
    </message>
    <message>
        <source>PDF files (*.pdf)</source>
        <translation>Archivos PDF (*.pdf)</translation>
    </message>
    <message>
        <source>Export PDF</source>
        <translation>Exportar PDF</translation>
    </message>
    <message>
        <source>%1 — %2</source>
        <extracomment>A meter in the commissioning list: "&lt;name&gt; — &lt;host:port&gt;"</extracomment>
        <translation>%1 — %2</translation>
    </message>
    <message>
        <source>a commissioning run is in progress</source>
        <translation>hay una puesta en servicio en curso</translation>
    </message>
    <message>
        <source>no bridge to take the meters from</source>
        <translation>no hay ningún puente del que tomar los medidores</translation>
    </message>
    <message>
        <source>no meter selected</source>
        <translation>no hay ningún medidor seleccionado</translation>
    </message>
    <message>
        <source>meter %1 is not configured</source>
        <translation>el medidor %1 no está configurado</translation>
    </message>
    <message>
        <source>cannot store the session: %1</source>
        <translation>no se puede almacenar la sesión: %1</translation>
    </message>
    <message>
        <source>Sync clocks</source>
        <translation>Sincronizar relojes</translation>
    </message>
    <message>
        <source>Some clocks were not set:
%1</source>
        <translation>Algunos relojes no se pudieron ajustar:
%1</translation>
    </message>
    <message>
        <source>%1: %2</source>
        <extracomment>Why a meter's clock was not set: "&lt;meter&gt;: &lt;reason&gt;"</extracomment>
        <translation>%1: %2</translation>
    </message>
    <message>
        <source>no database: %1</source>
        <translation>sin base de datos: %1</translation>
    </message>
    <message>
        <source>Open session</source>
        <translation>Abrir sesión</translation>
    </message>
    <message>
        <source>no session is open</source>
        <translation>no hay ninguna sesión abierta</translation>
    </message>
    <message>
        <source>none of the session's meters is configured now</source>
        <translation>ya no hay ningún medidor de la sesión configurado</translation>
    </message>
    <message>
        <source>meter %1 is not part of the session</source>
        <translation>el medidor %1 no forma parte de la sesión</translation>
    </message>
    <message numerus="yes">
        <source>… and %n more</source>
        <translation>
            <numerusform>… y %n más</numerusform>
            <numerusform>… y %n más</numerusform>
        </translation>
    </message>
    <message>
        <source>%1 (%2 s)</source>
        <extracomment>A meter whose clock is off, in the clock sync question: "demo-4 (+600 s)"</extracomment>
        <translation>%1 (%2 s)</translation>
    </message>
    <message>
        <source>The clock of 1 meter is off by more than %1 s: %2.
Set it to this computer's time?</source>
        <translation>El reloj de 1 medidor difiere en más de %1 s: %2.
¿Ajustarlo a la hora de este equipo?</translation>
    </message>
    <message numerus="yes">
        <source>The clocks of %n meters are off by more than %1 s: %2.
Set them to this computer's time?</source>
        <translation>
            <numerusform>El reloj de %n medidor difiere en más de %1 s: %2.
¿Ajustarlo a la hora de este equipo?</numerusform>
            <numerusform>Los relojes de %n medidores difieren en más de %1 s: %2.
¿Ajustarlos a la hora de este equipo?</numerusform>
        </translation>
    </message>
    <message>
        <source>no session to export</source>
        <translation>no hay ninguna sesión que exportar</translation>
    </message>
    <message>
        <source>cannot write %1: %2</source>
        <translation>no se puede escribir %1: %2</translation>
    </message>
    <message>
        <source>no database file is set</source>
        <translation>no se ha definido ningún archivo de base de datos</translation>
    </message>
    <message>
        <source>Database: %1</source>
        <translation>Base de datos: %1</translation>
    </message>
    <message>
        <source>%1 of %2 meters</source>
        <translation>%1 de %2 medidores</translation>
    </message>
    <message>
        <source>Waiting for polling to pause…</source>
        <translation>Esperando a que se pause el sondeo…</translation>
    </message>
    <message>
        <source>Choose the meters, fill in the session and press Run.</source>
        <translation>Elija los medidores, complete los datos de la sesión y pulse Ejecutar.</translation>
    </message>
    <message>
        <source>Setting the clocks…</source>
        <translation>Ajustando los relojes…</translation>
    </message>
    <message>
        <source>Checking the meters…</source>
        <translation>Comprobando los medidores…</translation>
    </message>
    <message>
        <source>1 meter: %1 passed, %2 with warnings, %3 failed</source>
        <translation>1 medidor — correctos: %1, con avisos: %2, con fallos: %3</translation>
    </message>
    <message numerus="yes">
        <source>%n meters: %1 passed, %2 with warnings, %3 failed</source>
        <translation>
            <numerusform>%n medidor — correctos: %1, con avisos: %2, con fallos: %3</numerusform>
            <numerusform>%n medidores — correctos: %1, con avisos: %2, con fallos: %3</numerusform>
        </translation>
    </message>
    <message>
        <source>Cancelled. %1</source>
        <translation>Cancelada. %1</translation>
    </message>
    <message>
        <source>Not finished. %1</source>
        <translation>Sin terminar. %1</translation>
    </message>
    <message>
        <source>No session open.</source>
        <translation>No hay ninguna sesión abierta.</translation>
    </message>
    <message>
        <source>Session %1 · %2 · %3 · started %4</source>
        <translation>Sesión %1 · %2 · %3 · iniciada el %4</translation>
    </message>
    <message>
        <source>Session %1 · started %2</source>
        <translation>Sesión %1 · iniciada el %2</translation>
    </message>
    <message>
        <source>Session %1 · %2 · started %3</source>
        <extracomment>A session's line when only its site or only its technician is known</extracomment>
        <translation>Sesión %1 · %2 · iniciada el %3</translation>
    </message>
    <message>
        <source>No previous run to compare with.</source>
        <translation>No hay ninguna ejecución anterior con la que comparar.</translation>
    </message>
    <message>
        <source>Compared with session %1, %2</source>
        <translation>Comparación con la sesión %1, %2</translation>
    </message>
    <message>
        <source>%1: nothing changed.</source>
        <translation>%1: sin cambios.</translation>
    </message>
    <message>
        <source>%1: 1 change.</source>
        <translation>%1: 1 cambio.</translation>
    </message>
    <message numerus="yes">
        <source>%1: %n changes.</source>
        <translation>
            <numerusform>%1: %n cambio.</numerusform>
            <numerusform>%1: %n cambios.</numerusform>
        </translation>
    </message>
    <message>
        <source>Writing %1…</source>
        <translation>Escribiendo %1…</translation>
    </message>
    <message>
        <source>Exported to %1</source>
        <translation>Exportado a %1</translation>
    </message>
    <message>
        <source>Export failed: %1</source>
        <translation>Error al exportar: %1</translation>
    </message>
    <message>
        <source>Session</source>
        <translation>Sesión</translation>
    </message>
    <message>
        <source>&amp;Site:</source>
        <translation>E&amp;mplazamiento:</translation>
    </message>
    <message>
        <source>&amp;Technician:</source>
        <translation>&amp;Técnico:</translation>
    </message>
    <message>
        <source>&amp;Notes:</source>
        <translation>&amp;Notas:</translation>
    </message>
    <message>
        <source>Where the meters are</source>
        <translation>Dónde están los medidores</translation>
    </message>
    <message>
        <source>Who checks them</source>
        <translation>Quién los comprueba</translation>
    </message>
    <message>
        <source>Anything the report should say</source>
        <translation>Lo que deba indicar el informe</translation>
    </message>
    <message>
        <source>Meters to check</source>
        <translation>Medidores a comprobar</translation>
    </message>
    <message>
        <source>Search meters</source>
        <translation>Buscar medidores</translation>
    </message>
    <message>
        <source>&amp;All</source>
        <translation>T&amp;odos</translation>
    </message>
    <message>
        <source>N&amp;one</source>
        <translation>N&amp;inguno</translation>
    </message>
    <message>
        <source>&amp;Run</source>
        <translation>E&amp;jecutar</translation>
    </message>
    <message>
        <source>Check the selected meters and store the session</source>
        <translation>Comprobar los medidores seleccionados y almacenar la sesión</translation>
    </message>
    <message>
        <source>&amp;Cancel</source>
        <translation>&amp;Cancelar</translation>
    </message>
    <message>
        <source>R&amp;e-run</source>
        <translation>&amp;Repetir</translation>
    </message>
    <message>
        <source>Check the open session's meters again, as a new session</source>
        <translation>Volver a comprobar los medidores de la sesión abierta, como una sesión nueva</translation>
    </message>
    <message>
        <source>Sync c&amp;locks…</source>
        <translation>Sincronizar re&amp;lojes…</translation>
    </message>
    <message>
        <source>Set the clocks that are off to this computer's time</source>
        <translation>Ajustar a la hora de este equipo los relojes desfasados</translation>
    </message>
    <message>
        <source>Export CS&amp;V…</source>
        <translation>Exportar CS&amp;V…</translation>
    </message>
    <message>
        <source>Export &amp;PDF…</source>
        <translation>Exportar &amp;PDF…</translation>
    </message>
    <message>
        <source>Cancel export</source>
        <translation>Cancelar exportación</translation>
    </message>
    <message>
        <source>&amp;Open</source>
        <translation>A&amp;brir</translation>
    </message>
    <message>
        <source>Refresh</source>
        <translation>Actualizar</translation>
    </message>
    <message>
        <source>Results</source>
        <translation>Resultados</translation>
    </message>
    <message>
        <source>Sessions</source>
        <translation>Sesiones</translation>
    </message>
    <message>
        <source>Compare</source>
        <translation>Comparar</translation>
    </message>
</context>
<context>
    <name>CommissioningSessionModel</name>
    <message>
        <source>Started</source>
        <translation>Inicio</translation>
    </message>
    <message>
        <source>Site</source>
        <translation>Emplazamiento</translation>
    </message>
    <message>
        <source>Technician</source>
        <translation>Técnico</translation>
    </message>
    <message>
        <source>Meters</source>
        <translation>Medidores</translation>
    </message>
    <message>
        <source>Passed</source>
        <translation>Correctos</translation>
    </message>
    <message>
        <source>Warnings</source>
        <translation>Avisos</translation>
    </message>
    <message>
        <source>Failed</source>
        <translation>Fallos</translation>
    </message>
    <message>
        <source>State</source>
        <translation>Estado</translation>
    </message>
    <message>
        <source>running</source>
        <translation>en curso</translation>
    </message>
    <message>
        <source>finished</source>
        <translation>terminada</translation>
    </message>
    <message>
        <source>cancelled</source>
        <translation>cancelada</translation>
    </message>
</context>
<context>
    <name>DemoSite</name>
    <message>
        <source>demo meters: %1</source>
        <translation>medidores de demostración: %1</translation>
    </message>
    <message>
        <source>mosquitto is not installed: MQTT will show as unreachable</source>
        <translation>mosquitto no está instalado: MQTT aparecerá como inaccesible</translation>
    </message>
    <message>
        <source>Substation A — feeder 1</source>
        <translation>Subestación A — alimentador 1</translation>
    </message>
    <message>
        <source>Substation A — feeder 2</source>
        <translation>Subestación A — alimentador 2</translation>
    </message>
    <message>
        <source>Workshop (flaky)</source>
        <translation>Taller (inestable)</translation>
    </message>
    <message>
        <source>Pumping station</source>
        <translation>Estación de bombeo</translation>
    </message>
    <message>
        <source>Office block</source>
        <translation>Edificio de oficinas</translation>
    </message>
    <message>
        <source>Car park</source>
        <translation>Estacionamiento</translation>
    </message>
    <message>
        <source>Demo meter %1</source>
        <translation>Medidor de demostración %1</translation>
    </message>
    <message>
        <source>HDLC meter</source>
        <translation>Medidor HDLC</translation>
    </message>
    <message>
        <source>demo</source>
        <translation>demostración</translation>
    </message>
</context>
<context>
    <name>MainWindow</name>
    <message>
        <source>DLMS Bridge</source>
        <translation>DLMS Bridge</translation>
    </message>
    <message>
        <source>Meters</source>
        <translation>Medidores</translation>
    </message>
    <message>
        <source>Monitoring</source>
        <translation>Monitorización</translation>
    </message>
    <message>
        <source>Readings</source>
        <translation>Lecturas</translation>
    </message>
    <message>
        <source>Trace</source>
        <translation>Traza</translation>
    </message>
    <message>
        <source>Commissioning</source>
        <translation>Puesta en servicio</translation>
    </message>
    <message>
        <source>Settings</source>
        <translation>Configuración</translation>
    </message>
    <message>
        <source>&amp;File</source>
        <translation>&amp;Archivo</translation>
    </message>
    <message>
        <source>&amp;Export</source>
        <translation>&amp;Exportar</translation>
    </message>
    <message>
        <source>&amp;Help</source>
        <translation>Ay&amp;uda</translation>
    </message>
    <message>
        <source>Main toolbar</source>
        <translation>Barra de herramientas principal</translation>
    </message>
    <message>
        <source>&amp;Open configuration…</source>
        <translation>&amp;Abrir configuración…</translation>
    </message>
    <message>
        <source>Ctrl+O</source>
        <translation>Ctrl+O</translation>
    </message>
    <message>
        <source>&amp;Save configuration</source>
        <translation>&amp;Guardar configuración</translation>
    </message>
    <message>
        <source>Ctrl+S</source>
        <translation>Ctrl+S</translation>
    </message>
    <message>
        <source>Save configuration &amp;as…</source>
        <translation>Guardar configuración &amp;como…</translation>
    </message>
    <message>
        <source>Ctrl+Shift+S</source>
        <translation>Ctrl+Shift+S</translation>
    </message>
    <message>
        <source>S&amp;tart polling</source>
        <translation>&amp;Iniciar sondeo</translation>
    </message>
    <message>
        <source>Start the bridge: poll every meter, store and publish the readings</source>
        <translation>Iniciar el puente: sondear todos los medidores, almacenar y publicar las lecturas</translation>
    </message>
    <message>
        <source>Sto&amp;p polling</source>
        <translation>&amp;Detener sondeo</translation>
    </message>
    <message>
        <source>Stop the bridge cleanly: release the associations and publish what is stored</source>
        <translation>Detener el puente de forma ordenada: liberar las asociaciones y publicar lo almacenado</translation>
    </message>
    <message>
        <source>&amp;Quit</source>
        <translation>&amp;Salir</translation>
    </message>
    <message>
        <source>Ctrl+Q</source>
        <translation>Ctrl+Q</translation>
    </message>
    <message>
        <source>&amp;Readings as CSV…</source>
        <translation>&amp;Lecturas como CSV…</translation>
    </message>
    <message>
        <source>Export readings</source>
        <translation>Exportar lecturas</translation>
    </message>
    <message>
        <source>&amp;Network metrics as CSV…</source>
        <translation>&amp;Métricas de red como CSV…</translation>
    </message>
    <message>
        <source>Current &amp;chart as PNG…</source>
        <translation>&amp;Gráfico actual como PNG…</translation>
    </message>
    <message>
        <source>&amp;About DLMS Bridge</source>
        <translation>&amp;Acerca de DLMS Bridge</translation>
    </message>
    <message>
        <source>MQTT: stopped</source>
        <translation>MQTT: detenido</translation>
    </message>
    <message>
        <source>MQTT: connecting</source>
        <translation>MQTT: conectando</translation>
    </message>
    <message>
        <source>MQTT: connected</source>
        <translation>MQTT: conectado</translation>
    </message>
    <message>
        <source>MQTT: unreachable</source>
        <translation>MQTT: inaccesible</translation>
    </message>
    <message>
        <source>Open configuration</source>
        <translation>Abrir configuración</translation>
    </message>
    <message>
        <source>Configuration (*.json);;All files (*)</source>
        <translation>Configuración (*.json);;Todos los archivos (*)</translation>
    </message>
    <message>
        <source>Save configuration</source>
        <translation>Guardar configuración</translation>
    </message>
    <message>
        <source>Start polling</source>
        <translation>Iniciar sondeo</translation>
    </message>
    <message>
        <source>Exported to %1</source>
        <translation>Exportado a %1</translation>
    </message>
    <message>
        <source>CSV files (*.csv)</source>
        <translation>Archivos CSV (*.csv)</translation>
    </message>
    <message>
        <source>Export network metrics</source>
        <translation>Exportar métricas de red</translation>
    </message>
    <message>
        <source>Export chart</source>
        <translation>Exportar gráfico</translation>
    </message>
    <message>
        <source>PNG images (*.png)</source>
        <translation>Imágenes PNG (*.png)</translation>
    </message>
    <message>
        <source>About DLMS Bridge</source>
        <translation>Acerca de DLMS Bridge</translation>
    </message>
    <message>
        <source>&lt;h3&gt;DLMS Bridge %1&lt;/h3&gt;&lt;p&gt;Polls DLMS/COSEM meters over TCP (HDLC and the IEC 62056-47 wrapper), publishes their readings to ThingsBoard over MQTT, and shows what that costs the network.&lt;/p&gt;&lt;p&gt;Qt %2&lt;/p&gt;</source>
        <translation>&lt;h3&gt;DLMS Bridge %1&lt;/h3&gt;&lt;p&gt;Sondea medidores DLMS/COSEM sobre TCP (HDLC y el wrapper IEC 62056-47), publica sus lecturas en ThingsBoard mediante MQTT y muestra lo que eso le cuesta a la red.&lt;/p&gt;&lt;p&gt;Qt %2&lt;/p&gt;</translation>
    </message>
    <message>
        <source>Configuration saved to %1</source>
        <translation>Configuración guardada en %1</translation>
    </message>
    <message>
        <source>Exporting… %1 rows</source>
        <translation>Exportando… %1 filas</translation>
    </message>
    <message>
        <source>cannot write %1: %2</source>
        <translation>no se puede escribir %1: %2</translation>
    </message>
    <message>
        <source>cannot write %1</source>
        <translation>no se puede escribir %1</translation>
    </message>
    <message>
        <source>MQTT: off</source>
        <translation>MQTT: desactivado</translation>
    </message>
    <message>
        <source>Outbox: %1 (%2)</source>
        <translation>Cola de salida: %1 (%2)</translation>
    </message>
    <message>
        <source>Database: %1</source>
        <translation>Base de datos: %1</translation>
    </message>
    <message>
        <source>Database: %1 — ok</source>
        <translation>Base de datos: %1 — correcta</translation>
    </message>
    <message>
        <source>Database: %1 — failing</source>
        <translation>Base de datos: %1 — con fallos</translation>
    </message>
    <message>
        <source>%1 polls/s</source>
        <translation>%1 sondeos/s</translation>
    </message>
    <message>
        <source>Errors: %1</source>
        <translation>Errores: %1</translation>
    </message>
    <message>
        <source>%1 timeouts, %2 protocol errors, %3 failed polls, %4 reconnects; %5 meters failing</source>
        <translation>%1 tiempos de espera agotados, %2 errores de protocolo, %3 sondeos fallidos, %4 reconexiones; %5 medidores con fallos</translation>
    </message>
    <message>
        <source>Polling stopped</source>
        <translation>Sondeo detenido</translation>
    </message>
    <message>
        <source>Applied: nothing changed.</source>
        <translation>Aplicado: sin cambios.</translation>
    </message>
    <message>
        <source>Applied: %1.</source>
        <translation>Aplicado: %1.</translation>
    </message>
    <message>
        <source>Takes effect after a restart of polling: %1.</source>
        <translation>Surte efecto tras reiniciar el sondeo: %1.</translation>
    </message>
    <message>
        <source>Not saved: %1</source>
        <translation>No guardado: %1</translation>
    </message>
    <message>
        <source>Saved to %1.</source>
        <translation>Guardado en %1.</translation>
    </message>
    <message>
        <source>Stopping…</source>
        <translation>Deteniendo…</translation>
    </message>
    <message>
        <source>Export</source>
        <translation>Exportar</translation>
    </message>
    <message>
        <source>Cannot start on %1: %2
The previous configuration is kept.</source>
        <translation>No se puede iniciar con %1: %2
Se mantiene la configuración anterior.</translation>
    </message>
    <message>
        <source>polling is stopping; open the configuration again in a moment</source>
        <translation>el sondeo se está deteniendo; vuelva a abrir la configuración en un momento</translation>
    </message>
    <message>
        <source>Exporting to %1…</source>
        <translation>Exportando a %1…</translation>
    </message>
    <message>
        <source>%1 rows exported to %2</source>
        <translation>%1 filas exportadas a %2</translation>
    </message>
</context>
<context>
    <name>MeterCsvImport</name>
    <message>
        <source>line %1: %2: %3</source>
        <translation>línea %1: %2: %3</translation>
    </message>
    <message>
        <source>must be an integer from %1 to %2 (got %3)</source>
        <translation>debe ser un entero entre %1 y %2 (valor: %3)</translation>
    </message>
    <message>
        <source>must be wrapper or hdlc (got %1)</source>
        <translation>debe ser wrapper o hdlc (valor: %1)</translation>
    </message>
    <message>
        <source>must be none or low (got %1)</source>
        <translation>debe ser none o low (valor: %1)</translation>
    </message>
    <message>
        <source>the file is larger than 16 MiB</source>
        <translation>el archivo supera los 16 MiB</translation>
    </message>
    <message>
        <source>the file is not UTF-8 text</source>
        <translation>el archivo no es texto UTF-8</translation>
    </message>
    <message>
        <source>the file has no header row</source>
        <translation>el archivo no tiene fila de encabezado</translation>
    </message>
    <message>
        <source>the column "%1" appears twice</source>
        <translation>la columna "%1" aparece dos veces</translation>
    </message>
    <message>
        <source>the header has no "id" column</source>
        <translation>el encabezado no tiene columna "id"</translation>
    </message>
    <message>
        <source>the header has no "host" column</source>
        <translation>el encabezado no tiene columna "host"</translation>
    </message>
    <message>
        <source>line %1: a quoted field is not closed</source>
        <translation>línea %1: un campo entre comillas no está cerrado</translation>
    </message>
    <message>
        <source>line %1: %2 fields, but the header names %3</source>
        <translation>línea %1: %2 campos, pero el encabezado define %3</translation>
    </message>
    <message>
        <source>"%1" is already used on line %2</source>
        <translation>"%1" ya se usa en la línea %2</translation>
    </message>
    <message>
        <source>"%1" is already used by another meter</source>
        <translation>"%1" ya lo usa otro medidor</translation>
    </message>
</context>
<context>
    <name>MeterDialog</name>
    <message>
        <source>Meter</source>
        <translation>Medidor</translation>
    </message>
    <message>
        <source>Connection</source>
        <translation>Conexión</translation>
    </message>
    <message>
        <source>&amp;Id:</source>
        <translation>&amp;ID:</translation>
    </message>
    <message>
        <source>feeder-1</source>
        <translation>alimentador-1</translation>
    </message>
    <message>
        <source>Unique and stable: the database key and the MQTT device of the meter</source>
        <translation>Único y estable: la clave del medidor en la base de datos y su dispositivo MQTT</translation>
    </message>
    <message>
        <source>&amp;Name:</source>
        <translation>&amp;Nombre:</translation>
    </message>
    <message>
        <source>Feeder 1</source>
        <translation>Alimentador 1</translation>
    </message>
    <message>
        <source>Shown to the user and used as the ThingsBoard device name; the id when empty</source>
        <translation>Se muestra al usuario y se usa como nombre del dispositivo en ThingsBoard; si está vacío, se usa el ID</translation>
    </message>
    <message>
        <source>&amp;Host:</source>
        <translation>&amp;Host:</translation>
    </message>
    <message>
        <source>192.168.1.10</source>
        <translation>192.168.1.10</translation>
    </message>
    <message>
        <source>IP address or host name of the meter</source>
        <translation>Dirección IP o nombre de host del medidor</translation>
    </message>
    <message>
        <source>&amp;Port:</source>
        <translation>&amp;Puerto:</translation>
    </message>
    <message>
        <source>TCP port of the meter (4059 is the DLMS default)</source>
        <translation>Puerto TCP del medidor (4059 es el predeterminado de DLMS)</translation>
    </message>
    <message>
        <source>&amp;Transport:</source>
        <translation>&amp;Transporte:</translation>
    </message>
    <message>
        <source>How DLMS travels over TCP</source>
        <translation>Cómo viaja DLMS sobre TCP</translation>
    </message>
    <message>
        <source>Wrapper (IEC 62056-47)</source>
        <translation>Wrapper (IEC 62056-47)</translation>
    </message>
    <message>
        <source>HDLC (IEC 62056-46)</source>
        <translation>HDLC (IEC 62056-46)</translation>
    </message>
    <message>
        <source>&amp;Client address:</source>
        <translation>Dirección de &amp;cliente:</translation>
    </message>
    <message>
        <source>Client SAP: 16 public client, 1 management client</source>
        <translation>SAP del cliente: 16 cliente público, 1 cliente de gestión</translation>
    </message>
    <message>
        <source>&amp;Server address:</source>
        <translation>Dirección de &amp;servidor:</translation>
    </message>
    <message>
        <source>Logical device: wrapper destination port or HDLC upper address</source>
        <translation>Dispositivo lógico: puerto de destino del wrapper o dirección superior HDLC</translation>
    </message>
    <message>
        <source>P&amp;hysical address:</source>
        <translation>Dirección &amp;física:</translation>
    </message>
    <message>
        <source>HDLC lower address; 0 when not used</source>
        <translation>Dirección inferior HDLC; 0 si no se usa</translation>
    </message>
    <message>
        <source>Security</source>
        <translation>Seguridad</translation>
    </message>
    <message>
        <source>&amp;Authentication:</source>
        <translation>&amp;Autenticación:</translation>
    </message>
    <message>
        <source>None</source>
        <translation>Ninguna</translation>
    </message>
    <message>
        <source>Low (LLS password)</source>
        <translation>Baja (contraseña LLS)</translation>
    </message>
    <message>
        <source>Pass&amp;word:</source>
        <translation>&amp;Contraseña:</translation>
    </message>
    <message>
        <source>The LLS secret; never shown. Left empty when editing, the meter keeps its password</source>
        <translation>El secreto LLS; nunca se muestra. Si se deja vacío al editar, el medidor conserva su contraseña</translation>
    </message>
    <message>
        <source>Polling</source>
        <translation>Sondeo</translation>
    </message>
    <message>
        <source>Poll &amp;interval:</source>
        <translation>Intervalo de &amp;sondeo:</translation>
    </message>
    <message>
        <source> ms</source>
        <translation> ms</translation>
    </message>
    <message>
        <source>Time between two polls of the meter</source>
        <translation>Tiempo entre dos sondeos del medidor</translation>
    </message>
    <message>
        <source>C&amp;onnect timeout:</source>
        <translation>Tiempo de espera de &amp;conexión:</translation>
    </message>
    <message>
        <source>TCP connect and association must finish within this time</source>
        <translation>La conexión TCP y la asociación deben completarse dentro de este tiempo</translation>
    </message>
    <message>
        <source>&amp;Request timeout:</source>
        <translation>Tiempo de espera de &amp;petición:</translation>
    </message>
    <message>
        <source>Each request must be answered within this time</source>
        <translation>Cada petición debe responderse dentro de este tiempo</translation>
    </message>
    <message>
        <source>R&amp;etries:</source>
        <translation>&amp;Reintentos:</translation>
    </message>
    <message>
        <source>A failed poll is retried this many times</source>
        <translation>Número de veces que se reintenta un sondeo fallido</translation>
    </message>
    <message>
        <source>Ass&amp;ociation:</source>
        <translation>&amp;Asociación:</translation>
    </message>
    <message>
        <source>Keep open between polls</source>
        <translation>Mantener abierta entre sondeos</translation>
    </message>
    <message>
        <source>New association per poll</source>
        <translation>Nueva asociación en cada sondeo</translation>
    </message>
    <message>
        <source>Items</source>
        <translation>Elementos</translation>
    </message>
    <message>
        <source>ThingsBoard</source>
        <translation>ThingsBoard</translation>
    </message>
    <message>
        <source>Access &amp;token:</source>
        <translation>&amp;Token de acceso:</translation>
    </message>
    <message>
        <source>Device mode: the meter's own ThingsBoard access token; never shown. Left empty, the meter keeps its token</source>
        <translation>Modo dispositivo: el token de acceso propio del medidor en ThingsBoard; nunca se muestra. Si se deja vacío, el medidor conserva su token</translation>
    </message>
    <message>
        <source>Device t&amp;ype:</source>
        <translation>Tipo de &amp;dispositivo:</translation>
    </message>
    <message>
        <source>The device type sent when the gateway connects the meter; empty = the MQTT settings' device type</source>
        <translation>Tipo de dispositivo que se envía cuando el gateway conecta el medidor; vacío = el tipo de dispositivo de la configuración MQTT</translation>
    </message>
    <message>
        <source>Edit meter %1</source>
        <translation>Editar medidor %1</translation>
    </message>
    <message>
        <source>Add meter</source>
        <translation>Añadir medidor</translation>
    </message>
    <message>
        <source>unchanged</source>
        <translation>sin cambios</translation>
    </message>
    <message>
        <source>none</source>
        <translation>ninguno</translation>
    </message>
    <message>
        <source>Id</source>
        <translation>ID</translation>
    </message>
    <message>
        <source>must not be empty</source>
        <translation>no puede estar vacío</translation>
    </message>
    <message>
        <source>"%1" is already used by another meter</source>
        <translation>"%1" ya lo usa otro medidor</translation>
    </message>
    <message>
        <source>Host</source>
        <translation>Host</translation>
    </message>
    <message>
        <source>Port</source>
        <translation>Puerto</translation>
    </message>
    <message>
        <source>must be from 1 to 65535 (got %1)</source>
        <translation>debe estar entre 1 y 65535 (valor: %1)</translation>
    </message>
    <message>
        <source>name at least one value to read</source>
        <translation>indique al menos un valor para leer</translation>
    </message>
    <message>
        <source>Password</source>
        <translation>Contraseña</translation>
    </message>
    <message>
        <source>is required with low-level security (LLS)</source>
        <translation>es obligatoria con seguridad de bajo nivel (LLS)</translation>
    </message>
    <message>
        <source>Client address</source>
        <translation>Dirección de cliente</translation>
    </message>
    <message>
        <source>Server address</source>
        <translation>Dirección de servidor</translation>
    </message>
    <message>
        <source>Physical address</source>
        <translation>Dirección física</translation>
    </message>
    <message>
        <source>Poll interval</source>
        <translation>Intervalo de sondeo</translation>
    </message>
    <message>
        <source>Connect timeout</source>
        <translation>Tiempo de espera de conexión</translation>
    </message>
    <message>
        <source>Request timeout</source>
        <translation>Tiempo de espera de petición</translation>
    </message>
    <message>
        <source>Retries</source>
        <translation>Reintentos</translation>
    </message>
    <message>
        <source>%1: %2</source>
        <translation>%1: %2</translation>
    </message>
    <message>
        <source>Values to read on every poll, one OBIS code per line, optionally with the telemetry key in front and the interface class and attribute after it: &lt;tt&gt;voltage_l1=1.0.32.7.0.255 3:2&lt;/tt&gt;.</source>
        <translation>Valores que se leen en cada sondeo, un código OBIS por línea, opcionalmente con la clave de telemetría delante y la clase de interfaz y el atributo detrás: &lt;tt&gt;voltage_l1=1.0.32.7.0.255 3:2&lt;/tt&gt;.</translation>
    </message>
    <message>
        <source>One item per line: [key=]OBIS [class:attribute], e.g. 1.0.32.7.0.255, 1-0:32.7.0*255 or demand=1.0.1.4.0.255 5:3</source>
        <translation>Un elemento por línea: [clave=]OBIS [clase:atributo], p. ej. 1.0.32.7.0.255, 1-0:32.7.0*255 o demand=1.0.1.4.0.255 5:3</translation>
    </message>
    <message>
        <source>HLS-GMAC (high security)</source>
        <translation>HLS-GMAC (seguridad alta)</translation>
    </message>
    <message>
        <source>High-level security (suite 0, AES-GCM)</source>
        <translation>Seguridad de alto nivel (suite 0, AES-GCM)</translation>
    </message>
    <message>
        <source>Cipherin&amp;g:</source>
        <translation>Ci&amp;frado:</translation>
    </message>
    <message>
        <source>How every request and response of the association is protected</source>
        <translation>Cómo se protege cada petición y respuesta de la asociación</translation>
    </message>
    <message>
        <source>Authenticated</source>
        <translation>Autenticado</translation>
    </message>
    <message>
        <source>Encrypted</source>
        <translation>Cifrado</translation>
    </message>
    <message>
        <source>Authenticated and encrypted</source>
        <translation>Autenticado y cifrado</translation>
    </message>
    <message>
        <source>Syste&amp;m title:</source>
        <translation>Tí&amp;tulo del sistema:</translation>
    </message>
    <message>
        <source>The bridge's own system title, sent to the meter: 16 hex digits (3 manufacturer letters and 5 bytes)</source>
        <translation>El título de sistema propio del puente, enviado al medidor: 16 dígitos hexadecimales (3 letras de fabricante y 5 bytes)</translation>
    </message>
    <message>
        <source>Bloc&amp;k cipher key (EK):</source>
        <translation>Clave de cifrado de &amp;bloque (EK):</translation>
    </message>
    <message>
        <source>The global unicast encryption key, 32 hex digits; never shown. Left empty when editing, the meter keeps its key</source>
        <translation>La clave global de cifrado unicast, 32 dígitos hexadecimales; nunca se muestra. Si se deja vacía al editar, el medidor conserva su clave</translation>
    </message>
    <message>
        <source>A&amp;uthentication key (AK):</source>
        <translation>Clave de a&amp;utenticación (AK):</translation>
    </message>
    <message>
        <source>The authentication key, 32 hex digits; never shown. Left empty when editing, the meter keeps its key</source>
        <translation>La clave de autenticación, 32 dígitos hexadecimales; nunca se muestra. Si se deja vacía al editar, el medidor conserva su clave</translation>
    </message>
    <message>
        <source>&amp;Dedicated key per association</source>
        <translation>Clave de&amp;dicada por asociación</translation>
    </message>
    <message>
        <source>A fresh random key for each association, sent to the meter inside the ciphered association request</source>
        <translation>Una clave aleatoria nueva para cada asociación, enviada al medidor dentro de la petición de asociación cifrada</translation>
    </message>
    <message>
        <source>Genera&amp;l ciphering</source>
        <translation>Cifrado genera&amp;l</translation>
    </message>
    <message>
        <source>Send requests as general-glo-ciphering APDUs, which carry the system title in every message</source>
        <translation>Enviar las peticiones como APDU general-glo-ciphering, que llevan el título de sistema en cada mensaje</translation>
    </message>
    <message>
        <source>must contain only hex digits (0-9, A-F)</source>
        <translation>solo puede contener dígitos hexadecimales (0-9, A-F)</translation>
    </message>
    <message>
        <source>must be %1 hex digits (got %2)</source>
        <translation>debe tener %1 dígitos hexadecimales (tiene %2)</translation>
    </message>
    <message>
        <source>is required with HLS-GMAC authentication</source>
        <translation>es obligatorio con autenticación HLS-GMAC</translation>
    </message>
    <message>
        <source>is required when messages are ciphered</source>
        <translation>es obligatorio cuando los mensajes van cifrados</translation>
    </message>
    <message>
        <source>System title</source>
        <translation>Título del sistema</translation>
    </message>
    <message>
        <source>Block cipher key</source>
        <translation>Clave de cifrado de bloque</translation>
    </message>
    <message>
        <source>Authentication key</source>
        <translation>Clave de autenticación</translation>
    </message>
    <message>
        <source>is required when messages are authenticated</source>
        <translation>es obligatorio cuando los mensajes van autenticados</translation>
    </message>
    <message>
        <source>32 hex digits</source>
        <translation>32 dígitos hexadecimales</translation>
    </message>
    <message>
        <source>Authentication</source>
        <translation>Autenticación</translation>
    </message>
    <message>
        <source>Dedicated key per association</source>
        <translation>Clave dedicada por asociación</translation>
    </message>
    <message>
        <source>General ciphering</source>
        <translation>Cifrado general</translation>
    </message>
</context>
<context>
    <name>MeterListModel</name>
    <message>
        <source>Disconnected</source>
        <translation>Desconectado</translation>
    </message>
    <message>
        <source>Connecting</source>
        <translation>Conectando</translation>
    </message>
    <message>
        <source>Associating</source>
        <translation>Asociando</translation>
    </message>
    <message>
        <source>Associated</source>
        <translation>Asociado</translation>
    </message>
    <message>
        <source>Polling</source>
        <translation>Sondeando</translation>
    </message>
    <message>
        <source>Backing off</source>
        <translation>En espera de reintento</translation>
    </message>
    <message>
        <source>Circuit open</source>
        <translation>Circuito abierto</translation>
    </message>
    <message>
        <source>Paused</source>
        <translation>En pausa</translation>
    </message>
    <message>
        <source>HDLC</source>
        <translation>HDLC</translation>
    </message>
    <message>
        <source>Wrapper</source>
        <translation>Wrapper</translation>
    </message>
    <message>
        <source>%1 — %2</source>
        <translation>%1 — %2</translation>
    </message>
    <message>
        <source>Id: %1</source>
        <translation>ID: %1</translation>
    </message>
    <message>
        <source>Name</source>
        <translation>Nombre</translation>
    </message>
    <message>
        <source>Address</source>
        <translation>Dirección</translation>
    </message>
    <message>
        <source>Transport</source>
        <translation>Transporte</translation>
    </message>
    <message>
        <source>State</source>
        <translation>Estado</translation>
    </message>
    <message>
        <source>Last poll</source>
        <translation>Último sondeo</translation>
    </message>
    <message>
        <source>RTT</source>
        <translation>RTT</translation>
    </message>
    <message>
        <source>Success</source>
        <translation>Éxito</translation>
    </message>
    <message>
        <source>DLMS bytes</source>
        <translation>Bytes DLMS</translation>
    </message>
    <message>
        <source>MQTT messages</source>
        <translation>Msj. MQTT</translation>
    </message>
    <message>
        <source>The meter's name (its id when it has none)</source>
        <translation>Nombre del medidor (su ID si no tiene nombre)</translation>
    </message>
    <message>
        <source>Host and TCP port the meter is polled on</source>
        <translation>Host y puerto TCP en los que se sondea el medidor</translation>
    </message>
    <message>
        <source>DLMS transport: IEC 62056-47 wrapper or HDLC over TCP</source>
        <translation>Transporte DLMS: wrapper IEC 62056-47 o HDLC sobre TCP</translation>
    </message>
    <message>
        <source>What the poller is doing with the meter now, and why when it is failing</source>
        <translation>Lo que el sondeo está haciendo ahora con el medidor y, si falla, el motivo</translation>
    </message>
    <message>
        <source>Time since the meter last delivered a complete set of readings</source>
        <translation>Tiempo transcurrido desde que el medidor entregó por última vez un conjunto completo de lecturas</translation>
    </message>
    <message>
        <source>Average round trip of a request, from sending it to its complete response</source>
        <translation>Tiempo medio de ida y vuelta de una petición, desde su envío hasta su respuesta completa</translation>
    </message>
    <message>
        <source>Polls that delivered readings, out of the polls that came due</source>
        <translation>Sondeos que entregaron lecturas respecto a los sondeos programados</translation>
    </message>
    <message>
        <source>DLMS bytes sent to and received from the meter since the bridge started</source>
        <translation>Bytes DLMS enviados al medidor y recibidos de él desde el inicio del puente</translation>
    </message>
    <message>
        <source>MQTT messages with the meter's readings acknowledged by the broker</source>
        <translation>Mensajes MQTT con las lecturas del medidor confirmados por el bróker</translation>
    </message>
</context>
<context>
    <name>MetersPage</name>
    <message>
        <source>Meters</source>
        <translation>Medidores</translation>
    </message>
    <message>
        <source>&amp;Add…</source>
        <translation>&amp;Añadir…</translation>
    </message>
    <message>
        <source>Add a meter</source>
        <translation>Añadir un medidor</translation>
    </message>
    <message>
        <source>&amp;Edit…</source>
        <translation>&amp;Editar…</translation>
    </message>
    <message>
        <source>Edit the selected meter (or double-click it)</source>
        <translation>Editar el medidor seleccionado (o hacer doble clic sobre él)</translation>
    </message>
    <message>
        <source>&amp;Remove</source>
        <translation>E&amp;liminar</translation>
    </message>
    <message>
        <source>Remove the selected meters; their stored readings stay in the database</source>
        <translation>Eliminar los medidores seleccionados; sus lecturas almacenadas permanecen en la base de datos</translation>
    </message>
    <message>
        <source>&amp;Import CSV…</source>
        <translation>&amp;Importar CSV…</translation>
    </message>
    <message>
        <source>Add meters from a CSV file (columns id, host, name, port, transport, …)</source>
        <translation>Añadir medidores desde un archivo CSV (columnas id, host, name, port, transport, …)</translation>
    </message>
    <message>
        <source>&amp;Pause</source>
        <translation>&amp;Pausar</translation>
    </message>
    <message>
        <source>Stop polling the selected meters</source>
        <translation>Detener el sondeo de los medidores seleccionados</translation>
    </message>
    <message>
        <source>Re&amp;sume</source>
        <translation>&amp;Reanudar</translation>
    </message>
    <message>
        <source>Poll the selected meters again</source>
        <translation>Volver a sondear los medidores seleccionados</translation>
    </message>
    <message>
        <source>Pause a&amp;ll</source>
        <translation>Pausar &amp;todos</translation>
    </message>
    <message>
        <source>Stop polling every meter</source>
        <translation>Detener el sondeo de todos los medidores</translation>
    </message>
    <message>
        <source>Resume all</source>
        <translation>Reanudar todos</translation>
    </message>
    <message>
        <source>Poll every meter again</source>
        <translation>Volver a sondear todos los medidores</translation>
    </message>
    <message>
        <source>&amp;Test connection</source>
        <translation>Probar &amp;conexión</translation>
    </message>
    <message>
        <source>Connect to the selected meter, associate and read its identity (logical device name, serial number, firmware), without disturbing polling</source>
        <translation>Conectar con el medidor seleccionado, asociarse y leer su identidad (nombre de dispositivo lógico, número de serie, firmware) sin interferir con el sondeo</translation>
    </message>
    <message>
        <source>Search by name, id or host</source>
        <translation>Buscar por nombre, ID o host</translation>
    </message>
    <message>
        <source>Show only the meters whose name, id or host contains this text</source>
        <translation>Mostrar solo los medidores cuyo nombre, ID o host contiene este texto</translation>
    </message>
    <message>
        <source>Meter %1 added.</source>
        <translation>Medidor %1 añadido.</translation>
    </message>
    <message>
        <source>Meter %1 was not added: %2</source>
        <translation>No se añadió el medidor %1: %2</translation>
    </message>
    <message>
        <source>Meter %1 updated.</source>
        <translation>Medidor %1 actualizado.</translation>
    </message>
    <message>
        <source>Meter %1 was not updated: %2</source>
        <translation>No se actualizó el medidor %1: %2</translation>
    </message>
    <message>
        <source>Rename meter</source>
        <translation>Renombrar medidor</translation>
    </message>
    <message>
        <source>Rename meter %1 to %2?

The readings and statistics stored so far stay under %1; new ones are stored under %2.</source>
        <translation>¿Renombrar el medidor %1 como %2?

Las lecturas y estadísticas almacenadas hasta ahora permanecen bajo %1; las nuevas se almacenan bajo %2.</translation>
    </message>
    <message>
        <source>Meter %1 was not renamed: %2</source>
        <translation>No se renombró el medidor %1: %2</translation>
    </message>
    <message>
        <source>Meter %1 renamed to %2.</source>
        <translation>Medidor %1 renombrado como %2.</translation>
    </message>
    <message>
        <source>Remove meter %1?

Its stored readings and statistics stay in the database.</source>
        <translation>¿Eliminar el medidor %1?

Sus lecturas y estadísticas almacenadas permanecen en la base de datos.</translation>
    </message>
    <message numerus="yes">
        <source>Remove %n meters?

Their stored readings and statistics stay in the database.</source>
        <translation>
            <numerusform>¿Eliminar %n medidor?

Sus lecturas y estadísticas almacenadas permanecen en la base de datos.</numerusform>
            <numerusform>¿Eliminar %n medidores?

Sus lecturas y estadísticas almacenadas permanecen en la base de datos.</numerusform>
        </translation>
    </message>
    <message>
        <source>Remove meters</source>
        <translation>Eliminar medidores</translation>
    </message>
    <message>
        <source>Meter %1 removed.</source>
        <translation>Medidor %1 eliminado.</translation>
    </message>
    <message numerus="yes">
        <source>%n meters removed.</source>
        <translation>
            <numerusform>%n medidor eliminado.</numerusform>
            <numerusform>%n medidores eliminados.</numerusform>
        </translation>
    </message>
    <message>
        <source>%1 of %2 meters removed; the bridge refused the others.</source>
        <translation>%1 de %2 medidores eliminados; el puente rechazó los demás.</translation>
    </message>
    <message>
        <source>Import meters</source>
        <translation>Importar medidores</translation>
    </message>
    <message>
        <source>CSV files (*.csv *.txt);;All files (*)</source>
        <translation>Archivos CSV (*.csv *.txt);;Todos los archivos (*)</translation>
    </message>
    <message>
        <source>Cannot read %1: %2</source>
        <translation>No se puede leer %1: %2</translation>
    </message>
    <message>
        <source>Nothing imported from %1: %2</source>
        <translation>No se importó nada de %1: %2</translation>
    </message>
    <message numerus="yes">
        <source>… and %n more</source>
        <translation>
            <numerusform>… y %n más</numerusform>
            <numerusform>… y %n más</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>Nothing imported from %1: %n rows have problems.</source>
        <translation>
            <numerusform>No se importó nada de %1: %n fila tiene problemas.</numerusform>
            <numerusform>No se importó nada de %1: %n filas tienen problemas.</numerusform>
        </translation>
    </message>
    <message>
        <source>Nothing imported: %1 lists no meters.</source>
        <translation>No se importó nada: %1 no contiene ningún medidor.</translation>
    </message>
    <message numerus="yes">
        <source>%n meters imported.</source>
        <translation>
            <numerusform>%n medidor importado.</numerusform>
            <numerusform>%n medidores importados.</numerusform>
        </translation>
    </message>
    <message>
        <source>Polling is not running: start it first.</source>
        <translation>El sondeo no está en marcha: inícielo primero.</translation>
    </message>
    <message>
        <source>%1 paused</source>
        <translation>%1 en pausa</translation>
    </message>
    <message>
        <source>%1 resumed</source>
        <translation>%1 reanudado</translation>
    </message>
    <message numerus="yes">
        <source>%n meters paused</source>
        <translation>
            <numerusform>%n medidor en pausa</numerusform>
            <numerusform>%n medidores en pausa</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>%n meters resumed</source>
        <translation>
            <numerusform>%n medidor reanudado</numerusform>
            <numerusform>%n medidores reanudados</numerusform>
        </translation>
    </message>
    <message>
        <source>Test of %1: %2</source>
        <translation>Prueba de %1: %2</translation>
    </message>
    <message>
        <source>Testing %1…</source>
        <translation>Probando %1…</translation>
    </message>
    <message>
        <source>%1: %2</source>
        <translation>%1: %2</translation>
    </message>
    <message>
        <source>TCP connect: %1
Association: %2
Identity read: %3
Server max PDU: %4
Sent: %5, received: %6</source>
        <translation>Conexión TCP: %1
Asociación: %2
Lectura de identidad: %3
PDU máx. del servidor: %4
Enviados: %5, recibidos: %6</translation>
    </message>
</context>
<context>
    <name>MonitoringPage</name>
    <message>
        <source>Monitoring</source>
        <translation>Monitorización</translation>
    </message>
    <message>
        <source>&amp;Meter:</source>
        <translation>&amp;Medidor:</translation>
    </message>
    <message>
        <source>All meters together, or one meter</source>
        <translation>Todos los medidores juntos o un solo medidor</translation>
    </message>
    <message>
        <source>&amp;Range:</source>
        <translation>&amp;Intervalo:</translation>
    </message>
    <message>
        <source>Live: the last 5 minutes, one point per second. Longer ranges: the minute rollups stored in the database.</source>
        <translation>En vivo: los últimos 5 minutos, un punto por segundo. Intervalos más largos: los agregados por minuto almacenados en la base de datos.</translation>
    </message>
    <message>
        <source>Live (5 minutes)</source>
        <translation>En vivo (5 minutos)</translation>
    </message>
    <message>
        <source>Last hour</source>
        <translation>Última hora</translation>
    </message>
    <message>
        <source>Last 24 hours</source>
        <translation>Últimas 24 horas</translation>
    </message>
    <message>
        <source>Last 7 days</source>
        <translation>Últimos 7 días</translation>
    </message>
    <message>
        <source>A. Real-time bandwidth</source>
        <translation>A. Ancho de banda en tiempo real</translation>
    </message>
    <message>
        <source>The current second: application traffic for a meter, the monitored interfaces for all meters when they are sampled.</source>
        <translation>El segundo en curso: el tráfico de aplicación de un medidor o, para todos los medidores, las interfaces monitorizadas cuando se muestrean.</translation>
    </message>
    <message>
        <source>Upload</source>
        <translation>Subida</translation>
    </message>
    <message>
        <source>Download</source>
        <translation>Bajada</translation>
    </message>
    <message>
        <source>Total</source>
        <translation>Total</translation>
    </message>
    <message>
        <source>Packets TX</source>
        <translation>Paquetes TX</translation>
    </message>
    <message>
        <source>Packets RX</source>
        <translation>Paquetes RX</translation>
    </message>
    <message>
        <source>B. DLMS protocol statistics</source>
        <translation>B. Estadísticas del protocolo DLMS</translation>
    </message>
    <message>
        <source>Counted since the bridge started (or the meter first appeared).</source>
        <translation>Contados desde el inicio del puente (o desde la primera aparición del medidor).</translation>
    </message>
    <message>
        <source>Requests</source>
        <translation>Peticiones</translation>
    </message>
    <message>
        <source>Responses</source>
        <translation>Respuestas</translation>
    </message>
    <message>
        <source>Avg payload</source>
        <translation>Carga útil media</translation>
    </message>
    <message>
        <source>MQTT messages</source>
        <translation>Mensajes MQTT</translation>
    </message>
    <message>
        <source>C. Data consumption</source>
        <translation>C. Consumo de datos</translation>
    </message>
    <message>
        <source>Bytes on the wire since the bridge started (MQTT: whole PUBLISH packets).</source>
        <translation>Bytes transmitidos por la red desde el inicio del puente (MQTT: paquetes PUBLISH completos).</translation>
    </message>
    <message>
        <source>DLMS sent</source>
        <translation>DLMS enviados</translation>
    </message>
    <message>
        <source>DLMS received</source>
        <translation>DLMS recibidos</translation>
    </message>
    <message>
        <source>MQTT sent</source>
        <translation>MQTT enviados</translation>
    </message>
    <message>
        <source>D. Network efficiency</source>
        <translation>D. Eficiencia de red</translation>
    </message>
    <message>
        <source>Averages and peaks over the last 5 minutes; bytes per reading value since start.</source>
        <translation>Promedios y picos de los últimos 5 minutos; bytes por valor leído desde el inicio.</translation>
    </message>
    <message>
        <source>Avg upload</source>
        <translation>Subida media</translation>
    </message>
    <message>
        <source>Peak upload</source>
        <translation>Pico de subida</translation>
    </message>
    <message>
        <source>Avg download</source>
        <translation>Bajada media</translation>
    </message>
    <message>
        <source>Peak download</source>
        <translation>Pico de bajada</translation>
    </message>
    <message>
        <source>Bytes per reading (DLMS)</source>
        <translation>Bytes por lectura (DLMS)</translation>
    </message>
    <message>
        <source>Bytes per reading (MQTT)</source>
        <translation>Bytes por lectura (MQTT)</translation>
    </message>
    <message>
        <source>Latency and reliability</source>
        <translation>Latencia y fiabilidad</translation>
    </message>
    <message>
        <source>Round trip of DLMS requests, share of polls that delivered readings, messages waiting for the broker.</source>
        <translation>Tiempo de ida y vuelta de las peticiones DLMS, proporción de sondeos que entregaron lecturas y mensajes en espera del bróker.</translation>
    </message>
    <message>
        <source>RTT average</source>
        <translation>RTT medio</translation>
    </message>
    <message>
        <source>RTT p95</source>
        <translation>RTT p95</translation>
    </message>
    <message>
        <source>RTT max</source>
        <translation>RTT máximo</translation>
    </message>
    <message>
        <source>Poll success</source>
        <translation>Éxito de sondeo</translation>
    </message>
    <message>
        <source>Outbox backlog</source>
        <translation>Pendientes en cola de salida</translation>
    </message>
    <message>
        <source>E. Network issues</source>
        <translation>E. Incidencias de red</translation>
    </message>
    <message>
        <source>Shown while one of these figures is not zero.</source>
        <translation>Se muestra mientras alguna de estas cifras no sea cero.</translation>
    </message>
    <message>
        <source>Interface errors</source>
        <translation>Errores de interfaz</translation>
    </message>
    <message>
        <source>Interface drops</source>
        <translation>Descartes de interfaz</translation>
    </message>
    <message>
        <source>Timeouts</source>
        <translation>Tiempos de espera agotados</translation>
    </message>
    <message>
        <source>Reconnects</source>
        <translation>Reconexiones</translation>
    </message>
    <message>
        <source>Protocol errors</source>
        <translation>Errores de protocolo</translation>
    </message>
    <message>
        <source>Publish failures</source>
        <translation>Fallos de publicación</translation>
    </message>
    <message>
        <source>DLMS and MQTT counters of every meter since the bridge started; select a row to show that meter</source>
        <translation>Contadores DLMS y MQTT de cada medidor desde el inicio del puente; seleccione una fila para mostrar ese medidor</translation>
    </message>
    <message>
        <source>All meters</source>
        <translation>Todos los medidores</translation>
    </message>
    <message>
        <source>no database is configured</source>
        <translation>no hay ninguna base de datos configurada</translation>
    </message>
    <message>
        <source>History unavailable: %1</source>
        <translation>Historial no disponible: %1</translation>
    </message>
    <message>
        <source>Received: %1, sent: %2</source>
        <translation>Recibidos: %1, enviados: %2</translation>
    </message>
    <message>
        <source>%1 waiting, %2</source>
        <translation>%1 en espera, %2</translation>
    </message>
</context>
<context>
    <name>ReadingsModel</name>
    <message>
        <source>Meter</source>
        <translation>Medidor</translation>
    </message>
    <message>
        <source>Key</source>
        <translation>Clave</translation>
    </message>
    <message>
        <source>OBIS</source>
        <translation>OBIS</translation>
    </message>
    <message>
        <source>Value</source>
        <translation>Valor</translation>
    </message>
    <message>
        <source>Unit</source>
        <translation>Unidad</translation>
    </message>
    <message>
        <source>Quality</source>
        <translation>Calidad</translation>
    </message>
    <message>
        <source>Age</source>
        <translation>Antigüedad</translation>
    </message>
    <message>
        <source>good</source>
        <translation>correcta</translation>
    </message>
    <message>
        <source>failed</source>
        <translation>fallida</translation>
    </message>
    <message>
        <source>unscaled</source>
        <translation>sin escalar</translation>
    </message>
</context>
<context>
    <name>ReadingsPage</name>
    <message>
        <source>&amp;Meter:</source>
        <translation>&amp;Medidor:</translation>
    </message>
    <message>
        <source>&amp;Filter:</source>
        <translation>&amp;Filtro:</translation>
    </message>
    <message>
        <source>Key or OBIS code</source>
        <translation>Clave o código OBIS</translation>
    </message>
    <message>
        <source>&amp;History:</source>
        <translation>&amp;Historial:</translation>
    </message>
    <message>
        <source>Select a reading to plot its history.</source>
        <translation>Seleccione una lectura para representar su historial.</translation>
    </message>
    <message>
        <source>1 hour</source>
        <translation>1 hora</translation>
    </message>
    <message>
        <source>24 hours</source>
        <translation>24 horas</translation>
    </message>
    <message>
        <source>7 days</source>
        <translation>7 días</translation>
    </message>
    <message>
        <source>All meters</source>
        <translation>Todos los medidores</translation>
    </message>
    <message>
        <source>No database: readings history is not available.</source>
        <translation>Sin base de datos: el historial de lecturas no está disponible.</translation>
    </message>
    <message>
        <source>Cannot read the database: %1</source>
        <translation>No se puede leer la base de datos: %1</translation>
    </message>
    <message>
        <source>No stored readings of %1 in this range</source>
        <translation>No hay lecturas almacenadas de %1 en este intervalo</translation>
    </message>
    <message>
        <source>%1 points (of %2 readings) from %3 to %4</source>
        <translation>%1 puntos (de %2 lecturas) desde %3 hasta %4</translation>
    </message>
    <message>
        <source>%1 points from %2 to %3</source>
        <translation>%1 puntos desde %2 hasta %3</translation>
    </message>
    <message>
        <source>Reading…</source>
        <translation>Leyendo…</translation>
    </message>
</context>
<context>
    <name>SettingsPage</name>
    <message>
        <source>Settings</source>
        <translation>Configuración</translation>
    </message>
    <message>
        <source>MQTT</source>
        <translation>MQTT</translation>
    </message>
    <message>
        <source>Broker</source>
        <translation>Bróker</translation>
    </message>
    <message>
        <source>Publish readings over MQTT</source>
        <translation>Publicar las lecturas mediante MQTT</translation>
    </message>
    <message>
        <source>&amp;Mode:</source>
        <translation>&amp;Modo:</translation>
    </message>
    <message>
        <source>&amp;Host:</source>
        <translation>&amp;Servidor:</translation>
    </message>
    <message>
        <source>&amp;Port:</source>
        <translation>&amp;Puerto:</translation>
    </message>
    <message>
        <source>P&amp;rotocol:</source>
        <translation>P&amp;rotocolo:</translation>
    </message>
    <message>
        <source>&amp;Client ID:</source>
        <translation>ID de &amp;cliente:</translation>
    </message>
    <message>
        <source>&amp;Keepalive:</source>
        <translation>Intervalo &amp;keepalive:</translation>
    </message>
    <message>
        <source> s</source>
        <translation> s</translation>
    </message>
    <message>
        <source>Rate &amp;limit:</source>
        <translation>Límite de &amp;tasa:</translation>
    </message>
    <message>
        <source>Messages per second at most, so a drain after an outage does not trip the broker's rate limits</source>
        <translation>Máximo de mensajes por segundo, para que el vaciado tras una interrupción no dispare los límites de tasa del bróker</translation>
    </message>
    <message>
        <source>No limit</source>
        <translation>Sin límite</translation>
    </message>
    <message>
        <source> msg/s</source>
        <translation> msj/s</translation>
    </message>
    <message>
        <source>&amp;In flight:</source>
        <translation>Sin con&amp;firmar:</translation>
    </message>
    <message>
        <source>Messages published and not yet acknowledged by the broker, at most</source>
        <translation>Máximo de mensajes publicados y aún no confirmados por el bróker</translation>
    </message>
    <message>
        <source>&amp;Topic template:</source>
        <translation>P&amp;lantilla de tema:</translation>
    </message>
    <message>
        <source>Plain mode: the topic of each meter; {id} is the meter's id, {name} its name</source>
        <translation>Modo simple: el tema de cada medidor; {id} es el ID del medidor y {name}, su nombre</translation>
    </message>
    <message>
        <source>&amp;Device type:</source>
        <translation>Tipo de &amp;dispositivo:</translation>
    </message>
    <message>
        <source>Gateway mode: the device profile meters are created with, unless a meter names its own</source>
        <translation>Modo gateway: el perfil de dispositivo con el que se crean los medidores, salvo que un medidor indique el suyo</translation>
    </message>
    <message>
        <source>Credentials</source>
        <translation>Credenciales</translation>
    </message>
    <message>
        <source>&amp;Sign in with:</source>
        <translation>&amp;Iniciar sesión con:</translation>
    </message>
    <message>
        <source>Access &amp;token:</source>
        <translation>T&amp;oken de acceso:</translation>
    </message>
    <message>
        <source>&amp;Username:</source>
        <translation>&amp;Usuario:</translation>
    </message>
    <message>
        <source>Pass&amp;word:</source>
        <translation>Co&amp;ntraseña:</translation>
    </message>
    <message>
        <source>A secret may also be given as env:VARIABLE or file:/path.</source>
        <translation>Un secreto también puede indicarse como env:VARIABLE o file:/path.</translation>
    </message>
    <message>
        <source>TLS</source>
        <translation>TLS</translation>
    </message>
    <message>
        <source>Connect with T&amp;LS</source>
        <translation>Conectar con T&amp;LS</translation>
    </message>
    <message>
        <source>C&amp;A certificates:</source>
        <translation>Certificados C&amp;A:</translation>
    </message>
    <message>
        <source>Choose the CA certificates file</source>
        <translation>Elegir el archivo de certificados CA</translation>
    </message>
    <message>
        <source>…</source>
        <translation>…</translation>
    </message>
    <message>
        <source>Client c&amp;ertificate:</source>
        <translation>C&amp;ertificado de cliente:</translation>
    </message>
    <message>
        <source>Choose the client certificate file</source>
        <translation>Elegir el archivo del certificado de cliente</translation>
    </message>
    <message>
        <source>Client &amp;key:</source>
        <translation>Cla&amp;ve de cliente:</translation>
    </message>
    <message>
        <source>Choose the client key file</source>
        <translation>Elegir el archivo de la clave de cliente</translation>
    </message>
    <message>
        <source>&amp;Verify the broker's certificate</source>
        <translation>Verificar el certificado del &amp;bróker</translation>
    </message>
    <message>
        <source>Storage</source>
        <translation>Almacenamiento</translation>
    </message>
    <message>
        <source>Database</source>
        <translation>Base de datos</translation>
    </message>
    <message>
        <source>&amp;File:</source>
        <translation>&amp;Archivo:</translation>
    </message>
    <message>
        <source>Choose the database file</source>
        <translation>Elegir el archivo de base de datos</translation>
    </message>
    <message>
        <source>Keep &amp;readings:</source>
        <translation>Conservar &amp;lecturas:</translation>
    </message>
    <message>
        <source>Forever</source>
        <translation>Siempre</translation>
    </message>
    <message>
        <source> days</source>
        <translation> días</translation>
    </message>
    <message>
        <source>Keep network &amp;metrics:</source>
        <translation>Conservar &amp;métricas de red:</translation>
    </message>
    <message>
        <source>Keep &amp;events:</source>
        <translation>Conservar &amp;eventos:</translation>
    </message>
    <message>
        <source>Outbox (readings waiting for the broker)</source>
        <translation>Cola de salida (lecturas a la espera del bróker)</translation>
    </message>
    <message>
        <source>At most &amp;size:</source>
        <translation>&amp;Tamaño máximo:</translation>
    </message>
    <message>
        <source>Unbounded</source>
        <translation>Ilimitado</translation>
    </message>
    <message>
        <source> MB</source>
        <translation> MB</translation>
    </message>
    <message>
        <source>At most &amp;age:</source>
        <translation>Anti&amp;güedad máxima:</translation>
    </message>
    <message>
        <source> h</source>
        <translation> h</translation>
    </message>
    <message>
        <source>Polling</source>
        <translation>Sondeo</translation>
    </message>
    <message>
        <source>Engine</source>
        <translation>Motor</translation>
    </message>
    <message>
        <source>&amp;Worker threads:</source>
        <translation>&amp;Hilos de trabajo:</translation>
    </message>
    <message>
        <source>One per processor core</source>
        <translation>Uno por núcleo de procesador</translation>
    </message>
    <message>
        <source>New meters start with</source>
        <translation>Parámetros iniciales de los medidores nuevos</translation>
    </message>
    <message>
        <source>Poll &amp;interval:</source>
        <translation>&amp;Intervalo de sondeo:</translation>
    </message>
    <message>
        <source> ms</source>
        <translation> ms</translation>
    </message>
    <message>
        <source>&amp;Connect timeout:</source>
        <translation>Tiempo de espera de &amp;conexión:</translation>
    </message>
    <message>
        <source>&amp;Request timeout:</source>
        <translation>Tiempo de espera de p&amp;etición:</translation>
    </message>
    <message>
        <source>R&amp;etries:</source>
        <translation>Rei&amp;ntentos:</translation>
    </message>
    <message>
        <source>&amp;Transport:</source>
        <translation>&amp;Transporte:</translation>
    </message>
    <message>
        <source>Values new meters read</source>
        <translation>Valores que leen los medidores nuevos</translation>
    </message>
    <message>
        <source>Monitoring and API</source>
        <translation>Monitorización y API</translation>
    </message>
    <message>
        <source>Network monitoring</source>
        <translation>Monitorización de red</translation>
    </message>
    <message>
        <source>&amp;Interface:</source>
        <translation>&amp;Interfaz:</translation>
    </message>
    <message>
        <source>&amp;Summarise every:</source>
        <translation>Resumir &amp;cada:</translation>
    </message>
    <message>
        <source>One row of network metrics per meter is stored per period</source>
        <translation>Se almacena una fila de métricas de red por medidor en cada periodo</translation>
    </message>
    <message>
        <source>HTTP API</source>
        <translation>API HTTP</translation>
    </message>
    <message>
        <source>Serve the HTTP &amp;API</source>
        <translation>Servir la &amp;API HTTP</translation>
    </message>
    <message>
        <source>A&amp;ddress:</source>
        <translation>&amp;Dirección:</translation>
    </message>
    <message>
        <source>P&amp;ort:</source>
        <translation>P&amp;uerto:</translation>
    </message>
    <message>
        <source>Any free port</source>
        <translation>Cualquier puerto libre</translation>
    </message>
    <message>
        <source>&amp;Bearer token:</source>
        <translation>Token &amp;Bearer:</translation>
    </message>
    <message>
        <source>Language</source>
        <translation>Idioma</translation>
    </message>
    <message>
        <source>&amp;Language:</source>
        <translation>&amp;Idioma:</translation>
    </message>
    <message>
        <source>The language changes at once; it is kept for the next start.</source>
        <translation>El idioma cambia al momento; se conserva para el próximo inicio.</translation>
    </message>
    <message>
        <source>Show the settings in force again, dropping the edits</source>
        <translation>Volver a mostrar la configuración vigente, descartando los cambios</translation>
    </message>
    <message>
        <source>&amp;Revert</source>
        <translation>&amp;Revertir</translation>
    </message>
    <message>
        <source>Check the settings, apply them to the bridge and save the configuration file</source>
        <translation>Comprobar la configuración, aplicarla al puente y guardar el archivo de configuración</translation>
    </message>
    <message>
        <source>A&amp;pply</source>
        <translation>A&amp;plicar</translation>
    </message>
    <message>
        <source>Certificates and keys (*.pem *.crt *.cer *.key);;All files (*)</source>
        <translation>Certificados y claves (*.pem *.crt *.cer *.key);;Todos los archivos (*)</translation>
    </message>
    <message>
        <source>CA certificates</source>
        <translation>Certificados CA</translation>
    </message>
    <message>
        <source>Client certificate</source>
        <translation>Certificado de cliente</translation>
    </message>
    <message>
        <source>Client key</source>
        <translation>Clave de cliente</translation>
    </message>
    <message>
        <source>Database file</source>
        <translation>Archivo de base de datos</translation>
    </message>
    <message>
        <source>SQLite databases (*.db *.sqlite);;All files (*)</source>
        <translation>Bases de datos SQLite (*.db *.sqlite);;Todos los archivos (*)</translation>
    </message>
    <message>
        <source>settings</source>
        <translation>configuración</translation>
    </message>
    <message>
        <source>must not be empty with sign-in by access token</source>
        <translation>no puede estar vacío al iniciar sesión con token de acceso</translation>
    </message>
    <message>
        <source>must not be empty with sign-in by username and password</source>
        <translation>no puede estar vacío al iniciar sesión con usuario y contraseña</translation>
    </message>
    <message>
        <source>ThingsBoard gateway (one connection for every meter)</source>
        <translation>Gateway de ThingsBoard (una conexión para todos los medidores)</translation>
    </message>
    <message>
        <source>ThingsBoard devices (one connection per meter)</source>
        <translation>Dispositivos de ThingsBoard (una conexión por medidor)</translation>
    </message>
    <message>
        <source>Plain MQTT (a topic per meter)</source>
        <translation>MQTT simple (un tema por medidor)</translation>
    </message>
    <message>
        <source>No credentials</source>
        <translation>Sin credenciales</translation>
    </message>
    <message>
        <source>Access token</source>
        <translation>Token de acceso</translation>
    </message>
    <message>
        <source>Username and password</source>
        <translation>Usuario y contraseña</translation>
    </message>
    <message>
        <source>TCP (IEC 62056-47 wrapper)</source>
        <translation>TCP (wrapper IEC 62056-47)</translation>
    </message>
    <message>
        <source>HDLC over TCP</source>
        <translation>HDLC sobre TCP</translation>
    </message>
    <message>
        <source>System default</source>
        <translation>Predeterminado del sistema</translation>
    </message>
    <message>
        <source>every interface but loopback</source>
        <translation>todas las interfaces excepto loopback</translation>
    </message>
    <message>
        <source>unchanged</source>
        <translation>sin cambios</translation>
    </message>
    <message>
        <source>unchanged (%1)</source>
        <translation>sin cambios (%1)</translation>
    </message>
    <message>
        <source>the gateway's access token</source>
        <translation>el token de acceso del gateway</translation>
    </message>
    <message>
        <source>none</source>
        <translation>ninguna</translation>
    </message>
    <message>
        <source>none: no authentication</source>
        <translation>ninguno: sin autenticación</translation>
    </message>
    <message>
        <source>1.0.32.7.0.255
energy_import_wh=1.0.1.8.0.255 3:2</source>
        <translation>1.0.32.7.0.255
energy_import_wh=1.0.1.8.0.255 3:2</translation>
    </message>
    <message>
        <source>One item per line: an OBIS code, optionally with the telemetry key in front and the interface class and attribute after it (voltage_l1=1.0.32.7.0.255 3:2).</source>
        <translation>Un elemento por línea: un código OBIS, opcionalmente con la clave de telemetría delante y la clase de interfaz y el atributo detrás (voltage_l1=1.0.32.7.0.255 3:2).</translation>
    </message>
</context>
<context>
    <name>TraceModel</name>
    <message>
        <source>Link</source>
        <translation>Enlace</translation>
    </message>
    <message>
        <source>Association</source>
        <translation>Asociación</translation>
    </message>
    <message>
        <source>GET</source>
        <translation>GET</translation>
    </message>
    <message>
        <source>SET</source>
        <translation>SET</translation>
    </message>
    <message>
        <source>ACTION</source>
        <translation>ACTION</translation>
    </message>
    <message>
        <source>Release</source>
        <translation>Liberación</translation>
    </message>
    <message>
        <source>Exception</source>
        <translation>Excepción</translation>
    </message>
    <message>
        <source>Error</source>
        <translation>Error</translation>
    </message>
    <message>
        <source>Other</source>
        <translation>Otro</translation>
    </message>
    <message>
        <source>→ meter</source>
        <translation>→ medidor</translation>
    </message>
    <message>
        <source>← meter</source>
        <translation>← medidor</translation>
    </message>
    <message>
        <source>Time</source>
        <translation>Hora</translation>
    </message>
    <message>
        <source>Meter</source>
        <translation>Medidor</translation>
    </message>
    <message>
        <source>Direction</source>
        <translation>Sentido</translation>
    </message>
    <message>
        <source>Kind</source>
        <translation>Tipo</translation>
    </message>
    <message>
        <source>Size</source>
        <translation>Tamaño</translation>
    </message>
    <message>
        <source>Hex</source>
        <translation>Hex</translation>
    </message>
    <message>
        <source>Decode</source>
        <translation>Decodificación</translation>
    </message>
    <message numerus="yes">
        <source>… %n more lines</source>
        <translation>
            <numerusform>… %n línea más</numerusform>
            <numerusform>… %n líneas más</numerusform>
        </translation>
    </message>
    <message>
        <source>[decrypted] %1</source>
        <translation>[descifrado] %1</translation>
    </message>
    <message>
        <source>Deciphered with the meter's keys</source>
        <translation>Descifrado con las claves del medidor</translation>
    </message>
</context>
<context>
    <name>TracePage</name>
    <message>
        <source>&amp;Meter:</source>
        <translation>&amp;Medidor:</translation>
    </message>
    <message>
        <source>&amp;Kind:</source>
        <translation>&amp;Tipo:</translation>
    </message>
    <message>
        <source>Ask the bridge to trace the chosen meter, or every meter</source>
        <translation>Pedir al puente la traza del medidor elegido o de todos los medidores</translation>
    </message>
    <message>
        <source>Capture</source>
        <translation>Capturar</translation>
    </message>
    <message>
        <source>Hold the view still; new lines are kept and shown on resume</source>
        <translation>Congelar la vista; las líneas nuevas se conservan y se muestran al reanudar</translation>
    </message>
    <message>
        <source>Pause</source>
        <translation>Pausar</translation>
    </message>
    <message>
        <source>Clear</source>
        <translation>Borrar</translation>
    </message>
    <message>
        <source>Save the lines shown to a text file</source>
        <translation>Guardar las líneas mostradas en un archivo de texto</translation>
    </message>
    <message>
        <source>Save…</source>
        <translation>Guardar…</translation>
    </message>
    <message>
        <source>Select a line to see its decode and its bytes.</source>
        <translation>Seleccione una línea para ver su decodificación y sus bytes.</translation>
    </message>
    <message>
        <source>All meters</source>
        <translation>Todos los medidores</translation>
    </message>
    <message>
        <source>All kinds</source>
        <translation>Todos los tipos</translation>
    </message>
    <message>
        <source>Save trace</source>
        <translation>Guardar traza</translation>
    </message>
    <message>
        <source>Text files (*.txt);;All files (*)</source>
        <translation>Archivos de texto (*.txt);;Todos los archivos (*)</translation>
    </message>
    <message>
        <source>Cannot save the trace to %1: %2</source>
        <translation>No se puede guardar la traza en %1: %2</translation>
    </message>
    <message>
        <source>%1 lines, %2 dropped, %3 held while paused</source>
        <translation>%1 líneas, %2 descartadas, %3 retenidas durante la pausa</translation>
    </message>
    <message>
        <source>%1 of %2 lines, %3 dropped</source>
        <translation>%1 de %2 líneas, %3 descartadas</translation>
    </message>
    <message>
        <source>%1 lines, %2 dropped</source>
        <translation>%1 líneas, %2 descartadas</translation>
    </message>
    <message>
        <source>Resume</source>
        <translation>Reanudar</translation>
    </message>
    <message>
        <source>%1  %2  %3  %4  %5 bytes</source>
        <translation>%1  %2  %3  %4  %5 bytes</translation>
    </message>
</context>
<context>
    <name>TrafficChart</name>
    <message>
        <source>Bandwidth</source>
        <translation>Ancho de banda</translation>
    </message>
    <message>
        <source>kbit/s</source>
        <translation>kbit/s</translation>
    </message>
    <message>
        <source>TX (upload)</source>
        <translation>TX (subida)</translation>
    </message>
    <message>
        <source>RX (download)</source>
        <translation>RX (bajada)</translation>
    </message>
    <message>
        <source>Packet rate</source>
        <translation>Tasa de paquetes</translation>
    </message>
    <message>
        <source>packets/s</source>
        <translation>paquetes/s</translation>
    </message>
    <message>
        <source>TX packets</source>
        <translation>Paquetes TX</translation>
    </message>
    <message>
        <source>RX packets</source>
        <translation>Paquetes RX</translation>
    </message>
    <message>
        <source>Time</source>
        <translation>Tiempo</translation>
    </message>
</context>
<context>
    <name>app::CommissioningRun</name>
    <message>
        <source>%1 s</source>
        <translation>%1 s</translation>
    </message>
    <message>
        <source>no authentication</source>
        <translation>sin autenticación</translation>
    </message>
    <message>
        <source>cancelled</source>
        <translation>cancelada</translation>
    </message>
    <message>
        <source>broker acknowledged the gateway connect for %1 in %2</source>
        <translation>el bróker confirmó el mensaje de conexión del gateway para %1 en %2</translation>
    </message>
    <message>
        <source>broker acknowledged an attribute update of %1 in %2</source>
        <translation>el bróker confirmó una actualización de atributos de %1 en %2</translation>
    </message>
    <message>
        <source>broker acknowledged a message on %1 in %2</source>
        <translation>el bróker confirmó un mensaje en el tema %1 en %2</translation>
    </message>
    <message>
        <source>not reached: %1</source>
        <translation>no realizada: falló %1</translation>
    </message>
    <message>
        <source>connected to %1</source>
        <translation>conectado a %1</translation>
    </message>
    <message>
        <source>accepted (%1, PDU %2)</source>
        <translation>aceptada (%1, PDU %2)</translation>
    </message>
    <message>
        <source>associated in %1</source>
        <translation>asociado en %1</translation>
    </message>
    <message>
        <source>the meter refused the association: %1</source>
        <translation>el medidor rechazó la asociación: %1</translation>
    </message>
    <message>
        <source>LDN %1</source>
        <translation>LDN %1</translation>
    </message>
    <message>
        <source>serial %1</source>
        <translation>n.º de serie %1</translation>
    </message>
    <message>
        <source>firmware %1</source>
        <translation>versión de firmware %1</translation>
    </message>
    <message>
        <source>the identity objects could not be read: %1</source>
        <translation>no se pudieron leer los objetos de identidad: %1</translation>
    </message>
    <message>
        <source>the meter has no serial number and no logical device name</source>
        <translation>el medidor no tiene número de serie ni nombre de dispositivo lógico</translation>
    </message>
    <message>
        <source>identity read</source>
        <translation>identidad leída</translation>
    </message>
    <message>
        <source>no result</source>
        <translation>sin resultado</translation>
    </message>
    <message>
        <source>the clock could not be read: %1</source>
        <translation>no se pudo leer el reloj: %1</translation>
    </message>
    <message>
        <source>the meter's clock is not set</source>
        <translation>el reloj del medidor no está puesto en hora</translation>
    </message>
    <message>
        <source>DST not specified</source>
        <translation>horario de verano no especificado</translation>
    </message>
    <message>
        <source>DST on</source>
        <translation>horario de verano activo</translation>
    </message>
    <message>
        <source>DST off</source>
        <translation>horario de verano inactivo</translation>
    </message>
    <message>
        <source>no deviation</source>
        <translation>sin desviación horaria</translation>
    </message>
    <message>
        <source>%1 s (meter %2 %3, %4)</source>
        <translation>%1 s (medidor %2 %3, %4)</translation>
    </message>
    <message>
        <source>clock %1 s ahead of the laptop's UTC: more than %2 s</source>
        <translation>reloj adelantado %1 s respecto a la hora UTC del portátil: más de %2 s</translation>
    </message>
    <message>
        <source>clock %1 s behind the laptop's UTC: more than %2 s</source>
        <translation>reloj atrasado %1 s respecto a la hora UTC del portátil: más de %2 s</translation>
    </message>
    <message>
        <source>within %1 s of the laptop's UTC</source>
        <translation>dentro de un margen de %1 s respecto a la hora UTC del portátil</translation>
    </message>
    <message>
        <source>the meter flags its clock as invalid</source>
        <translation>el medidor marca su reloj como no válido</translation>
    </message>
    <message>
        <source>the meter flags its clock as doubtful</source>
        <translation>el medidor marca su reloj como dudoso</translation>
    </message>
    <message>
        <source>%1; %2</source>
        <translation>%1; %2</translation>
    </message>
    <message>
        <source>%1: the meter refuses the clock SET for this client/authentication</source>
        <translation>%1: el medidor rechaza el SET del reloj para este cliente/autenticación</translation>
    </message>
    <message>
        <source>the clock could not be read after the SET: %1</source>
        <translation>no se pudo leer el reloj después del SET: %1</translation>
    </message>
    <message>
        <source>%1 s → %2 s</source>
        <translation>%1 s → %2 s</translation>
    </message>
    <message>
        <source>clock set to the laptop's UTC</source>
        <translation>reloj ajustado a la hora UTC del portátil</translation>
    </message>
    <message>
        <source>still more than %1 s off after the SET</source>
        <translation>todavía desviado más de %1 s después del SET</translation>
    </message>
    <message>
        <source>read failed: %1</source>
        <translation>lectura fallida: %1</translation>
    </message>
    <message>
        <source>read; not a number</source>
        <translation>leído; no es un número</translation>
    </message>
    <message>
        <source>read unscaled: the scaler_unit could not be read (%1)</source>
        <translation>leído sin escalar: no se pudo leer el scaler_unit (%1)</translation>
    </message>
    <message>
        <source>%1 %2</source>
        <translation>%1 %2</translation>
    </message>
    <message>
        <source>read; no plausibility range</source>
        <translation>leído; sin rango de plausibilidad</translation>
    </message>
    <message>
        <source>±%1–%2</source>
        <translation>±%1–%2</translation>
    </message>
    <message>
        <source>%1–%2</source>
        <translation>%1–%2</translation>
    </message>
    <message>
        <source>%1 (%2)</source>
        <translation>%1 (%2)</translation>
    </message>
    <message>
        <source>within %1</source>
        <translation>dentro de %1</translation>
    </message>
    <message>
        <source>outside %1, within the tolerance %2</source>
        <translation>fuera de %1, dentro de la tolerancia %2</translation>
    </message>
    <message>
        <source>outside %1</source>
        <translation>fuera de %1</translation>
    </message>
    <message>
        <source>the object list cannot be read: %1</source>
        <translation>no se puede leer la lista de objetos: %1</translation>
    </message>
    <message>
        <source>%1: class %2 in the list, %3 configured</source>
        <translation>%1: clase %2 en la lista, %3 configurada</translation>
    </message>
    <message>
        <source>%1: attribute %2 not readable for this association</source>
        <translation>%1: atributo %2 no legible con esta asociación</translation>
    </message>
    <message>
        <source>%1 of %2 configured objects (%3 in the list)</source>
        <translation>%1 de %2 objetos configurados (%3 en la lista)</translation>
    </message>
    <message>
        <source>missing: %1</source>
        <translation>faltan: %1</translation>
    </message>
    <message>
        <source>every configured object is in the list</source>
        <translation>todos los objetos configurados están en la lista</translation>
    </message>
    <message>
        <source>no configured items to poll</source>
        <translation>no hay elementos configurados que sondear</translation>
    </message>
    <message>
        <source>%1 per poll (%2 sent, %3 received, %4 polls)</source>
        <translation>%1 por sondeo (%2 enviados, %3 recibidos, %4 sondeos)</translation>
    </message>
    <message>
        <source>%1 failed reads, %2 failed requests and %3 protocol errors during the baseline</source>
        <translation>%1 lecturas fallidas, %2 peticiones fallidas y %3 errores de protocolo durante la línea base</translation>
    </message>
    <message>
        <source>%1 requests per poll, every read answered</source>
        <translation>%1 peticiones por sondeo, todas las lecturas respondidas</translation>
    </message>
    <message>
        <source>average %1, max %2 (%3 requests)</source>
        <translation>media %1, máx. %2 (%3 peticiones)</translation>
    </message>
    <message>
        <source>average round trip above %1</source>
        <translation>tiempo medio de ida y vuelta superior a %1</translation>
    </message>
    <message>
        <source>average round trip within %1</source>
        <translation>tiempo medio de ida y vuelta no superior a %1</translation>
    </message>
    <message>
        <source>MQTT publishing is off</source>
        <translation>la publicación MQTT está desactivada</translation>
    </message>
    <message>
        <source>no acknowledgement from the broker within %1</source>
        <translation>sin confirmación del bróker en %1</translation>
    </message>
    <message>
        <source>no access token for this meter: Device mode publishes nothing for it</source>
        <translation>no hay token de acceso para este medidor: el modo dispositivo no publica nada para él</translation>
    </message>
    <message>
        <source>the broker connection refused the message</source>
        <translation>la conexión con el bróker rechazó el mensaje</translation>
    </message>
    <message>
        <source>no broker connection</source>
        <translation>sin conexión con el bróker</translation>
    </message>
    <message>
        <source>the connection closed</source>
        <translation>la conexión se cerró</translation>
    </message>
    <message>
        <source>logical device name</source>
        <translation>nombre de dispositivo lógico</translation>
    </message>
    <message>
        <source>serial number</source>
        <translation>número de serie</translation>
    </message>
    <message>
        <source>firmware version</source>
        <translation>versión de firmware</translation>
    </message>
    <message>
        <source>could not be read: %1</source>
        <translation>no se pudo leer: %1</translation>
    </message>
    <message>
        <source>not a number: cannot check against %1</source>
        <translation>no es un número: no se puede comprobar con %1</translation>
    </message>
    <message>
        <source>%1 is not a finite number</source>
        <translation>%1 no es un número finito</translation>
    </message>
    <message>
        <source>%1 with scaler %2 is out of the range of a number</source>
        <translation>%1 con escalador %2 queda fuera del rango de un número</translation>
    </message>
    <message>
        <source>cannot scale: %1</source>
        <translation>no se puede escalar: %1</translation>
    </message>
    <message>
        <source>none of %1 requests answered</source>
        <translation>ninguna de las %1 peticiones respondida</translation>
    </message>
    <message>
        <source>no request answered</source>
        <translation>ninguna petición respondida</translation>
    </message>
    <message>
        <source>average %1, max %2 (%3 of %4 requests answered)</source>
        <translation>media %1, máx. %2 (%3 de %4 peticiones respondidas)</translation>
    </message>
</context>
<context>
    <name>app::ConnectionTestResult</name>
    <message>
        <source>The connection closed early.</source>
        <translation>La conexión se cerró antes de tiempo.</translation>
    </message>
    <message>
        <source>no answer</source>
        <translation>sin respuesta</translation>
    </message>
    <message>
        <source>Cannot connect: %1</source>
        <translation>No se puede conectar: %1</translation>
    </message>
    <message>
        <source>Connected in %1, association failed: %2</source>
        <translation>Conectado en %1, falló la asociación: %2</translation>
    </message>
    <message>
        <source>Associated in %1, identity read failed: %2</source>
        <translation>Asociado en %1, falló la lectura de identidad: %2</translation>
    </message>
    <message>
        <source>logical device name %1</source>
        <translation>nombre de dispositivo lógico %1</translation>
    </message>
    <message>
        <source>serial number %1</source>
        <translation>número de serie %1</translation>
    </message>
    <message>
        <source>firmware %1</source>
        <translation>versión de firmware %1</translation>
    </message>
    <message>
        <source>Associated in %1 — the meter has no identity objects</source>
        <translation>Asociado en %1 — el medidor no tiene objetos de identidad</translation>
    </message>
    <message>
        <source>Associated in %1 — %2</source>
        <translation>Asociado en %1 — %2</translation>
    </message>
</context>
<context>
    <name>commissioning</name>
    <message>
        <source>TCP connection</source>
        <translation>Conexión TCP</translation>
    </message>
    <message>
        <source>Association</source>
        <translation>Asociación</translation>
    </message>
    <message>
        <source>Identity</source>
        <translation>Identidad</translation>
    </message>
    <message>
        <source>Clock</source>
        <translation>Reloj</translation>
    </message>
    <message>
        <source>Clock synchronisation</source>
        <translation>Sincronización del reloj</translation>
    </message>
    <message>
        <source>Object list</source>
        <translation>Lista de objetos</translation>
    </message>
    <message>
        <source>MQTT round trip</source>
        <translation>Ida y vuelta MQTT</translation>
    </message>
    <message>
        <source>Traffic per poll</source>
        <translation>Tráfico por sondeo</translation>
    </message>
    <message>
        <source>Round-trip time</source>
        <translation>Tiempo de ida y vuelta</translation>
    </message>
    <message>
        <source>Pass</source>
        <translation>Correcto</translation>
    </message>
    <message>
        <source>Warning</source>
        <translation>Aviso</translation>
    </message>
    <message>
        <source>Fail</source>
        <translation>Fallo</translation>
    </message>
    <message>
        <source>Skipped</source>
        <translation>Omitido</translation>
    </message>
    <message>
        <source>Register %1</source>
        <translation>Registro %1</translation>
    </message>
</context>
<context>
    <name>main</name>
    <message>
        <source>DLMS Bridge: polls DLMS/COSEM meters, publishes their readings to ThingsBoard over MQTT, and shows what that costs the network.</source>
        <translation>DLMS Bridge: sondea medidores DLMS/COSEM, publica sus lecturas en ThingsBoard mediante MQTT y muestra lo que eso le cuesta a la red.</translation>
    </message>
    <message>
        <source>Run on the embedded demo: simulated meters on loopback (one of them flaky), a local mosquitto broker when installed, and a demo database in the user's data directory.</source>
        <translation>Ejecutar la demostración integrada: medidores simulados en loopback (uno de ellos inestable), un bróker mosquitto local si está instalado y una base de datos de demostración en el directorio de datos del usuario.</translation>
    </message>
    <message>
        <source>How many simulated meters the demo runs (2-200, default 5).</source>
        <translation>Cuántos medidores simulados ejecuta la demostración (2-200, 5 por defecto).</translation>
    </message>
    <message>
        <source>The configuration file (default: %1).</source>
        <translation>El archivo de configuración (por defecto: %1).</translation>
    </message>
    <message>
        <source>The interface language: en or es (default: the saved choice, else the system's).</source>
        <translation>El idioma de la interfaz: en o es (por defecto: la opción guardada o, en su defecto, la del sistema).</translation>
    </message>
    <message>
        <source>mosquitto is not installed: the demo's MQTT broker is unreachable and the outbox grows until one is (apt install mosquitto).</source>
        <translation>mosquitto no está instalado: el bróker MQTT de la demostración es inaccesible y la cola de salida crece hasta que haya uno (apt install mosquitto).</translation>
    </message>
    <message>
        <source>DLMS Bridge</source>
        <translation>DLMS Bridge</translation>
    </message>
</context>
<context>
    <name>monitor::Format</name>
    <message>
        <source>KB</source>
        <translation>KB</translation>
    </message>
    <message>
        <source>MB</source>
        <translation>MB</translation>
    </message>
    <message>
        <source>GB</source>
        <translation>GB</translation>
    </message>
    <message>
        <source>TB</source>
        <translation>TB</translation>
    </message>
    <message>
        <source>B</source>
        <translation>B</translation>
    </message>
    <message>
        <source>kbit/s</source>
        <translation>kbit/s</translation>
    </message>
    <message>
        <source>Mbit/s</source>
        <translation>Mbit/s</translation>
    </message>
    <message>
        <source>Gbit/s</source>
        <translation>Gbit/s</translation>
    </message>
    <message>
        <source>bit/s</source>
        <translation>bit/s</translation>
    </message>
    <message>
        <source>KB/s</source>
        <translation>KB/s</translation>
    </message>
    <message>
        <source>MB/s</source>
        <translation>MB/s</translation>
    </message>
    <message>
        <source>GB/s</source>
        <translation>GB/s</translation>
    </message>
    <message>
        <source>pkt/s</source>
        <translation>paq/s</translation>
    </message>
    <message>
        <source>%</source>
        <translation>%</translation>
    </message>
    <message>
        <source>ms</source>
        <translation>ms</translation>
    </message>
    <message numerus="yes">
        <source>%n s ago</source>
        <translation>
            <numerusform>hace %n s</numerusform>
            <numerusform>hace %n s</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>%n min ago</source>
        <translation>
            <numerusform>hace %n min</numerusform>
            <numerusform>hace %n min</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>%n h ago</source>
        <translation>
            <numerusform>hace %n h</numerusform>
            <numerusform>hace %n h</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>%n d ago</source>
        <translation>
            <numerusform>hace %n d</numerusform>
            <numerusform>hace %n d</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>monitor::MeterTableModel</name>
    <message>
        <source>Meter</source>
        <translation>Medidor</translation>
    </message>
    <message>
        <source>Meter id</source>
        <translation>ID de medidor</translation>
    </message>
    <message>
        <source>Requests</source>
        <translation>Peticiones</translation>
    </message>
    <message>
        <source>DLMS request APDUs sent (AARQ, GET, SET, ACTION, RLRQ)</source>
        <translation>APDU de petición DLMS enviadas (AARQ, GET, SET, ACTION, RLRQ)</translation>
    </message>
    <message>
        <source>Responses</source>
        <translation>Respuestas</translation>
    </message>
    <message>
        <source>DLMS response APDUs received</source>
        <translation>APDU de respuesta DLMS recibidas</translation>
    </message>
    <message>
        <source>Sent</source>
        <translation>Enviados</translation>
    </message>
    <message>
        <source>DLMS bytes sent to the meter (TCP payload)</source>
        <translation>Bytes DLMS enviados al medidor (carga útil TCP)</translation>
    </message>
    <message>
        <source>Received</source>
        <translation>Recibidos</translation>
    </message>
    <message>
        <source>DLMS bytes received from the meter (TCP payload)</source>
        <translation>Bytes DLMS recibidos del medidor (carga útil TCP)</translation>
    </message>
    <message>
        <source>Avg request</source>
        <translation>Pet. media</translation>
    </message>
    <message>
        <source>Average size of a frame sent (bytes / frames)</source>
        <translation>Tamaño medio de una trama enviada (bytes / tramas)</translation>
    </message>
    <message>
        <source>Avg response</source>
        <translation>Resp. media</translation>
    </message>
    <message>
        <source>Average size of a frame received (bytes / frames)</source>
        <translation>Tamaño medio de una trama recibida (bytes / tramas)</translation>
    </message>
    <message>
        <source>Timeouts</source>
        <translation>Expiraciones</translation>
    </message>
    <message>
        <source>Requests and connections that timed out</source>
        <translation>Peticiones y conexiones con tiempo de espera agotado</translation>
    </message>
    <message>
        <source>Protocol errors</source>
        <translation>Err. protocolo</translation>
    </message>
    <message>
        <source>Stray bytes, invoke-id mismatches, bad frames, exception responses</source>
        <translation>Bytes espurios, invoke-id no coincidentes, tramas erróneas, respuestas de excepción</translation>
    </message>
    <message>
        <source>Reconnects</source>
        <translation>Reconexiones</translation>
    </message>
    <message>
        <source>Connection attempts after a failure</source>
        <translation>Intentos de conexión tras un fallo</translation>
    </message>
    <message>
        <source>RTT avg</source>
        <translation>RTT medio</translation>
    </message>
    <message>
        <source>Average request round trip since start</source>
        <translation>Tiempo medio de ida y vuelta de las peticiones desde el inicio</translation>
    </message>
    <message>
        <source>RTT p95</source>
        <translation>RTT p95</translation>
    </message>
    <message>
        <source>95th percentile of the recent round trips</source>
        <translation>Percentil 95 de los tiempos de ida y vuelta recientes</translation>
    </message>
    <message>
        <source>RTT max</source>
        <translation>RTT máx.</translation>
    </message>
    <message>
        <source>Longest request round trip since start</source>
        <translation>Mayor tiempo de ida y vuelta de una petición desde el inicio</translation>
    </message>
    <message>
        <source>Success</source>
        <translation>Éxito</translation>
    </message>
    <message>
        <source>Polls completed / polls attempted</source>
        <translation>Sondeos completados / sondeos intentados</translation>
    </message>
    <message>
        <source>Bytes/value</source>
        <translation>Bytes/valor</translation>
    </message>
    <message>
        <source>DLMS bytes (both directions) per reading value</source>
        <translation>Bytes DLMS (ambos sentidos) por valor leído</translation>
    </message>
    <message>
        <source>MQTT msgs</source>
        <translation>Msj. MQTT</translation>
    </message>
    <message>
        <source>MQTT messages acknowledged by the broker that carried this meter's values</source>
        <translation>Mensajes MQTT confirmados por el bróker que transportaban valores de este medidor</translation>
    </message>
    <message>
        <source>MQTT bytes</source>
        <translation>Bytes MQTT</translation>
    </message>
    <message>
        <source>MQTT packet bytes acknowledged for this meter (its share of each message)</source>
        <translation>Bytes de paquetes MQTT confirmados para este medidor (su parte de cada mensaje)</translation>
    </message>
    <message>
        <source>TX</source>
        <translation>TX</translation>
    </message>
    <message>
        <source>Traffic to the meter in the last second (DLMS + MQTT), bits/s</source>
        <translation>Tráfico hacia el medidor en el último segundo (DLMS + MQTT), bits/s</translation>
    </message>
    <message>
        <source>RX</source>
        <translation>RX</translation>
    </message>
    <message>
        <source>Traffic from the meter in the last second, bits/s</source>
        <translation>Tráfico desde el medidor en el último segundo, bits/s</translation>
    </message>
</context>
<context>
    <name>monitor::SeriesModel</name>
    <message>
        <source>Time</source>
        <translation>Hora</translation>
    </message>
    <message>
        <source>TX bit/s</source>
        <translation>TX bit/s</translation>
    </message>
    <message>
        <source>RX bit/s</source>
        <translation>RX bit/s</translation>
    </message>
    <message>
        <source>TX packets/s</source>
        <translation>TX paquetes/s</translation>
    </message>
    <message>
        <source>RX packets/s</source>
        <translation>RX paquetes/s</translation>
    </message>
</context>
<context>
    <name>report::Commissioning</name>
    <message>
        <source>%1 (%2)</source>
        <comment>date and time (UTC offset)</comment>
        <translation>%1 (%2)</translation>
    </message>
    <message numerus="yes">
        <source>%n s</source>
        <comment>duration</comment>
        <translation>
            <numerusform>%n s</numerusform>
            <numerusform>%n s</numerusform>
        </translation>
    </message>
    <message>
        <source>%1 min %2 s</source>
        <comment>duration</comment>
        <translation>%1 min %2 s</translation>
    </message>
    <message>
        <source>%1 h %2 min</source>
        <comment>duration</comment>
        <translation>%1 h %2 min</translation>
    </message>
    <message>
        <source>Running</source>
        <translation>En curso</translation>
    </message>
    <message>
        <source>Finished</source>
        <translation>Finalizada</translation>
    </message>
    <message>
        <source>Cancelled</source>
        <translation>Cancelada</translation>
    </message>
    <message>
        <source>Same</source>
        <translation>Sin cambios</translation>
    </message>
    <message>
        <source>Changed</source>
        <translation>Modificada</translation>
    </message>
    <message>
        <source>Better</source>
        <translation>Mejor</translation>
    </message>
    <message>
        <source>Worse</source>
        <translation>Peor</translation>
    </message>
    <message>
        <source>Added</source>
        <translation>Añadida</translation>
    </message>
    <message>
        <source>Removed</source>
        <translation>Eliminada</translation>
    </message>
    <message>
        <source>%1 → %2</source>
        <comment>before → after</comment>
        <translation>%1 → %2</translation>
    </message>
    <message>
        <source>Comparison with the previous run</source>
        <translation>Comparación con la ejecución anterior</translation>
    </message>
    <message>
        <source>Previous run: session %1, started %2</source>
        <translation>Ejecución anterior: sesión %1, iniciada el %2</translation>
    </message>
    <message>
        <source>Nothing changed since the previous run.</source>
        <translation>Sin cambios desde la ejecución anterior.</translation>
    </message>
    <message>
        <source>Meter</source>
        <translation>Medidor</translation>
    </message>
    <message>
        <source>Check</source>
        <translation>Comprobación</translation>
    </message>
    <message>
        <source>Change</source>
        <translation>Cambio</translation>
    </message>
    <message>
        <source>Status</source>
        <translation>Estado</translation>
    </message>
    <message>
        <source>Measured</source>
        <translation>Medición</translation>
    </message>
    <message>
        <source>Sign-off</source>
        <translation>Conformidad</translation>
    </message>
    <message>
        <source>Commissioned by</source>
        <translation>Puesta en servicio realizada por</translation>
    </message>
    <message>
        <source>Technician: %1</source>
        <translation>Técnico: %1</translation>
    </message>
    <message>
        <source>Date: %1</source>
        <translation>Fecha: %1</translation>
    </message>
    <message>
        <source>Signature: %1</source>
        <translation>Firma: %1</translation>
    </message>
    <message>
        <source>Customer / witness</source>
        <translation>Cliente / testigo</translation>
    </message>
    <message>
        <source>Name: %1</source>
        <translation>Nombre: %1</translation>
    </message>
    <message>
        <source>Commissioning report</source>
        <translation>Informe de puesta en servicio</translation>
    </message>
    <message>
        <source>Site</source>
        <translation>Emplazamiento</translation>
    </message>
    <message>
        <source>Technician</source>
        <translation>Técnico</translation>
    </message>
    <message>
        <source>Started</source>
        <translation>Iniciada</translation>
    </message>
    <message>
        <source>Duration</source>
        <translation>Duración</translation>
    </message>
    <message>
        <source>State</source>
        <translation>Estado</translation>
    </message>
    <message>
        <source>Session</source>
        <translation>Sesión</translation>
    </message>
    <message>
        <source>Report generated</source>
        <translation>Informe generado</translation>
    </message>
    <message>
        <source>Notes</source>
        <translation>Notas</translation>
    </message>
    <message>
        <source>Summary</source>
        <translation>Resumen</translation>
    </message>
    <message>
        <source>Meters: %1 — passed: %2, warnings: %3, failed: %4, not checked: %5</source>
        <translation>Medidores: %1 — correctos: %2, con avisos: %3, con fallos: %4, sin comprobar: %5</translation>
    </message>
    <message>
        <source>Endpoint</source>
        <translation>Dirección</translation>
    </message>
    <message>
        <source>Serial number</source>
        <translation>Número de serie</translation>
    </message>
    <message>
        <source>Warnings</source>
        <translation>Avisos</translation>
    </message>
    <message>
        <source>Failures</source>
        <translation>Fallos</translation>
    </message>
    <message>
        <source>Traffic baseline</source>
        <translation>Línea base de tráfico</translation>
    </message>
    <message>
        <source>Meter details</source>
        <translation>Detalles de los medidores</translation>
    </message>
    <message>
        <source>%1 (%2)</source>
        <comment>meter name (id)</comment>
        <translation>%1 (%2)</translation>
    </message>
    <message>
        <source>Endpoint: %1</source>
        <translation>Dirección: %1</translation>
    </message>
    <message>
        <source>Logical device name: %1</source>
        <translation>Nombre de dispositivo lógico: %1</translation>
    </message>
    <message>
        <source>Serial number: %1</source>
        <translation>Número de serie: %1</translation>
    </message>
    <message>
        <source>Firmware: %1</source>
        <translation>Versión de firmware: %1</translation>
    </message>
    <message>
        <source>No check was made.</source>
        <translation>No se realizó ninguna comprobación.</translation>
    </message>
    <message>
        <source>Explanation</source>
        <translation>Explicación</translation>
    </message>
    <message>
        <source>Traffic baseline per meter</source>
        <translation>Línea base de tráfico por medidor</translation>
    </message>
    <message>
        <source>No traffic baseline in this session</source>
        <translation>No hay línea base de tráfico en esta sesión</translation>
    </message>
    <message>
        <source>DLMS bytes per poll</source>
        <translation>Bytes DLMS por sondeo</translation>
    </message>
    <message>
        <source>Average RTT (ms)</source>
        <translation>RTT medio (ms)</translation>
    </message>
    <message>
        <source>bytes per poll</source>
        <translation>bytes por sondeo</translation>
    </message>
    <message>
        <source>average RTT (ms)</source>
        <translation>RTT medio (ms)</translation>
    </message>
    <message numerus="yes">
        <source>%n meters, sorted by bytes per poll</source>
        <translation>
            <numerusform>%n medidor, ordenado por bytes por sondeo</numerusform>
            <numerusform>%n medidores, ordenados por bytes por sondeo</numerusform>
        </translation>
    </message>
    <message>
        <source>Report %1 cancelled: nothing was written</source>
        <translation>Informe %1 cancelado: no se escribió nada</translation>
    </message>
    <message>
        <source>Cannot write the report %1: %2</source>
        <translation>No se puede escribir el informe %1: %2</translation>
    </message>
    <message>
        <source>Commissioning report — %1</source>
        <translation>Informe de puesta en servicio — %1</translation>
    </message>
    <message>
        <source>DLMS Bridge — commissioning report</source>
        <translation>DLMS Bridge — informe de puesta en servicio</translation>
    </message>
    <message>
        <source>Cannot write the report %1</source>
        <translation>No se puede escribir el informe %1</translation>
    </message>
    <message>
        <source>%1 — page %2 of %3</source>
        <translation>%1 — página %2 de %3</translation>
    </message>
</context>
</TS>
