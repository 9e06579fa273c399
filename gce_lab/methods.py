"""The losses of the paper's experiments and what each one needs: one table, :data:`METHOD_INFO`.

A method's properties (does it take q, the truncation threshold k, a transition matrix T; does
it prune; is its T estimated from a CCE run) are read from here everywhere, never tested as
strings of method names. ``wang2018`` is a row of the paper's Table 2 only (Wang et al. 2018's
method, reported, never trained here).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Method", "METHOD_INFO", "METHODS", "METHOD_LABELS"]


@dataclass(frozen=True)
class Method:
    """One loss of the paper.

    Attributes:
        name: the name used in run ids and results (``"truncated_lq"``).
        label: the name printed in tables and figures (``"Trunc Lq"``).
        uses_q: takes the L_q parameter q (Eq. 6).
        prunes: truncated L_q, optimised by alternating convex search with pruning (Eq. 9-12,
            Algorithm 1); it also uses the threshold k.
        needs_T: forward correction (Eq. 1 of Patrini et al. 2017) with a transition matrix T.
        estimates_T: T is estimated (T̂) from the softmax of the CCE run of the same data, noise
            and seed; otherwise the true T of the noise is used.
    """

    name: str
    label: str
    uses_q: bool = False
    prunes: bool = False
    needs_T: bool = False
    estimates_T: bool = False

    @property
    def uses_k(self) -> bool:
        """Takes the truncation threshold k (Eq. 9): the pruning method alone."""
        return self.prunes


#: Every trainable method, in the order of the paper's Table 1.
METHOD_INFO: dict[str, Method] = {
    m.name: m
    for m in (
        Method("cce", "CCE"),
        Method("mae", "MAE"),
        Method("lq", "Lq", uses_q=True),
        Method("truncated_lq", "Trunc Lq", uses_q=True, prunes=True),
        Method("forward_t", "Forward T", needs_T=True),
        Method("forward_t_hat", "Forward T-hat", needs_T=True, estimates_T=True),
    )
}
METHODS: tuple[str, ...] = tuple(METHOD_INFO)
#: Printed names in the order of the paper's tables, its Table 2 row of Wang et al. (2018) included.
METHOD_LABELS: dict[str, str] = {
    name: METHOD_INFO[name].label if name in METHOD_INFO else "Wang et al."
    for name in ("cce", "mae", "forward_t", "forward_t_hat", "wang2018", "lq", "truncated_lq")
}
