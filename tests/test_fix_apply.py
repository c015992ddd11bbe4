"""Edits applied to file text (fixes/apply.py) and written safely (fixes/write.py).

The text stays the user's: only what the edit changes changes, and applying
an edit to its own result changes nothing.
"""

from __future__ import annotations

import difflib
import os
import stat
from pathlib import Path

import pytest
import yaml

from conftest import corpus_or_skip
from pmdoctor.fixes import write as write_module
from pmdoctor.fixes.apply import EditError, apply_edits, apply_kconfig, apply_overlay, apply_static, plan_file
from pmdoctor.fixes.write import WriteRefused, backup_path, file_digest, replace_edited
from pmdoctor.model.edits import Action, KconfigEdit, OverlayEdit, PartitionNode, StaticEdit, Target

TARGET = Target(Path("/app/file"), "test")


def static(action: Action, partition: str, key=None, value=None, entries=()) -> StaticEdit:
    return StaticEdit(TARGET, action, partition, key, value, tuple(entries))


def kconfig(symbol: str, value=None, action: Action = Action.SET) -> KconfigEdit:
    return KconfigEdit(TARGET, action, symbol, value)


def twice_same(apply, text: str, edit, *args) -> str:
    """Apply the edit, check that applying it again changes nothing, return the result."""
    once = apply(text, edit, *args)
    assert apply(once, edit, *args) == once
    return once


# ------------------------------------------------------------------------------------ Kconfig


def test_kconfig_assignment_is_replaced_in_place():
    text = "# app\nCONFIG_A=y\nCONFIG_B=n\nCONFIG_C=y\n"
    assert (
        twice_same(apply_kconfig, text, kconfig("CONFIG_B", "y"))
        == "# app\nCONFIG_A=y\nCONFIG_B=y\nCONFIG_C=y\n"
    )


def test_kconfig_not_set_comment_is_an_assignment():
    text = "# CONFIG_X is not set\nCONFIG_Y=1\n"
    assert twice_same(apply_kconfig, text, kconfig("CONFIG_X", "y")) == "CONFIG_X=y\nCONFIG_Y=1\n"
    # n is what the comment says already: the user's spelling stays
    assert apply_kconfig(text, kconfig("CONFIG_X", "n")) == text
    assert apply_kconfig("CONFIG_X=n\n", kconfig("CONFIG_X", "n")) == "CONFIG_X=n\n"


def test_kconfig_never_duplicates_and_drops_later_assignments_that_would_win():
    text = "CONFIG_X=y\nCONFIG_Z=y\nCONFIG_X=n\n"
    result = twice_same(apply_kconfig, text, kconfig("CONFIG_X", "n"))
    assert result == "CONFIG_X=n\nCONFIG_Z=y\n"
    assert result.count("CONFIG_X") == 1


def test_kconfig_new_symbol_is_appended_even_without_a_final_newline():
    assert twice_same(apply_kconfig, "CONFIG_A=y", kconfig("CONFIG_B", "y")) == "CONFIG_A=y\nCONFIG_B=y\n"
    assert twice_same(apply_kconfig, "", kconfig("SB_CONFIG_X", "y")) == "SB_CONFIG_X=y\n"


def test_kconfig_keeps_crlf_and_compares_numbers_by_value():
    text = "CONFIG_A=y\r\nCONFIG_SIZE=0x1000\r\n"
    assert apply_kconfig(text, kconfig("CONFIG_SIZE", "4096")) == text
    assert twice_same(apply_kconfig, text, kconfig("CONFIG_A", "n")) == "CONFIG_A=n\r\nCONFIG_SIZE=0x1000\r\n"
    assert twice_same(apply_kconfig, text, kconfig("CONFIG_B", "y")).endswith("CONFIG_B=y\r\n")


def test_kconfig_remove_takes_every_assignment_and_only_those():
    text = "CONFIG_AB=y\nCONFIG_A=y\n# CONFIG_A is not set\nCONFIG_A_B=n\n"
    assert twice_same(apply_kconfig, text, kconfig("CONFIG_A", action=Action.REMOVE)) == (
        "CONFIG_AB=y\nCONFIG_A_B=n\n"
    )


# ------------------------------------------------------------------------------------ overlays

CHOSEN = OverlayEdit(TARGET, Action.SET, "/chosen", "nordic,pm-ext-flash", "&mx25r64")
NODE = OverlayEdit(TARGET, Action.ADD, "&mx25r64", partition=PartitionNode("lfs_partition", 0, 0x10000))


def test_overlay_addition_goes_at_the_end_after_a_comment_naming_the_rule():
    text = '&uart0 {\n\tstatus = "okay";\n};'
    result = twice_same(apply_overlay, text, CHOSEN, "PMD801 ext-flash-chosen-missing")
    assert result.startswith(
        text + "\n\n/* Added by pmdoctor fix for PMD801 ext-flash-chosen-missing */\n/ {\n"
    )
    assert result.endswith("nordic,pm-ext-flash = &mx25r64;\n\t};\n};\n")


