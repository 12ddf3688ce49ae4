# Creates one symlink to nettrace per alias the binary itself lists (`nettrace --list-aliases`), so the
# alias table in src/tools/aliases.cpp stays the only list of alias names.
# Usage: cmake -DNETTRACE=<binary> -DDIR=<directory> -P NettraceAliases.cmake
execute_process(COMMAND ${NETTRACE} --list-aliases OUTPUT_VARIABLE out RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${NETTRACE} --list-aliases failed (${rc})")
endif()
string(REPLACE "\n" ";" names "${out}")
foreach(name IN LISTS names)
  if(name)
    file(CREATE_LINK nettrace ${DIR}/${name} SYMBOLIC)
  endif()
endforeach()
