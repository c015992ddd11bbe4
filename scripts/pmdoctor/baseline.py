"""Load ``--baseline PATH``: the flash layout already deployed in the field.

PATH is a ``partitions*.yml`` Partition Manager wrote, a ``pm_static*.yml``,
a folder holding ``partitions*.yml`` files, or a whole PM-era build directory.
Each becomes recognised inputs and goes through the one assembler; the
result is one :class:`~pmdoctor.model.Layout` per domain (``CPUNET`` for
``partitions_CPUNET.yml`` / ``pm_static_*_CPUNET.yml``). This module only
loads; rule PMD704 compares.
"""

from __future__ import annotations

from pathlib import Path
from typing import List

from .assemble import assemble, load_build
from .inputs.kinds import ATTACHED, Input, InputKind, InputSet, domain_of
from .loaders.cmake import is_build_dir
from .model import Layout, ProblemKind


class BaselineError(Exception):
    """The baseline cannot be used; the message says why (a usage error)."""


def load_baseline(path: Path) -> List[Layout]:
    path = Path(path)
    if path.is_dir() and is_build_dir(path):
        return _from_build(path)
    if path.is_dir():
        files = sorted(
            p for p in path.glob("partitions*.yml") if domain_of(p.name) or p.name == "partitions.yml"
        )
        if not files:
            raise BaselineError(f"baseline folder {path} has no partitions.yml")
    elif path.is_file():
        files = [path]
    else:
        raise BaselineError(f"baseline {path} does not exist")
    return _from_files(path if path.is_dir() else path.parent, files)


def _from_files(root: Path, files: List[Path]) -> List[Layout]:
    inputs = InputSet(root=root)
    for file in files:
        kind = InputKind.STATIC if file.name.startswith("pm_static") else InputKind.PARTITIONS
        inputs.inputs.append(Input(file, kind, provenance=ATTACHED, shown=file.name))
        regions = file.with_name(file.name.replace("partitions", "regions", 1))
        if kind is InputKind.PARTITIONS and regions != file and regions.is_file():
            inputs.inputs.append(Input(regions, InputKind.REGIONS, provenance=ATTACHED, shown=regions.name))
    build = assemble(inputs)
    unreadable = [p for p in build.problems if p.kind is ProblemKind.UNREADABLE and p.source.file in files]
    if unreadable:
        raise BaselineError(f"baseline {unreadable[0].source}: {unreadable[0].message}")
    if any(not isinstance(_data_of(item), dict) for item in inputs.inputs if item.path in files):
        raise BaselineError(f"baseline {files[0]} is not a partitions mapping")
    return _with_partitions([*build.layouts, *(s.layout for s in build.static_files if s.layout)], files[0])


def _data_of(item: Input) -> object:
    return getattr(item.parsed, "data", None) if item.parsed is not None else None


def _from_build(path: Path) -> List[Layout]:
    build = load_build(path)
    layouts = list(build.layouts) or [s.layout for s in build.static_files if s.layout is not None]
    if not layouts:
        raise BaselineError(
            f"baseline {path} is not a Partition Manager build (no partitions.yml): "
            "give the partitions.yml or pm_static.yml of the deployed firmware"
        )
    return _with_partitions(layouts, path)


def _with_partitions(layouts: List[Layout], path: Path) -> List[Layout]:
    layouts = [layout for layout in layouts if layout.partitions]
    if not layouts:
        raise BaselineError(f"baseline {path} holds no Partition Manager partitions")
    return layouts
