"""What the storage rules share."""

from __future__ import annotations

from typing import Optional

_SETTINGS_BACKENDS = ("CONFIG_SETTINGS_NVS", "CONFIG_SETTINGS_ZMS", "CONFIG_SETTINGS_FCB")


def settings_backend(config) -> Optional[str]:
    if not config.enabled("CONFIG_SETTINGS"):
        return None
    return next((name for name in _SETTINGS_BACKENDS if config.enabled(name)), None)
