"""Helpers the rule tests share: private copies of fixtures, one visible edit, the findings of a rule."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import List

from pmdoctor.build import load_build
from pmdoctor.findings import Finding
from pmdoctor.rules import run_all


def copy_tree(source: Path, target: Path) -> Path:
    """A private copy of a fixture folder, so a test may edit it."""
    shutil.copytree(source, target)
    return target


def edit(path: Path, old: str, new: str, count: int = 1) -> None:
    """Replace ``old`` by ``new``; it must occur exactly ``count`` times, so the edit is unambiguous."""
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == count, f"{old!r} occurs {text.count(old)} times in {path}, not {count}"
    path.write_text(text.replace(old, new), encoding="utf-8")


def rule_findings(build_dir: Path, *rule_ids: str) -> List[Finding]:
    """The findings of the given rules alone (unranked, straight from the rules)."""
    return list(run_all(load_build(build_dir), list(rule_ids)))
