import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image, ImageDraw
from scipy import ndimage

from mnist_lab.data import load_mnist
from mnist_lab.handwriting import (
    canvas_to_gray,
    decode_image,
    is_blank,
    prepare_digit,
    to_mnist,
)


@pytest.fixture(scope="module")
def mnist_test_digits():
    dataset = load_mnist()
    return dataset.x_test[:100]


def draw_seven(size=(300, 260), box=(40, 60, 140, 220), width=14, ink=0, paper=255):
    """A digit-like '7' drawn with ImageDraw: dark ink on light paper by default."""
    image = Image.new("L", size, paper)
    left, top, right, bottom = box
    ImageDraw.Draw(image).line(
        [(left, top), (right, top), (left + (right - left) // 3, bottom)], fill=ink, width=width
    )
    return np.asarray(image, dtype=np.float32) / 255


def encode(image, format, **params):
    buffer = io.BytesIO()
    image.save(buffer, format=format, **params)
    return buffer.getvalue()


def fake_photo(digit, rng):
    """Upscale an MNIST digit x4, invert it, light it unevenly and add paper texture and noise."""
    big = np.asarray(Image.fromarray(digit).resize((112, 112), Image.Resampling.BICUBIC)) / 255
    page = np.pad(big, 30)
    rows, cols = np.mgrid[0 : page.shape[0], 0 : page.shape[1]] / page.shape[0]
    lighting = 0.9 - 0.35 * rows + 0.1 * cols
    texture = ndimage.gaussian_filter(rng.normal(0, 0.05, page.shape), 2)
    photo = (1 - 0.85 * page) * lighting + texture + rng.normal(0, 0.02, page.shape)
    return np.clip(photo, 0, 1)


def sheet_on_desk(digit, sheet_side, desk, angle, rng, frame=(600, 800)):
    """An MNIST digit written dark on a white sheet, lying askew on a desk, lit unevenly."""
    scene = Image.new("F", frame[::-1], desk)
    centre = np.array(frame[::-1]) / 2
    corners = np.array([[-0.375, -0.5], [0.375, -0.5], [0.375, 0.5], [-0.375, 0.5]]) * sheet_side
    turn = np.deg2rad(angle)
    rotation = np.array([[np.cos(turn), -np.sin(turn)], [np.sin(turn), np.cos(turn)]])
    ImageDraw.Draw(scene).polygon([tuple(p) for p in corners @ rotation.T + centre], fill=0.9)
    photo = np.array(scene)
    size = int(sheet_side * 0.45)
    big = np.asarray(Image.fromarray(digit).resize((size, size), Image.Resampling.BICUBIC)) / 255
    top, left = (np.array(frame) - size) // 2
    photo[top : top + size, left : left + size] *= 1 - 0.85 * big
    lighting = 1 - 0.25 * np.mgrid[0 : frame[0], 0 : frame[1]][0] / frame[0]
    texture = ndimage.gaussian_filter(rng.normal(0, 0.04, frame), 2)
    return np.clip(photo * lighting + texture + rng.normal(0, 0.02, frame), 0, 1)


def centre_of_mass(image):
    return np.array(ndimage.center_of_mass(image.astype(float)))


def ink_extent(image):
    rows = np.flatnonzero(image.any(axis=1))
    cols = np.flatnonzero(image.any(axis=0))
    return rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1


def correlation(a, b):
    return np.corrcoef(a.ravel().astype(float), b.ravel().astype(float))[0, 1]


@pytest.mark.parametrize("dark_ink", [True, False])
@pytest.mark.parametrize("box", [(40, 60, 140, 220), (5, 5, 60, 90), (120, 150, 190, 290)])
def test_to_mnist_centres_the_digit_by_mass_in_a_20x20_box(dark_ink, box):
    ink, paper = (0, 255) if dark_ink else (255, 0)
    digit = to_mnist(draw_seven(box=box, ink=ink, paper=paper))
    assert digit.shape == (28, 28) and digit.dtype == np.uint8
    assert digit.max() == 255 and digit[0].max() == digit[:, 0].max() == 0
    assert np.all(np.abs(centre_of_mass(digit) - 14) <= 0.5)
    assert max(ink_extent(digit)) == 20


@pytest.mark.parametrize("dark_ink", [True, False])
def test_prepare_digit_detects_polarity_and_finds_the_bounding_box(dark_ink):
    ink, paper = (0, 255) if dark_ink else (255, 0)
    drawing = draw_seven(ink=ink, paper=paper)
    prepared = prepare_digit(drawing)
    assert prepared.inverted is dark_ink
    rows, cols = np.nonzero(drawing != drawing[0, 0])
    drawn_bbox = (rows.min(), cols.min(), rows.max() + 1, cols.max() + 1)
    assert np.abs(np.subtract(prepared.bbox, drawn_bbox)).max() <= 1
    assert prepared.ink.min() >= 0 and prepared.ink.max() == 1


def test_to_mnist_is_invariant_to_shift_and_scale():
    reference = to_mnist(draw_seven(box=(40, 60, 140, 220), width=14))
    shifted = to_mnist(draw_seven(box=(150, 20, 250, 180), width=14))
    scaled = to_mnist(draw_seven(size=(700, 500), box=(300, 100, 500, 420), width=28))
    assert np.abs(shifted.astype(int) - reference).max() <= 2
    assert correlation(scaled, reference) > 0.97


def test_photographed_mnist_digits_come_back_close_to_the_originals(mnist_test_digits):
    rng = np.random.default_rng(0)
    scores = [correlation(to_mnist(fake_photo(d, rng)), d) for d in mnist_test_digits]
    assert np.mean(scores) > 0.8
    assert np.min(scores) > 0.5


@pytest.mark.parametrize(
    ("sheet_side", "desk", "angle"), [(300, 0.1, 0), (300, 0.5, 30), (560, 0.1, 15), (560, 0.4, 45)]
)
def test_a_sheet_on_a_darker_desk_is_read_like_the_sheet_alone(
    mnist_test_digits, sheet_side, desk, angle
):
    # The desk around a sheet once passed for the paper: a dark desk flipped the polarity.
    rng = np.random.default_rng(2)
    digits = mnist_test_digits[:8]
    prepared = [prepare_digit(sheet_on_desk(d, sheet_side, desk, angle, rng)) for d in digits]
    assert all(p.inverted for p in prepared)
    scores = [correlation(p.image, d) for p, d in zip(prepared, digits, strict=True)]
    assert np.mean(scores) > 0.85 and np.min(scores) > 0.7


@pytest.mark.parametrize("shape", ["seven", "zero"])
def test_a_bold_light_digit_on_black_is_not_taken_for_a_sheet_on_a_desk(shape):
    def draw(ink, paper):
        if shape == "seven":
            return draw_seven(width=70, ink=ink, paper=paper)
        image = Image.new("L", (300, 300), paper)
        ImageDraw.Draw(image).ellipse((60, 30, 240, 270), outline=ink, width=70)
        return np.asarray(image, dtype=np.float32) / 255

    light_on_dark, dark_on_light = to_mnist(draw(255, 0)), to_mnist(draw(0, 255))
    assert np.abs(light_on_dark.astype(int) - dark_on_light).max() <= 2


def test_to_mnist_accepts_an_mnist_digit_unchanged_in_layout(mnist_test_digits):
    digit = mnist_test_digits[0]
    assert correlation(to_mnist(digit), digit) > 0.9


def test_to_mnist_thickens_hairline_strokes():
    hairline = to_mnist(draw_seven(size=(900, 600), box=(120, 180, 420, 660), width=3))
    assert (hairline > 127).mean() > 0.08


def test_blank_images_are_blank_and_to_mnist_refuses_them():
    rng = np.random.default_rng(1)
    blanks = [
        np.ones((280, 280)),
        np.zeros((280, 280), dtype=np.uint8),
        np.clip(rng.normal(0.8, 0.02, (300, 400)), 0, 1),
        np.linspace(0.3, 0.9, 200)[None, :].repeat(150, axis=0),
    ]
    for blank in blanks:
        assert is_blank(blank)
        with pytest.raises(ValueError, match="No digit found"):
            to_mnist(blank)
    speck = np.ones((400, 400))
    speck[200, 200] = 0
    assert is_blank(speck)
    assert not is_blank(draw_seven())


@pytest.mark.parametrize("shape", [(28,), (28, 28, 3), (0, 28)])
def test_to_mnist_rejects_arrays_that_are_not_grayscale_images(shape):
    with pytest.raises(ValueError, match="grayscale image"):
        to_mnist(np.zeros(shape))


def test_canvas_to_gray_takes_the_ink_from_the_alpha_channel():
    rgba = np.zeros((200, 200, 4), dtype=np.uint8)
    rgba[40:160, 90:110] = (255, 230, 0, 255)  # a yellow stroke on a transparent background
    gray = canvas_to_gray(rgba)
    assert gray[100, 100] == 0 and gray[10, 10] == 1
    assert not is_blank(gray)
    assert is_blank(canvas_to_gray(np.zeros((200, 200, 4), dtype=np.uint8)))


def test_canvas_to_gray_uses_luminance_on_an_opaque_canvas():
    rgba = np.full((50, 50, 4), 255, dtype=np.uint8)
    rgba[10:40, 20:30, :3] = 0
    gray = canvas_to_gray(rgba)
    assert gray[25, 25] == 0 and gray[0, 0] == pytest.approx(1)
    with pytest.raises(ValueError, match="RGBA"):
        canvas_to_gray(rgba[..., :3])


@pytest.mark.parametrize("format", ["PNG", "JPEG", "GIF", "BMP", "WEBP", "TIFF"])
def test_decode_image_reads_common_formats_into_unit_grayscale(format):
    data = encode(Image.fromarray(np.uint8(draw_seven() * 255)), format)
    gray = decode_image(data)
    assert gray.shape == (260, 300) and gray.dtype == np.float32
    assert 0 <= gray.min() < 0.1 and 0.9 < gray.max() <= 1
    assert to_mnist(gray).shape == (28, 28)


def test_decode_image_reads_16_bit_grayscale_at_full_range():
    values = np.uint16(draw_seven() * 65535)
    gray = decode_image(encode(Image.fromarray(values), "PNG"))
    assert np.allclose(gray, values / 65535, atol=1e-6)


def test_decode_image_flattens_transparency_onto_contrasting_paper():
    alpha = np.uint8((1 - draw_seven()) * 255)
    for stroke, paper in [(0, 1.0), (255, 0.0)]:
        rgba = np.dstack([np.full_like(alpha, stroke)] * 3 + [alpha])
        gray = decode_image(encode(Image.fromarray(rgba), "PNG"))
        assert gray[0, 0] == paper and not is_blank(gray)


def test_decode_image_reads_cmyk_jpeg_with_dark_ink():
    rgb = Image.fromarray(np.uint8(draw_seven() * 255)).convert("RGB")
    gray = decode_image(encode(rgb.convert("CMYK"), "JPEG", quality=95))
    assert gray[0, 0] > 0.9 and gray[60, 100] < 0.2
    assert prepare_digit(gray).inverted


def test_decode_image_applies_exif_orientation():
    image = Image.fromarray(np.uint8(draw_seven() * 255))  # 300 wide, 260 tall
    exif = Image.Exif()
    exif[0x0112] = 6  # stored sideways: display rotated 90 degrees clockwise
    gray = decode_image(encode(image, "JPEG", exif=exif))
    assert gray.shape == (300, 260)


def png_with_huge_header(width, height):
    data = bytearray(encode(Image.new("1", (8, 8)), "PNG"))
    ihdr = data[12:29]  # chunk type + 13 data bytes
    ihdr[4:12] = struct.pack(">II", width, height)
    data[12:29] = ihdr
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(ihdr)))
    return bytes(data)


