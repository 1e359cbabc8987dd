"""Malformed images and videos: every one is decoded or refused with a clear error; no crash, no hang, no
unbounded allocation. The counts are printed (run with -s to see them).

Images (hypothesis, 1,200 examples): the real shared photos truncated, with flipped bytes, wrong magic, bad PNG
chunks and huge declared dimensions. Videos (240 files made in a temporary folder from the shared clips):
truncated at random offsets, with flipped bytes and zeroed headers, read in a separate process."""

from __future__ import annotations

import json
import random
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from izde.errors import ImageError
from izde.vision.images import decode_image
from izde.web.uploads import image_kind
from tests.conftest import CROWD, HAMILTON, require_data

IMAGE_EXAMPLES = 1200
VIDEOS = 240
PHOTOS = ("lin-manuel-miranda.png", "obama.jpg", "biden.jpg", "two_people.jpg", "alex-lacamoire.png")


def _photos() -> list[bytes]:
    return [require_data(HAMILTON / name).read_bytes() for name in PHOTOS]


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


@st.composite
def malformed_image(draw: st.DrawFn) -> bytes:
    base = draw(st.sampled_from(_PHOTOS))
    how = draw(st.sampled_from(["truncate", "flip", "magic", "png_dims", "png_chunk", "random"]))
    if how == "truncate":
        return base[: draw(st.integers(0, len(base) - 1))]
    if how == "flip":
        data = bytearray(base)
        for _ in range(draw(st.integers(1, 64))):
            i = draw(st.integers(0, len(data) - 1))
            data[i] ^= draw(st.integers(1, 255))
        return bytes(data)
    if how == "magic":
        magic = draw(st.sampled_from([b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"BM", b"II*\x00", b"RIFF"]))
        return magic + base[len(magic) :] if draw(st.booleans()) else magic + draw(st.binary(max_size=256))
    if how == "png_dims":
        w, h = draw(st.integers(1, 2**31 - 1)), draw(st.integers(1, 2**31 - 1))
        ihdr = struct.pack(">IIBBBBB", w, h, 8, draw(st.sampled_from([0, 2, 6])), 0, 0, 0)
        body = zlib.compress(b"\x00" * draw(st.integers(0, 4096)))
        return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", body) + _chunk(b"IEND", b"")
    if how == "png_chunk":
        ihdr = struct.pack(">IIBBBBB", 64, 64, 8, 2, 0, 0, 0)
        junk = draw(st.binary(max_size=512))
        kind = draw(st.sampled_from([b"IDAT", b"zTXt", b"iCCP", b"PLTE", b"tRNS", b"eXIf"]))
        crc_ok = draw(st.booleans())
        chunk = _chunk(kind, junk) if crc_ok else struct.pack(">I", len(junk)) + kind + junk + b"\0\0\0\0"
        return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + chunk + _chunk(b"IEND", b"")
    return draw(st.binary(max_size=2048))


_PHOTOS: list[bytes] = []
_OUTCOMES: dict[str, int] = {}


@pytest.fixture(scope="module", autouse=True)
def _load_photos() -> None:
    _PHOTOS[:] = _photos()


@given(data=malformed_image())
@settings(
    max_examples=IMAGE_EXAMPLES,
    deadline=5000,  # ms per example: a decoder that spins or allocates gigabytes shows up here
    suppress_health_check=list(HealthCheck),
    database=None,
    derandomize=True,
)
def _decode_or_refuse(data: bytes) -> None:
    image_kind(data)  # the upload check never fails on any bytes
    try:
        image = decode_image(data, "fuzz.img")
    except ImageError as e:
        assert e.message and e.exit_code == 2
        _OUTCOMES["refused"] = _OUTCOMES.get("refused", 0) + 1
        return
    assert isinstance(image, np.ndarray) and image.ndim == 3 and image.shape[2] == 3
    assert image.shape[0] * image.shape[1] <= 40_000_000
    _OUTCOMES["decoded"] = _OUTCOMES.get("decoded", 0) + 1


def test_malformed_images_are_decoded_or_refused() -> None:
    _OUTCOMES.clear()
    _decode_or_refuse()
    total = sum(_OUTCOMES.values())
    print(f"\nfuzz images: {total} malformed images, {_OUTCOMES} (0 crashes, 0 hangs)")
    assert total >= 1000, _OUTCOMES
    assert _OUTCOMES.get("refused", 0) > 0


def _damage(data: bytes, rng: random.Random) -> bytes:
    how = rng.choice(["truncate", "flip", "flip_many", "zero_head", "shuffle_atoms"])
    out = bytearray(data)
    if how == "truncate":
        return bytes(out[: rng.randrange(0, len(out))])
    if how in ("flip", "flip_many"):
        for _ in range(rng.randrange(1, 40) if how == "flip" else 2000):
            i = rng.randrange(len(out))
            out[i] ^= rng.randrange(1, 256)
        return bytes(out)
    if how == "zero_head":
        n = rng.randrange(1, 4096)
        out[:n] = bytes(n)
        return bytes(out)
    # Swap two 4 KiB blocks: atoms and frames in the wrong place.
    a, b = rng.randrange(len(out) - 4096), rng.randrange(len(out) - 4096)
    out[a : a + 4096], out[b : b + 4096] = out[b : b + 4096], out[a : a + 4096]
    return bytes(out)


def test_malformed_videos_are_read_or_refused(tmp_path: Path) -> None:
    clips = [require_data(HAMILTON / "short_hamilton_clip.mp4").read_bytes()]
    crowd = require_data(CROWD / "crowd.mp4")
    if crowd.stat().st_size < 20 * 1024 * 1024:
        clips.append(crowd.read_bytes()[: 2 * 1024 * 1024])  # a truncated prefix of the crowd clip
    rng = random.Random(2026)
    for i in range(VIDEOS):
        (tmp_path / f"v{i:03d}.mp4").write_bytes(_damage(clips[i % len(clips)], rng))
    r = subprocess.run(
        [sys.executable, "-m", "tests.fuzz.video_worker", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=600,
        env={"OPENCV_FFMPEG_LOGLEVEL": "-8", "OPENCV_LOG_LEVEL": "ERROR", "PATH": "/usr/bin:/bin"},
        cwd=Path(__file__).resolve().parents[2],
    )
    assert r.returncode == 0, f"the reader process died (status {r.returncode}): {r.stderr[-3000:]}"
    report = json.loads(r.stdout.strip().splitlines()[-1])
    counts = report["counts"]
    print(f"\nfuzz videos: {sum(counts.values())} malformed videos, {counts}, slowest {report['slowest_s']} s")
    assert sum(counts.values()) == VIDEOS
    assert not {"hang", "exception", "short-but-finished"} & set(counts), r.stderr[-3000:]
