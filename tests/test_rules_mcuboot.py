"""MCUboot rules (PMD402-PMD407) on a sysbuild nRF52840 build with its secondary slot on QSPI."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import BUILDS, CORPUS, corpus_or_skip
from helpers import copy_tree, edit
from helpers import rule_findings as findings
from pmdoctor.model.findings import Severity

BASE = BUILDS / "mcuboot" / "nrf52840_sysbuild_ext"
MINE = ("PMD402", "PMD403", "PMD404", "PMD405", "PMD406", "PMD407")


@pytest.fixture
def build(tmp_path: Path) -> Path:
    return copy_tree(BASE, tmp_path / "build")


def mcuboot_config(build: Path) -> Path:
    return build / "mcuboot" / "zephyr" / ".config"


@pytest.mark.parametrize("rule_id", MINE)
def test_healthy_fixture_is_clean(rule_id: str) -> None:
    assert findings(BASE, rule_id) == []


# ------------------------------------------------------------------ PMD402


def test_pmd402_external_secondary_needs_more_sectors(build: Path) -> None:
    edit(mcuboot_config(build), "CONFIG_BOOT_MAX_IMG_SECTORS=256", "CONFIG_BOOT_MAX_IMG_SECTORS=128")
    (finding,) = findings(build, "PMD402")
    assert "CONFIG_BOOT_MAX_IMG_SECTORS=128" in finding.message and "236 sectors" in finding.message
    assert finding.fixes[0].snippet == "CONFIG_BOOT_MAX_IMG_SECTORS=256"
    assert finding.fixes[0].file.as_posix().endswith("sysbuild/mcuboot.conf")


def test_pmd402_spi_nor_page_layout_counts_64k_sectors(build: Path) -> None:
    # With SPI NOR's 64 KB default page layout the secondary has only 15 sectors: 128 is plenty.
    edit(mcuboot_config(build), "CONFIG_BOOT_MAX_IMG_SECTORS=256", "CONFIG_BOOT_MAX_IMG_SECTORS=16")
    edit(mcuboot_config(build), "CONFIG_NORDIC_QSPI_NOR=y", "CONFIG_SPI_NOR=y")
    (finding,) = findings(build, "PMD402")  # still the 4 KB internal primary: 236 sectors
    assert "`mcuboot_primary`" in finding.message
    assert any("mcuboot_secondary: 0xec000 / 0x10000" in e for e in finding.evidence)


def test_pmd402_auto_is_skipped(build: Path) -> None:
    edit(mcuboot_config(build), "CONFIG_BOOT_MAX_IMG_SECTORS=256", "CONFIG_BOOT_MAX_IMG_SECTORS=128")
    edit(
        mcuboot_config(build),
        "# CONFIG_BOOT_MAX_IMG_SECTORS_AUTO is not set",
        "CONFIG_BOOT_MAX_IMG_SECTORS_AUTO=y",
    )
    assert [f.severity for f in findings(build, "PMD402")] in ([], [Severity.NOTE])


def test_pmd402_corpus_exfat_sector_count() -> None:
    corpus_or_skip()
    (finding,) = findings(CORPUS / "builds" / "FinnWBiggs__MCUBoot_ExFat", "PMD402")
    assert "CONFIG_BOOT_MAX_IMG_SECTORS=128" in finding.message and "244 sectors" in finding.message


# ------------------------------------------------------------------ PMD403


def use_swap_scratch(build: Path) -> None:
    """What sysbuild writes for SB_CONFIG_MCUBOOT_MODE_SWAP_SCRATCH=y."""
    edit(
        build / "zephyr" / ".config",
        "SB_CONFIG_MCUBOOT_MODE_SWAP_USING_MOVE=y\n# SB_CONFIG_MCUBOOT_MODE_SWAP_SCRATCH is not set",
        "# SB_CONFIG_MCUBOOT_MODE_SWAP_USING_MOVE is not set\nSB_CONFIG_MCUBOOT_MODE_SWAP_SCRATCH=y",
    )
    edit(
        mcuboot_config(build),
        "CONFIG_BOOT_SWAP_USING_MOVE=y\n# CONFIG_BOOT_SWAP_USING_SCRATCH is not set",
        "# CONFIG_BOOT_SWAP_USING_MOVE is not set\nCONFIG_BOOT_SWAP_USING_SCRATCH=y",
    )


def test_pmd403_scratch_mode_without_scratch_partition(build: Path) -> None:
    use_swap_scratch(build)
    (finding,) = findings(build, "PMD403")
    assert "mcuboot_scratch" in finding.message
    assert finding.location.line is not None  # the SB_CONFIG_MCUBOOT_MODE_SWAP_SCRATCH line
    assert any(f.snippet == "SB_CONFIG_MCUBOOT_MODE_SWAP_USING_MOVE=y" for f in finding.fixes)


def test_pmd403_scratch_on_external_flash(build: Path) -> None:
    use_swap_scratch(build)
    edit(
        build / "partitions.yml",
        "settings_storage:",
        "mcuboot_scratch:\n  address: 0xec000\n  region: external_flash\n  size: 0x1e000\nsettings_storage:",
    )
    (finding,) = findings(build, "PMD403")
    assert "external flash" in finding.message


# ------------------------------------------------------------------ PMD404


def test_pmd404_mcuboot_built_without_partition_manager(build: Path) -> None:
    edit(
        mcuboot_config(build),
        "CONFIG_PARTITION_MANAGER_ENABLED=y",
        "# CONFIG_PARTITION_MANAGER_ENABLED is not set",
    )
    (finding,) = findings(build, "PMD404")
    assert finding.severity is None or finding.severity is Severity.ERROR
    assert "CONFIG_PARTITION_MANAGER_ENABLED" in finding.message
    # MCUboot's devicetree slots (board defaults) disagree with partitions.yml
    assert any("slot1_partition" in e and "mcuboot_secondary" in e for e in finding.evidence)
    assert "sysbuild/mcuboot.conf" in finding.fixes[0].description


# ------------------------------------------------------------------ PMD405


def test_pmd405_pad_differs_from_signing_header(build: Path) -> None:
    edit(build / "zephyr" / ".config", "SB_CONFIG_PM_MCUBOOT_PAD=0x200", "SB_CONFIG_PM_MCUBOOT_PAD=0x800")
    (finding,) = findings(build, "PMD405")
    assert "0x200" in finding.message and "0x800" in finding.message


def test_pmd405_vector_table_misaligned(build: Path) -> None:
    edit(build / "zephyr" / ".config", "SB_CONFIG_PM_MCUBOOT_PAD=0x200", "SB_CONFIG_PM_MCUBOOT_PAD=0x20")
    edit(build / "partitions.yml", "  end_address: 0xc200\n", "  end_address: 0xc020\n")
    edit(
        build / "partitions.yml",
        "  region: flash_primary\n  size: 0x200\n",
        "  region: flash_primary\n  size: 0x20\n",
    )
    found = findings(build, "PMD405")
    assert any("0xc020" in f.message and "0x200 boundary" in f.message for f in found)


# ------------------------------------------------------------------ PMD406


def test_pmd406_signed_image_fits(build: Path) -> None:
    (build / "blinky" / "zephyr" / "zephyr.signed.bin").write_bytes(b"\xff" * 0x80000)
    assert findings(build, "PMD406") == []


def test_pmd406_signed_image_leaves_no_room_for_swap_move(build: Path) -> None:
    # 0xeb000 < slot 0xec000, but swap-move needs the trailer sector and one free sector.
    (build / "blinky" / "zephyr" / "zephyr.signed.bin").write_bytes(b"\xff" * 0xEB000)
    (finding,) = findings(build, "PMD406")
    assert "0xeb000" in finding.message and "mcuboot_primary" in finding.message
    assert any("estimate" in e for e in finding.evidence)


# ------------------------------------------------------------------ PMD407


def test_pmd407_app_and_mcuboot_disagree(build: Path) -> None:
    edit(mcuboot_config(build), "CONFIG_UPDATEABLE_IMAGE_NUMBER=1", "CONFIG_UPDATEABLE_IMAGE_NUMBER=2")
    found = findings(build, "PMD407")
    messages = " | ".join(f.message for f in found)
    assert "CONFIG_UPDATEABLE_IMAGE_NUMBER=1" in messages  # the app's value
    assert "mcuboot_primary_1" in messages  # and image 1 has no slots
    assert any(f.fixes[0].snippet == "SB_CONFIG_MCUBOOT_UPDATEABLE_IMAGES=2" for f in found)


def test_pmd407_additional_images_for_mcuboot_itself(build: Path) -> None:
    # NSIB + MCUboot self-update: MCUboot counts one image more than the app.
    edit(mcuboot_config(build), "CONFIG_UPDATEABLE_IMAGE_NUMBER=1", "CONFIG_UPDATEABLE_IMAGE_NUMBER=2")
    edit(
        build / "zephyr" / ".config",
        "SB_CONFIG_MCUBOOT_ADDITIONAL_UPDATEABLE_IMAGES=0",
        "SB_CONFIG_MCUBOOT_ADDITIONAL_UPDATEABLE_IMAGES=1",
    )
    assert findings(build, "PMD407") == []


# ------------------------------------------------------------------ corpus


@pytest.mark.parametrize("rule_id", MINE)
def test_no_errors_on_healthy_corpus_builds(rule_id: str) -> None:
    corpus = corpus_or_skip()
    for line in (corpus / "INDEX.tsv").read_text().splitlines()[1:]:
        columns = line.split("\t")
        if columns[8] != "-":
            continue
        for finding in findings(corpus / "builds" / columns[0], rule_id):
            assert finding.severity is not Severity.ERROR, (columns[0], finding.message)
