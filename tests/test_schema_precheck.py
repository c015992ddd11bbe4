"""The fast schema pre-check agrees with pykwalify, the validator of record.

``loaders.schema.fits`` lets a valid file skip pykwalify (whose import alone
costs more than the rest of a check). It may send a valid file on to
pykwalify (that only costs time), but it must never pass a file pykwalify
would fault; on the real files of the corpus and the fixtures the two agree
exactly.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any, Iterator, List, Tuple

import pytest
import yaml

from conftest import BUILDS, CORPUS
from pmdoctor.loaders.schema import fits, load_schema


def pykwalify_accepts(data: Any, schema: str) -> bool:
    from pykwalify.core import Core

    core = Core(source_data=data, schema_data=load_schema(schema))
    core.validate(raise_exception=False)
    return not core.validation_errors


def schema_of(path: Path) -> str:
    if path.name.startswith("regions"):
        return "regions"
    return "pm_static" if "pm_static" in path.name else "partitions"


def real_files() -> Iterator[Path]:
    roots = [BUILDS, BUILDS.parent / "triage", CORPUS]
    for root in roots:
        if root.is_dir():
            for pattern in ("partitions*.yml", "regions*.yml", "*pm_static*.yml", "*pm_static*.yaml"):
                yield from sorted(root.rglob(pattern))


def documents() -> List[Tuple[Path, Any]]:
    found = []
    for path in real_files():
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (yaml.YAMLError, UnicodeDecodeError):
            continue
        if isinstance(data, dict) and data:
            found.append((path, data))
    return found


DOCUMENTS = documents()


def test_the_real_files_are_many() -> None:
    assert len(DOCUMENTS) >= 40  # the fixtures alone; with ../shared, a few hundred


@pytest.mark.parametrize("path,data", DOCUMENTS, ids=[str(p.relative_to(p.parents[2])) for p, _ in DOCUMENTS])
def test_pre_check_and_pykwalify_agree_on_real_files(path: Path, data: Any) -> None:
    schema = schema_of(path)
    assert fits(data, load_schema(schema)) == pykwalify_accepts(data, schema)


def mutations(data: dict, rng: random.Random) -> Iterator[dict]:
    """One small change at a time, of the kinds a hand-edited layout has."""
    values: List[Any] = [None, "0x1000", 0x1000, True, 1.5, [], {}, ["a"], [1], {"x": 1}, "", -1]
    for _ in range(12):
        copy = yaml.safe_load(yaml.safe_dump(data))
        name = rng.choice(list(copy))
        entry = copy[name]
        choice = rng.randrange(5)
        if choice == 0 and isinstance(entry, dict) and entry:
            entry[rng.choice(list(entry))] = rng.choice(values)
        elif choice == 1 and isinstance(entry, dict) and entry:
            del entry[rng.choice(list(entry))]
        elif choice == 2 and isinstance(entry, dict):
            entry[rng.choice(["bogus", "span", "placement", "region", "extra_params", "size"])] = rng.choice(
                values
            )
        elif choice == 3:
            copy[rng.choice([name, "", 12, "x y"])] = rng.choice(values)
        else:
            copy[name] = rng.choice(values)
        yield copy


@pytest.mark.parametrize("path,data", DOCUMENTS[::3], ids=[str(p.name) for p, _ in DOCUMENTS[::3]])
def test_pre_check_never_passes_what_pykwalify_faults(path: Path, data: Any) -> None:
    # Seeded by the name, not the path: a clone elsewhere must try the same mutations.
    rng = random.Random(path.name)
    schema = schema_of(path)
    for mutated in mutations(data, rng):
        if fits(mutated, load_schema(schema)):
            assert pykwalify_accepts(mutated, schema), mutated
