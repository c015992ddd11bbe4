"""Apply a fix's edits to a copy of the build's model, as the next build would see them.

What pmdoctor models is what it can check: a static layout's partitions
(and the generated layout Partition Manager would write from it), Kconfig
values of an image or of sysbuild, and the chosen properties, node status and
partition nodes of an image's devicetree. The original build is never
touched: every container an edit changes is copied first, the rest is shared.
"""

from __future__ import annotations

import copy
from dataclasses import replace
from pathlib import Path
from typing import Dict, Iterable, Optional

from ..loaders.kconfig import parse_value
from ..model import (
    Build,
    Devicetree,
    Image,
    Kconfig,
    Layout,
    LayoutKind,
    Partition,
    Setting,
    Source,
    StaticFile,
)
from ..model.drivers import is_nor
from ..model.edits import Action, Edit, EditKind, KconfigEdit, OverlayEdit, StaticEdit

_TUPLE_KEYS = ("span", "share_size")
# Kconfig defaults that follow an edited symbol (sdk-nrf): a NOR driver makes Partition Manager's
# external-flash check pass for the image that has it.
_IMPLIED = {
    "CONFIG_NORDIC_QSPI_NOR": ("CONFIG_PM_EXTERNAL_FLASH_HAS_DRIVER",),
    "CONFIG_SPI_NOR": ("CONFIG_PM_EXTERNAL_FLASH_HAS_DRIVER",),
}


class SimulationError(Exception):
    """An edit that does not apply to the model (a partition that is not there, a node unknown)."""


def simulate(build: Build, edits: Iterable[Edit]) -> Build:
    """A copy of ``build`` with ``edits`` applied; ``build`` itself stays as it was."""
    sim = copy.copy(build)
    sim.layouts = list(build.layouts)
    sim.static_files = list(build.static_files)
    sim.images = list(build.images)
    sim.user_configs = dict(build.user_configs)
    for edit in edits:
        if edit.kind is EditKind.STATIC:
            _static(sim, edit)
        elif edit.kind is EditKind.KCONFIG:
            _kconfig(sim, edit)
        else:
            _overlay(sim, edit)
    return sim


# -- static layouts ----------------------------------------------------------------------------------


def _copied(layout: Layout) -> Layout:
    twin = copy.copy(layout)
    twin.partitions = dict(layout.partitions)
    twin.regions = dict(layout.regions)
    twin.mtime = None  # after the rebuild the generated layout is as new as the static one
    return twin


def _static(sim: Build, edit: StaticEdit) -> None:
    domain = edit.domain
    index = next((i for i, s in enumerate(sim.static_files) if s.domain == domain), None)
    generated_index = next((i for i, layout in enumerate(sim.layouts) if layout.domain == domain), None)
    generated = sim.layouts[generated_index] if generated_index is not None else None
    if index is not None and sim.static_files[index].layout is not None:
        layout = _copied(sim.static_files[index].layout)
    else:
        layout = Layout(LayoutKind.STATIC, edit.target.file, domain)
        layout.regions = dict(generated.regions) if generated is not None else {}
    _apply_static(layout, edit)
    if index is None:
        sim.static_files.append(StaticFile(edit.target.file, domain, layout, "the fix"))
    else:
        sim.static_files[index] = replace(sim.static_files[index], layout=layout)
    # Partition Manager places a static file's partitions exactly as written, so the
    # next partitions.yml carries the same change.
    if generated is not None:
        twin = _copied(generated)
        _apply_static(twin, edit, strict=False)
        sim.layouts[generated_index] = twin


def _apply_static(layout: Layout, edit: StaticEdit, strict: bool = True) -> None:
    name = edit.partition
    current = layout.partitions.get(name)
    source = Source(Path(edit.target.file))
    if edit.action is Action.ADD:
        part = current or Partition(name=name, address=None, size=None, source=source)
        for key, value in edit.entries:
            part = _with_key(part, key, value)
        layout.partitions[name] = part
        return
    if current is None:
        if strict and edit.action is not Action.REMOVE:
            raise SimulationError(f"`{name}` is not in the static layout")
        if edit.action is Action.REMOVE:
            return
        current = Partition(name=name, address=None, size=None, source=source)
    if edit.action is Action.REMOVE and edit.key is None:
        del layout.partitions[name]
        for other_name, other in list(layout.partitions.items()):
            if name in other.span:
                layout.partitions[other_name] = replace(other, span=tuple(n for n in other.span if n != name))
        return
    value = edit.value if edit.action is Action.SET else None
    layout.partitions[name] = _with_key(current, edit.key or "", value)


def _with_key(part: Partition, key: str, value: object) -> Partition:
    if key in _TUPLE_KEYS:
        items = value if isinstance(value, (tuple, list)) else ((value,) if value else ())
        return replace(part, **{key: tuple(items)})
    if key == "size":
        end = part.address + value if part.address is not None and isinstance(value, int) else None
        return replace(part, size=value, end_address=end)
    if key == "address":
        end = value + part.size if part.size is not None and isinstance(value, int) else None
        return replace(part, address=value, end_address=end)
    if key == "end_address":
        size = value - part.address if part.address is not None and isinstance(value, int) else part.size
        return replace(part, end_address=value, size=size)
    if key in ("region", "device", "placement"):
        return replace(part, **{key: value if key != "region" or value else "flash_primary"})
    return part  # a key pmdoctor does not model changes nothing it checks


# -- Kconfig -------------------------------------------------------------------------------------------


