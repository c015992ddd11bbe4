"""Storage partitions (settings, NVS, ZMS, LittleFS) and devicetree partitions under Partition Manager."""

from __future__ import annotations

from pathlib import PurePath
from typing import Dict, Iterator, List, Optional, Tuple, Union

from ..model import Build, Era, Image, Layout, LayoutKind, Partition
from ..model.findings import Finding, Fix, Severity
from . import rule
from ._shared.external import needed
from ._shared.layouts import (
    checked_layouts,
    edit_path,
    find_partition,
    first_overlaps,
    hexrange,
    is_region_placeholder,
    nested_in_container,
    static_twin,
    where_to_edit,
)
from ._shared.protection import fprotect_block, protect_blocks, said
from ._shared.targets import devicetree_snippet, image_kconfig

STORAGE_NAMES = (
    "settings_storage",
    "nvs_storage",
    "littlefs_storage",
    "zms_storage",
    "storage",
    "emds_storage",
    "storage_partition",
)
_SETTINGS_BACKENDS = ("CONFIG_SETTINGS_NVS", "CONFIG_SETTINGS_ZMS", "CONFIG_SETTINGS_FCB")


def _settings_backend(config) -> Optional[str]:
    if not config.enabled("CONFIG_SETTINGS"):
        return None
    return next((name for name in _SETTINGS_BACKENDS if config.enabled(name)), None)


def _storage_images(build: Build) -> Iterator[Image]:
    for image in build.images:
        if image.role in ("app", "netcore") and image.config:
            yield image


# ------------------------------------------------------------------ PMD601


def _needs(image: Image) -> List[Tuple[str, str, Severity]]:
    """(partition, option, severity when missing) that Partition Manager creates for this image."""
    needs = []
    backend = _settings_backend(image.config)
    if backend is not None:
        needs.append(("settings_storage", backend, Severity.ERROR))
    if image.config.enabled("CONFIG_FILE_SYSTEM_LITTLEFS"):
        # LittleFS may be mounted on a partition of the user's own naming.
        needs.append(("littlefs_storage", "CONFIG_FILE_SYSTEM_LITTLEFS", Severity.WARNING))
    return needs


def _has_ext_driver(image: Image) -> bool:
    # Partition Manager's own gate decides when .config has it (logs.py takes any driver symbol).
    config = image.config
    if "CONFIG_PM_EXTERNAL_FLASH_HAS_DRIVER" in config:
        return config.enabled("CONFIG_PM_EXTERNAL_FLASH_HAS_DRIVER")
    return config.enabled("CONFIG_NORDIC_QSPI_NOR") or config.enabled("CONFIG_SPI_NOR")


def _storage_judges_reach(image: Image, part: Partition) -> bool:
    """Whether this rule judges an external partition's reachability for this image.

    When the external-flash rules count the partition among those the image
    must open (PMD301/PMD302), they name the exact chosen node and driver
    lines; saying it again here would report one cause twice.
    """
    return part.region == "external_flash" and not needed(image, [part])


def _external_problem(image: Image, part: Partition) -> Optional[str]:
    """Why an external storage partition is left out of this image's flash map (knowledge A5)."""
    chip = image.devicetree.chosen_node("nordic,pm-ext-flash") if image.devicetree else None
    if image.devicetree and chip is None:
        return f"image '{image.name}' has no `nordic,pm-ext-flash` chosen node"
    if chip is not None and not chip.status_okay:
        return f"the external flash {chip.label} is disabled in image '{image.name}'"
    if not _has_ext_driver(image):
        return f"image '{image.name}' has no external flash driver (no CONFIG_PM_EXTERNAL_FLASH_HAS_DRIVER)"
    return None


