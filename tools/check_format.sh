#!/usr/bin/env bash
# Part of troupe. See LICENSE at the repository root.
#
# Checks that every C++ source and header follows .clang-format (STYLE.md §9):
#   tools/check_format.sh         report, exit 1 if any file needs reformatting
#   tools/check_format.sh --fix   reformat those files in place
#
# Files: *.hpp and *.cpp known to git (tracked, plus new files that are not
# ignored, so a new file is checked before its first commit). Outside a git
# checkout it falls back to all such files outside build*/ folders.
# clang-format 14 is the reference; set CLANG_FORMAT to use another binary.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

mode=check
case "${1:-}" in
    "") ;;
    --fix) mode=fix ;;
    -h | --help)
        sed -n '4,11p' "${BASH_SOURCE[0]}"
        exit 0
        ;;
    *)
        echo "usage: $0 [--fix]" >&2
        exit 2
        ;;
esac

clang_format="${CLANG_FORMAT:-}"
if [[ -z "$clang_format" ]]; then
    clang_format="$(command -v clang-format-14 || command -v clang-format || true)"
fi
if [[ -z "$clang_format" ]]; then
    echo "check_format: clang-format not found (apt-get install clang-format)" >&2
    exit 2
fi
version="$("$clang_format" --version)"
if [[ "$version" != *"version 14."* ]]; then
    echo "check_format: warning: expected clang-format 14, using: $version" >&2
fi

files=()
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    while IFS= read -r -d '' f; do
        # A tracked file deleted in the work tree is still listed by git.
        [[ -f "$f" ]] && files+=("$f")
    done < <(git ls-files -z --cached --others --exclude-standard -- '*.hpp' '*.cpp' | sort -zu)
else
    while IFS= read -r -d '' f; do
        files+=("$f")
    done < <(find . -path './build*' -prune -o -path ./.git -prune -o \
        -type f \( -name '*.hpp' -o -name '*.cpp' \) -print0 | sort -z)
fi

if ((${#files[@]} == 0)); then
    echo "check_format: no *.hpp / *.cpp files found"
    exit 0
fi

if [[ "$mode" == fix ]]; then
    "$clang_format" -i --style=file "${files[@]}"
    echo "check_format: formatted ${#files[@]} files"
    exit 0
fi

if "$clang_format" --dry-run --Werror --style=file "${files[@]}"; then
    echo "check_format: ${#files[@]} files follow .clang-format"
else
    echo "check_format: run tools/check_format.sh --fix (clang-format 14) and commit the result" >&2
    exit 1
fi
