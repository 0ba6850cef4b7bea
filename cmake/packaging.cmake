# SPDX-License-Identifier: BSL-1.0
# Deployment: the systemd units, the config file and the man pages. Included from the
# top-level CMakeLists.txt after install(TARGETS echo-server). The Debian packages are built
# from these install rules by debian/rules (dpkg-buildpackage), nothing else.
#
#   cmake --install build/release                        # into CMAKE_INSTALL_PREFIX
#   DESTDIR=/tmp/stage cmake --install build/release     # staged
#
# The config directory and (from pkg-config) the unit directory are absolute paths, so a
# staged install needs DESTDIR, not only --prefix.

include(GNUInstallDirs)

# The install target would otherwise first build "all": in a build tree shared with running
# builds that races them, and it rebuilds far more than is installed. Build, then install:
# the README's commands do so, and the install test depends on exactly what is installed.
set(CMAKE_SKIP_INSTALL_ALL_DEPENDENCY ON)

#----------------------------------------------------------------------------------------------
# Where things go.

# The unit folder systemd itself names; lib/systemd/system under the prefix otherwise.
set(_asio_echo_unit_dir "")
find_package(PkgConfig QUIET)
if(PKG_CONFIG_FOUND)
    pkg_get_variable(_asio_echo_unit_dir systemd systemdsystemunitdir)
endif()
if(NOT _asio_echo_unit_dir)
    set(_asio_echo_unit_dir "lib/systemd/system")
endif()
set(ASIO_ECHO_SYSTEMD_UNIT_DIR "${_asio_echo_unit_dir}" CACHE STRING
    "Where the systemd units are installed (relative: under the prefix)")
set(ASIO_ECHO_CONFIG_DIR "/etc/echo-server" CACHE STRING
    "Where echo-server.conf is installed (absolute: the unit passes this path)")

#----------------------------------------------------------------------------------------------
# Units and config.

# The services name /usr/bin/echo-server; the real binary folder is known only at install
# time (CMAKE_INSTALL_PREFIX, or cmake --install --prefix), so the units are written then.
# Each install writes its own copy (keyed by the destination), so concurrent installs do not
# share a file.
install(CODE "
    set(_unit_dir \"${ASIO_ECHO_SYSTEMD_UNIT_DIR}\")
    if(NOT IS_ABSOLUTE \"\${_unit_dir}\")
        set(_unit_dir \"\${CMAKE_INSTALL_PREFIX}/\${_unit_dir}\")
    endif()
    set(_bin_dir \"${CMAKE_INSTALL_BINDIR}\")
    if(NOT IS_ABSOLUTE \"\${_bin_dir}\")
        set(_bin_dir \"\${CMAKE_INSTALL_PREFIX}/\${_bin_dir}\")
    endif()
    # file(INSTALL) adds DESTDIR itself.
    string(MD5 _key \"\$ENV{DESTDIR}\${_unit_dir}\")
    set(_staged \"${PROJECT_BINARY_DIR}/systemd-units/\${_key}\")
    # The socket-activated service, the standalone one, and the template for several
    # instances (echo-server@.service).
    foreach(_service echo-server.service echo-server-standalone.service echo-server@.service)
        file(READ \"${PROJECT_SOURCE_DIR}/systemd/\${_service}\" _unit)
        string(REPLACE \"/usr/bin/echo-server\" \"\${_bin_dir}/echo-server\" _unit \"\${_unit}\")
        string(REPLACE \"/etc/echo-server/\" \"${ASIO_ECHO_CONFIG_DIR}/\" _unit \"\${_unit}\")
        file(WRITE \"\${_staged}/\${_service}\" \"\${_unit}\")
    endforeach()
    file(INSTALL DESTINATION \"\${_unit_dir}\" TYPE FILE
         FILES \"\${_staged}/echo-server.service\"
               \"\${_staged}/echo-server-standalone.service\"
               \"\${_staged}/echo-server@.service\"
               \"${PROJECT_SOURCE_DIR}/systemd/echo-server.socket\"
               \"${PROJECT_SOURCE_DIR}/systemd/echo-server-metrics.socket\"
               \"${PROJECT_SOURCE_DIR}/systemd/echo-server-proxy.socket\"
               \"${PROJECT_SOURCE_DIR}/systemd/echo-server-tls.socket\"
               \"${PROJECT_SOURCE_DIR}/systemd/echo-server-ws.socket\"
               \"${PROJECT_SOURCE_DIR}/systemd/echo-server-wss.socket\")
")
install(FILES ${PROJECT_SOURCE_DIR}/systemd/echo-server.conf
        DESTINATION ${ASIO_ECHO_CONFIG_DIR})

#----------------------------------------------------------------------------------------------
# Man pages, gzipped at build time when gzip is there (-n: no name or time, reproducible).

find_program(ASIO_ECHO_GZIP gzip)
set(_asio_echo_man_outputs "")
foreach(page echo-server.8 echo-client.1)
    string(REGEX REPLACE ".*\\.([0-9])$" "\\1" section "${page}")
    set(source ${PROJECT_SOURCE_DIR}/man/${page})
    if(ASIO_ECHO_GZIP)
        set(output ${PROJECT_BINARY_DIR}/man/${page}.gz)
        add_custom_command(OUTPUT ${output}
            COMMAND ${CMAKE_COMMAND} -E make_directory ${PROJECT_BINARY_DIR}/man
            COMMAND ${ASIO_ECHO_GZIP} -9nc ${source} > ${output}
            DEPENDS ${source}
            COMMENT "Compressing man page ${page}"
            VERBATIM)
        list(APPEND _asio_echo_man_outputs ${output})
    else()
        set(output ${source})
    endif()
    install(FILES ${output} DESTINATION ${CMAKE_INSTALL_MANDIR}/man${section})
endforeach()
add_custom_target(asio_echo_man ALL DEPENDS ${_asio_echo_man_outputs})
