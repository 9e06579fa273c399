"""The losses a run can train with, in one registry: :data:`METHOD_INFO`, the one place to add a loss.

A :class:`Method` names its loss module's builder, the loss's own parameters with their defaults
(q for L_q, q and k for truncated L_q) and what the trainer must provide (a transition matrix T,
per-sample weights with pruning). :func:`make_loss` builds any registered loss through it; labels
and colours are read from it, and a method's properties are never tested as strings of method
names. :func:`register_method` adds a loss (e.g. in a test or a notebook) without editing any
other file; the paper's experiments list their methods explicitly (:data:`PAPER_METHODS`), so a
new loss joins a sweep only when an experiment names it. ``wang2018`` is a row of the paper's
Table 2 only (Wang et al. 2018's method, reported, never trained here).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from torch import nn

from gce_lab.losses import CCELoss, ForwardCorrectedLoss, LqLoss, MAELoss, TruncatedLqLoss
from gce_lab.validation import check_choice

__all__ = [
    "Method",
    "METHOD_INFO",
    "PAPER_METHODS",
    "METHOD_LABELS",
    "register_method",
    "make_loss",
]


@dataclass(frozen=True)
class Method:
    """One loss a run can train with.

    Attributes:
        name: the name used in run ids and results (``"truncated_lq"``).
        label: the name printed in tables and figures (``"Trunc Lq"``).
        builder: the loss module's class (or any callable returning one), called by
            :func:`make_loss` with the parameters of ``params``, ``reduction``, ``check_inputs`` and,
            where the method needs them, ``T`` and ``num_samples``; its ``forward(logits, target,
            index=None)`` returns the loss (:mod:`gce_lab.losses`).
        params: the loss's own parameters and their defaults (``{"q": 0.7}`` for L_q, Eq. 6).
        prunes: truncated L_q, optimised by alternating convex search with pruning (Eq. 9-12,
            Algorithm 1): it keeps one weight per training sample (``num_samples``) and has ``prune``.
        needs_T: forward correction (Eq. 1 of Patrini et al. 2017) with a transition matrix T.
        estimates_T: T is estimated (T̂) from the softmax of the CCE run of the same data, noise
            and seed; otherwise the true T of the noise is used.
        colour: the matplotlib colour of its curves (None: matplotlib's next one); the paper's Fig. 1 draws
            CCE orange, MAE (a, b) and L_q (c) blue.
    """

    name: str
    label: str
    builder: Callable[..., nn.Module]
    params: Mapping[str, float] = field(default_factory=dict)
    prunes: bool = False
    needs_T: bool = False
    estimates_T: bool = False
    colour: str | None = None

    @property
    def uses_q(self) -> bool:
        """Takes the L_q parameter q (Eq. 6)."""
        return "q" in self.params

    @property
    def uses_k(self) -> bool:
        """Takes the truncation threshold k (Eq. 9)."""
        return "k" in self.params


#: Every trainable method, the paper's in the order of its Table 1; :func:`register_method` adds one.
METHOD_INFO: dict[str, Method] = {}


def register_method(method: Method) -> Method:
    """Add ``method`` to :data:`METHOD_INFO` (a name already there is refused); returns it."""
    if not isinstance(method, Method):
        raise ValueError(f"method must be a Method, got {type(method).__name__}")
    if method.name in METHOD_INFO or method.name in _REPORTED_ONLY or method.name in _ALIASES:
        raise ValueError(f"method name must be new, got {method.name!r}, which is taken")
    METHOD_INFO[method.name] = method
    return method


#: Methods of the paper's tables that are reported, never trained here: their printed names.
_REPORTED_ONLY = {"wang2018": "Wang et al."}
#: Other names of a method (``"gce"``, the paper's name for L_q).
_ALIASES = {"gce": "lq"}

for _method in (
    Method("cce", "CCE", CCELoss, colour="tab:orange"),
    Method("mae", "MAE", MAELoss, colour="tab:blue"),
    Method("lq", "Lq", LqLoss, {"q": 0.7}, colour="tab:blue"),
    Method("truncated_lq", "Trunc Lq", TruncatedLqLoss, {"q": 0.7, "k": 0.5}, prunes=True),
    Method("forward_t", "Forward T", ForwardCorrectedLoss, needs_T=True),
    Method("forward_t_hat", "Forward T-hat", ForwardCorrectedLoss, needs_T=True, estimates_T=True),
):
    register_method(_method)

#: The losses of the paper's experiments (Table 1), in its order.
PAPER_METHODS: tuple[str, ...] = tuple(METHOD_INFO)
_TABLE_ORDER = ("cce", "mae", "forward_t", "forward_t_hat", "wang2018", "lq", "truncated_lq")


class _MethodLabels(Mapping[str, str]):
    """Printed names, read from :data:`METHOD_INFO`: the paper's in the order of its tables (its
    Table 2 row of Wang et al. (2018) included), then those registered later."""

    def _names(self) -> list[str]:
        return [*_TABLE_ORDER, *(name for name in METHOD_INFO if name not in _TABLE_ORDER)]

    def __getitem__(self, name: str) -> str:
        return _REPORTED_ONLY[name] if name in _REPORTED_ONLY else METHOD_INFO[name].label

    def __iter__(self) -> Iterator[str]:
        return iter(self._names())

    def __len__(self) -> int:
        return len(self._names())


#: Printed names in the order of the paper's tables, then any registered method's.
METHOD_LABELS: Mapping[str, str] = _MethodLabels()


def make_loss(
    method: str,
    *,
    T: Any = None,
    num_samples: int | None = None,
    reduction: str = "mean",
    check_inputs: bool = True,
    **params: float,
) -> nn.Module:
    """Build the trainer's loss module of a method of :data:`METHOD_INFO` (or ``"gce"``, another
    name for ``"lq"``) through its registry entry.

    The modules share ``forward(logits, target, index=None)``; for torch's conventions
    (``(N, C, d1, ...)``, ``weight``, ``ignore_index``) use :class:`gce_lab.gce.GCELoss` and its
    relatives. ``params`` set the loss's own parameters (``q``, ``k``, ...; the others keep the
    entry's defaults; a parameter the method does not have is ignored, so a trainer can pass
    ``q`` and ``k`` to every method). A pruning method (``truncated_lq``) needs ``num_samples``,
    a forward-corrected one (``forward_t``: true T, ``forward_t_hat``: estimated T) needs ``T``.
    ``check_inputs=False`` builds a module that skips the per-call value checks of targets and
    sample ids (for a trainer that checked its labels once; see :mod:`gce_lab.losses`).
    """
    name = _ALIASES.get(method, method) if isinstance(method, str) else method
    info = METHOD_INFO[check_choice("method", name, (*METHOD_INFO, *_ALIASES))]
    needs: dict[str, Any] = {}
    if info.needs_T:
        if T is None:
            raise ValueError(f"T (a row-stochastic (C, C) transition matrix) is required for {info.name!r}")
        needs["T"] = T
    if info.prunes:
        if num_samples is None:
            raise ValueError(f"num_samples (the training-set size, an integer >= 1) is required for {info.name!r}")
        needs["num_samples"] = num_samples
    own = {key: params.get(key, default) for key, default in info.params.items()}
    return info.builder(**own, **needs, reduction=reduction, check_inputs=check_inputs)
