"""``pmdoctor triage PATH…``: diagnose from loose forum attachments.

People post a pasted ``pm_static.yml``, an overlay, a ``prj.conf`` and a
console log, not a build directory. Triage reads each file by its *content*
(the name only breaks ties: a ``pm_static.yaml`` is still a static layout,
a log saved as ``.txt`` is still a log), says what it took each file for and
why it could not use the rest, infers what the files do not say (board, SoC,
era, which image a fragment belongs to; ``--board``/``--soc`` override), and
assembles an honest :class:`~pmdoctor.model.Build` from what exists: an
image is only created when some of its files were attached, and every
guess is written to ``Build.notes`` with its confidence. Then all rules run
as usual; rules without their inputs stay silent.

A folder that is a build directory (it has a ``CMakeCache.txt``) is loaded
as one, exactly as ``pmdoctor -d`` would; loose files next to it add logs,
conf fragments and overlays.
"""

from __future__ import annotations

import argparse
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Tuple

from . import soc as socs
from .build import _complete_region, load_build
from .inputs.scope import Environment, ReadScope, real
from .loaders import MISSING, LoadError, file_problem, read_text
from .loaders.cmake import parse_cmake_cache
from .loaders.devicetree import load_devicetree
from .loaders.dts_source import looks_like_source_dts, parse_sources
from .loaders.kconfig import parse_kconfig
from .loaders.logs import LogFile, Versions, parse_log, version_tuple
from .loaders.overlay import scan_chosen
from .loaders.partitions import layout_from_yaml, regions_from_yaml
from .loaders.schema import duplicate_keys, validate
from .loaders.yamlfile import YamlDoc, parse_yaml
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
    Setting,
    Source,
    StaticFile,
    domain_of_partitions_file,
)

# A forum thread has a handful of files; a whole project tree is bounded so
# triage stays quick on whatever folder it is pointed at.
MAX_FILES = 400
_SKIP_DIRS = {".git", ".svn", "__pycache__", "CMakeFiles", "node_modules", ".venv", "venv", ".west"}
_NOT_TEXT = {".o", ".a", ".obj", ".elf", ".hex", ".bin", ".exe", ".so", ".dll", ".zip", ".gz", ".png"}
_NOT_TEXT |= {".jpg", ".jpeg", ".gif", ".pdf", ".map", ".lst", ".d", ".pyc", ".pem", ".der", ".signed"}
_SOURCE_CODE = {".c", ".h", ".cpp", ".hpp", ".cc", ".py", ".cmake", ".md", ".rst", ".json", ".html"}
_NETCORE_IMAGES = ("hci_ipc", "ipc_radio", "hci_rpmsg", "rpc_host", "multiprotocol_rpmsg", "802154_rpmsg")
_MCUBOOT_ONLY = re.compile(
    r"^CONFIG_(?:MCUBOOT=y|BOOT_MAX_IMG_SECTORS=|BOOT_SIGNATURE_TYPE_|BOOT_SWAP_USING_|BOOT_UPGRADE_ONLY=|"
    r"BOOT_VALIDATE_SLOT0=|BOOT_SIGNATURE_KEY_FILE=|SINGLE_APPLICATION_SLOT=)",
    re.M,
)
_KCONFIG_LINE = re.compile(r"^(?:(?:SB_)?CONFIG_\w+=.*|# (?:SB_)?CONFIG_\w+ is not set)\s*$")
_CMAKE_LINE = re.compile(r"^[A-Za-z_][\w.+-]*:(?:STRING|PATH|BOOL|FILEPATH|INTERNAL|STATIC|UNINITIALIZED)=")
# Board names that carry no SoC in their name.
_BOARD_SOCS = {
    "pinnacle_100": "nrf52840",
    "mg100": "nrf52840",
    "bl652": "nrf52832",
    "bl653": "nrf52833",
    "bl654": "nrf52840",
    "bl5340": "nrf5340",
    "thingy53": "nrf5340",
    "thingy91x": "nrf9151",
    "thingy91": "nrf9160",
    "thingy52": "nrf52832",
    "xiao_ble": "nrf52840",
    "particle_xenon": "nrf52840",
    "adafruit_feather_nrf52840": "nrf52840",
    "nrf21540dk": "nrf52840",
    "nrf7002dk": "nrf5340",
}
# Kinds that belong to one image; layouts, sysbuild files and logs belong to the whole build.
_PER_IMAGE = ("config", "conf", "zephyr.dts", "dts-source")
_NOT_BOARD_STEMS = {"app", "prj", "mcuboot", "sysbuild", "pm_static", "partitions", "regions", "zephyr"}


