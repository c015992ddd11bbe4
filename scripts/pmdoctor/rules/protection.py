"""MCUboot's flash self-protection (FPROTECT: SPU/ACL/BPROT, RRAMC on nRF54L) against the layout."""

from __future__ import annotations

from typing import Iterator, List, Tuple

from ..model import Build, Layout
from ..model import soc as socs
from ..model.findings import Finding, Fix, Severity, Text
from . import rule
from ._shared.common import mcuboot_image
from ._shared.edit_helpers import kconfig_fix
from ._shared.layouts import (
    edit_path,
    where_to_edit,
)
from ._shared.protection import (
    ProtectedRange,
    fprotect_block,
    fprotect_state,
    protection_layouts,
    round_up,
    said,
)
from ._shared.targets import build_option, image_kconfig

KB = 1024


# nRF54L RRAMC: 1 KB units, one region up to 31 KB, two combined up to 62 KB.
RRAMC_UNIT = 1 * KB


RRAMC_ONE_REGION = 31 * KB


RRAMC_COMBINED = 62 * KB


def _range_evidence(protected: ProtectedRange) -> str:
    first, primary = protected.first, protected.primary
    return Text(
        f"{first.name}: 0x{protected.start:x}, {primary.name}: 0x{protected.end:x} (", primary.source, ")"
    )


def _disable_fix(build: Build) -> Fix:
    return kconfig_fix(
        build,
        build.image("mcuboot"),
        [("CONFIG_FPROTECT", "n")],
        "development only: stop MCUboot from protecting itself (weakens security) — add to mcuboot's "
        "configuration",
    )


@rule("PMD408", "fprotect-misaligned", Severity.ERROR, rank=74, explains=("fprotect-failed",))
def fprotect_misaligned(build: Build) -> Iterator[Finding]:
    """
    ## What it does
    Computes the flash range MCUboot write-protects at boot (from `mcuboot`,
    or from `s0` when NSIB keeps two MCUboot copies, up to
    `mcuboot_primary`; in devicetree-era builds MCUboot's `boot_partition`)
    and checks that its start and size are multiples of
    `CONFIG_FPROTECT_BLOCK_SIZE`: 4 KB on nRF52, 16 KB on nRF5340, 32 KB on
    nRF91. nRF54L is checked by PMD409.

    ## Why it matters
    The protection hardware (BPROT/ACL/SPU) works in whole blocks.
    `fprotect_area()` refuses a range that is not block-aligned, and MCUboot
    stops with "Protect mcuboot flash failed, cancel startup." on every
    boot. Partition Manager normally pads with `EMPTY_<n>` partitions to
    keep the range aligned; hand-written static files often drop them.

    ## Example
    On an nRF9160 (32 KB blocks):
    ```yaml
    mcuboot:         {address: 0x0,    size: 0xc000}
    mcuboot_primary: {address: 0xc000, size: 0x74000}   # 0xc000 is not a multiple of 0x8000
    ```

    ## Severity
    An error when MCUboot protects its own flash (`CONFIG_FPROTECT=y` in its configuration); a
    warning when MCUboot's configuration is not in the build and the default is assumed.

    ## How to fix
    Move `mcuboot_primary` (and what follows) to the next block boundary,
    filling the hole with an `EMPTY_0` partition, or grow MCUboot's
    partition to a block multiple. During development only,
    `CONFIG_FPROTECT=n` in MCUboot hides the problem.

    The layout cure is advice: it moves `mcuboot_primary` (or MCUboot) and
    everything after it, which breaks DFU for devices in the field and
    needs a choice of where the space comes from. The development-only cure
    is one Kconfig edit, `CONFIG_FPROTECT=n` in MCUboot's fragment.
    """
    if socs.series(build.soc) == "nrf54l":
        return
    enabled, enabled_evidence = fprotect_state(build)
    if enabled is False:
        return
    block, block_source = fprotect_block(build)
    if not block:
        return
    for layout, protected in protection_layouts(build):
        bad = [n for n, value in (("start", protected.start), ("size", protected.size)) if value % block]
        if not bad:
            continue
        aligned_end = protected.start + round_up(protected.size, block)
        yield Finding(
            message=(
                f"MCUboot protects {protected.describe()}; its {' and '.join(bad)} "
                f"{'is' if len(bad) == 1 else 'are'} not a multiple of the 0x{block:x}-byte FPROTECT block, "
                "so fprotect_area() fails and MCUboot cancels startup"
                + ("" if enabled else " (if MCUboot keeps the default CONFIG_FPROTECT=y)")
            ),
            location=protected.primary.source,
            domain=layout.domain,
            severity=None if enabled else Severity.WARNING,
            evidence=[
                _range_evidence(protected),
                f"block 0x{block:x} from " + block_source,
                *enabled_evidence,
            ],
            fixes=[_align_fix(build, layout, protected, aligned_end), _disable_fix(build)],
            subject=(layout.kind.value, protected.first.name, protected.primary.name),
        )


