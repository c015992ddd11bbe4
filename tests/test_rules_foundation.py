"""The foundation rules (PMD001-003, PMD101-106, PMD401) on hand-written builds.

Each healthy fixture under tests/builds/foundation/ must stay silent; each
rule is triggered by copying a fixture to tmp_path and making one small,
visible edit, next to a near-identical edit that stays clean.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import List, Optional

import pytest

from helpers import copy_tree, edit
from pmdoctor.api import analyze
from pmdoctor.cli import run
from pmdoctor.model.findings import Finding, Severity

FOUNDATION = Path(__file__).resolve().parent / "builds" / "foundation"

# Cases laid out as <case>/app/build, with the sources (pm_static.yml) in <case>/app.
NESTED = {"pm_failed", "static_nrf52840"}

HEALTHY = [
    "child_image_nrf52840",
    "sysbuild_nrf52840",
    "sysbuild_nrf5340",
    "child_image_nrf5340",
    "devicetree_nrf52840",
    "static_nrf52840",
]


def build_dir(case: Path) -> Path:
    return case / "app" / "build" if case.name in NESTED else case


def copy_case(tmp_path: Path, name: str) -> Path:
    """A private copy of a fixture; returns the case folder (not always the build dir)."""
    return copy_tree(FOUNDATION / name, tmp_path / name)


def set_config(path: Path, name: str, value: Optional[str]) -> None:
    """Set one Kconfig symbol in a .config, as Kconfig writes it (None = `is not set`)."""
    wanted = f"{name}={value}" if value is not None else f"# {name} is not set"
    lines = [
        line
        for line in path.read_text(encoding="utf-8").splitlines()
        if not (line.startswith(f"{name}=") or line == f"# {name} is not set")
    ]
    path.write_text("\n".join([*lines, wanted]) + "\n", encoding="utf-8")


def set_swap_mode(config: Path, mode: str) -> None:
    for candidate in ("MOVE", "SCRATCH", "OFFSET"):
        set_config(config, f"CONFIG_BOOT_SWAP_USING_{candidate}", "y" if candidate == mode else None)


def line_of(path: Path, text: str, after: Optional[str] = None) -> int:
    """1-based line of the first line starting with `text` (after the line starting with `after`)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    start = 0
    if after is not None:
        start = next(i for i, line in enumerate(lines) if line.startswith(after)) + 1
    return next(i for i, line in enumerate(lines[start:], start) if line.startswith(text)) + 1


def findings(directory: Path, rule: Optional[str] = None) -> List[Finding]:
    found = analyze(directory).findings
    return [f for f in found if rule is None or f.rule == rule]


# The rules this file is about; other families have their own tests.
FOUNDATION_RULES = {"PMD001", "PMD002", "PMD003", "PMD101", "PMD102", "PMD103", "PMD104", "PMD105"}
FOUNDATION_RULES |= {"PMD106", "PMD401"}


def foundation_findings(directory: Path) -> List[Finding]:
    return [f for f in analyze(directory).findings if f.rule in FOUNDATION_RULES]


def describe(found: List[Finding]) -> str:
    return "\n".join(f"{f.rule} {f.effective_severity.value} {f.message} @ {f.location}" for f in found)


# ----------------------------------------------------------------- healthy


@pytest.mark.parametrize("name", HEALTHY)
def test_healthy_build_has_no_findings(name: str) -> None:
    found = findings(build_dir(FOUNDATION / name))
    assert found == [], describe(found)


def test_container_members_are_not_checked_for_erase_alignment() -> None:
    """mcuboot_pad (0xc000+0x200) and app (0xc200) sit inside their slot: not misaligned."""
    case = FOUNDATION / "child_image_nrf52840"
    build = analyze(case).build
    layout = build.layouts[0]
    assert layout.get("app").address % 0x1000 != 0
    assert findings(case, "PMD103") == []


# ------------------------------------------------------------------ PMD001


