"""MCUboot's own configuration against the layout: sectors, modes, pad, image size, image count."""

from __future__ import annotations

import math
import re
from typing import Iterator, List, Optional, Tuple

from ..model import (
    Build,
    Era,
    Image,
    Layout,
    LayoutKind,
    Partition,
    Source,
    primary_slot_name,
    secondary_slot_name,
)
from ..model import soc as socs
from ..model.drivers import is_nor
from ..model.findings import Finding, Fix, Severity
from . import rule
from ._shared import targets as fixes
from ._shared.common import (
    mcuboot_image,
    mcuboot_lost_partition_manager,
    next_power_of_two,
    static_layout_for,
    user_source,
)
from ._shared.layouts import find_partition, hx
from ._shared.mcuboot import swap_mode

# ------------------------------------------------------------------ helpers


def mcuboot_mode(build: Build) -> Optional[str]:
    """swap_mode() plus the modes without a swap: "direct-xip", "ram-load", "single"."""
    sb = build.sysbuild_config
    mcuboot = mcuboot_image(build)
    config = mcuboot.config if mcuboot else None
    if sb.enabled("SB_CONFIG_MCUBOOT_MODE_DIRECT_XIP") or sb.enabled(
        "SB_CONFIG_MCUBOOT_MODE_DIRECT_XIP_WITH_REVERT"
    ):
        return "direct-xip"
    if config is not None and config.enabled("CONFIG_BOOT_DIRECT_XIP"):
        return "direct-xip"
    ram_load = ("SB_CONFIG_MCUBOOT_MODE_RAM_LOAD", "SB_CONFIG_MCUBOOT_MODE_SINGLE_APP_RAM_LOAD")
    if any(sb.enabled(s) for s in ram_load) or (
        config is not None and config.enabled("CONFIG_BOOT_RAM_LOAD")
    ):
        return "ram-load"
    if sb.enabled("SB_CONFIG_MCUBOOT_MODE_SINGLE_APP") or (
        config is not None and config.enabled("CONFIG_SINGLE_APPLICATION_SLOT")
    ):
        return "single"
    return swap_mode(build)


def slot_layout(build: Build) -> Optional[Layout]:
    """The layout MCUboot's slots come from: partitions.yml, or MCUboot's devicetree."""
    if build.era is not Era.DEVICETREE:
        return build.layout_for_domain(None)
    mcuboot = build.image("mcuboot")
    if mcuboot is not None and mcuboot.devicetree.layout is not None:
        return mcuboot.devicetree.layout
    app = build.app
    return app.devicetree.layout if app is not None else None


def _is_external(build: Build, layout: Layout, part: Partition) -> bool:
    if layout.kind is not LayoutKind.DEVICETREE:
        return part.region == "external_flash"
    region = layout.region_of(part)
    image = build.image(layout.image or "") or build.app
    node = image.devicetree.nodes.get(region.device or "") if image and region else None
    return node is not None and is_nor(node)


def slot_sector(build: Build, layout: Layout, part: Partition) -> Tuple[int, str]:
    """The sector size MCUboot sees for one slot, and where that number comes from."""
    region = layout.region_of(part)
    mcuboot = mcuboot_image(build)
    if _is_external(build, layout, part) and mcuboot is not None:
        config = mcuboot.config
        if config.enabled("CONFIG_NORDIC_QSPI_NOR"):
            size = config.int("CONFIG_NORDIC_QSPI_NOR_FLASH_LAYOUT_PAGE_SIZE") or 4096
            return size, "CONFIG_NORDIC_QSPI_NOR_FLASH_LAYOUT_PAGE_SIZE"
        if config.enabled("CONFIG_SPI_NOR"):
            size = config.int("CONFIG_SPI_NOR_FLASH_LAYOUT_PAGE_SIZE") or 65536
            return size, "CONFIG_SPI_NOR_FLASH_LAYOUT_PAGE_SIZE"
    if region is not None and region.erase_block:
        return region.erase_block, f"erase block of {region.name}"
    return 4096, "default 4 KB"


