"""Fix suggestions that speak the user's era and point at the user's files.

Rules know *what* must change (a Kconfig line in an image, a sysbuild
option, a devicetree snippet); this module knows *where* that goes for the
build at hand: ``sysbuild.conf`` and ``sysbuild/mcuboot.conf`` in a sysbuild
build, ``prj.conf`` and ``child_image/mcuboot.conf`` in a child-image build,
``boards/<board>.overlay`` or ``sysbuild/mcuboot.overlay`` for devicetree.
It decides from the files the model lists (``Build.user_configs``,
``Build.user_overlays``), never from the disk.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable, Optional

from ...model import Build, Image, Role
from ...model.findings import Fix


def _source(build: Build) -> Path:
    """The application directory, or a relative path when it is unknown."""
    return Path(build.source_dir) if build.source_dir is not None else Path(".")


def _board_file_stem(build: Build) -> Optional[str]:
    if not build.board:
        return None
    return build.board.split("@", 1)[0].replace("/", "_")


def image_config_file(build: Build, image: Optional[Image]) -> Path:
    """Where the user sets a CONFIG_ option for one image, in this build's era."""
    source = _source(build)
    if image is None or image.role is Role.APP or not (build.sysbuild or build.partition_manager):
        return source / "prj.conf"
    folder = "sysbuild" if build.sysbuild else "child_image"
    # A whole configuration directory replaces the image's own prj.conf, so
    # once the user has one, options belong in it.
    own_dir = f"{folder}/{image.name}/prj.conf"
    if own_dir in build.user_configs:
        return source / own_dir
    return source / folder / f"{image.name}.conf"


def image_overlay_file(build: Build, image: Optional[Image]) -> Path:
    """Where the user puts devicetree for one image, in this build's era."""
    source = _source(build)
    board = _board_file_stem(build)
    if image is None or image.role is Role.APP or not (build.sysbuild or build.partition_manager):
        if board and f"boards/{board}.overlay" in build.user_overlays:
            return source / "boards" / f"{board}.overlay"
        return source / "app.overlay"
    folder = "sysbuild" if build.sysbuild else "child_image"
    own_boards = f"{folder}/{image.name}/boards/"
    if board and any(name.startswith(own_boards) for name in build.user_overlays):
        return source / own_boards / f"{board}.overlay"
    return source / folder / f"{image.name}.overlay"


def image_kconfig(build: Build, image: Optional[Image], lines: Iterable[str], why: str) -> Fix:
    """Set CONFIG_ options in one image."""
    path = image_config_file(build, image)
    name = image.name if image is not None else "the application"
    return Fix(f"{why} — add to {name}'s configuration", path, "\n".join(lines))


def build_option(build: Build, option: str, value: str, why: str) -> Fix:
    """A build-wide option: SB_CONFIG_ in sysbuild.conf, or the app's CONFIG_ in child-image builds.

    ``option`` is given without prefix, e.g. ``PM_EXTERNAL_FLASH_MCUBOOT_SECONDARY``.
    """
    source = _source(build)
    if build.sysbuild:
        return Fix(
            f"{why} — sysbuild forces this into every image",
            source / "sysbuild.conf",
            f"SB_CONFIG_{option}={value}",
        )
    return Fix(
        f"{why} — Partition Manager options propagate from the application",
        source / "prj.conf",
        f"CONFIG_{option}={value}",
    )


def devicetree_snippet(build: Build, image: Optional[Image], snippet: str, why: str) -> Fix:
    return Fix(why, image_overlay_file(build, image), snippet)


def sysbuild_option(build: Build, option: str, value: str, why: str) -> Fix:
    """An SB_CONFIG_ option, in sysbuild.conf even when this build is not (yet) a sysbuild build.

    For options that exist only in sysbuild, such as switching Partition
    Manager off on the way to the devicetree era.
    """
    return Fix(why, _source(build) / "sysbuild.conf", f"SB_CONFIG_{option}={value}")


def static_file(build: Build, domain: Optional[str] = None) -> Path:
    """The static layout file the build uses for a domain, else where a new one goes."""
    for static in build.static_files:
        if static.domain == domain:
            return static.path
    name = (
        "pm_static.yml"
        if domain is None
        else f"pm_static_{_board_file_stem(build) or '<board>'}_{domain}.yml"
    )
    return _source(build) / name
