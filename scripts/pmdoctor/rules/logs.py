"""Log-only hypotheses: what a recognised console or build-log line means on its own.

Configuration rules that explain a symptom (``explains=``) rank above these;
these say what the line means, what to check and what to attach next, so a
thread with nothing but a log still gets a useful answer.
"""

from __future__ import annotations

import functools
from typing import Callable, Iterator, List, Optional, Tuple

from ..model import Build, Image, Kconfig, is_devicetree_region
from ..model.drivers import NOR_DRIVERS, driver_lines, enables_a_nor_driver
from ..model.findings import Finding, Fix, Severity, Text
from ..model.symptoms import Symptom
from . import rule
from ._shared.common import erase_block, next_power_of_two
from ._shared.edit_helpers import kconfig_fix
from ._shared.external import driver_fixes
from ._shared.targets import image_config_file

# Below every configuration rule: a log line is the consequence, not the cause.
LOG_RANK = 5
_INTERNAL_FLASH = ("flash0", "flash-controller", "flash_controller", "rram")

# A log rule's body: the build and the symptoms it explains, seen in the logs -> its finding.
Answer = Callable[[Build, List[Symptom]], Finding]


def _where(symptom: Symptom) -> str:
    """The log line, as a file reference each report shows its own way (``console.log:5``)."""
    return Text(symptom.source) if symptom.source.file is not None else "the log"


def _stand_in(build: Build, name: str) -> Image:
    """An image none of whose files were given: it only serves to name its configuration file."""
    return Image(name=name, build_dir=build.path, role=name)


def _mcuboot(build: Build) -> Image:
    """MCUboot's image, or a stand-in that only serves to name its configuration file."""
    return build.image("mcuboot") or _stand_in(build, "mcuboot")


def _secondary_region(build: Build) -> Optional[str]:
    """Where the first layout that has one puts the secondary slot (devicetree: internal or not)."""
    for layout in build.all_layouts():
        for name in ("mcuboot_secondary", "slot1_partition"):
            part = layout.get(name)
            if part is None:
                continue
            if not is_devicetree_region(part.region):
                return part.region
            internal = any(word in (part.device or "") for word in _INTERNAL_FLASH)
            return "flash_primary" if internal else "external_flash"
    return None


def _chip_compatible(build: Build) -> Optional[str]:
    for image in build.images:
        node = image.devicetree.chosen_node("nordic,pm-ext-flash")
        if node is not None and node.compatible:
            return node.compatible[0]
    return None


def _has_flash_driver(image: Optional[Image]) -> bool:
    """True only when the image's own .config is known and enables an external-flash driver."""
    # Any driver symbol will do: this only decides whether to suggest adding one (storage.py and
    # external_flash.py ask the narrower questions of Partition Manager's gate and the chip's driver).
    if image is None or not image.config:
        return False
    return enables_a_nor_driver(image.config) or image.config.enabled("CONFIG_PM_EXTERNAL_FLASH_HAS_DRIVER")


def _finding(symptoms: List[Symptom], message: str, fixes: List[Fix]) -> Finding:
    first = symptoms[0]
    return Finding(
        message=message,
        location=first.source,
        observed=tuple(symptoms),  # every line, quoted with its meaning by each reporter
        fixes=fixes,
        subject=(first.id, str(first.source)),
    )


def log_rule(
    rule_id: str, name: str, severity: Severity, explains: Tuple[str, ...]
) -> Callable[[Answer], Callable[[Build], Iterator[Finding]]]:
    """Register a log rule at :data:`LOG_RANK`.

    Its body runs only when the logs show one of the ``explains`` symptoms;
    it gets those symptoms in log order and answers with one finding. The
    body's docstring is the rule's documentation.
    """

    def register(answer: Answer) -> Callable[[Build], Iterator[Finding]]:
        @functools.wraps(answer)
        def check(build: Build) -> Iterator[Finding]:
            symptoms = [symptom for symptom in build.symptoms if symptom.id in explains]
            if symptoms:
                yield answer(build, symptoms)

        return rule(rule_id, name, severity, rank=LOG_RANK, explains=explains)(check)

    return register


