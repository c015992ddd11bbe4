"""Rules emit their fixes as exact edits: which file, which key or symbol, which value.

Each test triggers a rule on a fixture (or a copy with one visible change)
and asserts the edits concretely; cures that need judgement stay advice
and name what stands in the way.
"""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional, Tuple

from conftest import BUILDS
from helpers import copy_tree, edit
from pmdoctor.api import analyze, check, load_build
from pmdoctor.baseline import load_baseline
from pmdoctor.loaders.logs import parse_log
from pmdoctor.model import Build, Era
from pmdoctor.model.edits import Action, KconfigEdit, OverlayEdit, StaticEdit
from pmdoctor.model.findings import Finding, Fix, Severity
from test_rules_foundation import _secondary_size

FOUNDATION = BUILDS / "foundation"
BLINKY = Path("/home/user/ncs/apps/blinky")  # the source dir the foundation fixtures' caches name


def only(directory: Path, rule: str) -> Finding:
    found = [f for f in analyze(directory).findings if f.rule == rule]
    assert len(found) == 1, [f.message for f in found]
    return found[0]


def static_sets(fix: Fix) -> List[Tuple[str, str, object]]:
    return [
        (e.partition, e.key, e.value)
        for e in fix.edits
        if isinstance(e, StaticEdit) and e.action is Action.SET
    ]


def added(fix: Fix, name: str) -> dict:
    [edit_] = [
        e for e in fix.edits if isinstance(e, StaticEdit) and e.action is Action.ADD and e.partition == name
    ]
    return dict(edit_.entries)


def kconfig_sets(fix: Fix) -> List[Tuple[Path, str, str]]:
    return [(e.target.file, e.symbol, e.value) for e in fix.edits if isinstance(e, KconfigEdit)]


def assert_not_generated(fix: Fix, build_dir: Path) -> None:
    for edit_ in fix.edits:
        path = edit_.target.file
        assert path.name not in ("partitions.yml", "zephyr.dts", ".config"), path
        assert build_dir not in path.parents, path


# ------------------------------------------------------------------ PMD401


def _secondary(case: Path, size: int, storage_at: int = 0xF8000) -> None:
    _secondary_size(case, size, storage_at)


def test_smaller_secondary_grows_to_the_primary_in_a_new_static_file(tmp_path: Path) -> None:
    case = copy_tree(FOUNDATION / "child_image_nrf52840", tmp_path / "case")
    _secondary(case, 0x74000)  # two sectors short, free space after it
    fix = only(case, "PMD401").fixes[0]
    assert_not_generated(fix, case)
    assert fix.file == BLINKY / "pm_static.yml"
    assert all(e.action is Action.ADD and not e.target.exists for e in fix.edits)
    secondary = added(fix, "mcuboot_secondary")
    assert (secondary["address"], secondary["size"], secondary["end_address"]) == (0x82000, 0x76000, 0xF8000)
    assert added(fix, "mcuboot_primary")["size"] == 0x76000  # the primary is never touched
    assert fix.mechanical  # re-checked: the copy keeps `app` at 0xc200, inside its slot, as built


def test_growing_into_a_neighbour_is_advice_naming_it(tmp_path: Path) -> None:
    case = copy_tree(FOUNDATION / "child_image_nrf52840", tmp_path / "case")
    _secondary(case, 0x74000, storage_at=0xF6000)  # settings_storage right after the secondary
    fix = only(case, "PMD401").fixes[0]
    assert fix.edits == ()
    assert fix.conflict == (
        "growing `mcuboot_secondary` to match would overlap `settings_storage`; move it first"
    )
    assert "settings_storage" in fix.description


def test_larger_secondary_in_the_static_file_takes_the_primary_size() -> None:
    case = BUILDS / "cli" / "slot_mismatch"
    fix = only(case / "build", "PMD401").fixes[0]
    assert fix.file == case / "pm_static.yml"
    assert {e.target.file for e in fix.edits} == {case / "pm_static.yml"}
    assert static_sets(fix) == [
        ("mcuboot_secondary", "size", 0x79000),
        ("mcuboot_secondary", "end_address", 0xFE000),
    ]
    assert fix.mechanical and "DFU from the old firmware breaks" in fix.field_warning


