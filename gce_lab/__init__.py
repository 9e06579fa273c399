"""gce-lab: the helper package behind the book on Generalized Cross Entropy (Zhang & Sabuncu, 2018).

``import gce_lab`` needs torch and numpy only. The loss for your own training loop,
with ``torch.nn.CrossEntropyLoss``'s arguments (see :mod:`gce_lab.gce`)::

    from gce_lab import GCELoss
    criterion = GCELoss(q=0.7)          # q -> 0: cross entropy; q = 1: MAE / 2

The experiment pipeline (``gce_lab.pipeline``, ``python -m gce_lab``), the book
(``gce_lab.book``) and the Slurm path need the extras ``[experiments]``, ``[book]``, ``[cluster]``.
"""

from typing import Any

__version__ = "0.1.0"

__all__ = ["GCELoss", "gce_loss", "TruncatedGCELoss", "ForwardCorrectedGCELoss", "__version__"]


def __getattr__(name: str) -> Any:
    """The losses of :mod:`gce_lab.gce`, imported (with torch) when first asked for, so that
    ``python -m gce_lab --help`` starts without torch."""
    if name in __all__:
        from gce_lab import gce

        return getattr(gce, name)
    raise AttributeError(f"module 'gce_lab' has no attribute {name!r}")
