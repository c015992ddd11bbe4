"""PMD408 fprotect-misaligned and PMD409 nrf54l-fprotect-limit on hand-written builds."""

from __future__ import annotations

from typing import Callable

from helpers import edit, edit_partitions
from helpers import ranked_findings as findings
from helpers import soc_build as copy_build
from pmdoctor.api import analyze
from pmdoctor.model.findings import Severity


def drop_nrf91_padding(data: dict) -> None:
    """What a hand-made static file often does: MCUboot's slot right after MCUboot."""
    del data["EMPTY_0"]
    for name in ("mcuboot_pad", "mcuboot_primary", "tfm_secure"):
        data[name]["address"] = 0xC000


# ------------------------------------------------------------------ PMD408


def test_fprotect_aligned_nrf91_layout_is_clean(tmp_path):
    assert findings(copy_build("nrf9160_tfm_mcuboot", tmp_path), "PMD408") == []


def test_fprotect_range_off_the_32k_block_is_an_error(tmp_path):
    build = copy_build("nrf9160_tfm_mcuboot", tmp_path)
    edit_partitions(build, drop_nrf91_padding)
    [finding] = findings(build, "PMD408")
    assert finding.effective_severity is Severity.ERROR
    assert "0x0-0xc000" in finding.message and "0x8000-byte FPROTECT block" in finding.message
    assert any("CONFIG_FPROTECT_BLOCK_SIZE=0x8000 in mcuboot" in line for line in finding.evidence)
    assert "EMPTY_0:\n  address: 0xc000\n  size: 0x4000" in finding.fixes[0].snippet
    assert finding.fixes[-1].snippet == "CONFIG_FPROTECT=n"
    assert str(finding.fixes[-1].file).endswith("child_image/mcuboot.conf")


def test_fprotect_off_in_mcuboot_is_not_reported(tmp_path):
    build = copy_build("nrf9160_tfm_mcuboot", tmp_path)
    edit_partitions(build, drop_nrf91_padding)
    edit(build / "mcuboot" / "zephyr" / ".config", "CONFIG_FPROTECT=y", "# CONFIG_FPROTECT is not set")
    assert findings(build, "PMD408") == []


def test_fprotect_with_nsib_protects_from_s0(tmp_path):
    build = copy_build("nrf9160_tfm_mcuboot", tmp_path)

    def add_nsib(data: dict) -> None:
        # b0 0x0-0x8000, s0 0x8000-0xc000 (MCUboot inside), s1 0xc000-0x10000: s0 to primary is 0x8000.
        data["b0"] = {"address": 0x0, "size": 0x8000, "region": "flash_primary"}
        data["s0"] = {"address": 0x8000, "size": 0x4000, "region": "flash_primary"}
        data["s1"] = {"address": 0xC000, "size": 0x4000, "region": "flash_primary"}
        data["mcuboot"].update(address=0x8200, size=0x3E00)
        del data["EMPTY_0"]

    edit_partitions(build, add_nsib)
    assert findings(build, "PMD408") == []


# ------------------------------------------------------------------ PMD409


def set_nrf54l_mcuboot(size: int) -> Callable[[dict], None]:
    def change(data: dict) -> None:
        data["mcuboot"]["size"] = size
        primary_size = 0xC2000 - size
        data["mcuboot_pad"]["address"] = size
        data["mcuboot_primary"].update(address=size, size=primary_size)
        data["mcuboot_primary_app"].update(address=size + 0x800, size=primary_size - 0x800)
        data["app"].update(address=size + 0x800, size=primary_size - 0x800)
        data["mcuboot_secondary"]["size"] = primary_size

    return change


def test_nrf54l_mcuboot_within_one_rramc_region_is_clean(tmp_path):
    assert findings(copy_build("nrf54l15_mcuboot_sysbuild", tmp_path), "PMD409") == []


def test_nrf54l_64k_mcuboot_exceeds_even_combined_regions(tmp_path):
    build = copy_build("nrf54l15_mcuboot_sysbuild", tmp_path)
    edit_partitions(build, set_nrf54l_mcuboot(0x10000))
    [finding] = findings(build, "PMD409")
    assert finding.effective_severity is Severity.ERROR
    assert "64 KB is more than the 62 KB" in finding.message
    assert "CONFIG_PM_PARTITION_SIZE_MCUBOOT=0xf800" in finding.fixes[0].snippet


def test_nrf54l_62k_mcuboot_needs_combined_regions(tmp_path):
    build = copy_build("nrf54l15_mcuboot_sysbuild", tmp_path)
    edit_partitions(build, set_nrf54l_mcuboot(0xF800))
    [finding] = findings(build, "PMD409")
    assert "more than the 31 KB one RRAMC region" in finding.message
    assert finding.fixes[0].snippet == "SB_CONFIG_MCUBOOT_FPROTECT_ALLOW_COMBINED_REGIONS=y"
    assert finding.fixes[0].file.name == "sysbuild.conf"


def test_nrf54l_62k_mcuboot_with_combined_regions_is_clean(tmp_path):
    build = copy_build("nrf54l15_mcuboot_sysbuild", tmp_path)
    edit_partitions(build, set_nrf54l_mcuboot(0xF800))
    with (build / "zephyr" / ".config").open("a") as config:
        config.write("SB_CONFIG_MCUBOOT_FPROTECT_ALLOW_COMBINED_REGIONS=y\n")
    assert findings(build, "PMD409") == []


# ------------------------------------------------------------------ corpus

MY_RULES = ("PMD408", "PMD409", "PMD501", "PMD502", "PMD503", "PMD504", "PMD601", "PMD602", "PMD603")


def test_no_error_on_healthy_corpus_builds():
    import csv

    from conftest import corpus_or_skip

    corpus = corpus_or_skip()
    with (corpus / "INDEX.tsv").open() as index:
        healthy = [row["slug"] for row in csv.DictReader(index, delimiter="\t") if row["auto_checks"] == "-"]
    errors = [
        f"{slug}: {finding.rule} {finding.message}"
        for slug in healthy
        if (corpus / "builds" / slug).is_dir()
        for finding in analyze(corpus / "builds" / slug, MY_RULES).findings
        if finding.effective_severity is Severity.ERROR
    ]
    assert errors == []
