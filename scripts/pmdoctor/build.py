"""Locate a build directory and assemble the :class:`~pmdoctor.model.Build` model.

Finding: Zephyr's order (``-d``, ``build.dir-fmt``, the cwd, ``./build``).
Assembling: recognise the era (child image, sysbuild, devicetree), find each
image and its ``.config``/``zephyr.dts``, the Partition Manager outputs of
each domain, and the static file in use; load each through the loaders.
A file that fails to load becomes a :class:`~pmdoctor.model.LoadProblem`
and the rest of the build is still analysed.
"""

from __future__ import annotations

import os
import re
from pathlib import Path, PurePath, PureWindowsPath
from typing import Dict, Iterable, List, Optional, Tuple

from . import soc as socs
from .inputs.scope import Environment, ReadScope, real
from .loaders import MISSING, LoadError, file_problem
from .loaders.cmake import is_build_dir, load_cmake_cache
from .loaders.devicetree import dtlib_origin, is_nor, load_devicetree
from .loaders.kconfig import load_kconfig
from .loaders.logs import Versions, load_log, version_tuple
from .loaders.overlay import load_overlay_chosen
from .loaders.partitions import layout_from_yaml, regions_from_yaml
from .loaders.schema import validate
from .loaders.sysbuild import dig, load_build_info, load_domains, pure_path
from .loaders.yamlfile import YamlDoc, load_yaml
from .model import (
    DEFAULT_PLACEMENT,
    Build,
    Devicetree,
    Era,
    Image,
    InputFile,
    Kconfig,
    LayoutKind,
    LoadProblem,
    Region,
    Source,
    StaticFile,
    domain_of_partitions_file,
)


class NoBuildDirectory(Exception):
    """No build directory could be found; the message says where we looked."""


# ------------------------------------------------------------------ locate


def find_build_dir(
    explicit: Optional[str] = None,
    dir_fmt: Optional[str] = None,
    cwd: Optional[Path] = None,
    board: Optional[str] = None,
) -> Path:
    """Pick the build directory the way ``west build`` does."""
    cwd = Path(cwd or os.getcwd())
    if explicit:
        path = real(cwd / explicit) if not Path(explicit).is_absolute() else Path(explicit)
        if not os.path.isdir(path):  # False, not an error, for a name too long for this system
            raise NoBuildDirectory(f"{explicit}: no such directory")
        if not is_build_dir(path):
            raise NoBuildDirectory(f"{explicit}: not a build directory (no CMakeCache.txt)")
        return path
    looked: List[str] = []
    if dir_fmt:
        resolved = resolve_dir_fmt(dir_fmt, cwd, board)
        if resolved is not None:
            looked.append(str(resolved))
            if is_build_dir(resolved):
                return resolved
        else:
            looked.append(f"build.dir-fmt {dir_fmt!r} (could not resolve)")
    if is_build_dir(cwd):
        return cwd
    looked.append(f"{cwd} (current directory)")
    default = cwd / "build"
    if is_build_dir(default):
        return default
    looked.append(str(default))
    raise NoBuildDirectory(
        "no build directory found (looked in: " + "; ".join(looked) + "); pass one with -d"
    )


def resolve_dir_fmt(dir_fmt: str, cwd: Path, board: Optional[str]) -> Optional[Path]:
    """Fill ``{board}``, ``{app}``, ``{source_dir}``; guess what stays unknown.

    pmdoctor has no ``-s``: the application is the cwd, as for a bare
    ``west build``, so ``{source_dir}`` is ``.`` and ``{app}`` is the cwd's
    name. As in west, the path is resolved one component at a time; at the
    first component with an unknown field, single-child directories are
    followed down until a build directory turns up.
    """
    values = {"source_dir": ".", "app": cwd.name}
    if board:
        values["board"] = board
    try:
        return (cwd / os.path.normpath(dir_fmt.format(**values))).resolve()
    except (KeyError, IndexError, ValueError):
        pass
    known = Path()
    for part in Path(dir_fmt).parts:
        try:
            known = known / part.format(**values)
        except (KeyError, IndexError, ValueError):
            return _single_child_build(cwd / known)
    return (cwd / known).resolve()


