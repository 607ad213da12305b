"""Data layer: in-memory image data sets, seeded stratified subsets, batched augmentation.

Typical use (what the trainer does)::

    dataset = load_dataset("digits")                      # or "cifar10" / "imagefolder"
    subset = make_subset(dataset, seed=3)                 # default_sizes(dataset.name)
    images, labels = subset.tensors(dataset, "train")     # uint8 [N, 3, 32, 32], CPU
    images = resize_images(images, 48).to(device)         # once per subset
    augment = BatchAugmenter(AugmentConfig(), resolution=48, seed=3)
    batch = augment(images[idx])                          # per batch, on the device
    # then normalise with dataset.mean / dataset.std
"""

from hsearch.data.augment import (
    CIFAR10_POLICY,
    AugmentConfig,
    BatchAugmenter,
    apply_op,
    op_magnitude,
    op_params,
    resize_images,
)
from hsearch.data.sources import (
    HOLDOUT_EVERY,
    IMAGE_SIZE,
    ImageDataset,
    channel_stats,
    holdout_mask,
    list_datasets,
    load_dataset,
)
from hsearch.data.subsets import Subset, SubsetSizes, default_sizes, make_subset

__all__ = [
    "AugmentConfig",
    "BatchAugmenter",
    "CIFAR10_POLICY",
    "HOLDOUT_EVERY",
    "IMAGE_SIZE",
    "ImageDataset",
    "Subset",
    "SubsetSizes",
    "apply_op",
    "channel_stats",
    "default_sizes",
    "holdout_mask",
    "list_datasets",
    "load_dataset",
    "make_subset",
    "op_magnitude",
    "op_params",
    "resize_images",
]
