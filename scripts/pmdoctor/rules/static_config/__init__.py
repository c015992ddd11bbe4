"""The static configuration: which pm_static file is used, where it came from, whether it is current."""

from . import foreign_static_layout, no_static_layout_for_dfu, static_file_not_used, static_overrides_kconfig  # noqa: F401  (registers the rules)
