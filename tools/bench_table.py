#!/usr/bin/env python3
# Part of troupe. See LICENSE at the repository root.
"""Run troupe's benchmark binaries and print troupe/CAF ratios as a Markdown table.

Every benchmark in bench/ has a CAF counterpart in the same binary: "troupe/<case>" and
"caf/<case>". This script runs the binaries with repetitions, takes per benchmark name the median
over the repetitions of items_per_second and of each user counter (peak_rss_mb, bytes_per_actor,
...), pairs the troupe and CAF results of each case and prints

    | case | troupe median items/s | CAF median items/s | ratio troupe/CAF | counters |

Benchmarks without a counterpart are listed too, with ratio "n/a". Only the standard library is
used.

Examples:
    tools/bench_table.py                          # the two default binaries of the release build
    tools/bench_table.py --filter 'fan_in|ask'    # passed on as --benchmark_filter
    tools/bench_table.py path/to/other_bench      # the defaults plus another binary
    tools/bench_table.py --from-json a.json b.json   # tabulate existing JSON output only
"""

from __future__ import annotations

import argparse
import json
import math
import re
import statistics
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_BINARIES = (
    "build/release/bench/troupe_actors_bench",
    "build/release/bench/troupe_events_bench",
    "build/release/bench/troupe_supervision_bench",
)
FRAMEWORKS = ("troupe", "caf")

# Fields Google Benchmark writes for every run; any other numeric field is a user counter.
STANDARD_FIELDS = {
    "name", "family_index", "per_family_instance_index", "run_name", "run_type", "repetitions",
    "repetition_index", "threads", "iterations", "real_time", "cpu_time", "time_unit",
    "items_per_second", "bytes_per_second", "label", "error_occurred", "error_message",
    "aggregate_name", "aggregate_unit", "big_o", "rms",
}
# Suffixes Google Benchmark appends to the registered name (UseRealTime() and friends).
TIME_SUFFIX = re.compile(r"/(real_time|manual_time|process_time)$")


