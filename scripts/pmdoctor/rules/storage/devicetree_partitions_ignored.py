"""PMD603 devicetree-partitions-ignored."""

from __future__ import annotations

from pathlib import PurePath
from typing import Dict, Iterator, List, Optional, Tuple, Union

from ...model import Build, Era, Image, Layout, Partition
from ...model.findings import Finding, Fix, Severity, Text
from .. import rule
from .._shared.edit_helpers import advice, static_fix
from .._shared.layouts import (
    edit_path,
    first_overlaps,
    hexrange,
    is_region_placeholder,
    where_to_edit,
)

# Devicetree labels and the Partition Manager partitions that stand for them
# (flash_map_pm.h aliases, pm_to_dts.py), most likely first.
_DT_TO_PM = {
    "boot_partition": ("mcuboot",),
    "mcuboot_partition": ("mcuboot",),
    "slot0_partition": ("mcuboot_primary", "app"),
    "slot1_partition": ("mcuboot_secondary",),
    "slot2_partition": ("mcuboot_primary_1",),
    "slot3_partition": ("mcuboot_secondary_1",),
    "scratch_partition": ("mcuboot_scratch",),
    "storage_partition": ("settings_storage", "littlefs_storage", "nvs_storage"),
    "slot0_ns_partition": ("tfm_nonsecure", "app"),
    "slot0_s_partition": ("tfm_secure",),
    "tfm_ps_partition": ("tfm_ps",),
    "tfm_its_partition": ("tfm_its",),
    "tfm_otp_partition": ("tfm_otp_nv_counters",),
    "b0_partition": ("b0",),
    "s0_partition": ("s0_image",),
    "s1_partition": ("s1_image",),
}


# Labels that boards define for themselves; a board's copy is expected to differ under PM.
_BOARD_LABELS = set(_DT_TO_PM) | {"slot1_ns_partition", "code_partition", "reserved_partition_0"}


# Where SDK devicetree files live in a west workspace.
_SDK_DIRS = (("zephyr", "boards"), ("zephyr", "dts"), ("nrf", "boards"), ("nrf", "dts"), ("nrf", "snippets"))


_SDK_TOPS = ("bootloader", "modules")


def is_sdk_file(path: Union[str, PurePath]) -> bool:
    """True for devicetree files of Zephyr, NCS or a module (not the user's application or board)."""
    parts = [p.lower() for p in str(path).replace("\\", "/").split("/") if p and p != "."]
    if parts and parts[0] in _SDK_TOPS:
        return True
    return any(tuple(parts[i : i + 2]) in _SDK_DIRS for i in range(len(parts) - 1))


def _authorship(image: Image, part: Partition) -> Optional[bool]:
    """True: the user's file says so; None: probably the user's (custom label); False: board/SDK."""
    node = image.devicetree.nodes.get(part.dt_path or "")
    origin = node.origin if node is not None else None
    if origin is not None and origin.file is not None:
        return not is_sdk_file(origin.file)
    if part.name in _BOARD_LABELS or part.name.startswith(("cpu", "sram")):
        return False
    return None


def _pm_region(image: Image, part: Partition) -> Optional[str]:
    tree = image.devicetree
    if part.device is not None and part.device == tree.chosen.get("nordic,pm-ext-flash"):
        return "external_flash"
    flash = tree.chosen_node("zephyr,flash")
    if flash is not None and part.device == flash.path:
        return "flash_primary"
    return None


def _counterpart(layout: Layout, part: Partition) -> Optional[Partition]:
    for name in (*_DT_TO_PM.get(part.name, ()), part.name, part.name.replace("_partition", "")):
        found = layout.get(name)
        if found is not None:
            return found
    return None


# How many of the Partition Manager partitions under a devicetree partition a message names.
_UNDER_NAMED = 3


def _under(layout: Layout, wanted: List[Tuple[Partition, str]]) -> Dict[str, List[Partition]]:
    """Devicetree partition name -> the first used Partition Manager partitions that lie under it.

    One query per region for all the devicetree partitions, not one scan of the layout each.
    """
    by_region: Dict[str, List[Partition]] = {}
    for part, region in wanted:
        by_region.setdefault(region, []).append(part)
    found: Dict[str, List[Partition]] = {}
    for region, parts in by_region.items():
        used = [
            p
            for p in layout.partitions.values()
            if p.region == region
            and p.has_extent
            and p.size > 0
            and not p.is_container
            and not is_region_placeholder(layout, p)
            and not p.name.startswith("EMPTY_")
        ]
        answers = first_overlaps(used, [(part.address, part.end) for part in parts], _UNDER_NAMED)
        found.update((part.name, answer) for part, answer in zip(parts, answers))
    return found


