"""MCUboot slot geometry."""

from __future__ import annotations

from typing import Iterator, Optional, Tuple

from ..model import Build, Layout, Partition
from ..model.findings import Finding, Severity
from . import rule
from ._shared.layouts import checked_layouts, hx, static_twin
from ._shared.mcuboot import swap_mode
from ._shared.slot_repair import slot_pair_fix

# A secondary at most this fraction of its primary is smaller by design, not by a slip of arithmetic.
DELIBERATE_RATIO = 0.9


def _smaller_on_purpose(
    build: Build, mode: Optional[str], primary: Partition, secondary: Partition
) -> Tuple[Optional[Severity], str]:
    """Severity and wording for a secondary smaller than its primary.

    MCUboot's compressed images (NCS 2.8+, SB_CONFIG_MCUBOOT_COMPRESSED_IMAGE_SUPPORT,
    overwrite-only) and delta-update layouts shrink the secondary on purpose:
    that is a note with the ratio. Without the build's configuration (a loose
    static file) a clearly smaller secondary is read the same way; a swap mode
    needs equal slots, so there it stays an error.
    """
    ratio = secondary.size / primary.size
    share = f" ({ratio:.0%} of it)"
    mcuboot = build.image("mcuboot")
    compressed = build.sysbuild_config.enabled("SB_CONFIG_MCUBOOT_COMPRESSED_IMAGE_SUPPORT") or (
        mcuboot is not None and mcuboot.config.enabled("CONFIG_BOOT_DECOMPRESSION")
    )
    if compressed:
        return Severity.NOTE, (
            f"{share}: the build uses MCUboot compressed images (overwrite-only), where a smaller "
            "secondary is deliberate; a compressed update must fit in it"
        )
    if ratio > DELIBERATE_RATIO or mode in ("move", "offset", "scratch"):
        return None, ""
    if mode is None and mcuboot is None:
        return Severity.NOTE, (
            f"{share}: deliberate in compressed-image (NCS 2.8+, SB_CONFIG_MCUBOOT_COMPRESSED_IMAGE_SUPPORT, "
            "overwrite-only) and delta-update layouts; otherwise an update larger than the secondary "
            "cannot be uploaded"
        )
    return Severity.WARNING, (
        f"{share}: overwrite-only without compressed images, so every update must be smaller than "
        f"`{secondary.name}` although the application may grow to `{primary.name}`"
    )


def _sector(layout: Layout, *parts: Partition) -> int:
    blocks = [
        region.erase_block
        for part in parts
        if (region := layout.region_of(part)) is not None and region.erase_block
    ]
    return max(blocks) if blocks else 0x1000


@rule("PMD401", "slot-size-mismatch", Severity.ERROR, rank=58, explains=("sectors-incompatible",))
def slot_size_mismatch(build: Build) -> Iterator[Finding]:
    """
    ## What it does
    Compares each MCUboot secondary slot with its primary
    (`mcuboot_secondary` / `mcuboot_primary`, `…_1`, `…_2`; `slot1_partition` /
    `slot0_partition` in devicetree builds). They must be the same size. With
    swap-using-move the primary may be exactly one sector larger; with
    swap-using-offset the secondary may be exactly one sector larger.

    ## Why it matters
    MCUboot walks both slots sector by sector. When the sizes do not line up
    it logs "Cannot upgrade: slots have non-compatible sectors" and never
    applies the update, or the image built for the primary does not fit in
    the secondary and the upload is refused.

    ## Example
    ```yaml
    mcuboot_primary:   {address: 0xc000,  size: 0x75200}
    mcuboot_secondary: {address: 0x81200, size: 0x75000}   # 0x200 smaller
    ```

    ## Severity
    An error by default. A secondary clearly smaller than its primary (at most 90 %) is a note with
    the ratio when MCUboot compressed images are enabled
    (`SB_CONFIG_MCUBOOT_COMPRESSED_IMAGE_SUPPORT`), or when only a static file is known (delta
    and compressed-image layouts do this on purpose); a warning in overwrite-only mode without
    compression. A secondary just a little smaller, or any difference in a swap mode, stays an error.

    ## How to fix
    Make the secondary exactly as large as the primary in the static file
    (Partition Manager generates it with `share_size: [mcuboot_primary]`),
    then build pristine and erase the old slot trailers.

    Mechanical when the repair is unambiguous, towards the layout Partition
    Manager would generate: the primary keeps the span of its members (a
    primary whose own size disagrees with them gets their extent back), and
    the secondary takes the primary's size, in whole erase blocks of its
    device. The primary is never shrunk to match. Advice, with the conflict
    named, when the primary is not whole erase blocks (the boundary between
    the slots must move) or when growing the secondary would run into a
    neighbour or past its region (that neighbour must move first).
    """
    mode = swap_mode(build)
    for checked in checked_layouts(build):
        layout = checked.layout
        for _index, primary, secondary in layout.slot_pairs():
            if primary.size is None or secondary.size is None or primary.size <= 0 or secondary.size <= 0:
                continue
            sector = _sector(layout, primary, secondary)
            difference = primary.size - secondary.size
            if difference == 0:
                continue
            if difference == sector and mode in (None, "move"):
                continue
            if difference == -sector and mode == "offset":
                continue
            if static_twin(build, layout, (primary.name, secondary.name)):
                continue
            larger = "smaller" if difference > 0 else "larger"
            severity, why = (None, "")
            if difference > 0:
                severity, why = _smaller_on_purpose(build, mode, primary, secondary)
            yield Finding(
                message=(
                    f"`{secondary.name}` is {hx(secondary.size)} bytes, {hx(abs(difference))} {larger} "
                    f"than `{primary.name}` ({hx(primary.size)})"
                    + (f"; {mode} mode allows equal sizes only" if mode == "overwrite" and not why else "")
                    + why
                ),
                severity=severity,
                location=secondary.source,
                image=checked.image,
                domain=layout.domain,
                evidence=[
                    f"{primary.name}: size {hx(primary.size)} in {primary.region}",
                    f"{secondary.name}: size {hx(secondary.size)} in {secondary.region}",
                    f"sector size 0x{sector:x}, MCUboot mode: {mode or 'unknown'}",
                ],
                # A secondary smaller on purpose (a note) is a design, not something to repair.
                fixes=[]
                if severity is Severity.NOTE
                else [slot_pair_fix(build, checked, primary, secondary)],
                subject=(layout.kind.value, primary.name, secondary.name),
            )
