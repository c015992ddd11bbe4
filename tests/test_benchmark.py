"""The benchmark script runs from a fresh clone and prints each figure it promises.

Nothing here judges a figure (machines are shared and noisy): only that each
line is printed with numbers in it, on the bundled four-image fixture.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from conftest import ROOT

FIXTURE = ROOT / "tests" / "builds" / "dt" / "pm_sysbuild_nrf5340"


def test_standalone_and_breakdown_figures_are_printed(tmp_path: Path) -> None:
    environ = dict(os.environ)
    environ.pop("PYTHONPATH", None)
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "benchmark.py"),
            "--build",
            str(FIXTURE),
            "--corpus",
            str(tmp_path / "no-corpus"),
            "-n",
            "1",
            *("--skip", "west", "--skip", "in-process", "--skip", "batch"),
        ],
        capture_output=True,
        text=True,
        env=environ,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert re.search(r"^standalone: [\d.]+x import yaml \(\d+ vs \d+ ms wall", out, re.M), out
    for share in (
        r"interpreter start \(python -c pass\): \d+ ms",
        r"\+ import yaml \(the anchor\): -?\d+ ms",
        r"\+ the \d+ other library modules a check loads: -?\d+ ms",
        r"\+ pmdoctor's modules and the check, cold: \d+ ms, of which creating dataclasses (\d+ ms|n/a)"
        r" and compiling regular expressions (\d+ ms|n/a)",
        r"the same check again in that process \(warm\): \d+ ms",
        r"left for pmdoctor under the 2.0x goal: -?\d+ ms",
    ):
        assert re.search(share, out), (share, out)
