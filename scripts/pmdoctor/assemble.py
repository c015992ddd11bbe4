"""Turn recognised inputs into one :class:`~pmdoctor.model.Build` — the only place that does.

A build directory (:func:`pmdoctor.inputs.locate.locate_build`), a set of
forum attachments (:func:`pmdoctor.inputs.sniff.sniff_attachments`), both at
once (a build directory among the attachments), and a ``--baseline`` file all
arrive here as an :class:`~pmdoctor.inputs.kinds.InputSet`. The assembler
loads each input through the loaders (a file that fails becomes a
:class:`~pmdoctor.model.LoadProblem`, reported by PMD001, and the rest is
still analysed), builds the images, layouts and regions, and infers what the
files do not state — era, board, SoC, SDK versions — each with its evidence
(:mod:`pmdoctor.model.infer`).

A whole build directory is taken at its word: what it lacks is missing.
Attachments are a partial view: an image exists only when some of its files
were attached, and every guess is written to ``Build.notes`` with its
confidence.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Dict, Iterable, List, Optional, Tuple, TypeVar

from .inputs.kinds import ATTACHED, KIND_NAMES, Input, InputKind, InputSet, domain_of
from .inputs.locate import SOURCE_CANDIDATE, build_top, locate_build
from .inputs.scope import Environment, ReadScope, real
from .loaders import LoadError, read_text
from .loaders.cmake import parse_cmake_cache
from .loaders.devicetree import dtlib_origin, load_devicetree
from .loaders.kconfig import parse_kconfig
from .loaders.partitions import layout_from_yaml, regions_from_yaml
from .loaders.schema import SchemaViolation, duplicate_keys, validate
from .loaders.sysbuild import dig, load_domains
from .loaders.yamlfile import YamlDoc, parse_yaml
from .model import (
    DEFAULT_PLACEMENT,
    IMAGE_CACHE_KEYS,
    Build,
    Confidence,
    Devicetree,
    Era,
    Fact,
    Image,
    InputFile,
    Kconfig,
    LayoutKind,
    LoadProblem,
    ProblemKind,
    Region,
    Role,
    Source,
    StaticFile,
    infer,
    role_of_name,
)
from .model import soc as socs
from .model.drivers import is_nor
from .model.findings import Text
from .model.infer import Inference
from .model.pm import static_file_names

if TYPE_CHECKING:  # pragma: no cover - the log reader is imported only when there are logs
    from .loaders.logs import LogFile

_NOT_BOARD_STEMS = {"app", "prj", "mcuboot", "sysbuild", "pm_static", "partitions", "regions", "zephyr"}
# Provenance of the files a user gave on the command line (triage attachments, --log).
GIVEN_LOG = "--log"
# The order notes are listed in, by the step that writes them.
_NOTE_ORDER = ("build", "inputs", "inferred", "layouts", "images", "era", "parser", "logs")

T = TypeVar("T")


@dataclass(frozen=True)
class AssemblyOptions:
    """What the user said beside the files."""

    # The Zephyr tree the user's environment names: the only one whose dtlib may run.
    environment: Environment = field(default_factory=Environment)
    board: Optional[str] = None  # --board
    soc: Optional[str] = None  # --soc
    # Triage: explain every inference, list every attachment, say what to attach next.
    triage: bool = False


def assemble(inputs: InputSet, options: Optional[AssemblyOptions] = None) -> Build:
    """One Build from any set of recognised inputs."""
    return _Assembler(inputs, options or AssemblyOptions()).run()


class _Assembler:
    def __init__(self, inputs: InputSet, options: AssemblyOptions):
        self.inputs = inputs
        self.options = options
        self.complete = inputs.complete
        self.build = Build(path=inputs.root, era=Era.DEVICETREE)
        self.regions: Dict[Optional[str], Dict[str, Region]] = {}
        # SoC evidence from attached devicetree sources: (file, include) pairs.
        self.includes: List[Tuple[str, str]] = []
        # Notes by step, so that every run lists them in the same order.
        self.notes: Dict[str, List[str]] = {step: [] for step in _NOTE_ORDER}

    # -- loading, recording problems -----------------------------------------

    def problem(self, error: LoadError, image: Optional[str] = None, domain: Optional[str] = None) -> None:
        self.build.problems.append(
            LoadProblem(ProblemKind.UNREADABLE, error.source, error.message, image, domain, error.fix)
        )

    def load(self, item: Input, loader: Callable[[Input], T], default: T) -> T:
        try:
            return loader(item)
        except LoadError as error:
            self.problem(error, item.image, item.domain)
            item.detail = item.detail or error.message
            return default

    def text(self, item: Input) -> str:
        if item.text is None:
            item.text = read_text(item.path)
        return item.text

    def kconfig(self, item: Optional[Input]) -> Kconfig:
        if item is None:
            return Kconfig()
        return self.load(item, lambda i: parse_kconfig(self.text(i), i.path), Kconfig())

    def yaml(self, item: Input, schema: Optional[str]) -> Optional[YamlDoc]:
        doc = item.parsed if isinstance(item.parsed, YamlDoc) else None
        if doc is None:
            doc = item.parsed = self.load(item, lambda i: parse_yaml(self.text(i), i.path), None)
        if doc is not None and schema:
            self.validate(item, doc, schema)
        return doc

    def validate(self, item: Input, doc: YamlDoc, schema: str) -> None:
        self.report(item, validate(doc, schema))

    def report(self, item: Input, violations: List[SchemaViolation]) -> None:
        for violation in violations:
            kind = ProblemKind.SCHEMA_MINOR if violation.minor else ProblemKind.SCHEMA
            self.build.problems.append(
                LoadProblem(kind, Source(item.path, violation.line), violation.message, domain=item.domain)
            )

    # -- the steps -------------------------------------------------------------

    def run(self) -> Build:
        build = self.build
        self.cache()
        self.sysbuild_config()
        if self.complete:
            self.build_images()
            self.build_info()
        else:
            self.attached_images()
        self.layouts()
        self.identify()
        if not self.complete:
            self.notes["images"] += missing_images(build)
        build.source_dir = self.inputs.source_dir or self.inputs.recorded_source
        build.source_available = self.inputs.source_dir is not None
        self.user_files()
        self.static_files()
        self.complete_regions()
        self.logs()
        self.record_inputs()
        if self.complete:
            self.say_which_parser()
        self.notes["inputs"] = list(self.inputs.notes)
        build.notes = [note for step in _NOTE_ORDER for note in self.notes[step]]
        if self.options.triage:
            build.wanted = wanted(build)
        return build

    # -- the build's index files -------------------------------------------------

    def cache(self) -> None:
        item = self.inputs.first(InputKind.CMAKE_CACHE)
        if item is not None and self.complete and item.provenance != ATTACHED:
            self.build.cmake_cache = self.load(item, lambda i: parse_cmake_cache(self.text(i)), {})

    def sysbuild_config(self) -> None:
        generated = [i for i in self.inputs.of(InputKind.SYSBUILD_CONFIG) if i.provenance != ATTACHED]
        if generated:
            self.build.sysbuild = True
            self.build.sysbuild_config = self.kconfig(generated[0])
        domains = self.inputs.first(InputKind.DOMAINS)
        if self.complete and domains is not None and domains.provenance != ATTACHED:
            self.build.sysbuild = True
            self.load(domains, lambda i: load_domains(i.path), None)  # images were listed; report problems

    def build_info(self) -> None:
        """build_info.yml (Zephyr >= 4.0) names the Zephyr version."""
        for item in self.inputs.of(InputKind.BUILD_INFO):
            doc = self.yaml(item, None)
            if doc is None:
                continue
            if not isinstance(doc.data, dict):
                self.problem(LoadError(item.path, "not a build_info.yml mapping"))
                continue
            version = dig(doc.data, "cmake", "zephyr", "version")
            if version and not self.build.zephyr_version:
                self.build.zephyr_version = infer.plausible_version(version)

    # -- images -------------------------------------------------------------------

    def build_images(self) -> None:
        """A build directory's images: listed by the locator, each with its own files."""
        for listed in self.inputs.images:
            mine = [item for item in self.inputs.inputs if item.image == listed.name]
            # In a build directory the application is sysbuild's default image, whatever its name;
            # a net-core image is recognised by its SoC below.
            role = Role.APP if listed.default else _build_dir_role(listed.name)
            image = Image(name=listed.name, build_dir=listed.path, role=role)
            image.config = self.kconfig(_first(mine, InputKind.CONFIG))
            dts = _first(mine, InputKind.ZEPHYR_DTS)
            if dts is not None:
                image.devicetree = self.flattened(dts)
            cache = _first(mine, InputKind.CMAKE_CACHE)
            if cache is not None:
                image.cmake_cache = self.image_cache(cache)
            signed = _first(mine, InputKind.SIGNED_IMAGE)
            if signed is not None:
                image.signed_image, image.signed_image_size = signed.path, _size(signed.path)
            if _is_netcore(image):
                image.domain = "CPUNET"
                if image.role is Role.OTHER:
                    image.role = Role.NETCORE
            self.build.images.append(image)

    def image_cache(self, item: Input) -> Dict[str, str]:
        """The entries of an image's own CMakeCache.txt that say which files it read (IMAGE_CACHE_KEYS)."""
        entries = self.load(item, lambda i: parse_cmake_cache(self.text(i)), {})
        return {key: entries[key] for key in IMAGE_CACHE_KEYS if key in entries}

    def flattened(self, item: Input) -> Devicetree:
        zephyr_base = self.options.environment.zephyr_base
        return self.load(item, lambda i: load_devicetree(i.path, i.image or "app", zephyr_base), Devicetree())

    def attached_images(self) -> None:
        """Attachments: an image exists only when some of its files were attached."""
        build = self.build
        items = [item for item in self.inputs.inputs if item.provenance == ATTACHED]
        names: List[str] = []
        for item in items:
            if item.kind is not None and item.kind.per_image and item.image not in names:
                names.append(item.image or "app")
            if item.kind in (InputKind.SYSBUILD_CONFIG, InputKind.SYSBUILD_CONF):
                build.sysbuild_config = _merge(build.sysbuild_config, self.kconfig(item), item.path)
        for name in sorted(names, key=lambda n: (n != "app", n)):
            mine = [item for item in items if item.image == name]
            image = Image(name=name, build_dir=build.path, role=role_of_name(name))
            image.config = self.attached_config(name, mine)
            image.devicetree = self.attached_devicetree(name, mine)
            if image.role is Role.NETCORE or image.config.enabled("CONFIG_SOC_NRF5340_CPUNET"):
                image.domain = "CPUNET"
            build.images.append(image)

    def attached_config(self, name: str, mine: List[Input]) -> Kconfig:
        generated = [item for item in mine if item.kind is InputKind.CONFIG]
        if generated:
            return self.kconfig(generated[0])
        fragments = sorted((item for item in mine if item.kind is InputKind.CONF), key=_fragment_order)
        if not fragments:
            return Kconfig()
        self.notes["images"].append(
            f"image {name}: Kconfig from {', '.join(f.shown for f in fragments)} only (not the merged "
            ".config): options set by board defaults are unknown"
        )
        config = Kconfig()
        for item in fragments:
            config = _merge(config, self.kconfig(item), item.path)
        return config

    def attached_devicetree(self, name: str, mine: List[Input]) -> Devicetree:
        for item in (item for item in mine if item.kind is InputKind.ZEPHYR_DTS):
            try:
                # Never a Zephyr tree's dtlib for attachments: the installed package only.
                return load_devicetree(item.path, name)
            except LoadError as error:
                item.detail = f"{error.message}; read as devicetree source instead"
                item.kind = InputKind.DTS_SOURCE
        sources = sorted((item for item in mine if item.kind is InputKind.DTS_SOURCE), key=_dts_order)
        if not sources:
            return Devicetree()
        from .loaders.dts_source import parse_sources  # attachments only

        tree = parse_sources([(item.path, self.text(item)) for item in sources], name)
        for item in sources:
            item.detail = item.detail or "chosen nodes, labels, status and partitions read"
        self.includes.extend((item.shown, include) for item in sources[:1] for include in tree.includes)
        missing = []
        if tree.includes:
            missing.append("includes not attached: " + ", ".join(tree.includes[:6]))
        if tree.unresolved_labels:
            missing.append(
                "labels defined elsewhere: " + ", ".join("&" + label for label in tree.unresolved_labels[:8])
            )
        if missing or tree.problems:
            self.notes["images"].append(f"devicetree of {name}: " + "; ".join(missing + tree.problems[:3]))
        return tree.devicetree

    # -- layouts ------------------------------------------------------------------

    def layouts(self) -> None:
        """Partition Manager's generated layouts (and, for attachments, the static files).

        In a build directory each ``partitions*.yml`` has its ``regions*.yml``
        beside it; attached region files count for their domain.
        """
        own = [i for i in self.inputs.inputs if (i.provenance == ATTACHED) != self.complete]
        regions = {item.path: item for item in own if item.kind is InputKind.REGIONS}
        if not self.complete:
            for item in regions.values():
                doc = self.yaml(item, None)
                if doc is not None:
                    self.regions[domain_of(item.path.name)] = regions_from_yaml(doc)
                    self.report(item, duplicate_keys(doc))  # layouts get theirs from validate()
        for item in own:
            if item.kind is InputKind.PARTITIONS or (item.kind is InputKind.STATIC and not self.complete):
                beside = regions.get(item.path.with_name(item.path.name.replace("partitions", "regions", 1)))
                self.layout(item, beside if self.complete else None)

    def layout(self, item: Input, regions: Optional[Input] = None) -> None:
        kind = LayoutKind.STATIC if item.kind is InputKind.STATIC else LayoutKind.GENERATED
        if not self.complete:
            item.domain = domain_of(item.path.name)
            if item.cut_at:
                self.build.problems.append(
                    LoadProblem(
                        ProblemKind.UNREADABLE,
                        Source(item.path, item.cut_at),
                        f"the paste is cut off here (invalid YAML from line {item.cut_at}); "
                        "only the entries before it were checked",
                        domain=item.domain,
                    )
                )
        doc = self.yaml(item, "pm_static" if kind is LayoutKind.STATIC else "partitions")
        if doc is None:
            return
        layout = layout_from_yaml(doc, kind, item.domain)
        layout.regions = dict(self.regions.get(item.domain, {}))
        if self.complete:
            layout.mtime = _mtime(item.path)
            regions_doc = self.yaml(regions, "regions") if regions is not None else None
            if regions_doc is not None:
                layout.regions = regions_from_yaml(regions_doc)
            self.build.layouts.append(layout)
            return
        if kind is LayoutKind.GENERATED:
            self.build.layouts.append(layout)
        else:
            self.build.static_files.append(
                StaticFile(item.path, item.domain, layout, "attached to the thread")
            )
            self.build.static_candidates.append(item.path)
        item.detail = f"{len(layout.partitions)} partitions" + item.detail.partition(" entries")[2]
        if item.path.suffix.lower() == ".yaml" and kind is LayoutKind.STATIC:
            self.notes["layouts"].append(
                f"{item.shown}: Partition Manager only looks for pm_static*.yml, not .yaml; "
                "read here as the static layout anyway"
            )

    # -- what the build is ---------------------------------------------------------

    def identify(self) -> None:
        board, soc = self.board_and_soc()
        build = self.build
        build.board = board.best.value if board.best else None
        build.soc = socs.normalise_soc(soc.best.value if soc.best else None)
        if board.best is not None:
            build.inferred["board"] = board.best
        if soc.best is not None:
            build.inferred["soc"] = Fact(build.soc or soc.best.value, soc.best.evidence, soc.best.confidence)
        self.versions()
        self.era()
        self.inference_notes(board, soc)

    def board_and_soc(self) -> Tuple[Inference, Inference]:
        """Every signal for the board and the SoC, most authoritative first."""
        build, options = self.build, self.options
        board, soc = Inference("board"), Inference("SoC")
        board.offer(options.board, "--board", Confidence.GIVEN)
        soc.offer(options.soc, "--soc", Confidence.GIVEN)
        if build.cmake_cache:
            infer.cache_signals(build.cmake_cache, "CMakeCache.txt", board)
        for item in self.inputs.of(InputKind.CMAKE_CACHE):
            if item.provenance == ATTACHED:
                infer.cache_signals(parse_cmake_cache(item.text or ""), item.shown, board)
        if build.sysbuild_config:
            infer.sysbuild_signals(
                build.sysbuild_config, _shown(build, build.sysbuild_config.file), board, soc
            )
        app_core = sorted(
            (image for image in build.images if image.domain is None),
            key=lambda image: image.role is not Role.APP,
        )
        for image in app_core:
            if image.config:
                infer.kconfig_signals(image.config, _shown(build, image.config.file), board, soc)
        for item in self.inputs.of(InputKind.LOG):
            log = _log_of(item)
            if log is not None:
                board.offer(log.board, item.shown, Confidence.HIGH)
        for image in app_core:
            if image.devicetree:
                shown = _shown(build, image.devicetree.file)
                includes = [include for _, include in self.includes]
                infer.devicetree_signals(image.devicetree, shown, soc, includes)
        if not self.complete:
            for item in self.inputs.inputs:
                if item.provenance == ATTACHED and item.kind is not None:
                    infer.name_signals(item.path.name, _board_named(item), board)
        infer.board_soc(board, soc)
        infer.layout_signals(build.layouts, soc)
        return board, soc

    def versions(self) -> None:
        build = self.build
        build.ncs_version = build.ncs_version or infer.ncs_version_from_path(
            build.cmake_cache.get("ZEPHYR_BASE", "")
        )
        for item in self.inputs.of(InputKind.LOG, InputKind.CMAKE_CACHE):
            if item.provenance != ATTACHED:
                continue
            if _log_of(item) is not None:
                build.ncs_version = build.ncs_version or infer.plausible_version(item.parsed.ncs_version)
                build.zephyr_version = build.zephyr_version or infer.plausible_version(
                    item.parsed.zephyr_version
                )
            elif item.kind is InputKind.CMAKE_CACHE and not build.ncs_version:
                base = parse_cmake_cache(item.text or "").get("ZEPHYR_BASE", "")
                build.ncs_version = infer.ncs_version_from_path(base)

    def era(self) -> None:
        """Partition Manager or not, sysbuild or child images, from what the inputs show."""
        build = self.build
        if self.complete:
            app = build.app
            app_config = app.config if app else Kconfig()
            build.partition_manager = bool(
                build.layouts
                or build.sysbuild_config.enabled("SB_CONFIG_PARTITION_MANAGER")
                or app_config.enabled("CONFIG_PARTITION_MANAGER_ENABLED")
            )
            if build.partition_manager:
                build.era = Era.SYSBUILD if build.sysbuild else Era.CHILD_IMAGE
                if not build.layouts:
                    self.notes["build"].append(
                        "Partition Manager is enabled but wrote no partitions.yml: its step probably "
                        "failed; the static file and each image's files are analysed instead"
                    )
            return
        self.attached_era()

    def attached_era(self) -> None:
        build = self.build
        items = [item for item in self.inputs.inputs if item.provenance == ATTACHED and item.kind is not None]
        kinds = {item.kind for item in items}
        shown = " ".join(item.shown.lower() for item in items).replace("\\", "/")
        sysbuild_evidence = bool(
            kinds & {InputKind.SYSBUILD_CONFIG, InputKind.SYSBUILD_CONF, InputKind.DOMAINS}
        ) or ("sysbuild/" in shown)
        layouts = bool(build.layouts or build.static_files)
        configs = [image.config for image in build.images] + [build.sysbuild_config]
        pm_on = any(c.enabled("CONFIG_PARTITION_MANAGER_ENABLED") for c in configs)
        pm_off = build.sysbuild_config.get("SB_CONFIG_PARTITION_MANAGER") is False
        build.partition_manager = (layouts or pm_on) and not pm_off
        from .loaders.logs import version_tuple  # attachments only

        version = version_tuple(build.ncs_version)
        if sysbuild_evidence:
            build.sysbuild, era, why = (
                True,
                Era.SYSBUILD,
                "SB_CONFIG_ lines or sysbuild/ files (high confidence)",
            )
        elif "child_image" in shown:
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
                self.notes["era"].append(
                    f"Partition Manager assumed: the default of NCS v{build.ncs_version}"
                )
        if not build.partition_manager and (pm_off or any(image.devicetree.layout for image in build.images)):
            era, why = Era.DEVICETREE, "no Partition Manager layout attached, devicetree partitions are"
        build.era = era
        if build.partition_manager or era is Era.DEVICETREE:
            self.notes["era"].append(f"era {era.value}: from {why}")

    def inference_notes(self, board: Inference, soc: Inference) -> None:
        """Triage says where every fact came from; any run says when signals disagree."""
        notes = self.notes["inferred"]
        if self.options.triage:
            best = board.best
            if best is not None and best.confidence is not Confidence.GIVEN:
                notes.append(f"board {best.value}: {infer.describe(best)}")
            elif best is None:
                notes.append("board unknown: no CONFIG_BOARD, CMakeCache.txt or board-named file attached")
            best = soc.best
            if best is not None and best.confidence is not Confidence.GIVEN:
                notes.append(f"SoC {self.build.soc}: {infer.describe(best)}")
            elif best is None:
                notes.append("SoC unknown: SoC-specific checks are skipped (pass --soc to enable them)")
        for what, inference, same, at_least in (
            ("SoC", soc, infer.same_soc, Confidence.MEDIUM),
            ("board", board, infer.same_board, Confidence.HIGH),
        ):
            best = inference.best
            note = infer.conflict_note(what, best, inference.conflicts(same, at_least)) if best else None
            if note:
                notes.append(note)

    # -- the user's files ------------------------------------------------------------

    def user_files(self) -> None:
        """Kconfig fragments and overlays the user wrote, so fixes can name the line to change."""
        build = self.build
        for item in self.inputs.inputs:
            attached = item.provenance == ATTACHED
            if item.kind in (InputKind.CONF, InputKind.SYSBUILD_CONF):
                key = _user_key(item, build) if attached else item.shown
                if key not in build.user_configs:
                    build.user_configs[key] = self.kconfig(item)
            elif item.kind is InputKind.OVERLAY:
                from .loaders.overlay import scan_chosen  # only when there is an overlay

                build.user_overlays.append(item.shown)
                build.user_chosen.extend(self.load(item, lambda i: scan_chosen(self.text(i), i.path), []))
            elif item.kind is InputKind.DTS_SOURCE and attached and item.path.suffix.lower() == ".overlay":
                from .loaders.overlay import scan_chosen

                build.user_chosen.extend(scan_chosen(self.text(item), item.path))

    def static_files(self) -> None:
        """The pm_static file(s) Partition Manager used or would use (build directories)."""
        if not self.complete:
            return
        build = self.build
        candidates = [i for i in self.inputs.of(InputKind.STATIC) if i.provenance == SOURCE_CANDIDATE]
        build.static_candidates = sorted(item.path for item in candidates)
        named_in_cache = any(
            key.endswith("PM_STATIC_YML_FILE") and value for key, value in build.cmake_cache.items()
        )
        if not (build.partition_manager or named_in_cache):
            return
        chosen = [
            i for i in self.inputs.of(InputKind.STATIC) if i.provenance not in (SOURCE_CANDIDATE, ATTACHED)
        ]
        if not chosen and not named_in_cache and build.source_available:
            by_path = {item.path: item for item in candidates}
            for name in static_file_names(build.board, build.cmake_cache):
                item = by_path.get(Path(build.source_dir) / name)
                if item is not None:
                    chosen = [item]
                    break
        for item in chosen:
            doc = self.yaml(item, "pm_static")
            layout = layout_from_yaml(doc, LayoutKind.STATIC, item.domain) if doc else None
            if layout is not None:
                layout.mtime = _mtime(item.path)
                generated = build.layout_for_domain(item.domain)
                layout.regions = dict(generated.regions) if generated else {}
            how = "application source directory" if item.provenance == SOURCE_CANDIDATE else item.provenance
            build.static_files.append(StaticFile(item.path, item.domain, layout, how))

    def complete_regions(self) -> None:
        """Fill region bounds and erase blocks that regions.yml does not give."""
        build = self.build
        for layout in build.layouts + [s.layout for s in build.static_files if s.layout]:
            images = build.images_in_domain(layout.domain)
            main = next(
                (i for i in images if i.role in (Role.APP, Role.NETCORE)), images[0] if images else None
            )
            for name in set(layout.regions) | {p.region for p in layout.partitions.values()}:
                region = layout.regions.get(name) or Region(
                    name=name, placement_strategy=DEFAULT_PLACEMENT.get(name, "complex")
                )
                complete_region(region, main, build.soc, layout.domain)
                layout.regions[name] = region

    # -- logs, and what was read ------------------------------------------------------

    def logs(self) -> None:
        build = self.build
        items = self.inputs.of(InputKind.LOG)
        if not items:
            return
        from .loaders.logs import Versions, parse_log, version_tuple  # only when there are logs

        versions = Versions(version_tuple(build.ncs_version), version_tuple(build.zephyr_version))
        for item in items:
            sniffed = _log_of(item)
            # Parse again with what the other files told about the firmware version, unless that
            # changes nothing: nothing was told, or the log names its own version (which wins).
            if sniffed is not None and (
                sniffed.ncs_version or sniffed.zephyr_version or versions == Versions()
            ):
                log = sniffed
            else:
                try:
                    log = parse_log(self.text(item), item.path, versions)
                except LoadError as error:
                    build.problems.append(LoadProblem(ProblemKind.UNREADABLE, error.source, error.message))
                    item.detail, item.kind = error.message, None
                    continue
            build.symptoms.extend(log.symptoms)
            if item.provenance == GIVEN_LOG:
                item.detail = log.describe()
                if log.omitted:  # the text report lists no inputs: say here that lines were counted
                    self.notes["logs"].append(Text(item.path, f": {log.describe()}"))
            elif log.board and not build.board:
                build.board = log.board

    def record_inputs(self) -> None:
        """What each file the user gave was taken for (triage attachments, --log)."""
        for item in self.inputs.inputs:
            if item.provenance == GIVEN_LOG:
                self.build.inputs.append(InputFile(item.path, "log" if item.used else "", item.detail))
            elif item.provenance in (ATTACHED, "given"):
                taken = KIND_NAMES.get(item.kind, item.kind.value) if item.kind is not None else ""
                image = item.image if item.kind is not None and item.kind.per_image else None
                self.build.inputs.append(InputFile(item.path, taken, item.detail, image))

    def say_which_parser(self) -> None:
        """When the build's own Zephyr is on this machine but did not parse it, say which parser did.

        (A build made elsewhere names a Zephyr that is not here: nothing to say.)
        """
        build, environment = self.build, self.options.environment
        recorded = build.cmake_cache.get("ZEPHYR_BASE")
        if not recorded or not any(image.devicetree.file for image in build.images):
            return
        if not os.path.isdir(Path(recorded) / "scripts" / "dts"):  # a recorded path may be any text
            return
        if environment.zephyr_base is not None and _same_path(Path(recorded), environment.zephyr_base):
            return
        self.notes["parser"].append(
            Text(
                f"devicetree read with {dtlib_origin(environment.zephyr_base)}, "
                "not with the build's Zephyr (",
                Path(recorded),
                "): pmdoctor runs code only from the Zephyr tree $ZEPHYR_BASE names",
            )
        )


