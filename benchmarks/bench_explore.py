"""Time the Explore page's data work: dataset load, each statistic, and page re-renders.

Run from the repository root: ``.venv/bin/python -m benchmarks.bench_explore``. Prints one
table; the re-render target is under 0.3 s per widget change.
"""

import statistics
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

from streamlit.testing.v1 import AppTest  # noqa: E402

from mnist_lab import stats  # noqa: E402
from mnist_lab.data import load_mnist  # noqa: E402

PAGE = ROOT / "pages" / "explore.py"
RERUNS = 7
RERENDER_TARGET_S = 0.3
# For each tab: a widget and the values to cycle through; every value is seen once before timing.
WIDGET_CHANGES = {
    "Classes": ("segmented_control", "explore_class_measure", ["share", "count"]),
    "Pixel values": ("selectbox", "explore_digit", [3, "all", 7]),
    "Average digits": ("segmented_control", "explore_moment", ["variance", "std", "mean"]),
    "Gallery": ("number_input", "explore_seed", [1, 2, 3]),
    "Map": ("selectbox", "explore_map_samples", [1000, 2000]),
}


def seconds(action: Callable[[], object], repeat: int = 1) -> float:
    """Median wall time of ``repeat`` calls."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def page_rerender_seconds(section: str) -> float:
    """Median time of a rerun after a widget change on one tab, caches warm."""
    kind, key, values = WIDGET_CHANGES[section]
    app = AppTest.from_file(str(PAGE), default_timeout=300)
    app.session_state["explore_section"] = section
    app.run()
    for value in values:
        getattr(app, kind)(key=key).set_value(value).run()
    times = []
    for step in range(RERUNS):
        widget = getattr(app, kind)(key=key).set_value(values[step % len(values)])
        times.append(seconds(widget.run))
        assert not app.exception, app.exception
    return statistics.median(times)


def main() -> None:
    rows = [("load_mnist() cold, incl. SHA-256 check", seconds(load_mnist))]
    dataset = load_mnist()
    x, y = dataset.x_train, dataset.y_train
    statistics_to_time = {
        "class_counts (train + test)": lambda: stats.class_counts(
            {"train": y, "test": dataset.y_test}
        ),
        "pixel_value_counts (per digit)": lambda: stats.pixel_value_counts(x, y),
        "standardization_constants": lambda: stats.standardization_constants(x),
        "average_ink": lambda: stats.average_ink(x, y),
        "always_zero_share": lambda: stats.always_zero_share(x),
        "pixel_statistics (overall)": lambda: stats.pixel_statistics(x),
        "pixel_statistics_by_class": lambda: stats.pixel_statistics_by_class(x, y),
        "sample_indices (gallery of 40)": lambda: stats.sample_indices(y, 40, digit=3, seed=1),
        "project_2d pca, 2000 images": lambda: stats.project_2d(x, y, "pca", 2000),
        "project_2d tsne, 1000 images": lambda: stats.project_2d(x, y, "tsne", 1000),
    }
    for name, action in statistics_to_time.items():
        rows.append((f"stats.{name} on train", seconds(action, repeat=1 if "tsne" in name else 3)))
    for section in WIDGET_CHANGES:
        rows.append((f"Explore re-render, {section} tab (median)", page_rerender_seconds(section)))

    width = max(len(name) for name, _ in rows)
    print(f"{'what (60 000 training images)':<{width}}  seconds")
    print(f"{'-' * width}  -------")
    for name, value in rows:
        flag = " (over target)" if "re-render" in name and value > RERENDER_TARGET_S else ""
        print(f"{name:<{width}}  {value:7.3f}{flag}")


if __name__ == "__main__":
    main()