def _primary_ends_at(case: Path, end: int, members_too: bool) -> None:
    """Move the end of mcuboot_primary (and, with ``members_too``, of app and mcuboot_primary_app)."""
    partitions = case / "partitions.yml"
    lines = partitions.read_text().splitlines()
    current = None
    for number, line in enumerate(lines):
        if not line.startswith(" "):
            current = line.rstrip(":")
        wanted = current == "mcuboot_primary" or (members_too and current in ("app", "mcuboot_primary_app"))
        if wanted and line == "  end_address: 0x82000":
            lines[number] = f"  end_address: {end:#x}"
        if wanted and line.startswith("  size: "):
            start = {"mcuboot_primary": 0xC000}.get(current, 0xC200)
            lines[number] = f"  size: {end - start:#x}"
    partitions.write_text("\n".join(lines) + "\n")


def test_primary_not_whole_erase_blocks_is_advice(tmp_path: Path) -> None:
    case = copy_tree(FOUNDATION / "child_image_nrf52840", tmp_path / "case")
    _primary_ends_at(case, 0x81E00, members_too=True)
    fix = only(case, "PMD401").fixes[0]
    assert fix.edits == ()
    assert "`mcuboot_primary` is 0x75e00 bytes, not whole 0x1000-byte erase blocks" in fix.conflict


def test_primary_that_lost_its_span_gets_it_back(tmp_path: Path) -> None:
    case = copy_tree(FOUNDATION / "child_image_nrf52840", tmp_path / "case")
    _primary_ends_at(case, 0x81E00, members_too=False)
    fix = only(case, "PMD401").fixes[0]
    primary = added(fix, "mcuboot_primary")
    assert (primary["address"], primary["size"], primary["end_address"]) == (0xC000, 0x76000, 0x82000)
    assert added(fix, "mcuboot_secondary")["size"] == 0x76000


# ------------------------------------------------------------------ PMD102, PMD105, PMD106


def test_out_of_bounds_is_advice_naming_the_static_file_to_create(tmp_path: Path) -> None:
    case = copy_tree(FOUNDATION / "child_image_nrf52840", tmp_path / "case")
    edit(
        case / "partitions.yml",
        "settings_storage:\n  address: 0xf8000\n  end_address: 0x100000\n",
        "settings_storage:\n  address: 0xfa000\n  end_address: 0x102000\n",
    )
    fix = only(case, "PMD102").fixes[0]
    assert fix.edits == ()
    assert fix.file == BLINKY / "pm_static.yml"
    assert "copy it to pm_static.yml" in fix.description


def test_second_gap_gets_a_filler_and_the_app_gap_stays() -> None:
    case = FOUNDATION / "pm_failed" / "app"
    fix = only(case / "build", "PMD105").fixes[0]
    [filler] = fix.edits
    assert filler.target.file == case / "pm_static.yml" and filler.target.exists
    assert (filler.action, filler.partition) == (Action.ADD, "EMPTY_0")
    # the file writes no end_address, so the filler does not either
    assert dict(filler.entries) == {"address": 0xF8000, "region": "flash_primary", "size": 0x2000}
    assert "keep 0xc200-0x82000 for the dynamic partitions" in fix.description
    assert fix.mechanical


def test_start_to_end_region_fills_the_hole_before_its_partition(tmp_path: Path) -> None:
    case = copy_tree(FOUNDATION / "static_nrf52840", tmp_path / "case")
    build = case / "app" / "build"
    (build / "regions.yml").write_text((FOUNDATION / "child_image_nrf52840" / "regions.yml").read_text())
    edit(
        case / "app" / "pm_static.yml",
        "mcuboot:\n",
        "littlefs_storage:\n  address: 0x10000\n  size: 0x10000\n  region: external_flash\nmcuboot:\n",
    )
    fix = only(build, "PMD105").fixes[0]
    [filler] = fix.edits
    assert filler.target.file == case / "app" / "pm_static.yml"
    entries = dict(filler.entries)
    assert (entries["address"], entries["size"], entries["region"]) == (0x0, 0x10000, "external_flash")
    # An EMPTY_n filler is opened by no code: no image needs a driver for it (PMD301), so it passes.
    assert fix.mechanical, fix.conflict


