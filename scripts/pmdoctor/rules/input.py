"""Rules about the input files themselves: unreadable, schema-breaking, wrongly named."""

from __future__ import annotations

import re
from typing import Dict, Iterator, Optional

from ..model import Build, Image, Partition, ProblemKind, StaticFile
from ..model.findings import Finding, Fix, Severity
from . import rule
from ._shared import targets


@rule("PMD001", "unreadable-file", Severity.ERROR, rank=90)
def unreadable_file(build: Build) -> Iterator[Finding]:
    """
    ## What it does
    Reports every build file pmdoctor could not read or parse: a missing or
    truncated `zephyr.dts`, a `partitions.yml` that is not YAML, binary junk
    where a `.config` should be, a file too large to be a build output.

    ## Why it matters
    Whatever was in that file is unknown, so every rule that needs it stays
    silent. The rest of the build is still analysed.

    ## Example
    `build/mcuboot/zephyr/zephyr.dts:812: devicetree does not parse: unterminated node`

    ## How to fix
    Rebuild (`west build -p`) so the file is written again, or attach the
    complete file when you share a build.
    """
    images = _ImageIndex(build)
    for problem in build.problems:
        if problem.kind is ProblemKind.UNREADABLE:
            # An image's domain is known only once its files are read; fill it in here.
            owner = images.get(problem.image) if problem.image else None
            yield Finding(
                message=problem.message,
                location=problem.source,
                image=problem.image,
                domain=problem.domain or (owner.domain if owner else None),
                fixes=[Fix(problem.fix or "regenerate the file with a pristine build: west build -p")],
                subject=(str(problem.source.file),),
            )


class _ImageIndex:
    """``build.image()`` answered from two dicts: one problem per image must not rescan every image."""

    def __init__(self, build: Build):
        self.by_name: Dict[str, Image] = {}
        self.by_role: Dict[str, Image] = {}
        for image in build.images:
            self.by_name.setdefault(image.name, image)
            self.by_role.setdefault(image.role, image)

    def get(self, name_or_role: str) -> Optional[Image]:
        image = self.by_name.get(name_or_role)
        return image if image is not None else self.by_role.get(name_or_role)


@rule("PMD002", "schema-violation", Severity.ERROR, rank=80)
def schema_violation(build: Build) -> Iterator[Finding]:
    """
    ## What it does
    Checks `partitions*.yml`, `pm_static*.yml` and `regions*.yml` against the
    pykwalify schemas shipped in `schemas/`: every partition is a mapping with
    integer `address` and `size`, `span`/`share_size` are lists of names,
    `placement` has only `before`/`after`/`align`/`align_next`.

    ## Why it matters
    Partition Manager reads these files without checking them. A size written
    as a string (`size: CONFIG_PM_EXTERNAL_FLASH_SIZE`), partitions nested
    under an extra top-level key, or an `align:` put beside `placement:` make
    it fail with an obscure Python error or silently ignore the entry.
    Unknown keys are reported as warnings: Partition Manager ignores them.

    ## Example
    ```yaml
    partitions:          # wrong: partitions are top-level keys
      mcuboot:
        address: 0x0
    ```

    ## How to fix
    Write each partition as a top-level key with integer `address`, `size`
    and (for containers) `span`. The easiest correct file is a copy of the
    `build/partitions.yml` that Partition Manager generated.
    """
    for problem in build.problems:
        if problem.kind in (ProblemKind.SCHEMA, ProblemKind.SCHEMA_MINOR):
            yield Finding(
                message=problem.message,
                location=problem.source,
                domain=problem.domain,
                severity=Severity.WARNING if problem.kind is ProblemKind.SCHEMA_MINOR else None,
                fixes=[Fix("make the entry match the Partition Manager format", problem.source.file)],
                subject=(str(problem.source.file), problem.message),
            )