def test_truncated_devicetree_of_net_core_image(tmp_path: Path) -> None:
    case = copy_case(tmp_path, "sysbuild_nrf5340")
    dts = case / "ipc_radio" / "zephyr" / "zephyr.dts"
    dts.write_text("\n".join(dts.read_text().splitlines()[:30]) + "\n")
    found = foundation_findings(case)
    assert [f.rule for f in found] == ["PMD001"], describe(found)
    assert found[0].image == "ipc_radio"
    assert found[0].domain == "CPUNET"
    assert found[0].location.file == dts
    assert "devicetree does not parse" in found[0].message


def test_binary_config_is_unreadable(tmp_path: Path) -> None:
    case = copy_case(tmp_path, "child_image_nrf52840")
    config = case / "mcuboot" / "zephyr" / ".config"
    config.write_bytes(b"\x7fELF\x02\x01\x01\x00\x00\x00CONFIG_BOOT")
    found = findings(case, "PMD001")
    assert len(found) == 1
    assert found[0].image == "mcuboot"
    assert found[0].location.file == config
    assert "binary" in found[0].message


def test_malformed_partitions_yml_names_the_line(tmp_path: Path) -> None:
    case = copy_case(tmp_path, "child_image_nrf52840")
    partitions = case / "partitions.yml"
    edit(partitions, "  size: 0x8000\n", "  size: [0x8000\n")
    found = foundation_findings(case)
    assert [f.rule for f in found] == ["PMD001"], describe(found)
    assert found[0].location.file == partitions
    broken = line_of(partitions, "  size: [0x8000")
    assert found[0].location.line is not None and found[0].location.line >= broken
    assert found[0].message.startswith("invalid YAML")


# ------------------------------------------------------------------ PMD002


def test_size_written_as_a_string(tmp_path: Path) -> None:
    case = copy_case(tmp_path, "static_nrf52840")
    static = case / "app" / "pm_static.yml"
    edit(static, "  size: 0x8000\n", "  size: CONFIG_PM_PARTITION_SIZE_SETTINGS_STORAGE\n")
    found = findings(build_dir(case), "PMD002")
    assert len(found) == 1, describe(found)
    assert found[0].effective_severity is Severity.ERROR
    assert found[0].location.file == static
    assert found[0].location.line == line_of(static, "  size:", after="settings_storage:")
    assert "settings_storage/size" in found[0].message


def test_partitions_wrapped_under_a_top_level_key(tmp_path: Path) -> None:
    case = copy_case(tmp_path, "static_nrf52840")
    static = case / "app" / "pm_static.yml"
    text = static.read_text()
    static.write_text("partitions:\n" + "".join(f"  {line}\n" for line in text.splitlines()))
    found = findings(build_dir(case), "PMD002")
    assert len(found) == 1, describe(found)
    assert found[0].effective_severity is Severity.ERROR
    assert found[0].location.line == 1
    assert "one level too deep" in found[0].message


def test_unknown_key_is_a_warning_on_its_line(tmp_path: Path) -> None:
    case = copy_case(tmp_path, "static_nrf52840")
    static = case / "app" / "pm_static.yml"
    edit(static, "settings_storage:\n", "settings_storage:\n  affinity: internal\n")
    found = findings(build_dir(case), "PMD002")
    assert len(found) == 1, describe(found)
    assert found[0].effective_severity is Severity.WARNING
    assert found[0].location.line == line_of(static, "  affinity:")


# ------------------------------------------------------------------ PMD003

DEVICETREE_NAMED_STATIC = """\
mcuboot:
  address: 0x0
  size: 0xc000
  region: flash_primary
image_0:
  address: 0xc000
  size: 0x76000
  region: flash_primary
slot1_partition:
  address: 0x82000
  size: 0x76000
  region: flash_primary
storage:
  address: 0xf8000
  size: 0x8000
  region: flash_primary
"""


