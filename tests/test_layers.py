"""The package is a pipeline that runs one way: no module imports one further up, and no cycles.

Layers, bottom to top (ARCHITECTURE.md draws them):

    model < loaders < inputs < assemble < rules < rank < analysis < fixes < report < commands < entry

Rule families do not import each other; what several share lives in
``rules/_shared``. Imports inside functions count too (a lazy import is still
a dependency); imports under ``if TYPE_CHECKING:`` do not.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Set, Tuple

from conftest import ROOT

PACKAGE = ROOT / "scripts" / "pmdoctor"

LAYERS: List[Tuple[str, Tuple[str, ...]]] = [
    ("model", ("pmdoctor.model",)),
    ("loaders", ("pmdoctor.loaders",)),
    ("inputs", ("pmdoctor.inputs",)),
    ("assemble", ("pmdoctor.assemble", "pmdoctor.baseline")),
    ("rules", ("pmdoctor.rules",)),
    ("rank", ("pmdoctor.rank",)),
    ("analysis", ("pmdoctor.analysis",)),
    ("fixes", ("pmdoctor.fixes",)),
    ("report", ("pmdoctor.report",)),
    ("commands", ("pmdoctor.commands",)),
    (
        "entry",
        (
            "pmdoctor.cli",
            "pmdoctor.api",
            "pmdoctor.west_command",
            "pmdoctor.west_extension",
            "pmdoctor.__main__",
        ),
    ),
]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> Dict[str, Path]:
    return {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def layer_of(module: str) -> Optional[int]:
    best: Optional[Tuple[int, int]] = None
    for index, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            inside = module == prefix or module.startswith(prefix + ".")
            if inside and (best is None or len(prefix) > best[1]):
                best = (index, len(prefix))
    return best[0] if best else None


def _type_checking_nodes(tree: ast.AST) -> Set[int]:
    skipped: Set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in ast.walk(node):
                skipped.add(id(child))
    return skipped


def imports(module: str, path: Path, known: Dict[str, Path]) -> Iterator[Tuple[str, int]]:
    """(imported pmdoctor module, line) for every import in a module, resolved to a known module."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skipped = _type_checking_nodes(tree)
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            candidates = [f"{target}.{alias.name}" for alias in node.names] + [target]
        elif isinstance(node, ast.Import):
            candidates = [alias.name for alias in node.names]
        else:
            continue
        for candidate in candidates:
            if candidate in known:
                yield candidate, node.lineno
                break


def test_every_module_has_a_layer() -> None:
    unplaced = [name for name in modules() if name != "pmdoctor" and layer_of(name) is None]
    assert unplaced == [], "give these modules a layer in tests/test_layers.py and ARCHITECTURE.md"


def test_no_module_imports_one_further_up() -> None:
    known = modules()
    upward = []
    for name, path in known.items():
        mine = layer_of(name)
        for target, line in imports(name, path, known):
            theirs = layer_of(target)
            if mine is not None and theirs is not None and theirs > mine:
                where = f"{path.relative_to(ROOT)}:{line}"
                upward.append(f"{where} {LAYERS[mine][0]} imports {LAYERS[theirs][0]} ({target})")
    assert upward == []


def _family(module: str) -> Optional[str]:
    parts = module.split(".")
    if len(parts) >= 3 and parts[:2] == ["pmdoctor", "rules"] and parts[2] != "_shared":
        return parts[2]
    return None


def test_rule_families_do_not_import_each_other() -> None:
    known = modules()
    crossing = []
    for name, path in known.items():
        mine = _family(name)
        for target, line in imports(name, path, known):
            theirs = _family(target)
            if mine and theirs and mine != theirs:
                crossing.append(f"{path.relative_to(ROOT)}:{line} {mine} imports {theirs}")
    assert crossing == []


def test_no_import_cycles() -> None:
    known = modules()
    graph = {
        name: {target for target, _ in imports(name, path, known)} - {name} for name, path in known.items()
    }
    cycles: List[List[str]] = []
    state: Dict[str, int] = {}

    def visit(node: str, stack: List[str]) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1 and not _package_face(node, nxt):
                cycles.append([*stack[stack.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt, stack)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [])
    assert cycles == []


def _package_face(importer: str, imported: str) -> bool:
    """A package's __init__ importing its own submodules is how it shows its face, not a cycle."""
    return importer.startswith(imported + ".")
