"""Estimate the noise transition matrix T̂ from a classifier's predictions (Patrini et al. 2017).

Forward correction (Zhang & Sabuncu 2018, Eq. 1; Patrini et al. 2017, "Making deep neural
networks robust to label noise: a loss correction approach", CVPR) needs the matrix
``T[i, j] = p(noisy label = j | true label = i)``. When T is unknown ("Forward T̂" in the
paper's Table 1), Patrini et al. estimate it from a network trained with plain cross
entropy on the *noisy* training data: such a network approximates ``p(noisy label | x)``,
and for an "anchor" image x that surely belongs to class i, ``p(noisy label = j | x) = T[i, j]``.
The anchor of class i is the training image with the highest predicted probability of class i,
after discarding the most confident 3 % (the 97th percentile and above), which are often
memorised noisy samples rather than clean class-i images.
"""

from __future__ import annotations

import numpy as np
import torch

from gce_lab.validation import check_in_range, check_probability_rows

__all__ = ["find_anchors", "estimate_transition"]


def find_anchors(probs: np.ndarray | torch.Tensor, filter_outlier: bool = True, percentile: float = 97.0) -> np.ndarray:
    """Index of the anchor sample of each class (Patrini et al. 2017, Sec. "Estimation of T").

    For each class i, the anchor is ``argmax_x p(i | x)`` over the given samples. With
    ``filter_outlier=True`` (Patrini et al.'s default), the samples whose probability of class i
    is at or above the ``percentile``-th percentile of that column (``np.percentile(...,
    method="higher")``, an actual data value) are discarded first, exactly as in their code;
    they used the plain argmax (``filter_outlier=False``) for CIFAR-100.

    Unlike the released code, the input is not modified (theirs zeroes the discarded entries of
    ``probs`` in place, which can leak into later rows).

    Args:
        probs: (N, C) predicted probabilities ``p(noisy label | x)`` of a network trained with
            CCE on the noisy training set, numpy array or torch tensor (any device).
        filter_outlier: discard the top ``100 - percentile`` % of each column before the argmax.
        percentile: the cut-off percentile, in (0, 100].

    Returns:
        (C,) int64 array, anchor sample index per class. If every entry of a column is at or above
        the cut-off (all tied), the first sample is returned, as numpy's argmax of zeros does.
    """
    p = check_probability_rows("probs", probs, ndim=2)
    percentile = check_in_range("percentile", percentile, 0.0, 100.0, low_open=True)
    if not filter_outlier:
        return np.argmax(p, axis=0).astype(np.int64)
    thresholds = np.percentile(p, percentile, axis=0, method="higher")
    robust = np.where(p >= thresholds, 0.0, p)
    return np.argmax(robust, axis=0).astype(np.int64)


def estimate_transition(
    probs: np.ndarray | torch.Tensor, filter_outlier: bool = True, percentile: float = 97.0
) -> np.ndarray:
    """Estimate T̂ (C, C) from predictions on the noisy training set (Patrini et al. 2017).

    Row i of T̂ is the predicted distribution of the anchor of class i (see :func:`find_anchors`),
    ``T̂[i, j] = p(noisy label = j | x_anchor(i))``, rows renormalised to sum to 1. This is the
    estimate used for "Forward T̂" in Zhang & Sabuncu (2018), Table 1.

    Args:
        probs: (N, C) softmax outputs of a CCE-trained network on all noisy training samples.
        filter_outlier: drop each class's most confident ``100 - percentile`` % before choosing
            the anchor (True: Patrini et al.'s default; False: plain argmax, used for CIFAR-100).
        percentile: the cut-off percentile, in (0, 100].

    Returns:
        float64 (C, C) row-stochastic matrix, ``T̂[i, j]`` estimating p(noisy = j | true = i).
    """
    p = check_probability_rows("probs", probs, ndim=2)
    anchors = find_anchors(p, filter_outlier=filter_outlier, percentile=percentile)
    t_hat = p[anchors].copy()
    return t_hat / t_hat.sum(axis=1, keepdims=True)
