"""PMD501 netcore-update-partitions and PMD502 netcore-offchip-needs-multi-image."""

from __future__ import annotations

from helpers import edit, edit_partitions
from helpers import ranked_findings as findings
from helpers import soc_build as copy_build
from pmdoctor.model.findings import Severity

BASE = "nrf5340_netcore_sysbuild"


def test_complete_netcore_update_layout_is_clean(tmp_path):
    build = copy_build(BASE, tmp_path)
    assert findings(build, "PMD501") == []
    assert findings(build, "PMD502") == []


def test_static_layout_without_netcore_partitions_is_an_error(tmp_path):
    build = copy_build(BASE, tmp_path)

    def drop(data: dict) -> None:
        for name in ("mcuboot_primary_1", "mcuboot_secondary_1", "pcd_sram", "ram_flash"):
            del data[name]

    edit_partitions(build, drop)
    [finding] = findings(build, "PMD501")
    assert finding.effective_severity is Severity.ERROR
    assert "PM_MCUBOOT_PRIMARY_1_ID undeclared" in finding.message
    assert "`pcd_sram`" in finding.message and "`mcuboot_secondary_1`" in finding.message
    assert any("SB_CONFIG_NETCORE_APP_UPDATE=y in sysbuild" in line for line in finding.evidence)
    assert "region: ram_flash" in finding.fixes[0].snippet


def test_mcuboot_without_flash_simulator_is_an_error(tmp_path):
    build = copy_build(BASE, tmp_path)
    edit(
        build / "mcuboot" / "zephyr" / ".config",
        "CONFIG_FLASH_SIMULATOR=y",
        "# CONFIG_FLASH_SIMULATOR is not set",
    )
    [finding] = findings(build, "PMD501")
    assert "CONFIG_FLASH_SIMULATOR" in finding.message


def test_no_netcore_update_needs_no_netcore_partitions(tmp_path):
    build = copy_build(BASE, tmp_path)
    edit(build / "zephyr" / ".config", "SB_CONFIG_NETCORE_APP_UPDATE=y\n", "")
    edit(build / "mcuboot" / "zephyr" / ".config", "CONFIG_PCD_APP=y\n", "")
    edit_partitions(build, lambda data: data.pop("pcd_sram"))
    assert findings(build, "PMD501") == []


def single_image_mcuboot(build) -> None:
    edit(build / "zephyr" / ".config", "SB_CONFIG_MCUBOOT_NRF53_MULTI_IMAGE_UPDATE=y\n", "")
    edit(
        build / "zephyr" / ".config",
        "SB_CONFIG_MCUBOOT_UPDATEABLE_IMAGES=2",
        "SB_CONFIG_MCUBOOT_UPDATEABLE_IMAGES=1",
    )
    edit(
        build / "mcuboot" / "zephyr" / ".config",
        "CONFIG_UPDATEABLE_IMAGE_NUMBER=2",
        "CONFIG_UPDATEABLE_IMAGE_NUMBER=1",
    )


def test_offchip_netcore_image_without_multi_image_update_is_an_error(tmp_path):
    build = copy_build(BASE, tmp_path)
    single_image_mcuboot(build)
    [finding] = findings(build, "PMD502")
    assert "`mcuboot_secondary` is on external flash" in finding.message
    snippets = [fix.snippet for fix in finding.fixes]
    assert snippets == [
        "SB_CONFIG_MCUBOOT_NRF53_MULTI_IMAGE_UPDATE=y",
        "SB_CONFIG_MCUBOOT_UPDATEABLE_IMAGES=2",
    ]


def test_internal_secondary_without_multi_image_update_is_clean(tmp_path):
    build = copy_build(BASE, tmp_path)
    single_image_mcuboot(build)

    def internal(data: dict) -> None:
        data["mcuboot_secondary"].update(region="flash_primary", address=0xF8000)

    edit_partitions(build, internal)
    assert findings(build, "PMD502") == []
