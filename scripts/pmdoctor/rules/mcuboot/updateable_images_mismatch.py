"""PMD407 updateable-images-mismatch."""

from __future__ import annotations

import re
from typing import Iterator, List, Optional, Tuple

from ...model import (
    Build,
    Image,
    Layout,
    LayoutKind,
    Source,
    primary_slot_name,
    secondary_slot_name,
)
from ...model import soc as socs
from ...model.findings import Finding, Fix, Severity, Text
from .. import rule
from .._shared.common import (
    mcuboot_image,
)
from .._shared.edit_helpers import kconfig_fix, static_target, sysbuild_fix
from ._common import mcuboot_mode, slot_layout, user_partition


def _app_images(build: Build) -> Optional[Tuple[int, Source, str]]:
    app = build.app
    if app is None:
        return None
    for symbol in ("CONFIG_UPDATEABLE_IMAGE_NUMBER", "CONFIG_MCUMGR_GRP_IMG_UPDATABLE_IMAGE_NUMBER"):
        value = app.config.int(symbol)
        if value is not None:
            return value, app.config.where(symbol), symbol
    return None


@rule(
    "PMD407",
    "updateable-images-mismatch",
    Severity.ERROR,
    rank=62,
    explains=("netcore-partition-undeclared",),
)
def updateable_images_mismatch(build: Build) -> Iterator[Finding]:
    """
    ## What it does
    Compares `CONFIG_UPDATEABLE_IMAGE_NUMBER` of the application (and its
    MCUmgr image group) with MCUboot's, allowing for the extra images sysbuild
    adds for MCUboot's own update (`SB_CONFIG_MCUBOOT_ADDITIONAL_UPDATEABLE_IMAGES`),
    and checks that every image pair it implies exists
    (`mcuboot_primary_<k>`/`mcuboot_secondary_<k>` for k = 1 … N-1).

    ## Why it matters
    When the two disagree, `mcumgr image list` shows only image 0 and an
    upload for image 1 (the nRF5340 network core) fails with "invalid slot".
    A missing pair breaks the MCUboot build ("'PM_MCUBOOT_PRIMARY_1_ID'
    undeclared") or leaves MCUboot looking for an image that has no slot.

    ## Example
    MCUboot: `CONFIG_UPDATEABLE_IMAGE_NUMBER=2`; app: `=1`; or N=2 with no
    `mcuboot_primary_1` in the layout.

    ## Severity
    An error when MCUboot updates more images than the layout has slots for; a note when the
    layout keeps network-core slots that a one-image MCUboot never uses.

    ## How to fix
    Sysbuild: set `SB_CONFIG_MCUBOOT_UPDATEABLE_IMAGES=N` and keep
    `SB_CONFIG_MCUBOOT_APP_SYNC_UPDATEABLE_IMAGES=y`. Child-image builds: set
    `CONFIG_UPDATEABLE_IMAGE_NUMBER` to the same value in `prj.conf` and
    `child_image/mcuboot.conf`. Add the missing slot pair to the static file.

    Mechanical for the count: MCUboot's number is kept (its slots are what
    the layout has) and the app is set to match, in `sysbuild.conf` or in
    both images' fragments before sysbuild. Advice for a missing slot pair:
    where a new pair goes in flash is a layout decision.
    """
    mcuboot = mcuboot_image(build)
    layout = slot_layout(build)
    if mcuboot is None:
        return
    images = mcuboot.config.int("CONFIG_UPDATEABLE_IMAGE_NUMBER") or 1
    additional = build.sysbuild_config.int("SB_CONFIG_MCUBOOT_ADDITIONAL_UPDATEABLE_IMAGES") or 0
    expected = images - additional
    app_value = _app_images(build)
    if app_value is not None and app_value[0] != expected:
        value, where, symbol = app_value
        yield Finding(
            message=(
                f"the app's {symbol}={value} but MCUboot updates {expected} image(s) "
                f"(CONFIG_UPDATEABLE_IMAGE_NUMBER={images}"
                + (f", {additional} of them for MCUboot itself" if additional else "")
                + "): MCUmgr and MCUboot disagree on the image slots"
            ),
            location=where,
            image=build.app.name,
            evidence=[
                f"{where}: {symbol}={value}",
                Text(mcuboot.config.where("CONFIG_UPDATEABLE_IMAGE_NUMBER"), f": {images}"),
            ],
            fixes=_images_fix(build, expected),
            subject=("image-number",),
        )
    if layout is not None:
        yield from _missing_pairs(build, layout, expected)
        yield from _dead_pair(build, layout, images)


