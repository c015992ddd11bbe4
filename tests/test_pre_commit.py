"""The pre-commit hook: committed ``pm_static*.yml`` files checked without a build.

Through the hook's entry point (``pmdoctor-pre-commit``, i.e.
``pmdoctor.cli:pre_commit_main``) as pre-commit calls it, with file names as
arguments; and, where the ``pre-commit`` tool is installed, through
``pre-commit try-repo`` on this checkout, which installs the package as a
hook repository would be (this needs PyPI for the build backend).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Dict, Optional

import pytest
import yaml

from conftest import BUILDS, ROOT

GOOD = BUILDS / "static" / "nrf52840_child" / "app" / "pm_static.yml"
NRF5340_LAYOUT = ROOT / "tests" / "triage" / "pinnacle100" / "pm_static.yml"  # made for an nRF5340
HOOK_RULES = {
    "PMD001",
    "PMD002",
    "PMD003",
    "PMD101",
    "PMD102",
    "PMD103",
    "PMD104",
    "PMD105",
    "PMD106",
    "PMD201",
}

OVERLAP = """\
mcuboot:
  address: 0x0
  size: 0xc000
  region: flash_primary
app:
  address: 0xc000
  size: 0x80000
  region: flash_primary
settings_storage:
  address: 0x88000
  size: 0x8000
  region: flash_primary
"""


def hook(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    """The hook's entry point, with the arguments pre-commit would pass."""
    env = dict(os.environ, PYTHONPATH=str(ROOT / "scripts"))
    env.pop("ZEPHYR_BASE", None)
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from pmdoctor.cli import pre_commit_main; pre_commit_main()",
            *args,
        ],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def rules_reported(output: str) -> set:
    return set(re.findall(r"^(?:ERROR|WARNING|NOTE)\s+(PMD\d+)", output, re.MULTILINE))


def test_a_good_static_file_passes():
    proc = hook("--soc", "nrf52840", str(GOOD))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "no findings" in proc.stdout


def test_overlapping_partitions_fail(tmp_path):
    bad = tmp_path / "pm_static.yml"
    bad.write_text(OVERLAP)
    proc = hook(str(bad), str(GOOD))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "PMD101" in rules_reported(proc.stdout)
    assert "Traceback" not in proc.stderr


def test_a_layout_for_another_soc_fails_by_argument_or_by_file_name(tmp_path):
    assert hook(str(NRF5340_LAYOUT)).returncode == 0  # nothing says which SoC it is for
    by_argument = hook("--soc", "nrf52840", str(NRF5340_LAYOUT))
    assert by_argument.returncode == 1 and rules_reported(by_argument.stdout) == {"PMD201"}
    named = tmp_path / "pm_static_nrf52840dk_nrf52840.yml"
    shutil.copy(NRF5340_LAYOUT, named)
    by_name = hook(str(named))
    assert by_name.returncode == 1 and rules_reported(by_name.stdout) == {"PMD201"}
    assert hook("--board", "nrf5340dk/nrf5340/cpuapp", str(named)).returncode == 0


def test_each_file_is_judged_on_its_own(tmp_path):
    """One file's board does not decide another's SoC: an nRF52840 file beside an nRF5340 one."""
    nrf5340 = tmp_path / "pm_static_nrf5340dk_nrf5340_cpuapp.yml"
    shutil.copy(NRF5340_LAYOUT, nrf5340)
    nrf52840 = tmp_path / "pm_static_nrf52840dk_nrf52840.yml"
    shutil.copy(GOOD, nrf52840)
    proc = hook(str(nrf5340), str(nrf52840))
    assert proc.returncode == 0, proc.stdout


def test_only_the_rules_a_static_file_can_answer(tmp_path):
    broken = tmp_path / "pm_static.yml"
    broken.write_text(OVERLAP + "mcuboot_secondary:\n  address: 0x90000\n  size: [oops\n")
    proc = hook(str(broken), str(NRF5340_LAYOUT), "--soc", "nrf52840")
    assert proc.returncode == 1
    reported = rules_reported(proc.stdout)
    assert reported and reported <= HOOK_RULES


