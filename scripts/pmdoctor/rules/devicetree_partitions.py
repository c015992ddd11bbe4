"""Devicetree-era builds (Partition Manager off) and the Partition Manager → devicetree migration."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Dict, Iterator, List, Optional, Tuple

from ..model import Build, Era, Image, Layout, Partition, Source
from ..model.dt_map import (
    DtEquivalent,
    code_partition_for,
    devicetree_equivalents,
    is_external,
    partition_node_snippet,
)
from ..model.findings import Finding, Fix, Severity
from . import rule
from ._shared.layouts import hx
from ._shared.targets import build_option, devicetree_snippet, image_kconfig, sysbuild_option

# Partitions every image that touches the slots must see identically.
_SHARED = re.compile(r"(boot|scratch|storage|b0n?|s[01]|slot\d+(_s|_ns)?)_partition")


def _span(address: Optional[int], size: Optional[int]) -> str:
    if address is None or size is None:
        return "(no address)"
    return f"0x{address:x}-0x{address + size:x} ({hx(size)})"


def _flash_label(layout: Layout, part: Partition) -> str:
    return part.region[3:] if part.region.startswith("dt:") else part.region


def _region_base(layout: Layout, part: Partition) -> int:
    region = layout.regions.get(part.region)
    return region.base if region is not None and region.base is not None else 0


def _devicetree_images(build: Build) -> List[Image]:
    return [image for image in build.images if image.devicetree.layout is not None]


def _reference(images: List[Image]) -> Optional[Image]:
    for role in ("app", "netcore"):
        for image in images:
            if image.role == role:
                return image
    return images[0] if images else None


# ------------------------------------------------------------------ PMD701


@rule(
    "PMD701",
    "images-disagree-on-partitions",
    Severity.ERROR,
    rank=72,
    explains=("slot-unreachable", "boot-hang", "bad-image-magic"),
)
def images_disagree(build: Build) -> Iterator[Finding]:
    """
    ## What it does
    In a devicetree-era build, compares the `boot_partition`, `slotN_partition`,
    `scratch_partition`, `storage_partition` and NSIB (`b0`/`s0`/`s1`)
    partitions of every image of a domain with the application's (the network
    core's in the `CPUNET` domain): address, size and the flash device they sit
    on must be the same.

    ## Why it matters
    Without Partition Manager every image reads its own devicetree, and MCUboot
    does not inherit the application's overlays. When MCUboot's slot1 is not
    where the application writes the update, MCUboot never finds the new image
    (or swaps garbage), and a `boot_partition` that differs means the
    application overwrites the bootloader.

    ## Example
    App: `slot1_partition: partition@82000 { reg = <0x82000 0x76000>; }`;
    MCUboot: `slot1_partition: partition@80000 { reg = <0x80000 0x78000>; }`.

    ## How to fix
    Put the partitions in one `.dtsi` and include it from the board overlay of
    every image (`boards/<board>.overlay`, `sysbuild/mcuboot/boards/<board>.overlay`),
    so all images share one layout.
    """
    if build.era is not Era.DEVICETREE:
        return
    by_domain: Dict[str, List[Image]] = {}
    for image in _devicetree_images(build):
        by_domain.setdefault(image.domain or "", []).append(image)
    for domain in sorted(by_domain):
        members = by_domain[domain]
        reference = _reference(members)
        for other in members:
            if other is reference:
                continue
            yield from _disagreements(build, reference, other)


def _disagreements(build: Build, reference: Image, other: Image) -> Iterator[Finding]:
    mine, theirs = reference.devicetree.layout, other.devicetree.layout
    for name in sorted(set(mine.partitions) & set(theirs.partitions)):
        if not _SHARED.fullmatch(name):
            continue
        ref, part = mine.partitions[name], theirs.partitions[name]
        differences = _differences(ref, part, reference, other)
        if not differences:
            continue
        base = _region_base(mine, ref)
        yield Finding(
            message=(
                f"{other.name} and {reference.name} see different {name}: {'; '.join(differences)}. "
                f"{other.name} uses its own devicetree, so it looks for the partition somewhere else"
            ),
            location=part.source,
            image=other.name,
            domain=other.domain,
            evidence=[
                f"{reference.name}: {name} {_span(ref.address, ref.size)} on {ref.device} ({ref.source})",
                f"{other.name}: {name} {_span(part.address, part.size)} on {part.device} ({part.source})",
            ],
            fixes=[
                devicetree_snippet(
                    build,
                    other,
                    _node_snippet(reference, mine, ref, base),
                    f"give {other.name} the same {name} as {reference.name} (best: one shared "
                    "partitions .dtsi included by every image's overlay)",
                )
            ],
            subject=(other.name, name),
        )


def _differences(ref: Partition, part: Partition, reference: Image, other: Image) -> List[str]:
    found = []
    if ref.address != part.address:
        found.append(f"starts at {hx(part.address)} in {other.name}, {hx(ref.address)} in {reference.name}")
    if ref.size != part.size:
        found.append(f"is {hx(part.size)} bytes in {other.name}, {hx(ref.size)} in {reference.name}")
    if is_external(reference, ref) != is_external(other, part) or (
        ref.device != part.device and ref.region != part.region
    ):
        found.append(f"sits on {part.device} in {other.name}, on {ref.device} in {reference.name}")
    return found


def _node_snippet(image: Image, layout: Layout, part: Partition, base: int) -> str:
    node = image.devicetree.nodes.get(part.dt_path or "")
    label = node.props.get("label") if node is not None else None
    entry = DtEquivalent(
        label=part.name,
        name=label if isinstance(label, str) else part.name.replace("_partition", "").replace("_", "-"),
        pm_name=part.name,
        address=part.address or 0,
        size=part.size or 0,
        external=False,
        source=part.source,
    )
    return partition_node_snippet(_flash_label(layout, part), entry, base)


# ------------------------------------------------------------------ PMD702


def _mcuboot_used(build: Build) -> bool:
    app = build.app
    return (
        build.sysbuild_config.enabled("SB_CONFIG_BOOTLOADER_MCUBOOT")
        or (app is not None and app.config.enabled("CONFIG_BOOTLOADER_MCUBOOT"))
        or any(image.role == "mcuboot" for image in build.images)
    )


def _expected_code_partition(build: Build, image: Image) -> Optional[str]:
    layout = image.devicetree.layout
    if layout is None or image.config.get("CONFIG_XIP") is False:
        return None  # runs from RAM (MCUboot RAM load, FLPR ...): the code partition is not linked
    if image.role == "app" and not _mcuboot_used(build):
        return None  # no bootloader: linked at FLASH_LOAD_OFFSET, any partition may be unused
    if image.role not in ("app", "mcuboot", "b0", "b0n"):
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
            devicetree_snippet(
                build,
                image,
                f"/ {{\n\tchosen {{\n\t\tzephyr,code-partition = &{expected};\n\t}};\n}};",
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
    start = (part.address or 0) - _region_base(layout, part)
    if start == offset:
        return
    yield Finding(
        message=(
            f"image {image.name} is linked at CONFIG_FLASH_LOAD_OFFSET={hx(offset)}, but its code "
            f"partition {expected} starts at offset {hx(start)} of {_flash_label(layout, part)}"
        ),
        location=config.where("CONFIG_FLASH_LOAD_OFFSET"),
        image=image.name,
        domain=image.domain,
        evidence=[
            f"CONFIG_FLASH_LOAD_OFFSET={hx(offset)} ({config.where('CONFIG_FLASH_LOAD_OFFSET')})",
            f"{expected}: {_span(part.address, part.size)} ({part.source})",
            "CONFIG_USE_DT_CODE_PARTITION is not set",
        ],
        fixes=[
            image_kconfig(
                build,
                image,
                ["CONFIG_USE_DT_CODE_PARTITION=y"],
                f"derive the load offset from {expected} (and drop the hand-set CONFIG_FLASH_LOAD_OFFSET)",
            )
        ],
        subject=(image.name, "CONFIG_FLASH_LOAD_OFFSET"),
    )


# ------------------------------------------------------------------ PMD703

# Partition Manager symbols. CONFIG_PM_ alone is also Zephyr power management
# (CONFIG_PM, CONFIG_PM_DEVICE ...), so only these families count.
_PM_SYMBOL = re.compile(
    r"(?:SB_CONFIG_PM_\w+|SB_CONFIG_PARTITION_MANAGER|CONFIG_PARTITION_MANAGER_ENABLED|"
    r"CONFIG_PM_(?:PARTITION_\w+|EXTERNAL_FLASH\w*|SRAM_\w+|OVERRIDE_EXTERNAL_DRIVER_CHECK|"
    r"SINGLE_IMAGE|IMAGE_NOT_BUILT_FROM_SOURCE|MCUBOOT_\w+))"
)


@rule("PMD703", "partition-manager-leftovers", Severity.WARNING, rank=20)
def partition_manager_leftovers(build: Build) -> Iterator[Finding]:
    """
    ## What it does
    In a build without Partition Manager, finds what is left of it:
    `pm_static*.yml` files in the application, a `PM_STATIC_YML_FILE` in the
    CMake cache, and Partition Manager options (`CONFIG_PM_PARTITION_*`,
    `CONFIG_PM_EXTERNAL_FLASH_*`, `SB_CONFIG_PM_*` …) still set in the
    configuration files you wrote.

    ## Why it matters
    None of them has any effect any more: the layout now comes from
    devicetree. Whoever reads the project later believes the static file or
    the size options decide the layout, edits them, and nothing changes — or
    copies them into a devicetree overlay that no longer matches the field.

    ## Example
    `SB_CONFIG_PARTITION_MANAGER=n` in `sysbuild.conf`, and `pm_static.yml`
    still in the application folder.

    ## How to fix
    Move what the static file fixed (addresses of MCUboot, the slots and
    storage) into the devicetree overlays (`west pmdoctor migrate` on the last
    PM-era build writes them), then delete the file and the options.
    """
    if build.era is not Era.DEVICETREE or build.partition_manager:
        return
    files = sorted({*build.static_candidates, *(s.path for s in build.static_files)})
    for path in files:
        yield Finding(
            message=(
                f"{path.name} is ignored: this build does not use Partition Manager, "
                "its flash layout comes from devicetree"
            ),
            location=Source(path),
            evidence=[f"Partition Manager off ({_pm_off_evidence(build)})"],
            fixes=[Fix("move its addresses into the devicetree overlays, then delete the file", path)],
            subject=(str(path.name),),
        )
    for name, config in sorted(build.user_configs.items()):
        leftovers = [
            setting
            for key, setting in config.settings.items()
            if _PM_SYMBOL.fullmatch(key) and setting.value is not False
        ]
        if not leftovers:
            continue
        yield Finding(
            message=(
                f"{name} still sets Partition Manager options that this devicetree-era build "
                f"ignores: {', '.join(s.name for s in leftovers)}"
            ),
            location=leftovers[0].source,
            evidence=[f"{s.name}={s.value} ({s.source})" for s in leftovers],
            fixes=[Fix("delete these lines; set sizes with devicetree partitions", config.file)],
            subject=(name, *(s.name for s in leftovers)),
        )


def _pm_off_evidence(build: Build) -> str:
    sb = build.sysbuild_config
    if "SB_CONFIG_PARTITION_MANAGER" in sb:
        return f"SB_CONFIG_PARTITION_MANAGER is not set ({sb.where('SB_CONFIG_PARTITION_MANAGER')})"
    return "no partitions.yml and no CONFIG_PARTITION_MANAGER_ENABLED"


# ------------------------------------------------------------------ PMD704


@dataclass(frozen=True)
class _Seen:
    """A partition of the layout being checked, as the comparison needs it."""

    label: str
    address: Optional[int]
    size: Optional[int]
    external: bool
    source: Source
    flash: str
    base: int


@rule("PMD704", "migration-layout-drift", Severity.ERROR, rank=75, explains=("boot-hang", "bad-image-magic"))
def migration_layout_drift(build: Build) -> Iterator[Finding]:
    """
    ## What it does
    With `--baseline PATH` (the `partitions.yml` or `pm_static.yml` of the
    firmware already in the field, or its PM-era build directory), compares
    this build's layout with it through the Partition Manager ↔ devicetree
    name mapping (`mcuboot` → `boot_partition`, `mcuboot_primary` →
    `slot0_partition`, `mcuboot_secondary` → `slot1_partition`,
    `settings_storage` → `storage_partition` …) and reports every partition
    that moved, was resized, changed flash device, is missing or got another
    label.

    ## Why it matters
    Devices in the field keep their layout: MCUboot, the slots and the
    settings stay where the old firmware put them. A devicetree-era update
    whose slots are elsewhere is written where the old MCUboot does not look
    (the update never applies, or the device bricks), and a moved storage
    partition loses every bond and setting.

    ## Example
    Deployed `mcuboot_secondary` at 0x82000 (0x76000 bytes); the new
    devicetree has `slot1_partition` at 0x83000.

    ## How to fix
    Copy the addresses of the deployed layout into the overlays:
    `west pmdoctor migrate -d <PM-era build>` writes overlays that reproduce
    it exactly and checks them.
    """
    for baseline in build.baselines:
        expected = devicetree_equivalents(baseline)
        for seen, image, complete in _current(build, baseline.domain):
            # (address, size) -> the first partition there: where a renamed partition went.
            placed: Dict[Tuple[Optional[int], Optional[int]], _Seen] = {}
            for current in seen.values():
                placed.setdefault((current.address, current.size), current)
            for entry in expected:
                yield from _compare(build, baseline, entry, seen, placed, image, complete)


def _current(build: Build, domain: Optional[str]) -> Iterator[Tuple[Dict[str, _Seen], Optional[Image], bool]]:
    """Each distinct layout of the domain; ``complete`` = the main image's (missing partitions count)."""
    if build.era is not Era.DEVICETREE:
        layout = build.layout_for_domain(domain)
        if layout is not None:
            yield {e.label: _seen_pm(e) for e in devicetree_equivalents(layout)}, build.app, True
        return
    images = [i for i in _devicetree_images(build) if i.domain == domain]
    main = _reference(images)
    seen_keys: set = set()
    for image in sorted(images, key=lambda i: i is not main):
        layout = image.devicetree.layout
        key = tuple(sorted((p.name, p.address, p.size, p.device) for p in layout.partitions.values()))
        if key in seen_keys:
            continue
        seen_keys.add(key)
        yield {p.name: _seen_dt(layout, image, p) for p in layout.partitions.values()}, image, image is main