@dataclass
class Attachment:
    """One file and what triage made of it."""

    path: Path
    shown: str  # as the report names it: relative to the common folder
    kind: str = ""  # "" = not used
    detail: str = ""
    image: Optional[str] = None
    text: str = ""
    yaml: Optional[YamlDoc] = None
    log: Optional[LogFile] = None
    truncated_at: Optional[int] = None

    def record(self) -> InputFile:
        return InputFile(self.path, _KIND_NAMES.get(self.kind, self.kind), self.detail, self.image)


_KIND_NAMES = {
    "partitions": "generated layout (partitions.yml)",
    "static": "static layout (pm_static.yml)",
    "regions": "regions (regions.yml)",
    "domains": "sysbuild images (domains.yaml)",
    "zephyr.dts": "flattened devicetree (zephyr.dts)",
    "dts-source": "devicetree source",
    "config": "generated Kconfig (.config)",
    "sysbuild-config": "generated sysbuild Kconfig (.config)",
    "conf": "Kconfig fragment",
    "sysbuild-conf": "sysbuild Kconfig fragment",
    "cmake-cache": "CMakeCache.txt",
    "log": "log",
    "build-dir": "build directory",
}


# ------------------------------------------------------------------ finding files


def collect(paths: Iterable[Path]) -> Tuple[List[Path], List[Path], List[Attachment]]:
    """Split inputs into build directories and files; list what cannot be walked.

    Only what the user gave is read: a symbolic link inside a given folder
    that points out of everything given is listed as not used.
    """
    paths = list(paths)
    scope = ReadScope.of(paths)
    build_dirs: List[Path] = []
    files: List[Path] = []
    skipped: List[Attachment] = []
    seen: set = set()
    for given in paths:
        if given.is_dir():
            _walk(given, build_dirs, files, skipped, seen, scope)
        elif given.exists():
            if real(given) not in seen:
                seen.add(real(given))
                files.append(given)
        else:
            skipped.append(Attachment(given, str(given), detail="does not exist"))
    return build_dirs, files, skipped


def _walk(
    top: Path,
    build_dirs: List[Path],
    files: List[Path],
    skipped: List[Attachment],
    seen: set,
    scope: ReadScope,
) -> None:
    if (top / "CMakeCache.txt").is_file():
        build_dirs.append(top)
        return
    for root, dirs, names in os.walk(top, followlinks=False):
        here = Path(root)
        dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS)
        for directory in list(dirs):
            if (here / directory / "CMakeCache.txt").is_file() and scope.allows(here / directory):
                build_dirs.append(here / directory)
                dirs.remove(directory)
        for name in sorted(names):
            path = here / name
            why = file_problem(path)
            if real(path) in seen or why == MISSING:
                continue
            if not scope.allows(path):
                skipped.append(
                    Attachment(path, str(path), detail="a link to a file outside what was given: not read")
                )
                continue
            if why is not None:  # a FIFO, socket, device or link loop: never opened, so never waited on
                skipped.append(Attachment(path, str(path), detail=why))
                continue
            seen.add(real(path))
            if len(files) >= MAX_FILES:
                skipped.append(Attachment(path, str(path), detail=f"more than {MAX_FILES} files: not read"))
                continue
            files.append(path)


# ------------------------------------------------------------------ sniffing


def sniff(path: Path, shown: str) -> Attachment:
    """Decide what a file is from its content (its name breaks ties)."""
    item = Attachment(path, shown)
    suffix = path.suffix.lower()
    if suffix in _NOT_TEXT:
        item.detail = f"{suffix} files are build products or binaries, not read"
        return item
    try:
        item.text = read_text(path)
    except LoadError as error:
        item.detail = error.message
        return item
    if not item.text.strip():
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


def _meaningful_lines(text: str) -> List[str]:
    return [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("//")]


def _as_cmake_cache(item: Attachment) -> bool:
    lines = _meaningful_lines(item.text)
    hits = sum(1 for line in lines if _CMAKE_LINE.match(line))
    if "# This is the CMakeCache file." in item.text or hits >= 3:
        item.kind = "cmake-cache"
        item.detail = f"{hits} cache entries"
        return True
    return False