def test_empty_secondary_takes_the_primary_size(tmp_path: Path) -> None:
    case = copy_tree(FOUNDATION / "child_image_nrf52840", tmp_path / "case")
    edit(
        case / "partitions.yml",
        "  - mcuboot_primary\n  size: 0x76000\n",
        "  - mcuboot_primary\n  size: 0x0\n",
    )
    fix = only(case, "PMD106").fixes[0]
    assert_not_generated(fix, case)
    secondary = added(fix, "mcuboot_secondary")
    assert (secondary["address"], secondary["size"]) == (0x82000, 0x76000)
    assert fix.mechanical


# ------------------------------------------------------------------ MCUboot (PMD402, PMD403, PMD407)

MCUBOOT = BUILDS / "mcuboot" / "nrf52840_sysbuild_ext"


def _mcuboot_case(tmp_path: Path) -> Path:
    return copy_tree(MCUBOOT, tmp_path / "build")


def test_max_img_sectors_goes_into_sysbuild_mcuboot_conf(tmp_path: Path) -> None:
    build = _mcuboot_case(tmp_path)
    config = build / "mcuboot" / "zephyr" / ".config"
    edit(config, "CONFIG_BOOT_MAX_IMG_SECTORS=256", "CONFIG_BOOT_MAX_IMG_SECTORS=128")
    fix = only(build, "PMD402").fixes[0]
    assert kconfig_sets(fix) == [(BLINKY / "sysbuild" / "mcuboot.conf", "CONFIG_BOOT_MAX_IMG_SECTORS", "256")]
    [edit_] = fix.edits
    assert (edit_.action, edit_.image) == (Action.SET, "mcuboot")
    assert fix.mechanical
    assert_not_generated(fix, build)


def test_scratch_mode_switches_to_move_in_sysbuild_conf(tmp_path: Path) -> None:
    build = _mcuboot_case(tmp_path)
    _scratch_mode(build)
    mode, scratch = only(build, "PMD403").fixes
    assert kconfig_sets(mode) == [(BLINKY / "sysbuild.conf", "SB_CONFIG_MCUBOOT_MODE_SWAP_USING_MOVE", "y")]
    assert scratch.edits == ()  # where a new scratch area goes is the project's choice


def _scratch_mode(build: Path) -> None:
    edit(
        build / "zephyr" / ".config",
        "SB_CONFIG_MCUBOOT_MODE_SWAP_USING_MOVE=y\n# SB_CONFIG_MCUBOOT_MODE_SWAP_SCRATCH is not set",
        "# SB_CONFIG_MCUBOOT_MODE_SWAP_USING_MOVE is not set\nSB_CONFIG_MCUBOOT_MODE_SWAP_SCRATCH=y",
    )
    edit(
        build / "mcuboot" / "zephyr" / ".config",
        "CONFIG_BOOT_SWAP_USING_MOVE=y\n# CONFIG_BOOT_SWAP_USING_SCRATCH is not set",
        "# CONFIG_BOOT_SWAP_USING_MOVE is not set\nCONFIG_BOOT_SWAP_USING_SCRATCH=y",
    )


def _half_sector_scratch(build: Path, storage_at: int) -> None:
    """A 0x800 mcuboot_scratch at 0xf8000, with settings_storage moved up to start at ``storage_at``."""
    partitions = build / "partitions.yml"
    storage = "  address: {:#x}\n  end_address: 0x100000\n"
    edit(partitions, storage.format(0xF8000), storage.format(storage_at))
    edit(partitions, "  size: 0x8000\n", f"  size: {0x100000 - storage_at:#x}\n")
    edit(
        partitions,
        "settings_storage:",
        "mcuboot_scratch:\n  address: 0xf8000\n  end_address: 0xf8800\n  region: flash_primary\n"
        "  size: 0x800\nsettings_storage:",
    )


def test_small_scratch_grows_into_free_flash(tmp_path: Path) -> None:
    build = _mcuboot_case(tmp_path)
    _scratch_mode(build)
    _half_sector_scratch(build, storage_at=0xFA000)
    fix = only(build, "PMD403").fixes[0]
    scratch = added(fix, "mcuboot_scratch")
    assert (scratch["address"], scratch["size"], scratch["end_address"]) == (0xF8000, 0x1000, 0xF9000)


