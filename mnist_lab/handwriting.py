"""Turn a user's digit (a canvas drawing, a photo, a scan) into the 28x28 image the model sees.

The recipe is MNIST's own (LeCun, Cortes, Burges): white ink on black, the digit's bounding
box scaled to fit 20x20 with its aspect ratio kept and anti-aliased, pasted into 28x28 so that
its centre of mass sits at pixel (14, 14). Before that, real photos need cleaning: a sheet
photographed on a darker desk is cropped out of it, the paper's uneven lighting is estimated
locally and removed, the noise floor is cut, the ink is stretched
to full intensity, specks are dropped and very thin pen strokes are thickened to MNIST's width.

Uploads are decoded with Pillow from a short list of raster formats only; every bad file
(not an image, truncated, enormous, animated) raises ``ValueError`` with a message for the user.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageOps
from scipy import ndimage
from scipy.spatial import ConvexHull

MNIST_SIZE = 28
DIGIT_BOX = 20
MNIST_CENTRE = 14.0
ALLOWED_FORMATS = ("PNG", "JPEG", "GIF", "BMP", "WEBP", "TIFF", "PPM")
HIGH_BIT_MODES = ("I;16", "I;16L", "I;16B", "I;16N", "I", "F")

# Photos are shrunk to this longer side first: the digit ends up 20 px tall anyway.
MAX_WORK_SIDE = 1024
# The paper's lighting is estimated on a coarse grid, in windows a third of the image wide.
BACKGROUND_GRID_SIDE = 32
BACKGROUND_PERCENTILE = 25
# Ink must stand this far above the local paper, relative to the room left above the paper.
MIN_CONTRAST = 0.08
NOISE_SIGMAS = 5.0
INK_LEVEL_PERCENTILE = 90
# A blob with less area than this share of the largest one is a speck of dust or noise.
SPECK_AREA_FRACTION = 0.02
# Ink whose largest blob spans less than this share of the image is a stray mark, not a digit.
MIN_DIGIT_EXTENT = 0.02
# MNIST strokes are 1.6-4.1 px wide (5th-95th percentile, median 2.5) in the 20x20 box;
# thickening thinner ones to 3 px scored best on font renderings (benchmarks/bench_handwriting.py).
MIN_STROKE_WIDTH = 2.3
TARGET_STROKE_WIDTH = 3.0
# A sheet of paper photographed on a darker desk is told from a bright digit on a dark
# background by its shape: a photo (not a 28 px digit, which blurs into any shape), a desk
# covering this share of it, and a sheet at least this close to a rectangle (area over its
# smallest enclosing rectangle: 0.96-0.99 for sheets at any angle, at most 0.85 for MNIST's
# digits drawn 280 px tall), holding ink, and with an edge this much brighter than the desk
# next to it (a lighting gradient has no edge at all).
MIN_PHOTO_SIDE = 100
MIN_DESK_SHARE = 0.15
MIN_SHEET_RECTANGULARITY = 0.9
MIN_SHEET_EDGE_CONTRAST = 0.15
# The band on each side of the sheet's edge that is compared, and painted over, as a share of
# the shorter side: wide enough to take in the edge's blur and the sheet's own shadow.
SHEET_EDGE_BAND = 0.02


@dataclass(frozen=True)
class PreparedDigit:
    """The steps from a user's image to the model's input, for showing "what the model sees".

    Attributes
    ----------
    ink : numpy.ndarray
        The ink map at working resolution: float in [0, 1], white ink on black, with the
        paper's lighting, the noise and the specks removed.
    inverted : bool
        True when the input had dark ink on light paper and was inverted.
    bbox : tuple of int
        ``(top, left, bottom, right)`` of the digit in ``ink``, bottom and right exclusive.
    image : numpy.ndarray
        The final MNIST-style digit: uint8, shape (28, 28), white ink on black.
    """

    ink: np.ndarray
    inverted: bool
    bbox: tuple[int, int, int, int]
    image: np.ndarray


def decode_image(data: bytes, max_pixels: int = 25_000_000) -> np.ndarray:
    """Decode an uploaded image file into a grayscale array.

    Parameters
    ----------
    data : bytes
        The file's content: PNG, JPEG, GIF, BMP, WEBP, TIFF or PPM.
    max_pixels : int, default 25_000_000
        Largest width x height accepted, checked before the pixels are decoded.

    Returns
    -------
    numpy.ndarray
        Float32 array of shape (height, width) with values in [0, 1] (0 black, 1 white),
        upright according to the EXIF orientation, transparency flattened onto paper.

    Raises
    ------
    ValueError
        If the file is empty, not an image, truncated or corrupt, too large, or animated.
    """
    if not data:
        raise ValueError("The file is empty. Upload a photo, scan or drawing of one digit.")
    with warnings.catch_warnings():
        # Pillow's own bomb limit is global; ours (max_pixels) is checked just below.
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data), formats=ALLOWED_FORMATS) as image:
                _check_decodable(image, max_pixels)
                image.load()
                return _image_to_gray(_reduced(ImageOps.exif_transpose(image)))
        except Image.DecompressionBombError as error:
            raise _too_large_error(max_pixels) from error
        except ValueError:
            raise
        # Pillow's plugins raise many exception types (OSError, SyntaxError, EOFError,
        # struct.error...) on malformed files: all mean the upload cannot be read.
        except Exception as error:
            raise ValueError(
                "This file could not be read as an image: it is not one, or it is truncated "
                f"or corrupt. Upload a {', '.join(ALLOWED_FORMATS[:-1])} or "
                f"{ALLOWED_FORMATS[-1]} file."
            ) from error


def canvas_to_gray(rgba: np.ndarray) -> np.ndarray:
    """Convert a drawing canvas's RGBA pixels into a grayscale array, dark ink on white.

    streamlit-drawable-canvas returns coloured strokes on a transparent background: the
    alpha channel is then the ink, whatever the stroke colour. A canvas with an opaque
    background is converted by its luminance instead.

    Parameters
    ----------
    rgba : numpy.ndarray
        Shape (height, width, 4), uint8 0-255 or float 0-1.

    Returns
    -------
    numpy.ndarray
        Float32 array of shape (height, width) with values in [0, 1].

    Raises
    ------
    ValueError
        If the array is not (height, width, 4).
    """
    rgba = np.asarray(rgba)
    if rgba.ndim != 3 or rgba.shape[2] != 4:
        raise ValueError(
            f"A canvas must be an RGBA array of shape (height, width, 4), got {rgba.shape}."
        )
    channels = _as_unit_float(rgba)
    alpha = channels[..., 3]
    if alpha.min() < 1:
        return 1 - alpha
    return _luminance(channels[..., :3])


def is_blank(gray: np.ndarray) -> bool:
    """Tell whether an image holds no meaningful ink (an empty canvas or a blank page).

    Parameters
    ----------
    gray : numpy.ndarray
        Grayscale image, shape (height, width): float in [0, 1] or unsigned integers.

    Returns
    -------
    bool
        True when no stroke stands out from the paper's noise and texture.
    """
    ink, _ = _extract_ink(_as_gray(gray))
    return not ink.any()


def to_mnist(gray: np.ndarray) -> np.ndarray:
    """Turn a grayscale image of one digit into MNIST's 28x28 format.

    Parameters
    ----------
    gray : numpy.ndarray
        Grayscale image, shape (height, width): float in [0, 1] or unsigned integers; dark
        ink on light paper or light ink on dark, detected automatically.

    Returns
    -------
    numpy.ndarray
        uint8 array of shape (28, 28), white ink on black, the digit fitted in 20x20 and its
        centre of mass at (14, 14).

    Raises
    ------
    ValueError
        If the image holds no digit (see `is_blank`) or is not a 2-D array.

    Examples
    --------
    >>> canvas = np.ones((200, 120))
    >>> canvas[30:170, 50:70] = 0.0
    >>> digit = to_mnist(canvas)
    >>> digit.shape, digit.dtype, digit[14, 14]
    ((28, 28), dtype('uint8'), np.uint8(255))
    """
    return prepare_digit(gray).image


def prepare_digit(gray: np.ndarray) -> PreparedDigit:
    """Run `to_mnist` and keep its intermediate steps for display.

    Parameters
    ----------
    gray : numpy.ndarray
        As for `to_mnist`.

    Returns
    -------
    PreparedDigit

    Raises
    ------
    ValueError
        If the image holds no digit or is not a 2-D array.
    """
    ink, inverted = _extract_ink(_as_gray(gray))
    if not ink.any():
        raise ValueError(
            "No digit found: the image looks blank. Draw a digit, or upload a photo with "
            "a clearly visible digit."
        )
    bbox = _ink_bbox(ink)
    digit = _normalize_stroke_width(_crop(ink, bbox))
    digit = _crop(digit, _ink_bbox(digit))
    boxed = _fit_in_box(digit, DIGIT_BOX)
    image = _paste_centred_by_mass(boxed, MNIST_SIZE)
    return PreparedDigit(ink=ink, inverted=inverted, bbox=bbox, image=image)


def _check_decodable(image: Image.Image, max_pixels: int) -> None:
    width, height = image.size
    if width * height > max_pixels:
        raise _too_large_error(max_pixels, width, height)
    if width == 0 or height == 0:
        raise ValueError("The image has no pixels.")
    # Phone cameras store the photo plus previews as MPO frames; the first frame is the photo.
    if getattr(image, "n_frames", 1) > 1 and image.format != "MPO":
        raise ValueError(
            f"The image has {image.n_frames} frames (an animation or a multi-page file): "
            "use a single frame, e.g. save one frame as PNG."
        )


def _too_large_error(max_pixels: int, width: int = 0, height: int = 0) -> ValueError:
    size = f" ({width} x {height} pixels)" if width else ""
    return ValueError(
        f"The image is too large{size}: at most {max_pixels:,} pixels are accepted. "
        "Crop the photo around the digit or shrink it."
    )


def _reduced(image: Image.Image) -> Image.Image:
    """Shrink a large photo by a whole factor while it is still 8-bit pixels.

    The pipeline works at `MAX_WORK_SIDE` anyway; converting a 25-megapixel photo to float
    first would cost a gigabyte of memory.
    """
    factor = max(image.size) // (2 * MAX_WORK_SIDE)
    if factor < 2 or image.mode in HIGH_BIT_MODES:
        return image
    return image.reduce(factor)


def _image_to_gray(image: Image.Image) -> np.ndarray:
    if image.mode in HIGH_BIT_MODES:
        return _as_unit_float(np.asarray(image))
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info:
        rgba = _as_unit_float(np.asarray(image.convert("RGBA")))
        return _flatten_onto_paper(_luminance(rgba[..., :3]), rgba[..., 3])
    # Pillow converts every other mode (1, P, RGB, CMYK, YCbCr, LAB...) to 8-bit luminance.
    return _as_unit_float(np.asarray(image.convert("L")))


def _flatten_onto_paper(luminance: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    # White paper, unless the visible strokes are light: then they would vanish on white.
    visible = alpha.sum()
    stroke_level = (luminance * alpha).sum() / visible if visible > 0 else 0.0
    paper = 0.0 if stroke_level > 0.5 else 1.0
    return (alpha * luminance + (1 - alpha) * paper).astype(np.float32)


def _luminance(rgb: np.ndarray) -> np.ndarray:
    # ITU-R 601-2 weights, the ones Pillow uses for its "L" mode.
    return (rgb @ np.array([0.299, 0.587, 0.114], dtype=np.float32)).astype(np.float32)


def _as_unit_float(values: np.ndarray) -> np.ndarray:
    if values.dtype == np.bool_:
        return values.astype(np.float32)
    if values.dtype in (np.uint8, np.uint16):
        return values.astype(np.float32) / np.iinfo(values.dtype).max
    values = values.astype(np.float32)
    if not np.isfinite(values).all():
        raise ValueError("The image contains NaN or infinite values.")
    low, high = float(values.min()), float(values.max())
    if low >= 0 and high <= 1:
        return values
    # Wider integers and floats outside [0, 1] (32-bit TIFFs) have no fixed white level.
    return (values - low) / (high - low) if high > low else np.zeros_like(values)


def _as_gray(gray: np.ndarray) -> np.ndarray:
    gray = np.asarray(gray)
    if gray.ndim != 2 or min(gray.shape) == 0:
        raise ValueError(
            f"Expected a grayscale image of shape (height, width), got shape {gray.shape}. "
            "Use decode_image() for files and canvas_to_gray() for RGBA canvases."
        )
    return _as_unit_float(gray)


def _resize(values: np.ndarray, shape: tuple[int, int], resample: Image.Resampling) -> np.ndarray:
    image = Image.fromarray(np.ascontiguousarray(values, dtype=np.float32))
    return np.asarray(image.resize((shape[1], shape[0]), resample), dtype=np.float32)


def _shrink(values: np.ndarray, max_side: int) -> np.ndarray:
    scale = max_side / max(values.shape)
    if scale >= 1:
        return values
    shape = (max(1, round(values.shape[0] * scale)), max(1, round(values.shape[1] * scale)))
    # Area averaging keeps thin strokes as faint lines instead of dropping them.
    return _resize(values, shape, Image.Resampling.BOX)


def _extract_ink(gray: np.ndarray) -> tuple[np.ndarray, bool]:
    work = _crop_to_sheet(_shrink(gray, MAX_WORK_SIDE))
    inverted = _has_dark_ink(work)
    ink = 1 - work if inverted else work
    ink = _remove_background(ink)
    ink = _stretch_above_noise(ink)
    return _remove_specks(ink), inverted


def _crop_to_sheet(gray: np.ndarray) -> np.ndarray:
    # Otherwise a desk around the sheet would pass for the paper (wrong polarity) or its edge
    # for a stroke: the crop keeps the sheet, and the desk left in its corners takes the grey
    # of the nearest paper.
    if min(gray.shape) < MIN_PHOTO_SIDE:
        return gray
    smooth = ndimage.gaussian_filter(gray, sigma=2.0)
    labels, count = ndimage.label(smooth > _otsu_threshold(smooth))
    if count == 0:
        return gray
    sheet = labels == np.bincount(labels.ravel())[1:].argmax() + 1
    outline = ndimage.binary_fill_holes(sheet)
    holds_ink = bool((outline & ~sheet).any())
    if (
        1 - outline.mean() < MIN_DESK_SHARE
        or not holds_ink
        or _rectangularity(outline) < MIN_SHEET_RECTANGULARITY
    ):
        return gray
    band = max(1, round(SHEET_EDGE_BAND * min(gray.shape)))
    # Beyond the photo's border counts as sheet: only the edge against the desk is a band.
    inner = ndimage.binary_erosion(outline, iterations=band, border_value=1)
    paper = inner & sheet
    paper_side = outline & ~inner & sheet
    desk_side = ndimage.binary_dilation(outline, iterations=band) & ~outline
    if not (paper.any() and paper_side.any() and desk_side.any()):
        return gray
    edge_contrast = float(np.median(gray[paper_side])) - float(np.median(gray[desk_side]))
    if edge_contrast < MIN_SHEET_EDGE_CONTRAST:
        return gray
    _, (rows, cols) = ndimage.distance_transform_edt(~paper, return_indices=True)
    painted = np.where(inner, gray, gray[rows, cols]).astype(np.float32)
    # Cropped to the sheet, so that the paper's own texture, not the smooth paint, sets the
    # noise floor that ink must rise above.
    return painted[ndimage.find_objects(inner.astype(np.uint8))[0]]


def _rectangularity(mask: np.ndarray) -> float:
    # Area over the smallest rectangle around it, at the best angle: one of the convex
    # hull's edges lies on that rectangle's side (rotating calipers).
    boundary = np.argwhere(mask & ~ndimage.binary_erosion(mask)).astype(float)
    if len(boundary) < 3 or np.linalg.matrix_rank(boundary - boundary.mean(axis=0)) < 2:
        return 1.0
    hull = boundary[ConvexHull(boundary).vertices]
    edges = np.diff(np.vstack([hull, hull[:1]]), axis=0)
    smallest = np.inf
    for angle in np.arctan2(edges[:, 1], edges[:, 0]):
        cos, sin = np.cos(angle), np.sin(angle)
        turned = hull @ np.array([[cos, -sin], [sin, cos]])
        # + 1: the hull runs through pixel centres, the mask covers whole pixels.
        smallest = min(smallest, (np.ptp(turned[:, 0]) + 1) * (np.ptp(turned[:, 1]) + 1))
    return float(mask.sum() / smallest)


def _otsu_threshold(values: np.ndarray) -> float:
    # The grey level that best splits the histogram in two (Otsu, 1979).
    counts, edges = np.histogram(values, bins=256, range=(0.0, 1.0))
    centres = (edges[:-1] + edges[1:]) / 2
    below = np.cumsum(counts)
    above = below[-1] - below
    sum_below = np.cumsum(counts * centres)
    mean_below = sum_below / np.maximum(below, 1)
    mean_above = (sum_below[-1] - sum_below) / np.maximum(above, 1)
    between = below * above * (mean_below - mean_above) ** 2
    return float(centres[int(np.argmax(between))])


def _has_dark_ink(gray: np.ndarray) -> bool:
    # The paper covers most of the image, so the median is its level; the ink is the far tail.
    smooth = ndimage.gaussian_filter(gray, sigma=1.0)
    paper = float(np.median(smooth))
    return paper - float(smooth.min()) > float(smooth.max()) - paper


def _remove_background(ink: np.ndarray) -> np.ndarray:
    coarse = _shrink(ink, BACKGROUND_GRID_SIDE)
    window = max(3, max(coarse.shape) // 3)
    # A low percentile over windows wider than any stroke sees the paper, not the ink.
    background = ndimage.percentile_filter(
        coarse, BACKGROUND_PERCENTILE, size=window, mode="nearest"
    )
    background = ndimage.uniform_filter(background, size=window, mode="nearest")
    background = _resize(background, ink.shape, Image.Resampling.BILINEAR)
    # Relative to the room above the paper, so a shadowed part of the page keeps its contrast;
    # not clipped at 0 yet, so that the paper's noise can be measured on both sides.
    return (ink - background) / np.maximum(1 - background, MIN_CONTRAST)


def _stretch_above_noise(ink: np.ndarray) -> np.ndarray:
    level = float(np.median(ink))
    noise = 1.4826 * float(np.median(np.abs(ink - level)))
    floor = level + max(NOISE_SIGMAS * noise, MIN_CONTRAST / 2)
    strokes = ink[ink > floor]
    if strokes.size == 0:
        return np.zeros_like(ink)
    ink_level = float(np.percentile(strokes, INK_LEVEL_PERCENTILE))
    if ink_level - floor < MIN_CONTRAST:
        return np.zeros_like(ink)
    return np.clip((ink - floor) / (ink_level - floor), 0, 1)


def _remove_specks(ink: np.ndarray) -> np.ndarray:
    labels, count = ndimage.label(ink > 0, structure=np.ones((3, 3)))
    if count == 0:
        return ink
    areas = np.bincount(labels.ravel())[1:]
    largest = int(areas.argmax()) + 1
    rows, cols = ndimage.find_objects(labels)[largest - 1]
    extent = max(rows.stop - rows.start, cols.stop - cols.start)
    if extent < max(2, MIN_DIGIT_EXTENT * max(ink.shape)):
        return np.zeros_like(ink)
    keep = np.concatenate([[False], areas >= SPECK_AREA_FRACTION * areas.max()])
    return np.where(keep[labels], ink, 0).astype(np.float32)


def _ink_bbox(ink: np.ndarray) -> tuple[int, int, int, int]:
    rows = np.flatnonzero(ink.any(axis=1))
    cols = np.flatnonzero(ink.any(axis=0))
    return int(rows[0]), int(cols[0]), int(rows[-1]) + 1, int(cols[-1]) + 1


def _crop(ink: np.ndarray, bbox: tuple[int, int, int, int]) -> np.ndarray:
    top, left, bottom, right = bbox
    return ink[top:bottom, left:right]


def _stroke_width(mask: np.ndarray) -> float:
    # A stroke of width w and length L has area w*L and about 2*L boundary pixels.
    boundary = mask & ~ndimage.binary_erosion(mask)
    return 2 * float(mask.sum()) / max(1, int(boundary.sum()))


def _normalize_stroke_width(digit: np.ndarray) -> np.ndarray:
    mask = digit >= 0.5
    pixels_per_box_pixel = max(digit.shape) / DIGIT_BOX
    width = _stroke_width(mask) / pixels_per_box_pixel
    if not mask.any() or width >= MIN_STROKE_WIDTH:
        return digit
    # A fine pen scaled down to 20 px would leave a faint hairline the model never saw.
    radius = (TARGET_STROKE_WIDTH - width) / 2 * pixels_per_box_pixel
    margin = int(np.ceil(radius)) + 1
    padded = np.pad(digit, margin)
    distance = ndimage.distance_transform_edt(~np.pad(mask, margin))
    thickened = np.clip(radius + 0.5 - distance, 0, 1)
    return np.maximum(padded, thickened).astype(np.float32)


def _fit_in_box(digit: np.ndarray, box: int) -> np.ndarray:
    scale = box / max(digit.shape)
    shape = (max(1, round(digit.shape[0] * scale)), max(1, round(digit.shape[1] * scale)))
    # Lanczos anti-aliases like MNIST's normalization did; its ringing is clipped off.
    return np.clip(_resize(digit, shape, Image.Resampling.LANCZOS), 0, 1)


def _paste_centred_by_mass(digit: np.ndarray, size: int) -> np.ndarray:
    centre_row, centre_col = ndimage.center_of_mass(digit)
    # Whole-pixel shifts, as LeCun did; clamped so that no ink falls off the frame.
    top = int(np.clip(round(MNIST_CENTRE - centre_row), 0, size - digit.shape[0]))
    left = int(np.clip(round(MNIST_CENTRE - centre_col), 0, size - digit.shape[1]))
    canvas = np.zeros((size, size), dtype=np.float32)
    canvas[top : top + digit.shape[0], left : left + digit.shape[1]] = digit
    return np.round(canvas * 255).astype(np.uint8)