def _as_kconfig(item: Attachment) -> bool:
    lines = [line for line in _meaningful_lines(item.text) if not _is_comment(line)]
    settings = [line for line in _meaningful_lines(item.text) if _KCONFIG_LINE.match(line)]
    if not settings or len(settings) < 0.6 * max(len(lines), 1):
        return False
    sysbuild = any(line.lstrip("# ").startswith("SB_CONFIG_") for line in settings)
    generated = "Automatically generated file; DO NOT EDIT" in item.text[:400] or (
        item.path.name == ".config" and sum(" is not set" in line for line in settings) >= 3
    )
    if sysbuild:
        item.kind = "sysbuild-config" if generated else "sysbuild-conf"
    else:
        item.kind = "config" if generated else "conf"
    item.detail = f"{len(settings)} settings"
    return True


def _is_comment(line: str) -> bool:
    return line.startswith("#") and not re.match(r"# (?:SB_)?CONFIG_\w+ is not set", line)


def _as_devicetree(item: Attachment) -> bool:
    text = item.text
    suffix = item.path.suffix.lower()
    flattened = text.lstrip().startswith("/dts-v1/;") and not looks_like_include_or_fragment(text)
    if flattened:
        item.kind = "zephyr.dts"
        return True
    dts_like = re.search(r"^\s*(?:[\w-]+:\s*)?[\w,@-]+\s*\{|^\s*/\s*\{|^\s*&\w+\s*\{", text, re.M)
    if (suffix in (".dts", ".dtsi", ".overlay") and dts_like) or (dts_like and looks_like_source_dts(text)):
        if re.search(r"^\s*(?:address|size|region|span):", text, re.M) and not re.search(
            r"[{};]\s*$", text, re.M
        ):
            return False  # YAML that happens to match the loose pattern
        item.kind = "dts-source"
        return True
    return False


def looks_like_include_or_fragment(text: str) -> bool:
    return bool(re.search(r"^\s*#\s*include\b|^\s*&[A-Za-z_]\w*\s*\{", text, re.M))


def _as_yaml(item: Attachment) -> bool:
    if not re.search(r"^[\w.-]+:\s*$", item.text, re.M):
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
        item.kind, item.yaml = "domains", doc
        return True
    entries = [entry for entry in data.values() if isinstance(entry, dict)]
    if not entries:
        return False
    if sum("base_address" in e or "placement_strategy" in e for e in entries) > len(entries) / 2:
        item.kind = "regions"
    elif sum(bool({"address", "size", "span", "region"} & set(e)) for e in entries) > len(entries) / 2:
        item.kind = _layout_kind(item, entries)
    else:
        return False
    item.yaml = doc
    item.detail = f"{len(entries)} entries" + (
        f"; cut off at line {item.truncated_at}, the entries before it were used" if item.truncated_at else ""
    )
    return True


def _layout_kind(item: Attachment, entries: List[dict]) -> str:
    name = item.path.name.lower()
    if "pm_static" in name or "static" in name:
        return "static"
    if name.startswith("partitions"):
        return "partitions"
    # A layout pasted under another name is most often the user's static file.
    return "static"


def _salvage(item: Attachment, error: LoadError) -> Optional[YamlDoc]:
    """A truncated paste: keep the whole top-level entries before the line that breaks."""
    lines = item.text.splitlines()
    broken = error.source.line or len(lines)
    for cut in range(min(broken, len(lines)) - 1, 0, -1):
        if re.match(r"^[\w.-]+:\s*$", lines[cut]):
            try:
                doc = parse_yaml("\n".join(lines[:cut]) + "\n", item.path)
            except LoadError:
                continue
            item.truncated_at = cut + 1
            return doc
    return None


def _as_log(item: Attachment) -> bool:
    log = parse_log(item.text, item.path)
    if log.symptoms or log.log_markers >= 2 or item.path.suffix.lower() == ".log":
        item.kind, item.log = "log", log
        item.detail = (
            log.describe()
            if log.symptoms
            else "no MCUboot, MCUmgr, Partition Manager, linker, imgtool, TF-M or nrfutil message recognised"
        )
        return True
    return False


# ------------------------------------------------------------------ images


def image_of(item: Attachment) -> str:
    """Which image a file belongs to: its path first (child_image/mcuboot…), then its content."""
    parts = [part.lower() for part in Path(item.shown).parts]
    stem = item.path.stem.lower()
    for part in [*parts[:-1], stem]:
        if part == "mcuboot" or (part.startswith("mcuboot_") and item.kind in ("conf", "dts-source")):
            return "mcuboot"
        if part in _NETCORE_IMAGES or part in ("b0", "b0n"):
            return part
    if item.kind in ("config", "conf") and _MCUBOOT_ONLY.search(item.text):
        return "mcuboot"
    return "app"


