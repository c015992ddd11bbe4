"""Issue 9: anyone's files are analysed in bounded time and memory.

Each test writes a large layout (or .config) that is legal input,
runs the real command in a subprocess and checks the processor time and
peak memory it used against generous bounds: far above what the analysis
needs (a few seconds) and far below what a rule that compares every
partition with every other, or reports every overlapping pair, takes on
these inputs (minutes, or gigabytes). Processor time, not wall time: on a
shared machine the wall clock measures the neighbours; a run still going
after WALL_SECONDS is stopped and fails.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List

import pytest

from conftest import BUILDS, ROOT

CPU_SECONDS = 20.0
PEAK_MB = 600.0
WALL_SECONDS = 90.0

# os.wait4 gives the peak memory of one child (RUSAGE_CHILDREN would be the largest of all).
pytestmark = pytest.mark.skipif(not hasattr(os, "wait4"), reason="needs os.wait4 (POSIX)")


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str
    cpu: float
    peak_mb: float

    def findings(self, rule: str) -> List[Dict]:
        builds = json.loads(self.stdout).get("builds", [])
        return [f for build in builds for f in build["findings"] if f["rule"] == rule]


def run_bounded(*args: str, cwd: Path) -> Run:
    """``python -m pmdoctor ARGS --format json``, measured: this child's own processor time and peak RSS."""
    environ = dict(os.environ, PYTHONPATH=str(ROOT / "scripts"), NO_COLOR="1")
    environ.pop("ZEPHYR_BASE", None)
    out_path, err_path = cwd / "stdout.json", cwd / "stderr.txt"
    with open(out_path, "w") as out, open(err_path, "w") as err:
        start = time.monotonic()
        proc = subprocess.Popen(
            [sys.executable, "-m", "pmdoctor", *args, "--format", "json"],
            cwd=cwd,
            env=environ,
            stdout=out,
            stderr=err,
        )
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() - start > WALL_SECONDS:
                proc.kill()
                os.wait4(proc.pid, 0)
                pytest.fail(f"pmdoctor {' '.join(args)} still running after {WALL_SECONDS:.0f} s")
            time.sleep(0.05)
    proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here; Popen must not wait again
    cpu = usage.ru_utime + usage.ru_stime
    peak_mb = usage.ru_maxrss / 1024  # kilobytes on Linux
    return Run(proc.returncode, out_path.read_text(), err_path.read_text(), cpu, peak_mb)


def assert_bounded(run: Run) -> None:
    assert run.returncode in (0, 1), run.stderr[-2000:]
    assert run.cpu < CPU_SECONDS, f"used {run.cpu:.1f} s of processor time"
    assert run.peak_mb < PEAK_MB, f"peaked at {run.peak_mb:.0f} MB"


def partitions_text(parts: List[tuple], region: str = "") -> str:
    """YAML for (name, address, size[, span]) entries, written out directly: it is large."""
    lines = []
    for name, address, size, *span in parts:
        lines += [f"{name}:", f"  address: 0x{address:x}", f"  size: 0x{size:x}"]
        if span:
            lines.append(f"  span: [{', '.join(span[0])}]")
        if region:
            lines.append(f"  region: {region}")
    return "\n".join(lines) + "\n"


def grow_flash(regions: Path, size: int) -> None:
    """Make flash_primary of a regions.yml ``size`` bytes, so that a large layout fits."""
    text = regions.read_text()
    assert text.count("size: 0x100000") == 1, regions
    regions.write_text(text.replace("size: 0x100000", f"size: 0x{size:x}"))


def test_partitions_that_all_overlap_are_counted_not_listed(tmp_path):
    # 6000 partitions over the same 4 KB: 18 million overlapping pairs.
    count = 6000
    path = tmp_path / "pm_static.yml"
    path.write_text(partitions_text([(f"p{i}", 0, 0x1000) for i in range(count)]))

    run = run_bounded("triage", str(path), cwd=tmp_path)

    assert_bounded(run)
    overlaps = run.findings("PMD101")
    assert len(overlaps) == 51
    more = [f for f in overlaps if "more overlaps" in f["message"]]
    assert len(more) == 1
    assert f"{count * (count - 1) // 2 - 50} more overlaps in region flash_primary" in more[0]["message"]
    assert more[0]["evidence"] == [f"flash_primary 0x0-0x1000: {count} partitions (p0, p1, p2, …)"]


def test_containers_and_members(tmp_path):
    # 3000 containers, each over a leaf of its own, all aligned and inside a grown flash:
    # the alignment rule asks of every partition whether a container spans or holds it.
    # (6000 partitions: as many as a layout can hold inside the YAML node limit.)
    count = 3000
    parts = []
    for i in range(count):
        parts += [(f"c{i}", i * 0x1000, 0x1000, [f"l{i}"]), (f"l{i}", i * 0x1000, 0x1000)]
    app = shutil.copytree(BUILDS / "foundation" / "static_nrf52840" / "app", tmp_path / "app")
    (app / "pm_static.yml").write_text(partitions_text(parts))
    grow_flash(app / "build" / "regions.yml", count * 0x1000)

    run = run_bounded("-d", str(app / "build"), cwd=tmp_path)

    assert_bounded(run)
    assert run.findings("PMD001") == []  # the layout was read, so the rules below did run
    assert run.findings("PMD103") == [] and run.findings("PMD104") == []


