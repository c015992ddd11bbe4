"""What the header says about inputs that are missing or broken (issue 12, input handling)."""

from __future__ import annotations

import shutil
from pathlib import Path

from conftest import BUILDS
from pmdoctor.api import load_build

CHILD_IMAGE = BUILDS / "foundation" / "child_image_nrf52840"  # records /home/user/ncs/apps/blinky


def copy_build(target: Path) -> Path:
    shutil.copytree(CHILD_IMAGE, target)
    return target


def test_recorded_source_that_is_not_here_is_said(tmp_path: Path) -> None:
    build = load_build(copy_build(tmp_path / "build"))
    assert not build.source_available
    notes = [str(note) for note in build.notes if "/home/user/ncs/apps/blinky" in str(note)]
    assert notes and "is not on this machine" in notes[0], build.notes
    assert "checks of your static layout" in notes[0]


def test_a_folder_with_only_a_static_file_beside_the_build_is_the_source(tmp_path: Path) -> None:
    app = tmp_path / "blinky"
    build_dir = copy_build(app / "build")
    shutil.copy(build_dir / "partitions.yml", app / "pm_static.yml")
    build = load_build(build_dir)
    assert build.source_available and build.source_dir == app
    assert [s.path for s in build.static_files] == [app / "pm_static.yml"]
    assert not any("is not on this machine and no application folder" in str(n) for n in build.notes)


def test_partitions_yml_that_does_not_parse_is_not_called_missing(tmp_path: Path) -> None:
    build_dir = copy_build(tmp_path / "build")
    (build_dir / "partitions.yml").write_text("app:\n  address: [0x0\n  size: 0x1000\n")
    build = load_build(build_dir)
    notes = [str(note) for note in build.notes]
    assert any("partitions.yml is there but could not be read" in note for note in notes), notes
    assert not any("probably failed" in note for note in notes)
    assert any(p.source.file == build_dir / "partitions.yml" for p in build.problems)


def test_partitions_yml_never_written_is_still_a_failed_step(tmp_path: Path) -> None:
    build_dir = copy_build(tmp_path / "build")
    (build_dir / "partitions.yml").unlink()
    notes = [str(note) for note in load_build(build_dir).notes]
    assert any("wrote no partitions.yml: its step probably failed" in note for note in notes), notes


def test_windows_source_path_from_another_machine_is_said(tmp_path: Path) -> None:
    """FinnWBiggs: the cache records C:/Users/…; on this machine it is no folder at all."""
    build_dir = copy_build(tmp_path / "build")
    cache = build_dir / "CMakeCache.txt"
    windows = "C:/Users/finnb/Documents/auli/MCUBoot_ExFat"
    cache.write_text(cache.read_text().replace("/home/user/ncs/apps/blinky", windows))
    notes = [str(note) for note in load_build(build_dir).notes]
    assert any(f"application source {windows} is not on this machine" in note for note in notes), notes
