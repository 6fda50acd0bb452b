"""Tests of mnist_lab.stats on tiny hand-built arrays, plus the well-known MNIST facts."""

import numpy as np
import pytest

from mnist_lab import stats


def images_of(*rows):
    """Stack 1-row images, e.g. ``images_of([0, 255], [10, 20])`` -> shape (2, 1, 2)."""
    return np.array([[row] for row in rows], dtype=np.uint8)


def test_class_counts_is_a_tidy_table_per_split():
    table = stats.class_counts({"train": np.array([0, 1, 1, 2]), "test": np.array([2, 2])}, 3)
    assert table.columns.tolist() == ["split", "digit", "count", "share"]
    assert table["split"].tolist() == ["train"] * 3 + ["test"] * 3
    assert table["digit"].tolist() == [0, 1, 2, 0, 1, 2]
    assert table["count"].tolist() == [1, 2, 1, 0, 0, 2]
    assert table["share"].tolist() == [0.25, 0.5, 0.25, 0.0, 0.0, 1.0]


@pytest.mark.parametrize(
    ("labels", "message"),
    [
        (np.array([0, 3]), r"must lie in 0\.\.2, found 0\.\.3"),
        (np.array([], dtype=int), "non-empty 1-D integer"),
        (np.array([0.0, 1.0]), "non-empty 1-D integer"),
    ],
)
def test_class_counts_rejects_bad_labels(labels, message):
    with pytest.raises(ValueError, match=message):
        stats.class_counts({"train": labels}, n_classes=3)


def test_pixel_value_counts_overall_and_per_class():
    images = images_of([0, 255], [0, 7], [7, 7])
    overall = stats.pixel_value_counts(images)
    assert overall.shape == (256,)
    assert (overall[0], overall[7], overall[255], overall.sum()) == (2, 3, 1, 6)
    per_class = stats.pixel_value_counts(images, np.array([1, 0, 1]), n_classes=2)
    assert per_class.shape == (2, 256)
    assert per_class[0, [0, 7]].tolist() == [1, 1]
    assert per_class[1, [0, 7, 255]].tolist() == [1, 2, 1]
    np.testing.assert_array_equal(per_class.sum(axis=0), overall)


def test_pixel_value_counts_walks_chunks_without_losing_images(monkeypatch):
    monkeypatch.setattr(stats, "CHUNK_IMAGES", 2)
    images = np.full((5, 2, 2), 9, dtype=np.uint8)
    assert stats.pixel_value_counts(images)[9] == 20
    assert stats.pixel_value_counts(images, np.array([0, 1, 0, 1, 0]), n_classes=2)[
        :, 9
    ].tolist() == [12, 8]


@pytest.mark.parametrize(
    "images",
    [np.zeros((2, 2, 2), np.float32), np.zeros((4, 4), np.uint8)],
    ids=["float", "2-D"],
)
def test_statistics_reject_images_that_are_not_uint8_stacks(images):
    with pytest.raises(ValueError, match=r"uint8 array of shape \(n, height, width\)"):
        stats.pixel_value_counts(images)


def test_pixel_value_counts_rejects_labels_of_another_length():
    with pytest.raises(ValueError, match=r"one entry per image \(2\)"):
        stats.pixel_value_counts(images_of([0], [1]), np.array([0, 1, 1]))


def test_pixel_histogram_with_and_without_the_background():
    counts = np.zeros(256, dtype=np.int64)
    counts[[0, 10, 255]] = [6, 1, 3]
    every_value = stats.pixel_histogram(counts)
    assert every_value.columns.tolist() == ["value", "count", "share"]
    assert len(every_value) == 256
    assert every_value.loc[every_value["value"] == 0, "share"].item() == 0.6
    ink_only = stats.pixel_histogram(counts, nonzero_only=True)
    assert ink_only["value"].tolist() == list(range(1, 256))
    assert ink_only.loc[ink_only["value"] == 255, "share"].item() == 0.75
    assert ink_only["share"].sum() == pytest.approx(1.0)