def _single_child_build(directory: Path, limit: int = 8) -> Optional[Path]:
    """Follow directories with exactly one subdirectory down to a build directory."""
    for _ in range(limit):
        try:
            children = [c for c in directory.iterdir() if c.is_dir()]
        except OSError:
            return None
        if len(children) != 1:
            return None
        directory = children[0]
        if is_build_dir(directory):
            return directory.resolve()
    return None


# -------------------------------------------------------------- assembling

_NOT_IMAGES = {"zephyr", "modules", "CMakeFiles", "Kconfig", "_sysbuild", "tfm", "bootloader"}
_KNOWN_ROLES = {"mcuboot": "mcuboot", "b0": "b0", "b0n": "b0n", "spm": "spm"}


class _Assembler:
    def __init__(self, path: Path, environment: Environment, scope: ReadScope):
        self.top = path
        self.build = Build(path=path, era=Era.DEVICETREE)
        self.recorded_source: Optional[Path] = None
        # dtlib comes only from the Zephyr tree the user's environment names.
        self.zephyr_base: Optional[Path] = environment.zephyr_base
        self.scope = scope
        self.refused: set = set()
        # Each image's name and resolved build dir, so a new one is compared in constant time.
        self.image_keys: set = set()

    # -- file loading, recording problems ---------------------------------

    def may_read(self, path: Path, named_by: str = "") -> bool:
        """Whether ``path`` lies inside what this run may read; says so once when it does not."""
        if self.scope.allows(path):
            return True
        if path not in self.refused:
            self.refused.add(path)
            by = f" (named by {named_by})" if named_by else ""
            self.build.notes.append(
                f"{path}{by} lies outside the build, the application source and the Zephyr "
                "workspace (or is a link out of them): not read"
            )
        return False

    def problem(self, error: LoadError, image: Optional[str] = None, domain: Optional[str] = None):
        self.build.problems.append(LoadProblem("unreadable", error.source, error.message, image, domain))

    def present(self, path: Path, image: Optional[str] = None, domain: Optional[str] = None) -> bool:
        """Whether a regular file this run may read is at ``path``.

        Anything else where a build file belongs (a folder, a FIFO, a device)
        is a load problem, not an absence: it hides every check of that file.
        """
        why = file_problem(path)
        if why == MISSING or not self.may_read(path):
            return False
        if why is not None:
            self.problem(LoadError(path, why), image, domain)
        return why is None

    def yaml(self, path: Path, schema: Optional[str], domain: Optional[str]) -> Optional[YamlDoc]:
        if not self.may_read(path):
            return None
        try:
            doc = load_yaml(path)
        except LoadError as error:
            self.problem(error, domain=domain)
            return None
        if schema:
            for violation in validate(doc, schema):
                self.build.problems.append(
                    LoadProblem(
                        "schema-minor" if violation.minor else "schema",
                        Source(path, violation.line),
                        violation.message,
                        domain=domain,
                    )
                )
        return doc

    def kconfig(self, path: Path, image: Optional[str] = None) -> Kconfig:
        if not self.present(path, image):
            return Kconfig()
        try:
            return load_kconfig(path)
        except LoadError as error:
            self.problem(error, image)
            return Kconfig()

    def devicetree(self, path: Path, image: str) -> Devicetree:
        if not self.present(path, image):
            return Devicetree()
        try:
            return load_devicetree(path, image, self.zephyr_base)
        except LoadError as error:
            self.problem(error, image)
            return Devicetree()

    # -- the steps ----------------------------------------------------------

    def run(self) -> Build:
        build = self.build
        try:
            if self.may_read(self.top / "CMakeCache.txt"):
                build.cmake_cache = load_cmake_cache(self.top / "CMakeCache.txt")
        except LoadError as error:
            self.problem(error)
        build.sysbuild_config = Kconfig()
        top_config = self.kconfig(self.top / "zephyr" / ".config")
        build.sysbuild = _exists(self.top / "domains.yaml") or any(
            name.startswith("SB_CONFIG_") for name in top_config.settings
        )
        if build.sysbuild:
            build.sysbuild_config = top_config
            self.sysbuild_images()
        else:
            self.child_images(top_config)
        self.build_info()
        self.generated_layouts()
        self.identify()
        self.build.source_available = self.relocate_source_dir()
        if self.build.source_available:
            self.scope = self.scope.with_root(self.build.source_dir)
        self.user_configs()
        self.user_overlays()
        self.static_files()
        self.static_candidates()
        self.complete_regions()
        return build

    def sysbuild_images(self) -> None:
        domains_file = self.top / "domains.yaml"
        images: Dict[str, Path] = {}
        default = None
        if self.present(domains_file):
            try:
                domains = load_domains(domains_file)
                images, default = domains.images, domains.default
            except LoadError as error:
                self.problem(error)
        for name, directory in list(images.items()):
            if not self.may_read(directory, "domains.yaml"):
                images[name] = self.top / name  # where sysbuild puts it, in this copy
        if not images:  # domains.yaml missing or broken: every sub-build is an image
            images = {d.name: d for d in self._subbuilds(self.top)}
        default = default or self.build.cmake_cache.get("DEFAULT_IMAGE") or next(iter(images), None)
        for name, directory in images.items():
            role = "app" if name == default else _KNOWN_ROLES.get(name, "other")
            self.add_image(name, directory, role)

    def child_images(self, app_config: Kconfig) -> None:
        self.add_image("app", self.top, "app", config=app_config)
        for directory in self._subbuilds(self.top):
            self.add_image(directory.name, directory, _KNOWN_ROLES.get(directory.name, "other"))
            # An nRF5340 net-core child carries its own children (b0n ...).
            for nested in self._subbuilds(directory):
                self.add_image(nested.name, nested, _KNOWN_ROLES.get(nested.name, "other"))

    def _subbuilds(self, directory: Path) -> List[Path]:
        found = []
        try:
            children = sorted(directory.iterdir())
        except OSError:
            return found
        here = real(directory)
        for child in children:
            if child.name in _NOT_IMAGES or not child.is_dir():
                continue
            target = real(child)
            if target == here or target in here.parents:  # a link back up the tree, not an image
                continue
            if not self.scope.allows(target):  # a link out of the build: not an image of it
                continue
            if _exists(child / "zephyr" / ".config") or _exists(child / "zephyr" / "zephyr.dts"):
                found.append(child)
        return found

    def add_image(self, name: str, directory: Path, role: str, config: Optional[Kconfig] = None):
        resolved = real(directory)
        if name in self.image_keys or resolved in self.image_keys:
            return  # a second name (symlink) for an image already loaded
        self.image_keys.update((name, resolved))
        config = config if config is not None else self.kconfig(directory / "zephyr" / ".config", name)
        image = Image(name=name, build_dir=directory, role=role, config=config)
        image.devicetree = self.devicetree(directory / "zephyr" / "zephyr.dts", name)
        signed = directory / "zephyr" / "zephyr.signed.bin"
        if file_problem(signed) is None and self.scope.allows(signed):
            image.signed_image, image.signed_image_size = signed, signed.stat().st_size
        if _is_netcore(image):
            image.domain = "CPUNET"
            if image.role == "other":
                image.role = "netcore"
        self.build.images.append(image)

    def build_info(self) -> None:
        """build_info.yml (Zephyr >= 4.0) names the user's source dir and versions."""
        for directory in [self.top] + [image.build_dir for image in self.build.images]:
            path = directory / "build_info.yml"
            if not self.present(path):
                continue
            try:
                info = load_build_info(path)
            except LoadError as error:
                self.problem(error)
                continue
            version = dig(info, "cmake", "zephyr", "version")
            if version and not self.build.zephyr_version:
                self.build.zephyr_version = str(version)
            source = dig(info, "cmake", "application", "source-dir")
            app = self.build.app
            if source and app is not None and directory == app.build_dir:
                self.build.source_dir = Path(str(source))

    def generated_layouts(self) -> None:
        directories = [(self.top, None)]
        if not self.build.sysbuild:  # child-image net core keeps its files in its own folder
            directories += [
                (image.build_dir, image.domain) for image in self.build.images if image.build_dir != self.top
            ]
        for directory, _ in directories:
            for path in sorted(directory.glob("partitions*.yml")):
                domain = domain_of_partitions_file(path.name)
                if path.name != "partitions.yml" and domain is None:
                    continue
                doc = self.yaml(path, "partitions", domain)
                if doc is None:
                    continue
                layout = layout_from_yaml(doc, LayoutKind.GENERATED, domain)
                layout.mtime = _mtime(path)
                regions_file = directory / path.name.replace("partitions", "regions", 1)
                if self.present(regions_file, domain=domain):
                    regions_doc = self.yaml(regions_file, "regions", domain)
                    if regions_doc is not None:
                        layout.regions = regions_from_yaml(regions_doc)
                self.build.layouts.append(layout)

    def identify(self) -> None:
        """Era, board, SoC, versions, the user's source directory."""
        build, cache, sb = self.build, self.build.cmake_cache, self.build.sysbuild_config
        app = build.app
        app_config = app.config if app else Kconfig()
        build.partition_manager = bool(
            build.layouts
            or sb.enabled("SB_CONFIG_PARTITION_MANAGER")
            or app_config.enabled("CONFIG_PARTITION_MANAGER_ENABLED")
        )
        if build.partition_manager:
            build.era = Era.SYSBUILD if build.sysbuild else Era.CHILD_IMAGE
            if not build.layouts:
                build.notes.append(
                    "Partition Manager is enabled but wrote no partitions.yml: its step probably "
                    "failed; the static file and each image's files are analysed instead"
                )
        build.board = (
            cache.get("BOARD")
            or cache.get("CACHED_BOARD")
            or _sb_board(sb)
            or app_config.str("CONFIG_BOARD_TARGET")
            or app_config.str("CONFIG_BOARD")
        )
        root = app.devicetree.nodes.get("/") if app else None
        build.soc = socs.normalise_soc(
            sb.str("SB_CONFIG_SOC")
            or app_config.str("CONFIG_SOC")
            or (root.compatible[-1] if root and root.compatible else None)
        )
        base = cache.get("ZEPHYR_BASE", "")
        match = re.search(r"[/\\]v(\d+\.\d+\.\d+(?:-[\w.]+)?)[/\\]", base + "/")
        if match:
            build.ncs_version = match.group(1)
        if build.source_dir is None:
            source = cache.get("APP_DIR") if build.sysbuild else cache.get("APPLICATION_SOURCE_DIR")
            if source:
                build.source_dir = Path(source)

    def relocate_source_dir(self) -> bool:
        """Build directories get moved and shared; find the app sources next to this one.

        When the recorded source directory does not exist here, the usual
        layout (``<app>/build``) puts it one level up; accept that when it
        looks like an application (a CMakeLists.txt or prj.conf). A folder
        is only used when this run may read it. Returns whether the sources
        are here to read.
        """
        recorded = self.build.source_dir
        self.recorded_source = recorded
        if recorded is not None and _is_application(Path(recorded)) and self.scope.may_take(Path(recorded)):
            return True
        candidate = self.top.parent
        looks_like_app = _is_application(candidate) or (candidate / "prj.conf").is_file()
        if looks_like_app and self.scope.may_take(candidate):
            if recorded is not None:
                self.build.notes.append(
                    f"application source {recorded} is not on this machine; using {candidate}"
                )
            self.build.source_dir = candidate
            return True
        if recorded is not None and os.path.isdir(recorded):
            why = "holds no CMakeLists.txt" if self.scope.grows else "was not given"
            self.build.notes.append(f"application source {recorded} {why}: not read")
        return False

    def user_configs(self) -> None:
        """The Kconfig fragments the user wrote, so fixes can name the line to change."""
        source = self.build.source_dir
        if source is None or not self.build.source_available:
            return
        patterns = (
            "*.conf",
            "sysbuild/*.conf",
            "sysbuild/*/*.conf",
            "sysbuild/*/boards/*.conf",
            "child_image/*.conf",
            "child_image/*/*.conf",
            "boards/*.conf",
        )
        for pattern in patterns:
            for path in sorted(Path(source).glob(pattern)):
                key = path.relative_to(source).as_posix()
                if key not in self.build.user_configs and path.is_file():  # the user's files, not outputs
                    self.build.user_configs[key] = self.kconfig(path)

    def user_overlays(self) -> None:
        """Chosen properties of the user's overlays, so fixes can name the line to change."""
        source = self.build.source_dir
        if source is None or not self.build.source_available:
            return
        patterns = (
            "*.overlay",
            "boards/*.overlay",
            "sysbuild/*.overlay",
            "sysbuild/*/*.overlay",
            "sysbuild/*/boards/*.overlay",
            "child_image/*.overlay",
            "child_image/*/*.overlay",
            "child_image/*/boards/*.overlay",
        )
        seen: set = set()
        for pattern in patterns:
            for path in sorted(Path(source).glob(pattern)):
                if path in seen or not path.is_file():
                    continue
                seen.add(path)
                if not self.may_read(path):
                    continue
                self.build.user_overlays.append(path.relative_to(source).as_posix())
                try:
                    self.build.user_chosen.extend(load_overlay_chosen(path))
                except LoadError as error:
                    self.problem(error)

    def static_files(self) -> None:
        """The pm_static file(s) Partition Manager used or would use."""
        if not (self.build.partition_manager or self.build.cmake_cache.get("PM_STATIC_YML_FILE")):
            return
        for path, domain, how in self._static_candidates():
            doc = self.yaml(path, "pm_static", domain)
            layout = layout_from_yaml(doc, LayoutKind.STATIC, domain) if doc else None
            if layout is not None:
                layout.mtime = _mtime(path)
                generated = self.build.layout_for_domain(domain)
                layout.regions = dict(generated.regions) if generated else {}
            self.build.static_files.append(StaticFile(path, domain, layout, how))

    def _static_candidates(self) -> Iterable[Tuple[Path, Optional[str], str]]:
        cache = self.build.cmake_cache
        seen: set = set()
        named_elsewhere = False
        for key, value in sorted(cache.items()):
            match = re.fullmatch(r"(?:(\w+)_)?PM_STATIC_YML_FILE", key)
            if not match or not value:
                continue
            path = self._local_static_path(value)
            if path is not None and _exists(path) and path not in seen:
                seen.add(path)
                if not self.may_read(path, f"{key} in CMakeCache.txt"):
                    named_elsewhere = True
                    continue
                domain = "CPUNET" if match.group(1) and "net" in match.group(1).lower() else None
                yield path, domain, f"{key} in CMakeCache.txt"
            elif path is None or not _exists(path):
                named_elsewhere = True
                self.build.notes.append(
                    f"the static layout {value} named by {key} in CMakeCache.txt is not on this machine"
                )
        # The build used the file the cache names: another pm_static.yml in
        # the source dir was not used and must not be analysed in its place.
        if seen or named_elsewhere:
            return
        source = self.build.source_dir
        if source is None or not self.build.source_available:
            return
        for name in static_file_names(self.build.board, cache):
            path = source / name
            if _exists(path):  # even a folder or FIFO: it is reported, not passed over for the next name
                yield path, None, "application source directory"
                return

    def _local_static_path(self, value: str) -> Optional[Path]:
        """Where a static file recorded in the cache is on this machine, if anywhere.

        Relative paths are relative to the application directory; absolute
        ones recorded below the original application directory are looked
        up below the relocated one.
        """
        source = self.build.source_dir
        if not pure_path(value).is_absolute():
            return Path(source) / value if source is not None else None
        if _exists(Path(value)):
            return Path(value)
        recorded = self.recorded_source
        if recorded is None or source is None or Path(source) == Path(recorded):
            return None
        try:
            relative = pure_path(value).relative_to(pure_path(str(recorded)))
        except ValueError:
            return None
        return Path(source).joinpath(*relative.parts)

    def static_candidates(self) -> None:
        """List every pm_static* file of the source tree; rules decide which one counts."""
        source = self.build.source_dir
        if source is None or not self.build.source_available:
            return
        folders = ("", "sysbuild/", "sysbuild/*/", "child_image/", "child_image/*/", "boards/")
        folders += ("boards/*/", "boards/*/*/", "configuration/*/")
        found = set()
        for folder in folders:
            for path in Path(source).glob(folder + "pm_static*"):
                if path.is_file() and path.suffix in (".yml", ".yaml") and self.scope.allows(path):
                    found.add(path)
        self.build.static_candidates = sorted(found)

    def complete_regions(self) -> None:
        """Fill region bounds and erase blocks that regions.yml does not give."""
        for layout in self.build.layouts + [s.layout for s in self.build.static_files if s.layout]:
            images = self.build.images_in_domain(layout.domain)
            main = next((i for i in images if i.role in ("app", "netcore")), images[0] if images else None)
            for name in set(layout.regions) | {p.region for p in layout.partitions.values()}:
                region = layout.regions.get(name) or Region(
                    name=name, placement_strategy=DEFAULT_PLACEMENT.get(name, "complex")
                )
                _complete_region(region, main, self.build.soc, layout.domain)
                layout.regions[name] = region