def _with_setting(config: Kconfig, symbol: str, value: Optional[str], file: Path) -> Kconfig:
    twin = copy.copy(config)
    twin.settings = dict(config.settings)
    if value is None:
        twin.settings.pop(symbol, None)
    else:
        twin.settings[symbol] = Setting(symbol, parse_value(value), Source(file))
    if twin.file is None:
        twin.file = file  # a Kconfig without a file reads as absent
    return twin


def _replace_image(sim: Build, image: Image, **changes: object) -> Image:
    twin = replace(image, **changes)
    sim.images = [twin if candidate is image else candidate for candidate in sim.images]
    return twin


def _kconfig(sim: Build, edit: KconfigEdit) -> None:
    value = edit.value if edit.action is Action.SET else None
    file = Path(edit.target.file)
    for key, fragment in list(sim.user_configs.items()):
        if fragment.file is not None and Path(fragment.file) == file:
            sim.user_configs[key] = _with_setting(fragment, edit.symbol, value, file)
    if edit.symbol.startswith("SB_CONFIG_"):
        sim.sysbuild_config = _with_setting(sim.sysbuild_config, edit.symbol, value, file)
        # sysbuild forces its option into the images that know the symbol (PM options, MCUboot modes).
        symbol = "CONFIG_" + edit.symbol[len("SB_CONFIG_") :]
        for image in list(sim.images):
            if symbol in image.config:
                _replace_image(sim, image, config=_with_setting(image.config, symbol, value, file))
        return
    image = sim.image(edit.image or "app")
    if image is None:
        raise SimulationError(f"no image `{edit.image}` in this build")
    config = _with_setting(image.config, edit.symbol, value, file)
    if value == "y":
        # Only a symbol this SDK has: an older one (no CONFIG_PM_EXTERNAL_FLASH_HAS_DRIVER in any
        # image's .config) would otherwise gain a check its Partition Manager never makes.
        known = {
            symbol
            for other in sim.images
            for symbol in _IMPLIED.get(edit.symbol, ())
            if symbol in other.config
        }
        for implied in _IMPLIED.get(edit.symbol, ()):
            if implied in known:
                config = _with_setting(config, implied, "y", file)
    _replace_image(sim, image, config=config)


# -- devicetree ------------------------------------------------------------------------------------------


def _overlay(sim: Build, edit: OverlayEdit) -> None:
    image = sim.image(edit.image or "app")
    if image is None or not image.devicetree:
        raise SimulationError(f"no devicetree for `{edit.image or 'app'}`")
    tree = copy.copy(image.devicetree)
    tree.chosen = dict(tree.chosen)
    tree.nodes = dict(tree.nodes)
    if edit.node == "/chosen" and edit.prop:
        if edit.action is Action.REMOVE:
            tree.chosen.pop(edit.prop, None)
        else:
            target = tree.node((edit.value or "").strip("<>").lstrip("&").strip("{}"))
            if target is None:
                raise SimulationError(f"{edit.value} is not a node of the devicetree")
            tree.chosen[edit.prop] = target.path
    elif edit.action is Action.ADD and edit.partition is not None:
        _add_partition(tree, edit)
    elif edit.prop:
        node = tree.node(edit.node.lstrip("&").strip("{}"))
        if node is None:
            raise SimulationError(f"{edit.node} is not a node of the devicetree")
        if edit.prop == "status":
            okay = edit.action is Action.SET and (edit.value or "").strip('"') in ("okay", "ok")
            _set_status(tree, node.path, okay)
        else:
            props = dict(node.props)
            if edit.action is Action.REMOVE:
                props.pop(edit.prop, None)
            else:
                props[edit.prop] = _dts_value(edit.value or "")
            tree.nodes[node.path] = replace(node, props=props)
    _replace_image(sim, image, devicetree=tree)


def _set_status(tree: Devicetree, path: str, okay: bool) -> None:
    """``status_okay`` is effective (the node and its ancestors): disabling a node disables its children.

    Enabling one enables only that node; a fix that needs its bus enabled says so in its own edit.
    """
    for other_path, node in list(tree.nodes.items()):
        if other_path == path or (not okay and other_path.startswith(path + "/")):
            tree.nodes[other_path] = replace(node, status_okay=okay)


def _dts_value(text: str) -> object:
    """``<0x4000000>`` -> int, ``"text"`` -> str; anything else as written."""
    text = text.strip()
    if text.startswith("<") and text.endswith(">") and len(text.split()) == 1:
        try:
            return int(text[1:-1], 0)
        except ValueError:
            return text
    return text.strip('"')


def _add_partition(tree: Devicetree, edit: OverlayEdit) -> None:
    flash = tree.node(edit.node)
    if flash is None:
        raise SimulationError(f"{edit.node} is not a node of the devicetree")
    layout = _copied(tree.layout) if tree.layout is not None else Layout(LayoutKind.DEVICETREE, tree.file)
    region = next((r for r in layout.regions.values() if r.device == flash.path), None)
    base = 0 if is_nor(flash) or region is None or region.base is None else region.base
    node = edit.partition
    layout.partitions[node.node_label] = Partition(
        name=node.node_label,
        address=base + node.address,
        size=node.size,
        region=region.name if region is not None else f"dt:{flash.label}",
        device=flash.path,
        source=Source(Path(edit.target.file)),
        dt_label=node.node_label,
        dt_path=f"{flash.path}/partitions/partition@{node.address:x}",
    )
    tree.layout = layout
    labels: Dict[str, str] = dict(tree.labels)
    labels[node.node_label] = f"{flash.path}/partitions/partition@{node.address:x}"
    tree.labels = labels
