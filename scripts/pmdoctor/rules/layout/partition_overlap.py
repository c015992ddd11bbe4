"""PMD101 partition-overlap."""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from typing import Dict, Iterator, List, Optional, Set, Tuple

from ...model import Build, Layout, LayoutKind, Partition
from ...model.edits import Action, StaticEdit
from ...model.findings import Finding, Fix, Severity
from .. import rule
from .._shared.edit_helpers import layout_target
from .._shared.layouts import (
    KNOWN_SPANS,
    Checked,
    checked_layouts,
    hexrange,
    hx,
    is_region_placeholder,
    static_twins,
)
from ._common import extent_parts, layout_finding, region_words

# Overlapping pairs reported one by one per layout; beyond that one finding
# counts the rest. Real layouts have a handful; a file where thousands of
# partitions share addresses would otherwise produce millions of findings.
OVERLAPS_LISTED = 50


# Groups of overlapping partitions, and regions, that finding names.
GROUPS_LISTED = 10


REGIONS_NAMED = 3


@rule("PMD101", "partition-overlap", Severity.ERROR, rank=60)
def partition_overlap(build: Build) -> Iterator[Finding]:
    """
    ## What it does
    Finds two partitions of the same region (or devicetree flash device) whose
    address ranges overlap. Containers (`span`) over their own members are
    expected and ignored; only plain partitions are compared.

    ## Why it matters
    Two partitions over the same flash erase each other: a DFU upload into
    `mcuboot_secondary` wipes the settings that overlap it, a file system
    formats away the update image, MCUboot copies garbage.

    ## Example
    ```yaml
    mcuboot_secondary: {address: 0x80000, size: 0x74000}   # ends 0xf4000
    settings_storage:  {address: 0xf0000, size: 0x2000}    # inside it
    ```

    ## Severity
    An error when two partitions that code uses share addresses. Overlaps with Partition Manager's
    free-space entry of a region (a partition named after the region: `external_flash`, `ram_flash`)
    are different: none when it lies exactly over one partition; an error when a partition took its
    size from it through `share_size` (its space is still marked free); a warning, once per entry,
    when a static file declares it over several partitions.

    ## How to fix
    Move or shrink one of the two in the static file (or the devicetree
    overlay) so they no longer share addresses. Keep slot and storage
    addresses unchanged on products already in the field.

    Mechanical when a static file's own free-space entry (named after its
    region) lies over partitions: the entry is removed and Partition Manager
    computes the free space again. Advice for a real overlap: which of the
    two moves, and where, is a layout decision that may move data.
    """
    for checked in checked_layouts(build):
        layout = checked.layout
        twins = static_twins(build, layout)
        grouped = layout.by_region()
        left = OVERLAPS_LISTED
        unlisted: List[Tuple[str, _Overlaps, int]] = []  # region, its overlaps, how many not listed
        over_placeholder: Dict[str, Tuple[Partition, List[Partition]]] = {}
        for region in sorted(grouped):
            leaves = sorted(
                (
                    p
                    for p in extent_parts(grouped[region])
                    if not p.is_container and p.name not in KNOWN_SPANS
                ),
                key=lambda p: (p.address, p.end),
            )
            overlaps = _Overlaps(leaves, twins)
            for first, second in overlaps.pairs(left):
                placeholder = next((p for p in (first, second) if is_region_placeholder(layout, p)), None)
                if placeholder is None:
                    yield _overlap(build, checked, first, second)
                else:
                    other = second if placeholder is first else first
                    over_placeholder.setdefault(placeholder.name, (placeholder, []))[1].append(other)
            listed = min(left, overlaps.count)
            left -= listed
            if overlaps.count > listed:
                unlisted.append((region, overlaps, overlaps.count - listed))
        if unlisted:
            yield _more_overlaps(build, checked, unlisted)
        for placeholder, others in over_placeholder.values():
            yield from _placeholder_overlaps(build, checked, placeholder, others)


class _Overlaps:
    """The overlapping pairs of one region's leaves (sorted by address, end), found by a sweep.

    A pair is left out when both partitions come unchanged from the static file
    (it is reported there). Counting costs one binary search per partition;
    listing costs one step per pair listed, however many pairs there are.
    """

    def __init__(self, leaves: List[Partition], twins: Set[str]):
        self.leaves = leaves
        self.twins = twins
        self.starts = [p.address for p in leaves]
        # Positions of the partitions that are not static twins: a twin's overlaps
        # with other twins are skipped without visiting them.
        self.plain = [i for i, p in enumerate(leaves) if p.name not in twins]
        self.count = sum(len(self._partners(i)) for i in range(len(leaves)))

    def _partners(self, index: int) -> range:
        """Positions (in ``leaves`` or, for a twin, in ``plain``) of the later partitions it overlaps."""
        first = self.leaves[index]
        stop = bisect_left(self.starts, first.end, index + 1)
        if first.name not in self.twins:
            return range(index + 1, stop)
        return range(bisect_right(self.plain, index), bisect_left(self.plain, stop))

    def pairs(self, limit: int) -> Iterator[Tuple[Partition, Partition]]:
        """The first ``limit`` pairs, in the order of a pairwise scan."""
        listed = 0
        for index, first in enumerate(self.leaves):
            positions = self._partners(index)
            twin = first.name in self.twins
            for position in positions:
                if listed == limit:
                    return
                yield first, self.leaves[self.plain[position] if twin else position]
                listed += 1

    def groups(self) -> List[List[Partition]]:
        """Runs of partitions joined by overlaps (each has one that is not a static twin)."""
        groups: List[List[Partition]] = []
        current: List[Partition] = []
        reach = None
        for part in self.leaves:
            if reach is not None and part.address < reach:
                current.append(part)
                reach = max(reach, part.end)
                continue
            if len(current) > 1 and any(p.name not in self.twins for p in current):
                groups.append(current)
            current, reach = [part], part.end
        if len(current) > 1 and any(p.name not in self.twins for p in current):
            groups.append(current)
        return groups


