"""Turn the bytes of an uploaded picture into a NumPy array, safely.

Students upload whatever is on their phones, so every upload is treated as
hostile until proven otherwise:

* Only a short list of common raster formats is decoded (PNG, JPEG, GIF, BMP,
  WebP, TIFF). Formats that hand the file to an external program (EPS and
  PostScript run Ghostscript) are never opened.
* The pixel count is checked from the header *before* any pixel is decoded, so
  a decompression bomb (a tiny file that claims to be enormous) costs nothing.
  Pillow's own guard (``Image.MAX_IMAGE_PIXELS``) stays on as a second line.
* The EXIF orientation that phones write is applied, so a portrait photo is
  not shown lying on its side.
* Memory is bounded whatever the pixel format (issue 16: a 49 KB 16-bit PNG
  once cost a gigabyte): a picture whose decoded pixels would take more than
  :data:`MAX_DECODED_BYTES` is refused from its header; JPEGs are decoded at a
  reduced scale; large pictures are box-reduced strip by strip to about
  ``max_side`` before any conversion (16-bit grey in float32), then resampled;
  and at most :data:`MAX_CONCURRENT_DECODES` uploads are decoded at once in
  the server. One upload raises the peak memory by less than 100 MB
  (tests/unit/core/test_uploads_memory.py measures it).

Every rejection is an :class:`ImageUploadError` (a ``ValueError``) whose
message says what was received, what was expected and what to do.
"""

from __future__ import annotations

import codecs
import io
import math
import threading
from typing import Final

import numpy as np
from PIL import Image, UnidentifiedImageError

#: Formats Pillow may use to decode an upload (names as in ``Image.open(formats=...)``; "JPEG" covers
#: the multi-picture JPEGs (MPO) that phones write).
ALLOWED_FORMATS: Final[tuple[str, ...]] = ("PNG", "JPEG", "GIF", "BMP", "WEBP", "TIFF")
#: File name extensions of those formats, for ``st.file_uploader(type=...)``.
FILE_TYPES: Final[tuple[str, ...]] = ("png", "jpg", "jpeg", "gif", "bmp", "webp", "tif", "tiff")
#: Output modes :func:`decode_image` can return.
OUTPUT_MODES: Final[tuple[str, ...]] = ("L", "RGB", "RGBA")
#: Default limit on the number of pixels an upload may declare (25 megapixels: a large phone photo).
DEFAULT_MAX_PIXELS: Final[int] = 25_000_000
#: Default limit on the longest side of the returned array.
DEFAULT_MAX_SIDE: Final[int] = 1024

_FORMATS_IN_WORDS = "PNG, JPEG, GIF, BMP, WebP or TIFF"

#: Files people upload by mistake, recognised by their first bytes: (offset, signature, name, advice).
_NOT_PICTURES: Final[tuple[tuple[int, tuple[bytes, ...], str, str], ...]] = (
    (4, (b"ftypheic", b"ftypheix", b"ftyphevc", b"ftypmif1", b"ftypmsf1", b"ftypavif"),
     "an HEIC/HEIF or AVIF photo (the format iPhones save by default)",
     "Share or export it as a JPEG first (on an iPhone: Settings > Camera > Formats > Most Compatible). "),
    (0, (b"%PDF",), "a PDF document", "Take a screenshot of the page, or export it as PNG, and upload that. "),
    (0, (b"PK\x03\x04",), "a ZIP archive (Word, PowerPoint and .keras files are ZIP archives too)", ""),
)


def _what_it_is(data: bytes) -> tuple[str, str]:
    """Say in words what an unreadable upload looks like, and what to do about it: (description, advice).

    Both are empty when the bytes look like nothing in particular.
    """
    for offset, signatures, name, advice in _NOT_PICTURES:
        if any(data[offset:offset + len(signature)] == signature for signature in signatures):
            return name, advice
    head = data[:60]
    try:
        # Incremental, so that a character cut in two at byte 60 does not count against the text.
        text = codecs.getincrementaldecoder("utf-8")().decode(head)
    except UnicodeDecodeError:
        text = ""
    if text and all(character.isprintable() or character in "\t\r\n" for character in text):
        snippet = " ".join(text.split()) + ("…" if len(data) > len(head) else "")
        return f'text ("{snippet}")', ""
    return "", ""


class ImageUploadError(ValueError):
    """An upload that is not a usable image (not an image, too large, empty, or unreadable)."""


