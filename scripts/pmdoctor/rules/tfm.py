"""TrustZone (TF-M / SPM) layouts: secure/non-secure borders and the nRF91 modem's shared RAM."""

from __future__ import annotations

from typing import Iterator, List, Optional, Tuple

from ..model import Build, Era, Image, Kconfig, Layout, LayoutKind, Partition, Source
from ..model import soc as socs
from ..model.findings import Finding, Fix, Severity, Text
from . import rule
from ._shared.common import static_layout_for
from ._shared.edit_helpers import advice, kconfig_fix
from ._shared.layouts import (
    Checked,
    app_core_layouts,
    edit_path,
    find_partition,
    hexrange,
    static_twin,
    where_to_edit,
)
from ._shared.protection import said

# TF-M's secure partitions; everything else in flash_primary is non-secure or unused.
_SECURE_PREFIXES = ("tfm", "mcuboot", "b0", "s0", "s1", "provision", "spm", "boot_partition", "slot0_s_")


def _app_layouts(build: Build) -> Iterator[Checked]:
    """The app core's layouts: Partition Manager's (generated and static), or the app's devicetree."""
    if build.era is Era.DEVICETREE:
        app = build.app
        if app is not None and app.devicetree.layout is not None:
            yield Checked(app.devicetree.layout, (app.name,))
        return
    yield from app_core_layouts(build)


def _region_size(build: Build, config: Kconfig, kind: str) -> Tuple[Optional[int], str]:
    """The TrustZone flash or RAM region size: the app's .config first, the SoC table second."""
    for name in (f"CONFIG_NRF_TRUSTZONE_{kind}_REGION_SIZE", f"CONFIG_NRF_SPU_{kind}_REGION_SIZE"):
        value = config.int(name)
        if value:
            return value, said(config, name, "the app")
    facts = socs.facts(build.soc)
    value = None
    if facts is not None:
        value = facts.trustzone_flash if kind == "FLASH" else facts.trustzone_ram
    return value, f"the {build.soc} TrustZone {kind.lower()} region size" if value else ""


def _enforced(config: Kconfig) -> bool:
    """NCS releases that check the borders at build time carry these symbols."""
    return (
        "CONFIG_NRF_TRUSTZONE_FLASH_REGION_SIZE" in config
        or "CONFIG_NRF_SPU_FLASH_REGION_ALIGNMENT" in config
    )


def _is_unused(layout: Layout, part: Partition) -> bool:
    return part.name.startswith("EMPTY_") or part.name in layout.regions or part.name == "external_flash"


def _neighbour_used(
    layout: Layout, address: int, before: bool, exclude: set, region: str = "flash_primary"
) -> Optional[Partition]:
    """A used, non-secure leaf partition that ends (before=True) or starts at an address."""
    for part in layout.partitions.values():
        if not part.has_extent or part.region != region or part.is_container:
            continue
        if part.name in exclude or _is_unused(layout, part) or part.name.startswith(_SECURE_PREFIXES):
            continue
        if (part.end if before else part.address) == address:
            return part
    return None


def _flash_borders(layout: Layout) -> List[Tuple[Partition, int, str]]:
    """(partition, address, words) for every secure/non-secure border of the flash layout."""
    borders = []
    nonsecure = find_partition(layout, "tfm_nonsecure")
    if nonsecure is not None and nonsecure.address is not None:
        borders.append((nonsecure, nonsecure.address, "the non-secure image starts"))
    if layout.kind is LayoutKind.DEVICETREE:
        return borders + _devicetree_storage_borders(layout)
    storage = layout.get("tfm_storage")
    if storage is not None and storage.has_extent:
        inside = layout.descendants(storage) | {storage.name}
        if _neighbour_used(layout, storage.address, True, inside) is not None:
            borders.append((storage, storage.address, "TF-M's secure storage starts"))
        if _neighbour_used(layout, storage.end, False, inside) is not None:
            borders.append((storage, storage.end, "TF-M's secure storage ends"))
    return borders