def _more_overlaps(build: Build, checked: Checked, unlisted: List[Tuple[str, _Overlaps, int]]) -> Finding:
    """One finding for the overlaps past the first OVERLAPS_LISTED: how many, where, which groups."""
    groups = [(region, group) for region, overlaps, _ in unlisted for group in overlaps.groups()]
    evidence = [
        f"{region} 0x{group[0].address:x}-0x{max(p.end for p in group):x}: {len(group)} partitions ("
        + ", ".join(p.name for p in group[:3])
        + (", …)" if len(group) > 3 else ")")
        for region, group in groups[:GROUPS_LISTED]
    ]
    if len(groups) > GROUPS_LISTED:
        evidence.append(f"… and {len(groups) - GROUPS_LISTED} more groups")
    regions = [region for region, _, _ in unlisted]
    if len(regions) == 1:
        where = region_words(regions[0])
    else:
        named = ", ".join(regions[:REGIONS_NAMED]) + (", …" if len(regions) > REGIONS_NAMED else "")
        where = f"{len(regions)} regions ({named})"
    return layout_finding(
        build,
        checked,
        groups[0][1][:1],
        f"{sum(count for _, _, count in unlisted)} more overlaps in {where} are not listed one by one "
        f"(only the first {OVERLAPS_LISTED} are): {sum(len(group) for _, group in groups)} partitions "
        f"in {len(groups)} group(s) share addresses",
        fix="move or shrink the overlapping partitions so that no two share addresses",
        evidence=evidence,
    )


def _overlap(build: Build, checked: Checked, first: Partition, second: Partition) -> Finding:
    shared = min(first.end, second.end) - second.address
    return layout_finding(
        build,
        checked,
        [first, second],
        f"`{first.name}` ({hexrange(first)}) and `{second.name}` ({hexrange(second)}) "
        f"overlap by {hx(shared)} bytes in {region_words(first.region)}",
        fix=f"move or shrink `{first.name}` or `{second.name}` so they no longer overlap",
    )


def _placeholder_overlaps(
    build: Build, checked: Checked, placeholder: Partition, others: List[Partition]
) -> Iterator[Finding]:
    """Partitions over Partition Manager's free-space entry of a region (named after the region).

    No code opens that entry, so sharing its addresses overwrites nothing. Laid
    exactly over one partition it is a container written without `span:`
    (Nordic's own layouts do this): nothing to say. What can be wrong is why
    the space is still counted free: `share_size` naming the free-space entry
    sizes a partition without reserving its space (an error); otherwise a
    static file that declares the entry over real partitions (a warning, once).
    """
    rest = []
    for other in others:
        if (placeholder.address, placeholder.size) == (other.address, other.size):
            continue
        if placeholder.name not in other.share_size:
            rest.append(other)
            continue
        yield layout_finding(
            build,
            checked,
            [other, placeholder],
            f"`{other.name}` takes its size from `share_size: [{placeholder.name}]`, the free space of "
            f"{region_words(placeholder.region)}, so its space ({hexrange(other)}) is still marked free "
            f"(`{placeholder.name}` {hexrange(placeholder)}): the next partition placed in that region "
            "overwrites it",
            fix=f"give `{other.name}` its own `size:` instead of `share_size: [{placeholder.name}]`",
        )
    if not rest:
        return
    names = ", ".join(f"`{p.name}`" for p in rest[:REGIONS_NAMED])
    names += ", …" if len(rest) > REGIONS_NAMED else ""
    yield layout_finding(
        build,
        checked,
        [placeholder, *rest],
        f"`{placeholder.name}` ({hexrange(placeholder)}) marks the space of {len(rest)} partition(s) "
        f"({names}) as free: Partition Manager uses a partition named after "
        f"{region_words(placeholder.region)} for the space nothing else uses, so no code opens it, but a "
        "partition added later may be placed over them",
        fix=f"remove `{placeholder.name}` from the static layout (Partition Manager computes it)",
        severity=Severity.WARNING,
        cure=_placeholder_removal(build, checked.layout, placeholder),
    )


def _placeholder_removal(build: Build, layout: Layout, placeholder: Partition) -> Optional[Fix]:
    """Drop the free-space entry from the static file; Partition Manager then computes it.

    Only a static layout's own entry can be removed; in a generated layout the entry comes from
    the static file or from Partition Manager itself, so the words stay advice there.
    """
    if layout.kind is not LayoutKind.STATIC or placeholder.name not in layout.partitions:
        return None
    target = layout_target(build, layout)
    removal = StaticEdit(target, Action.REMOVE, placeholder.name, domain=layout.domain)
    words = f"remove `{placeholder.name}` from the static layout (Partition Manager computes it)"
    return Fix(words, target.file, edits=(removal,))
