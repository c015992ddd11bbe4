"""PMD705 partition-manager-deprecated."""

from __future__ import annotations

import re
from typing import Iterator, Optional, Tuple

from ...model import Build, Source
from ...model.findings import Finding, Fix, Severity
from .. import rule
from .._shared.targets import build_option, sysbuild_option


def _version(text: Optional[str]) -> Optional[Tuple[int, int]]:
    match = re.match(r"v?(\d+)\.(\d+)", text or "")
    return (int(match.group(1)), int(match.group(2))) if match else None


def ncs_at_least_3_3(build: Build) -> Optional[str]:
    """Why we believe the build uses NCS >= 3.3, or None."""
    ncs = _version(build.ncs_version)
    if ncs is not None:
        return f"NCS {build.ncs_version} (from ZEPHYR_BASE)" if ncs >= (3, 3) else None
    # NCS 3.x ships Zephyr 4.x.99 (3.2 -> 4.2.99): PM + Zephyr >= 4.3.99 means NCS >= 3.3.
    zephyr = build.zephyr_version or ""
    match = re.match(r"(\d+)\.(\d+)\.(\d+)", zephyr)
    if match and (int(match.group(1)), int(match.group(2))) >= (4, 3) and int(match.group(3)) >= 99:
        return f"Zephyr {zephyr}, the development version NCS 3.3 and later ship"
    return None


@rule("PMD705", "partition-manager-deprecated", Severity.NOTE, rank=5)
def partition_manager_deprecated(build: Build) -> Iterator[Finding]:
    """
    ## What it does
    Notes a Partition Manager build made with nRF Connect SDK 3.3 or later
    (version from the SDK path in `ZEPHYR_BASE`, or the Zephyr version the
    build records).

    ## Why it matters
    Partition Manager is deprecated from NCS 3.3, off by default in the next
    release and then removed. The devicetree layout that replaces it must keep
    every address of the layout already in the field, or DFU to the first
    devicetree-era firmware bricks devices or loses their settings.

    ## Example
    `ZEPHYR_BASE=/opt/ncs/v3.3.0/zephyr` with `partitions.yml` in the build.

    ## How to fix
    Plan the migration: `west pmdoctor migrate` prints the devicetree overlays
    that reproduce this layout and checks them; then build with
    `SB_CONFIG_PARTITION_MANAGER=n` and run `west pmdoctor --baseline
    <this partitions.yml>` on the new build.

    Advice, not an edit: switching Partition Manager off moves every
    partition to the devicetree defaults unless the overlays from
    `west pmdoctor migrate` are in place first, which no re-check of this
    build can confirm. The fix names the option and the file it goes into.
    """
    if not build.partition_manager:
        return
    why = ncs_at_least_3_3(build)
    if why is None:
        return
    layout = build.layout_for_domain(None)
    yield Finding(
        message=(
            "Partition Manager is deprecated from NCS 3.3 and will be removed; this build "
            f"uses it ({why}). `west pmdoctor migrate` prints the devicetree overlays that keep this layout"
        ),
        location=Source(layout.file) if layout else Source(build.path / "CMakeCache.txt"),
        evidence=[why] + ([f"layout: {layout.file.name}"] if layout and layout.file else []),
        fixes=[_switch_off(build)],
        subject=("partition-manager",),
    )


def _switch_off(build: Build) -> Fix:
    why = "after adding the overlays from `west pmdoctor migrate`, switch Partition Manager off"
    if build.sysbuild:
        return build_option(build, "PARTITION_MANAGER", "n", why)
    return sysbuild_option(
        build,
        "PARTITION_MANAGER",
        "n",
        why + " (devicetree-era builds use sysbuild; child images are gone since NCS 2.9)",
    )
