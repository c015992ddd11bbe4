"""PMD404 mcuboot-without-partition-manager."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator, List

from ...model import (
    Build,
    Image,
    LayoutKind,
    primary_slot_name,
    secondary_slot_name,
)
from ...model.findings import Finding, Fix, Severity, Text
from .. import rule
from .._shared.common import (
    mcuboot_image,
    mcuboot_lost_partition_manager,
)
from .._shared.layouts import hx


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

    Advice, not an edit: the cure is to restructure how MCUboot's options are
    passed (a replacement configuration lost NCS's own fragments, not only
    these two symbols), and which of the user's files should carry them is
    the project's choice. Setting the two symbols alone would hide the rest
    of what the replacement dropped.
    """
    missing = mcuboot_lost_partition_manager(build)
    if missing is None:
        return
    app, mcuboot = build.app, mcuboot_image(build)
    evidence = [
        Text(f"app: {missing}=y (", app.config.where(missing), ")"),
        Text(f"mcuboot: {missing} not set (", mcuboot.config.file, ")"),
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
    # The era's own fragment, not a file the cache names: a replacement configuration such as
    # mcuboot_OVERLAY_CONFIG is what lost the options in the first place.
    source = build.source_dir if build.source_dir is not None else Path(".")
    if build.sysbuild and "sysbuild/mcuboot/prj.conf" in build.user_configs:
        target = source / "sysbuild" / "mcuboot" / "prj.conf"
    else:
        target = source / ("sysbuild" if build.sysbuild else "child_image") / "mcuboot.conf"
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
