"""PMD304 option-at-wrong-level."""

from __future__ import annotations

from typing import Iterator, List

from ...model import Build
from ...model.findings import Finding, Severity, Text
from .. import rule
from .._shared import targets as fixes
from .._shared.common import app_pm_layout
from ._common import EXT, OVERRIDE, setting_words

SECONDARY_OPTION = "PM_EXTERNAL_FLASH_MCUBOOT_SECONDARY"


@rule("PMD304", "option-at-wrong-level", Severity.ERROR, rank=90)
def option_at_wrong_level(build: Build) -> Iterator[Finding]:
    """
    ## What it does
    In sysbuild builds, looks for `CONFIG_PM_EXTERNAL_FLASH_MCUBOOT_SECONDARY`
    and `CONFIG_PM_OVERRIDE_EXTERNAL_DRIVER_CHECK` set in an image's
    configuration files (`prj.conf`, `sysbuild/mcuboot.conf` …) while the
    sysbuild option `SB_CONFIG_…` is not set; and for a `mcuboot_secondary`
    that a static file keeps in external flash although
    `SB_CONFIG_PM_EXTERNAL_FLASH_MCUBOOT_SECONDARY` is not set.

    ## Why it matters
    Sysbuild forces these options into every image from its own
    configuration: the value in the image's file is overwritten. The
    secondary slot then goes back to internal flash (the update no longer
    fits, or the application and MCUboot disagree), or, with a static file
    holding it off-chip, every image is built as if the slot were internal
    and only the static file keeps it where it is.

    ## Example
    `prj.conf` has `CONFIG_PM_EXTERNAL_FLASH_MCUBOOT_SECONDARY=y`;
    `build/zephyr/.config` (sysbuild) has
    `# SB_CONFIG_PM_EXTERNAL_FLASH_MCUBOOT_SECONDARY is not set`;
    `partitions.yml` puts `mcuboot_secondary` in `flash_primary`.

    ## How to fix
    Set the options in `sysbuild.conf`:

    ```
    SB_CONFIG_PM_EXTERNAL_FLASH_MCUBOOT_SECONDARY=y
    SB_CONFIG_PM_OVERRIDE_EXTERNAL_DRIVER_CHECK=y   # only for non-QSPI drivers
    ```

    and remove them from the image configuration files.

    Mechanical when checked: the option goes into `sysbuild.conf` (sysbuild) or the application's fragment
    (child images).
    """
    if not build.sysbuild or not build.partition_manager:
        return
    for option in (SECONDARY_OPTION, OVERRIDE):
        yield from _overwritten(build, option)
    yield from _static_only_secondary(build)


def _overwritten(build: Build, option: str) -> Iterator[Finding]:
    sb_name = f"SB_CONFIG_{option}"
    if build.sysbuild_config.enabled(sb_name):
        return
    for key, config in sorted(build.user_configs.items()):
        if key == "sysbuild.conf" or not config.enabled(f"CONFIG_{option}"):
            continue
        layout = app_pm_layout(build)
        secondary = layout.get("mcuboot_secondary") if layout else None
        effect = ""
        if option == SECONDARY_OPTION and secondary is not None and secondary.region != EXT:
            effect = f"; partitions.yml keeps mcuboot_secondary in {secondary.region} " + Text(
                "(", secondary.source, ")"
            )
        yield Finding(
            message=f"{key} sets CONFIG_{option}=y, but in a sysbuild build {sb_name} decides and it "
            f"is not set, so the image value was overwritten{effect}",
            location=config.where(f"CONFIG_{option}"),
            evidence=[_sb_state(build, sb_name), *_image_values(build, f"CONFIG_{option}")],
            fixes=[fixes.build_option(build, option, "y", f"set {option} where sysbuild reads it")],
            subject=("wrong-level", option, key),
        )


def _static_only_secondary(build: Build) -> Iterator[Finding]:
    sb_name = f"SB_CONFIG_{SECONDARY_OPTION}"
    if sb_name not in build.sysbuild_config or build.sysbuild_config.enabled(sb_name):
        return  # older sysbuild without the option, or set as it should be
    layout = app_pm_layout(build)
    secondary = layout.get("mcuboot_secondary") if layout else None
    if secondary is None or secondary.region != EXT:
        return
    statics = [s for s in build.static_files if s.domain is None]
    placed_by = f"the static file {statics[0].path}" if statics else "a static layout"
    yield Finding(
        message=f"mcuboot_secondary is in external flash only because {placed_by} puts it there: "
        f"{sb_name} is not set, so every image was built with CONFIG_{SECONDARY_OPTION} off "
        "and treats the secondary slot as internal",
        location=secondary.source,
        severity=Severity.WARNING,
        evidence=[_sb_state(build, sb_name), *_image_values(build, f"CONFIG_{SECONDARY_OPTION}")],
        fixes=[fixes.build_option(build, SECONDARY_OPTION, "y", "say what the static layout does")],
        subject=("wrong-level", "static-secondary"),
    )


def _sb_state(build: Build, name: str) -> str:
    config = build.sysbuild_config
    state = "is not set" if name in config else "is absent"
    return Text(f"{name} {state} (", config.where(name), ")")


def _image_values(build: Build, name: str) -> List[str]:
    return [
        f"image '{image.name}': " + setting_words(build, image, name)
        for image in build.images
        if image.domain is None and name in image.config
    ]
