"""Read an image's flattened ``zephyr/zephyr.dts`` with Zephyr's dtlib.

The dtlib of the Zephyr tree the user's environment names
(``$ZEPHYR_BASE/scripts/dts/python-devicetree``) is preferred; the PyPI
``devicetree`` package is the fallback. The ``ZEPHYR_BASE`` a build's cache
records is never used: importing runs code, and the cache is an input. dtlib does not give line numbers in
every version, so a small scanner over the text (which dtlib itself wrote,
one node or property per line) maps node paths and properties to lines and
to the ``/* in file:line */`` origin comments that Zephyr >= 4.2 adds.
"""

from __future__ import annotations

import importlib
import re
import sys
from pathlib import Path
from types import ModuleType
from typing import Dict, List, Optional, Tuple

from ..model import (
    Devicetree,
    DtNode,
    DtReference,
    Layout,
    LayoutKind,
    Partition,
    Region,
    Source,
    devicetree_region,
)
from ..model.drivers import NOR_ERASE_BLOCK, is_nor
from . import LoadError, read_text

PARTITION_COMPATIBLES = ("fixed-partitions", "zephyr,mapped-partition")
# Nodes whose children are partitions: `fixed-subpartitions` nests partitions in a partition.
_PARTITION_PARENTS = ("fixed-partitions", "fixed-subpartitions")
_KEPT_PROPS = ("size", "erase-block-size", "write-block-size", "label", "jedec-id", "ranges")

# One dtlib per Zephyr tree (None: the installed `devicetree` package).
_DTLIBS: Dict[Optional[Path], Optional[ModuleType]] = {}

NO_PARSER = (
    "no devicetree parser: set ZEPHYR_BASE to your Zephyr tree, or install the "
    "`devicetree` package (pip install devicetree)"
)


def dtlib_module(zephyr_base: Optional[Path] = None) -> Optional[ModuleType]:
    """dtlib from ``zephyr_base`` when it has a working copy, else the installed package.

    ``zephyr_base`` must come from the user's environment (see
    :mod:`pmdoctor.inputs.scope`), never from a file being analysed: importing
    a module runs its code. None when no dtlib can be imported at all.
    """
    if zephyr_base is not None:
        if zephyr_base not in _DTLIBS:
            _DTLIBS[zephyr_base] = _zephyr_dtlib(
                zephyr_base / "scripts" / "dts" / "python-devicetree" / "src"
            )
        if _DTLIBS[zephyr_base] is not None:
            return _DTLIBS[zephyr_base]
    if None not in _DTLIBS:
        try:
            _DTLIBS[None] = importlib.import_module("devicetree.dtlib")
        except ImportError:
            _DTLIBS[None] = None
    return _DTLIBS[None]


def dtlib_origin(zephyr_base: Optional[Path] = None) -> str:
    """Which parser :func:`dtlib_module` gives, in words for a note."""
    module = dtlib_module(zephyr_base)
    if module is None:
        return "none"
    if zephyr_base is not None and _DTLIBS.get(zephyr_base) is module:
        return f"dtlib of {zephyr_base}"
    return "the installed devicetree package"


def _zephyr_dtlib(src: Path) -> Optional[ModuleType]:
    """dtlib from a Zephyr tree, or None when it is absent or does not import.

    The tree's package is imported under its usual name and then taken out of
    ``sys.modules`` again, so the installed package stays what
    ``import devicetree`` gives everyone else.
    """
    if not (src / "devicetree" / "dtlib.py").is_file():
        return None
    saved = _forget_devicetree()
    sys.path.insert(0, str(src))
    try:
        module = importlib.import_module("devicetree.dtlib")
        found = Path(module.__file__ or "").resolve()
        return module if src.resolve() in found.parents else None
    except Exception:  # a broken tree must not stop the analysis: use the package
        return None
    finally:
        sys.path.remove(str(src))
        _forget_devicetree()
        sys.modules.update(saved)


def _forget_devicetree() -> Dict[str, ModuleType]:
    names = [name for name in sys.modules if name == "devicetree" or name.startswith("devicetree.")]
    return {name: sys.modules.pop(name) for name in names}


