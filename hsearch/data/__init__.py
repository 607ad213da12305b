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

import importlib

# Names are imported on first use (PEP 562): ``hsearch.data.catalog`` and ``hsearch.data.profiles``
# (the CLI's --help texts) must not pull in torch through this package.
_EXPORTS = {
    "CIFAR10_POLICY": "hsearch.data.augment",
    "AugmentConfig": "hsearch.data.augment",
    "BatchAugmenter": "hsearch.data.augment",
    "apply_op": "hsearch.data.augment",
    "augment_together": "hsearch.data.augment",
    "op_magnitude": "hsearch.data.augment",
    "op_params": "hsearch.data.augment",
    "resize_images": "hsearch.data.augment",
    "HOLDOUT_EVERY": "hsearch.data.sources",
    "IMAGE_SIZE": "hsearch.data.sources",
    "ImageDataset": "hsearch.data.sources",
    "channel_stats": "hsearch.data.sources",
    "holdout_mask": "hsearch.data.sources",
    "list_datasets": "hsearch.data.catalog",
    "load_dataset": "hsearch.data.catalog",
    "Subset": "hsearch.data.subsets",
    "SubsetSizes": "hsearch.data.subsets",
    "default_sizes": "hsearch.data.subsets",
    "make_subset": "hsearch.data.subsets",
}

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
    "augment_together",
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


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'hsearch.data' has no attribute {name!r}")