@dataclass
class Samples:
    """The repetitions of one benchmark name."""

    items_per_second: list[float] = field(default_factory=list)
    counters: dict[str, list[float]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    def median_items(self) -> float | None:
        return statistics.median(self.items_per_second) if self.items_per_second else None

    def median_counters(self) -> dict[str, float]:
        return {k: statistics.median(v) for k, v in self.counters.items() if v}


def base_name(name: str) -> str:
    while True:
        stripped = TIME_SUFFIX.sub("", name)
        if stripped == name:
            return name
        name = stripped


def collect(json_files: list[Path]) -> tuple[dict[str, Samples], list[dict]]:
    """Per benchmark name (in order of first appearance), the samples of its repetitions."""
    samples: dict[str, Samples] = {}
    contexts = []
    for path in json_files:
        try:
            with path.open(encoding="utf-8") as f:
                data = json.load(f)
        except (OSError, json.JSONDecodeError) as e:
            raise SystemExit(f"error: cannot read benchmark JSON {path}: {e}") from e
        contexts.append(data.get("context", {}))
        for run in data.get("benchmarks", []):
            if run.get("run_type", "iteration") != "iteration":
                continue  # we compute our own medians from the repetitions
            name = base_name(run.get("run_name") or run["name"])
            entry = samples.setdefault(name, Samples())
            if run.get("error_occurred"):
                entry.errors.append(run.get("error_message", "error"))
                continue
            if "items_per_second" in run:
                entry.items_per_second.append(float(run["items_per_second"]))
            for key, value in run.items():
                if key in STANDARD_FIELDS or isinstance(value, bool):
                    continue
                if isinstance(value, (int, float)):
                    entry.counters.setdefault(key, []).append(float(value))
    return samples, contexts


def split_name(name: str) -> tuple[str | None, str]:
    framework, _, case = name.partition("/")
    if framework in FRAMEWORKS and case:
        return framework, case
    return None, name


def si(value: float | None) -> str:
    if value is None or math.isnan(value):
        return "—"
    for factor, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= factor:
            return f"{value / factor:.3g}{suffix}"
    return f"{value:.3g}"


def plain(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:,.1f}" if abs(value) < 1e5 else f"{value:,.0f}"


def make_table(samples: dict[str, Samples]) -> list[str]:
    # Keyed by (framework-prefixed?, case) so that an unprefixed "x/y" never merges with "caf/x/y".
    cases: dict[tuple[bool, str], dict[str | None, Samples]] = {}
    for name, entry in samples.items():
        framework, case = split_name(name)
        cases.setdefault((framework is not None, case), {})[framework] = entry

    lines = [
        "| case | troupe median items/s | CAF median items/s | ratio troupe/CAF "
        "| counters (troupe vs CAF) |",
        "|---|---:|---:|---:|---|",
    ]
    for (prefixed, case), sides in cases.items():
        if prefixed:
            lines.append(paired_row(case, sides.get("troupe"), sides.get("caf")))
        else:
            lines.append(unprefixed_row(case, sides[None]))
    return lines


def error_note(*entries: Samples | None) -> str:
    errors = sorted({e for entry in entries if entry for e in entry.errors})
    return "errors: " + ", ".join(errors) if errors else ""


def cell(parts: list[str]) -> str:
    return "; ".join(p for p in parts if p).replace("|", "/")


def paired_row(case: str, troupe: Samples | None, caf: Samples | None) -> str:
    t_items = troupe.median_items() if troupe else None
    c_items = caf.median_items() if caf else None
    ratio = f"{t_items / c_items:.2f}" if t_items is not None and c_items else "n/a"
    t_counters = troupe.median_counters() if troupe else {}
    c_counters = caf.median_counters() if caf else {}
    counters = [
        f"{k} {plain(t_counters.get(k))} vs {plain(c_counters.get(k))}"
        for k in sorted(set(t_counters) | set(c_counters))
    ]
    return (f"| {case} | {si(t_items)} | {si(c_items)} | {ratio} "
            f"| {cell(counters + [error_note(troupe, caf)])} |")


def unprefixed_row(name: str, entry: Samples) -> str:
    """A benchmark outside the troupe/caf naming scheme (a baseline, say): no counterpart."""
    parts = [f"items/s {si(entry.median_items())}"]
    parts += [f"{k} {plain(v)}" for k, v in sorted(entry.median_counters().items())]
    return f"| {name} (unpaired) | — | — | n/a | {cell(parts + [error_note(entry)])} |"


def describe(samples: dict[str, Samples], contexts: list[dict]) -> list[str]:
    lines = []
    for ctx in sorted({json.dumps(c, sort_keys=True) for c in contexts}):
        c = json.loads(ctx)
        if not c:
            continue
        lines.append(
            f"- {c.get('executable', '?')}: host {c.get('host_name', '?')}, "
            f"{c.get('num_cpus', '?')} CPUs @ {c.get('mhz_per_cpu', '?')} MHz, "
            f"scaling {'on' if c.get('cpu_scaling_enabled') else 'off'}, "
            f"load {', '.join(f'{x:.2f}' for x in c.get('load_avg', []))}, {c.get('date', '?')}"
        )
    counts = sorted({len(s.items_per_second) for s in samples.values() if s.items_per_second})
    if counts:
        reps = str(counts[0]) if len(counts) == 1 else f"{counts[0]}-{counts[-1]}"
        lines.append(f"- medians of {reps} repetitions; ratio > 1 means troupe is faster")
    return lines


def run_binary(binary: Path, out_dir: Path | None, repetitions: int, filt: str | None,
               interleave: bool) -> Path | None:
    out = (out_dir / (binary.name + ".json")) if out_dir else binary.with_name(binary.name + ".json")
    out.parent.mkdir(parents=True, exist_ok=True)
    cmd = [
        str(binary),
        f"--benchmark_repetitions={repetitions}",
        "--benchmark_report_aggregates_only=false",
        "--benchmark_format=json",
        f"--benchmark_out={out}",
        "--benchmark_out_format=json",
    ]
    if interleave:
        # The host's speed drifts within minutes: shuffle the repetitions of every case (troupe
        # and CAF alike) through the run instead of measuring one side before the other.
        cmd.append("--benchmark_enable_random_interleaving=true")
    if filt:
        cmd.append(f"--benchmark_filter={filt}")
    print(f"running {' '.join(cmd)}", file=sys.stderr, flush=True)
    result = subprocess.run(cmd, stdout=subprocess.DEVNULL, check=False)
    if result.returncode != 0:
        print(f"warning: {binary} exited with status {result.returncode}", file=sys.stderr)
    if not out.exists():
        raise SystemExit(f"error: {binary} wrote no JSON output to {out}")
    if filt and out.stat().st_size == 0:
        print(f"note: {binary.name} has no benchmark matching {filt!r}", file=sys.stderr)
        return None
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("binaries", nargs="*", type=Path,
                        help="extra benchmark binaries to run after the defaults")
    parser.add_argument("--filter", help="regex passed on as --benchmark_filter")
    parser.add_argument("--repetitions", type=int, default=5,
                        help="--benchmark_repetitions (default: 5)")
    parser.add_argument("--no-interleave", action="store_true",
                        help="run repetitions back to back instead of randomly interleaved")
    parser.add_argument("--out-dir", type=Path,
                        help="where to write <binary>.json (default: next to each binary)")
    parser.add_argument("--no-defaults", action="store_true",
                        help="run only the binaries given on the command line")
    parser.add_argument("--from-json", nargs="+", type=Path, metavar="FILE",
                        help="tabulate existing Google Benchmark JSON output; run nothing")
    args = parser.parse_args(argv)

    if args.from_json:
        if args.binaries:
            parser.error("--from-json runs nothing; do not pass binaries with it")
        json_files = args.from_json
    else:
        binaries = []
        if not args.no_defaults:
            for rel in DEFAULT_BINARIES:
                path = REPO_ROOT / rel
                if path.exists():
                    binaries.append(path)
                else:
                    print(f"warning: skipping missing default binary {path}", file=sys.stderr)
        for path in args.binaries:
            if not path.exists():
                parser.error(f"no such binary: {path}")
            binaries.append(path)
        if not binaries:
            parser.error("no benchmark binaries to run (build the release preset first)")
        json_files = [run_binary(b, args.out_dir, args.repetitions, args.filter, not args.no_interleave)
                      for b in binaries]
        json_files = [f for f in json_files if f is not None]

    samples, contexts = collect(json_files)
    if not samples:
        print("no benchmark results found", file=sys.stderr)
        return 1
    print("\n".join(make_table(samples)))
    print()
    print("\n".join(describe(samples, contexts)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
