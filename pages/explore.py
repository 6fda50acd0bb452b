"""Explore data: what the digits look like before any model sees them."""

import numpy as np
import streamlit as st

from dashboard.ui.app.dataset_cache import (
    cached_class_counts,
    cached_pixel_statistics,
    cached_pixel_summary,
    cached_projection,
    dataset_named,
    split_arrays,
)
from dashboard.ui.app.digit_galleries import digit_gallery
from dashboard.ui.app.figures.images import digit_grid_figure, image_figure
from dashboard.ui.app.figures.style import class_labels
from dashboard.ui.app.pages import PAGE
from dashboard.ui.app.state import keep_widget_state
from dashboard.ui.app.text import plain_markdown
from dashboard.ui.data.datasets_view import dataset_picker
from dashboard.ui.data.figures import MEASURES, projection_figure
from dashboard.ui.data.map_view import slow_map
from dashboard.ui.data.shared_figures import dataset_distribution_figure, pixel_histogram_figure
from mnist_lab import stats
from mnist_lab.data import EMBEDDED_NAME
from mnist_lab.map_cache import MapRequest

SPLITS = ("train", "test")
SECTIONS = ("Classes", "Pixel values", "Average digits", "Gallery", "Map")
MOMENTS = {"mean": "gray_r", "variance": "viridis", "std": "viridis"}
# What each statistic of a pixel means, in words, with its largest value over the tiles.
MOMENT_CAPTIONS = {
    "mean": "The average grey level of each pixel over the {split} images, from 0 (paper) to "
    "255 (full ink); the darkest tile pixel averages {top:.0f}. The mean shows the typical "
    "stroke.",
    "variance": "How much each pixel's grey level varies from one {split} image to the next, "
    "in squared grey levels (at most 16,256 on the 0-255 scale); the largest is {top:,.0f}, a "
    "spread of {spread:.0f} grey levels either way. High variance marks where writers disagree.",
    "std": "How much each pixel's grey level varies from one {split} image to the next, as a "
    "standard deviation in grey levels (0-255); the largest is {top:.0f}. A wide spread marks "
    "where writers disagree.",
}
PROJECTION_LABELS = {"pca": "PCA", "tsne": "t-SNE", "umap": "UMAP"}
GALLERY_SIZE = 40
# Shares within a point of each other read as balanced, not as a most common and a rarest class.
BALANCED_WITHIN = 0.01
MAP_SAMPLE_SIZES = (500, 1000, 2000, 5000)
# A selectbox shows None as "Choose an option", so "all digits" needs a value of its own.
ALL_DIGITS = "all"
WIDGET_DEFAULTS = {
    "explore_split": "train",
    "explore_class_measure": "count",
    "explore_digit": ALL_DIGITS,
    "explore_hist_pixels": "all",
    "explore_hist_log": True,
    "explore_moment": "mean",
    "explore_gallery_digit": ALL_DIGITS,
    "explore_seed": 0,
    "explore_map_method": "pca",
    "explore_map_samples": 2000,
}


def reshuffle() -> None:
    st.session_state.explore_seed += 1


def digit_label(digit: int | str) -> str:
    if digit == ALL_DIGITS:
        return "All classes" if own_data else "All digits"
    return f"Class {dataset.class_names[digit]}" if own_data else f"Digit {digit}"


st.title(PAGE["explore"].title)
try:
    dataset = dataset_named(dataset_picker("explore_dataset", from_url=True))
except ValueError as error:
    st.error(f"This dataset cannot be read: {plain_markdown(error)}")
    st.stop()
own_data = dataset.name != EMBEDDED_NAME
# User text: escaped for plotly's labels, for figure titles and axes.
names = class_labels(dataset.class_names)
digits = [ALL_DIGITS, *range(dataset.n_classes)]
what = (
    f"{dataset.n_classes} classes ({plain_markdown(', '.join(dataset.class_names))})"
    if own_data
    else "handwritten digits"
)
st.caption(
    f"{dataset.n_train:,} training and {dataset.n_test:,} test images of {what}, "
    "28 x 28 grey pixels each. Look at them the way a model will: as numbers."
)
keep_widget_state(WIDGET_DEFAULTS)
st.segmented_control("Split", SPLITS, key="explore_split", required=True)
split = st.session_state.explore_split
images, labels = split_arrays(dataset, split)

tabs = dict(zip(SECTIONS, st.tabs(SECTIONS, key="explore_section", on_change="rerun"), strict=True))

if tabs["Classes"].open:
    with tabs["Classes"]:
        counts = cached_class_counts(dataset, dataset.sha256)
        measure = st.segmented_control(
            "Show",
            MEASURES,
            key="explore_class_measure",
            required=True,
            format_func={"count": "Counts", "share": "Shares of each split"}.get,
        )
        st.plotly_chart(dataset_distribution_figure(dataset, counts, measure))
        train_shares = counts[counts["split"] == "train"].set_index("digit")["share"]
        most, rarest = (
            plain_markdown(dataset.class_names[d]) for d in train_shares.agg(["idxmax", "idxmin"])
        )
        if train_shares.max() - train_shares.min() < BALANCED_WITHIN:
            st.caption(
                f"Every class holds about {train_shares.mean():.1%} of train: the classes are "
                "balanced, so accuracy is a fair first measure."
            )
        else:
            st.caption(
                f"Most common in train: {most} ({train_shares.max():.1%}); "
                f"rarest: {rarest} ({train_shares.min():.1%}). "
                "When the classes are close to balanced, accuracy is a fair first measure."
            )

