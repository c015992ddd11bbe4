"""``pmdoctor fix``: real source trees and builds on disk, real pmdoctor processes.

The edits come from the stand-in rule PMD990 (see fix_offers.py), so each
test says exactly which edit of which kind goes into which file; the rest of
the pipeline (analysis, plan, diff, atomic write, backup, re-check with the
real rules) is the real one.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Dict, List

import pytest

from conftest import BUILDS
from fix_offers import RULE_ID, run_fix, write_offers
from helpers import edit, run_pmdoctor

STATIC_APP = BUILDS / "foundation" / "static_nrf52840" / "app"


def static_app(tmp_path: Path) -> Path:
    """A private copy of a healthy build that reads ``<app>/pm_static.yml`` from its sources."""
    app = tmp_path / "app"
    shutil.copytree(STATIC_APP, app)
    return app


def size_fix(app: Path, **extra) -> dict:
    """The offer that gives `mcuboot_secondary` back the primary's size."""
    return {
        "edits": [
            {
                "kind": "static",
                "file": str(app / "pm_static.yml"),
                "partition": "mcuboot_secondary",
                "key": "size",
                "value": 0x76000,
            }
        ],
        "message": "mcuboot_secondary is smaller than mcuboot_primary",
        **extra,
    }


def broken_static_app(tmp_path: Path, **extra) -> Path:
    app = static_app(tmp_path)
    edit(app / "pm_static.yml", "  size: 0x76000\nsettings_storage:", "  size: 0x75000\nsettings_storage:")
    write_offers(app / "build", [size_fix(app, **extra)])
    return app


def tree_bytes(folder: Path) -> Dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_without_write_the_diff_is_shown_and_nothing_is_written(tmp_path):
    app = broken_static_app(tmp_path)
    before = tree_bytes(app)
    proc = run_fix("-d", "build", cwd=app)
    assert proc.returncode == 1, proc.stderr  # a change is waiting
    assert "--- a/pm_static.yml\n+++ b/pm_static.yml\n" in proc.stdout
    assert "-  size: 0x75000\n+  size: 0x76000\n" in proc.stdout
    assert "fix --write" in proc.stdout
    assert tree_bytes(app) == before


def test_write_applies_keeps_a_byte_identical_backup_and_a_second_run_changes_nothing(tmp_path):
    app = broken_static_app(tmp_path)
    original = (app / "pm_static.yml").read_bytes()
    proc = run_fix("-d", "build", "--write", cwd=app)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    written = (app / "pm_static.yml").read_bytes()
    assert written == original.replace(b"size: 0x75000\nsettings", b"size: 0x76000\nsettings")
    assert (app / "pm_static.yml.orig").read_bytes() == original
    assert "Wrote pm_static.yml (backup pm_static.yml.orig)" in proc.stdout
    # The static file is read from the sources: the re-check with every rule sees the edit.
    assert f"Re-checked from your sources: {RULE_ID} is gone" in proc.stdout
    assert "New after the edit" not in proc.stdout
    assert "west build -p" in proc.stdout

    again = run_fix("-d", "build", "--write", cwd=app)
    assert again.returncode == 0, again.stdout
    assert "Nothing to fix" in again.stdout
    assert (app / "pm_static.yml").read_bytes() == written
    assert not list(app.glob("pm_static.yml.orig.*"))  # no second backup either


def test_backup_dir_keeps_files_of_one_name_apart(tmp_path):
    app = static_app(tmp_path)
    (app / "sysbuild").mkdir()
    (app / "child_image").mkdir()
    (app / "sysbuild" / "mcuboot.conf").write_text("CONFIG_A=y\n")
    (app / "child_image" / "mcuboot.conf").write_text("CONFIG_B=y\n")
    offers = [
        {
            "edits": [
                {"kind": "kconfig", "file": str(app / d / "mcuboot.conf"), "symbol": "CONFIG_C", "value": "y"}
            ]
        }
        for d in ("sysbuild", "child_image")
    ]
    write_offers(app / "build", offers)
    proc = run_fix("-d", "build", "--write", "--backup-dir", "saved", cwd=app)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (app / "saved" / "sysbuild" / "mcuboot.conf.orig").read_text() == "CONFIG_A=y\n"
    assert (app / "saved" / "child_image" / "mcuboot.conf.orig").read_text() == "CONFIG_B=y\n"
    assert not (app / "sysbuild" / "mcuboot.conf.orig").exists()
    assert (app / "sysbuild" / "mcuboot.conf").read_text() == "CONFIG_A=y\nCONFIG_C=y\n"