def _pm_storage(build: Build, image: Image) -> Iterator[Finding]:
    layout = build.layout_for_domain(image.domain)
    if layout is None or not (image.uses_partition_manager or image.role == "app"):
        return
    for name, option, severity in _needs(image):
        why = said(image.config, option, image.name)
        part = layout.get(name)
        if part is None:
            yield Finding(
                message=(
                    f"{option}=y in image '{image.name}', but the layout has no `{name}`: "
                    "the subsystem finds no flash area and fails to initialise"
                ),
                location=image.config.where(option),
                image=image.name,
                domain=layout.domain,
                severity=severity,
                evidence=[why, f"layout: {layout.label}"],
                fixes=[
                    Fix(
                        f"add `{name}` (or build without the static file so Partition Manager places it)"
                        + where_to_edit(build, layout),
                        edit_path(build, layout),
                    )
                ],
                subject=(image.name, name),
            )
            continue
        problem = _external_problem(image, part) if _storage_judges_reach(image, part) else None
        if problem:
            yield Finding(
                message=(
                    f"`{name}` is on external flash but {problem}: the image's flash map drops the "
                    "partition and storage fails to open it (-ENOENT)"
                ),
                location=part.source,
                image=image.name,
                domain=layout.domain,
                evidence=[why, f"{name}: {hexrange(part)} in {part.region}"],
                fixes=[
                    image_kconfig(
                        build, image, ["CONFIG_SPI_NOR=y  # or CONFIG_NORDIC_QSPI_NOR=y"], "give it a driver"
                    ),
                    devicetree_snippet(
                        build,
                        image,
                        "/ {\n\tchosen {\n\t\tnordic,pm-ext-flash = &mx25r64;  /* your chip */\n\t};\n};",
                        "tell Partition Manager which chip is the external flash",
                    ),
                ],
                subject=(image.name, name, "external"),
            )


def _dts_storage(build: Build, image: Image) -> Iterator[Finding]:
    backend = _settings_backend(image.config)
    tree = image.devicetree
    if backend is None or not tree:
        return
    if "storage_partition" in tree.labels or "zephyr,settings-partition" in tree.chosen:
        return
    yield Finding(
        message=(
            f"{backend}=y in image '{image.name}', but its devicetree has no `storage_partition` "
            "and no `zephyr,settings-partition` chosen node for settings"
        ),
        location=image.config.where(backend),
        image=image.name,
        evidence=[said(image.config, backend, image.name), f"devicetree: {tree.file}"],
        fixes=[
            devicetree_snippet(
                build,
                image,
                "&flash0 {\n\tpartitions {\n\t\tstorage_partition: partition@f8000 {\n"
                '\t\t\tlabel = "storage";\n\t\t\treg = <0xf8000 0x8000>;\n\t\t};\n\t};\n};',
                "declare a storage partition in free flash (adjust address and size)",
            )
        ],
        subject=(image.name, "storage_partition"),
    )


@rule("PMD601", "storage-partition-missing", Severity.ERROR, rank=60)
def storage_partition_missing(build: Build) -> Iterator[Finding]:
    """
    ## What it does
    For each application (and network-core) image, checks that the storage
    its Kconfig enables has a partition: `settings_storage` for settings on
    NVS/ZMS/FCB, `littlefs_storage` for LittleFS (Partition Manager builds),
    `storage_partition` or a `zephyr,settings-partition` chosen node
    (devicetree builds). A storage partition on external flash also needs
    the `nordic,pm-ext-flash` chosen node and a driver in that image.

    ## Why it matters
    Without a partition the subsystem cannot open its flash area:
    `settings_subsys_init()` fails with -ENOENT and nothing is stored, or
    the build stops on an undefined `FIXED_PARTITION_ID`. An external
    partition without chosen node or driver is silently dropped from the
    image's flash map, with the same result.

    ## Example
    `CONFIG_SETTINGS_NVS=y` with a `pm_static.yml` that has no
    `settings_storage` and no room left for Partition Manager to place one.

    ## How to fix
    Add the partition (Partition Manager: to the static file, or drop the
    static file so it is placed; devicetree: a `storage_partition` in an
    overlay). For external flash, enable the NOR driver and set
    `nordic,pm-ext-flash` in that image.
    """
    for image in _storage_images(build):
        if build.era is Era.DEVICETREE:
            yield from _dts_storage(build, image)
        else:
            yield from _pm_storage(build, image)


