"""The typed picture of one build that every rule reads.

Loaders fill it, rules only read it. Every value that a finding may quote
carries a :class:`Source` so that messages can say ``file:line``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Dict, Iterator, List, Optional, Tuple

if TYPE_CHECKING:  # pragma: no cover
    from .symptoms import Symptom


@dataclass(frozen=True)
class Source:
    """Where a value came from: a file and, when known, a 1-based line."""

    file: Optional[Path]
    line: Optional[int] = None

    def __str__(self) -> str:
        if self.file is None:
            return "<unknown>"
        return f"{self.file}:{self.line}" if self.line else str(self.file)


UNKNOWN = Source(None)


class Named(str, Enum):
    """A str enum that reads and prints as its value, in every Python version.

    (Python 3.11 made ``format()`` of a str enum give ``Role.APP``; messages
    must say ``app``.)
    """

    def __str__(self) -> str:
        return str(self.value)

    def __format__(self, spec: str) -> str:
        return format(str(self.value), spec)


class Era(Named):
    """How the build lays out flash.

    ``CHILD_IMAGE`` and ``SYSBUILD`` are Partition Manager builds;
    ``DEVICETREE`` is any build whose layout comes from devicetree
    partitions (NCS 3.4+, plain Zephyr, or PM switched off).
    """

    CHILD_IMAGE = "child-image"
    SYSBUILD = "sysbuild"
    DEVICETREE = "devicetree"


class Confidence(Named):
    """How sure an inference is: given by the user, read from the build, or guessed."""

    GIVEN = "given"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


@dataclass(frozen=True)
class Fact:
    """One inferred value (board, SoC …), the signal it came from, and how sure that signal is."""

    value: str
    evidence: str
    confidence: Confidence


class LayoutKind(Named):
    GENERATED = "partitions"  # partitions*.yml written by Partition Manager
    STATIC = "pm_static"  # a pm_static*.yml the user wrote or copied
    DEVICETREE = "devicetree"  # fixed-partitions of one image's zephyr.dts


# Region names Partition Manager uses, with their placement strategy when
# regions.yml does not say (sdk-nrf cmake/sysbuild/partition_manager.cmake).
DEFAULT_PLACEMENT = {
    "flash_primary": "complex",
    "sram_primary": "complex",
    "external_flash": "start_to_end",
    "otp": "start_to_end",
    "bootconf": "start_to_end",
    "ram_flash": "start_to_end",
}

FLASH_REGIONS = ("flash_primary", "external_flash")
# Devicetree-era layouts name each flash device's region "dt:<node label>".
DT_REGION_PREFIX = "dt:"


def devicetree_region(flash_label: str) -> str:
    """The region name of a devicetree flash device (``dt:flash0``)."""
    return DT_REGION_PREFIX + flash_label


def is_devicetree_region(name: str) -> bool:
    return name.startswith(DT_REGION_PREFIX)


@dataclass
class Region:
    """A memory Partition Manager places partitions in (or a devicetree flash device)."""

    name: str
    base: Optional[int] = None
    size: Optional[int] = None
    erase_block: Optional[int] = None
    write_block: Optional[int] = None
    placement_strategy: str = "complex"
    device: Optional[str] = None
    driver_kconfig: Optional[str] = None
    source: Source = UNKNOWN
    # Where base/size came from, e.g. "regions.yml", "devicetree flash0",
    # "CONFIG_FLASH_SIZE": messages quote it so the user can check it.
    origin: str = ""

    @property
    def end(self) -> Optional[int]:
        if self.base is None or self.size is None:
            return None
        return self.base + self.size

    @property
    def is_flash(self) -> bool:
        return self.name in FLASH_REGIONS or is_devicetree_region(self.name)


@dataclass
class Partition:
    """One partition of a layout, as declared (nothing is corrected)."""

    name: str
    address: Optional[int]
    size: Optional[int]
    region: str = "flash_primary"
    end_address: Optional[int] = None
    span: Tuple[str, ...] = ()
    device: Optional[str] = None
    share_size: Tuple[str, ...] = ()
    placement: Optional[dict] = None
    source: Source = UNKNOWN
    # Devicetree only: the node label (slot0_partition) and the `label`
    # property ("image-0"); PM partitions leave both empty.
    dt_label: Optional[str] = None
    dt_path: Optional[str] = None

    @property
    def end(self) -> Optional[int]:
        if self.address is None or self.size is None:
            return None
        return self.address + self.size

    @property
    def is_container(self) -> bool:
        return bool(self.span)

    @property
    def has_extent(self) -> bool:
        return self.address is not None and self.size is not None


@dataclass
class Layout:
    """One set of partitions: a partitions file, a static file or one image's devicetree."""

    kind: LayoutKind
    file: Optional[Path]
    domain: Optional[str] = None
    image: Optional[str] = None
    partitions: Dict[str, Partition] = field(default_factory=dict)
    regions: Dict[str, Region] = field(default_factory=dict)
    # Modification time of `file` (seconds since the epoch): a static file
    # newer than the partitions file it produced means a stale build.
    mtime: Optional[float] = None

    def get(self, name: str) -> Optional[Partition]:
        return self.partitions.get(name)

    def region_of(self, partition: Partition) -> Optional[Region]:
        return self.regions.get(partition.region)

    def members(self, container: Partition) -> List[Partition]:
        """The existing partitions a container spans (one level)."""
        return [self.partitions[m] for m in container.span if m in self.partitions]

    def descendants(self, container: Partition) -> set:
        """Names spanned by a container, through nested containers."""
        seen: set = set()
        todo = list(container.span)
        while todo:
            name = todo.pop()
            if name in seen:
                continue
            seen.add(name)
            child = self.partitions.get(name)
            if child is not None:
                todo.extend(child.span)
        return seen

    def by_region(self) -> Dict[str, List[Partition]]:
        grouped: Dict[str, List[Partition]] = {}
        for part in self.partitions.values():
            grouped.setdefault(part.region, []).append(part)
        return grouped

    def slot_pairs(self) -> Iterator[Tuple[int, Partition, Partition]]:
        """(image index, primary, secondary) for every MCUboot slot pair present."""
        for index in range(0, 6):
            primary = self.partitions.get(primary_slot_name(self.kind, index))
            secondary = self.partitions.get(secondary_slot_name(self.kind, index))
            if primary is not None and secondary is not None:
                yield index, primary, secondary

    @property
    def label(self) -> str:
        """How messages name this layout."""
        return str(self.file) if self.file else f"devicetree of {self.image}"


