"""Diagnosis round two (issue 12): one test per class of false alarm or miss found on real builds.

The static files under tests/fixtures/issue12/ are copies of the corpus files
the issue names (../shared/corpus/pm_static), so these tests run without it.
"""

from __future__ import annotations

from pathlib import Path
from typing import List

from conftest import BUILDS
from helpers import copy_tree, edit
from pmdoctor.api import analyze, triage
from pmdoctor.model.findings import Finding, Severity

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "issue12"
CHILD_IMAGE = BUILDS / "foundation" / "child_image_nrf52840"


def triaged(name: str, *rules: str) -> List[Finding]:
    found = triage(FIXTURES / name).findings
    return [f for f in found if not rules or f.rule in rules]


def checked(build_dir: Path, *rules: str) -> List[Finding]:
    return [f for f in analyze(build_dir).findings if not rules or f.rule in rules]


def describe(found: List[Finding]) -> str:
    return "\n".join(f"{f.rule} {f.effective_severity.value}: {f.message}" for f in found)


# ------------------------------------------------------------------ PMD101 placeholders


def test_free_space_entry_over_one_partition_is_no_overlap():
    """BORUS and vitalthings: `external_flash`/`ram_flash` laid exactly over one partition."""
    for name in ("shuhao-dong__BORUS.pm_static.yml", "vitalthings__nrf53_update.pm_static.yml"):
        found = triaged(name, "PMD101")
        assert not [f for f in found if "external_flash`" in f.message or "ram_flash`" in f.message], (
            describe(found)
        )


# ------------------------------------------------------------------ PMD103 spans after the header pad


def test_span_starting_after_mcuboot_pad_is_not_misaligned(tmp_path: Path):
    """mitch680l__thingy: with mcuboot_primary written plain, mcuboot_primary_app is outermost."""
    build = copy_tree(CHILD_IMAGE, tmp_path / "build")
    edit(build / "partitions.yml", "  sharers: 0x1\n  size: 0x76000\n  span: *id001\n", "  size: 0x76000\n")
    edit(build / "partitions.yml", "  orig_span: &id001\n  - mcuboot_pad\n  - app\n", "")
    found = checked(build, "PMD103")
    assert not [f for f in found if "mcuboot_primary_app" in f.message or "`app`" in f.message], describe(
        found
    )


def test_misaligned_slot_is_still_reported(tmp_path: Path):
    build = copy_tree(CHILD_IMAGE, tmp_path / "build")
    edit(
        build / "partitions.yml",
        "mcuboot_secondary:\n  address: 0x82000\n",
        "mcuboot_secondary:\n  address: 0x82800\n",
    )
    found = checked(build, "PMD103")
    assert any("`mcuboot_secondary`" in f.message for f in found), describe(found)


# ------------------------------------------------------------------ PMD002 placement as a string


def test_placement_after_written_as_a_name_is_accepted():
    """rs-muggino: `after: mcuboot_secondary` is turned into a list by Partition Manager itself."""
    found = triaged("rs-muggino__peripheral-lbs-sysbuild.pm_static.yml", "PMD002")
    assert not [f for f in found if "placement" in f.message], describe(found)


def test_schema_fix_never_targets_the_generated_partitions_file(tmp_path: Path):
    build = copy_tree(CHILD_IMAGE, tmp_path / "build")
    edit(build / "partitions.yml", "settings_storage:\n", "settings_storage:\n  erase-block-size: 0x1000\n")
    (finding,) = checked(build, "PMD002")
    assert finding.location.file == build / "partitions.yml"
    assert all(fix.file != build / "partitions.yml" for fix in finding.fixes)
    assert "partitions.yml is generated" in finding.fixes[0].description


# ------------------------------------------------------------------ PMD401 smaller secondary on purpose


def test_deliberately_smaller_secondary_is_a_note_with_the_ratio():
    """Noy0908 delta-DFU: secondary 0x3d000 for a 0xaf000 primary."""
    (finding,) = triaged("Noy0908__delta_dfu.pm_static_nrf52840dk_nrf52840.yml", "PMD401")
    assert finding.effective_severity is Severity.NOTE
    assert "(35% of it)" in finding.message and "compressed" in finding.message