def test_a_process_stopped_between_write_and_rename_leaves_the_original(tmp_path):
    app = broken_static_app(tmp_path)
    original = (app / "pm_static.yml").read_bytes()
    proc = run_fix("-d", "build", "--write", cwd=app, env={"FIX_TEST_DIE_BEFORE_RENAME": "1"})
    assert proc.returncode == 70, proc.stdout + proc.stderr  # it really stopped there
    assert (app / "pm_static.yml").read_bytes() == original
    # The next run is not confused by what the stopped one left behind.
    done = run_fix("-d", "build", "--write", cwd=app)
    assert done.returncode == 0, done.stdout + done.stderr
    assert b"size: 0x76000\nsettings" in (app / "pm_static.yml").read_bytes()


def test_a_file_edited_between_analysis_and_write_is_refused(tmp_path):
    app = broken_static_app(tmp_path)
    target = app / "pm_static.yml"
    proc = run_fix("-d", "build", "--write", cwd=app, env={"FIX_TEST_TOUCH_AFTER_PLAN": str(target)})
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "changed since pmdoctor read it" in proc.stdout
    text = target.read_text()
    assert text.endswith("# edited by hand meanwhile\n")  # the hand edit survives
    assert "size: 0x75000\nsettings" in text  # and pmdoctor's edit was not made
    assert not (app / "pm_static.yml.orig").exists()


def test_a_layout_change_needs_allow_layout_change(tmp_path):
    warning = "moving mcuboot_secondary breaks DFU from the firmware in the field; check with --baseline"
    app = broken_static_app(tmp_path, field_warning=warning)
    original = (app / "pm_static.yml").read_bytes()
    refused = run_fix("-d", "build", "--write", cwd=app)
    assert refused.returncode == 1
    assert "needs --allow-layout-change" in refused.stdout
    assert warning in refused.stdout
    assert "--- a/pm_static.yml" not in refused.stdout  # the diff shows what --write would do
    assert (app / "pm_static.yml").read_bytes() == original
    allowed = run_fix("-d", "build", "--write", "--allow-layout-change", cwd=app)
    assert allowed.returncode == 0, allowed.stdout
    assert f"! {warning}" in allowed.stdout
    assert b"size: 0x76000\nsettings" in (app / "pm_static.yml").read_bytes()


def test_advice_and_generated_files_are_listed_not_applied(tmp_path):
    app = broken_static_app(tmp_path)
    offers = [
        size_fix(app, checked=False, conflict="growing it would overlap `settings_storage`"),
        {
            "edits": [
                {
                    "kind": "static",
                    "file": str(app / "build" / "partitions.yml"),
                    "partition": "mcuboot_secondary",
                    "key": "size",
                    "value": 0x77000,
                }
            ]
        },
        {
            "edits": [
                {"kind": "kconfig", "file": str(app / "prj.conf"), "symbol": "CONFIG_NVS", "value": "n"}
            ],
            "checked": None,
        },
    ]
    write_offers(app / "build", offers)
    before = tree_bytes(app)
    proc = run_fix("-d", "build", "--write", "--rule", RULE_ID, cwd=app)
    assert proc.returncode == 1
    assert "Not applied (3)" in proc.stdout
    assert "did not pass the re-check (growing it would overlap `settings_storage`)" in proc.stdout
    assert "partitions.yml is generated under the build directory" in proc.stdout
    assert "its edit was not checked" in proc.stdout
    assert tree_bytes(app) == before


def test_fixes_that_fit_alone_but_not_together_are_both_held(tmp_path):
    app = broken_static_app(tmp_path)
    removal = {
        "kind": "static",
        "file": str(app / "pm_static.yml"),
        "partition": "mcuboot_secondary",
        "action": "remove",
    }
    write_offers(app / "build", [{"edits": [removal]}, size_fix(app)])
    before = tree_bytes(app)
    proc = run_fix("-d", "build", "--write", "--rule", RULE_ID, cwd=app)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert proc.stdout.count("cannot be applied with the other fixes to pm_static.yml") == 2
    assert "Wrote" not in proc.stdout
    assert tree_bytes(app) == before


