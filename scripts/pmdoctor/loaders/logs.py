"""Recognise MCUboot, MCUmgr, Partition Manager, linker, imgtool, TF-M and nrfutil log lines.

Console logs and build logs are pasted into forum threads with timestamps,
colour codes and log-level prefixes; the recognisers search each line for the
message text itself. Each recognised line becomes a
:class:`~pmdoctor.symptoms.Symptom` whose ``meaning`` decodes the error
numbers. Decoding MCUmgr image-group numbers depends on the firmware's
version (a bare ``5`` is ENOENT before the group-aware error codes and
INVALID_TLV after them), so the version is taken from the log's own boot
banner or build lines, else from the caller (the other files), or the
meaning says it is unknown.

A log is read a block of lines at a time, twice (versions first, then
messages), so its size costs time but not memory; only lines holding a
recogniser's keyword meet the regular expressions. A message repeated
thousands of times (a boot loop) is quoted a few times and counted after that.

Pure parsing: no judgement about the build (that is the PMD8xx rules' job).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, Iterable, List, Optional, Tuple

from ..model import Source
from ..model.symptoms import Symptom
from . import parse_int, read_line_blocks, split_line_blocks

# Lines longer than this are not log messages (minified data, base64 ...). It
# also keeps every number a recogniser reads far below Python's 4300-digit int limit.
_MAX_LINE = 2000
# Quoted lines per log: of one message (symptom and meaning), and of one symptom in all.
# A boot loop repeats the same lines thousands of times; the rest are counted.
MAX_REPEATS = 3
MAX_PER_SYMPTOM = 20
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")

ERRNO = {
    1: "EPERM",
    2: "ENOENT (no such partition in this image's flash map)",
    5: "EIO (flash read/write failed)",
    12: "ENOMEM",
    13: "EACCES",
    16: "EBUSY",
    19: "ENODEV (the flash device did not initialise)",
    22: "EINVAL",
    134: "ENOTSUP",
}

# Legacy MCUmgr MGMT_ERR_* (before group-aware errors, Zephyr <= 3.4 / NCS < 2.6).
MGMT_ERR = {
    0: "MGMT_ERR_EOK",
    1: "MGMT_ERR_EUNKNOWN",
    2: "MGMT_ERR_ENOMEM",
    3: "MGMT_ERR_EINVAL",
    4: "MGMT_ERR_ETIMEOUT",
    5: "MGMT_ERR_ENOENT",
    6: "MGMT_ERR_EBADSTATE",
    7: "MGMT_ERR_EMSGSIZE",
    8: "MGMT_ERR_ENOTSUP",
}

# Image-management group codes (Zephyr img_mgmt.h, NCS >= 2.6 / Zephyr >= 3.5).
IMG_MGMT_ERR = {
    1: "IMG_MGMT_ERR_UNKNOWN",
    2: "IMG_MGMT_ERR_FLASH_CONFIG_QUERY_FAIL",
    3: "IMG_MGMT_ERR_NO_IMAGE",
    4: "IMG_MGMT_ERR_NO_TLVS",
    5: "IMG_MGMT_ERR_INVALID_TLV",
    6: "IMG_MGMT_ERR_TLV_MULTIPLE_HASHES_FOUND",
    7: "IMG_MGMT_ERR_TLV_INVALID_SIZE",
    8: "IMG_MGMT_ERR_HASH_NOT_FOUND",
    9: "IMG_MGMT_ERR_NO_FREE_SLOT",
    10: "IMG_MGMT_ERR_FLASH_OPEN_FAILED",
    11: "IMG_MGMT_ERR_FLASH_READ_FAILED",
    12: "IMG_MGMT_ERR_FLASH_WRITE_FAILED",
    13: "IMG_MGMT_ERR_FLASH_ERASE_FAILED",
    14: "IMG_MGMT_ERR_INVALID_SLOT",
    15: "IMG_MGMT_ERR_NO_FREE_MEMORY",
}

# The image-group codes above which symptom they point to.
_IMG_SYMPTOM = {
    9: "slot-unreachable",
    10: "device-not-ready",
    11: "device-not-ready",
    12: "device-not-ready",
    13: "device-not-ready",
    14: "slot-unreachable",
    4: "hash-not-found",
    5: "hash-not-found",
    7: "hash-not-found",
    8: "hash-not-found",
}


@dataclass(frozen=True)
class Versions:
    """Firmware versions, as far as known: ``(2, 5, 0)`` style tuples."""

    ncs: Optional[Tuple[int, ...]] = None
    zephyr: Optional[Tuple[int, ...]] = None

    def group_aware_mcumgr(self) -> Optional[bool]:
        """True when MCUmgr returns image-group codes, False for legacy MGMT_ERR, None unknown."""
        if self.ncs is not None:
            return self.ncs >= (2, 6)
        if self.zephyr is not None:
            return self.zephyr >= (3, 5)
        return None

    def describe(self) -> str:
        if self.ncs is not None:
            return "NCS v" + ".".join(map(str, self.ncs))
        if self.zephyr is not None:
            return "Zephyr v" + ".".join(map(str, self.zephyr))
        return "unknown version"


def version_tuple(text: Optional[str]) -> Optional[Tuple[int, ...]]:
    """``v2.5.0-rc1`` / ``3.4.99-ncs1`` -> ``(2, 5, 0)``; None when not a version."""
    if not text:
        return None
    match = re.search(r"(\d+)\.(\d+)(?:\.(\d+))?", text)
    if not match:
        return None
    parts = [parse_int(part, 10) for part in match.groups(default="0")]
    return None if None in parts else tuple(parts)  # type: ignore[arg-type]


@dataclass
class LogFile:
    """What one log told: its symptoms, the versions it names, whether it looked like a log."""

    path: Optional[Path]
    symptoms: List[Symptom] = field(default_factory=list)
    ncs_version: Optional[str] = None
    zephyr_version: Optional[str] = None
    board: Optional[str] = None
    log_markers: int = 0  # lines that look like log output even when nothing was recognised
    omitted: int = 0  # recognised lines counted but not quoted (see MAX_REPEATS)

    def describe(self) -> str:
        """What the list of inputs says about this log."""
        told = f"{len(self.symptoms) + self.omitted} recognised line(s)"
        if self.omitted:
            told += f"; {self.omitted} repeating the same messages are counted, not quoted"
        return told


# ------------------------------------------------------------ recognisers

Decoder = Callable[[re.Match, Versions], Optional[Tuple[str, str]]]


def _errno(value: str) -> str:
    number = abs(int(value))
    return f"-{number} = " + ERRNO.get(number, "an errno pmdoctor does not decode")


def _flash_area(match: re.Match, _versions: Versions) -> Optional[Tuple[str, str]]:
    area, code = match.group("area"), int(match.group("code"))
    slot = match.group("slot")
    what = f"flash area ID {area}" + (f" (image {match.group('image')} slot {slot})" if slot else "")
    if abs(code) == 19:
        return "device-not-ready", f"{what} exists but its flash device is not ready: {_errno(str(code))}"
    if abs(code) == 2:
        return (
            "slot-unreachable",
            f"{what} is not in this image's flash map: {_errno(str(code))}; Partition Manager drops a "
            "partition whose device has no chosen node, no enabled node or no driver in that image",
        )
    return "slot-unreachable", f"{what} could not be opened: {_errno(str(code))}"


def _upload_inspect(match: re.Match, versions: Versions) -> Optional[Tuple[str, str]]:
    code = int(match.group("code"))
    group_aware = versions.group_aware_mcumgr()
    legacy = MGMT_ERR.get(code, f"legacy code {code}")
    modern = IMG_MGMT_ERR.get(code, f"image-group code {code}")
    if group_aware is False and code not in MGMT_ERR and code in _IMG_SYMPTOM:
        # Legacy codes stop at 8: a higher number proves group-aware firmware whatever the version says.
        return _IMG_SYMPTOM[code], (
            f"MCUmgr image-group error {code} = {modern} (legacy codes stop at 8, so this firmware is "
            f"newer than the {versions.describe()} the other files name)"
        )
    if group_aware is False:
        if code != 5:
            return None
        return "slot-unreachable", (
            f"MCUmgr error 5 = {legacy} on {versions.describe()} firmware (legacy error codes): "
            "img_mgmt found no secondary slot to upload into"
        )
    if group_aware is True:
        symptom = _IMG_SYMPTOM.get(code)
        if symptom is None:
            return None
        return symptom, f"MCUmgr image-group error {code} = {modern} on {versions.describe()} firmware"
    if code == 5:
        return "slot-unreachable", (
            f"MCUmgr error 5 = {legacy} (no slot to upload into) on firmware before NCS 2.6 / "
            f"Zephyr 3.5, but {modern} on newer firmware; the firmware version is unknown, "
            "so this reads it as the far more common 'no slot'"
        )
    symptom = _IMG_SYMPTOM.get(code)
    if symptom is None:
        return None
    return (
        symptom,
        f"MCUmgr error {code} = {modern} on NCS >= 2.6 ({legacy} on older firmware; version unknown)",
    )


def _phone_error(match: re.Match, versions: Versions) -> Optional[Tuple[str, str]]:
    code = int(match.group("code"))
    group = match.group("group")
    if group is not None and group.strip() == "1":
        symptom = _IMG_SYMPTOM.get(code)
        if symptom is None:
            return None
        return symptom, f"MCUmgr image group (1) error {code} = {IMG_MGMT_ERR.get(code, 'unknown')}"
    return _upload_inspect(match, versions)


def _fixed(symptom: str, meaning: str) -> Decoder:
    return lambda _match, _versions: (symptom, meaning)


def _partition_manager(match: re.Match, _versions: Versions) -> Optional[Tuple[str, str]]:
    text = match.group(0)
    if "amount of gaps" in text:
        return "pm-gaps", "Partition Manager: a region keeps more than one free gap in the static layout"
    if "not packed" in text:
        return "pm-not-packed", "Partition Manager: static partitions do not fill the region from its start"
    if "invalid address" in text:
        return (
            "pm-invalid-address",
            "Partition Manager: a static partition is not where its neighbours put it",
        )
    return "pm-failed", "Partition Manager stopped the build"


_HEX = r"0x[0-9a-fA-F]+"
RECOGNISERS: List[Tuple[re.Pattern, Decoder]] = [
    (
        re.compile(
            r"Failed to open flash area ID (?P<area>\d+)"
            r"(?: \(image (?P<image>\d+) slot (?P<slot>\d+)\))?: (?P<code>-?\d+)"
        ),
        _flash_area,
    ),
    (re.compile(r"Image upload inspect failed: (?P<code>\d+)"), _upload_inspect),
    (
        re.compile(r"Mcu ?Mgr Error:?\s*(?P<code>\d+)(?:[,;]?\s*Group:?\s*(?P<group>\d+))?", re.I),
        _phone_error,
    ),
    (
        re.compile(r"Secondary image of image pair \((?P<pair>\d+)\.\) is unreachable"),
        _fixed("slot-unreachable", "the application cannot open that secondary slot"),
    ),
    (
        re.compile(r"\bNo free slot\b", re.I),
        _fixed("slot-unreachable", "img_mgmt found no secondary slot to upload into"),
    ),
    (
        re.compile(r"Failed reading sectors; BOOT_MAX_IMG_SECTORS=(?P<n>\d+)"),
        _fixed(
            "sectors-incompatible",
            "MCUboot could not enumerate a slot's sectors: either a slot needs more sectors than "
            "BOOT_MAX_IMG_SECTORS or the slot is not reachable at all",
        ),
    ),
    (
        re.compile(
            r"Cannot upgrade: (?:not a compatible amount of sectors|slots have non-compatible sectors)"
        ),
        _fixed("sectors-incompatible", "MCUboot refused the update: the two slots' sectors do not match"),
    ),
    (
        re.compile(r"not all sectors fit inside scratch"),
        _fixed("scratch-too-small", "swap-scratch: the scratch partition is smaller than the largest sector"),
    ),
    (
        re.compile(r"Protect mcuboot flash failed"),
        _fixed(
            "fprotect-failed", "MCUboot could not write-protect its own flash range (alignment or size limit)"
        ),
    ),
    (
        re.compile(rf"Address {_HEX} is in a protected RRAMC region"),
        _fixed("rramc-protected", "nrfutil: the RRAM range is locked by the previous boot's FPROTECT"),
    ),
    (
        re.compile(rf"Image size \({_HEX}\) \+ trailer \({_HEX}\) exceeds requested size {_HEX}"),
        _fixed("image-too-large", "imgtool: the signed image plus its trailer does not fit the slot size"),
    ),
    (
        re.compile(r"region [`'\"]?(?P<region>\w+)[`'\"]? overflowed by (?P<bytes>\d+) bytes"),
        _fixed("image-too-large", "linker: the image does not fit its partition"),
    ),
    (re.compile(r"Partition manager failed:?.*", re.I), _partition_manager),
    (
        re.compile(r"Incorrect amount of gaps found in static configuration"),
        _partition_manager,
    ),
    (
        re.compile(r"Static partition manager file has changed"),
        _fixed("pm-static-changed", "the static layout changed after configuration: build pristine"),
    ),
    (
        re.compile(r"!!!Partition alignment error!!!|TF-M non-secure start address is not aligned"),
        _fixed("tfm-alignment", "TF-M: a non-secure partition does not start on an SPU/MPC region boundary"),
    ),
    (
        re.compile(r"undefined reference to [`'\"]?__device_dts_ord_(?P<ord>\d+)"),
        _fixed("link-device-ord", "linker: a devicetree node is used but its driver is not built in"),
    ),
    (
        re.compile(r"PM_MCUBOOT_(?:PRIMARY|SECONDARY)_1_ID'? undeclared"),
        _fixed("netcore-partition-undeclared", "MCUboot expects network-core update slots the layout lacks"),
    ),
    (
        re.compile(r"Invalid image header magic|boot_set_next with code 3|Fa(?:i)?led boot_set_next"),
        _fixed("bad-image-magic", "the uploaded file has no MCUboot image header (wrong file uploaded?)"),
    ),
    (
        re.compile(r"Hash not found", re.I),
        _fixed("hash-not-found", "img_mgmt did not find the image hash TLV where it expected it"),
    ),
    (
        re.compile(r"Unable to find bootable image"),
        _fixed("boot-hang", "MCUboot found no valid image in the primary slot"),
    ),
]

_JUMP = re.compile(r"Jumping to the first image slot")
_APP_BANNER = re.compile(r"\*\*\* Booting ")
_NCS_VERSION = re.compile(r"(?:nRF Connect SDK|NCS)[ :]+v?(\d+\.\d+\.\d+(?:-[\w.]+)?)", re.I)
_ZEPHYR_VERSION = re.compile(r"(?:Zephyr OS (?:build )?v|Zephyr version:\s*)(\d+\.\d+\.\d+(?:-[\w.]+)?)")
_NCS_PATH = re.compile(r"[/\\](?:ncs|nrf)[/\\]v(\d+\.\d+\.\d+)[/\\]", re.I)
_BOARD = re.compile(r"^-- Board: ([\w/@.-]+)(?:, qualifiers: ([\w/]+))?")
_MARKERS = re.compile(
    r"^\[\d\d:\d\d:\d\d\.\d+,\d+\]|<(?:err|wrn|inf|dbg)>|^[EWID]: |^-- |\*\*\* Booting|"
    r"^\[\d+/\d+\] |ninja: |west build|FAILED: |CMake (?:Error|Warning)|error: |warning: |"
    r"^\d\d:\d\d:\d\d\.\d+|nrfutil|mcumgr",
)


# Text every match of a recogniser contains (lower case, any one of a tuple), one entry per
# recogniser in RECOGNISERS' order (a test holds the two lists together). A log is searched for
# these a block at a time, in C; only the lines that hold one are run through the regular
# expressions, so a long log costs little more than reading it.
_KEYWORDS: List[Tuple[str, ...]] = [
    ("failed to open flash area id ",),
    ("image upload inspect failed: ",),
    ("mgr error",),
    ("secondary image of image pair (",),
    ("no free slot",),
    ("failed reading sectors; boot_max_img_sectors=",),
    ("cannot upgrade: ",),
    ("not all sectors fit inside scratch",),
    ("protect mcuboot flash failed",),
    (" is in a protected rramc region",),
    (") exceeds requested size 0x",),
    (" overflowed by ",),
    ("partition manager failed",),
    ("incorrect amount of gaps found in static configuration",),
    ("static partition manager file has changed",),
    ("!!!partition alignment error!!!", "tf-m non-secure start address is not aligned"),
    ("__device_dts_ord_",),
    ("_1_id", "undeclared"),
    ("invalid image header magic", "boot_set_next"),
    ("hash not found",),
    ("unable to find bootable image",),
]
_JUMP_WORD, _BANNER_WORD = "jumping to the first image slot", "*** booting "
# Keyword -> the recognisers (indices) whose matches contain it.
_RECOGNISERS_OF: Dict[str, List[int]] = {}
for _index, _words in enumerate(_KEYWORDS):
    for _word in _words:
        _RECOGNISERS_OF.setdefault(_word, []).append(_index)
del _index, _words, _word
_LINE_KEYWORDS = sorted({*_RECOGNISERS_OF, _JUMP_WORD, _BANNER_WORD})
_VERSION_KEYWORDS = {  # LogFile attribute -> text a line that names it contains
    "ncs_version": ("ncs", "nrf connect sdk", "nrf/v", "nrf\\v"),
    "zephyr_version": ("zephyr os ", "zephyr version:"),
    "board": ("-- board: ",),
}
# Lines that look like log output are counted up to here: the count only tells a log from other text.
MAX_MARKERS = 100


def _clean(line: str) -> str:
    if "\x1b" in line:
        line = _ANSI.sub("", line)
    return line.replace("\r", "").rstrip()


def parse_log(text: str, path: Optional[Path], versions: Optional[Versions] = None) -> LogFile:
    """Recognise the lines of one log; ``versions`` is what the caller knows about the firmware."""
    return _recognise(lambda: split_line_blocks(text), path, versions)


def load_log(path: Path, versions: Optional[Versions] = None) -> LogFile:
    """Read and recognise one log file, a block at a time (raises LoadError when it is not text)."""
    return _recognise(lambda: read_line_blocks(path), path, versions)


def _recognise(
    blocks: Callable[[], Iterable[List[str]]], path: Optional[Path], versions: Optional[Versions]
) -> LogFile:
    """Two passes over the lists of lines from ``blocks()``: the versions the log names, then its messages."""
    result = LogFile(path)
    _versions_of(blocks(), result)
    # The log's own boot banner names the firmware that printed it; other files come second.
    own = Versions(version_tuple(result.ncs_version), version_tuple(result.zephyr_version))
    reader = _Reader(result, own if (own.ncs or own.zephyr) else (versions or Versions()))
    first = 1  # the number of the block's first line
    for lines in blocks():
        reader.count_markers(lines)
        for index, words in _having(lines, _LINE_KEYWORDS).items():
            reader.line(first + index, lines[index], words)
        first += len(lines)
    if reader.jumped is not None:
        number, line = reader.jumped
        result.symptoms.append(
            Symptom(
                "boot-hang",
                "MCUboot jumped to the application and the log shows nothing after it",
                line.strip(),
                Source(path, number),
            )
        )
    return result


def _having(lines: List[str], keywords: Iterable[str]) -> Dict[int, List[str]]:
    """The ``lines`` that hold any of ``keywords`` (lower case, colour codes removed): index -> those held.

    In line order. A regular expression whose keyword a line lacks cannot
    match it, so only the recognisers of the keywords found need to run.
    """
    low = "\n".join(lines)
    if "\x1b" in low:
        low = _ANSI.sub("", low)  # a colour code never spans lines: the line count stays
    low = low.lower()
    keywords = list(keywords)
    width = len(keywords)
    find, count = low.find, low.count
    hits: List[int] = []  # position * width + keyword number: sorts by position, in C
    for number, keyword in enumerate(keywords):
        at = find(keyword)
        while at >= 0:
            hits.append(at * width + number)
            end = find("\n", at)  # once per line is enough
            at = -1 if end < 0 else find(keyword, end)
    hits.sort()
    found: Dict[int, List[str]] = {}
    index = last = 0
    for hit in hits:
        at, number = divmod(hit, width)
        index += count("\n", last, at)
        last = at
        held = found.get(index)
        if held is None:
            found[index] = [keywords[number]]
        else:
            held.append(keywords[number])
    return found


# What the second pass learns from one line's text: the cleaned line; whether it is too long
# to be a message, MCUboot's jump, the application's banner; its symptom and meaning.
_Facts = Tuple[str, bool, bool, bool, Optional[Tuple[str, str]]]


class _Reader:
    """The second pass: symptoms, log markers and MCUboot's jump, line by line."""

    # Lines and messages whose facts are remembered: a boot loop repeats the same few, with or
    # without new timestamps, thousands of times.
    _REMEMBERED = 4096

    def __init__(self, result: LogFile, versions: Versions):
        self.result = result
        self.versions = versions
        self.seen: Dict[str, _Facts] = {}
        self.meanings: Dict[Tuple[int, str], Optional[Tuple[str, str]]] = {}
        self.kept: Dict[Tuple[str, str], int] = {}  # quoted lines per message
        self.per_symptom: Dict[str, int] = {}  # quoted lines per symptom
        self.jumped: Optional[Tuple[int, str]] = None  # MCUboot's last jump with no banner after it yet

    def count_markers(self, lines: List[str]) -> None:
        for raw in lines:
            if self.result.log_markers >= MAX_MARKERS:
                return
            line = _clean(raw)
            if len(line) <= _MAX_LINE and _MARKERS.search(line):
                self.result.log_markers += 1

    def line(self, number: int, raw: str, words: List[str]) -> None:
        """One line, holding the keywords ``words`` (see :func:`_having`)."""
        line, long, jump, banner, decoded = self.facts(raw, words)
        if long:  # no log message, but a banner in it still counts
            if banner:
                self.jumped = None
            return
        if jump:
            self.jumped = (number, line)
        elif banner:
            self.jumped = None  # the application did start
        if decoded is None:
            return
        symptom, meaning = decoded
        if self.kept.get(decoded, 0) >= MAX_REPEATS or self.per_symptom.get(symptom, 0) >= MAX_PER_SYMPTOM:
            self.result.omitted += 1
            return
        self.kept[decoded] = self.kept.get(decoded, 0) + 1
        self.per_symptom[symptom] = self.per_symptom.get(symptom, 0) + 1
        self.result.symptoms.append(Symptom(symptom, meaning, line.strip(), Source(self.result.path, number)))

    def facts(self, raw: str, words: List[str]) -> _Facts:
        known = self.seen.get(raw)  # the words are the raw text's: no part of the key
        if known is None:
            line = _clean(raw)
            long = len(line) > _MAX_LINE
            jump = not long and _JUMP_WORD in words and bool(_JUMP.search(line))
            banner = _BANNER_WORD in words and bool(_APP_BANNER.search(line))
            decoded = None if long else self.decode(line, words)
            known = (line, long, jump, banner, decoded)
            _remember(self.seen, raw, known)
        return known

    def decode(self, line: str, words: List[str]) -> Optional[Tuple[str, str]]:
        """The symptom and meaning of the first recogniser that matches, if it decodes."""
        if len(words) == 1:  # the usual case
            indices: Iterable[int] = _RECOGNISERS_OF.get(words[0], ())
        else:
            indices = sorted({index for word in words for index in _RECOGNISERS_OF.get(word, ())})
        for index in indices:
            pattern, decode = RECOGNISERS[index]
            match = pattern.search(line)
            if match is None:
                continue
            key = (index, match.group(0))  # a decoder reads only the match
            if key not in self.meanings:
                _remember(self.meanings, key, decode(match, self.versions))
            return self.meanings[key]
        return None


def _remember(memory: dict, key: object, value: object) -> None:
    if len(memory) >= _Reader._REMEMBERED:
        memory.clear()
    memory[key] = value


def _versions_of(blocks: Iterable[List[str]], result: LogFile) -> None:
    for lines in blocks:  # read to the end even when all is found: a file's errors show only there
        wanted = [
            word
            for name, words in _VERSION_KEYWORDS.items()
            if getattr(result, name) is None
            for word in words
        ]
        for index in _having(lines, wanted) if wanted else ():  # the lines holding one
            _version_in(_clean(lines[index]), result)


def _version_in(line: str, result: LogFile) -> None:
    if result.ncs_version is None:
        match = _NCS_VERSION.search(line) or _NCS_PATH.search(line)
        if match and version_tuple(match.group(1)):
            result.ncs_version = match.group(1)
    if result.zephyr_version is None:
        match = _ZEPHYR_VERSION.search(line)
        if match and version_tuple(match.group(1)):
            result.zephyr_version = match.group(1)
    if result.board is None:
        match = _BOARD.match(line)
        if match:
            board, qualifiers = match.groups()
            result.board = f"{board}/{qualifiers}" if qualifiers else board