def test_scratch_against_a_neighbour_is_advice(tmp_path: Path) -> None:
    build = _mcuboot_case(tmp_path)
    _scratch_mode(build)
    _half_sector_scratch(build, storage_at=0xF8800)
    [fix] = only(build, "PMD403").fixes
    assert fix.edits == ()
    assert fix.conflict == "growing `mcuboot_scratch` would overlap `settings_storage`; move it first"


def test_updateable_images_count_set_in_sysbuild_conf(tmp_path: Path) -> None:
    build = _mcuboot_case(tmp_path)
    config = build / "mcuboot" / "zephyr" / ".config"
    edit(config, "CONFIG_UPDATEABLE_IMAGE_NUMBER=1", "CONFIG_UPDATEABLE_IMAGE_NUMBER=2")
    [count] = [f for f in analyze(build).findings if f.rule == "PMD407" and f.subject == ("image-number",)]
    assert kconfig_sets(count.fixes[0]) == [
        (BLINKY / "sysbuild.conf", "SB_CONFIG_MCUBOOT_UPDATEABLE_IMAGES", "2")
    ]


# ------------------------------------------------------------------ static files (PMD203, PMD204)

STATIC_APP = BUILDS / "static" / "nrf52840_child" / "app"


def test_freezing_the_layout_adds_every_generated_partition(tmp_path: Path) -> None:
    app = copy_tree(STATIC_APP, tmp_path / "app")
    (app / "pm_static.yml").unlink()
    [fix] = only(app / "build", "PMD203").fixes
    assert fix.file == app / "pm_static.yml"
    assert_not_generated(fix, app / "build")
    generated = analyze(app / "build").build.layout_for_domain(None)
    assert [e.partition for e in fix.edits] == list(generated.partitions)
    assert all(e.action is Action.ADD and e.target.file == app / "pm_static.yml" for e in fix.edits)
    secondary = generated.get("mcuboot_secondary")
    assert added(fix, "mcuboot_secondary")["address"] == secondary.address
    assert added(fix, "mcuboot_secondary")["size"] == secondary.size
    assert fix.mechanical  # freezing moves nothing, and the copied `app` offset is the built one


def test_unused_static_file_points_at_the_file_the_cache_names(tmp_path: Path) -> None:
    app = copy_tree(STATIC_APP, tmp_path / "app")
    board_file = tmp_path / "board_pm_static.yml"
    (app / "pm_static.yml").rename(board_file)
    (app / "pm_static.yaml").write_text(board_file.read_text())
    cache = app / "build" / "CMakeCache.txt"
    cache.write_text(cache.read_text() + f"PM_STATIC_YML_FILE:INTERNAL={board_file}\n")
    [finding] = [f for f in analyze(app / "build").findings if f.rule == "PMD204"]
    assert finding.fixes[0].edits == ()
    assert f"merge your changes into {board_file}" in finding.fixes[0].description


# ------------------------------------------------------------------ PMD408, PMD501, PMD503


def _soc_case(tmp_path: Path, name: str) -> Path:
    return copy_tree(BUILDS / "soc" / name, tmp_path / "build")


def _rewrite(build: Path, change) -> None:
    import yaml

    path = build / "partitions.yml"
    data = yaml.safe_load(path.read_text())
    change(data)
    path.write_text(yaml.safe_dump(data))


def test_fprotect_layout_cure_is_advice_and_the_development_cure_an_edit(tmp_path: Path) -> None:
    build = _soc_case(tmp_path, "nrf9160_tfm_mcuboot")

    def drop_padding(data: dict) -> None:
        del data["EMPTY_0"]
        for name in ("mcuboot_pad", "mcuboot_primary"):
            data[name]["address"] = 0xC000

    _rewrite(build, drop_padding)
    layout_fix, disable = only(build, "PMD408").fixes
    assert layout_fix.edits == ()
    [(path, symbol, value)] = kconfig_sets(disable)
    assert (path.as_posix().endswith("child_image/mcuboot.conf"), symbol, value) == (
        True,
        "CONFIG_FPROTECT",
        "n",
    )
    assert disable.edits[0].image == "mcuboot"


