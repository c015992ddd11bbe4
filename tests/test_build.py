"""Locating a build directory and assembling the Build model from the fixtures."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Dict, Tuple

import pytest

from pmdoctor.api import load_build
from pmdoctor.inputs.locate import NoBuildDirectory, find_build_dir
from pmdoctor.model import Era, LayoutKind
from pmdoctor.model.pm import normalised_board, static_file_names

FOUNDATION = Path(__file__).resolve().parent / "builds" / "foundation"


def copy_case(tmp_path: Path, name: str) -> Path:
    return Path(shutil.copytree(FOUNDATION / name, tmp_path / name))


def make_build_dir(path: Path, board: str = "nrf52840dk/nrf52840") -> Path:
    path.mkdir(parents=True, exist_ok=True)
    (path / "CMakeCache.txt").write_text(f"BOARD:STRING={board}\nZEPHYR_BASE:PATH=/opt/zephyr\n")
    return path


# ------------------------------------------------------------ era, images

# name -> (build dir below the case, era, {image: (role, domain)})
EXPECTED: Dict[str, Tuple[str, Era, Dict[str, Tuple[str, object]]]] = {
    "child_image_nrf52840": (".", Era.CHILD_IMAGE, {"app": ("app", None), "mcuboot": ("mcuboot", None)}),
    "sysbuild_nrf52840": (".", Era.SYSBUILD, {"blinky": ("app", None), "mcuboot": ("mcuboot", None)}),
    "sysbuild_nrf5340": (
        ".",
        Era.SYSBUILD,
        {
            "peripheral_uart": ("app", None),
            "mcuboot": ("mcuboot", None),
            "ipc_radio": ("netcore", "CPUNET"),
            "b0n": ("b0n", "CPUNET"),
        },
    ),
    "child_image_nrf5340": (
        ".",
        Era.CHILD_IMAGE,
        {
            "app": ("app", None),
            "mcuboot": ("mcuboot", None),
            "hci_rpmsg": ("netcore", "CPUNET"),
            "b0n": ("b0n", "CPUNET"),
        },
    ),
    "devicetree_nrf52840": (".", Era.DEVICETREE, {"hello": ("app", None), "mcuboot": ("mcuboot", None)}),
    "pm_failed": ("app/build", Era.CHILD_IMAGE, {"app": ("app", None), "mcuboot": ("mcuboot", None)}),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_era_images_roles_and_domains(name: str) -> None:
    below, era, images = EXPECTED[name]
    build = load_build(FOUNDATION / name / below)
    assert build.era is era
    assert {i.name: (i.role, i.domain) for i in build.images} == images
    assert build.problems == []
    assert all(image.config and image.devicetree for image in build.images)


def test_sysbuild_nrf5340_domains_and_regions() -> None:
    build = load_build(FOUNDATION / "sysbuild_nrf5340")
    assert build.sysbuild and build.partition_manager
    assert [(layout.file.name, layout.domain) for layout in build.layouts] == [
        ("partitions.yml", None),
        ("partitions_CPUNET.yml", "CPUNET"),
    ]
    net = build.layout_for_domain("CPUNET").regions["flash_primary"]
    assert (net.base, net.size, net.erase_block) == (0x1000000, 0x40000, 0x800)
    assert build.sysbuild_config.enabled("SB_CONFIG_PARTITION_MANAGER")


def test_child_image_net_core_layout_lives_in_its_own_folder() -> None:
    """hci_rpmsg/partitions_CPUNET.yml has no regions file: bounds come from the net core's DTS."""
    build = load_build(FOUNDATION / "child_image_nrf5340")
    net = build.layout_for_domain("CPUNET")
    assert net.file == FOUNDATION / "child_image_nrf5340" / "hci_rpmsg" / "partitions_CPUNET.yml"
    flash = net.regions["flash_primary"]
    assert (flash.base, flash.size, flash.erase_block) == (0x1000000, 0x40000, 0x800)
    assert "flash1" in flash.origin


