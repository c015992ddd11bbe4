"""``west pmdoctor`` through a real west process, in throwaway workspaces, offline.

Two ways a repository provides a west extension are covered: as the manifest
repository itself (``self: west-commands:``) and as a project fetched by
``west update`` (here from a bare clone on disk, through a file:// URL).
Every west configuration file lives in tmp, so the user's own is never read.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Dict, Optional

import pytest

from conftest import BUILDS, ROOT

CLI = BUILDS / "cli"
HEALTHY = CLI / "healthy" / "build"
BROKEN = CLI / "slot_mismatch" / "build"

WEST = shutil.which("west")
pytestmark = [
    pytest.mark.skipif(WEST is None, reason="west is not installed"),
    pytest.mark.skipif(shutil.which("git") is None, reason="west init needs git"),
]

SELF_MANIFEST = """\
manifest:
  version: "1.0"
  self:
    west-commands: west-commands.yml
  projects: []
"""


def copy_repo_files(destination: Path) -> None:
    """What west needs of this repository: the command spec, the code, the schemas."""
    destination.mkdir(parents=True, exist_ok=True)
    shutil.copy2(ROOT / "west-commands.yml", destination / "west-commands.yml")
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    # Copies, not symlinks: west refuses extension files that resolve outside the project.
    shutil.copytree(ROOT / "scripts", destination / "scripts", ignore=ignore)
    shutil.copytree(ROOT / "schemas", destination / "schemas", ignore=ignore)


def isolated_env(tmp: Path) -> Dict[str, str]:
    env = dict(os.environ)
    env["WEST_CONFIG_SYSTEM"] = str(tmp / "west-system.cfg")
    env["WEST_CONFIG_GLOBAL"] = str(tmp / "west-global.cfg")
    env.pop("WEST_CONFIG_LOCAL", None)
    env["ZEPHYR_BASE"] = str(tmp / "no-zephyr-here")
    # No pip-installed copy should shadow the one in the workspace.
    env.pop("PYTHONPATH", None)
    env["GIT_CONFIG_NOSYSTEM"] = "1"
    env["GIT_TERMINAL_PROMPT"] = "0"
    return env


class Workspace:
    def __init__(self, topdir: Path, env: Dict[str, str]):
        self.topdir, self.env = topdir, env

    def west(
        self, *argv: str, cwd: Optional[Path] = None, check: bool = False
    ) -> subprocess.CompletedProcess:
        proc = subprocess.run(
            [WEST, *argv],
            cwd=cwd or self.topdir,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        if check and proc.returncode != 0:
            raise AssertionError(f"west {' '.join(argv)} failed:\n{proc.stdout}\n{proc.stderr}")
        return proc


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Workspace:
    """A workspace whose manifest repository is this repository (files copied)."""
    tmp = tmp_path_factory.mktemp("west")
    topdir = tmp / "ws"
    manifest = topdir / "manifest"
    copy_repo_files(manifest)
    (manifest / "west.yml").write_text(SELF_MANIFEST)
    ws = Workspace(topdir, isolated_env(tmp))
    ws.west("init", "-l", "manifest", check=True)
    ws.west("config", "color.ui", "false", check=True)
    return ws


def test_west_help_lists_pmdoctor(workspace):
    proc = workspace.west("help", check=True)
    assert "pmdoctor:" in proc.stdout
    assert "check Partition Manager / MCUboot / devicetree" in proc.stdout


def test_west_pmdoctor_help(workspace):
    proc = workspace.west("pmdoctor", "-h", check=True)
    assert "usage: west pmdoctor" in proc.stdout
    assert "--fail-on" in proc.stdout


def test_west_pmdoctor_exit_codes_and_text(workspace):
    broken = workspace.west("pmdoctor", "-d", str(BROKEN))
    assert broken.returncode == 1, broken.stderr
    assert broken.stdout.startswith("=== ")
    assert "ERROR   PMD401 slot-size-mismatch" in broken.stdout
    assert "\x1b[" not in broken.stdout
    assert broken.stdout.splitlines()[-1].endswith("`west pmdoctor --explain PMD101` for details")
    assert workspace.west("pmdoctor", "-d", str(HEALTHY)).returncode == 0
    assert workspace.west("pmdoctor", "-d", str(BROKEN), "--exit-zero").returncode == 0


@pytest.mark.parametrize(
    "argv",
    [["-d", "/no/such/build"], ["-d", str(HEALTHY), "--rules", "PMD999"], ["--not-an-option"]],
)
def test_west_pmdoctor_usage_errors_exit_two(workspace, argv):
    proc = workspace.west("pmdoctor", *argv)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr


def test_west_pmdoctor_json_parses(workspace):
    proc = workspace.west("pmdoctor", "-d", str(BROKEN), "--format", "json")
    assert proc.returncode == 1
    document = json.loads(proc.stdout)
    assert {f["rule"] for f in document["builds"][0]["findings"]} == {"PMD101", "PMD401"}


def test_west_pmdoctor_explain_and_list(workspace):
    explained = workspace.west("pmdoctor", "--explain", "PMD401", check=True)
    assert explained.stdout.startswith("PMD401 slot-size-mismatch")
    listed = workspace.west("pmdoctor", "--list-rules", check=True)
    assert any(line.startswith("PMD401") for line in listed.stdout.splitlines())


@pytest.fixture
def app_with_board_build(workspace, tmp_path) -> Path:
    """An application inside the workspace with build/<board> as `west build` would lay it out."""
    app = workspace.topdir / f"app-{tmp_path.name}"
    shutil.copytree(CLI / "slot_mismatch", app)
    (app / "build").rename(app / "nrf52840dk")
    (app / "build").mkdir()
    (app / "nrf52840dk").rename(app / "build" / "nrf52840dk")
    yield app
    shutil.rmtree(app)


@pytest.fixture
def west_config(workspace):
    """Set workspace-local west options for one test and remove them afterwards."""
    touched = []

    def set_option(option: str, value: str) -> None:
        workspace.west("config", "--local", option, value, check=True)
        touched.append(option)

    yield set_option
    for option in touched:
        workspace.west("config", "--local", "-d", option)


def test_build_dir_fmt_and_board_are_honoured(workspace, app_with_board_build, west_config):
    # Without the options the build is not found: pmdoctor looks at ./ and ./build only.
    assert workspace.west("pmdoctor", cwd=app_with_board_build).returncode == 2
    west_config("build.dir-fmt", "build/{board}")
    west_config("build.board", "nrf52840dk")
    proc = workspace.west("pmdoctor", cwd=app_with_board_build)
    assert proc.returncode == 1, proc.stderr
    assert proc.stdout.startswith("=== build/nrf52840dk — sysbuild era")


def test_pmdoctor_format_option_is_honoured(workspace, west_config):
    west_config("pmdoctor.format", "json")
    proc = workspace.west("pmdoctor", "-d", str(HEALTHY))
    assert proc.returncode == 0
    assert json.loads(proc.stdout)["builds"][0]["findings"] == []
    text = workspace.west("pmdoctor", "-d", str(HEALTHY), "--format", "text")
    assert text.stdout.startswith("=== ")


def test_standalone_cli_reads_the_workspace_config(workspace, west_config):
    # `python -m pmdoctor` inside a workspace honours the same west options.
    west_config("pmdoctor.format", "json")
    proc = subprocess.run(
        [sys.executable, "-m", "pmdoctor", "-d", str(HEALTHY)],
        cwd=workspace.topdir,
        env={**workspace.env, "PYTHONPATH": str(ROOT / "scripts")},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["tool"]["name"] == "pmdoctor"


# ------------------------------------------------------------ project route


def git(*argv: str, cwd: Path, env: Dict[str, str]) -> None:
    subprocess.run(
        ["git", "-c", "user.name=pmdoctor tests", "-c", "user.email=tests@example.invalid", *argv],
        cwd=cwd,
        env=env,
        check=True,
        capture_output=True,
        timeout=60,
    )


def test_repository_as_a_manifest_project(tmp_path):
    env = isolated_env(tmp_path)
    source, bare = tmp_path / "west-pmdoctor", tmp_path / "west-pmdoctor.git"
    copy_repo_files(source)
    try:
        git("-c", "init.defaultBranch=main", "init", "-q", cwd=source, env=env)
        git("add", "-A", cwd=source, env=env)
        git("-c", "commit.gpgsign=false", "commit", "-q", "-m", "snapshot", cwd=source, env=env)
        git("clone", "-q", "--bare", str(source), str(bare), cwd=tmp_path, env=env)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as error:
        pytest.skip(f"git cannot make a local repository here: {error}")
    manifest = tmp_path / "ws" / "manifest"
    manifest.mkdir(parents=True)
    (manifest / "west.yml").write_text(
        "manifest:\n"
        '  version: "1.0"\n'
        "  projects:\n"
        "    - name: west-pmdoctor\n"
        f"      url: {bare.as_uri()}\n"
        "      revision: main\n"
        "      path: modules/tools/west-pmdoctor\n"
        "      west-commands: west-commands.yml\n"
    )
    ws = Workspace(tmp_path / "ws", env)
    ws.west("init", "-l", "manifest", check=True)
    update = ws.west("update")
    if update.returncode != 0:
        pytest.skip(f"west update from a file:// URL failed here: {update.stderr.strip()[-200:]}")
    assert (ws.topdir / "modules" / "tools" / "west-pmdoctor" / "scripts" / "pmdoctor").is_dir()
    helped = ws.west("help", check=True)
    assert "extension commands from project west-pmdoctor" in helped.stdout
    proc = ws.west("pmdoctor", "-d", str(BROKEN), "--format", "json")
    assert proc.returncode == 1, proc.stderr
    assert {f["rule"] for f in json.loads(proc.stdout)["builds"][0]["findings"]} == {"PMD101", "PMD401"}


SHIM_COMMANDS = """\
west-commands:
  - file: scripts/pmdoctor_cmd.py
    commands:
      - name: pmdoctor
        class: PmDoctor