def test_netcore_options_are_sysbuild_edits_and_the_partitions_advice(tmp_path: Path) -> None:
    build = _soc_case(tmp_path, "nrf5340_netcore_sysbuild")
    edit(build / "zephyr" / ".config", "SB_CONFIG_SECURE_BOOT_NETCORE=y\n", "")

    def drop(data: dict) -> None:
        for name in ("mcuboot_primary_1", "mcuboot_secondary_1", "pcd_sram", "ram_flash"):
            del data[name]

    _rewrite(build, drop)
    fixes = only(build, "PMD501").fixes
    assert fixes[0].edits == () and "region: ram_flash" in fixes[0].snippet
    [option] = fixes[1:]
    [edit_] = option.edits
    assert (edit_.target.file.name, edit_.symbol, edit_.value) == (
        "sysbuild.conf",
        "SB_CONFIG_SECURE_BOOT_NETCORE",
        "y",
    )


def test_tfm_size_is_a_kconfig_edit_in_the_app(tmp_path: Path) -> None:
    build = _soc_case(tmp_path, "nrf9160_tfm_mcuboot")

    def unaligned_tfm(data: dict) -> None:
        data["tfm"]["size"] = 0x8000
        data["tfm_secure"]["size"] = 0x8200
        data["tfm_nonsecure"].update(address=0x18200, size=0x67E00)
        data["app"].update(address=0x18200, size=0x67E00)

    _rewrite(build, unaligned_tfm)
    size, border = only(build, "PMD503").fixes
    [(path, symbol, value)] = kconfig_sets(size)
    assert (path.name, symbol, value) == ("prj.conf", "CONFIG_PM_PARTITION_SIZE_TFM", "0xfe00")
    assert size.edits[0].image == "app"
    assert border.edits == ()


# ------------------------------------------------------------------ devicetree era (PMD702, PMD703, PMD704)

DT = BUILDS / "dt"


def _dt_findings(build: Path, rule: str, baseline: Optional[Path] = None) -> List[Finding]:
    loaded = load_build(build)
    if baseline is not None:
        loaded.baselines = load_baseline(baseline)
    return check(loaded, [rule]).findings


def test_code_partition_is_a_chosen_property_in_mcuboot_overlay(tmp_path: Path) -> None:
    build = copy_tree(DT / "nrf54l15_mcuboot", tmp_path / "build")
    edit(
        build / "mcuboot/zephyr/zephyr.dts",
        "zephyr,code-partition = &boot_partition;",
        "zephyr,code-partition = &slot0_partition;",
    )
    [finding] = _dt_findings(build, "PMD702")
    [chosen] = finding.fixes[0].edits
    assert isinstance(chosen, OverlayEdit)
    assert (chosen.action, chosen.node, chosen.prop, chosen.value) == (
        Action.SET,
        "/chosen",
        "zephyr,code-partition",
        "&boot_partition",
    )
    assert chosen.target.file.name == "mcuboot.overlay" and chosen.image == "mcuboot"
    assert_not_generated(finding.fixes[0], build)


def test_pm_leftover_options_are_removed_from_their_fragment(tmp_path: Path) -> None:
    app = tmp_path / "hello"
    build = copy_tree(DT / "nrf54l15_mcuboot", app / "build")
    (app / "CMakeLists.txt").write_text("cmake_minimum_required(VERSION 3.20.0)\n")
    (app / "prj.conf").write_text("CONFIG_SETTINGS=y\nCONFIG_PM_PARTITION_SIZE_SETTINGS_STORAGE=0x4000\n")
    [finding] = _dt_findings(build, "PMD703")
    [removal] = finding.fixes[0].edits
    assert (removal.target.file, removal.action, removal.symbol) == (
        app / "prj.conf",
        Action.REMOVE,
        "CONFIG_PM_PARTITION_SIZE_SETTINGS_STORAGE",
    )


def test_drifted_storage_goes_back_to_the_deployed_reg(tmp_path: Path) -> None:
    build = copy_tree(DT / "nrf52840dk_zephyr_mcuboot", tmp_path / "build")
    for image in ("blinky", "mcuboot"):
        edit(build / image / "zephyr/zephyr.dts", "reg = < 0xf8000 0x8000 >;", "reg = < 0xf9000 0x7000 >;")
    [finding] = _dt_findings(build, "PMD704", DT / "baselines" / "nrf52840dk_partitions.yml")
    [reg] = finding.fixes[0].edits
    assert (reg.node, reg.prop, reg.value) == ("&storage_partition", "reg", "<0xf8000 0x8000>")
    assert_not_generated(finding.fixes[0], build)


# ------------------------------------------------------------------ logs (PMD802, PMD803, PMD806)


