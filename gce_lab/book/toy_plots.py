"""The toy problem's plots (chapters 1 and 4): a model's decision regions over the plane.

The toy itself (data, network, training) is :mod:`gce_lab.toy`; these helpers only draw it, in
the class colours :data:`gce_lab.toy.CLASS_COLOURS`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.colors import ListedColormap
from torch import nn

from gce_lab.toy import CLASS_COLOURS
from gce_lab.validation import check_in_range, check_int

__all__ = ["DecisionGrid", "decision_grid", "plot_decision_regions"]


@dataclass(frozen=True)
class DecisionGrid:
    """A model's predicted class and confidence on a regular grid over the plane."""

    xx: np.ndarray  # (r, r) first coordinate
    yy: np.ndarray  # (r, r) second coordinate
    label: np.ndarray  # (r, r) int64 predicted class
    confidence: np.ndarray  # (r, r) softmax probability of the predicted class


def decision_grid(model: nn.Module, extent: float = 1.2, resolution: int = 200) -> DecisionGrid:
    """Evaluate ``model`` on a ``resolution`` x ``resolution`` grid over ``[-extent, extent]^2``."""
    extent = check_in_range("extent", extent, 0.0, math.inf, low_open=True)
    resolution = check_int("resolution", resolution, 2)
    axis = np.linspace(-extent, extent, resolution, dtype=np.float32)
    xx, yy = np.meshgrid(axis, axis)
    points = torch.from_numpy(np.stack([xx.ravel(), yy.ravel()], axis=1))
    model.eval()
    with torch.no_grad():
        probs = torch.softmax(model(points), dim=1)
    confidence, label = probs.max(dim=1)
    shape = xx.shape
    return DecisionGrid(xx, yy, label.numpy().reshape(shape), confidence.numpy().reshape(shape))


def plot_decision_regions(
    ax: Axes,
    grid: DecisionGrid,
    x: np.ndarray,
    y: np.ndarray,
    *,
    title: str = "",
    highlight: np.ndarray | None = None,
    highlight_label: str = "highlighted",
) -> None:
    """Draw predicted regions of ``grid`` and the points ``x`` coloured by label ``y`` on ``ax``.

    Points where the boolean mask ``highlight`` is True get a black ring (e.g. the mislabelled or
    the pruned samples) and a legend entry ``highlight_label``.
    """
    num_classes = int(max(grid.label.max(), y.max())) + 1
    colours = ListedColormap(CLASS_COLOURS[:num_classes])
    ax.contourf(grid.xx, grid.yy, grid.label, levels=np.arange(num_classes + 1) - 0.5, cmap=colours, alpha=0.25)
    ax.contour(grid.xx, grid.yy, grid.label, levels=np.arange(num_classes + 1) - 0.5, colors="0.3", linewidths=0.6)
    ax.scatter(x[:, 0], x[:, 1], c=y, cmap=colours, vmin=-0.5, vmax=num_classes - 0.5, s=9, linewidths=0)
    if highlight is not None and highlight.any():
        ax.scatter(
            x[highlight, 0],
            x[highlight, 1],
            s=28,
            facecolors="none",
            edgecolors="black",
            linewidths=0.7,
            label=highlight_label,
        )
        ax.legend(loc="lower left", fontsize=8, framealpha=0.9)
    ax.set_title(title)
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    ax.set_aspect("equal")
    lim = float(grid.xx.max())
    ax.set_xlim(-lim, lim)
    ax.set_ylim(-lim, lim)
