"""Diagnosis rules on devicetree-era builds.

Sectors, swap mode, header, FPROTECT, TF-M, storage geometry and external NOR reachability.

Each case copies a healthy devicetree-era fixture (tests/builds/dt/) and makes
one visible edit; the unedited copy is the clean twin.
"""

from __future__ import annotations

from pathlib import Path
from typing import List

import pytest

from conftest import BUILDS
from helpers import copy_tree, edit
from pmdoctor.api import check, load_build
from pmdoctor.model import Era
from pmdoctor.model.findings import Finding
from pmdoctor.model.names import devicetree_names, pm_name
from pmdoctor.rules._shared.layouts import find_partition

DT = BUILDS / "dt"
NRF52 = "nrf52840dk_zephyr_mcuboot"
NRF54L = "nrf54l15_mcuboot"
EXT = "nrf52840dk_ext_secondary"


def copy(case: str, tmp_path: Path) -> Path:
    return copy_tree(DT / case, tmp_path / case)


def append(path: Path, *lines: str) -> None:
    path.write_text(path.read_text() + "\n".join(lines) + "\n")


def run(build_dir: Path, rule: str) -> List[Finding]:
    build = load_build(build_dir)
    assert build.era is Era.DEVICETREE
    return check(build, [rule]).findings


# ------------------------------------------------------------ name lookup


def test_partitions_are_found_by_either_name():
    layout = load_build(DT / NRF52).app.devicetree.layout
    assert find_partition(layout, "mcuboot_secondary").name == "slot1_partition"
    assert find_partition(layout, "mcuboot").name == "boot_partition"
    assert find_partition(layout, "settings_storage").name == "storage_partition"
    assert find_partition(layout, "tfm_nonsecure") is None
    assert devicetree_names("mcuboot_primary_1") == ("slot2_partition", "image-2")
    assert pm_name("slot3_partition") == "mcuboot_secondary_1"
    assert pm_name("boot_partition") == "mcuboot"


# ------------------------------------------------------------------ PMD402


def test_external_slot_sectors_within_max_img_sectors_is_clean():
    assert run(DT / EXT, "PMD402") == []


def test_external_slot_with_more_sectors_than_mcuboot_allows(tmp_path):
    build_dir = copy(EXT, tmp_path)
    edit(
        build_dir / "mcuboot/zephyr/.config",
        "CONFIG_BOOT_MAX_IMG_SECTORS=256",
        "CONFIG_BOOT_MAX_IMG_SECTORS=128",
    )
    [finding] = run(build_dir, "PMD402")
    assert "CONFIG_BOOT_MAX_IMG_SECTORS=128" in finding.message and "236 sectors" in finding.message
    assert any("slot1_partition: 0xec000 / 0x1000 (CONFIG_NORDIC_QSPI_NOR" in e for e in finding.evidence)
    assert finding.fixes[0].snippet == "CONFIG_BOOT_MAX_IMG_SECTORS=256"


# ------------------------------------------------------------------ PMD403


def _scratch_mode(build_dir: Path) -> None:
    edit(
        build_dir / "mcuboot/zephyr/.config",
        "CONFIG_BOOT_SWAP_USING_MOVE=y",
        "CONFIG_BOOT_SWAP_USING_SCRATCH=y",
    )
    edit(
        build_dir / "zephyr/.config",
        "SB_CONFIG_MCUBOOT_MODE_SWAP_USING_MOVE=y",
        "SB_CONFIG_MCUBOOT_MODE_SWAP_SCRATCH=y",
    )


def test_swap_using_scratch_without_scratch_partition(tmp_path):
    build_dir = copy(NRF52, tmp_path)
    _scratch_mode(build_dir)
    [finding] = run(build_dir, "PMD403")
    assert "no `scratch_partition`" in finding.message


def test_swap_using_scratch_with_scratch_partition_is_clean(tmp_path):
    build_dir = copy(NRF52, tmp_path)
    _scratch_mode(build_dir)
    for image in ("mcuboot", "blinky"):
        edit(
            build_dir / image / "zephyr/zephyr.dts",
            "storage_partition: partition@f8000",
            "scratch_partition: partition@f8000",
        )
    assert run(build_dir, "PMD403") == []


# ------------------------------------------------------------------ PMD405


def test_header_on_the_vector_table_boundary_is_clean():
    assert run(DT / NRF54L, "PMD405") == []


def test_nrf54l_app_with_a_0x200_header(tmp_path):
    build_dir = copy(NRF54L, tmp_path)
    edit(build_dir / "hello/zephyr/.config", "CONFIG_ROM_START_OFFSET=0x800", "CONFIG_ROM_START_OFFSET=0x200")
    [finding] = run(build_dir, "PMD405")
    assert "0x10200" in finding.message and "0x800 boundary" in finding.message
    assert finding.image == "hello"
    assert finding.fixes[0].snippet == "CONFIG_ROM_START_OFFSET=0x800"


