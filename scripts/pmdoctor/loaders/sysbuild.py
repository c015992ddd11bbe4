"""``domains.yaml`` (sysbuild's image list) and ``build_info.yml``."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path, PurePath, PureWindowsPath
from typing import Any, Dict, List, Optional

from . import LoadError
from .yamlfile import load_yaml


@dataclass
class Domains:
    """What ``domains.yaml`` says: the default domain, each domain's build directory, the flash order."""

    default: Optional[str]
    images: Dict[str, Path] = field(default_factory=dict)  # name -> local build dir
    flash_order: List[str] = field(default_factory=list)


@lru_cache(maxsize=16)  # a domains file names one top directory for thousands of domains
def pure_path(text: str) -> PurePath:
    """A path as written on the build machine, Windows or POSIX."""
    return PureWindowsPath(text) if ("\\" in text or text[1:3] == ":/") else PurePath(text)


def relocate(recorded: str, recorded_top: Optional[str], local_top: Path) -> Path:
    """Map a path written on the build machine into this copy of the build dir.

    Build directories are moved, zipped and attached to forum posts, so the
    absolute paths inside domains.yaml rarely exist here; what is below the
    recorded top directory is below ours too.
    """
    candidate, written = Path(recorded), pure_path(recorded)
    if not candidate.is_absolute() and not written.is_absolute():
        return local_top / candidate
    # os.path answers False, never raises, for a name too long or otherwise impossible here.
    if os.path.isdir(candidate) and os.path.exists(candidate / "CMakeCache.txt"):
        return candidate
    if recorded_top:
        try:
            relative = written.relative_to(pure_path(recorded_top))
            return local_top.joinpath(*relative.parts)
        except ValueError:
            pass
    return local_top / written.name


def load_domains(path: Path) -> Domains:
    doc = load_yaml(path)
    data = doc.data
    if not isinstance(data, dict) or not isinstance(data.get("domains"), list):
        raise LoadError(path, "not a sysbuild domains file (no 'domains' list)", doc.line())
    top = data.get("build_dir") if isinstance(data.get("build_dir"), str) else None
    domains = Domains(default=data.get("default") if isinstance(data.get("default"), str) else None)
    for index, entry in enumerate(data["domains"]):
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            raise LoadError(path, f"domain entry {index} has no name", doc.line("domains", index))
        build_dir = entry.get("build_dir")
        local = (
            relocate(build_dir, top, path.parent)
            if isinstance(build_dir, str)
            else path.parent / entry["name"]
        )
        domains.images[entry["name"]] = local
    order = data.get("flash_order")
    if isinstance(order, list):
        domains.flash_order = [str(item) for item in order]
    return domains


def load_build_info(path: Path) -> Dict[str, Any]:
    data = load_yaml(path).data
    if not isinstance(data, dict):
        raise LoadError(path, "not a build_info.yml mapping")
    return data


def dig(data: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data