def test_static_file_with_devicetree_names(tmp_path: Path) -> None:
    case = copy_case(tmp_path, "static_nrf52840")
    static = case / "app" / "pm_static.yml"
    static.write_text(DEVICETREE_NAMED_STATIC)
    found = findings(build_dir(case), "PMD003")
    assert {f.subject[0]: f.location.line for f in found} == {
        "image_0": line_of(static, "image_0:"),
        "slot1_partition": line_of(static, "slot1_partition:"),
        "storage": line_of(static, "storage:"),
    }
    by_name = {f.subject[0]: f for f in found}
    assert "mcuboot_primary" in by_name["image_0"].message
    assert by_name["slot1_partition"].fixes[0].snippet.startswith("mcuboot_secondary:")
    assert all(f.location.file == static for f in found)


def test_partition_manager_names_are_accepted(tmp_path: Path) -> None:
    case = copy_case(tmp_path, "static_nrf52840")
    static = case / "app" / "pm_static.yml"
    text = DEVICETREE_NAMED_STATIC.replace("image_0:", "mcuboot_primary:")
    text = text.replace("slot1_partition:", "mcuboot_secondary:").replace("storage:", "settings_storage:")
    static.write_text(text)
    assert findings(build_dir(case), "PMD003") == []


# ------------------------------------------------------------------ PMD101


def test_overlap_in_generated_layout(tmp_path: Path) -> None:
    case = copy_case(tmp_path, "child_image_nrf52840")
    partitions = case / "partitions.yml"
    edit(
        partitions,
        "settings_storage:\n  address: 0xf8000\n  end_address: 0x100000\n",
        "settings_storage:\n  address: 0xf0000\n  end_address: 0xf8000\n",
    )
    found = findings(case, "PMD101")
    assert len(found) == 1, describe(found)
    assert found[0].effective_severity is Severity.ERROR
    assert "`mcuboot_secondary`" in found[0].message and "`settings_storage`" in found[0].message
    assert "overlap by 0x8000 bytes" in found[0].message
    assert found[0].location == analyze(case).build.layouts[0].get("mcuboot_secondary").source
    assert found[0].location.line == line_of(partitions, "mcuboot_secondary:")
    assert "pm_static.yml" in found[0].fixes[0].description  # no static file yet: say where to make one


def test_region_placeholder_covering_one_partition_is_clean(tmp_path: Path) -> None:
    """Issue 12: PM's free-space entry laid exactly over one partition overwrites nothing (BORUS)."""
    case = copy_case(tmp_path, "child_image_nrf52840")
    partitions = case / "partitions.yml"
    edit(
        partitions,
        "mcuboot:\n",
        "littlefs_storage:\n  address: 0x0\n  end_address: 0x800000\n  region: external_flash\n"
        "  size: 0x800000\nmcuboot:\n",
    )
    assert findings(case, "PMD101") == [], describe(findings(case, "PMD101"))


def test_region_placeholder_over_several_partitions_is_one_warning(tmp_path: Path) -> None:
    case = copy_case(tmp_path, "child_image_nrf52840")
    edit(
        case / "partitions.yml",
        "mcuboot:\n",
        "log_part:\n  address: 0x0\n  region: external_flash\n  size: 0x80000\n"
        "data_part:\n  address: 0x80000\n  region: external_flash\n  size: 0x20000\nmcuboot:\n",
    )
    found = findings(case, "PMD101")
    assert len(found) == 1, describe(found)
    assert found[0].effective_severity is Severity.WARNING
    assert "marks the space of 2 partition(s) (`log_part`, `data_part`) as free" in found[0].message


def test_share_size_of_the_free_space_entry_names_the_real_defect(tmp_path: Path) -> None:
    """FinnWBiggs: `share_size: [external_flash]` sized auli_storage but left its space marked free."""
    case = copy_case(tmp_path, "child_image_nrf52840")
    edit(
        case / "partitions.yml",
        "mcuboot:\n",
        "auli_storage:\n  address: 0x0\n  region: external_flash\n  share_size:\n  - external_flash\n"
        "  size: 0x10000\nmcuboot:\n",
    )
    found = findings(case, "PMD101")
    assert len(found) == 1, describe(found)
    assert found[0].effective_severity is Severity.ERROR
    assert "`auli_storage` takes its size from `share_size: [external_flash]`" in found[0].message
    assert "still marked free" in found[0].message


