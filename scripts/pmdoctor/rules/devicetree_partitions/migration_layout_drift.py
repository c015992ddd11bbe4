"""PMD704 migration-layout-drift."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Iterator, Optional, Tuple

from ...model import DEFAULT_PLACEMENT, Build, Era, Image, Layout, Partition, Source
from ...model.dt_map import (
    DtEquivalent,
    devicetree_equivalents,
    is_external,
    partition_node_snippet,
)
from ...model.findings import Finding, Fix, Severity, Text
from .. import rule
from .._shared.edit_helpers import overlay_fix, reg_value, static_fix
from .._shared.layouts import hx
from .._shared.targets import devicetree_snippet
from ._common import devicetree_images, flash_label_of, reference_image, region_base, span_text


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
    this build's layout with it. A Partition Manager build is compared name
    for name in Partition Manager's names (the deployed `app` with `app`,
    `mcuboot_primary` with `mcuboot_primary`); a devicetree build is compared
    through the Partition Manager ↔ devicetree name mapping (`mcuboot` → `boot_partition`, `mcuboot_primary` →
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

    Mechanical for a partition that moved or was resized on the same flash
    device: its `reg` goes back to the deployed place in the image's overlay
    (Partition Manager builds: its address and size in the static file).
    Advice for a partition that is missing, renamed or on another device:
    the node must be created or moved, and what now occupies the deployed
    place must make room, which is a layout decision.
    """
    for baseline in build.baselines:
        if build.era is not Era.DEVICETREE:
            yield from _pm_drift(build, baseline)
            continue
        expected = devicetree_equivalents(baseline)
        for seen, image, complete in _current(build, baseline.domain):
            # (address, size) -> the first partition there: where a renamed partition went.
            placed: Dict[Tuple[Optional[int], Optional[int]], _Seen] = {}
            for current in seen.values():
                placed.setdefault((current.address, current.size), current)
            for entry in expected:
                yield from _compare(build, baseline, entry, seen, placed, image, complete)


def _compared_pm(layout: Layout) -> Dict[str, Partition]:
    """The partitions of a Partition Manager layout that devices keep: flash, named, not free space."""
    kept = {}
    for part in layout.partitions.values():
        region = layout.region_of(part)
        if part.name.startswith("EMPTY_") or part.name in layout.regions or part.name in DEFAULT_PLACEMENT:
            continue
        if (region is not None and not region.is_flash) or part.region.startswith(("sram", "ram_")):
            continue
        kept[part.name] = part
    return kept


def _pm_drift(build: Build, baseline: Layout) -> Iterator[Finding]:
    """Within the Partition Manager era: the same names on both sides, the deployed `app` with `app`.

    A changed container stands for the partitions inside it (a grown
    `mcuboot_primary` also moves `app`): those are not reported again.
    """
    layout = build.layout_for_domain(baseline.domain)
    if layout is None:
        return
    now = _compared_pm(layout)
    changed = []
    for name, was in _compared_pm(baseline).items():
        current = now.get(name)
        changes = []
        if current is None:
            changes.append("is missing")
        else:
            if current.address != was.address:
                changes.append(f"moved from {hx(was.address)} to {hx(current.address)}")
            if current.size != was.size:
                changes.append(f"resized from {hx(was.size)} to {hx(current.size)}")
            if current.region != was.region:
                changes.append(f"moved from region {was.region} to {current.region}")
        if changes:
            changed.append((was, current, changes))
    containers = [was for was, _, _ in changed if was.is_container and was.has_extent]
    for was, current, changes in changed:
        inside = any(
            c is not was and was.has_extent and c.address <= was.address and was.end <= c.end
            for c in containers
        )
        if inside:
            continue
        yield Finding(
            message=(
                f"layout drift against the deployed {baseline.file.name if baseline.file else 'layout'}: "
                f"`{was.name}` {' and '.join(changes)} in this build; devices updated in the field keep "
                "the old address"
            ),
            location=current.source if current is not None else was.source,
            domain=baseline.domain,
            evidence=_drift_evidence(was.name, was, was.name, current),
            fixes=[
                Fix(
                    f"put `{was.name}` back where it is deployed in the static layout",
                    None,
                    f"{was.name}:\n  address: {hx(was.address)}\n  size: {hx(was.size)}\n"
                    f"  region: {was.region}",
                )
            ],
            subject=(baseline.domain or "", was.name),
        )


def _current(build: Build, domain: Optional[str]) -> Iterator[Tuple[Dict[str, _Seen], Optional[Image], bool]]:
    """Each distinct layout of the domain; ``complete`` = the main image's (missing partitions count)."""
    if build.era is not Era.DEVICETREE:
        layout = build.layout_for_domain(domain)
        if layout is not None:
            yield {e.label: _seen_pm(e) for e in devicetree_equivalents(layout)}, build.app, True
        return
    images = [i for i in devicetree_images(build) if i.domain == domain]
    main = reference_image(images)
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
    base = 0 if is_external(image, part) else region_base(layout, part)
    return _Seen(
        part.name,
        part.address,
        part.size,
        is_external(image, part),
        part.source,
        flash_label_of(layout, part),
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
    was = f"{entry.pm_name} {span_text(entry.address, entry.size)}"
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
        evidence=_drift_evidence(entry.pm_name, entry, entry.label, current),
        fixes=[_drift_fix(build, entry, current, image, baseline.domain)],
        subject=(baseline.domain or "", entry.label),
    )


def _drift_evidence(deployed_name: str, deployed, current_name: str, current) -> list:
    """Where the partition is deployed and where it is now (anything with address, size and source)."""
    now = span_text(current.address, current.size) + Text(" (", current.source, ")") if current else "absent"
    return [
        Text(
            f"deployed: {deployed_name} {span_text(deployed.address, deployed.size)} (", deployed.source, ")"
        ),
        f"now: {current_name} " + now,
    ]


def _drift_fix(
    build: Build, entry: DtEquivalent, current: Optional[_Seen], image: Optional[Image], domain: Optional[str]
) -> Fix:
    why = (
        f"put {entry.label} back where {entry.pm_name} is deployed (`west pmdoctor migrate` writes them all)"
    )
    if build.era is not Era.DEVICETREE:
        words = why.split(" (")[0] + " in the static layout"
        layout = build.layout_for_domain(domain)
        if current is not None and layout is not None and layout.get(entry.pm_name) is not None:
            deployed = {"address": entry.address, "size": entry.size}
            return static_fix(build, layout, {entry.pm_name: deployed}, words)
        return Fix(words, None, f"{entry.pm_name}: address {hx(entry.address)}")
    flash = current.flash if current and current.flash else ("mx25r64" if entry.external else "flash0")
    base = current.base if current else 0
    if current is not None and current.external == entry.external:
        # Same device: the node stays, its `reg` goes back to the deployed place.
        reg = reg_value(entry.address - base, entry.size)
        return overlay_fix(build, image, [(f"&{entry.label}", "reg", reg)], why)
    return devicetree_snippet(build, image, partition_node_snippet(flash, entry, base), why)