def _align_fix(build: Build, layout: Layout, protected: ProtectedRange, aligned_end: int) -> Fix:
    if protected.own_extent:
        return Fix(
            f"make `{protected.first.name}` end on the block boundary 0x{aligned_end:x} (and start on "
            "one), moving the partitions after it"
            + where_to_edit(build, layout)
            + "; the layout of devices in the field must not move",
            protected.first.source.file,
        )
    return Fix(
        f"start `{protected.primary.name}` at 0x{aligned_end:x} and fill "
        f"0x{protected.end:x}-0x{aligned_end:x} with an EMPTY_0 partition" + where_to_edit(build, layout),
        edit_path(build, layout),
        f"EMPTY_0:\n  address: 0x{protected.end:x}\n  size: 0x{aligned_end - protected.end:x}",
    )


def _combined_regions(build: Build) -> Tuple[bool, List[str]]:
    sb_name = "SB_CONFIG_MCUBOOT_FPROTECT_ALLOW_COMBINED_REGIONS"
    if build.sysbuild_config.enabled(sb_name):
        return True, [said(build.sysbuild_config, sb_name, "sysbuild")]
    mcuboot = mcuboot_image(build)
    if mcuboot is not None and mcuboot.config.enabled("CONFIG_FPROTECT_ALLOW_COMBINED_REGIONS"):
        return True, [said(mcuboot.config, "CONFIG_FPROTECT_ALLOW_COMBINED_REGIONS", "mcuboot")]
    return False, []


def _rramc_problems(protected: ProtectedRange, combined: bool) -> List[str]:
    problems = []
    if protected.size % RRAMC_UNIT:
        problems.append(f"0x{protected.size:x} bytes is not a whole number of 1 KB RRAMC units")
    if protected.size > RRAMC_COMBINED:
        problems.append(
            f"{protected.size / KB:g} KB is more than the 62 KB two combined RRAMC regions can protect"
        )
    elif combined and protected.start != 0:
        problems.append(
            "combined RRAMC regions protect only from address 0, but the range starts at "
            f"0x{protected.start:x}"
        )
    elif not combined and protected.size > RRAMC_ONE_REGION:
        problems.append(
            f"{protected.size / KB:g} KB is more than the 31 KB one RRAMC region can protect "
            "(combined regions are not enabled)"
        )
    return problems


