"""External-flash rules (PMD301-PMD308) on hand-written builds and on the corpus.

Each case copies a fixture application (source files plus its ``build/``)
to a temporary folder, makes one visible edit, and checks what the rules say.
"""

from __future__ import annotations

from pathlib import Path
from typing import Dict, List

import pytest

from conftest import BUILDS, ROOT, corpus_or_skip
from helpers import copy_tree, edit
from helpers import rule_findings as run
from pmdoctor.api import check, load_build
from pmdoctor.loaders.overlay import scan_chosen
from pmdoctor.model.findings import Finding, Severity
from pmdoctor.rules import load_all, run_all

EXTFLASH = BUILDS / "extflash"
EXAMPLE = ROOT / "examples" / "pinnacle100-qspi-secondary"
OURS = ("PMD301", "PMD302", "PMD303", "PMD304", "PMD305", "PMD306", "PMD307", "PMD308")


def copy_app(tmp_path: Path, name: str) -> Path:
    """Copy a fixture application to tmp_path; return its build directory.

    The motivating case is the bundled example itself, so the README's demo
    and these tests cannot tell different stories.
    """
    source = EXAMPLE if name == "pinnacle100" else EXTFLASH / name
    return copy_tree(source, tmp_path / name) / "build"


def ours(build_dir: Path) -> Dict[str, List[Finding]]:
    grouped: Dict[str, List[Finding]] = {rule_id: [] for rule_id in OURS}
    for finding in run_all(load_build(build_dir), OURS):
        grouped[finding.rule].append(finding)
    return grouped


def test_rules_are_registered_with_contract_names() -> None:
    rules = load_all()
    names = {rule_id: rules[rule_id].name for rule_id in OURS}
    assert names == {
        "PMD301": "ext-flash-unreachable-devicetree",
        "PMD302": "ext-flash-driver-missing",
        "PMD303": "redundant-chosen",
        "PMD304": "option-at-wrong-level",
        "PMD305": "ext-flash-size-units",
        "PMD306": "ext-flash-page-layout",
        "PMD307": "executable-slot-off-chip",
        "PMD308": "driver-check-override-without-driver",
    }
    for rule_id in OURS:
        headings = [heading for heading, _ in rules[rule_id].sections()]
        assert headings == ["What it does", "Why it matters", "Example", "How to fix"], rule_id
    assert rules["PMD303"].severity is Severity.WARNING


# ------------------------------------------------------------ motivating case


def test_motivating_case_names_driver_static_file_and_chosen(tmp_path: Path) -> None:
    build_dir = copy_app(tmp_path, "pinnacle100")
    analysis = check(load_build(build_dir))
    rules = [finding.rule for finding in analysis.findings]
    assert rules[0] == "PMD302"
    assert "PMD303" in rules
    assert "PMD201" in rules
    driver = analysis.findings[0]
    assert driver.image == "app"
    assert "CONFIG_NORDIC_QSPI_NOR is not set (.config:" in driver.message
    (where,) = [part for part in driver.message.parts if not isinstance(part, str)]
    assert where.file == build_dir / "zephyr" / ".config"  # the app's, left for each report to show
    assert "Image upload inspect failed: 5" in driver.message
    assert driver.location.file == build_dir / "zephyr" / ".config"
    fix = driver.fixes[0]
    assert fix.file == build_dir.parent / "prj.conf"
    assert fix.snippet.splitlines()[0] == "CONFIG_NORDIC_QSPI_NOR=y"
    assert "CONFIG_NORDIC_QSPI_NOR_STACK_WRITE_BUFFER_SIZE=16" in fix.snippet
    assert any("image 'mcuboot' has it" in line for line in driver.evidence)


def test_motivating_case_chosen_fix_names_the_overlay_line(tmp_path: Path) -> None:
    build_dir = copy_app(tmp_path, "pinnacle100")
    (finding,) = run(build_dir, "PMD303")
    overlay = build_dir.parent / "boards" / "pinnacle_100_dvk.overlay"
    assert finding.effective_severity is Severity.WARNING
    assert finding.location.file == overlay
    assert "zephyr,external-flash" in overlay.read_text().splitlines()[finding.location.line - 1]
    assert finding.fixes[0].file == overlay
    # The edit deletes the property in the same overlay (an addition at its end), checked like any edit.
    (edit,) = finding.fixes[0].edits
    assert (edit.node, edit.prop, edit.action.value) == ("/chosen", "zephyr,external-flash", "remove")
    assert "/delete-property/ zephyr,external-flash;" in finding.fixes[0].snippet
    assert "reads only `nordic,pm-ext-flash`" in finding.message


