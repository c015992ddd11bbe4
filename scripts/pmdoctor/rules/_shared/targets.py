"""Which user file a fix edits, decided the way the build decides which file it reads.

Rules know *what* must change (a partition's size, a Kconfig symbol in an
image, a chosen property); this module knows *where* that goes for the build
at hand, so the edit lands in the file the build really reads:

- a static layout: ``PM_STATIC_YML_FILE`` from the CMake cache, then the
  ``pm_static_<board>…`` file Partition Manager found, then ``pm_static.yml``;
- an image's Kconfig: ``<image>_CONF_FILE``, ``<image>_OVERLAY_CONFIG``,
  ``<image>_EXTRA_CONF_FILE`` (the parent's cache, or the image's own), then
  ``sysbuild/<image>.conf`` or ``child_image/<image>.conf`` (by era), then ``prj.conf``;
- an image's devicetree: ``DTC_OVERLAY_FILE``, ``EXTRA_DTC_OVERLAY_FILE``,
  then ``sysbuild/<image>.overlay`` / ``child_image/<image>.overlay``, then
  ``boards/<board>.overlay``, then ``app.overlay``.

A file under the build directory, or one the build generates, is never a
target. A file outside the application (an SDK board file) is marked
``outside_source``; the fix then names the project-level file that overrides it.
Decided from the model (caches, ``Build.user_configs``, ``Build.user_overlays``),
never from the disk.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path, PurePosixPath
from typing import Dict, Iterable, List, Mapping, Optional, Sequence, Union

from ...model import Build, Image, Layout, Partition, Role
from ...model.edits import Action, KconfigEdit, OverlayEdit, PartitionNode, StaticEdit, Target
from ...model.findings import Fix
from ...model.pm import normalised_board

ImageRef = Union[Image, str, None]

# What no user edits: Partition Manager's output, the merged configuration, the flattened devicetree.
_GENERATED = re.compile(
    r"(^|/)(partitions(_[A-Za-z0-9]+)?\.yml|regions\.yml|pm\.config|pm_config\.h|\.config|"
    r"zephyr\.dts|autoconf\.h|devicetree_generated\.h|CMakeCache\.txt)$"
)
_PLACEHOLDER = Target(Path("."), "")


# -- paths, compared as the build wrote them (often another machine's Windows paths) -------------


def _norm(path: Union[str, Path]) -> str:
    text = str(path).replace("\\", "/").rstrip("/")
    if re.match(r"^[A-Za-z]:/", text):  # Windows: drive letters and case do not matter
        text = text.lower()
    return text


def _inside(path: Union[str, Path], folder: Union[str, Path, None]) -> bool:
    if folder is None or str(folder) in ("", "."):
        return False
    inner, outer = _norm(path), _norm(folder)
    return inner == outer or inner.startswith(outer + "/")


def _source(build: Build) -> Path:
    """The application directory, or a relative path when it is unknown."""
    return Path(build.source_dir) if build.source_dir is not None else Path(".")


def _build_dirs(build: Build) -> List[str]:
    # Only a build directory has a cache; triage's folder of attachments holds the user's own files.
    dirs = [str(build.path)] if build.cmake_cache else []
    for key in ("CMAKE_CACHEFILE_DIR", "APPLICATION_BINARY_DIR", "CMAKE_BINARY_DIR"):
        if build.cmake_cache.get(key):
            dirs.append(build.cmake_cache[key])
    return dirs


def _relative(build: Build, path: Path) -> Optional[str]:
    """``path`` relative to the application directory ("sysbuild/mcuboot.conf"), if inside it."""
    if not _inside(path, build.source_dir):
        return None
    return _norm(path)[len(_norm(build.source_dir)) :].lstrip("/")


def _resolved(build: Build, name: str, base: Optional[str] = None) -> Path:
    """A file name from a CMake cache: relative ones are taken from the application directory."""
    text = name.strip().replace("\\", "/")
    if text.startswith("/") or re.match(r"^[A-Za-z]:/", text):
        return Path(text)
    return Path(base or _source(build)) / text


def usable(build: Build, path: Union[str, Path]) -> bool:
    """A file a fix may name: not under the build directory, not one the build generates."""
    if _GENERATED.search(_norm(path)):
        return False
    return not any(_inside(path, folder) for folder in _build_dirs(build))


def cache_files(value: str) -> List[str]:
    """The files a list-valued cache entry names: ``a.conf;b.conf`` (older NCS: space-separated)."""
    names: List[str] = []
    for item in value.split(";"):
        words = item.split()
        if len(words) > 1 and all(PurePosixPath(word).suffix for word in words):
            names.extend(words)
        elif item.strip():
            names.append(item.strip())
    return names


# -- images ---------------------------------------------------------------------------------------


def _image(build: Build, image: ImageRef) -> Optional[Image]:
    if isinstance(image, Image) or image is None:
        return image
    return build.image(image) or Image(name=image, build_dir=build.path)


def _is_app(image: Optional[Image]) -> bool:
    return image is None or image.role is Role.APP


def _own_folder(build: Build, image: Optional[Image]) -> Optional[str]:
    """``sysbuild`` or ``child_image``: where a non-application image's files go, by era."""
    if _is_app(image) or not (build.sysbuild or build.partition_manager):
        return None
    return "sysbuild" if build.sysbuild else "child_image"


