"""Devicetree-era builds (PMD701-PMD703, PMD705) and the --baseline comparison (PMD704)."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path
from typing import List, Optional

import pytest

from conftest import BUILDS, corpus_or_skip
from helpers import copy_tree, edit
from pmdoctor.api import check, load_build
from pmdoctor.baseline import BaselineError, load_baseline
from pmdoctor.cli import run
from pmdoctor.model import Era
from pmdoctor.model.findings import Finding

DT = BUILDS / "dt"
BASELINE = DT / "baselines" / "nrf52840dk_partitions.yml"
OUR_RULES = ("PMD701", "PMD702", "PMD703", "PMD704", "PMD705")


def copy(case: str, tmp_path: Path, under: str = "") -> Path:
    return copy_tree(DT / case, tmp_path / under / case if under else tmp_path / case)


def findings(build_dir: Path, baseline: Optional[Path] = None, rules=OUR_RULES) -> List[Finding]:
    build = load_build(build_dir)
    if baseline is not None:
        build.baselines = load_baseline(baseline)
    return check(build, rules).findings


def ids(found: List[Finding]) -> List[str]:
    return [f.rule for f in found]


# ------------------------------------------------------------ healthy builds


@pytest.mark.parametrize(
    "case", ["nrf54l15_mcuboot", "nrf52840dk_zephyr_mcuboot", "nrf52840dk_ext_secondary"]
)
def test_healthy_devicetree_builds_are_clean(case):
    build = load_build(DT / case)
    assert build.era is Era.DEVICETREE
    assert not build.partition_manager
    everything = check(build).findings
    assert [f for f in everything if f.effective_severity.value in ("error", "warning")] == []


def test_external_secondary_sits_on_the_nor_node():
    build = load_build(DT / "nrf52840dk_ext_secondary")
    layout = build.app.devicetree.layout
    slot1 = layout.get("slot1_partition")
    assert slot1.region == "dt:mx25r64" and slot1.address == 0 and slot1.size == 0xEC000
    assert layout.regions["dt:mx25r64"].size == 0x800000  # 0x4000000 bits


# ------------------------------------------------------------------ PMD701


def test_mcuboot_disagreeing_on_slot1_is_an_error(tmp_path):
    build_dir = copy("nrf52840dk_zephyr_mcuboot", tmp_path)
    edit(
        build_dir / "mcuboot/zephyr/zephyr.dts",
        "reg = < 0x82000 0x76000 >;",  # slot1_partition
        "reg = < 0x83000 0x75000 >;",
    )
    found = findings(build_dir, rules=["PMD701"])
    assert len(found) == 1
    finding = found[0]
    assert finding.image == "mcuboot"
    assert "slot1_partition" in finding.message
    assert "0x83000" in finding.message and "0x82000" in finding.message
    assert finding.location.file.name == "zephyr.dts" and finding.location.line
    # the same device in both images: MCUboot's node gets the app's reg back, in MCUboot's overlay
    [reg] = finding.fixes[0].edits
    assert (reg.node, reg.prop, reg.value) == ("&slot1_partition", "reg", "<0x82000 0x76000>")
    assert reg.image == "mcuboot"
    assert reg.target.file.name == "mcuboot.overlay" and reg.target.file.parent.name == "sysbuild"


def test_mcuboot_slot1_on_internal_flash_while_app_uses_the_nor(tmp_path):
    build_dir = copy("nrf52840dk_ext_secondary", tmp_path)
    dts = build_dir / "mcuboot/zephyr/zephyr.dts"
    edit(dts, "slot1_partition: partition@0", "ext_spare: partition@0")
    edit(dts, "storage_partition: partition@f8000", "slot1_partition: partition@f8000")
    found = findings(build_dir, rules=["PMD701"])
    assert len(found) == 1
    assert "mx25r64" in found[0].message and "flash@0" in found[0].message


# ------------------------------------------------------------------ PMD702


def test_mcuboot_linked_into_slot0_is_an_error(tmp_path):
    build_dir = copy("nrf54l15_mcuboot", tmp_path)
    edit(
        build_dir / "mcuboot/zephyr/zephyr.dts",
        "zephyr,code-partition = &boot_partition;",
        "zephyr,code-partition = &slot0_partition;",
    )
    found = findings(build_dir, rules=["PMD702"])
    assert len(found) == 1
    assert found[0].image == "mcuboot"
    assert "boot_partition" in found[0].message and "&slot0_partition" in found[0].message
    assert "zephyr,code-partition = &boot_partition;" in found[0].fixes[0].snippet


def test_load_offset_that_disagrees_with_slot0(tmp_path):
    build_dir = copy("nrf54l15_mcuboot", tmp_path)
    edit(
        build_dir / "hello/zephyr/.config",
        "CONFIG_FLASH_LOAD_OFFSET=0x10000\nCONFIG_USE_DT_CODE_PARTITION=y\n",
        "CONFIG_FLASH_LOAD_OFFSET=0x0\n# CONFIG_USE_DT_CODE_PARTITION is not set\n",
    )
    found = findings(build_dir, rules=["PMD702"])
    assert len(found) == 1
    assert "CONFIG_FLASH_LOAD_OFFSET=0x0" in found[0].message and "0x10000" in found[0].message
    assert found[0].fixes[0].snippet == "CONFIG_USE_DT_CODE_PARTITION=y"


def test_matching_hand_set_load_offset_is_fine(tmp_path):
    build_dir = copy("nrf54l15_mcuboot", tmp_path)
    edit(
        build_dir / "hello/zephyr/.config",
        "CONFIG_USE_DT_CODE_PARTITION=y\n",
        "# CONFIG_USE_DT_CODE_PARTITION is not set\n",
    )
    assert findings(build_dir, rules=["PMD702"]) == []


def test_mcuboot_running_from_ram_is_not_checked(tmp_path):
    build_dir = copy("nrf54l15_mcuboot", tmp_path)
    dts = build_dir / "mcuboot/zephyr/zephyr.dts"
    edit(dts, "zephyr,code-partition = &boot_partition;", "zephyr,code-partition = &slot0_partition;")
    edit(build_dir / "mcuboot/zephyr/.config", "CONFIG_XIP=y\n", "# CONFIG_XIP is not set\n")
    assert findings(build_dir, rules=["PMD702"]) == []


# ------------------------------------------------------------------ PMD703


def _with_sources(tmp_path: Path, prj: str, static: bool) -> Path:
    build_dir = copy("nrf54l15_mcuboot", tmp_path / "hello", under="")
    app = build_dir.parent
    build_dir = build_dir.rename(app / "build")
    (app / "CMakeLists.txt").write_text("cmake_minimum_required(VERSION 3.20.0)\n")
    (app / "prj.conf").write_text(prj)
    if static:
        shutil.copy(BASELINE, app / "pm_static.yml")
    return build_dir


def test_leftover_pm_static_and_pm_options(tmp_path):
    build_dir = _with_sources(
        tmp_path, "CONFIG_SETTINGS=y\nCONFIG_PM_PARTITION_SIZE_SETTINGS_STORAGE=0x4000\n", True
    )
    found = findings(build_dir, rules=["PMD703"])
    assert len(found) == 2
    files = [f for f in found if "pm_static.yml" in f.message]
    options = [f for f in found if "CONFIG_PM_PARTITION_SIZE_SETTINGS_STORAGE" in f.message]
    assert files and options
    assert "SB_CONFIG_PARTITION_MANAGER is not set" in files[0].evidence[0]
    assert options[0].location.line == 2


def test_power_management_options_are_not_partition_manager(tmp_path):
    build_dir = _with_sources(
        tmp_path, "CONFIG_PM=y\nCONFIG_PM_DEVICE=y\nCONFIG_PM_DEVICE_RUNTIME=y\n", False
    )
    assert findings(build_dir, rules=["PMD703"]) == []


# ------------------------------------------------------------------ PMD704


def test_baseline_that_matches():
    assert findings(DT / "nrf52840dk_zephyr_mcuboot", BASELINE, ["PMD704"]) == []


def test_baseline_drift_by_one_sector(tmp_path):
    build_dir = copy("nrf52840dk_zephyr_mcuboot", tmp_path)
    for image in ("blinky", "mcuboot"):
        edit(
            build_dir / image / "zephyr/zephyr.dts",
            "reg = < 0xf8000 0x8000 >;",  # storage_partition
            "reg = < 0xf9000 0x7000 >;",
        )
    found = findings(build_dir, BASELINE, ["PMD704"])
    assert len(found) == 1  # both images agree, so the drift is reported once
    message = found[0].message
    assert "settings_storage" in message and "storage_partition" in message
    assert "moved from 0xf8000 to 0xf9000" in message and "resized from 0x8000 to 0x7000" in message
    assert "reg = <0xf8000 0x8000>" in found[0].fixes[0].snippet


def test_baseline_relabelled_partition(tmp_path):
    build_dir = copy("nrf52840dk_zephyr_mcuboot", tmp_path)
    edit(build_dir / "blinky/zephyr/zephyr.dts", "storage_partition:", "nvs_partition:")
    found = findings(build_dir, BASELINE, ["PMD704"])
    assert len(found) == 1
    assert "is nvs_partition" in found[0].message and "not storage_partition" in found[0].message


def test_baseline_from_a_pm_build_directory_with_external_secondary():
    found = findings(DT / "nrf52840dk_ext_secondary", DT / "pm_child_image_nrf52840_ext", ["PMD704"])
    assert found == []


def test_baseline_secondary_moved_off_chip(tmp_path):
    found = findings(DT / "nrf52840dk_ext_secondary", BASELINE, ["PMD704"])
    slot1 = [f for f in found if "slot1_partition" in f.message]
    assert slot1 and "moved from internal to external flash" in slot1[0].message


def test_pm_build_compared_with_its_deployed_layout():
    # Issue 12: a Partition Manager build keeps Partition Manager's names, like compared with like.
    found = findings(DT / "pm_child_image_nrf52840_ext", BASELINE, ["PMD704"])
    messages = " | ".join(f.message for f in found)
    assert "`mcuboot_primary` resized from 0x76000 to 0xec000" in messages
    assert "`mcuboot_secondary` moved from 0x82000 to 0x0" in messages
    assert "moved from region flash_primary to external_flash" in messages
    assert "slot0_partition" not in messages and "slot1_partition" not in messages
    assert findings(DT / "pm_child_image_nrf52840_ext", DT / "pm_child_image_nrf52840_ext", ["PMD704"]) == []


def test_baseline_errors_are_usage_errors(tmp_path):
    with pytest.raises(BaselineError):
        load_baseline(tmp_path / "missing.yml")
    with pytest.raises(BaselineError):
        load_baseline(DT / "nrf52840dk_zephyr_mcuboot")  # a devicetree-era build has no PM layout


def test_cli_baseline_exit_codes(tmp_path, capsys):
    fixture = str(DT / "nrf52840dk_zephyr_mcuboot")
    assert run(["-d", fixture, "--baseline", str(BASELINE), "--rules", "PMD704"]) == 0
    drifted = tmp_path / "partitions.yml"
    drifted.write_text(BASELINE.read_text().replace("address: 0x82000", "address: 0x81000"))
    assert run(["-d", fixture, "--baseline", str(drifted), "--rules", "PMD704"]) == 1
    assert "mcuboot_secondary" in capsys.readouterr().out
    assert run(["-d", fixture, "--baseline", str(tmp_path / "nope.yml")]) == 2


# ------------------------------------------------------------------ PMD705


def test_partition_manager_on_ncs_3_3_gets_a_note():
    found = findings(DT / "pm_sysbuild_nrf54l15", rules=["PMD705"])
    assert len(found) == 1
    assert found[0].effective_severity.value == "note"
    assert "NCS 3.3.0" in found[0].message and "west pmdoctor migrate" in found[0].message
    assert found[0].fixes[0].snippet == "SB_CONFIG_PARTITION_MANAGER=n"


def test_partition_manager_before_3_3_gets_no_note(tmp_path):
    build_dir = copy("pm_sysbuild_nrf54l15", tmp_path)
    edit(build_dir / "CMakeCache.txt", "ncs/v3.3.0/zephyr", "ncs/v3.2.0/zephyr", count=2)
    assert findings(build_dir, rules=["PMD705"]) == []


# ------------------------------------------------------------------ corpus


def test_devicetree_corpus_builds_raise_no_devicetree_rule_errors():
    corpus = corpus_or_skip()
    with (corpus / "INDEX.tsv").open() as handle:
        rows = [r for r in csv.DictReader(handle, delimiter="\t") if r["era"] == "devicetree"]
    assert rows
    for row in rows:
        top = sorted(
            (p.parent for p in (corpus / "builds" / row["slug"]).rglob("CMakeCache.txt")),
            key=lambda p: len(p.parts),
        )[0]
        build = load_build(top)
        assert build.era is Era.DEVICETREE, row["slug"]
        noisy = [f for f in check(build, OUR_RULES).findings if f.effective_severity.value != "note"]
        assert noisy == [], (row["slug"], [f.message for f in noisy])
