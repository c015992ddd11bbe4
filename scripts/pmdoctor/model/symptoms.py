"""What users see when a layout is wrong: the shared vocabulary of symptoms.

Log readers (``loaders/logs.py``) turn console and build-log lines into
:class:`Symptom` objects; rules declare which symptoms they explain
(``@rule(..., explains=(...))``), and ranking puts the findings that explain
an observed symptom first. The IDs below are the vocabulary both sides use.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict

from . import Source

SYMPTOMS: Dict[str, str] = {
    "slot-unreachable": "a flash area (usually the secondary slot) is missing from an image's "
    "flash map: MCUboot 'Failed to open flash area … -2', MCUmgr 'Image upload inspect failed: 5' "
    "or 'no free slot'",
    "device-not-ready": "the partition exists but its flash device did not initialise (-19, MCUmgr error 10)",
    "sectors-incompatible": "MCUboot cannot match the two slots' sectors ('Cannot upgrade: slots "
    "have non-compatible sectors', 'Failed reading sectors; BOOT_MAX_IMG_SECTORS')",
    "scratch-too-small": "swap-scratch: 'not all sectors fit inside scratch'",
    "fprotect-failed": "MCUboot 'Protect mcuboot flash failed, cancel startup'",
    "rramc-protected": "nrfutil: 'Address … is in a protected RRAMC region'",
    "image-too-large": "an image does not fit its partition (linker 'region FLASH overflowed', "
    "imgtool 'Image size … exceeds requested size')",
    "pm-gaps": "Partition Manager: 'Incorrect amount of gaps found in static configuration'",
    "pm-not-packed": "Partition Manager: 'Statically defined partitions are not packed'",
    "pm-invalid-address": "Partition Manager: 'Error when inspecting …, invalid address'",
    "pm-failed": "Partition Manager failed for another reason",
    "pm-static-changed": "sysbuild: 'Static partition manager file has changed' (pristine build needed)",
    "tfm-alignment": "TF-M: '!!!Partition alignment error!!!' / non-secure start not aligned",
    "link-device-ord": "link error 'undefined reference to __device_dts_ord_…' (driver missing)",
    "netcore-partition-undeclared": "MCUboot build: 'PM_MCUBOOT_PRIMARY_1_ID undeclared'",
    "bad-image-magic": "MCUmgr 'Invalid image header magic (23)' / boot_set_next code 3",
    "hash-not-found": "MCUmgr 'Hash not found (8)'",
    "boot-hang": "MCUboot 'Jumping to the first image slot' and then nothing",
}


@dataclass(frozen=True)
class Symptom:
    """One recognised log line: which symptom, what it means, where it was seen."""

    id: str
    meaning: str
    text: str
    source: Source
