"""Loaders: parse build files into model objects, remembering file and line.

Loaders never judge. A file that cannot be read or parsed raises
:class:`LoadError`, which the build assembler records as a
:class:`~pmdoctor.model.LoadProblem` for rule PMD001, and carries on.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path
from typing import BinaryIO, Iterator, List, Optional

from ..model import Source

# Real partitions/zephyr.dts/.config files are at most a few MB; anything far
# larger is not a build output and would only cost memory.
MAX_FILE_BYTES = 32 * 1024 * 1024

# Python refuses to turn more than 4300 decimal digits into an int (or an int
# that large back into decimal text). No address, size or version comes near
# this length; below it, even a hex number's decimal form stays printable.
MAX_INT_TEXT = 1000

# Never wait for a writer (a FIFO), never take a terminal as ours; no newline translation on Windows.
_OPEN_FLAGS = getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_BINARY", 0)

# What :func:`file_problem` answers when nothing is at the path.
MISSING = "file does not exist"

_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)


class LoadError(Exception):
    """A file could not be used; ``str()`` is a one-line reason."""

    def __init__(
        self, path: Optional[Path], message: str, line: Optional[int] = None, fix: Optional[str] = None
    ):
        super().__init__(message)
        self.source = Source(path, line)
        self.message = message
        # What to do when the file itself is fine and rebuilding would not help (None: rebuild).
        self.fix = fix

    def __str__(self) -> str:
        return f"{self.source}: {self.message}"


def _not_regular(mode: int) -> Optional[str]:
    """Why a file of this mode is not read, or None for a regular file."""
    if stat.S_ISREG(mode):
        return None
    kind = next((name for test, name in _KINDS if test(mode)), "something other than a regular file")
    return f"is {kind}, not a file"


def file_problem(path: Path) -> Optional[str]:
    """None when ``path`` is a regular file, :data:`MISSING` when nothing is there, else why not.

    Only regular files are opened: reading a FIFO blocks until someone writes
    to it, and a device (``/dev/zero``) never ends. Nothing is opened here.
    """
    try:
        return _not_regular(os.stat(path).st_mode)
    except (FileNotFoundError, NotADirectoryError):
        return MISSING  # also a dangling link, or a parent that is a file
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "is a symbolic link loop, not a file"
        if exc.errno == errno.ENAMETOOLONG:  # a name no file can have here (taken from an input)
            return MISSING
        return f"cannot read: {exc.strerror or exc}"
    except ValueError:  # an embedded NUL in a name taken from an input
        return MISSING


def open_regular(path: Path, limit: int = MAX_FILE_BYTES) -> BinaryIO:
    """Open a regular file of at most ``limit`` bytes for reading, or raise :class:`LoadError`.

    The type is checked before opening and again on what was opened: the file
    may be swapped for a FIFO in between, and ``O_NONBLOCK`` makes even that
    open return at once instead of waiting for a writer.
    """
    why = file_problem(path)
    if why is not None:
        raise LoadError(path, why)
    flags = os.O_RDONLY | _OPEN_FLAGS
    try:
        descriptor = os.open(path, flags)
    except FileNotFoundError:
        raise LoadError(path, MISSING) from None
    except OSError as exc:
        raise LoadError(path, f"cannot read: {exc.strerror or exc}") from None
    try:
        status = os.fstat(descriptor)
        why = _not_regular(status.st_mode)
        if why is not None:
            raise LoadError(path, why)
        if status.st_size > limit:
            raise LoadError(path, _too_big(status.st_size, limit))
        return os.fdopen(descriptor, "rb")
    except BaseException:
        os.close(descriptor)
        raise


def _too_big(size: int, limit: int) -> str:
    return f"file is {size} bytes, more than the {limit} bytes pmdoctor reads"


def read_text(path: Path, limit: int = MAX_FILE_BYTES) -> str:
    """Read a text file, refusing what is missing, not a regular file, huge, binary or not UTF-8."""
    with open_regular(path, limit) as handle:
        try:
            raw = handle.read(limit + 1)
        except OSError as exc:
            raise LoadError(path, f"cannot read: {exc.strerror or exc}") from None
    if len(raw) > limit:  # it grew since it was measured
        raise LoadError(path, _too_big(len(raw), limit))
    if b"\x00" in raw:
        raise LoadError(path, _BINARY)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise LoadError(path, _not_utf8(raw[exc.start]), line) from None
    return text.lstrip("\ufeff")


_BINARY = "binary data (NUL bytes), not a text file"


def _not_utf8(byte: int) -> str:
    return f"not valid UTF-8 text (byte 0x{byte:02x})"


def read_line_blocks(path: Path, limit: int = MAX_FILE_BYTES) -> Iterator[List[str]]:
    """The lines of a text file, as ``read_text(path).splitlines()`` has them, in lists of about 1 MB.

    Memory stays bounded whatever the file's size. The same files are refused
    as by :func:`read_text`, with the same message and line, but only once
    the whole file has been read: a caller that must not act on a bad file
    reads it to the end before using what it got.
    """
    bad: Optional[LoadError] = None
    size = lines = 0
    rest = b""  # the start of a line whose end is in the next block
    with open_regular(path, limit) as handle:
        while True:
            try:
                block = handle.read(_BLOCK)
            except OSError as exc:
                raise LoadError(path, f"cannot read: {exc.strerror or exc}") from None
            size += len(block)
            if size > limit:  # it grew since it was measured
                raise LoadError(path, _too_big(size, limit))
            if b"\x00" in block:
                raise LoadError(path, _BINARY)
            data = rest + block
            # Whole lines only: a "\n" is never inside a UTF-8 sequence, nor between "\r" and "\n".
            cut = data.rfind(b"\n") + 1 if block else len(data)
            chunk, rest = data[:cut], data[cut:]
            if chunk and bad is None:  # after a UTF-8 error only NUL bytes matter: read_text names them first
                try:
                    text = chunk.decode("utf-8")
                except UnicodeDecodeError as exc:
                    line = lines + chunk[: exc.start].count(b"\n") + 1
                    bad = LoadError(path, _not_utf8(chunk[exc.start]), line)
                else:
                    yield (text.lstrip("\ufeff") if lines == 0 else text).splitlines()
                    lines += chunk.count(b"\n")
            if not block:
                break
    if bad is not None:
        raise bad


# Text is split into lines a block at a time, in C; the block bounds the memory a reader holds.
_BLOCK = 1 << 20


def split_line_blocks(text: str) -> Iterator[List[str]]:
    """``text.splitlines()`` in lists of about 1 MB, so a 32 MB text is not copied into one list."""
    start = 0
    while start < len(text):
        end = text.find("\n", start + _BLOCK)
        end = len(text) if end < 0 else end + 1
        # A "\n" never ends a line early: splitlines' other breaks (\r, \x0b ...) all lie inside a block.
        yield text[start:end].splitlines()
        start = end


def parse_int(text: str, base: int = 0) -> Optional[int]:
    """``int(text, base)``, or None when ``text`` is no integer or too long to be an address or size."""
    if len(text) > MAX_INT_TEXT:
        return None
    try:
        return int(text, base)
    except ValueError:
        return None
