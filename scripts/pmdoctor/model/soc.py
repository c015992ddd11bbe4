"""Per-SoC non-volatile memory facts, for when the build itself does not say.

The build's own devicetree and .config win over this table; it fills the
gaps (an nRF5340 net core's 2 KB pages when its zephyr.dts is missing, the
FPROTECT and TrustZone granularity that no devicetree carries).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional

KB = 1024


@dataclass(frozen=True)
class SocFacts:
    """The flash and RAM facts of one SoC that the rules compare a layout against."""

    name: str
    series: str
    flash_size: int
    flash_base: int = 0
    erase_block: int = 4 * KB
    write_block: int = 4
    fprotect_block: Optional[int] = 4 * KB
    trustzone_flash: Optional[int] = None
    trustzone_ram: Optional[int] = None
    ram_size: Optional[int] = None
    mcuboot_pad: int = 0x200


_FACTS = {
    "nrf52805": SocFacts("nrf52805", "nrf52", 192 * KB, ram_size=24 * KB),
    "nrf52810": SocFacts("nrf52810", "nrf52", 192 * KB, ram_size=24 * KB),
    "nrf52811": SocFacts("nrf52811", "nrf52", 192 * KB, ram_size=24 * KB),
    "nrf52820": SocFacts("nrf52820", "nrf52", 256 * KB, ram_size=32 * KB),
    "nrf52832": SocFacts("nrf52832", "nrf52", 512 * KB, ram_size=64 * KB),
    "nrf52833": SocFacts("nrf52833", "nrf52", 512 * KB, ram_size=128 * KB),
    "nrf52840": SocFacts("nrf52840", "nrf52", 1024 * KB, ram_size=256 * KB),
    "nrf5340": SocFacts(
        "nrf5340",
        "nrf53",
        1024 * KB,
        fprotect_block=16 * KB,
        trustzone_flash=16 * KB,
        trustzone_ram=8 * KB,
        ram_size=512 * KB,
    ),
    "nrf5340_cpunet": SocFacts(
        "nrf5340_cpunet",
        "nrf53",
        256 * KB,
        flash_base=0x01000000,
        erase_block=2 * KB,
        fprotect_block=2 * KB,
        ram_size=64 * KB,
    ),
    "nrf54l15": SocFacts(
        "nrf54l15",
        "nrf54l",
        0x17D000,
        write_block=16,
        fprotect_block=1 * KB,
        trustzone_flash=4 * KB,
        trustzone_ram=4 * KB,
        ram_size=256 * KB,
        mcuboot_pad=0x800,
    ),
    "nrf54l10": SocFacts(
        "nrf54l10",
        "nrf54l",
        1022 * KB,
        write_block=16,
        fprotect_block=1 * KB,
        trustzone_flash=4 * KB,
        trustzone_ram=4 * KB,
        ram_size=192 * KB,
        mcuboot_pad=0x800,
    ),
    "nrf54l05": SocFacts(
        "nrf54l05",
        "nrf54l",
        500 * KB,
        write_block=16,
        fprotect_block=1 * KB,
        trustzone_flash=4 * KB,
        trustzone_ram=4 * KB,
        ram_size=96 * KB,
        mcuboot_pad=0x800,
    ),
}
for _name in ("nrf9160", "nrf9161", "nrf9151", "nrf9131"):
    _FACTS[_name] = SocFacts(
        _name,
        "nrf91",
        1024 * KB,
        fprotect_block=32 * KB,
        trustzone_flash=32 * KB,
        trustzone_ram=8 * KB,
        ram_size=256 * KB,
    )


# Nordic SoC names as they appear inside longer strings: Kconfig values (nRF52840_QIAA),
# compatibles (nordic,nrf52840-qiaa; nordic,thingy53-nrf5340-cpuapp), board names.
_SOC_NAME = re.compile(r"nrf(?:5\d{3,4}|54[a-z]{1,2}\d{2}|91\d{2}|71\d{2})(?:[a-z](?![a-z]))?")
# Nordic chips that are not SoCs a build runs on: front-end modules and Wi-Fi companions.
NOT_SOCS = {"nrf21540", "nrf2220", "nrf2240", "nrf7000", "nrf7001", "nrf7002"}


def soc_name(text: Optional[str]) -> Optional[str]:
    """The Nordic SoC a string names anywhere (``nRF5340_CPUNET_QKAA`` → ``nrf5340_cpunet``), or None."""
    if not text:
        return None
    lowered = text.strip().lower()
    match = _SOC_NAME.search(lowered)
    if match is None or match.group(0) in NOT_SOCS:
        return None
    if match.group(0).startswith("nrf5340") and "cpunet" in lowered[match.start() :]:
        return "nrf5340_cpunet"
    name = match.group(0)
    for known in _FACTS:
        if name.startswith(known) and "cpunet" not in known:
            return known
    return name


# Kconfig and devicetree name some SoCs by their family: an nRF9151 is also SOC_NRF9120.
FAMILIES = {"nrf9120": ("nrf9131", "nrf9151", "nrf9161")}


def same_chip(a: Optional[str], b: Optional[str]) -> bool:
    """Whether two names can mean one chip: equal, one core of the other (nRF5340), or its family."""
    left, right = normalise_soc(a) or "", normalise_soc(b) or ""
    left, right = left.replace("_cpunet", ""), right.replace("_cpunet", "")
    if left == right:
        return True
    return any(
        {left, right} <= {family, *members} and family in (left, right)
        for family, members in FAMILIES.items()
    )


def normalise_soc(raw: Optional[str]) -> Optional[str]:
    """``nRF52840_QIAA`` / ``nrf52840`` / ``nordic,nrf52840-qiaa`` -> ``nrf52840``.

    The nRF5340 network core is ``nrf5340_cpunet``; other SoCs come back
    lower-cased as they were given.
    """
    if not raw:
        return None
    return soc_name(raw) or raw.strip().lower().split(",")[-1] or None


def facts(soc: Optional[str]) -> Optional[SocFacts]:
    return _FACTS.get(normalise_soc(soc) or "")


def series(soc: Optional[str]) -> Optional[str]:
    known = facts(soc)
    if known:
        return known.series
    match = re.match(r"(nrf\d{2}[a-z]?)", normalise_soc(soc) or "")
    return match.group(1) if match else None
