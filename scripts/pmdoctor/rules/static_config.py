"""The static configuration: which pm_static file is used, where it came from, whether it is current."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Tuple

from ..model import Build, Era, Image, Layout, Partition, Source, StaticFile
from ..model import soc as socs
from ..model.findings import Finding, Fix, Severity
from ..model.pm import normalised_board, static_file_names
from . import rule
from ._shared import targets as fixes
from ._shared.common import UserSettings, mcuboot_image, static_layout_for
from ._shared.layouts import hx

# ------------------------------------------------------------------ helpers


def static_in_use(build: Build) -> bool:
    """A static file is used: loaded, or named by *PM_STATIC_YML_FILE (board files included)."""
    if build.static_files:
        return True
    return any(
        re.fullmatch(r"(?:\w+_)?PM_STATIC_YML_FILE", key) and value
        for key, value in build.cmake_cache.items()
    )


def _regenerate_fix(build: Build, path: Optional[Path]) -> Fix:
    name = path.name if path is not None else "pm_static.yml"
    return Fix(
        "or regenerate it: build once without the static file, review build/partitions.yml and "
        "copy it over the static file",
        path,
        f"mv {name} {name}.orig\nwest build -p\ncp build/partitions.yml {name}",
    )


# ------------------------------------------------------------------ PMD201


@dataclass(frozen=True)
class _Foreign:
    part: Partition
    reason: str
    severity: Severity


_NRF53_ONLY = {
    "pcd_sram": "the nRF5340 app-to-network-core DFU command area",
    "rpmsg_nrf53_sram": "the nRF5340 app/network-core IPC shared memory",
    "b0n": "the nRF5340 network-core bootloader",
    "b0n_container": "the nRF5340 network-core bootloader",
}
_TFM_NAMES = re.compile(r"^tfm\w*$")
# SPM (NCS < 1.6) lays out the same secure/non-secure RAM split as TF-M.
_SECURE_SPLIT = re.compile(r"^(sram_secure|sram_nonsecure|nonsecure_storage)$")
_NETCORE_SLOT = re.compile(r"^mcuboot_(primary|secondary)_1$")
# Where each known flash end comes from, to say which SoC a layout was sized for.
_FLASH_ENDS = {
    0x17D000: "nRF54L15",
    0x165000: "nRF54L15 (DK RRAM split)",
    0xFF800: "nRF54L10",
    0x7D000: "nRF54L05",
    0x100000: "nRF52840/nRF5340/nRF91",
    0x80000: "nRF52832/nRF52833",
    0x40000: "nRF52820 or the nRF5340 network core",
    0x30000: "nRF52805/nRF52810/nRF52811",
}


def _mcuboot_images(build: Build) -> int:
    mcuboot = mcuboot_image(build)
    value = mcuboot.config.int("CONFIG_UPDATEABLE_IMAGE_NUMBER") if mcuboot else None
    return value or 1


def _soc_name(build: Build) -> str:
    return build.soc.replace("nrf", "nRF") if build.soc else "this SoC"


def _family_signs(build: Build, part: Partition, series: str) -> Optional[_Foreign]:
    """Entries that only exist on another SoC family."""
    name, region = part.name, part.region
    if series != "nrf53":
        if region == "ram_flash" or name == "ram_flash":
            return _Foreign(
                part,
                "region ram_flash (the RAM flash simulator of nRF5340 network-core update) exists only "
                "on an nRF5340",
                Severity.ERROR,
            )
        if name in _NRF53_ONLY:
            return _Foreign(part, f"{_NRF53_ONLY[name]} exists only on an nRF5340", Severity.ERROR)
        if _NETCORE_SLOT.match(name) and _mcuboot_images(build) < 2:
            return _Foreign(
                part,
                "the nRF5340 network-core update slot; MCUboot here updates one image",
                Severity.ERROR,
            )
    if (region == "otp" or name == "otp") and series == "nrf52":
        return _Foreign(part, "region otp exists on nRF91/nRF5340/nRF54L, not on an nRF52", Severity.ERROR)
    if (region == "bootconf" or name == "bootconf") and series != "nrf54l":
        return _Foreign(part, "region bootconf exists only on the nRF54L", Severity.ERROR)
    if name.startswith("nrf_modem_lib") and series != "nrf91":
        return _Foreign(part, "the nRF91 modem library's shared RAM", Severity.WARNING)
    return None


def _feature_signs(build: Build, part: Partition, series: str) -> Optional[_Foreign]:
    """TF-M partitions in a build without TF-M; a pad of another family."""
    app = build.app
    if _SECURE_SPLIT.match(part.name) and series == "nrf52":
        return _Foreign(part, "a secure/non-secure split; the nRF52 has no TrustZone", Severity.ERROR)
    if _TFM_NAMES.match(part.name):
        if series == "nrf52":
            return _Foreign(part, "a TF-M partition; the nRF52 has no TrustZone", Severity.ERROR)
        if app is not None and app.config and not app.config.enabled("CONFIG_BUILD_WITH_TFM"):
            return _Foreign(
                part, "a TF-M partition from a `/ns` build; this build has no TF-M", Severity.WARNING
            )
    if part.name == "mcuboot_pad" and part.size is not None:
        if part.size == 0x800 and series != "nrf54l":
            return _Foreign(part, "0x800 is the nRF54L MCUboot pad (0x200 elsewhere)", Severity.WARNING)
        if part.size == 0x200 and series == "nrf54l":
            return _Foreign(part, "0x200 is the nRF52/53/91 MCUboot pad; nRF54L uses 0x800", Severity.WARNING)
    return None


def _known_devices(image: Optional[Image]) -> Optional[set]:
    if image is None or not image.devicetree:
        return None
    names = set()
    for node in image.devicetree.nodes.values():
        names.update(label.lower() for label in node.labels)
        names.add(node.name.split("@", 1)[0].lower())
        label = node.props.get("label")
        if isinstance(label, str):
            names.add(label.lower())
    return names


def _device_sign(build: Build, part: Partition, devices: Optional[set]) -> Optional[_Foreign]:
    device = (part.device or "").strip()
    # Only external chips differ between boards; internal device names are PM's own.
    if part.region != "external_flash" or not device or devices is None:
        return None
    if device.startswith("DT_") or device.lower() in devices:
        return None
    if build.era is Era.SYSBUILD:
        return _Foreign(
            part,
            f"device: {device} names no node of this devicetree (informational in sysbuild builds, "
            "but it shows the file was written for a board with that chip)",
            Severity.NOTE,
        )
    return _Foreign(part, f"device: {device} names no node of this devicetree", Severity.WARNING)


def _size_sign(build: Build, layout: Layout) -> Optional[_Foreign]:
    """The layout reaches past this SoC's flash: it was sized for a bigger one."""
    region = layout.regions.get("flash_primary")
    facts = socs.facts(build.soc)
    flash_end = region.end if region is not None and region.end else (facts.flash_size if facts else None)
    if flash_end is None:
        return None
    parts = [p for p in layout.partitions.values() if p.region == "flash_primary" and p.has_extent]
    last = max(parts, key=lambda p: p.end, default=None)
    if last is None or last.end <= flash_end:
        return None
    sized_for = _FLASH_ENDS.get(last.end)
    if sized_for is None:
        return None  # past the end, but not another SoC's size: PMD102 reports it
    return _Foreign(
        last,
        f"ends at {hx(last.end)}, the flash size of the {sized_for}, beyond this "
        f"{_soc_name(build)}'s {hx(flash_end)}",
        Severity.ERROR,
    )


