"""Helpers the rule tests share: private copies of fixtures, one visible edit, the findings of a rule."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Callable, Dict, List, Optional

import yaml

from conftest import BUILDS, ROOT
from pmdoctor.api import analyze, load_build
from pmdoctor.model.findings import Finding
from pmdoctor.rules import run_all


def copy_tree(source: Path, target: Path) -> Path:
    """A private copy of a fixture folder, so a test may edit it."""
    shutil.copytree(source, target)
    return target


def soc_build(name: str, tmp_path: Path) -> Path:
    """A private copy of tests/builds/soc/<name>, as tmp_path/build."""
    return copy_tree(BUILDS / "soc" / name, tmp_path / "build")


def edit(path: Path, old: str, new: str, count: int = 1) -> None:
    """Replace ``old`` by ``new``; it must occur exactly ``count`` times, so the edit is unambiguous."""
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == count, f"{old!r} occurs {text.count(old)} times in {path}, not {count}"
    path.write_text(text.replace(old, new), encoding="utf-8")


def leave_to_dtlib(build_dir: Path) -> None:
    """Make every zephyr.dts of a build one that only dtlib reads: a ``/memreserve/`` line (which
    no build writes) is outside what the flat reader knows, and changes nothing in the model."""
    for dts in build_dir.rglob("zephyr.dts"):
        text = dts.read_text(encoding="utf-8")
        assert text.startswith("/dts-v1/;\n"), dts
        dts.write_text(text.replace("/dts-v1/;\n", "/dts-v1/;\n/memreserve/ 0x0 0x0;\n", 1), encoding="utf-8")


def rule_findings(build_dir: Path, *rule_ids: str) -> List[Finding]:
    """The findings of the given rules alone (unranked, straight from the rules)."""
    return list(run_all(load_build(build_dir), list(rule_ids)))


def edit_partitions(build_dir: Path, change: Callable[[dict], None]) -> None:
    """Apply ``change`` to the build's partitions.yml, as parsed YAML."""
    path = build_dir / "partitions.yml"
    data = yaml.safe_load(path.read_text())
    change(data)
    path.write_text(yaml.safe_dump(data))


def ranked_findings(build_dir: Path, rule_id: str) -> List[Finding]:
    """The findings of one rule after the full analysis (ranked, one cause reported once)."""
    return analyze(build_dir, [rule_id]).findings


def run_pmdoctor(*args: str, cwd: Path, env: Optional[Dict[str, str]] = None) -> subprocess.CompletedProcess:
    """``python -m pmdoctor ARGS`` from this checkout, in a subprocess, without colour.

    ``env`` adds to (or, with a value of "", removes from) the environment;
    ``ZEPHYR_BASE`` is removed unless given, so no Zephyr tree of this machine is used.
    """
    environ = dict(os.environ, PYTHONPATH=str(ROOT / "scripts"), NO_COLOR="1")
    environ.pop("ZEPHYR_BASE", None)
    for key, value in (env or {}).items():
        if value:
            environ[key] = value
        else:
            environ.pop(key, None)
    return subprocess.run(
        [sys.executable, "-m", "pmdoctor", *args],
        cwd=cwd,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
    )
