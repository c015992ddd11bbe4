"""Loaders: text, YAML with lines, .config, CMakeCache.txt, domains.yaml, zephyr.dts."""

from __future__ import annotations

import os
from pathlib import Path
from typing import List

import pytest

from helpers import leave_to_dtlib
from pmdoctor.loaders import MAX_FILE_BYTES, LoadError, read_text
from pmdoctor.loaders.cmake import load_cmake_cache, parse_cmake_cache
from pmdoctor.loaders.devicetree import load_devicetree
from pmdoctor.loaders.kconfig import load_kconfig, parse_kconfig, parse_value
from pmdoctor.loaders.partitions import layout_from_yaml, regions_from_yaml
from pmdoctor.loaders.schema import validate
from pmdoctor.loaders.sysbuild import load_domains, relocate
from pmdoctor.loaders.yamlfile import load_yaml, parse_yaml
from pmdoctor.model import LayoutKind, Source

FOUNDATION = Path(__file__).resolve().parent / "builds" / "foundation"


def write(tmp_path: Path, name: str, content: str) -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content, encoding="utf-8")
    return path


# -------------------------------------------------------------- read_text


def test_read_text_refuses_nul_bytes(tmp_path: Path) -> None:
    path = tmp_path / ".config"
    path.write_bytes(b"CONFIG_A=y\n\x00\x00\x00")
    with pytest.raises(LoadError, match="binary data"):
        read_text(path)


def test_read_text_names_the_line_of_invalid_utf8(tmp_path: Path) -> None:
    path = tmp_path / "partitions.yml"
    path.write_bytes(b"app:\n  address: 0x0\n  label: caf\xe9\n")
    with pytest.raises(LoadError) as caught:
        read_text(path)
    assert caught.value.source == Source(path, 3)
    assert "0xe9" in caught.value.message


def test_read_text_drops_a_byte_order_mark(tmp_path: Path) -> None:
    path = tmp_path / "pm_static.yml"
    path.write_bytes("\ufeffapp:\n".encode())
    assert read_text(path) == "app:\n"


def test_read_text_limit(tmp_path: Path) -> None:
    path = write(tmp_path, "regions.yml", "x" * 100)
    assert read_text(path, limit=100) == "x" * 100
    with pytest.raises(LoadError, match="101 bytes"):
        read_text(write(tmp_path, "big.yml", "x" * 101), limit=100)


def test_real_file_over_the_default_limit_is_not_read(tmp_path: Path) -> None:
    path = tmp_path / "partitions.yml"
    with path.open("wb") as handle:  # sparse: costs no disk space
        handle.truncate(MAX_FILE_BYTES + 1)
    with pytest.raises(LoadError, match="more than"):
        load_yaml(path)


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(LoadError, match="does not exist"):
        read_text(tmp_path / "nothing.yml")
    with pytest.raises(LoadError, match="directory"):
        read_text(tmp_path)


# ------------------------------------------------------------------- YAML

PM_ALIASES = """\
mcuboot_primary:
  address: 0xc000
  end_address: 0x82000
  orig_span: &id001
  - mcuboot_pad
  - app
  region: flash_primary
  size: 0x76000
  span: *id001
"""


def test_yaml_aliases_as_partition_manager_writes_them(tmp_path: Path) -> None:
    doc = parse_yaml(PM_ALIASES, tmp_path / "partitions.yml")
    entry = doc.data["mcuboot_primary"]
    assert entry["span"] == entry["orig_span"] == ["mcuboot_pad", "app"]
    assert entry["size"] == 0x76000
    assert doc.line("mcuboot_primary") == 1
    assert doc.line("mcuboot_primary", "size") == 8
    assert doc.line("mcuboot_primary", "span") == 9
    assert doc.line("mcuboot_primary", "orig_span", 1) == 6
    # An unknown tail falls back to the deepest known key.
    assert doc.line("mcuboot_primary", "placement", "before") == 1


def test_yaml_layout_keeps_lines_and_span(tmp_path: Path) -> None:
    doc = parse_yaml(PM_ALIASES, tmp_path / "partitions.yml")
    layout = layout_from_yaml(doc, LayoutKind.GENERATED, None)
    part = layout.get("mcuboot_primary")
    assert part.span == ("mcuboot_pad", "app")
    assert (part.address, part.size, part.end_address) == (0xC000, 0x76000, 0x82000)
    assert part.source == Source(tmp_path / "partitions.yml", 1)


