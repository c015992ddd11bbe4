"""Files from strangers run no code and leak no file: the real CLI, in a subprocess.

A support engineer runs ``pmdoctor -d .`` or ``pmdoctor triage .`` inside a
folder someone attached to a forum thread. Nothing in that folder may make
pmdoctor import code, and no path its files name may bring another file of
this machine into the report.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import List

import pytest

from conftest import BUILDS
from helpers import leave_to_dtlib, run_pmdoctor

HEALTHY = BUILDS / "cli" / "healthy"
SECRET = "s3cr3t-token-9f2c"


def pmdoctor(*args: str, cwd: Path, zephyr_base: str = "") -> subprocess.CompletedProcess:
    return run_pmdoctor(*args, cwd=cwd, env={"ZEPHYR_BASE": zephyr_base})


def attachment(tmp_path: Path) -> Path:
    """A copy of the healthy sysbuild build, as a stranger would attach it (build/ under the app).

    Its devicetrees need dtlib (the flat reader leaves them to it), so that a dtlib is imported.
    """
    thread = tmp_path / "thread"
    shutil.copytree(HEALTHY, thread)
    leave_to_dtlib(thread / "build")
    return thread


def append_cache(build: Path, *lines: str) -> None:
    cache = build / "CMakeCache.txt"
    cache.write_text(cache.read_text() + "".join(line + "\n" for line in lines))


def trap_zephyr(folder: Path, marker: Path) -> None:
    """A Zephyr tree whose dtlib.py, if imported, leaves ``marker`` behind."""
    package = folder / "scripts" / "dts" / "python-devicetree" / "src" / "devicetree"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(f"open({str(marker)!r}, 'w').write('ran')\n")
    (package / "dtlib.py").write_text(f"open({str(marker)!r}, 'w').write('ran')\n")


@pytest.mark.parametrize(
    "argv",
    [["-d", "."], ["triage", "."], ["-d", ".", "--format", "json"], ["migrate"]],
    ids=["check", "triage", "json", "migrate"],
)
@pytest.mark.parametrize("recorded", ["zb", "ABSOLUTE"])
def test_zephyr_base_in_an_attachment_never_runs(tmp_path: Path, argv: List[str], recorded: str) -> None:
    build = attachment(tmp_path) / "build"
    marker = tmp_path / "code-ran"
    trap_zephyr(build / "zb", marker)
    value = str(build / "zb") if recorded == "ABSOLUTE" else "zb"
    append_cache(build, f"ZEPHYR_BASE:PATH={value}")
    if argv[0] == "migrate":
        argv = ["migrate", "-d", "."]
    result = pmdoctor(*argv, cwd=build)
    assert "Traceback" not in result.stderr + result.stdout
    assert result.returncode in (0, 1), result.stderr
    assert not marker.exists(), "pmdoctor imported code named by an input file"


def test_zephyr_base_of_the_environment_is_used(tmp_path: Path) -> None:
    """The user's own $ZEPHYR_BASE is trusted: its dtlib is the one imported (here: it runs)."""
    build = attachment(tmp_path) / "build"
    marker = tmp_path / "code-ran"
    trap_zephyr(tmp_path / "zephyr", marker)
    result = pmdoctor("-d", str(build), cwd=tmp_path, zephyr_base=str(tmp_path / "zephyr"))
    assert "Traceback" not in result.stderr
    assert marker.exists()
    # ...but never in triage, even from $ZEPHYR_BASE.
    marker.unlink()
    pmdoctor("triage", str(build), cwd=tmp_path, zephyr_base=str(tmp_path / "zephyr"))
    assert not marker.exists()


def outside_secret(tmp_path: Path) -> Path:
    """A file elsewhere on this machine, shaped like a layout so that it would be quoted if read."""
    secret = tmp_path / "elsewhere" / "passwd.yml"
    secret.parent.mkdir()
    secret.write_text(f"{SECRET}:\n  address: 0x0\n  size: {SECRET}\n")
    return secret


@pytest.mark.parametrize("fmt", ["text", "json", "markdown", "sarif", "junit", "github"])
@pytest.mark.parametrize("mode", ["check", "triage"])
def test_a_cache_cannot_bring_another_file_into_the_report(tmp_path: Path, fmt: str, mode: str) -> None:
    thread = attachment(tmp_path)
    append_cache(thread / "build", f"PM_STATIC_YML_FILE:INTERNAL={outside_secret(tmp_path)}")
    argv = ["-d", "build"] if mode == "check" else ["triage", "build"]
    result = pmdoctor(*argv, "--format", fmt, cwd=thread)
    assert result.returncode in (0, 1), result.stderr
    assert SECRET not in result.stdout + result.stderr
    if fmt == "text":
        assert "not read" in result.stdout


def test_a_file_that_is_no_layout_is_not_quoted(tmp_path: Path) -> None:
    """Inside the application, a cache may name any file: one that is no layout is named, never quoted."""
    thread = attachment(tmp_path)
    (thread / "notes.txt").write_text(f"user: admin\npassword: {SECRET}\n")
    append_cache(thread / "build", "PM_STATIC_YML_FILE:INTERNAL=notes.txt")
    result = pmdoctor("-d", "build", "--format", "json", cwd=thread)
    document = json.loads(result.stdout)
    assert SECRET not in result.stdout
    messages = [f["message"] for f in document["builds"][0]["findings"] if f["rule"] == "PMD002"]
    assert messages == ["not a Partition Manager file: none of its 2 top-level keys holds a mapping"]


def test_domains_yaml_cannot_point_at_another_build(tmp_path: Path) -> None:
    thread = attachment(tmp_path)
    other = tmp_path / "other_build"
    shutil.copytree(thread / "build" / "smp_svr", other)
    (other / "zephyr" / ".config").write_text(f'CONFIG_BOARD="{SECRET}"\n')
    domains = thread / "build" / "domains.yaml"
    domains.write_text(domains.read_text().replace("/home/dev/ncs/apps/smp_svr/build/smp_svr", str(other)))
    (other / "CMakeCache.txt").write_text("BOARD:STRING=x\n")
    result = pmdoctor("-d", "build", "--format", "json", cwd=thread)
    assert result.returncode in (0, 1), result.stderr
    assert SECRET not in result.stdout


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="no symbolic links here")
def test_links_out_of_an_attachment_are_not_followed(tmp_path: Path) -> None:
    thread = attachment(tmp_path)
    secret = outside_secret(tmp_path)
    (thread / "pm_static_extra.yml").symlink_to(secret)  # triage walks the folder
    (thread / "build" / "partitions_CPUNET.yml").symlink_to(secret)  # the assembler globs the build
    for argv in (["triage", "."], ["-d", "build"]):
        result = pmdoctor(*argv, "--format", "json", cwd=thread)
        assert result.returncode in (0, 1), result.stderr
        assert SECRET not in result.stdout, argv


def test_triage_reads_only_what_it_was_given(tmp_path: Path) -> None:
    """Given only the build folder, triage does not read the application beside it."""
    thread = attachment(tmp_path)
    (thread / "prj.conf").write_text(
        f'CONFIG_BT_DEVICE_NAME="{SECRET}"\nCONFIG_PARTITION_MANAGER_ENABLED=y\n'
    )
    result = pmdoctor("triage", "build", "--format", "json", cwd=thread)
    assert result.returncode in (0, 1), result.stderr
    assert SECRET not in result.stdout
    assert "prj.conf" not in result.stdout
