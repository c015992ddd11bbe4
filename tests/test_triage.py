"""`pmdoctor triage`: loose forum attachments in, ranked diagnosis out.

Fixture threads in tests/triage/<case>/ are written by hand in the shape
people post them: a pasted pm_static.yml, an overlay with #includes, a
prj.conf, a console log.
"""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path
from typing import List

import pytest

from conftest import ROOT, corpus_or_skip
from pmdoctor.api import Analysis, check, triage_build
from pmdoctor.cli import run
from pmdoctor.inputs.sniff import sniff
from pmdoctor.loaders.dts_source import parse_sources
from pmdoctor.model import Era

THREADS = ROOT / "tests" / "triage"
PINNACLE = THREADS / "pinnacle100"


def triage(*paths: Path, **kwargs) -> Analysis:
    return check(triage_build(list(paths), **kwargs))


def rules_of(analysis: Analysis) -> List[str]:
    return [finding.rule for finding in analysis.findings]


def run_cli(*argv: str):
    out, err = io.StringIO(), io.StringIO()
    code = run(list(argv), config_get=lambda _: None, stdout=out, stderr=err, cwd=ROOT)
    return code, out.getvalue(), err.getvalue()


# ------------------------------------------------------------------ the motivating thread


def test_pinnacle100_intake() -> None:
    build = triage_build([PINNACLE])
    taken = {item.path.name: (item.taken_as, item.image) for item in build.inputs}
    assert taken["pm_static.yml"][0].startswith("static layout")
    assert taken["pinnacle_100_dvk.overlay"] == ("devicetree source", "app")
    assert taken["prj.conf"] == ("Kconfig fragment", "app")
    assert taken["console.log"][0] == "log"
    assert (build.board, build.soc, build.era) == ("pinnacle_100_dvk", "nrf52840", Era.CHILD_IMAGE)
    assert [image.name for image in build.images] == ["app"]  # no MCUboot file: no MCUboot image
    assert any("mcuboot" in note and "could not check" in note for note in build.notes)
    assert any("&mx25r64" in note and "pinnacle_100_common.dtsi" in note for note in build.notes)
    chosen = build.app.devicetree.chosen
    assert chosen["nordic,pm-ext-flash"] == chosen["zephyr,external-flash"] == "&mx25r64"
    assert [s.id for s in build.symptoms] == ["slot-unreachable"]
    assert "build/mcuboot/zephyr/.config" in " ".join(build.wanted)


def test_pinnacle100_diagnosis_and_ranks() -> None:
    analysis = triage(PINNACLE)
    found = rules_of(analysis)
    assert "PMD801" in found
    assert {"PMD302", "PMD201", "PMD303"} <= set(found)
    # The missing driver explains the log line: it comes first, above the log-only hypothesis.
    assert found[0] == "PMD302"
    assert found.index("PMD302") < found.index("PMD801")
    assert any("Image upload inspect failed: 5" in s.text for s in analysis.findings[0].observed)
    foreign = next(f for f in analysis.findings if f.rule == "PMD201")
    assert "mcuboot_primary_1" in foreign.message and foreign.location.file.name == "pm_static.yml"
    assert found.index("PMD303") > found.index("PMD801")  # a warning after the errors
    pmd801 = next(f for f in analysis.findings if f.rule == "PMD801")
    assert "MGMT_ERR_ENOENT" in pmd801.message  # decoded with the Zephyr version in the boot banner
    fixes = [(str(fix.file), fix.snippet) for fix in pmd801.fixes if fix.file]
    mcuboot = [snippet for file, snippet in fixes if file == "child_image/mcuboot.conf"]
    assert mcuboot and "CONFIG_NORDIC_QSPI_NOR=y" in mcuboot[0] and "CONFIG_MULTITHREADING=y" in mcuboot[0]


def test_pinnacle100_clean_twin(tmp_path: Path) -> None:
    """The same thread with the driver enabled and no failing log: the driver and log findings go."""
    thread = tmp_path / "thread"
    shutil.copytree(PINNACLE, thread)
    (thread / "console.log").unlink()
    with (thread / "prj.conf").open("a") as conf:
        conf.write("CONFIG_NORDIC_QSPI_NOR=y\n")
    found = rules_of(triage(thread))
    assert "PMD801" not in found and "PMD302" not in found