def _role(name: str) -> str:
    if name in ("app", "mcuboot", "b0", "b0n"):
        return name
    return "netcore" if name in _NETCORE_IMAGES else "other"


# ------------------------------------------------------------------ assembling


@dataclass
class _Guess:
    value: Optional[str] = None
    why: str = ""
    confidence: str = ""

    def offer(self, value: Optional[str], why: str, confidence: str) -> None:
        if value and self.value is None:
            self.value, self.why, self.confidence = value, why, confidence


@dataclass
class Triage:
    """Assemble a Build from attachments (see module docstring)."""

    paths: List[Path]
    soc: Optional[str] = None
    board: Optional[str] = None
    logs: List[Path] = field(default_factory=list)

    def run(self) -> Build:
        build_dirs, files, skipped = collect(self.paths + self.logs)
        root = _common_root(self.paths + self.logs)
        items = [sniff(path, _shown(path, root)) for path in files]
        build = self._base(build_dirs, root)
        for item in items:
            if item.kind in _PER_IMAGE:
                item.image = image_of(item)
        self._versions(build, items)
        self._identify(build, items)
        if not build_dirs:
            self._layouts(build, items)
            self._images(build, items)
            self._era_flags(build, items)
            self._complete_regions(build)
        self._user_files(build, items, root)
        self._logs(build, items)
        build.inputs = [_dir_record(d) for d in build_dirs] + [i.record() for i in items + skipped]
        build.wanted = wanted(build)
        return build

    # -- the base: a build directory when one was given ---------------------

    def _base(self, build_dirs: List[Path], root: Path) -> Build:
        if build_dirs:
            # Only the attachments are read, and no Zephyr tree runs code: not even $ZEPHYR_BASE's.
            scope = ReadScope.of(self.paths + self.logs, grows=False)
            build = load_build(build_dirs[0], Environment(), scope)
            for extra in build_dirs[1:]:
                build.notes.append(f"{extra}: a second build directory; triage analyses one at a time")
            return build
        return Build(path=root, era=Era.CHILD_IMAGE)

    # -- versions, board, SoC, era --------------------------------------------

    def _versions(self, build: Build, items: List[Attachment]) -> None:
        for item in items:
            if item.kind == "log" and item.log is not None:
                build.ncs_version = build.ncs_version or item.log.ncs_version
                build.zephyr_version = build.zephyr_version or item.log.zephyr_version
            if item.kind == "cmake-cache" and not build.ncs_version:
                base = parse_cmake_cache(item.text).get("ZEPHYR_BASE", "")
                match = re.search(r"[/\\]v(\d+\.\d+\.\d+)[/\\]", base + "/")
                build.ncs_version = match.group(1) if match else None

    def _identify(self, build: Build, items: List[Attachment]) -> None:
        board, soc = _Guess(), _Guess()
        board.offer(self.board, "--board", "given")
        soc.offer(self.soc, "--soc", "given")
        board.offer(build.board, "the build directory", "high")
        soc.offer(build.soc, "the build directory", "high")
        for item in items:
            _board_from_content(item, board, soc)
        for item in items:
            _board_from_name(item, board)
        if board.value and not soc.value:
            soc.offer(_soc_of_board(board.value), f"the board name {board.value}", "medium")
        build.board = board.value
        build.soc = socs.normalise_soc(soc.value)
        if board.value and board.confidence != "given":
            build.notes.append(
                f"board {board.value}: inferred from {board.why} ({board.confidence} confidence)"
            )
        elif not board.value:
            build.notes.append("board unknown: no CONFIG_BOARD, CMakeCache.txt or board-named file attached")
        if soc.value and soc.confidence != "given":
            build.notes.append(f"SoC {build.soc}: inferred from {soc.why} ({soc.confidence} confidence)")
        elif not soc.value:
            build.notes.append("SoC unknown: SoC-specific checks are skipped (pass --soc to enable them)")

    def _era_flags(self, build: Build, items: List[Attachment]) -> None:
        kinds = {item.kind for item in items}
        shown = " ".join(item.shown.lower() for item in items)
        sysbuild_evidence = (
            "sysbuild-config" in kinds
            or "sysbuild-conf" in kinds
            or "domains" in kinds
            or "sysbuild/" in shown.replace("\\", "/")
        )
        child_evidence = "child_image" in shown
        layouts = bool(build.layouts or build.static_files)
        configs = [image.config for image in build.images] + [build.sysbuild_config]
        pm_on = any(c.enabled("CONFIG_PARTITION_MANAGER_ENABLED") for c in configs)
        pm_off = build.sysbuild_config.get("SB_CONFIG_PARTITION_MANAGER") is False
        build.partition_manager = (layouts or pm_on) and not pm_off
        version = version_tuple(build.ncs_version)
        if sysbuild_evidence:
            build.sysbuild, era, why = (
                True,
                Era.SYSBUILD,
                "SB_CONFIG_ lines or sysbuild/ files (high confidence)",
            )
        elif child_evidence:
            era, why = Era.CHILD_IMAGE, "child_image/ files (high confidence)"
        elif version is not None:
            build.sysbuild = version >= (2, 7)
            era = Era.SYSBUILD if build.sysbuild else Era.CHILD_IMAGE
            why = f"NCS v{build.ncs_version} (medium confidence)"
        elif build.board and "/" in build.board:
            build.sysbuild, era, why = True, Era.SYSBUILD, "the HWMv2 board name (low confidence)"
        else:
            era, why = Era.CHILD_IMAGE, "nothing says sysbuild (low confidence: assumed)"
        if not build.partition_manager and not pm_off and not build.images and version is not None:
            # Only logs: Partition Manager was the default before NCS 3.3.
            build.partition_manager = version < (3, 3)
            if build.partition_manager:
                build.notes.append(f"Partition Manager assumed: the default of NCS v{build.ncs_version}")
        if not build.partition_manager and (pm_off or any(image.devicetree.layout for image in build.images)):
            era, why = Era.DEVICETREE, "no Partition Manager layout attached, devicetree partitions are"
        build.era = era
        if build.partition_manager or era is Era.DEVICETREE:
            build.notes.append(f"era {era.value}: from {why}")

    # -- layouts --------------------------------------------------------------

    def _layouts(self, build: Build, items: List[Attachment]) -> None:
        regions: Dict[Optional[str], Dict[str, Region]] = {}
        for item in items:
            if item.kind == "regions" and item.yaml is not None:
                domain = domain_of_partitions_file(item.path.name)
                regions[domain] = regions_from_yaml(item.yaml)
                for violation in duplicate_keys(item.yaml):  # layouts get theirs from validate()
                    build.problems.append(
                        LoadProblem(
                            "schema-minor",
                            Source(item.path, violation.line),
                            violation.message,
                            domain=domain,
                        )
                    )
        for item in items:
            if item.kind not in ("partitions", "static") or item.yaml is None:
                continue
            domain = _domain_of(item)
            self._validate(build, item, domain)
            if item.kind == "partitions":
                layout = layout_from_yaml(item.yaml, LayoutKind.GENERATED, domain)
                layout.regions = dict(regions.get(domain, {}))
                build.layouts.append(layout)
            else:
                layout = layout_from_yaml(item.yaml, LayoutKind.STATIC, domain)
                layout.regions = dict(regions.get(domain, {}))
                build.static_files.append(StaticFile(item.path, domain, layout, "attached to the thread"))
                build.static_candidates.append(item.path)
            item.detail = f"{len(layout.partitions)} partitions" + item.detail.partition(" entries")[2]
            if item.path.suffix.lower() == ".yaml" and item.kind == "static":
                build.notes.append(
                    f"{item.shown}: Partition Manager only looks for pm_static*.yml, not .yaml; "
                    "read here as the static layout anyway"
                )

    def _validate(self, build: Build, item: Attachment, domain: Optional[str]) -> None:
        assert item.yaml is not None
        if item.truncated_at:
            build.problems.append(
                LoadProblem(
                    "unreadable",
                    Source(item.path, item.truncated_at),
                    f"the paste is cut off here (invalid YAML from line {item.truncated_at}); "
                    "only the entries before it were checked",
                    domain=domain,
                )
            )
        schema = "pm_static" if item.kind == "static" else "partitions"
        for violation in validate(item.yaml, schema):
            kind = "schema-minor" if violation.minor else "schema"
            build.problems.append(
                LoadProblem(kind, Source(item.path, violation.line), violation.message, domain=domain)
            )

    def _complete_regions(self, build: Build) -> None:
        for layout in build.layouts + [s.layout for s in build.static_files if s.layout]:
            images = build.images_in_domain(layout.domain)
            main = next((i for i in images if i.role in ("app", "netcore")), images[0] if images else None)
            for name in set(layout.regions) | {p.region for p in layout.partitions.values()}:
                region = layout.regions.get(name) or Region(
                    name=name, placement_strategy=DEFAULT_PLACEMENT.get(name, "complex")
                )
                _complete_region(region, main, build.soc, layout.domain)
                layout.regions[name] = region

    # -- images -----------------------------------------------------------------

    def _images(self, build: Build, items: List[Attachment]) -> None:
        names: List[str] = []
        for item in items:
            if item.kind in _PER_IMAGE and item.image not in names:
                names.append(item.image or "app")
            if item.kind in ("sysbuild-config", "sysbuild-conf"):
                build.sysbuild_config = _merge([build.sysbuild_config] if build.sysbuild_config else [], item)
        for name in sorted(names, key=lambda n: (n != "app", n)):
            mine = [item for item in items if item.image == name]
            image = Image(name=name, build_dir=build.path, role=_role(name))
            image.config = self._config(build, name, mine)
            image.devicetree = self._devicetree(build, name, mine)
            if image.role == "netcore" or image.config.enabled("CONFIG_SOC_NRF5340_CPUNET"):
                image.domain = "CPUNET"
            build.images.append(image)
        for want in ("app", "mcuboot"):
            if build.image(want) is None and _in_use(build, want):
                build.notes.append(
                    f"image {want}: none of its files were attached; rules about it could not check it"
                )

    def _config(self, build: Build, name: str, mine: List[Attachment]) -> Kconfig:
        generated = [item for item in mine if item.kind == "config"]
        if generated:
            return parse_kconfig(generated[0].text, generated[0].path)
        fragments = sorted((item for item in mine if item.kind == "conf"), key=_fragment_order)
        if not fragments:
            return Kconfig()
        build.notes.append(
            f"image {name}: Kconfig from {', '.join(f.shown for f in fragments)} only (not the merged "
            ".config): options set by board defaults are unknown"
        )
        config = Kconfig()
        for item in fragments:
            config = _merge([config] if config else [], item)
        return config

    def _devicetree(self, build: Build, name: str, mine: List[Attachment]) -> Devicetree:
        flattened = [item for item in mine if item.kind == "zephyr.dts"]
        for item in flattened:
            try:
                return load_devicetree(item.path, name)
            except LoadError as error:
                item.detail = f"{error.message}; read as devicetree source instead"
                item.kind = "dts-source"
        sources = sorted((item for item in mine if item.kind == "dts-source"), key=_dts_order)
        if not sources:
            return Devicetree()
        tree = parse_sources([(item.path, item.text) for item in sources], name)
        for item in sources:
            item.detail = item.detail or "chosen nodes, labels, status and partitions read"
        missing = []
        if tree.includes:
            missing.append("includes not attached: " + ", ".join(tree.includes[:6]))
        if tree.unresolved_labels:
            missing.append(
                "labels defined elsewhere: " + ", ".join("&" + label for label in tree.unresolved_labels[:8])
            )
        if missing or tree.problems:
            build.notes.append(f"devicetree of {name}: " + "; ".join(missing + tree.problems[:3]))
        return tree.devicetree

    # -- user files, logs ---------------------------------------------------------

    def _user_files(self, build: Build, items: List[Attachment], root: Path) -> None:
        for item in items:
            if item.kind in ("conf", "sysbuild-conf"):
                key = _user_key(item, build)
                build.user_configs.setdefault(key, parse_kconfig(item.text, item.path))
            if item.kind == "dts-source" and item.path.suffix.lower() == ".overlay":
                build.user_chosen.extend(scan_chosen(item.text, item.path))

    def _logs(self, build: Build, items: List[Attachment]) -> None:
        versions = Versions(version_tuple(build.ncs_version), version_tuple(build.zephyr_version))
        for item in items:
            if item.kind != "log":
                continue
            # Parse again with what the other files told about the firmware version, unless that
            # changes nothing: nothing was told, or the log names its own version (which wins).
            log = item.log
            if log is None or not (log.ncs_version or log.zephyr_version or versions == Versions()):
                log = parse_log(item.text, item.path, versions)
            build.symptoms.extend(log.symptoms)
            if log.board and not build.board:
                build.board = log.board


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


