"""nRF5340 network-core DFU: the partitions and options MCUboot needs to update the net core."""

from __future__ import annotations

from typing import Dict, Iterator, List, Optional, Tuple

from ..model import Build, Era, Layout, Source
from ..model import soc as socs
from ..model.findings import Finding, Fix, Severity, Text
from . import rule
from ._shared.common import app_pm_layout, mcuboot_image
from ._shared.edit_helpers import kconfig_fix, sysbuild_fix
from ._shared.layouts import edit_path, where_to_edit
from ._shared.protection import said
from ._shared.targets import image_kconfig

# What a static file needs for simultaneous net-core update (NCS multi-image DFU guide).
_STATIC_SNIPPETS = {
    "mcuboot_primary_1": "mcuboot_primary_1:\n  address: 0x0\n  size: 0x40000\n  device: flash_ctrl\n"
    "  region: ram_flash",
    "mcuboot_secondary_1": "mcuboot_secondary_1:\n  size: 0x40000  # after mcuboot_secondary, same region",
    "pcd_sram": "pcd_sram:\n  address: 0x20000000\n  size: 0x2000\n  region: sram_primary",
}


def netcore_update(build: Build) -> Optional[str]:
    """Why this build updates the network core through MCUboot (None: it does not)."""
    sb = build.sysbuild_config
    if sb.enabled("SB_CONFIG_NETCORE_APP_UPDATE"):
        return said(sb, "SB_CONFIG_NETCORE_APP_UPDATE", "sysbuild")
    mcuboot = mcuboot_image(build)
    if mcuboot is not None and mcuboot.config.enabled("CONFIG_PCD_APP"):
        return said(mcuboot.config, "CONFIG_PCD_APP", "mcuboot")
    return None


def simultaneous_update(build: Build) -> Optional[str]:
    """Why MCUboot handles the net core as a second image pair (None: it does not)."""
    mcuboot = mcuboot_image(build)
    if mcuboot is not None:
        count = mcuboot.config.int("CONFIG_UPDATEABLE_IMAGE_NUMBER")
        if count is not None:
            if count < 2:
                return None
            return said(mcuboot.config, "CONFIG_UPDATEABLE_IMAGE_NUMBER", "mcuboot")
    sb = build.sysbuild_config
    if sb.enabled("SB_CONFIG_MCUBOOT_NRF53_MULTI_IMAGE_UPDATE"):
        return said(sb, "SB_CONFIG_MCUBOOT_NRF53_MULTI_IMAGE_UPDATE", "sysbuild")
    app = build.app
    if app is not None and app.config.enabled("CONFIG_NRF53_MULTI_IMAGE_UPDATE"):
        return said(app.config, "CONFIG_NRF53_MULTI_IMAGE_UPDATE", app.name)
    return None


def _sysbuild_options(build: Build, wanted: Dict[str, str], why: str) -> List[Fix]:
    """One sysbuild.conf line per option that does not have the wanted value yet."""
    sb = build.sysbuild_config
    fixes = []
    for option, value in wanted.items():
        current = sb.get(f"SB_CONFIG_{option}")
        if (current is True and value == "y") or str(current) == value:
            continue
        fixes.append(
            sysbuild_fix(
                build, [(f"SB_CONFIG_{option}", value)], f"{why} — sysbuild forces this into every image"
            )
        )
    return fixes


def _app_layout(build: Build) -> Optional[Layout]:
    """The layout Partition Manager produced for the app core (the static file if nothing was generated)."""
    return None if build.era is Era.DEVICETREE else app_pm_layout(build)


def _applies(build: Build) -> Optional[Tuple[str, Layout]]:
    if socs.series(build.soc) not in (None, "nrf53"):
        return None
    reason = netcore_update(build)
    layout = _app_layout(build)
    if reason is None or layout is None:
        return None
    return reason, layout


# ------------------------------------------------------------------ PMD501