def test_region_placeholder_written_as_container_is_clean(tmp_path: Path) -> None:
    case = copy_case(tmp_path, "child_image_nrf52840")
    partitions = case / "partitions.yml"
    edit(
        partitions,
        "mcuboot:\n",
        "littlefs_storage:\n  address: 0x0\n  end_address: 0x800000\n  region: external_flash\n"
        "  size: 0x800000\nmcuboot:\n",
    )
    edit(
        partitions,
        "external_flash:\n  address: 0x0\n",
        "external_flash:\n  address: 0x0\n  span: [littlefs_storage]\n",
    )
    assert findings(case) == [], describe(findings(case))


def test_overlap_in_static_file_is_reported_once(tmp_path: Path) -> None:
    """Partition Manager copies the static layout into partitions.yml: report the user's file only."""
    case = copy_case(tmp_path, "static_nrf52840")
    old = "settings_storage:\n  address: 0xf8000\n  end_address: 0x100000\n"
    new = "settings_storage:\n  address: 0xf0000\n  end_address: 0xf8000\n"
    static = case / "app" / "pm_static.yml"
    edit(static, old, new)
    edit(case / "app" / "build" / "partitions.yml", old, new)
    found = findings(build_dir(case), "PMD101")
    assert len(found) == 1, describe(found)
    assert found[0].location.file == static
    assert found[0].fixes[0].file == static


# ------------------------------------------------------------------ PMD102


def test_partition_past_the_end_of_internal_flash(tmp_path: Path) -> None:
    case = copy_case(tmp_path, "child_image_nrf52840")
    edit(
        case / "partitions.yml",
        "settings_storage:\n  address: 0xf8000\n  end_address: 0x100000\n",
        "settings_storage:\n  address: 0xfa000\n  end_address: 0x102000\n",
    )
    found = findings(case, "PMD102")
    assert len(found) == 1, describe(found)
    assert "`settings_storage` (0xfa000-0x102000) ends after region flash_primary" in found[0].message
    assert "0x0-0x100000, from regions.yml" in found[0].message


@pytest.mark.parametrize(("address", "expected"), [(0x7F0000, 1), (0x7E0000, 0)])
def test_external_partition_checked_against_chip_size_in_bits(
    tmp_path: Path, address: int, expected: int
) -> None:
    """Without regions.yml the chip size is the DTS `size` of nordic,pm-ext-flash, in bits."""
    case = copy_case(tmp_path, "child_image_nrf52840")
    (case / "regions.yml").unlink()
    edit(
        case / "partitions.yml",
        "mcuboot:\n",
        f"littlefs_storage:\n  address: {address:#x}\n  end_address: {address + 0x20000:#x}\n"
        "  region: external_flash\n  size: 0x20000\nmcuboot:\n",
    )
    edit(
        case / "partitions.yml",
        "  end_address: 0x800000\n  region: external_flash\n  size: 0x800000\n",
        "  end_address: 0x0\n  region: external_flash\n  size: 0x0\n",
    )
    found = findings(case, "PMD102")
    assert len(found) == expected, describe(found)
    if expected:
        assert "0x0-0x800000, from size of mx25r64 (bits / 8)" in found[0].message


# ------------------------------------------------------------------ PMD103


def test_half_page_aligned_slot_on_4k_flash(tmp_path: Path) -> None:
    case = copy_case(tmp_path, "child_image_nrf52840")
    edit(
        case / "partitions.yml",
        "mcuboot_secondary:\n  address: 0x82000\n  end_address: 0xf8000\n",
        "mcuboot_secondary:\n  address: 0x82800\n  end_address: 0xf8800\n",
    )
    edit(
        case / "partitions.yml",
        "settings_storage:\n  address: 0xf8000\n  end_address: 0x100000\n",
        "settings_storage:\n  address: 0xf8800\n  end_address: 0x100000\n",
    )
    edit(case / "partitions.yml", "  size: 0x8000\n", "  size: 0x7800\n")
    found = {f.subject[-1]: f for f in findings(case, "PMD103")}
    assert set(found) == {"mcuboot_secondary", "settings_storage"}, describe(list(found.values()))
    assert found["mcuboot_secondary"].effective_severity is Severity.ERROR
    assert "start not a multiple of the 0x1000-byte erase block" in found["mcuboot_secondary"].message


