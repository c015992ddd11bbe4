"""Turning what a rule knows must change into edits of the user's own files.

Rules say *what* changes (a partition's size, a Kconfig symbol, a devicetree
property); ``targets`` says *which file* the build reads for it; this module
builds the :mod:`~pmdoctor.model.edits` and the :class:`Fix` around them, so
every family writes a static layout, a Kconfig fragment or an overlay edit
the same way:

- ``static_changes``: new values for partition keys, into the static file
  the build reads. A generated layout without a static file gets the whole
  file created (every partition of ``partitions.yml`` added, with the change),
  because ``partitions.yml`` itself is regenerated on every build.
- ``kconfig_fix`` / ``sysbuild_fix``: symbol assignments in an image's or
  sysbuild's fragment.
- ``overlay_fix``: overlay additions in an image's overlay.

Where a cure needs judgement, a rule keeps a Fix without edits (advice);
``advice`` marks the conflict that stopped an edit.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

from ...model import Build, Image, Layout, LayoutKind, Partition
from ...model.edits import Action, Edit, OverlayEdit, StaticEdit, Target
from ...model.findings import Fix
from . import targets
from .layouts import is_filler, is_region_placeholder

# The keys a copied partition keeps, in the order Partition Manager writes them.
_COPIED_KEYS = ("address", "end_address", "region", "size", "span", "device")


# The file decisions (CMake cache precedence, era) are targets.py's; rules reach them here too.
def layout_target(build: Build, layout: Layout) -> Target:
    """The static file to edit for a layout: the static layout's own file, else the one the build reads.

    A static layout given on its own (a forum attachment) is the user's file even where no build
    says Partition Manager reads it.
    """
    target = targets.static_target(build, layout.domain)
    if layout.kind is LayoutKind.STATIC and layout.file is not None and target.file != layout.file:
        return Target(layout.file, "the static layout file this finding is about")
    return target


static_target = targets.static_target
kconfig_target = targets.kconfig_target
overlay_target = targets.overlay_target
sysbuild_kconfig_target = targets.sysbuild_kconfig_target


# ------------------------------------------------------------------ static layouts


def layout_partition_label(part: Partition) -> str:
    """The label an overlay uses for a devicetree partition (slot1_partition)."""
    return part.dt_label or part.name


def static_changes(
    build: Build,
    layout: Layout,
    changes: Dict[str, Dict[str, object]],
) -> Tuple[Tuple[Edit, ...], str, Target]:
    """Edits giving each named partition's keys new values, in the static file the build reads.

    Returns the edits, the snippet a person reads (only the changed
    partitions, even when the whole file is created) and the target.
    """
    target = layout_target(build, layout)
    user = _user_static_layout(build, layout)
    edits: List[Edit] = []
    shown: List[str] = []
    placeholders = _placeholders_around(user or layout, changes)
    if user is None:
        # No static file yet: create it from the generated layout with the change made.
        for name, part in layout.partitions.items():
            if placeholders.get(name) is None and name in placeholders:
                # The change took all of the free space it stood for: not carried over (and, for
                # the fix checker, gone from the partitions.yml the next build writes).
                removal = StaticEdit(target, Action.REMOVE, name, domain=layout.domain)
                edits.append(removal)
                shown.append(removal.text)
                continue
            entries = partition_entries(part, {**changes.get(name, {}), **(placeholders.get(name) or {})})
            edit = StaticEdit(target, Action.ADD, name, entries=entries, domain=layout.domain)
            edits.append(edit)
            if name in changes:
                shown.append(edit.text)
        for name, keys in changes.items():
            if layout.get(name) is None:  # a partition the generated layout does not have yet
                edit = StaticEdit(target, Action.ADD, name, entries=_new_entries(keys), domain=layout.domain)
                edits.append(edit)
                shown.append(edit.text)
        return tuple(edits), "\n".join(shown), target
    for name, keys in placeholders.items():
        if keys is None and user.get(name) is not None:
            removal = StaticEdit(target, Action.REMOVE, name, domain=layout.domain)
            edits.append(removal)
            shown.append(removal.text)
        elif keys is not None and user.get(name) is not None:
            changes = {**changes, name: keys}
    for name, keys in changes.items():
        mine = user.get(name)
        if mine is None:
            generated = layout.get(name)
            entries = partition_entries(generated, keys) if generated is not None else tuple(keys.items())
            if not any(p.end_address is not None for p in user.partitions.values()):
                entries = tuple((k, v) for k, v in entries if k != "end_address")  # the file's own style
            edit = StaticEdit(target, Action.ADD, name, entries=entries, domain=layout.domain)
            edits.append(edit)
            shown.append(edit.text)
            continue
        lines = [f"{name}:"]  # one block per partition, however many keys change
        for key, value in _with_end_address(mine, keys).items():
            edit = StaticEdit(target, Action.SET, name, key, value, domain=layout.domain)
            edits.append(edit)
            lines.append(edit.text.splitlines()[-1])
        shown.append("\n".join(lines))
    return tuple(edits), "\n".join(shown), target


def is_free_space(layout: Layout, part: Partition) -> bool:
    """A partition that only stands for unused flash: a region's placeholder or an `EMPTY_n` filler."""
    return is_region_placeholder(layout, part) or is_filler(part)