def _devicetree_storage_borders(layout: Layout) -> List[Tuple[Partition, int, str]]:
    """TF-M's storage partitions (tfm_ps/its/otp_partition) where a non-secure partition touches them."""
    borders = []
    storage = [find_partition(layout, name) for name in ("tfm_ps", "tfm_its", "tfm_otp_nv_counters")]
    present = [part for part in storage if part is not None and part.has_extent]
    names = {part.name for part in present}
    for part in present:
        if _neighbour_used(layout, part.address, True, names, part.region) is not None:
            borders.append((part, part.address, "TF-M's secure storage starts"))
        if _neighbour_used(layout, part.end, False, names, part.region) is not None:
            borders.append((part, part.end, "TF-M's secure storage ends"))
    return borders


def _tfm_size_fix(build: Build, layout: Layout, region: int) -> Optional[Fix]:
    """CONFIG_PM_PARTITION_SIZE_TFM that puts the non-secure start on a region boundary."""
    secure, nonsecure, tfm = layout.get("tfm_secure"), layout.get("tfm_nonsecure"), layout.get("tfm")
    if secure is None or nonsecure is None or tfm is None or None in (secure.address, nonsecure.address):
        return None
    pad = nonsecure.address - secure.address - (tfm.size or 0)
    aligned = -(-(nonsecure.address - secure.address) // region) * region
    words = f"size TF-M so that it plus the 0x{pad:x}-byte header ends on a 0x{region:x} boundary"
    if layout.kind is LayoutKind.STATIC or static_layout_for(build, layout.domain) is not None:
        # The static file pins `tfm`; Partition Manager ignores the Kconfig size then.
        return advice(
            f"{words} (CONFIG_PM_PARTITION_SIZE_TFM=0x{aligned - pad:x})",
            "the static file fixes `tfm`, so the Kconfig size has no effect: move the border there",
        )
    return kconfig_fix(
        build,
        build.app,
        [("CONFIG_PM_PARTITION_SIZE_TFM", f"0x{aligned - pad:x}")],
        f"{words} — add to app's configuration",
    )


# ------------------------------------------------------------------ PMD503


@rule("PMD503", "tfm-alignment", Severity.ERROR, rank=70, explains=("tfm-alignment",))
def tfm_alignment(build: Build) -> Iterator[Finding]:
    """
    ## What it does
    Checks every border between TF-M's secure partitions and non-secure
    ones: the start of `tfm_nonsecure` (the end of `mcuboot_pad` + `tfm`),
    the edges of `tfm_storage` where non-secure partitions touch it, and the
    start of `sram_nonsecure`. Flash borders must sit on
    `CONFIG_NRF_TRUSTZONE_FLASH_REGION_SIZE` (32 KB nRF91, 16 KB nRF5340,
    4 KB nRF54L), RAM borders on `CONFIG_NRF_TRUSTZONE_RAM_REGION_SIZE`
    (8 KB, 8 KB, 4 KB). Devicetree-era builds: the start of
    `slot0_ns_partition` and the edges of `tfm_ps_partition`,
    `tfm_its_partition` and `tfm_otp_partition` where a non-secure partition
    touches them.

    ## Why it matters
    The SPU/MPC marks whole regions secure or non-secure. A border inside a
    region stops current NCS builds with "!!!Partition alignment error!!!
    The non-secure start address … is not aligned" (older releases built
    it and left the non-secure image sharing a region with TF-M). TF-M
    sizes that assume a 0x200 MCUboot header break on nRF54L's 0x800 one.

    ## Example
    nRF5340: `mcuboot_pad` 0x200 at 0x10000 and `tfm` 0xc000 put
    `tfm_nonsecure` at 0x1c200, not a multiple of 0x4000.

    ## Severity
    An error when the build enforces the TF-M alignment (the SPU or MPC regions are locked at
    boot); a note otherwise.

    ## How to fix
    Choose `CONFIG_PM_PARTITION_SIZE_TFM` = k × region − header (nRF91 with
    a 0x200 header: 0x7e00, 0x17e00 …), or move the borders in the static
    file to region boundaries.

    For a generated layout the fix is one Kconfig edit,
    `CONFIG_PM_PARTITION_SIZE_TFM`, in the app's fragment; the fix checker
    cannot rebuild the layout from it, so it is shown for `west build -p`
    to confirm rather than applied as mechanical. Advice when a
    static file pins `tfm` (the Kconfig size is then ignored) and for every
    other border: which partitions move, and where the space comes from,
    is the project's choice, and moving TF-M breaks DFU for devices in the
    field.
    """
    app = build.app
    if app is None:
        return
    config = app.config
    if not config.enabled("CONFIG_BUILD_WITH_TFM"):
        return
    severity = None if _enforced(config) else Severity.NOTE
    flash, flash_source = _region_size(build, config, "FLASH")
    ram, ram_source = _region_size(build, config, "RAM")
    for checked in _app_layouts(build):
        layout = checked.layout
        for part, address, words in _flash_borders(layout) if flash else []:
            if address % flash == 0 or static_twin(build, layout, (part.name,)):
                continue
            fix = _tfm_size_fix(build, layout, flash) if part.name == "tfm_nonsecure" else None
            yield _misaligned(
                build, layout, part, f"{words} at 0x{address:x}", flash, flash_source, severity, fix
            )
        sram = layout.get("sram_nonsecure")
        if _ram_misaligned(sram, ram) and not static_twin(build, layout, ("sram_nonsecure",)):
            words = f"non-secure RAM starts at 0x{sram.address:x}"
            yield _misaligned(build, layout, sram, words, ram, ram_source, severity, None)


def _ram_misaligned(sram: Optional[Partition], ram: Optional[int]) -> bool:
    return bool(ram and sram is not None and sram.address is not None and sram.address % ram)


def _misaligned(
    build: Build,
    layout: Layout,
    part: Partition,
    words: str,
    region: int,
    source: str,
    severity: Optional[Severity],
    fix: Optional[Fix],
) -> Finding:
    later = "" if severity is None else " (this NCS does not check it yet; newer releases stop the build)"
    fixes = [fix] if fix is not None else []
    fixes.append(
        Fix(
            f"move the border to a multiple of 0x{region:x}" + where_to_edit(build, layout),
            edit_path(build, layout),
        )
    )
    return Finding(
        message=(
            f"{words} (`{part.name}`), which is not on a 0x{region:x}-byte TrustZone region boundary: "
            f"the SPU/MPC cannot split that region between secure and non-secure{later}"
        ),
        location=part.source,
        domain=layout.domain,
        severity=severity,
        evidence=[
            f"{part.name}: {hexrange(part)} in {part.region}",
            f"region size 0x{region:x} from " + source,
        ],
        fixes=fixes,
        subject=(layout.kind.value, part.name, words),
    )


# ------------------------------------------------------------------ PMD504

_MODEM_PARTS = (("ctrl", "CTRL"), ("tx", "TX"), ("rx", "RX"), ("trace", "TRACE"))


def _modem_problems(layout: Layout, app: Image) -> Tuple[List[str], List[str]]:
    """(errors, warnings) about the nrf_modem_lib_* partitions of one layout."""
    errors: List[str] = []
    warnings: List[str] = []
    config = app.config
    span = layout.get("nrf_modem_lib_sram")
    members = []
    for short, kconfig in _MODEM_PARTS:
        name = f"nrf_modem_lib_{short}"
        part = layout.get(name)
        wanted = config.int(f"CONFIG_NRF_MODEM_LIB_SHMEM_{kconfig}_SIZE")
        if part is None:
            if short != "trace" or wanted:
                errors.append(f"no `{name}`")
            continue
        members.append(part)
        if wanted is not None and part.size is not None and part.size != wanted:
            warnings.append(
                f"`{name}` is 0x{part.size:x} bytes but CONFIG_NRF_MODEM_LIB_SHMEM_{kconfig}_SIZE is "
                + Text(f"0x{wanted:x} (", config.where(f"CONFIG_NRF_MODEM_LIB_SHMEM_{kconfig}_SIZE"), ")")
            )
    if span is None:
        errors.append("no `nrf_modem_lib_sram` span over the modem's shared memory")
    members = sorted((p for p in members if p.has_extent), key=lambda p: p.address)
    for first, second in zip(members, members[1:]):
        if first.end != second.address:
            errors.append(
                f"`{first.name}` ends at 0x{first.end:x} but `{second.name}` starts at 0x{second.address:x}"
            )
    nonsecure = layout.get("sram_nonsecure")
    outside = nonsecure is not None and nonsecure.has_extent and members
    if outside and (members[0].address < nonsecure.address or members[-1].end > nonsecure.end):
        errors.append(f"the modem buffers are not inside `sram_nonsecure` ({hexrange(nonsecure)})")
    return errors, warnings


def _sram_gaps(layout: Layout) -> List[Tuple[int, int]]:
    """Free holes a static file leaves in sram_primary (one is allowed, for the dynamic part)."""
    region = layout.regions.get("sram_primary")
    if layout.kind is not LayoutKind.STATIC or region is None or region.base is None or region.end is None:
        return []
    gaps, covered = [], region.base
    for part in sorted(layout.partitions.values(), key=lambda p: p.address or 0):
        if part.region != "sram_primary" or not part.has_extent or part.size <= 0 or part.is_container:
            continue
        if part.name == "sram_primary":  # Partition Manager's own name for the dynamic part
            continue
        if part.address > covered:
            gaps.append((covered, part.address))
        covered = max(covered, part.end)
    if covered < region.end:
        gaps.append((covered, region.end))
    return gaps if len(gaps) > 1 else []


@rule("PMD504", "nrf91-modem-sram", Severity.ERROR, rank=56, explains=("pm-gaps",))
def nrf91_modem_sram(build: Build) -> Iterator[Finding]:
    """
    ## What it does
    On nRF91 builds that use the modem library, checks the RAM layout:
    `nrf_modem_lib_sram` must span `nrf_modem_lib_ctrl`, `_tx`, `_rx` (and
    `_trace` when tracing), contiguous, inside `sram_nonsecure`, with the
    sizes of `CONFIG_NRF_MODEM_LIB_SHMEM_*_SIZE`; a static file's RAM entries
    must leave at most one gap.

    ## Why it matters
    The modem exchanges every AT command and packet through these buffers.
    Static files from the SPM era (NCS 1.x) or from another application
    carry old names and sizes: Partition Manager then fails with "Incorrect
    amount of gaps found in static configuration", or the modem library
    initialises on memory that something else uses.

    ## Example
    A static file with `nrf_modem_lib_tx` of 0x2000 while NCS now asks for
    0x2080 leaves a 0x80-byte hole before `nrf_modem_lib_rx`.

    ## Severity
    An error when the modem's shared RAM is missing a part, has gaps, lies outside `sram_nonsecure`
    or leaves more than one free gap; a warning when only the sizes differ from
    `CONFIG_NRF_MODEM_LIB_SHMEM_*_SIZE`.

    ## How to fix
    Drop the RAM (`sram_primary`) entries from the static file and let
    Partition Manager place them, unless you know exactly why they are
    fixed; follow the SPM → TF-M migration guide when moving from NCS 1.x.
    """
    app = build.app
    if socs.series(build.soc) != "nrf91" or app is None or not app.config.enabled("CONFIG_NRF_MODEM_LIB"):
        return
    for checked in _app_layouts(build):
        layout = checked.layout
        if not any(p.region == "sram_primary" for p in layout.partitions.values()):
            continue
        names = [n for n in layout.partitions if n.startswith("nrf_modem_lib")] or ["sram_primary"]
        if static_twin(build, layout, names):
            continue
        errors, warnings = _modem_problems(layout, app)
        gaps = _sram_gaps(layout)
        if gaps:
            holes = " ".join(f"0x{a:x}-0x{b:x}" for a, b in gaps)
            errors.append(f"{len(gaps)} free gaps in sram_primary ({holes}); Partition Manager allows one")
        if not errors and not warnings:
            continue
        anchor = (
            layout.get("nrf_modem_lib_sram") or layout.get("sram_nonsecure") or layout.get("sram_primary")
        )
        yield Finding(
            message="the nRF91 modem's shared RAM is laid out wrongly: " + Text.join("; ", errors + warnings),
            location=anchor.source if anchor is not None else Source(layout.file),
            domain=layout.domain,
            severity=None if errors else Severity.WARNING,
            evidence=[
                f"{p.name}: {hexrange(p)}"
                for p in sorted(
                    (
                        p
                        for p in layout.partitions.values()
                        if p.name.startswith("nrf_modem_lib") and p.has_extent
                    ),
                    key=lambda p: (p.address, -p.size),
                )
            ],
            fixes=[
                Fix(
                    "remove the sram_primary entries (nrf_modem_lib_*, sram_*, tfm_sram/spm_sram) and let "
                    "Partition Manager place them" + where_to_edit(build, layout),
                    edit_path(build, layout),
                )
            ],
            subject=(layout.kind.value, "nrf_modem_lib_sram"),
        )
