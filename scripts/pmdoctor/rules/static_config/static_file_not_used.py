"""PMD204 static-file-not-used."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Tuple

from ...model import Build, Source
from ...model.findings import Finding, Fix, Severity
from ...model.pm import normalised_board, static_file_names
from .. import rule

_DOMAIN_SUFFIX = re.compile(r"_(CPUNET|cpunet|CPUAPP|cpuapp)$")


def _used_paths(build: Build) -> Dict[Path, str]:
    used = {Path(s.path): s.how_found for s in build.static_files}
    for key, value in build.cmake_cache.items():
        if re.fullmatch(r"(?:\w+_)?PM_STATIC_YML_FILE", key) and value:
            used.setdefault(Path(value), f"{key} in CMakeCache.txt")
    return used


def _why_unused(build: Build, candidate: Path, used: Dict[Path, str]) -> Optional[Tuple[str, str]]:
    """(problem, fix) for a pm_static file Partition Manager does not read, or None."""
    source = Path(build.source_dir)
    relative = candidate.relative_to(source)
    folder = relative.parts[0] if len(relative.parts) > 1 else ""
    names = static_file_names(build.board, build.cmake_cache)
    yml_name = candidate.stem + ".yml"
    target = source / (yml_name if yml_name in names else "pm_static.yml")
    # A file the CMake cache names wins over anything in the application directory: a moved
    # or renamed copy would be ignored just the same.
    named = next((path for path, how in used.items() if "PM_STATIC_YML_FILE" in how), None)
    if folder in ("sysbuild", "child_image") or relative.parent == Path("boards"):
        return (
            f"sits in {relative.parent.as_posix()}/, where Partition Manager does not look for static files "
            "(it reads only the application directory)",
            _merge_into(named) if named else f"move it to {target}",
        )
    if folder:
        return _board_dir_file(build, candidate, relative)
    if candidate.suffix == ".yaml":
        return (
            "has the extension .yaml; Partition Manager looks only for .yml",
            _merge_into(named) if named else f"rename it to {yml_name}",
        )
    if candidate.name in names:
        winner = next(iter(used), None)
        how = used.get(winner, "") if winner is not None else ""
        return (
            f"is shadowed by {winner.name if winner else 'another file'}"
            + (f" ({how})" if how else "")
            + ", which comes first in Partition Manager's search order; edits to it have no effect",
            f"merge your changes into {winner.name if winner else 'the file in use'} and delete this one",
        )
    return _misnamed(build, candidate, names)


def _merge_into(named: Path) -> str:
    return (
        f"merge your changes into {named}, which PM_STATIC_YML_FILE names and which wins over the "
        "application directory, and delete this one"
    )


def _misnamed(build: Build, candidate: Path, names: List[str]) -> Optional[Tuple[str, str]]:
    """`pm_static_nrf52840dk.yml` for board nrf52840dk/nrf52840: close, but never read."""
    board = normalised_board(build.board)
    stem = _DOMAIN_SUFFIX.sub("", candidate.stem)
    if not board or not stem.startswith("pm_static_") or stem != candidate.stem:
        return None
    named = stem[len("pm_static_") :]
    if named == board or not (board.startswith(named) or named.startswith(board)):
        return None
    return (
        f"is named for board '{named}', but this build's board is '{board}'; Partition Manager looks "
        f"for {', '.join(names)}",
        f"rename it to pm_static_{board}.yml if it is meant for this board",
    )


def _board_dir_file(build: Build, candidate: Path, relative: Path) -> Optional[Tuple[str, str]]:
    board = normalised_board(build.board) or ""
    if relative.parts[0] != "boards" or not board or board not in candidate.stem:
        return None
    return (
        f"is in the board directory {relative.parent.as_posix()}/ but the build did not use it; a board's "
        "static file is read only when the board sets PM_STATIC_YML_FILE (in its sysbuild.cmake)",
        "set PM_STATIC_YML_FILE in the board's sysbuild.cmake, or copy the file to the application directory",
    )


@rule("PMD204", "static-file-not-used", Severity.WARNING, rank=45)
def static_file_not_used(build: Build) -> Iterator[Finding]:
    """
    ## What it does
    Lists the `pm_static*` files of the source tree that Partition Manager does
    not read: shadowed by a file earlier in the search order
    (`pm_static_<board>_<revision>_<suffix>.yml` … `pm_static_<board>.yml` …
    `pm_static.yml`, or a board's `PM_STATIC_YML_FILE`), placed in
    `sysbuild/`, `child_image/` or `boards/`, named `.yaml`, or named for a
    slightly different board.

    ## Why it matters
    You edit a file and nothing changes, or the layout you tested is not the
    one that ships. The file that wins is often a board-specific one you forgot,
    or one the board itself provides.

    ## Example
    `sysbuild/mcuboot/pm_static.yml`: sysbuild reads static files only from
    the application directory, so MCUboot and the app use a dynamic layout.

    ## How to fix
    Keep exactly one static file per build target in the application
    directory, named as the search order expects; merge edits into the file
    that is actually used (the header of `west pmdoctor` shows it).

    Advice, not an edit: the cure moves, renames or merges whole files, which
    is not a change to keys of one file; and whether the unused file or the
    one in use holds the layout you mean to ship is the project's call. When
    the CMake cache names the static file (`PM_STATIC_YML_FILE`), the fix
    sends the changes there, since a moved or renamed copy would be ignored
    too.
    """
    if not build.partition_manager or build.source_dir is None or not build.static_candidates:
        return
    used = _used_paths(build)
    for candidate in build.static_candidates:
        if candidate in used:
            continue
        try:
            why = _why_unused(build, candidate, used)
        except ValueError:  # not below the source directory
            continue
        if why is None:
            continue
        problem, fix = why
        yield Finding(
            message=f"{candidate.relative_to(build.source_dir).as_posix()} {problem}",
            location=Source(candidate),
            evidence=[f"in use: {path} ({how})" for path, how in used.items()] or ["no static file in use"],
            fixes=[Fix(fix, candidate)],
            subject=("unused-static", candidate.name),
        )
