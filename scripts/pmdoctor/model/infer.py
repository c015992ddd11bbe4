"""What a build *is* — board, SoC, SDK versions — from every signal an engineer would use.

A whole build directory says it plainly (``BOARD`` in the cache,
``CONFIG_SOC`` in ``.config``); a forum thread says it in passing: an
``#include <nordic/nrf52840_qiaa.dtsi>``, a ``CONFIG_SOC_NRF52840_QIAA=y``,
a file named ``pinnacle_100_dvk.overlay``, a flash controller node, the
address of a network-core partition, a boot banner. Each signal is an
*offer* with its evidence and a confidence; the most confident offer wins
(the first among equals), and offers that disagree with the winner are
kept, so the assembler can say so.

Nothing here reads a file: signals come from model objects the loaders built.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Optional

from . import Confidence, Devicetree, Fact, Kconfig, Layout
from .boards import soc_of_board
from .soc import same_chip, soc_name

_RANK = {Confidence.GIVEN: 3, Confidence.HIGH: 2, Confidence.MEDIUM: 1, Confidence.LOW: 0}


@dataclass
class Inference:
    """The offers made for one fact (``board``, ``soc`` …) by every signal seen."""

    name: str
    offers: List[Fact] = field(default_factory=list)

    def offer(self, value: Optional[str], evidence: str, confidence: Confidence) -> None:
        if value:
            self.offers.append(Fact(value, evidence, confidence))

    @property
    def best(self) -> Optional[Fact]:
        """The most confident offer; the earliest among equally confident ones."""
        if not self.offers:
            return None
        top = max(_RANK[offer.confidence] for offer in self.offers)
        return next(offer for offer in self.offers if _RANK[offer.confidence] == top)

    def conflicts(self, same=lambda a, b: a == b, at_least: Confidence = Confidence.MEDIUM) -> List[Fact]:
        """Offers of at least ``at_least`` confidence whose value disagrees with the best one."""
        best = self.best
        if best is None:
            return []
        seen: Dict[str, Fact] = {}
        for offer in self.offers:
            if _RANK[offer.confidence] >= _RANK[at_least] and not same(offer.value, best.value):
                seen.setdefault(offer.value, offer)
        return list(seen.values())


# ------------------------------------------------------------------ signals


def kconfig_signals(config: Kconfig, shown: str, board: Inference, soc: Inference) -> None:
    """``CONFIG_BOARD_TARGET``/``CONFIG_BOARD``, ``CONFIG_SOC``, ``CONFIG_SOC_NRF…=y``, ``CONFIG_BOARD_…``."""
    board.offer(config.str("CONFIG_BOARD_TARGET") or config.str("CONFIG_BOARD"), shown, Confidence.HIGH)
    soc.offer(config.str("CONFIG_SOC"), shown, Confidence.HIGH)
    for name in config.settings:
        # Only these two families can match below: the other settings are never made (lazy Kconfig).
        if not name.startswith(("CONFIG_SOC_", "CONFIG_BOARD_")) or config.settings[name].value is not True:
            continue
        chip = re.fullmatch(
            r"CONFIG_SOC_(NRF\d{4,5}(?:_CPUNET|_CPUAPP)?|NRF54[A-Z]\d{2})(?:_[A-Z]{4})?", name
        )
        if chip:
            soc.offer(chip.group(1), f"{name} in {shown}", Confidence.HIGH)
        named = re.fullmatch(r"CONFIG_BOARD_(\w+)", name)
        if named and re.search(r"NRF\d|DK|THINGY|PINNACLE|BL6|BL5", named.group(1)):
            board.offer(named.group(1).lower(), f"{name} in {shown}", Confidence.MEDIUM)


def sysbuild_signals(config: Kconfig, shown: str, board: Inference, soc: Inference) -> None:
    """``SB_CONFIG_BOARD`` (with its qualifiers) and ``SB_CONFIG_SOC``."""
    name, qualifiers = config.str("SB_CONFIG_BOARD"), config.str("SB_CONFIG_BOARD_QUALIFIERS")
    board.offer(f"{name}/{qualifiers}" if name and qualifiers else name, shown, Confidence.HIGH)
    soc.offer(config.str("SB_CONFIG_SOC"), shown, Confidence.HIGH)


def cache_signals(cache: Dict[str, str], shown: str, board: Inference) -> None:
    board.offer(cache.get("BOARD") or cache.get("CACHED_BOARD"), shown, Confidence.HIGH)


# Flash and RRAM controllers name the series; with the size of the flash they name the SoC.
_CONTROLLER_SERIES = {
    "nordic,nrf51-flash-controller": "nrf51",
    "nordic,nrf52-flash-controller": "nrf52",
    "nordic,nrf53-flash-controller": "nrf53",
    "nordic,nrf91-flash-controller": "nrf91",
    "nordic,rram-controller": "nrf54l",
}
_SERIES_BY_FLASH_SIZE = {
    ("nrf52", 0x100000): "nrf52840",
    ("nrf52", 0x30000): "nrf52810",
    ("nrf52", 0x40000): "nrf52820",
    ("nrf53", 0x100000): "nrf5340",
    ("nrf53", 0x40000): "nrf5340_cpunet",
    ("nrf91", 0x100000): "nrf9160",
    ("nrf54l", 0x17D000): "nrf54l15",
    ("nrf54l", 0xFF800): "nrf54l10",
}


def devicetree_signals(tree: Devicetree, shown: str, soc: Inference, includes: Iterable[str] = ()) -> None:
    """A SoC ``.dtsi`` include, SoC compatibles, and a flash controller with its flash size."""
    for include in includes:
        match = re.search(r"(?:^|/)(nrf\d\w*)\.dtsi$", include)
        if match:
            soc.offer(match.group(1), f"#include <{include}> in {shown}", Confidence.HIGH)
    root = tree.nodes.get("/")
    if root is not None and root.compatible:
        # The board's compatible, which names its SoC (nordic,nrf52840-dk-nrf52840).
        soc.offer(soc_name(root.compatible[-1]), f"the root compatible in {shown}", Confidence.HIGH)
    for node in tree.nodes.values():
        for compatible in node.compatible:
            chip = re.fullmatch(r"nordic,(nrf[\w]+?)(?:-[a-z]{4})?", compatible)
            if chip and node.path != "/":
                soc.offer(soc_name(chip.group(1)), f'compatible "{compatible}" in {shown}', Confidence.MEDIUM)
            series = _CONTROLLER_SERIES.get(compatible)
            if not series:
                continue  # before looking for its flash: that walks every node
            flash = next(
                (c for c in tree.nodes.values() if c.path.startswith(node.path + "/") and c.reg), None
            )
            if flash is not None:
                chip_name = _SERIES_BY_FLASH_SIZE.get((series, flash.reg[0][1]))
                evidence = f"{compatible} with {flash.reg[0][1] // 1024} KB of flash in {shown}"
                soc.offer(chip_name, evidence, Confidence.LOW)


def name_signals(file_name: str, stem_is_board: bool, board: Inference) -> None:
    """``pm_static_<board>.yml``, ``<board>.overlay``, ``<board>.conf``."""
    stem = file_name.rsplit(".", 1)[0]
    match = re.match(r"pm_static_(.+)$", stem)
    if match:
        board.offer(match.group(1), f"the file name {file_name}", Confidence.MEDIUM)
    elif stem_is_board:
        board.offer(stem, f"the file name {file_name}", Confidence.MEDIUM)


def layout_signals(layouts: Iterable[Layout], soc: Inference) -> None:
    """Addresses only one SoC uses: the nRF5340 network core's flash at 0x01000000, nRF54L15 RRAM."""
    for layout in layouts:
        shown = layout.file.name if layout.file else "a layout"
        if layout.domain == "CPUNET":
            soc.offer("nrf5340", f"a network-core (CPUNET) layout, {shown}", Confidence.LOW)
        for region in layout.regions.values():
            if region.name == "flash_primary" and region.size == 0x17D000:
                soc.offer("nrf54l15", f"flash_primary of 0x17d000 bytes in {shown}", Confidence.LOW)