def test_pixel_histogram_of_a_blank_set_has_zero_shares():
    counts = np.zeros(256, dtype=np.int64)
    counts[0] = 5
    assert stats.pixel_histogram(counts, nonzero_only=True)["share"].sum() == 0


def test_pixel_histogram_names_the_expected_shape():
    with pytest.raises(ValueError, match=r"shape \(256,\)"):
        stats.pixel_histogram(np.zeros((10, 256)))


def test_standardization_constants_on_both_scales():
    table = stats.standardization_constants(images_of([0, 0], [0, 255]))
    assert table.index.tolist() == ["[0, 255]", "[0, 1]"]
    assert table.loc["[0, 255]"].tolist() == pytest.approx(
        [63.75, 63.75 * 191.25, np.sqrt(63.75 * 191.25)]
    )
    assert table.loc["[0, 1]"].tolist() == pytest.approx([0.25, 0.1875, np.sqrt(0.1875)])


def test_average_ink_per_digit():
    images = images_of([0, 255], [255, 255], [0, 51])
    table = stats.average_ink(images, np.array([0, 1, 0]), n_classes=3)
    assert table.columns.tolist() == ["digit", "images", "mean_intensity", "inked_pixels"]
    assert table["images"].tolist() == [2, 1, 0]
    assert table["mean_intensity"][:2].tolist() == pytest.approx([0.3, 1.0])
    assert table["inked_pixels"][:2].tolist() == [1.0, 2.0]
    assert table.loc[2, ["mean_intensity", "inked_pixels"]].isna().all()


def test_pixel_statistics_per_pixel():
    result = stats.pixel_statistics(images_of([0, 10, 255], [0, 30, 255]))
    assert result.n_images == 2
    np.testing.assert_allclose(result.mean, [[0, 20, 255]])
    np.testing.assert_allclose(result.variance, [[0, 100, 0]])
    np.testing.assert_allclose(result.std, [[0, 10, 0]])


def test_pixel_statistics_match_numpy_across_chunks(monkeypatch):
    monkeypatch.setattr(stats, "CHUNK_IMAGES", 3)
    images = np.random.default_rng(1).integers(0, 256, (10, 4, 5), dtype=np.uint8)
    result = stats.pixel_statistics(images)
    np.testing.assert_allclose(result.mean, images.mean(axis=0))
    np.testing.assert_allclose(result.variance, images.var(axis=0))
    np.testing.assert_allclose(result.std, images.std(axis=0))


def test_pixel_statistics_needs_an_image():
    with pytest.raises(ValueError, match="at least one image"):
        stats.pixel_statistics(np.zeros((0, 2, 2), np.uint8))


def test_pixel_statistics_by_class():
    images = images_of([0, 10], [0, 30], [255, 0])
    by_class = stats.pixel_statistics_by_class(images, np.array([0, 0, 1]), n_classes=2)
    assert [s.n_images for s in by_class] == [2, 1]
    np.testing.assert_allclose(by_class[0].mean, [[0, 20]])
    np.testing.assert_allclose(by_class[1].mean, [[255, 0]])
    np.testing.assert_allclose(by_class[1].variance, [[0, 0]])


def test_pixel_statistics_by_class_names_the_empty_classes():
    with pytest.raises(ValueError, match=r"classes \[1, 2\] have no images"):
        stats.pixel_statistics_by_class(images_of([0], [1]), np.array([0, 0]), n_classes=3)


def test_always_zero_mask_and_share():
    images = images_of([0, 5, 0, 0], [0, 0, 9, 0])
    np.testing.assert_array_equal(stats.always_zero_mask(images), [[True, False, False, True]])
    assert stats.always_zero_share(images) == 0.5