def _disagreement(
    layout: Layout, region: str, part: Partition, under: Dict[str, List[Partition]], opened: List[str]
) -> Optional[str]:
    twin = _counterpart(layout, part)
    if twin is not None:
        if (twin.address, twin.size, twin.region) == (part.address, part.size, region):
            return None
        return (
            f"devicetree `{part.name}` ({hexrange(part)}) is `{twin.name}` at {hexrange(twin)} "
            f"in {twin.region} in partitions.yml"
        )
    if not under[part.name]:
        if opened:  # free space, but the code asks Partition Manager for a partition it does not have
            return (
                f"devicetree `{part.name}` ({hexrange(part)}) is opened by {opened[0]} but has no "
                "Partition Manager counterpart"
            )
        return None  # free space Partition Manager leaves alone: harmless
    names = ", ".join(f"`{p.name}` {hexrange(p)}" for p in under[part.name])
    return (
        f"devicetree `{part.name}` ({hexrange(part)}) has no Partition Manager counterpart, "
        f"and Partition Manager puts {names} there"
    )


@rule("PMD603", "devicetree-partitions-ignored", Severity.WARNING, rank=35)
def devicetree_partitions_ignored(build: Build) -> Iterator[Finding]:
    """
    ## What it does
    In Partition Manager builds, compares the partitions the application's
    devicetree declares in your own overlays (custom labels, or
    `storage_partition` / `slot1_partition` you redefined) with the
    generated `partitions.yml`, and reports those that disagree. The board's
    default devicetree partitions, which always differ under Partition
    Manager, are not reported.

    ## Why it matters
    With Partition Manager active, devicetree `fixed-partitions` have no
    effect on the flash layout: Partition Manager places `settings_storage`,
    the MCUboot slots and everything else itself. A partition you reserved
    in an overlay is not reserved at all; a DFU image or the settings may
    be written over the data you thought lived there.

    ## Example
    An overlay declares `lfs_partition` at 0xf0000 on the internal flash,
    but `partitions.yml` puts `settings_storage` and the end of
    `mcuboot_secondary` there.

    ## Severity
    A warning when your own overlay's partition disagrees with `partitions.yml`, or when code opens
    a devicetree partition (a `zephyr,*` storage chosen node, a mount or disk node pointing at it)
    that Partition Manager has no partition or no region for; a note for custom labels whose origin
    the devicetree does not record.

    ## How to fix
    Declare the area in the static file the build reads (with the devicetree
    label as its name, `_partition` suffix included: under Partition Manager
    `FIXED_PARTITION_ID(label)` becomes `PM_<label>_ID`), or switch the whole
    build to devicetree partitioning (`SB_CONFIG_PARTITION_MANAGER=n`)
    consistently for all images.

    Mechanical when the devicetree partition lies in space no used partition
    takes and is whole erase blocks: the partition is added to the static file
    at the same range. Advice when Partition Manager already puts a partition
    there (open that one, or shrink it: a judgement about data), when the range
    is not whole erase blocks, or when the flash has no Partition Manager region.
    """
    app = build.app
    layout = build.layout_for_domain(None)
    if build.era is Era.DEVICETREE or app is None or layout is None or app.devicetree.layout is None:
        return
    compared: List[Tuple[Partition, Optional[bool], str, List[str]]] = []
    for part in app.devicetree.layout.partitions.values():
        if not part.has_extent:
            continue
        opened = opened_by(app, part)
        region = _pm_region(app, part)
        if region is None:
            if opened:
                yield _unmanaged(build, app, part, opened)
            continue
        authored = _authorship(app, part)
        if authored is False and not (opened and _counterpart(layout, part) is None):
            continue
        compared.append((part, authored, region, opened))
    under = _under(
        layout, [(part, region) for part, _, region, _ in compared if _counterpart(layout, part) is None]
    )
    probable: List[Tuple[Partition, str, str]] = []
    for part, authored, region, opened in compared:
        problem = _disagreement(layout, region, part, under, opened)
        if problem is None:
            continue
        if opened and not under.get(part.name):
            # Code opens a name Partition Manager does not have: whoever wrote it, the build relies on it.
            authored = True
        if not authored:
            probable.append((part, region, problem))
            continue
        yield Finding(
            message=problem + "; Partition Manager ignores devicetree partitions",
            location=part.source,
            image=app.name,
            evidence=[Text(f"devicetree: {part.name} {hexrange(part)} (", part.source, ")")]
            + [f"opened by {what}" for what in opened],
            fixes=[_static_fix(build, layout, part, region, under.get(part.name, []))],
            subject=("devicetree", part.name),
        )
    if probable:
        yield _probable_finding(build, layout, app, probable, under)


# Chosen properties that name the running image or RAM, not storage the code opens.
_NOT_STORAGE_CHOSEN = ("zephyr,code-partition", "zephyr,sram", "zephyr,flash", "zephyr,console")


