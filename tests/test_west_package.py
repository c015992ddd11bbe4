"""``west pmdoctor`` from the installed package, with no file of the user's: a real west, offline.

The package ships ``pmdoctor/west-commands.yml`` naming ``pmdoctor/west_extension.py``.
West loads extension commands only from files inside a project of the
workspace (it refuses a ``west-commands`` path that leaves the project), so
the manifest names the installed package's folder as a project: inactive
(its group is filtered out), so ``west update`` never fetches it, while west
still reads its commands. Here the package is copied where a virtual
environment inside the workspace would have it.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import BUILDS, ROOT
from test_west import WEST, Workspace, isolated_env

pytestmark = [
    pytest.mark.skipif(WEST is None, reason="west is not installed"),
    pytest.mark.skipif(shutil.which("git") is None, reason="west init needs git"),
]

BROKEN = BUILDS / "cli" / "slot_mismatch" / "build"


def readme_manifest() -> str:
    """The manifest the README gives for ``west pmdoctor`` on top of a pip install, as it is written."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```yaml\n(.*?)```", readme, re.DOTALL)
    (block,) = [b for b in blocks if "group-filter: [-pmdoctor]" in b]
    return block


# The package goes where the README's manifest says pip put it.
MANIFEST = readme_manifest()
SITE = Path(yaml.safe_load(MANIFEST)["manifest"]["projects"][0]["path"]).parent


def install_like_a_wheel(site: Path) -> Path:
    """The package as pip puts it: pmdoctor/ with the schemas and west-commands.yml inside."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    package = site / "pmdoctor"
    shutil.copytree(ROOT / "scripts" / "pmdoctor", package, ignore=ignore)
    shutil.copytree(ROOT / "schemas", package / "schemas", ignore=ignore)
    return package


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Workspace:
    tmp = tmp_path_factory.mktemp("west-package")
    topdir = tmp / "ws"
    (topdir / "manifest").mkdir(parents=True)
    (topdir / "manifest" / "west.yml").write_text(MANIFEST)
    install_like_a_wheel(topdir / SITE)
    env = isolated_env(tmp)
    env["PYTHONPATH"] = str(topdir / SITE)  # what the virtual environment's site-packages gives
    ws = Workspace(topdir, env)
    ws.west("init", "-l", "manifest", check=True)
    return ws


def test_the_readme_manifest_is_inactive_and_names_the_packaged_spec():
    (project,) = yaml.safe_load(MANIFEST)["manifest"]["projects"]
    assert project["west-commands"] == "west-commands.yml" and project["path"].endswith("/pmdoctor")
    assert project["groups"] == ["pmdoctor"]


def test_the_packaged_spec_names_a_file_in_the_package():
    spec = yaml.safe_load((ROOT / "scripts" / "pmdoctor" / "west-commands.yml").read_text())
    (entry,) = spec["west-commands"]
    assert (ROOT / "scripts" / "pmdoctor" / entry["file"]).is_file()
    (command,) = entry["commands"]
    assert command["name"] == "pmdoctor" and command["class"] == "PmDoctor" and command["help"]


def test_west_update_leaves_the_inactive_project_alone(workspace):
    proc = workspace.west("update")
    assert proc.returncode == 0, proc.stderr
    assert not (workspace.topdir / SITE / "pmdoctor" / ".git").exists()


def test_west_help_shows_pmdoctor_with_its_help_line(workspace):
    proc = workspace.west("help", check=True)
    assert "extension commands from project pmdoctor" in proc.stdout
    assert "pmdoctor:" in proc.stdout and "check Partition Manager / MCUboot / devicetree" in proc.stdout


def test_west_pmdoctor_runs_from_the_package(workspace):
    broken = workspace.west("pmdoctor", "-d", str(BROKEN))
    assert broken.returncode == 1, broken.stderr
    assert "ERROR   PMD401 slot-size-mismatch" in broken.stdout
    assert broken.stdout.splitlines()[-1].endswith("`west pmdoctor --explain PMD101` for details")
    drawn = workspace.west("pmdoctor", "map", "-d", str(BROKEN), "--width", "100")
    assert drawn.returncode == 1, drawn.stderr
    assert "── Partition Manager · " in drawn.stdout


def test_the_extension_file_finds_a_package_that_is_not_on_the_path(tmp_path):
    """``pip install --target DIR`` into the workspace: west's Python does not know DIR."""
    package = install_like_a_wheel(tmp_path / "target")
    site_packages = Path(yaml.__file__).resolve().parents[1]  # west, yaml … but no .pth processing
    probe = (
        "import importlib.util, sys\n"
        f"spec = importlib.util.spec_from_file_location('ext', {str(package / 'west_extension.py')!r})\n"
        "module = importlib.util.module_from_spec(spec)\n"
        "spec.loader.exec_module(module)\n"
        "print(sys.modules[module.PmDoctor.__module__].__file__)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-S", "-c", probe],
        env={**os.environ, "PYTHONPATH": str(site_packages)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert Path(proc.stdout.strip()) == package / "west_command.py"


def test_outside_a_workspace_west_says_what_the_readme_explains(tmp_path):
    """Outside every workspace west knows only its own commands: the README quotes its words."""
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    proc = Workspace(outside, isolated_env(tmp_path)).west("pmdoctor", "-d", str(BROKEN))
    assert proc.returncode != 0
    quoted = 'west: unknown command "pmdoctor"; do you need to run this inside a workspace?'
    assert quoted in proc.stderr
    readme = " ".join((ROOT / "README.md").read_text(encoding="utf-8").split())
    assert quoted in readme
