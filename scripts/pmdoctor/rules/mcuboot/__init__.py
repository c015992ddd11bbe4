"""MCUboot's own configuration against the layout: sectors, modes, pad, image size, image count."""

from . import (  # noqa: F401  (registers the rules)
    image_too_large,
    max_img_sectors_too_small,
    mcuboot_pad_mismatch,
    mcuboot_without_partition_manager,
    swap_mode_layout,
    updateable_images_mismatch,
)
