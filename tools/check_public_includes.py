#!/usr/bin/env python3
# Part of troupe. See LICENSE at the repository root.
"""Fail if a public header includes CAF.

CAF 0.17 stays an implementation detail of net/src (STYLE.md §7): nothing under
a `<module>/include/` folder may include `<caf/...>` (or "caf/..."), so that
consumers of troupe's installed headers never need CAF's headers.

Usage: check_public_includes.py [REPO_ROOT]   (default: the parent of tools/)
Exit status: 0 when clean, 1 when an offending include was found, 2 on misuse.
"""

import os
import re
import sys

# `#include <caf/x.hpp>`, `# include "caf/x.hpp"`, and the same inside
# __has_include(...), which would also make the header depend on CAF.
CAF_INCLUDE = re.compile(r'^\s*#\s*(?:include|import|if|elif).*?[<"]caf/')

SKIP_DIRS = {".git", ".cache", "node_modules", "__pycache__"}
HEADER_SUFFIXES = (".hpp", ".h", ".hh", ".hxx", ".ipp", ".inl", ".tpp")


def is_skipped_dir(name: str) -> bool:
    # Build trees (build/, build-foo/) may hold generated or copied headers.
    return name in SKIP_DIRS or name.startswith("build")


def public_headers(root: str):
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not is_skipped_dir(d))
        rel_parts = os.path.relpath(dirpath, root).split(os.sep)
        if "include" not in rel_parts:
            continue
        for name in sorted(filenames):
            if name.endswith(HEADER_SUFFIXES):
                yield os.path.join(dirpath, name)


def offending_lines(path: str):
    with open(path, encoding="utf-8", errors="replace") as handle:
        for number, line in enumerate(handle, start=1):
            if CAF_INCLUDE.search(line):
                yield number, line.rstrip()


def main(argv) -> int:
    if len(argv) > 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    root = argv[1] if len(argv) == 2 else os.path.join(os.path.dirname(__file__), os.pardir)
    root = os.path.abspath(root)
    if not os.path.isdir(root):
        print(f"check_public_includes: no such directory: {root}", file=sys.stderr)
        return 2

    checked = 0
    failures = []
    for header in public_headers(root):
        checked += 1
        for number, line in offending_lines(header):
            failures.append(f"{os.path.relpath(header, root)}:{number}: {line}")

    if failures:
        print("CAF must not appear in public headers (keep it inside net/src):")
        for failure in failures:
            print(f"  {failure}")
        return 1
    print(f"check_public_includes: {checked} public headers, none includes CAF")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
