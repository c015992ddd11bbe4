"""The command line contract: options, exit codes, output streams, entry points.

Fixtures: tests/builds/cli/healthy (nRF52840 sysbuild + MCUboot, clean) and
tests/builds/cli/slot_mismatch (the same build whose pm_static.yml grows
mcuboot_secondary by two pages, over settings_storage).
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Dict, Optional

import pytest

from conftest import BUILDS, ROOT
from pmdoctor import __version__
from pmdoctor.cli import run
from pmdoctor.rules import load_all

CLI = BUILDS / "cli"
HEALTHY = CLI / "healthy" / "build"
BROKEN = CLI / "slot_mismatch" / "build"
ANSI = "\x1b["


def run_cli(*argv: str, cwd: Optional[Path] = None, config: Optional[Dict[str, str]] = None):
    """Run the CLI in-process; return (exit code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    values = config or {}
    code = run(list(argv), config_get=values.get, stdout=out, stderr=err, cwd=cwd or ROOT)
    return code, out.getvalue(), err.getvalue()


def json_findings(*argv: str) -> list:
    code, out, _ = run_cli(*argv, "--format", "json")
    assert code in (0, 1)
    return json.loads(out)["builds"][0]["findings"]


def copy_app(tmp_path: Path, name: str = "healthy") -> Path:
    """A private copy of a fixture application; returns its build directory."""
    app = tmp_path / name
    shutil.copytree(CLI / name, app)
    return app / "build"


def warning_only_build(tmp_path: Path) -> Path:
    """Healthy build plus a pm_static.yml whose only flaw is a key PM ignores (PMD002 warning)."""
    build = copy_app(tmp_path)
    layout = (build / "partitions.yml").read_text()
    layout = layout.replace("settings_storage:\n", "settings_storage:\n  comment: keep for NVS\n")
    (build.parent / "pm_static.yml").write_text(layout)
    return build


# ------------------------------------------------------------------ exit codes


def test_healthy_build_exits_zero_with_no_findings():
    code, out, err = run_cli("-d", str(HEALTHY))
    assert (code, err) == (0, "")
    assert out.rstrip().endswith("no findings")


def test_broken_build_exits_one():
    code, _, err = run_cli("-d", str(BROKEN))
    assert (code, err) == (1, "")


def test_exit_zero_forces_success():
    assert run_cli("-d", str(BROKEN), "--exit-zero")[0] == 0


@pytest.mark.parametrize(("fail_on", "expected"), [("error", 0), ("warning", 1), ("note", 1)])
def test_fail_on_threshold(tmp_path, fail_on, expected):
    build = warning_only_build(tmp_path)
    findings = json_findings("-d", str(build))
    assert [(f["rule"], f["severity"]) for f in findings] == [("PMD002", "warning")]
    assert run_cli("-d", str(build), "--fail-on", fail_on)[0] == expected


def test_default_fail_on_is_error(tmp_path):
    assert run_cli("-d", str(warning_only_build(tmp_path)))[0] == 0


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["-d", "does/not/exist"], "no such directory"),
        (["-d", str(CLI / "healthy")], "not a build directory"),
        (["-d", str(HEALTHY), "--rules", "PMD999"], "unknown rule 'PMD999'"),
        (["-d", str(HEALTHY), "--rules", "PMD101,no-such-rule"], "unknown rule 'no-such-rule'"),
        (["--explain", "PMD999"], "unknown rule 'PMD999'"),
        (["check", "somefile.yml"], "not positional paths"),
    ],
)
def test_input_errors_exit_two(argv, message):
    code, out, err = run_cli(*argv)
    assert code == 2
    assert out == ""
    assert message in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    "argv", [["--format", "xml"], ["--fail-on", "fatal"], ["--color", "sometimes"], ["--bogus"]]
)
def test_bad_options_exit_two(argv, capsys):
    code, out, _ = run_cli("-d", str(HEALTHY), *argv)
    assert code == 2
    assert out == ""
    assert "usage:" in capsys.readouterr().err  # argparse writes to the real stderr


def test_no_build_dir_found_exits_two(tmp_path):
    code, _, err = run_cli(cwd=tmp_path)
    assert code == 2
    assert "no build directory found" in err and "-d" in err


def test_build_dir_defaults_to_cwd_and_cwd_build(tmp_path):
    build = copy_app(tmp_path, "slot_mismatch")
    assert run_cli(cwd=build)[0] == 1  # the cwd itself is a build directory
    assert run_cli(cwd=build.parent)[0] == 1  # ./build below the cwd


def test_unknown_format_in_west_config_exits_two():
    code, out, err = run_cli("-d", str(HEALTHY), config={"pmdoctor.format": "yaml"})
    assert (code, out) == (2, "")
    assert "pmdoctor.format" in err


