"""Recognise loose forum attachments by their content: the inputs of ``pmdoctor triage``.

People post a pasted ``pm_static.yml``, an overlay, a ``prj.conf`` and a
console log, not a build directory. Each file is recognised by its *content*
(the name only breaks ties: a ``pm_static.yaml`` is still a static layout, a
log saved as ``.txt`` is still a log) and by its path for the image it
belongs to (``child_image/mcuboot.conf``); what cannot be used says why.

A folder that is a build directory (it has a ``CMakeCache.txt``) is listed
as one, exactly as ``pmdoctor -d`` would list it (:mod:`.locate`), reading
only what was given; loose files next to it add logs, conf fragments and
overlays. :func:`pmdoctor.assemble.assemble` makes the ``Build``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Iterable, List, Optional, Tuple

from ..loaders import MISSING, LoadError, file_problem, read_text
from ..loaders.cmake import is_build_dir
from ..loaders.dts_source import looks_like_source_dts
from ..loaders.logs import parse_log
from ..loaders.yamlfile import YamlDoc, parse_yaml
from ..model import NETCORE_IMAGES
from ..model.findings import Text
from .kinds import ATTACHED, Input, InputKind, InputSet
from .locate import locate_build
from .scope import ReadScope, real

# A forum thread has a handful of files; a whole project tree is bounded so
# triage stays quick on whatever folder it is pointed at.
MAX_FILES = 400
_SKIP_DIRS = {".git", ".svn", "__pycache__", "CMakeFiles", "node_modules", ".venv", "venv", ".west"}
_NOT_TEXT = {".o", ".a", ".obj", ".elf", ".hex", ".bin", ".exe", ".so", ".dll", ".zip", ".gz", ".png"}
_NOT_TEXT |= {".jpg", ".jpeg", ".gif", ".pdf", ".map", ".lst", ".d", ".pyc", ".pem", ".der", ".signed"}
_SOURCE_CODE = {".c", ".h", ".cpp", ".hpp", ".cc", ".py", ".cmake", ".md", ".rst", ".json", ".html"}
_MCUBOOT_ONLY = re.compile(
    r"^CONFIG_(?:MCUBOOT=y|BOOT_MAX_IMG_SECTORS=|BOOT_SIGNATURE_TYPE_|BOOT_SWAP_USING_|BOOT_UPGRADE_ONLY=|"
    r"BOOT_VALIDATE_SLOT0=|BOOT_SIGNATURE_KEY_FILE=|SINGLE_APPLICATION_SLOT=)",
    re.M,
)
_KCONFIG_LINE = re.compile(r"^(?:(?:SB_)?CONFIG_\w+=.*|# (?:SB_)?CONFIG_\w+ is not set)[ \t\r]*$")
_KCONFIG_LINES = re.compile(r"^[ \t]*(?:(?:SB_)?CONFIG_\w+=|# (?:SB_)?CONFIG_\w+ is not set)", re.M)
# Patterns over whole lines of user text: anchored, and no quantifier that can run across lines
# (a `^\s*` under re.M rescans every blank line from every line start).
_DTS_LIKE = re.compile(r"^[ \t]*(?:(?:[\w-]+:[ \t]*)?[\w,@-]+|/|&\w+)[ \t]*\{", re.M)
_YAML_LAYOUT_KEY = re.compile(r"^[ \t]*(?:address|size|region|span):", re.M)
_STATEMENT_END = re.compile(r"[{};][ \t\r]*$", re.M)
_INCLUDE_OR_FRAGMENT = re.compile(r"^[ \t]*(?:#[ \t]*include\b|&[A-Za-z_]\w*[ \t]*\{)", re.M)
_YAML_TOP_KEY = re.compile(r"^[\w.-]+:[ \t\r]*$", re.M)
_BLANK = re.compile(r"\s*")
# Deciding what a file is reads at most this much of it (see _sample).
SNIFF_CHARS = 1 << 20
_SALVAGE_TRIES = 3
_CMAKE_LINE = re.compile(r"^[A-Za-z_][\w.+-]*:(?:STRING|PATH|BOOL|FILEPATH|INTERNAL|STATIC|UNINITIALIZED)=")


# ------------------------------------------------------------------ finding files


def collect(paths: Iterable[Path]) -> Tuple[List[Path], List[Path], List[Input]]:
    """Split inputs into build directories and files; list what cannot be walked.

    Only what the user gave is read: a symbolic link inside a given folder
    that points out of everything given is listed as not used.
    """
    paths = list(paths)
    scope = ReadScope.of(paths)
    build_dirs: List[Path] = []
    files: List[Path] = []
    skipped: List[Input] = []
    seen: set = set()
    for given in paths:
        if given.is_dir():
            _walk(given, build_dirs, files, skipped, seen, scope)
        elif given.exists():
            if real(given) not in seen:
                seen.add(real(given))
                files.append(given)
        else:
            skipped.append(_unused(given, str(given), "does not exist"))
    return build_dirs, files, skipped


def _walk(
    top: Path,
    build_dirs: List[Path],
    files: List[Path],
    skipped: List[Input],
    seen: set,
    scope: ReadScope,
) -> None:
    if is_build_dir(top):
        build_dirs.append(top)
        return
    for root, dirs, names in os.walk(top, followlinks=False):
        here = Path(root)
        dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS)
        for directory in list(dirs):
            if is_build_dir(here / directory) and scope.allows(here / directory):
                build_dirs.append(here / directory)
                dirs.remove(directory)
        for name in sorted(names):
            path = here / name
            why = file_problem(path)
            if real(path) in seen or why == MISSING:
                continue
            if not scope.allows(path):
                skipped.append(_unused(path, str(path), "a link to a file outside what was given: not read"))
                continue
            if why is not None:  # a FIFO, socket, device or link loop: never opened, so never waited on
                skipped.append(_unused(path, str(path), why))
                continue
            seen.add(real(path))
            if len(files) >= MAX_FILES:
                skipped.append(_unused(path, str(path), f"more than {MAX_FILES} files: not read"))
                continue
            files.append(path)


# ------------------------------------------------------------------ sniffing


def sniff(path: Path, shown: str) -> Input:
    """Decide what a file is from its content (its name breaks ties)."""
    item = Input(path, None, provenance=ATTACHED, shown=shown)
    suffix = path.suffix.lower()
    if suffix in _NOT_TEXT:
        item.detail = f"{suffix} files are build products or binaries, not read"
        return item
    try:
        item.text = read_text(path)
    except LoadError as error:
        item.detail = error.message
        return item
    if _BLANK.fullmatch(item.text):
        item.detail = "empty file"
        return item
    for test in (_as_cmake_cache, _as_kconfig, _as_devicetree, _as_yaml, _as_log):
        if test(item):
            return item
    if suffix in _SOURCE_CODE or path.name in ("CMakeLists.txt", "Kconfig", "west.yml"):
        item.detail = "source or build script: not something pmdoctor reads"
    else:
        item.detail = "no CONFIG_ lines, layout, devicetree or recognised log message in it"
    return item


def _sample(text: str) -> str:
    """The part of a file that decides what it is: the first ~1 MB, cut at a line end.

    Deciding on a bounded prefix keeps sniffing linear whatever the file holds;
    what it is then read as is read whole, by a loader that has its own bounds.
    """
    if len(text) <= SNIFF_CHARS:
        return text
    end = text.rfind("\n", 0, SNIFF_CHARS)
    return text[: end if end > 0 else SNIFF_CHARS]


def _meaningful_lines(text: str) -> List[str]:
    stripped = (line.strip() for line in _sample(text).splitlines())
    return [line for line in stripped if line and not line.startswith("//")]


def _as_cmake_cache(item: Input) -> bool:
    lines = _meaningful_lines(item.text)
    hits = sum(1 for line in lines if _CMAKE_LINE.match(line))
    if "# This is the CMakeCache file." in _sample(item.text) or hits >= 3:
        item.kind = InputKind.CMAKE_CACHE
        item.detail = f"{hits} cache entries"
        return True
    return False


def _as_kconfig(item: Input) -> bool:
    meaningful = _meaningful_lines(item.text)
    lines = [line for line in meaningful if not _is_comment(line)]
    settings = [line for line in meaningful if _KCONFIG_LINE.match(line)]
    if not settings or len(settings) < 0.6 * max(len(lines), 1):
        return False
    sysbuild = any(line.lstrip("# ").startswith("SB_CONFIG_") for line in settings)
    generated = "Automatically generated file; DO NOT EDIT" in item.text[:400] or (
        item.path.name == ".config" and sum(" is not set" in line for line in settings) >= 3
    )
    if sysbuild:
        item.kind = InputKind.SYSBUILD_CONFIG if generated else InputKind.SYSBUILD_CONF
    else:
        item.kind = InputKind.CONFIG if generated else InputKind.CONF
    counted = len(settings) if len(item.text) <= SNIFF_CHARS else len(_KCONFIG_LINES.findall(item.text))
    item.detail = f"{counted} settings"
    return True


def _is_comment(line: str) -> bool:
    return line.startswith("#") and not re.match(r"# (?:SB_)?CONFIG_\w+ is not set", line)


def _as_devicetree(item: Input) -> bool:
    text = _sample(item.text)
    suffix = item.path.suffix.lower()
    flattened = text.lstrip()[:9] == "/dts-v1/;" and not looks_like_include_or_fragment(text)
    if flattened:
        item.kind = InputKind.ZEPHYR_DTS
        return True
    dts_like = _DTS_LIKE.search(text)
    if (suffix in (".dts", ".dtsi", ".overlay") and dts_like) or (dts_like and looks_like_source_dts(text)):
        if _YAML_LAYOUT_KEY.search(text) and not _STATEMENT_END.search(text):
            return False  # YAML that happens to match the loose pattern
        item.kind = InputKind.DTS_SOURCE
        return True
    return False


def looks_like_include_or_fragment(text: str) -> bool:
    return bool(_INCLUDE_OR_FRAGMENT.search(_sample(text)))


def _as_yaml(item: Input) -> bool:
    if not _YAML_TOP_KEY.search(_sample(item.text)):
        return False
    try:
        doc = parse_yaml(item.text, item.path)
    except LoadError as error:
        doc = _salvage(item, error)
        if doc is None:
            return False
    data = doc.data
    if not isinstance(data, dict) or not data:
        return False
    if isinstance(data.get("domains"), list):
        item.kind, item.parsed = InputKind.DOMAINS, doc
        return True
    entries = [entry for entry in data.values() if isinstance(entry, dict)]
    if not entries:
        return False
    if sum("base_address" in e or "placement_strategy" in e for e in entries) > len(entries) / 2:
        item.kind = InputKind.REGIONS
    elif sum(bool({"address", "size", "span", "region"} & set(e)) for e in entries) > len(entries) / 2:
        item.kind = _layout_kind(item, entries)
    else:
        return False
    item.parsed = doc
    item.detail = f"{len(entries)} entries" + (
        f"; cut off at line {item.cut_at}, the entries before it were used" if item.cut_at else ""
    )
    return True


def _layout_kind(item: Input, entries: List[dict]) -> InputKind:
    name = item.path.name.lower()
    if "pm_static" in name or "static" in name:
        return InputKind.STATIC
    if name.startswith("partitions"):
        return InputKind.PARTITIONS
    # A layout pasted under another name is most often the user's static file.
    return InputKind.STATIC


def _salvage(item: Input, error: LoadError) -> Optional[YamlDoc]:
    """A truncated paste: keep the whole top-level entries before the line that breaks.

    Only the last few top-level keys before the break are tried, so a big
    broken file costs a few parses, not one per key.
    """
    lines = _sample(item.text).splitlines()
    broken = min(error.source.line or len(lines), len(lines))
    tried = 0
    for cut in range(broken - 1, 0, -1):
        if not _YAML_TOP_KEY.match(lines[cut]):
            continue
        tried += 1
        try:
            doc = parse_yaml("\n".join(lines[:cut]) + "\n", item.path)
        except LoadError:
            if tried >= _SALVAGE_TRIES:
                return None
            continue
        item.cut_at = cut + 1
        return doc
    return None


def _as_log(item: Input) -> bool:
    log = parse_log(item.text, item.path)
    if log.symptoms or log.log_markers >= 2 or item.path.suffix.lower() == ".log":
        item.kind, item.parsed = InputKind.LOG, log
        item.detail = (
            log.describe()
            if log.symptoms
            else "no MCUboot, MCUmgr, Partition Manager, linker, imgtool, TF-M or nrfutil message recognised"
        )
        return True
    return False


# ------------------------------------------------------------------ images


def image_of(item: Input) -> str:
    """Which image a file belongs to: its path first (child_image/mcuboot…), then its content."""
    parts = [part.lower() for part in Path(item.shown).parts]
    stem = item.path.stem.lower()
    for part in [*parts[:-1], stem]:
        if part == "mcuboot" or (
            part.startswith("mcuboot_") and item.kind in (InputKind.CONF, InputKind.DTS_SOURCE)
        ):
            return "mcuboot"
        if part in NETCORE_IMAGES or part in ("b0", "b0n"):
            return part
    if item.kind in (InputKind.CONFIG, InputKind.CONF) and _MCUBOOT_ONLY.search(item.text):
        return "mcuboot"
    return "app"


# ------------------------------------------------------------------ helpers


def _common_root(paths: List[Path]) -> Path:
    folders = [real(p) if p.is_dir() else real(p).parent for p in paths if p.exists()]
    if not folders:
        return Path.cwd()
    try:
        return Path(os.path.commonpath([str(f) for f in folders]))
    except ValueError:  # different drives on Windows
        return folders[0]


def _shown(path: Path, root: Path) -> str:
    try:
        return real(path).relative_to(root).as_posix()
    except ValueError:
        return str(path)


def _unused(path: Path, shown: str, why: str) -> Input:
    return Input(path, None, provenance=ATTACHED, shown=shown, detail=why)


# ------------------------------------------------------------------ entry


def sniff_attachments(paths: List[Path]) -> InputSet:
    """Every given file and folder as recognised inputs; a build directory among them is listed whole.

    Only what was given is read (a closed :class:`ReadScope`): not the
    application beside a given build directory, not a file a cache names
    elsewhere.
    """
    build_dirs, files, skipped = collect(paths)
    root = _common_root(paths)
    items = [sniff(path, _shown(path, root)) for path in files]
    for item in items:
        if item.kind is not None and item.kind.per_image:
            item.image = image_of(item)
    if build_dirs:
        found = locate_build(build_dirs[0], ReadScope.of(paths, grows=False))
        for extra in build_dirs[1:]:
            found.notes.append(Text(extra, ": a second build directory; triage analyses one at a time"))
    else:
        found = InputSet(root=root)
    records = [
        Input(
            d,
            InputKind.BUILD_DIR,
            provenance=ATTACHED,
            shown=_shown(d, root),
            detail="loaded as a whole, as `pmdoctor -d` does",
        )
        for d in build_dirs
    ]
    found.inputs += records + items + skipped
    return found