# --------------------------------------------------------------- line map

_NODE_OPEN = re.compile(r"^\s*((?:[A-Za-z_][\w]*:\s*)*)([^\s=;{}]+)\s*\{")
_NODE_CLOSE = re.compile(r"^\s*\};")
_PROPERTY = re.compile(r"^\s*([A-Za-z0-9_,.+?#-]+)\s*(?:=|;)")
_ORIGIN = re.compile(r"/\*\s*in\s+(.+?):(\d+)\s*\*/")
_NODE_ORIGIN = re.compile(r"/\*\s*node\s+'[^']*'\s+defined in\s+(.+?):(\d+)\s*\*/")


class LineMap:
    """Lines of nodes and properties in a dtlib-formatted DTS file."""

    def __init__(self, text: str):
        self.nodes: Dict[str, int] = {}
        self.props: Dict[Tuple[str, str], int] = {}
        self.node_origin: Dict[str, Tuple[str, int]] = {}
        self.prop_origin: Dict[Tuple[str, str], Tuple[str, int]] = {}
        stack: List[str] = []
        pending_origin: Optional[Tuple[str, int]] = None
        for number, line in enumerate(text.splitlines(), start=1):
            node_origin = _NODE_ORIGIN.search(line)
            if node_origin:
                pending_origin = (node_origin.group(1), int(node_origin.group(2)))
                continue
            opened = _NODE_OPEN.match(line)
            if opened:
                name = opened.group(2)
                path = "/" if name == "/" else (stack[-1].rstrip("/") + "/" + name if stack else name)
                stack.append(path)
                self.nodes.setdefault(path, number)
                if pending_origin:
                    self.node_origin[path] = pending_origin
                pending_origin = None
                continue
            if _NODE_CLOSE.match(line):
                if stack:
                    stack.pop()
                continue
            prop = _PROPERTY.match(line)
            if prop and stack:
                key = (stack[-1], prop.group(1))
                self.props.setdefault(key, number)
                origin = _ORIGIN.search(line)
                if origin:
                    self.prop_origin[key] = (origin.group(1), int(origin.group(2)))


# ----------------------------------------------------------------- loader


def load_devicetree(path: Path, image: str, zephyr_base: Optional[Path] = None) -> Devicetree:
    """Parse one flattened ``zephyr.dts``; ``zephyr_base`` must be a trusted tree (or None)."""
    text = read_text(path)
    dtlib = dtlib_module(zephyr_base)
    if dtlib is None:
        raise LoadError(path, NO_PARSER)
    try:
        tree = dtlib.DT(str(path))
    except Exception as exc:  # dtlib raises DTError, but also others on odd input
        raise LoadError(path, _dt_error(exc, path), _dt_error_line(exc)) from None
    lines = LineMap(text)
    model = Devicetree(file=path)
    for node in tree.node_iter():
        model.nodes[node.path] = _node(node, path, lines)
        for label in node.labels:
            model.labels[label] = node.path
    chosen = tree.root.nodes.get("chosen")
    if chosen is not None:
        for name, prop in chosen.props.items():
            target = _chosen_target(prop, dtlib)
            if target is not None:
                model.chosen[name] = target
                model.chosen_source[name] = Source(path, lines.props.get(("/chosen", name)))
                origin = lines.prop_origin.get(("/chosen", name))
                if origin:
                    model.chosen_origin[name] = Source(Path(origin[0]), origin[1])
    model.references = _references(tree, dtlib, path, lines)
    model.layout = _partition_layout(model, path, image)
    return model


def _references(tree, dtlib, path: Path, lines: LineMap) -> Dict[str, List[DtReference]]:
    """Every label whose node a property points at, with the properties that do.

    Phandles (``partition = <&lfs1_part>``) and path references (``&x`` in
    ``chosen`` and ``aliases``) are typed by dtlib. Cells that mix phandles
    and numbers (``gpios = <&gpio0 3 0>``) are left out: dtlib has no public
    way to split them, and they point at controllers, not partitions.
    """
    found: Dict[str, List[DtReference]] = {}
    for node in tree.node_iter():
        for name, prop in node.props.items():
            for target in _targets(prop, dtlib):
                reference = DtReference(node.path, name, Source(path, lines.props.get((node.path, name))))
                for label in target.labels:
                    found.setdefault(label, []).append(reference)
    return found