def image_cache(build: Build, image: ImageRef) -> Dict[str, str]:
    """The cache entries that say which files one image reads (see :func:`_cache_with_origin`)."""
    return {key: value for key, (value, _) in _cache_with_origin(build, _image(build, image)).items()}


def _cache_with_origin(build: Build, image: Optional[Image]) -> Dict[str, tuple]:
    """Each entry with where it was read: ``mcuboot_OVERLAY_CONFIG in CMakeCache.txt``.

    The parent's cache names a child's files under the child's prefix
    (``mcuboot_OVERLAY_CONFIG``); the image's own cache (``Image.cmake_cache``)
    names them as the image's build read them, so it wins. In a build
    without sysbuild the top-level cache is the application's own.
    """
    entries: Dict[str, tuple] = {}
    if _is_app(image) and not build.sysbuild:
        entries.update({key: (value, f"{key} in CMakeCache.txt") for key, value in build.cmake_cache.items()})
    if image is not None:
        prefix = f"{image.name}_"
        for key, value in build.cmake_cache.items():
            if key.startswith(prefix) and value.strip():
                entries[key[len(prefix) :]] = (value, f"{key} in CMakeCache.txt")
        for key, value in image.cmake_cache.items():
            if value.strip():
                entries[key] = (value, f"{key} in {image.name}/CMakeCache.txt")
    return entries


def _from_cache(build: Build, image: Optional[Image], keys: Sequence[str]) -> List[tuple]:
    """(path, how) for each file the cache names under ``keys``, in the order the build applies them."""
    cache = _cache_with_origin(build, image)
    base = None
    for key in ("APPLICATION_CONFIG_DIR", "APPLICATION_SOURCE_DIR"):
        if not base and key in cache and usable(build, cache[key][0]) and not _is_app(image):
            base = cache[key][0]
    found = []
    for key in keys:
        value, how = cache.get(key, ("", ""))
        for name in cache_files(value):
            found.append((_resolved(build, name, base), how))
    return found


def _pick(build: Build, candidates: List[tuple]) -> Optional[Target]:
    """The last file the first cache entry lists inside the application (applied last, so it wins)."""
    by_entry: Dict[str, List[Path]] = {}
    for path, how in candidates:
        if usable(build, path) and (build.source_dir is None or _inside(path, build.source_dir)):
            by_entry.setdefault(how, []).append(path)
    for _, how in candidates:
        if how in by_entry:
            return Target(by_entry[how][-1], f"{how} names it")
    return None


# -- the target API ---------------------------------------------------------------------------------


def static_target(build: Build, domain: Optional[str] = None) -> Target:
    """The static layout file Partition Manager reads for ``domain``, or where a new one goes."""
    source = _source(build)
    board = normalised_board(build.board)
    override = source / (f"pm_static_{board}.yml" if board else "pm_static.yml")
    named = build.cmake_cache.get("PM_STATIC_YML_FILE", "").strip() if domain is None else ""
    if named:
        path = _resolved(build, named)
        if usable(build, path) and (build.source_dir is None or _inside(path, build.source_dir)):
            return Target(path, "PM_STATIC_YML_FILE in CMakeCache.txt names it")
        if usable(build, path):
            return Target(
                path,
                f"PM_STATIC_YML_FILE in CMakeCache.txt names this file outside the application; copy it "
                f"to {override} and build with -DPM_STATIC_YML_FILE={override} so the copy wins",
                outside_source=True,
            )
    for static in build.static_files:
        if static.domain == domain and usable(build, static.path):
            outside = build.source_dir is not None and not _inside(static.path, build.source_dir)
            if outside:
                return Target(
                    static.path,
                    f"Partition Manager read this file outside the application; copy it to {override}, "
                    "which takes precedence",
                    outside_source=True,
                )
            return Target(static.path, f"Partition Manager read it ({static.how_found})")
    name = "pm_static.yml" if domain is None else f"pm_static_{board or '<board>'}_{domain}.yml"
    exists = any(_norm(path).endswith("/" + name) for path in build.static_candidates)
    return Target(
        source / name,
        "Partition Manager reads pm_static.yml from the application directory"
        if domain is None
        else f"Partition Manager reads {name} for the {domain} domain",
        exists=exists,
    )