def _with_log(build: Build, tmp_path: Path, text: str) -> Build:
    path = tmp_path / "console.log"
    path.write_text(text)
    build.symptoms = parse_log(text, path).symptoms
    return build


def test_log_fixes_that_are_settings_become_kconfig_edits(tmp_path: Path) -> None:
    bare = Build(path=tmp_path, era=Era.CHILD_IMAGE, partition_manager=True)
    log = "E: Failed to open flash area ID 1 (image 0 slot 1): -19\n"
    log += "E: Protect mcuboot flash failed, cancel startup.\n"
    found = {f.rule: f for f in check(_with_log(bare, tmp_path, log)).findings}
    assert kconfig_sets(found["PMD802"].fixes[0]) == [
        (Path("prj.conf"), "CONFIG_LOG", "y"),
        (Path("prj.conf"), "CONFIG_FLASH_LOG_LEVEL_DBG", "y"),
    ]
    protect = kconfig_sets(found["PMD806"].fixes[0])
    assert protect == [(Path("child_image/mcuboot.conf"), "CONFIG_FPROTECT", "n")]


def test_sector_count_from_the_attached_layout(tmp_path: Path) -> None:
    sectors = "W: Failed reading sectors; BOOT_MAX_IMG_SECTORS=128 - too small?\n"
    bare = Build(path=tmp_path, era=Era.CHILD_IMAGE, partition_manager=True)
    [guess] = [f for f in check(_with_log(bare, tmp_path, sectors)).findings if f.rule == "PMD803"]
    assert guess.fixes[0].edits == () and guess.fixes[0].snippet == "CONFIG_BOOT_MAX_IMG_SECTORS=256"
    # The fixture's MCUboot already has 128, enough for 118 sectors: no sector-table edit, a note.
    enough = _with_log(load_build(FOUNDATION / "sysbuild_nrf52840"), tmp_path, sectors)
    [note] = [f for f in check(enough).findings if f.rule == "PMD803"]
    assert note.effective_severity is Severity.NOTE and "already covers" in note.message
    assert not any("BOOT_MAX_IMG_SECTORS" in fix.snippet for fix in note.fixes)
    small = copy_tree(FOUNDATION / "sysbuild_nrf52840", tmp_path / "small")
    config = small / "mcuboot" / "zephyr" / ".config"
    config.write_text(
        config.read_text().replace("CONFIG_BOOT_MAX_IMG_SECTORS=128", "CONFIG_BOOT_MAX_IMG_SECTORS=64")
    )
    build = _with_log(load_build(small), tmp_path, sectors)
    [counted] = [f for f in check(build).findings if f.rule == "PMD803"]
    [(path, symbol, value)] = kconfig_sets(counted.fixes[0])
    assert (path.as_posix().endswith("sysbuild/mcuboot.conf"), symbol, value) == (
        True,
        "CONFIG_BOOT_MAX_IMG_SECTORS",
        "128",  # 0x76000 / 0x1000 = 118 sectors
    )


# ------------------------------------------------------------------ the file the build reads


def _cache_entry(build: Path, line: str) -> None:
    cache = build / "CMakeCache.txt"
    cache.write_text(cache.read_text() + line + "\n")


def test_max_img_sectors_follows_mcuboot_overlay_config(tmp_path: Path) -> None:
    build = _mcuboot_case(tmp_path)
    edit(
        build / "mcuboot" / "zephyr" / ".config",
        "CONFIG_BOOT_MAX_IMG_SECTORS=256",
        "CONFIG_BOOT_MAX_IMG_SECTORS=128",
    )
    _cache_entry(build, f"mcuboot_OVERLAY_CONFIG:STRING={BLINKY}/boot/mcuboot_extra.conf")
    fix = only(build, "PMD402").fixes[0]
    assert kconfig_sets(fix) == [
        (BLINKY / "boot" / "mcuboot_extra.conf", "CONFIG_BOOT_MAX_IMG_SECTORS", "256")
    ]


def test_slot_fix_goes_into_the_static_file_the_cache_names(tmp_path: Path) -> None:
    case = copy_tree(BUILDS / "cli" / "slot_mismatch", tmp_path / "app")
    named = case / "boards" / "pm_static_custom.yml"
    named.parent.mkdir()
    (case / "pm_static.yml").rename(named)
    _cache_entry(case / "build", f"PM_STATIC_YML_FILE:STRING={named}")
    fix = only(case / "build", "PMD401").fixes[0]
    assert {e.target.file for e in fix.edits} == {named}
    assert static_sets(fix)[0] == ("mcuboot_secondary", "size", 0x79000)