def test_slightly_smaller_secondary_stays_an_error():
    """KunYi: 0x200 smaller is arithmetic gone wrong, not a design."""
    (finding,) = triaged("KunYi__nrf_mcuboot_study.pm_static.yml", "PMD401")
    assert finding.effective_severity is Severity.ERROR


def test_compressed_images_make_a_smaller_secondary_a_note(tmp_path: Path):
    build = copy_tree(BUILDS / "foundation" / "sysbuild_nrf52840", tmp_path / "build")
    layout = build / "partitions.yml"
    text = layout.read_text()
    assert "mcuboot_secondary:" in text
    _shrink_secondary(layout)
    assert [f.effective_severity for f in checked(build, "PMD401")] != [Severity.NOTE]
    with (build / "zephyr" / ".config").open("a") as handle:
        handle.write("SB_CONFIG_MCUBOOT_COMPRESSED_IMAGE_SUPPORT=y\n")
    (finding,) = checked(build, "PMD401")
    assert finding.effective_severity is Severity.NOTE, describe([finding])
    assert "compressed images" in finding.message


def _shrink_secondary(layout: Path) -> None:
    import yaml

    data = yaml.safe_load(layout.read_text())
    secondary = data["mcuboot_secondary"]
    secondary["size"] = data["mcuboot_primary"]["size"] // 2
    secondary["end_address"] = secondary["address"] + secondary["size"]
    layout.write_text(yaml.safe_dump(data))


# ------------------------------------------------------------------ PMD104 Nordic's own static files


def test_sdk_static_file_with_a_stale_app_entry_is_accepted():
    """joaodullius: NCS's Thingy:91 file gives `app` a stale size; PM fills the one gap with it."""
    found = triaged("joaodullius__asset_tracker_eseye.thingy91_pm_static.yml", "PMD104")
    assert found == [], describe(found)


# ------------------------------------------------------------------ `partitions:` wrapper in triage


def test_static_file_wrapped_in_partitions_key_is_read_and_reported():
    """S-Sushka: the whole layout under `partitions:` was "not used", with no findings."""
    analysis = triage(FIXTURES / "S-Sushka__nrf_ble_mobile.pm_static.yml")
    assert analysis.build.static_files, analysis.build.notes
    found = [f for f in analysis.findings if f.rule == "PMD002"]
    assert any("one level too deep" in f.message for f in found), describe(analysis.findings)
    assert found[0].effective_severity is Severity.ERROR


# ------------------------------------------------------------------ PMD603 partitions PM ignores

NRF52_OVERLAY = BUILDS / "soc" / "nrf52840_overlay_partitions"
FSTAB = """
	fstab {
		compatible = "zephyr,fstab";
		lfs1: lfs1 {
			compatible = "zephyr,fstab,littlefs";
			mount-point = "/lfs1";
			partition = < &PART >;
		};
	};
};
"""


def _mount(dts: Path, label: str) -> None:
    """Let a littlefs fstab entry open the partition ``label`` (the file ends with the root's `};`)."""
    text = dts.read_text().rstrip()
    assert text.endswith("};")
    dts.write_text(text[:-2] + FSTAB.replace("PART", label))


def test_opened_partition_on_a_flash_without_region_is_reported(tmp_path: Path):
    build = copy_tree(NRF52_OVERLAY, tmp_path / "build")
    dts = build / "zephyr" / "zephyr.dts"
    edit(
        dts,
        "\t\t/* node '/soc/memory@20000000'",
        '\t\tnor: nor@0 {\n\t\t\tcompatible = "jedec,spi-nor";\n\t\t\treg = < 0x0 0x1 >;\n'
        '\t\t\tsize = < 0x4000000 >;\n\t\t\tpartitions {\n\t\t\t\tcompatible = "fixed-partitions";\n'
        "\t\t\t\t#address-cells = < 0x1 >;\n\t\t\t\t#size-cells = < 0x1 >;\n"
        "\t\t\t\tlfs_part: partition@0 {\n\t\t\t\t\treg = < 0x0 0x10000 >;\n\t\t\t\t};\n"
        "\t\t\t};\n\t\t};\n\n\t\t/* node '/soc/memory@20000000'",
    )
    assert [f for f in checked(build, "PMD603") if "lfs_part" in f.message] == []  # nobody opens it
    _mount(dts, "lfs_part")
    (finding,) = [f for f in checked(build, "PMD603") if "lfs_part" in f.message]
    assert finding.effective_severity is Severity.WARNING
    assert "Partition Manager has no region for that flash" in finding.message
    assert any("/fstab/lfs1 (partition = <&lfs_part>)" in str(e) for e in finding.evidence)


