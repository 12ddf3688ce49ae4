# Installation and the Debian package (`cmake --install build`, `cd build && cpack -G DEB`).
# Installs the binary, one symlink per alias, the man pages (one per command, aliases link to their command's
# page) and bash/zsh completion, all generated at build time from the binary's own CLI definitions
# (cmake/gen_manpages.sh, cmake/gen_completions.sh), and the documentation.
include(GNUInstallDirs)

option(NETTRACE_MANPAGES "Generate the man pages with help2man" ON)
if(NETTRACE_SANITIZE)
  set(NETTRACE_MANPAGES OFF)  # a sanitizer build is for tests, not for installing
endif()
find_program(HELP2MAN help2man)
if(NETTRACE_MANPAGES AND NOT HELP2MAN)
  message(WARNING "help2man not found (apt-get install help2man): no man pages; -DNETTRACE_MANPAGES=OFF hides this")
  set(NETTRACE_MANPAGES OFF)
endif()

set(NETTRACE_SHARE ${PROJECT_BINARY_DIR}/share)
add_custom_command(OUTPUT ${NETTRACE_SHARE}/completion.stamp
  COMMAND bash ${PROJECT_SOURCE_DIR}/cmake/gen_completions.sh $<TARGET_FILE:nettrace> ${NETTRACE_SHARE}/completion
  COMMAND ${CMAKE_COMMAND} -E touch ${NETTRACE_SHARE}/completion.stamp
  DEPENDS nettrace ${PROJECT_SOURCE_DIR}/cmake/gen_completions.sh
  COMMENT "Generating bash and zsh completion from nettrace's CLI definitions"
  VERBATIM)
set(share_outputs ${NETTRACE_SHARE}/completion.stamp)
if(NETTRACE_MANPAGES)
  add_custom_command(OUTPUT ${NETTRACE_SHARE}/man.stamp
    COMMAND ${CMAKE_COMMAND} -E env HELP2MAN=${HELP2MAN}
            bash ${PROJECT_SOURCE_DIR}/cmake/gen_manpages.sh $<TARGET_FILE:nettrace> ${NETTRACE_SHARE}/man
    COMMAND ${CMAKE_COMMAND} -E touch ${NETTRACE_SHARE}/man.stamp
    DEPENDS nettrace ${PROJECT_SOURCE_DIR}/cmake/gen_manpages.sh
    COMMENT "Generating the man pages from nettrace's --help (help2man)"
    VERBATIM)
  list(APPEND share_outputs ${NETTRACE_SHARE}/man.stamp)
endif()
add_custom_target(nettrace_share ALL DEPENDS ${share_outputs})

install(TARGETS nettrace RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
# The alias symlinks: the binary lists them (`nettrace --list-aliases`).
install(CODE "execute_process(COMMAND \${CMAKE_COMMAND} -DNETTRACE=$<TARGET_FILE:nettrace>
  -DDIR=\$ENV{DESTDIR}\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_BINDIR} -P ${PROJECT_SOURCE_DIR}/cmake/NettraceAliases.cmake
  RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR \"alias symlinks: \${rc}\")
  endif()")
if(NETTRACE_MANPAGES)
  install(DIRECTORY ${NETTRACE_SHARE}/man/ DESTINATION ${CMAKE_INSTALL_MANDIR})
endif()
install(FILES ${NETTRACE_SHARE}/completion/bash/nettrace DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions)
# bash-completion loads a command's completion by the command's name: one link per alias.
install(CODE "execute_process(COMMAND ${CMAKE_COMMAND} -DNETTRACE=$<TARGET_FILE:nettrace>
  -DDIR=\$ENV{DESTDIR}\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_DATADIR}/bash-completion/completions
  -P ${PROJECT_SOURCE_DIR}/cmake/NettraceAliases.cmake RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR \"completion symlinks: \${rc}\")
  endif()")
install(FILES ${NETTRACE_SHARE}/completion/zsh/_nettrace DESTINATION ${CMAKE_INSTALL_DATADIR}/zsh/vendor-completions)
install(FILES README.md DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(DIRECTORY docs/ DESTINATION ${CMAKE_INSTALL_DOCDIR}/docs FILES_MATCHING PATTERN "*.md")
install(FILES ${PROJECT_SOURCE_DIR}/cmake/debian-copyright DESTINATION ${CMAKE_INSTALL_DOCDIR} RENAME copyright)

# cpack -G DEB: nettrace_<version>_<arch>.deb; Depends from dpkg-shlibdeps (the libraries the binary links).
# `make install` / cpack install what is built, without building everything first: the package test and the
# lab's `dpkg -i` check package a tree that ctest already built (a guest under TCG would otherwise recompile).
set(CMAKE_SKIP_INSTALL_ALL_DEPENDENCY TRUE)
set(CPACK_PACKAGE_NAME nettrace)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "nettrace maintainers <nettrace@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "eBPF tools for packet drops and latency on KVM/OVS hosts")
set(CPACK_PACKAGE_DESCRIPTION "nettrace is one binary of CO-RE libbpf tools for the on-call engineer on a KVM/OVS
hypervisor or inside its guests: where packets are dropped or delayed (NIC, kernel stack, qdisc, conntrack, Open
vSwitch, tun/tap, vhost-net, KVM, virtio-net) and which CPUs run them. Symlinks named after the original
BCC/bpftrace scripts run the matching command. Needs Linux >= 5.8 with BTF and root.")
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS OFF)
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "bash-completion")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "bpftool")
set(CPACK_STRIP_FILES ON)
include(CPack)