def primary_slot_name(kind: LayoutKind, index: int) -> str:
    if kind is LayoutKind.DEVICETREE:
        return f"slot{2 * index}_partition"
    return "mcuboot_primary" + (f"_{index}" if index else "")


def secondary_slot_name(kind: LayoutKind, index: int) -> str:
    if kind is LayoutKind.DEVICETREE:
        return f"slot{2 * index + 1}_partition"
    return "mcuboot_secondary" + (f"_{index}" if index else "")


# ---------------------------------------------------------------- Kconfig


@dataclass(frozen=True)
class Setting:
    """One line of a .config: a value (True/False/int/str) and where it is."""

    name: str
    value: object
    source: Source


@dataclass
class Kconfig:
    """The symbols of one .config (CONFIG_* or SB_CONFIG_*), with line numbers."""

    file: Optional[Path] = None
    settings: Dict[str, Setting] = field(default_factory=dict)

    def get(self, name: str, default: object = None) -> object:
        setting = self.settings.get(name)
        return default if setting is None else setting.value

    def enabled(self, name: str) -> bool:
        return self.get(name) is True

    def int(self, name: str) -> Optional[int]:
        value = self.get(name)
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    def str(self, name: str) -> Optional[str]:
        value = self.get(name)
        return value if isinstance(value, str) else None

    def where(self, name: str) -> Source:
        setting = self.settings.get(name)
        return setting.source if setting else Source(self.file)

    def __contains__(self, name: str) -> bool:
        return name in self.settings

    def __bool__(self) -> bool:
        return self.file is not None


# ------------------------------------------------------------- devicetree


@dataclass
class DtNode:
    """The parts of a devicetree node pmdoctor reasons about."""

    path: str
    name: str
    labels: Tuple[str, ...] = ()
    compatible: Tuple[str, ...] = ()
    status_okay: bool = True  # effective: this node and every ancestor
    reg: Tuple[Tuple[int, int], ...] = ()
    props: Dict[str, object] = field(default_factory=dict)
    source: Source = UNKNOWN
    # The overlay/board file that defined the node, from zephyr.dts origin
    # comments (Zephyr >= 4.2); None on older builds.
    origin: Optional[Source] = None

    @property
    def label(self) -> str:
        return self.labels[0] if self.labels else self.path


@dataclass(frozen=True)
class DtReference:
    """A property that points at a labelled node: ``partition = <&lfs1_part>`` in ``/fstab/lfs1``."""

    node: str  # path of the node holding the property
    prop: str
    source: Source = UNKNOWN


