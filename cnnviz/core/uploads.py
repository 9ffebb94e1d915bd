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
* Large images are scaled down so that the longest side is at most
  ``max_side`` pixels, which keeps memory and later computation bounded.

Every rejection is an :class:`ImageUploadError` (a ``ValueError``) whose
message says what was received, what was expected and what to do.
"""

from __future__ import annotations

import codecs
import io
from typing import Final

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

#: Formats Pillow may use to decode an upload (names as in ``Image.open(formats=...)``; "JPEG" covers
#: the multi-picture JPEGs (MPO) that phones write).
ALLOWED_FORMATS: Final[tuple[str, ...]] = ("PNG", "JPEG", "GIF", "BMP", "WEBP", "TIFF")
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


def _to_mode(image: Image.Image, mode: str) -> Image.Image:
    """Convert to ``mode``; transparent areas become white for "L" and "RGB" (as a browser shows them)."""
    if image.mode in ("I", "I;16", "I;16B", "I;16L", "F"):
        # Wide grey images: Pillow's convert("L") clips at 255, so rescale the range to 0..255 ourselves.
        values = np.asarray(image, dtype=np.float64)
        finite = values[np.isfinite(values)]
        low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 0.0)
        scaled = (values - low) / (high - low) * 255.0 if high > low else np.zeros_like(values)
        scaled = np.nan_to_num(scaled, nan=0.0, posinf=255.0, neginf=0.0)
        image = Image.fromarray(np.clip(np.rint(scaled), 0, 255).astype(np.uint8), mode="L")
    has_alpha = image.mode in ("RGBA", "LA", "PA", "La", "RGBa") or (
        image.mode == "P" and "transparency" in image.info
    )
    if mode == "RGBA":
        return image.convert("RGBA")
    if has_alpha:
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, rgba)
    return image.convert(mode)


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
            above ``max_pixels`` (decompression bomb), zero size, or a truncated/corrupt file.
        ValueError: an unknown ``mode`` or a non-positive ``max_side``/``max_pixels``.
    """
    data = _check_arguments(data, mode, max_side, max_pixels)
    image = _open(data, max_pixels)
    try:
        with image:
            if image.format == "JPEG":
                # Let libjpeg decode at a reduced scale when the photo is much larger than needed.
                image.draft(image.mode, (max_side, max_side))
            image.load()
            try:
                oriented = ImageOps.exif_transpose(image)
            except Exception:  # A broken EXIF block is not worth refusing the picture for.
                oriented = image
            converted = _to_mode(oriented if oriented is not None else image, mode)
    except ImageUploadError:
        raise
    except Exception as error:  # Truncated data, bad chunks, codec errors: all "corrupt file" to the user.
        raise ImageUploadError(
            f"The uploaded image is damaged or truncated and could not be decoded "
            f"({type(error).__name__}: {error}). Re-save it in an image editor, or upload another picture."
        ) from error

    width, height = converted.size
    if max(width, height) > max_side:
        scale = max_side / max(width, height)
        new_size = (max(1, round(width * scale)), max(1, round(height * scale)))
        converted = converted.resize(new_size, Image.Resampling.LANCZOS, reducing_gap=3.0)
    array = np.asarray(converted, dtype=np.uint8)
    return np.ascontiguousarray(array)


__all__ = [
    "ALLOWED_FORMATS",
    "DEFAULT_MAX_PIXELS",
    "DEFAULT_MAX_SIDE",
    "ImageUploadError",
    "OUTPUT_MODES",
    "decode_image",
]
