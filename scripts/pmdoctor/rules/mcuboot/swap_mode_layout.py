"""PMD403 swap-mode-layout."""

from __future__ import annotations

from typing import Iterator

from ...model import (
    Build,
    Era,
    Kconfig,
    Layout,
    LayoutKind,
    Partition,
    Source,
    secondary_slot_name,
)
from ...model.findings import Finding, Fix, Severity
from .. import rule
from .._shared.common import (
    mcuboot_image,
    user_setting,
)
from .._shared.edit_helpers import advice, kconfig_fix, neighbours_in_the_way, static_fix, sysbuild_fix
from .._shared.layouts import hx
from .._shared.mcuboot import app_declared_mode
from ._common import mcuboot_mode, on_external_flash, slot_layout, slot_sector, user_partition


@rule(
    "PMD403",
    "swap-mode-layout",
    Severity.ERROR,
    rank=60,
    explains=("scratch-too-small", "sectors-incompatible"),
)
def swap_mode_layout(build: Build) -> Iterator[Finding]:
    """
    ## What it does
    Checks that the layout has what MCUboot's upgrade mode needs:
    swap-using-move and swap-using-offset need both slots on flash with the
    same sector size (not a 2 KB or 4 KB internal page against a 4 KB or
    64 KB external NOR sector);
    swap-using-scratch needs an internal `mcuboot_scratch` (`scratch_partition`)
    at least as large as the largest slot sector; direct-XIP needs
    `mcuboot_secondary_pad` and `mcuboot_secondary_app` with even sizes;
    single-slot mode has no use for a `mcuboot_secondary`.

    ## Why it matters
    Without a fitting scratch area MCUboot refuses every swap ("Cannot
    upgrade: not all sectors fit inside scratch"). A direct-XIP layout without
    the secondary's pad cannot hold the alternate image, and an odd partition
    size from alignment makes Partition Manager fail ("invalid address
    0x84000, expected 0x84001"). A secondary in single-slot mode is flash
    nobody will boot.

    ## Example
    `CONFIG_BOOT_SWAP_USING_SCRATCH=y` in MCUboot, but the static file has no
    `mcuboot_scratch`.

    ## Severity
    An error when MCUboot's own configuration selects the mode; a warning when MCUboot is built
    elsewhere and only the application's `CONFIG_MCUBOOT_BOOTLOADER_MODE_*` says which mode it runs.

    ## How to fix
    Pick the mode and the layout together: in sysbuild set
    `SB_CONFIG_MCUBOOT_MODE_*` and let Partition Manager generate the
    partitions once, then copy them into the static file. Swap-using-move
    (the sysbuild default) needs no scratch at all.

    Edits: switching to swap-using-move (the mode line replaced in
    `sysbuild.conf`, or in MCUboot's fragment before sysbuild; the fix
    checker cannot rebuild the layout from a mode, so `west build -p`
    confirms it), and growing a too-small scratch area when the flash after
    it is free (mechanical once re-checked). Advice: adding a
    missing scratch, moving one off external flash, the direct-XIP
    partitions and a single-slot secondary, because each needs free flash
    or a choice of which partition gives it up.
    """
    layout = slot_layout(build)
    mode = mcuboot_mode(build)
    if layout is None or mode is None or (mcuboot_image(build) is None and build.era is not Era.DEVICETREE):
        return
    if mode in ("move", "offset"):
        yield from _mixed_sectors(build, layout, mode)
    if mode == "scratch":
        yield from _scratch(build, layout)
    elif mode == "direct-xip" and layout.kind is not LayoutKind.DEVICETREE:
        yield from _direct_xip(build, layout)
    elif mode == "single":
        secondary = layout.get(secondary_slot_name(layout.kind, 0))
        if secondary is not None and secondary.size:
            shown = user_partition(build, layout, secondary.name) or secondary
            yield Finding(
                message=(
                    f"MCUboot runs in single-slot mode but the layout keeps `{secondary.name}` "
                    f"({hx(secondary.size)}): nothing boots from it and app-side uploads go nowhere useful"
                ),
                location=shown.source,
                severity=Severity.WARNING,
                fixes=[
                    Fix(
                        f"remove `{secondary.name}` and give the space to the app or storage",
                        shown.source.file,
                    )
                ],
                subject=("single-slot-secondary", secondary.name),
            )


