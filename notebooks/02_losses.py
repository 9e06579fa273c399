# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 2. The losses: CCE, MAE and Lq
#
# A classifier with a softmax output layer maps an input $x$ to a probability vector
# $f(x) = (f_1(x), \dots, f_c(x))$ over the $c$ classes. Every loss in this chapter looks at one
# number only: $f_y(x)$, the probability the network gives to the label $y$ it was told.
# What distinguishes the losses is *how hard they punish a small $f_y$*, and that decides how
# much a sample whose label disagrees with the network (perhaps because the label is wrong)
# pulls on the weights {cite:p}`zhang2018generalized`.

# %% tags=["remove-cell"]
# On Colab only: clone the book (its package and committed results) once and install the package
# from the clone, editable, with what the chapters need ([book]). Safe to run again, e.g. after a
# runtime restart.
import subprocess
import sys
from pathlib import Path

if "google.colab" in sys.modules:
    url, clone = "https://github.com/gce-lab/gce-lab", Path("/content/gce-lab")
    if not (clone / ".git").is_dir():
        subprocess.run(["git", "clone", "--depth", "1", url, str(clone)], check=True)
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "-e", f"{clone}[book]"], check=True)
    if str(clone) not in sys.path:  # this kernel imports the clone at once; new ones find the install
        sys.path.insert(0, str(clone))

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch

from gce_lab import losses, lq_arithmetic
from gce_lab.book import setup, show_source
from gce_lab.losses import cce_loss, lq_loss, lq_of_probability, mae_loss

setup()

# %% [markdown]
# ## Three losses on the softmax output
#
# **Categorical cross entropy** (CCE, the paper's Eq. 2 for one sample) is the negative
# log-likelihood of the label:
#
# $$
# \mathcal{L}_{\mathrm{CCE}}(f(x), e_y) = -\log f_y(x).
# $$
#
# It is unbounded: a confident mistake ($f_y \to 0$) costs arbitrarily much.
#
# **Mean absolute error** (MAE) compares the softmax vector with the one-hot label vector
# $e_y$ in the $\ell_1$ norm. Because the entries of $f$ sum to one, the $c - 1$ wrong entries
# add up to $1 - f_y$, so
#
# $$
# \mathcal{L}_{\mathrm{MAE}}(f(x), e_y) = \lVert e_y - f(x)\rVert_1 = (1 - f_y) + \sum_{j \ne y} f_j = 2 - 2 f_y(x). \tag{4}
# $$
#
# Up to the factor 2 this is the *unhinged* loss $1 - f_y$ {cite:p}`vanrooyen2015learning`.
# MAE is bounded and *symmetric*: summed over all $c$ possible labels it is the constant
# $2c - 2$, which is what makes it provably robust to uniform label noise
# {cite:p}`ghosh2015making,ghosh2017robust`: {prf:ref}`thm-symmetric-noise-tolerant`, which chapter 3 proves.
#
# **The $\mathcal{L}_q$ loss** is the negative Box-Cox transformation {cite:p}`box1964analysis`
# of $f_y$, the loss that Ferrari and Yang maximise in maximum $L_q$-likelihood estimation
# {cite:p}`ferrari2010maximum`:
#
# $$
# \mathcal{L}_q(f(x), e_y) = \frac{1 - f_y(x)^q}{q}, \qquad q \in (0, 1]. \tag{6}
# $$
#
# At $q = 1$ it is the unhinged loss $1 - f_y$, i.e. MAE/2. As $q \to 0$ it tends to CCE,
# because $f_y^q = e^{q \log f_y} = 1 + q \log f_y + \tfrac{1}{2} q^2 \log^2 f_y + \dots$, so
#
# $$
# \frac{1 - f_y^q}{q} = -\log f_y - \frac{q}{2}\log^2 f_y + O(q^2) \;\xrightarrow[q \to 0]{}\; -\log f_y .
# $$
#
# All three are implemented in `gce_lab.losses` on *logits*, like `torch.nn.CrossEntropyLoss`;
# `lq_of_probability` evaluates Eq. 6 directly on a probability. The plot below shows the
# losses as functions of $f_y$.

