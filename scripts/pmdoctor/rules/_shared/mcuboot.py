"""MCUboot facts several families read: the upgrade mode the build selects."""

from __future__ import annotations

from typing import Optional

from ...model import Build, Role


def swap_mode(build: Build) -> Optional[str]:
    """ "move", "offset", "scratch", "overwrite" or None, from MCUboot's or sysbuild's Kconfig."""
    sb = build.sysbuild_config
    mcuboot = build.image("mcuboot")
    sources = [mcuboot.config] if mcuboot else []
    sources += [image.config for image in build.images if image.role is Role.APP]
    for config in sources:
        for mode in ("MOVE", "OFFSET", "SCRATCH"):
            if config.enabled(f"CONFIG_BOOT_SWAP_USING_{mode}"):
                return mode.lower()
        if config.enabled("CONFIG_BOOT_UPGRADE_ONLY"):
            return "overwrite"
    for mode in ("MOVE", "OFFSET", "SCRATCH"):
        if sb.enabled(f"SB_CONFIG_MCUBOOT_MODE_SWAP_USING_{mode}") or sb.enabled(
            f"SB_CONFIG_MCUBOOT_MODE_SWAP_{mode}"
        ):
            return mode.lower()
    # NCS 2.6-2.9 spell swap-using-move this way.
    if sb.enabled("SB_CONFIG_MCUBOOT_MODE_SWAP_WITHOUT_SCRATCH"):
        return "move"
    if sb.enabled("SB_CONFIG_MCUBOOT_MODE_OVERWRITE_ONLY"):
        return "overwrite"
    return app_declared_mode(build)


# The mode an application is signed for (Zephyr's CONFIG_MCUBOOT_BOOTLOADER_MODE_*): when
# MCUboot is built elsewhere, the only word on the mode it must run.
_APP_MODES = {
    "CONFIG_MCUBOOT_BOOTLOADER_MODE_SWAP_USING_MOVE": "move",
    "CONFIG_MCUBOOT_BOOTLOADER_MODE_SWAP_WITHOUT_SCRATCH": "move",
    "CONFIG_MCUBOOT_BOOTLOADER_MODE_SWAP_USING_OFFSET": "offset",
    "CONFIG_MCUBOOT_BOOTLOADER_MODE_SWAP_SCRATCH": "scratch",
    "CONFIG_MCUBOOT_BOOTLOADER_MODE_OVERWRITE_ONLY": "overwrite",
}


def app_declared_mode(build: Build) -> Optional[str]:
    """The swap mode the application's Kconfig says MCUboot runs, or None."""
    for image in build.images:
        if image.role is Role.APP:
            for symbol, mode in _APP_MODES.items():
                if image.config.enabled(symbol):
                    return mode
    return None