# ------------------------------------------------------------------ PMD602


def _storage_parts(layout: Layout) -> List[Partition]:
    return [p for p in layout.partitions.values() if p.name in STORAGE_NAMES and p.has_extent and p.size > 0]


def _settings_part(layout: Layout) -> Optional[Partition]:
    for name in ("settings_storage", "storage_partition"):
        if layout.get(name) is not None:
            return layout.get(name)
    return None


def _sector_problem(layout: Layout, part: Partition, backend: Optional[str]) -> Optional[str]:
    """NVS and ZMS rotate sectors: they need at least two."""
    region = layout.region_of(part)
    if backend not in ("CONFIG_SETTINGS_NVS", "CONFIG_SETTINGS_ZMS") or part is not _settings_part(layout):
        return None
    if region is None or not region.erase_block:
        return None
    sectors = part.size // region.erase_block
    if sectors >= 2:
        return None
    return (
        f"`{part.name}` holds {sectors} sector(s) of 0x{region.erase_block:x} bytes; "
        f"{backend[len('CONFIG_SETTINGS_') :]} needs at least 2 to move data during garbage collection"
    )


def _erase_problem(layout: Layout, part: Partition) -> Optional[str]:
    """Members of containers, which the generic alignment check (PMD103) leaves alone."""
    region = layout.region_of(part)
    if region is None or not region.erase_block or not nested_in_container(layout, part):
        return None
    bad = [n for n, value in (("start", part.address), ("size", part.size)) if value % region.erase_block]
    if not bad:
        return None
    return (
        f"`{part.name}` {' and '.join(bad)} not a multiple of the 0x{region.erase_block:x}-byte erase block"
    )


