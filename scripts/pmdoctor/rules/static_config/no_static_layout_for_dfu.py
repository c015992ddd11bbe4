"""PMD203 no-static-layout-for-dfu."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Iterator, List, Tuple

from ...model import Build, Layout, Source
from ...model.edits import Action, StaticEdit
from ...model.findings import Finding, Fix, Severity, Text
from ...model.pm import static_file_names
from .. import rule
from .._shared.edit_helpers import partition_entries, static_target, target_words


def static_in_use(build: Build) -> bool:
    """A static file is used: loaded, or named by *PM_STATIC_YML_FILE (board files included)."""
    if build.static_files:
        return True
    return any(
        re.fullmatch(r"(?:\w+_)?PM_STATIC_YML_FILE", key) and value
        for key, value in build.cmake_cache.items()
    )


def _bootloaders(build: Build) -> List[Tuple[str, Source]]:
    sb = build.sysbuild_config
    found = [
        (s, sb.where(s))
        for s in ("SB_CONFIG_BOOTLOADER_MCUBOOT", "SB_CONFIG_SECURE_BOOT_APPCORE")
        if sb.enabled(s)
    ]
    app = build.app
    if app is not None and not build.sysbuild:
        for symbol in ("CONFIG_BOOTLOADER_MCUBOOT", "CONFIG_SECURE_BOOT"):
            if app.config.enabled(symbol):
                found.append((symbol, app.config.where(symbol)))
    return found


@rule("PMD203", "no-static-layout-for-dfu", Severity.WARNING, rank=30)
def no_static_layout_for_dfu(build: Build) -> Iterator[Finding]:
    """
    ## What it does
    Warns when a bootloader is built (MCUboot or the nRF Secure Immutable
    Bootloader) with Partition Manager but no static layout is used: no
    `pm_static*.yml` in the application directory and no `PM_STATIC_YML_FILE`
    (boards such as the Thingy:91 X provide one that way, which counts). It
    only runs when the application sources are on this machine.

    ## Why it matters
    A dynamic layout moves whenever an image size, a Kconfig option or the NCS
    version changes (NCS itself changed TF-M and Matter defaults between
    releases). Devices in the field keep the old bootloader and the old slot
    and settings addresses, so the next update does not boot or loses data.
    The build itself warns "Using a bootloader without pm_static.yml".

    ## Example
    `SB_CONFIG_BOOTLOADER_MCUBOOT=y`, no `pm_static.yml`: upgrading NCS grows
    MCUboot by 4 KB and every slot moves.

    ## How to fix
    Freeze the layout you ship: copy `build/partitions.yml` to
    `pm_static.yml` in the application directory (and
    `build/partitions_CPUNET.yml` to `pm_static_<board>_CPUNET.yml` on the
    nRF5340 when the network core is updated).

    Mechanical: the fix creates the static file the build will read (the
    name `PM_STATIC_YML_FILE` or the board's search order gives, else
    `pm_static.yml` in the application directory) with every partition of
    the generated layout, one per domain. Freezing is safe for the field:
    nothing moves, the current layout only stops moving.
    """
    if not build.partition_manager or static_in_use(build):
        return
    source = build.source_dir
    if not build.source_available:
        return  # the static file may be there; we cannot tell
    bootloaders = _bootloaders(build)
    if not bootloaders:
        return
    symbol, where = bootloaders[0]
    generated = build.layout_for_domain(None)
    target = static_target(build).file
    yield Finding(
        # A file reference, not the path as a string: reports show it relative, never this machine's path.
        message=Text(
            f"{symbol} is set but the layout is dynamic (no pm_static*.yml in ",
            Path(source) if source is not None else "the application directory",
            "): the next NCS or Kconfig change can move the bootloader, slots and settings and break "
            "field updates",
        ),
        location=where,
        evidence=[Text(f"{s} (", w, ")") for s, w in bootloaders]
        + [f"looked for: {', '.join(static_file_names(build.board, build.cmake_cache))}"],
        fixes=[_freeze(build, layout) for layout in _generated(build)]
        or [
            Fix(
                "freeze the current layout as the static configuration",
                target,
                f"cp {generated.file if generated and generated.file else 'build/partitions.yml'} {target}",
            )
        ],
        subject=("no-static",),
    )


def _generated(build: Build) -> List[Layout]:
    """The generated layouts to freeze: the app core's first, then other domains (CPUNET)."""
    return sorted(build.layouts, key=lambda layout: layout.domain is not None)


def _freeze(build: Build, layout: Layout) -> Fix:
    """Create the static file the build will read, with every partition Partition Manager placed."""
    target = static_target(build, layout.domain)
    edits = tuple(
        StaticEdit(target, Action.ADD, name, entries=partition_entries(part), domain=layout.domain)
        for name, part in layout.partitions.items()
    )
    source = layout.file if layout.file else "build/partitions.yml"
    return Fix(
        "freeze the current layout as the static configuration"
        + (f" of the {layout.domain} domain" if layout.domain else "")
        + (f" ({target.convention})" if target_words(target) != target.file.name else ""),
        target.file,
        f"cp {source} {target.file}",
        edits=edits,
    )