def test_mcuboot_without_pm_points_at_the_fragment_not_the_replacement(tmp_path: Path) -> None:
    case = copy_tree(FOUNDATION / "child_image_nrf52840", tmp_path / "case")
    edit(
        case / "mcuboot" / "zephyr" / ".config",
        "CONFIG_PARTITION_MANAGER_ENABLED=y",
        "# CONFIG_PARTITION_MANAGER_ENABLED is not set",
    )
    _cache_entry(case, f"mcuboot_OVERLAY_CONFIG:STRING={BLINKY}/mcuboot_replacement.conf")
    [fix] = only(case, "PMD404").fixes
    assert fix.edits == ()  # restructuring the configuration is the project's call
    assert fix.file == BLINKY / "child_image" / "mcuboot.conf"
    assert "not mcuboot_OVERLAY_CONFIG" in fix.description


def test_growing_into_the_free_rest_of_a_region_shrinks_its_placeholder(tmp_path: Path) -> None:
    """`external_flash` stands for the chip's free space: an empty secondary there takes its share."""
    case = copy_tree(FOUNDATION / "child_image_nrf52840", tmp_path / "case")
    partitions = case / "partitions.yml"
    edit(partitions, "  - mcuboot_primary\n  size: 0x76000\n", "  - mcuboot_primary\n  size: 0x0\n")
    text = partitions.read_text()
    # move the (now empty) secondary to the start of the external chip, where the placeholder starts
    secondary = text[text.index("mcuboot_secondary:") :]
    block = secondary[: secondary.index("\n", secondary.index("size: 0x0"))]
    moved = block.replace("  address: 0x82000", "  address: 0x0").replace(
        "region: flash_primary", "region: external_flash"
    )
    moved = moved.replace("  end_address: 0xf8000", "  end_address: 0x0")
    partitions.write_text(text.replace(block, moved))
    fix = only(case, "PMD106").fixes[0]
    assert (added(fix, "mcuboot_secondary")["address"], added(fix, "mcuboot_secondary")["size"]) == (
        0,
        0x76000,
    )
    placeholder = added(fix, "external_flash")
    assert (placeholder["address"], placeholder["size"]) == (0x76000, 0x800000 - 0x76000)
    assert fix.mechanical


def test_an_empty_filler_in_the_way_is_free_space(tmp_path: Path) -> None:
    case = copy_tree(FOUNDATION / "child_image_nrf52840", tmp_path / "case")
    _secondary(case, 0x74000)  # two sectors short; a filler holds the hole up to settings_storage
    edit(
        case / "partitions.yml",
        "mcuboot:\n",
        "EMPTY_0:\n  address: 0xf6000\n  end_address: 0xf8000\n  region: flash_primary\n"
        "  size: 0x2000\nmcuboot:\n",
    )
    fix = only(case, "PMD401").fixes[0]
    assert added(fix, "mcuboot_secondary")["size"] == 0x76000
    [gone] = [e for e in fix.edits if e.partition == "EMPTY_0"]  # the secondary took its place
    assert (gone.action, gone.key) == (Action.REMOVE, None)
    assert fix.mechanical, fix.conflict


# ------------------------------------------------------------------ PMD603, PMD103


_FSTAB = """
	fstab {
		compatible = "zephyr,fstab";
		lfs1: lfs1 {
			compatible = "zephyr,fstab,littlefs";
			mount-point = "/lfs1";
			partition = < &log_partition >;
		};
	};
};
"""


def test_ignored_devicetree_partition_is_declared_under_its_label_in_free_space(tmp_path: Path) -> None:
    """flash_map_pm.h makes FIXED_PARTITION_ID(log_partition) PM_log_partition_ID: the name stays."""
    import yaml

    build = copy_tree(BUILDS / "soc" / "nrf52840_overlay_partitions", tmp_path / "build")
    layout = build / "partitions.yml"
    data = yaml.safe_load(layout.read_text())
    data["EMPTY_1"] = data.pop("log")  # Partition Manager left the overlay's range free
    layout.write_text(yaml.safe_dump(data))
    dts = build / "zephyr" / "zephyr.dts"
    text = dts.read_text().rstrip()
    dts.write_text(text[:-2] + _FSTAB)
    [fix] = only(build, "PMD603").fixes
    assert added(fix, "log_partition") == {
        "address": 0xE8000,
        "end_address": 0xF8000,
        "region": "flash_primary",
        "size": 0x10000,
    }
    assert {e.target.file.name for e in fix.edits} == {"pm_static.yml"}
    assert_not_generated(fix, build)
    assert fix.mechanical


