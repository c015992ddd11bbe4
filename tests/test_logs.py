"""Log recognisers (loaders/logs.py) and the log-only rules PMD801-PMD810 (rules/logs.py)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Optional

import pytest

from conftest import BUILDS, ROOT
from pmdoctor.api import check
from pmdoctor.cli import run
from pmdoctor.loaders.logs import Versions, parse_log
from pmdoctor.model import Build, Era
from pmdoctor.rules import load_all

OLD = Versions(ncs=(2, 4, 0))
NEW = Versions(ncs=(2, 7, 0))


def ids(text: str, versions: Optional[Versions] = None) -> list:
    return [symptom.id for symptom in parse_log(text, None, versions).symptoms]


@pytest.mark.parametrize(
    "line, symptom",
    [
        ("E: Failed to open flash area ID 1 (image 0 slot 1): -2, cannot continue", "slot-unreachable"),
        ("E: Failed to open flash area ID 1 (image 0 slot 1): -19, cannot continue", "device-not-ready"),
        ("<err> img_mgmt: Failed to open flash area ID 2: -19", "device-not-ready"),
        ("I: Secondary image of image pair (0.) is unreachable. Treat it as empty", "slot-unreachable"),
        ("W: Failed reading sectors; BOOT_MAX_IMG_SECTORS=128 - too small?", "sectors-incompatible"),
        ("W: Cannot upgrade: not a compatible amount of sectors", "sectors-incompatible"),
        ("W: Cannot upgrade: slots have non-compatible sectors", "sectors-incompatible"),
        ("W: Cannot upgrade: not all sectors fit inside scratch", "scratch-too-small"),
        ("E: Protect mcuboot flash failed, cancel startup.", "fprotect-failed"),
        ("[error] Device error: Address 0x00000000 is in a protected RRAMC region", "rramc-protected"),
        ("Error: Image size (0x7a3f0) + trailer (0x1580) exceeds requested size 0x7a000", "image-too-large"),
        ("ld.bfd: region `FLASH' overflowed by 7124 bytes", "image-too-large"),
        ("Partition manager failed: Incorrect amount of gaps found in static configuration.", "pm-gaps"),
        (
            "Partition manager failed: Statically defined partitions are not packed at start of region",
            "pm-not-packed",
        ),
        (
            "Partition manager failed: Error when inspecting mcuboot_pad, invalid address 0xc000",
            "pm-invalid-address",
        ),
        ("Partition manager failed: End of last partition is after last valid address", "pm-failed"),
        (
            "CMake Warning: Static partition manager file has changed since this project was last",
            "pm-static-changed",
        ),
        ("!!!Partition alignment error!!! The non-secure start address is: 0x64600", "tfm-alignment"),
        ("zephyr.elf: undefined reference to `__device_dts_ord_112'", "link-device-ord"),
        ("main.c:12: error: 'PM_MCUBOOT_PRIMARY_1_ID' undeclared", "netcore-partition-undeclared"),
        ("Faled boot_set_next with code 3", "bad-image-magic"),
        ("Mcu Mgr Error: 10 Group: 1", "device-not-ready"),
        ("E: Unable to find bootable image", "boot-hang"),
    ],
)
def test_recognises(line: str, symptom: str) -> None:
    assert ids(f"[00:00:01.100,000] \x1b[1;31m{line}\x1b[0m\n*** Booting My App ***") == [symptom]


def test_error_5_depends_on_version() -> None:
    line = "<err> mcumgr_img_mgmt: Image upload inspect failed: 5"
    old = parse_log(line, None, OLD).symptoms
    assert [s.id for s in old] == ["slot-unreachable"] and "MGMT_ERR_ENOENT" in old[0].meaning
    new = parse_log(line, None, NEW).symptoms
    assert [s.id for s in new] == ["hash-not-found"] and "INVALID_TLV" in new[0].meaning
    unknown = parse_log(line, None).symptoms
    assert unknown[0].id == "slot-unreachable"
    assert "version is unknown" in unknown[0].meaning and "INVALID_TLV" in unknown[0].meaning


def test_version_comes_from_the_log_itself() -> None:
    log = parse_log(
        "*** Booting nRF Connect SDK v2.7.0-5cb85570ca43 ***\nImage upload inspect failed: 9\n", None
    )
    assert log.ncs_version.startswith("2.7.0")
    assert log.symptoms[0].id == "slot-unreachable" and "NO_FREE_SLOT" in log.symptoms[0].meaning
    zephyr = parse_log("*** Booting Zephyr OS build v3.2.99-ncs2 ***\nImage upload inspect failed: 5", None)
    assert "ENOENT" in zephyr.symptoms[0].meaning


def test_own_banner_beats_the_callers_version() -> None:
    """Two logs in one thread from different firmware: each line is decoded with its own banner."""
    line = "*** Booting Zephyr OS build v3.2.99-ncs2 ***\n<err> Image upload inspect failed: 5"
    symptom = parse_log(line.replace("mcumgr_img_mgmt: ", ""), None, NEW).symptoms[0]
    assert symptom.id == "slot-unreachable" and "MGMT_ERR_ENOENT on Zephyr v3.2.99" in symptom.meaning
    bare = parse_log("Image upload inspect failed: 5\n", None, NEW).symptoms[0]
    assert bare.id == "hash-not-found"  # no banner of its own: the other files' version decides


def test_code_above_legacy_range_proves_group_aware_firmware() -> None:
    """Legacy MGMT_ERR codes stop at 8: a 9 is NO_FREE_SLOT even when the version says legacy."""
    symptom = parse_log("Image upload inspect failed: 9\n", None, OLD).symptoms[0]
    assert symptom.id == "slot-unreachable" and "IMG_MGMT_ERR_NO_FREE_SLOT" in symptom.meaning
    assert parse_log("Image upload inspect failed: 6\n", None, OLD).symptoms == []  # legacy EBADSTATE


def test_example_build_with_its_mcumgr_log_ranks_the_missing_driver_first() -> None:
    example = ROOT / "examples" / "pinnacle100-qspi-secondary"
    out, err = io.StringIO(), io.StringIO()
    argv = ["-d", str(example / "build"), "--log", str(example / "mcumgr.log"), "-f", "markdown"]
    code = run(argv, stdout=out, stderr=err, cwd=ROOT)
    assert code == 1, err.getvalue()
    text = out.getvalue()
    first = text[text.index("1. **") : text.index("2. **")]
    assert (
        "PMD302" in first
        and "> `[00:00:41.512,207] <err> mcumgr_img_grp: Image upload inspect failed: 5`" in first
    )
    assert "| `examples/pinnacle100-qspi-secondary/mcumgr.log` | log |" in text


def test_jump_without_application_is_a_hang_and_with_banner_is_not() -> None:
    hang = "I: Bootloader chainload address offset: 0xc000\nI: Jumping to the first image slot\n"
    assert ids(hang) == ["boot-hang"]
    assert ids(hang + "*** Booting nRF Connect SDK v2.6.0 ***\n") == []


def test_source_lines_and_noise() -> None:
    log = parse_log(
        "noise\n" + "x" * 5000 + "\nE: Protect mcuboot flash failed, cancel startup.\n", Path("c.log")
    )
    assert [(s.id, s.source.line) for s in log.symptoms] == [("fprotect-failed", 3)]
    assert parse_log("", None).symptoms == []


def _log_build(tmp_path: Path, text: str) -> Build:
    path = tmp_path / "console.log"
    path.write_text(text)
    build = Build(path=tmp_path, era=Era.CHILD_IMAGE, partition_manager=True)
    build.symptoms = parse_log(text, path).symptoms
    return build


@pytest.mark.parametrize(
    "text, rule",
    [
        ("E: Failed to open flash area ID 1 (image 0 slot 1): -2, cannot continue", "PMD801"),
        ("E: Failed to open flash area ID 1 (image 0 slot 1): -19, cannot continue", "PMD802"),
        ("W: Failed reading sectors; BOOT_MAX_IMG_SECTORS=128 - too small?", "PMD803"),
        ("region `FLASH' overflowed by 7124 bytes", "PMD804"),
        ("Partition manager failed: Incorrect amount of gaps found in static configuration.", "PMD805"),
        ("E: Protect mcuboot flash failed, cancel startup.", "PMD806"),
        ("!!!Partition alignment error!!!", "PMD807"),
        ("Invalid image header magic (23)", "PMD808"),
        ("undefined reference to `__device_dts_ord_12'", "PMD809"),
        ("I: Jumping to the first image slot", "PMD810"),
    ],
)
def test_each_log_rule_fires_on_its_line_and_not_on_a_clean_log(tmp_path: Path, text: str, rule: str) -> None:
    findings = check(_log_build(tmp_path, text)).findings
    assert [f.rule for f in findings] == [rule]
    assert findings[0].location.line == 1
    assert any(text.strip() in symptom.text for symptom in findings[0].observed)  # the line is quoted
    clean = check(_log_build(tmp_path, "*** Booting nRF Connect SDK v2.6.0 ***\n<inf> app: started\n"))
    assert not [f for f in clean.findings if f.rule.startswith("PMD8")]


def test_pmd801_speaks_the_era(tmp_path: Path) -> None:
    # The chip is unknown (no devicetree attached): one alternative per bus, in each image's file.
    build = _log_build(tmp_path, "E: Failed to open flash area ID 1 (image 0 slot 1): -2")
    files = [str(fix.file) for fix in check(build).findings[0].fixes if fix.file]
    assert files == ["prj.conf", "prj.conf", "child_image/mcuboot.conf", "child_image/mcuboot.conf"]
    build.sysbuild, build.era = True, Era.SYSBUILD
    files = [str(fix.file) for fix in check(build).findings[0].fixes if fix.file]
    assert files == ["prj.conf", "prj.conf", "sysbuild/mcuboot.conf", "sysbuild/mcuboot.conf"]


def test_pmd801_and_pmd302_give_the_same_driver_lines_for_an_unknown_chip(tmp_path: Path) -> None:
    """Both rules take the driver facts from one table (model/drivers.py), so they cannot disagree."""
    from pmdoctor.model.drivers import NOR_DRIVERS

    build = _log_build(tmp_path, "E: Failed to open flash area ID 1 (image 0 slot 1): -2")
    (finding,) = check(build).findings
    app_snippets = [fix.snippet for fix in finding.fixes if str(fix.file) == "prj.conf"]
    assert app_snippets == ["\n".join(driver.lines) for driver in NOR_DRIVERS.values()]


def test_log_rules_are_documented() -> None:
    rules = {rule_id: rule for rule_id, rule in load_all().items() if rule_id.startswith("PMD8")}
    assert len(rules) == 10 and all(rule.family == "logs" for rule in rules.values())
    for rule in rules.values():
        headings = [heading for heading, _ in rule.sections()]
        assert [h for h in headings if h != "Severity"] == [
            "What it does",
            "Why it matters",
            "Example",
            "How to fix",
        ], rule.id


def test_log_option_in_build_directory_mode(tmp_path: Path) -> None:
    healthy = BUILDS / "foundation" / "sysbuild_nrf52840"
    log = tmp_path / "console.log"
    log.write_text("E: Failed to open flash area ID 1 (image 0 slot 1): -2, cannot continue\n")
    out, err = io.StringIO(), io.StringIO()
    code = run(["-d", str(healthy), "--log", str(log), "-f", "json"], stdout=out, stderr=err, cwd=ROOT)
    assert code == 1, err.getvalue()
    assert '"PMD801"' in out.getvalue()
    plain = run(["-d", str(healthy), "-f", "json"], stdout=io.StringIO(), stderr=io.StringIO(), cwd=ROOT)
    assert plain == 0
    missing = run(["-d", str(healthy), "--log", str(tmp_path / "nope.log")], stdout=out, stderr=err, cwd=ROOT)
    assert missing == 2 and "no such log file" in err.getvalue()
