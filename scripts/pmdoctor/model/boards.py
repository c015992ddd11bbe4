"""Which SoC a board carries, for board names that do not say it.

Hardware model v2 names carry the SoC as a qualifier (``xiao_ble/nrf52840``,
``thingy53/nrf5340/cpuapp``), and most Nordic development kits carry it in
their name (``nrf52840dk_nrf52840``); this table covers the Zephyr and nRF
Connect SDK boards with a Nordic SoC whose names do not. Where a board has
two SoCs, the one that runs the application by default is listed.
"""

from __future__ import annotations

import re
from typing import Dict, Optional

BOARD_SOCS: Dict[str, str] = {
    # Nordic kits, Thingies and reference designs (Zephyr and nRF Connect SDK)
    "nrf52dk": "nrf52832",
    "nrf52kbd": "nrf52832",
    "nrf52dmouse": "nrf52832",
    "nrf21540dk": "nrf52840",
    "nrf7002dk": "nrf5340",
    "thingy52": "nrf52832",
    "thingy53": "nrf5340",
    "thingy91": "nrf9160",
    "thingy91x": "nrf9151",
    # Ezurio (Laird Connectivity)
    "pinnacle_100": "nrf52840",
    "mg100": "nrf52840",
    "bl652": "nrf52832",
    "bl653": "nrf52833",
    "bl654": "nrf52840",
    "bl5340": "nrf5340",
    "bt510": "nrf52840",
    "bt610": "nrf52840",
    # Seeed, Adafruit, Arduino, Particle, BBC, RAK, u-blox, Würth, Raytac, others
    "xiao_ble": "nrf52840",
    "adafruit_feather_nrf52840": "nrf52840",
    "adafruit_feather": "nrf52840",
    "arduino_nano_33_ble": "nrf52840",
    "arduino_nicla_sense_me": "nrf52832",
    "particle_argon": "nrf52840",
    "particle_boron": "nrf52840",
    "particle_xenon": "nrf52840",
    "bbc_microbit_v2": "nrf52833",
    "bbc_microbit": "nrf51822",
    "rak4631": "nrf52840",
    "rak5010": "nrf52840",
    "ubx_bmd300eval": "nrf52832",
    "ubx_bmd330eval": "nrf52810",
    "ubx_bmd340eval": "nrf52840",
    "ubx_bmd345eval": "nrf52840",
    "ubx_bmd360eval": "nrf52811",
    "ubx_bmd380eval": "nrf52840",
    "ubx_evkannab1": "nrf52832",
    "ubx_evkninab1": "nrf52832",
    "ubx_evkninab3": "nrf52840",
    "ubx_evkninab4": "nrf52833",
    "we_proteus2ev": "nrf52832",
    "we_proteus3ev": "nrf52840",
    "raytac_mdbt50q_db_33": "nrf52833",
    "raytac_mdbt50q_db_40": "nrf52840",
    "raytac_mdbt50q_cx_40_dongle": "nrf52840",
    "raytac_mdbt53_db_40": "nrf5340",
    "raytac_mdbt53v_db_40": "nrf5340",
    "raytac_an7002q_db": "nrf5340",
    "raytac_an54l15q_db": "nrf54l15",
    "panb611evb": "nrf54l15",
    "reel_board": "nrf52840",
    "degu_evk": "nrf52840",
    "decawave_dwm1001_dev": "nrf52832",
    "ruuvi_ruuvitag": "nrf52832",
    "holyiot_yj16019": "nrf52832",
    "ebyte_e73_tbb": "nrf52832",
    "blueclover_plt_demo_v2": "nrf52832",
    "promicro_nrf52840": "nrf52840",
    "actinius_icarus": "nrf9160",
    "actinius_icarus_som": "nrf9160",
    "actinius_icarus_bee": "nrf9160",
    "circuitdojo_feather": "nrf9160",
    "conexio_stratus": "nrf9160",
    "sparkfun_thing_plus": "nrf9160",
}

_SOC_IN_NAME = re.compile(r"nrf\d{4,5}(?:_cpunet|_cpuapp)?|nrf54[a-z]\d{2}|nrf91\d{2}")


def soc_of_board(board: Optional[str]) -> Optional[str]:
    """The SoC a board name says or implies: its qualifier, its own name, else the table."""
    if not board:
        return None
    name = board.lower().split("@", 1)[0]
    match = _SOC_IN_NAME.search(name.replace("/", "_"))
    if match:
        return match.group(0)
    base = name.split("/", 1)[0]
    if base in BOARD_SOCS:
        return BOARD_SOCS[base]
    for prefix, soc in sorted(BOARD_SOCS.items(), key=lambda item: -len(item[0])):
        if base.startswith(prefix):
            return soc
    return None