# %% tags=["hide-input"]
f_y = torch.linspace(0.005, 1.0, 400, dtype=torch.float64)
qs = [0.3, 0.5, 0.7]
colors = {0.3: "tab:green", 0.5: "tab:purple", 0.7: "tab:blue"}

# Logits whose softmax gives probability f_y to class 0 and spreads the rest evenly over 9 classes.
c = 10
logits = torch.log(torch.stack([f_y] + [(1 - f_y) / (c - 1)] * (c - 1), dim=1))
target = torch.zeros(len(f_y), dtype=torch.long)

fig, ax = plt.subplots(figsize=(6.5, 4.2))
ax.plot(
    f_y,
    cce_loss(logits, target, reduction="none"),
    color="tab:orange",
    lw=2.2,
    label="CCE $-\\log f_y$ ($q \\to 0$)",
)
for q in qs:
    ax.plot(
        f_y,
        lq_loss(logits, target, q, reduction="none"),
        color=colors[q],
        label=f"$\\mathcal{{L}}_q$, q = {q}",
    )
ax.plot(
    f_y,
    lq_loss(logits, target, 1.0, reduction="none"),
    color="tab:red",
    label="$\\mathcal{L}_q$, q = 1 (unhinged, MAE/2)",
)
ax.plot(
    f_y,
    mae_loss(logits, target, reduction="none"),
    color="tab:red",
    ls="--",
    label="MAE $2 - 2 f_y$",
)
ax.set(
    xlabel="softmax output of the labelled class $f_y$",
    ylabel="loss",
    ylim=(0, 4),
    title="CCE, MAE and $\\mathcal{L}_q$ as functions of $f_y$",
)
ax.legend(fontsize=8.5)
fig.tight_layout()
plt.show()

# %% [markdown]
# ### The code that computes them
#
# The package computes the three losses from log-probabilities (`log_softmax`), never from a
# softmax that could round to 0: $\mathcal{L}_q$ as $-\log f_y \cdot \operatorname{expm1}(x)/x$
# with $x = q \log f_y$, and the series of $\operatorname{expm1}(x)/x$ where $x$ is tiny, so that
# small $q$ and huge logits stay exact. This is the source the chapters run:

# %%
show_source(losses.cce_loss, losses.mae_loss, losses.lq_loss, lq_arithmetic.lq_from_log_prob, lq_arithmetic._lq_float64)

# %% [markdown]
# Small $q$ hugs the CCE curve for moderate $f_y$ but stays bounded, $\mathcal{L}_q \le 1/q$;
# $q = 1$ is a straight line. A sample the network confidently contradicts ($f_y$ near 0)
# costs CCE a lot and MAE no more than any other mistake.
#
# ## The gradients: an implicit weighting of the samples
#
# What matters for training is the gradient. By the chain rule, every loss that depends on
# $f_y$ alone has gradient $\frac{\partial \mathcal{L}}{\partial f_y} \nabla_\theta f_y$, and
# the three losses differ only in the scalar factor in front of $\nabla_\theta f_y$ (the
# paper's Eq. 5 and the equation after Eq. 8):
#
# \begin{equation*}
# \frac{\partial \mathcal{L}(f(x;\theta), y)}{\partial \theta} =
# \begin{cases}
# -\dfrac{1}{f_y}\, \nabla_\theta f_y & \text{CCE}, \\[1ex]
# -\nabla_\theta f_y & \text{unhinged} = \text{MAE}/2, \\[1ex]
# -f_y^{\,q-1}\, \nabla_\theta f_y & \mathcal{L}_q .
# \end{cases} \tag{5}
# \end{equation*}
#
# The $\mathcal{L}_q$ line follows from $\partial \mathcal{L}_q / \partial f_y = -f_y^{q-1}$, and
# can be written $f_y^{\,q}\,\big(-\tfrac{1}{f_y}\nabla_\theta f_y\big)$: the CCE gradient times
# $f_y^{\,q}$. Read the factor in front of $\nabla_\theta f_y$ as a per-sample *weight* in the
# sum over the mini-batch:
#
# * CCE weighs each sample by $1/f_y$: samples the network disagrees with get the largest
#   weight. On clean data this focuses learning on the hard examples; on noisy data the
#   mislabelled samples are exactly the ones with small $f_y$, and CCE pushes hardest on them.
# * MAE weighs every sample equally (weight 1): robust, but the hard, informative samples get
#   no extra attention, which makes learning slow (chapter 6 reproduces Fig. 1(a, b)).
# * $\mathcal{L}_q$ weighs each sample by $f_y^{q-1}$ *relative to MAE* (more attention to
#   disagreeing samples, as in CCE) and by $f_y^{q}$ *relative to CCE* (less attention to
#   them, as in MAE). $q$ slides between the two.