@pytest.mark.parametrize("size", [(100_000, 100_000), (6_000, 5_000)])
def test_decode_image_refuses_enormous_dimensions_before_decoding(size):
    with pytest.raises(ValueError, match="too large"):
        decode_image(png_with_huge_header(*size))


def test_decode_image_refuses_animations():
    frames = [Image.new("L", (40, 40), shade) for shade in (0, 255)]
    data = encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100)
    with pytest.raises(ValueError, match="single frame"):
        decode_image(data)


def bad_files():
    png = encode(Image.fromarray(np.uint8(draw_seven() * 255)), "PNG")
    jpeg = encode(Image.fromarray(np.uint8(draw_seven() * 255)), "JPEG")
    return {
        "random bytes": np.random.default_rng(2).bytes(2000),
        "text": b"7\nthis is my digit, honest\n",
        "pdf": b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n",
        "truncated png": png[: len(png) // 2],
        "truncated jpeg": jpeg[: len(jpeg) // 2],
        "png header only": png[:40],
        "svg": b'<svg xmlns="http://www.w3.org/2000/svg"><text>7</text></svg>',
    }


@pytest.mark.parametrize("name", sorted(bad_files()))
def test_decode_image_refuses_bad_files_with_a_clear_message(name):
    with pytest.raises(ValueError, match="could not be read as an image"):
        decode_image(bad_files()[name])


def test_decode_image_refuses_an_empty_file():
    with pytest.raises(ValueError, match="empty"):
        decode_image(b"")
