"""Users' own datasets, stored beside the runs by SHA-256 so that every run can find its data.

One module owns the format::

    <runs>/.datasets/<sha256>/data.npz       x_train, y_train, x_test, y_test (numpy.savez)
    <runs>/.datasets/<sha256>/dataset.json   name, class names, sha256, counts, created

A dataset arrives as a Keras-style ``.npz`` or the four IDX files (gzipped or not) and is
read by `mnist_lab.data`'s bounded loaders: headers are checked before anything is
inflated, and nothing is unpickled. Only a dataset that passed every check is stored, so a
refused upload leaves nothing behind. The SHA-256 is that of the arrays themselves, so the
same images and labels get the same hash whether they came as ``.npz`` or IDX files.

Every run records its dataset's name and hash in ``config.json`` (`dataset_record` at
creation); `dataset_of` loads the very data a run trained on. The embedded MNIST is the
dataset named ``"MNIST"``, always there.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import re
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from mnist_lab.data import (
    CLASS_NAMES,
    EMBEDDED_SHA256,
    MNIST_N_TRAIN,
    N_CLASSES,
    NPZ_KEYS,
    MnistDataset,
    load_idx_dataset,
    load_mnist,
    load_npz,
)
from mnist_lab.data import EMBEDDED_NAME as MNIST
from mnist_lab.files import (
    DamagedRunError,
    atomic_write_json,
    locked_directory,
    now_iso,
    read_json,
)

if TYPE_CHECKING:
    from mnist_lab.runs import Run, RunStore

DATASETS_DIR = ".datasets"
DATA_FILE = "data.npz"
INFO_FILE = "dataset.json"
FORMAT_VERSION = 1
MAX_NAME_LENGTH = 40
MAX_CLASS_NAME_LENGTH = 24
MIN_CLASSES = 2
# Labels are 0-9 in every file the loaders accept, and the figures have ten colours.
MAX_CLASSES = N_CLASSES
# Largest file a user may hand in (Fashion-MNIST's training images are 26 MB gzipped); what
# it inflates to is capped separately by the loaders (`mnist_lab.data.MAX_ARRAY_BYTES`).
MAX_UPLOAD_BYTES = 64 * 2**20
SHA256_PATTERN = re.compile(r"^[0-9a-f]{64}$")
# Which of the four IDX files a file name is: the split and the kind it names.
IDX_ROLES = {
    ("train", "images"): "x_train",
    ("train", "labels"): "y_train",
    ("test", "images"): "x_test",
    ("test", "labels"): "y_test",
}


@dataclass(frozen=True)
class DatasetInfo:
    """What ``dataset.json`` says about one stored dataset.

    Attributes
    ----------
    name : str
        The name users pick it by (unique in the store, case ignored).
    sha256 : str
        SHA-256 of its arrays (`arrays_sha256`), the name of its directory.
    class_names : tuple of str
        Display name of each class, indexed by label.
    n_train, n_test : int
        Number of training and test images.
    created : str
        When it was added (ISO 8601, UTC).
    source : str
        The files it was read from.
    owner : str, optional
        Who added it: they and the teacher may rename, relabel or delete it.
    """

    name: str
    sha256: str
    class_names: tuple[str, ...]
    n_train: int
    n_test: int
    created: str
    source: str
    owner: str | None = None

    @property
    def n_classes(self) -> int:
        """Number of classes."""
        return len(self.class_names)


def validate_dataset_name(name: str) -> str:
    """Return a dataset name stripped of surrounding space, or raise ``ValueError``.

    Examples
    --------
    >>> validate_dataset_name("  Shapes ")
    'Shapes'
    """
    name = str(name).strip()
    if not name:
        raise ValueError("a dataset needs a name")
    if len(name) > MAX_NAME_LENGTH:
        raise ValueError(
            f"a dataset name has at most {MAX_NAME_LENGTH} characters; this one has {len(name)}"
        )
    if not name.isprintable():
        raise ValueError("a dataset name must be printable characters only (no line breaks)")
    return name


def parse_class_names(text: str | Sequence[str] | None) -> tuple[str, ...] | None:
    """Class names from comma-separated text (or a list), checked; None when none are given.

    Raises
    ------
    ValueError
        If a name is empty, too long, not printable or repeated, or there are fewer than
        `MIN_CLASSES` or more than `MAX_CLASSES`.

    Examples
    --------
    >>> parse_class_names("square, cross,circle")
    ('square', 'cross', 'circle')
    >>> parse_class_names("  ") is None
    True
    """
    if text is None:
        return None
    items = text.split(",") if isinstance(text, str) else list(text)
    names = tuple(str(item).strip() for item in items)
    if names == ("",):
        return None
    if not MIN_CLASSES <= len(names) <= MAX_CLASSES:
        raise ValueError(
            f"give {MIN_CLASSES} to {MAX_CLASSES} class names, separated by commas; "
            f"got {len(names)}"
        )
    for position, name in enumerate(names, start=1):
        if not name:
            raise ValueError(f"class name {position} is empty (two commas in a row?)")
        if len(name) > MAX_CLASS_NAME_LENGTH or not name.isprintable():
            raise ValueError(
                f"class name {position} must be at most {MAX_CLASS_NAME_LENGTH} printable "
                "characters"
            )
    if len({name.casefold() for name in names}) < len(names):
        raise ValueError("two classes have the same name")
    return names


def arrays_sha256(dataset: MnistDataset) -> str:
    """SHA-256 of a dataset's four arrays (their shapes and bytes), whatever file they came in.

    Parameters
    ----------
    dataset : MnistDataset

    Returns
    -------
    str
        64 lowercase hex digits.
    """
    digest = hashlib.sha256()
    for key in NPZ_KEYS:
        array = np.ascontiguousarray(getattr(dataset, key), dtype=np.uint8)
        digest.update(f"{key}{array.shape}".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def read_dataset_files(paths: Sequence[str | Path]) -> MnistDataset:
    """Read a dataset from one ``.npz`` or the four IDX files, with the loaders' checks.

    The IDX files are told apart by name: ``train`` or ``t10k``/``test``, and ``images``
    (``idx3``) or ``labels`` (``idx1``), as in ``train-images-idx3-ubyte.gz``.

    Parameters
    ----------
    paths : sequence of str or Path
        One ``.npz``, or four IDX files in any order.

    Returns
    -------
    MnistDataset

    Raises
    ------
    ValueError
        If a file is larger than `MAX_UPLOAD_BYTES`, the files are not one ``.npz`` or four
        recognizable IDX files, or a loader refuses one (bad magic, truncated, a gzip that
        inflates past its header, counts or sizes that disagree, pickles).
    """
    paths = [Path(path) for path in paths]
    for path in paths:
        if path.is_file() and path.stat().st_size > MAX_UPLOAD_BYTES:
            raise ValueError(
                f"{path.name} is larger than the {MAX_UPLOAD_BYTES // 2**20} MB a dataset file "
                "may be"
            )
    if len(paths) == 1 and paths[0].suffix == ".npz":
        return load_npz(paths[0])
    if len(paths) != 4:
        raise ValueError(
            f"give one .npz file or the four IDX files (train and test images and labels); "
            f"got {len(paths)} file(s)"
        )
    roles: dict[str, Path] = {}
    for path in paths:
        role = _idx_role(path.name)
        if role is None or role in roles:
            raise ValueError(
                f"cannot tell which of the four IDX files {path.name} is: name them like "
                "train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, "
                "t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz"
            )
        roles[role] = path
    return load_idx_dataset(*(roles[key] for key in NPZ_KEYS))


def _idx_role(file_name: str) -> str | None:
    """The array an IDX file holds, from its name, or None if the name does not say."""
    name = file_name.lower()
    split = "test" if ("t10k" in name or "test" in name) else "train" if "train" in name else None
    kind = (
        "images"
        if ("images" in name or "idx3" in name)
        else "labels"
        if ("labels" in name or "idx1" in name)
        else None
    )
    return IDX_ROLES.get((split, kind))


def with_class_names(dataset: MnistDataset, class_names: Sequence[str] | None) -> MnistDataset:
    """``dataset`` with one class per label: the given names, else the labels as text.

    Raises
    ------
    ValueError
        If a label has no name, a class has no training image, or the number of classes is
        outside `MIN_CLASSES`..`MAX_CLASSES`.
    """
    largest = int(max(dataset.y_train.max(), dataset.y_test.max()))
    names = tuple(class_names) if class_names else tuple(str(i) for i in range(largest + 1))
    if largest >= len(names):
        raise ValueError(
            f"the labels go up to {largest}, so {largest + 1} class names are needed; "
            f"{len(names)} were given"
        )
    if not MIN_CLASSES <= len(names) <= MAX_CLASSES:
        raise ValueError(
            f"a dataset has {MIN_CLASSES} to {MAX_CLASSES} classes; this one has {len(names)}"
        )
    missing = sorted(set(range(len(names))) - set(np.unique(dataset.y_train).tolist()))
    if missing:
        raise ValueError(
            f"class(es) {', '.join(names[i] for i in missing)} have no training image; "
            "every class needs some to be learnt"
        )
    return dataclasses.replace(dataset, class_names=names)


class DatasetStore:
    """The datasets stored under one runs directory (``<runs>/.datasets``).

    Parameters
    ----------
    runs_root : str or Path
        The runs directory (`mnist_lab.runs.RunStore.root`).
    """

    def __init__(self, runs_root: str | Path):
        self.root = Path(runs_root) / DATASETS_DIR

    def add_files(
        self,
        paths: Sequence[str | Path],
        name: str,
        class_names: str | Sequence[str] | None = None,
        owner: str | None = None,
    ) -> DatasetInfo:
        """Read, check and store a dataset from one ``.npz`` or four IDX files.

        Parameters
        ----------
        paths : sequence of str or Path
            See `read_dataset_files`.
        name : str
            Its name (see `validate_dataset_name`); not ``"MNIST"`` nor another's.
        class_names : str or sequence of str, optional
            Comma-separated text or a list (see `parse_class_names`); the labels by default.
        owner : str, optional
            Who adds it (recorded; see `DatasetInfo.owner`).

        Returns
        -------
        DatasetInfo
            The stored dataset's description (the existing one if these very arrays are
            already stored under the same name, with the same class names).

        Raises
        ------
        ValueError
            Saying what is wrong; nothing is stored then.
        """
        name = validate_dataset_name(name)
        names = parse_class_names(class_names)
        dataset = with_class_names(read_dataset_files(paths), names)
        return self.add(dataset, name, owner)

    def add(self, dataset: MnistDataset, name: str, owner: str | None = None) -> DatasetInfo:
        """Store a checked dataset under ``name``: written to a temporary folder, then renamed.

        Raises
        ------
        ValueError
            If the name is taken, or the same arrays are stored under another name or with
            other class names (`set_class_names` changes those).
        """
        name = validate_dataset_name(name)
        sha256 = arrays_sha256(dataset)
        info = DatasetInfo(
            name=name,
            sha256=sha256,
            class_names=tuple(dataset.class_names),
            n_train=dataset.n_train,
            n_test=dataset.n_test,
            created=now_iso(),
            source=dataset.source,
            owner=owner,
        )
        self.root.mkdir(parents=True, exist_ok=True)
        # A dot-named folder is never listed, so a crash mid-write leaves no half dataset.
        temp = Path(tempfile.mkdtemp(dir=self.root, prefix=".incoming-"))
        try:
            np.savez_compressed(
                temp / DATA_FILE, **{key: getattr(dataset, key) for key in NPZ_KEYS}
            )
            atomic_write_json(
                temp / INFO_FILE,
                {"format": FORMAT_VERSION, **dataclasses.asdict(info)},
            )
            # The slow write happens above; the name check and the rename are one step for
            # every session at once, so two uploads can never both take one name.
            with locked_directory(self.root):
                target = self.root / sha256
                if target.is_dir():
                    existing = self.info(sha256)
                    if existing.name != name:
                        raise ValueError(
                            f"these images and labels are already stored as {existing.name!r}"
                        )
                    if existing.class_names != info.class_names:
                        raise ValueError(
                            f"{existing.name!r} already holds these images, with the classes "
                            f"{', '.join(existing.class_names)}: change its class names "
                            "under Change a dataset instead"
                        )
                    return existing
                self._check_name_free(name)
                os.rename(temp, target)
        finally:
            shutil.rmtree(temp, ignore_errors=True)
        return info

    def rename(self, sha256: str, name: str) -> DatasetInfo:
        """Give the dataset stored as ``sha256`` a new ``name`` (runs find it by its hash).

        Raises
        ------
        ValueError
            If the name is not valid or taken by another dataset.
        KeyError
            If no dataset has that hash.
        """
        name = validate_dataset_name(name)
        with locked_directory(self.root):
            self._check_name_free(name, sha256)
            return self._rewrite(dataclasses.replace(self.info(sha256), name=name))

    def set_class_names(self, sha256: str, class_names: str | Sequence[str]) -> DatasetInfo:
        """Name the classes of the dataset stored as ``sha256``, one name per class.

        Raises
        ------
        ValueError
            If the names are not valid or not one per class.
        """
        names = parse_class_names(class_names)
        with locked_directory(self.root):
            info = self.info(sha256)
            if names is None or len(names) != info.n_classes:
                raise ValueError(
                    f"{info.name!r} has {info.n_classes} classes: give {info.n_classes} names, "
                    "separated by commas"
                )
            return self._rewrite(dataclasses.replace(info, class_names=names))

    def delete(self, sha256: str, runs: RunStore) -> None:
        """Remove the dataset stored as ``sha256``, unless a run of ``runs`` trained on it.

        Parameters
        ----------
        sha256 : str
        runs : RunStore
            The runs beside this store.

        Raises
        ------
        ValueError
            If runs use it: they would read as damaged without it.
        KeyError
            If no dataset has that hash.
        """
        with locked_directory(self.root):
            info = self.info(sha256)
            if used := runs_using(runs, sha256):
                raise ValueError(
                    f"{len(used)} run(s) trained on {info.name!r} and need it to be evaluated; "
                    "delete those runs first"
                )
            # Out of the listing in one step, then removed at leisure.
            doomed = self.root / f".deleting-{sha256}"
            os.rename(self._folder(sha256), doomed)
            shutil.rmtree(doomed, ignore_errors=True)

    def _rewrite(self, info: DatasetInfo) -> DatasetInfo:
        atomic_write_json(
            self._folder(info.sha256) / INFO_FILE,
            {"format": FORMAT_VERSION, **dataclasses.asdict(info)},
        )
        return info

    def _check_name_free(self, name: str, sha256: str | None = None) -> None:
        if name.casefold() == MNIST.casefold():
            raise ValueError(f"{MNIST!r} is the embedded dataset's name: choose another")
        taken = next(
            (i for i in self.list() if i.name.casefold() == name.casefold() and i.sha256 != sha256),
            None,
        )
        if taken is not None:
            raise ValueError(f"a dataset named {taken.name!r} already exists: choose another name")

    def list(self) -> list[DatasetInfo]:
        """Every readable stored dataset, oldest first (unreadable ones are left out)."""
        if not self.root.is_dir():
            return []
        infos = []
        for path in self.root.iterdir():
            if SHA256_PATTERN.fullmatch(path.name):
                try:
                    infos.append(self.info(path.name))
                except (KeyError, DamagedRunError):
                    continue
        return sorted(infos, key=lambda info: (info.created, info.name))

    def names(self) -> list[str]:
        """``"MNIST"`` and every stored dataset's name, in that order."""
        return [MNIST, *(info.name for info in self.list())]

    def info(self, sha256: str) -> DatasetInfo:
        """The description of the dataset stored as ``sha256``.

        Raises
        ------
        KeyError
            If no dataset has that hash.
        DamagedRunError
            If its ``dataset.json`` is unreadable or malformed.
        """
        folder = self._folder(sha256)
        data = read_json(folder / INFO_FILE)
        try:
            info = DatasetInfo(
                name=validate_dataset_name(data["name"]),
                sha256=str(data["sha256"]),
                class_names=parse_class_names(list(data["class_names"])) or (),
                n_train=int(data["n_train"]),
                n_test=int(data["n_test"]),
                created=str(data["created"]),
                source=str(data.get("source", "")),
                owner=_recorded_owner(data.get("owner")),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise DamagedRunError(
                f"{INFO_FILE} of dataset {sha256[:12]} is malformed ({error})"
            ) from None
        if info.sha256 != sha256:
            raise DamagedRunError(f"{INFO_FILE} of dataset {sha256[:12]} names another hash")
        return info

    def get(self, sha256: str) -> MnistDataset:
        """Load the dataset stored as ``sha256`` (arrays read with ``allow_pickle=False``).

        Raises
        ------
        KeyError
            If no dataset has that hash.
        DamagedRunError
            If its files are unreadable or malformed.
        """
        info = self.info(sha256)
        try:
            dataset = load_npz(self._folder(sha256) / DATA_FILE)
        except ValueError as error:
            raise DamagedRunError(f"dataset {info.name!r} is damaged: {error}") from None
        return dataclasses.replace(
            with_class_names(dataset, info.class_names),
            name=info.name,
            source=info.source,
            sha256=info.sha256,
        )

    def by_name(self, name: str) -> DatasetInfo:
        """The stored dataset called ``name`` (case ignored).

        Raises
        ------
        ValueError
            If none is, naming the ones there are.
        """
        found = next((i for i in self.list() if i.name.casefold() == str(name).casefold()), None)
        if found is None:
            raise ValueError(
                f"no dataset named {name!r}; choose one of {self.names()} or add it with "
                "`python -m mnist_lab dataset add` or on the Data page"
            )
        return found

    def load(self, name: str) -> MnistDataset:
        """The dataset called ``name``: the embedded MNIST or a stored one.

        Raises
        ------
        ValueError
            If there is no such dataset, or it is damaged.
        """
        if name == MNIST:
            return load_mnist()
        return self.get(self.by_name(name).sha256)

    def n_train(self, name: str) -> int:
        """How many training images the dataset called ``name`` holds.

        Raises
        ------
        ValueError
            If there is no such dataset.
        """
        return MNIST_N_TRAIN if name == MNIST else self.by_name(name).n_train

    def n_classes(self, name: str) -> int:
        """How many classes the dataset called ``name`` has.

        Raises
        ------
        ValueError
            If there is no such dataset.
        """
        return N_CLASSES if name == MNIST else self.by_name(name).n_classes

    def record(self, name: str) -> dict:
        """What a run's ``config.json`` records of the dataset called ``name``.

        Returns
        -------
        dict
            ``{"name", "sha256"}``.

        Raises
        ------
        ValueError
            If there is no such dataset.
        """
        if name == MNIST:
            return {"name": MNIST, "sha256": EMBEDDED_SHA256}
        info = self.by_name(name)
        return {"name": info.name, "sha256": info.sha256}

    def _folder(self, sha256: str) -> Path:
        """The folder of a stored dataset; the hash is checked, so no path leaves the store."""
        if not isinstance(sha256, str) or not SHA256_PATTERN.fullmatch(sha256):
            raise KeyError(f"{sha256!r} is not a SHA-256")
        folder = self.root / sha256
        if not folder.is_dir():
            raise KeyError(f"no dataset {sha256[:12]}... in {self.root}")
        return folder


def runs_using(runs: RunStore, sha256: str) -> list[Run]:
    """The runs of ``runs`` that trained on the dataset stored as ``sha256``."""
    using = []
    for run in runs.list():
        try:
            config = run.config()
        except DamagedRunError:
            continue
        if recorded_dataset(config)["sha256"] == sha256:
            using.append(run)
    return using


def _recorded_owner(value: object) -> str | None:
    """The ``owner`` of a ``dataset.json``: short printable text, or None."""
    if value is None:
        return None
    if (
        not isinstance(value, str)
        or not value.isprintable()
        or not 0 < len(value) <= MAX_NAME_LENGTH
    ):
        raise ValueError(f"owner must be a short printable name, got {value!r}")
    return value


def recorded_dataset(config: dict) -> dict:
    """The ``{"name", "sha256"}`` of the dataset a run's config records (MNIST if none).

    Examples
    --------
    >>> recorded_dataset({"engine": "numpy"})["name"]
    'MNIST'
    """
    record = config.get("dataset")
    if not isinstance(record, dict):
        return {"name": MNIST, "sha256": EMBEDDED_SHA256}
    return {
        "name": str(record.get("name", MNIST)),
        "sha256": str(record.get("sha256", EMBEDDED_SHA256)),
    }


def class_names_of(run: Run) -> tuple[str, ...]:
    """The class names of the dataset ``run`` trained on (cheap: its ``dataset.json`` only).

    Raises
    ------
    DamagedRunError
        If the config is unreadable, or the dataset is no longer stored or is damaged.
    """
    sha256 = stored_sha256(run)
    return CLASS_NAMES if sha256 is None else DatasetStore(run.path.parent).info(sha256).class_names


def missing_dataset(run: Run) -> str | None:
    """Why ``run``'s dataset cannot be loaded (it is not stored), or None if it is there.

    Cheap (one directory lookup), so that a run's status can say it at once.
    """
    record = recorded_dataset(run.config())
    if record["sha256"] == EMBEDDED_SHA256:
        return None
    try:
        DatasetStore(run.path.parent).info(record["sha256"])
    except KeyError:
        return (
            f"its dataset {record['name']!r} (SHA-256 {record['sha256'][:12]}...) is no longer "
            "stored; add it again on the Data page"
        )
    except DamagedRunError as error:
        return f"its dataset {record['name']!r} is damaged ({error})"
    return None


def stored_sha256(run: Run) -> str | None:
    """The SHA-256 of the stored dataset ``run`` trained on; None for the embedded MNIST.

    Raises
    ------
    DamagedRunError
        If the config is unreadable, or the dataset is no longer stored or is damaged.
    """
    record = recorded_dataset(run.config())
    if record["sha256"] == EMBEDDED_SHA256:
        return None
    reason = missing_dataset(run)
    if reason is not None:
        raise DamagedRunError(reason)
    return record["sha256"]


def dataset_files(run: Run) -> dict[str, bytes]:
    """The files of ``run``'s stored dataset by path under the runs directory (none for MNIST).

    A run that trains on another machine (a Ray node) takes them along and writes them beside
    its run directory there, where `dataset_of` finds them.

    Raises
    ------
    DamagedRunError
        If the dataset is no longer stored or is damaged.
    """
    sha256 = stored_sha256(run)
    if sha256 is None:
        return {}
    folder = Path(DATASETS_DIR) / sha256
    return {
        str(folder / name): (run.path.parent / folder / name).read_bytes()
        for name in (DATA_FILE, INFO_FILE)
    }


def dataset_of(run: Run) -> MnistDataset:
    """The dataset ``run`` trained on, as its ``config.json`` records it.

    Parameters
    ----------
    run : Run

    Returns
    -------
    MnistDataset

    Raises
    ------
    DamagedRunError
        If the config is unreadable, or the dataset is no longer stored or is damaged.
    """
    sha256 = stored_sha256(run)
    return load_mnist() if sha256 is None else DatasetStore(run.path.parent).get(sha256)
