# One module = one folder src/tools/<module>/ whose CMakeLists.txt calls nettrace_module() once: the module's
# sources, BPF programs, extra libraries and unit tests are listed there and nowhere else. The top CMakeLists.txt
# adds every src/tools/*/CMakeLists.txt and then builds the nettrace binary from what the modules listed; the tool
# and alias names are lines in src/tools/aliases.cpp (the alias symlinks come from `nettrace --list-aliases`).
#
# nettrace_module(<name>
#   SOURCES file.cpp...        sources of the nettrace binary, relative to the module folder
#   [BPF file.bpf.c...]        programs in bpf/: each builds <stem>.skel.h (nettrace_bpf_skeleton) for the binary
#   [LIBS lib...]              more libraries the binary links for this module
#   [UNIT_TESTS file.cpp...]   GoogleTest files in tests/unit/ (label "unit", all in nettrace_unit_tests)
#   [UNIT_SOURCES file.cpp...] module sources the unit tests compile (pure logic, rendering), module folder
#   [UNIT_LIBS lib...])        libraries the unit tests need for them
#
# The unit-test part is an INTERFACE library, nettrace_<name>_unit, that tests/CMakeLists.txt links into
# nettrace_unit_tests; the module's CMakeLists.txt may add more to it (link options, definitions).
function(nettrace_module NAME)
  cmake_parse_arguments(PARSE_ARGV 1 ARG "" "" "SOURCES;BPF;LIBS;UNIT_TESTS;UNIT_SOURCES;UNIT_LIBS")
  if(ARG_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "nettrace_module(${NAME}): unknown arguments ${ARG_UNPARSED_ARGUMENTS}")
  endif()
  if(NOT ARG_SOURCES)
    message(FATAL_ERROR "nettrace_module(${NAME}): no SOURCES")
  endif()
  get_property(modules GLOBAL PROPERTY NETTRACE_MODULES)
  if(NAME IN_LIST modules)
    message(FATAL_ERROR "nettrace_module(${NAME}): declared twice")
  endif()
  set_property(GLOBAL APPEND PROPERTY NETTRACE_MODULES ${NAME})

  set(sources)
  foreach(src IN LISTS ARG_SOURCES)
    get_filename_component(src ${src} ABSOLUTE)
    list(APPEND sources ${src})
  endforeach()
  set_property(GLOBAL APPEND PROPERTY NETTRACE_MODULE_SOURCES ${sources})

  set(libs ${ARG_LIBS})
  foreach(bpf IN LISTS ARG_BPF)
    set(src ${PROJECT_SOURCE_DIR}/bpf/${bpf})
    if(NOT EXISTS ${src})
      message(FATAL_ERROR "nettrace_module(${NAME}): BPF program ${src} does not exist")
    endif()
    string(REGEX REPLACE "\\.bpf\\.c$" "" stem ${bpf})
    nettrace_bpf_skeleton(${stem} SOURCE ${src})
    list(APPEND libs ${stem}_skel)
  endforeach()
  set_property(GLOBAL APPEND PROPERTY NETTRACE_MODULE_LIBS ${libs})

  add_library(nettrace_${NAME}_unit INTERFACE)
  set_property(GLOBAL APPEND PROPERTY NETTRACE_MODULE_UNIT_LIBS nettrace_${NAME}_unit)
  foreach(test IN LISTS ARG_UNIT_TESTS)
    get_filename_component(test ${test} ABSOLUTE BASE_DIR ${PROJECT_SOURCE_DIR}/tests/unit)
    if(NOT EXISTS ${test})
      message(FATAL_ERROR "nettrace_module(${NAME}): unit test ${test} does not exist")
    endif()
    target_sources(nettrace_${NAME}_unit INTERFACE ${test})
    set_property(GLOBAL APPEND PROPERTY NETTRACE_MODULE_UNIT_TESTS ${test})
  endforeach()
  foreach(src IN LISTS ARG_UNIT_SOURCES)
    get_filename_component(src ${src} ABSOLUTE)
    target_sources(nettrace_${NAME}_unit INTERFACE ${src})
  endforeach()
  target_link_libraries(nettrace_${NAME}_unit INTERFACE ${ARG_UNIT_LIBS})
endfunction()
