"""Tests for cnnviz.core.uploads.decode_image: good pictures decode, hostile bytes are refused with a message."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from cnnviz.core.uploads import ALLOWED_FORMATS, FILE_TYPES, ImageUploadError, decode_image


def _encode(image: Image.Image, fmt: str, **params: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **params)
    return buffer.getvalue()


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def _grey_png_header_only(width: int, height: int, idat: bytes = b"") -> bytes:
    """A PNG that declares width x height 8-bit grey pixels, with the given (possibly useless) IDAT data."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", idat or zlib.compress(b"\x00" * 64))
        + _png_chunk(b"IEND", b"")
    )


def _zero_png_streamed(width: int, height: int) -> bytes:
    """A real, fully valid all-black PNG of width x height, compressed row by row (tiny on disk)."""
    compressor = zlib.compressobj(9)
    row = b"\x00" * (width + 1)  # filter byte + pixels
    parts = [compressor.compress(row) for _ in range(height)]
    parts.append(compressor.flush())
    return _grey_png_header_only(width, height, b"".join(parts))


@pytest.fixture
def gradient() -> np.ndarray:
    """A (12, 20) uint8 grey gradient, every pixel distinct enough to track orientation."""
    return (np.arange(12 * 20).reshape(12, 20) % 256).astype(np.uint8)


@pytest.mark.parametrize("fmt", ["PNG", "BMP", "TIFF", "GIF"])
def test_lossless_formats_round_trip_exactly(gradient: np.ndarray, fmt: str) -> None:
    data = _encode(Image.fromarray(gradient, mode="L"), fmt)
    decoded = decode_image(data)
    assert decoded.dtype == np.uint8
    np.testing.assert_array_equal(decoded, gradient)


def test_jpeg_decodes_close_to_the_original(gradient: np.ndarray) -> None:
    data = _encode(Image.fromarray(gradient, mode="L"), "JPEG", quality=95)
    decoded = decode_image(data)
    assert decoded.shape == gradient.shape
    assert np.abs(decoded.astype(int) - gradient.astype(int)).mean() < 4


def test_rgb_and_rgba_modes_give_channels() -> None:
    rgba = np.zeros((5, 7, 4), dtype=np.uint8)
    rgba[..., 0] = 200
    rgba[..., 3] = 255
    rgba[0, 0, 3] = 0  # one transparent pixel
    data = _encode(Image.fromarray(rgba, mode="RGBA"), "PNG")
    assert decode_image(data, mode="RGBA").shape == (5, 7, 4)
    np.testing.assert_array_equal(decode_image(data, mode="RGBA"), rgba)
    rgb = decode_image(data, mode="RGB")
    assert rgb.shape == (5, 7, 3)
    # The transparent pixel is shown on white, as a browser shows it; opaque pixels keep their colour.
    np.testing.assert_array_equal(rgb[0, 0], [255, 255, 255])
    np.testing.assert_array_equal(rgb[1, 1], [200, 0, 0])


def test_transparent_png_becomes_white_background_in_grey() -> None:
    rgba = np.zeros((4, 4, 4), dtype=np.uint8)  # fully transparent black
    rgba[1:3, 1:3] = [0, 0, 0, 255]  # an opaque black square of "ink"
    grey = decode_image(_encode(Image.fromarray(rgba, mode="RGBA"), "PNG"))
    assert grey[0, 0] == 255 and grey[1, 1] == 0


def test_sixteen_bit_grey_is_rescaled_not_clipped() -> None:
    wide = np.array([[0, 1000], [30000, 65535]], dtype=np.uint16)
    data = _encode(Image.fromarray(wide), "PNG")
    decoded = decode_image(data)
    assert decoded.dtype == np.uint8
    assert decoded[0, 0] == 0 and decoded[1, 1] == 255
    assert 0 < decoded[1, 0] < 255  # not clipped to 255 as a plain convert("L") would