if tabs["Pixel values"].open:
    with tabs["Pixel values"]:
        controls = st.columns(3, vertical_alignment="bottom")
        digit = controls[0].selectbox("Digit", digits, key="explore_digit", format_func=digit_label)
        pixels = controls[1].segmented_control(
            "Pixels", ("all", "non-zero"), key="explore_hist_pixels", required=True
        )
        log_y = controls[2].toggle("Log scale", key="explore_hist_log")
        chosen = None if digit == ALL_DIGITS else int(digit)
        st.plotly_chart(pixel_histogram_figure(dataset, split, chosen, pixels == "non-zero", log_y))

        # Always the training split's: the test digits are standardized with them too.
        constants = cached_pixel_summary(dataset, dataset.sha256, "train")[0]
        _, zero_share, ink = cached_pixel_summary(dataset, dataset.sha256, split)
        left, right = st.columns(2)
        with left:
            st.subheader("Standardization constants (training split)")
            st.dataframe(
                constants,
                column_config={c: st.column_config.NumberColumn(format="%.4f") for c in constants},
            )
            scaled = constants.loc["[0, 1]"]
            st.caption(
                f"Subtract the mean ({scaled['mean']:.4f}) and divide by the std "
                f"({scaled['std']:.4f}), on pixels scaled to [0, 1]. These are always the "
                "training split's numbers, whichever split you look at: test digits are "
                "standardized with them too, so a model sees them the way it saw its training "
                f"digits. {zero_share:.1%} of pixel positions are 0 in every {split} image."
            )
        with right:
            st.subheader("Ink per digit")
            st.dataframe(
                ink,
                hide_index=True,
                column_config={
                    "mean_intensity": st.column_config.ProgressColumn(
                        "mean intensity", format="%.3f", min_value=0.0, max_value=0.2
                    ),
                    "inked_pixels": st.column_config.NumberColumn("non-zero pixels", format="%.0f"),
                },
            )

if tabs["Average digits"].open:
    with tabs["Average digits"]:
        moment = st.segmented_control(
            "Statistic", tuple(MOMENTS), key="explore_moment", required=True
        )
        overall, by_class = cached_pixel_statistics(dataset, dataset.sha256, split)
        by_digit = np.stack([getattr(s, moment) for s in by_class])
        left, right = st.columns([1, 3])
        left.plotly_chart(
            image_figure(
                getattr(overall, moment),
                MOMENTS[moment],
                f"all {'classes' if own_data else 'digits'}: {moment}",
                show_colorbar=False,
            )
        )
        right.plotly_chart(
            digit_grid_figure(
                by_digit,
                names,
                n_cols=5,
                colorscale=MOMENTS[moment],
                zmin=0,
                zmax=float(by_digit.max()),
                tile_height=150,
            )
        )
        top = float(by_digit.max())
        st.caption(MOMENT_CAPTIONS[moment].format(split=split, top=top, spread=np.sqrt(top)))

if tabs["Gallery"].open:
    with tabs["Gallery"]:
        controls = st.columns(3, vertical_alignment="bottom")
        gallery_digit = controls[0].selectbox(
            "Digit", digits, key="explore_gallery_digit", format_func=digit_label
        )
        seed = controls[1].number_input("Seed", min_value=0, step=1, key="explore_seed")
        controls[2].button(
            "Reshuffle", key="explore_reshuffle", on_click=reshuffle, icon=":material/shuffle:"
        )
        shown = stats.sample_indices(
            labels,
            GALLERY_SIZE,
            digit=None if gallery_digit == ALL_DIGITS else gallery_digit,
            seed=int(seed),
        )
        titles = [f"#{index}: {names[labels[index]]}" for index in shown]
        st.plotly_chart(digit_gallery(dataset, split, shown, titles))
        st.caption(f"{len(shown)} random {split} images, titled with their index and label.")

if tabs["Map"].open:
    with tabs["Map"]:
        controls = st.columns(2)
        method = controls[0].selectbox(
            "Method",
            stats.PROJECTION_METHODS,
            key="explore_map_method",
            format_func=PROJECTION_LABELS.get,
            help="PCA is instant; t-SNE and UMAP take seconds to minutes, once (then cached).",
        )
        n_samples = controls[1].selectbox("Images", MAP_SAMPLE_SIZES, key="explore_map_samples")
        if method == "pca":
            points = cached_projection(dataset, dataset.sha256, split, method, n_samples)
        else:
            request = MapRequest(dataset.sha256, split, method, n_samples)
            points = slow_map(request, PROJECTION_LABELS[method])
        if points is not None:
            event = st.plotly_chart(
                projection_figure(points, dataset.class_names),
                key="explore_map_chart",
                on_select="rerun",
                selection_mode=("box", "lasso"),
            )
            chosen = np.array(
                [int(np.ravel(point["customdata"])[0]) for point in event.selection.points],
                dtype=np.int64,
            )
            if len(chosen):
                shown = stats.sample_of_selection(chosen, labels, GALLERY_SIZE)
                digits_chosen, counts = np.unique(labels[chosen], return_counts=True)
                mix = ", ".join(
                    f"{counts[i]} × {plain_markdown(dataset.class_names[digits_chosen[i]])}"
                    for i in np.argsort(-counts, kind="stable")
                )
                st.caption(
                    f"{len(chosen)} images selected ({mix}); "
                    + (
                        f"{len(shown)} of them, drawn at random across the selection:"
                        if len(shown) < len(chosen)
                        else "all of them:"
                    )
                )
                titles = [f"#{i}: {labels[i]}" for i in shown]
                st.plotly_chart(digit_gallery(dataset, split, shown, titles))
            else:
                st.caption(
                    f"{len(points):,} random {split} images. PCA keeps the two directions of "
                    "largest variance; t-SNE keeps neighbours together. Draw a lasso to see the "
                    "digits."
                )
