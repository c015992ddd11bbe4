"""`pmdoctor migrate`: overlays that reproduce a Partition Manager layout, checked by round trip."""

from __future__ import annotations

import csv
import json
import shutil

import pytest

from conftest import BUILDS, corpus_or_skip
from pmdoctor.api import load_build
from pmdoctor.cli import run
from pmdoctor.fixes.migrate import MigrateError, plan, verify
from pmdoctor.fixes.write import WriteRefused, _replace_atomically, write_files
from pmdoctor.model.dt_map import devicetree_equivalents

DT = BUILDS / "dt"
PM_FIXTURES = ["pm_child_image_nrf52840_ext", "pm_sysbuild_nrf54l15", "pm_sysbuild_nrf5340"]


def overlays_of(case: str):
    build = load_build(DT / case)
    return build, plan(build)


@pytest.mark.parametrize("case", PM_FIXTURES)
def test_every_pm_fixture_round_trips_without_drift(case):
    build, overlays = overlays_of(case)
    trip = verify(build, overlays)
    assert trip.errors == []
    assert trip.findings == []


@pytest.mark.parametrize("case", PM_FIXTURES)
def test_overlays_name_their_source_relative_to_the_build(case):
    """The overlays go into the user's repository: no absolute path of this machine in them."""
    _, overlays = overlays_of(case)
    for overlay in overlays:
        assert str(DT) not in overlay.text
        assert f"from {case}/partitions" in overlay.text


def test_child_image_overlays_for_app_and_mcuboot():
    _, overlays = overlays_of("pm_child_image_nrf52840_ext")
    by_image = {o.image: o for o in overlays}
    assert set(by_image) == {"app", "mcuboot"}
    app, mcuboot = by_image["app"], by_image["mcuboot"]
    assert app.destination == "boards/nrf52840dk_nrf52840.overlay"
    assert mcuboot.destination == "sysbuild/mcuboot/boards/nrf52840dk_nrf52840.overlay"
    assert (app.code_partition, mcuboot.code_partition) == ("slot0_partition", "boot_partition")
    # slot0 covers the MCUboot header pad: it starts at mcuboot_pad, not at app
    assert "slot0_partition: partition@c000 {" in app.text and "reg = <0xc000 0xec000>;" in app.text
    # the secondary goes under the NOR chip's own partitions, at offset 0
    nor = app.text.split("&mx25r64 {", 1)[1]
    assert "/delete-node/ partitions;" in nor
    assert "slot1_partition: partition@0 {" in nor and "reg = <0x0 0xec000>;" in nor
    assert "external_flash" not in app.text  # PM's free-space placeholder gets no node
    assert "zephyr,code-partition = &boot_partition;" in mcuboot.text


def test_nrf54l15_overlay_uses_cpuapp_rram():
    _, overlays = overlays_of("pm_sysbuild_nrf54l15")
    app = next(o for o in overlays if o.image == "hello")
    assert app.destination == "boards/nrf54l15dk_nrf54l15_cpuapp.overlay"
    assert "&cpuapp_rram {" in app.text
    assert "slot0_partition: partition@d000 {" in app.text and "reg = <0xd000 0xb7000>;" in app.text
    assert "storage_partition: partition@17b000 {" in app.text


def test_nrf5340_two_domains_with_tfm():
    _, overlays = overlays_of("pm_sysbuild_nrf5340")
    by_image = {o.image: o for o in overlays}
    assert set(by_image) == {"hello53", "mcuboot", "ipc_radio", "b0n"}
    app, net = by_image["hello53"], by_image["ipc_radio"]
    assert app.code_partition == "slot0_ns_partition"
    assert by_image["b0n"].code_partition == "b0n_partition"
    assert (
        net.domain == "CPUNET"
        and net.destination == "sysbuild/ipc_radio/boards/nrf5340dk_nrf5340_cpunet.overlay"
    )
    # TF-M: slot0 is a fixed-subpartitions node holding the secure and non-secure parts
    slot0 = app.text.split("slot0_partition: partition@10000 {", 1)[1]
    assert 'compatible = "fixed-subpartitions";' in slot0 and "ranges = <0x0 0x10000 0x56000>;" in slot0
    assert "slot0_ns_partition: partition@8000 {" in slot0
    # net-core partitions are offsets into flash1 (which starts at 0x1000000)
    assert "&flash1 {" in net.text and "slot0_partition: partition@8800 {" in net.text
    # mcuboot_primary_1 lives in MCUboot's RAM flash simulator: no flash node
    assert "slot2_partition" not in app.text and "slot3_partition: partition@bc000" in app.text