class BrokenConfig:
    """A west configuration whose reads fail, as with a corrupt config file."""

    def __call__(self, option: str) -> Optional[str]:
        raise RuntimeError(f"cannot read {option}")


def test_internal_error_exits_three_with_one_line():
    out, err = io.StringIO(), io.StringIO()
    code = run(["-d", str(HEALTHY)], config_get=BrokenConfig(), stdout=out, stderr=err, cwd=ROOT)
    assert code == 3
    lines = err.getvalue().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("pmdoctor: internal error: RuntimeError: cannot read")


def test_internal_error_verbose_shows_traceback():
    err = io.StringIO()
    code = run(["-d", str(HEALTHY), "-v"], config_get=BrokenConfig(), stdout=io.StringIO(), stderr=err)
    assert code == 3
    assert "Traceback (most recent call last)" in err.getvalue()
    assert err.getvalue().rstrip().splitlines()[-1].startswith("pmdoctor: internal error:")


def test_version(capsys):
    assert run_cli("--version")[0] == 0
    assert capsys.readouterr().out.strip() == f"pmdoctor {__version__}"  # argparse prints it


# ------------------------------------------------------------ rule selection


def test_rules_selection_by_id_and_name():
    assert {f["rule"] for f in json_findings("-d", str(BROKEN))} == {"PMD101", "PMD401"}
    assert {f["rule"] for f in json_findings("-d", str(BROKEN), "--rules", "PMD101")} == {"PMD101"}
    by_name = json_findings("-d", str(BROKEN), "--rules", "slot-size-mismatch")
    assert {f["rule"] for f in by_name} == {"PMD401"}
    both = json_findings("-d", str(BROKEN), "--rules", "PMD101,slot-size-mismatch")
    assert {f["rule"] for f in both} == {"PMD101", "PMD401"}


def test_rules_selection_is_forgiving_about_case_and_spaces():
    picked = json_findings("-d", str(BROKEN), "--rules", "pmd401, partition-overlap")
    assert {f["rule"] for f in picked} == {"PMD101", "PMD401"}


def test_rules_selection_of_a_clean_rule_exits_zero():
    assert run_cli("-d", str(BROKEN), "--rules", "PMD102")[0] == 0


def test_explain_by_id_and_by_name():
    code, out, err = run_cli("--explain", "PMD401")
    assert (code, err) == (0, "")
    assert out.startswith("PMD401 slot-size-mismatch (error")
    for heading in ("What it does", "Why it matters", "Example", "How to fix"):
        assert f"\n{heading}\n" in out
    assert run_cli("--explain", "slot-size-mismatch")[1] == out


def test_list_rules_names_every_registered_rule():
    code, out, _ = run_cli("--list-rules")
    assert code == 0
    lines = out.splitlines()
    rules = load_all()
    assert len(lines) == len(rules)
    for line, rule in zip(lines, rules.values()):
        assert line.split()[:3] == [rule.id, rule.name, rule.severity.value]


# -------------------------------------------------------------- output routes


def test_output_file_gets_the_report_and_stdout_stays_empty(tmp_path):
    target = tmp_path / "report.json"
    code, out, _ = run_cli("-d", str(BROKEN), "--format", "json", "-o", str(target))
    assert (code, out) == (1, "")
    assert json.loads(target.read_text(encoding="utf-8"))["builds"][0]["summary"]["error"] == 2


def test_unwritable_output_file_exits_two(tmp_path):
    code, _, err = run_cli("-d", str(HEALTHY), "-o", str(tmp_path / "missing" / "report.txt"))
    assert code == 2
    assert "cannot write" in err


def test_west_config_format_is_honoured_and_option_wins():
    code, out, _ = run_cli("-d", str(HEALTHY), config={"pmdoctor.format": "json"})
    assert code == 0
    assert json.loads(out)["tool"]["name"] == "pmdoctor"
    _, out, _ = run_cli("-d", str(HEALTHY), "--format", "text", config={"pmdoctor.format": "json"})
    assert out.startswith("=== ")


def test_color_always_never_auto_on_a_pipe():
    assert ANSI in run_cli("-d", str(BROKEN), "--color", "always")[1]
    assert ANSI not in run_cli("-d", str(BROKEN), "--color", "never")[1]
    assert ANSI not in run_cli("-d", str(BROKEN))[1]  # StringIO is no terminal


def test_color_always_never_reaches_json():
    _, out, _ = run_cli("-d", str(BROKEN), "--color", "always", "--format", "json")
    assert ANSI not in out


def pmdoctor_env() -> Dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "scripts"), env.get("PYTHONPATH")]))
    env.pop("ZEPHYR_BASE", None)  # west_topdir() would fall back to its workspace
    return env


def run_module(*argv: str, cwd: Path = ROOT, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pmdoctor", *argv],
        cwd=cwd,
        env=pmdoctor_env(),
        capture_output=True,
        text=True,
        timeout=60,
        **kwargs,
    )


@pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pseudo-terminal")
def test_color_auto_on_a_terminal():
    from tty_helpers import run_on_tty

    def on_terminal(*argv: str) -> str:
        run = run_on_tty(("-d", str(BROKEN), *argv), cwd=ROOT)
        assert run.returncode == 1
        return run.output

    assert ANSI in on_terminal()
    assert ANSI not in on_terminal("--color", "never")


# ------------------------------------------------------------- entry points


def test_python_dash_m_pmdoctor():
    proc = run_module("-d", str(BROKEN))
    assert proc.returncode == 1, proc.stderr
    assert proc.stdout.startswith("=== ")
    assert "PMD401 slot-size-mismatch" in proc.stdout
    assert ANSI not in proc.stdout  # a pipe is not a terminal
    assert proc.stdout.splitlines()[-1].endswith("`python -m pmdoctor --explain PMD101` for details")
    assert run_module("-d", str(HEALTHY)).returncode == 0
    bad = run_module("-d", str(HEALTHY), "--rules", "PMD999")
    assert bad.returncode == 2 and "unknown rule" in bad.stderr and "Traceback" not in bad.stderr


def test_python_dash_m_reads_the_build_in_the_cwd(tmp_path):
    build = copy_app(tmp_path, "slot_mismatch")
    proc = run_module("--format", "json", cwd=build.parent)
    assert proc.returncode == 1, proc.stderr
    document = json.loads(proc.stdout)
    assert document["builds"][0]["build_dir"] == "build"


@pytest.mark.skipif(shutil.which("pmdoctor") is None, reason="pmdoctor console script not installed")
def test_console_script():
    proc = subprocess.run(
        ["pmdoctor", "-d", str(BROKEN), "--format", "json"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1, proc.stderr
    assert json.loads(proc.stdout)["tool"]["version"] == __version__
    text = subprocess.run(["pmdoctor", "-d", str(BROKEN)], capture_output=True, text=True, timeout=60)
    assert text.stdout.splitlines()[-1].endswith("`pmdoctor --explain PMD101` for details")
    assert "`python -m" not in text.stdout and "`west" not in text.stdout


def test_module_help_exits_zero():
    proc = run_module("--help")
    assert proc.returncode == 0
    assert "--fail-on" in proc.stdout and "--explain" in proc.stdout


def _can_build_wheels_offline() -> bool:
    """Whether this Python's setuptools meets pyproject.toml's [build-system] (77: the SPDX license
    string), and has bdist_wheel (setuptools >= 70.1, or the `wheel` package before that)."""
    import importlib.util
    from importlib.metadata import PackageNotFoundError, version

    try:
        if int(version("setuptools").split(".")[0]) < 77:
            return False
    except (PackageNotFoundError, ValueError):
        return False
    for name in ("setuptools.command.bdist_wheel", "wheel.bdist_wheel"):
        try:
            if importlib.util.find_spec(name) is not None:
                return True
        except ImportError:  # the parent package is not installed
            continue
    return False


@pytest.mark.skipif(
    not _can_build_wheels_offline(), reason="no setuptools >= 77 with bdist_wheel to build a wheel offline"
)
def test_wheel_ships_the_schemas_and_runs_from_them(tmp_path):
    import zipfile

    # Built from a copy without build/: setuptools reuses a stale build/lib,
    # which once hid packages missing from pyproject.toml.
    source = tmp_path / "source"
    shutil.copytree(
        ROOT, source, ignore=shutil.ignore_patterns(".git", "build", "*.egg-info", "__pycache__", ".*cache")
    )
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            ".",
        ],
        cwd=source,
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = tmp_path.glob("west_pmdoctor-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for schema in (ROOT / "schemas").glob("*.yml"):
        assert f"pmdoctor/schemas/{schema.name}" in names
    # Installed from the wheel alone (no checkout on the path), the schemas are found.
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    proc = subprocess.run(
        [sys.executable, "-m", "pmdoctor", "-d", str(BROKEN), "--format", "json"],
        cwd=tmp_path,
        env=dict(os.environ, PYTHONPATH=str(site)),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1, proc.stderr
    document = json.loads(proc.stdout)
    assert {f["rule"] for f in document["builds"][0]["findings"]} >= {"PMD401"}


def test_every_package_of_the_tree_is_listed_for_installation():
    """A package left out of pyproject.toml is missing from every pip install."""
    import re

    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    listed = set(re.findall(r'^\s*"(pmdoctor[\w.]*)",$', text, flags=re.MULTILINE))
    tree = {
        ".".join(init.parent.relative_to(ROOT / "scripts").parts)
        for init in (ROOT / "scripts" / "pmdoctor").rglob("__init__.py")
        if "__pycache__" not in init.parts
    }
    assert tree <= listed, sorted(tree - listed)
