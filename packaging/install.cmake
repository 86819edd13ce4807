# Installing lockbridge (`cmake --install`) and packaging it as a .deb
# (`cpack -G DEB`, which `./run package` drives).  Included at the end of
# the top CMakeLists.txt, so nothing here changes how the tree builds.
#
#   bin/lockbridge, bin/lock-sim
#   share/lockbridge/dashboard/   the built bundle (`lockbridge run` finds it
#                                 from bin/ without flags: cmd_run.c)
#   share/lockbridge/examples/    plc-maps/ (the shipped station)
#   lib/systemd/system/lockbridge.service
#
# With the prefix /usr (the .deb) the unit goes to /lib/systemd/system, as
# Debian 12 packages put theirs, and the maps also to /etc/lockbridge,
# where the package marks them conffiles.  That choice is made when the
# install runs, from the prefix it runs with, so `cmake --install build
# --prefix P` of any build tree and cpack (which installs with /usr) agree.

# The bundle is built by node (`node dashboard/build.mjs --out DIR`, which
# `./run build` does), not by CMake: the install refuses to go on without
# it rather than install a bridge that serves no dashboard.
set(LB_DASHBOARD_DIR ${CMAKE_BINARY_DIR}/dashboard CACHE PATH
    "The built dashboard bundle that cmake --install installs")

file(STRINGS ${CMAKE_SOURCE_DIR}/bridge/src/cli/cli.h LB_VERSION_LINE
     REGEX "^#define LB_VERSION \"[^\"]+\"")
string(REGEX REPLACE ".*\"([^\"]+)\".*" "\\1" LB_PKG_VERSION
       "${LB_VERSION_LINE}")
if(NOT LB_PKG_VERSION)
  message(FATAL_ERROR "no LB_VERSION in bridge/src/cli/cli.h")
endif()

file(GLOB LB_EXAMPLE_MAPS CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/plc-maps/*.yaml)
list(SORT LB_EXAMPLE_MAPS)

# First, before anything is copied: the bundle is there, and where the
# system files go for this prefix.  The variables set here are read by
# the rules below (one cmake_install.cmake script, one scope).
install(CODE "
  if(NOT EXISTS \"${LB_DASHBOARD_DIR}/index.html\")
    message(FATAL_ERROR \"lockbridge: no dashboard bundle in ${LB_DASHBOARD_DIR}\\n\"
      \"build it first: node dashboard/build.mjs --out ${LB_DASHBOARD_DIR} \"
      \"(or ./run build), or point -DLB_DASHBOARD_DIR at a built one\")
  endif()
  if(CMAKE_INSTALL_PREFIX STREQUAL \"/usr\")
    set(LB_UNIT_DIR /lib/systemd/system)
    set(LB_ETC_DIR /etc/lockbridge)
  else()
    set(LB_UNIT_DIR \"\${CMAKE_INSTALL_PREFIX}/lib/systemd/system\")
    set(LB_ETC_DIR \"\")
  endif()")

install(TARGETS lockbridge lock-sim RUNTIME DESTINATION bin)
install(DIRECTORY ${LB_DASHBOARD_DIR}/ DESTINATION share/lockbridge/dashboard)
install(FILES ${LB_EXAMPLE_MAPS} ${CMAKE_SOURCE_DIR}/plc-maps/README.md
        DESTINATION share/lockbridge/examples)
# Absolute destinations by hand (file(INSTALL) adds DESTDIR itself).
install(CODE "
  file(INSTALL DESTINATION \"\${LB_UNIT_DIR}\" TYPE FILE
       FILES \"${CMAKE_SOURCE_DIR}/packaging/systemd/lockbridge.service\")
  if(LB_ETC_DIR)
    file(INSTALL DESTINATION \"\${LB_ETC_DIR}\" TYPE FILE
         FILES ${LB_EXAMPLE_MAPS})
  endif()")

# ---- the .deb -------------------------------------------------------------
# Every map in /etc/lockbridge is a conffile: dpkg never overwrites one the
# engineer has edited (it asks, or keeps it with --force-confold).
set(LB_CONFFILES ${CMAKE_BINARY_DIR}/packaging/conffiles)
set(lb_conf "")
foreach(m ${LB_EXAMPLE_MAPS})
  get_filename_component(n ${m} NAME)
  string(APPEND lb_conf "/etc/lockbridge/${n}\n")
endforeach()
file(WRITE ${LB_CONFFILES} "${lb_conf}")

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME lockbridge)
set(CPACK_PACKAGE_VERSION ${LB_PKG_VERSION})
set(CPACK_PACKAGE_CONTACT "lockbridge maintainers <lockbridge@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "Modbus TCP SCADA bridge for a ship-lock station, with its dashboard")
set(CPACK_PACKAGE_DESCRIPTION
    "lockbridge polls Modbus TCP PLCs (read only, function codes 1-4), records every change in an embedded history and optionally in InfluxDB or VictoriaMetrics, raises alarms, notifies the engineer on call and serves a live dashboard. lock-sim, a simulated ship-lock station, is included.")
# cpack installs with DESTDIR into its staging directory and the prefix
# /usr, whatever this tree was configured with: the rules above then pick
# the Debian layout.
set(CPACK_SET_DESTDIR ON)
set(CPACK_INSTALL_PREFIX /usr)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# The shared libraries' packages come from dpkg-shlibdeps; adduser is what
# postinst runs.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${LB_CONFFILES}
    ${CMAKE_SOURCE_DIR}/packaging/debian/postinst
    ${CMAKE_SOURCE_DIR}/packaging/debian/prerm
    ${CMAKE_SOURCE_DIR}/packaging/debian/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