# %% tags=["hide-input"]
p = np.linspace(0.01, 1.0, 400)
fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
for q, color in [
    (0.0, "tab:orange"),
    (0.3, "tab:green"),
    (0.5, "tab:purple"),
    (0.7, "tab:blue"),
    (1.0, "tab:red"),
]:
    name = "CCE (q = 0)" if q == 0 else ("MAE (q = 1)" if q == 1 else f"q = {q}")
    axes[0].plot(p, p ** (q - 1), color=color, label=name)
    axes[1].plot(p, p**q, color=color, label=name)
axes[0].set(
    yscale="log",
    xlabel="$f_y$",
    ylabel="weight $f_y^{\\,q-1}$ (log scale)",
    title="$\\mathcal{L}_q$ weight relative to MAE",
)
axes[1].set(
    xlabel="$f_y$",
    ylabel="weight $f_y^{\\,q}$",
    title="$\\mathcal{L}_q$ weight relative to CCE",
)
for ax in axes:
    ax.legend(fontsize=9)
fig.tight_layout()
plt.show()

# %% [markdown]
# For $q = 0.7$, the value the paper uses throughout, a sample with $f_y = 0.01$ gets
# $0.01^{-0.3} \approx 4$ times the weight MAE would give it but only $0.01^{0.7} \approx 0.04$
# of the weight CCE would give it.
#
# ### The same statement for the logits
#
# For a softmax layer $f = \mathrm{softmax}(z)$ the CCE gradient with respect to the logits is
# the familiar $\partial(-\log f_y)/\partial z = f - e_y$. Multiplying by the weight,
#
# $$
# \frac{\partial \mathcal{L}_q}{\partial z} = f_y^{\,q}\,(f - e_y),
# \qquad
# \left|\frac{\partial \mathcal{L}_q}{\partial z_y}\right| = f_y^{\,q}\,(1 - f_y).
# $$
#
# We check the first identity with autograd on random logits, for several $q$, using the
# package's losses (in float64, so that the check is limited only by rounding):

# %%
generator = torch.Generator().manual_seed(0)
z = 3.0 * torch.randn(6, 10, generator=generator, dtype=torch.float64)
y = torch.randint(0, 10, (6,), generator=generator)


def logit_gradient(loss_fn, logits, target):
    logits = logits.clone().requires_grad_(True)
    loss_fn(logits, target).backward()
    return logits.grad


grad_cce = logit_gradient(lambda a, b: cce_loss(a, b, reduction="sum"), z, y)
f_true = torch.softmax(z, dim=1).gather(1, y[:, None])  # f_y for each sample, shape (6, 1)
print(
    "f_y of the six samples:",
    ", ".join(f"{v:.4f}" for v in f_true.squeeze(1).tolist()),
)
print(
    "CCE gradient equals softmax - one-hot:",
    torch.allclose(
        grad_cce,
        torch.softmax(z, 1) - torch.nn.functional.one_hot(y, 10),
        atol=1e-12,
    ),
)
for q in [0.1, 0.5, 0.7, 1.0]:
    grad_lq = logit_gradient(lambda a, b: lq_loss(a, b, q, reduction="sum"), z, y)
    same = torch.allclose(grad_lq, f_true**q * grad_cce, rtol=1e-10, atol=1e-14)
    print(f"q = {q}: dLq/dz == f_y^q * dCCE/dz for all 6 x 10 entries: {same}")
