"""Photo uploads: refused when too large or not an image, before anything reaches the service."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from fastapi import UploadFile
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from izde.store.files import UPLOAD_PREFIX
from izde.vision.images import check_pixels
from izde.web.errors import PayloadTooLarge, UnsupportedMediaType, error_response

_MAGIC: tuple[tuple[bytes, int, str], ...] = (
    (b"\xff\xd8\xff", 0, "jpg"),
    (b"\x89PNG\r\n\x1a\n", 0, "png"),
    (b"WEBP", 8, "webp"),
    (b"BM", 0, "bmp"),
    (b"II*\x00", 0, "tif"),
    (b"MM\x00*", 0, "tif"),
)
MAX_PHOTOS = 10


def image_kind(data: bytes) -> str | None:
    """The image format by its magic bytes (the declared content type is the client's claim, not a fact)."""
    for magic, offset, ext in _MAGIC:
        if data[offset : offset + len(magic)] == magic and (ext != "webp" or data[:4] == b"RIFF"):
            return ext
    return None


async def read_image(upload: UploadFile, limit: int, max_pixels: int) -> tuple[bytes, str]:
    """The upload's bytes and format; too large (in bytes, or in pixels by its header) or not an image: refused
    before it is staged or decoded."""
    data = await upload.read(limit + 1)
    name = upload.filename or "upload"
    if len(data) > limit:
        raise PayloadTooLarge(f"{name} is larger than {limit} bytes", "send a smaller photo")
    kind = image_kind(data)
    if kind is None:
        raise UnsupportedMediaType(f"{name} is not an image", "send a JPEG, PNG, WebP, BMP or TIFF photo")
    check_pixels(data, name, max_pixels)  # ImageTooLarge is a 413, an unreadable header a 415
    return data, kind


@contextmanager
def staged_files(home: Path, files: list[tuple[bytes, str]]) -> Iterator[list[Path]]:
    """The uploads as files in a private folder of the data directory (the service reads paths), removed after."""
    home.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix=UPLOAD_PREFIX, dir=home))  # mode 0700; swept if a crash leaves it
    try:
        paths = []
        for i, (data, ext) in enumerate(files, 1):
            path = folder / f"photo-{i}.{ext}"
            path.write_bytes(data)
            paths.append(path)
        yield paths
    finally:
        shutil.rmtree(folder, ignore_errors=True)


class BodyLimit:
    """Refuses request bodies over ``limit`` bytes while they arrive, whether or not Content-Length is sent,
    so an oversized upload is never spooled to disk in full."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await error_response(413, f"the request is larger than {self.limit} bytes")(scope, receive, send)
            return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise PayloadTooLarge(f"the request is larger than {self.limit} bytes")
            return message

        await self.app(scope, limited, send)