def test_misaligned_primary_slot_container(tmp_path: Path) -> None:
    """A slot is erased as a whole: an outermost container is checked like a partition."""
    case = copy_case(tmp_path, "static_nrf52840")
    static = case / "app" / "pm_static.yml"
    edit(
        static,
        "mcuboot:\n  address: 0x0\n  end_address: 0xc000\n",
        "mcuboot:\n  address: 0x0\n  end_address: 0xc800\n",
    )
    edit(static, "  size: 0xc000\n", "  size: 0xc800\n")
    for name in ("mcuboot_pad:", "mcuboot_primary:"):
        edit(static, f"{name}\n  address: 0xc000\n", f"{name}\n  address: 0xc800\n")
    edit(static, "  address: 0xc200\n", "  address: 0xca00\n", count=2)
    edit(static, "  end_address: 0xc200\n", "  end_address: 0xca00\n")
    edit(static, "  end_address: 0x82000\n", "  end_address: 0x82800\n", count=3)
    edit(static, "mcuboot_secondary:\n  address: 0x82000\n", "mcuboot_secondary:\n  address: 0x82800\n")
    found = {f.subject[-1] for f in findings(build_dir(case), "PMD103")}
    assert "mcuboot_primary" in found
    assert not found & {"mcuboot_pad", "app", "mcuboot_primary_app"}


def test_odd_member_size_is_a_write_block_warning(tmp_path: Path) -> None:
    case = copy_case(tmp_path, "child_image_nrf52840")
    edit(case / "partitions.yml", "  size: 0x200\n", "  size: 0x202\n")
    found = findings(case, "PMD103")
    assert len(found) == 1, describe(found)
    assert found[0].subject[-1] == "mcuboot_pad"
    assert found[0].effective_severity is Severity.WARNING
    assert "4-byte write block" in found[0].message


# ------------------------------------------------------------------ PMD104


def test_container_smaller_than_its_members(tmp_path: Path) -> None:
    case = copy_case(tmp_path, "child_image_nrf52840")
    edit(
        case / "partitions.yml",
        "  end_address: 0x82000\n  orig_span: &id001\n",
        "  end_address: 0x81000\n  orig_span: &id001\n",
    )
    edit(case / "partitions.yml", "  size: 0x76000\n  span: *id001\n", "  size: 0x75000\n  span: *id001\n")
    found = findings(case, "PMD104")
    assert len(found) == 1, describe(found)
    assert "container `mcuboot_primary` is 0xc000-0x81000" in found[0].message
    assert "cover 0xc000-0x82000" in found[0].message
    assert found[0].effective_severity is Severity.ERROR


def test_end_address_disagrees_with_size(tmp_path: Path) -> None:
    case = copy_case(tmp_path, "child_image_nrf52840")
    partitions = case / "partitions.yml"
    edit(partitions, "  end_address: 0x100000\n", "  end_address: 0x101000\n")
    found = findings(case, "PMD104")
    assert len(found) == 1, describe(found)
    assert "`settings_storage` has end_address 0x101000 but address + size is 0x100000" in found[0].message
    assert found[0].location.line == line_of(partitions, "settings_storage:")


@pytest.mark.parametrize(("size", "expected"), [("0x75000", 1), ("0x76000", 0)])
def test_mcuboot_primary_written_as_plain_partition(tmp_path: Path, size: str, expected: int) -> None:
    case = copy_case(tmp_path, "static_nrf52840")
    static = case / "app" / "pm_static.yml"
    edit(static, "  orig_span: &id001\n  - mcuboot_pad\n  - app\n", "")
    edit(static, "  size: 0x76000\n  span: *id001\n", f"  size: {size}\n")
    edit(
        static,
        "  end_address: 0x82000\n  region: flash_primary\n  sharers: 0x1\n",
        f"  end_address: {0xC000 + int(size, 16):#x}\n  region: flash_primary\n",
    )
    found = findings(build_dir(case), "PMD104")
    assert len(found) == expected, describe(found)
    if expected:
        assert "`mcuboot_primary` is a plain partition" in found[0].message
        assert found[0].location.file == static