def _dir_record(path: Path) -> InputFile:
    return InputFile(path, _KIND_NAMES["build-dir"], "loaded as a whole, as `pmdoctor -d` does")


def _domain_of(item: Attachment) -> Optional[str]:
    name = item.path.name
    domain = domain_of_partitions_file(name)
    if domain:
        return domain
    match = re.search(r"_(CPUNET|CPUAPP|CPURAD|CPUPPR|CPUFLPR)\.ya?ml$", name)
    return match.group(1) if match and match.group(1) != "CPUAPP" else None


def _merge(configs: List[Kconfig], item: Attachment) -> Kconfig:
    """Later fragments override earlier ones, as Kconfig merges them."""
    merged = Kconfig(file=configs[0].file if configs else item.path)
    for config in configs:
        merged.settings.update(config.settings)
    merged.settings.update(parse_kconfig(item.text, item.path).settings)
    return merged


def _fragment_order(item: Attachment) -> Tuple[int, str]:
    name = item.path.name.lower()
    if name in ("prj.conf", "mcuboot.conf"):
        return (0, name)
    return (1 if "boards" in item.shown else 2, name)


def _dts_order(item: Attachment) -> Tuple[int, str]:
    suffix = item.path.suffix.lower()
    return ({".dts": 0, ".dtsi": 1}.get(suffix, 2), item.shown)