def _is_application(folder: Path) -> bool:
    """A Zephyr application folder: every one has a CMakeLists.txt."""
    try:
        return (folder / "CMakeLists.txt").is_file()
    except OSError:
        return False


def _exists(path: Path) -> bool:
    """Something is at ``path`` (a file, or something where a file should be); links are followed."""
    return file_problem(path) != MISSING


def _mtime(path: Path) -> Optional[float]:
    try:
        return path.stat().st_mtime
    except OSError:
        return None


def _is_netcore(image: Image) -> bool:
    soc = image.config.str("CONFIG_SOC") or ""
    return (
        image.config.enabled("CONFIG_SOC_NRF5340_CPUNET")
        or "cpunet" in soc.lower()
        or (image.config.enabled("CONFIG_SOC_NRF5340_CPUNET_QKAA"))
    )


def _sb_board(sb: Kconfig) -> Optional[str]:
    board = sb.str("SB_CONFIG_BOARD")
    qualifiers = sb.str("SB_CONFIG_BOARD_QUALIFIERS")
    if board and qualifiers:
        return f"{board}/{qualifiers}"
    return board


def _complete_region(region: Region, image: Optional[Image], soc: Optional[str], domain) -> None:
    facts = socs.facts("nrf5340_cpunet" if domain == "CPUNET" else soc)
    tree = image.devicetree if image else Devicetree()
    config = image.config if image else Kconfig()
    if region.name == "flash_primary":
        flash = tree.chosen_node("zephyr,flash")
        if flash is not None:
            erase, write = flash.props.get("erase-block-size"), flash.props.get("write-block-size")
            region.erase_block = region.erase_block or (erase if isinstance(erase, int) else None)
            region.write_block = region.write_block or (write if isinstance(write, int) else None)
            if region.size is None and flash.reg:
                region.base, region.size = flash.reg[0]
                region.origin = f"reg of devicetree node {flash.label}"
        if region.size is None and config.int("CONFIG_FLASH_SIZE"):
            region.base = config.int("CONFIG_FLASH_BASE_ADDRESS") or 0
            region.size = config.int("CONFIG_FLASH_SIZE") * 1024
            region.origin = "CONFIG_FLASH_SIZE"
        if facts is not None:
            region.erase_block = region.erase_block or facts.erase_block
            region.write_block = region.write_block or facts.write_block
    elif region.name == "external_flash":
        chip = tree.chosen_node("nordic,pm-ext-flash")
        if region.size is None and chip is not None and isinstance(chip.props.get("size"), int):
            region.base = 0
            region.size = chip.props["size"] // 8
            region.origin = f"size of {chip.label} (bits / 8)"
        region.device = region.device or (chip.path if chip is not None and is_nor(chip) else None)
        region.erase_block = region.erase_block or 4096
        region.write_block = region.write_block or 1
    elif region.name == "sram_primary" and region.size is None:
        if config.int("CONFIG_PM_SRAM_SIZE"):
            region.base = config.int("CONFIG_PM_SRAM_BASE")
            region.size = config.int("CONFIG_PM_SRAM_SIZE")
            region.origin = "CONFIG_PM_SRAM_SIZE"
        elif config.int("CONFIG_SRAM_SIZE"):
            region.base = config.int("CONFIG_SRAM_BASE_ADDRESS")
            region.size = config.int("CONFIG_SRAM_SIZE") * 1024
            region.origin = "CONFIG_SRAM_SIZE"


