"""The paper's schedules: the learning rate's step decay (Sec. 4.2) and the epochs of the pruning
steps of alternating convex search (Sec. 3.3, Algorithm 1).

The image trainer (:mod:`gce_lab.pipeline.train`) and the toy (:mod:`gce_lab.toy`) both read them
here; the pruning rule itself, ``w_i = [f_{y_i}(x_i) > k]`` (Eq. 11), is
:meth:`gce_lab.losses.TruncatedLqLoss.prune`.
"""

from __future__ import annotations

from gce_lab.validation import check_int

__all__ = ["learning_rate", "pruning_epochs", "check_pruning_schedule"]


def learning_rate(epoch: int, lr: float, milestones: tuple[int, ...], lr_decay: float) -> float:
    """Learning rate of 1-based ``epoch``: ``lr * lr_decay ** #{m in milestones : m < epoch}``.

    "Divided by 10 after 40 and 80 epochs" (Sec. 4.2): epochs 1-40 at lr, 41-80 at lr/10, 81- at lr/100.
    """
    return lr * lr_decay ** sum(1 for m in milestones if m < epoch)


def pruning_epochs(epochs: int, prune_start: int | None, prune_every: int | None) -> tuple[int, ...]:
    """The 1-based epochs *before* whose training a pruning step runs (Algorithm 1).

    Training uses all samples for the first ``prune_start`` epochs, then prunes every
    ``prune_every`` epochs: ``prune_start + 1, prune_start + 1 + prune_every, ... <= epochs``.
    """
    if prune_start is None:
        return ()
    return tuple(range(prune_start + 1, epochs + 1, prune_every))


def check_pruning_schedule(prune_start: int | None, prune_every: int | None) -> None:
    """Check Algorithm 1's schedule: ``prune_start`` and ``prune_every`` both integers >= 1, or
    both None (no pruning)."""
    if (prune_start is None) != (prune_every is None):
        raise ValueError(
            "prune_start and prune_every must both be integers >= 1 or both None, "
            f"got {prune_start!r} and {prune_every!r}"
        )
    if prune_start is not None:
        check_int("prune_start", prune_start, 1)
        check_int("prune_every", prune_every, 1)
