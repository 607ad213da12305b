"""hsearch.data.augment_together: K seeds' batches augmented in one call, each with its own
augmenter's draws, equal to one call per augmenter."""

import pytest
import torch

from hsearch.data import AugmentConfig, BatchAugmenter, augment_together

R = 16


def _images(k: int, batch: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(7)
    return torch.randint(0, 256, (k, batch, 3, R, R), dtype=torch.uint8, generator=g)


@pytest.mark.parametrize("config", [AugmentConfig(),  # AutoAugment + crop/flip + Cutout
                                    AugmentConfig(autoaugment=False),
                                    AugmentConfig(crop_flip=False, autoaugment=False,
                                                  cutout=False)])
def test_one_call_equals_one_call_per_seed_step_after_step(config):
    seeds = (0, 5, 9)
    apart = [BatchAugmenter(config, R, seed=s) for s in seeds]
    together = [BatchAugmenter(config, R, seed=s) for s in seeds]
    for step in range(3):  # the streams advance alike
        images = _images(1, 40).expand(len(seeds), -1, -1, -1, -1).clone()  # same images
        expected = torch.stack([a(x) for a, x in zip(apart, images)])
        got = augment_together(together, images)
        assert got.shape == images.shape and got.dtype == torch.uint8
        assert torch.equal(got, expected), step
    # the same images, each seed's own draws: the seeds' batches differ (unless nothing runs)
    assert torch.equal(got[0], got[1]) is not (config.crop_flip or config.autoaugment
                                               or config.cutout)


def test_mismatched_augmenters_and_shapes_are_refused():
    a = BatchAugmenter(AugmentConfig(), R, seed=0)
    with pytest.raises(ValueError, match="share config and resolution"):
        augment_together([a, BatchAugmenter(AugmentConfig(cutout=False), R)], _images(2, 4))
    with pytest.raises(ValueError, match=r"\[2, B, 3, 16, 16\]"):
        augment_together([a, a], _images(3, 4))
    with pytest.raises(ValueError, match="at least one"):
        augment_together([], _images(1, 4))
