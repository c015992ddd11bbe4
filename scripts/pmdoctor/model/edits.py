"""Edits: the exact change a fix makes to one file of the user's sources.

A rule that knows the cure yields a :class:`~pmdoctor.model.findings.Fix`
carrying edits. Each edit says which file it goes into and why that file
(:class:`Target`: the era's convention, or the CMake cache entry that names
it), what changes in terms pmdoctor models (a partition's key, a Kconfig
symbol, a chosen property or a partition node), and the exact text a person
would type. Three stages read the same edit:

- the fix checker applies it to a copy of the model and re-runs the rules;
- ``pmdoctor fix`` applies it to the file itself;
- reporters render ``text`` and ``target``, and decide nothing.

Values are plain data (ints, strings, tuples) so edits compare, hash and
pickle, and a fix offered twice is recognised as one.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Tuple, Union

from . import Named


class EditKind(Named):
    STATIC = "static-layout"  # a pm_static*.yml
    KCONFIG = "kconfig"  # a Kconfig fragment: prj.conf, sysbuild.conf, sysbuild/mcuboot.conf …
    OVERLAY = "devicetree-overlay"  # a devicetree overlay: boards/<board>.overlay, sysbuild/mcuboot.overlay …


class Action(Named):
    SET = "set"  # give a key, symbol or property a value (adding it when absent)
    REMOVE = "remove"  # take a key, symbol assignment, property, partition or node away
    ADD = "add"  # add a whole partition (static layout) or partition node (overlay)


@dataclass(frozen=True)
class Target:
    """The file an edit goes into, and why the build reads that file and not another.

    ``convention`` is said to the user: "PM_STATIC_YML_FILE in CMakeCache.txt",
    "sysbuild: sysbuild/mcuboot.conf configures the mcuboot image",
    "mcuboot_OVERLAY_CONFIG in CMakeCache.txt". ``outside_source`` marks a
    file outside the application (an SDK board file): the fix then says so
    and names the project-level file that overrides it.
    """

    file: Path
    convention: str
    exists: bool = True  # False: the edit creates the file
    outside_source: bool = False


def hex_value(value: int) -> str:
    """How Partition Manager's files write addresses and sizes."""
    return f"0x{value:x}"