def _sectors(build: Build, layout: Layout, part: Partition) -> Tuple[int, int, str]:
    sector, origin = slot_sector(build, layout, part)
    return math.ceil(part.size / sector), sector, origin


def _user_part(build: Build, layout: Layout, name: str) -> Optional[Partition]:
    """The partition as the user wrote it (static file) when there is one, else as generated."""
    static = static_layout_for(build, layout.domain) if layout.kind is LayoutKind.GENERATED else None
    if static is not None and static.get(name) is not None:
        return static.get(name)
    return layout.get(name)


# ------------------------------------------------------------------ PMD402

_NORDIC_BOARDS = ("nrf5", "nrf7", "nrf9", "thingy", "nrf54")


@rule("PMD402", "max-img-sectors-too-small", Severity.ERROR, rank=72, explains=("sectors-incompatible",))
def max_img_sectors_too_small(build: Build) -> Iterator[Finding]:
    """
    ## What it does
    Counts the sectors of every MCUboot slot (slot size divided by the sector
    size MCUboot sees for that slot: the erase block of internal flash, or
    the flash page layout of an external NOR: `CONFIG_NORDIC_QSPI_NOR_FLASH_LAYOUT_PAGE_SIZE`,
    default 4096, or `CONFIG_SPI_NOR_FLASH_LAYOUT_PAGE_SIZE`, default 65536)
    and compares the largest count with MCUboot's `CONFIG_BOOT_MAX_IMG_SECTORS`.
    Skipped when `CONFIG_BOOT_MAX_IMG_SECTORS_AUTO=y`, with a note when
    MCUboot's devicetree (which AUTO reads) has smaller slots than Partition
    Manager.

    ## Why it matters
    MCUboot sizes its sector table at compile time. A slot with more sectors
    cannot be read: "Failed reading sectors; BOOT_MAX_IMG_SECTORS=128 - too
    small?", "Cannot upgrade: not a compatible amount of sectors", and the
    update never happens. External secondaries and custom boards (which lose
    the DK's MCUboot board defaults) are the usual cases.

    ## Example
    `mcuboot_secondary` of 0xf4000 bytes on QSPI with 4 KB pages = 244
    sectors, but `CONFIG_BOOT_MAX_IMG_SECTORS=128`.

    ## How to fix
    Set `CONFIG_BOOT_MAX_IMG_SECTORS` in MCUboot's configuration to at least
    the count (`sysbuild/mcuboot.conf` or `child_image/mcuboot.conf`). Each
    sector costs a few bytes of MCUboot RAM.
    """
    mcuboot = mcuboot_image(build)
    layout = slot_layout(build)
    if mcuboot is None or layout is None or mcuboot_mode(build) in ("direct-xip", "ram-load", "single"):
        return
    if mcuboot_lost_partition_manager(build) is not None:
        return  # MCUboot does not use these slots at all; PMD404 names that cause
    config = mcuboot.config
    counts = [
        (index, part, *_sectors(build, layout, part))
        for index, primary, secondary in layout.slot_pairs()
        for part in (primary, secondary)
        if part.size
    ]
    if not counts:
        return
    _, part, needed, sector, _ = max(counts, key=lambda c: c[2])
    if config.enabled("CONFIG_BOOT_MAX_IMG_SECTORS_AUTO"):
        yield from _auto_caveat(build, mcuboot, layout, needed, part)
        return
    limit = config.int("CONFIG_BOOT_MAX_IMG_SECTORS")
    if limit is None or needed <= limit:
        return
    recommended = next_power_of_two(needed)
    evidence = [f"{p.name}: {hx(p.size)} / {hx(s)} ({o}) = {n} sectors" for _, p, n, s, o in counts]
    board = (build.board or "").lower()
    if board and not board.startswith(_NORDIC_BOARDS):
        evidence.append(
            f"board {build.board} is not a Nordic board: MCUboot's per-board defaults "
            "(boot/zephyr/boards/<board>.conf) do not apply to it"
        )
    yield Finding(
        message=(
            f"MCUboot's CONFIG_BOOT_MAX_IMG_SECTORS={limit} is smaller than the {needed} sectors of "
            f"`{part.name}` ({hx(part.size)} / {hx(sector)}): MCUboot cannot read the slot and never "
            "applies the update"
        ),
        location=user_source(build, mcuboot, "CONFIG_BOOT_MAX_IMG_SECTORS"),
        image=mcuboot.name,
        evidence=evidence,
        fixes=[
            fixes.image_kconfig(
                build,
                mcuboot,
                [f"CONFIG_BOOT_MAX_IMG_SECTORS={recommended}"],
                f"{recommended} is the smallest power of two >= {needed}; any value >= {needed} works",
            )
        ],
        subject=("max-img-sectors", part.name),
    )


