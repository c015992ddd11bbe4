"""Find the build directory, and list the files of it that pmdoctor reads.

Finding follows ``west build``: ``-d``, then ``build.dir-fmt``, then the
current directory, then ``./build``. Listing turns one build directory into
an :class:`~pmdoctor.inputs.kinds.InputSet`: the CMake cache, sysbuild's
``domains.yaml``, every image's ``.config`` and ``zephyr.dts``, Partition
Manager's outputs, the static files the cache names or the application
source holds, and the user's Kconfig fragments and overlays. To know where
those are, a few index files are read here (the cache, ``domains.yaml``, the
application's ``build_info.yml``); everything else is only listed, and
:mod:`pmdoctor.assemble` loads it.

Build directories get moved, zipped and attached to forum posts, so paths
they record are mapped into this copy where they no longer exist, and no
path they record is read unless :class:`~pmdoctor.inputs.scope.ReadScope`
allows it.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from ..loaders import MISSING, LoadError, file_problem, read_text
from ..loaders.cmake import is_build_dir, parse_cmake_cache
from ..loaders.sysbuild import dig, load_build_info, load_domains, pure_path
from ..model.findings import Text
from .kinds import ImageDir, Input, InputKind, InputSet, domain_of
from .scope import ReadScope, real


class NoBuildDirectory(Exception):
    """No build directory could be found; the message says where we looked."""


# ------------------------------------------------------------------ finding


def find_build_dir(
    explicit: Optional[str] = None,
    dir_fmt: Optional[str] = None,
    cwd: Optional[Path] = None,
    board: Optional[str] = None,
    command: str = "pmdoctor",
) -> Path:
    """Pick the build directory the way ``west build`` does (``command``: how hints name pmdoctor)."""
    cwd = Path(cwd or os.getcwd())
    if explicit:
        path = real(cwd / explicit) if not Path(explicit).is_absolute() else Path(explicit)
        if not os.path.isdir(path):  # False, not an error, for a name too long for this system
            raise NoBuildDirectory(_not_a_directory(explicit, path, command))
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


def _not_a_directory(given: str, path: Path, command: str) -> str:
    """Why ``-d`` cannot be a build directory, with the command that fits a loose layout file."""
    if not os.path.exists(path):  # missing, a dangling link or a link loop
        return f"{given}: no such directory"
    if not os.path.isfile(path):
        return f"{given}: not a directory"
    message = f"{given}: is a file, not a build directory"
    if _LAYOUT_FILE.fullmatch(Path(path).name):
        message += f" (to check a loose layout file: {command} triage {given})"
    return message


# Partition Manager files people pass to -d by mistake: triage reads them on their own.
_LAYOUT_FILE = re.compile(r"(?:partitions|pm_static|regions)\w*\.ya?ml", re.IGNORECASE)


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
        return real(cwd / os.path.normpath(dir_fmt.format(**values)))
    except (KeyError, IndexError, ValueError):
        pass
    known = Path()
    for part in Path(dir_fmt).parts:
        try:
            known = known / part.format(**values)
        except (KeyError, IndexError, ValueError):
            return _single_child_build(cwd / known)
    return real(cwd / known)


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
            return real(directory)
    return None


def build_top(path: Path) -> Path:
    """``-d build/app`` inside a sysbuild tree means the whole sysbuild build."""
    top = Path(path)
    if not (top / "domains.yaml").is_file() and (top.parent / "domains.yaml").is_file():
        return top.parent
    return top


# ---------------------------------------------------------------- discovery

# Folders never searched for builds (besides hidden ones): caches and package trees.
_NOT_SEARCHED = {"node_modules", "__pycache__"}
# Deeper than any twister-out/ or workspace layout; a bound against pathological nesting.
_MAX_DEPTH = 64


def find_build_dirs(root: Path, unreadable: Optional[List[Path]] = None) -> List[Path]:
    """Every build directory at or below ``root`` (``--recursive``), each once, sorted.

    A build directory is not searched further: the image folders of a sysbuild
    build or a child-image build are part of it, not builds of their own, and
    ``twister-out/<platform>/<suite>/<test>/`` holds one build per test.
    Hidden folders (``.git``, ``.west``, ``.venv``) are skipped. A symbolic
    link to a folder counts only when it points at a build directory: links
    are never walked, so no link loop and no link out into an unrelated tree
    (the SDK, the home directory) is searched, and a build reached through
    several links is listed once. Folders that cannot be listed are appended
    to ``unreadable`` when given.
    """
    root = Path(root)
    if is_build_dir(root):
        return [build_top(root)]  # an image folder of a sysbuild build means the whole build
    found: Dict[Path, Path] = {}
    stack: List[Tuple[Path, bool, int]] = [(root, False, 0)]
    while stack:
        directory, through_link, depth = stack.pop()
        try:
            with os.scandir(directory) as listing:
                entries = list(listing)
        except OSError:
            if unreadable is not None and not through_link:
                unreadable.append(directory)
            continue
        if directory != root and _holds_build(directory, entries):
            found.setdefault(real(directory), directory)
            continue
        if through_link or depth >= _MAX_DEPTH:
            continue
        for entry in entries:
            if entry.name.startswith(".") or entry.name in _NOT_SEARCHED:
                continue
            try:
                if entry.is_dir(follow_symlinks=False):
                    stack.append((Path(entry.path), False, depth + 1))
                elif entry.is_symlink() and entry.is_dir():
                    stack.append((Path(entry.path), True, depth + 1))
            except OSError:  # vanished meanwhile, or a link loop
                continue
    return sorted(found.values(), key=lambda path: path.parts)


def _holds_build(directory: Path, entries: List[os.DirEntry]) -> bool:
    """A build directory, judged from its listing (no further system call in the common case)."""
    for entry in entries:
        if entry.name == "CMakeCache.txt":
            return not entry.is_symlink() or is_build_dir(directory)
    return False


def build_key(path: Path) -> Path:
    """What makes two build directories the same build: ``-d build`` and ``-d build/mcuboot``
    of a sysbuild build, or two links to one folder, share it."""
    return real(build_top(Path(path)))


# ------------------------------------------------------------------ listing

# Folders of a build directory that are never an image's build.
_NOT_IMAGES = {"zephyr", "modules", "CMakeFiles", "Kconfig", "_sysbuild", "tfm", "bootloader"}

# Where the user's Kconfig fragments and overlays live in an application (NCS conventions).
_CONF_PATTERNS = (
    "*.conf",
    "sysbuild/*.conf",
    "sysbuild/*/*.conf",
    "sysbuild/*/boards/*.conf",
    "child_image/*.conf",
    "child_image/*/*.conf",
    "boards/*.conf",
)
_OVERLAY_PATTERNS = (
    "*.overlay",
    "boards/*.overlay",
    "sysbuild/*.overlay",
    "sysbuild/*/*.overlay",
    "sysbuild/*/boards/*.overlay",
    "child_image/*.overlay",
    "child_image/*/*.overlay",
    "child_image/*/boards/*.overlay",
)
_STATIC_FOLDERS = (
    "",
    "sysbuild/",
    "sysbuild/*/",
    "child_image/",
    "child_image/*/",
    "boards/",
    "boards/*/",
    "boards/*/*/",
    "configuration/*/",
)
_STATIC_KEY = re.compile(r"(?:(\w+)_)?PM_STATIC_YML_FILE")
# Provenance of the pm_static* files found in the application source, used or not.
SOURCE_CANDIDATE = "pm_static file in the application source"


def locate_build(path: Path, scope: Optional[ReadScope] = None) -> InputSet:
    """Every file pmdoctor reads from one build directory, as recognised inputs."""
    top = build_top(path)
    return _Locator(top, scope or ReadScope.of([top])).run()


class _Locator:
    def __init__(self, top: Path, scope: ReadScope):
        self.top = top
        self.scope = scope
        self.found = InputSet(root=top, complete=True)
        self.cache: Dict[str, str] = {}
        self.refused: set = set()
        # Each image's name and resolved folder, so a new one is compared in constant time.
        self.image_keys: set = set()

    def may_read(self, path: Path, named_by: str = "") -> bool:
        """Whether ``path`` lies inside what this run may read; says so once when it does not."""
        if self.scope.allows(path):
            return True
        if path not in self.refused:
            self.refused.add(path)
            by = f" (named by {named_by})" if named_by else ""
            self.found.notes.append(
                Text(
                    path,
                    f"{by} lies outside the build, the application source and the Zephyr "
                    "workspace (or is a link out of them): not read",
                )
            )
        return False

    def add(self, path: Path, kind: InputKind, **details) -> Optional[Input]:
        """List ``path`` when something is there and this run may read it."""
        if not _present(path) or not self.may_read(path, details.pop("named_by", "")):
            return None
        item = Input(path, kind, provenance=details.pop("provenance", "build directory"), **details)
        self.found.inputs.append(item)
        return item

    def text(self, item: Optional[Input]) -> str:
        """The content of an index file, kept on the input so it is read once."""
        if item is None:
            return ""
        if item.text is None:
            try:
                item.text = read_text(item.path)
            except LoadError:
                return ""  # the assembler reads it again and reports why it cannot
        return item.text

    def run(self) -> InputSet:
        cache = self.add(self.top / "CMakeCache.txt", InputKind.CMAKE_CACHE)
        self.cache = parse_cmake_cache(self.text(cache))
        top_config = self.top / "zephyr" / ".config"
        sysbuild = _present(self.top / "domains.yaml") or "SB_CONFIG_" in self._peek(top_config)
        if sysbuild:
            self.add(top_config, InputKind.SYSBUILD_CONFIG)
            self.sysbuild_images()
        else:
            self.child_images()
        for image in self.found.images:
            self.image_files(image)
        self.generated_layouts(sysbuild)
        self.source_dir()
        self.static_files()
        self.user_files()
        return self.found

    def _peek(self, path: Path) -> str:
        if not path.is_file() or not self.scope.allows(path):
            return ""
        try:
            return read_text(path)
        except LoadError:
            return ""

    # -- images -------------------------------------------------------------

    def sysbuild_images(self) -> None:
        domains_file = self.add(self.top / "domains.yaml", InputKind.DOMAINS)
        images: Dict[str, Path] = {}
        default = None
        if domains_file is not None:
            try:
                domains = load_domains(domains_file.path)
                images, default = domains.images, domains.default
            except LoadError:
                pass  # the assembler loads it again and reports the problem
        for name, directory in list(images.items()):
            if not self.may_read(directory, "domains.yaml"):
                images[name] = self.top / name  # where sysbuild puts it, in this copy
        if not images:  # domains.yaml missing or broken: every sub-build is an image
            images = {d.name: d for d in self._subbuilds(self.top)}
        default = default or self.cache.get("DEFAULT_IMAGE") or next(iter(images), None)
        for name, directory in images.items():
            self.image(name, directory, name == default)

    def child_images(self) -> None:
        self.image("app", self.top, True)
        for directory in self._subbuilds(self.top):
            self.image(directory.name, directory)
            # An nRF5340 net-core child carries its own children (b0n ...).
            for nested in self._subbuilds(directory):
                self.image(nested.name, nested)

    def image(self, name: str, directory: Path, default: bool = False) -> None:
        resolved = real(directory)
        if name in self.image_keys or resolved in self.image_keys:
            return  # a second name (symlink) for an image already listed
        self.image_keys.update((name, resolved))
        self.found.images.append(ImageDir(name, directory, default))

    def _subbuilds(self, directory: Path) -> List[Path]:
        found: List[Path] = []
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
            if _present(child / "zephyr" / ".config") or _present(child / "zephyr" / "zephyr.dts"):
                found.append(child)
        return found

    def image_files(self, image: ImageDir) -> None:
        zephyr = image.path / "zephyr"
        if image.path != self.top:  # the image's own cache: which fragments and overlays it read
            self.add(image.path / "CMakeCache.txt", InputKind.CMAKE_CACHE, image=image.name)
        self.add(zephyr / ".config", InputKind.CONFIG, image=image.name)
        self.add(zephyr / "zephyr.dts", InputKind.ZEPHYR_DTS, image=image.name)
        signed = zephyr / "zephyr.signed.bin"
        if file_problem(signed) is None:
            self.add(signed, InputKind.SIGNED_IMAGE, image=image.name)

    # -- Partition Manager's outputs ----------------------------------------

    def generated_layouts(self, sysbuild: bool) -> None:
        directories = [self.top]
        if not sysbuild:  # child-image net core keeps its files in its own folder
            directories += [image.path for image in self.found.images if image.path != self.top]
        for directory in directories:
            for path in sorted(directory.glob("partitions*.yml")):
                domain = domain_of(path.name)
                if path.name != "partitions.yml" and domain is None:
                    continue
                if self.add(path, InputKind.PARTITIONS, domain=domain) is None:
                    continue
                regions = directory / path.name.replace("partitions", "regions", 1)
                if _present(regions):
                    self.add(regions, InputKind.REGIONS, domain=domain)

    # -- the application's sources --------------------------------------------

    def source_dir(self) -> None:
        """The application source: build_info.yml, else the cache; relocated next to a moved build."""
        recorded = self._build_info_source()
        if recorded is None:
            sysbuild = self.found.first(InputKind.SYSBUILD_CONFIG) is not None or self.found.first(
                InputKind.DOMAINS
            )
            source = self.cache.get("APP_DIR") if sysbuild else self.cache.get("APPLICATION_SOURCE_DIR")
            recorded = Path(source) if source else None
        self.found.recorded_source = recorded
        if recorded is not None and _is_application(recorded) and self.scope.may_take(recorded):
            self.found.source_dir = recorded
        else:
            self.found.source_dir = self._relocated(recorded)
        if self.found.source_dir is not None:
            self.scope = self.scope.with_root(self.found.source_dir)

    def _build_info_source(self) -> Optional[Path]:
        """build_info.yml (Zephyr >= 4.0) in the application's build folder names its sources."""
        app = next((image for image in self.found.images if image.default), None)
        directories = [self.top] + [image.path for image in self.found.images]
        source = None
        for directory in dict.fromkeys(directories):
            item = self.add(directory / "build_info.yml", InputKind.BUILD_INFO)
            if item is None or app is None or directory != app.path:
                continue
            try:
                value = dig(load_build_info(item.path), "cmake", "application", "source-dir")
            except LoadError:
                continue
            source = Path(str(value)) if value else source
        return source

    def _relocated(self, recorded: Optional[Path]) -> Optional[Path]:
        """When the recorded sources are not here, the usual ``<app>/build`` layout puts them one up."""
        candidate = self.top.parent
        # A folder that holds only the static layout beside the build still is the application's.
        looks_like_app = (
            _is_application(candidate)
            or (candidate / "prj.conf").is_file()
            or any(path.is_file() for path in candidate.glob("pm_static*.yml"))
        )
        if looks_like_app and self.scope.may_take(candidate):
            if recorded is not None:
                self.found.notes.append(
                    Text(f"application source {recorded} is not on this machine; using ", candidate)
                )
            return candidate
        if recorded is not None and os.path.isdir(recorded):
            why = "holds no CMakeLists.txt" if self.scope.grows else "was not given"
            self.found.notes.append(Text("application source ", recorded, f" {why}: not read"))
        return None

    def static_files(self) -> None:
        """Static files the cache names, then every pm_static* of the sources (the assembler picks)."""
        for key, value in sorted(self.cache.items()):
            match = _STATIC_KEY.fullmatch(key)
            if not match or not value:
                continue
            path = self._local_static_path(value)
            domain = "CPUNET" if match.group(1) and "net" in match.group(1).lower() else None
            if path is None or not _present(path):
                self.found.notes.append(
                    f"the static layout {value} named by {key} in CMakeCache.txt is not on this machine"
                )
                continue
            if any(item.path == path for item in self.found.of(InputKind.STATIC)):
                continue
            self.add(
                path,
                InputKind.STATIC,
                domain=domain,
                provenance=f"{key} in CMakeCache.txt",
                named_by=f"{key} in CMakeCache.txt",
            )
        source = self.found.source_dir
        if source is None:
            return
        found = set()
        for folder in _STATIC_FOLDERS:
            for path in source.glob(folder + "pm_static*"):
                # Even a folder or FIFO by that name: it is reported, not passed over.
                if path.suffix in (".yml", ".yaml") and _present(path) and self.scope.allows(path):
                    found.add(path)
        for path in sorted(found):
            # Candidates: the assembler decides which one Partition Manager reads, if any.
            self.found.inputs.append(Input(path, InputKind.STATIC, provenance=SOURCE_CANDIDATE))

    def _local_static_path(self, value: str) -> Optional[Path]:
        """Where a static file recorded in the cache is on this machine, if anywhere.

        Relative paths are relative to the application directory; absolute
        ones recorded below the original application directory are looked
        up below the relocated one.
        """
        source = self.found.source_dir
        recorded = self.found.recorded_source
        if not pure_path(value).is_absolute():
            base = source if source is not None else recorded
            return Path(base) / value if base is not None else None
        if _present(Path(value)):
            return Path(value)
        if recorded is None or source is None or Path(source) == Path(recorded):
            return None
        try:
            relative = pure_path(value).relative_to(pure_path(str(recorded)))
        except ValueError:
            return None
        return Path(source).joinpath(*relative.parts)

    def user_files(self) -> None:
        """The Kconfig fragments and overlays the user wrote, so fixes can name the line to change."""
        source = self.found.source_dir
        if source is None:
            return
        seen: set = set()
        for kind, patterns in ((InputKind.CONF, _CONF_PATTERNS), (InputKind.OVERLAY, _OVERLAY_PATTERNS)):
            for pattern in patterns:
                for path in sorted(source.glob(pattern)):
                    if path in seen or not path.is_file():
                        continue
                    seen.add(path)
                    key = path.relative_to(source).as_posix()
                    self.add(path, kind, shown=key, provenance="application source directory")


def _present(path: Path) -> bool:
    """Something is at ``path``: a file, or something where a file should be (reported when read)."""
    return file_problem(path) != MISSING


def _is_application(folder: Path) -> bool:
    """A Zephyr application folder: every one has a CMakeLists.txt."""
    return file_problem(folder / "CMakeLists.txt") is None
