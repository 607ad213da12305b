"""Image classification data sets held in memory as uint8 tensors.

Every source returns an :class:`ImageDataset`: one ``uint8`` tensor ``[N, 3, 32, 32]`` per
split (train and test) with ``int64`` labels, the class names, and the per-channel mean and
standard deviation of the train split. The sets are small enough (CIFAR-10: 180 MB) to sit in
memory whole; the trainer moves the subset it needs to the device once.

Sources (:func:`hsearch.data.list_datasets`; one row each in
:data:`hsearch.data.catalog.DATASETS`):

``digits`` (the default, embedded)
    scikit-learn's bundled handwritten digits (UCI optdigits test set): 1,797 real 8x8 images
    with 17 ink levels (0..16), 10 classes. Levels are scaled to 0..255, the images upsampled
    to 32x32 with bicubic interpolation (clipped to 0..255) and copied into 3 identical channels
    (light digits on a black background, like MNIST). Digits has no test split, so a fixed,
    seed-independent hold-out is made: within each class, in the order of scikit-learn's
    array, every fifth image (positions 4, 9, 14, ...) goes to the test split. That is 355
    test images (34 to 36 per class) and 1,442 train images (140 to 147 per class).
``cifar10``
    ``torchvision.datasets.CIFAR10`` under ``root`` (the folder holding
    ``cifar-10-batches-py``); ``download=True`` fetches it there (needs a network).
``imagefolder``
    any class-per-folder tree of images under ``root`` (e.g. a 10-class mini-ImageNet
    subset). If ``root`` has a ``train/`` folder and a ``test/`` (or else ``val/``) folder,
    those are the two splits, with the same class folders in each; otherwise ``root`` itself
    is the class-per-folder tree and the same every-fifth-image rule as for digits (per
    class, image files found recursively, in sorted path order) makes the test split.
    Images are converted to RGB, centre-cropped to a square and resized to 32x32
    (antialiased bicubic). Loading decodes every file with PIL, on one core (about 700
    80x80 JPEGs per second here); keep the returned data set rather than loading it again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from hsearch.errors import UserError

logger = logging.getLogger(__name__)

#: Side of the square images every source produces.
IMAGE_SIZE = 32

#: Every ``HOLDOUT_EVERY``-th image of a class goes to the test split when a source has none.
HOLDOUT_EVERY = 5

# Suffixes PIL reads that an image folder may hold (compared in lower case).
_IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".gif", ".ppm", ".pgm", ".tif",
                             ".tiff", ".webp"})


@dataclass(frozen=True, eq=False)
class ImageDataset:
    """A labelled image data set with a train and a test split, held in memory.

    Attributes:
        name: the source's name (``"digits"``, ``"cifar10"``, ``"imagefolder"``).
        classes: class names; label ``i`` means ``classes[i]``.
        train_images, test_images: ``torch.uint8`` tensors ``[N, 3, 32, 32]`` on the CPU.
        train_labels, test_labels: ``torch.int64`` tensors ``[N]`` with values in
            ``[0, len(classes))``.
        mean, std: per-channel mean and standard deviation of the train split in ``[0, 1]``
            units (pixel / 255), for normalising batches.
        source: where the images came from (a path, or a package), for the records.
    """

    name: str
    classes: tuple[str, ...]
    train_images: torch.Tensor = field(repr=False)
    train_labels: torch.Tensor = field(repr=False)
    test_images: torch.Tensor = field(repr=False)
    test_labels: torch.Tensor = field(repr=False)
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    source: str = ""

    def __post_init__(self) -> None:
        num_classes = len(self.classes)
        if num_classes < 2:
            raise ValueError(f"an ImageDataset needs at least 2 classes, but got {self.classes!r}")
        for split in ("train", "test"):
            images = getattr(self, f"{split}_images")
            labels = getattr(self, f"{split}_labels")
            if images.dtype != torch.uint8 or images.dim() != 4 or images.shape[1] != 3:
                raise ValueError(f"{split}_images must be uint8 [N, 3, H, W], but got "
                                 f"dtype={images.dtype}, shape={tuple(images.shape)}")
            if labels.dtype != torch.int64 or labels.shape != (images.shape[0],):
                raise ValueError(f"{split}_labels must be int64 [{images.shape[0]}], but got "
                                 f"dtype={labels.dtype}, shape={tuple(labels.shape)}")
            if labels.numel() and not 0 <= int(labels.min()) <= int(labels.max()) < num_classes:
                raise ValueError(f"{split}_labels must lie in [0, {num_classes}), but got "
                                 f"[{int(labels.min())}, {int(labels.max())}]")

    @property
    def num_classes(self) -> int:
        """Number of classes."""
        return len(self.classes)

    @property
    def resolution(self) -> int:
        """Side of the (square) images, in pixels."""
        return int(self.train_images.shape[-1])

    def summary(self) -> dict:
        """Sizes and statistics as plain values, for run records and logs."""
        return {
            "name": self.name,
            "source": self.source,
            "classes": list(self.classes),
            "train_size": int(self.train_labels.numel()),
            "test_size": int(self.test_labels.numel()),
            "train_per_class": np.bincount(self.train_labels.numpy(),
                                           minlength=self.num_classes).tolist(),
            "test_per_class": np.bincount(self.test_labels.numpy(),
                                          minlength=self.num_classes).tolist(),
            "mean": list(self.mean),
            "std": list(self.std),
        }


def holdout_mask(labels: np.ndarray, every: int = HOLDOUT_EVERY) -> np.ndarray:
    """The fixed test hold-out: per class, every ``every``-th sample in array order.

    Returns a boolean mask, True for test samples. It depends only on the label order, not on
    any seed, so the split is the same on every machine and in every run.
    """
    labels = np.asarray(labels)
    mask = np.zeros(labels.shape[0], dtype=bool)
    for cls in np.unique(labels):
        members = np.flatnonzero(labels == cls)
        mask[members[every - 1::every]] = True
    return mask


def channel_stats(images: torch.Tensor) -> tuple[tuple[float, float, float],
                                                 tuple[float, float, float]]:
    """Per-channel mean and standard deviation of uint8 images, in ``[0, 1]`` units."""
    total = torch.zeros(3, dtype=torch.float64)
    total_sq = torch.zeros(3, dtype=torch.float64)
    count = 0
    # Chunks keep the float64 copy small for CIFAR-sized sets.
    for chunk in images.split(4096):
        values = chunk.to(torch.float64).div_(255.0)
        total += values.sum(dim=(0, 2, 3))
        total_sq += values.square().sum(dim=(0, 2, 3))
        count += chunk.shape[0] * chunk.shape[2] * chunk.shape[3]
    if count == 0:
        raise ValueError("channel_stats needs at least one image, but got an empty tensor")
    mean = total / count
    std = (total_sq / count - mean.square()).clamp_min(0.0).sqrt()
    return (tuple(float(v) for v in mean), tuple(float(v) for v in std))


def _make_dataset(name: str, classes, train_images, train_labels, test_images, test_labels,
                  source: str) -> ImageDataset:
    mean, std = channel_stats(train_images)
    dataset = ImageDataset(
        name=name, classes=tuple(classes),
        train_images=train_images.contiguous(), train_labels=train_labels.to(torch.int64),
        test_images=test_images.contiguous(), test_labels=test_labels.to(torch.int64),
        mean=mean, std=std, source=source,
    )
    logger.info("loaded %s: %d train / %d test images, %d classes, %s", name,
                train_labels.numel(), test_labels.numel(), len(dataset.classes), source)
    return dataset


def load_digits(root=None, download: bool = False) -> ImageDataset:
    """The ``digits`` row's loader (``root`` and ``download`` are not used)."""
    images8, target = _digits_arrays()
    # 0..16 ink levels -> 0..255, upsampled in float so bicubic overshoot can be clipped.
    small = torch.from_numpy(images8.astype(np.float32) * (255.0 / 16.0)).unsqueeze(1)
    large = torch.nn.functional.interpolate(small, size=(IMAGE_SIZE, IMAGE_SIZE), mode="bicubic",
                                            align_corners=False, antialias=True)
    images = large.clamp_(0.0, 255.0).round_().to(torch.uint8).expand(-1, 3, -1, -1)
    labels = torch.from_numpy(target.astype(np.int64))
    test = torch.from_numpy(holdout_mask(target))
    return _make_dataset("digits", [str(c) for c in range(10)],
                         images[~test], labels[~test], images[test], labels[test],
                         source="sklearn.datasets.load_digits")


