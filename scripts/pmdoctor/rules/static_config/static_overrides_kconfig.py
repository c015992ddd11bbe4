"""PMD202 static-overrides-kconfig."""

from __future__ import annotations

from typing import Iterator, List

from ...model import Build, Era, Layout, Source
from ...model.findings import Finding, Fix, Severity, Text
from .. import rule
from .._shared.common import UserSettings, static_layout_for
from .._shared.layouts import hx

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
        for symbol in image.config.settings:
            if not symbol.startswith(_SIZE_PREFIX):
                continue  # before reading the setting: a .config's settings are made when read
            setting = image.config.settings[symbol]
            if not isinstance(setting.value, int):
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
                    Text(user.source, f": {symbol}={hx(setting.value)}"),
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
