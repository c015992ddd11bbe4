"""Partition Manager's own conventions that several stages need: how it names and finds static files."""

from __future__ import annotations

from typing import Dict, List, Optional


def normalised_board(board: Optional[str]) -> Optional[str]:
    """``nrf5340dk/nrf5340/cpuapp`` -> ``nrf5340dk_nrf5340_cpuapp`` (static-file naming)."""
    if not board:
        return None
    board = board.split("@", 1)[0]
    return board.replace("/", "_")


def static_file_names(board: Optional[str], cache: Dict[str, str]) -> List[str]:
    """Partition Manager's search order for the static file in the application directory."""
    names = []
    norm = normalised_board(board)
    revision = cache.get("BOARD_REVISION") or ""
    suffix = cache.get("FILE_SUFFIX") or cache.get("CONF_FILE_BUILD_TYPE") or ""
    if norm:
        if revision and suffix:
            names.append(f"pm_static_{norm}_{revision}_{suffix}.yml")
        if revision:
            names.append(f"pm_static_{norm}_{revision}.yml")
        if suffix:
            names.append(f"pm_static_{norm}_{suffix}.yml")
        names.append(f"pm_static_{norm}.yml")
    if suffix:
        names.append(f"pm_static_{suffix}.yml")
    names.append("pm_static.yml")
    return names