def test_driver_in_app_clears_pmd302(tmp_path: Path) -> None:
    build_dir = copy_app(tmp_path, "pinnacle100")
    edit(
        build_dir / "zephyr" / ".config",
        "# CONFIG_NORDIC_QSPI_NOR is not set\n",
        "CONFIG_NORDIC_QSPI_NOR=y\nCONFIG_PM_EXTERNAL_FLASH_HAS_DRIVER=y\n",
    )
    assert run(build_dir, "PMD302") == []


def test_single_chosen_clears_pmd303(tmp_path: Path) -> None:
    build_dir = copy_app(tmp_path, "pinnacle100")
    edit(build_dir / "zephyr" / "zephyr.dts", "\t\tzephyr,external-flash = &mx25r64;\n", "")
    assert run(build_dir, "PMD303") == []


def test_bundled_example_runs_in_place() -> None:
    """The README runs the example where it lies: no copy, relocated sources, driver first."""
    analysis = check(load_build(EXAMPLE / "build"))
    assert analysis.build.source_dir == EXAMPLE
    assert analysis.findings[0].rule == "PMD302"


def test_mcumgr_log_puts_the_driver_first(tmp_path: Path) -> None:
    from pmdoctor.loaders import logs

    build_dir = copy_app(tmp_path, "pinnacle100")
    build = load_build(build_dir)
    build.symptoms = logs.load_log(build_dir.parent / "mcumgr.log").symptoms
    assert [s.id for s in build.symptoms] == ["slot-unreachable"]
    first = check(build).findings[0]
    assert first.rule == "PMD302"
    assert any("Image upload inspect failed: 5" in symptom.text for symptom in first.observed)
    # The log-only hypothesis adds nothing here (MCUboot has the driver): it is folded in.
    assert "PMD801" not in [finding.rule for finding in check(build).findings]


def test_mcuboot_without_driver_is_reported_for_mcuboot(tmp_path: Path) -> None:
    build_dir = copy_app(tmp_path, "pinnacle100")
    edit(build_dir / "mcuboot" / "zephyr" / ".config", "CONFIG_NORDIC_QSPI_NOR=y\n", "")
    edit(build_dir / "mcuboot" / "zephyr" / ".config", "CONFIG_PM_EXTERNAL_FLASH_HAS_DRIVER=y\n", "")
    found = {finding.image: finding for finding in run(build_dir, "PMD302")}
    assert set(found) == {"app", "mcuboot"}
    assert "Failed to open flash area" in found["mcuboot"].message
    assert found["mcuboot"].fixes[0].file == build_dir.parent / "child_image" / "mcuboot.conf"


# -------------------------------------------------------------- devicetree


def test_sysbuild_fixture_is_clean(tmp_path: Path) -> None:
    build_dir = copy_app(tmp_path, "sysbuild_spinor")
    assert {rule_id: found for rule_id, found in ours(build_dir).items() if found} == {}


def test_mcuboot_without_chosen_node(tmp_path: Path) -> None:
    build_dir = copy_app(tmp_path, "sysbuild_spinor")
    edit(build_dir / "mcuboot" / "zephyr" / "zephyr.dts", "\t\tnordic,pm-ext-flash = &w25q128jv;\n", "")
    (finding,) = run(build_dir, "PMD301")
    assert finding.image == "mcuboot"
    assert "no `nordic,pm-ext-flash` chosen node" in finding.message
    assert finding.fixes[0].file == build_dir.parent / "sysbuild" / "mcuboot.overlay"
    assert "nordic,pm-ext-flash = &w25q128jv;" in finding.fixes[0].snippet


def test_disabled_bus_is_named(tmp_path: Path) -> None:
    build_dir = copy_app(tmp_path, "sysbuild_spinor")
    dts = build_dir / "mcuboot" / "zephyr" / "zephyr.dts"
    edit(dts, '\t\t\tmax-frequency = < 0x7a1200 >;\n\t\t\tstatus = "okay";', '\t\t\tstatus = "disabled";')
    (finding,) = run(build_dir, "PMD301")
    assert "whose bus spi2 is disabled" in finding.message
    assert "&spi2 {" in finding.fixes[0].snippet


# ----------------------------------------------------------------- drivers


def test_spi_nor_without_override_gets_the_override_fix(tmp_path: Path) -> None:
    """NCS 3.x without the override: regions.yml gates on CONFIG_NORDIC_QSPI_NOR (EXT-04)."""
    build_dir = copy_app(tmp_path, "sysbuild_spinor")
    edit(
        build_dir / "regions.yml",
        "default_driver_kconfig: CONFIG_PM_OVERRIDE_EXTERNAL_DRIVER_CHECK",
        "default_driver_kconfig: CONFIG_NORDIC_QSPI_NOR",
    )
    found = run(build_dir, "PMD302")
    assert {finding.image for finding in found} == {"sensor_node", "mcuboot"}
    fix = found[0].fixes[0]
    assert fix.file == build_dir.parent / "sysbuild.conf"
    assert fix.snippet == "SB_CONFIG_PM_OVERRIDE_EXTERNAL_DRIVER_CHECK=y"