# Devicetree names and the Partition Manager partitions they stand for
# (flash_map_pm.h aliases and pm_to_dts.py's mapping).
DEVICETREE_NAMES = {
    "boot_partition": "mcuboot",
    "slot0_partition": "mcuboot_primary",
    "slot1_partition": "mcuboot_secondary",
    "slot2_partition": "mcuboot_primary_1",
    "slot3_partition": "mcuboot_secondary_1",
    "scratch_partition": "mcuboot_scratch",
    "storage_partition": "settings_storage",
    "image_0": "mcuboot_primary",
    "image_1": "mcuboot_secondary",
    "image_2": "mcuboot_primary_1",
    "image_3": "mcuboot_secondary_1",
    "image_scratch": "mcuboot_scratch",
    "image-0": "mcuboot_primary",
    "image-1": "mcuboot_secondary",
    "storage": "settings_storage",
    "scratch": "mcuboot_scratch",
    "mcuboot_partition": "mcuboot",
}
_DT_PATTERN = re.compile(r"^(slot\d+_partition|image[_-]\d+)$")


def _rename_fix(build: Build, static: StaticFile, part: Partition, meant: Optional[str]) -> Fix:
    """The partition under its Partition Manager name, with the same keys; containers follow."""
    why = f"rename `{part.name}` to `{meant}`" if meant else f"rename `{part.name}`"
    layout = static.layout
    if not meant or layout is None or meant in layout.partitions or not part.has_extent:
        return Fix(why, static.path, f"{meant}:  # was {part.name}" if meant else None)
    entries = [("address", part.address)]
    if part.end_address is not None:
        entries.append(("end_address", part.end_address))
    entries += [("region", part.region), ("size", part.size)]
    if part.span:
        entries.append(("span", part.span))
    edits = [targets.static_add(meant, entries), targets.static_remove(part.name)]
    for other in layout.partitions.values():
        if part.name in other.span:
            span = tuple(meant if name == part.name else name for name in other.span)
            edits.append(targets.static_set(other.name, "span", span))
    return targets.static_fix(build, static.domain, edits, why)


@rule("PMD003", "unknown-partition-names", Severity.ERROR, rank=70)
def unknown_partition_names(build: Build) -> Iterator[Finding]:
    """
    ## What it does
    Finds static partitions named with devicetree names (`image_0`,
    `slot1_partition`, `boot_partition`, `storage`, `scratch` …) instead of
    the Partition Manager names (`mcuboot_primary`, `mcuboot_secondary`,
    `mcuboot`, `settings_storage`, `mcuboot_scratch`).

    ## Why it matters
    Partition Manager does not know these names. It keeps them as opaque
    reserved blocks and then places the real `mcuboot_primary`,
    `mcuboot_secondary` and `settings_storage` dynamically in whatever gap is
    left, so the application shrinks ("region 'FLASH' overflowed") and the
    slots are not where the static file seems to put them.

    ## Example
    ```yaml
    image_0:             # should be mcuboot_primary
      address: 0xc000
      size: 0x67000
    ```

    ## How to fix
    Rename the entries to Partition Manager names (with `mcuboot_pad` and the
    `span` containers), or simply copy a generated `build/partitions.yml`.

    Mechanical (`pmdoctor fix`): the entry is renamed in the static file the build reads, and containers'
    `span` lists follow. Renaming `storage` while NVS, LittleFS or ZMS open it by name stays advice: the data
    would no longer be found.
    """
    for static in build.static_files:
        if static.layout is None:
            continue
        for part in static.layout.partitions.values():
            meant = DEVICETREE_NAMES.get(part.name)
            if meant is None and not _DT_PATTERN.match(part.name):
                continue
            meant_text = f"; Partition Manager calls it `{meant}`" if meant else ""
            yield Finding(
                message=(
                    f"static partition `{part.name}` uses a devicetree name that Partition "
                    f"Manager treats as an opaque reserved block{meant_text}"
                ),
                location=part.source,
                domain=static.domain,
                fixes=[_rename_fix(build, static, part, meant)],
                subject=(part.name,),
            )