def _foreign_entries(build: Build, layout: Layout, skip: set) -> List[_Foreign]:
    series = socs.series(build.soc)
    if series is None or layout.domain is not None:
        return []
    devices = _known_devices(build.app)
    found: List[_Foreign] = []
    for part in layout.partitions.values():
        if part.name in skip:
            continue
        sign = (
            _family_signs(build, part, series)
            or _feature_signs(build, part, series)
            or _device_sign(build, part, devices)
        )
        if sign is not None:
            found.append(sign)
    size = _size_sign(build, layout)
    if size is not None and size.part.name not in skip:
        found.append(size)
    return sorted(found, key=lambda f: f.part.source.line or 0)


def _worst(entries: List[_Foreign]) -> Severity:
    return max((e.severity for e in entries), key=lambda s: s.weight)


@rule("PMD201", "foreign-static-layout", Severity.ERROR, rank=75)
def foreign_static_layout(build: Build) -> Iterator[Finding]:
    """
    ## What it does
    Looks for signs that the static layout was written for another SoC, board or
    feature set: `ram_flash`, `mcuboot_primary_1`/`mcuboot_secondary_1`,
    `pcd_sram` or `b0n` off the nRF5340; an `otp` region on an nRF52; `bootconf`
    off the nRF54L; TF-M partitions in a build without TF-M; `nrf_modem_lib_*`
    off the nRF91; partitions past the end of this SoC's flash; the MCUboot pad
    of another family; `device:` names that no node of this devicetree has.
    When the static file is not on this machine, the generated
    `partitions.yml` is checked instead (PM copies static entries verbatim).

    ## Why it matters
    A static layout encodes decisions of the product it was made for. Copied
    to another SoC it reserves flash and RAM for hardware that does not exist,
    keeps slots where MCUboot of this build will never look, or does not fit
    the flash at all. Builds may even succeed and fail only at DFU time.

    ## Example
    A Thingy:53 `pm_static.yml` used on an nRF52840: `mcuboot_primary_1` in
    `region: ram_flash`, `mcuboot_secondary_1`, `pcd_sram` and
    `device: MX25R64` belong to the nRF5340 network-core update of that board.

    ## How to fix
    Delete the foreign entries, or better regenerate the file: build once
    without the static file, review `build/partitions.yml` and copy it over
    `pm_static.yml`. On products already in the field keep the bootloader and
    slot addresses unchanged.
    """
    for static in build.static_files:
        if static.layout is not None:
            yield from _foreign_finding(build, static.layout, static, set())
    for layout in build.layouts:
        twin = static_layout_for(build, layout.domain)
        skip = set(twin.partitions) if twin is not None else set()
        yield from _foreign_finding(build, layout, None, skip)