def _yaml_scalar(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return hex_value(value)
    if isinstance(value, (tuple, list)):
        return "[" + ", ".join(_yaml_scalar(item) for item in value) + "]"
    return str(value)


@dataclass(frozen=True)
class StaticEdit:
    """A change to one partition of a static layout (``pm_static*.yml``).

    - ``SET`` with ``key``: the partition's ``key`` becomes ``value``
      (``address``, ``end_address``, ``size``, ``region``, ``device``,
      ``span``, ``share_size``);
    - ``REMOVE`` with ``key``: the key goes; without ``key``: the partition goes;
    - ``ADD``: a new partition whose keys are ``entries`` (``(key, value)`` pairs,
      in the order they are written).
    """

    target: Target
    action: Action
    partition: str
    key: Optional[str] = None
    value: object = None
    entries: Tuple[Tuple[str, object], ...] = ()
    domain: Optional[str] = None

    kind = EditKind.STATIC

    @property
    def text(self) -> str:
        if self.action is Action.ADD:
            body = "".join(f"\n  {key}: {_yaml_scalar(value)}" for key, value in self.entries)
            return f"{self.partition}:{body}"
        if self.action is Action.REMOVE:
            if self.key is None:
                return f"# remove the partition `{self.partition}` and all its keys"
            return f"{self.partition}:\n  # remove `{self.key}`"
        return f"{self.partition}:\n  {self.key}: {_yaml_scalar(self.value)}"


@dataclass(frozen=True)
class KconfigEdit:
    """A symbol assignment in one Kconfig fragment.

    ``value`` is the right-hand side as written in a fragment (``y``, ``n``,
    ``0x1000``, ``"mx25r64"``). ``SET`` replaces an existing assignment of the
    symbol in place or adds one; ``REMOVE`` deletes the assignment so the
    symbol takes its default. ``image`` is the image whose ``.config`` the
    fragment feeds (``None`` for sysbuild's own ``SB_CONFIG_`` symbols).
    """

    target: Target
    action: Action
    symbol: str
    value: Optional[str] = None
    image: Optional[str] = None

    kind = EditKind.KCONFIG

    @property
    def text(self) -> str:
        if self.action is Action.REMOVE:
            return f"# remove the line setting {self.symbol}"
        return f"{self.symbol}={self.value}"


@dataclass(frozen=True)
class PartitionNode:
    """A ``fixed-partitions`` child, as an overlay adds it under a flash device."""

    node_label: str  # storage_partition: what code opens with FIXED_PARTITION_ID()
    address: int
    size: int
    label: Optional[str] = None  # the optional `label` property ("storage")
    read_only: bool = False

    @property
    def text(self) -> str:
        lines = [f"{self.node_label}: partition@{self.address:x} {{"]
        if self.label:
            lines.append(f'\tlabel = "{self.label}";')
        lines.append(f"\treg = <{hex_value(self.address)} {hex_value(self.size)}>;")
        if self.read_only:
            lines.append("\tread-only;")
        return "\n".join([*lines, "};"])


# Written with every added partition: harmless where the `partitions` node
# exists already, and what makes it a partition table where it does not.
_PARTITIONS_HEADER = (
    'compatible = "fixed-partitions";',
    "#address-cells = <1>;",
    "#size-cells = <1>;",
)


@dataclass(frozen=True)
class OverlayEdit:
    """An addition to a devicetree overlay, appended at the end of the file.

    ``node`` is where it applies: ``/chosen``, a ``&label`` or a path.

    - ``SET`` with ``prop``: ``prop = value;`` in that node (``status`` too);
    - ``REMOVE`` with ``prop``: ``/delete-property/ prop;``; without ``prop``:
      ``/delete-node/`` of the node;
    - ``ADD``: ``partition`` in the ``partitions`` node of the flash device ``node``.
    """

    target: Target
    action: Action
    node: str
    prop: Optional[str] = None
    value: Optional[str] = None
    partition: Optional[PartitionNode] = None
    image: Optional[str] = None

    kind = EditKind.OVERLAY

    @property
    def text(self) -> str:
        if self.action is Action.REMOVE and self.prop is None:
            return f"/delete-node/ {self.node};"
        if self.action is Action.ADD and self.partition is not None:
            body = _wrapped("partitions", "\n".join([*_PARTITIONS_HEADER, self.partition.text]))
        elif self.action is Action.REMOVE:
            body = f"/delete-property/ {self.prop};"
        else:
            body = f"{self.prop} = {self.value};"
        return _wrapped(self.node, body)


def _wrapped(node: str, body: str) -> str:
    """``body`` inside ``node``: ``&label { … };``, blocks nested from ``/`` for a path, or ``name {…};``."""
    names = ["/", *(name for name in node.split("/") if name)] if node.startswith("/") else [node]
    text = body
    for name in reversed(names):
        indented = "\n".join("\t" + line for line in text.splitlines())
        text = f"{name} {{\n{indented}\n}};"
    return text


Edit = Union[StaticEdit, KconfigEdit, OverlayEdit]


def snippet_text(edits: Tuple[Edit, ...]) -> str:
    """The edits' text as one snippet: several keys set on one partition read as one YAML block."""
    lines: list = []
    previous: Optional[StaticEdit] = None
    for edit in edits:
        if (
            isinstance(edit, StaticEdit)
            and edit.action is Action.SET
            and previous is not None
            and previous.partition == edit.partition
        ):
            lines[-1] += f"\n  {edit.key}: {_yaml_scalar(edit.value)}"
        else:
            lines.append(edit.text)
        is_set = isinstance(edit, StaticEdit) and edit.action is Action.SET and edit.key
        previous = edit if is_set else None
    return "\n".join(lines)
