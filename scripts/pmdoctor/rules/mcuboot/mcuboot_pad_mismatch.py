"""PMD405 mcuboot-pad-mismatch."""

from __future__ import annotations

from typing import Iterator, Optional, Tuple

from ...model import (
    Build,
    Era,
    Layout,
    Source,
)
from ...model import soc as socs
from ...model.findings import Finding, Fix, Severity, Text
from .. import rule
from .._shared import targets as fixes
from .._shared.common import (
    static_layout_for,
    user_source,
)
from .._shared.layouts import find_partition, hx
from ._common import user_partition


def _expected_pad(build: Build) -> Optional[Tuple[int, Source, str]]:
    """The header size signing uses, when it is not taken from the layout itself."""
    sb = build.sysbuild_config
    value = sb.int("SB_CONFIG_PM_MCUBOOT_PAD")
    if build.sysbuild and value is not None:
        return value, sb.where("SB_CONFIG_PM_MCUBOOT_PAD"), "SB_CONFIG_PM_MCUBOOT_PAD"
    return None


@rule("PMD405", "mcuboot-pad-mismatch", Severity.ERROR, rank=66, explains=("boot-hang",))
def mcuboot_pad_mismatch(build: Build) -> Iterator[Finding]:
    """
    ## What it does
    Compares the `mcuboot_pad` partition with the header size that signing
    uses (`SB_CONFIG_PM_MCUBOOT_PAD` in sysbuild builds; 0x200, 0x800 on the
    nRF54L), and checks that the image after the pad starts on a vector-table
    boundary (0x200; 0x800 on the nRF54L). Devicetree-era builds have no pad
    partition: the header is the application's `CONFIG_ROM_START_OFFSET`
    (imgtool's `--header-size`) at the start of `slot0_partition`, and
    `slot0_partition` + that offset must sit on the same boundary.

    ## Why it matters
    The pad reserves room for the MCUboot image header, and the application's
    vector table follows it. When the layout and the signing disagree, MCUboot
    finds the header where the app is, or the vector table is misaligned:
    MCUboot logs "Jumping to the first image slot" and nothing happens.
    Sysbuild warns "MCUboot padding partition size is X but signing uses Y".

    ## Example
    A static file from an nRF54L project with `mcuboot_pad: {size: 0x800}` in an
    nRF52840 sysbuild build that signs with a 0x200 header.

    ## How to fix
    Make the pad 0x200 (0x800 on the nRF54L) in the static file and use the
    same value for `SB_CONFIG_PM_MCUBOOT_PAD` (sysbuild) or
    `CONFIG_PM_PARTITION_SIZE_MCUBOOT_PAD` (MCUboot, child-image builds).
    Devicetree era: set the app's `CONFIG_ROM_START_OFFSET` to 0x200 (0x800
    on the nRF54L), or start `slot0_partition` on that boundary.

    Mechanical: `mcuboot_pad` is resized in the static file the build reads and `mcuboot_primary_app` starts
    right after it, so the slot's span is unchanged. The fix carries the field warning: a deployed bootloader
    keeps its old header size.
    """
    if build.era is Era.DEVICETREE:
        yield from _devicetree_header(build)
        return
    layout = build.layout_for_domain(None)
    if layout is None:
        return
    pad = layout.get("mcuboot_pad")
    if pad is None or not pad.has_extent:
        return
    shown = user_partition(build, layout, "mcuboot_pad") or pad
    expected = _expected_pad(build)
    if expected is not None and expected[0] != pad.size:
        value, where, symbol = expected
        yield Finding(
            message=(
                f"`mcuboot_pad` is {hx(pad.size)} but signing uses a {hx(value)} header ({symbol}): the "
                "image header and the vector table are not where MCUboot and the app expect them"
            ),
            location=shown.source,
            evidence=[
                Text(shown.source, f": mcuboot_pad size {hx(pad.size)}"),
                f"{where}: {symbol}={hx(value)}",
            ],
            fixes=[
                _pad_fix(build, layout, value),
                fixes.build_option(build, "PM_MCUBOOT_PAD", hx(pad.size), "or sign with the layout's pad"),
            ],
            subject=("pad-mismatch",),
        )
    align = _vector_alignment(build)
    start = pad.end
    if start % align:
        yield Finding(
            message=(
                f"the image after `mcuboot_pad` starts at {hx(start)}, not on a {hx(align)} boundary: "
                "the application's vector table cannot be placed there and the app will not start"
            ),
            location=shown.source,
            evidence=[f"mcuboot_pad {hx(pad.address)}+{hx(pad.size)}", f"vector table alignment {hx(align)}"],
            fixes=[
                Fix(
                    f"make `mcuboot_pad` {hx(align)} and start it on a {hx(align)} boundary",
                    shown.source.file,
                )
            ],
            subject=("pad-alignment",),
        )


def _pad_fix(build: Build, layout: Layout, value: int) -> Fix:
    """Resize the pad in the static file; the image after it keeps its end, so the slot's span is intact."""
    why = f"make `mcuboot_pad` {hx(value)} in the static file"
    static = static_layout_for(build, layout.domain)
    pad = static.get("mcuboot_pad") if static is not None else None
    app = static.get("mcuboot_primary_app") if static is not None else None
    if pad is None or pad.address is None or app is None or app.end is None:
        return Fix(why, fixes.static_target(build, layout.domain).file)
    start = pad.address + value
    edits = fixes.extent_edits(pad, size=value) + fixes.extent_edits(app, address=start, size=app.end - start)
    return fixes.static_fix(build, layout.domain, edits, why + "; `mcuboot_primary_app` follows it")


def _vector_alignment(build: Build) -> int:
    """Where the app's vector table must start: the SoC's MCUboot pad, else the usual 0x200."""
    facts = socs.facts(build.soc)
    return facts.mcuboot_pad if facts else 0x200


def _devicetree_header(build: Build) -> Iterator[Finding]:
    """Devicetree era: imgtool's header is CONFIG_ROM_START_OFFSET bytes at the start of slot0."""
    app = build.app
    if app is None or not app.config.enabled("CONFIG_BOOTLOADER_MCUBOOT") or app.devicetree.layout is None:
        return
    header = app.config.int("CONFIG_ROM_START_OFFSET")
    slot = find_partition(app.devicetree.layout, "mcuboot_primary")
    if header is None or slot is None or slot.address is None:
        return
    align = _vector_alignment(build)
    start = slot.address + header
    if start % align == 0:
        return
    where = user_source(build, app, "CONFIG_ROM_START_OFFSET")
    yield Finding(
        message=(
            f"the app's vector table starts at {hx(start)} (`{slot.name}` at {hx(slot.address)} + the "
            f"{hx(header)}-byte image header, CONFIG_ROM_START_OFFSET), not on a {hx(align)} boundary: "
            "MCUboot jumps to the image and it does not start"
        ),
        location=where,
        image=app.name,
        evidence=[
            Text(f"{slot.name}: {hx(slot.address)}+{hx(slot.size)} (", slot.source, ")"),
            f"CONFIG_ROM_START_OFFSET={hx(header)} ({where}); imgtool signs with --header-size of it",
            f"vector table alignment on {build.soc or 'this SoC'}: {hx(align)}",
        ],
        fixes=[
            fixes.image_kconfig(
                build,
                app,
                [f"CONFIG_ROM_START_OFFSET={hx(align - slot.address % align)}"],
                "make the header end on the vector-table boundary",
            )
        ],
        subject=("rom-start-offset",),
    )