def _user_key(item: Attachment, build: Build) -> str:
    parts = Path(item.shown).parts
    for anchor in ("child_image", "sysbuild", "boards"):
        if anchor in parts:
            return "/".join(parts[parts.index(anchor) :])
    if item.kind == "sysbuild-conf":
        return "sysbuild.conf" if item.path.name == "sysbuild.conf" else item.path.name
    if item.image and item.image != "app":
        folder = "sysbuild" if build.sysbuild else "child_image"
        return f"{folder}/{item.path.name}"
    return item.path.name


def _in_use(build: Build, image: str) -> bool:
    """Whether the files say the image exists even though none of its own were attached."""
    if image == "app":
        return bool(build.images)
    layouts = list(build.all_layouts())
    return any("mcuboot" in layout.partitions for layout in layouts) or any(
        i.config.enabled("CONFIG_BOOTLOADER_MCUBOOT") for i in build.images
    )


def _board_from_content(item: Attachment, board: _Guess, soc: _Guess) -> None:
    if item.kind in ("config", "conf"):
        config = parse_kconfig(item.text, item.path)
        board.offer(config.str("CONFIG_BOARD_TARGET") or config.str("CONFIG_BOARD"), item.shown, "high")
        soc.offer(config.str("CONFIG_SOC"), item.shown, "high")
        for name, setting in config.settings.items():
            _soc_symbol(name, setting, item, soc)
            _board_symbol(name, setting, item, board)
    elif item.kind in ("sysbuild-config", "sysbuild-conf"):
        config = parse_kconfig(item.text, item.path)
        qualifiers = config.str("SB_CONFIG_BOARD_QUALIFIERS")
        name = config.str("SB_CONFIG_BOARD")
        board.offer(f"{name}/{qualifiers}" if name and qualifiers else name, item.shown, "high")
        soc.offer(config.str("SB_CONFIG_SOC"), item.shown, "high")
    elif item.kind == "cmake-cache":
        cache = parse_cmake_cache(item.text)
        board.offer(cache.get("BOARD") or cache.get("CACHED_BOARD"), item.shown, "high")
    elif item.kind == "log" and item.log is not None:
        board.offer(item.log.board, item.shown, "high")
    elif item.kind in ("zephyr.dts", "dts-source"):
        match = re.search(r'compatible\s*=\s*[^;]*"nordic,(nrf\d{4,5}[\w-]*)"', item.text)
        if match:
            soc.offer(match.group(1), f"a compatible in {item.shown}", "medium")


