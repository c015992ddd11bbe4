"""Fix targets speak the build's era and name the user's own files (fixes.py)."""

from __future__ import annotations

from pathlib import Path

from pmdoctor.model import Build, Era, Image, Kconfig
from pmdoctor.rules._shared.targets import build_option, image_config_file, image_kconfig, image_overlay_file

APP = Path("/src/app")


def make_build(era: Era, *, configs=(), overlays=()) -> Build:
    build = Build(
        path=APP / "build",
        era=era,
        sysbuild=era is not Era.CHILD_IMAGE,
        partition_manager=era is not Era.DEVICETREE,
        board="nrf52840dk/nrf52840",
        source_dir=APP,
    )
    build.images = [
        Image("app", APP / "build" / "app", role="app"),
        Image("mcuboot", APP / "build" / "mcuboot", role="mcuboot"),
    ]
    build.user_configs = {name: Kconfig(file=APP / name) for name in configs}
    build.user_overlays = list(overlays)
    return build


def test_kconfig_targets_per_era() -> None:
    sysbuild = make_build(Era.SYSBUILD)
    child = make_build(Era.CHILD_IMAGE)
    assert image_config_file(sysbuild, sysbuild.app) == APP / "prj.conf"
    assert image_config_file(sysbuild, sysbuild.image("mcuboot")) == APP / "sysbuild/mcuboot.conf"
    assert image_config_file(child, child.image("mcuboot")) == APP / "child_image/mcuboot.conf"


def test_an_image_configuration_directory_takes_the_options() -> None:
    build = make_build(Era.SYSBUILD, configs=["sysbuild/mcuboot/prj.conf"])
    assert image_config_file(build, build.image("mcuboot")) == APP / "sysbuild/mcuboot/prj.conf"


def test_overlay_targets() -> None:
    plain = make_build(Era.SYSBUILD)
    assert image_overlay_file(plain, plain.app) == APP / "app.overlay"
    assert image_overlay_file(plain, plain.image("mcuboot")) == APP / "sysbuild/mcuboot.overlay"
    boards = make_build(
        Era.SYSBUILD,
        overlays=["boards/nrf52840dk_nrf52840.overlay", "sysbuild/mcuboot/boards/other.overlay"],
    )
    assert image_overlay_file(boards, boards.app) == APP / "boards/nrf52840dk_nrf52840.overlay"
    assert (
        image_overlay_file(boards, boards.image("mcuboot"))
        == APP / "sysbuild/mcuboot/boards/nrf52840dk_nrf52840.overlay"
    )


def test_build_option_is_sb_config_in_sysbuild_and_app_config_in_child_images() -> None:
    sysbuild = build_option(make_build(Era.SYSBUILD), "PM_EXTERNAL_FLASH_MCUBOOT_SECONDARY", "y", "why")
    assert (sysbuild.file, sysbuild.snippet) == (
        APP / "sysbuild.conf",
        "SB_CONFIG_PM_EXTERNAL_FLASH_MCUBOOT_SECONDARY=y",
    )
    child = build_option(make_build(Era.CHILD_IMAGE), "PM_EXTERNAL_FLASH_MCUBOOT_SECONDARY", "y", "why")
    assert (child.file, child.snippet) == (APP / "prj.conf", "CONFIG_PM_EXTERNAL_FLASH_MCUBOOT_SECONDARY=y")


def test_image_kconfig_names_the_image_and_keeps_the_lines() -> None:
    build = make_build(Era.CHILD_IMAGE)
    fix = image_kconfig(build, build.image("mcuboot"), ["CONFIG_A=y", "CONFIG_B=4096"], "enable it")
    assert fix.file == APP / "child_image/mcuboot.conf"
    assert fix.snippet == "CONFIG_A=y\nCONFIG_B=4096"
    assert "mcuboot" in fix.description
