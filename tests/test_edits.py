"""Edits say exactly what a person would type, and a Fix with edits reads like one without."""

from __future__ import annotations

from pathlib import Path

from pmdoctor.model.edits import Action, KconfigEdit, OverlayEdit, PartitionNode, StaticEdit, Target
from pmdoctor.model.findings import Fix

OVERLAY = Target(Path("/app/boards/nrf52840dk_nrf52840.overlay"), "boards/<board>.overlay")
STATIC = Target(Path("/app/pm_static.yml"), "pm_static.yml in the application directory")
CONF = Target(Path("/app/sysbuild/mcuboot.conf"), "sysbuild/mcuboot.conf")


def test_chosen_property_is_set_inside_the_root_and_chosen_blocks():
    edit = OverlayEdit(OVERLAY, Action.SET, "/chosen", "nordic,pm-ext-flash", "&mx25r64")
    assert edit.text == "/ {\n\tchosen {\n\t\tnordic,pm-ext-flash = &mx25r64;\n\t};\n};"


def test_property_removal_and_node_deletion():
    removal = OverlayEdit(OVERLAY, Action.REMOVE, "/chosen", "zephyr,external-flash")
    assert "/delete-property/ zephyr,external-flash;" in removal.text
    assert OverlayEdit(OVERLAY, Action.REMOVE, "&slot1_partition").text == "/delete-node/ &slot1_partition;"


def test_partition_node_goes_into_a_partitions_table_of_the_device():
    node = PartitionNode("storage_partition", 0x1000, 0x4000, label="storage")
    text = OverlayEdit(OVERLAY, Action.ADD, "&mx25r64", partition=node).text
    assert text.startswith("&mx25r64 {\n\tpartitions {\n")
    assert 'compatible = "fixed-partitions";' in text
    assert "\t\tstorage_partition: partition@1000 {\n" in text
    assert "reg = <0x1000 0x4000>;" in text


def test_static_edits_write_addresses_and_sizes_in_hex():
    assert StaticEdit(STATIC, Action.SET, "mcuboot_secondary", "size", 0xF0000).text == (
        "mcuboot_secondary:\n  size: 0xf0000"
    )
    added = StaticEdit(
        STATIC,
        Action.ADD,
        "littlefs_storage",
        entries=(("address", 0), ("size", 0x10000), ("region", "external_flash"), ("span", ("a", "b"))),
    )
    assert added.text == (
        "littlefs_storage:\n  address: 0x0\n  size: 0x10000\n  region: external_flash\n  span: [a, b]"
    )


def test_kconfig_edit_text():
    assert KconfigEdit(CONF, Action.SET, "CONFIG_NORDIC_QSPI_NOR", "y", "mcuboot").text == (
        "CONFIG_NORDIC_QSPI_NOR=y"
    )
    assert "CONFIG_X" in KconfigEdit(CONF, Action.REMOVE, "CONFIG_X").text


def test_fix_with_edits_names_the_first_file_and_its_text():
    first = KconfigEdit(CONF, Action.SET, "CONFIG_NORDIC_QSPI_NOR", "y", "mcuboot")
    second = KconfigEdit(CONF, Action.SET, "CONFIG_SPI_NOR", "n", "mcuboot")
    elsewhere = OverlayEdit(OVERLAY, Action.SET, "/chosen", "nordic,pm-ext-flash", "&mx25r64")
    fix = Fix("enable the QSPI driver in MCUboot", edits=[first, second, elsewhere])
    assert fix.file == CONF.file
    assert fix.snippet == "CONFIG_NORDIC_QSPI_NOR=y\nCONFIG_SPI_NOR=n"
    assert isinstance(fix.edits, tuple) and not fix.mechanical
    assert Fix("words only").mechanical is False


def test_edits_are_values():
    a = StaticEdit(STATIC, Action.SET, "mcuboot_secondary", "size", 0xF0000)
    b = StaticEdit(STATIC, Action.SET, "mcuboot_secondary", "size", 0xF0000)
    assert a == b and len({a, b}) == 1
