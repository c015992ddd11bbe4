"""Load ``--baseline PATH``: the flash layout already deployed in the field.

PATH is a ``partitions*.yml`` Partition Manager wrote, a ``pm_static*.yml``,
a folder holding ``partitions*.yml`` files, or a whole PM-era build directory.
The result is one :class:`~pmdoctor.model.Layout` per domain (``CPUNET`` for
``partitions_CPUNET.yml`` / ``pm_static_*_CPUNET.yml``), read by the existing
loaders. This module only loads; rule PMD704 compares.
"""

from __future__ import annotations

import contextlib
import re
from pathlib import Path
from typing import List, Optional

from .loaders import LoadError
from .loaders.cmake import is_build_dir
from .loaders.partitions import layout_from_yaml, regions_from_yaml
from .loaders.yamlfile import load_yaml
from .model import Layout, LayoutKind, domain_of_partitions_file


class BaselineError(Exception):
    """The baseline cannot be used; the message says why (a usage error)."""


def load_baseline(path: Path) -> List[Layout]:
    path = Path(path)
    if path.is_dir():
        layouts = _from_build(path) if is_build_dir(path) else _from_folder(path)
    elif path.is_file():
        layouts = [_from_file(path)]
    else:
        raise BaselineError(f"baseline {path} does not exist")
    layouts = [layout for layout in layouts if layout.partitions]
    if not layouts:
        raise BaselineError(f"baseline {path} holds no Partition Manager partitions")
    return layouts


def _domain(name: str) -> Optional[str]:
    domain = domain_of_partitions_file(name)
    if domain is None and name.startswith("pm_static"):
        match = re.search(r"_(CPU[A-Z]+)\.ya?ml$", name)
        domain = match.group(1) if match else None
    return domain


def _from_file(path: Path) -> Layout:
    try:
        doc = load_yaml(path)
    except LoadError as error:
        raise BaselineError(f"baseline {error}") from None
    if not isinstance(doc.data, dict):
        raise BaselineError(f"baseline {path} is not a partitions mapping")
    kind = LayoutKind.STATIC if path.name.startswith("pm_static") else LayoutKind.GENERATED
    layout = layout_from_yaml(doc, kind, _domain(path.name))
    regions = path.with_name(path.name.replace("partitions", "regions", 1))
    if kind is LayoutKind.GENERATED and regions != path and regions.is_file():
        # Region bounds are a nicety for the comparison, not needed.
        with contextlib.suppress(LoadError):
            layout.regions = regions_from_yaml(load_yaml(regions))
    return layout


def _from_folder(path: Path) -> List[Layout]:
    files = sorted(p for p in path.glob("partitions*.yml") if _domain(p.name) or p.name == "partitions.yml")
    if not files:
        raise BaselineError(f"baseline folder {path} has no partitions.yml")
    return [_from_file(p) for p in files]


def _from_build(path: Path) -> List[Layout]:
    from .build import load_build  # the build assembler is heavier; only for build dirs

    build = load_build(path)
    layouts = list(build.layouts) or [s.layout for s in build.static_files if s.layout is not None]
    if not layouts:
        raise BaselineError(
            f"baseline {path} is not a Partition Manager build (no partitions.yml): "
            "give the partitions.yml or pm_static.yml of the deployed firmware"
        )
    return layouts