def test_pinnacle100_cli_markdown_and_exit_codes() -> None:
    code, out, err = run_cli("triage", str(PINNACLE), "-f", "markdown")
    assert code == 1, err
    assert "CONFIG_NORDIC_QSPI_NOR=y" in out and "child_image/mcuboot.conf" in out
    assert "> `[00:00:41.512,030] <inf> mcumgr_img_mgmt: Image upload inspect failed: 5`" in out
    assert "**Please attach next**" in out and "build/mcuboot/zephyr/.config" in out
    assert run_cli("triage", str(PINNACLE), "--exit-zero")[0] == 0
    assert run_cli("triage")[0] == 2
    assert run_cli("triage", str(THREADS / "no-such-thread"))[0] == 2


def test_board_and_soc_overrides() -> None:
    build = triage_build([PINNACLE], soc="nrf5340", board="thingy53/nrf5340/cpuapp")
    assert (build.board, build.soc) == ("thingy53/nrf5340/cpuapp", "nrf5340")
    assert "PMD201" not in rules_of(check(build))  # the layout fits an nRF5340


# ------------------------------------------------------------------ the other threads


def test_log_only_thread() -> None:
    analysis = triage(THREADS / "logonly")
    assert rules_of(analysis) == ["PMD801"]
    build = analysis.build
    assert build.ncs_version.startswith("2.6.1") and build.images == []
    assert any("partitions.yml" in ask for ask in build.wanted)
    code, out, _ = run_cli("triage", str(THREADS / "logonly"), "-f", "markdown")
    assert code == 1 and "child_image/mcuboot.conf" in out and "```ini" in out


def test_config_only_thread() -> None:
    analysis = triage(THREADS / "configonly")
    build = analysis.build
    assert [(image.name, image.role) for image in build.images] == [("mcuboot", "mcuboot")]
    assert (build.board, build.soc) == ("nrf52840dk_nrf52840", "nrf52840")
    assert rules_of(analysis) == []  # nothing to judge without a layout: silent, not guessing
    assert any("partitions.yml" in ask for ask in build.wanted)
    assert run_cli("triage", str(THREADS / "configonly"))[0] == 0


def test_truncated_yaml_paste() -> None:
    analysis = triage(THREADS / "truncated")
    assert rules_of(analysis)[0] == "PMD001"
    cut = analysis.findings[0]
    assert cut.location.line == 22 and "cut off" in cut.message
    static = analysis.build.static_files[0].layout
    assert sorted(static.partitions) == [
        "app",
        "mcuboot",
        "mcuboot_pad",
        "mcuboot_primary",
        "mcuboot_secondary",
    ]


def test_devicetree_fragment_with_unresolved_labels() -> None:
    build = triage_build([THREADS / "dts_unresolved"])
    tree = build.app.devicetree
    assert tree.chosen_node("nordic,pm-ext-flash").path == "&gd25wb256"
    slot = tree.layout.get("slot1_partition")
    assert (slot.address, slot.size, slot.region) == (0, 896 * 1024, "dt:gd25wb256")
    assert "storage_ext" not in tree.layout.partitions  # its size is a macro from a missing file
    note = next(note for note in build.notes if note.startswith("devicetree of app"))
    assert "&gd25wb256" in note and "../common/flash_layout.dtsi" in note and "not closed" in note
    assert build.era is Era.DEVICETREE


def test_wrong_extension_static_file() -> None:
    analysis = triage(THREADS / "wrong_extension")
    build = analysis.build
    assert build.static_files[0].path.name == "pm_static.yaml"
    assert any(".yaml" in note and "pm_static*.yml" in note for note in build.notes)
    assert build.board == "nrf52840dk_nrf52840" and build.soc == "nrf52840"
    assert rules_of(analysis)[0] == "PMD101"
    clean = triage(THREADS / "wrong_extension" / "prj.conf")  # the same thread without the layout
    assert "PMD101" not in rules_of(clean)


def test_mixed_files_and_folders_infer_images(tmp_path: Path) -> None:
    (tmp_path / "child_image").mkdir()
    (tmp_path / "child_image" / "mcuboot.conf").write_text("CONFIG_BOOT_MAX_IMG_SECTORS=256\n")
    (tmp_path / "sysbuild.conf").write_text("SB_CONFIG_BOOTLOADER_MCUBOOT=y\n")
    (tmp_path / "notes.txt").write_text("CONFIG_MCUBOOT=y\nCONFIG_BOOT_SWAP_USING_MOVE=y\n")
    build = triage_build([tmp_path / "child_image", tmp_path / "sysbuild.conf", tmp_path / "notes.txt"])
    images = {item.path.name: item.image for item in build.inputs}
    assert images["mcuboot.conf"] == "mcuboot" and images["notes.txt"] == "mcuboot"
    assert build.sysbuild and build.era is Era.SYSBUILD
    assert build.sysbuild_config.enabled("SB_CONFIG_BOOTLOADER_MCUBOOT")
    assert build.image("mcuboot").config.int("CONFIG_BOOT_MAX_IMG_SECTORS") == 256


