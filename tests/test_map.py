"""``pmdoctor map`` and ``triage --map``: the layout in the terminal, compared with golden files.

The golden files under tests/golden/map/ are the exact output for a
two-domain nRF5340 build, an external-flash build, a devicetree-era build and
TF-M's crossing containers, at 80 and 120 columns. When the map changes on
purpose, regenerate them and review the diff:

    PMDOCTOR_REGENERATE_GOLDEN=1 python -m pytest tests/test_map.py
    git diff tests/golden/map/
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from conftest import BUILDS, ROOT
from helpers import copy_tree, edit, run_pmdoctor
from pmdoctor.analysis import check
from pmdoctor.assemble import load_build
from pmdoctor.inputs.scope import Environment
from pmdoctor.report._map_model import RowKind, build_map, human_size

GOLDEN = ROOT / "tests" / "golden" / "map"
REGENERATE = os.environ.get("PMDOCTOR_REGENERATE_GOLDEN") == "1"
ANSI = re.compile("\x1b\\[[0-9;]*m")
# start, end, [hex size,] size and unit, then the partition's name
ROW = re.compile(r"^  0x[0-9a-f]+\s+0x[0-9a-f]+\s+(?:0x[0-9a-f]+\s+)?[0-9.]+ [KMG]?i?B\s+(\S+)")


def rows_by_name(out: str) -> dict:
    return {match.group(1): line for line in out.splitlines() for match in [ROW.match(line)] if match}


CASES = {
    "nrf5340_two_domains": "tests/builds/foundation/sysbuild_nrf5340",
    "pinnacle_external_flash": "examples/pinnacle100-qspi-secondary/build",
    "devicetree_external_secondary": "tests/builds/dt/nrf52840dk_ext_secondary",
    "nrf9160_tfm_containers": "tests/builds/soc/nrf9160_tfm_mcuboot",
}


def map_output(*args: str, env=None) -> tuple:
    proc = run_pmdoctor("map", *args, cwd=ROOT, env=env)
    # The example's notes name this checkout's absolute path: golden files must not.
    return proc.returncode, proc.stdout.replace(str(ROOT), "<ROOT>"), proc.stderr


@pytest.mark.parametrize("width", [80, 120])
@pytest.mark.parametrize("case", sorted(CASES))
def test_map_matches_the_golden_file(case, width):
    code, out, err = map_output("-d", CASES[case], "--width", str(width))
    assert code in (0, 1), err
    golden = GOLDEN / f"{case}.{width}.txt"
    if REGENERATE:
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(out, encoding="utf-8")
    assert golden.is_file(), f"no golden file {golden.name}: run with PMDOCTOR_REGENERATE_GOLDEN=1"
    assert out == golden.read_text(encoding="utf-8"), (
        f"the map of {case} at {width} columns changed; regenerate if on purpose (see the docstring)"
    )


@pytest.mark.parametrize("width", [80, 120])
@pytest.mark.parametrize("case", sorted(CASES))
def test_no_line_is_wider_than_asked(case, width):
    _, out, _ = map_output("-d", CASES[case], "--width", str(width), "--color", "always")
    lines = [ANSI.sub("", line) for line in out.splitlines()]
    assert max(len(line) for line in lines) <= width
    assert any(len(line) > 76 for line in lines)  # and it uses the width it has


def test_every_region_of_both_domains_is_drawn():
    _, out, _ = map_output("-d", CASES["nrf5340_two_domains"], "--width", "120")
    titles = [line.split(" · ")[0] for line in out.splitlines() if re.match(r"^[a-z_]+ · 0x", line)]
    assert titles == ["flash_primary", "otp", "sram_primary", "flash_primary", "sram_primary"]
    assert "Partition Manager, domain CPUNET" in out
    # Containers come first, their members indented under them; sizes read both ways.
    assert re.search(r"  0x00c000  0x084000   0x78000    480 KiB  mcuboot_primary  ", out)
    assert re.search(r"  0x00c200  0x084000   0x77e00  479.5 KiB      app  ", out)
    assert "100% allocated, 0 B free" in out


def test_a_clean_build_says_no_findings_once():
    code, out, _ = map_output("-d", CASES["nrf5340_two_domains"], "--width", "80")
    assert code == 0
    assert out.count("no findings") == 1 and out.endswith("\nno findings\n")


def test_findings_are_marked_on_their_partitions():
    code, out, _ = map_output("-d", CASES["pinnacle_external_flash"], "--width", "120")
    assert code == 1  # like check: findings at or above --fail-on
    rows = rows_by_name(out)
    assert rows["mcuboot_secondary"].endswith("PMD302")
    assert rows["mcuboot_secondary_1"].endswith("PMD302 PMD201")
    assert rows["mcuboot_primary_1"].endswith("PMD201") and rows["pcd_sram"].endswith("PMD201")
    assert not rows["app"].rstrip().endswith(("PMD302", "PMD201", "PMD303"))
    assert re.search(r"^external_flash · .* · PMD302$", out, re.MULTILINE)
    assert "WARNING PMD303 redundant-chosen · not on the map" in out


def test_colour_only_when_asked_or_on_a_terminal():
    _, plain, _ = map_output("-d", CASES["pinnacle_external_flash"])
    assert "\x1b[" not in plain
    _, coloured, _ = map_output("-d", CASES["pinnacle_external_flash"], "--color", "always")
    assert "\x1b[91m" in coloured  # errors in red
    assert ANSI.sub("", coloured) == plain


def test_width_comes_from_columns_and_never_drops_below_80():
    _, wide, _ = map_output("-d", CASES["pinnacle_external_flash"], env={"COLUMNS": "150"})
    assert 120 < max(len(line) for line in wide.splitlines()) <= 150
    _, narrow, _ = map_output("-d", CASES["pinnacle_external_flash"], env={"COLUMNS": "40"})
    assert max(len(line) for line in narrow.splitlines()) <= 80
    assert any(len(line) > 70 for line in narrow.splitlines())


@pytest.mark.parametrize("width", ["79", "wide", "-1"])
def test_a_width_below_80_is_a_usage_error(width):
    code, out, err = map_output("-d", CASES["pinnacle_external_flash"], "--width", width)
    assert code == 2 and out == ""
    assert "--width" in err and "Traceback" not in err


def test_map_takes_build_directories_like_check():
    code, _, err = map_output("tests/builds/foundation/sysbuild_nrf5340")
    assert code == 2 and "map takes build directories with -d" in err
    code, _, err = map_output("-d", "no/such/build")
    assert code == 2 and "Traceback" not in err
    assert map_output("-d", CASES["pinnacle_external_flash"], "--exit-zero")[0] == 0


def test_triage_map_draws_the_attachments():
    proc = run_pmdoctor("triage", "tests/triage/pinnacle100", "--map", "--width", "100", cwd=ROOT)
    assert proc.returncode == 1, proc.stderr
    assert "── static layout · tests/triage/pinnacle100/pm_static.yml" in proc.stdout
    rows = rows_by_name(proc.stdout)
    assert rows["mcuboot_secondary_1"].endswith("PMD201") and rows["pcd_sram"].endswith("PMD201")
    # Without --map, triage prints its report as before.
    report = run_pmdoctor("triage", "tests/triage/pinnacle100", cwd=ROOT).stdout
    assert "── static layout" not in report and "ERROR   PMD201 foreign-static-layout" in report


def test_check_map_is_the_map_and_html_is_html():
    via_check = run_pmdoctor("-d", CASES["pinnacle_external_flash"], "--map", "--width", "90", cwd=ROOT)
    assert via_check.stdout == map_output("-d", CASES["pinnacle_external_flash"], "--width", "90")[1].replace(
        "<ROOT>", str(ROOT)
    )
    html = map_output("-d", CASES["pinnacle_external_flash"], "--format", "html")[1]
    assert html.startswith("<!DOCTYPE html>")


def _rows(build_dir: Path) -> dict:
    build = load_build(build_dir, Environment())
    drawn = build_map(build, check(build).findings)
    return {
        (region.name, row.name): row
        for layout in drawn.layouts
        for region in layout.regions
        for row in region.rows
        if row.partition is not None
    }


def test_devicetree_findings_land_on_devicetree_partitions(tmp_path):
    """Both images' zephyr.dts give slot1 a size that runs into storage: one layout, marks on both."""
    build = copy_tree(BUILDS / "dt" / "nrf52840dk_zephyr_mcuboot", tmp_path / "build")
    for image in ("blinky", "mcuboot"):
        dts = build / image / "zephyr" / "zephyr.dts"
        edit(dts, "reg = < 0x82000 0x76000 >;", "reg = < 0x82000 0x7e000 >;")
    rows = _rows(build)
    assert {f.rule for f in rows[("dt:flash0", "slot1_partition")].findings} >= {"PMD101", "PMD401"}
    assert "PMD101" in {f.rule for f in rows[("dt:flash0", "storage_partition")].findings}
    assert rows[("dt:flash0", "boot_partition")].findings == []