def test_mapping_follows_pm_to_dts_names():
    build = load_build(DT / "pm_sysbuild_nrf5340")
    mapped = {e.pm_name: e.label for e in devicetree_equivalents(build.layouts[0])}
    assert mapped == {
        "mcuboot": "boot_partition",
        "mcuboot_primary": "slot0_partition",
        "tfm_secure": "slot0_s_partition",
        "tfm_nonsecure": "slot0_ns_partition",
        "mcuboot_secondary": "slot1_partition",
        "mcuboot_secondary_1": "slot3_partition",
        "settings_storage": "storage_partition",
    }


def test_round_trip_catches_a_wrong_overlay():
    build, overlays = overlays_of("pm_sysbuild_nrf54l15")
    app = next(o for o in overlays if o.image == "hello")
    app.text = app.text.replace("reg = <0xc4000 0xb7000>;", "reg = <0xc5000 0xb6000>;")
    trip = verify(build, overlays)
    assert not trip.clean
    assert any("mcuboot_secondary" in f.message and "0xc5000" in f.message for f in trip.findings)


def test_round_trip_reports_an_overlay_that_does_not_parse():
    build, overlays = overlays_of("pm_sysbuild_nrf54l15")
    overlays[0].text += "\n&no_such_node { };\n"
    trip = verify(build, overlays)
    assert trip.errors and "does not parse" in trip.errors[0]


def test_devicetree_build_is_a_usage_error(capsys):
    with pytest.raises(MigrateError):
        plan(load_build(DT / "nrf54l15_mcuboot"))
    assert run(["migrate", "-d", str(DT / "nrf54l15_mcuboot")]) == 2
    assert "not a Partition Manager build" in capsys.readouterr().err


def test_cli_prints_and_writes_overlays(tmp_path, capsys):
    fixture = str(DT / "pm_sysbuild_nrf5340")
    assert run(["migrate", "-d", fixture]) == 0
    out = capsys.readouterr().out
    assert "&flash1 {" in out and "PMD704: no drift" in out
    assert run(["migrate", "-d", fixture, "-o", str(tmp_path / "out")]) == 0
    written = sorted(
        p.relative_to(tmp_path / "out").as_posix() for p in (tmp_path / "out").rglob("*.overlay")
    )
    assert written == [
        "boards/nrf5340dk_nrf5340_cpuapp_ns.overlay",
        "sysbuild/b0n/boards/nrf5340dk_nrf5340_cpunet.overlay",
        "sysbuild/ipc_radio/boards/nrf5340dk_nrf5340_cpunet.overlay",
        "sysbuild/mcuboot/boards/nrf5340dk_nrf5340_cpuapp.overlay",
    ]
    assert "slot0_ns_partition" in (tmp_path / "out/boards/nrf5340dk_nrf5340_cpuapp_ns.overlay").read_text()


NRF5340 = str(DT / "pm_sysbuild_nrf5340")
APP_OVERLAY = "boards/nrf5340dk_nrf5340_cpuapp_ns.overlay"
MCUBOOT_OVERLAY = "sysbuild/mcuboot/boards/nrf5340dk_nrf5340_cpuapp.overlay"


def written(folder) -> list:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if not p.is_dir())


def refusal(capsys) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("pmdoctor: refusing to write "), err
    return err


def test_output_never_overwrites_hand_edits_without_force(tmp_path, capsys):
    out = tmp_path / "out"
    assert run(["migrate", "-d", NRF5340, "-o", str(out)]) == 0
    (out / APP_OVERLAY).write_text("/* my hand edits */\n")
    (out / MCUBOOT_OVERLAY).unlink()
    capsys.readouterr()
    assert run(["migrate", "-d", NRF5340, "-o", str(out)]) == 2
    err = refusal(capsys)
    assert str(out / APP_OVERLAY) in err and "already exists" in err and "--force" in err
    assert (out / APP_OVERLAY).read_text() == "/* my hand edits */\n"
    assert not (out / MCUBOOT_OVERLAY).exists()  # every destination is checked before any is written
    assert run(["migrate", "-d", NRF5340, "-o", str(out), "--force"]) == 0
    assert "slot0_ns_partition" in (out / APP_OVERLAY).read_text()
    assert (out / MCUBOOT_OVERLAY).is_file()
    assert len(written(out)) == 4  # no temporary file left behind


