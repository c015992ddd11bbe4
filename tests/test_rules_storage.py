"""PMD601 storage-partition-missing, PMD602 storage-geometry, PMD603 devicetree-partitions-ignored."""

from __future__ import annotations

import re
import shutil

from helpers import edit, edit_partitions
from helpers import ranked_findings as findings
from helpers import soc_build as copy_build
from pmdoctor.model.findings import Severity
from pmdoctor.rules.storage.devicetree_partitions_ignored import is_sdk_file

NET = "nrf5340_netcore_sysbuild"
NRF91 = "nrf9160_tfm_mcuboot"
NRF52 = "nrf52840_overlay_partitions"


# ------------------------------------------------------------------ PMD601


def test_settings_with_its_partition_is_clean(tmp_path):
    assert findings(copy_build(NET, tmp_path), "PMD601") == []


def test_settings_nvs_without_settings_storage_is_an_error(tmp_path):
    build = copy_build(NET, tmp_path)
    edit_partitions(build, lambda data: data.pop("settings_storage"))
    [finding] = findings(build, "PMD601")
    assert finding.effective_severity is Severity.ERROR
    assert "CONFIG_SETTINGS_NVS=y in image 'app'" in finding.message
    assert "no `settings_storage`" in finding.message
    assert finding.location.file == build / "app" / "zephyr" / ".config"


def external_settings(data: dict) -> None:
    data["settings_storage"].update(address=0x120000, region="external_flash")
    data["external_flash"].update(address=0x128000, size=0x6D8000)


def test_external_settings_with_a_driver_is_clean(tmp_path):
    build = copy_build(NET, tmp_path)
    edit_partitions(build, external_settings)
    assert findings(build, "PMD601") == []


def test_external_settings_without_a_driver_is_an_error(tmp_path):
    build = copy_build(NET, tmp_path)
    edit_partitions(build, external_settings)
    edit(
        build / "app" / "zephyr" / ".config",
        "CONFIG_PM_EXTERNAL_FLASH_HAS_DRIVER=y",
        "# CONFIG_PM_EXTERNAL_FLASH_HAS_DRIVER is not set",
    )
    [finding] = findings(build, "PMD601")
    assert "`settings_storage` is on external flash" in finding.message
    assert "no external flash driver" in finding.message


def devicetree_era(tmp_path):
    """The nRF52840 app built as a plain Zephyr image: no Partition Manager, no MCUboot."""
    build = copy_build(NRF52, tmp_path)
    for name in ("partitions.yml", "regions.yml"):
        (build / name).unlink()
    shutil.rmtree(build / "mcuboot")
    edit(build / "zephyr" / ".config", "CONFIG_PARTITION_MANAGER_ENABLED=y\n", "")
    return build


def test_devicetree_settings_with_storage_partition_is_clean(tmp_path):
    assert findings(devicetree_era(tmp_path), "PMD601") == []


def test_devicetree_settings_without_storage_partition_is_an_error(tmp_path):
    build = devicetree_era(tmp_path)
    dts = build / "zephyr" / "zephyr.dts"
    dts.write_text(re.sub(r"\t+/\* node '[^']*partition@f8000'.*?\};\n", "", dts.read_text(), flags=re.S))
    [finding] = findings(build, "PMD601")
    assert "no `storage_partition`" in finding.message
    assert "storage_partition: partition@" in finding.fixes[0].snippet


# ------------------------------------------------------------------ PMD602


def test_two_sector_settings_is_clean(tmp_path):
    assert findings(copy_build(NRF91, tmp_path), "PMD602") == []


def test_one_sector_nvs_settings_is_an_error(tmp_path):
    build = copy_build(NRF91, tmp_path)

    def shrink(data: dict) -> None:
        data["settings_storage"]["size"] = 0x1000

    edit_partitions(build, shrink)
    [finding] = findings(build, "PMD602")
    assert "holds 1 sector(s) of 0x1000 bytes; NVS needs at least 2" in finding.message


def test_settings_inside_mcuboot_protected_block_is_an_error(tmp_path):
    build = copy_build(NRF91, tmp_path)

    def into_protected_block(data: dict) -> None:
        data["settings_storage"]["address"] = 0xC000
        data["nonsecure_storage"]["address"] = 0xC000

    edit_partitions(build, into_protected_block)
    [finding] = findings(build, "PMD602")
    assert "shares a protection block with MCUboot's FPROTECT range" in finding.message
    assert "locked 0x0-0x10000" in finding.message


# ------------------------------------------------------------------ PMD603


def test_overlay_partition_matching_partitions_yml_is_clean(tmp_path):
    assert findings(copy_build(NRF52, tmp_path), "PMD603") == []


def test_overlay_partition_that_partition_manager_moved_is_a_warning(tmp_path):
    build = copy_build(NRF52, tmp_path)
    edit_partitions(build, lambda data: data["log"].update(address=0xE6000))
    [finding] = findings(build, "PMD603")
    assert finding.effective_severity is Severity.WARNING
    assert "devicetree `log_partition` (0xe8000-0xf8000) is `log` at 0xe6000-0xf6000" in finding.message
    assert str(finding.location) == "logger/boards/nrf52840dk_nrf52840.overlay:7"


def test_board_partitions_that_differ_under_partition_manager_are_not_reported(tmp_path):
    build = copy_build(NRF52, tmp_path)
    edit_partitions(build, lambda data: data["log"].update(address=0xE6000))
    edit(
        build / "zephyr" / "zephyr.dts",
        "defined in logger/boards/nrf52840dk_nrf52840.overlay:7",
        "defined in zephyr/boards/nordic/nrf52840dk/nrf52840dk_nrf52840.dts:150",
    )
    assert findings(build, "PMD603") == []


def test_custom_label_without_origin_is_a_note(tmp_path):
    build = copy_build(NRF52, tmp_path)
    edit_partitions(build, lambda data: data["log"].update(address=0xE6000))
    dts = build / "zephyr" / "zephyr.dts"
    dts.write_text(re.sub(r"\s*/\* (node '[^']*' defined|in) [^*]*\*/", "", dts.read_text()))
    [finding] = findings(build, "PMD603")
    assert finding.effective_severity is Severity.NOTE
    assert "`log_partition`" in finding.message


def test_sdk_files_are_told_apart_from_user_files():
    assert is_sdk_file("zephyr\\dts\\vendor\\nordic\\nrf52840_partition_uf2_sdv7.dtsi")
    assert is_sdk_file("bootloader/mcuboot/boot/zephyr/app.overlay")
    assert is_sdk_file("/opt/ncs/v2.6.1/nrf/boards/arm/thingy91_nrf9160/thingy91_nrf9160_common.dts")
    assert not is_sdk_file("pouch\\examples\\ble_gatt\\boards\\xiao_ble.overlay")
    assert not is_sdk_file("/home/user/app/boards/nrf52840dk_nrf52840.overlay")
