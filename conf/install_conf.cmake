# Runs at install time (cmake --install, CPack): installs the files whose content names install
# paths, rewritten from the package's paths (/usr/bin, /etc/exai) to the prefix in use.
# EXAI_CONF_SOURCE_DIR / EXAI_CONF_BINARY_DIR are set by conf/CMakeLists.txt.
set(prefix "${CMAKE_INSTALL_PREFIX}")
if(prefix STREQUAL "/usr")
  set(etc_dir /etc/exai)
else()
  set(etc_dir "${prefix}/etc/exai")
endif()
set(staging "${EXAI_CONF_BINARY_DIR}/install-staging")
file(REMOVE_RECURSE "${staging}")

# put(SRC DEST_DIR [PERMISSIONS ...]): SRC with /usr/bin/ and /etc/exai/ rewritten, installed
# into DEST_DIR (file(INSTALL) applies DESTDIR).
function(put src dest_dir)
  cmake_parse_arguments(P "" "" "PERMISSIONS" ${ARGN})
  get_filename_component(name "${src}" NAME)
  if(NOT P_PERMISSIONS)
    set(P_PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
  endif()
  file(READ "${EXAI_CONF_SOURCE_DIR}/${src}" text)
  string(REPLACE "/usr/bin/" "${prefix}/bin/" text "${text}")
  string(REPLACE "/etc/exai/" "${etc_dir}/" text "${text}")
  file(WRITE "${staging}/${name}" "${text}")
  file(INSTALL "${staging}/${name}" DESTINATION "${dest_dir}" PERMISSIONS ${P_PERMISSIONS})
endfunction()

put(systemd/exai-daemon.service "${prefix}/lib/systemd/system")
put(systemd/exai-gateway.service "${prefix}/lib/systemd/system")
put(mcp.json "${prefix}/share/exai-gateway")

# Configuration: a fresh staging root (DESTDIR, CPack) always gets it; a live system keeps the
# operator's files (the package's conffiles handle upgrades through dpkg instead).
foreach(f gateway.json daemon.json systemd/gateway.env systemd/daemon.env)
  get_filename_component(name "${f}" NAME)
  if(EXISTS "$ENV{DESTDIR}${etc_dir}/${name}")
    message(STATUS "Keeping: $ENV{DESTDIR}${etc_dir}/${name}")
    continue()
  endif()
  if(name MATCHES "\\.env$")
    put(${f} "${etc_dir}" PERMISSIONS OWNER_READ OWNER_WRITE)   # tokens: root only
  else()
    put(${f} "${etc_dir}")
  endif()
endforeach()