# ------------------------------------------------------------------ no input shape crashes


def test_junk_never_crashes(tmp_path: Path) -> None:
    junk = tmp_path / "junk"
    (junk / "deep" / "er").mkdir(parents=True)
    (junk / "zephyr.bin").write_bytes(bytes(range(256)) * 8)
    (junk / "blob.txt").write_bytes(b"\x00\xff\xfe garbage")
    (junk / "latin1.conf").write_bytes(b"CONFIG_X=\xe9\n")
    (junk / "empty.yml").write_text("")
    (junk / "deep" / "list.yml").write_text("- a\n- b\n")
    (junk / "deep" / "broken.overlay").write_text(
        "/ { chosen { nordic,pm-ext-flash = <&; }; \n&x { { } } ;;; }"
    )
    (junk / "deep" / "er" / "zephyr.dts").write_text("/dts-v1/;\n/ { node { prop = <1 2; };\n")
    (junk / "deep" / "er" / "weird.yml").write_text("app: {address: 0x0, size: [1, 2]}\n: :\n")
    (junk / "deep" / "er" / "shifts.overlay").write_text("&n { reg = <(1 << 4000000000) 0x10>; };\n")
    (junk / "README.md").write_text("# hello\n")
    analysis = triage(junk)
    unused = {item.path.name: item.detail for item in analysis.build.inputs if not item.used}
    assert "zephyr.bin" in unused and "binary" in unused["blob.txt"] and "UTF-8" in unused["latin1.conf"]
    assert unused["empty.yml"] == "empty file"
    code, out, err = run_cli("triage", str(junk), "-f", "markdown")
    assert code in (0, 1) and "internal error" not in err and "**not used**" in out


def test_build_directory_given_to_triage(tmp_path: Path) -> None:
    build_dir = ROOT / "tests" / "builds" / "foundation" / "child_image_nrf52840"
    log = tmp_path / "console.log"
    log.write_text("E: Failed to open flash area ID 1 (image 0 slot 1): -19, cannot continue\n")
    analysis = triage(build_dir, log)
    assert [image.name for image in analysis.build.images][:2] == ["app", "mcuboot"]
    assert "PMD802" in rules_of(analysis)
    assert analysis.build.inputs[0].taken_as == "build directory"


def test_corpus_build_directories_do_not_crash() -> None:
    corpus = corpus_or_skip()
    builds = sorted((corpus / "builds").iterdir())[:12]
    for build_dir in builds:
        code, out, err = run_cli("triage", str(build_dir), "-f", "json")
        assert code in (0, 1), (build_dir, err)
        assert json.loads(out)["builds"][0]["findings"] is not None


def test_corpus_static_files_as_loose_attachments() -> None:
    corpus = corpus_or_skip()
    static_dir = corpus / "pm_static"
    for path in sorted(static_dir.iterdir())[:20]:
        item = sniff(path, path.name)
        assert item.kind in ("static", ""), (path.name, item.kind, item.detail)
    code, _, err = run_cli("triage", str(static_dir))
    assert code in (0, 1) and "internal error" not in err


@pytest.mark.parametrize(
    "text",
    ["", "&", "/ {", "};};};", "#include", "/ { a = <0x1 &b (1+)>; b: c@0 { reg = <1>; }; };", "{" * 3000],
)
def test_devicetree_source_reader_is_total(text: str) -> None:
    result = parse_sources([(Path("x.overlay"), text)])
    assert result.devicetree is not None


# ------------------------------------------------------------------ sniffing by content