def test_a_static_file_finding_marks_the_generated_partition(tmp_path):
    """PMD401 is reported on pm_static.yml (what the user edits); the map draws partitions.yml."""
    rows = _rows(BUILDS / "cli" / "slot_mismatch" / "build")
    assert {f.rule for f in rows[("flash_primary", "mcuboot_secondary")].findings} == {"PMD101", "PMD401"}
    assert {f.rule for f in rows[("flash_primary", "mcuboot_primary")].findings} == {"PMD401"}
    assert rows[("flash_primary", "mcuboot")].findings == []


def test_gaps_and_free_space(tmp_path):
    build = load_build(BUILDS / "soc" / "nrf9160_tfm_mcuboot", Environment())
    drawn = build_map(build, [])
    flash = drawn.layouts[0].regions[0]
    kinds = [(row.kind, row.depth, row.name) for row in flash.rows]
    # tfm sits in both tfm_secure and mcuboot_primary_app: no free space is invented between them.
    assert (RowKind.GAP, 2, "") not in kinds
    assert (RowKind.FREE, 0, "EMPTY_0") in kinds
    assert flash.allocated == 0x100000 - 0x4000 - 0x8000 - 0x6000
    edited = copy_tree(BUILDS / "dt" / "nrf52840dk_zephyr_mcuboot", tmp_path / "gap")
    for image in ("blinky", "mcuboot"):
        dts = edited / image / "zephyr" / "zephyr.dts"
        edit(dts, "reg = < 0xf8000 0x8000 >;", "reg = < 0xfc000 0x4000 >;")
    rows = build_map(load_build(edited, Environment()), []).layouts[0].regions[0].rows
    gaps = [(row.start, row.end) for row in rows if row.kind == RowKind.GAP]
    assert gaps == [(0xF8000, 0xFC000)]


@pytest.mark.parametrize(
    "size, text",
    [(512, "512 B"), (0x6A000, "424 KiB"), (0x77E00, "479.5 KiB"), (0x8580, "33.38 KiB"), (1 << 20, "1 MiB")],
)
def test_human_sizes(size, text):
    assert human_size(size) == text