# ------------------------------------------------------------------ regions


def complete_region(
    region: Region, image: Optional[Image], soc: Optional[str], domain: Optional[str]
) -> None:
    """Bounds and erase/write blocks of a region, from the image's devicetree, Kconfig, then SoC facts."""
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


def missing_images(build: Build) -> List[str]:
    """Attachments: the images the files imply but none of whose files were attached."""
    return [
        f"image {want}: none of its files were attached; rules about it could not check it"
        for want in ("app", "mcuboot")
        if build.image(want) is None and _in_use(build, want)
    ]


# ------------------------------------------------------------------ helpers


def _log_of(item: Input) -> Optional[LogFile]:
    """The log a (log or attached) input was parsed into, if any."""
    from .loaders.logs import LogFile  # only where logs are read

    return item.parsed if isinstance(item.parsed, LogFile) else None


def _first(items: Iterable[Input], kind: InputKind) -> Optional[Input]:
    return next((item for item in items if item.kind is kind), None)


def _size(path: Path) -> Optional[int]:
    try:
        return path.stat().st_size
    except OSError:
        return None


def _mtime(path: Path) -> Optional[float]:
    try:
        return path.stat().st_mtime
    except OSError:
        return None


def _same_path(a: Path, b: Path) -> bool:
    try:
        return real(a) == real(b)
    except (OSError, ValueError):
        return False