def _foreign_finding(
    build: Build, layout: Layout, static: Optional[StaticFile], skip: set
) -> Iterator[Finding]:
    entries = _foreign_entries(build, layout, skip)
    if not entries:
        return
    first = entries[0]
    also = ", ".join(f"{e.part.name} :{e.part.source.line}" for e in entries[1:])
    if static is not None:
        what = f"{static.path.name} was made for another SoC or feature set"
    else:  # Partition Manager generates such entries only from a static file
        name = layout.file.name if layout.file else "the layout"
        what = f"the static layout behind {name} was made for another SoC or feature set"
    message = (
        f"{what}: `{first.part.name}`: {first.reason}; this build is an {_soc_name(build)} "
        f"({build.board or 'board unknown'})" + (f" (also {also})" if also else "")
    )
    names = ", ".join(e.part.name for e in entries)
    fixes = [Fix(f"remove {names} from the static file", static.path if static else None)]
    fixes.append(_regenerate_fix(build, static.path if static else None))
    yield Finding(
        message=message,
        location=first.part.source,
        domain=layout.domain,
        evidence=[f"line {e.part.source.line}: {e.part.name} — {e.reason}" for e in entries],
        fixes=fixes,
        severity=_worst(entries),
        subject=(layout.kind.value, *(e.part.name for e in entries)),
    )


# ------------------------------------------------------------------ PMD202

_SIZE_PREFIX = "CONFIG_PM_PARTITION_SIZE_"
# Size symbols whose partition is not simply the lower-cased suffix.
_SIZE_ALIASES = {"LITTLEFS": "littlefs_storage", "B0_IMAGE": "b0", "B0N_IMAGE": "b0n"}