grad_mae = logit_gradient(lambda a, b: mae_loss(a, b, reduction="sum"), z, y)
print(
    "MAE: dMAE/dz == 2 f_y * dCCE/dz:",
    torch.allclose(grad_mae, 2 * f_true * grad_cce, rtol=1e-10, atol=1e-14),
)

# %% [markdown]
# The size of the push on the labelled logit, $f_y^q (1 - f_y)$, shows the trade-off in one
# picture. CCE ($q \to 0$) pushes hardest on samples with small $f_y$. MAE ($q = 1$) pushes
# with $f_y(1 - f_y)$, which *vanishes* as $f_y \to 0$: a sample the network currently gets
# badly wrong contributes almost nothing, whether its label is wrong (good: robustness) or right
# (bad: slow learning, especially early in training when every $f_y \approx 1/c$, and with many
# classes). Intermediate $q$ keep a sizeable gradient for small $f_y$ while damping the extreme.

# %% tags=["hide-input"]
p_log = np.logspace(-3, 0, 400)
fig, ax = plt.subplots(figsize=(9, 4.2))
for q, color in [
    (0.0, "tab:orange"),
    (0.3, "tab:green"),
    (0.5, "tab:purple"),
    (0.7, "tab:blue"),
    (1.0, "tab:red"),
]:
    name = "CCE (q = 0)" if q == 0 else ("unhinged = MAE/2 (q = 1)" if q == 1 else f"q = {q}")
    ax.plot(p_log, p_log**q * (1 - p_log), color=color, label=name)
for c_classes, style in [(10, ":"), (100, "-.")]:
    ax.axvline(
        1 / c_classes,
        color="gray",
        ls=style,
        lw=1,
        label=f"$f_y = 1/c$ at initialisation, c = {c_classes}",
    )
ax.set(
    xscale="log",
    xlabel="$f_y$ (log scale)",
    ylabel="$|\\partial \\mathcal{L}_q / \\partial z_y| = f_y^{\\,q}(1 - f_y)$",
    title="Gradient on the labelled logit",
)
ax.legend(fontsize=8.5, loc="upper left", bbox_to_anchor=(1.02, 1))
fig.tight_layout()
plt.show()

# %% [markdown]
# At initialisation ($f_y \approx 1/c$) the unhinged gradient is $1/c$ of the CCE gradient
# (MAE, with its factor 2, gets $2/c$): ten times smaller for CIFAR-10, a hundred times for
# CIFAR-100. This is consistent with MAE struggling most on CIFAR-100 in the paper's
# Fig. 1(b) and Table 1.
#
# ## The two limits, numerically
#
# Finally we confirm with the package's functions that $\mathcal{L}_q$ becomes CCE as
# $q \to 0$ (and that `q = 0` computes CCE exactly) and the unhinged loss at $q = 1$.
# The table evaluates the losses on five random logit vectors ($c = 10$); the last column shows
# that the gap to CCE shrinks like $\frac{q}{2}\log^2 f_y$, the first term of the expansion
# above.

# %%
generator = torch.Generator().manual_seed(1)
z = 2.0 * torch.randn(5, 10, generator=generator, dtype=torch.float64)
y = torch.randint(0, 10, (5,), generator=generator)
fy = torch.softmax(z, dim=1).gather(1, y[:, None]).squeeze(1)
cce = cce_loss(z, y, reduction="none")

table = pd.DataFrame({"f_y": fy.numpy(), "CCE": cce.numpy()})
for q in [1e-2, 1e-4, 1e-6, 0.0]:
    table[f"Lq q={q:g}"] = lq_loss(z, y, q, reduction="none").numpy()