def test_override_without_driver_predicts_link_error(tmp_path: Path) -> None:
    build_dir = copy_app(tmp_path, "sysbuild_spinor")
    edit(build_dir / "mcuboot" / "zephyr" / ".config", "CONFIG_SPI_NOR=y\n", "# CONFIG_SPI_NOR is not set\n")
    (finding,) = run(build_dir, "PMD308")
    assert finding.image == "mcuboot"
    assert "__device_dts_ord_" in finding.message
    assert "CONFIG_SPI_NOR=y" in finding.fixes[0].snippet
    assert finding.fixes[0].file == build_dir.parent / "sysbuild" / "mcuboot.conf"
    assert run(build_dir, "PMD302") == []  # the partition is kept, so the link fails instead


# ------------------------------------------------------------------ chosen


def test_images_naming_different_chips(tmp_path: Path) -> None:
    build_dir = copy_app(tmp_path, "sysbuild_spinor")
    edit(
        build_dir / "mcuboot" / "zephyr" / "zephyr.dts",
        "nordic,pm-ext-flash = &w25q128jv;",
        "nordic,pm-ext-flash = &mx25r64;",
    )
    found = [f for f in run(build_dir, "PMD303") if f.image == "mcuboot"]
    assert len(found) == 1
    assert "mx25r64" in found[0].message and "w25q128jv" in found[0].message


def test_overlay_scanner_keeps_lines(tmp_path: Path) -> None:
    overlay = tmp_path / "app.overlay"
    overlay.write_text(
        "/* chosen { zephyr,external-flash = &old; }; */\n"
        "/ {\n"
        "\tchosen {\n"
        "\t\tnordic,pm-ext-flash = &mx25r64; // QSPI\n"
        "\t\tsub { x = &y; };\n"
        "\t};\n"
        "};\n"
        "/ { chosen { zephyr,console = &uart0; }; };\n"
    )
    found = [(c.prop, c.target, c.source.line) for c in scan_chosen(overlay.read_text(), overlay)]
    assert found == [("nordic,pm-ext-flash", "&mx25r64", 4), ("zephyr,console", "&uart0", 8)]


# ----------------------------------------------------------- sysbuild level


def test_option_only_in_prj_conf_was_overwritten(tmp_path: Path) -> None:
    build_dir = copy_app(tmp_path, "sysbuild_spinor")
    edit(
        build_dir / "zephyr" / ".config",
        "SB_CONFIG_PM_EXTERNAL_FLASH_MCUBOOT_SECONDARY=y",
        "# SB_CONFIG_PM_EXTERNAL_FLASH_MCUBOOT_SECONDARY is not set",
    )
    edit(
        build_dir.parent / "prj.conf",
        "CONFIG_FLASH=y\n",
        "CONFIG_FLASH=y\nCONFIG_PM_EXTERNAL_FLASH_MCUBOOT_SECONDARY=y\n",
    )
    found = run(build_dir, "PMD304")
    overwritten = [f for f in found if f.effective_severity is Severity.ERROR]
    assert len(overwritten) == 1
    assert overwritten[0].location.file == build_dir.parent / "prj.conf"
    assert overwritten[0].location.line == 2
    assert overwritten[0].fixes[0].snippet == "SB_CONFIG_PM_EXTERNAL_FLASH_MCUBOOT_SECONDARY=y"
    assert overwritten[0].fixes[0].file == build_dir.parent / "sysbuild.conf"


def test_option_in_prj_conf_and_sysbuild_is_fine(tmp_path: Path) -> None:
    build_dir = copy_app(tmp_path, "sysbuild_spinor")
    edit(
        build_dir.parent / "prj.conf",
        "CONFIG_FLASH=y\n",
        "CONFIG_FLASH=y\nCONFIG_PM_EXTERNAL_FLASH_MCUBOOT_SECONDARY=y\n",
    )
    assert run(build_dir, "PMD304") == []


def test_static_layout_alone_keeps_secondary_external(tmp_path: Path) -> None:
    build_dir = copy_app(tmp_path, "sysbuild_spinor")
    edit(
        build_dir / "zephyr" / ".config",
        "SB_CONFIG_PM_EXTERNAL_FLASH_MCUBOOT_SECONDARY=y",
        "# SB_CONFIG_PM_EXTERNAL_FLASH_MCUBOOT_SECONDARY is not set",
    )
    (finding,) = run(build_dir, "PMD304")
    assert finding.effective_severity is Severity.WARNING
    assert "only because" in finding.message


# ------------------------------------------------------------- size, pages