def _partition_problems(build: Build, layout: Layout, multi: bool) -> Tuple[List[str], List[str]]:
    """(problems, missing partition names) of a net-core update layout."""
    problems: List[str] = []
    missing: List[str] = []
    if layout.get("pcd_sram") is None:
        problems.append("no `pcd_sram` (the RAM the app core and the net core exchange update commands in)")
        missing.append("pcd_sram")
    if not multi:
        return problems, missing
    primary = layout.get("mcuboot_primary_1")
    if primary is None:
        problems.append(
            "no `mcuboot_primary_1` (MCUboot does not compile: 'PM_MCUBOOT_PRIMARY_1_ID undeclared')"
        )
        missing.append("mcuboot_primary_1")
    elif primary.region != "ram_flash":
        problems.append(
            f"`mcuboot_primary_1` is in region {primary.region}; it must be in ram_flash, the RAM that "
            "MCUboot's flash simulator exposes as the net core's primary slot"
        )
    if layout.get("mcuboot_secondary_1") is None:
        problems.append("no `mcuboot_secondary_1` (nowhere to upload the net-core image)")
        missing.append("mcuboot_secondary_1")
    mcuboot = mcuboot_image(build)
    if mcuboot is not None and not mcuboot.config.enabled("CONFIG_FLASH_SIMULATOR"):
        problems.append(
            Text(
                "MCUboot has no CONFIG_FLASH_SIMULATOR (",
                mcuboot.config.where("CONFIG_FLASH_SIMULATOR"),
                "), ",
            )
            + "so the ram_flash region does not exist"
        )
    return problems, missing


def _netcore_fixes(build: Build, layout: Layout, missing: List[str]) -> List[Fix]:
    fixes: List[Fix] = []
    if missing:
        fixes.append(
            Fix(
                "add the net-core update partitions" + where_to_edit(build, layout),
                edit_path(build, layout),
                "\n".join(_STATIC_SNIPPETS[name] for name in missing),
            )
        )
    if build.sysbuild:
        fixes.extend(
            _sysbuild_options(
                build,
                {
                    "SECURE_BOOT_NETCORE": "y",
                    "NETCORE_APP_UPDATE": "y",
                    "MCUBOOT_NRF53_MULTI_IMAGE_UPDATE": "y",
                    "MCUBOOT_UPDATEABLE_IMAGES": "2",
                },
                "simultaneous net-core update; sysbuild then gives MCUboot the flash simulator",
            )
        )
    else:
        fixes.append(
            kconfig_fix(
                build,
                build.image("mcuboot"),
                [("CONFIG_FLASH_SIMULATOR", "y"), ("CONFIG_UPDATEABLE_IMAGE_NUMBER", "2")],
                "give MCUboot the flash simulator that backs ram_flash — add to mcuboot's configuration",
            )
        )
    return fixes


@rule(
    "PMD501",
    "netcore-update-partitions",
    Severity.ERROR,
    rank=82,
    explains=("netcore-partition-undeclared",),
)
def netcore_update_partitions(build: Build) -> Iterator[Finding]:
    """
    ## What it does
    When MCUboot updates the nRF5340 network core (`SB_CONFIG_NETCORE_APP_UPDATE=y`,
    or `CONFIG_PCD_APP=y` in a child-image MCUboot), checks that the layout has
    what that needs: `pcd_sram`, and for simultaneous (multi-image) update
    `mcuboot_primary_1` in region `ram_flash`, `mcuboot_secondary_1`, and
    `CONFIG_FLASH_SIMULATOR=y` in MCUboot.

    ## Why it matters
    MCUboot handles the net core as a second image pair whose primary slot
    is RAM simulated as flash. Without these partitions MCUboot does not
    compile ("'PM_MCUBOOT_PRIMARY_1_ID' undeclared") or the net-core update
    is silently skipped. A static file written before net-core update was
    enabled is the usual cause.

    ## Example
    `SB_CONFIG_NETCORE_APP_UPDATE=y` with a `pm_static.yml` that has
    `mcuboot_secondary` but no `mcuboot_primary_1`, `mcuboot_secondary_1`
    or `pcd_sram`.

    ## How to fix
    Add the partitions to the static file (or build once without it and
    copy the generated `partitions.yml`), and enable the full set of options:
    `SB_CONFIG_SECURE_BOOT_NETCORE`, `SB_CONFIG_NETCORE_APP_UPDATE`,
    `SB_CONFIG_MCUBOOT_NRF53_MULTI_IMAGE_UPDATE`,
    `SB_CONFIG_MCUBOOT_UPDATEABLE_IMAGES=2`.

    The options are Kconfig edits (one `sysbuild.conf` line each, or MCUboot's
    fragment before sysbuild), confirmed by a pristine build since the fix
    checker cannot rebuild the layout from them. The partitions are advice: `pcd_sram` and
    `mcuboot_secondary_1` need free RAM and flash that only the project can
    give up, so the fix shows the entries to add and leaves their place to
    the user (or to one build without the static file).
    """
    applies = _applies(build)
    if applies is None:
        return
    reason, layout = applies
    multi = simultaneous_update(build)
    problems, missing = _partition_problems(build, layout, multi is not None)
    if not problems:
        return
    anchor = layout.get("mcuboot_secondary") or layout.get("mcuboot_primary")
    yield Finding(
        message="network-core update is enabled but the layout has " + Text.join("; ", problems),
        location=anchor.source if anchor is not None else Source(layout.file),
        domain=layout.domain,
        evidence=[
            "net-core update: " + reason,
            f"multi-image update: {multi or 'no'}",
            f"layout: {layout.label}",
        ],
        fixes=_netcore_fixes(build, layout, missing),
        subject=("netcore-update", *missing),
    )