# ------------------------------------------------------------------ PMD408 / PMD409


def _fprotect(build_dir: Path, *extra: str) -> None:
    append(build_dir / "mcuboot/zephyr/.config", "CONFIG_FPROTECT=y", *extra)


def test_vanilla_zephyr_mcuboot_without_fprotect_is_not_checked():
    assert run(DT / NRF52, "PMD408") == [] and run(DT / NRF54L, "PMD409") == []


def test_fprotect_on_an_aligned_boot_partition_is_clean(tmp_path):
    build_dir = copy(NRF52, tmp_path)
    _fprotect(build_dir, "CONFIG_FPROTECT_BLOCK_SIZE=0x1000")
    assert run(build_dir, "PMD408") == []


def test_fprotect_on_a_boot_partition_that_is_not_block_aligned(tmp_path):
    build_dir = copy(NRF52, tmp_path)
    _fprotect(build_dir, "CONFIG_FPROTECT_BLOCK_SIZE=0x1000")
    edit(build_dir / "mcuboot/zephyr/zephyr.dts", "reg = < 0x0 0xc000 >;", "reg = < 0x0 0xb800 >;")
    [finding] = run(build_dir, "PMD408")
    assert "0x0-0xb800 (`boot_partition`, 0xb800 bytes)" in finding.message
    assert "EMPTY_0" not in finding.fixes[0].description


def test_nrf54l_boot_partition_larger_than_rramc_can_protect(tmp_path):
    build_dir = copy(NRF54L, tmp_path)
    _fprotect(build_dir)
    [finding] = run(build_dir, "PMD409")
    assert "`boot_partition`, 0x10000 bytes" in finding.message and "62 KB" in finding.message


def test_nrf54l_boot_partition_within_combined_regions_is_clean(tmp_path):
    build_dir = copy(NRF54L, tmp_path)
    _fprotect(build_dir)
    append(build_dir / "zephyr/.config", "SB_CONFIG_MCUBOOT_FPROTECT_ALLOW_COMBINED_REGIONS=y")
    for image in ("mcuboot", "hello"):
        edit(build_dir / image / "zephyr/zephyr.dts", "reg = < 0x0 0x10000 >;", "reg = < 0x0 0xd000 >;")
    assert run(build_dir, "PMD409") == []


# ------------------------------------------------------------------ PMD503

_SPLIT_SLOT0 = """slot0_partition: partition@10000 {
						compatible = "fixed-subpartitions";
						label = "image-0";
						reg = < 0x10000 0xa6000 >;
						ranges;
						#address-cells = < 0x1 >;
						#size-cells = < 0x1 >;
						slot0_s_partition: partition@10000 {
							label = "image-0-secure";
							reg = < 0x10000 SECURE >;
						};
						slot0_ns_partition: partition@NS {
							label = "image-0-nonsecure";
							reg = < NS REST >;
						};
					};
					slot1_partition"""


def _tfm(tmp_path: Path, secure: int) -> Path:
    build_dir = copy(NRF54L, tmp_path)
    ns = 0x10000 + secure
    node = (
        _SPLIT_SLOT0.replace("SECURE", hex(secure))
        .replace("partition@NS", f"partition@{ns:x}")
        .replace("NS REST", f"{hex(ns)} {hex(0xA6000 - secure)}")
    )
    path = build_dir / "hello/zephyr/zephyr.dts"
    text = path.read_text()
    start = text.index("slot0_partition: partition@10000")
    end = text.index("slot1_partition")
    path.write_text(text[:start] + node + text[end + len("slot1_partition") :])
    append(
        build_dir / "hello/zephyr/.config",
        "CONFIG_BUILD_WITH_TFM=y",
        "CONFIG_NRF_TRUSTZONE_FLASH_REGION_SIZE=0x1000",
    )
    return build_dir


def test_tfm_non_secure_start_on_a_region_boundary_is_clean(tmp_path):
    build_dir = _tfm(tmp_path, 0x40000)
    assert load_build(build_dir).app.devicetree.layout.get("slot0_ns_partition").address == 0x50000
    assert run(build_dir, "PMD503") == []


def test_tfm_non_secure_start_off_the_region_boundary(tmp_path):
    build_dir = _tfm(tmp_path, 0x40800)
    [finding] = run(build_dir, "PMD503")
    assert "starts at 0x50800 (`slot0_ns_partition`)" in finding.message
    assert "0x1000-byte TrustZone region" in finding.message