def _seen_pm(entry: DtEquivalent) -> _Seen:
    return _Seen(entry.label, entry.address, entry.size, entry.external, entry.source, "", 0)


def _seen_dt(layout: Layout, image: Image, part: Partition) -> _Seen:
    base = 0 if is_external(image, part) else _region_base(layout, part)
    return _Seen(
        part.name,
        part.address,
        part.size,
        is_external(image, part),
        part.source,
        _flash_label(layout, part),
        base,
    )


def _compare(
    build,
    baseline: Layout,
    entry: DtEquivalent,
    seen: Dict[str, _Seen],
    placed: Dict[Tuple[Optional[int], Optional[int]], _Seen],
    image,
    complete: bool,
):
    was = f"{entry.pm_name} {_span(entry.address, entry.size)}"
    current = seen.get(entry.label)
    where = f"{image.name}'s devicetree" if build.era is Era.DEVICETREE and image else "this build"
    if current is None:
        twin = placed.get((entry.address, entry.size))
        if twin is not None:
            problem = (
                f"is {twin.label} in {where}, not {entry.label}: flash-map users look it up as {entry.label}"
            )
            location = twin.source
        elif complete:
            problem = f"has no {entry.label} in {where}"
            location = entry.source
        else:
            return
    else:
        changes = []
        if current.address != entry.address:
            changes.append(f"moved from {hx(entry.address)} to {hx(current.address)}")
        if current.size != entry.size:
            changes.append(f"resized from {hx(entry.size)} to {hx(current.size)}")
        if current.external != entry.external:
            side = ("external", "internal") if entry.external else ("internal", "external")
            changes.append(f"moved from {side[0]} to {side[1]} flash")
        if not changes:
            return
        problem = f"{entry.label} {' and '.join(changes)} in {where}"
        location = current.source
    yield Finding(
        message=(
            f"layout drift against the deployed {baseline.file.name if baseline.file else 'layout'}: "
            f"{was} {problem}; devices updated in the field keep the old address"
        ),
        location=location,
        image=image.name if image else None,
        domain=baseline.domain,
        evidence=[
            f"deployed: {entry.pm_name} {_span(entry.address, entry.size)} ({entry.source})",
            f"now: {entry.label} "
            + (_span(current.address, current.size) + f" ({current.source})" if current else "absent"),
        ],
        fixes=[_drift_fix(build, entry, current, image)],
        subject=(baseline.domain or "", entry.label),
    )


