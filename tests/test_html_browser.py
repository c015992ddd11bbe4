"""The HTML report in a real browser: headless Chromium loads it, renders it, and logs nothing.

Chromium prints every console message (a script error, a Content-Security-
Policy violation) on stderr with ``--enable-logging=stderr``; the page must
cause none. ``--dump-dom`` shows the document after load: the maps and the
findings must be in it. A screenshot must show the map's colours. The tests
skip only where no Chromium is installed (Debian: ``apt-get install chromium``).
"""

from __future__ import annotations

import shutil
import struct
import subprocess
import zlib
from pathlib import Path
from typing import List, Tuple

import pytest

from conftest import ROOT
from helpers import run_pmdoctor
from pmdoctor.analysis import check
from pmdoctor.assemble import load_build
from pmdoctor.inputs.scope import Environment
from pmdoctor.report._map_model import build_map
from test_html import HOSTILE, render

CHROMIUM = next(
    (shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), None
)
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no Chromium here (apt-get install chromium)")

# The flags headless Chromium needs as root, offline, with nothing of the user's profile.
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--enable-logging=stderr",
    "--v=0",
)
BUILDS = {
    "nrf5340": "tests/builds/foundation/sysbuild_nrf5340",
    "pinnacle": "examples/pinnacle100-qspi-secondary/build",
}
ERROR_RED = (0xC6, 0x28, 0x28)  # --error: the flag over a partition with an error
APP_BLUE = (0x8F, 0xB8, 0xE8)  # .k-app


def chromium(page: Path, tmp_path: Path, *mode: str) -> subprocess.CompletedProcess:
    profile = tmp_path / f"profile-{len(list(tmp_path.iterdir()))}"
    return subprocess.run(
        [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *mode, page.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
    )


def console_messages(stderr: str) -> List[str]:
    return [line for line in stderr.splitlines() if ":CONSOLE" in line or "Uncaught" in line]


def html_report(build: str, tmp_path: Path) -> Path:
    out = tmp_path / f"{build}.html"
    proc = run_pmdoctor("-d", BUILDS[build], "--format", "html", "-o", str(out), cwd=ROOT)
    assert proc.returncode in (0, 1), proc.stderr
    return out


@pytest.mark.parametrize("build", sorted(BUILDS))
def test_the_page_loads_with_its_maps_and_findings(build, tmp_path):
    page = html_report(build, tmp_path)
    proc = chromium(page, tmp_path, "--dump-dom")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert console_messages(proc.stderr) == []
    dom = proc.stdout
    analysis_build = load_build(ROOT / BUILDS[build], Environment())
    analysis = check(analysis_build)
    drawn = build_map(analysis_build, analysis.findings)
    regions = [region for layout in drawn.layouts for region in layout.regions if region.rows]
    assert dom.count('<svg class="map"') == len(regions)
    partitions = sum(1 for region in regions for row in region.rows if row.partition is not None)
    assert dom.count('class="part k-') >= partitions
    assert dom.count('<article class="finding') == len(analysis.findings)
    assert "<script" not in dom


def test_a_page_of_hostile_names_runs_nothing(tmp_path):
    page = tmp_path / "hostile.html"
    page.write_text(render(HOSTILE["all"]), encoding="utf-8")
    proc = chromium(page, tmp_path, "--dump-dom")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert console_messages(proc.stderr) == []  # no script ran, nothing was blocked
    assert "<script" not in proc.stdout and "<img" not in proc.stdout
    assert proc.stdout.count('<svg class="map"') == 2


def test_the_screenshot_shows_the_map(tmp_path):
    page = html_report("pinnacle", tmp_path)
    shot = tmp_path / "pinnacle.png"
    proc = chromium(page, tmp_path, "--window-size=1280,1600", f"--screenshot={shot}")
    assert proc.returncode == 0 and shot.is_file(), proc.stderr[-2000:]
    assert console_messages(proc.stderr) == []
    width, height, pixels = decode_png(shot.read_bytes())
    assert (width, height) == (1280, 1600)
    colours = {}
    for pixel in pixels:
        colours[pixel] = colours.get(pixel, 0) + 1
    assert colours.get(APP_BLUE, 0) > 2000  # the application partition, drawn to scale
    assert colours.get(ERROR_RED, 0) > 200  # the partitions an error is about, flagged
    assert len(colours) > 50  # text, not a blank page


def decode_png(data: bytes) -> Tuple[int, int, List[Tuple[int, int, int]]]:
    """The RGB pixels of an 8-bit, non-interlaced RGB or RGBA PNG (what Chromium writes)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    position, idat = 8, b""
    width = height = channels = 0
    while position < len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        kind = data[position + 4 : position + 8]
        body = data[position + 8 : position + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", body)
            assert depth == 8 and colour in (2, 6) and interlace == 0, (depth, colour, interlace)
            channels = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            idat += body
        position += 12 + length
    raw = zlib.decompress(idat)
    stride = width * channels
    previous = bytearray(stride)
    pixels: List[Tuple[int, int, int]] = []
    for row in range(height):
        start = row * (stride + 1)
        line = bytearray(raw[start + 1 : start + 1 + stride])
        _unfilter(raw[start], line, previous, channels)
        pixels += [tuple(line[i : i + 3]) for i in range(0, stride, channels)]
        previous = line
    return width, height, pixels


def _unfilter(kind: int, line: bytearray, previous: bytearray, step: int) -> None:
    for i in range(len(line)):
        left = line[i - step] if i >= step else 0
        up = previous[i]
        corner = previous[i - step] if i >= step else 0
        if kind == 1:
            line[i] = (line[i] + left) & 0xFF
        elif kind == 2:
            line[i] = (line[i] + up) & 0xFF
        elif kind == 3:
            line[i] = (line[i] + (left + up) // 2) & 0xFF
        elif kind == 4:
            line[i] = (line[i] + _paeth(left, up, corner)) & 0xFF


def _paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c