"""


def test_pip_installed_package_behind_a_two_line_shim(tmp_path):
    """The README's pip route: the user's own manifest names a shim importing the package."""
    topdir = tmp_path / "ws"
    manifest = topdir / "manifest"
    (manifest / "scripts").mkdir(parents=True)
    (manifest / "west.yml").write_text(SELF_MANIFEST)
    (manifest / "west-commands.yml").write_text(SHIM_COMMANDS)
    (manifest / "scripts" / "pmdoctor_cmd.py").write_text(
        "from pmdoctor.west_command import PmDoctor  # noqa: F401\n"
    )
    env = isolated_env(tmp_path)
    # Stand-in for site-packages: the package is importable, the repository is not a project.
    env["PYTHONPATH"] = str(ROOT / "scripts")
    ws = Workspace(topdir, env)
    ws.west("init", "-l", "manifest", check=True)
    broken = ws.west("pmdoctor", "-d", str(BROKEN))
    assert broken.returncode == 1, broken.stderr
    assert "ERROR   PMD401 slot-size-mismatch" in broken.stdout


def test_west_pmdoctor_triage_and_migrate_subcommands(workspace):
    thread = ROOT / "tests" / "triage" / "pinnacle100"
    triage = workspace.west("pmdoctor", "triage", str(thread), "--format", "markdown")
    assert triage.returncode == 1, triage.stderr
    assert "### Flash layout diagnosis" in triage.stdout and "PMD302" in triage.stdout
    migrate = workspace.west(
        "pmdoctor", "migrate", "-d", str(BUILDS / "dt" / "pm_sysbuild_nrf54l15"), "--format", "json"
    )
    assert migrate.returncode == 0, migrate.stderr
    assert json.loads(migrate.stdout)
