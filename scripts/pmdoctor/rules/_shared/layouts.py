"""Shared helpers for rules that walk partition layouts."""

from __future__ import annotations

import re
from bisect import bisect_right, insort
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterable, Iterator, List, Optional, Set, Tuple

from ...model import DEFAULT_PLACEMENT, Build, Era, Image, Layout, LayoutKind, Partition
from ...model.names import devicetree_names, pm_name
from . import targets

# Containers Partition Manager always builds as spans; a hand-written static
# file that gives one of them as a plain partition has lost its members.
KNOWN_SPANS = {
    "mcuboot_primary": ("mcuboot_pad", "mcuboot_primary_app"),
    "mcuboot_primary_app": ("app",),
}


@dataclass(frozen=True)
class Checked:
    """A layout to check, and the images it stands for (devicetree layouts are per image)."""

    layout: Layout
    images: Tuple[str, ...] = ()

    @property
    def image(self) -> Optional[str]:
        return self.images[0] if self.images else self.layout.image


def checked_layouts(build: Build) -> Iterator[Checked]:
    """The layouts that decide where things are in flash for this build.

    Partition Manager builds: the generated partitions files and the static
    file (devicetree partitions are ignored there). Devicetree builds: each
    image's partitions, once per distinct layout.
    """
    if build.era is not Era.DEVICETREE:
        for layout in build.layouts:
            yield Checked(layout)
        for static in build.static_files:
            if static.layout is not None:
                yield Checked(static.layout)
        return
    # Layout key -> the images that have it and the first one's layout; a dict keeps the
    # first-seen order and finds a repeated layout without comparing it with every other.
    seen: Dict[tuple, Tuple[List[str], Layout]] = {}
    for image in build.images:
        layout = image.devicetree.layout
        if layout is None:
            continue
        key = tuple(sorted((p.name, p.address, p.size, p.region) for p in layout.partitions.values()))
        if key in seen:
            seen[key][0].append(image.name)
        else:
            seen[key] = ([image.name], layout)
    for names, layout in seen.values():
        yield Checked(layout, tuple(names))


def find_partition(layout: Layout, name: str) -> Optional[Partition]:
    """A partition by its Partition Manager name or its devicetree label, in either kind of layout.

    ``find_partition(dt_layout, "mcuboot_secondary")`` finds `slot1_partition`;
    ``find_partition(pm_layout, "boot_partition")`` finds `mcuboot`.
    """
    part = layout.get(name)
    if part is not None:
        return part
    if layout.kind is LayoutKind.DEVICETREE:
        names = devicetree_names(name)
        other = names[0] if names else None
    else:
        other = pm_name(name)
    return layout.get(other) if other else None


def app_core_layouts(build: Build) -> Iterator[Checked]:
    """The application core's layouts (checked_layouts without the network core's)."""
    for checked in checked_layouts(build):
        if checked.layout.domain is None:
            yield checked


def image_devicetree_layout(build: Build, *roles: str) -> Optional[Tuple[Image, Layout]]:
    """The first image of the given roles that has devicetree partitions, and its layout."""
    for role in roles:
        image = build.image(role)
        if image is not None and image.devicetree.layout is not None:
            return image, image.devicetree.layout
    return None


def _static_source(build: Build, layout: Layout) -> Optional[Layout]:
    """The static layout a generated layout was made from (the first of its domain), if any."""
    if layout.kind is not LayoutKind.GENERATED:
        return None
    for static in build.static_files:
        if static.layout is not None and static.domain == layout.domain:
            return static.layout
    return None


def _unchanged(mine: Optional[Partition], theirs: Optional[Partition]) -> bool:
    if theirs is None or mine is None:
        return False
    return (mine.address, mine.size, mine.region) == (theirs.address, theirs.size, theirs.region)


def static_twin(build: Build, layout: Layout, names: Iterable[str]) -> bool:
    """True when a generated layout's partitions all come unchanged from the static file.

    The static file is what the user edits, so findings are reported there
    once, not a second time on partitions.yml.
    """
    static = _static_source(build, layout)
    if static is None:
        return False
    return all(_unchanged(layout.get(name), static.get(name)) for name in names)


def static_twins(build: Build, layout: Layout) -> Set[str]:
    """Every partition name for which ``static_twin(build, layout, (name,))`` holds.

    For a group of names, ``static_twin`` is true exactly when all of them are in
    this set; rules that judge many pairs look names up here instead.
    """
    static = _static_source(build, layout)
    if static is None:
        return set()
    return {name for name, part in layout.partitions.items() if _unchanged(part, static.get(name))}


_FILLER = re.compile(r"EMPTY_\d+")


def is_filler(part: Partition) -> bool:
    """An `EMPTY_n` partition: space a static file holds free so its partitions stay packed."""
    return bool(_FILLER.fullmatch(part.name))


def is_region_placeholder(layout: Layout, part: Partition) -> bool:
    """Partition Manager names leftover space after its region (external_flash, sram_primary)."""
    return part.name in layout.regions or part.name in DEFAULT_PLACEMENT