def test_misleading_names_are_sniffed_by_content(tmp_path: Path) -> None:
    """A layout pasted as attachment.txt, a .config saved as config.txt, a log saved as output.yml."""
    thread = tmp_path / "thread"
    (thread / "child_image").mkdir(parents=True)
    shutil.copy(PINNACLE / "pm_static.yml", thread / "attachment.txt")
    shutil.copy(THREADS / "configonly" / "build" / "mcuboot" / "zephyr" / ".config", thread / "config.txt")
    shutil.copy(PINNACLE / "console.log", thread / "output.yml")
    shutil.copy(PINNACLE / "pinnacle_100_dvk.overlay", thread / "board.txt")
    (thread / "sysbuild.txt").write_text("SB_CONFIG_BOOTLOADER_MCUBOOT=y\nSB_CONFIG_PARTITION_MANAGER=y\n")
    (thread / "child_image" / "mcuboot.conf").write_text("CONFIG_NORDIC_QSPI_NOR=y\nCONFIG_SPI=n\n")
    (thread / "cache.txt").write_text(
        "# This is the CMakeCache file.\nBOARD:STRING=pinnacle_100_dvk\nZEPHYR_BASE:PATH=/ncs/v2.4.0/zephyr\n"
    )
    build = triage_build([thread])
    taken = {item.path.name: (item.taken_as, item.image) for item in build.inputs}
    assert taken["attachment.txt"] == ("static layout (pm_static.yml)", None)
    assert taken["config.txt"] == ("generated Kconfig (.config)", "mcuboot")
    assert taken["output.yml"] == ("log", None)
    assert taken["board.txt"] == ("devicetree source", "app")
    assert taken["sysbuild.txt"] == ("sysbuild Kconfig fragment", None)
    assert taken["mcuboot.conf"] == ("Kconfig fragment", "mcuboot")
    assert taken["cache.txt"] == ("CMakeCache.txt", None)
    assert build.era is Era.SYSBUILD and build.ncs_version == "2.4.0"
    code, out, err = run_cli("triage", str(thread), "-f", "json")
    assert code == 1, err
    inputs = {Path(i["path"]).name: i for i in json.loads(out)["builds"][0]["inputs"]}
    assert inputs["output.yml"]["taken_as"] == "log" and "1 recognised" in inputs["output.yml"]["detail"]
    assert inputs["attachment.txt"]["detail"] == "11 partitions"


def test_unusable_files_say_why_in_json(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("I tried everything, please help\n")
    (tmp_path / "main.c").write_text("int main(void) { return 0; }\n")
    code, out, _ = run_cli("triage", str(tmp_path), "-f", "json")
    assert code == 0
    inputs = {Path(i["path"]).name: i for i in json.loads(out)["builds"][0]["inputs"]}
    assert inputs["notes.txt"]["taken_as"] is None and "no CONFIG_ lines" in inputs["notes.txt"]["detail"]
    assert "source" in inputs["main.c"]["detail"]


# ------------------------------------------------------------------ no input shape crashes it


def _fixture_files() -> List[Path]:
    return sorted(path for path in THREADS.rglob("*") if path.is_file())


def test_random_truncations_and_bytes_never_crash(tmp_path: Path) -> None:
    """Every fixture file cut at seeded random points (and random bytes), one thread each."""
    import random

    chance = random.Random(5)
    files = _fixture_files()
    assert len(files) >= 8
    for number, source in enumerate(files):
        data = source.read_bytes()
        thread = tmp_path / f"t{number}"
        thread.mkdir()
        for cut in sorted({chance.randrange(len(data) + 1) for _ in range(4)}):
            (thread / f"cut{cut}_{source.name}").write_bytes(data[:cut])
        (thread / f"noise{source.suffix or '.txt'}").write_bytes(
            bytes(chance.randrange(256) for _ in range(300))
        )
        analysis = triage(thread)
        assert len(analysis.build.inputs) >= 2
    code, _, err = run_cli("triage", str(tmp_path), "-f", "markdown")
    assert code in (0, 1) and "internal error" not in err


def test_unknown_chip_gets_one_driver_alternative_per_bus() -> None:
    """The overlay's &mx25r64 is not attached, so the chip's compatible is unknown: the fix
    offers QSPI and SPI as alternatives instead of one block that enables both."""
    driver = next(f for f in triage(PINNACLE).findings if f.rule == "PMD302")
    assert [fix.description.split(" — ")[0] for fix in driver.fixes] == [
        "if the chip is nordic,qspi-nor (on the QSPI bus)",
        "if the chip is jedec,spi-nor (on the SPI bus)",
    ]
    qspi, spi = (fix.snippet.splitlines() for fix in driver.fixes)
    assert "CONFIG_NORDIC_QSPI_NOR=y" in qspi and "CONFIG_SPI_NOR=y" not in qspi
    assert "CONFIG_SPI_NOR=y" in spi and "CONFIG_NORDIC_QSPI_NOR=y" not in spi
    assert all(fix.file.name == "prj.conf" for fix in driver.fixes)
