# Part of troupe. See LICENSE at the repository root.
# The message codec's fuzzer (included from tests/net/fuzz/CMakeLists.txt). It decodes through
# the private codec header, hence net/src on its include path.
troupe_add_fuzzer(
  codec_fuzzer
  SOURCES codec_fuzzer.cpp
  LIBRARIES troupe::net
  CORPUS ${CMAKE_CURRENT_SOURCE_DIR}/corpus/codec_fuzzer)
target_include_directories(codec_fuzzer PRIVATE ${PROJECT_SOURCE_DIR}/net/src)
