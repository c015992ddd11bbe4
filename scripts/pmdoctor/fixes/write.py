"""Write files into the user's tree: atomically, never through a symlink, never over a file unless asked.

Two callers: ``migrate`` writes new overlays into a folder (:func:`write_files`);
``fix`` replaces files it read and edited (:func:`replace_edited`), keeping a
backup and refusing a file that changed since it was read.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import stat
from pathlib import Path, PurePath
from typing import Callable, List, Optional, Tuple


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


# The rename that makes a write visible; a test replaces it to stop a real process right before it.
_rename = os.replace


def _replace_atomically(
    target: Path, text: str, mode: Optional[int] = None, before_rename: Optional[Callable[[], object]] = None
) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.{secrets.token_hex(6)}.tmp")
    # O_EXCL: never open an existing file (or a link planted under this name)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    descriptor = os.open(temporary, flags, 0o666)
    try:
        # newline="": the text's line endings are written as they are (a CRLF file stays CRLF)
        with os.fdopen(descriptor, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        if mode is not None:
            os.chmod(temporary, mode)
        if before_rename is not None:
            before_rename()
        _rename(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def _bytes(path: Path) -> Optional[bytes]:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def file_digest(data: Optional[bytes]) -> Optional[str]:
    """SHA-256 of a file's bytes, None when there is no file (what ``fix`` compares before writing)."""
    return None if data is None else hashlib.sha256(data).hexdigest()


def backup_path(path: Path, backup_dir: Optional[Path] = None, relative: Optional[PurePath] = None) -> Path:
    """Where the original goes: ``FILE.orig`` beside it, or ``backup_dir/RELATIVE.orig``.

    ``relative`` (default: the file's name) keeps ``sysbuild/mcuboot.conf`` and
    ``child_image/mcuboot.conf`` apart in one backup folder. An existing
    backup is never overwritten (it may be the only copy of an older
    original): the next free ``FILE.orig.N`` is used instead.
    """
    base = path
    if backup_dir is not None:
        safe = relative is not None and not relative.anchor and ".." not in relative.parts
        base = backup_dir / (relative if safe else path.name)
    candidate = base.with_name(base.name + ".orig")
    number = 1
    while candidate.exists() or candidate.is_symlink():
        candidate = base.with_name(f"{base.name}.orig.{number}")
        number += 1
    return candidate


def replace_edited(
    path: Path,
    text: str,
    read_digest: Optional[str],
    backup_dir: Optional[Path] = None,
    relative: Optional[PurePath] = None,
) -> Optional[Path]:
    """Replace a file pmdoctor read (or create one it found absent) with ``text``; return the backup.

    Refused (raises :class:`WriteRefused`, nothing written): a symbolic link
    or anything but a regular file at ``path``, and a file whose bytes are no
    longer those read (``read_digest``; None: it did not exist), so an edit
    made meanwhile is never overwritten. The original is copied to its backup
    first, and the digest is compared again right before the rename. The file
    keeps its permissions.
    """
    if path.is_symlink():
        raise WriteRefused(path, "it is a symbolic link (fix never writes through one)")
    if path.exists() and not path.is_file():
        raise WriteRefused(path, "it exists and is not a regular file")

    def unchanged() -> Optional[bytes]:
        data = _bytes(path)
        if file_digest(data) != read_digest:
            raise WriteRefused(path, "it changed since pmdoctor read it; run fix again to see the new diff")
        return data

    original = unchanged()
    backup, mode = None, None
    if original is not None:
        mode = stat.S_IMODE(path.stat().st_mode)
        backup = backup_path(path, backup_dir, relative)
        backup.parent.mkdir(parents=True, exist_ok=True)
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
        with os.fdopen(os.open(backup, flags, 0o666), "wb") as handle:
            handle.write(original)
    _replace_atomically(path, text, mode, before_rename=unchanged)
    return backup
