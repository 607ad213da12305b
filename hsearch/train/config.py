"""What to train (Architecture) and how (TrainConfig), as small validated frozen dataclasses.

The defaults of TrainConfig are the paper's: SGD with lr 0.042, momentum 0.9, weight decay 5e-3,
batch 512, cosine schedule, AutoAugment (CIFAR policy) + Cutout + random crop/flip. The commands
take width, resolution, batch size, lr and augmentation from the data set's profile instead, unless the
user sets them (hsearch.data.profiles).

Learning rates differ by orders of magnitude between optimisers (Adam's usual 1e-3 against SGD's
0.1), so a search over one lr range must be rescaled per optimiser: DEFAULT_LR is the one table
of "usual defaults" and rescale_lr applies it.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Literal

from hsearch.checks import is_int, is_number
from hsearch.data import AugmentConfig
from hsearch.errors import UserError

# The optimisers the trainer builds (torch.optim classes of the same name).
OPTIMIZERS = ("sgd", "adam", "adamw", "adamax", "adagrad", "adadelta", "asgd")

# The usual default learning rate of each optimiser: torch.optim's own default where it has one
# (Adam/AdamW 1e-3, Adamax 2e-3, Adagrad 1e-2, Adadelta 1.0, ASGD 1e-2) and the customary 0.1 for
# SGD with momentum on CIFAR-style training, which has no torch default.
DEFAULT_LR = {
    "sgd": 0.1,
    "adam": 1e-3,
    "adamw": 1e-3,
    "adamax": 2e-3,
    "adagrad": 1e-2,
    "adadelta": 1.0,
    "asgd": 1e-2,
}


def rescale_lr(lr: float, optimizer: str, reference: str = "sgd") -> float:
    """Map a learning rate searched on ``reference``'s scale onto ``optimizer``'s scale.

    ``lr * DEFAULT_LR[optimizer] / DEFAULT_LR[reference]``: with the default reference, a searched
    lr of 0.1 (SGD's usual value) becomes Adam's 1e-3 and Adadelta's 1.0, and the HPO range
    [1e-3, 0.6] becomes [1e-5, 6e-3] for Adam.
    """
    for name in (optimizer, reference):
        if name.lower() not in DEFAULT_LR:
            raise UserError(f"unknown optimizer {name!r}; known: {', '.join(OPTIMIZERS)}")
    return lr * DEFAULT_LR[optimizer.lower()] / DEFAULT_LR[reference.lower()]


@dataclass(frozen=True)
class TrainConfig:
    """Hyperparameters of one training run (the budget is separate: see Budget).

    optimizer: one of OPTIMIZERS. ``momentum`` and ``nesterov`` apply to SGD only.
    lr: peak learning rate, used as given (see rescale_lr for search ranges).
    weight_decay: the optimiser's own weight decay (decoupled for AdamW), on all parameters.
    batch_size: training batch; capped at the training-set size. Batches are cut from a stream
        of seeded permutations (an epoch is N images seen), all of the same size.
    label_smoothing: of the cross-entropy loss, in [0, 1).
    schedule: "cosine" (to ``lr * final_lr_fraction`` exactly at the end of the budget) or
        "constant"; both after a linear warm-up over ``warmup_fraction`` of the budget.
    augment: augmentation of training batches (hsearch.data.AugmentConfig).
    eval_each_epoch: evaluate after every epoch for monitoring (off the clock; never used to pick
        the reported model).
    channels_last, bf16: memory format and bf16 autocast; None picks automatically: channels_last
        everywhere but in packed training on CUDA (hsearch.train.device.default_channels_last;
        oneDNN's convolutions measured 10-20% faster with it on a 2-core AVX-512 CPU, cuDNN's
        tensor-core kernels want it), bf16 on CUDA only (CPUs without bf16 units emulate it
        slowly).
    compile: torch.compile the model; compilation happens in the untimed warm-up.
    warmup_passes: untimed forward/backward passes before the clock starts (allocator, cuDNN
        autotuning, compilation); their effect on the model is undone.
    eval_batch_size: batch size of evaluation.
    augment_threads: torch CPU threads for cutting, augmenting and normalising a batch on the
        CPU (None: the caller's setting; never more than it). 1 by default: these are small
        ops (a batch of 32 px images is under a million values) that gain next to nothing from
        a second thread, while every parallel op waits at an OpenMP barrier for all threads, so
        on a machine shared with other processes two threads measured 10-20x slower than one
        (hsearch's BatchAugmenter, 256 images at 32 px, 2 cores under load; see
        experiments/bench_augment.py). The model's forward and backward use the caller's setting.
    """

    optimizer: str = "sgd"
    lr: float = 0.042
    momentum: float = 0.9
    nesterov: bool = False
    weight_decay: float = 5e-3
    batch_size: int = 512
    label_smoothing: float = 0.0
    schedule: Literal["cosine", "constant"] = "cosine"
    warmup_fraction: float = 0.0
    final_lr_fraction: float = 0.0
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    eval_each_epoch: bool = True
    channels_last: bool | None = None
    bf16: bool | None = None
    compile: bool = False
    warmup_passes: int = 1
    eval_batch_size: int = 1024
    augment_threads: int | None = 1

    def __post_init__(self) -> None:
        if not isinstance(self.optimizer, str) or self.optimizer.lower() not in OPTIMIZERS:
            raise UserError(f"unknown optimizer {self.optimizer!r}; known: {', '.join(OPTIMIZERS)}")
        object.__setattr__(self, "optimizer", self.optimizer.lower())
        _check(math.isfinite(self.lr) and self.lr > 0, "lr > 0", lr=self.lr)
        _check(0.0 <= self.momentum < 1.0, "0 <= momentum < 1", momentum=self.momentum)
        _check(not self.nesterov or (self.optimizer == "sgd" and self.momentum > 0),
               "nesterov only with optimizer='sgd' and momentum > 0",
               nesterov=self.nesterov, optimizer=self.optimizer, momentum=self.momentum)
        _check(math.isfinite(self.weight_decay) and self.weight_decay >= 0, "weight_decay >= 0",
               weight_decay=self.weight_decay)
        _check(is_int(self.batch_size) and self.batch_size >= 1, "batch_size >= 1",
               batch_size=self.batch_size)
        _check(0.0 <= self.label_smoothing < 1.0, "0 <= label_smoothing < 1",
               label_smoothing=self.label_smoothing)
        _check(self.schedule in ("cosine", "constant"), "schedule in ('cosine', 'constant')",
               schedule=self.schedule)
        _check(0.0 <= self.warmup_fraction < 1.0, "0 <= warmup_fraction < 1",
               warmup_fraction=self.warmup_fraction)
        _check(0.0 <= self.final_lr_fraction <= 1.0, "0 <= final_lr_fraction <= 1",
               final_lr_fraction=self.final_lr_fraction)
        if not isinstance(self.augment, AugmentConfig):
            raise UserError(f"`augment` must be an AugmentConfig, but got augment={self.augment!r}")
        _check(is_int(self.warmup_passes) and self.warmup_passes >= 0, "warmup_passes >= 0",
               warmup_passes=self.warmup_passes)
        _check(is_int(self.eval_batch_size) and self.eval_batch_size >= 1, "eval_batch_size >= 1",
               eval_batch_size=self.eval_batch_size)
        _check(self.augment_threads is None
               or (is_int(self.augment_threads) and self.augment_threads >= 1),
               "augment_threads is None or >= 1", augment_threads=self.augment_threads)

    def to_dict(self) -> dict:
        """Plain data (JSON/YAML-ready)."""
        return asdict(self)


@dataclass(frozen=True)
class Architecture:
    """A model of the zoo scaled by width, depth and input-resolution multipliers.

    ``resolution`` is a multiplier of the 32 px base (hsearch.models.input_resolution).
    The name is checked against hsearch.models.list_models() on construction.
    """

    model: str = "senet18"
    width: float = 1.0
    depth: float = 1.0
    resolution: float = 1.0

    def __post_init__(self) -> None:
        from hsearch.models import list_models  # torch import, needed only when one is built

        known = list_models()
        if self.model not in known:
            raise UserError(f"unknown model {self.model!r}; known: {', '.join(known)}")
        for name in ("width", "depth", "resolution"):
            value = getattr(self, name)
            if not is_number(value):
                raise UserError(f"`{name}` must be a number, but got {name}={value!r}")
            _check(math.isfinite(value) and value > 0, f"{name} > 0", **{name: value})
            object.__setattr__(self, name, float(value))

    @property
    def input_size(self) -> int:
        """The input resolution in pixels."""
        from hsearch.models import input_resolution  # torch: see create_model

        return input_resolution(self.resolution)

    def cost(self, num_classes: int = 10):
        """MACs, parameters and resolution (hsearch.models.ModelCost)."""
        from hsearch.models import model_cost  # torch (fvcore)

        return model_cost(self.model, width_mult=self.width, depth_mult=self.depth,
                          resolution_mult=self.resolution, num_classes=num_classes)

    def build(self, num_classes: int = 10):
        """A freshly initialised model (uses torch's global RNG: seed it first)."""
        from hsearch.models import create_model  # torch

        return create_model(self.model, num_classes=num_classes, width_mult=self.width,
                            depth_mult=self.depth)

    def to_dict(self) -> dict:
        """Plain data (JSON/YAML-ready)."""
        return asdict(self)


def _check(ok: bool, rule: str, **values) -> None:
    """Raise UserError naming the rule and the received values unless ``ok``."""
    if not ok:
        shown = ", ".join(f"{k}={v!r}" for k, v in values.items())
        raise UserError(f"`{rule}` must hold, but got {shown}")
