"""Shared test helpers: fixture paths and the optional ../shared corpus."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BUILDS = ROOT / "tests" / "builds"
SHARED = ROOT.parent / "shared"
CORPUS = SHARED / "corpus"

# Tests import the package from the checkout, like west does, so they also
# run before `pip install`.
sys.path.insert(0, str(ROOT / "scripts"))


@pytest.fixture
def builds_dir() -> Path:
    return BUILDS


def corpus_or_skip() -> Path:
    if not (CORPUS / "INDEX.tsv").is_file():
        pytest.skip("../shared/corpus is not present (fresh clone without shared/)")
    return CORPUS