def kconfig_target(build: Build, image: ImageRef, symbol: Optional[str] = None) -> Target:
    """The Kconfig fragment one image reads, where a symbol assignment belongs.

    With ``symbol``, a user fragment that already assigns it wins (the line is
    replaced in place, not overridden by a later one).
    """
    image = _image(build, image)
    candidates = _from_cache(build, image, ("CONF_FILE", "OVERLAY_CONFIG", "EXTRA_CONF_FILE"))
    if symbol:
        assigning = _assigning(build, [path for path, _ in candidates], symbol)
        if assigning is not None:
            return Target(assigning, f"it sets {symbol} already; the line is changed in place")
    picked = _pick(build, candidates)
    if picked is not None:
        return picked
    return _convention_config(build, image)


def _assigning(build: Build, paths: Iterable[Path], symbol: str) -> Optional[Path]:
    last = None
    for path in paths:
        rel = _relative(build, path)
        fragment = build.user_configs.get(rel) if rel is not None else None
        if fragment is not None and usable(build, path) and symbol in fragment:
            last = path
    return last


def _convention_config(build: Build, image: Optional[Image]) -> Target:
    source = _source(build)
    folder = _own_folder(build, image)
    if folder is None:
        return Target(
            source / "prj.conf", "the application's prj.conf", exists="prj.conf" in build.user_configs
        )
    # A whole configuration directory replaces the image's own prj.conf, so
    # once the user has one, options belong in it.
    own_dir = f"{folder}/{image.name}/prj.conf"
    if own_dir in build.user_configs:
        return Target(
            source / own_dir, f"{folder}/{image.name}/ replaces the {image.name} image's configuration"
        )
    rel = f"{folder}/{image.name}.conf"
    return Target(
        source / rel, f"{folder}: {rel} configures the {image.name} image", exists=rel in build.user_configs
    )


def sysbuild_kconfig_target(build: Build) -> Target:
    """The fragment sysbuild reads its own ``SB_CONFIG_`` options from."""
    candidates = [
        (_resolved(build, name), f"{key} in CMakeCache.txt")
        for key in ("SB_CONF_FILE", "SB_EXTRA_CONF_FILE")
        for name in cache_files(build.cmake_cache.get(key, ""))
    ]
    picked = _pick(build, candidates)
    if picked is not None:
        return picked
    return Target(
        _source(build) / "sysbuild.conf",
        "sysbuild reads sysbuild.conf from the application directory",
        exists="sysbuild.conf" in build.user_configs,
    )


def overlay_target(build: Build, image: ImageRef) -> Target:
    """The devicetree overlay one image reads, where an addition belongs."""
    image = _image(build, image)
    candidates = _from_cache(build, image, ("DTC_OVERLAY_FILE", "EXTRA_DTC_OVERLAY_FILE"))
    picked = _pick(build, candidates)
    if picked is not None:
        return picked
    source = _source(build)
    board = normalised_board(build.board)
    folder = _own_folder(build, image)
    if folder is None:
        # Zephyr reads boards/<board>.overlay and then stops looking; app.overlay only without it.
        if board and f"boards/{board}.overlay" in build.user_overlays:
            return Target(source / "boards" / f"{board}.overlay", "the application's board overlay")
        return Target(
            source / "app.overlay",
            "the application's app.overlay",
            exists="app.overlay" in build.user_overlays,
        )
    own_boards = f"{folder}/{image.name}/boards/"
    if board and any(name.startswith(own_boards) for name in build.user_overlays):
        rel = f"{own_boards}{board}.overlay"
        return Target(
            source / rel,
            f"{folder}/{image.name}/ holds the {image.name} image's overlays",
            exists=rel in build.user_overlays,
        )
    rel = f"{folder}/{image.name}.overlay"
    return Target(
        source / rel,
        f"{folder}: {rel} is the {image.name} image's overlay",
        exists=rel in build.user_overlays,
    )


# -- fix builders ---------------------------------------------------------------------------------