def _placeholders_around(layout: Layout, changes: Dict[str, Dict[str, object]]) -> Dict[str, Optional[dict]]:
    """Free-space partitions (`external_flash`, `EMPTY_n` fillers) a change grows into.

    Partition Manager recomputes them; a static file keeps them as written,
    so they give up what the change takes: they start where it ends (None:
    nothing is left of them).
    """
    adjusted: Dict[str, Optional[dict]] = {}
    for name, keys in changes.items():
        part = layout.get(name)  # None: a partition the change adds
        address = keys.get("address", part.address if part else None)
        size = keys.get("size", part.size if part else None)
        region = keys.get("region", part.region if part else None)
        if region is None or not isinstance(address, int) or not isinstance(size, int):
            continue
        end = address + size
        for other in layout.partitions.values():
            if not is_free_space(layout, other) or other.name in changes:
                continue
            if other.region != region or not other.has_extent:
                continue
            if other.address < end <= other.end or (address <= other.address < end):
                start = max(end, other.address)
                adjusted[other.name] = (
                    {"address": start, "size": other.end - start} if start < other.end else None
                )
    return adjusted


def released_to_free_space(layout: Layout, removed: Sequence[str]) -> List[StaticEdit]:
    """Edits that hand space freed by removing partitions to the region's free-space entry.

    A static file that names a region's free space (`external_flash:` copied from
    partitions.yml) keeps it as written: Partition Manager then recomputes nothing and
    requires the region's static partitions to meet it ("not packed at the start of
    region"). So the entry grows over a hole the removal leaves next to it.
    """
    edits: List[StaticEdit] = []
    gone = set(removed)
    for name, region in layout.regions.items():
        free = layout.get(name)
        if (
            free is None
            or not free.has_extent
            or not any((layout.get(n) is not None and layout.get(n).region == name) for n in gone)
        ):
            continue
        kept = [
            p
            for p in layout.partitions.values()
            if p.region == name and p.has_extent and not p.is_container and p.name not in gone | {name}
        ]
        if region.placement_strategy == "end_to_start":
            start = free.address
            end = min((p.address for p in kept if p.address >= free.end), default=region.end or free.end)
        else:  # start_to_end: the free space follows the packed partitions
            start = max((p.end for p in kept if p.end <= free.address), default=region.base or free.address)
            end = free.end
        if (start, end) != (free.address, free.end):
            edits.extend(targets.extent_edits(free, address=start, size=end - start))
    return edits


def _user_static_layout(build: Build, layout: Layout) -> Optional[Layout]:
    if layout.kind is LayoutKind.STATIC:
        return layout
    for static in build.static_files:
        if static.domain == layout.domain and static.layout is not None:
            return static.layout
    return None


def _with_end_address(part: Partition, keys: Dict[str, object]) -> Dict[str, object]:
    """Keep `end_address` true when a partition that writes one gets a new address or size."""
    keys = dict(keys)
    if part.end_address is None or "end_address" in keys:
        return keys
    if "size" in keys or "address" in keys:
        address = keys.get("address", part.address)
        size = keys.get("size", part.size)
        if isinstance(address, int) and isinstance(size, int):
            keys["end_address"] = address + size
    return keys


def _new_entries(keys: Dict[str, object]) -> Tuple[Tuple[str, object], ...]:
    """A new partition's keys in Partition Manager's order, with `end_address` when it follows."""
    values = dict(keys)
    if isinstance(values.get("address"), int) and isinstance(values.get("size"), int):
        values.setdefault("end_address", values["address"] + values["size"])
    ordered = [key for key in _COPIED_KEYS if key in values]
    return tuple((key, values[key]) for key in [*ordered, *(k for k in values if k not in ordered)])


def partition_entries(
    part: Partition, changes: Optional[Dict[str, object]] = None
) -> Tuple[Tuple[str, object], ...]:
    values: Dict[str, object] = {
        "address": part.address,
        "end_address": part.end,
        "region": part.region,
        "size": part.size,
        "span": tuple(part.span) or None,
        "device": part.device,
    }
    changes = changes or {}
    values.update(changes)
    if (
        "end_address" not in changes
        and isinstance(values["address"], int)
        and isinstance(values["size"], int)
    ):
        values["end_address"] = values["address"] + values["size"]
    return tuple((key, values[key]) for key in _COPIED_KEYS if values.get(key) is not None)


