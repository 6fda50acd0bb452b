"""How well does the Playground pipeline carry digits that are not from MNIST to a model?

Renders digits with the system's fonts (DejaVu, Liberation) at random sizes, positions,
rotations, stroke weights, ink colours and papers, some with uneven lighting, noise and JPEG
compression, and also fakes photos of held-out MNIST test digits (upscaled, inverted, lit
unevenly), alone and written on a sheet of paper lying askew on a darker desk. Every image
goes through ``decode_image`` + ``to_mnist`` and is read by two classifiers: a 3-nearest-
neighbour classifier fitted on MNIST training digits, and the fast CNN trained with its recipe
as a run of the lab (the one-click model of the Playground). Prints accuracy against the 10 %
of chance.

Run: ``.venv/bin/python -m benchmarks.bench_handwriting [--per-digit 30] [--seed 0]``
"""

from __future__ import annotations

import argparse
import io
import tempfile
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


def prepare(files: list[bytes], labels: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """The 28x28 digits the pipeline makes of ``files``, and their labels (refusals left out)."""
    digits, kept = [], []
    for data, label in zip(files, labels, strict=True):
        try:
            digits.append(to_mnist(decode_image(data)))
            kept.append(label)
        except ValueError as error:
            print(f"  pipeline refused a digit {label}: {error}")
    return np.array(digits, dtype=np.uint8).reshape(-1, 28, 28), np.array(kept)


def accuracy(predict, digits: np.ndarray, labels: np.ndarray, total: int) -> float:
    """Share of all ``total`` files labelled correctly (refused ones count as wrong)."""
    correct = np.sum(predict(digits) == labels) if len(digits) else 0
    return float(correct) / total


def fast_cnn_predictor():
    """Train the fast CNN with its recipe as a run of the lab; return its label predictor."""
    from mnist_lab.engines import engine_of
    from mnist_lab.engines.keras_net.settings import KerasSettings
    from mnist_lab.execution.worker import run_worker
    from mnist_lab.runs import RunStore

    values = KerasSettings.recommended({"preset": "fast-cnn"})
    settings = KerasSettings(preset="fast-cnn", **values)
    run = RunStore(tempfile.mkdtemp()).create(settings.to_dict())
    assert run_worker(run.path) == "finished", run.status()["message"]
    engine = engine_of(run)
    model = engine.load_model(run)
    print(f"fast CNN trained: test accuracy {run.evaluation()['test_accuracy']:.2%}")
    return lambda digits: engine.predict_proba(run, digits, model=model).argmax(axis=1)


def main() -> None:
    """Build both test sets, fit the classifier, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-digit", type=int, default=30, help="font renderings per digit")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    dataset = load_mnist()
    knn = KNeighborsClassifier(n_neighbors=3).fit(
        dataset.x_train[:N_TRAIN].reshape(N_TRAIN, -1) / 255, dataset.y_train[:N_TRAIN]
    )
    readers = {
        f"3-NN ({N_TRAIN:,} digits)": lambda digits: knn.predict(
            digits.reshape(len(digits), -1) / 255
        ),
        "fast CNN": fast_cnn_predictor(),
    }
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
    sets = {
        f"font digits ({len(fonts)} fonts)": (font_files, font_labels),
        "photographed MNIST test digits": (mnist_files, mnist_labels),
        "the same, on a sheet on a desk": (desk_files, mnist_labels),
    }
    prepared = {
        name: (*prepare(*files_and_labels), len(files_and_labels[0]))
        for name, files_and_labels in sets.items()
    }
    seconds = time.perf_counter() - start
    print(f"pipeline: {1000 * seconds / count:.0f} ms/image (chance: 10 %)")
    print("| test set | " + " | ".join(readers) + " |")
    print("|---" * (len(readers) + 1) + "|")
    for name, (digits, labels, total) in prepared.items():
        cells = [f"{accuracy(read, digits, labels, total):.1%}" for read in readers.values()]
        print(f"| {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