def static_set(partition: str, key: str, value: object) -> StaticEdit:
    """A static-layout change whose file :func:`static_fix` decides."""
    return StaticEdit(_PLACEHOLDER, Action.SET, partition, key, value)


def static_remove(partition: str, key: Optional[str] = None) -> StaticEdit:
    return StaticEdit(_PLACEHOLDER, Action.REMOVE, partition, key)


def static_add(partition: str, entries: Sequence[tuple]) -> StaticEdit:
    return StaticEdit(_PLACEHOLDER, Action.ADD, partition, entries=tuple(entries))


def extent_edits(
    part: Partition, address: Optional[int] = None, size: Optional[int] = None
) -> List[StaticEdit]:
    """Move or resize a static partition, keeping its ``end_address`` (when written) consistent."""
    new_address = part.address if address is None else address
    new_size = part.size if size is None else size
    edits = []
    if address is not None and address != part.address:
        edits.append(static_set(part.name, "address", address))
    if size is not None and size != part.size:
        edits.append(static_set(part.name, "size", size))
    if edits and part.end_address is not None and new_address is not None and new_size is not None:
        edits.append(static_set(part.name, "end_address", new_address + new_size))
    return edits


def slot_pair_repair(primary: Partition, secondary: Partition) -> List[StaticEdit]:
    """Repair a slot pair towards what Partition Manager generates: the primary (and the image
    span inside it) stays as it is, the secondary takes its size (``share_size: [primary]``).

    Never shrinks the primary to match a smaller secondary: that cuts into the running image.
    Whether the grown secondary fits is the fix checker's question (it re-runs the overlap rules).
    """
    if primary.size is None or secondary.size == primary.size:
        return []
    return extent_edits(secondary, size=primary.size)


def free_gap(layout: Layout, region: str, size: int, block: int) -> Optional[int]:
    """The highest address where ``size`` bytes fit between the region's partitions, whole blocks.

    Storage goes at the end of flash, where Partition Manager and the boards put it; a gap
    inside a container (a slot, the app) is not free, whatever the container's children leave.
    """
    bounds = layout.regions.get(region)
    taken = sorted(
        (part.address, part.end)
        for part in layout.partitions.values()
        if part.region == region and part.has_extent and part.size
    )
    if not taken and (bounds is None or bounds.base is None):
        return None
    start = bounds.base if bounds is not None and bounds.base is not None else taken[0][0]
    end = bounds.end if bounds is not None and bounds.end is not None else max(stop for _, stop in taken)
    size = round_up(size, block)
    gaps = []
    cursor = start
    for first, stop in [*taken, (end, end)]:
        if first - cursor >= size:
            gaps.append((cursor, first))
        cursor = max(cursor, stop)
    for low, high in reversed(gaps):
        address = (high - size) // block * block if block else high - size
        if address >= low:
            return address
    return None