def _ignored_sizes(build: Build) -> Iterator[Finding]:
    for image in build.images:
        layout = build.layout_for_domain(image.domain)
        if layout is None:
            continue
        static = static_layout_for(build, image.domain)
        users = UserSettings(build, image)
        for symbol, setting in image.config.settings.items():
            if not symbol.startswith(_SIZE_PREFIX) or not isinstance(setting.value, int):
                continue
            suffix = symbol[len(_SIZE_PREFIX) :]
            part = layout.get(_SIZE_ALIASES.get(suffix, suffix.lower()))
            user = users.get(symbol)
            if part is None or part.size is None or part.size == setting.value or user is None:
                continue
            if static is not None and part.name not in static.partitions:
                continue  # not static: the difference has another cause
            where = static.get(part.name).source if static is not None else part.source
            yield Finding(
                message=(
                    f"{symbol}={hx(setting.value)} in image '{image.name}' is ignored: the static "
                    f"layout gives `{part.name}` {hx(part.size)}, and static partitions win over Kconfig"
                ),
                location=user.source,
                image=image.name,
                domain=image.domain,
                evidence=[
                    f"{user.source}: {symbol}={hx(setting.value)}",
                    f"{where}: {part.name} size {hx(part.size)}",
                ],
                fixes=[
                    Fix(
                        f"change `{part.name}` in the static file (it is the source of truth), move its "
                        "neighbours to match, then build pristine (`west build -p`); or drop the "
                        f"{symbol} line so the two do not disagree",
                        where.file,
                    )
                ],
                subject=("kconfig-size", image.name, symbol),
            )


def _stale_differences(static: Layout, generated: Layout) -> List[str]:
    differences = []
    for name, mine in static.partitions.items():
        if name == "app":  # Partition Manager ignores a static app entry
            continue
        built = generated.get(name)
        if built is None:
            differences.append(f"{name} (line {mine.source.line}) is not in {generated.file.name}")
        elif (mine.address, mine.size) != (built.address, built.size):
            differences.append(
                f"{name} (line {mine.source.line}): {hx(mine.address)}+{hx(mine.size)} in the static "
                f"file, {hx(built.address)}+{hx(built.size)} in {generated.file.name}"
            )
    return differences


def _stale_static(build: Build) -> Iterator[Finding]:
    for static in build.static_files:
        generated = build.layout_for_domain(static.domain)
        if static.layout is None or generated is None or generated.file is None:
            continue
        differences = _stale_differences(static.layout, generated)
        if not differences:
            continue
        newer = (
            static.layout.mtime is not None
            and generated.mtime is not None
            and static.layout.mtime > generated.mtime
        )
        when = "was edited after this build" if newer else "does not match this build"
        evidence = differences[:6]
        if newer:
            evidence.append(f"{static.path.name} is newer than {generated.file.name}")
        yield Finding(
            message=(
                f"{static.path.name} {when}: {len(differences)} partition(s) differ from "
                f"{generated.file.name}, so the firmware was linked for another layout"
            ),
            location=Source(static.path),
            domain=static.domain,
            evidence=evidence,
            fixes=[Fix("rebuild pristine so every image is configured from the static file: west build -p")],
            subject=("stale-static", str(static.path)),
        )


@rule("PMD202", "static-overrides-kconfig", Severity.WARNING, rank=45, explains=("pm-static-changed",))
def static_overrides_kconfig(build: Build) -> Iterator[Finding]:
    """
    ## What it does
    Reports a `CONFIG_PM_PARTITION_SIZE_<NAME>` you set (in `prj.conf`, an
    image's conf fragment or with `-D`) that differs from the size the static
    layout gives the partition (`_MCUBOOT`, `_SETTINGS_STORAGE`,
    `_NVS_STORAGE`, `_LITTLEFS`, `_TFM`, `_MCUBOOT_PAD` …), and a static file
    whose partitions differ from the `partitions.yml` of the build (the file
    changed after the build was configured).

    ## Why it matters
    Static partitions win: Partition Manager logs "Partition 'X' is not
    included in the dynamic resolving since it is statically defined" and
    silently ignores the Kconfig size, so a bigger MCUboot still overflows. A
    static file edited after configuring is not applied until a pristine build
    (sysbuild warns "Static partition manager file has changed").

    ## Example
    `CONFIG_PM_PARTITION_SIZE_MCUBOOT=0x10000` in `child_image/mcuboot.conf`
    while `pm_static.yml` keeps `mcuboot: {address: 0x0, size: 0xc000}`.

    ## How to fix
    Change the size in the static file (the source of truth) and move the
    neighbours to match, then `west build -p`. Keep bootloader and slot
    addresses unchanged on products already in the field.
    """
    if build.era is Era.DEVICETREE:
        return
    yield from _ignored_sizes(build)
    yield from _stale_static(build)


