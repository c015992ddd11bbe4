"""Shared helpers for rules that walk partition layouts."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator, List, Optional, Tuple

from ...model import DEFAULT_PLACEMENT, Build, Era, Image, Layout, LayoutKind, Partition
from ...model.names import devicetree_names, pm_name

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
    seen: List[Tuple[tuple, List[str], Layout]] = []
    for image in build.images:
        layout = image.devicetree.layout
        if layout is None:
            continue
        key = tuple(sorted((p.name, p.address, p.size, p.region) for p in layout.partitions.values()))
        for known_key, names, _ in seen:
            if known_key == key:
                names.append(image.name)
                break
        else:
            seen.append((key, [image.name], layout))
    for _, names, layout in seen:
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


def static_twin(build: Build, layout: Layout, names: Iterable[str]) -> bool:
    """True when a generated layout's partitions all come unchanged from the static file.

    The static file is what the user edits, so findings are reported there
    once, not a second time on partitions.yml.
    """
    if layout.kind is not LayoutKind.GENERATED:
        return False
    for static in build.static_files:
        if static.layout is None or static.domain != layout.domain:
            continue
        for name in names:
            mine, theirs = layout.get(name), static.layout.get(name)
            if theirs is None or mine is None:
                return False
            if (mine.address, mine.size, mine.region) != (theirs.address, theirs.size, theirs.region):
                return False
        return True
    return False


def is_region_placeholder(layout: Layout, part: Partition) -> bool:
    """Partition Manager names leftover space after its region (external_flash, sram_primary)."""
    return part.name in layout.regions or part.name in DEFAULT_PLACEMENT


def nested_in_container(layout: Layout, part: Partition) -> bool:
    return any(part.name in other.span for other in layout.partitions.values())


def hexrange(part: Partition) -> str:
    if not part.has_extent:
        return "(no address)"
    return f"0x{part.address:x}-0x{part.end:x}"


def hx(value: Optional[int]) -> str:
    if value is None:
        return "?"
    return f"-0x{-value:x}" if value < 0 else f"0x{value:x}"


def edit_path(build: Build, layout: Layout) -> Optional[Path]:
    """The user's file to edit for a layout problem, when there is one."""
    if layout.kind is LayoutKind.STATIC:
        return layout.file
    statics = [s for s in build.static_files if s.domain == layout.domain]
    return statics[0].path if statics else None


def where_to_edit(build: Build, layout: Layout) -> str:
    """Words to add to a layout fix when there is no static file to name."""
    if layout.kind is LayoutKind.DEVICETREE:
        return " in the overlay that defines the partition (see the `at` line)"
    if edit_path(build, layout) is not None:
        return ""
    return (
        "; partitions.yml is generated, so copy it to pm_static.yml in the application "
        "directory and make the change there"
    )