# ------------------------------------------------------------------ PMD105


def test_two_gaps_in_static_file(tmp_path: Path) -> None:
    case = FOUNDATION / "pm_failed"
    found = findings(build_dir(case), "PMD105")
    assert len(found) == 1, describe(found)
    assert "2 free gaps in region flash_primary" in found[0].message
    assert "free: 0xf8000-0xfa000" in found[0].evidence
    assert found[0].location.file == case / "app" / "pm_static.yml"


def test_one_gap_in_static_file_is_clean(tmp_path: Path) -> None:
    case = copy_case(tmp_path, "pm_failed")
    edit(
        case / "app" / "pm_static.yml",
        "  address: 0xfa000\n  size: 0x6000\n",
        "  address: 0xf8000\n  size: 0x8000\n",
    )
    assert findings(build_dir(case)) == []


@pytest.mark.parametrize(
    ("strategy", "address", "problem"),
    [
        ("start_to_end", "0x10000", "not packed at the start of region external_flash"),
        ("start_to_end", "0x0", None),
        ("end_to_start", "0x0", "not packed at the end of region external_flash"),
        ("end_to_start", "0x7f0000", None),
    ],
)
def test_external_static_entries_packed_per_strategy(
    tmp_path: Path, strategy: str, address: str, problem: Optional[str]
) -> None:
    case = copy_case(tmp_path, "static_nrf52840")
    build = build_dir(case)
    regions = (FOUNDATION / "child_image_nrf52840" / "regions.yml").read_text(encoding="utf-8")
    (build / "regions.yml").write_text(regions.replace("start_to_end", strategy), encoding="utf-8")
    edit(
        case / "app" / "pm_static.yml",
        "mcuboot:\n",
        f"littlefs_storage:\n  address: {address}\n  size: 0x10000\n  region: external_flash\nmcuboot:\n",
    )
    found = findings(build, "PMD105")
    assert [problem in f.message for f in found] == ([True] if problem else []), describe(found)


# ------------------------------------------------------------------ PMD106


def test_zero_size_secondary(tmp_path: Path) -> None:
    case = copy_case(tmp_path, "child_image_nrf52840")
    edit(
        case / "partitions.yml",
        "  - mcuboot_primary\n  size: 0x76000\n",
        "  - mcuboot_primary\n  size: 0x0\n",
    )
    found = findings(case, "PMD106")
    assert len(found) == 1, describe(found)
    assert found[0].message == "`mcuboot_secondary` has zero size"


@pytest.mark.parametrize(("size", "expected"), [("-0xe00000", 1), ("0x0", 0)])
def test_region_placeholder_size(tmp_path: Path, size: str, expected: int) -> None:
    """An empty external_flash placeholder is normal; a negative one is not."""
    case = copy_case(tmp_path, "child_image_nrf52840")
    edit(
        case / "partitions.yml",
        "  end_address: 0x800000\n  region: external_flash\n  size: 0x800000\n",
        f"  end_address: 0x800000\n  region: external_flash\n  size: {size}\n",
    )
    found = findings(case, "PMD106")
    assert len(found) == expected, describe(found)
    if expected:
        assert "negative (-0xe00000)" in found[0].message


# ------------------------------------------------------------------ PMD401


def _secondary_size(case: Path, size: int, storage_at: int = 0xF8000) -> None:
    partitions = case / "partitions.yml"
    edit(partitions, "  - mcuboot_primary\n  size: 0x76000\n", f"  - mcuboot_primary\n  size: {size:#x}\n")
    edit(partitions, "  end_address: 0xf8000\n", f"  end_address: {0x82000 + size:#x}\n")
    if storage_at != 0xF8000:
        edit(partitions, "  address: 0xf8000\n", f"  address: {storage_at:#x}\n")
        edit(partitions, "  size: 0x8000\n", f"  size: {0x100000 - storage_at:#x}\n")