def test_devicetree_era_has_no_partition_manager() -> None:
    build = load_build(FOUNDATION / "devicetree_nrf52840")
    assert build.sysbuild and not build.partition_manager
    assert build.layouts == [] and build.static_files == []
    assert build.app.devicetree.layout.kind is LayoutKind.DEVICETREE


@pytest.mark.parametrize(
    ("name", "board", "soc", "ncs"),
    [
        ("child_image_nrf52840", "nrf52840dk_nrf52840", "nrf52840", "2.5.0"),
        ("sysbuild_nrf52840", "nrf52840dk/nrf52840", "nrf52840", "2.7.0"),
        ("sysbuild_nrf5340", "nrf5340dk/nrf5340/cpuapp", "nrf5340", "2.9.0"),
        ("child_image_nrf5340", "nrf5340dk_nrf5340_cpuapp", "nrf5340", "2.5.0"),  # C:/ncs/v2.5.0
        ("devicetree_nrf52840", "nrf52840dk/nrf52840", "nrf52840", None),
    ],
)
def test_board_soc_and_version(name: str, board: str, soc: str, ncs) -> None:
    build = load_build(FOUNDATION / name)
    assert (build.board, build.soc, build.ncs_version) == (board, soc, ncs)


def test_board_from_sysbuild_kconfig_when_cache_has_none(tmp_path: Path) -> None:
    case = copy_case(tmp_path, "sysbuild_nrf5340")
    cache = case / "CMakeCache.txt"
    lines = [line for line in cache.read_text().splitlines() if "BOARD:" not in line]
    cache.write_text("\n".join(lines) + "\n")
    assert load_build(case).board == "nrf5340dk/nrf5340/cpuapp"


def test_soc_from_devicetree_when_no_config(tmp_path: Path) -> None:
    case = copy_case(tmp_path, "child_image_nrf52840")
    (case / "zephyr" / ".config").unlink()
    (case / "partitions.yml").unlink()
    build = load_build(case)
    assert build.soc == "nrf52840"  # from the root compatible "nordic,nrf52840-dk-nrf52840"
    assert build.era is Era.DEVICETREE  # nothing says Partition Manager any more


@pytest.mark.parametrize(
    ("board", "normal"),
    [
        ("nrf5340dk/nrf5340/cpuapp", "nrf5340dk_nrf5340_cpuapp"),
        ("nrf52840dk/nrf52840", "nrf52840dk_nrf52840"),
        ("thingy53/nrf5340/cpuapp/ns@1.0.0", "thingy53_nrf5340_cpuapp_ns"),
        ("nrf9160dk_nrf9160_ns", "nrf9160dk_nrf9160_ns"),
        (None, None),
    ],
)
def test_normalised_board(board, normal) -> None:
    assert normalised_board(board) == normal


def test_static_file_names_order() -> None:
    names = static_file_names("nrf52840dk/nrf52840", {"FILE_SUFFIX": "release"})
    assert names == [
        "pm_static_nrf52840dk_nrf52840_release.yml",
        "pm_static_nrf52840dk_nrf52840.yml",
        "pm_static_release.yml",
        "pm_static.yml",
    ]


def test_build_info_gives_zephyr_version_and_source(tmp_path: Path) -> None:
    case = copy_case(tmp_path, "devicetree_nrf52840")
    (case / "hello" / "build_info.yml").write_text(
        "cmake:\n  application:\n    source-dir: '/home/user/hello'\n  zephyr:\n    version: '4.1.0'\n"
    )
    build = load_build(case)
    assert build.zephyr_version == "4.1.0"
    assert str(build.source_dir) == "/home/user/hello"


# ------------------------------------------------------------ sub-builds


def test_image_dir_inside_sysbuild_tree_analyses_the_whole_build() -> None:
    top = FOUNDATION / "sysbuild_nrf5340"
    build = load_build(top / "peripheral_uart")
    assert build.path == top
    assert {image.name for image in build.images} == {"peripheral_uart", "mcuboot", "ipc_radio", "b0n"}


