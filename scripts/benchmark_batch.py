#!/usr/bin/env python3
"""Time a batch run of pmdoctor over hundreds of builds, and its peak memory at a thousand.

    python scripts/benchmark_batch.py [--corpus DIR] [--builds N] [--rss-builds M]

Replicates the corpus builds (``../shared/corpus/builds``; the test fixtures
when that is absent) into a temporary folder until it holds N build
directories (default 400), then runs ``pmdoctor --recursive`` over it, as a
fresh process, serially (``--jobs 1``) and with ``--jobs 2``, and prints the
wall time per build of each and their ratio. It then grows the folder to M
builds (default 1000) and prints the peak resident set size of a serial run
there. Figures only, no verdict; ``batch_figures()`` gives the same lines to
``benchmark.py``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import List, Optional, Sequence

HERE = Path(__file__).resolve().parent
DEFAULT_CORPUS = HERE.parents[1] / "shared" / "corpus"
FIXTURES = HERE.parent / "tests" / "builds"


def source_builds(corpus: Optional[Path] = None) -> List[Path]:
    """The build directories to replicate: the corpus's, else the fixtures' (a fresh clone)."""
    sys.path.insert(0, str(HERE))
    from pmdoctor.inputs.locate import find_build_dirs

    corpus_builds = Path(corpus or DEFAULT_CORPUS) / "builds"
    root = corpus_builds if corpus_builds.is_dir() else FIXTURES
    return find_build_dirs(root)


def replicate(sources: Sequence[Path], target: Path, count: int) -> int:
    """Fill ``target`` with ``count`` build directories (hard links where possible: fast, small)."""
    target.mkdir(parents=True, exist_ok=True)
    have = sum(1 for entry in target.iterdir() if entry.is_dir())
    for index in range(have, count):
        source = sources[index % len(sources)]
        shutil.copytree(source, target / f"{index:05d}-{source.name}", copy_function=_link_or_copy)
    return count


def _link_or_copy(source: str, target: str) -> None:
    try:
        os.link(source, target)
    except OSError:  # another file system, or links not allowed
        shutil.copy2(source, target)


def _command(root: Path, jobs: int) -> List[str]:
    return [
        sys.executable,
        "-m",
        "pmdoctor",
        "--recursive",
        str(root),
        "--jobs",
        str(jobs),
        "--format",
        "json",
        "-o",
        os.devnull,
        "--exit-zero",
    ]


def _environment() -> dict:
    environment = dict(os.environ, PYTHONPATH=str(HERE), NO_COLOR="1")
    environment.pop("ZEPHYR_BASE", None)
    return environment


def wall_seconds(root: Path, jobs: int, repeat: int = 3) -> float:
    """The best of ``repeat`` runs: the least disturbed by whatever else the machine does."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        done = subprocess.run(_command(root, jobs), env=_environment(), capture_output=True, text=True)
        elapsed = time.perf_counter() - start
        if done.returncode not in (0, 1):
            raise RuntimeError(f"pmdoctor exited {done.returncode}: {done.stderr.strip()[-500:]}")
        best = min(best, elapsed)
    return best


def peak_rss_mib(root: Path, jobs: int = 1) -> float:
    """The peak resident set size of one batch run, in MiB, measured in a process of its own
    (so no earlier child of this script counts)."""
    probe = (
        "import resource, subprocess, sys\n"
        "subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe, *_command(root, jobs)],
        env=_environment(),
        capture_output=True,
        text=True,
        check=True,
    )
    kib = int(done.stdout.split()[-1])
    return (kib if sys.platform != "darwin" else kib / 1024) / 1024


def batch_figures(
    corpus: Optional[Path] = None, builds: int = 400, rss_builds: int = 1000, repeat: int = 3
) -> List[str]:
    """The batch figures as printable lines: serial and two-job ms per build, and the peak RSS."""
    sources = source_builds(corpus)
    if not sources:
        return ["batch: no build directory to replicate"]
    origin = "corpus" if Path(sources[0]).is_relative_to(Path(corpus or DEFAULT_CORPUS)) else "fixture"
    with tempfile.TemporaryDirectory(prefix="pmdoctor-batch-") as temporary:
        root = Path(temporary) / "builds"
        replicate(sources, root, builds)
        serial = wall_seconds(root, 1, repeat) / builds * 1000
        parallel = wall_seconds(root, 2, repeat) / builds * 1000
        replicate(sources, root, rss_builds)
        rss = peak_rss_mib(root)
    return [
        f"batch of {builds} builds ({len(sources)} {origin} builds replicated), best of {repeat}:",
        f"  serial (--jobs 1): {serial:.1f} ms/build",
        f"  --jobs 2:          {parallel:.1f} ms/build  ({serial / parallel:.2f}x faster than serial)",
        f"peak RSS, serial batch of {rss_builds} builds: {rss:.1f} MiB",
    ]


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS, help="the corpus (default: ../shared)")
    parser.add_argument("--builds", type=int, default=400, help="builds in the timed batch (default 400)")
    parser.add_argument("--rss-builds", type=int, default=1000, help="builds for peak RSS (default 1000)")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs of each, best taken (default 3)")
    args = parser.parse_args(argv)
    for line in batch_figures(args.corpus, args.builds, args.rss_builds, args.repeat):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
