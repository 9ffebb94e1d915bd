"""Hostile uploads are decoded within a fixed memory budget (issue 16, finding 1).

Each shape is decoded in a child process (no TensorFlow, nothing else running), which reports
the growth of its peak resident memory (``VmHWM``, or ``ru_maxrss``) across one ``decode_image`` call. A
48.7 KB 16-bit grey PNG of 5000 x 5000 pixels used to raise the server's memory by ~1.07 GB.
"""

from __future__ import annotations

import json
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

from tests.support.figures import record_figure
from tests.support.paths import REPO_ROOT

#: The most one accepted upload may add to the peak memory of the process decoding it.
BUDGET_MB = 100

# The child imports only cnnviz.core.uploads (NumPy and Pillow), reads the file, and measures.
# Peak RSS is read from /proc/self/status (VmHWM, per address space) where there is one: ru_maxrss
# survives exec on Linux, so a child of a big pytest process would report its parent's peak.
_PRELUDE = """
import json, resource, sys, threading
from cnnviz.core.uploads import ImageUploadError, decode_image

def peak_kb():
    try:
        with open("/proc/self/status") as status:
            return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
    except (OSError, StopIteration):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
"""

_CHILD = _PRELUDE + """

data = open(sys.argv[1], "rb").read()
before = peak_kb()
try:
    shape = list(decode_image(data, mode=sys.argv[2], max_side=int(sys.argv[3])).shape)
except ImageUploadError as error:
    shape = str(error)
after = peak_kb()
print(json.dumps({"growth_mb": (after - before) / 1024, "shape": shape}))
"""


def _chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def _one_colour_png(width: int, height: int, bit_depth: int, colour_type: int) -> bytes:
    """A valid one-colour PNG, compressed about a megabyte of rows at a time so that building it costs little
    memory (one call per row took 17 s for the 25,000,000 rows of a 1-pixel-wide picture)."""
    channels = {0: 1, 2: 3, 4: 2, 6: 4}[colour_type]
    row = b"\x00" + bytes([0x7F]) * (width * channels * bit_depth // 8)
    per_call = max(1, 1_000_000 // len(row))
    compressor = zlib.compressobj(9)
    parts = [compressor.compress(row * min(per_call, height - done)) for done in range(0, height, per_call)]
    parts.append(compressor.flush())
    header = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", b"".join(parts)) + _chunk(b"IEND", b"")


#: The shapes of the attack (width, height, bit depth, PNG colour type: 0 grey, 6 RGBA), and whether
#: each is decoded (True) or refused before decoding because its pixels alone would need over 56 MiB.
HOSTILE = {
    "grey16-5000x5000": ((5000, 5000, 16, 0), True),
    "rgba8-5000x5000": ((5000, 5000, 8, 6), False),
    "rgba16-5000x5000": ((5000, 5000, 16, 6), False),
    "grey8-1x25000000": ((1, 25_000_000, 8, 0), False),
    "rgba8-3800x3800": ((3800, 3800, 8, 6), True),  # about the largest colour picture still decoded
}


@pytest.fixture(scope="module")
def hostile_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("hostile")
    files = {}
    for name, (shape, _) in HOSTILE.items():
        files[name] = folder / f"{name}.png"
        files[name].write_bytes(_one_colour_png(*shape))
    return files


def _decode_in_child(path: Path, mode: str, max_side: int) -> dict:
    result = subprocess.run(
        [sys.executable, "-c", _CHILD, str(path), mode, str(max_side)],
        capture_output=True, text=True, cwd=REPO_ROOT, timeout=300, check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


# Kernels decodes grey at its chosen resolution, Sketch decodes colour at the default 1024.
@pytest.mark.parametrize(("mode", "max_side"), [("L", 96), ("RGB", 1024)], ids=["kernels", "sketch"])
@pytest.mark.parametrize("name", list(HOSTILE))
def test_hostile_upload_stays_within_the_memory_budget(
    hostile_files: dict[str, Path], name: str, mode: str, max_side: int
) -> None:
    assert hostile_files[name].stat().st_size < 300_000  # tiny files: the attack is in the declared size
    outcome = _decode_in_child(hostile_files[name], mode, max_side)
    print(f"{name} {mode} max_side={max_side}: +{outcome['growth_mb']:.1f} MB -> {outcome['shape']}")
    result = f"decoded to {outcome['shape']}" if isinstance(outcome["shape"], list) else "refused"
    record_figure(f"upload {name} ({mode}, max side {max_side})",
                  {"peak_rss_growth_mb": round(outcome["growth_mb"], 1), "budget_mb": BUDGET_MB, "result": result})
    assert outcome["growth_mb"] <= BUDGET_MB, outcome
    accepted = HOSTILE[name][1]
    assert isinstance(outcome["shape"], list) == accepted, outcome
    if not accepted:
        assert "MB of memory to open" in outcome["shape"]


_CHILD_CONCURRENT = _PRELUDE + """

uploads = [open(path, "rb").read() for path in sys.argv[1:]]
outcomes = []

def decode(data):
    try:
        outcomes.append(list(decode_image(data, mode="RGB").shape))
    except ImageUploadError as error:
        outcomes.append(str(error)[:60])

before = peak_kb()
threads = [threading.Thread(target=decode, args=(data,)) for data in uploads]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
print(json.dumps({"growth_mb": (peak_kb() - before) / 1024, "outcomes": outcomes}))
"""


def test_eight_hostile_uploads_at_once_stay_within_four_budgets(hostile_files: dict[str, Path]) -> None:
    # Two of each shape at the same moment, as a classroom of tabs would send them.
    paths = [str(path) for path in hostile_files.values()] * 2
    paths = paths[:8]
    result = subprocess.run(
        [sys.executable, "-c", _CHILD_CONCURRENT, *paths],
        capture_output=True, text=True, cwd=REPO_ROOT, timeout=600, check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    print(f"8 at once: +{outcome['growth_mb']:.1f} MB")
    record_figure("upload 8 hostile files at once", {"peak_rss_growth_mb": round(outcome["growth_mb"], 1),
                                                      "budget_mb": 4 * BUDGET_MB})
    assert len(outcome["outcomes"]) == 8
    assert outcome["growth_mb"] <= 4 * BUDGET_MB, outcome