def test_exif_orientation_is_applied(gradient: np.ndarray) -> None:
    image = Image.fromarray(gradient, mode="L")
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display", as a phone held upright writes
    data = _encode(image, "JPEG", quality=100, exif=exif.tobytes())
    decoded = decode_image(data)
    # Oracle: Pillow's own transpose of the original by 270 degrees (= 90 clockwise).
    expected = np.asarray(image.transpose(Image.Transpose.ROTATE_270))
    assert decoded.shape == expected.shape == (20, 12)
    assert np.abs(decoded.astype(int) - expected.astype(int)).mean() < 4


def test_large_images_are_scaled_down_keeping_aspect_ratio() -> None:
    big = Image.new("L", (800, 400), color=128)
    decoded = decode_image(_encode(big, "PNG"), max_side=100)
    assert decoded.shape == (50, 100)
    assert int(decoded.mean()) == 128


def test_small_images_are_never_enlarged() -> None:
    decoded = decode_image(_encode(Image.new("L", (3, 2)), "PNG"), max_side=1024)
    assert decoded.shape == (2, 3)


def test_first_frame_of_an_animated_gif() -> None:
    frames = [Image.new("L", (6, 6), color=value) for value in (10, 240)]
    buffer = io.BytesIO()
    frames[0].save(buffer, format="GIF", save_all=True, append_images=frames[1:])
    decoded = decode_image(buffer.getvalue())
    assert decoded.shape == (6, 6) and abs(int(decoded[0, 0]) - 10) <= 2


# ---------------------------------------------------------------------------------------------
# Hostile uploads
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        b"hello, this is a text file pretending to be a .png",
        b"\x89PNG\r\n\x1a\n",  # a PNG signature and nothing else
        b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n",
        b"\x00" * 1000,
        bytes(range(256)) * 4,
    ],
    ids=["text", "png-signature-only", "pdf", "zeros", "noise"],
)
def test_bytes_that_are_not_an_image_are_refused(data: bytes) -> None:
    with pytest.raises(ImageUploadError, match="(?i)image|picture"):
        decode_image(data)


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"hello, this is a text file pretending to be a .png", 'text ("hello, this is a text file'),
        (("Zahl" * 15)[:59].encode() + "é, ein Bild".encode(), 'text ("ZahlZahl'),  # byte 60 splits the é
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "a PDF document"),
        (b"PK\x03\x04" + bytes(40), "a ZIP archive"),
        (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00" + bytes(40), "HEIC/HEIF or AVIF photo"),
        (bytes(range(256)) * 4, "1,024 bytes) is not a picture cnnviz can read"),
    ],
    ids=["text", "text-cut-inside-a-character", "pdf", "zip", "iphone-heic", "noise"],
)
def test_the_refusal_says_what_the_file_looks_like(data: bytes, words: str) -> None:
    with pytest.raises(ImageUploadError) as raised:
        decode_image(data)
    message = str(raised.value)
    assert words in message and f"({len(data):,} bytes)" in message
    assert "b'" not in message and "\\x" not in message  # no Python byte strings shown to learners


def test_empty_upload_is_refused() -> None:
    with pytest.raises(ImageUploadError, match="empty"):
        decode_image(b"")


@pytest.mark.parametrize("value", [None, "a string", 42, np.zeros(3)])
def test_non_bytes_are_refused(value: object) -> None:
    with pytest.raises(ImageUploadError, match="bytes"):
        decode_image(value)  # type: ignore[arg-type]


def test_eps_is_never_handed_to_ghostscript() -> None:
    eps = b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\nshowpage\n"
    with pytest.raises(ImageUploadError, match="PNG, JPEG"):
        decode_image(eps)


def test_decompression_bomb_is_refused_before_decoding() -> None:
    # 100,000 x 100,000 = 10 gigapixels declared in a file of a few dozen bytes.
    bomb = _grey_png_header_only(100_000, 100_000)
    assert len(bomb) < 200
    with pytest.raises(ImageUploadError, match="(?i)decompression bomb|pixels"):
        decode_image(bomb)


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_ten_thousand_square_image_is_refused() -> None:
    # A real, valid 10,000 x 10,000 PNG (100 megapixels) that compresses to ~100 kB.
    data = _zero_png_streamed(10_000, 10_000)
    assert len(data) < 1_000_000
    with pytest.raises(ImageUploadError, match="10,000 x 10,000"):
        decode_image(data)


