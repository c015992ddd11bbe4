"""Board and SoC from every signal an engineer would use, each with its evidence and confidence.

Forum attachments rarely carry ``CONFIG_SOC``; they carry an ``#include`` of
the SoC's ``.dtsi``, a ``CONFIG_SOC_…=y`` symbol, a compatible, a flash
controller, a board-named file, a network-core layout. Each is a signal;
the most confident one wins, and signals that disagree are a note.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

from conftest import BUILDS
from pmdoctor.api import load_build, triage_build
from pmdoctor.cli import run
from pmdoctor.model import Confidence


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_soc_from_an_included_soc_dtsi(tmp_path: Path) -> None:
    write(
        tmp_path,
        "custom_board.dts",
        '/dts-v1/;\n#include <nordic/nrf52840_qiaa.dtsi>\n/ {\n\tmodel = "x";\n};\n',
    )
    build = triage_build([tmp_path])
    assert build.soc == "nrf52840"
    fact = build.inferred["soc"]
    assert "#include <nordic/nrf52840_qiaa.dtsi>" in fact.evidence
    assert fact.confidence is Confidence.HIGH


def test_soc_from_a_soc_symbol_in_a_fragment(tmp_path: Path) -> None:
    write(tmp_path, "prj.conf", "CONFIG_SOC_NRF5340_CPUAPP_QKAA=y\nCONFIG_BOOTLOADER_MCUBOOT=y\n")
    build = triage_build([tmp_path])
    assert build.soc == "nrf5340"
    assert build.inferred["soc"].evidence == "CONFIG_SOC_NRF5340_CPUAPP_QKAA in prj.conf"
    assert any(note.startswith("SoC nrf5340: inferred from CONFIG_SOC_NRF5340") for note in build.notes)


def test_soc_from_a_soc_compatible(tmp_path: Path) -> None:
    write(
        tmp_path,
        "my_board.dts",
        '/ {\n\tsoc {\n\t\tcompatible = "nordic,nrf52833-qiaa", "nordic,nrf52833", "simple-bus";\n\t};\n};\n',
    )
    build = triage_build([tmp_path])
    assert build.soc == "nrf52833"
    assert build.inferred["soc"].confidence is Confidence.MEDIUM


def test_soc_from_a_flash_controller_and_its_flash_size(tmp_path: Path) -> None:
    write(
        tmp_path,
        "board.overlay",
        "/ {\n\tsoc {\n\t\tflash-controller@4001e000 {\n"
        '\t\t\tcompatible = "nordic,nrf52-flash-controller";\n'
        "\t\t\t#address-cells = <1>;\n\t\t\t#size-cells = <1>;\n"
        "\t\t\tflash0: flash@0 {\n\t\t\t\treg = <0x0 0x100000>;\n\t\t\t};\n\t\t};\n\t};\n};\n",
    )
    build = triage_build([tmp_path])
    assert build.soc == "nrf52840"
    fact = build.inferred["soc"]
    assert fact.confidence is Confidence.LOW
    assert "nordic,nrf52-flash-controller with 1024 KB of flash" in fact.evidence


def test_board_from_a_board_named_file_and_soc_from_the_board_table(tmp_path: Path) -> None:
    write(tmp_path, "bl652_dvk.overlay", '&uart0 {\n\tstatus = "okay";\n};\n')
    build = triage_build([tmp_path])
    assert build.board == "bl652_dvk"
    assert build.soc == "nrf52832"
    assert build.inferred["soc"].evidence == "the board name bl652_dvk"


def test_soc_from_a_network_core_layout(tmp_path: Path) -> None:
    write(
        tmp_path,
        "partitions_CPUNET.yml",
        "b0n:\n  address: 0x1000000\n  size: 0x8580\n  region: flash_primary\n"
        "app:\n  address: 0x1008800\n  size: 0x17800\n  region: flash_primary\n",
    )
    build = triage_build([tmp_path])
    assert build.soc == "nrf5340"
    assert build.inferred["soc"].confidence is Confidence.LOW


def test_disagreeing_signals_are_a_note(tmp_path: Path) -> None:
    write(tmp_path, "prj.conf", "CONFIG_SOC_NRF52840_QIAA=y\n")
    write(tmp_path, "board.dts", "#include <nordic/nrf5340_cpuapp_qkaa.dtsi>\n/ {\n};\n")
    build = triage_build([tmp_path])
    assert build.soc == "nrf52840"  # the symbol came first among equally sure signals
    notes = [note for note in build.notes if "disagrees" in note]
    assert notes and "nrf5340" in notes[0] and "#include <nordic/nrf5340_cpuapp_qkaa.dtsi>" in notes[0]


def test_given_soc_wins_without_a_note(tmp_path: Path) -> None:
    write(tmp_path, "prj.conf", "CONFIG_SOC_NRF52840_QIAA=y\n")
    build = triage_build([tmp_path], soc="nrf52833")
    assert build.soc == "nrf52833"
    assert build.inferred["soc"].confidence is Confidence.GIVEN
    assert not any(note.startswith("SoC ") and "inferred" in note for note in build.notes)


def test_a_whole_build_reads_board_and_soc_from_its_own_files() -> None:
    build = load_build(BUILDS / "cli" / "healthy" / "build")
    assert (build.board, build.soc) == ("nrf52840dk/nrf52840", "nrf52840")
    assert build.inferred["board"].evidence == "CMakeCache.txt"
    assert build.inferred["board"].confidence is Confidence.HIGH
    assert not any("inferred" in note or "disagrees" in note for note in build.notes)


def test_json_carries_the_inferred_facts(tmp_path: Path) -> None:
    write(tmp_path, "custom_board.dts", "#include <nordic/nrf52840_qiaa.dtsi>\n/ {\n};\n")
    out = io.StringIO()
    run(
        ["triage", str(tmp_path), "--format", "json"],
        config_get=lambda _: None,
        stdout=out,
        stderr=io.StringIO(),
    )
    inferred = json.loads(out.getvalue())["builds"][0]["inferred"]
    assert inferred["soc"]["value"] == "nrf52840"
    assert inferred["soc"]["confidence"] == "high"


def test_versions_that_are_no_versions_are_dropped(tmp_path: Path) -> None:
    """A path component of 5,000 digits is no SDK version: no rule may have to parse it (exit 3)."""
    import shutil

    from helpers import run_pmdoctor

    build = shutil.copytree(BUILDS / "cli" / "healthy" / "build", tmp_path / "build")
    cache = build / "CMakeCache.txt"
    huge = "1" * 5000
    cache.write_text(cache.read_text().replace("/home/dev/ncs/v2.7.0/zephyr", f"/ncs/v3.{huge}.0/zephyr"))
    (build / "smp_svr" / "build_info.yml").write_text(f"cmake:\n  zephyr:\n    version: 3.{huge}\n")
    result = run_pmdoctor("-d", str(build), "--format", "json", cwd=tmp_path)
    assert result.returncode in (0, 1), result.stderr
    versions = json.loads(result.stdout)["builds"][0]["versions"]
    assert versions == {"ncs": None, "zephyr": None}