def _is_netcore(image: Image) -> bool:
    soc = image.config.str("CONFIG_SOC") or ""
    return (
        image.config.enabled("CONFIG_SOC_NRF5340_CPUNET")
        or "cpunet" in soc.lower()
        or (image.config.enabled("CONFIG_SOC_NRF5340_CPUNET_QKAA"))
    )


def _build_dir_role(name: str) -> Role:
    """In a build directory a folder's name says only bootloaders apart; the rest is told by its SoC."""
    role = role_of_name(name)
    return role if role in (Role.MCUBOOT, Role.B0, Role.B0N, Role.SPM) else Role.OTHER


def _merge(base: Kconfig, more: Kconfig, path: Path) -> Kconfig:
    """Later fragments override earlier ones, as Kconfig merges them."""
    merged = Kconfig(file=base.file if base else path)
    merged.settings.update(base.settings)
    merged.settings.update(more.settings)
    return merged


def _fragment_order(item: Input) -> Tuple[int, str]:
    name = item.path.name.lower()
    if name in ("prj.conf", "mcuboot.conf"):
        return (0, name)
    return (1 if "boards" in item.shown else 2, name)


def _dts_order(item: Input) -> Tuple[int, str]:
    suffix = item.path.suffix.lower()
    return ({".dts": 0, ".dtsi": 1}.get(suffix, 2), item.shown)


