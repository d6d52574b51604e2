# Part of troupe. See LICENSE at the repository root.
# The message codec's fuzzer (included from tests/net/fuzz/CMakeLists.txt). The codec is
# templates in <troupe/net/detail/codec.hpp>, instrumented where the harness instantiates them.
troupe_add_fuzzer(
  codec_fuzzer
  SOURCES codec_fuzzer.cpp
  LIBRARIES troupe::net
  CORPUS ${CMAKE_CURRENT_SOURCE_DIR}/corpus/codec_fuzzer)
