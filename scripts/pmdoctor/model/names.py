"""Partition Manager names and the devicetree node labels that stand for them.

One table for everything that translates between the two eras: the
migration helper writes overlays with it, the baseline comparison reports
drift with it, and rules look partitions up by either name
(``mcuboot_secondary`` finds ``slot1_partition`` in a devicetree layout).
The pairs follow sdk-nrf's ``pm_to_dts.py`` and the ``flash_map_pm.h`` aliases.
"""

from __future__ import annotations

import re
from typing import Dict, Optional, Tuple

# PM name -> (devicetree node label, `label` property).
PM_TO_DT: Dict[str, Tuple[str, str]] = {
    "mcuboot": ("boot_partition", "mcuboot"),
    "mcuboot_primary": ("slot0_partition", "image-0"),
    "mcuboot_secondary": ("slot1_partition", "image-1"),
    "mcuboot_scratch": ("scratch_partition", "image-scratch"),
    "settings_storage": ("storage_partition", "storage"),
    "b0": ("b0_partition", "b0"),
    "b0n": ("b0n_partition", "b0n"),
    "provision": ("provision_partition", "b0-provision-data"),
    "s0_image": ("s0_partition", "b0-image-0"),
    "s1_image": ("s1_partition", "b0-image-1"),
    "tfm_secure": ("slot0_s_partition", "image-0-secure"),
    "tfm_nonsecure": ("slot0_ns_partition", "image-0-nonsecure"),
    "tfm_its": ("tfm_its_partition", "tfm-its"),
    "tfm_ps": ("tfm_ps_partition", "tfm-ps"),
    "tfm_otp_nv_counters": ("tfm_otp_partition", "tfm-otp"),
    "factory_data": ("factory_data_partition", "factory-data"),
    "nrf70_wifi_fw": ("nrf70_wifi_fw_partition", "nrf70-wifi-fw"),
}
# mcuboot_primary_1 / mcuboot_secondary_1 ...: the slots of image 1 and up.
PM_SLOT = re.compile(r"mcuboot_(primary|secondary)_(\d)")
_DT_SLOT = re.compile(r"slot(\d+)_partition")
_DT_TO_PM = {label: pm for pm, (label, _) in PM_TO_DT.items()}


def devicetree_names(pm_name: str) -> Optional[Tuple[str, str]]:
    """(node label, `label` property) of a PM partition with a fixed devicetree name."""
    if pm_name in PM_TO_DT:
        return PM_TO_DT[pm_name]
    slot = PM_SLOT.fullmatch(pm_name)
    if slot:
        number = 2 * int(slot.group(2)) + (slot.group(1) == "secondary")
        return f"slot{number}_partition", f"image-{number}"
    return None


def pm_name(dt_label: str) -> Optional[str]:
    """The Partition Manager name of a devicetree partition label, when there is one."""
    if dt_label in _DT_TO_PM:
        return _DT_TO_PM[dt_label]
    slot = _DT_SLOT.fullmatch(dt_label)
    if slot:
        index, secondary = divmod(int(slot.group(1)), 2)
        return f"mcuboot_{'secondary' if secondary else 'primary'}" + (f"_{index}" if index else "")
    return None
