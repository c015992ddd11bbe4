"""Static-configuration rules (PMD201-PMD204) on a child-image nRF52840 app with pm_static.yml."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from conftest import BUILDS, corpus_or_skip
from helpers import copy_tree, edit
from helpers import rule_findings as findings
from pmdoctor.model.findings import Severity

BASE = BUILDS / "static" / "nrf52840_child" / "app"
THINGY53_ENTRIES = BUILDS / "static" / "thingy53_entries.yml"


@pytest.fixture
def app(tmp_path: Path) -> Path:
    """A private copy of the application (sources + build/) to edit."""
    return copy_tree(BASE, tmp_path / "app")


def append(path: Path, text: str) -> None:
    path.write_text(path.read_text() + text)


# ------------------------------------------------------------------ PMD201


def test_pmd201_clean_on_own_layout(app: Path) -> None:
    assert findings(app / "build", "PMD201") == []


def test_pmd201_thingy53_entries_on_nrf52840(app: Path) -> None:
    # The motivating case: nRF5340 network-core update entries copied onto an nRF52840.
    entries = THINGY53_ENTRIES.read_text()
    first_line = len((app / "pm_static.yml").read_text().splitlines()) + 1
    append(app / "pm_static.yml", entries)
    append(app / "build" / "partitions.yml", entries)  # Partition Manager copies them verbatim
    found = findings(app / "build", "PMD201")
    assert len(found) == 1, [f.message for f in found]  # one finding, on the user's file
    finding = found[0]
    assert finding.severity is Severity.ERROR
    assert finding.location.file.name == "pm_static.yml"
    assert finding.location.line == first_line
    assert "mcuboot_primary_1" in finding.message and "ram_flash" in finding.message
    assert "nRF52840" in finding.message
    assert "mcuboot_secondary_1 :" in finding.message and "pcd_sram :" in finding.message
    assert any(
        fix.snippet and "cp build/partitions.yml pm_static.yml" in fix.snippet for fix in finding.fixes
    )


def test_pmd201_pad_of_another_family_is_a_warning(app: Path) -> None:
    edit(app / "pm_static.yml", "  size: 0x200\n", "  size: 0x800\n")
    found = findings(app / "build", "PMD201")
    assert [f.severity for f in found] == [Severity.WARNING]
    assert "nRF54L" in found[0].message


# ------------------------------------------------------------------ PMD202


def test_pmd202_clean_when_kconfig_matches(app: Path) -> None:
    append(app / "child_image" / "mcuboot.conf", "CONFIG_PM_PARTITION_SIZE_MCUBOOT=0xc000\n")
    assert findings(app / "build", "PMD202") == []


def test_pmd202_kconfig_size_ignored_by_static_file(app: Path) -> None:
    append(app / "child_image" / "mcuboot.conf", "CONFIG_PM_PARTITION_SIZE_MCUBOOT=0x10000\n")
    edit(
        app / "build" / "mcuboot" / "zephyr" / ".config",
        "CONFIG_PM_PARTITION_SIZE_MCUBOOT=0xc000",
        "CONFIG_PM_PARTITION_SIZE_MCUBOOT=0x10000",
    )
    (finding,) = findings(app / "build", "PMD202")
    assert finding.location.file.name == "mcuboot.conf"
    assert "0x10000" in finding.message and "0xc000" in finding.message
    assert finding.image == "mcuboot"


def test_pmd202_static_file_edited_after_build(app: Path) -> None:
    static = app / "pm_static.yml"
    edit(
        static,
        "  end_address: 0x100000\n  region: flash_primary\n  size: 0x8000",
        "  end_address: 0x100000\n  region: flash_primary\n  size: 0x6000",
    )
    (finding,) = findings(app / "build", "PMD202")
    assert "does not match this build" in finding.message
    assert any("settings_storage" in e for e in finding.evidence)
    assert any("west build -p" in fix.description for fix in finding.fixes)


def test_pmd202_judges_content_not_modification_times(app: Path) -> None:
    """Copied and checked-out files have arbitrary times: only what the files say counts."""
    static = app / "pm_static.yml"
    built = (app / "build" / "partitions.yml").stat().st_mtime
    os.utime(static, (built + 60, built + 60))  # newer, same content: nothing to say
    assert findings(app / "build", "PMD202") == []
    edit(
        static,
        "  end_address: 0x100000\n  region: flash_primary\n  size: 0x8000",
        "  end_address: 0x100000\n  region: flash_primary\n  size: 0x6000",
    )
    os.utime(static, (built + 60, built + 60))  # a copy's time says nothing about when it was edited
    (finding,) = findings(app / "build", "PMD202")
    assert "does not match this build" in finding.message
    assert not any("newer" in text or "after" in text for text in [finding.message, *finding.evidence])


# ------------------------------------------------------------------ PMD203


def test_pmd203_clean_with_static_file(app: Path) -> None:
    assert findings(app / "build", "PMD203") == []


def test_pmd203_bootloader_without_static_layout(app: Path) -> None:
    (app / "pm_static.yml").unlink()
    (finding,) = findings(app / "build", "PMD203")
    assert "CONFIG_BOOTLOADER_MCUBOOT" in finding.message
    assert finding.fixes[0].file == app / "pm_static.yml"


def test_pmd203_names_the_application_directory_as_a_file_reference(app: Path) -> None:
    """Reports show the directory relative to where they are read, not this machine's absolute path."""
    (app / "pm_static.yml").unlink()
    (finding,) = findings(app / "build", "PMD203")
    assert Path(app) in finding.message.parts
    assert str(app) not in str(finding.message)