def test_sysbuild_without_domains_yaml_finds_images_on_disk(tmp_path: Path) -> None:
    case = copy_case(tmp_path, "sysbuild_nrf52840")
    (case / "domains.yaml").unlink()
    build = load_build(case)
    assert build.era is Era.SYSBUILD  # SB_CONFIG_ symbols in zephyr/.config
    assert {image.name: image.role for image in build.images} == {"blinky": "app", "mcuboot": "mcuboot"}


def test_broken_domains_yaml_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    case = copy_case(tmp_path, "sysbuild_nrf52840")
    (case / "domains.yaml").write_text("default: blinky\n")
    build = load_build(case)
    assert [p.source.file.name for p in build.problems] == ["domains.yaml"]
    assert {image.name for image in build.images} == {"blinky", "mcuboot"}


# ----------------------------------------------------------- static files


def test_static_file_found_next_to_a_moved_build() -> None:
    case = FOUNDATION / "static_nrf52840"
    build = load_build(case / "app" / "build")
    assert [(s.path, s.how_found) for s in build.static_files] == [
        (case / "app" / "pm_static.yml", "application source directory")
    ]
    assert build.source_dir == case / "app"
    assert any("not on this machine" in note for note in build.notes)
    assert "prj.conf" in build.user_configs


def test_board_specific_static_file_shadows_the_generic_one(tmp_path: Path) -> None:
    case = copy_case(tmp_path, "static_nrf52840")
    board_file = case / "app" / "pm_static_nrf52840dk_nrf52840.yml"
    shutil.copy(case / "app" / "pm_static.yml", board_file)
    build = load_build(case / "app" / "build")
    assert [s.path for s in build.static_files] == [board_file]


def test_pm_static_yml_file_relative_to_source_dir(tmp_path: Path) -> None:
    case = copy_case(tmp_path, "static_nrf52840")
    custom = case / "app" / "configuration" / "pm_static_custom.yml"
    custom.parent.mkdir()
    shutil.move(str(case / "app" / "pm_static.yml"), custom)
    with (case / "app" / "build" / "CMakeCache.txt").open("a") as cache:
        cache.write("PM_STATIC_YML_FILE:STRING=configuration/pm_static_custom.yml\n")
    build = load_build(case / "app" / "build")
    assert [(s.path, s.how_found) for s in build.static_files] == [
        (custom, "PM_STATIC_YML_FILE in CMakeCache.txt")
    ]
    assert build.static_files[0].layout.get("mcuboot_secondary").size == 0x76000


def test_pm_static_yml_file_missing_here_is_a_note(tmp_path: Path) -> None:
    case = copy_case(tmp_path, "static_nrf52840")
    with (case / "app" / "build" / "CMakeCache.txt").open("a") as cache:
        cache.write("PM_STATIC_YML_FILE:STRING=/home/user/boards/pm_static_board.yml\n")
    build = load_build(case / "app" / "build")
    assert any("/home/user/boards/pm_static_board.yml" in note for note in build.notes)
    # The build used that board file, so the app's own pm_static.yml was not
    # in use and is not analysed in its place.
    assert build.static_files == []


def test_pm_static_yml_file_follows_a_moved_application(tmp_path: Path) -> None:
    case = copy_case(tmp_path, "static_nrf52840")
    cache_file = case / "app" / "build" / "CMakeCache.txt"
    recorded = next(
        line.split("=", 1)[1]
        for line in cache_file.read_text().splitlines()
        if line.startswith("APPLICATION_SOURCE_DIR:")
    )
    assert not Path(recorded).exists()  # recorded on another machine
    with cache_file.open("a") as cache:
        cache.write(f"PM_STATIC_YML_FILE:STRING={recorded}/pm_static.yml\n")
    build = load_build(case / "app" / "build")
    assert [(s.path, s.how_found) for s in build.static_files] == [
        (case / "app" / "pm_static.yml", "PM_STATIC_YML_FILE in CMakeCache.txt")
    ]


def test_pm_failed_build_still_reads_the_static_file() -> None:
    build = load_build(FOUNDATION / "pm_failed" / "app" / "build")
    assert build.layouts == []
    static = build.static_files[0].layout
    # No regions.yml: the region comes from the app's devicetree.
    region = static.regions["flash_primary"]
    assert (region.base, region.size, region.erase_block) == (0, 0x100000, 0x1000)


