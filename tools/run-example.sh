#!/usr/bin/env bash
# Part of troupe. See LICENSE at the repository root.
#
# Builds and runs troupe's flagship example. On a fresh Debian 12 machine, as
# root: installs the missing Debian packages (tools/install-deps.sh),
# configures and builds the `release` preset (examples and benchmarks), and
# runs the example. Arguments are passed on to the example.
set -euo pipefail

# The flagship example, relative to the repository root.
EXAMPLE=build/release/examples/pipeline/pipeline

cd "$(dirname "${BASH_SOURCE[0]}")/.."

jobs="${TROUPE_JOBS:-2}"

bash tools/install-deps.sh
cmake --preset release
cmake --build --preset release --parallel "$jobs" --target pipeline

if [[ ! -x "$EXAMPLE" ]]; then
    echo "run-example: $EXAMPLE was not built (is examples/pipeline in the build?)" >&2
    exit 1
fi
echo "run-example: running $EXAMPLE $*"
exec "$EXAMPLE" "$@"