# ------------------------------------------------------------------ PMD203


def _bootloaders(build: Build) -> List[Tuple[str, Source]]:
    sb = build.sysbuild_config
    found = [
        (s, sb.where(s))
        for s in ("SB_CONFIG_BOOTLOADER_MCUBOOT", "SB_CONFIG_SECURE_BOOT_APPCORE")
        if sb.enabled(s)
    ]
    app = build.app
    if app is not None and not build.sysbuild:
        for symbol in ("CONFIG_BOOTLOADER_MCUBOOT", "CONFIG_SECURE_BOOT"):
            if app.config.enabled(symbol):
                found.append((symbol, app.config.where(symbol)))
    return found


@rule("PMD203", "no-static-layout-for-dfu", Severity.WARNING, rank=30)
def no_static_layout_for_dfu(build: Build) -> Iterator[Finding]:
    """
    ## What it does
    Warns when a bootloader is built (MCUboot or the nRF Secure Immutable
    Bootloader) with Partition Manager but no static layout is used: no
    `pm_static*.yml` in the application directory and no `PM_STATIC_YML_FILE`
    (boards such as the Thingy:91 X provide one that way, which counts). It
    only runs when the application sources are on this machine.

    ## Why it matters
    A dynamic layout moves whenever an image size, a Kconfig option or the NCS
    version changes (NCS itself changed TF-M and Matter defaults between
    releases). Devices in the field keep the old bootloader and the old slot
    and settings addresses, so the next update does not boot or loses data.
    The build itself warns "Using a bootloader without pm_static.yml".

    ## Example
    `SB_CONFIG_BOOTLOADER_MCUBOOT=y`, no `pm_static.yml`: upgrading NCS grows
    MCUboot by 4 KB and every slot moves.

    ## How to fix
    Freeze the layout you ship: copy `build/partitions.yml` to
    `pm_static.yml` in the application directory (and
    `build/partitions_CPUNET.yml` to `pm_static_<board>_CPUNET.yml` on the
    nRF5340 when the network core is updated).
    """
    if not build.partition_manager or static_in_use(build):
        return
    source = build.source_dir
    if not build.source_available:
        return  # the static file may be there; we cannot tell
    bootloaders = _bootloaders(build)
    if not bootloaders:
        return
    symbol, where = bootloaders[0]
    generated = build.layout_for_domain(None)
    target = fixes.static_file(build)
    yield Finding(
        message=(
            f"{symbol} is set but the layout is dynamic (no pm_static*.yml in {source}): the next NCS "
            "or Kconfig change can move the bootloader, slots and settings and break field updates"
        ),
        location=where,
        evidence=[f"{s} ({w})" for s, w in bootloaders]
        + [f"looked for: {', '.join(static_file_names(build.board, build.cmake_cache))}"],
        fixes=[
            Fix(
                "freeze the current layout as the static configuration",
                target,
                f"cp {generated.file if generated and generated.file else 'build/partitions.yml'} {target}",
            )
        ],
        subject=("no-static",),
    )


# ------------------------------------------------------------------ PMD204

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
    if folder in ("sysbuild", "child_image") or relative.parent == Path("boards"):
        return (
            f"sits in {relative.parent.as_posix()}/, where Partition Manager does not look for static files "
            "(it reads only the application directory)",
            f"move it to {target}",
        )
    if folder:
        return _board_dir_file(build, candidate, relative)
    if candidate.suffix == ".yaml":
        return ("has the extension .yaml; Partition Manager looks only for .yml", f"rename it to {yml_name}")
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