def test_suggested_partition_never_lies_inside_an_existing_one(tmp_path: Path):
    """Botz: `lfs1_part` lies inside `littlefs_storage`; declaring it there would overlap."""
    import yaml

    build = copy_tree(NRF52_OVERLAY, tmp_path / "build")
    layout = build / "partitions.yml"
    data = yaml.safe_load(layout.read_text())
    data["littlefs_storage"] = dict(data.pop("log"), address=0xE0000, size=0x18000, end_address=0xF8000)
    layout.write_text(yaml.safe_dump(data))
    _mount(build / "zephyr" / "zephyr.dts", "log_partition")
    (finding,) = checked(build, "PMD603")
    assert "`littlefs_storage` 0xe0000-0xf8000" in str(finding.evidence) + finding.message
    (fix,) = finding.fixes
    assert "open `littlefs_storage` (0xe0000-0xf8000)" in fix.description
    assert not fix.snippet or "address: 0xe8000" not in fix.snippet


# ------------------------------------------------------------------ --baseline on a Partition Manager build


def _drift(tmp_path: Path, change) -> List[Finding]:
    import yaml

    from pmdoctor.analysis import check
    from pmdoctor.assemble import load_build
    from pmdoctor.baseline import load_baseline

    deployed = tmp_path / "deployed" / "partitions.yml"
    deployed.parent.mkdir(parents=True)
    data = yaml.safe_load((CHILD_IMAGE / "partitions.yml").read_text())
    change(data)
    deployed.write_text(yaml.safe_dump(data))
    build = load_build(CHILD_IMAGE)
    build.baselines = load_baseline(deployed)
    return [f for f in check(build, ["PMD704"]).findings]


def test_baseline_on_a_pm_build_keeps_pm_names_and_compares_like_with_like(tmp_path: Path):
    def smaller_slot(data: dict) -> None:
        for name in ("mcuboot_primary", "mcuboot_primary_app", "app"):
            data[name]["size"] -= 0x1000

    found = _drift(tmp_path, smaller_slot)
    assert len(found) == 1, describe(found)
    assert "`mcuboot_primary` resized from 0x75000 to 0x76000" in found[0].message
    assert "slot0_partition" not in found[0].message and "boot_partition" not in found[0].message
    assert found[0].location.file == CHILD_IMAGE / "partitions.yml"
    assert _drift(tmp_path / "same", lambda data: None) == []


# ------------------------------------------------------------------ severities in the docs


def test_docs_say_how_a_case_dependent_severity_depends_on_the_case():
    from pmdoctor.report.explain import explain, list_rules
    from pmdoctor.rules import load_all

    rules = load_all()
    listed = {line.split()[0]: line for line in list_rules().splitlines()}
    for rule_id in ("PMD101", "PMD104", "PMD401", "PMD603", "PMD002", "PMD103"):
        rule = rules[rule_id]
        assert rule.severity_varies, rule_id
        assert listed[rule_id].split()[:4] == [rule.id, rule.name, rule.severity.value, "[varies]"]
        text = explain(rule)
        assert "by default, depends on the case" in text.splitlines()[0]
        assert "\nSeverity\n--------\n" in text
    assert "[varies]" not in listed["PMD001"]


# ------------------------------------------------------------------ ranking: the cause carries the log line


