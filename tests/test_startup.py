"""What a check imports: only what it uses (startup is most of a small build's time).

A run imports its own subcommand and the one renderer it prints with; a
healthy Partition Manager build is checked without pykwalify (the schema
pre-check answers) and without dtlib (the flat reader reads zephyr.dts).
These are facts about imports, so they are checked in a fresh interpreter.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import List, Set

from conftest import BUILDS, ROOT

HEALTHY = BUILDS / "cli" / "healthy" / "build"
REPORTERS = {"text", "json_report", "sarif", "markdown", "github", "junit"}

# json is imported after the run, so the list shows whether the run itself needed it.
_PROBE = """
import io, sys
from pmdoctor.cli import run
out, err = io.StringIO(), io.StringIO()
code = run(sys.argv[1:], config_get=lambda option: None, stdout=out, stderr=err)
modules = sorted(sys.modules)
import json
print(json.dumps({"code": code, "modules": modules}))
"""


def imported(*args: str, cwd: Path) -> Set[str]:
    """The modules loaded by the time ``pmdoctor ARGS`` has printed its report."""
    environ = dict(os.environ, PYTHONPATH=str(ROOT / "scripts"))
    environ.pop("ZEPHYR_BASE", None)
    result = subprocess.run(
        [sys.executable, "-c", _PROBE, *args],
        cwd=cwd,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout.splitlines()[-1])
    assert answer["code"] == 0, answer
    return set(answer["modules"])


def _family(modules: Set[str], prefix: str) -> List[str]:
    return sorted(name[len(prefix) :] for name in modules if name.startswith(prefix))


def test_a_healthy_check_imports_neither_pykwalify_nor_dtlib_nor_other_commands(tmp_path: Path) -> None:
    modules = imported("-d", str(HEALTHY), "--format", "json", cwd=tmp_path)
    assert "pmdoctor.commands.check" in modules
    assert not {"pykwalify", "devicetree", "devicetree.dtlib", "west"} & modules
    assert _family(modules, "pmdoctor.commands.") == ["batch", "check", "common"]  # batch: check's runner
    assert [name for name in _family(modules, "pmdoctor.report.") if name in REPORTERS] == ["json_report"]
    assert "pmdoctor.loaders.logs" not in modules and "pmdoctor.inputs.sniff" not in modules


def test_each_format_imports_its_own_renderer_only(tmp_path: Path) -> None:
    for fmt, module in (("text", "text"), ("sarif", "sarif"), ("junit", "junit")):
        modules = imported("-d", str(HEALTHY), "--format", fmt, "--color", "never", cwd=tmp_path)
        assert [name for name in _family(modules, "pmdoctor.report.") if name in REPORTERS] == [module]


def test_a_text_report_imports_no_json_and_no_tempfile(tmp_path: Path) -> None:
    # Only the JSON-shaped reports write JSON, and only JUnit's head waits on a spool file.
    modules = imported("-d", str(HEALTHY), "--format", "text", "--color", "never", cwd=tmp_path)
    assert not {"json", "tempfile"} & modules
