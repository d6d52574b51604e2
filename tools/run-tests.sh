#!/usr/bin/env bash
# Part of troupe. See LICENSE at the repository root.
#
# The project's one test command (README; .ci/run calls it). On a fresh
# Debian 12 machine, as root:
#   1. installs the missing Debian packages (tools/install-deps.sh),
#   2. configures, builds and runs ctest for the presets `dev`, `tsan` and
#      `asan` (CMakePresets.json), in that order,
#   3. prints one line per preset and a total, and exits non-zero on any failure.
#
#   tools/run-tests.sh             all three presets
#   tools/run-tests.sh dev asan    only these
#
# Sized for a 2-core machine: builds and ctest run 2 jobs (TROUPE_JOBS to
# change). A preset whose configure or build fails stops the run, since the
# others would fail the same way; a preset with failing tests does not.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

jobs="${TROUPE_JOBS:-2}"
presets=("$@")
if ((${#presets[@]} == 0)); then
    presets=(dev clang tsan asan)
fi

started=$SECONDS
elapsed() {
    local s=$((SECONDS - $1))
    printf '%dm%02ds' $((s / 60)) $((s % 60))
}
banner() {
    printf '\n==== run-tests: %s ====\n' "$*"
}

banner "dependencies"
bash tools/install-deps.sh

# ThreadSanitizer needs its fixed shadow-memory layout. Kernels configured
# with more mmap randomisation (vm.mmap_rnd_bits = 32, common since Linux 6.x)
# place mappings where the TSan runtime of GCC 12 / LLVM 14 cannot cope, and
# every instrumented binary stops at once with
#   FATAL: ThreadSanitizer: unexpected memory mapping
# This probe runs a tiny instrumented program; if it fails, it first tries
# running without ASLR (setarch -R: this process tree only, nothing changed on
# the machine) and then lowers vm.mmap_rnd_bits to 28 (root; machine-wide
# until reboot). The Debian 12 VM this was written on has 28 and needs neither;
# at 32 the probe fails there and setarch -R makes it pass.
tsan_prefix=()
prepare_tsan() {
    local dir rc=0
    dir="$(mktemp -d)"
    cat >"$dir/probe.cpp" <<'EOF'
#include <atomic>
#include <thread>
int main() {
    std::atomic<int> hits{0};
    std::thread worker([&] { hits.fetch_add(1, std::memory_order_relaxed); });
    worker.join();
    return hits.load(std::memory_order_relaxed) == 1 ? 0 : 1;
}
EOF
    if ! "${CXX:-c++}" -std=c++20 -fsanitize=thread -g "$dir/probe.cpp" -o "$dir/probe" \
        >"$dir/log" 2>&1; then
        echo "run-tests: cannot build a -fsanitize=thread program:" >&2
        cat "$dir/log" >&2
        rc=1
    elif "$dir/probe" >"$dir/log" 2>&1; then
        echo "run-tests: ThreadSanitizer works as is"
    elif setarch "$(uname -m)" -R "$dir/probe" >"$dir/log" 2>&1; then
        tsan_prefix=(setarch "$(uname -m)" -R)
        echo "run-tests: ThreadSanitizer needs ASLR off here; tsan runs under: ${tsan_prefix[*]}"
    elif [[ -w /proc/sys/vm/mmap_rnd_bits ]] &&
        echo 28 >/proc/sys/vm/mmap_rnd_bits 2>/dev/null &&
        "$dir/probe" >"$dir/log" 2>&1; then
        echo "run-tests: ThreadSanitizer needed vm.mmap_rnd_bits=28; it is now set"
    else
        echo "run-tests: ThreadSanitizer does not run on this machine:" >&2
        cat "$dir/log" >&2
        rc=1
    fi
    rm -rf "$dir"
    return "$rc"
}

total_passed=0
total_failed=0
results=()
failed_any=0

# run_preset <preset> [command prefix for build and test...]
run_preset() {
    local preset="$1"
    shift
    local t0=$SECONDS log line passed failed total rc

    banner "$preset: configure"
    if ! cmake --preset "$preset"; then
        results+=("$preset: configure FAILED")
        return 2
    fi

    banner "$preset: build"
    if ! "$@" cmake --build --preset "$preset" --parallel "$jobs"; then
        results+=("$preset: build FAILED")
        return 2
    fi

    banner "$preset: test"
    log="build/$preset/run-tests-ctest.log"
    # With pipefail, the pipeline fails with ctest's status (tee succeeds).
    if "$@" ctest --preset "$preset" --parallel "$jobs" 2>&1 | tee "$log"; then
        rc=0
    else
        rc=$?
    fi

    # "100% tests passed, 0 tests failed out of 42"
    line="$(grep -E '^[0-9]+% tests passed, [0-9]+ tests? failed out of [0-9]+' "$log" | tail -n 1 || true)"
    if [[ -n "$line" ]]; then
        failed="$(sed -E 's/.* ([0-9]+) tests? failed out of.*/\1/' <<<"$line")"
        total="$(sed -E 's/.*failed out of ([0-9]+).*/\1/' <<<"$line")"
        passed=$((total - failed))
    else
        passed=0
        failed=0
    fi
    total_passed=$((total_passed + passed))
    total_failed=$((total_failed + failed))

    if ((rc != 0)); then
        if [[ -z "$line" ]]; then
            results+=("$preset: ctest FAILED (exit $rc, no summary; see $log) in $(elapsed "$t0")")
        else
            results+=("$preset: $passed passed, $failed failed, FAILED in $(elapsed "$t0")")
        fi
        return 1
    fi
    results+=("$preset: $passed passed, $failed failed in $(elapsed "$t0")")
    return 0
}

for index in "${!presets[@]}"; do
    preset="${presets[$index]}"
    prefix=()
    if [[ "$preset" == tsan ]]; then
        banner "tsan: probe"
        if ! prepare_tsan; then
            results+=("tsan: ThreadSanitizer unusable on this machine, FAILED")
            failed_any=1
            continue
        fi
        prefix=("${tsan_prefix[@]}")
    fi

    rc=0
    run_preset "$preset" "${prefix[@]}" || rc=$?
    if ((rc != 0)); then
        failed_any=1
    fi
    if ((rc == 2)); then
        echo "run-tests: $preset did not build; skipping the remaining presets" >&2
        for skipped in "${presets[@]:index+1}"; do
            results+=("$skipped: not run")
        done
        break
    fi
done

banner "summary ($(elapsed "$started"))"
for result in "${results[@]}"; do
    echo "  $result"
done
if ((failed_any)); then
    echo "run-tests: FAILED"
else
    echo "run-tests: all presets passed (${presets[*]})"
fi
echo "run-tests: $total_passed passed, $total_failed failed"
exit "$failed_any"