def _report(build: Path, log: Path) -> List[dict]:
    import io
    import json

    from pmdoctor.cli import run

    out, err = io.StringIO(), io.StringIO()
    code = run(
        ["-d", str(build), "--log", str(log), "--format", "json"],
        config_get=lambda o: None,
        stdout=out,
        stderr=err,
    )
    assert code in (0, 1), err.getvalue()
    return json.loads(out.getvalue())["builds"][0]["findings"]


def test_structural_cause_ranks_first_and_carries_the_sector_log_line(tmp_path: Path):
    """A slot-size mismatch explains 'non-compatible sectors': it comes first, with the line."""
    import yaml

    build = copy_tree(CHILD_IMAGE, tmp_path / "build")
    layout = build / "partitions.yml"
    data = yaml.safe_load(layout.read_text())
    data["mcuboot_secondary"]["size"] -= 0x4000
    layout.write_text(yaml.safe_dump(data))
    log = tmp_path / "boot.log"
    log.write_text("*** Booting MCUboot ***\nE: Cannot upgrade: slots have non-compatible sectors\n")
    found = _report(build, log)
    assert found[0]["rule"] == "PMD401", [(f["rule"], f["severity"]) for f in found]
    assert found[0]["observed"], found[0]
    # MCUboot's table (128) already covers the 118-sector slots: the log hypothesis says so and defers.
    (hypothesis,) = [f for f in found if f["rule"] == "PMD803"] or [None]
    if hypothesis is not None:
        assert hypothesis["severity"] == "note"
        assert "CONFIG_BOOT_MAX_IMG_SECTORS=128 already covers the largest slot" in hypothesis["message"]
        assert not any(
            "BOOT_MAX_IMG_SECTORS=256" in (fix.get("snippet") or "") for fix in hypothesis["fixes"]
        )


# ------------------------------------------------------------------ PMD602 once per shared partition


def test_storage_partition_shared_by_images_is_reported_once(tmp_path: Path):
    """Images whose layouts differ elsewhere still share one storage partition: one finding, both named."""
    from pmdoctor.api import check, load_build

    build_dir = copy_tree(BUILDS / "dt" / "nrf54l15_mcuboot", tmp_path / "build")
    with (build_dir / "hello" / "zephyr" / ".config").open("a") as handle:
        handle.write("CONFIG_SETTINGS_ZMS=y\n")
    for image in ("mcuboot", "hello"):
        edit(
            build_dir / image / "zephyr" / "zephyr.dts",
            "reg = < 0x15c000 0x9000 >;",
            "reg = < 0x15c000 0x1000 >;",
        )
    # MCUboot's copy of the devicetree differs in a partition that has nothing to do with storage.
    edit(build_dir / "mcuboot" / "zephyr" / "zephyr.dts", "reg = < 0x0 0x10000 >;", "reg = < 0x0 0xf000 >;")
    (finding,) = check(load_build(build_dir), ["PMD602"]).findings
    assert "ZMS needs at least 2" in finding.message
    assert any(
        "images hello, mcuboot" in str(e) or "images mcuboot, hello" in str(e) for e in finding.evidence
    )


# ------------------------------------------------------------------ swap-using-move/offset on mixed sectors


def test_swap_move_with_slots_on_flashes_of_different_sector_sizes(tmp_path: Path):
    """jaster-prj: 2 KB internal pages against 4 KB NOR sectors; here 4 KB against 64 KB NOR pages."""
    build_dir = copy_tree(BUILDS / "dt" / "nrf52840dk_ext_secondary", tmp_path / "build")
    assert [f for f in checked(build_dir, "PMD403") if "same sector layout" in f.message] == []
    config = build_dir / "mcuboot" / "zephyr" / ".config"
    edit(
        config,
        "CONFIG_NORDIC_QSPI_NOR_FLASH_LAYOUT_PAGE_SIZE=4096",
        "CONFIG_NORDIC_QSPI_NOR_FLASH_LAYOUT_PAGE_SIZE=65536",
    )
    (finding,) = [f for f in checked(build_dir, "PMD403") if "same sector layout" in f.message]
    assert finding.effective_severity is Severity.ERROR
    assert "swap-using-move" in finding.message and "0x10000-byte sectors" in finding.message
