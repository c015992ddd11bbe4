"""PMD104 container-mismatch."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Iterator, List, Optional, Tuple

from ...model import Build, Layout, LayoutKind, Partition
from ...model.findings import Finding, Severity
from .. import rule
from .._shared.layouts import (
    KNOWN_SPANS,
    checked_layouts,
    hexrange,
    hx,
    static_twins,
)
from ._common import layout_finding


@rule("PMD104", "container-mismatch", Severity.ERROR, rank=65, explains=("pm-invalid-address",))
def container_mismatch(build: Build) -> Iterator[Finding]:
    """
    ## What it does
    Checks the arithmetic that ties partitions together: a container (`span`)
    must start at its first member and end at its last; every
    member must exist; `end_address` must equal `address + size`;
    `mcuboot_primary` must be exactly `mcuboot_pad` + `mcuboot_primary_app`,
    and must be a container, not a plain partition. Mismatches in containers
    MCUboot and NSIB do not boot through (`tfm_nonsecure`, `tfm_storage`,
    `app_image` …) are notes: NCS's own board layouts carry some.

    ## Why it matters
    MCUboot, the signing step and the flash map all read these numbers.
    When `mcuboot_primary` is smaller than the application it holds, the
    image is signed for the wrong slot size or overflows into the secondary
    slot; Partition Manager stops with "Error when inspecting …, invalid
    address" or "does not span over consecutive parts".

    ## Example
    ```yaml
    mcuboot_primary: {address: 0xe000, size: 0x61000, span: [mcuboot_pad, mcuboot_primary_app]}
    app: {address: 0xe200, size: 0xe6e00}      # ends far beyond mcuboot_primary
    ```

    ## Severity
    An error for the containers MCUboot and NSIB boot and update through (`mcuboot_*`, `s0`, `s1`,
    `b0`); a note for bookkeeping spans (`tfm_nonsecure`, `app_image` …), and for any mismatch that
    comes from a static layout the SDK ships (said in the message). In a static file, `app` is
    placed by Partition Manager in the one gap left, so its written size is not held against it.

    ## How to fix
    Recompute containers from their members (or copy a generated
    `partitions.yml`); keep `mcuboot_pad` in front of the application.
    """
    for checked in checked_layouts(build):
        layout = checked.layout
        if layout.kind is LayoutKind.DEVICETREE:
            continue
        twins = static_twins(build, layout)
        sdk_file = _sdk_static_file(build, layout)
        for part in layout.partitions.values():
            for message, parts, severity in _container_problems(layout, part):
                if all(p.name in twins for p in parts):
                    continue
                if sdk_file is not None:
                    # Nordic's own board layouts are what Partition Manager is tested
                    # with: the user did not write this and should not edit it blindly.
                    message += (
                        f"; the static layout is the SDK's own ({sdk_file}), which Partition Manager "
                        "accepts as it is"
                    )
                    severity = Severity.NOTE
                yield layout_finding(
                    build,
                    checked,
                    parts,
                    message,
                    severity=severity,
                    fix=f"recompute `{part.name}` from the partitions it spans",
                )


# Where NCS keeps the static layouts it ships (board folders, samples, applications).
_SDK_STATIC = re.compile(r"(^|/)(nrf|sdk-nrf)/(boards|samples|applications)/.*pm_static[^/]*\.ya?ml$")


def _sdk_static_file(build: Build, layout: Layout) -> Optional[str]:
    """The recorded static file of a generated layout when it lies in the SDK, as recorded."""
    if layout.kind is LayoutKind.DEVICETREE:
        return None
    names = [str(layout.file or "")] if layout.kind is LayoutKind.STATIC else []
    names += [
        str(value)
        for key, value in build.cmake_cache.items()
        if layout.kind is LayoutKind.GENERATED and key.endswith("PM_STATIC_YML_FILE") and value
    ]
    return next((name for name in names if _SDK_STATIC.search(name.replace("\\", "/"))), None)


def _dynamic_app(layout: Layout) -> Optional[Partition]:
    """`app` where Partition Manager puts it when it reads a static file: the one gap left.

    Partition Manager ignores the address and size a static file gives `app`
    and fills the single gap between the other plain partitions of its region
    (NCS's own board files carry stale `app` entries). None when there is no
    single gap (Partition Manager refuses such a file; other rules say why).
    """
    app = layout.partitions.get("app")
    if app is None:
        return None
    proper = [
        p
        for p in layout.partitions.values()
        if p.region == app.region and p.has_extent and p.size > 0 and not p.is_container and p.name != "app"
    ]
    if not proper:
        return None
    region = layout.regions.get(app.region)
    low = region.base if region is not None and region.base is not None else min(p.address for p in proper)
    high = region.end if region is not None and region.end is not None else max(p.end for p in proper)
    starts = {high} | {p.address for p in proper}
    ends = {low} | {p.end for p in proper}
    gaps = list(zip(sorted(ends - starts), sorted(starts - ends)))
    if len(gaps) != 1 or gaps[0][0] >= gaps[0][1]:
        return None
    start, end = gaps[0]
    return replace(app, address=start, size=end - start, end_address=None)


def _fits_with_dynamic_app(layout: Layout, part: Partition, members: List[Partition]) -> bool:
    """A static container that its members fill once `app` is where Partition Manager puts it."""
    app = _dynamic_app(layout) if layout.kind is LayoutKind.STATIC else None
    if app is None or not any(m.name == "app" for m in members):
        return False
    placed = [app if m.name == "app" else m for m in members]
    return (min(m.address for m in placed), max(m.end for m in placed)) == (part.address, part.end)


def _boot_container(part: Partition) -> bool:
    """MCUboot and NSIB boot and update through these; TF-M and storage spans are bookkeeping."""
    return part.name.startswith(("mcuboot", "s0", "s1", "b0"))


def _container_problems(
    layout: Layout, part: Partition
) -> Iterator[Tuple[str, List[Partition], Optional[Severity]]]:
    """(message, partitions, severity override) for each inconsistency of `part`."""
    lesser = None if _boot_container(part) else Severity.NOTE
    if part.end_address is not None and part.end is not None and part.end_address != part.end:
        yield (
            f"`{part.name}` has end_address {hx(part.end_address)} but address + size is {hx(part.end)}",
            [part],
            None,
        )
    span = part.span
    if not span and part.name in KNOWN_SPANS:
        expected = [m for m in KNOWN_SPANS[part.name] if m in layout.partitions]
        if expected and part.has_extent:
            members = [layout.partitions[m] for m in expected]
            inside = all(m.has_extent and part.address <= m.address and m.end <= part.end for m in members)
            if not inside or sum(m.size or 0 for m in members) != part.size:
                yield (
                    f"`{part.name}` is a plain partition ({hexrange(part)}), not a container "
                    f"spanning {', '.join(KNOWN_SPANS[part.name])}; its members lie at "
                    + ", ".join(f"{m.name} {hexrange(m)}" for m in members),
                    [part, *members],
                    None,
                )
        return
    if not span or not part.has_extent:
        return
    absent = [m for m in span if m not in layout.partitions]
    missing = absent
    if layout.kind is LayoutKind.STATIC:
        missing = [m for m in missing if m != "app"]  # app is placed dynamically
    if missing:
        yield (
            f"container `{part.name}` spans {', '.join(missing)}, which "
            f"{'does' if len(missing) == 1 else 'do'} not exist",
            [part],
            lesser,
        )
    if absent:  # the members present cannot say where the container should end
        return
    members = [m for m in layout.members(part) if m.has_extent and m.size > 0]
    if not members:
        return
    low = min(m.address for m in members)
    high = max(m.end for m in members)
    if (low, high) != (part.address, part.end) and not _fits_with_dynamic_app(layout, part, members):
        yield (
            f"container `{part.name}` is {hexrange(part)} but its members "
            f"({', '.join(m.name for m in members)}) cover 0x{low:x}-0x{high:x}",
            [part, *members],
            lesser,
        )