def _auto_caveat(
    build: Build, mcuboot: Image, layout: Layout, needed: int, part: Partition
) -> Iterator[Finding]:
    """AUTO counts the slots of MCUboot's devicetree; under PM those may be smaller."""
    tree_layout = mcuboot.devicetree.layout
    if layout.kind is LayoutKind.DEVICETREE or tree_layout is None:
        return
    counted = [
        _sectors(build, tree_layout, p)[0]
        for _, primary, secondary in tree_layout.slot_pairs()
        for p in (primary, secondary)
        if p.size
    ]
    if not counted or max(counted) >= needed:
        return
    yield Finding(
        message=(
            f"CONFIG_BOOT_MAX_IMG_SECTORS_AUTO sizes MCUboot's sector table from its devicetree "
            f"({max(counted)} sectors), but Partition Manager gives `{part.name}` {needed} sectors"
        ),
        location=mcuboot.config.where("CONFIG_BOOT_MAX_IMG_SECTORS_AUTO"),
        image=mcuboot.name,
        severity=Severity.NOTE,
        fixes=[
            fixes.image_kconfig(
                build,
                mcuboot,
                [
                    "CONFIG_BOOT_MAX_IMG_SECTORS_AUTO=n",
                    f"CONFIG_BOOT_MAX_IMG_SECTORS={next_power_of_two(needed)}",
                ],
                "set the count explicitly",
            )
        ],
        subject=("max-img-sectors-auto", part.name),
    )


# ------------------------------------------------------------------ PMD403


@rule("PMD403", "swap-mode-layout", Severity.ERROR, rank=60, explains=("scratch-too-small",))
def swap_mode_layout(build: Build) -> Iterator[Finding]:
    """
    ## What it does
    Checks that the layout has what MCUboot's upgrade mode needs:
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

    ## How to fix
    Pick the mode and the layout together: in sysbuild set
    `SB_CONFIG_MCUBOOT_MODE_*` and let Partition Manager generate the
    partitions once, then copy them into the static file. Swap-using-move
    (the sysbuild default) needs no scratch at all.
    """
    layout = slot_layout(build)
    mode = mcuboot_mode(build)
    if layout is None or mode is None or (mcuboot_image(build) is None and build.era is not Era.DEVICETREE):
        return
    if mode == "scratch":
        yield from _scratch(build, layout)
    elif mode == "direct-xip" and layout.kind is not LayoutKind.DEVICETREE:
        yield from _direct_xip(build, layout)
    elif mode == "single":
        secondary = layout.get(secondary_slot_name(layout.kind, 0))
        if secondary is not None and secondary.size:
            shown = _user_part(build, layout, secondary.name) or secondary
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
    shown = _user_part(build, layout, name) or scratch
    if _is_external(build, layout, scratch):
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
            fixes=[Fix(f"make `{name}` at least {hx(largest)} bytes", shown.source.file)],
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
            shown = _user_part(build, layout, name) or part
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
    if build.sysbuild:
        # NCS < 3.0 names swap-using-move SWAP_WITHOUT_SCRATCH.
        modern = "SB_CONFIG_MCUBOOT_MODE_SWAP_USING_MOVE" in build.sysbuild_config
        option = "MCUBOOT_MODE_SWAP_USING_MOVE" if modern else "MCUBOOT_MODE_SWAP_WITHOUT_SCRATCH"
        return fixes.build_option(build, option, "y", "use swap-using-move, which needs no scratch")
    return fixes.image_kconfig(
        build,
        mcuboot_image(build),
        ["CONFIG_BOOT_SWAP_USING_MOVE=y"],
        "use swap-using-move, which needs no scratch",
    )


