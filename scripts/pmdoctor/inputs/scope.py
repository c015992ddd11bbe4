"""Which files pmdoctor may read, and which Zephyr tree it may run code from.

Build directories and forum attachments come from strangers. Their
``CMakeCache.txt``, ``domains.yaml`` and ``build_info.yml`` name paths, and
none of those names can be trusted: ``ZEPHYR_BASE:PATH=zb`` must not make
pmdoctor import ``zb/…/dtlib.py``, and ``PM_STATIC_YML_FILE=/etc/passwd`` must
not put that file into a report. So:

* :class:`Environment` is what the *user's* environment names: ``$ZEPHYR_BASE``
  or the zephyr project of the west workspace. Only its Zephyr tree may
  provide code (dtlib); input files never do.
* :class:`ReadScope` is the set of folders whose files may be read. In build
  mode: the build directory, the application source and the user's Zephyr /
  NCS workspace. In triage: exactly the paths the user gave. A path outside
  is not opened; the assembler says so in a note.

Paths are compared after resolving symlinks, so a link inside an attachment
that points at ``/etc`` is outside, wherever it sits.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Mapping, Optional, Tuple


def real(path: Path) -> Path:
    """The resolved path; never raises (symlink loops and missing parts stay as far as they resolve)."""
    try:
        return Path(os.path.realpath(path))
    except (OSError, ValueError, RuntimeError):
        return Path(os.path.abspath(path))


def is_inside(path: Path, folder: Path) -> bool:
    """Whether ``path`` is ``folder`` or below it, both already resolved."""
    return path == folder or folder in path.parents


@dataclass(frozen=True)
class ReadScope:
    """The folders (and single files) pmdoctor may read below; everything else is refused.

    A scope that ``grows`` takes in the application source once the build
    names one (build mode); a closed one never does (triage: only what was given).
    """

    roots: Tuple[Path, ...] = ()
    grows: bool = True

    @classmethod
    def of(cls, paths: Iterable[Optional[Path]], grows: bool = True) -> ReadScope:
        return cls(tuple(dict.fromkeys(real(Path(p)) for p in paths if p is not None)), grows)

    def with_root(self, path: Optional[Path]) -> ReadScope:
        if path is None or not self.grows:
            return self
        return ReadScope(tuple(dict.fromkeys((*self.roots, real(Path(path))))), self.grows)

    def may_take(self, folder: Path) -> bool:
        """Whether ``folder`` may become a root (always, unless the scope is closed)."""
        return self.grows or self.allows(folder)

    def allows(self, path: Path) -> bool:
        target = real(Path(path))
        return any(is_inside(target, root) for root in self.roots)


@dataclass(frozen=True)
class Environment:
    """What the user's own environment names, as opposed to what an input file says.

    ``zephyr_base`` is the Zephyr tree whose python-devicetree pmdoctor may
    import; ``workspace`` is the west workspace (its files may be read: an
    SDK board's ``pm_static`` file that ``PM_STATIC_YML_FILE`` names lives there).
    """

    zephyr_base: Optional[Path] = None
    workspace: Optional[Path] = None

    @classmethod
    def detect(
        cls,
        cwd: Optional[Path] = None,
        environ: Optional[Mapping[str, str]] = None,
        west_zephyr: Optional[Path] = None,
    ) -> Environment:
        """``$ZEPHYR_BASE`` (west sets it too), else the zephyr project west names (``west_zephyr``).

        A Zephyr tree found by looking around the current directory is *not*
        trusted for code: a support engineer's current directory may well be
        an unpacked attachment with a ``.west`` and a ``zephyr`` folder of its
        own. Its workspace may still be read (static files of SDK boards).
        """
        environ = os.environ if environ is None else environ
        base: Optional[Path] = Path(environ["ZEPHYR_BASE"]) if environ.get("ZEPHYR_BASE") else west_zephyr
        if base is not None and not base.is_dir():
            base = None
        workspace = _west_topdir(base) if base is not None else None
        workspace = workspace or _west_topdir(Path(cwd or os.getcwd()))
        return cls(real(base) if base else None, real(workspace) if workspace else None)

    def trusted_roots(self) -> Tuple[Path, ...]:
        roots = [self.workspace, self.zephyr_base]
        return tuple(real(p) for p in roots if p is not None)


def _west_topdir(start: Path) -> Optional[Path]:
    """The west workspace around ``start`` (the folder holding ``.west/``), without importing west."""
    for folder in (start, *start.parents):
        try:
            if (folder / ".west" / "config").is_file():
                return folder
        except OSError:
            return None
    return None
