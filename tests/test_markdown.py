"""`--format markdown`: a forum reply — what was looked at, ranked findings, fixes as code blocks, asks."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

from conftest import BUILDS, ROOT
from pmdoctor.api import check, load_build, triage_build
from pmdoctor.cli import run
from pmdoctor.loaders.logs import parse_log
from pmdoctor.report import RenderOptions, renderers

THREADS = ROOT / "tests" / "triage"
OPTIONS = RenderOptions(cwd=ROOT)


def render(analysis) -> str:
    return renderers()["markdown"]([analysis], OPTIONS)


def test_registered_and_selectable() -> None:
    assert "markdown" in renderers()
    out, err = io.StringIO(), io.StringIO()
    healthy = BUILDS / "foundation" / "sysbuild_nrf52840"
    code = run(["-d", str(healthy), "-f", "markdown"], stdout=out, stderr=err, cwd=ROOT)
    assert code == 0, err.getvalue()
    text = out.getvalue()
    assert text.startswith("### Flash layout diagnosis")
    assert "nothing wrong in what was attached" in text and "partitions.yml" in text


def test_thread_reply_layout() -> None:
    text = render(check(triage_build([THREADS / "pinnacle100"])))
    looked, _, rest = text.partition("**What I found**")
    assert "| `tests/triage/pinnacle100/pm_static.yml` | static layout" in looked
    assert "pinnacle_100_dvk (nrf52840)" in looked and "child-image era" in looked
    found, _, asks = rest.partition("**Please attach next**")
    assert found.index("1. **ERROR") < found.index("PMD801")
    assert "```ini\n   CONFIG_NORDIC_QSPI_NOR=y" in found  # the fix, as a code block for a .conf
    assert "> — tests/triage/pinnacle100/console.log:5" in found  # evidence line quoted, path relative
    assert "- build/mcuboot/zephyr/.config" in asks


def test_unused_files_are_listed(tmp_path: Path) -> None:
    shutil.copytree(THREADS / "wrong_extension", tmp_path / "t")
    (tmp_path / "t" / "photo.png").write_bytes(b"\x89PNG")
    text = render(check(triage_build([tmp_path / "t"])))
    assert "**not used**" in text and "photo.png" in text
    assert "pm_static*.yml, not .yaml" in text


def test_log_evidence_in_build_directory_mode(tmp_path: Path) -> None:
    build = load_build(BUILDS / "foundation" / "sysbuild_nrf52840")
    log = tmp_path / "boot.log"
    log.write_text("I: Starting bootloader\nE: Protect mcuboot flash failed, cancel startup.\n")
    build.symptoms = parse_log(log.read_text(), log).symptoms
    text = render(check(build))
    assert "**ERROR PMD806**" in text
    assert "> `E: Protect mcuboot flash failed, cancel startup.`" in text
    assert "sysbuild/mcuboot.conf" in text and "CONFIG_FPROTECT=n" in text


def test_reply_carries_no_absolute_path_of_this_machine(tmp_path: Path) -> None:
    """Attachments outside the cwd are named relative to their folder, notes included."""
    thread = tmp_path / "thread"
    shutil.copytree(THREADS / "pinnacle100", thread)
    text = render(check(triage_build([thread])))
    assert str(tmp_path) not in text and str(ROOT) not in text
    assert "| `thread/pm_static.yml` | static layout" in text
    assert "> — thread/console.log:5:" in text and "(at `thread/pm_static.yml:39`)" in text


def test_header_names_the_zephyr_version_when_ncs_is_unknown() -> None:
    text = render(check(triage_build([THREADS / "pinnacle100"])))
    assert "· Zephyr v3.2.99-ncs2 (NCS version unknown) ·" in text.splitlines()[2]