def test_zero_size_declared_image_is_refused() -> None:
    with pytest.raises(ImageUploadError):
        decode_image(_grey_png_header_only(0, 10))


def test_truncated_png_is_refused(gradient: np.ndarray) -> None:
    data = _encode(Image.fromarray(gradient, mode="L"), "PNG")
    with pytest.raises(ImageUploadError, match="(?i)damaged|truncated|read"):
        decode_image(data[: len(data) // 2])


def test_truncated_jpeg_is_refused() -> None:
    photo = Image.fromarray((np.random.default_rng(0).random((64, 64)) * 255).astype(np.uint8), mode="L")
    data = _encode(photo, "JPEG")
    with pytest.raises(ImageUploadError):
        decode_image(data[: len(data) // 3])


def test_wrong_extension_does_not_matter_content_does(gradient: np.ndarray) -> None:
    # A JPEG saved as "digit.png" still decodes; a text file saved as "digit.png" does not (tested above).
    data = _encode(Image.fromarray(gradient, mode="L"), "JPEG")
    assert decode_image(data).shape == gradient.shape


@pytest.mark.parametrize(
    "kwargs",
    [{"mode": "CMYK"}, {"max_side": 0}, {"max_side": -5}, {"max_pixels": 0}, {"max_side": True}],
)
def test_bad_arguments_raise_value_error(gradient: np.ndarray, kwargs: dict[str, object]) -> None:
    data = _encode(Image.fromarray(gradient, mode="L"), "PNG")
    with pytest.raises(ValueError):
        decode_image(data, **kwargs)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------
# Memory: big pictures are reduced before conversion; decodes share a few slots (issue 16)
# ---------------------------------------------------------------------------------------------


def test_large_sixteen_bit_grey_is_reduced_and_rescaled_over_its_whole_range() -> None:
    # A left-to-right ramp 0..65535, 3000 pixels wide: the reduced picture still spans black to white.
    ramp = np.tile(np.linspace(0, 65535, 3000).astype(np.uint16), (40, 1))
    decoded = decode_image(_encode(Image.fromarray(ramp), "PNG"), max_side=300)
    assert decoded.shape == (4, 300)
    assert decoded[:, 0].max() <= 2 and decoded[:, -1].min() >= 253
    assert np.all(np.diff(decoded[0].astype(int)) >= 0)  # still a ramp, not clipped at 255


def test_picture_too_big_to_decode_says_so_before_decoding() -> None:
    # 5000 x 5000 RGBA: 25 megapixels passes the pixel limit, but ~95 MB of decoded pixels does not.
    big = _encode(Image.new("RGBA", (5000, 5000)), "PNG")
    with pytest.raises(ImageUploadError, match="MB of memory to open"):
        decode_image(big)


def test_a_busy_server_asks_to_try_again(gradient: np.ndarray, monkeypatch: pytest.MonkeyPatch) -> None:
    from cnnviz.core import uploads

    monkeypatch.setattr(uploads, "DECODE_WAIT_SECONDS", 0.01)
    data = _encode(Image.fromarray(gradient, mode="L"), "PNG")
    taken = 0
    try:
        while uploads._DECODE_SLOTS.acquire(blocking=False):
            taken += 1
        assert taken == uploads.MAX_CONCURRENT_DECODES
        with pytest.raises(ImageUploadError, match="busy"):
            decode_image(data)
    finally:
        for _ in range(taken):
            uploads._DECODE_SLOTS.release()
    np.testing.assert_array_equal(decode_image(data), gradient)  # the slots are free again


def test_every_file_type_offered_is_a_format_the_decoder_opens() -> None:
    registered = Image.registered_extensions()  # Pillow's own map from file extension to format
    assert {registered[f".{extension}"] for extension in FILE_TYPES} == set(ALLOWED_FORMATS)  # each, and no other
