"""One root cause, one finding: where two rules could report the same cause, the specific one does.

Also the fix targets that rules take from fixes.py (the user's era and files).
"""

from __future__ import annotations

from pathlib import Path

import yaml

from conftest import BUILDS, ROOT
from helpers import copy_tree, edit, rule_findings

SPINOR = BUILDS / "extflash" / "sysbuild_spinor"
PINNACLE = ROOT / "examples" / "pinnacle100-qspi-secondary"  # the motivating case
MCUBOOT_EXT = BUILDS / "mcuboot" / "nrf52840_sysbuild_ext"


def _settings_on_external_flash(build: Path) -> None:
    """Move the app's settings_storage to the SPI NOR chip and give the app NVS settings."""
    path = build / "partitions.yml"
    layout = yaml.safe_load(path.read_text())
    layout["settings_storage"].update(address=0xF2000, end_address=0xF4000, region="external_flash")
    layout["settings_storage"].pop("placement", None)
    layout["external_flash"].update(address=0xF4000, size=0xF0C000)
    path.write_text(yaml.safe_dump(layout))
    config = build / "sensor_node" / "zephyr" / ".config"
    config.write_text(config.read_text() + "CONFIG_SETTINGS=y\nCONFIG_SETTINGS_NVS=y\nCONFIG_NVS=y\n")


def test_external_storage_reachable_is_clean(tmp_path: Path) -> None:
    build = copy_tree(SPINOR, tmp_path / "app") / "build"
    _settings_on_external_flash(build)
    assert rule_findings(build, "PMD302", "PMD601") == []


def test_external_storage_without_driver_is_reported_once_by_the_external_flash_rules(tmp_path: Path) -> None:
    build = copy_tree(SPINOR, tmp_path / "app") / "build"
    _settings_on_external_flash(build)
    edit(build / "sensor_node" / "zephyr" / ".config", "CONFIG_SPI_NOR=y\n", "# CONFIG_SPI_NOR is not set\n")
    edit(
        build / "sensor_node" / "zephyr" / ".config",
        "CONFIG_PM_EXTERNAL_FLASH_HAS_DRIVER=y",
        "# CONFIG_PM_EXTERNAL_FLASH_HAS_DRIVER is not set",
    )
    # The build sets the driver-check override, so the partitions stay in the flash map and the
    # cause is the missing driver behind the override (a link error): PMD308, not PMD601 again.
    found = rule_findings(build, "PMD302", "PMD308", "PMD601")
    assert [f.rule for f in found] == ["PMD308"]
    assert found[0].image == "sensor_node" and "CONFIG_SPI_NOR is not set" in found[0].message


def test_max_img_sectors_defers_to_mcuboot_without_partition_manager(tmp_path: Path) -> None:
    build = copy_tree(MCUBOOT_EXT, tmp_path / "build")
    config = build / "mcuboot" / "zephyr" / ".config"
    edit(config, "CONFIG_BOOT_MAX_IMG_SECTORS=256", "CONFIG_BOOT_MAX_IMG_SECTORS=128")
    assert [f.rule for f in rule_findings(build, "PMD402", "PMD404")] == ["PMD402"]
    edit(config, "CONFIG_PARTITION_MANAGER_ENABLED=y", "# CONFIG_PARTITION_MANAGER_ENABLED is not set")
    # MCUboot no longer uses partitions.yml: counting its slots would blame the wrong setting.
    assert [f.rule for f in rule_findings(build, "PMD402", "PMD404")] == ["PMD404"]


def test_child_image_pm_fix_points_at_child_image_conf(tmp_path: Path) -> None:
    source = copy_tree(PINNACLE, tmp_path / "app")
    config = source / "build" / "mcuboot" / "zephyr" / ".config"
    edit(config, "CONFIG_PARTITION_MANAGER_ENABLED=y", "# CONFIG_PARTITION_MANAGER_ENABLED is not set")
    (finding,) = rule_findings(source / "build", "PMD404")
    assert finding.fixes[0].file == source / "child_image" / "mcuboot.conf"


def test_child_image_image_number_fix_names_both_images(tmp_path: Path) -> None:
    source = copy_tree(PINNACLE, tmp_path / "app")
    config = source / "build" / "mcuboot" / "zephyr" / ".config"
    edit(config, "CONFIG_UPDATEABLE_IMAGE_NUMBER=1", "CONFIG_UPDATEABLE_IMAGE_NUMBER=2")
    found = rule_findings(source / "build", "PMD407")
    mismatch = next(f for f in found if "disagree" in f.message)
    assert [(fix.file, fix.snippet) for fix in mismatch.fixes] == [
        (source / "prj.conf", "CONFIG_UPDATEABLE_IMAGE_NUMBER=2"),
        (source / "child_image" / "mcuboot.conf", "CONFIG_UPDATEABLE_IMAGE_NUMBER=2"),
    ]


def test_missing_image_pair_fix_names_the_static_file(tmp_path: Path) -> None:
    build = copy_tree(MCUBOOT_EXT, tmp_path / "build")
    edit(
        build / "mcuboot" / "zephyr" / ".config",
        "CONFIG_UPDATEABLE_IMAGE_NUMBER=1",
        "CONFIG_UPDATEABLE_IMAGE_NUMBER=2",
    )
    missing = next(f for f in rule_findings(build, "PMD407") if "has no" in f.message)
    assert missing.fixes[0].file is not None and missing.fixes[0].file.name == "pm_static.yml"
