"""How reports show a fix's edits: the same facts in every format, decided nowhere here.

The fix checker has said whether a fix is mechanical (``checked``), what
stood in its way (``conflict``) and what it does to devices in the field
(``field_warning``); these helpers only turn that and each edit into data
or lines.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

from ..model.edits import Edit, KconfigEdit, OverlayEdit, StaticEdit
from ..model.findings import Fix


def status(fix: Fix) -> Optional[str]:
    """``mechanical``, ``advice`` (edits that did not pass) or None (words only)."""
    if not fix.edits:
        return None
    return "mechanical" if fix.mechanical else "advice"


def _plain(value: Any) -> Any:
    if isinstance(value, (tuple, list)):
        return [_plain(item) for item in value]
    if isinstance(value, (str, int, bool)) or value is None:
        return value
    return str(value)


def edit_data(edit: Edit, path: Callable[[Optional[Path]], Optional[str]]) -> Dict[str, Any]:
    """One edit as JSON data (the JSON report's ``fixes[].edits[]``)."""
    data: Dict[str, Any] = {
        "kind": edit.kind.value,
        "action": edit.action.value,
        "file": path(edit.target.file),
        "convention": edit.target.convention,
        "creates_file": not edit.target.exists,
        "outside_source": edit.target.outside_source,
        "text": edit.text,
    }
    if isinstance(edit, StaticEdit):
        data.update(partition=edit.partition, key=edit.key, value=_plain(edit.value), domain=edit.domain)
        if edit.entries:
            data["entries"] = {key: _plain(value) for key, value in edit.entries}
    elif isinstance(edit, KconfigEdit):
        data.update(symbol=edit.symbol, value=edit.value, image=edit.image)
    elif isinstance(edit, OverlayEdit):
        data.update(node=edit.node, property=edit.prop, value=edit.value, image=edit.image)
        if edit.partition is not None:
            node = edit.partition
            data["partition"] = {
                "node_label": node.node_label,
                "address": node.address,
                "size": node.size,
                "label": node.label,
                "read_only": node.read_only,
            }
    return data


def fix_data(fix: Fix, path: Callable[[Optional[Path]], Optional[str]]) -> Dict[str, Any]:
    """The JSON fields a fix gained with edits (added next to description/file/snippet)."""
    return {
        "status": status(fix),
        "mechanical": fix.mechanical,
        "checked": fix.checked,
        "conflict": fix.conflict,
        "field_warning": fix.field_warning,
        "edits": [edit_data(edit, path) for edit in fix.edits],
    }


def note_lines(fix: Fix) -> List[str]:
    """The lines under a fix: whether it was checked, the conflict, the field warning."""
    lines: List[str] = []
    if fix.edits and fix.mechanical:
        lines.append("checked: the rules pass on the edited model (pmdoctor fix can apply it)")
    elif fix.edits:
        lines.append(f"advice, not applied automatically: {fix.conflict or 'not checked'}")
    else:
        lines.append("advice: no exact edit; check it against your files")
    if fix.field_warning:
        lines.append(f"! {fix.field_warning}")
    return lines


def other_files(fix: Fix) -> List[tuple]:
    """(file, text) for edits going into files other than the fix's first (the snippet shows that one)."""
    groups: Dict[Path, List[str]] = {}
    for edit in fix.edits:
        if edit.target.file != fix.file:
            groups.setdefault(edit.target.file, []).append(edit.text)
    return [(file, "\n".join(texts)) for file, texts in groups.items()]
