# Part of troupe. See LICENSE at the repository root.

# troupe_add_module(<comp> SOURCES ... [DEPS ...])
# Creates troupe_<comp> (static unless BUILD_SHARED_LIBS), alias troupe::<comp>,
# with the module's include/ folder public and the build options private.
function(troupe_add_module comp)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_library(troupe_${comp} ${ARG_SOURCES})
  add_library(troupe::${comp} ALIAS troupe_${comp})
  set_target_properties(troupe_${comp} PROPERTIES EXPORT_NAME ${comp})
  target_compile_features(troupe_${comp} PUBLIC cxx_std_20)
  target_include_directories(
    troupe_${comp} PUBLIC $<BUILD_INTERFACE:${CMAKE_CURRENT_SOURCE_DIR}/include>
                          $<INSTALL_INTERFACE:include>)
  target_link_libraries(troupe_${comp} PUBLIC ${ARG_DEPS}
                                       PRIVATE $<BUILD_INTERFACE:troupe_build_options>)
  if(TROUPE_CLANG_TIDY)
    set_target_properties(
      troupe_${comp} PROPERTIES CXX_CLANG_TIDY
                                "${TROUPE_CLANG_TIDY_EXE};--warnings-as-errors=*;--checks=-clang-analyzer-*")
  endif()
endfunction()

# troupe_add_test(<name> MODULE <m> SOURCES ... [LIBRARIES ...] [LABELS ...] [TIMEOUT <s>])
# One GoogleTest executable per module; every TEST is its own ctest entry with
# a timeout (60 s unless told) and the module's label (ctest -L <m>).
function(troupe_add_test name)
  cmake_parse_arguments(ARG "" "MODULE;TIMEOUT" "SOURCES;LIBRARIES;LABELS" ${ARGN})
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 60)
  endif()
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_LIBRARIES} GTest::gtest GTest::gmock
                                        GTest::gtest_main $<BUILD_INTERFACE:troupe_build_options>)
  gtest_discover_tests(${name} DISCOVERY_MODE PRE_TEST PROPERTIES TIMEOUT ${ARG_TIMEOUT}
                                                                LABELS ${ARG_MODULE})
  if(ARG_LABELS)
    # gtest_discover_tests (CMake 3.25) keeps only the first entry of a LABELS
    # list: the whole list is set after discovery, by a generated include file.
    set(target ${name})
    list(JOIN ARG_LABELS ";" extra)
    set(labels "${ARG_MODULE};${extra}")
    set(file "${CMAKE_CURRENT_BINARY_DIR}/${name}_labels.cmake")
    configure_file(${PROJECT_SOURCE_DIR}/cmake/test_labels.cmake.in "${file}" @ONLY)
    set_property(DIRECTORY APPEND PROPERTY TEST_INCLUDE_FILES "${file}")
  endif()
endfunction()

# troupe_compile_probe(<test> SOURCE <file> LIBRARIES ... [DEFINE <macro>] [PASS <regex>]
#                      [LABELS ...])
# A ctest entry that compiles <file> (front end only: -fsyntax-only, no optimiser, no
# sanitizers; an -O2 sanitizer compile of such a file took minutes). With DEFINE, the file must
# fail to compile with output matching PASS, and with no second `error:` (the mistake yields one
# diagnostic); without DEFINE it must compile (the positive twin).
function(troupe_compile_probe test)
  cmake_parse_arguments(ARG "" "SOURCE;DEFINE;PASS" "LIBRARIES;LABELS" ${ARGN})
  string(REPLACE "." "_" target "probe_${test}")
  add_library(${target} OBJECT EXCLUDE_FROM_ALL ${ARG_SOURCE})
  target_link_libraries(${target} PRIVATE ${ARG_LIBRARIES})
  target_compile_options(${target} PRIVATE -fsyntax-only -O0 -fno-sanitize=all)
  if(ARG_DEFINE)
    target_compile_definitions(${target} PRIVATE ${ARG_DEFINE}=1)
  endif()
  add_test(NAME ${test} COMMAND ${CMAKE_COMMAND} --build ${CMAKE_BINARY_DIR} --target ${target})
  set_tests_properties(${test} PROPERTIES LABELS "${ARG_LABELS}")
  if(ARG_DEFINE)
    set_tests_properties(${test} PROPERTIES PASS_REGULAR_EXPRESSION "${ARG_PASS}"
                                            FAIL_REGULAR_EXPRESSION "error:.*error:")
  endif()
endfunction()

# troupe_add_fuzzer(<name> SOURCES ... [LIBRARIES ...] [INCLUDES ...] CORPUS <dir> [LABELS ...])
# A libFuzzer executable, built only when the C++ compiler is clang and
# -fsanitize=fuzzer links (elsewhere the call does nothing: test with
# `if(TARGET <name>)`). SOURCES holds the harness and the library sources it
# covers, compiled here so that they are coverage-instrumented; all of them
# get -fsanitize=fuzzer,address,undefined (UB aborts) and -O1. Registers the ctest
# smoke run `<name>` (labels fuzz and LABELS): at most 10^6 runs or 60 s over
# the committed seed corpus CORPUS, which it only reads; new inputs go to a
# fresh corpus in the build folder, crash artifacts beside it.
function(troupe_add_fuzzer name)
  cmake_parse_arguments(ARG "" "CORPUS" "SOURCES;LIBRARIES;INCLUDES;LABELS" ${ARGN})
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    return()
  endif()
  include(CheckCXXSourceCompiles)
  set(CMAKE_REQUIRED_FLAGS -fsanitize=fuzzer)
  set(CMAKE_REQUIRED_LINK_OPTIONS -fsanitize=fuzzer)
  check_cxx_source_compiles(
    "#include <cstddef>
     #include <cstdint>
     extern \"C\" int LLVMFuzzerTestOneInput(const std::uint8_t*, std::size_t) { return 0; }"
    TROUPE_HAVE_LIBFUZZER)
  if(NOT TROUPE_HAVE_LIBFUZZER)
    return()
  endif()
  set(sanitizers -fsanitize=fuzzer,address,undefined)
  add_executable(${name} ${ARG_SOURCES})
  target_include_directories(${name} PRIVATE ${ARG_INCLUDES})
  target_link_libraries(${name} PRIVATE ${ARG_LIBRARIES} $<BUILD_INTERFACE:troupe_build_options>)
  # -O1 even in Debug: about 3x the executions per second of -O0 here.
  target_compile_options(${name} PRIVATE ${sanitizers} -fno-sanitize-recover=undefined
                                         -fno-omit-frame-pointer -O1)
  target_link_options(${name} PRIVATE ${sanitizers})
  set(work ${CMAKE_CURRENT_BINARY_DIR}/${name}_run)
  file(MAKE_DIRECTORY ${work}/corpus)
  add_test(NAME ${name}
           COMMAND ${name} -runs=1000000 -max_total_time=60 -artifact_prefix=${work}/
                   ${work}/corpus ${ARG_CORPUS}
           WORKING_DIRECTORY ${work})
  set_tests_properties(${name} PROPERTIES TIMEOUT 180 LABELS "fuzz;${ARG_LABELS}")
endfunction()