def _targets(prop, dtlib) -> list:
    try:
        if prop.type == dtlib.Type.PATH:
            return [prop.to_path()]
        if prop.type == dtlib.Type.PHANDLE:
            return [prop.to_node()]
        if prop.type == dtlib.Type.PHANDLES:
            return list(prop.to_nodes())
    except Exception:  # a dangling reference: dtlib already refused those while parsing
        return []
    return []


def _dt_error(exc: Exception, path: Path) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    # dtlib starts with "<path>:<line> (column n):"; the finding already says where.
    text = re.sub(rf"^{re.escape(str(path))}:\d+\s*(\(column \d+\))?:?\s*", "", text)
    return f"devicetree does not parse: {text}"


def _dt_error_line(exc: Exception) -> Optional[int]:
    match = re.search(r":(\d+)(?:\s|:|\(|$)", str(exc))
    return int(match.group(1)) if match else None


def _chosen_target(prop, dtlib) -> Optional[str]:
    try:
        if prop.type == dtlib.Type.PATH:
            return prop.to_path().path
        if prop.type in (dtlib.Type.PHANDLE, dtlib.Type.PHANDLES):
            return prop.to_node().path
        if prop.type == dtlib.Type.STRING:
            return prop.to_string()
    except Exception:
        return None
    return None


def _prop_value(prop) -> object:
    if not prop.value:
        return True  # boolean property such as `ranges;`
    for convert in ("to_num", "to_string", "to_nums"):
        try:
            return getattr(prop, convert)()
        except Exception:
            continue
    return bytes(prop.value)


def _cells(node, name: str, default: int) -> int:
    prop = node.props.get(name) if node is not None else None
    try:
        return prop.to_num() if prop is not None else default
    except Exception:
        return default


def _reg(node) -> Tuple[Tuple[int, int], ...]:
    prop = node.props.get("reg")
    if prop is None:
        return ()
    address_cells = _cells(node.parent, "#address-cells", 2)
    size_cells = _cells(node.parent, "#size-cells", 1)
    raw = bytes(prop.value)
    step = 4 * (address_cells + size_cells)
    if step == 0 or len(raw) % step:
        return ()
    entries = []
    for offset in range(0, len(raw), step):
        address = int.from_bytes(raw[offset : offset + 4 * address_cells], "big")
        size = int.from_bytes(raw[offset + 4 * address_cells : offset + step], "big")
        entries.append((address, size))
    return tuple(entries)


def _node(node, path: Path, lines: LineMap) -> DtNode:
    compatible: Tuple[str, ...] = ()
    if "compatible" in node.props:
        try:
            compatible = tuple(node.props["compatible"].to_strings())
        except Exception:
            compatible = ()
    status_okay = True
    walker = node
    while walker is not None:
        status = walker.props.get("status")
        if status is not None:
            try:
                if status.to_string() not in ("okay", "ok"):
                    status_okay = False
            except Exception:
                pass
        walker = walker.parent
    props = {name: _prop_value(node.props[name]) for name in _KEPT_PROPS if name in node.props}
    origin = lines.node_origin.get(node.path)
    return DtNode(
        path=node.path,
        name=node.name,
        labels=tuple(node.labels),
        compatible=compatible,
        status_okay=status_okay,
        reg=_reg(node),
        props=props,
        source=Source(path, lines.nodes.get(node.path)),
        origin=Source(Path(origin[0]), origin[1]) if origin else None,
    )


# -------------------------------------------------------------- partitions


