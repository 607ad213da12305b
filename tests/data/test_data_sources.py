"""Data sources: embedded digits, the CIFAR-10 error paths, image folders on a generated tree."""

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from hsearch.data import ImageDataset, holdout_mask, list_datasets, load_dataset
from hsearch.errors import UserError


def test_list_datasets_default_first():
    assert list_datasets() == ["digits", "cifar10", "imagefolder"]


def test_digits_shapes_dtypes_and_classes(digits):
    assert digits.name == "digits"
    assert digits.classes == tuple(str(i) for i in range(10))
    assert digits.train_images.shape == (1442, 3, 32, 32)
    assert digits.test_images.shape == (355, 3, 32, 32)
    for images, labels in ((digits.train_images, digits.train_labels),
                           (digits.test_images, digits.test_labels)):
        assert images.dtype == torch.uint8 and labels.dtype == torch.int64
        assert images.device.type == "cpu"
        assert torch.equal(images[:, 0], images[:, 1]) and torch.equal(images[:, 0], images[:, 2])
        assert set(labels.unique().tolist()) == set(range(10))
    # real strokes on a black background, spanning the whole grey range
    assert digits.train_images.min() == 0 and digits.train_images.max() == 255
    assert 0.2 < digits.mean[0] < 0.45 and 0.25 < digits.std[0] < 0.45
    per_class_test = np.bincount(digits.test_labels.numpy())
    assert per_class_test.min() == 34 and per_class_test.max() == 36
    assert np.bincount(digits.train_labels.numpy()).min() == 140


def test_digits_holdout_is_fixed_and_disjoint(digits):
    from sklearn.datasets import load_digits

    target = load_digits().target
    mask = holdout_mask(target)
    assert np.array_equal(mask, holdout_mask(target))  # no randomness
    # every fifth image of each class, in scikit-learn's order
    for cls in range(10):
        members = np.flatnonzero(target == cls)
        assert np.array_equal(np.flatnonzero(mask[members]), np.arange(4, members.size, 5))
    assert np.array_equal(digits.test_labels.numpy(), target[mask])
    assert np.array_equal(digits.train_labels.numpy(), target[~mask])
    # the splits share no image (digits has a few exact duplicates; none straddle the split)
    train = {bytes(x) for x in digits.train_images[:, 0].numpy()}
    test = {bytes(x) for x in digits.test_images[:, 0].numpy()}
    assert not train & test
    # loading again gives the same tensors
    again = load_dataset("digits")
    assert torch.equal(again.test_images, digits.test_images)


def test_mean_std_come_from_the_train_split(digits):
    values = digits.train_images.double() / 255
    assert np.allclose(digits.mean, values.mean(dim=(0, 2, 3)).tolist())
    assert np.allclose(digits.std, values.std(dim=(0, 2, 3), unbiased=False).tolist())


def test_unknown_name_is_a_user_error():
    with pytest.raises(UserError, match="unknown data set 'mnist'.*digits, cifar10, imagefolder"):
        load_dataset("mnist")


def test_cifar10_without_root_says_how_to_download(tmp_path):
    with pytest.raises(UserError, match="needs a data root.*--download"):
        load_dataset("cifar10")
    with pytest.raises(UserError, match="CIFAR-10 not found.*--download on a connected machine"):
        load_dataset("cifar10", root=tmp_path / "nowhere")
    with pytest.raises(UserError, match="CIFAR-10 not found"):
        load_dataset("cifar10", root=tmp_path)


def test_cifar10_corrupted_folder_is_a_user_error(tmp_path):
    (tmp_path / "cifar-10-batches-py").mkdir()
    with pytest.raises(UserError, match="missing or corrupted"):
        load_dataset("cifar10", root=tmp_path)