def round_up(value: int, block: int) -> int:
    """``value`` in whole erase blocks (rounded up)."""
    return -(-value // block) * block if block else value


def chosen_set(prop: str, value: str) -> OverlayEdit:
    """``/chosen { prop = value; };`` in the overlay :func:`overlay_fix` decides."""
    return OverlayEdit(_PLACEHOLDER, Action.SET, "/chosen", prop, value)


def chosen_remove(prop: str) -> OverlayEdit:
    return OverlayEdit(_PLACEHOLDER, Action.REMOVE, "/chosen", prop)


def node_set(node: str, prop: str, value: str) -> OverlayEdit:
    return OverlayEdit(_PLACEHOLDER, Action.SET, node, prop, value)


def partition_add(device: str, partition: PartitionNode) -> OverlayEdit:
    return OverlayEdit(_PLACEHOLDER, Action.ADD, device, partition=partition)


def _with_target(edits: Iterable, target: Target, **extra) -> tuple:
    return tuple(
        dataclasses.replace(edit, target=target, **extra) if edit.target is _PLACEHOLDER else edit
        for edit in edits
    )


def _outside_note(target: Target) -> str:
    return f" ({target.convention})" if target.outside_source else ""


def static_fix(build: Build, domain: Optional[str], edits: Iterable[StaticEdit], why: str) -> Fix:
    """A fix that changes the static layout Partition Manager reads for ``domain``."""
    target = static_target(build, domain)
    return Fix(why + _outside_note(target), edits=_with_target(edits, target, domain=domain))


def kconfig_fix(build: Build, image: ImageRef, values: Mapping[str, Optional[str]], why: str) -> Fix:
    """Set (``value``) or remove (``None``) Kconfig symbols in the fragment one image reads."""
    image = _image(build, image)
    name = image.name if image is not None else "app"
    edits = []
    for symbol, value in values.items():
        target = kconfig_target(build, image, symbol)
        action = Action.REMOVE if value is None else Action.SET
        edits.append(KconfigEdit(target, action, symbol, value, image=name))
    return Fix(why + (_outside_note(edits[0].target) if edits else ""), edits=tuple(edits))


def sysbuild_kconfig_fix(build: Build, values: Mapping[str, Optional[str]], why: str) -> Fix:
    """Set or remove sysbuild's own ``SB_CONFIG_`` symbols."""
    target = sysbuild_kconfig_target(build)
    edits = tuple(
        KconfigEdit(target, Action.REMOVE if value is None else Action.SET, symbol, value)
        for symbol, value in values.items()
    )
    return Fix(why, edits=edits)


def overlay_fix(build: Build, image: ImageRef, edits: Iterable[OverlayEdit], why: str) -> Fix:
    """Additions to the devicetree overlay one image reads."""
    image = _image(build, image)
    target = overlay_target(build, image)
    name = image.name if image is not None else "app"
    return Fix(why + _outside_note(target), edits=_with_target(edits, target, image=name))


# -- the older helpers, now on top of the targets ------------------------------------------------------


def image_config_file(build: Build, image: Optional[Image]) -> Path:
    """Where the user sets a CONFIG_ option for one image, in this build's era."""
    return kconfig_target(build, image).file


def image_overlay_file(build: Build, image: Optional[Image]) -> Path:
    """Where the user puts devicetree for one image, in this build's era."""
    return overlay_target(build, image).file


_ASSIGNMENT = re.compile(r"^(CONFIG_[A-Za-z0-9_]+)=(.*)$")
_NOT_SET = re.compile(r"^# (CONFIG_[A-Za-z0-9_]+) is not set$")


def _assignments(lines: Iterable[str]) -> Optional[Dict[str, str]]:
    values: Dict[str, str] = {}
    for line in lines:
        line = line.strip()
        match = _ASSIGNMENT.match(line) or _NOT_SET.match(line)
        if match is None:
            return None
        values[match.group(1)] = match.group(2) if match.re is _ASSIGNMENT else "n"
    return values


def image_kconfig(build: Build, image: Optional[Image], lines: Iterable[str], why: str) -> Fix:
    """Set CONFIG_ options in one image."""
    lines = list(lines)
    name = image.name if image is not None else "the application"
    description = f"{why} — add to {name}'s configuration"
    values = _assignments(lines)
    if not values:
        return Fix(description, image_config_file(build, image), "\n".join(lines))
    fix = kconfig_fix(build, image, values, description)
    return dataclasses.replace(fix, snippet="\n".join(lines)) if fix.file is not None else fix


def build_option(build: Build, option: str, value: str, why: str) -> Fix:
    """A build-wide option: SB_CONFIG_ in sysbuild.conf, or the app's CONFIG_ in child-image builds.

    ``option`` is given without prefix, e.g. ``PM_EXTERNAL_FLASH_MCUBOOT_SECONDARY``.
    """
    if build.sysbuild:
        return sysbuild_kconfig_fix(
            build, {f"SB_CONFIG_{option}": value}, f"{why} — sysbuild forces this into every image"
        )
    app = build.app
    return kconfig_fix(
        build,
        app,
        {f"CONFIG_{option}": value},
        f"{why} — Partition Manager options propagate from the application",
    )


def devicetree_snippet(build: Build, image: Optional[Image], snippet: str, why: str) -> Fix:
    """Free-form devicetree (advice: pmdoctor does not model it, so cannot check it)."""
    return Fix(why, image_overlay_file(build, image), snippet)


def sysbuild_option(build: Build, option: str, value: str, why: str) -> Fix:
    """An SB_CONFIG_ option, in sysbuild.conf even when this build is not (yet) a sysbuild build.

    For options that exist only in sysbuild, such as switching Partition
    Manager off on the way to the devicetree era.
    """
    target = Target(
        _source(build) / "sysbuild.conf",
        "sysbuild reads sysbuild.conf from the application directory",
        exists="sysbuild.conf" in build.user_configs,
    )
    return Fix(why, edits=(KconfigEdit(target, Action.SET, f"SB_CONFIG_{option}", value),))


def static_file(build: Build, domain: Optional[str] = None) -> Path:
    """The static layout file the build uses for a domain, else where a new one goes."""
    return static_target(build, domain).file