def _soc_symbol(name: str, setting: Setting, item: Attachment, soc: _Guess) -> None:
    match = re.fullmatch(r"CONFIG_SOC_(NRF\d{4,5}(?:_CPUNET|_CPUAPP)?)(?:_[A-Z]{4})?", name)
    if match and setting.value is True:
        soc.offer(match.group(1), f"{name} in {item.shown}", "high")


def _board_symbol(name: str, setting: Setting, item: Attachment, board: _Guess) -> None:
    """``CONFIG_BOARD_NRF52840DK_NRF52840=y`` names the board (not ``CONFIG_BOARD_ENABLE_DCDC``)."""
    match = re.fullmatch(r"CONFIG_BOARD_(\w+)", name)
    if match and setting.value is True and re.search(r"NRF\d|DK|THINGY|PINNACLE|BL6|BL5", match.group(1)):
        board.offer(match.group(1).lower(), f"{name} in {item.shown}", "medium")


def _board_from_name(item: Attachment, board: _Guess) -> None:
    stem = item.path.stem
    if item.kind in ("static", "partitions"):
        match = re.match(r"pm_static_(.+)$", stem)
        if match:
            board.offer(match.group(1), f"the file name {item.path.name}", "medium")
    elif (
        item.kind in ("dts-source", "conf")
        and stem.lower() not in _NOT_BOARD_STEMS
        and not stem.startswith("overlay")
        and re.search(r"nrf\d|dk|thingy|pinnacle|bl65|bl53|xiao|feather", stem, re.I)
    ):
        board.offer(stem, f"the file name {item.path.name}", "medium")


