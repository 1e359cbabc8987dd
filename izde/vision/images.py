"""Reading images from files and bytes, with errors that say which file is wrong."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from izde.errors import ImageError
from izde.vision.types import Image

MAX_IMAGE_BYTES = 40 * 1024 * 1024


def decode_image(data: bytes, name: str = "image") -> Image:
    """Decode JPEG/PNG/... bytes into an RGB uint8 array (EXIF orientation applied)."""
    if not data:
        raise ImageError(f"{name} is empty")
    if len(data) > MAX_IMAGE_BYTES:
        raise ImageError(f"{name} is larger than {MAX_IMAGE_BYTES // (1024 * 1024)} MiB")
    bgr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if bgr is None or bgr.size == 0:
        raise ImageError(f"{name} is not a readable image", "give a JPEG, PNG, BMP, TIFF or WebP photo")
    return np.ascontiguousarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))


def read_image_file(path: Path) -> tuple[Image, bytes]:
    """The decoded RGB image and the file's bytes (kept as the reference original)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ImageError(f"{path} does not exist") from None
    except IsADirectoryError:
        raise ImageError(f"{path} is a directory, not an image file") from None
    except OSError as e:
        raise ImageError(f"cannot read {path}: {e.strerror}") from None
    return decode_image(data, str(path)), data


def encode_jpeg(image: Image, quality: int = 92) -> bytes:
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(image, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ImageError("could not encode a JPEG")
    return bytes(buf)