# ------------------------------------------------------------------ PMD602


def _zms_settings(build_dir: Path) -> None:
    append(build_dir / "hello/zephyr/.config", "CONFIG_SETTINGS_ZMS=y")


def test_zms_settings_on_nine_sectors_is_clean(tmp_path):
    build_dir = copy(NRF54L, tmp_path)
    _zms_settings(build_dir)
    assert run(build_dir, "PMD602") == []


def test_zms_settings_on_one_sector(tmp_path):
    build_dir = copy(NRF54L, tmp_path)
    _zms_settings(build_dir)
    for image in ("mcuboot", "hello"):
        edit(
            build_dir / image / "zephyr/zephyr.dts",
            "reg = < 0x15c000 0x9000 >;",
            "reg = < 0x15c000 0x1000 >;",
        )
    [finding] = run(build_dir, "PMD602")
    assert "`storage_partition` holds 1 sector(s) of 0x1000 bytes" in finding.message
    assert "ZMS needs at least 2" in finding.message


# ------------------------------------------------------------------ PMD301 / PMD302


def test_external_secondary_reachable_from_both_images_is_clean():
    assert run(DT / EXT, "PMD301") == [] and run(DT / EXT, "PMD302") == []


def test_mcuboot_with_the_qspi_bus_disabled(tmp_path):
    build_dir = copy(EXT, tmp_path)
    dts = build_dir / "mcuboot/zephyr/zephyr.dts"
    text = dts.read_text()
    start = text.index("qspi: qspi@40029000")
    dts.write_text(text[:start] + text[start:].replace('status = "okay";', 'status = "disabled";', 1))
    [finding] = run(build_dir, "PMD301")
    assert finding.image == "mcuboot"
    assert "slot1_partition lives on external flash (mx25r64, nordic,qspi-nor)" in finding.message
    assert "bus qspi, which is disabled" in finding.message
    assert "&qspi {" in finding.fixes[0].snippet


def test_mcuboot_without_the_qspi_driver(tmp_path):
    build_dir = copy(EXT, tmp_path)
    edit(
        build_dir / "mcuboot/zephyr/.config",
        "CONFIG_NORDIC_QSPI_NOR=y\n",
        "# CONFIG_NORDIC_QSPI_NOR is not set\n",
    )
    [finding] = run(build_dir, "PMD302")
    assert finding.image == "mcuboot" and "CONFIG_NORDIC_QSPI_NOR is not set" in finding.message
    assert "CONFIG_NORDIC_QSPI_NOR=y" in finding.fixes[0].snippet


def test_app_that_writes_updates_needs_the_driver_too(tmp_path):
    build_dir = copy(EXT, tmp_path)
    config = build_dir / "blinky/zephyr/.config"
    append(config, "CONFIG_MCUMGR_GRP_IMG=y")
    assert run(build_dir, "PMD302") == []
    edit(config, "CONFIG_NORDIC_QSPI_NOR=y\n", "")
    [finding] = run(build_dir, "PMD302")
    assert finding.image == "blinky" and "slot1_partition" in finding.message


@pytest.mark.parametrize("status", ["okay", "disabled"])
def test_secondary_in_a_mapped_partition_under_the_nor(tmp_path, status):
    """zephyr,mapped-partition children of a NOR `partitions` node with `ranges` (newer boards)."""
    build_dir = copy(EXT, tmp_path)
    for image in ("mcuboot", "blinky"):
        dts = build_dir / image / "zephyr/zephyr.dts"
        edit(
            dts,
            'compatible = "fixed-partitions";\n\t\t\t\t\t#address-cells = < 0x1 >;\n\t\t\t\t\t'
            "#size-cells = < 0x1 >;\n\t\t\t\t\tslot1_partition: partition@0 {\n",
            "ranges = < 0x0 0x0 0x800000 >;\n\t\t\t\t\t#address-cells = < 0x1 >;\n\t\t\t\t\t"
            "#size-cells = < 0x1 >;\n\t\t\t\t\tslot1_partition: partition@0 {\n"
            '\t\t\t\t\t\tcompatible = "zephyr,mapped-partition";\n',
        )
        edit(dts, "mx25r64: mx25r6435f@0 {\n", f'mx25r64: mx25r6435f@0 {{\n\t\t\t\tstatus = "{status}";\n')
    slot1 = load_build(build_dir).image("mcuboot").devicetree.layout.get("slot1_partition")
    assert (slot1.region, slot1.address, slot1.size) == ("dt:mx25r64", 0, 0xEC000)
    found = run(build_dir, "PMD301")
    assert [f.image for f in found] == ([] if status == "okay" else ["mcuboot"])