def _misaligned_storage(tmp_path: Path) -> Path:
    app = copy_tree(STATIC_APP, tmp_path / "app")
    edit(
        app / "pm_static.yml",
        "settings_storage:\n  address: 0xf8000\n  end_address: 0x100000\n  region: flash_primary\n"
        "  size: 0x8000",
        "settings_storage:\n  address: 0xf8800\n  end_address: 0x100000\n  region: flash_primary\n"
        "  size: 0x7800",
    )
    return app


def test_misaligned_static_partition_grows_to_whole_blocks_into_free_space(tmp_path: Path) -> None:
    app = _misaligned_storage(tmp_path)
    [finding] = [f for f in analyze(app / "build").findings if f.rule == "PMD103"]
    [fix] = finding.fixes
    assert static_sets(fix) == [
        ("settings_storage", "address", 0xF8000),
        ("settings_storage", "size", 0x8000),
        ("settings_storage", "end_address", 0x100000),
    ]
    assert {e.target.file for e in fix.edits} == {app / "pm_static.yml"}
    assert fix.mechanical
    assert "data stored in `settings_storage` on deployed devices" in fix.field_warning


def test_misaligned_static_partition_next_to_a_neighbour_stays_advice(tmp_path: Path) -> None:
    app = _misaligned_storage(tmp_path)
    edit(
        app / "pm_static.yml",
        "  end_address: 0xf8000\n  region: flash_primary\n  size: 0x76000",
        "  end_address: 0xf8800\n  region: flash_primary\n  size: 0x76800",
    )
    found = analyze(app / "build").findings
    [finding] = [f for f in found if f.rule == "PMD103" and "settings" in f.message]
    [fix] = finding.fixes
    assert fix.edits == ()
    assert fix.conflict == "growing `settings_storage` would overlap `mcuboot_secondary`; move that first"


def test_layout_advice_names_the_static_file_the_cache_names(tmp_path: Path) -> None:
    """`PM_STATIC_YML_FILE` wins over pm_static.yml, for advice as for edits."""
    from pmdoctor.rules._shared.layouts import edit_path, where_to_edit

    app = copy_tree(STATIC_APP, tmp_path / "app")
    (app / "pm_static.yml").unlink()
    named = app / "boards" / "pm_static_custom.yml"
    _cache_entry(app / "build", f"PM_STATIC_YML_FILE:STRING={named}")
    build = load_build(app / "build")
    generated = build.layout_for_domain(None)
    assert edit_path(build, generated) == named
    assert where_to_edit(build, generated) == ""


FREE_SPACE_OVER_PARTITIONS = """\
mcuboot:
  address: 0x0
  region: flash_primary
  size: 0xc000
log_part:
  address: 0x0
  device: MX25R64
  region: external_flash
  size: 0x80000
data_part:
  address: 0x80000
  device: MX25R64
  region: external_flash
  size: 0x20000
external_flash:
  address: 0x0
  device: MX25R64
  region: external_flash
  size: 0x800000
"""


def test_free_space_entry_over_partitions_is_removed_from_the_static_file(tmp_path: Path) -> None:
    """PMD101's placeholder case: the static file's own `external_flash` entry goes, and Partition
    Manager computes the free space after log_part and data_part; the checker passes it."""
    from pmdoctor.api import triage

    static = tmp_path / "pm_static.yml"
    static.write_text(FREE_SPACE_OVER_PARTITIONS)
    [overlap] = [f for f in triage(static).findings if f.rule == "PMD101"]
    [fix] = overlap.fixes
    [removal] = fix.edits
    assert (removal.target.file, removal.action, removal.partition, removal.key) == (
        static,
        Action.REMOVE,
        "external_flash",
        None,
    )
    assert fix.mechanical, fix.conflict