def _check_arguments(data: object, mode: str, max_side: int, max_pixels: int) -> bytes:
    if mode not in OUTPUT_MODES:
        raise ValueError(f"Unknown output mode {mode!r}; expected one of {', '.join(OUTPUT_MODES)}.")
    for argument, value in (("max_side", max_side), ("max_pixels", max_pixels)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{argument} must be a positive integer, got {value!r}.")
    if isinstance(data, (bytearray, memoryview)):
        data = bytes(data)
    if not isinstance(data, bytes):
        raise ImageUploadError(
            f"Expected the uploaded file's bytes, got {type(data).__name__}. "
            "Pass `uploaded_file.getvalue()` from st.file_uploader."
        )
    if len(data) == 0:
        raise ImageUploadError("The uploaded file is empty (0 bytes). Choose a picture file and try again.")
    return data


def _open(data: bytes, max_pixels: int) -> Image.Image:
    """Open the image lazily (header only) and check its declared size before decoding."""
    try:
        image = Image.open(io.BytesIO(data), formats=list(ALLOWED_FORMATS))
    except Image.DecompressionBombError as error:
        raise ImageUploadError(
            f"The file declares an enormous image ({error}); it looks like a decompression bomb. "
            f"Upload a normal photo or drawing of at most {max_pixels:,} pixels."
        ) from error
    except UnidentifiedImageError as error:
        description, advice = _what_it_is(data)
        what = f"is {description}, not" if description else "is not"
        raise ImageUploadError(
            f"The uploaded file ({len(data):,} bytes) {what} a picture cnnviz can read. {advice}"
            f"Upload a {_FORMATS_IN_WORDS} image; the file name's extension does not matter, its content does."
        ) from error
    except Exception as error:  # Pillow raises many types (OSError, SyntaxError, struct.error...) on bad headers.
        raise ImageUploadError(
            f"The uploaded file could not be read as an image ({type(error).__name__}: {error}). "
            f"Upload a {_FORMATS_IN_WORDS} image that opens in an image viewer."
        ) from error

    width, height = image.size
    if width < 1 or height < 1:
        raise ImageUploadError(
            f"The uploaded image has zero size ({width} x {height} pixels). Upload a picture with some pixels in it."
        )
    if width * height > max_pixels:
        raise ImageUploadError(
            f"The uploaded image is {width:,} x {height:,} = {width * height:,} pixels, more than the "
            f"{max_pixels:,} allowed. Shrink it (for example to 1000 x 1000) and upload it again."
        )
    return image


#: Pillow modes holding one wide grey value per pixel (16-bit PNG/TIFF, 32-bit integer or float TIFF).
_WIDE_GREY_MODES: Final[frozenset[str]] = frozenset({"I", "I;16", "I;16B", "I;16L", "I;16N", "F"})
#: Pillow modes with transparency (an alpha channel).
_ALPHA_MODES: Final[frozenset[str]] = frozenset({"RGBA", "LA", "PA", "La", "RGBa"})
#: What one pixel costs in Pillow's memory, by mode (1 byte for L/P/1, 2 for 16-bit grey, else 4: RGB is
#: stored as 4 bytes); every row also costs a pointer, which is what makes a 1 x 25,000,000 image expensive.
_BYTES_PER_PIXEL: Final[dict[str, int]] = {"1": 1, "L": 1, "P": 1, "I;16": 2, "I;16B": 2, "I;16L": 2, "I;16N": 2}
_ROW_OVERHEAD_BYTES: Final[int] = 8
#: The most memory the decoded picture may take before it is reduced (56 MiB: a 3,800 x 3,800 colour PNG,
#: a 5,000 x 5,000 16-bit grey one). With the reduction by strips, one upload stays under ~100 MB.
MAX_DECODED_BYTES: Final[int] = 56 * 1024 * 1024
#: The most uploads decoded at once in this process (server-wide); others wait their turn.
MAX_CONCURRENT_DECODES: Final[int] = 2
#: How long an upload waits for a decoding slot before the user is told the server is busy.
DECODE_WAIT_SECONDS: Final[float] = 30.0
#: Bytes of decoded pixels converted at once while reducing a large picture.
_STRIP_BYTES: Final[int] = 2 * 1024 * 1024
# Server-wide: a classroom uploading a hostile picture at the same moment must not multiply the cost.
_DECODE_SLOTS = threading.BoundedSemaphore(MAX_CONCURRENT_DECODES)
#: EXIF orientation -> the transpose that shows the picture upright (as ImageOps.exif_transpose does).
_EXIF_TRANSPOSE: Final[dict[int, Image.Transpose]] = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


def _decoded_bytes(image: Image.Image) -> int:
    """The memory Pillow needs to hold ``image`` decoded, from its header (mode and size) alone."""
    width, height = image.size
    return height * (width * _BYTES_PER_PIXEL.get(image.mode, 4) + _ROW_OVERHEAD_BYTES)


def _check_decoded_size(image: Image.Image) -> None:
    """Refuse a picture whose decoded pixels alone would take more than :data:`MAX_DECODED_BYTES`."""
    needed = _decoded_bytes(image)
    if needed <= MAX_DECODED_BYTES:
        return
    width, height = image.size
    side = math.isqrt(MAX_DECODED_BYTES // (_BYTES_PER_PIXEL.get(image.mode, 4) + 1))
    raise ImageUploadError(
        f"The uploaded image ({width:,} x {height:,} pixels) would need about {needed / 2**20:,.0f} MB of "
        f"memory to open, more than the {MAX_DECODED_BYTES / 2**20:.0f} MB one upload may use on this shared "
        f"server. Shrink it (for example to at most {side:,} x {side:,} pixels, or save it as a JPEG) "
        "and upload it again."
    )


def _working_mode(image: Image.Image, mode: str) -> str:
    """The mode in which a picture is reduced: float for wide grey, RGBA when it has transparency."""
    if image.mode in _WIDE_GREY_MODES:
        return "F"
    if mode == "RGBA" or image.mode in _ALPHA_MODES or (image.mode == "P" and "transparency" in image.info):
        return "RGBA"
    return mode


def _reduced(image: Image.Image, working: str, factor: int) -> Image.Image:
    """``image`` in mode ``working``, shrunk by an integer ``factor`` (box average), a strip of rows at a time.

    Converting the whole picture first would hold a second full copy (twice the size for 16-bit grey as
    float32); by strips, only one strip and the small result exist beside the decoded picture.
    """
    width, height = image.size
    factor_x, factor_y = min(factor, width), min(factor, height)
    rows = max(factor_y, (_STRIP_BYTES // (4 * width)) // factor_y * factor_y)
    result = Image.new(working, (-(-width // factor_x), -(-height // factor_y)))
    for top in range(0, height, rows):
        strip = image.crop((0, top, width, min(height, top + rows))).convert(working)
        if factor_x > 1 or factor_y > 1:
            strip = strip.reduce((factor_x, factor_y))
        result.paste(strip, (0, top // factor_y))
    return result


def _wide_grey_range(image: Image.Image) -> tuple[float, float]:
    """The lowest and highest finite values of a wide grey picture, read a strip at a time (float32)."""
    width, height = image.size
    rows = max(1, _STRIP_BYTES // (4 * width))
    low, high = math.inf, -math.inf
    for top in range(0, height, rows):
        values = np.asarray(image.crop((0, top, width, min(height, top + rows))).convert("F"), dtype=np.float32)
        finite = values[np.isfinite(values)]
        if finite.size:
            low, high = min(low, float(finite.min())), max(high, float(finite.max()))
    return (low, high) if low <= high else (0.0, 0.0)


def _grey_to_uint8(image: Image.Image, low: float, high: float) -> Image.Image:
    """Rescale a float ("F") grey picture from ``low..high`` to 0..255 (Pillow's convert("L") would clip)."""
    values = np.asarray(image, dtype=np.float32)
    if high > low:
        scaled = (values - np.float32(low)) * np.float32(255.0 / (high - low))
    else:
        scaled = np.zeros_like(values)
    scaled = np.nan_to_num(scaled, nan=0.0, posinf=255.0, neginf=0.0)
    return Image.fromarray(np.clip(np.rint(scaled), 0, 255).astype(np.uint8), mode="L")


def _finish(image: Image.Image, mode: str) -> Image.Image:
    """Convert a small working picture to ``mode``; transparent areas become white for "L" and "RGB"."""
    if mode == "RGBA":
        return image.convert("RGBA")
    if image.mode == "RGBA":
        background = Image.new("RGBA", image.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, image)
    return image.convert(mode)


def _exif_transpose(image: Image.Image) -> Image.Transpose | None:
    """The transpose the picture's EXIF orientation asks for (phones write one), or ``None``."""
    try:
        orientation = image.getexif().get(0x0112)
    except Exception:  # A broken EXIF block is not worth refusing the picture for.
        return None
    return _EXIF_TRANSPOSE.get(orientation) if isinstance(orientation, int) else None


def _target_size(width: int, height: int, max_side: int) -> tuple[int, int]:
    if max(width, height) <= max_side:
        return width, height
    scale = max_side / max(width, height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def _decode(image: Image.Image, mode: str, max_side: int) -> Image.Image:
    """Decode, reduce and convert an opened picture in at most :data:`MAX_DECODED_BYTES` plus a few MB.

    The order matters for memory: the decoded picture is first box-reduced by strips by the integer
    factor that keeps it at least ``max_side`` (cheap), then resampled with Lanczos, and only the small
    result is converted, rescaled (16-bit grey, in float32) and turned upright.
    """
    if image.format == "JPEG":
        # Let libjpeg decode at a reduced scale when the photo is much larger than needed.
        image.draft(image.mode, (max_side, max_side))
    _check_decoded_size(image)
    transpose = _exif_transpose(image)
    image.load()
    width, height = image.size
    target = _target_size(width, height, max_side)
    working = _working_mode(image, mode)
    wide = working == "F"
    low, high = _wide_grey_range(image) if wide else (0.0, 0.0)
    small = _reduced(image, working, max(1, max(width, height) // max_side))
    if small.size != target:
        small = small.resize(target, Image.Resampling.LANCZOS)
    converted = _finish(_grey_to_uint8(small, low, high) if wide else small, mode)
    return converted.transpose(transpose) if transpose is not None else converted


def decode_image(
    data: bytes,
    *,
    mode: str = "L",
    max_side: int = DEFAULT_MAX_SIDE,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> np.ndarray:
    """Decode an uploaded picture into a uint8 array, rejecting anything unsafe or unusable.

    Args:
        data: the raw bytes of the uploaded file (``st.file_uploader(...).getvalue()``).
        mode: "L" for grey, "RGB" for colour, "RGBA" for colour with transparency. For "L" and
            "RGB", transparent areas are composited onto white, as an image viewer shows them.
        max_side: the longest side of the result, in pixels; larger images are scaled down
            (keeping the aspect ratio, with anti-aliasing). Smaller images are never enlarged.
        max_pixels: the most pixels (width x height) the file may declare; checked before decoding.

    Returns:
        np.ndarray: uint8, (H, W) for "L", (H, W, 3) for "RGB", (H, W, 4) for "RGBA", with
        ``max(H, W) <= max_side``. Only the first frame of an animated GIF/WebP/TIFF is used.

    Raises:
        ImageUploadError: not bytes, empty, not an image, an unsupported format, a declared size
            above ``max_pixels`` (decompression bomb), decoded pixels above :data:`MAX_DECODED_BYTES`,
            zero size, a truncated/corrupt file, or no decoding slot free within
            :data:`DECODE_WAIT_SECONDS` (the server is busy).
        ValueError: an unknown ``mode`` or a non-positive ``max_side``/``max_pixels``.
    """
    data = _check_arguments(data, mode, max_side, max_pixels)
    image = _open(data, max_pixels)
    if not _DECODE_SLOTS.acquire(timeout=DECODE_WAIT_SECONDS):
        image.close()
        raise ImageUploadError(
            "The server is busy opening other people's pictures right now. Wait a few seconds and upload again."
        )
    try:
        with image:
            converted = _decode(image, mode, max_side)
    except ImageUploadError:
        raise
    except Exception as error:  # Truncated data, bad chunks, codec errors: all "corrupt file" to the user.
        raise ImageUploadError(
            f"The uploaded image is damaged or truncated and could not be decoded "
            f"({type(error).__name__}: {error}). Re-save it in an image editor, or upload another picture."
        ) from error
    finally:
        _DECODE_SLOTS.release()
    return np.ascontiguousarray(np.asarray(converted, dtype=np.uint8))


__all__ = [
    "ALLOWED_FORMATS",
    "DEFAULT_MAX_PIXELS",
    "DEFAULT_MAX_SIDE",
    "ImageUploadError",
    "MAX_CONCURRENT_DECODES",
    "MAX_DECODED_BYTES",
    "OUTPUT_MODES",
    "decode_image",
]
