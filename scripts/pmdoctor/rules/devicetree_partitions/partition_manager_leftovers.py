"""PMD703 partition-manager-leftovers."""

from __future__ import annotations

import re
from typing import Iterator, List

from ...model import Build, Era, Kconfig, Setting, Source
from ...model.edits import Action, KconfigEdit, Target
from ...model.findings import Finding, Fix, Severity, Text
from .. import rule

# Partition Manager symbols. CONFIG_PM_ alone is also Zephyr power management
# (CONFIG_PM, CONFIG_PM_DEVICE ...), so only these families count.
_PM_SYMBOL = re.compile(
    r"(?:SB_CONFIG_PM_\w+|SB_CONFIG_PARTITION_MANAGER|CONFIG_PARTITION_MANAGER_ENABLED|"
    r"CONFIG_PM_(?:PARTITION_\w+|EXTERNAL_FLASH\w*|SRAM_\w+|OVERRIDE_EXTERNAL_DRIVER_CHECK|"
    r"SINGLE_IMAGE|IMAGE_NOT_BUILT_FROM_SOURCE|MCUBOOT_\w+))"
)


@rule("PMD703", "partition-manager-leftovers", Severity.WARNING, rank=20)
def partition_manager_leftovers(build: Build) -> Iterator[Finding]:
    """
    ## What it does
    In a build without Partition Manager, finds what is left of it:
    `pm_static*.yml` files in the application, a `PM_STATIC_YML_FILE` in the
    CMake cache, and Partition Manager options (`CONFIG_PM_PARTITION_*`,
    `CONFIG_PM_EXTERNAL_FLASH_*`, `SB_CONFIG_PM_*` …) still set in the
    configuration files you wrote.

    ## Why it matters
    None of them has any effect any more: the layout now comes from
    devicetree. Whoever reads the project later believes the static file or
    the size options decide the layout, edits them, and nothing changes — or
    copies them into a devicetree overlay that no longer matches the field.

    ## Example
    `SB_CONFIG_PARTITION_MANAGER=n` in `sysbuild.conf`, and `pm_static.yml`
    still in the application folder.

    ## How to fix
    Move what the static file fixed (addresses of MCUboot, the slots and
    storage) into the devicetree overlays (`west pmdoctor migrate` on the last
    PM-era build writes them), then delete the file and the options.

    Mechanical for the options: each leftover assignment is removed from the
    fragment that sets it (they have no effect, so nothing changes). Advice
    for a static file: deleting a whole file is not an edit, and what it
    fixed must first be carried into the overlays.
    """
    if build.era is not Era.DEVICETREE or build.partition_manager:
        return
    files = sorted({*build.static_candidates, *(s.path for s in build.static_files)})
    for path in files:
        yield Finding(
            message=(
                f"{path.name} is ignored: this build does not use Partition Manager, "
                "its flash layout comes from devicetree"
            ),
            location=Source(path),
            evidence=[f"Partition Manager off ({_pm_off_evidence(build)})"],
            fixes=[Fix("move its addresses into the devicetree overlays, then delete the file", path)],
            subject=(str(path.name),),
        )
    for name, config in sorted(build.user_configs.items()):
        leftovers = [
            setting
            for key, setting in config.settings.items()
            if _PM_SYMBOL.fullmatch(key) and setting.value is not False
        ]
        if not leftovers:
            continue
        yield Finding(
            message=(
                f"{name} still sets Partition Manager options that this devicetree-era build "
                f"ignores: {', '.join(s.name for s in leftovers)}"
            ),
            location=leftovers[0].source,
            evidence=[Text(f"{s.name}={s.value} (", s.source, ")") for s in leftovers],
            fixes=[_delete_lines(name, config, leftovers)],
            subject=(name, *(s.name for s in leftovers)),
        )


def _delete_lines(name: str, config: Kconfig, leftovers: List[Setting]) -> Fix:
    """Each leftover assignment removed from the fragment that holds it."""
    if config.file is None:
        return Fix("delete these lines; set sizes with devicetree partitions", config.file)
    target = Target(config.file, f"{name}, where the options are set")
    edits = tuple(KconfigEdit(target, Action.REMOVE, setting.name) for setting in leftovers)
    return Fix("delete these lines; set sizes with devicetree partitions", edits=edits)


def _pm_off_evidence(build: Build) -> str:
    sb = build.sysbuild_config
    if "SB_CONFIG_PARTITION_MANAGER" in sb:
        return Text("SB_CONFIG_PARTITION_MANAGER is not set (", sb.where("SB_CONFIG_PARTITION_MANAGER"), ")")
    return "no partitions.yml and no CONFIG_PARTITION_MANAGER_ENABLED"