@dataclass
class Devicetree:
    """One image's flattened zephyr.dts, reduced to what the rules need."""

    file: Optional[Path] = None
    chosen: Dict[str, str] = field(default_factory=dict)  # property -> node path
    chosen_source: Dict[str, Source] = field(default_factory=dict)
    # The overlay/board line that set each chosen property, from zephyr.dts
    # origin comments (Zephyr >= 4.2); empty on older builds.
    chosen_origin: Dict[str, Source] = field(default_factory=dict)
    nodes: Dict[str, DtNode] = field(default_factory=dict)
    labels: Dict[str, str] = field(default_factory=dict)  # label -> path
    # label -> the phandle and path properties (chosen, aliases) pointing at its node
    references: Dict[str, List[DtReference]] = field(default_factory=dict)
    layout: Optional[Layout] = None  # fixed-partitions, all flash devices

    def node(self, path_or_label: Optional[str]) -> Optional[DtNode]:
        if path_or_label is None:
            return None
        path = self.labels.get(path_or_label.lstrip("&"), path_or_label)
        return self.nodes.get(path)

    def chosen_node(self, prop: str) -> Optional[DtNode]:
        return self.node(self.chosen.get(prop))

    def __bool__(self) -> bool:
        return self.file is not None


# ------------------------------------------------------------------ image


class Role(Named):
    """What an image is in the build."""

    APP = "app"
    MCUBOOT = "mcuboot"
    B0 = "b0"  # nRF Secure Immutable Bootloader
    B0N = "b0n"  # its network-core twin
    NETCORE = "netcore"  # the nRF5340 network core's application (ipc_radio, hci_ipc …)
    SPM = "spm"  # the Secure Partition Manager of old nRF9160 builds
    OTHER = "other"


# Images Nordic's samples put on the nRF5340 network core.
NETCORE_IMAGES = ("hci_ipc", "ipc_radio", "hci_rpmsg", "rpc_host", "multiprotocol_rpmsg", "802154_rpmsg")


# What fixes need from an image's CMake cache: the Kconfig fragments and overlays it reads,
# where relative names are taken from, and the board the file names are made of.
IMAGE_CACHE_KEYS = (
    "CONF_FILE",
    "CACHED_CONF_FILE",
    "OVERLAY_CONFIG",
    "EXTRA_CONF_FILE",
    "DTC_OVERLAY_FILE",
    "EXTRA_DTC_OVERLAY_FILE",
    "BOARD",
    "BOARD_REVISION",
    "FILE_SUFFIX",
    "CONF_FILE_BUILD_TYPE",
    "APPLICATION_SOURCE_DIR",
    "APPLICATION_CONFIG_DIR",
    "PM_STATIC_YML_FILE",
)


def role_of_name(name: str) -> Role:
    """The role an image's name gives it (the application is told by sysbuild's default, not its name)."""
    if name in NETCORE_IMAGES:
        return Role.NETCORE
    try:
        return Role(name)
    except ValueError:
        return Role.OTHER


@dataclass
class Image:
    """One Zephyr image of the build (app, mcuboot, b0, a net-core image ...)."""

    name: str
    build_dir: Path
    role: Role = Role.APP
    domain: Optional[str] = None  # Partition Manager domain: None = default, "CPUNET" ...
    config: Kconfig = field(default_factory=Kconfig)
    devicetree: Devicetree = field(default_factory=Devicetree)
    # The MCUboot-signed binary the build produced (zephyr.signed.bin), if any.
    signed_image: Optional[Path] = None
    signed_image_size: Optional[int] = None
    # The CMake cache entries that decide which files the image reads (IMAGE_CACHE_KEYS): from
    # its own CMakeCache.txt as written (``OVERLAY_CONFIG``), and from the parent's cache under
    # the image's prefix (``mcuboot_OVERLAY_CONFIG``), so a fix can name the file the build reads.
    cmake_cache: Dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.role = Role(self.role)  # also when a caller gives the plain name ("mcuboot")

    @property
    def uses_partition_manager(self) -> bool:
        return self.config.enabled("CONFIG_PARTITION_MANAGER_ENABLED")


# --------------------------------------------------------------- problems


class ProblemKind(Named):
    UNREADABLE = "unreadable"  # PMD001: the file could not be read or parsed
    SCHEMA = "schema"  # PMD002 error: Partition Manager would reject it
    SCHEMA_MINOR = "schema-minor"  # PMD002 warning: Partition Manager reads it, but not as written