def _drift_fix(build: Build, entry: DtEquivalent, current: Optional[_Seen], image: Optional[Image]) -> Fix:
    why = (
        f"put {entry.label} back where {entry.pm_name} is deployed (`west pmdoctor migrate` writes them all)"
    )
    if build.era is not Era.DEVICETREE:
        return Fix(
            why.split(" (")[0] + " in the static layout",
            None,
            f"{entry.pm_name}: address {hx(entry.address)}",
        )
    flash = current.flash if current and current.flash else ("mx25r64" if entry.external else "flash0")
    base = current.base if current else 0
    return devicetree_snippet(build, image, partition_node_snippet(flash, entry, base), why)


# ------------------------------------------------------------------ PMD705


def _version(text: Optional[str]) -> Optional[Tuple[int, int]]:
    match = re.match(r"v?(\d+)\.(\d+)", text or "")
    return (int(match.group(1)), int(match.group(2))) if match else None


def ncs_at_least_3_3(build: Build) -> Optional[str]:
    """Why we believe the build uses NCS >= 3.3, or None."""
    ncs = _version(build.ncs_version)
    if ncs is not None:
        return f"NCS {build.ncs_version} (from ZEPHYR_BASE)" if ncs >= (3, 3) else None
    # NCS 3.x ships Zephyr 4.x.99 (3.2 -> 4.2.99): PM + Zephyr >= 4.3.99 means NCS >= 3.3.
    zephyr = build.zephyr_version or ""
    match = re.match(r"(\d+)\.(\d+)\.(\d+)", zephyr)
    if match and (int(match.group(1)), int(match.group(2))) >= (4, 3) and int(match.group(3)) >= 99:
        return f"Zephyr {zephyr}, the development version NCS 3.3 and later ship"
    return None