def test_sample_indices_filters_by_digit_and_is_seeded():
    labels = np.array([3, 1, 3, 3, 2, 3])
    picked = stats.sample_indices(labels, 3, digit=3, seed=5)
    assert len(picked) == 3
    assert set(picked.tolist()) <= {0, 2, 3, 5}
    np.testing.assert_array_equal(picked, stats.sample_indices(labels, 3, digit=3, seed=5))
    assert sorted(stats.sample_indices(labels, 10).tolist()) == list(range(6))
    assert len(stats.sample_indices(labels, 4, digit=7)) == 0


def test_sample_indices_rejects_a_bad_size():
    with pytest.raises(ValueError, match="n must be at least 1"):
        stats.sample_indices(np.arange(3), 0)


def test_project_2d_pca_finds_the_direction_of_largest_variance():
    # Images vary along one pixel far more than along another: PCA axis 1 must follow it.
    rng = np.random.default_rng(0)
    images = np.zeros((40, 1, 3), dtype=np.uint8)
    images[:, 0, 0] = rng.integers(0, 256, 40)
    images[:, 0, 1] = rng.integers(100, 110, 40)
    points = stats.project_2d(images, np.arange(40) % 2, method="pca", n_samples=40)
    assert points.columns.tolist() == ["index", "digit", "x", "y"]
    assert points["index"].tolist() == list(range(40))
    centred = images[:, 0, 0] / 255 - (images[:, 0, 0] / 255).mean()
    np.testing.assert_allclose(np.abs(points["x"]), np.abs(centred), atol=0.02)
    assert points["y"].abs().max() < 0.03


def test_project_2d_samples_and_is_reproducible():
    images = np.random.default_rng(2).integers(0, 256, (50, 4, 4), dtype=np.uint8)
    labels = np.arange(50) % 10
    first = stats.project_2d(images, labels, n_samples=20, seed=4)
    assert len(first) == 20
    np.testing.assert_array_equal(first["digit"], labels[first["index"]])
    assert first.equals(stats.project_2d(images, labels, n_samples=20, seed=4))


def test_project_2d_tsne_on_a_small_sample():
    images = np.random.default_rng(3).integers(0, 256, (30, 4, 4), dtype=np.uint8)
    points = stats.project_2d(images, np.arange(30) % 10, method="tsne", n_samples=30)
    assert points.shape == (30, 4)
    assert np.isfinite(points[["x", "y"]].to_numpy()).all()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"method": "lda"}, r"method must be one of \('pca', 'tsne'"),
        ({"n_samples": 2}, "n_samples must be at least 3"),
    ],
)
def test_project_2d_rejects_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        stats.project_2d(np.zeros((5, 2, 2), np.uint8), np.zeros(5, int), **kwargs)


def test_mnist_standardization_constants(mnist):
    unit_scale = stats.standardization_constants(mnist.x_train).loc["[0, 1]"]
    assert round(unit_scale["mean"], 4) == 0.1307
    assert round(unit_scale["std"], 4) == 0.3081


def test_mnist_class_counts(mnist):
    table = stats.class_counts({"train": mnist.y_train, "test": mnist.y_test})
    train = table[table["split"] == "train"]
    test = table[table["split"] == "test"]
    assert train["count"].tolist() == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    assert test["count"].tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    assert train["share"].sum() == pytest.approx(1.0)


def test_mnist_pixel_facts(mnist):
    # About 81 % of MNIST pixels are background, and the corners are blank in every image.
    counts = stats.pixel_value_counts(mnist.x_test)
    assert counts.sum() == 10000 * 784
    assert 0.78 < counts[0] / counts.sum() < 0.84
    assert stats.always_zero_mask(mnist.x_train)[0, 0]
    assert 0.05 < stats.always_zero_share(mnist.x_train) < 0.12
    ink = stats.average_ink(mnist.x_test, mnist.y_test)
    assert ink["mean_intensity"].idxmin() == 1
