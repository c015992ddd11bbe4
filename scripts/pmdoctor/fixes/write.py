"""Write files into the user's tree: atomically, never through a symlink, never over a file unless asked."""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path, PurePath
from typing import List, Tuple


class WriteRefused(Exception):
    """A destination that will not be written (and so nothing was): the message names it and says why."""

    def __init__(self, path: Path, why: str):
        super().__init__(f"refusing to write {path}: {why}")


def write_files(folder: Path, files: List[Tuple[str, str]], force: bool = False) -> None:
    """Write each ``(relative path, text)`` below ``folder``: all of them, or none.

    Every destination is checked before anything is written. Refused (raises
    :class:`WriteRefused`): a path that leaves ``folder``, one given twice, a
    symbolic link at the destination or at any folder between ``folder`` and
    it (a link would send the write elsewhere), an existing file unless
    ``force`` (it may hold the user's hand edits). Each file goes to a
    temporary file in its own folder, renamed over the destination, so no
    reader ever sees half a file.
    """
    targets = [_checked_destination(folder, relative, force) for relative, _ in files]
    seen = set()
    for target in targets:
        if target in seen:
            raise WriteRefused(target, "two overlays would go to this file")
        seen.add(target)
    for target, (_, text) in zip(targets, files):
        _replace_atomically(target, text)


def _checked_destination(folder: Path, relative: str, force: bool) -> Path:
    parts = PurePath(relative).parts
    if not parts or PurePath(relative).anchor or ".." in parts:
        raise WriteRefused(folder / relative, f"the path leaves {folder}")
    if folder.exists() and not folder.is_dir():
        raise WriteRefused(folder, "it exists and is not a folder")
    current = folder
    for part in parts[:-1]:
        current = current / part
        if current.is_symlink():
            raise WriteRefused(current, "it is a symbolic link (migrate never writes through one)")
        if current.exists() and not current.is_dir():
            raise WriteRefused(current, "it exists and is not a folder")
    target = current / parts[-1]
    if target.is_symlink():
        raise WriteRefused(target, "it is a symbolic link (migrate never writes through one)")
    if target.exists():
        if not target.is_file():
            raise WriteRefused(target, "it exists and is not a regular file")
        if not force:
            raise WriteRefused(target, "it already exists and may hold your edits (--force overwrites it)")
    return target


def _replace_atomically(target: Path, text: str) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.{secrets.token_hex(6)}.tmp")
    # O_EXCL: never open an existing file (or a link planted under this name)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    descriptor = os.open(temporary, flags, 0o666)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
