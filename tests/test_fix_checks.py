"""Every offered edit is checked (issue 11): targets the build reads, re-run rules, field safety."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import List, Tuple

import pytest

from conftest import corpus_or_skip
from helpers import copy_tree, run_pmdoctor
from pmdoctor.analysis import Analysis, check
from pmdoctor.api import analyze, load_build, triage
from pmdoctor.fixes.simulate import simulate
from pmdoctor.fixes.verify import finding_key, verify
from pmdoctor.model.findings import Finding, Severity
from pmdoctor.rules import run_all
from pmdoctor.rules._shared import targets

FOUNDATION = Path(__file__).resolve().parent / "builds" / "foundation"

NAMED_STATIC = """\
mcuboot:
  address: 0x0
  size: 0xc000
  region: flash_primary
image_0:
  address: 0xc000
  size: 0x76000
  region: flash_primary
mcuboot_secondary:
  address: 0x82000
  size: 0x76000
  region: flash_primary
storage:
  address: 0xf8000
  size: 0x8000
  region: flash_primary
"""


def static_case(tmp_path: Path) -> Path:
    """A child-image nRF52840 build with pm_static.yml in its application directory; the build dir."""
    return copy_tree(FOUNDATION / "static_nrf52840", tmp_path / "case") / "app" / "build"


def pmd003(build_dir: Path) -> dict:
    return {f.subject[0]: f for f in analyze(build_dir, ["PMD003"]).findings}


def test_pm_static_yml_file_in_the_cache_is_the_file_fixes_edit(tmp_path: Path) -> None:
    build_dir = static_case(tmp_path)
    product = build_dir.parent / "layouts" / "product.yml"
    product.parent.mkdir()
    product.write_text(NAMED_STATIC)
    cache = build_dir / "CMakeCache.txt"
    cache.write_text(cache.read_text() + f"PM_STATIC_YML_FILE:INTERNAL={product}\n")
    fix = pmd003(build_dir)["image_0"].fixes[0]
    assert fix.edits and {edit.target.file for edit in fix.edits} == {product}
    assert "PM_STATIC_YML_FILE" in fix.edits[0].target.convention
    assert fix.mechanical  # the renamed partition is what PM expects, and nothing new breaks


def test_mcuboot_overlay_config_in_the_cache_takes_mcuboot_options(tmp_path: Path) -> None:
    build_dir = static_case(tmp_path)
    conf = build_dir.parent / "conf" / "mcuboot.conf"
    conf.parent.mkdir()
    conf.write_text("CONFIG_LOG=n\n")
    cache = build_dir / "CMakeCache.txt"
    cache.write_text(
        cache.read_text() + f"mcuboot_OVERLAY_CONFIG:INTERNAL={conf};/ncs/nrf/subsys/pm/pm_enabled.conf\n"
    )
    build = load_build(build_dir)
    fix = targets.image_kconfig(build, build.image("mcuboot"), ["CONFIG_BOOT_MAX_IMG_SECTORS=256"], "why")
    assert fix.file == conf and "mcuboot_OVERLAY_CONFIG" in fix.edits[0].target.convention


def test_storage_rename_with_nvs_is_advice(tmp_path: Path) -> None:
    build_dir = static_case(tmp_path)
    (build_dir.parent / "pm_static.yml").write_text(NAMED_STATIC)
    config = build_dir / "zephyr" / ".config"
    config.write_text(config.read_text() + "CONFIG_NVS=y\nCONFIG_SETTINGS=y\n")
    fix = pmd003(build_dir)["storage"].fixes[0]
    assert fix.edits and not fix.mechanical
    assert "FLASH_AREA_ID" in fix.conflict and "CONFIG_NVS" in fix.conflict
    assert fix.field_warning and "data stored in `storage`" in fix.field_warning


def _with_fix(build_dir: Path, fix) -> Tuple[Analysis, Finding]:
    """The build's analysis with one extra finding carrying ``fix``, as a rule would yield it."""
    build = load_build(build_dir)
    analysis = check(build)
    finding = Finding("test finding", rule="PMD999", subject=("test",), fixes=[fix])
    analysis.findings.append(finding)
    verify(analysis)
    return analysis, finding


def test_moving_the_image_after_mcuboot_pad_alone_is_refused(tmp_path: Path) -> None:
    build_dir = static_case(tmp_path)
    build = load_build(build_dir)
    move = targets.static_fix(
        build, None, [targets.static_set("mcuboot_primary_app", "address", 0xD000)], "x"
    )
    _, finding = _with_fix(build_dir, move)
    (fix,) = finding.fixes
    assert not fix.mechanical and "separates it from its header in `mcuboot_pad`" in fix.conflict