def _locked_blocks(build: Build, layout: Layout) -> List[Tuple[int, int, str]]:
    """Block-rounded flash ranges that are write-protected at run time."""
    locked = []
    boot = protect_blocks(build, layout)
    if boot is not None:
        locked.append(boot)
    app = build.app
    factory = find_partition(layout, "factory_data")
    block, _ = fprotect_block(build)
    protected = app is not None and app.config.enabled("CONFIG_CHIP_FACTORY_DATA_WRITE_PROTECT")
    if protected and factory is not None and factory.has_extent and block:
        start = factory.address - factory.address % block
        end = -(-factory.end // block) * block
        locked.append((start, end, "write-protected factory_data"))
    return locked


def _shared_block_problem(build: Build, layout: Layout, part: Partition) -> Optional[str]:
    # Only the SoC's own flash is protected: flash_primary, or the devicetree
    # flash node that holds MCUboot.
    boot = find_partition(layout, "mcuboot")
    internal = boot.region if layout.kind is LayoutKind.DEVICETREE and boot is not None else "flash_primary"
    if part.region != internal:
        return None
    for start, end, what in _locked_blocks(build, layout):
        if part.address < end and part.end > start:
            return (
                f"`{part.name}` ({hexrange(part)}) shares a protection block with {what} "
                f"(locked 0x{start:x}-0x{end:x}), so writes to it fail"
            )
    return None


@rule("PMD602", "storage-geometry", Severity.ERROR, rank=55)
def storage_geometry(build: Build) -> Iterator[Finding]:
    """
    ## What it does
    Checks the shape of storage partitions (`settings_storage`,
    `nvs_storage`, `littlefs_storage`, `storage_partition` …): settings on
    NVS or ZMS needs at least two erase-block sectors; a storage partition
    nested in a container (`nonsecure_storage`) must still start and end on
    erase blocks; and no storage partition may share an FPROTECT block with
    write-protected data (MCUboot's own range, or `factory_data` with
    `CONFIG_CHIP_FACTORY_DATA_WRITE_PROTECT`). Devicetree-era builds are
    checked on each image's partitions (`storage_partition`), with the erase
    block of the flash node that holds them.

    ## Why it matters
    NVS and ZMS need a spare sector to garbage-collect into; with one sector
    mounting fails. Protection works on whole blocks (32 KB on nRF91): a
    settings area inside a locked block becomes read-only at boot and every
    write fails.

    ## Example
    `settings_storage: {address: 0xf8000, size: 0x1000}` with
    `CONFIG_SETTINGS_NVS=y`: one 4 KB sector.

    ## How to fix
    Make NVS/ZMS storage at least two (better three) erase blocks, keep
    storage partitions block-aligned, and move them out of protected blocks
    (Partition Manager aligns `settings_storage` to
    `CONFIG_PM_PARTITION_ALIGN_SETTINGS_STORAGE`).
    """
    app = build.app
    backend = _settings_backend(app.config) if app is not None else None
    for checked in checked_layouts(build):
        layout = checked.layout
        if layout.domain is not None:
            continue
        for part in _storage_parts(layout):
            problems = [
                problem
                for problem in (
                    _sector_problem(layout, part, backend),
                    _erase_problem(layout, part),
                    _shared_block_problem(build, layout, part),
                )
                if problem
            ]
            if not problems or static_twin(build, layout, (part.name,)):
                continue
            yield Finding(
                message="; ".join(problems),
                location=part.source,
                image=checked.image,
                domain=layout.domain,
                evidence=[f"{part.name}: {hexrange(part)} in {part.region}"]
                + ([said(app.config, backend, app.name)] if app is not None and backend else []),
                fixes=[
                    Fix(
                        f"resize or move `{part.name}` to whole, unprotected erase blocks"
                        + where_to_edit(build, layout),
                        edit_path(build, layout),
                    )
                ],
                subject=(layout.kind.value, part.name),
            )


# ------------------------------------------------------------------ PMD603

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
    layout: Layout, region: str, part: Partition, under: Dict[str, List[Partition]]
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

    ## How to fix
    Declare the area in `pm_static.yml` (with the same name, so flash-map
    lookups find it), or switch the whole build to devicetree partitioning
    (`SB_CONFIG_PARTITION_MANAGER=n`) consistently for all images.
    """
    app = build.app
    layout = build.layout_for_domain(None)
    if build.era is Era.DEVICETREE or app is None or layout is None or app.devicetree.layout is None:
        return
    compared: List[Tuple[Partition, Optional[bool], str]] = []
    for part in app.devicetree.layout.partitions.values():
        authored = _authorship(app, part)
        region = _pm_region(app, part)
        if authored is False or region is None or not part.has_extent:
            continue
        compared.append((part, authored, region))
    under = _under(
        layout, [(part, region) for part, _, region in compared if _counterpart(layout, part) is None]
    )
    probable: List[Tuple[Partition, str, str]] = []
    for part, authored, region in compared:
        problem = _disagreement(layout, region, part, under)
        if problem is None:
            continue
        if authored is None:
            probable.append((part, region, problem))
            continue
        yield Finding(
            message=problem + "; Partition Manager ignores devicetree partitions",
            location=part.source,
            image=app.name,
            evidence=[f"devicetree: {part.name} {hexrange(part)} ({part.source})"],
            fixes=[_static_fix(build, layout, part, region)],
            subject=("devicetree", part.name),
        )
    if probable:
        yield _probable_finding(build, layout, app, probable)


def _static_fix(build: Build, layout: Layout, part: Partition, region: str) -> Fix:
    return Fix(
        f"declare `{part.name}` in the static file instead" + where_to_edit(build, layout),
        edit_path(build, layout),
        f"{part.name.replace('_partition', '')}:\n  address: 0x{part.address:x}\n"
        f"  size: 0x{part.size:x}\n  region: {region}",
    )


def _probable_finding(
    build: Build, layout: Layout, app: Image, probable: List[Tuple[Partition, str, str]]
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
        fixes=[_static_fix(build, layout, first, region)],
        subject=("devicetree", *(part.name for part, _, _ in probable)),
    )
