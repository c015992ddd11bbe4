"""Output for people and CI: concise, auto, several reports in one run, the step summary, colour,
width, paths relative to the cwd, what a clean build says, and flags that would do nothing."""

from __future__ import annotations

import json
import re
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from conftest import BUILDS
from helpers import run_pmdoctor
from tty_helpers import run_on_tty

CLI = BUILDS / "cli"
HEALTHY = CLI / "healthy" / "build"
BROKEN = CLI / "slot_mismatch" / "build"
ANSI = "\x1b["


# ------------------------------------------------------------------ concise


def test_concise_is_one_line_per_finding():
    proc = run_pmdoctor("-d", "slot_mismatch/build", "--format", "concise", cwd=CLI)
    assert proc.returncode == 1
    lines = proc.stdout.splitlines()
    full = json.loads(run_pmdoctor("-d", "slot_mismatch/build", "--format", "json", cwd=CLI).stdout)
    findings = full["builds"][0]["findings"]
    assert len(lines) == len(findings) == 2
    pattern = re.compile(
        r"^(?P<path>[^:\s]+):(?P<line>\d+): (?P<id>PMD\d{3}) (?P<sev>error|warning|note) \S.*$"
    )
    for line, finding in zip(lines, findings):
        match = pattern.match(line)
        assert match, line
        assert match["path"] == "slot_mismatch/pm_static.yml"
        assert (match["id"], match["sev"]) == (finding["rule"], finding["severity"])
        assert (Path(CLI) / match["path"]).is_file()  # a path that opens from the cwd


def test_concise_clean_build_prints_nothing():
    proc = run_pmdoctor("-d", str(HEALTHY), "--format", "concise", cwd=CLI)
    assert (proc.returncode, proc.stdout) == (0, "")


# ------------------------------------------------------------------ auto


def test_auto_is_github_annotations_under_github_actions():
    proc = run_pmdoctor("-d", str(BROKEN), "--format", "auto", cwd=CLI, env={"GITHUB_ACTIONS": "true"})
    assert proc.returncode == 1
    assert "::error " in proc.stdout and "::group::" in proc.stdout


def test_auto_is_plain_text_in_a_pipe_and_colour_on_a_terminal():
    piped = run_pmdoctor("-d", str(BROKEN), "--format", "auto", cwd=CLI, env={"GITHUB_ACTIONS": ""})
    assert piped.stdout.startswith("=== ") and ANSI not in piped.stdout
    tty = run_on_tty(("-d", str(BROKEN), "--format", "auto"), cwd=CLI)
    assert tty.returncode == 1
    assert ANSI in tty.output and "PMD401" in tty.output


# ------------------------------------------------------------------ several reports


