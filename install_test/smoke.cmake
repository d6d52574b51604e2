# Part of troupe. See LICENSE at the repository root.
#
# The `install_smoke` test (registered by cmake/TroupeInstall.cmake), run as
#   cmake -DTROUPE_BINARY_DIR=... -DTROUPE_SMOKE_DIR=... -DTROUPE_CONSUMER_DIR=...
#         -DTROUPE_CONFIG=... -DTROUPE_GENERATOR=... -DTROUPE_CXX_COMPILER=...
#         [-DTROUPE_SANITIZERS=...] -P smoke.cmake
# 1. installs the already built troupe into ${TROUPE_SMOKE_DIR}/prefix,
# 2. configures and builds install_test/ against that prefix only,
# 3. checks that find_package picked that prefix, and runs the consumer.
cmake_minimum_required(VERSION 3.21)

foreach(_var TROUPE_BINARY_DIR TROUPE_SMOKE_DIR TROUPE_CONSUMER_DIR TROUPE_GENERATOR
             TROUPE_CXX_COMPILER)
  if(NOT DEFINED ${_var} OR "${${_var}}" STREQUAL "")
    message(FATAL_ERROR "install_smoke: ${_var} is not set")
  endif()
endforeach()

set(_prefix "${TROUPE_SMOKE_DIR}/prefix")
set(_consumer_build "${TROUPE_SMOKE_DIR}/consumer")

function(_smoke_run step)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE _rc)
  if(NOT _rc EQUAL 0)
    message(FATAL_ERROR "install_smoke: ${step} failed (${_rc})")
  endif()
endfunction()

# Start clean, so nothing from an earlier run can make this one pass.
file(REMOVE_RECURSE "${_prefix}" "${_consumer_build}")

set(_config_args "")
if(TROUPE_CONFIG)
  set(_config_args --config "${TROUPE_CONFIG}")
endif()
_smoke_run("install" "${CMAKE_COMMAND}" --install "${TROUPE_BINARY_DIR}" --prefix "${_prefix}"
           ${_config_args})

set(_consumer_args
    -S "${TROUPE_CONSUMER_DIR}"
    -B "${_consumer_build}"
    -G "${TROUPE_GENERATOR}"
    "-DCMAKE_CXX_COMPILER=${TROUPE_CXX_COMPILER}"
    "-DCMAKE_PREFIX_PATH=${_prefix}"
    -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF
    -DCMAKE_FIND_USE_SYSTEM_PACKAGE_REGISTRY=OFF)
if(TROUPE_CONFIG)
  list(APPEND _consumer_args "-DCMAKE_BUILD_TYPE=${TROUPE_CONFIG}")
endif()
# A sanitized troupe can only be linked into a sanitized program.
if(TROUPE_SANITIZERS)
  set(_san "-fsanitize=${TROUPE_SANITIZERS} -fno-omit-frame-pointer")
  list(APPEND _consumer_args "-DCMAKE_CXX_FLAGS=${_san}" "-DCMAKE_EXE_LINKER_FLAGS=${_san}")
endif()
_smoke_run("consumer configure" "${CMAKE_COMMAND}" ${_consumer_args})

# The consumer must have found the troupe just installed, not another one.
file(STRINGS "${_consumer_build}/CMakeCache.txt" _troupe_dir_line REGEX "^troupe_DIR:")
string(REGEX REPLACE "^troupe_DIR:[A-Z]+=" "" _troupe_dir "${_troupe_dir_line}")
cmake_path(IS_PREFIX _prefix "${_troupe_dir}" NORMALIZE _from_prefix)
if(NOT _from_prefix)
  message(FATAL_ERROR "install_smoke: found troupe in '${_troupe_dir}', not under '${_prefix}'")
endif()

_smoke_run("consumer build" "${CMAKE_COMMAND}" --build "${_consumer_build}" ${_config_args})

find_program(_consumer_exe troupe_consumer PATHS "${_consumer_build}"
             PATH_SUFFIXES "${TROUPE_CONFIG}" NO_DEFAULT_PATH NO_CACHE REQUIRED)
_smoke_run("consumer run" "${_consumer_exe}")

message(STATUS "install_smoke: installed to ${_prefix}; the consumer built and ran")