def write_tree(root: Path, classes=("cat", "dog", "frog"), per_class=6, size=(40, 40), seed=0):
    """Class-per-folder PNGs; class k is tinted towards channel k, so labels can be checked."""
    rng = np.random.default_rng(seed)
    for k, name in enumerate(classes):
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            pixels = rng.integers(0, 60, size=(size[1], size[0], 3), dtype=np.uint8)
            pixels[..., k % 3] += 180
            Image.fromarray(pixels).save(root / name / f"img{i:02d}.png")


def test_imagefolder_single_tree_with_fixed_holdout(tmp_path):
    write_tree(tmp_path / "tree", size=(50, 40))
    (tmp_path / "tree" / "cat" / "notes.txt").write_text("not an image")
    data = load_dataset("imagefolder", root=tmp_path / "tree")
    assert isinstance(data, ImageDataset) and data.name == "imagefolder"
    assert data.classes == ("cat", "dog", "frog")
    assert data.train_images.shape == (15, 3, 32, 32) and data.test_images.shape == (3, 3, 32, 32)
    assert data.test_labels.tolist() == [0, 1, 2]  # img04 of each class
    for images, labels in ((data.train_images, data.train_labels),
                           (data.test_images, data.test_labels)):
        tint = images.float().mean(dim=(2, 3)).argmax(dim=1)
        assert torch.equal(tint, labels)
    again = load_dataset("imagefolder", root=tmp_path / "tree")
    assert torch.equal(again.train_images, data.train_images)


@pytest.mark.parametrize("test_dir", ["test", "val"])
def test_imagefolder_train_and_test_trees(tmp_path, test_dir):
    write_tree(tmp_path / "train", per_class=4, seed=1)
    write_tree(tmp_path / test_dir, per_class=2, seed=2)
    data = load_dataset("imagefolder", root=tmp_path)
    assert data.classes == ("cat", "dog", "frog")
    assert data.train_labels.tolist() == [0] * 4 + [1] * 4 + [2] * 4
    assert data.test_labels.tolist() == [0, 0, 1, 1, 2, 2]
    tint = data.test_images.float().mean(dim=(2, 3)).argmax(dim=1)
    assert torch.equal(tint, data.test_labels)


def test_imagefolder_error_paths(tmp_path):
    with pytest.raises(UserError, match="needs a data root"):
        load_dataset("imagefolder")
    with pytest.raises(UserError, match="does not exist"):
        load_dataset("imagefolder", root=tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="no class folders"):
        load_dataset("imagefolder", root=tmp_path / "empty")
    write_tree(tmp_path / "holes", per_class=2)
    (tmp_path / "holes" / "zebra").mkdir()
    with pytest.raises(UserError, match="zebra.*holds no images"):
        load_dataset("imagefolder", root=tmp_path / "holes")
    write_tree(tmp_path / "split" / "train", per_class=2)
    write_tree(tmp_path / "split" / "test", classes=("cat", "dog"), per_class=2)
    with pytest.raises(UserError, match="must match"):
        load_dataset("imagefolder", root=tmp_path / "split")
    write_tree(tmp_path / "broken", per_class=2)
    (tmp_path / "broken" / "dog" / "bad.png").write_bytes(b"not a png")
    with pytest.raises(UserError, match="cannot read image"):
        load_dataset("imagefolder", root=tmp_path / "broken")


def test_image_dataset_validates_its_tensors():
    images = torch.zeros(4, 3, 8, 8, dtype=torch.uint8)
    labels = torch.tensor([0, 1, 0, 1])
    kwargs = dict(name="x", classes=("a", "b"), train_images=images, train_labels=labels,
                  test_images=images, test_labels=labels, mean=(0, 0, 0), std=(1, 1, 1))
    ImageDataset(**kwargs)
    with pytest.raises(ValueError, match="uint8"):
        ImageDataset(**{**kwargs, "train_images": images.float()})
    with pytest.raises(ValueError, match="int64"):
        ImageDataset(**{**kwargs, "test_labels": labels[:3]})
    with pytest.raises(ValueError, match=r"\[0, 2\)"):
        ImageDataset(**{**kwargs, "train_labels": torch.tensor([0, 1, 2, 1])})
