# Installed files besides the programs, and the CPack DEB package (issue 10). The programs, the
# .desktop file, metainfo, icons and man pages are installed by packaging/CMakeLists.txt.
# Build the package with `cpack --config <build>/CPackConfig.cmake`; tests/packaging checks it.
include(GNUInstallDirs)

# The package name, not PROJECT_NAME: GNUInstallDirs' DOCDIR would be share/doc/DLMSBridge.
set(DLMSBRIDGE_DOCDIR ${CMAKE_INSTALL_DATAROOTDIR}/doc/dlmsbridge)
set(dlmsbridge_deb_dir ${PROJECT_SOURCE_DIR}/packaging/deb)

# Directories install() creates get 0755 whatever the umask of whoever builds the package.
set(CMAKE_INSTALL_DEFAULT_DIRECTORY_PERMISSIONS
    OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)

# Relative to the /usr prefix: /usr/lib/systemd/system and /usr/lib/sysusers.d, both searched
# by Debian 12's systemd (not CMAKE_INSTALL_LIBDIR, which is the multiarch library directory).
install(FILES ${PROJECT_SOURCE_DIR}/packaging/linux/dlmsbridge.service
        DESTINATION lib/systemd/system)
install(FILES ${PROJECT_SOURCE_DIR}/packaging/linux/dlmsbridge.sysusers
        DESTINATION lib/sysusers.d RENAME dlmsbridge.conf)
install(FILES ${PROJECT_SOURCE_DIR}/packaging/dlmsbridge.example.json
        DESTINATION ${DLMSBRIDGE_DOCDIR}/examples)
install(FILES ${PROJECT_SOURCE_DIR}/README.md ${dlmsbridge_deb_dir}/copyright
        DESTINATION ${DLMSBRIDGE_DOCDIR})

# Debian policy 12.7: a native package ships its changelog as changelog.gz, compressed with -9
# and without name or timestamp (-n) so the package is reproducible.
set(dlmsbridge_changelog_gz ${PROJECT_BINARY_DIR}/deb/changelog.gz)
add_custom_command(OUTPUT ${dlmsbridge_changelog_gz}
    COMMAND ${CMAKE_COMMAND} -E copy ${dlmsbridge_deb_dir}/changelog ${PROJECT_BINARY_DIR}/deb/changelog
    COMMAND gzip -9nf ${PROJECT_BINARY_DIR}/deb/changelog
    DEPENDS ${dlmsbridge_deb_dir}/changelog
    COMMENT "Compressing the Debian changelog"
    VERBATIM)
add_custom_target(deb_changelog ALL DEPENDS ${dlmsbridge_changelog_gz})
install(FILES ${dlmsbridge_changelog_gz} DESTINATION ${DLMSBRIDGE_DOCDIR})

# qt_standard_project_setup() gives installed programs a $ORIGIN/../lib RUNPATH for relocatable
# trees with their own Qt; the package uses the system's Qt in /usr/lib, so none is wanted.
set_target_properties(dlmsctl dlmsbridge PROPERTIES INSTALL_RPATH "")

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME dlmsbridge)
set(CPACK_PACKAGE_VENDOR "DLMS Bridge developers")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "DLMS/COSEM meter bridge to SQLite and MQTT")
set(CPACK_PACKAGE_DESCRIPTION
    "DLMS Bridge polls DLMS/COSEM electricity meters over TCP (HDLC or the wrapper
transport), stores the readings in SQLite and publishes them to an MQTT broker.
It also watches the traffic to every meter.

The package has the desktop application dlmsbridge, the command-line tool
dlmsctl (read, decode, simulate, export) and a systemd unit running
`dlmsctl run` as a headless service. The unit is installed but neither
enabled nor started.")
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "DLMS Bridge developers <dev@dlmsbridge.invalid>")
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_STRIP_FILES ON)

# dpkg-shlibdeps finds the linked libraries (Qt 6, libmosquitto, OpenSSL, …); what Qt loads as
# plugins at run time it cannot see: the platform plugins, the SQLite driver, the SVG icon engine.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "qt6-qpa-plugins, libqt6sql6-sqlite, libqt6svg6")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "qt6-translations-l10n")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "mosquitto")

set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA ${dlmsbridge_deb_dir}/postinst ${dlmsbridge_deb_dir}/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)

include(CPack)
