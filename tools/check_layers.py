#!/usr/bin/env python3
# Part of troupe. See LICENSE at the repository root.
"""Fail if a module above the core reaches into the core's internals.

supervision/, events/ and net/ stand on the core's public control surface
(docs/architecture.md "Module graph" and "One public control surface"): they may not include an
`actors/detail/` header, nor name the core's internals directly
(`this_thread_context`, `sys_kind`, `system::core()`), so the core can change
behind its public headers.

Usage: check_layers.py [REPO_ROOT]   (default: the parent of tools/)
Exit status: 0 when clean, 1 when a violation was found, 2 on misuse.
"""

import os
import re
import sys

UPPER_MODULES = ("supervision", "events", "net")
SOURCE_SUFFIXES = (".hpp", ".h", ".cpp", ".cc", ".ipp")
FORBIDDEN = [
    (re.compile(r'^\s*#\s*include\s*[<"]troupe/actors/detail/'), "includes an actors/detail header"),
    (re.compile(r"\bthis_thread_context\b"), "uses the core's thread context"),
    (re.compile(r"\bsys_kind\b"), "posts raw system messages"),
    (re.compile(r"[.>]core\(\)"), "reaches system::core()"),
]


def sources(root: str):
    for module in UPPER_MODULES:
        top = os.path.join(root, module)
        for dirpath, dirnames, filenames in os.walk(top):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("build"))
            for name in sorted(filenames):
                if name.endswith(SOURCE_SUFFIXES):
                    yield os.path.join(dirpath, name)


def main(argv) -> int:
    if len(argv) > 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    root = argv[1] if len(argv) == 2 else os.path.join(os.path.dirname(__file__), os.pardir)
    root = os.path.abspath(root)
    if not os.path.isdir(root):
        print(f"check_layers: no such directory: {root}", file=sys.stderr)
        return 2
    checked = 0
    failures = []
    for path in sources(root):
        checked += 1
        with open(path, encoding="utf-8", errors="replace") as handle:
            for number, line in enumerate(handle, start=1):
                code = line.split("//", 1)[0]
                for pattern, why in FORBIDDEN:
                    if pattern.search(code):
                        failures.append(f"{os.path.relpath(path, root)}:{number}: {why}: "
                                        f"{line.strip()}")
    if failures:
        print("modules above the core must use its public headers only:")
        for failure in failures:
            print(f"  {failure}")
        return 1
    print(f"check_layers: {checked} files in {', '.join(UPPER_MODULES)}, none reaches into the core")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