# ---------------------------------------------------------- find_build_dir


def test_explicit_build_dir(tmp_path: Path) -> None:
    build = make_build_dir(tmp_path / "app" / "build")
    assert find_build_dir(explicit="app/build", cwd=tmp_path) == build
    assert find_build_dir(explicit=str(build), cwd=Path("/")) == build


def test_explicit_build_dir_errors(tmp_path: Path) -> None:
    with pytest.raises(NoBuildDirectory, match="no such directory"):
        find_build_dir(explicit="missing", cwd=tmp_path)
    (tmp_path / "plain").mkdir()
    with pytest.raises(NoBuildDirectory, match=r"not a build directory \(no CMakeCache.txt\)"):
        find_build_dir(explicit="plain", cwd=tmp_path)


def test_dir_fmt_with_board_wins_over_cwd_build(tmp_path: Path) -> None:
    make_build_dir(tmp_path / "build")
    wanted = make_build_dir(tmp_path / "out" / "nrf52840dk_nrf52840")
    found = find_build_dir(dir_fmt="out/{board}", cwd=tmp_path, board="nrf52840dk_nrf52840")
    assert found == wanted


def test_dir_fmt_unresolved_field_guessed_through_single_child(tmp_path: Path) -> None:
    wanted = make_build_dir(tmp_path / "out" / "nrf52840dk" / "nrf52840")
    assert find_build_dir(dir_fmt="out/{board}", cwd=tmp_path) == wanted


def test_dir_fmt_unresolved_with_two_children_falls_back(tmp_path: Path) -> None:
    make_build_dir(tmp_path / "out" / "a")
    make_build_dir(tmp_path / "out" / "b")
    fallback = make_build_dir(tmp_path / "build")
    assert find_build_dir(dir_fmt="out/{board}", cwd=tmp_path) == fallback


def test_cwd_is_a_build_dir(tmp_path: Path) -> None:
    build = make_build_dir(tmp_path / "b")
    make_build_dir(build / "build")  # would be picked only if the cwd were not one
    assert find_build_dir(cwd=build) == build


def test_default_build_subdir(tmp_path: Path) -> None:
    build = make_build_dir(tmp_path / "build")
    assert find_build_dir(cwd=tmp_path) == build


def test_nothing_found_says_where_it_looked(tmp_path: Path) -> None:
    with pytest.raises(NoBuildDirectory) as caught:
        find_build_dir(dir_fmt="out/{board}", cwd=tmp_path, board="nrf52dk/nrf52832")
    message = str(caught.value)
    assert str(tmp_path / "out" / "nrf52dk" / "nrf52832") in message
    assert f"{tmp_path} (current directory)" in message
    assert str(tmp_path / "build") in message
    assert "-d" in message


def test_dir_fmt_known_fields_resolved_before_guessing(tmp_path: Path) -> None:
    """`{app}` is the cwd's name even when `{board}` after it is unknown (as in west)."""
    app = tmp_path / "blinky"
    make_build_dir(app / "build" / "other_app" / "nrf52840dk")  # a sibling app: not a single child of build
    wanted = make_build_dir(app / "build" / "blinky" / "nrf52840dk" / "nrf52840")
    assert find_build_dir(dir_fmt="build/{app}/{board}", cwd=app) == wanted


def test_dir_fmt_absolute_with_unknown_board(tmp_path: Path) -> None:
    wanted = make_build_dir(tmp_path / "builds" / "nrf5340dk" / "nrf5340" / "cpuapp")
    cwd = tmp_path / "app"
    cwd.mkdir()
    assert find_build_dir(dir_fmt=str(tmp_path / "builds" / "{board}"), cwd=cwd) == wanted


def test_dir_fmt_source_dir_is_the_cwd(tmp_path: Path) -> None:
    wanted = make_build_dir(tmp_path / "build" / "nrf52840dk_nrf52840")
    found = find_build_dir(dir_fmt="{source_dir}/build/{board}", cwd=tmp_path, board="nrf52840dk_nrf52840")
    assert found == wanted