def test_devicetree_partitions_against_a_large_layout(tmp_path):
    # 5000 partitions of the app's own devicetree, none with a Partition Manager name, over
    # 5000 partitions of partitions.yml: each names the Partition Manager partitions under it.
    # (Inside what the readers accept: zephyr.dts 10k nodes and 100k tokens, YAML 50k nodes.)
    count = 5000
    build = shutil.copytree(BUILDS / "foundation" / "sysbuild_nrf52840", tmp_path / "build")
    layout = [(f"p{i}", i * 0x1000, 0x1000) for i in range(count)]
    (build / "partitions.yml").write_text(partitions_text(layout, region="flash_primary"))
    grow_flash(build / "regions.yml", count * 0x1000)
    dts = build / "blinky" / "zephyr" / "zephyr.dts"
    nodes = "".join(
        f"user{i}: partition@{i * 0x1000:x} {{\n\treg = < 0x{i * 0x1000:x} 0x1000 >;\n}};\n"
        for i in range(count)
    )
    text = dts.read_text()
    cells = "#size-cells = < 0x1 >;"
    at = text.index("\n", text.index(cells, text.index('compatible = "fixed-partitions";'))) + 1
    dts.write_text(text[:at] + nodes + text[at:])

    run = run_bounded("-d", str(build), cwd=tmp_path)

    assert_bounded(run)
    [ignored] = run.findings("PMD603")
    assert len(ignored["evidence"]) == count
    assert ignored["evidence"][-1].endswith(
        f"Partition Manager puts `p{count - 1}` 0x{(count - 1) * 0x1000:x}-0x{count * 0x1000:x} there"
    )


def test_a_huge_image_count_is_summarised(tmp_path):
    build = shutil.copytree(BUILDS / "foundation" / "sysbuild_nrf52840", tmp_path / "build")
    config = build / "mcuboot" / "zephyr" / ".config"
    config.write_text(config.read_text() + "CONFIG_UPDATEABLE_IMAGE_NUMBER=1000000000\n")

    run = run_bounded("-d", str(build), cwd=tmp_path)

    assert_bounded(run)
    missing = [f["message"] for f in run.findings("PMD407")]
    assert len(missing) == 9
    assert sum("999999991 more of them (images 9 to 999999999)" in m for m in missing) == 1


def test_sweeps_agree_with_the_pairwise_definitions():
    # The sweeps replace "compare every partition with every other": on small random layouts
    # (negative and zero sizes, equal extents, static twins) they must give the same answers.
    from pmdoctor.model import Layout, LayoutKind, Partition
    from pmdoctor.rules._shared.layouts import first_overlaps, inner_containers
    from pmdoctor.rules.layout.partition_overlap import _Overlaps

    rng = random.Random(9)
    for _ in range(2000):
        parts = [
            Partition(
                f"p{i}",
                rng.randint(0, 8),
                rng.randint(-2, 6),
                rng.choice("ab"),
                span=("x",) * rng.randint(0, 1),
            )
            for i in range(rng.randint(0, 12))
        ]
        layout = Layout(LayoutKind.STATIC, None, partitions={p.name: p for p in parts})

        inner = inner_containers(layout)
        for part in (p for p in parts if p.size > 0):
            held = part.is_container and any(
                o.is_container
                and o.region == part.region
                and o.size > part.size
                and o.address <= part.address
                and part.end <= o.end
                for o in parts
            )
            assert (part.name in inner) == held, (parts, part)

        leaves = sorted(
            (p for p in parts if p.size > 0 and p.region == "a"), key=lambda p: (p.address, p.end)
        )
        twins = {p.name for p in leaves if rng.random() < 0.4}
        pairs = [
            (first, second)
            for i, first in enumerate(leaves)
            for second in leaves[i + 1 :]
            if second.address < first.end and not (first.name in twins and second.name in twins)
        ]
        overlaps = _Overlaps(leaves, twins)
        limit = rng.randint(0, 10)
        assert overlaps.count == len(pairs)
        assert list(overlaps.pairs(limit)) == pairs[:limit]

        ranges = [(rng.randint(0, 8), rng.randint(-1, 10)) for _ in range(rng.randint(0, 5))]
        limit = rng.randint(1, 4)
        used = [p for p in parts if p.size > 0]  # in layout order: the first ones are named
        expected = [[p for p in used if p.address < end and p.end > start][:limit] for start, end in ranges]
        assert first_overlaps(used, ranges, limit) == expected