# ------------------------------------------------------------------ PMD502


@rule("PMD502", "netcore-offchip-needs-multi-image", Severity.ERROR, rank=78)
def netcore_offchip_needs_multi_image(build: Build) -> Iterator[Finding]:
    """
    ## What it does
    Finds nRF5340 builds that update the network core through MCUboot with
    the update slot (`mcuboot_secondary`) on external flash, but without
    simultaneous multi-image update (`SB_CONFIG_MCUBOOT_NRF53_MULTI_IMAGE_UPDATE`,
    or `CONFIG_UPDATEABLE_IMAGE_NUMBER=2` in a child-image MCUboot).

    ## Why it matters
    The network core cannot read the application core's external flash. A
    net-core image staged off-chip can only be applied through the
    simultaneous path, which copies it over `ram_flash` with PCD. Otherwise
    the net-core image in the app's slot is treated as an app image: the
    swap reverts, nothing happens, or MCUboot reports "Cannot upgrade:
    slots have non-compatible sectors".

    ## Example
    `SB_CONFIG_NETCORE_APP_UPDATE=y` and
    `SB_CONFIG_PM_EXTERNAL_FLASH_MCUBOOT_SECONDARY=y` without
    `SB_CONFIG_MCUBOOT_NRF53_MULTI_IMAGE_UPDATE`.

    ## How to fix
    Enable simultaneous multi-image update
    (`SB_CONFIG_MCUBOOT_NRF53_MULTI_IMAGE_UPDATE=y`,
    `SB_CONFIG_MCUBOOT_UPDATEABLE_IMAGES=2`), preferably with overwrite-only
    mode, since reverting the app core alone breaks the net core.
    """
    applies = _applies(build)
    if applies is None:
        return
    reason, layout = applies
    secondary = layout.get("mcuboot_secondary")
    if secondary is None or secondary.region != "external_flash" or simultaneous_update(build):
        return
    if build.sysbuild:
        fixes = _sysbuild_options(
            build,
            {"MCUBOOT_NRF53_MULTI_IMAGE_UPDATE": "y", "MCUBOOT_UPDATEABLE_IMAGES": "2"},
            "update both cores in one go (overwrite-only mode recommended)",
        )
    else:
        fixes = [
            image_kconfig(
                build,
                build.app,
                ["CONFIG_NRF53_MULTI_IMAGE_UPDATE=y", "CONFIG_UPDATEABLE_IMAGE_NUMBER=2"],
                "update both cores in one go",
            ),
            image_kconfig(
                build,
                build.image("mcuboot"),
                ["CONFIG_UPDATEABLE_IMAGE_NUMBER=2", "CONFIG_FLASH_SIMULATOR=y"],
                "let MCUboot handle the net core as a second image pair",
            ),
        ]
    yield Finding(
        message=(
            f"the network core is updated through MCUboot but `{secondary.name}` is on external flash "
            "and simultaneous multi-image update is off: the net core cannot reach an image staged there"
        ),
        location=secondary.source,
        domain=layout.domain,
        evidence=[
            "net-core update: " + reason,
            f"{secondary.name}: region {secondary.region}",
            "mcuboot_secondary_1: " + ("present" if layout.get("mcuboot_secondary_1") else "absent"),
        ],
        fixes=fixes,
        subject=("netcore-offchip", secondary.name),
    )
