"""Loaders: parse build files into model objects, remembering file and line.

Loaders never judge. A file that cannot be read or parsed raises
:class:`LoadError`, which the build assembler records as a
:class:`~pmdoctor.model.LoadProblem` for rule PMD001, and carries on.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from ..model import Source

# Real partitions/zephyr.dts/.config files are at most a few MB; anything far
# larger is not a build output and would only cost memory.
MAX_FILE_BYTES = 32 * 1024 * 1024


class LoadError(Exception):
    """A file could not be used; ``str()`` is a one-line reason."""

    def __init__(self, path: Optional[Path], message: str, line: Optional[int] = None):
        super().__init__(message)
        self.source = Source(path, line)
        self.message = message

    def __str__(self) -> str:
        return f"{self.source}: {self.message}"


def read_text(path: Path, limit: int = MAX_FILE_BYTES) -> str:
    """Read a text file, refusing what is missing, huge, binary or not UTF-8."""
    try:
        size = path.stat().st_size
        if size > limit:
            raise LoadError(path, f"file is {size} bytes, more than the {limit} bytes pmdoctor reads")
        with path.open("rb") as handle:
            raw = handle.read(limit + 1)
    except FileNotFoundError:
        raise LoadError(path, "file does not exist") from None
    except IsADirectoryError:
        raise LoadError(path, "is a directory, not a file") from None
    except OSError as exc:
        raise LoadError(path, f"cannot read: {exc.strerror or exc}") from None
    if b"\x00" in raw:
        raise LoadError(path, "binary data (NUL bytes), not a text file")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise LoadError(path, f"not valid UTF-8 text (byte 0x{raw[exc.start]:02x})", line) from None
    return text.lstrip("\ufeff")
