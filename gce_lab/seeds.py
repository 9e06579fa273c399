"""Independent random seeds derived from one run seed: one stream per use, never shared.

A run's seed controls its label noise, its train/validation split, its open-set draw, the
network's initialisation and every epoch's shuffling and augmentation. Feeding the same integer
to two of them would tie them together (e.g. the epochs of seed 0 drawing what seed 1's
initialisation draws), so each use gets its own seed from ``numpy.random.SeedSequence``.
"""

from __future__ import annotations

import numpy as np

from gce_lab.validation import check_choice, check_int

__all__ = ["PURPOSES", "derived_seed"]

#: The uses of a run seed; the numbers only need to differ.
PURPOSES = {"noise": 1, "split": 2, "open_set": 3, "init": 4, "epoch": 5}


def derived_seed(seed: int, purpose: str, *index: int) -> int:
    """A 32-bit seed for ``purpose`` (one of :data:`PURPOSES`) of run ``seed``; ``index`` tells
    apart repeated uses of one purpose, e.g. the epoch number."""
    check_int("seed", seed, 0)
    check_choice("purpose", purpose, tuple(PURPOSES))
    entropy = [seed, PURPOSES[purpose], *(check_int("index", i, 0) for i in index)]
    return int(np.random.SeedSequence(entropy).generate_state(1)[0])