def _mixed_sectors(build: Build, layout: Layout, mode: str) -> Iterator[Finding]:
    """Swap-using-move and -offset walk both slots sector by sector: the sector sizes must match."""
    for _, primary, secondary in layout.slot_pairs():
        if not (primary.has_extent and secondary.has_extent):
            continue
        (first, first_from), (second, second_from) = (
            slot_sector(build, layout, p) for p in (primary, secondary)
        )
        if first == second:
            continue
        mcuboot = mcuboot_image(build)
        # Without MCUboot in the build, only the application says which mode it expects.
        said_by_app = mcuboot is None and app_declared_mode(build) == mode
        shown = user_partition(build, layout, secondary.name) or secondary
        yield Finding(
            message=(
                f"MCUboot swap-using-{mode} needs the same sector layout in both slots, but "
                f"`{primary.name}` has {hx(first)}-byte sectors ({first_from}) and `{secondary.name}` "
                f"{hx(second)}-byte sectors ({second_from}): MCUboot logs 'Cannot upgrade: slots have "
                "non-compatible sectors' and never applies an update"
                + (
                    " (the mode is the one the application is built for; MCUboot is built elsewhere)"
                    if said_by_app
                    else ""
                )
            ),
            location=shown.source,
            severity=Severity.WARNING if said_by_app else None,
            evidence=[
                f"{primary.name}: {hx(primary.address)}+{hx(primary.size)} in {primary.region}, "
                f"sector {hx(first)}",
                f"{secondary.name}: {hx(secondary.address)}+{hx(secondary.size)} in {secondary.region}, "
                f"sector {hx(second)}",
            ],
            fixes=[
                Fix(
                    "use swap-using-scratch (with a scratch partition as large as the largest sector) or "
                    "overwrite-only, which allow slots on flashes of different sector sizes; or put both "
                    "slots on flash with the same sector size",
                    shown.source.file,
                )
            ],
            subject=("mixed-sectors", primary.name, secondary.name),
        )


def _scratch(build: Build, layout: Layout) -> Iterator[Finding]:
    name = "scratch_partition" if layout.kind is LayoutKind.DEVICETREE else "mcuboot_scratch"
    scratch = layout.get(name)
    pairs = list(layout.slot_pairs())
    sectors = [slot_sector(build, layout, p)[0] for _, a, b in pairs for p in (a, b)]
    largest = max(sectors, default=4096)
    mode_where = _mode_source(build)
    if scratch is None or not scratch.size:
        yield Finding(
            message=f"MCUboot uses swap-using-scratch but the layout has no `{name}`",
            location=mode_where,
            fixes=[_mode_fix(build), Fix(f"or add an internal `{name}` of at least {hx(largest)} bytes")],
            subject=("scratch-missing",),
        )
        return
    shown = user_partition(build, layout, name) or scratch
    if on_external_flash(build, layout, scratch):
        yield Finding(
            message=f"`{name}` is on external flash; MCUboot needs the scratch area in internal flash",
            location=shown.source,
            fixes=[Fix(f"move `{name}` into internal flash", shown.source.file)],
            subject=("scratch-external",),
        )
    elif scratch.size < largest:
        yield Finding(
            message=(
                f"`{name}` ({hx(scratch.size)}) is smaller than the largest slot sector ({hx(largest)}): "
                "MCUboot logs 'not all sectors fit inside scratch' and refuses to swap"
            ),
            location=shown.source,
            fixes=[_grown_scratch(build, layout, scratch, largest, name)],
            subject=("scratch-small",),
        )