def test_pmd203_board_static_file_counts(app: Path) -> None:
    # Boards such as the Thingy:91 X hand their own file to Partition Manager.
    (app / "pm_static.yml").unlink()
    append(
        app / "build" / "CMakeCache.txt", "PM_STATIC_YML_FILE:INTERNAL=/ncs/nrf/boards/x/x_pm_static.yml\n"
    )
    assert findings(app / "build", "PMD203") == []


# ------------------------------------------------------------------ PMD204


def test_pmd204_clean_with_one_static_file(app: Path) -> None:
    assert findings(app / "build", "PMD204") == []


def test_pmd204_board_file_shadows_pm_static(app: Path) -> None:
    shutil.copy(app / "pm_static.yml", app / "pm_static_nrf52840dk_nrf52840.yml")
    (finding,) = findings(app / "build", "PMD204")
    assert finding.location.file == app / "pm_static.yml"
    assert "shadowed by pm_static_nrf52840dk_nrf52840.yml" in finding.message


def test_pmd204_yaml_extension_is_not_read(app: Path) -> None:
    (app / "pm_static.yml").rename(app / "pm_static.yaml")
    (finding,) = findings(app / "build", "PMD204")
    assert ".yaml" in finding.message
    assert "pm_static.yml" in finding.fixes[0].description


def test_pmd204_static_file_in_child_image_folder(app: Path) -> None:
    shutil.copy(app / "pm_static.yml", app / "child_image" / "pm_static.yml")
    (finding,) = findings(app / "build", "PMD204")
    assert "child_image/" in finding.message


# ------------------------------------------------------------------ corpus


@pytest.mark.parametrize("rule_id", ["PMD201", "PMD202", "PMD203", "PMD204"])
def test_no_errors_on_healthy_corpus_builds(rule_id: str) -> None:
    corpus = corpus_or_skip()
    for line in (corpus / "INDEX.tsv").read_text().splitlines()[1:]:
        columns = line.split("\t")
        if columns[8] != "-":
            continue
        for finding in findings(corpus / "builds" / columns[0], rule_id):
            assert finding.severity is not Severity.ERROR, (columns[0], finding.message)
