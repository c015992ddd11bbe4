"""Recognised inputs: a file, what it is, which image and domain it belongs to, and why we think so.

A build directory (:mod:`.locate`), a set of forum attachments
(:mod:`.sniff`) and a ``--baseline`` file all become an :class:`InputSet`;
:func:`pmdoctor.assemble.assemble` turns any of them into one ``Build``.
Naming rules that several places need (which domain a file belongs to)
live here, once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

from ..model import Confidence, Named

# Provenance of every file the user gave (triage attachments).
ATTACHED = "attached"


class InputKind(Named):
    """What a file is, whatever it is called."""

    BUILD_DIR = "build-dir"  # a build directory found among attachments (for the record)
    CMAKE_CACHE = "cmake-cache"
    DOMAINS = "domains"  # sysbuild's domains.yaml
    BUILD_INFO = "build-info"  # build_info.yml (Zephyr >= 4.0)
    PARTITIONS = "partitions"  # partitions*.yml that Partition Manager wrote
    REGIONS = "regions"  # regions*.yml
    STATIC = "static"  # a pm_static*.yml
    CONFIG = "config"  # an image's merged zephyr/.config
    SYSBUILD_CONFIG = "sysbuild-config"  # the sysbuild zephyr/.config
    CONF = "conf"  # a Kconfig fragment the user wrote (prj.conf …)
    SYSBUILD_CONF = "sysbuild-conf"  # sysbuild.conf and friends
    ZEPHYR_DTS = "zephyr.dts"  # an image's flattened devicetree
    DTS_SOURCE = "dts-source"  # a hand-written .dts/.dtsi/.overlay
    OVERLAY = "overlay"  # an overlay in the application source (only its chosen lines are read)
    LOG = "log"
    SIGNED_IMAGE = "signed-image"  # zephyr.signed.bin (only its size is read)

    @property
    def per_image(self) -> bool:
        """Kinds that belong to one image; layouts, sysbuild files and logs belong to the build."""
        return self in (InputKind.CONFIG, InputKind.CONF, InputKind.ZEPHYR_DTS, InputKind.DTS_SOURCE)


# How reports name each kind ("read prj.conf as Kconfig fragment of app").
KIND_NAMES: Dict[InputKind, str] = {
    InputKind.PARTITIONS: "generated layout (partitions.yml)",
    InputKind.STATIC: "static layout (pm_static.yml)",
    InputKind.REGIONS: "regions (regions.yml)",
    InputKind.DOMAINS: "sysbuild images (domains.yaml)",
    InputKind.ZEPHYR_DTS: "flattened devicetree (zephyr.dts)",
    InputKind.DTS_SOURCE: "devicetree source",
    InputKind.CONFIG: "generated Kconfig (.config)",
    InputKind.SYSBUILD_CONFIG: "generated sysbuild Kconfig (.config)",
    InputKind.CONF: "Kconfig fragment",
    InputKind.SYSBUILD_CONF: "sysbuild Kconfig fragment",
    InputKind.CMAKE_CACHE: "CMakeCache.txt",
    InputKind.LOG: "log",
    InputKind.BUILD_DIR: "build directory",
}


@dataclass
class Input:
    """One file pmdoctor will read, and what it was recognised as."""

    path: Path
    kind: Optional[InputKind]  # None: looked at, not used (``detail`` says why)
    image: Optional[str] = None
    domain: Optional[str] = None
    # Why this file is in the set: "build directory", "attached", "PM_STATIC_YML_FILE in CMakeCache.txt" …
    provenance: str = ""
    confidence: Confidence = Confidence.HIGH
    shown: str = ""  # how reports name it (triage: relative to the attachments' common folder)
    detail: str = ""  # what was read from it, or why it was not used
    text: Optional[str] = None  # the content, when sniffing already read it
    parsed: Optional[object] = None  # what sniffing parsed it into (a YamlDoc, a LogFile)
    cut_at: Optional[int] = None  # a truncated paste: the line where the usable part ends

    @property
    def used(self) -> bool:
        return self.kind is not None


@dataclass(frozen=True)
class ImageDir:
    """One image of a build directory: its name and folder (``zephyr/.config`` lives below it)."""

    name: str
    path: Path
    default: bool = False  # the application: sysbuild's default image, or a child-image build's top


@dataclass
class InputSet:
    """Everything one analysis reads: a build directory, attachments, or a baseline."""

    root: Path  # the build directory, or the folder the attachments share
    inputs: List[Input] = field(default_factory=list)
    # A whole build directory: its images are listed, and a file missing from it is really missing.
    complete: bool = False
    images: List[ImageDir] = field(default_factory=list)
    source_dir: Optional[Path] = None  # the application's sources, when here to read
    recorded_source: Optional[Path] = None  # what the build recorded, wherever that is
    notes: List[str] = field(default_factory=list)

    def of(self, *kinds: InputKind) -> List[Input]:
        return [item for item in self.inputs if item.kind in kinds]

    def first(self, kind: InputKind) -> Optional[Input]:
        found = self.of(kind)
        return found[0] if found else None


_PM_DOMAIN_FILE = re.compile(r"(?:partitions|regions)(?:_(.+))?\.ya?ml")
_STATIC_DOMAIN = re.compile(r"_(CPU[A-Z]+)\.ya?ml$")


def domain_of(name: str) -> Optional[str]:
    """The Partition Manager domain a layout file belongs to, from its name.

    ``partitions_CPUNET.yml`` and ``pm_static_<board>_CPUNET.yml`` (any layout
    named ``…_CPUNET.yml``) belong to ``CPUNET``; ``partitions.yml`` and
    ``pm_static.yml`` to the default
    domain (None). A static file for ``…_CPUAPP`` is the application core's,
    which *is* the default domain in every Partition Manager build.
    """
    match = _PM_DOMAIN_FILE.fullmatch(name)
    if match:
        return match.group(1)
    found = _STATIC_DOMAIN.search(name)
    return found.group(1) if found and found.group(1) != "CPUAPP" else None