def _direct_xip(build: Build, layout: Layout) -> Iterator[Finding]:
    missing = [n for n in ("mcuboot_secondary_pad", "mcuboot_secondary_app") if layout.get(n) is None]
    if missing:
        yield Finding(
            message=(
                f"MCUboot uses direct-XIP but the layout lacks {', '.join(missing)}: the alternate slot "
                "cannot hold a bootable image"
            ),
            location=_mode_source(build),
            fixes=[
                Fix(
                    "let Partition Manager generate the direct-XIP layout once (build without the static "
                    "file) and copy the secondary's pad and app entries into it"
                )
            ],
            subject=("direct-xip-partitions",),
        )
    for name in ("mcuboot_primary", "mcuboot_secondary", "mcuboot_secondary_pad", "mcuboot_secondary_app"):
        part = layout.get(name)
        if part is not None and part.size is not None and part.size % 2:
            shown = user_partition(build, layout, name) or part
            yield Finding(
                message=(
                    f"`{name}` has the odd size {hx(part.size)} ({part.size}); direct-XIP slots copy the "
                    "primary's size, and an odd value (alignment eating into it) breaks placement"
                ),
                location=shown.source,
                fixes=[Fix(f"give `{name}` a size that is a multiple of the sector size", shown.source.file)],
                subject=("direct-xip-odd", name),
            )


def _mode_source(build: Build) -> Source:
    sb = build.sysbuild_config
    for symbol in sb.settings:
        if symbol.startswith("SB_CONFIG_MCUBOOT_MODE_") and sb.enabled(symbol):
            return sb.where(symbol)
    mcuboot = mcuboot_image(build)
    if mcuboot is not None:
        for symbol in ("CONFIG_BOOT_SWAP_USING_SCRATCH", "CONFIG_BOOT_DIRECT_XIP"):
            if mcuboot.config.enabled(symbol):
                return mcuboot.config.where(symbol)
    return Source(build.path)


def _mode_fix(build: Build) -> Fix:
    """Swap-using-move instead of scratch: the user's scratch line goes, the move line comes."""
    why = "use swap-using-move, which needs no scratch"
    if build.sysbuild:
        # NCS < 3.0 names swap-using-move SWAP_WITHOUT_SCRATCH.
        modern = "SB_CONFIG_MCUBOOT_MODE_SWAP_USING_MOVE" in build.sysbuild_config
        option = "MCUBOOT_MODE_SWAP_USING_MOVE" if modern else "MCUBOOT_MODE_SWAP_WITHOUT_SCRATCH"
        scratch = "SB_CONFIG_MCUBOOT_MODE_SWAP_SCRATCH"
        drop = [(scratch, None)] if scratch in build.user_configs.get("sysbuild.conf", Kconfig()) else []
        return sysbuild_fix(
            build, [*drop, (f"SB_CONFIG_{option}", "y")], f"{why} — sysbuild forces this into every image"
        )
    mcuboot = mcuboot_image(build)
    scratch = "CONFIG_BOOT_SWAP_USING_SCRATCH"
    drop = [(scratch, None)] if mcuboot is not None and user_setting(build, mcuboot, scratch) else []
    return kconfig_fix(
        build,
        mcuboot,
        [*drop, ("CONFIG_BOOT_SWAP_USING_MOVE", "y")],
        f"{why} — add to mcuboot's configuration",
    )


def _grown_scratch(build: Build, layout: Layout, scratch: Partition, largest: int, name: str) -> Fix:
    """Grow the scratch area in place when the flash after it is free; otherwise say what is in the way."""
    words = f"make `{name}` at least {hx(largest)} bytes"
    end = scratch.address + largest
    blocking = neighbours_in_the_way(layout, scratch, scratch.end, end)
    if blocking or layout.kind is LayoutKind.DEVICETREE:
        conflict = (
            f"growing `{name}` would overlap `{blocking[0].name}`; move it first"
            if blocking
            else "the overlay that defines it decides where it can grow"
        )
        return advice(words, conflict)
    return static_fix(build, layout, {name: {"size": largest}}, words)
