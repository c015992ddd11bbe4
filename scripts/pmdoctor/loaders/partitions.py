"""Turn partitions*.yml / pm_static*.yml / regions*.yml data into layouts and regions.

The data has already been parsed (with lines) and schema-checked; here
each partition is taken as declared, even when it is wrong, because
the rules are there to say what is wrong with it. Entries too broken to use
(no mapping, no numbers) are skipped: the schema check has reported them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, Optional

from ..model import DEFAULT_PLACEMENT, Layout, LayoutKind, Partition, Region, Source
from . import parse_int
from .yamlfile import YamlDoc


def _int(value: Any) -> Optional[int]:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        return parse_int(value.strip())
    return None


def _names(value: Any) -> tuple:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list):
        return tuple(str(item) for item in value if isinstance(item, (str, int)))
    return ()


def layout_from_yaml(doc: YamlDoc, kind: LayoutKind, domain: Optional[str]) -> Layout:
    layout = Layout(kind=kind, file=doc.path, domain=domain)
    if not isinstance(doc.data, dict):
        return layout
    for name, entry in doc.data.items():
        if not isinstance(entry, dict):
            continue
        name = str(name)
        layout.partitions[name] = Partition(
            name=name,
            address=_int(entry.get("address")),
            size=_int(entry.get("size")),
            region=str(entry.get("region") or "flash_primary"),
            end_address=_int(entry.get("end_address")),
            span=_names(entry.get("span")),
            device=entry.get("device") if isinstance(entry.get("device"), str) else None,
            share_size=_names(entry.get("share_size")),
            placement=entry.get("placement") if isinstance(entry.get("placement"), dict) else None,
            source=Source(doc.path, doc.line(name)),
        )
    return layout


def regions_from_yaml(doc: YamlDoc) -> Dict[str, Region]:
    regions: Dict[str, Region] = {}
    if not isinstance(doc.data, dict):
        return regions
    for name, entry in doc.data.items():
        if not isinstance(entry, dict):
            continue
        name = str(entry.get("name") or name)
        regions[name] = Region(
            name=name,
            base=_int(entry.get("base_address")),
            size=_int(entry.get("size")),
            placement_strategy=str(entry.get("placement_strategy") or DEFAULT_PLACEMENT.get(name, "complex")),
            device=entry.get("device") or None,
            driver_kconfig=entry.get("default_driver_kconfig") or None,
            source=Source(doc.path, doc.line(name)),
            origin=Path(doc.path).name,
        )
    return regions