def static_fix(
    build: Build,
    layout: Layout,
    changes: Dict[str, Dict[str, object]],
    description: str,
) -> Fix:
    """A Fix setting partition keys in the static file (created from partitions.yml when absent)."""
    edits, snippet, target = static_changes(build, layout, changes)
    if not target.exists or _user_static_layout(build, layout) is None:
        created = target_words(target)
        description += f"; partitions.yml is generated, so create {created} from it with this change"
    return Fix(description, target.file, snippet, edits=edits)


def devicetree_reg_fix(
    build: Build,
    images: Sequence[str],
    layout: Layout,
    part: Partition,
    address: int,
    size: int,
    description: str,
) -> Fix:
    """A Fix giving a devicetree partition a new ``reg``, in the overlay of every image that has it.

    ``address`` is absolute, as the layout keeps it; ``reg`` is the offset in the flash device.
    """
    region = layout.region_of(part)
    base = region.base if region is not None and region.base is not None else 0
    edits = tuple(
        OverlayEdit(
            overlay_target(build, image),
            Action.SET,
            f"&{layout_partition_label(part)}",
            "reg",
            reg_value(address - base, size),
            image=image.name,
        )
        for image in (build.image(name) for name in images)
        if image is not None
    )
    return Fix(description, edits=edits) if edits else Fix(description)


def advice(description: str, conflict: str, file: Optional[Path] = None) -> Fix:
    """A cure pmdoctor cannot make as one exact edit: the words, what stands in the way, the file."""
    return Fix(f"{description}: {conflict}", file, conflict=conflict)


def target_words(target: Target) -> str:
    """The file's name, and why the build reads it when a CMake cache entry or the SDK decides."""
    if target.outside_source or "CMakeCache" in target.convention:
        return f"{target.file.name} ({target.convention})"
    return target.file.name


def overlay_fix(
    build: Build,
    image: Optional[Image],
    changes: Sequence[Tuple[str, str, Optional[str]]],
    description: str,
) -> Fix:
    """Overlay additions in ``image``'s overlay: ``(node, prop, value)``; value None deletes the property."""
    edits = [
        targets.node_set(node, prop, value) if value is not None else _node_remove(node, prop)
        for node, prop, value in changes
    ]
    return targets.overlay_fix(build, image, edits, description)


def _node_remove(node: str, prop: str) -> OverlayEdit:
    return dataclasses.replace(targets.node_set(node, prop, ""), action=Action.REMOVE, value=None)


def reg_value(offset: int, size: int) -> str:
    """A partition's ``reg`` as an overlay writes it."""
    return f"<0x{offset:x} 0x{size:x}>"


# ------------------------------------------------------------------ Kconfig


def kconfig_fix(
    build: Build,
    image: Optional[Image],
    settings: Sequence[Tuple[str, Optional[str]]],
    description: str,
) -> Fix:
    """Symbol assignments in the fragment feeding ``image`` (value None: remove the assignment).

    Each goes where the build reads it; a fragment that assigns the symbol already gets it in place.
    """
    return targets.kconfig_fix(build, image, dict(settings), description)


def sysbuild_fix(build: Build, settings: Sequence[Tuple[str, Optional[str]]], description: str) -> Fix:
    """SB_CONFIG_ assignments in the fragment sysbuild reads."""
    return targets.sysbuild_kconfig_fix(build, dict(settings), description)


# ------------------------------------------------------------------ layout arithmetic


def whole_blocks(size: int, block: int) -> bool:
    return block > 0 and size % block == 0


def neighbours_in_the_way(layout: Layout, part: Partition, start: int, end: int) -> List[Partition]:
    """Partitions of ``part``'s region that [start, end) would overlap, leaving out its own family.

    Its containers (which hold its current extent and grow with it), its
    members and the region's placeholder for free space are not in the way.
    """
    blocking = []
    members = layout.descendants(part)
    for other in layout.partitions.values():
        if other.name == part.name or other.region != part.region or not other.has_extent:
            continue
        if not other.size or other.size <= 0 or other.address >= end or other.end <= start:
            continue
        has_room = part.size is not None and part.size > 0
        around = other.address <= part.address and other.end >= part.end
        if has_room and around and (other.is_container or part.name in layout.descendants(other)):
            continue  # a container around it, which grows with it
        if other.name in members:
            continue
        if is_free_space(layout, other):
            continue
        blocking.append(other)
    return sorted(blocking, key=lambda p: p.address)