def test_yaml_alias_bomb_is_refused(tmp_path: Path) -> None:
    levels = ['a: &a ["x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    for index in range(1, 9):
        previous = chr(ord("a") + index - 1)
        name = chr(ord("a") + index)
        levels.append(f"{name}: &{name} [{', '.join(['*' + previous] * 9)}]")
    with pytest.raises(LoadError, match="alias bomb"):
        parse_yaml("\n".join(levels) + "\n", tmp_path / "pm_static.yml")


def test_yaml_too_many_nodes_without_aliases_is_not_called_a_bomb(tmp_path: Path) -> None:
    from pmdoctor.loaders.yamlfile import MAX_NODES

    with pytest.raises(LoadError, match=rf"more than {MAX_NODES} nodes \(far larger than any build file\)"):
        parse_yaml("a: [" + "0," * (MAX_NODES + 10) + "0]\n", tmp_path / "partitions.yml")


@pytest.mark.parametrize(
    "text",
    [
        "k0: &k0 [1]\n" + "".join(f"k{i}: &k{i} [*k{i - 1}]\n" for i in range(1, 200)),
        "k0: &k0 {x: 1}\n" + "".join(f"k{i}: &k{i} {{<<: *k{i - 1}}}\n" for i in range(1, 200)),
    ],
    ids=["alias-chain", "merge-chain"],
)
def test_yaml_aliases_nesting_deeper_than_the_text_are_refused(tmp_path: Path, text: str) -> None:
    with pytest.raises(LoadError, match="nested more than 64 levels deep"):
        parse_yaml(text, tmp_path / "pm_static.yml")


def test_yaml_ordinary_nesting_is_fine(tmp_path: Path) -> None:
    text = "".join("  " * i + f"k{i}:\n" for i in range(60)) + "  " * 60 + "x: [[1]]\n"
    assert parse_yaml(text, tmp_path / "a.yml").line(*[f"k{i}" for i in range(60)], "x") == 61


@pytest.mark.parametrize("text", ["a: &x [1, *x]\n", "a: &x {b: *x}\n"])
def test_yaml_recursive_alias(tmp_path: Path, text: str) -> None:
    with pytest.raises(LoadError, match="recursive YAML alias"):
        parse_yaml(text, tmp_path / "pm_static.yml")


def test_yaml_syntax_error_names_the_line(tmp_path: Path) -> None:
    with pytest.raises(LoadError) as caught:
        parse_yaml("app:\n  address: 0x0\n\tsize: 0x1000\n", tmp_path / "pm_static.yml")
    assert caught.value.source.line == 3
    assert caught.value.message.startswith("invalid YAML")


def test_yaml_binary_file(tmp_path: Path) -> None:
    path = tmp_path / "partitions.yml"
    path.write_bytes(bytes(range(256)))
    with pytest.raises(LoadError, match="binary data"):
        load_yaml(path)


def test_yaml_merge_key_and_empty_document(tmp_path: Path) -> None:
    doc = parse_yaml("base: &b {address: 0x0}\nm:\n  <<: *b\n  size: 4\n", tmp_path / "x.yml")
    assert doc.data["m"] == {"address": 0, "size": 4}
    assert parse_yaml("", tmp_path / "x.yml").data is None


def test_regions_yaml(tmp_path: Path) -> None:
    path = FOUNDATION / "sysbuild_nrf5340" / "regions_CPUNET.yml"
    regions = regions_from_yaml(load_yaml(path))
    flash = regions["flash_primary"]
    assert (flash.base, flash.size, flash.placement_strategy) == (0x1000000, 0x40000, "complex")
    assert flash.driver_kconfig == "CONFIG_SOC_FLASH_NRF"
    assert flash.source == Source(path, 1)
    assert flash.origin == "regions_CPUNET.yml"


def test_schema_accepts_generated_files() -> None:
    for name in ("partitions.yml", "partitions_CPUNET.yml"):
        doc = load_yaml(FOUNDATION / "sysbuild_nrf5340" / name)
        assert validate(doc, "partitions") == []
    assert validate(load_yaml(FOUNDATION / "sysbuild_nrf5340" / "regions.yml"), "regions") == []


# ----------------------------------------------------------------- .config

CONFIG = r"""#
# Automatically generated file; DO NOT EDIT.
#
CONFIG_BOOTLOADER_MCUBOOT=y
# CONFIG_BOOT_SWAP_USING_SCRATCH is not set
CONFIG_PM_PARTITION_SIZE_MCUBOOT=0xc000
CONFIG_FLASH_SIZE=1024
CONFIG_MCUBOOT_IMAGE_VERSION="1.2.3+4"
CONFIG_BOOT_SIGNATURE_KEY_FILE="C:\\keys\\\"my key\".pem"
CONFIG_EMPTY=""
CONFIG_ODD=m
SB_CONFIG_PARTITION_MANAGER=y
# SB_CONFIG_PM_EXTERNAL_FLASH_MCUBOOT_SECONDARY is not set
CONFIG_NOT_A_LINE
"""


def test_kconfig_values_and_lines(tmp_path: Path) -> None:
    path = write(tmp_path, "zephyr/.config", CONFIG)
    config = load_kconfig(path)
    assert config.enabled("CONFIG_BOOTLOADER_MCUBOOT")
    assert config.get("CONFIG_BOOT_SWAP_USING_SCRATCH") is False
    assert "CONFIG_BOOT_SWAP_USING_SCRATCH" in config
    assert config.int("CONFIG_PM_PARTITION_SIZE_MCUBOOT") == 0xC000
    assert config.int("CONFIG_FLASH_SIZE") == 1024
    assert config.str("CONFIG_MCUBOOT_IMAGE_VERSION") == "1.2.3+4"
    assert config.str("CONFIG_BOOT_SIGNATURE_KEY_FILE") == 'C:\\keys\\"my key".pem'
    assert config.str("CONFIG_EMPTY") == ""
    assert config.get("CONFIG_ODD") == "m"
    assert config.enabled("SB_CONFIG_PARTITION_MANAGER")
    assert config.get("SB_CONFIG_PM_EXTERNAL_FLASH_MCUBOOT_SECONDARY") is False
    assert "CONFIG_NOT_A_LINE" not in config
    assert config.where("CONFIG_FLASH_SIZE") == Source(path, 7)
    assert config.where("CONFIG_ABSENT") == Source(path)
    assert config.int("CONFIG_BOOTLOADER_MCUBOOT") is None  # True is not a number


def test_kconfig_last_assignment_wins(tmp_path: Path) -> None:
    config = parse_kconfig("CONFIG_A=y\n# CONFIG_A is not set\n", tmp_path / ".config")
    assert config.get("CONFIG_A") is False
    assert config.where("CONFIG_A").line == 2


@pytest.mark.parametrize(
    ("raw", "value"),
    [("y", True), ("n", False), ("0x200", 0x200), ("-1", -1), ('"a b"', "a b"), ("word", "word")],
)
def test_kconfig_parse_value(raw: str, value: object) -> None:
    assert parse_value(raw) == value


# -------------------------------------------------------------- CMakeCache

CACHE = """\
# This is the CMakeCache file.
//Path to a program.
BOARD:STRING=nrf52840dk/nrf52840
APPLICATION_SOURCE_DIR:PATH=C:/Users/dev/ncs/apps/my app
ZEPHYR_BASE:PATH=C:\\ncs\\v2.6.1\\zephyr
CMAKE_C_FLAGS:STRING=-Os -DNAME=value
BOARD_EXTENSIONS:BOOL=ON
mcuboot_PM_STATIC_YML_FILE:FILEPATH=
CMAKE_CACHEFILE_DIR-ADVANCED:INTERNAL=1
NOT_A_CACHE_LINE
"""


def test_cmake_cache_entries(tmp_path: Path) -> None:
    cache = load_cmake_cache(write(tmp_path, "CMakeCache.txt", CACHE))
    assert cache["BOARD"] == "nrf52840dk/nrf52840"
    assert cache["APPLICATION_SOURCE_DIR"] == "C:/Users/dev/ncs/apps/my app"
    assert cache["ZEPHYR_BASE"] == "C:\\ncs\\v2.6.1\\zephyr"
    assert cache["CMAKE_C_FLAGS"] == "-Os -DNAME=value"
    assert cache["BOARD_EXTENSIONS"] == "ON"
    assert cache["mcuboot_PM_STATIC_YML_FILE"] == ""
    assert cache["CMAKE_CACHEFILE_DIR-ADVANCED"] == "1"
    assert "NOT_A_CACHE_LINE" not in cache
    assert not any(key.startswith(("#", "//")) for key in cache)


def test_cmake_cache_with_crlf_line_ends() -> None:
    assert parse_cmake_cache("BOARD:STRING=nrf9160dk_nrf9160_ns\r\n") == {"BOARD": "nrf9160dk_nrf9160_ns"}


# ------------------------------------------------------------ domains.yaml


@pytest.mark.parametrize(
    ("recorded", "top", "parts"),
    [
        ("/home/user/app/build/blinky", "/home/user/app/build", ("blinky",)),
        ("/home/user/app/build/nested/mcuboot", "/home/user/app/build", ("nested", "mcuboot")),
        ("C:/Users/dev/app/build/mcuboot", "C:/Users/dev/app/build", ("mcuboot",)),
        ("C:\\Users\\dev\\app\\build\\ipc_radio", "C:\\Users\\dev\\app\\build", ("ipc_radio",)),
        ("mcuboot", None, ("mcuboot",)),
        # Outside the recorded top (or no top at all): keep the last component.
        ("/somewhere/else/b0n", "/home/user/app/build", ("b0n",)),
        ("D:/ci/out/app", None, ("app",)),
    ],
)
def test_relocate_build_dirs(tmp_path: Path, recorded: str, top, parts: tuple) -> None:
    assert relocate(recorded, top, tmp_path) == tmp_path.joinpath(*parts)


def test_relocate_keeps_an_existing_local_build(tmp_path: Path) -> None:
    here = tmp_path / "elsewhere" / "mcuboot"
    here.mkdir(parents=True)
    (here / "CMakeCache.txt").write_text("BOARD:STRING=x\n")
    assert relocate(str(here), "/home/user/app/build", tmp_path / "build") == here


def test_load_domains_relocates_foreign_paths() -> None:
    top = FOUNDATION / "sysbuild_nrf5340"
    domains = load_domains(top / "domains.yaml")
    assert domains.default == "peripheral_uart"
    assert domains.images == {name: top / name for name in ("peripheral_uart", "mcuboot", "ipc_radio", "b0n")}
    assert domains.flash_order == ["mcuboot", "b0n", "ipc_radio", "peripheral_uart"]


def test_load_domains_rejects_other_yaml(tmp_path: Path) -> None:
    with pytest.raises(LoadError, match="no 'domains' list"):
        load_domains(write(tmp_path, "domains.yaml", "default: app\n"))
    with pytest.raises(LoadError, match="domain entry 1 has no name") as caught:
        load_domains(write(tmp_path, "domains.yaml", "domains:\n  - name: app\n  - build_dir: /x\n"))
    assert caught.value.source.line == 3


# -------------------------------------------------------------- devicetree

# A flattened zephyr.dts with one of each thing the loader must understand.
DTS_FILE = FOUNDATION / "devicetree_features" / "zephyr.dts"


@pytest.fixture
def tree():
    return load_devicetree(DTS_FILE, "app")


def test_devicetree_chosen_and_labels(tree) -> None:
    flash_path = "/soc/flash-controller@40022000/flash@8000000"
    assert tree.chosen["zephyr,flash"] == flash_path
    assert tree.chosen["nordic,pm-ext-flash"] == "/soc/spi@40013000/w25q128jv@0"
    assert tree.chosen["zephyr,console"] == "/soc/uart@40002000"  # a path string
    assert tree.chosen_source["nordic,pm-ext-flash"] == Source(tree.file, 13)
    assert tree.labels["flash0"] == flash_path
    assert tree.node("&flash0") is tree.chosen_node("zephyr,flash")
    assert tree.node("flash0").props["erase-block-size"] == 0x800
    assert tree.node("flash0").compatible == ("st,stm32-nv-flash", "soc-nv-flash")
    assert tree.node(flash_path).source == Source(tree.file, 26)


def test_devicetree_status_inherited_from_disabled_parent(tree) -> None:
    assert tree.node("spi1").status_okay is False
    assert tree.node("w25q128").status_okay is False  # "okay" itself, but its bus is off
    assert tree.node("flash0").status_okay is True


def test_devicetree_reg_split_by_cells(tree) -> None:
    assert tree.node("spi1").reg == ((0x40013000, 0x400), (0x20000000, 0x100))
    assert tree.node("w25q128").reg == ((0x0, 0x0),)  # #size-cells = 0
    assert tree.node("wide_dev").reg == ((0x1000, 0x2000),)  # two address cells


def test_devicetree_partitions_of_every_flash(tree) -> None:
    layout = tree.layout
    assert layout.kind is LayoutKind.DEVICETREE and layout.image == "app"
    got = {name: (p.address, p.size, p.region) for name, p in layout.partitions.items()}
    assert got == {
        # SoC flash: partition offsets are relative to the flash node's address.
        "boot_partition": (0x8000000, 0x10000, "dt:flash0"),
        "slot0_partition": (0x8010000, 0x30000, "dt:flash0"),
        # External NOR: offsets within the chip, whose size is given in bits.
        "slot1_partition": (0x0, 0x30000, "dt:w25q128"),
        # zephyr,mapped-partition: translated through the partitions node's `ranges`.
        "cpuapp_slot0_partition": (0xE000000 + 0x30000 + 0x10000, 0x20000, "dt:mram"),
    }
    nor = layout.regions["dt:w25q128"]
    assert (nor.base, nor.size, nor.erase_block) == (0, 0x8000000 // 8, 4096)
    assert "bits" in nor.origin
    soc_flash = layout.regions["dt:flash0"]
    assert (soc_flash.base, soc_flash.size, soc_flash.erase_block, soc_flash.write_block) == (
        0x8000000,
        0x40000,
        0x800,
        8,
    )


def test_devicetree_origin_comments(tree) -> None:
    slot0 = tree.layout.get("slot0_partition")
    # The node came from an overlay (written on Windows): findings point there.
    assert slot0.source == Source(Path("C:\\work\\app\\boards\\test.overlay"), 14)
    assert tree.node("slot0_partition").source == Source(tree.file, 41)
    assert tree.node("/chosen").origin == Source(Path("zephyr/dts/common/skeleton.dtsi"), 12)
    # Without an origin comment (Zephyr < 4.2), the zephyr.dts line is used.
    assert tree.layout.get("boot_partition").source == Source(tree.file, 35)


def test_devicetree_syntax_error(tmp_path: Path) -> None:
    text = DTS_FILE.read_text()
    path = write(tmp_path, "zephyr.dts", text[: len(text) // 2])
    with pytest.raises(LoadError, match="devicetree does not parse"):
        load_devicetree(path, "app")


def test_devicetree_fixture_without_origin_comments() -> None:
    path = FOUNDATION / "child_image_nrf52840" / "zephyr" / "zephyr.dts"
    tree = load_devicetree(path, "app")
    slot1 = tree.layout.get("slot1_partition")
    assert (slot1.address, slot1.size, slot1.source) == (0x82000, 0x76000, Source(path, 44))
    assert tree.chosen_node("nordic,pm-ext-flash").props["size"] == 0x4000000


# ------------------------------------------------- dtlib from $ZEPHYR_BASE only

_WHICH_DTLIB = """
import sys
sys.path.insert(0, sys.argv[1])
from pmdoctor.api import load_build
from pmdoctor.loaders import devicetree
build = load_build(sys.argv[2])
used = [m for m in devicetree._DTLIBS.values() if m is not None]
print(";".join(sorted(m.__file__ for m in used)))
print(len(build.problems), sorted(n for i in build.images for n in i.devicetree.chosen)[:1])
"""


def _zephyr_with_dtlib(tmp_path: Path, dtlib_text=None) -> Path:
    """A Zephyr tree holding a copy of dtlib (optionally replaced by ``dtlib_text``); returns its src."""
    import shutil

    import devicetree

    src = tmp_path / "zephyr" / "scripts" / "dts" / "python-devicetree" / "src"
    shutil.copytree(Path(devicetree.__file__).parent, src / "devicetree")
    if dtlib_text is not None:
        (src / "devicetree" / "dtlib.py").write_text(dtlib_text)
    return src


def _healthy_build(tmp_path: Path, zephyr_base: str) -> Path:
    """The healthy CLI build whose CMakeCache.txt records ``zephyr_base``."""
    import shutil

    build = tmp_path / "build"
    shutil.copytree(FOUNDATION.parent / "cli" / "healthy" / "build", build)
    leave_to_dtlib(build)  # these tests are about which dtlib runs: make one run
    cache = build / "CMakeCache.txt"
    cache.write_text(cache.read_text().replace("/home/dev/ncs/v2.7.0/zephyr", zephyr_base))
    return build


def _which_dtlib(tmp_path: Path, zephyr_base_env=None) -> List[str]:
    import os
    import subprocess
    import sys

    scripts = Path(__file__).resolve().parents[1] / "scripts"
    env = dict(os.environ)
    env.pop("ZEPHYR_BASE", None)
    if zephyr_base_env is not None:
        env["ZEPHYR_BASE"] = str(zephyr_base_env)
    proc = subprocess.run(
        [sys.executable, "-c", _WHICH_DTLIB, str(scripts), str(tmp_path / "build")],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=tmp_path,
    )
    assert proc.returncode == 0 and not proc.stderr, proc.stderr
    return proc.stdout.splitlines()


def test_dtlib_comes_from_the_environments_zephyr_base(tmp_path: Path) -> None:
    src = _zephyr_with_dtlib(tmp_path)
    _healthy_build(tmp_path, str(tmp_path / "zephyr"))
    used, loaded = _which_dtlib(tmp_path, zephyr_base_env=tmp_path / "zephyr")
    assert used.split(";") == [str(src / "devicetree" / "dtlib.py")]
    assert loaded == "0 ['zephyr,code-partition']"


def test_zephyr_base_named_by_the_cache_never_runs(tmp_path: Path) -> None:
    """An input names a Zephyr tree whose dtlib.py would run code: it is never imported."""
    import shutil

    marker = tmp_path / "ran"
    _zephyr_with_dtlib(tmp_path, dtlib_text=f"open({str(marker)!r}, 'w').write('x')\n")
    for recorded in ("zephyr", str(tmp_path / "zephyr")):  # relative, as in the report, and absolute
        shutil.rmtree(tmp_path / "build", ignore_errors=True)
        _healthy_build(tmp_path, recorded)
        used, loaded = _which_dtlib(tmp_path)
        assert not marker.exists()
        assert used and not any(Path(m).is_relative_to(tmp_path) for m in used.split(";"))
        assert loaded == "0 ['zephyr,code-partition']"


def test_broken_dtlib_in_zephyr_base_falls_back_to_pypi(tmp_path: Path) -> None:
    src = _zephyr_with_dtlib(tmp_path, dtlib_text="this is not python (\n")
    _healthy_build(tmp_path, str(tmp_path / "zephyr"))
    used, loaded = _which_dtlib(tmp_path, zephyr_base_env=tmp_path / "zephyr")
    (module,) = used.split(";")
    assert not Path(module).is_relative_to(src)
    assert Path(module).name == "dtlib.py"
    assert loaded == "0 ['zephyr,code-partition']"


def test_without_any_devicetree_parser_each_zephyr_dts_is_one_finding(tmp_path: Path) -> None:
    """West's own environment may lack the `devicetree` package: what dtlib wrote is read without it;
    a devicetree only dtlib reads is one finding saying what to install, and no traceback."""
    import shutil

    from helpers import run_pmdoctor

    blocker = tmp_path / "blocker" / "devicetree"
    blocker.mkdir(parents=True)
    (blocker / "__init__.py").write_text("raise ImportError('blocked for this test')\n")
    scripts = Path(__file__).resolve().parents[1] / "scripts"
    env = {"PYTHONPATH": f"{blocker.parent}{os.pathsep}{scripts}"}
    build = tmp_path / "build"
    shutil.copytree(FOUNDATION.parent / "cli" / "healthy" / "build", build)
    read = run_pmdoctor("-d", str(build), cwd=tmp_path, env=env)
    assert read.returncode == 0 and "PMD001" not in read.stdout, read.stdout + read.stderr
    leave_to_dtlib(build)
    result = run_pmdoctor("-d", str(build), cwd=tmp_path, env=env)
    assert "Traceback" not in result.stderr and result.returncode == 1, result.stderr
    assert "PMD001" in result.stdout
    flowed = " ".join(result.stdout.split())
    assert "no devicetree parser: set ZEPHYR_BASE to your Zephyr tree, or install the" in flowed
    # The file is fine: the fix is to install a parser, not to rebuild.
    assert "install the `devicetree` package where pmdoctor runs (pip install devicetree)" in flowed
    assert "pristine" not in flowed