@log_rule("PMD801", "log-slot-unreachable", Severity.ERROR, explains=("slot-unreachable",))
def log_slot_unreachable(build: Build, symptoms: List[Symptom]) -> Finding:
    """
    ## What it does
    Reads the attached logs for a slot that an image cannot open: MCUboot's
    `Failed to open flash area ID 1 (image 0 slot 1): -2`, the application's
    `Secondary image of image pair (0.) is unreachable`, MCUmgr's
    `Image upload inspect failed: 5` or "No free slot". It decodes the numbers:
    `-2` is ENOENT (the partition is not in that image's flash map); MCUmgr
    `5` is the legacy `MGMT_ERR_ENOENT` on firmware before NCS 2.6 / Zephyr 3.5
    but `IMG_MGMT_ERR_INVALID_TLV` on newer firmware, so the version decides;
    `9` is `IMG_MGMT_ERR_NO_FREE_SLOT`.

    ## Why it matters
    Partition Manager keeps a partition in an image's flash map only when that
    image's own devicetree has the device (the `nordic,pm-ext-flash` chosen
    node, enabled) and its own Kconfig has the driver. When the secondary slot
    is on external flash and either is missing in the application, MCUmgr has
    nowhere to write the upload; when it is missing in MCUboot, MCUboot halts
    or never applies the update.

    ## Example
    ```
    <err> mcumgr_img_mgmt: Image upload inspect failed: 5
    E: Failed to open flash area ID 1 (image 0 slot 1): -2, cannot continue
    ```

    ## How to fix
    Enable the external-flash driver in **both** images (`CONFIG_NORDIC_QSPI_NOR=y`
    or `CONFIG_SPI=y` + `CONFIG_SPI_NOR=y`; in `prj.conf` and in
    `child_image/mcuboot.conf` or `sysbuild/mcuboot.conf`), and give MCUboot's
    devicetree the same `nordic,pm-ext-flash` chosen node and enabled flash
    node as the application. To confirm, attach `build/partitions.yml`, the
    application's and MCUboot's `zephyr/.config` and `zephyr/zephyr.dts`.

    Fixes: the driver lines are the external-flash rules' (PMD302) for each
    image; without a build to tell the era they stay advice, since which
    file MCUboot reads depends on the NCS version the log does not show.
    """
    first = symptoms[0]
    region = _secondary_region(build)
    if region == "external_flash":
        place = "the secondary slot is on external flash, so"
    elif region is None:
        place = "if the secondary slot is on external flash (no layout attached to tell),"
    else:
        place = f"the secondary slot is in {region}; if this build's layout differs from the device's,"
    message = (
        _where(first) + f": {first.meaning}. {place[0].upper() + place[1:]} the image "
        "that logs it lacks the flash device in its flash map: check the external-flash driver Kconfig "
        "and the `nordic,pm-ext-flash` chosen node in both the application and MCUboot"
    )
    fixes: List[Fix] = []
    if region in ("external_flash", None):
        # The same driver facts and alternatives as PMD302 (model/drivers.py).
        driver = NOR_DRIVERS.get(_chip_compatible(build) or "")
        if not _has_flash_driver(build.app):
            fixes += driver_fixes(build, build.app or _stand_in(build, "app"), driver)
        if _has_flash_driver(build.image("mcuboot")):
            pass  # MCUboot's own .config shows the driver: nothing to add there
        elif build.sysbuild or build.partition_manager:
            fixes += driver_fixes(build, build.image("mcuboot") or _stand_in(build, "mcuboot"), driver)
        else:
            for known in [driver] if driver else list(NOR_DRIVERS.values()):
                chip = f" for a {known.compatible} chip" if driver is None else ""
                fixes.append(
                    Fix(
                        f"and in MCUboot{chip}, which has its own configuration: sysbuild/mcuboot.conf "
                        "(NCS 2.7 and later) or child_image/mcuboot.conf (older)",
                        None,
                        "\n".join(driver_lines(known, Kconfig(), mcuboot=True)),
                    )
                )
    fixes.append(Fix("then build pristine (west build -p) and flash both images"))
    return _finding(symptoms, message, fixes)