def board_soc(board: Inference, soc: Inference) -> None:
    """The board's SoC, from its name or the board table, when nothing better says it."""
    best = board.best
    if best is not None:
        soc.offer(soc_of_board(best.value), f"the board name {best.value}", Confidence.MEDIUM)


# ------------------------------------------------------------------ comparing


def same_soc(a: str, b: str) -> bool:
    """Two names for one chip (``nRF52840_QIAA`` = ``nrf52840``; the nRF5340's cores; a family name)."""
    return same_chip(a, b)


def same_board(a: str, b: str) -> bool:
    """One board: ``nrf52840dk/nrf52840`` = ``nrf52840dk_nrf52840``, whatever CPU cluster or ``ns`` target.

    Images of one build run on different clusters of one board
    (``nrf54l15dk/nrf54l15/cpuapp`` and ``…/cpuflpr``); only the board itself is compared.
    """

    def plain(name: str) -> str:
        name = name.lower().split("@", 1)[0]
        if "/" in name:
            return name.split("/", 1)[0]
        return re.sub(r"(?:_cpu\w+|_?ns)$", "", name)

    left, right = plain(a), plain(b)
    return left == right or left.startswith(right + "_") or right.startswith(left + "_")


def ncs_version_from_path(zephyr_base: str) -> Optional[str]:
    """``/opt/ncs/v2.6.1/zephyr`` → ``2.6.1`` (pre-release suffixes kept: ``v3.0.0-rc1``)."""
    match = re.search(r"[/\\]v(\d{1,4}\.\d{1,4}\.\d{1,4}(?:-[\w.]{1,32})?)[/\\]", zephyr_base + "/")
    return match.group(1) if match else None


def plausible_version(text: Optional[object]) -> Optional[str]:
    """A version string as a build or log gives it (``3.7.99``, ``v2.6.0-rc1``), or None for anything else.

    Versions come from files strangers write; a component of 5,000 digits is
    not a version, and no later comparison should have to parse it.
    """
    if text is None:
        return None
    value = str(text).strip()
    if len(value) > 64 or not re.fullmatch(r"v?\d{1,4}(?:\.\d{1,4}){1,3}(?:[-+][\w.-]*)?", value):
        return None
    return value


def describe(fact: Fact) -> str:
    return f"inferred from {fact.evidence} ({fact.confidence.value} confidence)"


def conflict_note(what: str, best: Fact, others: List[Fact]) -> Optional[str]:
    if not others:
        return None
    said = "; ".join(f"{other.value} by {other.evidence}" for other in others[:3])
    return f"{what} {best.value} ({best.evidence}) disagrees with {said}"
