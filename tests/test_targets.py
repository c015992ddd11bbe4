"""Fixes go into the file the build reads: the CMake cache's choice first, never a generated file."""

from __future__ import annotations

from pathlib import Path

from pmdoctor.model import Build, Era, Image, Kconfig, StaticFile
from pmdoctor.model.edits import Action
from pmdoctor.rules._shared.targets import (
    kconfig_fix,
    kconfig_target,
    overlay_target,
    static_fix,
    static_set,
    static_target,
)

APP = Path("/src/app")


def make_build(era: Era = Era.CHILD_IMAGE, cache=None, configs=()) -> Build:
    build = Build(
        path=APP / "build",
        era=era,
        sysbuild=era is Era.SYSBUILD,
        partition_manager=True,
        board="nrf9160dk/nrf9160/ns",
        source_dir=APP,
    )
    build.images = [
        Image("app", APP / "build", role="app"),
        Image("mcuboot", APP / "build" / "mcuboot", role="mcuboot"),
    ]
    build.cmake_cache = dict(cache or {})
    build.user_configs = {name: Kconfig(file=APP / name) for name in configs}
    return build


def test_pm_static_yml_file_wins_over_the_application_file() -> None:
    build = make_build(cache={"PM_STATIC_YML_FILE": "/src/app/layouts/product.yml"})
    build.static_files = [StaticFile(APP / "pm_static.yml", None, None, "application source directory")]
    target = static_target(build)
    assert target.file == Path("/src/app/layouts/product.yml")
    assert "PM_STATIC_YML_FILE" in target.convention and not target.outside_source


def test_a_board_static_file_outside_the_application_names_the_override() -> None:
    build = make_build(cache={"PM_STATIC_YML_FILE": "C:/ncs/v3.0.2/nrf/boards/nordic/x/x_pm_static.yml"})
    build.source_dir = Path("C:/work/app")
    target = static_target(build)
    assert target.outside_source
    assert "pm_static_nrf9160dk_nrf9160_ns.yml" in target.convention
    fix = static_fix(build, None, [static_set("mcuboot_secondary", "size", 0x1000)], "Grow it")
    assert fix.edits[0].target == target and "outside the application" in fix.description


def test_never_a_file_under_the_build_directory() -> None:
    build = make_build()
    build.static_files = [StaticFile(APP / "build" / "partitions.yml", None, None, "build directory")]
    assert static_target(build).file == APP / "pm_static.yml"


def test_mcuboot_overlay_config_in_the_cache_takes_mcuboot_options() -> None:
    build = make_build(
        cache={
            "mcuboot_OVERLAY_CONFIG": "/src/app/conf/mcuboot/mcuboot.conf "
            "/ncs/nrf/subsys/partition_manager/partition_manager_enabled.conf"
        }
    )
    target = kconfig_target(build, "mcuboot")
    assert target.file == APP / "conf/mcuboot/mcuboot.conf"
    assert "mcuboot_OVERLAY_CONFIG" in target.convention
    fix = kconfig_fix(build, "mcuboot", {"CONFIG_BOOT_MAX_IMG_SECTORS": "512", "CONFIG_X": None}, "Why")
    assert [edit.action for edit in fix.edits] == [Action.SET, Action.REMOVE]
    assert fix.file == APP / "conf/mcuboot/mcuboot.conf"


def test_sdk_fragments_in_the_cache_fall_back_to_the_era_convention() -> None:
    build = make_build(Era.SYSBUILD, cache={"mcuboot_EXTRA_CONF_FILE": "/ncs/nrf/modules/mcuboot/tfm.conf"})
    assert kconfig_target(build, "mcuboot").file == APP / "sysbuild/mcuboot.conf"


def test_the_image_dtc_overlay_file_takes_devicetree() -> None:
    build = make_build(
        cache={
            "mcuboot_DTC_OVERLAY_FILE": "/ncs/nrf/modules/mcuboot/usb.overlay;"
            "/src/app/child_image/mcuboot.overlay"
        }
    )
    assert overlay_target(build, "mcuboot").file == APP / "child_image/mcuboot.overlay"