table["(CCE-Lq)/q, q=1e-4"] = ((cce - lq_loss(z, y, 1e-4, reduction="none")) / 1e-4).numpy()
table["log²(f_y)/2"] = (torch.log(fy) ** 2 / 2).numpy()
table.index.name = "sample"
table.round(5)

# %%
limit = pd.DataFrame(
    {
        "f_y": fy.numpy(),
        "Lq, q=1": lq_loss(z, y, 1.0, reduction="none").numpy(),
        "unhinged 1 - f_y": (1 - fy).numpy(),
        "MAE/2": (mae_loss(z, y, reduction="none") / 2).numpy(),
        "lq_of_probability(f_y, 1)": lq_of_probability(fy, 1.0).numpy(),
    }
)
print(
    "largest |Lq(q=1e-6) - CCE|:",
    f"{(lq_loss(z, y, 1e-6, reduction='none') - cce).abs().max().item():.1e}",
)
print(
    "Lq at q = 0 equals CCE exactly:",
    torch.equal(lq_loss(z, y, 0.0, reduction="none"), cce),
)
limit.index.name = "sample"
limit.round(5)

# %% [markdown]
# ## In your own code: `GCELoss`, and a form that has only the gradient right
#
# `gce_lab.GCELoss` is this chapter's $\mathcal{L}_q$ with the arguments of
# `torch.nn.CrossEntropyLoss` (logits `(N, C)` or `(N, C, d1, ...)`, `weight`, `ignore_index`,
# `reduction`, probability targets); the README shows it in a training loop.
#
# The gradient identity above, $\partial \mathcal{L}_q / \partial z = f_y^q \, \partial
# \mathcal{L}_{\text{CCE}} / \partial z$, invites a shortcut seen in public code: multiply CCE by
# $f_y^q$ and *detach* the factor from the graph. Users ask why that is GCE (alinlab/LfF#3): its
# gradient is $\mathcal{L}_q$'s, so training follows the same path, but its value
# $-f_y^q \log f_y$ is not $\mathcal{L}_q = (1 - f_y^q)/q$, so logged losses, validation losses
# and anything that compares loss values differ (and LfF's line multiplies by $q$ as well, which
# scales the step by $q$). `tests/test_gce_equivalences.py` checks both statements.

# %%
from gce_lab import GCELoss

z_batch = z.clone().requires_grad_()
GCELoss(q=0.7)(z_batch, y).backward()
lq_grad = z_batch.grad.clone()

z_batch.grad = None
f_y = torch.softmax(z_batch, dim=1).gather(1, y[:, None]).squeeze(1)
detached = (torch.nn.functional.cross_entropy(z_batch, y, reduction="none") * f_y.detach() ** 0.7).mean()
detached.backward()
print(f"value: L_q {GCELoss(q=0.7)(z, y).item():.4f}, detached-weight form {detached.item():.4f}")
print(f"largest gradient difference: {(z_batch.grad - lq_grad).abs().max().item():.1e}")
assert torch.allclose(z_batch.grad, lq_grad) and abs(detached.item() - GCELoss(q=0.7)(z, y).item()) > 0.05

# %% [markdown]
# ## Summary
#
# * $\mathcal{L}_q$ interpolates between CCE ($q \to 0$) and MAE ($q = 1$, up to a factor 2).
# * Its gradient is CCE's gradient times $f_y^q$, i.e. MAE's gradient times $f_y^{q-1}$: the
#   parameter $q$ decides how much attention samples that disagree with the network receive.
# * The bounded, nearly symmetric shape for $q$ close to 1 is what buys noise robustness; the
#   next chapter quantifies it (Eq. 7 and 8) and introduces the truncated loss (Eq. 10).


