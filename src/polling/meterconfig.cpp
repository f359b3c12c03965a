#include "meterconfig.h"

#include <QtNetwork/QHostAddress>

using namespace Qt::StringLiterals;

namespace polling {

QString associationModeName(AssociationMode mode)
{
    switch (mode) {
    case AssociationMode::KeepOpen:
        return u"keep-open"_s;
    case AssociationMode::PerPoll:
        return u"per-poll"_s;
    }
    return u"keep-open"_s;
}

dlms::ClientConfig MeterConfig::clientConfig() const
{
    dlms::ClientConfig client;
    client.transport = transport;
    client.clientAddress = clientAddress;
    client.serverAddress = serverAddress;
    client.physicalAddress = physicalAddress;
    client.authentication = authentication;
    client.password = password;
    client.maxReceivePduSize = maxPduSize;
    client.hdlc = hdlc;
    return client;
}

QString MeterConfig::endpoint() const
{
    const QHostAddress address(host);
    if (address.protocol() == QAbstractSocket::IPv6Protocol)
        return u'[' + host + u"]:"_s + QString::number(port);
    return host + u':' + QString::number(port);
}

bool MeterConfig::needsReconnect(const MeterConfig &other) const
{
    // Everything the TCP connection or the AARQ was built from.
    return host != other.host || port != other.port || transport != other.transport
        || clientAddress != other.clientAddress || serverAddress != other.serverAddress
        || physicalAddress != other.physicalAddress || authentication != other.authentication
        || password != other.password || maxPduSize != other.maxPduSize || hdlc != other.hdlc
        || connectTimeoutMs != other.connectTimeoutMs || associationMode != other.associationMode;
}

QString defaultTelemetryKey(const dlms::Obis &obis)
{
    if (const dlms::WellKnownObject *known = dlms::findWellKnown(obis);
        known && known->telemetryKey && *known->telemetryKey)
        return QString::fromLatin1(known->telemetryKey);
    QString key = obis.toString();
    key.replace(u'.', u'_');
    return u"obis_"_s + key;
}

} // namespace polling