def flash_region(tree: Devicetree, flash: DtNode) -> Region:
    """A flash device (SoC NVM or external NOR) as a region."""
    name = devicetree_region(flash.label)
    if is_nor(flash):
        bits = flash.props.get("size")
        size = bits // 8 if isinstance(bits, int) else None
        return Region(
            name=name,
            base=0,
            size=size,
            erase_block=NOR_ERASE_BLOCK,
            write_block=1,
            placement_strategy="devicetree",
            device=flash.path,
            source=flash.source,
            origin=f"size property of {flash.label} (bits)",
        )
    base, size = flash.reg[0] if flash.reg else (None, None)
    erase = flash.props.get("erase-block-size")
    write = flash.props.get("write-block-size")
    return Region(
        name=name,
        base=base,
        size=size,
        erase_block=erase if isinstance(erase, int) else None,
        write_block=write if isinstance(write, int) else None,
        placement_strategy="devicetree",
        device=flash.path,
        source=flash.source,
        origin=f"reg of {flash.label}",
    )


def _partition_layout(tree: Devicetree, path: Path, image: str) -> Optional[Layout]:
    layout = Layout(kind=LayoutKind.DEVICETREE, file=path, image=image)
    for node in tree.nodes.values():
        if not _is_partition(tree, node) or not node.reg:
            continue
        flash = _flash_of(tree, node)
        if flash is None:
            continue
        region = layout.regions.get(devicetree_region(flash.label)) or flash_region(tree, flash)
        layout.regions[region.name] = region
        offset, size = node.reg[0]
        offset += _ranges_shift(tree, node, flash, offset)
        base = 0 if is_nor(flash) or region.base is None else region.base
        name = node.labels[0] if node.labels else node.name
        layout.partitions[name] = Partition(
            name=name,
            address=base + offset,
            size=size,
            region=region.name,
            device=flash.path,
            source=node.origin or node.source,
            dt_label=node.labels[0] if node.labels else None,
            dt_path=node.path,
        )
    _nest_subpartitions(tree, layout)
    return layout if layout.partitions else None


def _nest_subpartitions(tree: Devicetree, layout: Layout) -> None:
    """A `fixed-subpartitions` node (TF-M's slot0 = secure + non-secure) spans its children."""
    by_path = {part.dt_path: part for part in layout.partitions.values()}
    for part in layout.partitions.values():
        node = tree.nodes.get(part.dt_path or "")
        if node is None or "fixed-subpartitions" not in node.compatible:
            continue
        part.span = tuple(
            child.name for path, child in by_path.items() if path and path.rsplit("/", 1)[0] == part.dt_path
        )


def _ranges_shift(tree: Devicetree, node: DtNode, flash: DtNode, offset: int) -> int:
    """Translate through `ranges = <child parent length>` of nodes between partition and flash."""
    shift = 0
    path = node.path.rsplit("/", 1)[0]
    while path and path != flash.path:
        ancestor = tree.nodes.get(path)
        ranges = ancestor.props.get("ranges") if ancestor else None
        if isinstance(ranges, list) and len(ranges) % 3 == 0:
            for child, parent, length in zip(ranges[0::3], ranges[1::3], ranges[2::3]):
                if child <= offset + shift < child + length:
                    shift += parent - child
                    break
        path = path.rsplit("/", 1)[0]
    return shift


def _is_partition(tree: Devicetree, node: DtNode) -> bool:
    if "zephyr,mapped-partition" in node.compatible:
        return True
    parent = tree.nodes.get(node.path.rsplit("/", 1)[0] or "/")
    return parent is not None and any(c in _PARTITION_PARENTS for c in parent.compatible)


def _flash_of(tree: Devicetree, node: DtNode) -> Optional[DtNode]:
    """The flash device a partition belongs to: the nearest ancestor that is not a partitions node."""
    path = node.path
    while "/" in path.strip("/"):
        path = path.rsplit("/", 1)[0]
        ancestor = tree.nodes.get(path)
        if ancestor is None:
            return None
        if any(c in _PARTITION_PARENTS for c in ancestor.compatible) or ancestor.name == "partitions":
            continue
        if "zephyr,mapped-partition" in ancestor.compatible:
            continue
        return ancestor
    return None