def _digits_arrays() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's digits as ([1797, 8, 8] levels 0..16, [1797] labels)."""
    import importlib.util

    # Importing sklearn.datasets costs seconds (it pulls in scipy), in every process that
    # loads the data; the digits are one small CSV inside the package, read the same way
    # load_digits reads it. Fall back to load_digits if the file ever moves.
    spec = importlib.util.find_spec("sklearn")
    if spec is not None and spec.submodule_search_locations:
        path = Path(next(iter(spec.submodule_search_locations))) / "datasets/data/digits.csv.gz"
        if path.is_file():
            table = np.loadtxt(path, delimiter=",")
            return table[:, :-1].reshape(-1, 8, 8), table[:, -1].astype(np.int64)
    from sklearn.datasets import load_digits

    bunch = load_digits()
    return bunch.images, bunch.target


def load_cifar10(root, download: bool = False) -> ImageDataset:
    """The ``cifar10`` row's loader."""
    from torchvision.datasets import CIFAR10

    hint = ("pass --download on a connected machine (download=True in Python), or put the "
            "extracted 'cifar-10-batches-py' folder there")
    if root is None:
        raise UserError(f"data set 'cifar10' needs a data root folder; {hint}")
    root = Path(root).expanduser()
    if not download and not (root / "cifar-10-batches-py").is_dir():
        raise UserError(f"CIFAR-10 not found: no folder {str(root / 'cifar-10-batches-py')!r}; "
                        f"{hint}")
    splits = {}
    try:
        for split, train in (("train", True), ("test", False)):
            splits[split] = CIFAR10(str(root), train=train, download=download)
    except RuntimeError as exc:  # torchvision's "Dataset not found or corrupted"
        raise UserError(f"CIFAR-10 under {str(root)!r} is missing or corrupted ({exc}); "
                        f"{hint}") from exc
    except OSError as exc:  # network or disk failure during download
        raise UserError(f"could not download CIFAR-10 into {str(root)!r}: {exc}") from exc

    def tensors(ds):
        images = torch.from_numpy(np.ascontiguousarray(ds.data)).permute(0, 3, 1, 2)
        return images.contiguous(), torch.as_tensor(ds.targets, dtype=torch.int64)

    train_images, train_labels = tensors(splits["train"])
    test_images, test_labels = tensors(splits["test"])
    return _make_dataset("cifar10", splits["train"].classes, train_images, train_labels,
                         test_images, test_labels, source=str(root))