def _user_key(item: Input, build: Build) -> str:
    parts = Path(item.shown).parts
    for anchor in ("child_image", "sysbuild", "boards"):
        if anchor in parts:
            return "/".join(parts[parts.index(anchor) :])
    if item.kind is InputKind.SYSBUILD_CONF:
        return "sysbuild.conf" if item.path.name == "sysbuild.conf" else item.path.name
    if item.image and item.image != "app":
        folder = "sysbuild" if build.sysbuild else "child_image"
        return f"{folder}/{item.path.name}"
    return item.path.name


def _board_named(item: Input) -> bool:
    """Whether a file's stem looks like a board name (``pinnacle_100_dvk.overlay``)."""
    stem = item.path.stem
    return (
        item.kind in (InputKind.DTS_SOURCE, InputKind.CONF)
        and stem.lower() not in _NOT_BOARD_STEMS
        and not stem.startswith("overlay")
        and bool(re.search(r"nrf\d|dk|thingy|pinnacle|bl65|bl53|xiao|feather", stem, re.I))
    )


def _shown(build: Build, path: Optional[Path]) -> str:
    """A file as inference evidence names it: relative to the build directory or its parent."""
    if path is None:
        return "a file"
    for base in (build.path, Path(build.path).parent):
        try:
            return Path(path).relative_to(base).as_posix()
        except ValueError:
            continue
    return Path(path).name