def test_size_in_bytes_too_small_for_static_partitions(tmp_path: Path) -> None:
    build_dir = copy_app(tmp_path, "pinnacle100")
    edit(build_dir / "zephyr" / "zephyr.dts", "size = < 0x4000000 >;", "size = < 0x800000 >;")
    (finding,) = run(build_dir, "PMD305")
    assert finding.effective_severity is Severity.ERROR
    assert "0x120000" in finding.message and "written in bytes" in finding.message
    assert "size = <0x4000000>;" in finding.fixes[0].snippet


def test_size_larger_than_jedec_capacity(tmp_path: Path) -> None:
    build_dir = copy_app(tmp_path, "sysbuild_spinor")
    edit(
        build_dir / "sensor_node" / "zephyr" / "zephyr.dts", "size = < 0x8000000 >;", "size = < 0x40000000 >;"
    )
    (finding,) = run(build_dir, "PMD305")
    assert "128 MiB" in finding.message and "16 MiB" in finding.message


def test_capacity_written_in_bytes_without_overflow_is_a_warning(tmp_path: Path) -> None:
    build_dir = copy_app(tmp_path, "sysbuild_spinor")
    edit(
        build_dir / "sensor_node" / "zephyr" / "zephyr.dts", "size = < 0x8000000 >;", "size = < 0x1000000 >;"
    )
    (finding,) = run(build_dir, "PMD305")
    assert finding.effective_severity is Severity.WARNING


def test_spi_nor_default_64k_pages(tmp_path: Path) -> None:
    build_dir = copy_app(tmp_path, "sysbuild_spinor")
    edit(build_dir / "mcuboot" / "zephyr" / ".config", "CONFIG_SPI_NOR_FLASH_LAYOUT_PAGE_SIZE=4096\n", "")
    (finding,) = run(build_dir, "PMD306")
    assert finding.image == "mcuboot"
    assert "65536" in finding.message and "not a whole number" in finding.message
    assert finding.fixes[0].snippet == "CONFIG_SPI_NOR_FLASH_LAYOUT_PAGE_SIZE=4096"


# ---------------------------------------------------------------- executable


def test_primary_slot_in_external_flash(tmp_path: Path) -> None:
    build_dir = copy_app(tmp_path, "sysbuild_spinor")
    edit(
        build_dir / "partitions.yml",
        "  - app\n  region: flash_primary\n  size: 0xf2000\n",
        "  - app\n  region: external_flash\n  size: 0xf2000\n",
    )
    (finding,) = run(build_dir, "PMD307")
    assert "`mcuboot_primary`" in finding.message


# ------------------------------------------------------------------ corpus

EXPECTED = {
    "FinnWBiggs__MCUBoot_ExFat": ("PMD302", "mcuboot"),
    "HamdanAli98__Zephyr": ("PMD302", "mcuboot"),
    "wischmi2__pouch-node-ws": ("PMD304", None),
}
HEALTHY = (
    "Botz-Limited__sensing_system-Zephyr",
    "ElijahMaluleke__Smart_Water_Tap_Leakage_Controller_IoT_Project",
    "WesC-sys__ML_demo",
    "justanotherkendrik__matter-sensor-example",
    "manu897__Project-Carl",
    "mitch680l__thingy__2",
    "shuhao-dong__BORUS",
    "soluwadara__nrf_less2_exer1",
    "taifur20__nrf_automation",
    "FinnWBiggs__mini_desktop",
)


@pytest.mark.parametrize("slug", sorted(EXPECTED))
def test_corpus_misconfigurations_are_found(slug: str) -> None:
    corpus = corpus_or_skip()
    rule_id, image = EXPECTED[slug]
    found = ours(corpus / "builds" / slug)[rule_id]
    assert any(finding.image == image for finding in found), found


@pytest.mark.parametrize("slug", HEALTHY)
def test_corpus_healthy_external_secondaries_raise_no_error(slug: str) -> None:
    corpus = corpus_or_skip()
    errors = [
        (rule_id, finding.message)
        for rule_id, found in ours(corpus / "builds" / slug).items()
        for finding in found
        if finding.effective_severity is Severity.ERROR
    ]
    assert errors == []


def test_every_corpus_build_loads_and_checks() -> None:
    corpus = corpus_or_skip()
    for build_dir in sorted((corpus / "builds").iterdir()):
        for rule_id, found in ours(build_dir).items():
            for finding in found:
                assert finding.message and finding.location.file is not None, (build_dir.name, rule_id)


def test_chosen_origin_comes_from_zephyr_dts_comments() -> None:
    corpus = corpus_or_skip()
    build = load_build(corpus / "builds" / "wischmi2__pouch-node-ws")
    origin = build.app.devicetree.chosen_origin["nordic,pm-ext-flash"]
    assert origin.file.name.endswith("xiao_ble.overlay") and origin.line == 4