def test_secondary_0x200_smaller(tmp_path: Path) -> None:
    case = copy_case(tmp_path, "child_image_nrf52840")
    _secondary_size(case, 0x75E00)
    found = findings(case, "PMD401")
    assert len(found) == 1, describe(found)
    assert "`mcuboot_secondary` is 0x75e00 bytes, 0x200 smaller than `mcuboot_primary` (0x76000)" in (
        found[0].message
    )
    assert found[0].location.line == line_of(case / "partitions.yml", "mcuboot_secondary:")
    # partitions.yml is generated: the fix creates pm_static.yml from it, with the secondary grown.
    fix = found[0].fixes[0]
    assert fix.file == Path("/home/user/ncs/apps/blinky/pm_static.yml")  # the source dir, not the build
    assert fix.snippet.startswith("mcuboot_secondary:\n  address: 0x82000\n  end_address: 0xf8000\n")
    assert fix.snippet.endswith("  size: 0x76000")


@pytest.mark.parametrize(("mode", "expected"), [("MOVE", 0), ("SCRATCH", 1)])
def test_primary_one_sector_larger(tmp_path: Path, mode: str, expected: int) -> None:
    """Swap-using-move needs one spare sector in the primary; other modes need equal slots."""
    case = copy_case(tmp_path, "child_image_nrf52840")
    _secondary_size(case, 0x75000)
    set_swap_mode(case / "mcuboot" / "zephyr" / ".config", mode)
    found = findings(case, "PMD401")
    assert len(found) == expected, describe(found)


@pytest.mark.parametrize(("mode", "expected"), [("OFFSET", 0), ("MOVE", 1)])
def test_secondary_one_sector_larger(tmp_path: Path, mode: str, expected: int) -> None:
    """Swap-using-offset wants the spare sector in the secondary."""
    case = copy_case(tmp_path, "child_image_nrf52840")
    _secondary_size(case, 0x77000, storage_at=0xF9000)
    set_swap_mode(case / "mcuboot" / "zephyr" / ".config", mode)
    found = findings(case, "PMD401")
    assert len(found) == expected, describe(found)
    assert findings(case, "PMD101") == []


def test_sysbuild_mode_symbol_is_read_when_mcuboot_config_is_missing(tmp_path: Path) -> None:
    case = copy_case(tmp_path, "sysbuild_nrf52840")
    (case / "mcuboot" / "zephyr" / ".config").unlink()
    _secondary_size(case, 0x75000)
    set_config(case / "zephyr" / ".config", "SB_CONFIG_MCUBOOT_MODE_SWAP_WITHOUT_SCRATCH", None)
    set_config(case / "zephyr" / ".config", "SB_CONFIG_MCUBOOT_MODE_OVERWRITE_ONLY", "y")
    found = findings(case, "PMD401")
    assert len(found) == 1, describe(found)
    assert "overwrite mode allows equal sizes only" in found[0].message


def test_slot_mismatch_in_static_file_is_reported_once(tmp_path: Path) -> None:
    case = copy_case(tmp_path, "static_nrf52840")
    old, new = "  - mcuboot_primary\n  size: 0x76000\n", "  - mcuboot_primary\n  size: 0x75e00\n"
    edit(case / "app" / "pm_static.yml", old, new)
    edit(case / "app" / "build" / "partitions.yml", old, new)
    found = findings(build_dir(case), "PMD401")
    assert len(found) == 1, describe(found)
    assert found[0].location.file == case / "app" / "pm_static.yml"


def test_devicetree_slot_mismatch_in_both_images(tmp_path: Path) -> None:
    case = copy_case(tmp_path, "devicetree_nrf52840")
    for image in ("hello", "mcuboot"):
        edit(
            case / image / "zephyr" / "zephyr.dts", "reg = < 0x82000 0x76000 >;", "reg = < 0x82000 0x74000 >;"
        )
    found = foundation_findings(case)
    assert [f.rule for f in found] == ["PMD401"], describe(found)
    assert found[0].image == "hello"
    assert "`slot1_partition` is 0x74000 bytes, 0x2000 smaller than `slot0_partition`" in found[0].message
    # The node came from the app's overlay: the finding points there, not at zephyr.dts.
    assert found[0].location.file == Path("hello/boards/nrf52840dk_nrf52840.overlay")
    assert found[0].location.line == 8