def test_overlay_created_from_nothing_and_not_added_twice_however_it_is_indented():
    created = twice_same(apply_overlay, "", NODE, "PMD802")
    assert created.startswith("/* Added by pmdoctor fix for PMD802 */\n&mx25r64 {")
    reindented = created.replace("\t", "    ")
    assert apply_overlay(reindented, NODE, "PMD802") == reindented


def test_consecutive_additions_for_one_rule_share_a_comment():
    result = apply_edits("", [(CHOSEN, "PMD801"), (NODE, "PMD801"), (CHOSEN, "PMD801")])
    assert result.count("/* Added by pmdoctor fix for PMD801 */") == 1
    assert result.count("nordic,pm-ext-flash") == 1
    assert apply_edits(result, [(CHOSEN, "PMD801"), (NODE, "PMD801")]) == result


# ------------------------------------------------------------------------------------ static layouts

LAYOUT = """\
# Our layout: do not let PM move storage
mcuboot:
  address: 0x0
  size: 0xC000   # 48 KiB
mcuboot_secondary:
  address: 0x00082000
  orig_span: &id001
  - mcuboot_pad
  span: *id001
  size: 483328

settings_storage:
  address: 0xF8000
  size: 0x8000
"""


def test_hex_stays_hex_in_its_case_and_padding_and_decimal_stays_decimal():
    result = twice_same(apply_static, LAYOUT, static(Action.SET, "mcuboot", "size", 0xD000))
    assert "  size: 0xD000   # 48 KiB\n" in result
    padded = twice_same(apply_static, LAYOUT, static(Action.SET, "mcuboot_secondary", "address", 0x83000))
    assert "  address: 0x00083000\n" in padded
    decimal = twice_same(apply_static, LAYOUT, static(Action.SET, "mcuboot_secondary", "size", 487424))
    assert "  size: 487424\n" in decimal
    for edited in (result, padded, decimal):
        assert len(changed_lines(LAYOUT, edited)) == 2


def changed_lines(before: str, after: str):
    return [
        line
        for line in difflib.unified_diff(before.splitlines(True), after.splitlines(True), n=0)
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]


def test_setting_a_key_to_its_value_changes_nothing_whatever_its_spelling():
    assert apply_static(LAYOUT, static(Action.SET, "mcuboot", "size", 0xC000)) == LAYOUT
    assert apply_static(LAYOUT, static(Action.SET, "mcuboot_secondary", "size", 0x76000)) == LAYOUT


def test_a_missing_key_is_added_inside_its_partition():
    result = twice_same(apply_static, LAYOUT, static(Action.SET, "mcuboot", "end_address", 0xD000))
    assert "  size: 0xC000   # 48 KiB\n  end_address: 0xD000\nmcuboot_secondary:" in result


def test_a_list_or_alias_value_is_rewritten_as_a_flow_list():
    result = twice_same(apply_static, LAYOUT, static(Action.SET, "mcuboot_secondary", "span", ("app",)))
    assert "  span: [app]\n" in result
    assert yaml.safe_load(result)["mcuboot_secondary"]["orig_span"] == ["mcuboot_pad"]


def test_keys_and_partitions_are_removed_with_their_lines_only():
    no_size = twice_same(apply_static, LAYOUT, static(Action.REMOVE, "mcuboot_secondary", "size"))
    assert changed_lines(LAYOUT, no_size) == ["-  size: 483328\n"]
    # The anchor `span` uses would go with `orig_span`: refused, not broken.
    with pytest.raises(EditError, match="an alias"):
        apply_static(LAYOUT, static(Action.REMOVE, "mcuboot_secondary", "orig_span"))
    without = twice_same(apply_static, LAYOUT, static(Action.REMOVE, "mcuboot_secondary"))
    assert "mcuboot_secondary" not in without
    assert without.startswith("# Our layout")
    assert "size: 0xC000   # 48 KiB\n\nsettings_storage:" in without
    assert set(yaml.safe_load(without)) == {"mcuboot", "settings_storage"}


def test_a_partition_is_added_once_and_in_the_files_number_style():
    edit = static(
        Action.ADD,
        "littlefs_storage",
        entries=[("address", 0xF0000), ("size", 0xA000), ("region", "flash_primary")],
    )
    result = twice_same(apply_static, LAYOUT, edit)
    assert result.endswith(
        "\nlittlefs_storage:\n  address: 0xF0000\n  size: 0xA000\n  region: flash_primary\n"
    )
    assert yaml.safe_load(result)["littlefs_storage"]["size"] == 0xA000


def test_adding_a_partition_that_is_there_sets_its_keys():
    edit = static(Action.ADD, "settings_storage", entries=[("address", 0xF8000), ("size", 0x6000)])
    result = twice_same(apply_static, LAYOUT, edit)
    assert changed_lines(LAYOUT, result) == ["-  size: 0x8000\n", "+  size: 0x6000\n"]


