"""How well does the Playground pipeline carry digits that are not from MNIST to a model?

Renders digits with the system's fonts (DejaVu, Liberation) at random sizes, positions,
rotations, stroke weights, ink colours and papers, some with uneven lighting, noise and JPEG
compression, and also fakes photos of held-out MNIST test digits (upscaled, inverted, lit
unevenly), alone and written on a sheet of paper lying askew on a darker desk. Every image
goes through ``decode_image`` + ``to_mnist`` and a k-nearest-neighbour classifier fitted on
MNIST training digits. Prints accuracy against the 10 % of chance.

Run: ``.venv/bin/python -m benchmarks.bench_handwriting [--per-digit 30] [--seed 0]``
"""

from __future__ import annotations

import argparse
import io
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from sklearn.neighbors import KNeighborsClassifier

from mnist_lab.data import load_mnist
from mnist_lab.handwriting import decode_image, to_mnist

FONT_DIRS = (Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/truetype/liberation"))
N_TRAIN = 20_000


def font_paths() -> list[Path]:
    """Return the system's DejaVu and Liberation fonts, except the symbol-only ones."""
    paths = [p for d in FONT_DIRS if d.is_dir() for p in sorted(d.glob("*.ttf"))]
    return [p for p in paths if "Math" not in p.name]


def fake_photo(ink: np.ndarray, rng: np.random.Generator) -> bytes:
    """Lay an ink map (0 paper .. 1 ink) on a random paper, light it unevenly, add noise, encode."""
    dark_on_light = rng.random() < 0.75
    paper = rng.uniform(0.6, 0.95) if dark_on_light else rng.uniform(0.0, 0.25)
    pen = rng.uniform(0.0, 0.3) if dark_on_light else rng.uniform(0.75, 1.0)
    return photograph(paper + (pen - paper) * ink, rng)


def sheet_on_desk(ink: np.ndarray, rng: np.random.Generator) -> bytes:
    """Write an ink map on a white sheet, lay it askew on a darker desk, and photograph it."""
    margin = ink.shape[0] // 4
    sheet = np.pad(rng.uniform(0.75, 0.95) - rng.uniform(0.6, 0.8) * ink, margin, mode="edge")
    angle = rng.uniform(-30, 30)
    paper = Image.fromarray(np.float32(sheet)).rotate(angle, expand=True)
    shape = Image.new("L", sheet.shape[::-1], 255).rotate(angle, expand=True)
    # The sheet covers 20-70% of the photo.
    side = int(max(paper.size) / np.sqrt(rng.uniform(0.2, 0.7)))
    desk = Image.new("F", (side, side), rng.uniform(0.05, 0.45))
    desk.paste(paper, tuple(rng.integers(0, side - np.array(paper.size) + 1).tolist()), shape)
    return photograph(np.asarray(desk, dtype=np.float64), rng)


def photograph(gray: np.ndarray, rng: np.random.Generator) -> bytes:
    """Light a grey scene (0 black .. 1 white) unevenly, add noise and a tint, encode it."""
    height, width = gray.shape
    rows, cols = np.mgrid[0:height, 0:width] / max(height, width)
    lighting = 1 + rng.uniform(-0.3, 0.3) * (rows - 0.5) + rng.uniform(-0.3, 0.3) * (cols - 0.5)
    gray = gray * lighting + rng.normal(0, rng.uniform(0.0, 0.04), gray.shape)
    rgb = np.stack([gray] * 3, axis=-1) * rng.uniform(0.85, 1.0, 3)
    image = Image.fromarray(np.uint8(np.clip(rgb, 0, 1) * 255))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG" if rng.random() < 0.5 else "PNG", quality=80)
    return buffer.getvalue()


def render_font_digit(digit: int, font_path: Path, rng: np.random.Generator) -> np.ndarray:
    """Draw one digit with a font on a random-sized page, rotated and placed off-centre."""
    side = int(rng.integers(64, 600))
    font = ImageFont.truetype(str(font_path), size=int(side * rng.uniform(0.2, 0.8)))
    glyph = Image.new("L", (side, side))
    x, y = rng.uniform(0.15, 0.6, 2) * side
    ImageDraw.Draw(glyph).text((x, y), str(digit), fill=255, font=font, anchor="mm")
    glyph = glyph.rotate(rng.uniform(-15, 15), resample=Image.Resampling.BICUBIC)
    return np.asarray(glyph, dtype=np.float64) / 255


def upscale_mnist(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Enlarge an MNIST digit 3-12x and place it on a larger page, as a photo would show it."""
    factor = int(rng.integers(3, 13))
    big = Image.fromarray(image).resize((28 * factor,) * 2, Image.Resampling.BICUBIC)
    page = np.zeros((int(28 * factor * rng.uniform(1.0, 2.0)),) * 2)
    top, left = (rng.integers(0, page.shape[0] - 28 * factor + 1, 2)).tolist()
    page[top : top + 28 * factor, left : left + 28 * factor] = np.asarray(big) / 255
    return page


def accuracy(model: KNeighborsClassifier, files: list[bytes], labels: list[int]) -> float:
    """Share of files that the pipeline plus the model label correctly (failures count wrong)."""
    features, kept = [], []
    for data, label in zip(files, labels, strict=True):
        try:
            features.append(to_mnist(decode_image(data)).ravel() / 255)
            kept.append(label)
        except ValueError as error:
            print(f"  pipeline refused a digit {label}: {error}")
    correct = np.sum(model.predict(np.array(features)) == np.array(kept)) if features else 0
    return float(correct) / len(files)


def main() -> None:
    """Build both test sets, fit the classifier, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-digit", type=int, default=30, help="font renderings per digit")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    dataset = load_mnist()
    model = KNeighborsClassifier(n_neighbors=3).fit(
        dataset.x_train[:N_TRAIN].reshape(N_TRAIN, -1) / 255, dataset.y_train[:N_TRAIN]
    )
    fonts = font_paths()
    font_labels = [d for d in range(10) for _ in range(args.per_digit)]
    start = time.perf_counter()
    font_files = [
        fake_photo(render_font_digit(d, fonts[rng.integers(len(fonts))], rng), rng)
        for d in font_labels
    ]
    picks = rng.choice(dataset.n_test, size=10 * args.per_digit, replace=False)
    mnist_labels = dataset.y_test[picks].tolist()
    mnist_files = [fake_photo(upscale_mnist(dataset.x_test[i], rng), rng) for i in picks]
    desk_files = [sheet_on_desk(upscale_mnist(dataset.x_test[i], rng), rng) for i in picks]
    seconds = time.perf_counter() - start
    count = len(font_files) + len(mnist_files) + len(desk_files)
    print(f"rendered {count} images in {seconds:.1f} s")
    start = time.perf_counter()
    rows = [
        (f"font digits ({len(fonts)} fonts)", accuracy(model, font_files, font_labels)),
        ("photographed MNIST test digits", accuracy(model, mnist_files, mnist_labels)),
        ("the same, on a sheet on a desk", accuracy(model, desk_files, mnist_labels)),
    ]
    seconds = time.perf_counter() - start
    print(f"{'test set':<34} {'accuracy':>8}   (chance 10 %, 3-NN on {N_TRAIN} MNIST digits)")
    for name, value in rows:
        print(f"{name:<34} {value:>8.1%}")
    print(f"pipeline + model: {1000 * seconds / count:.0f} ms/image")


if __name__ == "__main__":
    main()