def test_output_never_writes_through_a_symlinked_file(tmp_path, capsys):
    out, outside = tmp_path / "out", tmp_path / "outside.txt"
    outside.write_text("not yours\n")
    (out / "boards").mkdir(parents=True)
    (out / APP_OVERLAY).symlink_to(outside)
    assert run(["migrate", "-d", NRF5340, "-o", str(out), "--force"]) == 2
    err = refusal(capsys)
    assert str(out / APP_OVERLAY) in err and "symbolic link" in err
    assert outside.read_text() == "not yours\n"
    assert written(out) == [APP_OVERLAY]


def test_output_never_writes_through_a_symlinked_folder(tmp_path, capsys):
    out, outside = tmp_path / "out", tmp_path / "elsewhere"
    outside.mkdir()
    (out / "sysbuild").mkdir(parents=True)
    (out / "sysbuild" / "mcuboot").symlink_to(outside, target_is_directory=True)
    assert run(["migrate", "-d", NRF5340, "-o", str(out), "--force"]) == 2
    err = refusal(capsys)
    assert str(out / "sysbuild" / "mcuboot") + ":" in err and "symbolic link" in err
    assert list(outside.iterdir()) == []
    assert not (out / "boards").exists()


def test_write_files_refuses_paths_that_leave_the_folder_or_repeat(tmp_path):
    out = tmp_path / "out"
    for files in (
        [("../escaped.overlay", "x")],
        [("/etc/x.overlay", "x")],
        [("a.overlay", "1"), ("a.overlay", "2")],
    ):
        with pytest.raises(WriteRefused):
            write_files(out, files)
    assert not out.exists() and written(tmp_path) == []


def test_a_failed_write_leaves_no_temporary_file(tmp_path):
    target = tmp_path / "x.overlay"
    target.mkdir()  # os.replace cannot put a file over a folder
    (target / "keep").write_text("")
    with pytest.raises(OSError):
        _replace_atomically(target, "text")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.overlay"]