def test_an_edit_that_does_not_fit_says_why():
    with pytest.raises(EditError, match="no partition `app`"):
        apply_static(LAYOUT, static(Action.SET, "app", "size", 1))
    with pytest.raises(EditError, match="flow style"):
        apply_static("app: {address: 0x0, size: 0x1000}\n", static(Action.SET, "app", "size", 0x2000))
    with pytest.raises(EditError, match="YAML cannot be read"):
        apply_static("app: [\n", static(Action.SET, "app", "size", 0x2000))
    with pytest.raises(EditError, match="not a map"):
        apply_static("- a\n", static(Action.SET, "app", "size", 0x2000))


def test_every_corpus_static_file_is_kept_byte_for_byte_and_edited_on_one_line():
    """Each pm_static file of the corpus: an edit to its own value changes no byte; a real one, one line."""
    files = sorted((corpus_or_skip() / "pm_static").iterdir())
    edited = 0
    for path in files:
        text = path.read_bytes().decode("utf-8")
        document = yaml.safe_load(text)
        sized = [
            name
            for name, part in document.items()
            if isinstance(part, dict) and isinstance(part.get("size"), int)
        ]
        if not sized:
            continue
        name, size = sized[-1], document[sized[-1]]["size"]
        assert apply_static(text, static(Action.SET, name, "size", size)) == text, path.name
        result = twice_same(apply_static, text, static(Action.SET, name, "size", size + 0x1000))
        assert len(changed_lines(text, result)) == 2, path.name
        assert yaml.safe_load(result)[name]["size"] == size + 0x1000, path.name
        edited += 1
    print(f"{edited} of {len(files)} corpus pm_static files edited in place, the rest of each kept")
    assert edited >= len(files) - 4  # a few name their sizes with Kconfig symbols or have no partitions


# ------------------------------------------------------------------------------------ writing


def test_replace_edited_keeps_a_byte_identical_backup_and_the_mode(tmp_path):
    target = tmp_path / "prj.conf"
    original = b"CONFIG_A=y\r\n"
    target.write_bytes(original)
    target.chmod(0o640)
    backup = replace_edited(target, "CONFIG_A=n\r\n", file_digest(original))
    assert backup == tmp_path / "prj.conf.orig"
    assert backup.read_bytes() == original
    assert target.read_bytes() == b"CONFIG_A=n\r\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    # A second backup never overwrites the first.
    replace_edited(target, "CONFIG_A=y\r\n", file_digest(target.read_bytes()))
    assert (tmp_path / "prj.conf.orig.1").read_bytes() == b"CONFIG_A=n\r\n"
    assert backup.read_bytes() == original


def test_replace_edited_refuses_a_file_changed_since_it_was_read(tmp_path):
    target = tmp_path / "pm_static.yml"
    target.write_text("app:\n  size: 0x1000\n")
    change = plan_file(target, [(static(Action.SET, "app", "size", 0x2000), "PMD990")])
    target.write_text("app:\n  size: 0x1000\n# mine\n")
    with pytest.raises(WriteRefused, match="changed since pmdoctor read it"):
        replace_edited(target, change.after, change.read_digest)
    assert target.read_text().endswith("# mine\n")
    assert not (tmp_path / "pm_static.yml.orig").exists()
    # A file that appeared where none was read is refused too.
    with pytest.raises(WriteRefused):
        replace_edited(target, "x", None)


def test_replace_edited_refuses_symlinks_and_creates_absent_files(tmp_path):
    real = tmp_path / "real.conf"
    real.write_text("CONFIG_A=y\n")
    link = tmp_path / "link.conf"
    link.symlink_to(real)
    with pytest.raises(WriteRefused, match="symbolic link"):
        replace_edited(link, "x\n", file_digest(real.read_bytes()))
    created = tmp_path / "sysbuild" / "mcuboot.overlay"
    assert replace_edited(created, "/ {\n};\n", None) is None
    assert created.read_text() == "/ {\n};\n"


def test_a_failure_between_write_and_rename_leaves_the_original_and_no_temporary(tmp_path, monkeypatch):
    target = tmp_path / "pm_static.yml"
    original = b"app:\n  size: 0x1000\n"
    target.write_bytes(original)

    def fail(source, destination):
        assert Path(source).read_text() == "new\n"  # the new text was written in full
        raise OSError(28, "No space left on device")

    # The real part (a disk failing at that moment) cannot be produced on demand.
    monkeypatch.setattr(write_module, "_rename", fail)
    with pytest.raises(OSError):
        replace_edited(target, "new\n", file_digest(original))
    assert target.read_bytes() == original
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pm_static.yml", "pm_static.yml.orig"]


def test_backup_dir_names_keep_relative_folders_and_stay_inside(tmp_path):
    folder = tmp_path / "saved"
    assert backup_path(Path("/app/sysbuild/mcuboot.conf"), folder, Path("sysbuild/mcuboot.conf")) == (
        folder / "sysbuild" / "mcuboot.conf.orig"
    )
    assert backup_path(Path("/app/x.conf"), folder, Path("../../etc/x.conf")) == folder / "x.conf.orig"
    assert os.path.commonpath([backup_path(Path("/a/b.conf"), folder, None), folder]) == str(folder)
