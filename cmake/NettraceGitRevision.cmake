# Writes OUT (a header defining NETTRACE_GIT_REVISION) from `git describe` of SRC, rewriting it only when the
# revision changed, so only src/cli_app.cpp recompiles after a commit. Outside a git checkout: "unknown".
# Usage: cmake -DSRC=<source dir> -DOUT=<header> -P NettraceGitRevision.cmake
set(rev unknown)
find_program(GIT git)
if(GIT)
  execute_process(COMMAND ${GIT} -C ${SRC} describe --always --dirty --abbrev=12
                  OUTPUT_VARIABLE out RESULT_VARIABLE rc OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
  if(rc EQUAL 0 AND out)
    set(rev ${out})
  endif()
endif()
set(text "#define NETTRACE_GIT_REVISION \"${rev}\"\n")
if(EXISTS ${OUT})
  file(READ ${OUT} old)
endif()
if(NOT "${old}" STREQUAL "${text}")
  file(WRITE ${OUT} "${text}")
endif()