def test_cli_json(capsys):
    assert run(["migrate", "-d", str(DT / "pm_child_image_nrf52840_ext"), "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data[0]["round_trip"]["clean"] is True
    assert [o["file"] for o in data[0]["overlays"]] == [
        "boards/nrf52840dk_nrf52840.overlay",
        "sysbuild/mcuboot/boards/nrf52840dk_nrf52840.overlay",
    ]
    assert run(["migrate", "-d", str(DT / "pm_child_image_nrf52840_ext"), "--format", "sarif"]) == 2


def with_user_partitions(tmp_path, nodes: str, root: str):
    """The nRF54L15 PM build with extra board partitions and nodes that refer to them."""
    build_dir = tmp_path / "pm"
    shutil.copytree(DT / "pm_sysbuild_nrf54l15", build_dir)
    dts = build_dir / "hello/zephyr/zephyr.dts"
    text = dts.read_text()
    anchor = "\t\t\t\t\t};\n\t\t\t\t};\n\t\t\t};\n\t\t};\n"  # end of storage_partition
    assert text.count(anchor) == 1
    text = text.replace(anchor, "\t\t\t\t\t};\n" + nodes + "\t\t\t\t};\n\t\t\t};\n\t\t};\n")
    dts.write_text(text.replace("\tsoc {", root + "\tsoc {", 1))
    return build_dir


# A LittleFS area at the end of RRAM (fstab) and the settings partition under a
# second label (chosen), as an application's board overlay writes them.
USER_NODES = (
    "\t\t\t\t\tlfs_part: partition@178000 {\n"
    '\t\t\t\t\t\tlabel = "lfs";\n'
    "\t\t\t\t\t\treg = < 0x178000 0x5000 >;\n"
    "\t\t\t\t\t};\n"
)
USER_ROOT = (
    "\tfstab {\n"
    '\t\tcompatible = "zephyr,fstab";\n'
    "\t\tlfs1: lfs1 {\n"
    '\t\t\tcompatible = "zephyr,fstab,littlefs";\n'
    '\t\t\tmount-point = "/lfs1";\n'
    "\t\t\tpartition = < &lfs_part >;\n"
    "\t\t};\n"
    "\t};\n"
)


def test_loader_records_references_by_label():
    build_dir = DT / "pm_sysbuild_nrf54l15"
    tree = load_build(build_dir).image("hello").devicetree
    assert [(r.node, r.prop) for r in tree.references["slot0_partition"]] == [
        ("/chosen", "zephyr,code-partition")
    ]
    assert "storage_partition" not in tree.references


def test_referenced_board_labels_survive_the_overlay(tmp_path):
    build_dir = with_user_partitions(tmp_path, USER_NODES, USER_ROOT)
    dts = build_dir / "hello/zephyr/zephyr.dts"
    dts.write_text(
        dts.read_text()
        .replace("storage_partition: partition@15c000", "user_settings: storage_partition: partition@15c000")
        .replace(
            "\t\tzephyr,code-partition",
            "\t\tzephyr,settings-partition = &user_settings;\n\t\tzephyr,code-partition",
        )
    )
    build = load_build(build_dir)
    assert {r.node for r in build.image("hello").devicetree.references["lfs_part"]} == {"/fstab/lfs1"}
    overlays = plan(build)
    app = next(o for o in overlays if o.image == "hello")
    # the LittleFS label goes to the storage area it overlaps, never to mcuboot_secondary
    assert "storage_partition: user_settings: lfs_part: partition@17b000 {" in app.text
    assert len(app.kept) == 2 and any("&lfs_part (used by /fstab/lfs1 partition)" in k for k in app.kept)
    assert any(
        "&user_settings (used by /chosen zephyr,settings-partition) is now on storage_partition" in k
        for k in app.kept
    )
    # both moved (0x178000 +0x5000 and 0x15c000 +0x9000 -> 0x17b000 +0x2000): the user must look
    assert len(app.review) == 2 and all("differs from storage_partition" in r for r in app.review)
    assert verify(build, overlays).clean


def test_unmatched_board_label_keeps_its_node_for_review(tmp_path, capsys):
    nodes = USER_NODES.replace("partition@178000", "partition@b0000").replace(
        "0x178000 0x5000", "0xb0000 0x1000"
    )
    build_dir = with_user_partitions(tmp_path, nodes, USER_ROOT)
    assert run(["migrate", "-d", str(build_dir)]) == 0  # round trip clean, but flagged
    out = capsys.readouterr().out
    # 0xb0000 is inside the primary slot: a file system must not take a slot's label
    assert "lfs_part: partition@b0000 {" in out and "reg = <0xb0000 0x1000>;" in out
    assert "REVIEW &lfs_part (used by /fstab/lfs1 partition): no Partition Manager partition" in out
    assert "PMD704: no drift" in out


def test_unmatched_fixture_stays_clean_without_the_reference(tmp_path):
    nodes = USER_NODES.replace("partition@178000", "partition@b0000").replace(
        "0x178000 0x5000", "0xb0000 0x1000"
    )
    build = load_build(with_user_partitions(tmp_path, nodes, ""))
    app = next(o for o in plan(build) if o.image == "hello")
    assert "lfs_part" not in app.text and app.review == [] and app.kept == []


def test_cli_exit_1_when_the_round_trip_drifts(tmp_path, capsys):
    # A reference in mixed phandle/number cells is not followed: the overlay
    # deletes the label and the round trip says so instead of passing.
    root = USER_ROOT.replace("< &lfs_part >", "< &lfs_part 0x1 >").replace(
        "zephyr,fstab,littlefs", "vnd,area"
    )
    build_dir = with_user_partitions(tmp_path, USER_NODES, root)
    assert run(["migrate", "-d", str(build_dir)]) == 1
    assert "undefined node label 'lfs_part'" in capsys.readouterr().out


def test_migrate_over_pm_corpus_builds_round_trips():
    corpus = corpus_or_skip()
    with (corpus / "INDEX.tsv").open() as handle:
        rows = [r for r in csv.DictReader(handle, delimiter="\t") if r["era"] != "devicetree"]
    assert rows
    for row in rows:
        top = sorted(
            (p.parent for p in (corpus / "builds" / row["slug"]).rglob("CMakeCache.txt")),
            key=lambda p: len(p.parts),
        )[0]
        build = load_build(top)
        trip = verify(build, plan(build))
        assert not trip.findings, (row["slug"], [f.message for f in trip.findings])
        assert not trip.errors, (row["slug"], trip.errors)


def test_botz_fstab_label_moves_to_littlefs_storage():
    corpus = corpus_or_skip()
    build = load_build(corpus / "builds" / "Botz-Limited__sensing_system-Zephyr")
    overlays = plan(build)
    app = next(o for o in overlays if o.image == "sensing_fw")
    assert "littlefs_storage: lfs1_part: partition@0 {" in app.text.split("&mx25r64 {", 1)[1]
    assert verify(build, overlays).clean
