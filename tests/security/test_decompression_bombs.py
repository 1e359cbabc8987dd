"""Images and video frames declaring more pixels than security.max_image_pixels are refused from their header.

A 2.6 MB PNG declaring 30000x30000 pixels once passed the upload checks and, decoded, took all the memory of the
machine. Each way an image reaches a decoder is tried: the decoder itself, ``watchlist add`` (the service), an
HTTP upload, a folder source and a video file; the refusal happens before decoding, so it is also fast."""

from __future__ import annotations

import resource
import struct
import subprocess
import sys
import threading
import zlib
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from izde.api import Izde
from izde.config import Settings
from izde.errors import ImageError, ImageTooLarge, SourceError
from izde.governance.roles import Role
from izde.pipeline.sources import FileSource, FolderSource, SourceKind, SourceSpec
from izde.vision.images import decode_image, header_size
from izde.watchlist.types import Category, PersonSpec, PhotoSpec, Provenance
from izde.web.app import create_app
from tests.conftest import HAMILTON, require_data
from tests.security.conftest import PASSWORD, add_user
from tests.store.factories import future


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_bomb(width: int = 30000, height: int = 30000, rows: int = 64) -> bytes:
    """A valid PNG header declaring ``width`` x ``height`` grey pixels; the first rows of zeros compressed."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    body = zlib.compress(b"\x00" * ((width + 1) * rows), 9)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", body) + _chunk(b"IEND", b"")


def test_header_is_read_without_decoding() -> None:
    assert header_size(png_bomb(8000, 6000)) == (8000, 6000)
    with pytest.raises(ImageTooLarge):  # Pillow's own guard refuses 900 Mpx while reading the header
        header_size(png_bomb())


def test_decoder_refuses_the_bomb_before_allocating() -> None:
    # In a child limited to 1 GiB of address space: decoding 900 Mpx would fail there with MemoryError or be
    # killed; the refusal must come first, as a clear ImageTooLarge.
    code = (
        "import resource, sys; resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30));"
        "from izde.vision.images import decode_image; from izde.errors import ImageTooLarge\n"
        "try:\n    decode_image(sys.stdin.buffer.read(), 'bomb.png')\n"
        "except ImageTooLarge as e:\n    print('refused:', e.message); sys.exit(0)\nsys.exit(1)"
    )
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    r = subprocess.run([sys.executable, "-c", code], input=png_bomb(), capture_output=True, timeout=120)
    assert r.returncode == 0, r.stderr.decode()[-2000:]
    assert b"Mpx" in r.stdout
    assert resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss - before < 1024 * 1024  # KiB: under 1 GiB


def test_a_bomb_under_pillows_guard_is_refused_by_izdes_limit() -> None:
    with pytest.raises(ImageTooLarge) as e:
        decode_image(png_bomb(8000, 6000), "b.png")
    assert "8000x6000" in e.value.message and "limit of 40 Mpx" in e.value.message


@pytest.mark.parametrize(
    "data, error",
    [(png_bomb(), ImageTooLarge), (png_bomb(8000, 6000), ImageTooLarge), (b"\x89PNG\r\n\x1a\nbroken", ImageError)],
)
def test_decoder_table(data: bytes, error: type[Exception]) -> None:
    with pytest.raises(error):
        decode_image(data, "x.png")


def test_limit_is_a_setting() -> None:
    small = png_bomb(400, 300)
    with pytest.raises(ImageTooLarge):
        decode_image(small, "x.png", max_pixels=100_000)
    assert Settings().security.max_image_pixels == 40_000_000


def test_watchlist_add_refuses_the_bomb(deployment: Izde, tmp_path: Path) -> None:
    add_user(deployment, "curator", Role.CURATOR)
    deployment.login("curator", PASSWORD)
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(png_bomb())
    person = PersonSpec(
        display_name="X Y", category=Category.WANTED, legal_basis="W 1", issuing_authority="Court", expires_on=future()
    )
    with pytest.raises(ImageTooLarge) as e:
        deployment.propose(person, [PhotoSpec(path=bomb, provenance=Provenance.OFFICIAL_RECORD)])
    assert e.value.exit_code == 2
    assert deployment.persons() == []


def test_upload_of_the_bomb_is_a_413(settings: Settings) -> None:
    web = settings.model_copy(update={"web": settings.web.model_copy(update={"secure_cookies": False})})
    with Izde(web) as izde:
        izde.initialise("admin", PASSWORD, "City Police", law_enforcement=True)
        izde.login("admin", PASSWORD)
        add_user(izde, "curator", Role.CURATOR)
    with TestClient(create_app(web), base_url="http://127.0.0.1") as client:
        token = client.post("/api/v1/auth/login", json={"username": "curator", "password": PASSWORD}).json()["token"]
        form = {
            "display_name": "X Y",
            "category": "wanted",
            "legal_basis": "W 1",
            "issuing_authority": "Court",
            "expires_on": "2099-12-31",
            "provenance": "official_record",
        }
        r = client.post(
            "/api/v1/persons",
            data=form,
            files=[("photos", ("bomb.png", png_bomb(), "image/png"))],
            headers={"Authorization": f"Bearer {token}"},
        )
        assert r.status_code == 413, r.text
        assert "Mpx" in r.json()["error"] and r.json()["hint"]
        staged = list(web.home.glob(".upload-*"))
        assert staged == []


def test_folder_source_skips_the_bomb_and_says_so(tmp_path: Path) -> None:
    (tmp_path / "a.png").write_bytes(png_bomb())
    src = FolderSource(SourceSpec(SourceKind.FOLDER, str(tmp_path)))
    assert list(src.frames(5.0, threading.Event())) == []
    assert src.stats.error is not None and not src.stats.finished


def test_video_frames_over_the_limit_are_refused_before_decoding() -> None:
    clip = require_data(HAMILTON / "short_hamilton_clip.mp4")
    with pytest.raises(SourceError) as e:
        FileSource(SourceSpec(SourceKind.FILE, str(clip)), max_pixels=10_000)
    assert "Mpx" in e.value.message and "max_image_pixels" in (e.value.hint or "")
    FileSource(SourceSpec(SourceKind.FILE, str(clip)))  # the default limit lets ordinary footage through
