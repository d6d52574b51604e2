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

# troupe_add_test(<name> MODULE <m> SOURCES ... [LIBRARIES ...] [LABELS ...])
# One GoogleTest executable per module; every TEST is its own ctest entry with
# a 60 s timeout and the module's label (ctest -L <m>).
function(troupe_add_test name)
  cmake_parse_arguments(ARG "" "MODULE" "SOURCES;LIBRARIES;LABELS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_LIBRARIES} GTest::gtest GTest::gmock
                                        GTest::gtest_main $<BUILD_INTERFACE:troupe_build_options>)
  gtest_discover_tests(${name} DISCOVERY_MODE PRE_TEST
                       PROPERTIES TIMEOUT 60 LABELS "${ARG_MODULE};${ARG_LABELS}")
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
