#!/usr/bin/env python3
"""Time and measure pmdoctor over the corpus of real build directories.

    python scripts/benchmark.py [--corpus DIR] [--repeat N]

Loads and checks every build under ``<corpus>/builds`` N times (default 3)
and prints the median time per build, the total, the five slowest builds
and the peak memory: the largest Python heap of any one build (tracemalloc,
measured in a separate pass because tracing slows everything down) and the
process's maximum resident set size. It prints figures only; it judges
nothing. Exit code 2 when the corpus is missing.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Dict, List, Optional, Tuple

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from pmdoctor.api import analyze  # noqa: E402

DEFAULT_CORPUS = HERE.parents[1] / "shared" / "corpus"


def build_dirs(corpus: Path) -> List[Path]:
    return sorted(p for p in (corpus / "builds").iterdir() if p.is_dir())


def time_builds(builds: List[Path], repeat: int) -> Dict[str, Tuple[float, int]]:
    """Median seconds and finding count of each build."""
    results: Dict[str, Tuple[float, int]] = {}
    for build in builds:
        times, count = [], 0
        for _ in range(repeat):
            start = time.perf_counter()
            count = len(analyze(build).findings)
            times.append(time.perf_counter() - start)
        results[build.name] = (statistics.median(times), count)
    return results


def peak_heap(builds: List[Path]) -> Tuple[int, str]:
    """The largest traced Python heap while analysing one build, and which build."""
    worst, name = 0, ""
    tracemalloc.start()
    try:
        for build in builds:
            tracemalloc.reset_peak()
            analyze(build)
            peak = tracemalloc.get_traced_memory()[1]
            if peak > worst:
                worst, name = peak, build.name
    finally:
        tracemalloc.stop()
    return worst, name


def max_rss_bytes() -> Optional[int]:
    try:
        import resource
    except ImportError:  # Windows
        return None
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Linux reports KiB, macOS bytes.
    return rss if sys.platform == "darwin" else rss * 1024


def mib(value: int) -> str:
    return f"{value / (1024 * 1024):.1f} MiB"


def report(results: Dict[str, Tuple[float, int]], repeat: int, heap: Tuple[int, str]) -> str:
    width = max(len(name) for name in results)
    lines = [f"{'build'.ljust(width)}  median ms  findings"]
    for name, (seconds, count) in results.items():
        lines.append(f"{name.ljust(width)}  {seconds * 1000:9.1f}  {count:8d}")
    medians = [seconds for seconds, _ in results.values()]
    lines += [
        "",
        f"builds: {len(results)}, runs per build: {repeat}",
        f"total of medians: {sum(medians) * 1000:.1f} ms "
        f"(mean {statistics.mean(medians) * 1000:.1f} ms, max {max(medians) * 1000:.1f} ms)",
        "slowest 5:",
    ]
    slowest = sorted(results.items(), key=lambda item: item[1][0], reverse=True)[:5]
    lines += [f"  {seconds * 1000:8.1f} ms  {name}" for name, (seconds, _) in slowest]
    lines.append(f"peak Python heap (tracemalloc, one build): {mib(heap[0])} ({heap[1]})")
    rss = max_rss_bytes()
    lines.append(f"max resident set size (getrusage): {mib(rss) if rss is not None else 'n/a'}")
    return "\n".join(lines) + "\n"


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS, help="corpus directory")
    parser.add_argument("-n", "--repeat", type=int, default=3, help="runs per build (default 3)")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    if not (args.corpus / "builds").is_dir():
        sys.stderr.write(f"benchmark: no corpus at {args.corpus} (expected {args.corpus / 'builds'})\n")
        return 2
    builds = build_dirs(args.corpus)
    if not builds:
        sys.stderr.write(f"benchmark: {args.corpus / 'builds'} holds no build directories\n")
        return 2
    started = time.perf_counter()
    results = time_builds(builds, args.repeat)
    wall = time.perf_counter() - started
    heap = peak_heap(builds)
    sys.stdout.write(report(results, args.repeat, heap))
    sys.stdout.write(f"wall time of the timed runs: {wall:.2f} s\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