def _in_use(build: Build, image: str) -> bool:
    """Whether the files say the image exists even though none of its own were attached."""
    if image == "app":
        return bool(build.images)
    layouts = list(build.all_layouts())
    return any("mcuboot" in layout.partitions for layout in layouts) or any(
        i.config.enabled("CONFIG_BOOTLOADER_MCUBOOT") for i in build.images
    )


# ------------------------------------------------------------------ entry points


def load_build(
    path: Path,
    environment: Optional[Environment] = None,
    scope: Optional[ReadScope] = None,
    logs: Iterable[Path] = (),
) -> Build:
    """Load everything pmdoctor reads from one build directory (and the logs given with ``--log``).

    ``environment`` names the trusted Zephyr tree (default: from
    ``$ZEPHYR_BASE``); ``scope`` is what may be read (default: the build, its
    application source and the environment's workspace).
    """
    top = build_top(Path(path))
    environment = environment if environment is not None else Environment.detect()
    if scope is None:
        scope = ReadScope.of([top, *environment.trusted_roots()])
    found = locate_build(top, scope)
    found.inputs += [Input(Path(log), InputKind.LOG, provenance=GIVEN_LOG, shown=str(log)) for log in logs]
    return assemble(found, AssemblyOptions(environment=environment))


def triage_build(
    paths: Iterable[Path],
    soc: Optional[str] = None,
    board: Optional[str] = None,
    logs: Iterable[Path] = (),
) -> Build:
    """The Build for a set of attachments (files and folders in any mix); only they are read."""
    from .inputs.sniff import sniff_attachments  # triage only

    found = sniff_attachments([Path(p) for p in [*paths, *logs]])
    return assemble(found, AssemblyOptions(board=board, soc=soc, triage=True))
