"""PMD303 redundant-chosen."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator, Optional

from ...model import Build, ChosenLine, DtNode, Image, Source
from ...model.edits import Action, OverlayEdit, Target
from ...model.findings import Finding, Fix, Severity, Text
from .. import rule
from .._shared import targets
from ._common import CHOSEN, EXT, node_label


@rule("PMD303", "redundant-chosen", Severity.WARNING, rank=40)
def redundant_chosen(build: Build) -> Iterator[Finding]:
    """
    ## What it does
    Looks at the `chosen` node of each image: another property that names the
    same external flash as `nordic,pm-ext-flash` (for example
    `zephyr,external-flash`), or an image whose `nordic,pm-ext-flash` names a
    different chip than the application's.

    ## Why it matters
    Partition Manager reads only `nordic,pm-ext-flash`. A second property
    pointing at the same chip does nothing for the partitions, but it
    suggests it does, and when someone later changes one and not the other,
    the images disagree about which chip holds the secondary slot. When
    MCUboot's chosen chip differs from the application's, the application
    writes the update to one chip and MCUboot looks for it on another.

    ## Example
    ```dts
    chosen {
        zephyr,external-flash = &mx25r64;   /* not read by Partition Manager */
        nordic,pm-ext-flash = &mx25r64;
    };
    ```

    ## How to fix
    Drop the extra property from the overlay that sets it and keep
    `nordic,pm-ext-flash`; make every image's `nordic,pm-ext-flash` name the
    same chip.

    Mechanical: `/delete-property/` for the redundant property is appended to the overlay that sets it (or,
    for a board file, to the project's overlay).
    """
    if not build.partition_manager:
        return
    for image in build.images:
        if image.domain is not None or not image.devicetree:
            continue
        yield from _duplicates(build, image)
    yield from _disagreements(build)


def _duplicates(build: Build, image: Image) -> Iterator[Finding]:
    tree = image.devicetree
    node = tree.chosen_node(CHOSEN)
    if node is None:
        return
    for prop, target in sorted(tree.chosen.items()):
        if prop == CHOSEN or target != node.path or not _names_external_flash(prop):
            continue
        written = _user_line(build, image, prop)
        location = written.source if written else tree.chosen_origin.get(prop) or tree.chosen_source.get(prop)
        fix_file = location.file if written or prop in tree.chosen_origin else None
        line = f" (line {location.line})" if location and location.line and fix_file else ""
        target_text = written.target if written else node_label(node)
        yield Finding(
            message=f"`{prop}` and `{CHOSEN}` both name {node_label(node)} in image '{image.name}'; "
            f"Partition Manager reads only `{CHOSEN}`, so `{prop}` is redundant",
            location=location or Source(tree.file),
            image=image.name,
            evidence=[
                Text(f"{prop} = {node_label(node)} (", tree.chosen_source.get(prop), ")"),
                Text(f"{CHOSEN} = {node_label(node)} (", tree.chosen_source.get(CHOSEN), ")"),
            ],
            fixes=[_drop_fix(build, image, prop, fix_file, line, target_text)],
            subject=("redundant-chosen", image.name, prop),
        )


def _drop_fix(
    build: Build, image: Image, prop: str, fix_file: Optional[Path], line: str, target_text: str
) -> Fix:
    """Delete the property where the user set it, else in the overlay the image reads last."""
    why = f"drop `{prop}` from the chosen node{line}; keep `{CHOSEN}`"
    if fix_file is not None and targets.usable(build, fix_file) and _inside_source(build, fix_file):
        target = Target(fix_file, f"it sets `{prop}`{line}")
        edit = OverlayEdit(target, Action.REMOVE, "/chosen", prop, image=image.name)
        # Deleting the line is as good; the addition at the end leaves the user's lines as written.
        words = f"drop `{prop}` from the chosen node{line}, or add the /delete-property/ below at the end"
        return Fix(f"{words} of that file; keep `{CHOSEN}`", edits=(edit,))
    if fix_file is not None:  # a board file: the project's overlay deletes it after the board set it
        why += f" (set in {fix_file.name}, outside the application: delete it from the project's overlay)"
    return targets.overlay_fix(build, image, [targets.chosen_remove(prop)], why)


def _inside_source(build: Build, path: Path) -> bool:
    if build.source_dir is None:
        return False
    try:
        path.relative_to(build.source_dir)
    except ValueError:
        return False
    return True


def _names_external_flash(prop: str) -> bool:
    """Chosen properties meant as "the external flash" (not zephyr,flash: that is XIP code)."""
    return "external" in prop or "ext-flash" in prop


def _user_line(build: Build, image: Image, prop: str) -> Optional[ChosenLine]:
    """The user's overlay line that sets `prop` for this image, if pmdoctor found one."""
    for line in build.user_chosen:
        if line.prop == prop and _overlay_image(build, line) == image.name:
            return line
    return None


def _overlay_image(build: Build, line: ChosenLine) -> Optional[str]:
    """Which image an overlay applies to: child_image/<name>… and sysbuild/<name>… are that image's."""
    source = build.source_dir
    path = line.source.file
    if source is None or path is None:
        return None
    try:
        parts = path.relative_to(source).parts
    except ValueError:
        return None
    if parts and parts[0] in ("child_image", "sysbuild") and len(parts) > 1:
        name = parts[1].split(".", 1)[0]
        return name
    app = build.app
    return app.name if app else None


def _disagreements(build: Build) -> Iterator[Finding]:
    app = build.app
    reference = app.devicetree.chosen_node(CHOSEN) if app else None
    if reference is None:
        return
    for image in build.images:
        if image is app or image.domain is not None:
            continue
        node = image.devicetree.chosen_node(CHOSEN)
        if node is None or _same_chip(node, reference):
            continue
        yield Finding(
            message=f"`{CHOSEN}` names {node.label} ({node.name}) in image '{image.name}' but "
            f"{reference.label} ({reference.name}) in '{app.name}': Partition Manager sized "
            f"{EXT} from the application's chip, and the two images do not look at the same flash",
            location=image.devicetree.chosen_origin.get(CHOSEN)
            or image.devicetree.chosen_source.get(CHOSEN, Source(image.devicetree.file)),
            image=image.name,
            evidence=[
                f"{image.name}: {node.path} {node.compatible} size {node.props.get('size')} "
                + Text("(", node.source, ")"),
                f"{app.name}: {reference.path} {reference.compatible} size "
                + Text(f"{reference.props.get('size')} (", reference.source, ")"),
            ],
            fixes=[
                targets.overlay_fix(
                    build,
                    image,
                    [targets.chosen_set(CHOSEN, node_label(reference))],
                    f"point {image.name}'s {CHOSEN} at the application's chip",
                )
            ],
            subject=("chosen-disagree", image.name),
        )


def _same_chip(one: DtNode, other: DtNode) -> bool:
    """Same chip even when TF-M builds see the bus at a different (secure/non-secure) address."""
    return (
        one.name == other.name
        and one.compatible == other.compatible
        and one.props.get("size") == other.props.get("size")
    )