def opened_by(image: Image, part: Partition) -> List[str]:
    """What in the devicetree makes code open this partition: a storage chosen node or a mount.

    A `zephyr,*` chosen property naming the partition (or a node that mounts
    it, as `zephyr,settings-partition = &lfs1` with `/fstab/lfs1` holding
    `partition = <&lfs1_part>`), or any node whose property points at it.
    """
    tree = image.devicetree
    found: List[str] = []
    holders = {part.dt_path}
    for reference in tree.references.get(part.name, []):
        if reference.node == "/chosen":
            continue
        found.append(f"{reference.node} ({reference.prop} = <&{part.name}>)")
        holders.add(reference.node)
    for prop, path in tree.chosen.items():
        if path in holders and prop.startswith("zephyr,") and not prop.startswith(_NOT_STORAGE_CHOSEN):
            found.append(f"chosen {prop}" + (f" (through {path})" if path != part.dt_path else ""))
    return found


def _unmanaged(build: Build, app: Image, part: Partition, opened: List[str]) -> Finding:
    """A partition code opens on a flash device Partition Manager has no region for."""
    device = part.device or "its flash device"
    return Finding(
        message=(
            f"devicetree `{part.name}` ({hexrange(part)} on {device}) is opened by {opened[0]}, but "
            "Partition Manager has no region for that flash and ignores devicetree partitions: "
            f"flash-map lookups go through Partition Manager, which has no `{part.name}`"
        ),
        location=part.source,
        image=app.name,
        evidence=[Text(f"devicetree: {part.name} {hexrange(part)} (", part.source, ")")]
        + [f"opened by {what}" for what in opened],
        fixes=[
            Fix(
                f"declare `{part.name}` in the static file on a Partition Manager region (for external "
                "flash: set the `nordic,pm-ext-flash` chosen node to this flash and use region "
                "external_flash)" + where_to_edit(build, build.layout_for_domain(None)),
                edit_path(build, build.layout_for_domain(None)),
            )
        ],
        subject=("devicetree-unmanaged", part.name),
    )


def _static_fix(build: Build, layout: Layout, part: Partition, region: str, under: List[Partition]) -> Fix:
    """Declare the partition in the static file, unless that would put it over Partition Manager's own.

    A suggested partition must never lie inside an existing one (Botz: `lfs1_part`
    inside `littlefs_storage`): then the code should open the partition that is there.
    """
    if under:
        holder = next((p for p in under if p.address <= part.address and part.end <= p.end), None)
        if holder is not None:
            return Fix(
                f"open `{holder.name}` ({hexrange(holder)}), which Partition Manager already places "
                f"there, instead of `{part.name}`; or shrink `{holder.name}` and give `{part.name}` its own "
                "range" + where_to_edit(build, layout),
                edit_path(build, layout),
            )
        names = ", ".join(f"`{p.name}`" for p in under)
        return Fix(
            f"declare `{part.name}` in the static file in space no partition uses (it now overlaps "
            f"{names})" + where_to_edit(build, layout),
            edit_path(build, layout),
        )
    return _declared(build, layout, part, region)


def _declared(build: Build, layout: Layout, part: Partition, region: str) -> Fix:
    """The devicetree partition declared in the static file at the same place, under its own label.

    NCS's flash_map_pm.h turns `FIXED_PARTITION_ID(label)` into `PM_<label>_ID`: only the standard
    labels (`slot0_partition`, `storage_partition` …) have aliases, so a custom label must be the
    Partition Manager name itself, `_partition` suffix and all. It lies in space no used
    partition takes (``under`` is empty); the fix checker confirms nothing else breaks.
    """
    words = f"declare `{part.name}` in the static file at {hexrange(part)}, under the label the code opens"
    block = _erase_block(layout, region)
    if block and (part.address % block or part.size % block):
        return advice(
            words,
            f"{hexrange(part)} is not whole 0x{block:x}-byte erase blocks; choose an aligned range "
            "and move the devicetree partition with it" + where_to_edit(build, layout),
            edit_path(build, layout),
        )
    return static_fix(
        build,
        layout,
        {part.name: {"address": part.address, "size": part.size, "region": region}},
        words + "; no existing partition moves",
    )


def _erase_block(layout: Layout, region: str) -> Optional[int]:
    bounds = layout.regions.get(region)
    return bounds.erase_block if bounds is not None else None


def _probable_finding(
    build: Build,
    layout: Layout,
    app: Image,
    probable: List[Tuple[Partition, str, str]],
    under: Dict[str, List[Partition]],
) -> Finding:
    """One note for custom-labelled partitions whose author this Zephyr does not record."""
    names = ", ".join(f"`{part.name}`" for part, _, _ in probable)
    first, region, _ = probable[0]
    return Finding(
        message=(
            f"devicetree partition(s) {names} (custom labels, probably from your overlay) disagree with "
            "partitions.yml; Partition Manager ignores devicetree partitions"
        ),
        location=first.source,
        image=app.name,
        severity=Severity.NOTE,
        evidence=[problem for _, _, problem in probable],
        fixes=[_static_fix(build, layout, first, region, under.get(first.name, []))],
        subject=("devicetree", *(part.name for part, _, _ in probable)),
    )