def load_imagefolder(root, download: bool = False) -> ImageDataset:
    """The ``imagefolder`` row's loader (``download`` is not used)."""
    if root is None:
        raise UserError("data set 'imagefolder' needs a data root folder (a class-per-folder "
                        "tree of images)")
    root = Path(root).expanduser()
    if not root.is_dir():
        raise UserError(f"image folder {str(root)!r} does not exist or is not a folder")
    test_dir = next((root / d for d in ("test", "val") if (root / d).is_dir()), None)
    if (root / "train").is_dir() and test_dir is not None:
        classes, train_files = _scan_tree(root / "train")
        test_classes, test_files = _scan_tree(test_dir)
        if test_classes != classes:
            raise UserError(f"class folders of {str(test_dir)!r} must match those of "
                            f"{str(root / 'train')!r}, but got {list(test_classes)} vs "
                            f"{list(classes)}")
        train_images, train_labels = _read_images(train_files)
        test_images, test_labels = _read_images(test_files)
    else:
        classes, files = _scan_tree(root)
        images, labels = _read_images(files)
        test = torch.from_numpy(holdout_mask(labels.numpy()))
        train_images, train_labels = images[~test], labels[~test]
        test_images, test_labels = images[test], labels[test]
    return _make_dataset("imagefolder", classes, train_images, train_labels,
                         test_images, test_labels, source=str(root))


def _scan_tree(tree: Path) -> tuple[tuple[str, ...], list[tuple[Path, int]]]:
    """Class folders (sorted) and their image files (sorted by name) with labels."""
    class_dirs = sorted((d for d in tree.iterdir() if d.is_dir() and not d.name.startswith(".")),
                        key=lambda d: d.name)
    if not class_dirs:
        raise UserError(f"image folder {str(tree)!r} has no class folders (expected "
                        f"{str(tree)}/<class>/<image files>)")
    files = []
    for label, class_dir in enumerate(class_dirs):
        members = sorted((f for f in class_dir.rglob("*")
                          if f.is_file() and f.suffix.lower() in _IMAGE_SUFFIXES),
                         key=lambda f: f.relative_to(class_dir).as_posix())
        if not members:
            raise UserError(f"class folder {str(class_dir)!r} holds no images (suffixes: "
                            f"{', '.join(sorted(_IMAGE_SUFFIXES))})")
        files.extend((f, label) for f in members)
    if len(class_dirs) < 2:
        raise UserError(f"image folder {str(tree)!r} needs at least 2 class folders, but has "
                        f"{len(class_dirs)}")
    return tuple(d.name for d in class_dirs), files


def _read_images(files: list[tuple[Path, int]]) -> tuple[torch.Tensor, torch.Tensor]:
    from PIL import Image, ImageOps, UnidentifiedImageError

    images = np.empty((len(files), IMAGE_SIZE, IMAGE_SIZE, 3), dtype=np.uint8)
    for i, (path, _) in enumerate(files):
        try:
            with Image.open(path) as img:
                rgb = img.convert("RGB")
        except (OSError, UnidentifiedImageError) as exc:
            raise UserError(f"cannot read image {str(path)!r}: {exc}") from exc
        # Centre crop to a square, then an antialiased resize (PIL filters over the
        # whole footprint of each output pixel when shrinking).
        if rgb.size != (IMAGE_SIZE, IMAGE_SIZE):
            rgb = ImageOps.fit(rgb, (IMAGE_SIZE, IMAGE_SIZE), method=Image.Resampling.BICUBIC)
        images[i] = np.asarray(rgb)
    labels = torch.tensor([label for _, label in files], dtype=torch.int64)
    return torch.from_numpy(images).permute(0, 3, 1, 2).contiguous(), labels