@log_rule("PMD802", "log-device-not-ready", Severity.ERROR, explains=("device-not-ready",))
def log_device_not_ready(build: Build, symptoms: List[Symptom]) -> Finding:
    """
    ## What it does
    Reads the attached logs for a flash area that exists but whose device
    is not ready: `Failed to open flash area ID 1 (image 0 slot 1): -19`
    (ENODEV), MCUmgr image-group error 10 `IMG_MGMT_ERR_FLASH_OPEN_FAILED`
    or flash read/write/erase failures (11-13).

    ## Why it matters
    The layout and the driver are in place, but the driver could not talk to
    the chip: wrong pins or chip select, a `jedec-id` or `size` that does not
    match the part, a QSPI chip wired as SPI, the device left suspended by
    power management, or no chip populated. No layout change fixes it.

    ## Example
    `E: Failed to open flash area ID 1 (image 0 slot 1): -19, cannot continue`

    ## How to fix
    Check the flash node of the image that logs it: pins (pinctrl), `jedec-id`
    against the datasheet, `size` in bits, `sck-frequency`; enable
    `CONFIG_FLASH_LOG_LEVEL_DBG=y` to see the driver's probe. Attach that
    image's `zephyr/zephyr.dts` and `.config`.

    Fix: a diagnostic Kconfig edit (the flash driver's debug log) in the
    application's fragment; the cure itself is hardware, so advice.
    """
    first = symptoms[0]
    message = (
        _where(first) + f": {first.meaning}. The partition is in the flash map, so this "
        "is the flash device failing to initialise (pins, jedec-id, size, wiring), not the layout"
    )
    fixes = [
        kconfig_fix(
            build,
            build.app or _stand_in(build, "app"),
            [("CONFIG_LOG", "y"), ("CONFIG_FLASH_LOG_LEVEL_DBG", "y")],
            "turn on the flash driver's debug log to see why the chip is not ready",
        )
    ]
    return _finding(symptoms, message, fixes)


@log_rule(
    "PMD803",
    "log-sectors-incompatible",
    Severity.ERROR,
    explains=("sectors-incompatible", "scratch-too-small"),
)
def log_sectors_incompatible(build: Build, symptoms: List[Symptom]) -> Finding:
    """
    ## What it does
    Reads the attached logs for MCUboot refusing an update because of the
    slots' sectors: `Failed reading sectors; BOOT_MAX_IMG_SECTORS=128 - too
    small?`, `Cannot upgrade: not a compatible amount of sectors`, `Cannot
    upgrade: slots have non-compatible sectors`, `not all sectors fit inside
    scratch`.

    ## Why it matters
    The update is uploaded but never applied. Either a slot has more sectors
    than `CONFIG_BOOT_MAX_IMG_SECTORS`, the two slots have different sector
    sizes (an SPI NOR page layout of 64 KB against 4 KB internal pages), or the
    slot could not be enumerated at all — which older MCUboot reports the same
    way as a missing external-flash driver.

    ## Example
    `W: Failed reading sectors; BOOT_MAX_IMG_SECTORS=128 - too small?`

    ## Severity
    An error by default; a note when MCUboot's `CONFIG_BOOT_MAX_IMG_SECTORS`
    already covers every slot: the message says so, and the layout findings
    that carry the same log line come first.

    ## How to fix
    In MCUboot's configuration set `CONFIG_BOOT_MAX_IMG_SECTORS` to at least
    slot size / 4096, and `CONFIG_SPI_NOR_FLASH_LAYOUT_PAGE_SIZE=4096` in both
    images with SPI NOR. If the value is already large enough, the slot is
    unreachable: see PMD801.

    Fixes: `CONFIG_BOOT_MAX_IMG_SECTORS` is a Kconfig edit in MCUboot's
    fragment when a layout is attached (the count comes from its largest
    slot); without one the value is a rule of thumb and stays advice, as
    does the page size, which applies only to SPI NOR chips.
    """
    first = symptoms[0]
    message = (
        _where(first) + f": {first.meaning}. MCUboot compares both slots sector by "
        "sector; too small a sector table, different page layouts or an unreachable slot all end here"
    )
    table = _sector_table(build)
    pages = Fix(
        "with an SPI NOR chip, use 4 KB pages in both images like the internal flash",
        image_config_file(build, build.app),
        "CONFIG_SPI_NOR_FLASH_LAYOUT_PAGE_SIZE=4096",
    )
    enough = _sector_table_enough(build)
    if enough is None:
        return _finding(symptoms, message, [table, pages])
    # The usual fix is in place already: say so, and leave the first place to the
    # layout findings that name the cause (they carry the same log line).
    finding = _finding(symptoms, message + "; " + enough, [pages])
    finding.severity = Severity.NOTE
    return finding