def test_a_build_from_another_machine_never_gets_its_sources_created_here(tmp_path):
    build = tmp_path / "build"
    shutil.copytree(BUILDS / "foundation" / "child_image_nrf52840", build)  # sources not on this machine
    elsewhere = "C:/Users/someone/app/child_image/mcuboot.conf"  # relative, seen from Linux
    offer = {
        "edits": [{"kind": "kconfig", "file": elsewhere, "symbol": "CONFIG_A", "value": "y", "exists": False}]
    }
    write_offers(build, [offer])
    proc = run_fix("-d", "build", "--write", cwd=tmp_path)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "are not on this machine" in proc.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["build"]


def test_an_edit_that_makes_a_new_error_is_reported(tmp_path):
    app = static_app(tmp_path)
    # The stand-in offers an edit no checker would pass: it leaves a gap before settings_storage.
    offer = size_fix(app)
    offer["edits"][0]["value"] = 0x70000
    write_offers(app / "build", [offer])
    proc = run_fix("-d", "build", "--write", cwd=app)
    assert proc.returncode == 1, proc.stdout
    assert "New after the edit:" in proc.stdout


def test_rule_selects_whose_fixes_are_applied(tmp_path):
    app = broken_static_app(tmp_path)
    other = run_fix("-d", "build", "--rule", "PMD101", cwd=app)
    assert other.returncode == 0, other.stdout + other.stderr
    assert "Nothing to fix" in other.stdout
    mine = run_fix("-d", "build", "--rule", RULE_ID, cwd=app)
    assert "+  size: 0x76000" in mine.stdout
    unknown = run_fix("-d", "build", "--rule", "PMD000", cwd=app)
    assert unknown.returncode == 2


def test_a_real_rule_fix_goes_into_the_file_pm_static_yml_file_names(tmp_path):
    """PMD003 (converted, checked by the fix checker): no stand-in, the whole real pipeline."""
    app = static_app(tmp_path)
    product = app / "layouts" / "product.yml"
    product.parent.mkdir()
    product.write_text(
        "# product layout\nmcuboot:\n  address: 0x0\n  size: 0xc000\n  region: flash_primary\n"
        "image_0:\n  address: 0xc000\n  size: 0x76000\n  region: flash_primary\n"
        "mcuboot_secondary:\n  address: 0x82000\n  size: 0x76000\n  region: flash_primary\n"
        "settings_storage:\n  address: 0xf8000\n  size: 0x8000\n  region: flash_primary\n"
    )
    cache = app / "build" / "CMakeCache.txt"
    cache.write_text(cache.read_text() + f"PM_STATIC_YML_FILE:INTERNAL={product}\n")
    original = product.read_bytes()
    # The rename moves what devices in the field boot from: held without the flag.
    held = run_pmdoctor("fix", "-d", "build", "--rule", "PMD003", "--write", cwd=app)
    assert "needs --allow-layout-change" in held.stdout and product.read_bytes() == original
    dry = run_pmdoctor("fix", "-d", "build", "--rule", "PMD003", "--allow-layout-change", cwd=app)
    assert "+++ b/layouts/product.yml" in dry.stdout, dry.stdout + dry.stderr
    assert "+mcuboot_primary:" in dry.stdout and "-image_0:" in dry.stdout
    assert "--- a/pm_static.yml" not in dry.stdout  # not the app's pm_static.yml, which PM does not read
    assert product.read_bytes() == original
    written = run_pmdoctor(
        "fix", "-d", "build", "--rule", "PMD003", "--write", "--allow-layout-change", cwd=app
    )
    assert written.returncode == 0, written.stdout + written.stderr
    assert "Re-checked from your sources: PMD003 is gone" in written.stdout
    assert (app / "layouts" / "product.yml.orig").read_bytes() == original
    assert product.read_text().startswith("# product layout\n")
    assert "mcuboot_primary:" in product.read_text() and "image_0" not in product.read_text()
    again = run_pmdoctor(
        "fix", "-d", "build", "--rule", "PMD003", "--write", "--allow-layout-change", cwd=app
    )
    assert again.returncode == 0 and "Nothing to fix" in again.stdout, again.stdout


