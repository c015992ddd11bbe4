"""PMD602 storage-geometry."""

from __future__ import annotations

from typing import Dict, Iterator, List, Optional, Tuple

from ...model import Build, Layout, LayoutKind, Partition
from ...model.findings import Finding, Fix, Severity, Text
from .. import rule
from .._shared.layouts import (
    Checked,
    checked_layouts,
    edit_path,
    find_partition,
    hexrange,
    nested_in_container,
    static_twin,
    where_to_edit,
)
from .._shared.protection import fprotect_block, protect_blocks, said
from ._common import settings_backend

STORAGE_NAMES = (
    "settings_storage",
    "nvs_storage",
    "littlefs_storage",
    "zms_storage",
    "storage",
    "emds_storage",
    "storage_partition",
)


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
    backend = settings_backend(app.config) if app is not None else None
    # One finding per storage partition, however many images' devicetrees
    # hold it: (name, extent, problems) -> the first sighting and the images.
    found: Dict[tuple, Tuple[Checked, Partition, List[str], List[str]]] = {}
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
            key = (layout.kind, part.name, part.address, part.size, part.region, tuple(map(str, problems)))
            images = list(checked.images) or ([checked.image] if checked.image else [])
            if key in found:
                found[key][3].extend(name for name in images if name not in found[key][3])
            else:
                found[key] = (checked, part, problems, images)
    for checked, part, problems, images in found.values():
        layout = checked.layout
        evidence = [f"{part.name}: {hexrange(part)} in {part.region}"]
        if len(images) > 1:
            evidence.append(f"the same partition in the devicetree of images {', '.join(images)}")
        if app is not None and backend:
            evidence.append(said(app.config, backend, app.name))
        yield Finding(
            message=Text.join("; ", problems),
            location=part.source,
            image=checked.image,
            domain=layout.domain,
            evidence=evidence,
            fixes=[
                Fix(
                    f"resize or move `{part.name}` to whole, unprotected erase blocks"
                    + where_to_edit(build, layout),
                    edit_path(build, layout),
                )
            ],
            subject=(layout.kind.value, part.name),
        )