# ------------------------------------------------------------------ PMD404


def _dts_disagreements(build: Build, mcuboot: Image) -> List[str]:
    layout, tree = build.layout_for_domain(None), mcuboot.devicetree.layout
    if layout is None or tree is None:
        return []
    found = []
    for index in range(0, 3):
        for pm_name, dt_name in (
            (primary_slot_name(LayoutKind.GENERATED, index), primary_slot_name(LayoutKind.DEVICETREE, index)),
            (
                secondary_slot_name(LayoutKind.GENERATED, index),
                secondary_slot_name(LayoutKind.DEVICETREE, index),
            ),
        ):
            pm, dt = layout.get(pm_name), tree.get(dt_name)
            if pm is None or dt is None:
                continue
            if (pm.address, pm.size) != (dt.address, dt.size):
                found.append(
                    f"MCUboot devicetree {dt_name} {hx(dt.address)}+{hx(dt.size)} vs partitions.yml "
                    f"{pm_name} {hx(pm.address)}+{hx(pm.size)}"
                )
    return found


@rule(
    "PMD404",
    "mcuboot-without-partition-manager",
    Severity.ERROR,
    rank=88,
    explains=("sectors-incompatible", "boot-hang"),
)
def mcuboot_without_partition_manager(build: Build) -> Iterator[Finding]:
    """
    ## What it does
    Checks that MCUboot was built with Partition Manager when the application
    was: the app's `.config` has `CONFIG_PARTITION_MANAGER_ENABLED=y` (and
    `CONFIG_FLASH_MAP_CUSTOM=y`), MCUboot's must too. It then compares
    MCUboot's devicetree `slot0_partition`/`slot1_partition` with
    `partitions.yml`.

    ## Why it matters
    Without Partition Manager MCUboot takes its slots from devicetree, which
    does not match the layout the app was linked and signed for. MCUboot then
    reads the wrong sectors ("Failed reading sectors; BOOT_MAX_IMG_SECTORS=128
    - too small?" that no value fixes), finds no valid image, or jumps to the
    wrong address. Child-image builds lose the setting when
    `mcuboot_OVERLAY_CONFIG` replaces the NCS fragments; sysbuild builds when
    a `sysbuild/mcuboot/` directory replaces MCUboot's whole configuration.

    ## Example
    App: `CONFIG_PARTITION_MANAGER_ENABLED=y`; `build/mcuboot/zephyr/.config`:
    `# CONFIG_PARTITION_MANAGER_ENABLED is not set`.

    ## How to fix
    Child-image era: pass MCUboot options in `child_image/mcuboot.conf` or
    with `mcuboot_EXTRA_CONF_FILE`, not `mcuboot_OVERLAY_CONFIG`. Sysbuild:
    use `sysbuild/mcuboot.conf` as a fragment, or copy MCUboot's own
    `prj.conf` into `sysbuild/mcuboot/` before adding to it. Then build pristine.
    """
    missing = mcuboot_lost_partition_manager(build)
    if missing is None:
        return
    app, mcuboot = build.app, mcuboot_image(build)
    evidence = [
        f"app: {missing}=y ({app.config.where(missing)})",
        f"mcuboot: {missing} not set ({mcuboot.config.file})",
    ]
    evidence += _dts_disagreements(build, mcuboot)
    overlay = build.cmake_cache.get("mcuboot_OVERLAY_CONFIG")
    if overlay:
        evidence.append(f"mcuboot_OVERLAY_CONFIG={overlay} (replaces the NCS fragments)")
    yield Finding(
        message=(
            f"the app uses Partition Manager but MCUboot was built without it ({missing} is not set in "
            "MCUboot's .config): MCUboot takes its slots from devicetree, not from partitions.yml"
        ),
        location=mcuboot.config.where(missing),
        image=mcuboot.name,
        evidence=evidence,
        fixes=[_pm_fix(build)],
        subject=("mcuboot-no-pm", missing),
    )