def _sector_table_enough(build: Build) -> Optional[str]:
    """Why CONFIG_BOOT_MAX_IMG_SECTORS is not the cause, when MCUboot's value covers every slot."""
    mcuboot = build.image("mcuboot")
    value = mcuboot.config.int("CONFIG_BOOT_MAX_IMG_SECTORS") if mcuboot is not None else None
    if not value:
        return None
    needed = 0
    for layout in build.all_layouts():
        for _, primary, secondary in layout.slot_pairs():
            for part in (primary, secondary):
                region = layout.region_of(part)
                sector = region.erase_block if region is not None and region.erase_block else 0x1000
                if part.size:
                    needed = max(needed, -(-part.size // sector))
    if not needed or value < needed:
        return None
    return (
        f"CONFIG_BOOT_MAX_IMG_SECTORS={value} already covers the largest slot ({needed} sectors), so the "
        "sector table is not the cause: the slots' sector layouts differ or a slot is unreachable"
    )


def _sector_table(build: Build) -> Fix:
    """BOOT_MAX_IMG_SECTORS from the attached layout's largest slot; a rule of thumb without one."""
    words = "give MCUboot room for every sector of the larger slot (slot size / 4096)"
    counts = [
        -(-part.size // erase_block(layout, part))
        for layout in build.all_layouts()
        for _, primary, secondary in layout.slot_pairs()
        for part in (primary, secondary)
        if part.size and part.size > 0
    ]
    if not counts:
        return Fix(words, image_config_file(build, _mcuboot(build)), "CONFIG_BOOT_MAX_IMG_SECTORS=256")
    return kconfig_fix(
        build,
        _mcuboot(build),
        [("CONFIG_BOOT_MAX_IMG_SECTORS", str(next_power_of_two(max(counts))))],
        words,
    )


@log_rule("PMD804", "log-image-too-large", Severity.ERROR, explains=("image-too-large",))
def log_image_too_large(build: Build, symptoms: List[Symptom]) -> Finding:
    """
    ## What it does
    Reads the attached build logs for an image that does not fit its
    partition: the linker's `region 'FLASH' overflowed by N bytes` or
    imgtool's `Image size (0x…) + trailer (0x…) exceeds requested size 0x…`.

    ## Why it matters
    The build stops. With Partition Manager the `FLASH` region of each image
    is its partition, so the overflow is the partition being too small (often
    MCUboot after adding an external-flash driver, or an application after a
    static file shrank `app`), not the chip being full.

    ## Example
    `region 'FLASH' overflowed by 7124 bytes`

    ## How to fix
    Find which image overflowed (the path before the message), then enlarge
    its partition (`CONFIG_PM_PARTITION_SIZE_MCUBOOT` when dynamic; edit the
    static file when static — this moves the slots) or make the image smaller
    (`CONFIG_SIZE_OPTIMIZATIONS=y`, less logging).

    Advice: the log rarely says which image overflowed, and whether to
    shrink the image or move the layout is the project's choice.
    """
    first = symptoms[0]
    message = (
        _where(first) + f": {first.meaning}. With Partition Manager each image's "
        "FLASH region is its partition: enlarge that partition or shrink the image"
    )
    fixes = [
        Fix(
            "make the image smaller (or enlarge its partition in the static file or Kconfig)",
            image_config_file(build, build.app),
            "CONFIG_SIZE_OPTIMIZATIONS=y",
        )
    ]
    return _finding(symptoms, message, fixes)


@log_rule(
    "PMD805",
    "log-partition-manager-failed",
    Severity.ERROR,
    explains=("pm-gaps", "pm-not-packed", "pm-invalid-address", "pm-failed", "pm-static-changed"),
)
def log_partition_manager_failed(build: Build, symptoms: List[Symptom]) -> Finding:
    """
    ## What it does
    Reads the attached build logs for Partition Manager errors: `Incorrect
    amount of gaps found in static configuration`, `Statically defined
    partitions are not packed`, `Error when inspecting …, invalid address`,
    any other `Partition manager failed:`, and the sysbuild warning `Static
    partition manager file has changed`.

    ## Why it matters
    Partition Manager stops the build on a static layout it cannot complete:
    more than one free gap in a region, static partitions that do not fill a
    `start_to_end` region from its start, a container whose address does not
    match its members. A changed static file without a pristine build keeps
    the images configured with the old layout.

    ## Example
    `Partition manager failed: Incorrect amount of gaps found in static configuration.`

    ## How to fix
    Attach the static file (`pm_static.yml`) so the layout rules can point at
    the entry; usually: remove or merge the entries that leave the extra gap,
    or copy a generated `build/partitions.yml`. After editing the static
    file, build pristine (`west build -p`).

    Advice: the layout rules (PMD105 and others) give the edit once the
    static file is attached; the log alone does not say which entry is wrong.
    """
    first = symptoms[0]
    only_stale = all(symptom.id == "pm-static-changed" for symptom in symptoms)
    message = _where(first) + f": {first.meaning}"
    if not build.static_files:
        message += "; the static layout was not attached, so the entry at fault cannot be named"
    finding = _finding(
        symptoms, message, [Fix("build pristine after changing the static file: west build -p")]
    )
    if only_stale:
        finding.severity = Severity.WARNING
    return finding


@log_rule(
    "PMD806",
    "log-flash-protection",
    Severity.ERROR,
    explains=("fprotect-failed", "rramc-protected"),
)
def log_flash_protection(build: Build, symptoms: List[Symptom]) -> Finding:
    """
    ## What it does
    Reads the attached logs for MCUboot's `Protect mcuboot flash failed,
    cancel startup.` and nrfutil's `Address 0x… is in a protected RRAMC
    region` (nRF54L).

    ## Why it matters
    MCUboot write-protects its own range before booting; the hardware accepts
    only ranges aligned to the protection block (4 KB nRF52, 16 KB nRF5340,
    32 KB nRF91; 1 KB units and at most 31 KB, or 62 KB combined from address
    0, on nRF54L). A static layout that moved `mcuboot_primary` off that grid
    stops every boot. On nRF54L the lock also outlives a reset, so flashing
    fails until the device is recovered.

    ## Example
    `E: Protect mcuboot flash failed, cancel startup.`

    ## How to fix
    Align `mcuboot_primary` to the protection block (keep the `EMPTY_*`
    fillers Partition Manager generated); on nRF54L keep MCUboot at most
    0xF800 with `CONFIG_FPROTECT_ALLOW_COMBINED_REGIONS=y`. For development
    only, `CONFIG_FPROTECT=n` in MCUboot. Recover a locked nRF54L with
    `nrfutil device recover`.

    Fix: the development-only `CONFIG_FPROTECT=n` is a Kconfig edit in
    MCUboot's fragment; aligning the layout is advice (PMD408 and PMD409
    judge it on the build).
    """
    first = symptoms[0]
    message = (
        _where(first) + f": {first.meaning}. The range from `mcuboot` to "
        "`mcuboot_primary` must sit on the SoC's protection-block grid"
    )
    fixes = [
        kconfig_fix(
            build,
            _mcuboot(build),
            [("CONFIG_FPROTECT", "n")],
            "development only: let MCUboot boot without protecting itself while the layout is fixed",
        )
    ]
    return _finding(symptoms, message, fixes)


@log_rule("PMD807", "log-tfm-alignment", Severity.ERROR, explains=("tfm-alignment",))
def log_tfm_alignment(build: Build, symptoms: List[Symptom]) -> Finding:
    """
    ## What it does
    Reads the attached build logs for TF-M's `!!!Partition alignment
    error!!!` / `TF-M non-secure start address is not aligned`.

    ## Why it matters
    The secure/non-secure boundary is enforced by the SPU (nRF91: 32 KB,
    nRF5340: 16 KB) or MPC (nRF54L: 4 KB) in whole regions. `tfm_nonsecure`
    must start on that grid, which depends on `mcuboot_pad` plus the TF-M
    size; the build refuses anything else.

    ## Example
    `!!!Partition alignment error!!! The non-secure start address in pm_static.yml or
    generated partition.yml is: 0x64600`

    ## How to fix
    Choose `CONFIG_PM_PARTITION_SIZE_TFM` as a multiple of the region size
    minus the pad (nRF91 with a 0x200 pad: 0x17E00 or 0x3FE00), or move
    `tfm_nonsecure` in the static file to a region boundary.

    Advice: the size depends on the pad and the SoC, which PMD503 computes
    from the build; the log alone does not give them.
    """
    first = symptoms[0]
    message = (
        _where(first) + f": {first.meaning}; size TF-M so that the pad plus TF-M "
        "ends on an SPU/MPC region boundary"
    )
    return _finding(symptoms, message, [])


@log_rule(
    "PMD808",
    "log-image-rejected",
    Severity.WARNING,
    explains=("bad-image-magic", "hash-not-found"),
)
def log_image_rejected(build: Build, symptoms: List[Symptom]) -> Finding:
    """
    ## What it does
    Reads the attached logs for an upload that reached the slot but was
    rejected: `Invalid image header magic (23)`, `boot_set_next with code 3`,
    `Hash not found (8)` and the TLV errors of the image group.

    ## Why it matters
    These usually mean the wrong file was uploaded (`zephyr.bin` or
    `merged.hex` instead of the MCUboot-signed image) or the slot data read
    back is not what was written (a slot of the wrong size or on a device
    that is not working).

    ## Example
    `Faled boot_set_next with code 3` and, in the phone app, `Invalid image header magic (23)`

    ## How to fix
    Upload `dfu_application.zip` or the signed binary (`zephyr.signed.bin`
    in sysbuild builds, `app_update.bin` in child-image builds).

    No edit: the cure is which file gets uploaded, not a setting.
    """
    first = symptoms[0]
    artifact = "build/<app>/zephyr/zephyr.signed.bin" if build.sysbuild else "build/zephyr/app_update.bin"
    message = (
        _where(first) + f": {first.meaning}. The upload reached the slot but is not "
        f"an MCUboot image: upload dfu_application.zip or {artifact}, not zephyr.bin or merged.hex"
    )
    return _finding(symptoms, message, [])


@log_rule(
    "PMD809",
    "log-missing-definition",
    Severity.ERROR,
    explains=("link-device-ord", "netcore-partition-undeclared"),
)
def log_missing_definition(build: Build, symptoms: List[Symptom]) -> Finding:
    """
    ## What it does
    Reads the attached build logs for two link/compile errors of multi-image
    flash setups: `undefined reference to '__device_dts_ord_N'` and
    `'PM_MCUBOOT_PRIMARY_1_ID' undeclared`.

    ## Why it matters
    The first means a devicetree node (typically the external flash behind
    `nordic,pm-ext-flash`) is used without its driver being built — often
    `CONFIG_PM_OVERRIDE_EXTERNAL_DRIVER_CHECK=y` without `CONFIG_SPI_NOR`.
    The second means MCUboot is built for network-core updates while the
    layout has no `mcuboot_primary_1`/`mcuboot_secondary_1` (a static file
    made before netcore update was enabled).

    ## Example
    `undefined reference to '__device_dts_ord_112'`

    ## How to fix
    Enable the real driver in the image that fails to link; add the
    network-core slots (`mcuboot_primary_1` in `ram_flash`,
    `mcuboot_secondary_1`, `pcd_sram`) or regenerate the static file.

    No edit: which image and which driver are not in the log; the build
    rules (PMD302, PMD501) give the edits once the build is attached.
    """
    first = symptoms[0]
    return _finding(symptoms, _where(first) + f": {first.meaning}", [])


@log_rule("PMD810", "log-boot-stops", Severity.WARNING, explains=("boot-hang",))
def log_boot_stops(build: Build, symptoms: List[Symptom]) -> Finding:
    """
    ## What it does
    Reads the attached console log for a boot that ends in MCUboot: `Unable to
    find bootable image`, or `Jumping to the first image slot` with nothing
    from the application after it.

    ## Why it matters
    Either there is no valid image in the primary slot (flashed without the
    signed image, or flashed at another address than MCUboot expects), or the
    application starts from a different address than it was linked for (a
    pad or slot address that differs between MCUboot's and the application's
    layout), or it crashes before its console is up.

    ## Example
    `I: Jumping to the first image slot` as the last line

    ## How to fix
    Flash `merged.hex` (or `merged_domains.hex`) so MCUboot and the signed
    application match, and make sure both images were built from the same
    layout (one static file, a pristine build).

    Advice: the cure is how the device is flashed, not a setting.
    """
    first = symptoms[0]
    message = (
        _where(first) + f": {first.meaning}: the application in the primary slot "
        "is missing, built for another layout, or crashes before its console starts"
    )
    return _finding(symptoms, message, [Fix("flash the merged image of one pristine build: west flash")])
