# Build BPF objects with clang and turn them into libbpf skeletons with bpftool.
# The objects compile against the committed bpf/include/vmlinux.h, never the build host's kernel:
# CO-RE relocations adapt them to the running kernel at load time.

find_program(NT_CLANG NAMES clang clang-19 clang-16 clang-14 REQUIRED)
find_program(NT_LLVM_STRIP NAMES llvm-strip llvm-strip-19 llvm-strip-16 llvm-strip-14 REQUIRED)
find_program(NT_BPFTOOL NAMES bpftool PATHS /usr/sbin /sbin REQUIRED)

if(CMAKE_SYSTEM_PROCESSOR MATCHES "x86_64|amd64")
  set(NT_BPF_ARCH x86)
elseif(CMAKE_SYSTEM_PROCESSOR MATCHES "aarch64|arm64")
  set(NT_BPF_ARCH arm64)
else()
  message(FATAL_ERROR "unsupported architecture for BPF: ${CMAKE_SYSTEM_PROCESSOR}")
endif()

# clang -target bpf does not know the host's multiarch include dir (asm/types.h lives there on Debian).
execute_process(COMMAND ${CMAKE_C_COMPILER} -print-multiarch OUTPUT_VARIABLE NT_MULTIARCH
                OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
set(NT_BPF_SYS_INCLUDES -idirafter /usr/include)
if(NT_MULTIARCH)
  list(APPEND NT_BPF_SYS_INCLUDES -idirafter /usr/include/${NT_MULTIARCH})
endif()

set(NT_BPF_OUT ${PROJECT_BINARY_DIR}/bpf)
file(MAKE_DIRECTORY ${NT_BPF_OUT})

# nettrace_bpf_skeleton(NAME SOURCE file.bpf.c): builds NAME.bpf.o and NAME.skel.h,
# and an INTERFACE target NAME_skel that puts the skeleton on the include path.
function(nettrace_bpf_skeleton NAME)
  cmake_parse_arguments(ARG "" "SOURCE" "" ${ARGN})
  set(obj ${NT_BPF_OUT}/${NAME}.bpf.o)
  set(skel ${NT_BPF_OUT}/${NAME}.skel.h)
  add_custom_command(
    OUTPUT ${obj}
    COMMAND ${NT_CLANG} -g -O2 -Wall -Werror -target bpf -D__TARGET_ARCH_${NT_BPF_ARCH}
            -I${PROJECT_SOURCE_DIR}/bpf/include -I${PROJECT_SOURCE_DIR}/include
            ${NT_BPF_SYS_INCLUDES} -MD -MF ${obj}.d -c ${ARG_SOURCE} -o ${obj}
    COMMAND ${NT_LLVM_STRIP} -g ${obj}
    DEPFILE ${obj}.d
    DEPENDS ${ARG_SOURCE}
    COMMENT "BPF ${NAME}"
    VERBATIM)
  add_custom_command(
    OUTPUT ${skel}
    COMMAND sh -c "${NT_BPFTOOL} gen skeleton ${obj} name ${NAME}_bpf > ${skel}.tmp && mv ${skel}.tmp ${skel}"
    DEPENDS ${obj}
    COMMENT "skeleton ${NAME}"
    VERBATIM)
  add_custom_target(${NAME}_skel_gen DEPENDS ${skel})
  add_library(${NAME}_skel INTERFACE)
  add_dependencies(${NAME}_skel ${NAME}_skel_gen)
  target_include_directories(${NAME}_skel INTERFACE ${NT_BPF_OUT})
endfunction()
