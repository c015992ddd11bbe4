"""Paths stay file references until a report shows them, each report its own way.

Rules leave a ``Text`` whose parts are files and lines; the text report shows
them relative to the current directory (so they resolve where the user runs),
SARIF and GitHub relative to the repository, the markdown reply relative to
the thread's folder, never with this machine's absolute paths.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

from conftest import ROOT
from helpers import run_pmdoctor

EXAMPLE = ROOT / "examples" / "pinnacle100-qspi-secondary"


def copy_example(tmp_path: Path) -> Path:
    app = shutil.copytree(EXAMPLE, tmp_path / "work" / "pinnacle")
    return app


def test_evidence_paths_resolve_from_where_pmdoctor_runs(tmp_path: Path) -> None:
    app = copy_example(tmp_path)
    for cwd, build in ((app / "build", "."), (app, "build"), (tmp_path, str(app / "build"))):
        result = run_pmdoctor("-d", build, "--format", "json", cwd=cwd)
        document = json.loads(result.stdout)
        referenced = [
            match
            for finding in document["builds"][0]["findings"]
            for text in [finding["message"], *finding["evidence"]]
            for match in re.findall(r"\(([^()\s]+?):\d+\)", text)
        ]
        assert referenced, "the example's findings cite files"
        for path in referenced:
            assert (cwd / path).is_file(), f"{path} does not resolve from {cwd}"


def test_the_forum_reply_carries_no_absolute_path(tmp_path: Path) -> None:
    app = copy_example(tmp_path)
    result = run_pmdoctor("-d", str(app / "build"), "--format", "markdown", cwd=tmp_path / "work")
    assert "mcuboot_secondary" in result.stdout
    assert str(tmp_path) not in result.stdout
    assert "is not set (pinnacle/build/zephyr/.config:70)" in result.stdout


def test_sarif_messages_name_files_relative_to_the_repository(tmp_path: Path) -> None:
    app = copy_example(tmp_path)
    (tmp_path / "work" / ".git").mkdir()  # the repository root
    result = run_pmdoctor("-d", "build", "--format", "sarif", cwd=app)
    results = json.loads(result.stdout)["runs"][0]["results"]
    driver = next(r for r in results if r["ruleId"] == "PMD302")
    assert "(pinnacle/build/zephyr/.config:70)" in driver["message"]["text"]
    assert str(tmp_path) not in driver["message"]["text"]


def test_github_annotations_name_files_relative_to_the_repository(tmp_path: Path) -> None:
    app = copy_example(tmp_path)
    (tmp_path / "work" / ".git").mkdir()
    result = run_pmdoctor("-d", "build", "--format", "github", cwd=app)
    first = next(line for line in result.stdout.splitlines() if "PMD302" in line)
    assert first.startswith("::error file=pinnacle/build/zephyr/.config,line=70,")
    assert "(pinnacle/build/zephyr/.config:70)" in first
