#!/usr/bin/env bash
# Part of troupe. See LICENSE at the repository root.
#
# Installs the Debian 12 (bookworm) packages troupe needs to build, test and
# run its examples and benchmarks. Used by tools/run-tests.sh and
# tools/run-example.sh; safe to run again: when everything is installed it
# returns at once, without touching apt.
#
#   tools/install-deps.sh                 the project's packages
#   tools/install-deps.sh clang-tidy ...  those plus extra packages
#
# Needs root (or sudo) only when something is missing.
set -euo pipefail

packages=(
    # Toolchain: g++ 12 (its libgcc-12-dev brings the ASan/TSan/UBSan
    # runtimes), make for the "Unix Makefiles" presets, CMake 3.25.
    g++
    make
    cmake
    # Libraries (STYLE.md §4, §6, §7; README.md "Layout and dependencies").
    libboost-dev    # Boost.Lockfree run queues, intrusive_ptr, demangling
    libexpected-dev # tl::expected, behind troupe::expected
    libcaf-dev      # CAF 0.17.6: net module and the comparison benchmarks
    libsodium-dev   # net: HMAC challenge-response and AEAD of the wire (docs/net.md)
    libmsgpack-cxx-dev # net: the message codec, limits made for untrusted input
    libgtest-dev
    libgmock-dev
    libbenchmark-dev
    # Tooling: lint tests (tools/check_public_includes.py, tools/check_format.sh).
    python3
    clang-format
    clang-14        # the second supported compiler (the `clang` preset)
    libclang-rt-14-dev # libFuzzer for the net fuzzers (tests labelled fuzz)
    clang-tidy      # static analysis of the library sources (the `clang` preset)
    git
)
packages+=("$@")

is_installed() {
    dpkg-query -W -f='${Status}\n' "$1" 2>/dev/null | grep -q '^install ok installed$'
}

missing=()
for pkg in "${packages[@]}"; do
    is_installed "$pkg" || missing+=("$pkg")
done

if ((${#missing[@]} == 0)); then
    echo "install-deps: all ${#packages[@]} packages are installed"
    exit 0
fi

if [[ -r /etc/os-release ]]; then
    # shellcheck source=/dev/null
    . /etc/os-release
    if [[ "${ID:-}" != debian || "${VERSION_ID:-}" != 12 ]]; then
        echo "install-deps: warning: made for Debian 12, this is ${PRETTY_NAME:-unknown}" >&2
    fi
fi

sudo=()
if ((EUID != 0)); then
    if command -v sudo >/dev/null 2>&1; then
        sudo=(sudo)
    else
        echo "install-deps: missing packages and not root: ${missing[*]}" >&2
        exit 1
    fi
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# A mirror can be briefly unreachable; try the index update a few times.
for attempt in 1 2 3; do
    if "${sudo[@]}" apt-get update; then
        break
    fi
    if ((attempt == 3)); then
        echo "install-deps: apt-get update failed" >&2
        exit 1
    fi
    sleep 10
done
"${sudo[@]}" apt-get install -y --no-install-recommends "${missing[@]}"

for pkg in "${missing[@]}"; do
    if ! is_installed "$pkg"; then
        echo "install-deps: $pkg is still not installed" >&2
        exit 1
    fi
done
echo "install-deps: done"