def test_text_and_sarif_in_one_run(tmp_path):
    argv = ("-d", str(BROKEN), "--format", "text", "--format", "sarif", "-o", "pmdoctor.sarif")
    proc = run_pmdoctor(*argv, cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    assert proc.stdout.startswith("=== ") and "PMD401" in proc.stdout
    sarif = json.loads((tmp_path / "pmdoctor.sarif").read_text())
    assert len(sarif["runs"]) == 1
    assert {result["ruleId"] for result in sarif["runs"][0]["results"]} == {"PMD101", "PMD401"}


def test_report_files_alongside_the_text(tmp_path):
    argv = ("-d", str(BROKEN), "--sarif", "r.sarif", "--junit", "r.xml", "--json", "r.json")
    proc = run_pmdoctor(*argv, "--format", "json:copy.json", cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    assert proc.stdout.startswith("=== ")
    alone = run_pmdoctor("-d", str(BROKEN), "--format", "json", cwd=tmp_path).stdout
    assert (tmp_path / "r.json").read_text() == alone == (tmp_path / "copy.json").read_text()
    assert json.loads((tmp_path / "r.sarif").read_text())["version"] == "2.1.0"
    assert ET.parse(tmp_path / "r.xml").getroot().tag == "testsuites"


@pytest.mark.parametrize(
    "argv, says",
    [
        (["--format", "json", "--format", "sarif"], "only one report can go to standard output"),
        (["--sarif", "same", "--json", "same"], "two reports would be written to"),
        (["--format", "json:"], "names no file"),
        (["--format", "yaml"], "invalid choice"),
    ],
)
def test_report_plans_that_cannot_work_are_usage_errors(argv, says, tmp_path):
    proc = run_pmdoctor("-d", str(BROKEN), *argv, cwd=tmp_path)
    assert proc.returncode == 2
    assert says in proc.stderr


def test_step_summary_is_appended_under_github_actions(tmp_path):
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n")
    env = {"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)}
    proc = run_pmdoctor("-d", str(BROKEN), "-d", str(HEALTHY), cwd=CLI, env=env)
    assert proc.returncode == 1
    text = summary.read_text()
    assert text.startswith("earlier step\n### pmdoctor\n")
    rows = [line for line in text.splitlines() if line.startswith("| `")]
    assert len(rows) == 2
    assert rows[0].startswith("| `healthy/build` | 0 | 0 | 0 |")
    assert rows[1].startswith("| `slot_mismatch/build` | 2 | 0 | 0 | `PMD101")
    # Outside GitHub Actions the variable alone writes nothing.
    before = summary.read_text()
    run_pmdoctor("-d", str(BROKEN), cwd=CLI, env={"GITHUB_ACTIONS": "", "GITHUB_STEP_SUMMARY": str(summary)})
    assert summary.read_text() == before


# ------------------------------------------------------------------ colour


def test_no_color_is_honoured_on_a_terminal():
    coloured = run_on_tty(("-d", str(BROKEN)), cwd=CLI)
    assert ANSI in coloured.output
    plain = run_on_tty(("-d", str(BROKEN)), cwd=CLI, env={"NO_COLOR": "1"})
    assert ANSI not in plain.output and "PMD401" in plain.output
    forced = run_on_tty(("-d", str(BROKEN), "--color", "always"), cwd=CLI, env={"NO_COLOR": "1"})
    assert ANSI in forced.output  # an explicit choice beats the environment


@pytest.mark.skipif(shutil.which("west") is None, reason="west is not installed")
def test_color_always_survives_west_in_a_pipe(tmp_path):
    from test_west import SELF_MANIFEST, Workspace, copy_repo_files, isolated_env

    manifest = tmp_path / "ws" / "manifest"
    copy_repo_files(manifest)
    (manifest / "west.yml").write_text(SELF_MANIFEST)
    workspace = Workspace(tmp_path / "ws", isolated_env(tmp_path))
    workspace.west("init", "-l", "manifest", check=True)
    forced = workspace.west("pmdoctor", "-d", str(BROKEN), "--color", "always")
    assert forced.returncode == 1, forced.stderr
    assert ANSI in forced.stdout
    assert ANSI not in workspace.west("pmdoctor", "-d", str(BROKEN)).stdout


# ------------------------------------------------------------------ width and paths


@pytest.mark.parametrize("columns", [80, 140])
def test_text_wraps_to_the_terminal_without_splitting_paths(tmp_path, columns):
    # A long evidence line: the application folder named at length.
    app = shutil.copytree(CLI / "slot_mismatch", tmp_path / ("application-" + "x" * 30))
    tty = run_on_tty(("-d", str(app / "build"), "--color", "never", "-v"), cwd=tmp_path, columns=columns)
    assert tty.returncode == 1
    lines = tty.output.splitlines()
    words = {word for line in lines for word in line.split()}
    too_long = [line for line in lines if len(line) > columns and " " in line.strip()]
    assert too_long == []  # only a single word longer than the terminal may stand out
    assert any("pm_static.yml" in word for word in words)
    assert all(not word.endswith("pm_stat") for word in words)
    if columns == 140:
        assert max(len(line) for line in lines) > 100  # the width is the terminal's, not a fixed 100


def test_piped_text_keeps_long_evidence_lines_whole():
    proc = run_pmdoctor("-d", str(BROKEN), cwd=CLI)
    assert "  ·    sector size 0x1000, MCUboot mode: move\n" in proc.stdout


def test_paths_are_relative_to_the_cwd_inside_the_build():
    proc = run_pmdoctor("--format", "text", cwd=BROKEN)
    assert proc.stdout.startswith("=== . — ")
    assert "  at   ../pm_static.yml:36" in proc.stdout
    assert "slot_mismatch/" not in proc.stdout


# ------------------------------------------------------------------ clean builds


def test_a_clean_build_says_what_was_checked():
    proc = run_pmdoctor("-d", str(HEALTHY), cwd=CLI)
    assert proc.returncode == 0
    assert proc.stdout.count("no findings") == 1
    assert "sysbuild era" in proc.stdout and "images: smp_svr, mcuboot" in proc.stdout
    assert re.search(r"checked: \d+ rules, \d+ files read", proc.stdout)
    verbose = run_pmdoctor("-d", str(HEALTHY), "-v", cwd=CLI)
    assert "      healthy/build/partitions.yml" in verbose.stdout
    assert "      healthy/build/CMakeCache.txt" in verbose.stdout


# ------------------------------------------------------------------ usage errors


@pytest.mark.parametrize(
    "argv, says",
    [
        (["--list-rules", "--explain", "PMD101"], "--list-rules and --explain cannot be combined"),
        (["--explain", "PMD101", "--format", "json"], "--format does nothing with --explain"),
        (["--list-rules", "-d", "build"], "-d does nothing with --list-rules"),
        (["triage", "x.yml", "--jobs", "2"], "--jobs does nothing with triage (it is for check)"),
        (["triage", "x.yml", "--baseline", "b.json"], "--baseline does nothing with triage"),
        (["-d", "build", "--soc", "nrf52840"], "--soc does nothing with check (it is for triage)"),
        (["migrate", "-d", "build", "--sarif", "x"], "--sarif does nothing with migrate"),
    ],
)
def test_inert_and_conflicting_flags_are_usage_errors(argv, says, tmp_path):
    proc = run_pmdoctor(*argv, cwd=tmp_path)
    assert proc.returncode == 2, proc.stdout
    assert says in proc.stderr
    assert proc.stdout == ""


def test_a_file_given_as_the_build_directory_says_so(tmp_path):
    shutil.copy(CLI / "slot_mismatch" / "pm_static.yml", tmp_path / "pm_static.yml")
    proc = run_pmdoctor("-d", "pm_static.yml", cwd=tmp_path)
    assert proc.returncode == 2
    assert "pm_static.yml: is a file, not a build directory" in proc.stderr
    assert "triage pm_static.yml" in proc.stderr


def test_migrate_output_with_a_trailing_slash(tmp_path):
    proc = run_pmdoctor("migrate", "-d", str(BROKEN), "--output", "overlays/", cwd=tmp_path)
    assert "overlays/" in proc.stdout, proc.stderr
    assert "overlays//" not in proc.stdout