def test_a_fix_that_creates_an_overlap_is_advice_naming_it(tmp_path: Path) -> None:
    build_dir = static_case(tmp_path)
    build = load_build(build_dir)
    grow = targets.static_fix(
        build,
        None,
        targets.extent_edits(build.static_files[0].layout.get("mcuboot_secondary"), size=0x78000),
        "x",
    )
    _, finding = _with_fix(build_dir, grow)
    fix = finding.fixes[0]
    assert not fix.mechanical and "settings_storage" in fix.conflict and "PMD1" in fix.conflict
    assert (
        fix.field_warning and "mcuboot_secondary" in fix.field_warning and "--baseline" in fix.field_warning
    )


def test_unaligned_sizes_are_never_mechanical(tmp_path: Path) -> None:
    build_dir = static_case(tmp_path)
    build = load_build(build_dir)
    odd = targets.static_fix(build, None, [targets.static_set("settings_storage", "size", 0x7E00)], "x")
    _, finding = _with_fix(build_dir, odd)
    assert "not whole erase blocks (0x1000)" in finding.fixes[0].conflict


def test_deployed_layout_with_baseline_is_never_moved_mechanically(tmp_path: Path) -> None:
    build_dir = static_case(tmp_path)
    build = load_build(build_dir)
    storage = build.static_files[0].layout.get("settings_storage")
    shrink = targets.static_fix(build, None, targets.extent_edits(storage, size=0x4000), "x")
    _, finding = _with_fix(build_dir, shrink)
    # Nothing deployed is known: the re-run decides (here a second free gap), the field warning is shown.
    assert "--baseline" not in finding.fixes[0].conflict and "PMD105" in finding.fixes[0].conflict
    assert "settings_storage" in finding.fixes[0].field_warning
    build.baselines = [copy.deepcopy(build.static_files[0].layout)]
    analysis = check(build)
    analysis.findings.append(Finding("test", rule="PMD999", subject=("t",), fixes=[shrink]))
    verify(analysis)
    fix = analysis.findings[-1].fixes[0]
    assert not fix.mechanical and "--baseline" in fix.conflict and "deployed at 0xf8000" in fix.conflict


def test_baseline_on_the_command_line_keeps_deployed_partitions_put(tmp_path: Path) -> None:
    """The rename of `image_0` is mechanical on the desk; with the deployed layout given, it is advice."""
    build_dir = static_case(tmp_path)
    (build_dir.parent / "pm_static.yml").write_text(NAMED_STATIC)
    deployed = tmp_path / "deployed_pm_static.yml"
    deployed.write_text(NAMED_STATIC)

    def image_0_fix(*extra: str) -> dict:
        result = run_pmdoctor(
            "check", "-d", str(build_dir), "--format", "json", "--rules", "PMD003", *extra, cwd=tmp_path
        )
        assert result.returncode in (0, 1), result.stderr
        findings = json.loads(result.stdout)["builds"][0]["findings"]
        return next(f for f in findings if "image_0" in f["message"])["fixes"][0]

    plain = image_0_fix()
    assert plain["status"] == "mechanical" and "--baseline" in plain["field_warning"]
    assert plain["edits"][0]["file"].endswith("pm_static.yml")
    guarded = image_0_fix("--baseline", str(deployed))
    assert guarded["status"] == "advice" and guarded["mechanical"] is False
    assert "`image_0` is deployed at 0xc000 (--baseline)" in guarded["conflict"]


def test_missing_storage_is_added_in_free_flash_and_checked(tmp_path: Path) -> None:
    build_dir = static_case(tmp_path)
    for layout in (build_dir.parent / "pm_static.yml", build_dir / "partitions.yml"):
        text = layout.read_text()
        start = text.index("settings_storage:")
        layout.write_text(text[:start] + text[text.index("sram_primary:") :])
    config = build_dir / "zephyr" / ".config"
    config.write_text(config.read_text() + "CONFIG_SETTINGS_NVS=y\n")
    findings = analyze(build_dir, ["PMD601"]).findings
    fixes = [fix for finding in findings for fix in finding.fixes if fix.edits]
    assert fixes, [f.message for f in findings]
    (added,) = fixes[0].edits
    assert added.partition == "settings_storage" and dict(added.entries)["address"] >= 0xF8000
    assert fixes[0].mechanical, fixes[0].conflict


# -- the corpus: every fix offered as mechanical passes its own check -------------------------------------


def _recheck(analysis: Analysis) -> List[str]:
    """Apply each mechanical fix on its own, apart from the checker: the finding goes, no error comes."""
    failures: List[str] = []
    before = {finding_key(f) for f in analysis.findings}
    before |= {
        finding_key(f) for f in run_all(analysis.build, analysis.rules_run)
    }  # also those ranking folds
    for finding in analysis.findings:
        for fix in finding.fixes:
            if not fix.mechanical:
                continue
            after = list(run_all(simulate(analysis.build, fix.edits), analysis.rules_run))
            keys = {finding_key(f) for f in after}
            new = [
                f for f in after if f.effective_severity is Severity.ERROR and finding_key(f) not in before
            ]
            if finding_key(finding) in keys or new:
                failures.append(f"{finding.rule} {fix.description}")
    return failures