def _soc_of_board(board: str) -> Optional[str]:
    name = board.lower()
    match = re.search(r"nrf\d{4,5}(?:_cpunet)?", name.replace("/", "_"))
    if match:
        return match.group(0)
    for prefix, soc in sorted(_BOARD_SOCS.items(), key=lambda kv: -len(kv[0])):
        if name.startswith(prefix):
            return soc
    return None


# ------------------------------------------------------------------ what to ask for


def wanted(build: Build) -> List[str]:
    """The attachments that would let the skipped checks run, most useful first."""
    asks: List[str] = []
    symptoms = {symptom.id for symptom in build.symptoms}
    app_dir = "build/<app>/zephyr" if build.sysbuild else "build/zephyr"
    flash_trouble = symptoms & {"slot-unreachable", "device-not-ready", "sectors-incompatible"}
    layouts = list(build.all_layouts())
    if not build.layouts and not build.static_files:
        asks.append("build/partitions.yml — the layout Partition Manager generated (or your pm_static.yml)")
    mcuboot = build.image("mcuboot")
    if (mcuboot is None or not mcuboot.config) and (flash_trouble or _in_use(build, "mcuboot")):
        asks.append(
            "build/mcuboot/zephyr/.config — MCUboot's own configuration (does it have the flash driver?)"
        )
    app = build.app
    if app is None or not app.config or app.config.get("CONFIG_PARTITION_MANAGER_ENABLED") is None:
        asks.append(f"{app_dir}/.config — the application's merged configuration")
    external = any(p.region == "external_flash" for layout in layouts for p in layout.partitions.values())
    if external or flash_trouble:
        if (
            app is None
            or not app.devicetree
            or not app.devicetree.file
            or app.devicetree.file.name != "zephyr.dts"
        ):
            asks.append(f"{app_dir}/zephyr.dts — the application's final devicetree")
        if mcuboot is None or not mcuboot.devicetree or mcuboot.devicetree.file.name != "zephyr.dts":
            asks.append("build/mcuboot/zephyr/zephyr.dts — MCUboot's final devicetree (its own chosen nodes)")
    mcumgr = any("MCUmgr" in symptom.meaning for symptom in build.symptoms)
    if mcumgr and not (build.ncs_version or build.zephyr_version):
        asks.append(
            "the first lines of the boot log (`*** Booting nRF Connect SDK v…`) — MCUmgr error numbers "
            "changed meaning in NCS 2.6"
        )
    if not build.board:
        asks.append("the board name (`west build -b …`)")
    return asks[:6]


# ------------------------------------------------------------------ the command


def triage_build(
    paths: List[Path],
    soc: Optional[str] = None,
    board: Optional[str] = None,
    logs: Optional[List[Path]] = None,
) -> Build:
    """Assemble the Build for a set of attachments (files and folders in any mix)."""
    return Triage([Path(p) for p in paths], soc, board, [Path(p) for p in logs or []]).run()


def triage_command(args: argparse.Namespace, ctx) -> int:
    """`pmdoctor triage PATH…`: diagnose loose attachments and report like `check`."""
    from .api import check
    from .cli import EXIT_USAGE, _selected_rules, emit

    if not args.paths:
        ctx.stderr.write("pmdoctor: triage needs files or folders: pmdoctor triage FILE_OR_DIR…\n")
        return EXIT_USAGE
    paths = [Path(p) if Path(p).is_absolute() else ctx.cwd / p for p in args.paths]
    logs = [Path(p) if Path(p).is_absolute() else ctx.cwd / p for p in getattr(args, "log", None) or []]
    missing = [str(p) for p in paths + logs if not p.exists()]
    if missing:
        ctx.stderr.write(f"pmdoctor: no such file or folder: {', '.join(missing)}\n")
        return EXIT_USAGE
    try:
        selected = _selected_rules(args.rules)
    except ValueError as error:
        ctx.stderr.write(f"pmdoctor: {error}\n")
        return EXIT_USAGE
    build = triage_build(paths, getattr(args, "soc", None), getattr(args, "board", None), logs)
    return emit([check(build, selected)], args, ctx)