@dataclass(frozen=True)
class LoadProblem:
    """A file that could not be read, parsed or validated."""

    kind: ProblemKind
    source: Source
    message: str
    image: Optional[str] = None
    domain: Optional[str] = None
    # How to fix it when rebuilding would not (a missing parser): None for "rebuild".
    fix: Optional[str] = None


# ------------------------------------------------------------------ build


@dataclass(frozen=True)
class InputFile:
    """A file given to ``pmdoctor triage`` (or ``--log``): what it was taken for, or why not used."""

    path: Path
    taken_as: str  # "static layout", "console log" ...; "" when the file was not used
    detail: str = ""  # what was read from it, or why it could not be used
    image: Optional[str] = None

    @property
    def used(self) -> bool:
        return bool(self.taken_as)


@dataclass(frozen=True)
class ChosenLine:
    """One ``prop = &label;`` line in a ``chosen`` block of an overlay the user wrote."""

    prop: str
    target: str  # "&mx25r64", "&{/soc/...}" or a path string, as written
    source: Source


@dataclass
class StaticFile:
    """A pm_static*.yml the build used (or would use) and its layout."""

    path: Path
    domain: Optional[str]
    layout: Optional[Layout]
    how_found: str  # "PM_STATIC_YML_FILE in CMakeCache.txt", "application source dir" ...


@dataclass
class Build:
    """Everything pmdoctor knows about one build directory."""

    path: Path
    era: Era
    sysbuild: bool = False
    partition_manager: bool = False
    board: Optional[str] = None
    soc: Optional[str] = None
    zephyr_version: Optional[str] = None
    ncs_version: Optional[str] = None
    source_dir: Optional[Path] = None
    # Whether source_dir is on this machine (a shared build directory often
    # comes without its sources): rules that judge the source tree need it.
    source_available: bool = False
    cmake_cache: Dict[str, str] = field(default_factory=dict)
    sysbuild_config: Kconfig = field(default_factory=Kconfig)
    images: List[Image] = field(default_factory=list)
    layouts: List[Layout] = field(default_factory=list)  # generated, one per domain
    static_files: List[StaticFile] = field(default_factory=list)
    # Every pm_static*.yml/.yaml in the source tree (app dir, sysbuild/, child_image/,
    # boards/, configuration/), used or not: rules judge which one Partition Manager reads.
    static_candidates: List[Path] = field(default_factory=list)
    problems: List[LoadProblem] = field(default_factory=list)
    notes: List[str] = field(default_factory=list)
    # What was inferred rather than read, and from which signal: "board", "soc".
    inferred: Dict[str, Fact] = field(default_factory=dict)
    # Kconfig fragments the user wrote (prj.conf, sysbuild.conf,
    # sysbuild/mcuboot.conf, child_image/mcuboot.conf ...), keyed by their
    # path relative to the application source directory.
    user_configs: Dict[str, Kconfig] = field(default_factory=dict)
    # Chosen properties set in the user's overlays (boards/*.overlay, app.overlay,
    # child_image/*.overlay, sysbuild/*.overlay ...), so fixes can name the line.
    user_chosen: List[ChosenLine] = field(default_factory=list)
    # The overlays found there, relative to the application source directory.
    user_overlays: List[str] = field(default_factory=list)
    # Recognised log lines (--log, or triage attachments).
    symptoms: List[Symptom] = field(default_factory=list)
    # The layout already deployed in the field (`--baseline`: a partitions.yml,
    # pm_static.yml or PM-era build directory), one layout per domain.
    baselines: List[Layout] = field(default_factory=list)
    # Triage: each attachment and what it was taken for; what to ask the user
    # to attach next ("build/mcuboot/zephyr/.config — MCUboot's own settings").
    inputs: List[InputFile] = field(default_factory=list)
    wanted: List[str] = field(default_factory=list)

    def image(self, name_or_role: str) -> Optional[Image]:
        for image in self.images:
            if image.name == name_or_role:
                return image
        for image in self.images:
            if image.role == name_or_role:
                return image
        return None

    @property
    def app(self) -> Optional[Image]:
        return self.image("app")

    def images_in_domain(self, domain: Optional[str]) -> List[Image]:
        return [image for image in self.images if image.domain == domain]

    def all_layouts(self) -> Iterator[Layout]:
        """Generated, static, then devicetree layouts."""
        yield from self.layouts
        for static in self.static_files:
            if static.layout is not None:
                yield static.layout
        for image in self.images:
            if image.devicetree.layout is not None:
                yield image.devicetree.layout

    def layout_for_domain(self, domain: Optional[str]) -> Optional[Layout]:
        for layout in self.layouts:
            if layout.domain == domain:
                return layout
        return None
