"""Reading images from files and bytes, with errors that say which file is wrong."""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import cv2
import numpy as np
import PIL.Image

from izde.errors import ImageError, ImageTooLarge
from izde.vision.types import Image

MAX_IMAGE_BYTES = 40 * 1024 * 1024
# A few megabytes of PNG can declare 30000x30000 pixels, and decoding allocates them all at once: the size is
# read from the header and checked before anything is decoded (security.max_image_pixels).
DEFAULT_MAX_PIXELS = 40_000_000


def too_many_pixels(width: int, height: int, max_pixels: int, name: str) -> ImageTooLarge | None:
    if width * height <= max_pixels:
        return None
    return ImageTooLarge(
        f"{name} is {width}x{height} pixels ({width * height / 1e6:.0f} Mpx), more than the limit of "
        f"{max_pixels / 1e6:.0f} Mpx",
        "send a smaller image, or raise security.max_image_pixels",
    )


def header_size(data: bytes, name: str = "image") -> tuple[int, int]:
    """Width and height as the header declares them, without decoding the pixels."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PIL.Image.DecompressionBombWarning)
            with PIL.Image.open(io.BytesIO(data)) as im:
                width, height = im.size
    except PIL.Image.DecompressionBombError:
        # Pillow's own guard, far above any limit izde allows, already refused it while reading the header.
        limit = 2 * (PIL.Image.MAX_IMAGE_PIXELS or 0)
        raise ImageTooLarge(
            f"{name} declares more than {limit / 1e6:.0f} Mpx",
            "send a smaller image, or raise security.max_image_pixels",
        ) from None
    except Exception:  # Pillow raises many kinds on a malformed header; all mean the same to the caller
        raise ImageError(f"{name} is not a readable image", "give a JPEG, PNG, BMP, TIFF or WebP photo") from None
    return int(width), int(height)


def check_pixels(data: bytes, name: str, max_pixels: int) -> None:
    """Refuse an image whose header declares more than ``max_pixels`` pixels, or no readable size at all."""
    error = too_many_pixels(*header_size(data, name), max_pixels, name)
    if error is not None:
        raise error


def decode_image(data: bytes, name: str = "image", max_pixels: int = DEFAULT_MAX_PIXELS) -> Image:
    """Decode JPEG/PNG/... bytes into an RGB uint8 array (EXIF orientation applied)."""
    if not data:
        raise ImageError(f"{name} is empty")
    if len(data) > MAX_IMAGE_BYTES:
        raise ImageError(f"{name} is larger than {MAX_IMAGE_BYTES // (1024 * 1024)} MiB")
    check_pixels(data, name, max_pixels)
    bgr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if bgr is None or bgr.size == 0:
        raise ImageError(f"{name} is not a readable image", "give a JPEG, PNG, BMP, TIFF or WebP photo")
    return np.ascontiguousarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))


def read_image_file(path: Path, max_pixels: int = DEFAULT_MAX_PIXELS) -> tuple[Image, bytes]:
    """The decoded RGB image and the file's bytes (kept as the reference original)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ImageError(f"{path} does not exist") from None
    except IsADirectoryError:
        raise ImageError(f"{path} is a directory, not an image file") from None
    except OSError as e:
        raise ImageError(f"cannot read {path}: {e.strerror}") from None
    return decode_image(data, str(path), max_pixels), data


def encode_jpeg(image: Image, quality: int = 92) -> bytes:
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(image, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ImageError("could not encode a JPEG")
    return bytes(buf)
