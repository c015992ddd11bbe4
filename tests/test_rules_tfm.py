"""PMD503 tfm-alignment and PMD504 nrf91-modem-sram."""

from __future__ import annotations

from helpers import edit, edit_partitions
from helpers import ranked_findings as findings
from helpers import soc_build as copy_build
from pmdoctor.model.findings import Severity

BASE = "nrf9160_tfm_mcuboot"


def unaligned_tfm(data: dict) -> None:
    """TF-M sized 0x8000 without subtracting the 0x200 MCUboot header."""
    data["tfm"]["size"] = 0x8000
    data["tfm_secure"]["size"] = 0x8200
    data["tfm_nonsecure"].update(address=0x18200, size=0x67E00)
    data["app"].update(address=0x18200, size=0x67E00)


# ------------------------------------------------------------------ PMD503


def test_tfm_layout_on_region_boundaries_is_clean(tmp_path):
    assert findings(copy_build(BASE, tmp_path), "PMD503") == []


def test_nonsecure_start_off_the_spu_region_is_an_error(tmp_path):
    build = copy_build(BASE, tmp_path)
    edit_partitions(build, unaligned_tfm)
    [finding] = findings(build, "PMD503")
    assert finding.effective_severity is Severity.ERROR
    assert "starts at 0x18200 (`tfm_nonsecure`)" in finding.message
    assert "0x8000-byte TrustZone region" in finding.message
    assert finding.fixes[0].snippet == "CONFIG_PM_PARTITION_SIZE_TFM=0xfe00"
    assert finding.fixes[0].file.name == "prj.conf"


def test_nonsecure_start_is_a_note_on_releases_without_the_check(tmp_path):
    build = copy_build(BASE, tmp_path)
    edit_partitions(build, unaligned_tfm)
    config = build / "zephyr" / ".config"
    edit(config, "CONFIG_NRF_SPU_FLASH_REGION_ALIGNMENT=0x8000\n", "")
    edit(config, "CONFIG_NRF_TRUSTZONE_FLASH_REGION_SIZE=0x8000\n", "")
    [finding] = findings(build, "PMD503")
    assert finding.effective_severity is Severity.NOTE


def test_nonsecure_ram_off_the_ram_region_is_an_error(tmp_path):
    build = copy_build(BASE, tmp_path)

    def shift(data: dict) -> None:
        data["tfm_sram"]["size"] = 0x9000
        data["sram_secure"]["size"] = 0x9000
        data["sram_nonsecure"].update(address=0x20009000, size=0x37000)

    edit_partitions(build, shift)
    [finding] = findings(build, "PMD503")
    assert "non-secure RAM starts at 0x20009000" in finding.message
    assert "0x2000-byte" in finding.message


# ------------------------------------------------------------------ PMD504

STATIC_RAM = """\
tfm_sram:
  address: 0x20000000
  size: 0x8000
  region: sram_primary
nrf_modem_lib_ctrl:
  address: 0x20008000
  size: 0x4e8
  region: sram_primary
nrf_modem_lib_tx:
  address: 0x200084e8
  size: 0x2080
  region: sram_primary
nrf_modem_lib_rx:
  address: 0x2000a568
  size: 0x2000
  region: sram_primary
nrf_modem_lib_sram:
  address: 0x20008000
  size: 0x4568
  region: sram_primary
  span: [nrf_modem_lib_ctrl, nrf_modem_lib_tx, nrf_modem_lib_rx]
"""


def with_static(tmp_path, text: str):
    """An application directory holding the build and a pm_static.yml with RAM entries."""
    app = tmp_path / "tracker"
    app.mkdir()
    (app / "prj.conf").write_text("CONFIG_NRF_MODEM_LIB=y\n")
    (app / "pm_static.yml").write_text(text)
    build = copy_build(BASE, app)
    return build, app / "pm_static.yml"


def test_static_ram_matching_the_modem_library_is_clean(tmp_path):
    build, _ = with_static(tmp_path, STATIC_RAM)
    assert findings(build, "PMD504") == []


def test_spm_era_static_ram_leaves_gaps(tmp_path):
    # NCS 1.x sized the TX buffer 0x2000; newer releases want 0x2080 and the span is gone.
    old = STATIC_RAM.replace("size: 0x2080", "size: 0x2000").split("nrf_modem_lib_sram:")[0]
    build, static = with_static(tmp_path, old)
    [finding] = findings(build, "PMD504")
    assert finding.effective_severity is Severity.ERROR
    assert finding.location.file == static
    assert "no `nrf_modem_lib_sram`" in finding.message
    assert "2 free gaps in sram_primary" in finding.message
    assert "CONFIG_NRF_MODEM_LIB_SHMEM_TX_SIZE is 0x2080" in finding.message


def test_modem_checks_skip_non_nrf91(tmp_path):
    build, _ = with_static(tmp_path, STATIC_RAM.split("nrf_modem_lib_sram:")[0])
    for config in (build / "zephyr" / ".config", build / "mcuboot" / "zephyr" / ".config"):
        edit(config, 'CONFIG_SOC="nRF9160_SICA"', 'CONFIG_SOC="nRF5340_CPUAPP_QKAA"')
    assert findings(build, "PMD504") == []