def test_fix_without_the_stand_in_rule_and_usage_errors(tmp_path):
    app = static_app(tmp_path)
    healthy = run_pmdoctor("fix", "-d", "build", cwd=app)
    assert healthy.returncode == 0, healthy.stdout + healthy.stderr
    assert healthy.stdout.startswith("pmdoctor fix: build\n")
    assert run_pmdoctor("fix", "-d", "build", "-f", "sarif", cwd=app).returncode == 2
    assert run_pmdoctor("fix", "somewhere", cwd=app).returncode == 2
    assert run_pmdoctor("fix", "-d", "nothing-here", cwd=app).returncode == 2


# --------------------------------------------------------------------------- each edit, each era's files

ERAS = {
    # era: (fixture build, the files of that era's convention)
    "child_image": (
        "child_image_nrf52840",
        "prj.conf",
        "child_image/mcuboot.conf",
        "boards/nrf52840dk_nrf52840.overlay",
    ),
    "sysbuild": ("sysbuild_nrf52840", "sysbuild.conf", "sysbuild/mcuboot.conf", "sysbuild/mcuboot.overlay"),
    "devicetree": (
        "devicetree_nrf52840",
        "prj.conf",
        "sysbuild/mcuboot.conf",
        "boards/nrf52840dk_nrf52840.overlay",
    ),
}


def era_app(tmp_path: Path, era: str) -> Path:
    fixture, app_conf, image_conf, overlay = ERAS[era]
    app = tmp_path / "app"
    shutil.copytree(BUILDS / "foundation" / fixture, app / "build")
    (app / "CMakeLists.txt").write_text("project(app)\n")
    (app / app_conf).write_text("# application\nCONFIG_FOO=y\n")
    (app / image_conf).parent.mkdir(parents=True, exist_ok=True)
    (app / image_conf).write_text("# CONFIG_BOOT_SWAP_USING_MOVE is not set\nCONFIG_BAR=1\n")
    (app / overlay).parent.mkdir(parents=True, exist_ok=True)
    if era != "sysbuild":  # the sysbuild overlay is created by the fix
        (app / overlay).write_text("/ {\n\tchosen {\n\t};\n};\n")
    (app / "pm_static.yml").write_text(
        "# kept\nmcuboot_secondary:\n  address: 0x82000  # slot 1\n  size: 0x75000\n"
    )
    return app


@pytest.mark.parametrize("era", sorted(ERAS))
def test_each_edit_kind_goes_into_the_file_of_the_era(tmp_path, era):
    _, app_conf, image_conf, overlay = ERAS[era]
    app = era_app(tmp_path, era)
    symbol = "SB_CONFIG_BOOT_SIGNATURE_TYPE_ED25519" if app_conf == "sysbuild.conf" else "CONFIG_FOO"
    if symbol.startswith("SB_"):
        (app / app_conf).write_text("# sysbuild\nSB_CONFIG_BOOT_SIGNATURE_TYPE_ED25519=n\n")
    node = {"node_label": "storage_partition", "address": 0xF8000, "size": 0x8000, "label": "storage"}
    edits: List[dict] = [
        {
            "kind": "kconfig",
            "file": str(app / app_conf),
            "symbol": symbol,
            "value": "y" if symbol.startswith("SB_") else "n",
        },
        {
            "kind": "kconfig",
            "file": str(app / image_conf),
            "symbol": "CONFIG_BOOT_SWAP_USING_MOVE",
            "value": "y",
        },
        {
            "kind": "overlay",
            "file": str(app / overlay),
            "action": "add",
            "node": "&flash0",
            "partition": node,
            "exists": era != "sysbuild",
        },
        {
            "kind": "overlay",
            "file": str(app / overlay),
            "node": "/chosen",
            "prop": "zephyr,code-partition",
            "value": "&slot0_partition",
            "exists": era != "sysbuild",
        },
        {
            "kind": "static",
            "file": str(app / "pm_static.yml"),
            "partition": "mcuboot_secondary",
            "key": "size",
            "value": 0x76000,
        },
    ]
    write_offers(app / "build", [{"edits": edits}])
    # Only the stand-in's fixes: the one-partition pm_static.yml is no whole layout.
    dry = run_fix("-d", "build", "--rule", RULE_ID, cwd=app)
    assert dry.returncode == 1, dry.stdout + dry.stderr
    for name in (app_conf, image_conf, overlay, "pm_static.yml"):
        assert f"+++ b/{name}\n" in dry.stdout
    assert "--- /dev/null\n" in dry.stdout if era == "sysbuild" else "--- /dev/null" not in dry.stdout

    written = run_fix("-d", "build", "--write", "--rule", RULE_ID, cwd=app)
    assert written.returncode == 0, written.stdout + written.stderr
    conf = (app / app_conf).read_text()
    assert conf == (
        "# sysbuild\nSB_CONFIG_BOOT_SIGNATURE_TYPE_ED25519=y\n"
        if symbol.startswith("SB_")
        else "# application\nCONFIG_FOO=n\n"
    )
    assert (app / image_conf).read_text() == "CONFIG_BOOT_SWAP_USING_MOVE=y\nCONFIG_BAR=1\n"
    text = (app / overlay).read_text()
    assert text.count(f"/* Added by pmdoctor fix for {RULE_ID} test-fix-offer */") == 1
    assert "storage_partition: partition@f8000 {" in text
    assert "zephyr,code-partition = &slot0_partition;" in text
    if era != "sysbuild":
        assert text.startswith("/ {\n\tchosen {\n\t};\n};\n\n/* Added")
        assert (app / f"{overlay}.orig").read_text() == "/ {\n\tchosen {\n\t};\n};\n"
    else:
        assert "(created)" in written.stdout
    assert (app / "pm_static.yml").read_text() == (
        "# kept\nmcuboot_secondary:\n  address: 0x82000  # slot 1\n  size: 0x76000\n"
    )
    assert "Needs a new build to confirm" in written.stdout

    snapshot = tree_bytes(app)
    again = run_fix("-d", "build", "--write", "--rule", RULE_ID, cwd=app)
    assert again.returncode == 0, again.stdout
    assert tree_bytes(app) == snapshot