def test_corpus_mechanical_fixes_pass_their_own_check() -> None:
    corpus = corpus_or_skip()
    count, failures = 0, []
    analyses = [analyze(path) for path in sorted((corpus / "builds").iterdir()) if path.is_dir()]
    analyses += [triage(path) for path in sorted((corpus / "pm_static").iterdir()) if path.is_file()]
    for analysis in analyses:
        count += sum(fix.mechanical for finding in analysis.findings for fix in finding.fixes)
        failures += _recheck(analysis)
        for finding in analysis.findings:
            for fix in finding.fixes:
                assert not fix.edits or fix.mechanical or fix.conflict, (finding.rule, fix.description)
    print(
        f"\n{count} mechanical fixes over {len(analyses)} corpus inputs, {len(failures)} failed their check"
    )
    assert not failures


@pytest.mark.parametrize("name", ["static_nrf52840"])
def test_every_fix_with_edits_is_either_checked_or_names_its_conflict(tmp_path: Path, name: str) -> None:
    build_dir = static_case(tmp_path)
    (build_dir.parent / "pm_static.yml").write_text(NAMED_STATIC)
    for finding in analyze(build_dir).findings:
        for fix in finding.fixes:
            assert not fix.edits or fix.checked is True or fix.conflict


def test_removing_a_slot_before_the_free_space_entry_hands_its_space_to_that_entry():
    """The bundled example: its static file names external_flash's free space, so Partition
    Manager recomputes nothing and wants the region's static partitions to meet it. Dropping
    the nRF5340 slots alone leaves a hole (PMD105 on the edited model); the fix also moves
    the free-space entry down over the hole, and that passes its check."""
    example = Path(__file__).resolve().parents[1] / "examples" / "pinnacle100-qspi-secondary" / "build"
    analysis = analyze(example)
    [foreign] = [f for f in analysis.findings if f.rule == "PMD201"]
    removal = foreign.fixes[0]
    removed = {edit.partition for edit in removal.edits if edit.key is None}
    assert removed == {"mcuboot_primary_1", "mcuboot_secondary_1", "pcd_sram"}
    assert removal.checked and removal.mechanical, removal.conflict
    edited = simulate(analysis.build, removal.edits)
    free = edited.static_files[0].layout.partitions["external_flash"]
    assert (free.address, free.address + free.size) == (0xE0000, 0x800000)
    holes_left = simulate(analysis.build, [e for e in removal.edits if e.partition != "external_flash"])
    assert "PMD105" in {f.rule for f in run_all(holes_left)}


def test_removing_slots_of_an_image_mcuboot_does_not_update_moves_nothing_deployed(tmp_path):
    """A copied `mcuboot_secondary_1` on a one-image MCUboot: no device uses it, no field warning.
    With two updateable images the same removal does take a slot devices use."""
    example = Path(__file__).resolve().parents[1] / "examples" / "pinnacle100-qspi-secondary"
    [removal] = [f.fixes[0] for f in analyze(example / "build").findings if f.rule == "PMD201"]
    assert removal.mechanical and removal.field_warning is None
    copy = copy_tree(example, tmp_path / "two")
    config = copy / "build" / "mcuboot" / "zephyr" / ".config"
    config.write_text(
        config.read_text().replace("CONFIG_UPDATEABLE_IMAGE_NUMBER=1", "CONFIG_UPDATEABLE_IMAGE_NUMBER=2")
    )
    [two] = [f.fixes[0] for f in analyze(copy / "build").findings if f.rule == "PMD201"]
    assert two.field_warning and "mcuboot_primary_1" in two.field_warning


def test_enabling_a_driver_in_an_sdk_without_the_driver_check_adds_no_check():
    """NCS before CONFIG_PM_EXTERNAL_FLASH_HAS_DRIVER (HamdanAli98, child images): enabling the
    SPI NOR driver in MCUboot must not give the simulated build a check its Partition Manager
    never makes, so the fix passes instead of 'causing' PMD302 for the app."""
    build = corpus_or_skip() / "builds" / "HamdanAli98__Zephyr"
    [missing] = [f for f in analyze(build).findings if f.rule == "PMD302"]
    assert missing.image == "mcuboot"
    enable = missing.fixes[0]
    assert {e.symbol for e in enable.edits} >= {"CONFIG_SPI", "CONFIG_SPI_NOR"}
    assert enable.checked, enable.conflict


def test_an_option_that_only_makes_the_images_agree_with_the_layout_moves_nothing():
    """wischmi2: the static layout already puts mcuboot_secondary on external flash; turning
    SB_CONFIG_PM_EXTERNAL_FLASH_MCUBOOT_SECONDARY on makes the images agree, it moves no slot."""
    build = corpus_or_skip() / "builds" / "wischmi2__pouch-node-ws"
    [level] = [f for f in analyze(build).findings if f.rule == "PMD304"]
    [option] = level.fixes
    assert [(e.symbol, e.value) for e in option.edits] == [
        ("SB_CONFIG_PM_EXTERNAL_FLASH_MCUBOOT_SECONDARY", "y")
    ]
    assert option.checked and option.field_warning is None
