"""External flash: can each image reach the partitions Partition Manager put off-chip?

Most rules here rest on one mechanism (sdk-nrf
``flash_map_partition_manager.c``): an image's flash map keeps a Partition
Manager partition only if, in *that image's own* devicetree, the partition's
device (for external flash the ``nordic,pm-ext-flash`` chosen node) exists
and is okay, and in *that image's own* ``.config`` the region's driver
Kconfig (``CONFIG_PM_EXTERNAL_FLASH_HAS_DRIVER`` since NCS 2.2; it follows
``CONFIG_NORDIC_QSPI_NOR``, ``CONFIG_SPI_NOR`` or the override) is set.
Otherwise ``flash_area_open()`` returns -ENOENT and the slot is simply gone.
"""

from . import (  # noqa: F401  (registers the rules)
    driver_check_override_without_driver,
    executable_slot_off_chip,
    ext_flash_driver_missing,
    ext_flash_page_layout,
    ext_flash_size_units,
    ext_flash_unreachable_devicetree,
    option_at_wrong_level,
    redundant_chosen,
)
