"""PMD201 foreign-static-layout."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterator, List, Optional

from ...model import Build, Era, Image, Layout, Partition, StaticFile
from ...model import soc as socs
from ...model.findings import Finding, Fix, Severity
from .. import rule
from .._shared import targets
from .._shared.common import mcuboot_image, static_layout_for
from .._shared.edit_helpers import released_to_free_space
from .._shared.layouts import hx


def _regenerate_fix(build: Build, domain: Optional[str]) -> Fix:
    target = targets.static_target(build, domain)
    name = target.file.name
    where = f" ({target.convention})" if target.outside_source else ""
    return Fix(
        "or regenerate it: build once without the static file, review build/partitions.yml and "
        "copy it over the static file" + where,
        target.file,
        f"mv {name} {name}.orig\nwest build -p\ncp build/partitions.yml {name}",
    )


@dataclass(frozen=True)
class _Foreign:
    """A partition of the static file that belongs to another SoC's layout, and why."""

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

    ## Severity
    An error when a partition or region cannot exist on this SoC (a region or slot of another
    family); a warning for signs that do no harm by themselves: the nRF91 modem library's RAM
    elsewhere, TF-M partitions without TF-M, another family's MCUboot pad size, a `device:` this
    devicetree does not have.

    ## How to fix
    Delete the foreign entries, or better regenerate the file: build once
    without the static file, review `build/partitions.yml` and copy it over
    `pm_static.yml`. On products already in the field keep the bootloader and
    slot addresses unchanged.

    Mechanical: the foreign entries are removed from the static file the build reads (`PM_STATIC_YML_FILE`
    first), once the re-check passes. A board's static file outside the application is not edited: copy it
    into the project and point `PM_STATIC_YML_FILE` at the copy. Regenerating the file stays advice.
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
    removals = [targets.static_remove(e.part.name) for e in entries]
    if static is not None:  # the static file's own free-space entry must meet what is left
        removals += released_to_free_space(layout, [e.part.name for e in entries])
    fixes = [targets.static_fix(build, layout.domain, removals, f"remove {names} from the static file")]
    fixes.append(_regenerate_fix(build, layout.domain))
    yield Finding(
        message=message,
        location=first.part.source,
        domain=layout.domain,
        evidence=[f"line {e.part.source.line}: {e.part.name} — {e.reason}" for e in entries],
        fixes=fixes,
        severity=_worst(entries),
        subject=(layout.kind.value, *(e.part.name for e in entries)),
    )
