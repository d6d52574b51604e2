# Part of troupe. See LICENSE at the repository root.
#
# Install rules, the package config, and the tooling tests. Included once, at
# the end of the top-level CMakeLists.txt, so that every module target exists.
#
#   TROUPE_INSTALL      install the libraries, their headers and
#                       lib/cmake/troupe/troupe-config.cmake (STYLE.md §7)
#   TROUPE_BUILD_TESTS  add the lint tests (tools/CMakeLists.txt) and, with
#                       TROUPE_INSTALL, the `install_smoke` test
include_guard(GLOBAL)

include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(TROUPE_INSTALL_CMAKEDIR "lib/cmake/troupe")

# Library targets that make up the package, by real name. Modules are still
# being written, so a name without a target is skipped. troupe_build_options
# is deliberately absent: it only reaches troupe's own targets through
# $<BUILD_INTERFACE:...> and must not be exported.
set(_troupe_package_targets
    troupe_mailbox
    troupe_actors
    troupe_testing
    troupe_supervision
    troupe_events
    troupe_core
    troupe_net
    troupe_troupe)

set(_troupe_installed_targets "")
set(_troupe_installed_components "")
foreach(_tgt IN LISTS _troupe_package_targets)
  if(TARGET ${_tgt})
    list(APPEND _troupe_installed_targets ${_tgt})
    get_target_property(_export_name ${_tgt} EXPORT_NAME)
    if(NOT _export_name)
      string(REGEX REPLACE "^troupe_" "" _export_name "${_tgt}")
    endif()
    list(APPEND _troupe_installed_components ${_export_name})
  endif()
endforeach()

# Header folders to install: every source-tree or build-tree folder that an
# installed target publishes as $<BUILD_INTERFACE:...> (the modules' include/
# folders, and generated export headers once shared builds add them).
function(_troupe_collect_include_dirs out_var)
  set(_dirs "")
  foreach(_tgt IN LISTS ARGN)
    get_target_property(_includes ${_tgt} INTERFACE_INCLUDE_DIRECTORIES)
    if(NOT _includes)
      continue()
    endif()
    foreach(_entry IN LISTS _includes)
      if(_entry MATCHES "^\\$<BUILD_INTERFACE:([^>$]+)>$")
        set(_dir "${CMAKE_MATCH_1}")
        cmake_path(IS_PREFIX PROJECT_SOURCE_DIR "${_dir}" NORMALIZE _in_source)
        cmake_path(IS_PREFIX PROJECT_BINARY_DIR "${_dir}" NORMALIZE _in_binary)
        if(_in_source OR _in_binary)
          list(APPEND _dirs "${_dir}")
        endif()
      endif()
    endforeach()
  endforeach()
  list(REMOVE_DUPLICATES _dirs)
  set(${out_var} "${_dirs}" PARENT_SCOPE)
endfunction()

# What troupe-config.cmake must find before it loads the targets. Threads,
# Boost and tl-expected are always there; GTest only if troupe::testing links
# it, CAF only if troupe::net was built (through our own FindCAF.cmake, since
# CAF 0.17 installs no CMake package).
function(_troupe_links_to out_var prefix)
  set(_found FALSE)
  foreach(_tgt IN LISTS ARGN)
    get_target_property(_links ${_tgt} INTERFACE_LINK_LIBRARIES)
    if(_links AND "${_links}" MATCHES "${prefix}")
      set(_found TRUE)
    endif()
  endforeach()
  set(${out_var} ${_found} PARENT_SCOPE)
endfunction()

if(TROUPE_INSTALL)
  if(NOT _troupe_installed_targets)
    message(WARNING "troupe: TROUPE_INSTALL is on but no library target exists yet")
  else()
    install(
      TARGETS ${_troupe_installed_targets}
      EXPORT troupe-targets
      ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
      LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
      RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
      INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})

    _troupe_collect_include_dirs(_troupe_include_dirs ${_troupe_installed_targets})
    foreach(_dir IN LISTS _troupe_include_dirs)
      install(DIRECTORY "${_dir}/" DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} OPTIONAL
              FILES_MATCHING
              PATTERN "*.hpp"
              PATTERN "*.h"
              PATTERN "*.ipp")
    endforeach()

    install(EXPORT troupe-targets NAMESPACE troupe:: DESTINATION ${TROUPE_INSTALL_CMAKEDIR})

    # Substituted into troupe-config.cmake.in.
    _troupe_links_to(TROUPE_CONFIG_NEEDS_GTEST "GTest::" ${_troupe_installed_targets})
    _troupe_links_to(TROUPE_CONFIG_NEEDS_CAF "CAF::" ${_troupe_installed_targets})
    set(TROUPE_CONFIG_COMPONENTS "${_troupe_installed_components}")
    if(TROUPE_CONFIG_NEEDS_CAF)
      # troupe::net links CAF, libsodium (privately) and msgpack-cxx.
      install(FILES "${PROJECT_SOURCE_DIR}/cmake/FindCAF.cmake"
                    "${PROJECT_SOURCE_DIR}/cmake/Findsodium.cmake"
              DESTINATION ${TROUPE_INSTALL_CMAKEDIR})
    endif()

    configure_package_config_file(
      "${PROJECT_SOURCE_DIR}/cmake/troupe-config.cmake.in"
      "${PROJECT_BINARY_DIR}/troupe-config.cmake"
      INSTALL_DESTINATION ${TROUPE_INSTALL_CMAKEDIR})
    write_basic_package_version_file(
      "${PROJECT_BINARY_DIR}/troupe-config-version.cmake"
      VERSION ${PROJECT_VERSION}
      COMPATIBILITY SameMinorVersion)
    install(FILES "${PROJECT_BINARY_DIR}/troupe-config.cmake"
                  "${PROJECT_BINARY_DIR}/troupe-config-version.cmake"
            DESTINATION ${TROUPE_INSTALL_CMAKEDIR})
  endif()
endif()

if(TROUPE_BUILD_TESTS)
  add_subdirectory("${PROJECT_SOURCE_DIR}/tools" "${PROJECT_BINARY_DIR}/tools")

  # install_smoke: install this build into a prefix inside the build tree, then
  # configure, build and run install_test/ against it (STYLE.md §7). Run it
  # after a full build; it does not rebuild troupe.
  if(TROUPE_INSTALL AND _troupe_installed_targets)
    add_test(
      NAME install_smoke
      COMMAND
        ${CMAKE_COMMAND} "-DTROUPE_BINARY_DIR=${PROJECT_BINARY_DIR}"
        "-DTROUPE_SMOKE_DIR=${PROJECT_BINARY_DIR}/install_smoke"
        "-DTROUPE_CONSUMER_DIR=${PROJECT_SOURCE_DIR}/install_test"
        "-DTROUPE_CONFIG=$<CONFIG>" "-DTROUPE_GENERATOR=${CMAKE_GENERATOR}"
        "-DTROUPE_CXX_COMPILER=${CMAKE_CXX_COMPILER}" "-DTROUPE_SANITIZERS=${TROUPE_SANITIZERS}"
        -P "${PROJECT_SOURCE_DIR}/install_test/smoke.cmake")
    set_tests_properties(install_smoke PROPERTIES LABELS install TIMEOUT 600)
  endif()
endif()