def _rramc_fixes(build: Build, protected: ProtectedRange, combined: bool) -> List[Fix]:
    fixes: List[Fix] = []
    if not combined and protected.start == 0 and protected.size <= RRAMC_COMBINED:
        if build.sysbuild:
            fixes.append(
                build_option(
                    build,
                    "MCUBOOT_FPROTECT_ALLOW_COMBINED_REGIONS",
                    "y",
                    "let MCUboot combine two RRAMC regions (up to 62 KB from address 0)",
                )
            )
        else:
            fixes.append(
                image_kconfig(
                    build,
                    build.image("mcuboot"),
                    ["CONFIG_FPROTECT_ALLOW_COMBINED_REGIONS=y"],
                    "let MCUboot combine two RRAMC regions (up to 62 KB from address 0)",
                )
            )
    elif protected.own_extent:
        limit = RRAMC_COMBINED if protected.start == 0 else RRAMC_ONE_REGION
        fixes.append(
            Fix(
                f"shrink `{protected.first.name}` to at most 0x{limit:x} bytes in the overlay that defines "
                "it (changes the layout: not for devices already in the field)",
                protected.first.source.file,
            )
        )
    elif protected.first.name == "mcuboot":
        limit = RRAMC_COMBINED if protected.start == 0 else RRAMC_ONE_REGION
        # Anything between MCUboot and its primary slot (EMPTY_ fillers) is protected too.
        others = protected.size - (protected.first.size or 0)
        fixes.append(
            image_kconfig(
                build,
                build.image("mcuboot"),
                [f"CONFIG_PM_PARTITION_SIZE_MCUBOOT=0x{limit - others:x}"],
                f"shrink MCUboot so the protected range fits {limit // KB} KB (changes the layout: "
                "not for devices already in the field)",
            )
        )
    fixes.append(_disable_fix(build))
    return fixes


@rule(
    "PMD409",
    "nrf54l-fprotect-limit",
    Severity.ERROR,
    rank=74,
    explains=("fprotect-failed", "rramc-protected"),
)
def nrf54l_fprotect_limit(build: Build) -> Iterator[Finding]:
    """
    ## What it does
    On nRF54L, checks the range MCUboot write-protects (from `mcuboot`, or
    `s0` with NSIB, up to `mcuboot_primary`; `boot_partition` in
    devicetree-era builds) against the RRAM controller's
    limits: 1 KB units, at most 31 KB in one region, at most 62 KB with
    `SB_CONFIG_MCUBOOT_FPROTECT_ALLOW_COMBINED_REGIONS`, and combined
    regions only for a range that starts at address 0.

    ## Why it matters
    A range the RRAMC cannot cover makes MCUboot stop with "Protect mcuboot
    flash failed, cancel startup." right after "Jumping to the first image
    slot" (some versions refuse to build: "FPROTECT size too large"). A
    64 KB MCUboot partition, or an NCS upgrade that moved the limits, are the
    usual causes; flashing may then fail with "Address … is in a protected
    RRAMC region".

    ## Example
    `mcuboot: {address: 0x0, size: 0x10000}` (64 KB) on an nRF54L15: more
    than 62 KB even with combined regions.

    ## Severity
    An error when MCUboot protects its own flash (`CONFIG_FPROTECT=y` in its configuration); a
    warning when MCUboot's configuration is not in the build and the default is assumed.

    ## How to fix
    Keep MCUboot within 31 KB, or within 62 KB (0xF800) from address 0 with
    `SB_CONFIG_MCUBOOT_FPROTECT_ALLOW_COMBINED_REGIONS=y`. If the layout of
    fielded devices must stay, disable protection in MCUboot
    (`CONFIG_FPROTECT=n`) and accept the security trade-off.
    """
    if socs.series(build.soc) != "nrf54l":
        return
    enabled, enabled_evidence = fprotect_state(build)
    if enabled is False:
        return
    combined, combined_evidence = _combined_regions(build)
    for layout, protected in protection_layouts(build):
        problems = _rramc_problems(protected, combined)
        if not problems:
            continue
        yield Finding(
            message=(
                f"MCUboot protects {protected.describe()} on {build.soc}: "
                + Text.join("; ", problems)
                + ("" if enabled else " (if MCUboot keeps the default CONFIG_FPROTECT=y)")
            ),
            location=protected.primary.source,
            domain=layout.domain,
            severity=None if enabled else Severity.WARNING,
            evidence=[
                _range_evidence(protected),
                "combined RRAMC regions: " + ("enabled" if combined else "not enabled"),
                *combined_evidence,
                *enabled_evidence,
            ],
            fixes=_rramc_fixes(build, protected, combined),
            subject=(layout.kind.value, protected.first.name, protected.primary.name),
        )