def test_devicetree_slot_mismatch_in_one_image(tmp_path: Path) -> None:
    case = copy_case(tmp_path, "devicetree_nrf52840")
    edit(
        case / "mcuboot" / "zephyr" / "zephyr.dts", "reg = < 0x82000 0x76000 >;", "reg = < 0x82000 0x74000 >;"
    )
    found = findings(case, "PMD401")
    assert [f.image for f in found] == ["mcuboot"], describe(found)


# ------------------------------------------------------------- JSON fields


def test_json_carries_image_domain_and_location(tmp_path: Path) -> None:
    case = copy_case(tmp_path, "sysbuild_nrf5340")
    partitions = case / "partitions_CPUNET.yml"
    edit(partitions, "provision:\n  address: 0x1008580\n", "provision:\n  address: 0x1008500\n")
    out = io.StringIO()
    code = run(["-d", str(case), "-f", "json"], stdout=out, stderr=io.StringIO(), cwd=tmp_path)
    document = json.loads(out.getvalue())
    overlaps = [f for f in document["builds"][0]["findings"] if f["rule"] == "PMD101"]
    assert code == 1
    assert len(overlaps) == 1, overlaps
    assert overlaps[0]["domain"] == "CPUNET"
    assert overlaps[0]["location"] == {
        "file": "sysbuild_nrf5340/partitions_CPUNET.yml",
        "line": line_of(partitions, "b0n:"),
    }


# ------------------------------------------ gaps found in the issue-2 audit


@pytest.mark.parametrize(("boundary", "expected"), [(0x1008400, 1), (0x1008800, 0)])
def test_net_core_erase_block_is_2k(tmp_path: Path, boundary: int, expected: int) -> None:
    """The nRF5340 network core erases 2 KB pages: 0x1008800 is fine there, 0x1008400 is not."""
    case = copy_case(tmp_path, "child_image_nrf5340")
    net = case / "hci_rpmsg" / "partitions_CPUNET.yml"
    text = net.read_text(encoding="utf-8")
    for old, new in (
        ("0x1008800", f"{boundary:#x}"),
        ("0x1008580", f"{boundary - 0x280:#x}"),
        ("size: 0x8580", f"size: {boundary - 0x280 - 0x1000000:#x}"),
        ("size: 0x8800", f"size: {boundary - 0x1000000:#x}"),
        ("size: 0x37800", f"size: {0x1040000 - boundary:#x}"),
    ):
        text = text.replace(old, new)
    net.write_text(text, encoding="utf-8")
    found = findings(case, "PMD103")
    # hci_rpmsg is a member of the `app` container: the container is what is reported.
    assert sorted(f.subject[-1] for f in found) == (["app", "b0n_container"] if expected else []), describe(
        found
    )
    for finding in found:
        assert finding.domain == "CPUNET"
        assert "not a multiple of the 0x800-byte erase block" in finding.message
        assert finding.location.file == net
    assert [f for f in foundation_findings(case) if f.rule != "PMD103"] == []


@pytest.mark.parametrize(
    ("span", "expected"), [("  - mcuboot_pad\n  - app\n", 0), ("  - mcuboot_pad\n  - apx\n", 1)]
)
def test_container_spanning_a_partition_that_does_not_exist(tmp_path: Path, span: str, expected: int) -> None:
    case = copy_case(tmp_path, "static_nrf52840")
    edit(
        case / "app" / "pm_static.yml",
        "  orig_span: &id001\n  - mcuboot_pad\n  - app\n",
        "  orig_span: &id001\n" + span,
    )
    found = findings(build_dir(case), "PMD104")
    assert len(found) == expected, describe(found)
    if expected:
        assert "container `mcuboot_primary` spans apx, which does not exist" in found[0].message
