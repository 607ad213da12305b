"""Per-epoch metrics to TensorBoard event files, as a report callback."""

from __future__ import annotations

import contextlib
import os

# Metric name (as the trainer reports it) -> TensorBoard tag.
TAGS = {
    "loss": "train/loss",
    "train_acc": "train/acc",
    "val_acc": "eval/acc",
    "lr": "train/lr",
    "epoch_seconds": "time/epoch_seconds",
    "images_per_second": "time/images_per_second",
}


class TensorBoardReport:
    """A ``report(**metrics)`` callback writing the trainer's per-epoch metrics under ``log_dir``.

    Tags are TAGS' values, the step is the epoch number; metrics that are None (e.g. val_acc with
    per-epoch evaluation off) are skipped. ``final(accuracy, epoch)`` adds ``final/acc``;
    ``discard()`` closes the writer and deletes the event file(s) it created (a run that will be
    trained again, so that the folder keeps one curve per seed). Uses tensorboardX when installed
    (it imports in milliseconds), else torch.utils.tensorboard. Use as a context manager or call
    close().
    """

    def __init__(self, log_dir: str | os.PathLike):
        try:
            from tensorboardX import SummaryWriter
        except ImportError:  # pragma: no cover - tensorboardX is optional
            from torch.utils.tensorboard import SummaryWriter
        self.log_dir = str(log_dir)
        before = _files(self.log_dir)
        self._writer = SummaryWriter(self.log_dir)
        self._created = _files(self.log_dir) - before  # the writer opens its file at once

    def __call__(self, **metrics) -> None:
        step = int(metrics.get("epoch", 0))
        for name, tag in TAGS.items():
            value = metrics.get(name)
            if value is not None:
                self._writer.add_scalar(tag, float(value), step)

    def final(self, accuracy: float, epoch: int) -> None:
        """Record the final model's accuracy (the reported one)."""
        self._writer.add_scalar("final/acc", float(accuracy), int(epoch))

    def close(self) -> None:
        """Flush and close the event file."""
        self._writer.close()

    def discard(self) -> None:
        """Close, then delete the event file(s) this writer created."""
        self._writer.close()
        for name in self._created:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(os.path.join(self.log_dir, name))
        self._created = set()

    def __enter__(self) -> "TensorBoardReport":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _files(folder: str) -> set[str]:
    return set(os.listdir(folder)) if os.path.isdir(folder) else set()