def _images_fix(build: Build, count: int) -> List[Fix]:
    if build.sysbuild:
        settings = [("SB_CONFIG_MCUBOOT_UPDATEABLE_IMAGES", str(count))]
        sync = "SB_CONFIG_MCUBOOT_APP_SYNC_UPDATEABLE_IMAGES"
        if sync in build.sysbuild_config and not build.sysbuild_config.enabled(sync):
            settings.append((sync, "y"))  # else the app keeps its own number
        return [
            sysbuild_fix(
                build, settings, "one number for app and MCUboot — sysbuild forces this into every image"
            )
        ]
    line = [("CONFIG_UPDATEABLE_IMAGE_NUMBER", str(count))]
    return [
        kconfig_fix(build, build.app, line, "set the same number in the app — add to app's configuration"),
        kconfig_fix(build, build.image("mcuboot"), line, "and in MCUboot — add to mcuboot's configuration"),
    ]


# Images without slots reported one by one; beyond that one finding counts the rest, so a
# count in the millions (a typo, or a hostile .config) costs no more than the layout's size.
_PAIRS_LISTED = 8


def _missing_slots(layout: Layout, index: int, single: bool) -> List[str]:
    names = [primary_slot_name(layout.kind, index)]
    if not single:
        names.append(secondary_slot_name(layout.kind, index))
    return [n for n in names if layout.get(n) is None]


def _missing_pairs(build: Build, layout: Layout, expected: int) -> Iterator[Finding]:
    single = mcuboot_mode(build) in ("single", "ram-load")
    mcuboot = mcuboot_image(build)
    static = static_target(build, layout.domain).file if layout.kind is not LayoutKind.DEVICETREE else None
    listed = 0
    # Each step either finds an image's slots in the layout or reports them, and reports stop
    # after _PAIRS_LISTED: the loop ends within the layout's size, whatever `expected` is.
    for index in range(1, expected):
        missing = _missing_slots(layout, index, single)
        if not missing:
            continue
        if listed == _PAIRS_LISTED:
            count = expected - index - _complete_pairs(layout, index, expected, single)
            yield _pair_finding(
                mcuboot,
                f"MCUboot updates {expected} images, and {count} more of them (images {index} to "
                f"{expected - 1}) have no slot partitions in {layout.label}",
                Fix(
                    "lower the number of updateable images to the slot pairs the layout has, or add the "
                    "missing pairs to the static layout",
                    static,
                ),
                f"{index}-{expected - 1}",
            )
            return
        listed += 1
        yield _pair_finding(
            mcuboot,
            f"MCUboot updates {expected} images, but image {index} has no {' / '.join(missing)} "
            f"in {layout.label}",
            Fix(
                f"add {', '.join(missing)} to the static layout, or lower the number of updateable images",
                static,
            ),
            str(index),
        )


def _pair_finding(mcuboot: Image, message: str, fix: Fix, which: str) -> Finding:
    return Finding(
        message=message,
        location=mcuboot.config.where("CONFIG_UPDATEABLE_IMAGE_NUMBER"),
        image=mcuboot.name,
        fixes=[fix],
        subject=("image-pair-missing", which),
    )


def _complete_pairs(layout: Layout, first: int, expected: int, single: bool) -> int:
    """How many images ``first`` .. ``expected - 1`` have their slots, counted from the layout's names."""
    devicetree = layout.kind is LayoutKind.DEVICETREE
    slot = re.compile(r"slot(\d+)_partition" if devicetree else r"mcuboot_primary_(\d+)")
    complete = set()
    for name in layout.partitions:
        match = slot.fullmatch(name)
        if match is None:
            continue
        index = int(match.group(1)) // 2 if devicetree else int(match.group(1))
        if (
            first <= index < expected
            and name == primary_slot_name(layout.kind, index)
            and not _missing_slots(layout, index, single)
        ):
            complete.add(index)
    return len(complete)


def _dead_pair(build: Build, layout: Layout, images: int) -> Iterator[Finding]:
    """A network-core pair that MCUboot (one image) never uses; off the nRF5340 PMD201 reports it."""
    if images != 1 or socs.series(build.soc) != "nrf53" or layout.kind is LayoutKind.DEVICETREE:
        return
    primary = layout.get("mcuboot_primary_1")
    if primary is None:
        return
    shown = user_partition(build, layout, primary.name) or primary
    yield Finding(
        message=(
            "the layout has the network-core slots `mcuboot_primary_1`/`mcuboot_secondary_1` but MCUboot "
            "updates one image: network-core updates cannot be applied"
        ),
        location=shown.source,
        severity=Severity.NOTE,
        fixes=_images_fix(build, 2),
        subject=("image-pair-unused",),
    )