def normalised_board(board: Optional[str]) -> Optional[str]:
    """``nrf5340dk/nrf5340/cpuapp`` -> ``nrf5340dk_nrf5340_cpuapp`` (static-file naming)."""
    if not board:
        return None
    board = board.split("@", 1)[0]
    return board.replace("/", "_")


def static_file_names(board: Optional[str], cache: Dict[str, str]) -> List[str]:
    """Partition Manager's search order for the static file in the app directory."""
    names = []
    norm = normalised_board(board)
    revision = cache.get("BOARD_REVISION") or ""
    suffix = cache.get("FILE_SUFFIX") or cache.get("CONF_FILE_BUILD_TYPE") or ""
    if norm:
        if revision and suffix:
            names.append(f"pm_static_{norm}_{revision}_{suffix}.yml")
        if revision:
            names.append(f"pm_static_{norm}_{revision}.yml")
        if suffix:
            names.append(f"pm_static_{norm}_{suffix}.yml")
        names.append(f"pm_static_{norm}.yml")
    if suffix:
        names.append(f"pm_static_{suffix}.yml")
    names.append("pm_static.yml")
    return names


def load_build(
    path: Path,
    environment: Optional[Environment] = None,
    scope: Optional[ReadScope] = None,
) -> Build:
    """Load everything pmdoctor reads from one build directory.

    ``environment`` names the trusted Zephyr tree (default: from
    ``$ZEPHYR_BASE``); ``scope`` is what may be read (default: the build, its
    application source and the environment's workspace; triage passes the
    attachments only).
    """
    top = Path(path)
    # `-d build/app` inside a sysbuild tree: analyse the whole sysbuild build.
    parent = top.parent
    if not (top / "domains.yaml").is_file() and (parent / "domains.yaml").is_file():
        top = parent
    environment = environment if environment is not None else Environment.detect()
    if scope is None:
        scope = ReadScope.of([top, *environment.trusted_roots()])
    assembler = _Assembler(top, environment, scope)
    build = assembler.run()
    _say_which_parser(build, environment)
    return build