@rule("PMD705", "partition-manager-deprecated", Severity.NOTE, rank=5)
def partition_manager_deprecated(build: Build) -> Iterator[Finding]:
    """
    ## What it does
    Notes a Partition Manager build made with nRF Connect SDK 3.3 or later
    (version from the SDK path in `ZEPHYR_BASE`, or the Zephyr version the
    build records).

    ## Why it matters
    Partition Manager is deprecated from NCS 3.3, off by default in the next
    release and then removed. The devicetree layout that replaces it must keep
    every address of the layout already in the field, or DFU to the first
    devicetree-era firmware bricks devices or loses their settings.

    ## Example
    `ZEPHYR_BASE=/opt/ncs/v3.3.0/zephyr` with `partitions.yml` in the build.

    ## How to fix
    Plan the migration: `west pmdoctor migrate` prints the devicetree overlays
    that reproduce this layout and checks them; then build with
    `SB_CONFIG_PARTITION_MANAGER=n` and run `west pmdoctor --baseline
    <this partitions.yml>` on the new build.
    """
    if not build.partition_manager:
        return
    why = ncs_at_least_3_3(build)
    if why is None:
        return
    layout = build.layout_for_domain(None)
    yield Finding(
        message=(
            "Partition Manager is deprecated from NCS 3.3 and will be removed; this build "
            f"uses it ({why}). `west pmdoctor migrate` prints the devicetree overlays that keep this layout"
        ),
        location=Source(layout.file) if layout else Source(build.path / "CMakeCache.txt"),
        evidence=[why] + ([f"layout: {layout.file.name}"] if layout and layout.file else []),
        fixes=[_switch_off(build)],
        subject=("partition-manager",),
    )


def _switch_off(build: Build) -> Fix:
    why = "after adding the overlays from `west pmdoctor migrate`, switch Partition Manager off"
    if build.sysbuild:
        return build_option(build, "PARTITION_MANAGER", "n", why)
    return sysbuild_option(
        build,
        "PARTITION_MANAGER",
        "n",
        why + " (devicetree-era builds use sysbuild; child images are gone since NCS 2.9)",
    )
