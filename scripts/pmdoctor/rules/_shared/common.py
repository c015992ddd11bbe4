"""Model questions several rule families ask: which image is MCUboot, where the user set an option.

Keeping one answer per question keeps the families consistent: two rules
that disagree on "is MCUboot built" would report the same build differently.
"""

from __future__ import annotations

from typing import Dict, List, Optional

from ...model import Build, Image, Layout, Partition, Role, Setting, Source


def mcuboot_image(build: Build) -> Optional[Image]:
    """MCUboot's image when its .config was read (without it nothing about MCUboot can be judged)."""
    image = build.image("mcuboot")
    return image if image is not None and image.config else None


def mcuboot_lost_partition_manager(build: Build) -> Optional[str]:
    """The Kconfig symbol the app has and MCUboot lacks, when MCUboot was built without Partition Manager.

    Then MCUboot takes its slots from its own devicetree, not from
    ``partitions.yml``, and checks that count Partition Manager's slots
    describe a layout MCUboot does not use.
    """
    app, mcuboot = build.app, mcuboot_image(build)
    if app is None or mcuboot is None or not app.uses_partition_manager:
        return None
    if not mcuboot.uses_partition_manager:
        return "CONFIG_PARTITION_MANAGER_ENABLED"
    custom = "CONFIG_FLASH_MAP_CUSTOM"
    if app.config.enabled(custom) and not mcuboot.config.enabled(custom):
        return custom
    return None


def app_pm_layout(build: Build) -> Optional[Layout]:
    """The application core's Partition Manager layout: the generated one, else the static file."""
    layout = build.layout_for_domain(None)
    if layout is not None:
        return layout
    statics = [s.layout for s in build.static_files if s.domain is None and s.layout is not None]
    return statics[0] if statics else None


def static_layout_for(build: Build, domain: Optional[str]) -> Optional[Layout]:
    """The static file's layout for one Partition Manager domain (None: the app core)."""
    for static in build.static_files:
        if static.domain == domain and static.layout is not None:
            return static.layout
    return None


def erase_block(layout: Layout, part: Partition, default: int = 0x1000) -> int:
    """The erase block of the region holding a partition (4 KB when the layout does not say)."""
    region = layout.region_of(part)
    return region.erase_block if region is not None and region.erase_block else default


def next_power_of_two(value: int) -> int:
    """The smallest power of two >= value (at least 2): what Kconfig counts are usually set to."""
    return 1 << max(value - 1, 1).bit_length()


def _user_files_of(build: Build, image: Image) -> List[str]:
    """The user's conf fragments that feed one image."""
    keys = []
    for key in build.user_configs:
        if image.role is Role.APP and ("/" not in key or key.startswith("boards/")):
            if key != "sysbuild.conf":
                keys.append(key)
        elif key.startswith((f"child_image/{image.name}", f"sysbuild/{image.name}")):
            keys.append(key)
    return keys


def user_setting(build: Build, image: Image, symbol: str) -> Optional[Setting]:
    """Where the user set a symbol for one image: a conf fragment or `-D<image>_CONFIG_…`."""
    for key in _user_files_of(build, image):
        config = build.user_configs[key]
        if symbol in config:
            return config.settings[symbol]
    return _cache_setting(build, image, symbol)


def _cache_setting(build: Build, image: Image, symbol: str) -> Optional[Setting]:
    for key in (f"{image.name}_{symbol}", symbol if image.role is Role.APP else None):
        if key and key in build.cmake_cache:
            return Setting(symbol, build.cmake_cache[key], Source(build.path / "CMakeCache.txt"))
    return None


class UserSettings:
    """``user_setting`` for many symbols of one image: the image's fragments are merged once."""

    def __init__(self, build: Build, image: Image):
        self.build = build
        self.image = image
        self.settings: Dict[str, Setting] = {}
        for key in _user_files_of(build, image):
            for symbol, setting in build.user_configs[key].settings.items():
                self.settings.setdefault(symbol, setting)  # the first fragment that sets it wins

    def get(self, symbol: str) -> Optional[Setting]:
        setting = self.settings.get(symbol)
        return setting if setting is not None else _cache_setting(self.build, self.image, symbol)


def user_source(build: Build, image: Image, symbol: str) -> Source:
    """The user's line for a symbol when there is one, else the image's .config line."""
    user = user_setting(build, image, symbol)
    return user.source if user is not None else image.config.where(symbol)
