"""Safe on anyone's files: each hostile input of issue 9, through the real CLI in a subprocess.

Every crafted input (scripts/hostile_inputs.py, ``CASES``) is planted into a
private copy of a fixture and run with ``python -m pmdoctor`` under a 1.5 GB
address-space limit and a timeout. Each must give what a user should get —
normally exit 1 with a PMD001/PMD002 finding that names the file — with no
traceback, in under :data:`MAX_SECONDS` and :data:`MAX_RSS` (generous bounds
for shared CI machines: the goal is 2 s and 200 MB, and scripts/fuzz.py
prints the real figures). Security cases also check, with an audit hook in
the child, that no file outside the inputs was even opened.

A failure prints the command, exit code, time, peak RSS and the first lines
of both streams, so it can be reproduced by hand.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import List

import pytest

if sys.platform == "win32":  # pragma: no cover - FIFOs, rlimits and wait4 are POSIX
    pytest.skip("the hostile-input suite needs POSIX", allow_module_level=True)

import hostile_inputs as hostile
from hostile_inputs import CASES, MIB, Case, Outcome, case_problems, general_problems, run_case, run_cli

MAX_SECONDS = 10.0
MAX_RSS = 400 * MIB
DEVICES = hostile.can_make_devices()


def assert_clean(problems: List[str], outcome: Outcome, title: str) -> None:
    assert not problems, f"{title}:\n  - " + "\n  - ".join(problems) + "\n" + outcome.describe()


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_hostile_input(case: Case, tmp_path: Path) -> None:
    if "/device-as-" in case.name and not DEVICES:
        pytest.skip("this machine cannot create device files (mknod needs CAP_MKNOD)")
    outcome = run_case(case, tmp_path, timeout=MAX_SECONDS)
    assert_clean(case_problems(case, outcome, MAX_SECONDS, MAX_RSS), outcome, case.name)


# ------------------------------------------------------------------ cases that need more than one run

PM_BUILD = hostile.BUILDS / "dt" / "pm_sysbuild_nrf5340"


def migrate(tmp_path: Path, *extra: str) -> Outcome:
    return run_cli(["migrate", "-d", "build", "-o", "out", *extra], tmp_path, timeout=MAX_SECONDS)


def migrate_once(tmp_path: Path) -> Path:
    """Overlays written by a first ``migrate -o out``; returns one of them."""
    shutil.copytree(PM_BUILD, tmp_path / "build")
    first = migrate(tmp_path)
    assert_clean(general_problems(first, MAX_SECONDS, MAX_RSS), first, "first migrate")
    overlays = sorted((tmp_path / "out").rglob("*.overlay"))
    assert overlays, first.describe()
    return overlays[0]


def test_migrate_keeps_hand_edited_overlays(tmp_path: Path) -> None:
    """A second ``migrate -o`` over overlays the user edited refuses (exit 2, naming the file)."""
    overlay = migrate_once(tmp_path)
    edited = overlay.read_text() + "/* my own change */\n"
    overlay.write_text(edited)
    again = migrate(tmp_path)
    problems = general_problems(again, MAX_SECONDS, MAX_RSS)
    if overlay.read_text() != edited:
        problems.append(f"overwrote the hand-edited {overlay.name} without --force")
    if again.exit_code != 2 or overlay.name not in again.stderr:
        problems.append(f"exit {again.exit_code} without a one-line error naming {overlay.name}")
    assert_clean(problems, again, "migrate over edited overlays")


def test_migrate_force_overwrites(tmp_path: Path) -> None:
    overlay = migrate_once(tmp_path)
    overlay.write_text("/* my own change */\n")
    forced = migrate(tmp_path, "--force")
    problems = general_problems(forced, MAX_SECONDS, MAX_RSS)
    if forced.exit_code not in (0, 1):
        problems.append(f"exit {forced.exit_code}: --force is not accepted")
    elif "my own change" in overlay.read_text():
        problems.append("--force did not write the overlay")
    assert_clean(problems, forced, "migrate --force")


@pytest.mark.parametrize("force", [False, True], ids=["plain", "force"])
def test_migrate_never_writes_through_a_link(tmp_path: Path, force: bool) -> None:
    """A symbolic link where an overlay goes is never followed out of the output folder."""
    overlay = migrate_once(tmp_path)
    outside = tmp_path / "elsewhere" / "victim.txt"
    outside.parent.mkdir()
    outside.write_text("precious\n")
    overlay.unlink()
    overlay.symlink_to(outside)
    again = migrate(tmp_path, *(["--force"] if force else []))
    problems = [p for p in general_problems(again, MAX_SECONDS, MAX_RSS) if "exit code" not in p]
    if outside.read_text() != "precious\n":
        problems.append(f"wrote through the link {overlay} to {outside}")
    if again.exit_code not in (0, 1, 2) or (force and "unrecognized arguments" in again.stderr):
        problems.append(f"exit {again.exit_code}: expected a refusal (2) or a write that replaced the link")
    assert_clean(problems, again, "migrate onto a link")


# ------------------------------------------------------------------ code in the current directory


@pytest.mark.parametrize("module", ["devicetree", "yaml", "colorama"])
def test_python_m_in_an_attachment_imports_nothing_from_it(tmp_path: Path, module: str) -> None:
    """``python -m pmdoctor triage .`` inside an attachment: Python puts the cwd first on sys.path,
    so a ``devicetree/`` or ``yaml.py`` attached to the thread would be imported instead of the
    installed one. pmdoctor must drop the cwd from sys.path before importing anything else."""
    thread = tmp_path / "thread"
    shutil.copytree(hostile.BUILDS / "cli" / "healthy", thread)
    (tmp_path / "elsewhere").mkdir()
    hostile.plant_cwd_module(module)(thread, tmp_path / "elsewhere")
    outcome = run_cli(["triage", ".", "--format", "json"], thread, timeout=MAX_SECONDS, plain=True)
    problems = []
    if (tmp_path / "elsewhere" / "code-ran").exists():
        problems.append(f"imported {module} from the attachment folder (code ran)")
    problems += general_problems(outcome, MAX_SECONDS, MAX_RSS)
    assert_clean(problems, outcome, f"{module} in the current directory")


# ------------------------------------------------------------------ the checks themselves


def test_the_audit_hook_sees_a_file_read_outside(tmp_path: Path) -> None:
    """The forbidden-open check is live: a log given with --log from elsewhere is an open it logs."""
    thread = tmp_path / "thread"
    shutil.copytree(hostile.BUILDS / "cli" / "healthy", thread)
    log = tmp_path / "elsewhere" / "console.log"
    log.parent.mkdir()
    log.write_text(hostile.RECOGNISED_LINES[0] + "\n")
    outcome = run_cli(["-d", "build", "--log", str(log)], thread, forbid=log.parent)
    assert any(str(log) in line for line in outcome.opened), outcome.describe()


def test_limits_are_measured(tmp_path: Path) -> None:
    """Time and RSS are the child's own (not the test runner's, however large): a healthy build
    is quick and small, and parses as JSON."""
    thread = tmp_path / "thread"
    shutil.copytree(hostile.BUILDS / "cli" / "healthy", thread)
    ballast = b"x" * (300 * MIB)  # resident in this process while the child runs
    outcome = run_cli(["-d", "build", "--format", "json"], thread)
    del ballast
    assert outcome.exit_code == 0 and 5 * MIB < outcome.peak_rss < 200 * MIB, outcome.describe()
    assert outcome.seconds < MAX_SECONDS and json.loads(outcome.stdout)["builds"], outcome.describe()


def test_checkers_catch_broken_output() -> None:
    assert hostile.junit_problem('<a name="\x1b"/>')
    assert hostile.junit_problem("<a/>") is None
    assert hostile.text_problem("fine\n\tline\n") is None
    assert hostile.text_problem("\x1b[31mred") and hostile.text_problem("gnp.\u202eexe")
    assert hostile.markdown_problem("name `<script>` in code\n```\n<script>\n```\n") is None
    assert hostile.markdown_problem("name <script>alert(1)</script>")
    assert hostile.github_problem("::group::x\n::endgroup::\n") is None
    assert hostile.github_problem("::group::b\n::error title=pwned::x\nforged\n")


def test_html_and_forged_line_checkers_catch_what_they_are_for() -> None:
    assert hostile.html_problem('<p><a href="#f1">x</a> &lt;script&gt;</p>') is None
    assert hostile.html_problem("<p><script>alert(1)</script></p>")
    assert hostile.html_problem('<svg><g onfocus="alert(1)"></g></svg>')
    assert hostile.html_problem('<a href="javascript:alert(1)">x</a>')
    assert hostile.html_problem("<p>gnp.\u202eexe</p>")

    def outcome(stdout: str) -> Outcome:
        return Outcome(["map"], Path("."), 1, stdout, "", 0.1, 0)

    quoted = "  ERROR   PMD002 schema-violation · on x\\nERROR   PMD001 unreadable-file forged-finding\n"
    assert hostile.no_forged_line(outcome(quoted)) is None
    assert hostile.no_forged_line(outcome("x\nERROR   PMD001 unreadable-file forged-finding\n"))
    assert hostile.no_forged_line(outcome("over\rERROR   PMD001 forged-by-carriage-return\n"))