def _pm_fix(build: Build) -> Fix:
    mcuboot = build.image("mcuboot")
    target = fixes.image_config_file(build, mcuboot)
    if build.sysbuild and target.parent.name == "mcuboot":  # sysbuild/mcuboot/prj.conf
        why = (
            "sysbuild/mcuboot/ replaces MCUboot's whole configuration: copy MCUboot's own prj.conf "
            "into it first, or move your options to the fragment sysbuild/mcuboot.conf"
        )
    elif build.sysbuild:
        why = "put MCUboot options in the fragment sysbuild/mcuboot.conf (not a replacement configuration)"
    else:
        why = (
            "pass MCUboot options with child_image/mcuboot.conf or -Dmcuboot_EXTRA_CONF_FILE=…, not "
            "mcuboot_OVERLAY_CONFIG (it drops NCS's partition_manager_enabled.conf)"
        )
    return Fix(why + ", then build pristine", target)


# ------------------------------------------------------------------ PMD405


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
    shown = _user_part(build, layout, "mcuboot_pad") or pad
    expected = _expected_pad(build)
    if expected is not None and expected[0] != pad.size:
        value, where, symbol = expected
        yield Finding(
            message=(
                f"`mcuboot_pad` is {hx(pad.size)} but signing uses a {hx(value)} header ({symbol}): the "
                "image header and the vector table are not where MCUboot and the app expect them"
            ),
            location=shown.source,
            evidence=[f"{shown.source}: mcuboot_pad size {hx(pad.size)}", f"{where}: {symbol}={hx(value)}"],
            fixes=[
                Fix(f"make `mcuboot_pad` {hx(value)} in the static file", shown.source.file),
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
            f"{slot.name}: {hx(slot.address)}+{hx(slot.size)} ({slot.source})",
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


# ------------------------------------------------------------------ PMD406


def _trailer(build: Build, layout: Layout, slot: Partition, mode: Optional[str]) -> int:
    """MCUboot trailer estimate (MCB-04): status entries for swaps, magic and flags always."""
    region = layout.region_of(slot)
    write = max(region.write_block if region and region.write_block else 4, 1)
    sectors, _, _ = _sectors(build, layout, slot)
    flags = 4 * max(write, 8) + 16
    return flags if mode == "overwrite" else sectors * 3 * write + flags


@rule("PMD406", "image-too-large", Severity.ERROR, rank=64, explains=("image-too-large",))
def image_too_large(build: Build) -> Iterator[Finding]:
    """
    ## What it does
    Compares each signed image the build produced (`zephyr.signed.bin`) with
    its MCUboot slot, after subtracting an estimate of MCUboot's trailer
    (status entries, magic and flags) and, for swap-using-move, the one free
    sector the swap needs.

    ## Why it matters
    An image that fits the slot but not the space left beside the trailer is
    refused by MCUmgr, or uploaded and then never swapped in; imgtool's own
    check is known to miss the swap-move sector.

    ## Example
    A 0x75d00-byte signed image in a 0x76000 primary slot with swap-using-move:
    the trailer and the free sector leave about 0x74000.

    ## How to fix
    Shrink the application (size optimisation, fewer features, logging off),
    enlarge the slots in the static file (not possible for devices in the field),
    move the secondary slot to external flash, or use overwrite-only mode
    (with image compression on NCS >= 2.7).
    """
    layout = slot_layout(build)
    if layout is None:
        return
    mode = mcuboot_mode(build)
    for image in build.images:
        if image.signed_image_size is None:
            continue
        index = {"app": 0, "netcore": 1}.get(image.role)
        slot = layout.get(primary_slot_name(layout.kind, index)) if index is not None else None
        if slot is None or not slot.size or image.signed_image_size == slot.size:
            continue  # a padded (confirmed) image is exactly the slot size
        finding = _too_large(build, layout, image, slot, mode)
        if finding is not None:
            yield finding


def _too_large(
    build: Build, layout: Layout, image: Image, slot: Partition, mode: Optional[str]
) -> Optional[Finding]:
    sector, _ = slot_sector(build, layout, slot)
    trailer = _trailer(build, layout, slot, mode)
    usable = slot.size - trailer
    if mode == "move":
        usable = slot.size - math.ceil(trailer / sector) * sector - sector
    size = image.signed_image_size
    if size <= usable:
        return None
    extra = " and one free sector for swap-using-move" if mode == "move" else ""
    return Finding(
        message=(
            f"{image.signed_image.name if image.signed_image else 'the signed image'} of '{image.name}' is "
            f"{hx(size)} bytes; `{slot.name}` is {hx(slot.size)} and leaves about {hx(usable)} after "
            f"MCUboot's trailer{extra}: the update will be refused or never swapped in"
        ),
        location=Source(image.signed_image) if image.signed_image else slot.source,
        image=image.name,
        evidence=[
            f"signed image {hx(size)}",
            f"{slot.name} {hx(slot.size)}, sector {hx(sector)}",
            f"trailer estimate {hx(trailer)} (mode {mode or 'unknown'}; an estimate, not MCUboot's figure)",
        ],
        fixes=[
            Fix(
                f"shrink '{image.name}' by at least {hx(size - usable)} bytes, or enlarge the slots in the "
                "static file (only for devices not yet in the field)"
            )
        ],
        subject=("image-too-large", image.name),
    )


# ------------------------------------------------------------------ PMD407


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

    ## How to fix
    Sysbuild: set `SB_CONFIG_MCUBOOT_UPDATEABLE_IMAGES=N` and keep
    `SB_CONFIG_MCUBOOT_APP_SYNC_UPDATEABLE_IMAGES=y`. Child-image builds: set
    `CONFIG_UPDATEABLE_IMAGE_NUMBER` to the same value in `prj.conf` and
    `child_image/mcuboot.conf`. Add the missing slot pair to the static file.
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
                f"{mcuboot.config.where('CONFIG_UPDATEABLE_IMAGE_NUMBER')}: {images}",
            ],
            fixes=_images_fix(build, expected),
            subject=("image-number",),
        )
    if layout is not None:
        yield from _missing_pairs(build, layout, expected)
        yield from _dead_pair(build, layout, images)


def _images_fix(build: Build, count: int) -> List[Fix]:
    if build.sysbuild:
        return [
            fixes.build_option(
                build, "MCUBOOT_UPDATEABLE_IMAGES", str(count), "one number for app and MCUboot"
            )
        ]
    line = [f"CONFIG_UPDATEABLE_IMAGE_NUMBER={count}"]
    return [
        fixes.image_kconfig(build, build.app, line, "set the same number in the app"),
        fixes.image_kconfig(build, build.image("mcuboot"), line, "and in MCUboot"),
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
    static = fixes.static_file(build, layout.domain) if layout.kind is not LayoutKind.DEVICETREE else None
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
    shown = _user_part(build, layout, primary.name) or primary
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