def test_no_files_no_work_and_a_missing_file_is_a_usage_error(tmp_path):
    assert hook().returncode == 0
    missing = hook(str(tmp_path / "pm_static.yml"))
    assert missing.returncode == 2 and "no such file" in missing.stderr
    assert hook("--no-such-option", str(GOOD)).returncode == 2


def test_the_hook_definition_names_the_entry_point():
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    (definition,) = hooks
    assert definition["id"] == "pmdoctor-static" and definition["language"] == "python"
    scripts = re.search(
        r"^\[project\.scripts\]\n(.*?)\n\n", (ROOT / "pyproject.toml").read_text(), re.S | re.M
    )
    assert f'{definition["entry"]} = "pmdoctor.cli:pre_commit_main"' in scripts.group(1)
    pattern = re.compile(definition["files"])
    for name in ("pm_static.yml", "app/pm_static_nrf52840dk_nrf52840.yml", "boards/x/pm_static_y.yaml"):
        assert pattern.search(name), name
    for name in ("partitions.yml", "my_pm_static.yml", "pm_static.yml.orig", "pm_static/README.md"):
        assert not pattern.search(name), name


# --------------------------------------------------------- pre-commit itself

PRE_COMMIT = shutil.which("pre-commit")


def git(*args: str, cwd: Path, env: Dict[str, str]) -> None:
    identity = ["-c", "user.name=pmdoctor tests", "-c", "user.email=tests@example.invalid"]
    subprocess.run(["git", *identity, *args], cwd=cwd, env=env, check=True, capture_output=True, timeout=60)


def hook_repository(target: Path, env: Dict[str, str]) -> Path:
    """This checkout's files, committed in a repository of their own (try-repo reads commits)."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    for name in ("scripts", "schemas"):
        shutil.copytree(ROOT / name, target / name, ignore=ignore)
    for name in ("pyproject.toml", "README.md", ".pre-commit-hooks.yaml", "west-commands.yml"):
        shutil.copy(ROOT / name, target / name)
    git("-c", "init.defaultBranch=main", "init", "-q", cwd=target, env=env)
    git("add", "-A", cwd=target, env=env)
    git("-c", "commit.gpgsign=false", "commit", "-q", "-m", "hook", cwd=target, env=env)
    return target


@pytest.mark.skipif(PRE_COMMIT is None, reason="pre-commit is not installed (pip install pre-commit)")
def test_pre_commit_try_repo(tmp_path):
    env = dict(os.environ, PRE_COMMIT_HOME=str(tmp_path / "cache"), GIT_CONFIG_NOSYSTEM="1")
    env.pop("PYTHONPATH", None)
    firmware = tmp_path / "firmware"
    firmware.mkdir()
    shutil.copy(GOOD, firmware / "pm_static.yml")
    (firmware / "pm_static_nrf52840dk_nrf52840.yml").write_text(NRF5340_LAYOUT.read_text())
    git("-c", "init.defaultBranch=main", "init", "-q", cwd=firmware, env=env)
    git("add", "-A", cwd=firmware, env=env)
    repository = hook_repository(tmp_path / "west-pmdoctor", env)

    def try_repo(*files: str) -> Optional[subprocess.CompletedProcess]:
        proc = subprocess.run(
            [PRE_COMMIT, "try-repo", str(repository), "pmdoctor-static", "--files", *files],
            cwd=firmware,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        if "An unexpected error has occurred" in proc.stdout + proc.stderr:
            pytest.skip(f"pre-commit could not install the hook here: {(proc.stdout + proc.stderr)[-300:]}")
        return proc

    good = try_repo("pm_static.yml")
    assert good.returncode == 0, good.stdout + good.stderr
    bad = try_repo("pm_static.yml", "pm_static_nrf52840dk_nrf52840.yml")
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert "PMD201 foreign-static-layout" in bad.stdout