# %% [markdown]
# ## Exercises
#
# The solutions are hidden; open one after trying the exercise. Each solution's code checks its
# answer with `assert`s, so the page does not build if an answer is wrong.
#
# ```{exercise-start} The next term of the limit to CCE
# :label: ex-02-series
# ```
#
# The chapter expands $\mathcal{L}_q = (1 - f_y^q)/q = -\log f_y - \frac{q}{2}\log^2 f_y + O(q^2)$.
# Derive the first two terms with `sympy` (a series in $q$ at 0), then check numerically with
# `lq_of_probability` that $(\mathrm{CCE} - \mathcal{L}_q)/q \to \frac12\log^2 f_y$ as $q \to 0$
# for $f_y = 0.3$, and that $q = 1$ gives the unhinged loss $1 - f_y$ (MAE/2).
#
# ```{exercise-end}
# ```
#
# ```{solution-start} ex-02-series
# :class: dropdown
# ```
#
# With $f^q = e^{q\log f} = 1 + q\log f + \frac12 q^2\log^2 f + O(q^3)$,
# $(1 - f^q)/q = -\log f - \frac{q}{2}\log^2 f + O(q^2)$. The gap to CCE divided by $q$ tends to
# $\frac12 \log^2 0.3 \approx 0.7248$, and the remaining error shrinks like $q$.


# %%
import math

import sympy as sp

from gce_lab.losses import lq_of_probability

p, q = sp.symbols("p q", positive=True)
series = sp.series((1 - p**q) / q, q, 0, 2).removeO()
print("(1 - p^q)/q =", series, "+ O(q^2)")
assert sp.simplify(series - (-sp.log(p) - q * sp.log(p) ** 2 / 2)) == 0

f_y = 0.3
target = math.log(f_y) ** 2 / 2
for q_value in (1e-2, 1e-3, 1e-4):
    gap = (-math.log(f_y) - lq_of_probability(f_y, q_value)) / q_value
    print(f"q = {q_value:g}: (CCE - Lq)/q = {gap:.6f}   (log^2 f_y)/2 = {target:.6f}")
assert abs(gap - target) < 1e-4
assert math.isclose(lq_of_probability(f_y, 1.0), 1 - f_y)  # q = 1: unhinged loss, MAE/2


# %% [markdown]
# ```{solution-end}
# ```
#
# ```{exercise-start} Where does Lq push hardest?
# :label: ex-02-push
# ```
#
# The push of $\mathcal{L}_q$ on the labelled logit is
# $|\partial\mathcal{L}_q/\partial z_y| = f_y^{\,q}(1 - f_y)$. For $0 < q \le 1$, find by
# calculus the $f_y$ at which it is largest. Check your formula with autograd on `lq_loss` over
# a grid of $f_y$ ($c = 10$) for $q = 0.3$, $0.7$ and $1$. What happens as $q \to 0$?
#
# ```{exercise-end}
# ```
#
# ```{solution-start} ex-02-push
# :class: dropdown
# ```
#
# $\frac{d}{df}\big(f^q - f^{q+1}\big) = q f^{q-1} - (q+1) f^q = 0$ gives $f_y^* = q/(1+q)$:
# $1/2$ for MAE, $0.41$ for the paper's $q = 0.7$. As $q \to 0$, $f_y^* \to 0$: CCE pushes
# hardest on the samples it contradicts most, which under label noise are mostly the wrong
# labels. $\mathcal{L}_q$ pushes hardest on samples it half believes and eases off on those it
# confidently contradicts.


# %%
import torch

from gce_lab.losses import lq_loss

c = 10
f_grid = torch.linspace(0.001, 0.999, 999, dtype=torch.float64)
z = torch.log(torch.stack([f_grid] + [(1 - f_grid) / (c - 1)] * (c - 1), dim=1)).requires_grad_(True)
labels = torch.zeros(len(f_grid), dtype=torch.long)
for q in (0.3, 0.7, 1.0):
    z.grad = None
    lq_loss(z, labels, q, reduction="sum").backward()
    push = z.grad[:, 0].abs()
    f_best = f_grid[push.argmax()].item()
    print(f"q = {q}: strongest push at f_y = {f_best:.3f}; q/(1 + q) = {q / (1 + q):.3f}")
    assert torch.allclose(push, f_grid**q * (1 - f_grid), rtol=1e-9)
    assert abs(f_best - q / (1 + q)) < 2e-3


# %% [markdown]
# ```{solution-end}
# ```