def _say_which_parser(build: Build, environment: Environment) -> None:
    """When the build's own Zephyr is on this machine but did not parse it, say which parser did.

    (A build made elsewhere names a Zephyr that is not here: nothing to say.)
    """
    recorded = build.cmake_cache.get("ZEPHYR_BASE")
    if not recorded or not any(image.devicetree.file for image in build.images):
        return
    if not os.path.isdir(Path(recorded) / "scripts" / "dts"):  # a recorded path may be any text
        return
    if environment.zephyr_base is not None and real(Path(recorded)) == environment.zephyr_base:
        return
    build.notes.append(
        f"devicetree read with {dtlib_origin(environment.zephyr_base)}, not with the build's Zephyr "
        f"({recorded}): pmdoctor runs code only from the Zephyr tree $ZEPHYR_BASE names"
    )


def display_path(path: Optional[PurePath], cwd: Optional[Path] = None) -> str:
    """Relative to the cwd when below it, so messages and SARIF stay short and stable."""
    if path is None:
        return ""
    if isinstance(path, PureWindowsPath):
        return str(path)
    if not Path(path).is_absolute():
        return str(path)
    try:
        return str(Path(path).relative_to(cwd or Path.cwd()))
    except ValueError:
        return str(path)


def attach_logs(build: Build, logs: Iterable[Path]) -> None:
    """``--log FILE`` in build-directory mode: recognise the lines into ``build.symptoms``.

    A log is one more input of the build, so it is loaded here like the rest;
    an unreadable one becomes a load problem (PMD001).
    """
    versions = Versions(version_tuple(build.ncs_version), version_tuple(build.zephyr_version))
    for path in logs:
        try:
            log = load_log(path, versions)
        except LoadError as error:
            build.problems.append(LoadProblem("unreadable", error.source, error.message))
            build.inputs.append(InputFile(path, "", error.message))
            continue
        build.symptoms.extend(log.symptoms)
        build.inputs.append(InputFile(path, "log", log.describe()))
        if log.omitted:  # the text report lists no inputs: say here that lines were counted, not quoted
            build.notes.append(f"{path}: {log.describe()}")