def test_west_pmdoctor_fix(tmp_path):
    west = pytest.importorskip("test_west")
    if west.WEST is None or shutil.which("git") is None:
        pytest.skip("west or git is missing")
    manifest = tmp_path / "ws" / "manifest"
    west.copy_repo_files(manifest)
    (manifest / "west.yml").write_text(west.SELF_MANIFEST)
    workspace = west.Workspace(tmp_path / "ws", west.isolated_env(tmp_path))
    workspace.west("init", "-l", "manifest", check=True)
    app = static_app(tmp_path)
    proc = workspace.west("pmdoctor", "fix", "-d", str(app / "build"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.startswith("pmdoctor fix: ")
    assert workspace.west("pmdoctor", "fix", "--write", "-d", "/no/such/build").returncode == 2


def test_the_bundled_example_is_repaired_in_its_sources(tmp_path):
    """The motivating case end to end: driver in prj.conf, the nRF5340 slots out of pm_static.yml
    (with the free-space entry meeting what is left), the redundant chosen dropped; the stale
    build's own files are not called new errors, and a second run changes nothing."""
    app = tmp_path / "example"
    shutil.copytree(Path(__file__).resolve().parents[1] / "examples" / "pinnacle100-qspi-secondary", app)
    originals = {name: (app / name).read_bytes() for name in ("prj.conf", "pm_static.yml")}
    written = run_pmdoctor("fix", "-d", "build", "--write", cwd=app)
    assert written.returncode == 0, written.stdout + written.stderr
    assert "Re-checked from your sources: PMD201 is gone" in written.stdout
    assert "New after the edit" not in written.stdout
    assert "CONFIG_NORDIC_QSPI_NOR=y" in (app / "prj.conf").read_text()
    static = (app / "pm_static.yml").read_text()
    assert "mcuboot_secondary_1" not in static and "pcd_sram" not in static
    assert "external_flash:\n  address: 0xe0000\n" in static
    assert (
        "/delete-property/ zephyr,external-flash;"
        in (app / "boards" / "pinnacle_100_dvk.overlay").read_text()
    )
    for name, content in originals.items():
        assert (app / f"{name}.orig").read_bytes() == content
    after = {path: path.read_bytes() for path in app.rglob("*") if path.is_file()}
    again = run_pmdoctor("fix", "-d", "build", "--write", cwd=app)
    assert "Wrote" not in again.stdout and "already in your files" in again.stdout, again.stdout
    assert {path: path.read_bytes() for path in app.rglob("*") if path.is_file()} == after