def spanned_names(layout: Layout) -> Set[str]:
    """The names that some container of the layout spans (one level)."""
    return {name for part in layout.partitions.values() for name in part.span}


def nested_in_container(layout: Layout, part: Partition) -> bool:
    """A member of a container; rules asking it of every partition use ``spanned_names`` once."""
    return part.name in spanned_names(layout)


def inner_containers(layout: Layout) -> Set[str]:
    """Containers inside a larger container of the same region (mcuboot_primary_app, tfm_secure).

    Partition Manager spans `mcuboot_primary` over `app`, not over
    `mcuboot_primary_app`, so the span lists alone do not show the nesting.
    One sort per region instead of comparing every container with every other:
    in (address, -end) order, a container lies inside a strictly larger one
    exactly when some container before it (equal extents excluded) ends at or
    after its end.
    """
    by_region: Dict[str, List[Partition]] = {}
    for part in layout.partitions.values():
        if part.is_container and part.has_extent:
            by_region.setdefault(part.region, []).append(part)
    inner: Set[str] = set()
    for containers in by_region.values():
        containers.sort(key=lambda p: (p.address, -p.end))
        furthest: Optional[int] = None  # the largest end among containers before the current extent
        start = 0
        while start < len(containers):
            extent = (containers[start].address, containers[start].end)
            stop = start
            while stop < len(containers) and (containers[stop].address, containers[stop].end) == extent:
                stop += 1
            group = containers[start:stop]
            if furthest is not None and furthest >= extent[1]:
                inner.update(part.name for part in group)
            furthest = extent[1] if furthest is None else max(furthest, extent[1])
            start = stop
    return inner


def first_overlaps(
    parts: List[Partition], ranges: List[Tuple[int, int]], limit: int
) -> List[List[Partition]]:
    """For each (start, end) range, the first ``limit`` of ``parts`` (in list order) that overlap it.

    ``parts`` must have an extent. Overlap means ``part.address < end and part.end > start``.
    Offline, in O((parts + ranges) log parts): ranges are taken by rising end, parts are
    added by rising address while they start before that end, into a Fenwick tree over
    part ends (largest first) whose nodes keep the ``limit`` earliest positions; a range
    then reads the nodes covering the ends above its start.
    """
    ends = sorted({part.end for part in parts})
    tree: List[List[int]] = [[] for _ in range(len(ends) + 1)]

    def add(position: int, end: int) -> None:
        node = len(ends) - bisect_right(ends, end) + 1  # 1 = the largest end
        while node <= len(ends):
            kept = tree[node]
            if len(kept) < limit or position < kept[-1]:
                insort(kept, position)
                del kept[limit:]
            node += node & -node

    def earliest(start: int) -> List[int]:
        node = len(ends) - bisect_right(ends, start)  # how many ends lie above start
        found: List[int] = []
        while node > 0:
            found.extend(tree[node])
            node -= node & -node
        return sorted(found)[:limit]

    by_address = sorted(range(len(parts)), key=lambda i: parts[i].address)
    answers: List[List[Partition]] = [[] for _ in ranges]
    added = 0
    for which in sorted(range(len(ranges)), key=lambda i: ranges[i][1]):
        start, end = ranges[which]
        while added < len(by_address) and parts[by_address[added]].address < end:
            add(by_address[added], parts[by_address[added]].end)
            added += 1
        answers[which] = [parts[i] for i in earliest(start)]
    return answers


def hexrange(part: Partition) -> str:
    if not part.has_extent:
        return "(no address)"
    return f"0x{part.address:x}-0x{part.end:x}"


def hx(value: Optional[int]) -> str:
    if value is None:
        return "?"
    return f"-0x{-value:x}" if value < 0 else f"0x{value:x}"


def edit_path(build: Build, layout: Layout) -> Optional[Path]:
    """The user's file to edit for a layout problem, when there is one.

    A static layout's own file; otherwise the static file the build reads for the layout's
    domain (``PM_STATIC_YML_FILE`` first, see ``targets.static_target``), when it exists.
    """
    if layout.kind is LayoutKind.STATIC:
        return layout.file
    target = targets.static_target(build, layout.domain)
    return target.file if target.exists else None


def where_to_edit(build: Build, layout: Layout) -> str:
    """Words to add to a layout fix: where the change goes when no static file exists yet."""
    if layout.kind is LayoutKind.DEVICETREE:
        return " in the overlay that defines the partition (see the `at` line)"
    target = targets.static_target(build, layout.domain)
    if edit_path(build, layout) is not None:
        # An SDK board file the cache names: the words say how the project overrides it.
        return (
            f" ({target.convention})"
            if target.outside_source and layout.kind is not LayoutKind.STATIC
            else ""
        )
    name = target.file.name
    if target.outside_source or "CMakeCache" in target.convention:
        name += f" ({target.convention})"
    elif "application directory" in target.convention:
        name += " in the application directory"
    return f"; partitions.yml is generated, so copy it to {name} and make the change there"
