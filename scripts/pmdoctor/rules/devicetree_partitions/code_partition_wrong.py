"""PMD702 code-partition-wrong."""

from __future__ import annotations

from typing import Iterator, Optional

from ...model import Build, Era, Image, Role, Source
from ...model.dt_map import (
    code_partition_for,
)
from ...model.edits import Action, KconfigEdit, Target
from ...model.findings import Finding, Fix, Severity, Text
from .. import rule
from .._shared.common import user_setting
from .._shared.edit_helpers import kconfig_fix, overlay_fix
from .._shared.layouts import hx
from ._common import flash_label_of, region_base, span_text


def _mcuboot_used(build: Build) -> bool:
    app = build.app
    return (
        build.sysbuild_config.enabled("SB_CONFIG_BOOTLOADER_MCUBOOT")
        or (app is not None and app.config.enabled("CONFIG_BOOTLOADER_MCUBOOT"))
        or any(image.role is Role.MCUBOOT for image in build.images)
    )


def _expected_code_partition(build: Build, image: Image) -> Optional[str]:
    layout = image.devicetree.layout
    if layout is None or image.config.get("CONFIG_XIP") is False:
        return None  # runs from RAM (MCUboot RAM load, FLPR ...): the code partition is not linked
    if image.role is Role.APP and not _mcuboot_used(build):
        return None  # no bootloader: linked at FLASH_LOAD_OFFSET, any partition may be unused
    if image.role not in (Role.APP, Role.MCUBOOT, Role.B0, Role.B0N):
        return None
    return code_partition_for(image, list(layout.partitions))


@rule("PMD702", "code-partition-wrong", Severity.ERROR, rank=68, explains=("boot-hang", "bad-image-magic"))
def code_partition_wrong(build: Build) -> Iterator[Finding]:
    """
    ## What it does
    In a devicetree-era build, checks that each image's `zephyr,code-partition`
    is the partition it must run from — the application `slot0_partition`
    (`slot0_ns_partition` with TF-M) when MCUboot boots it, MCUboot
    `boot_partition`, NSIB `b0_partition`, the network-core NSIB
    `b0n_partition` — and, when `CONFIG_USE_DT_CODE_PARTITION` is off, that
    `CONFIG_FLASH_LOAD_OFFSET` is that partition's offset.

    ## Why it matters
    The image is linked for the code partition's address. An application
    linked for `boot_partition` overwrites MCUboot when flashed; one linked at
    another offset than its slot makes MCUboot jump into the wrong place
    ("Jumping to the first image slot" and then nothing). Images that run from
    RAM (`CONFIG_XIP=n`) and applications without a bootloader are not checked.

    ## Example
    MCUboot's board overlay forgot
    `chosen { zephyr,code-partition = &boot_partition; };`, so MCUboot was
    linked into `slot0_partition`.

    ## How to fix
    Set `zephyr,code-partition` in the image's overlay (MCUboot:
    `sysbuild/mcuboot/boards/<board>.overlay`), and let Zephyr derive the load
    offset from it (`CONFIG_USE_DT_CODE_PARTITION=y`) instead of a hand-set
    `CONFIG_FLASH_LOAD_OFFSET`.

    Mechanical: a `chosen` property in the image's overlay; or
    `CONFIG_USE_DT_CODE_PARTITION=y` in the image's fragment, with the
    user's own `CONFIG_FLASH_LOAD_OFFSET` line removed from the file that
    sets it.
    """
    if build.era is not Era.DEVICETREE:
        return
    for image in build.images:
        expected = _expected_code_partition(build, image)
        if expected is None:
            continue
        chosen = image.devicetree.chosen_node("zephyr,code-partition")
        chosen_name = chosen.label if chosen is not None else None
        if chosen_name != expected:
            yield _wrong_chosen(build, image, expected, chosen_name)
            continue
        yield from _load_offset(build, image, expected)


def _wrong_chosen(build: Build, image: Image, expected: str, chosen: Optional[str]) -> Finding:
    tree = image.devicetree
    where = tree.chosen_origin.get("zephyr,code-partition") or tree.chosen_source.get(
        "zephyr,code-partition", Source(tree.file)
    )
    what = f"&{chosen}" if chosen else "not set"
    return Finding(
        message=(
            f"image {image.name} ({image.role}) must run from {expected}, but its "
            f"zephyr,code-partition is {what}: it is linked for the wrong flash address"
        ),
        location=where,
        image=image.name,
        domain=image.domain,
        evidence=[f"zephyr,code-partition = {what} ({where})"],
        fixes=[
            overlay_fix(
                build,
                image,
                [("/chosen", "zephyr,code-partition", f"&{expected}")],
                f"make {image.name} run from {expected}",
            )
        ],
        subject=(image.name, "zephyr,code-partition"),
    )


def _load_offset(build: Build, image: Image, expected: str) -> Iterator[Finding]:
    config = image.config
    offset = config.int("CONFIG_FLASH_LOAD_OFFSET")
    if config.enabled("CONFIG_USE_DT_CODE_PARTITION") or offset is None:
        return
    layout = image.devicetree.layout
    part = layout.partitions[expected]
    start = (part.address or 0) - region_base(layout, part)
    if start == offset:
        return
    yield Finding(
        message=(
            f"image {image.name} is linked at CONFIG_FLASH_LOAD_OFFSET={hx(offset)}, but its code "
            f"partition {expected} starts at offset {hx(start)} of {flash_label_of(layout, part)}"
        ),
        location=config.where("CONFIG_FLASH_LOAD_OFFSET"),
        image=image.name,
        domain=image.domain,
        evidence=[
            Text(f"CONFIG_FLASH_LOAD_OFFSET={hx(offset)} (", config.where("CONFIG_FLASH_LOAD_OFFSET"), ")"),
            Text(f"{expected}: {span_text(part.address, part.size)} (", part.source, ")"),
            "CONFIG_USE_DT_CODE_PARTITION is not set",
        ],
        fixes=[_use_code_partition(build, image, expected)],
        subject=(image.name, "CONFIG_FLASH_LOAD_OFFSET"),
    )


def _use_code_partition(build: Build, image: Image, expected: str) -> Fix:
    """USE_DT_CODE_PARTITION=y, and the user's own FLASH_LOAD_OFFSET line removed where it is written."""
    fix = kconfig_fix(
        build,
        image,
        [("CONFIG_USE_DT_CODE_PARTITION", "y")],
        f"derive the load offset from {expected} (and drop the hand-set CONFIG_FLASH_LOAD_OFFSET)",
    )
    hand_set = user_setting(build, image, "CONFIG_FLASH_LOAD_OFFSET")
    if hand_set is None or hand_set.source.file is None or hand_set.source.file.name == "CMakeCache.txt":
        return fix
    drop = KconfigEdit(
        Target(hand_set.source.file, "where CONFIG_FLASH_LOAD_OFFSET is set"),
        Action.REMOVE,
        "CONFIG_FLASH_LOAD_OFFSET",
        image=image.name,
    )
    return Fix(fix.description, fix.file, edits=(*fix.edits, drop))
