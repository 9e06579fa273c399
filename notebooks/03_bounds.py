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
# # 3. The bounds: why the Lq loss tolerates noise
#
# Chapter 2 showed that $\mathcal{L}_q$ sits between CCE and MAE. This chapter follows the
# theory of Section 3 of {cite:t}`zhang2018generalized`: how close to "noise tolerant"
# $\mathcal{L}_q$ is (Eq. 7 and 8), and why truncating it helps (Eq. 10). Every inequality is
# derived step by step, checked with `sympy` where algebra is involved, and then tested on
# random softmax vectors. The formulas live in `gce_lab.bounds` (tested in
# `tests/test_bounds.py`).

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
import sympy as sp
import torch
from IPython.display import Math, display

from gce_lab.book import setup
from gce_lab.bounds import (
    eq10_lower_bound_threshold,
    lq_sum,
    lq_sum_bounds,
    noise_tolerance_constant,
    noisy_risk_minimizer,
    truncated_lq_sum,
    truncated_lq_sum_bounds,
    truncated_lq_sum_minimum,
    truncation_tightens,
)
from gce_lab.losses import lq_loss, lq_of_probability
from gce_lab.noise import make_noise

setup()

# %% [markdown]
# ## Symmetric losses and noise tolerance
#
# Write $R(f) = \mathbb{E}[\mathcal{L}(f(x), y)]$ for the risk on clean labels and
# $R^\eta(f) = \mathbb{E}[\mathcal{L}(f(x), \tilde y)]$ for the risk on noisy labels $\tilde y$.
# Under **uniform noise** of rate $\eta$ a label is kept with probability $1 - \eta$ and
# otherwise replaced by one of the other $c - 1$ classes, each with probability
# $\eta / (c - 1)$. Training on noisy labels minimises $R^\eta$; we would like its minimiser
# $\hat f$ to also minimise $R$. A loss is called *noise tolerant* {cite:p}`manwani2013noise` when the minimiser $f^*$ of
# $R$ is also a minimiser of $R^\eta$.
#
# A loss is **symmetric** if its sum over all possible labels does not depend on $f$:
#
# $$
# \sum_{j=1}^{c} \mathcal{L}(f(x), j) = C \quad \text{for all } x \text{ and } f. \tag{3}
# $$
#
# Ghosh et al.'s theorem, {prf:ref}`thm-symmetric-noise-tolerant` of chapter 1, says that symmetric losses are noise
# tolerant under uniform noise with $\eta < 1 - 1/c$ {cite:p}`ghosh2015making`; {cite:t}`ghosh2017robust` carried this
# over to deep networks, and {prf:ref}`lem-noisy-risk` below proves it in one line. MAE is symmetric ($\sum_j (2 - 2 f_j) = 2c - 2$);
# CCE is not ($\sum_j -\log f_j$ is unbounded). $\mathcal{L}_q$ is not symmetric either, but its
# sum over labels is *bounded*, and the width of that bound controls how far from tolerant it is.
#
# ## Eq. 7: the sum of $\mathcal{L}_q$ over all labels
#
# For one input write $f = f(x)$, a point of the probability simplex, and $S_q(f)$ for the sum
# of Eq. 6 over the labels.
#
# ```{prf:theorem} Eq. 7: the sum of the loss over the labels is bounded
# :label: thm-eq7
#
# For $0 < q \le 1$ and every $f$ in the probability simplex,
#
# $$
# \frac{c - c(1/c)^q}{q} \;\le\; \sum_{j=1}^{c} \frac{1 - f_j(x)^q}{q} \;\le\; \frac{c - 1}{q}. \tag{7}
# $$
#
# The lower bound is attained by the uniform vector, the upper by any one-hot vector.
# ```
#
# ```{prf:proof}
# Summing Eq. 6 over the labels,
#
# $$
# S_q(f) := \sum_{j=1}^{c} \frac{1 - f_j^q}{q} = \frac{c - \sum_{j} f_j^q}{q},
# $$
#
# so bounding $S_q$ means bounding $\sum_j f_j^q$ on the simplex. For $0 < q \le 1$ each
# $t \mapsto t^q$ is concave ($\frac{d^2}{dt^2} t^q = q(q-1)t^{q-2} \le 0$), so
# $g(f) = \sum_j f_j^q$ is concave.
#
# * **Maximum of $g$** (an interior stationary point of a concave function is its maximum).
#   With a Lagrange multiplier $\lambda$ for $\sum_j f_j = 1$, stationarity reads
#   $q f_j^{q-1} = \lambda$ for every $j$, an equation whose solution (below, with `sympy`) is
#   the same for every $j$. So the maximiser is the uniform vector $f_j = 1/c$, where
#   $g = c(1/c)^q = c^{1-q}$.
# * **Minimum of $g$.** A concave function on a polytope attains its minimum at a vertex: the
#   one-hot vectors, where $g = 1^q + 0 + \dots + 0 = 1$.
#
# Plugging both into $S_q = (c - g)/q$ (a large $g$ gives a small $S_q$) gives Eq. 7, with
# equality at the uniform and at the one-hot vectors.
# ```
#
# The stationarity condition of the proof, solved for $f_j$ with `sympy`:

# %%
f, lam, q, c, eta, k = sp.symbols("f lambda q c eta k", positive=True)
stationary = sp.solve(sp.Eq(q * f ** (q - 1), lam), f)
display(Math(r"f_j = " + sp.latex(stationary[0]) + r"\quad\text{for every } j"))
g_uniform = sp.simplify(c * (1 / c) ** q)
display(Math(r"g(\tfrac{1}{c}, \dots, \tfrac{1}{c}) = c\,(1/c)^q = " + sp.latex(g_uniform)))

# %% [markdown]
# (The paper prints the sum index of Eq. 7 as $i$ and the summand with $f_j$; the index is the
# same.) The width of the band of {prf:ref}`thm-eq7` is
#
# $$
# \frac{c - 1}{q} - \frac{c - c(1/c)^q}{q} = \frac{c(1/c)^q - 1}{q} = \frac{c^{1-q} - 1}{q} \;\ge 0,
# $$
#
# which is 0 at $q = 1$ (MAE is symmetric) and tends to $\infty$ as $q \to 0$ (CCE).
#
# **Numeric check.** We draw 20 000 random softmax vectors for each number of classes, from
# Dirichlet distributions ranging from very peaked (concentration 0.05) to nearly uniform
# (concentration 50), add the uniform vector and a one-hot vector, and compare the smallest and
# largest $S_q$ with the closed-form bounds of `lq_sum_bounds`.

# %%
rng = np.random.default_rng(0)


def random_softmax(num: int, num_classes: int) -> np.ndarray:
    """Random softmax vectors: Dirichlet, concentration drawn per vector."""
    alphas = rng.choice([0.05, 0.2, 1.0, 5.0, 50.0], size=num)
    gammas = rng.gamma(np.repeat(alphas[:, None], num_classes, axis=1)) + 1e-300  # Dirichlet = normalised gammas
    return gammas / gammas.sum(axis=1, keepdims=True)


def uniform_vector(num_classes: int) -> np.ndarray:
    return np.full(num_classes, 1.0 / num_classes)


def one_hot_vector(num_classes: int) -> np.ndarray:
    return np.eye(num_classes)[0]


rows = []
for num_classes in [2, 10, 100]:
    probs = random_softmax(20_000, num_classes)
    for q_value in [0.1, 0.3, 0.5, 0.7, 1.0]:
        lower, upper = lq_sum_bounds(num_classes, q_value)
        sums = lq_sum(probs, q_value)
        at_uniform = float(lq_sum(uniform_vector(num_classes), q_value))
        at_one_hot = float(lq_sum(one_hot_vector(num_classes), q_value))
        rows.append(
            {
                "c": num_classes,
                "q": q_value,
                "lower (Eq. 7)": lower,
                "S at uniform": at_uniform,
                "min S sampled": sums.min(),
                "max S sampled": sums.max(),
                "S at one-hot": at_one_hot,
                "upper (Eq. 7)": upper,
                "all within": bool(np.all((sums >= lower - 1e-9) & (sums <= upper + 1e-9))),
            }
        )
eq7 = pd.DataFrame(rows)
print("every sampled vector within Eq. 7:", eq7["all within"].all())
print(
    "uniform attains the lower bound:",
    np.allclose(eq7["S at uniform"], eq7["lower (Eq. 7)"]),
)
print(
    "one-hot attains the upper bound:",
    np.allclose(eq7["S at one-hot"], eq7["upper (Eq. 7)"]),
)
eq7.set_index(["c", "q"]).round(4)

# %% [markdown]
# The random vectors never leave the band, and the extreme vectors sit exactly on its edges.
# The scatter plot shows where vectors fall as a function of their largest entry: nearly uniform
# vectors (largest entry near $1/c$) hug the lower bound, nearly one-hot vectors the upper.

# %% tags=["hide-input"]
probs10 = random_softmax(5_000, 10)
fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharex=True)
for ax, q_value in zip(axes, [0.3, 0.7]):
    lower, upper = lq_sum_bounds(10, q_value)
    ax.scatter(
        probs10.max(axis=1),
        lq_sum(probs10, q_value),
        s=3,
        alpha=0.4,
        color="tab:blue",
        label="random softmax vectors",
    )
    ax.axhline(upper, color="tab:red", label=f"upper bound $(c-1)/q$ = {upper:.2f}")
    ax.axhline(
        lower,
        color="tab:green",
        label=f"lower bound $(c - c(1/c)^q)/q$ = {lower:.2f}",
    )
    ax.set(
        xlabel="largest softmax entry $\\max_j f_j$",
        ylabel="$\\sum_j \\mathcal{L}_q(f, e_j)$",
        title=f"Eq. 7 for c = 10, q = {q_value}",
    )
    ax.legend(fontsize=8.5, loc="lower right")
fig.tight_layout()
plt.show()

# %% [markdown]
# ## Eq. 8: from the bounded sum to noise tolerance
#
# The paper states the result without proof (the appendix is not part of the paper text we
# follow), so we derive it: first the noisy risk in terms of the clean one, for any loss, then
# the bound for $\mathcal{L}_q$.
#
# ```{prf:lemma} The noisy risk under uniform noise
# :label: lem-noisy-risk
#
# Under uniform noise of rate $\eta$, for every loss $\mathcal{L}$ and every $f$,
#
# $$
# R^\eta(f) = \underbrace{\Big(1 - \frac{\eta c}{c - 1}\Big)}_{\alpha}\, R(f) + \underbrace{\frac{\eta}{c - 1}}_{\beta}\, \mathbb{E}_x\big[S(f(x))\big],
# $$
#
# where $S(f) = \sum_j \mathcal{L}(f, j)$ is the sum over all labels, the quantity Eq. 7
# bounds for $\mathcal{L}_q$.
# ```
#
# ```{prf:proof}
# **Step 1: the noisy risk at one input.** Fix $x$ with clean label $y$. The noisy label is $y$
# with probability $1 - \eta$ and each $j \ne y$ with probability $\eta / (c - 1)$, so the
# expected loss at $x$ is
#
# $$
# (1 - \eta)\,\mathcal{L}(f, y) + \frac{\eta}{c - 1} \sum_{j \ne y} \mathcal{L}(f, j)
# = (1 - \eta)\,\mathcal{L}(f, y) + \frac{\eta}{c - 1}\Big(S(f) - \mathcal{L}(f, y)\Big).
# $$
#
# Collecting the terms, the coefficient of $\mathcal{L}(f, y)$ is
# $\alpha = 1 - \eta - \frac{\eta}{c - 1} = 1 - \frac{\eta c}{c - 1}$ and that of $S(f)$ is
# $\beta = \frac{\eta}{c - 1}$ (`sympy` collects them below).
#
# **Step 2: the noisy risk.** $\alpha$ and $\beta$ do not depend on $x$ or $y$, so averaging
# Step 1 over the data gives the lemma.
# ```
#
# Step 1's coefficients, collected by `sympy`:

# %%
L_y, S = sp.symbols("L_y S", real=True)
noisy_loss = (1 - eta) * L_y + eta / (c - 1) * (S - L_y)
coefficients = sp.collect(sp.expand(noisy_loss), [L_y, S], evaluate=False)
alpha = sp.factor(sp.together(coefficients[L_y]))
beta = coefficients[S]
display(
    Math(r"\text{coefficient of } \mathcal{L}(f, y):\ \alpha = " + sp.latex(alpha) + r" = \frac{c(1-\eta) - 1}{c - 1}")
)
display(Math(r"\text{coefficient of } S(f):\ \beta = " + sp.latex(beta)))
print(
    "alpha == 1 - eta*c/(c-1):",
    sp.simplify(alpha - (1 - eta * c / (c - 1))) == 0,
)

# %% [markdown]
# Ghosh et al.'s theorem follows in one line:
#
# ```{prf:proof}
# (Of {prf:ref}`thm-symmetric-noise-tolerant`.) For a symmetric loss $S$ is a constant $C$, so
# by {prf:ref}`lem-noisy-risk` $R^\eta = \alpha R + \beta C$ is an increasing affine function
# of $R$ whenever $\alpha > 0$, i.e. $\eta < 1 - 1/c$: the two risks have the same minimisers.
# ```
#
# For $\mathcal{L}_q$, $S$ varies with $f$, but only within the band of {prf:ref}`thm-eq7`, and
# the width of that band bounds what the noise can cost:
#
# ```{prf:theorem} Eq. 8: the noisy minimiser is nearly optimal on clean data
# :label: thm-eq8
#
# Let $0 < q \le 1$ and let the noise be uniform with rate $\eta < 1 - 1/c$. If $f^*$
# minimises the clean risk $R_{\mathcal{L}_q}$ and $\hat f$ the noisy risk
# $R^\eta_{\mathcal{L}_q}$, then
#
# $$
# -A \;\le\; R_{\mathcal{L}_q}(f^*) - R_{\mathcal{L}_q}(\hat f) \;\le\; 0,
# \qquad A = \frac{\eta}{q}\,\frac{c(1/c)^q - 1}{c(1 - \eta) - 1} \;\ge\; 0. \tag{8}
# $$
# ```
#
# ```{prf:proof}
# Write $R$ for $R_{\mathcal{L}_q}$ and $R^\eta$ for $R^\eta_{\mathcal{L}_q}$.
#
# **Step 3: compare the two minimisers.** Since $\hat f$ is optimal for $R^\eta$,
# $R^\eta(\hat f) \le R^\eta(f^*)$; substituting {prf:ref}`lem-noisy-risk` and rearranging,
#
# $$
# \begin{aligned}
# \alpha\,\big(R(\hat f) - R(f^*)\big)
# &\le \beta\,\Big(\mathbb{E}\big[S(f^*(x))\big] - \mathbb{E}\big[S(\hat f(x))\big]\Big) \\
# &\le \beta\,\Big(\frac{c - 1}{q} - \frac{c - c(1/c)^q}{q}\Big) = \beta\,\frac{c(1/c)^q - 1}{q},
# \end{aligned}
# $$
#
# where the last step uses the upper bound of Eq. 7 for $S(f^*)$ and the lower bound for
# $S(\hat f)$.
#
# **Step 4: divide by $\alpha$.** For $\eta < 1 - 1/c$ we have $\alpha > 0$, so
# $R(\hat f) - R(f^*) \le \beta\,(c(1/c)^q - 1) / (q\,\alpha)$, which is the paper's $A$
# (`sympy` confirms it below).
#
# **Step 5: the other side.** $f^*$ minimises the clean risk, so $R(f^*) \le R(\hat f)$.
# Together the two steps give Eq. 8. $A \ge 0$ because $c(1/c)^q = c^{1-q} \ge 1$ for $q \le 1$
# and the denominator is positive for $\eta < 1 - 1/c$.
# ```
#
# Step 4's constant is the paper's:

# %%
lower_eq7 = (c - c * (1 / c) ** q) / q
upper_eq7 = (c - 1) / q
A_derived = beta * (upper_eq7 - lower_eq7) / alpha
A_paper = eta / q * (c * (1 / c) ** q - 1) / (c * (1 - eta) - 1)
display(Math(r"A_{\mathrm{derived}} = " + sp.latex(sp.simplify(A_derived))))
print("A_derived - A_paper simplifies to:", sp.simplify(A_derived - A_paper))

# %% [markdown]
# (The paper writes the condition of {prf:ref}`thm-eq8` as $\eta \le 1 - 1/c$; at equality the
# denominator vanishes, the noisy labels carry no information about the clean ones, and the
# bound is vacuous: `noise_tolerance_constant` returns `inf` there.)
#
# **Limits and monotonicity.** `sympy` gives the two ends of the $q$ range, and the sign of
# $\partial A / \partial q$:

# %%
display(Math(r"\lim_{q \to 1} A = " + sp.latex(sp.limit(A_paper, q, 1))))
A_small_q = sp.limit(A_paper.subs({c: 10, eta: sp.Rational(2, 5)}), q, 0, "+")
display(Math(r"\lim_{q \to 0^+} A\big|_{c=10,\ \eta=0.4} = " + sp.latex(A_small_q)))
dA_dq = sp.simplify(sp.diff(A_paper, q))
display(Math(r"\frac{\partial A}{\partial q} = " + sp.latex(dA_dq)))

# %% [markdown]
# In the derivative, the denominator contains $c\eta - c + 1 < 0$, and the factor
# $h(q) = c q \log c + c - c^q$ is positive: $h(0) = c - 1 > 0$ and
# $h'(q) = \log c\,(c - c^q) \ge 0$. Hence $\partial A/\partial q < 0$: **the larger $q$, the
# smaller $A$**, down to $A = 0$ at $q = 1$ where $\mathcal{L}_q$ is MAE/2 and Ghosh et al.'s
# theorem applies. As $q \to 0$ (CCE) the guarantee is lost. A numeric spot check of
# `noise_tolerance_constant` against the `sympy` expression:

# %%
A_numeric = sp.lambdify((eta, q, c), A_paper, "math")
grid = [(e, qq, cc) for cc in (2, 10, 100) for e in (0.1, 0.3, 0.45) for qq in (0.1, 0.5, 0.7, 0.9)]
worst = max(
    abs(noise_tolerance_constant(e, qq, cc) - A_numeric(e, qq, cc)) / A_numeric(e, qq, cc) for e, qq, cc in grid
)
print(f"{len(grid)} grid points, largest relative difference < 1e-12: {worst < 1e-12}")
print(
    "A(eta=0.4, q=0.7, c=10) =",
    round(noise_tolerance_constant(0.4, 0.7, 10), 4),
)
print("A(eta=0.4, q=1.0, c=10) =", noise_tolerance_constant(0.4, 1.0, 10))

# %% tags=["hide-input"]
qs = np.linspace(0.02, 1.0, 200)
fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
for eta_value, color in zip([0.2, 0.4, 0.6, 0.8], ["tab:green", "tab:blue", "tab:purple", "tab:red"]):
    axes[0].plot(
        qs,
        [noise_tolerance_constant(eta_value, qq, 10) for qq in qs],
        color=color,
        label=f"$\\eta$ = {eta_value}",
    )
axes[0].axvline(0.7, color="gray", ls=":", label="q = 0.7 (paper)")
axes[0].set(
    yscale="log",
    ylim=(1e-3, 1e3),
    xlabel="q",
    ylabel="A (log scale)",
    title="A of Eq. 8 against q (c = 10)",
)
etas = np.linspace(0.0, 0.89, 200)
for q_value, color in zip([0.3, 0.5, 0.7, 0.9], ["tab:orange", "tab:green", "tab:blue", "tab:red"]):
    axes[1].plot(
        etas,
        [noise_tolerance_constant(e, q_value, 10) for e in etas],
        color=color,
        label=f"q = {q_value}",
    )
axes[1].axvline(0.9, color="gray", ls=":", label="$\\eta = 1 - 1/c$ (A = $\\infty$)")
axes[1].set(
    yscale="log",
    ylim=(1e-3, 1e3),
    xlabel="noise rate $\\eta$",
    ylabel="A (log scale)",
    title="A of Eq. 8 against $\\eta$ (c = 10)",
)
for ax in axes:
    ax.legend(fontsize=9)
fig.tight_layout()
plt.show()

# %% [markdown]
# $A$ falls steeply with $q$ and rises with $\eta$, without limit as $\eta \to 1 - 1/c$.
#
# ### How tight is $A$?
#
# Eq. 8 is a worst-case bound: Step 3 replaced $S(f^*) - S(\hat f)$ by the full width of the
# band of Eq. 7. We can compute the actual worst case. Under uniform noise everything happens
# one input at a time, so consider one input with clean label $y$. The clean minimiser is the
# one-hot $f^* = e_y$ with $R(f^*) = 0$. The noisy risk at that input,
# $(1 - \eta)\mathcal{L}_q(f_y) + \frac{\eta}{c-1}\sum_{j \ne y}\mathcal{L}_q(f_j)$, is strictly
# convex for $q < 1$ and symmetric in the wrong classes, so its minimiser $\hat f$ puts some
# $p$ on $y$ and $(1-p)/(c-1)$ on every other class; setting the derivative in $p$ to zero gives
#
# $$
# \frac{p}{(1-p)/(c-1)} = \left(\frac{(c-1)(1-\eta)}{\eta}\right)^{1/(1-q)} .
# $$
#
# `noisy_risk_minimizer` implements this. Then $R(\hat f) - R(f^*) = \mathcal{L}_q(p)$ exactly.
# First we confirm that it is the minimiser by comparing its noisy risk, computed from the
# transition matrix of `gce_lab.noise`, with 20 000 random softmax vectors:


# %%
def noisy_risk(probs: np.ndarray, label: int, T: np.ndarray, q_value: float) -> np.ndarray:
    """Expected L_q loss of each row when the clean label is corrupted by T."""
    logits = torch.log(torch.as_tensor(np.atleast_2d(probs)))
    num = logits.shape[0]
    return sum(
        T[label, j] * lq_loss(logits, torch.full((num,), j), q_value, reduction="none").numpy()
        for j in range(T.shape[0])
    )


T = make_noise("uniform", 0.4, num_classes=10).transition_matrix()
candidates = random_softmax(20_000, 10)
for q_value in [0.3, 0.7]:
    f_hat = noisy_risk_minimizer(0.4, q_value, 10, label=0)
    best = noisy_risk(f_hat, 0, T, q_value)[0]
    others = noisy_risk(candidates, 0, T, q_value)
    print(
        f"q = {q_value}: noisy risk of f_hat = {best:.5f}; "
        f"smallest over 20 000 random vectors = {others.min():.5f}; "
        f"f_hat is better than all of them: {bool(np.all(others >= best))}"
    )

# %% [markdown]
# Now the exact excess clean risk $\mathcal{L}_q(\hat f_y)$ next to the bound $A$, for $c = 10$
# and $\eta = 0.4$:

# %%
rows = []
for q_value in [0.0, 0.1, 0.3, 0.5, 0.7, 0.9]:
    f_hat = noisy_risk_minimizer(0.4, q_value, 10, label=0)
    exact = lq_of_probability(float(f_hat[0]), q_value)
    bound = noise_tolerance_constant(0.4, q_value, 10)
    rows.append(
        {
            "q": q_value,
            "f_hat_y": f"{f_hat[0]:.6f}",
            "exact R(f_hat) - R(f*)": f"{exact:.3g}",
            "A (Eq. 8)": f"{bound:.3g}",
            "A / exact": f"{bound / exact:.3g}",
        }
    )
print("q = 1 (MAE): f_hat is one-hot, exact excess risk 0 and A = 0")
looseness = pd.DataFrame(rows).set_index("q")
ratios = looseness["A / exact"].astype(float)
small_q = ratios[(ratios.index > 0) & (ratios.index <= 0.5)]  # at q = 0 (CCE) A is infinite
print(
    f"A / exact: {small_q.min():.3g} to {small_q.max():.3g} for 0 < q <= 0.5, "
    f"{ratios.loc[0.7]:.3g} at q = 0.7, {ratios[ratios.index > 0.7].min():.3g} and more beyond"
)
looseness

# %% [markdown]
# Two lessons. First, the bound holds with room to spare: $A$ exceeds the actual excess risk by
# the factors printed above, which grow with $q$ from a few to orders of magnitude. The reason is Step 3: the noisy minimiser $\hat f$ is itself close to one-hot, so
# $S(f^*) - S(\hat f)$ is far smaller than the full width of Eq. 7 that the bound assumes. Second,
# even CCE ($q = 0$), for which $A = \infty$, has a finite excess risk $-\log(1 - \eta)$ here:
# its noisy minimiser is the noisy posterior $\hat f_y = 1 - \eta$, which still ranks the true
# class first. Under uniform noise and at the level of risks, the danger of CCE is not a wrong
# population minimiser; it is the network's capacity to *memorise* the particular noisy labels
# of a finite training set, which the experiments of chapters 6 to 10 show. The bounds explain
# why a loss close to symmetric resists being pulled by the wrong labels.

# %% tags=["hide-input"]
fig, ax = plt.subplots(figsize=(6.5, 4.2))
qs_fine = np.linspace(0.02, 0.98, 150)
for eta_value, color in zip([0.2, 0.4, 0.6], ["tab:green", "tab:blue", "tab:purple"]):
    exact = [lq_of_probability(float(noisy_risk_minimizer(eta_value, qq, 10)[0]), qq) for qq in qs_fine]
    bound = [noise_tolerance_constant(eta_value, qq, 10) for qq in qs_fine]
    ax.plot(qs_fine, bound, color=color, label=f"A, $\\eta$ = {eta_value}")
    ax.plot(
        qs_fine,
        exact,
        color=color,
        ls="--",
        label=f"exact worst case, $\\eta$ = {eta_value}",
    )
ax.set(
    yscale="log",
    ylim=(1e-8, 1e3),
    xlabel="q",
    ylabel="excess clean risk $R(\\hat f) - R(f^*)$",
    title="Bound A of Eq. 8 vs the exact worst case (c = 10)",
)
ax.legend(fontsize=8, ncol=2)
fig.tight_layout()
plt.show()

# %% [markdown]
# ## Truncated $\mathcal{L}_q$ and Eq. 10
#
# A narrower band in Eq. 7 means a smaller $A$. Section 3.3 narrows it by truncating the loss
# at a threshold $k \in [0, 1]$:
#
# \begin{equation*}
# \mathcal{L}_{\mathrm{trunc}}(f(x), e_j) =
# \begin{cases}
# \mathcal{L}_q(k) & \text{if } f_j(x) \le k, \\
# \mathcal{L}_q(f(x), e_j) & \text{if } f_j(x) > k,
# \end{cases}
# \qquad \mathcal{L}_q(k) = \frac{1 - k^q}{q}. \tag{9}
# \end{equation*}
#
# Since $\mathcal{L}_q$ decreases in $f_j$, this is $\min\big(\mathcal{L}_q(f_j), \mathcal{L}_q(k)\big)$:
# the loss is capped at $\mathcal{L}_q(k)$.
#
# ```{prf:theorem} Eq. 10: truncation narrows the band
# :label: thm-eq10
#
# Let $0 < q \le 1$ and $\tfrac{1}{2} \le k \le 1$. For every $f$ in the probability simplex,
#
# $$
# (c - 1)\,\mathcal{L}_q(k) \;\le\; \sum_{j=1}^{c} \mathcal{L}_{\mathrm{trunc}}(f(x), e_j) \;\le\; c\,\mathcal{L}_q(k). \tag{10}
# $$
#
# The lower bound is attained by any one-hot vector, the upper by the uniform vector.
# ```
#
# The paper states Eq. 10 for $k \ge 1/c$ instead; the condition $k \ge 1/2$ is what the proof
# needs, and the section after the numeric check finds the exact one.
#
# ```{prf:proof}
# * **Upper bound.** Every term is at most $\mathcal{L}_q(k)$, so the sum is at most
#   $c\,\mathcal{L}_q(k)$, attained when every $f_j \le k$, e.g. by the uniform vector
#   ($1/c \le 1/2 \le k$).
# * **Lower bound.** Since $k \ge 1/2$, at most one entry of $f$ exceeds $k$. The other $c - 1$
#   terms equal $\mathcal{L}_q(k)$ and the last one is $\ge 0$, so the sum is at least
#   $(c-1)\,\mathcal{L}_q(k)$, attained by a one-hot vector (its one entry costs
#   $\mathcal{L}_q(1) = 0$).
# ```
#
# A numeric check with `truncated_lq_sum` at the paper's $k = 0.5$:

# %%
rows = []
for num_classes in [2, 10, 100]:
    probs = random_softmax(20_000, num_classes)
    for q_value in [0.3, 0.7, 1.0]:
        lower, upper = truncated_lq_sum_bounds(num_classes, q_value, 0.5)
        sums = truncated_lq_sum(probs, q_value, 0.5)
        rows.append(
            {
                "c": num_classes,
                "q": q_value,
                "lower (Eq. 10)": lower,
                "S at one-hot": float(truncated_lq_sum(one_hot_vector(num_classes), q_value, 0.5)),
                "min sampled": sums.min(),
                "max sampled": sums.max(),
                "S at uniform": float(truncated_lq_sum(uniform_vector(num_classes), q_value, 0.5)),
                "upper (Eq. 10)": upper,
                "all within": bool(np.all((sums >= lower - 1e-9) & (sums <= upper + 1e-9))),
            }
        )
eq10 = pd.DataFrame(rows)
print("k = 0.5: every sampled vector within Eq. 10:", eq10["all within"].all())
print(
    "one-hot attains the lower bound:",
    np.allclose(eq10["S at one-hot"], eq10["lower (Eq. 10)"]),
)
print(
    "uniform attains the upper bound:",
    np.allclose(eq10["S at uniform"], eq10["upper (Eq. 10)"]),
)
eq10.set_index(["c", "q"]).round(4)

# %% [markdown]
# ### A caveat: $k \ge 1/c$ is not enough for the lower bound
#
# The paper states Eq. 10 "assuming $k \ge 1/c$". That assumption makes the upper bound
# attainable, but the lower bound can fail when $k < 1/2$, outside {prf:ref}`thm-eq10`, because then two or more entries can
# exceed $k$ and each of them contributes less than $\mathcal{L}_q(k)$. The exact minimum of the
# sum is found by splitting the mass equally over $m$ classes: with $m$ entries above $k$ the
# other $c - m$ terms are $\mathcal{L}_q(k)$, and convexity of $\mathcal{L}_q$ makes equal entries
# $1/m$ optimal, so
#
# $$
# \min_f \sum_j \mathcal{L}_{\mathrm{trunc}}(f, e_j) = \min_{1 \le m \le \min(c,\, 1/k)} \Big[(c - m)\,\mathcal{L}_q(k) + m\,\mathcal{L}_q(1/m)\Big],
# $$
#
# where $m = 1$ is the lower bound of Eq. 10 (`truncated_lq_sum_minimum`). An explicit
# counterexample with $c = 10$, $q = 0.7$, $k = 0.1 = 1/c$:

# %%
two_way = np.array([0.5, 0.5] + [0.0] * 8)
lower, upper = truncated_lq_sum_bounds(10, 0.7, 0.1)
minimum, m_best = truncated_lq_sum_minimum(10, 0.7, 0.1)
print(f"Eq. 10 lower bound (c - 1) L_q(k) = {lower:.4f}")
print(f"sum for f = (0.5, 0.5, 0, ..., 0)  = {float(truncated_lq_sum(two_way, 0.7, 0.1)):.4f}  (below the bound)")
print(f"exact minimum {minimum:.4f}, attained with m = {m_best} classes at 1/m each")

# %% [markdown]
# ### The exact condition
#
# As $k$ falls, the first vector to undercut the bound is the two-way split $m = 2$: the bound
# fails exactly when $(c-2)\,\mathcal{L}_q(k) + 2\,\mathcal{L}_q(1/2) < (c-1)\,\mathcal{L}_q(k)$,
# i.e. when $2\,\mathcal{L}_q(1/2) < \mathcal{L}_q(k)$, whatever $c$. Solving the equality for $k$:

# %%
k_star = sp.solve(sp.Eq(2 * (1 - sp.Rational(1, 2) ** q) / q, (1 - k**q) / q), k)
display(Math(r"k^\ast(q) = " + sp.latex(sp.simplify(k_star[0]))))
print("limit q -> 0:", sp.limit(k_star[0], q, 0, "+"), "  at q = 1:", k_star[0].subs(q, 1))

# %% [markdown]
# $$
# \text{Eq. 10's lower bound holds for every } f \iff k \ge k^\ast(q) = \left(2^{1-q} - 1\right)^{1/q},
# $$
#
# a threshold that falls from $1/4$ ($q \to 0$) to $0$ ($q = 1$), so it lies below $1/4$ for
# every $q$. The paper's "$k \ge 1/c$" is therefore neither needed ($k^\ast < 1/c$ for $c \le 4$)
# nor enough ($k^\ast > 1/c$ for small $q$ and $c > 4$). `eq10_lower_bound_threshold` computes
# $k^\ast$; checked against the exact minimum on a grid of $c$, $q$ and $k$:

# %%
agree = total = 0
for num_classes in [2, 3, 5, 10, 100]:
    for q_value in np.linspace(0.02, 1.0, 50):
        k_min = eq10_lower_bound_threshold(q_value)
        for k_value in np.linspace(1 / num_classes, 1.0, 120):
            if abs(k_value - k_min) < 1e-9:
                continue
            lower, _ = truncated_lq_sum_bounds(num_classes, q_value, k_value)
            fails_here = truncated_lq_sum_minimum(num_classes, q_value, k_value)[0] < lower - 1e-12
            agree += fails_here == (k_value < k_min)
            total += 1
print(f"fails exactly when k < k*(q): {agree} of {total} grid points agree")
print(f"k*(0.7) = {eq10_lower_bound_threshold(0.7):.4f}; the paper's k = 0.5 is well above it")

# %% [markdown]
# The left panel below maps, for $c = 10$, where in the $(k, q)$ plane Eq. 10's lower bound
# fails: left of the curve $k^\ast(q)$, never for the paper's $k = 0.5$. The practical
# consequence is small, but a small threshold does not buy the band that Eq. 10 promises.
#
# ### When does truncation tighten the bound?
#
# The width of Eq. 10 is $c\,\mathcal{L}_q(k) - (c-1)\,\mathcal{L}_q(k) = \mathcal{L}_q(k)$;
# the width of Eq. 7 is $(c(1/c)^q - 1)/q$. Truncation gives the narrower band when

# %%
width_eq7 = (c * (1 / c) ** q - 1) / q
width_eq10 = (1 - k**q) / q
condition = sp.simplify(sp.expand((width_eq7 - width_eq10) * q))
display(Math(r"q\,(\text{width}_7 - \text{width}_{10}) = " + sp.latex(condition) + r" > 0 \iff k^q > 2 - c\,(1/c)^q"))

# %% [markdown]
# $$
# k^q > 2 - c\,(1/c)^q .
# $$
#
# The paper notes that for $q = 0.5$ this holds for every $k \ge 1/c$ and $c \ge 2$: at
# $k = 1/c$ it reads $c^{-1/2} > 2 - c^{1/2}$, true for $c = 2, 3$ and trivially for
# $c \ge 4$ where the right side is negative. At $q = 1$ the right side is 1 and the
# condition never holds: MAE has nothing to tighten. The right panel shows the region for
# several $c$; the paper's operating point $q = 0.7$, $k = 0.5$ lies well inside.

# %% tags=["hide-input"]
ks = np.linspace(0.1, 1.0, 181)
qs_grid = np.linspace(0.01, 1.0, 199)
fails = np.array(
    [
        [truncated_lq_sum_minimum(10, qq, kk)[0] < truncated_lq_sum_bounds(10, qq, kk)[0] - 1e-12 for kk in ks]
        for qq in qs_grid
    ]
)
print(
    "c = 10: Eq. 10 lower bound fails somewhere with k >= 0.5:",
    bool(fails[:, ks >= 0.5].any()),
)
print(
    "c = 10: largest k at which it fails:",
    round(float(ks[fails.any(axis=0)].max()), 3),
)
print(
    "q = 0.5 tightens for all k >= 1/c, c = 2..100:",
    all(truncation_tightens(cc, 0.5, kk) for cc in range(2, 101) for kk in np.linspace(1 / cc, 1, 30)),
)

fig, axes = plt.subplots(1, 2, figsize=(11, 5.0))
axes[0].contourf(
    ks,
    qs_grid,
    fails.astype(float),
    levels=[-0.5, 0.5, 1.5],
    colors=["white", "tab:red"],
    alpha=0.6,
)
axes[0].contour(ks, qs_grid, fails.astype(float), levels=[0.5], colors="tab:red")
axes[0].plot(
    [],
    [],
    color="tab:red",
    lw=6,
    alpha=0.6,
    label="lower bound of Eq. 10 violated",
)
axes[0].plot(
    [eq10_lower_bound_threshold(qq) for qq in qs_grid],
    qs_grid,
    "k--",
    label="$k^*(q) = (2^{1-q} - 1)^{1/q}$",
)
axes[0].plot(0.5, 0.7, "k*", ms=12, label="paper: q = 0.7, k = 0.5")
axes[0].set(
    xlabel="threshold k",
    ylabel="q",
    title="Where Eq. 10's lower bound fails (c = 10)",
)
axes[0].legend(fontsize=8.5, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=2)

qs_fine_grid = np.linspace(0.005, 1.0, 250)
for num_classes, color in [
    (100, "tab:green"),
    (10, "tab:blue"),
    (2, "tab:orange"),
]:
    ks_c = np.linspace(1 / num_classes, 1.0, 250)
    tight = np.array([[truncation_tightens(num_classes, qq, kk) for kk in ks_c] for qq in qs_fine_grid])
    axes[1].contourf(
        ks_c,
        qs_fine_grid,
        tight.astype(float),
        levels=[0.5, 1.5],
        colors=[color],
        alpha=0.18,
    )
    axes[1].contour(ks_c, qs_fine_grid, tight.astype(float), levels=[0.5], colors=color)
    axes[1].plot(
        [],
        [],
        color=color,
        lw=6,
        alpha=0.4,
        label=f"tightens, c = {num_classes} (k ≥ 1/c)",
    )
axes[1].plot(0.5, 0.7, "k*", ms=12, label="paper: q = 0.7, k = 0.5")
axes[1].set(
    xlabel="threshold k",
    ylabel="q",
    xlim=(0, 1),
    title="$k^q > 2 - c(1/c)^q$: truncation tightens the band",
)
axes[1].legend(fontsize=8.5, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=2)
fig.tight_layout()
plt.show()

# %% [markdown]
# ## Summary
#
# * The sum of $\mathcal{L}_q$ over all labels lies in a band of width $(c^{1-q} - 1)/q$
#   ({prf:ref}`thm-eq7`), attained by the uniform and one-hot vectors.
# * Under uniform noise, the noisy risk is $\alpha R(f) + \beta\,\mathbb{E}[S(f)]$
#   ({prf:ref}`lem-noisy-risk`), which proves {prf:ref}`thm-symmetric-noise-tolerant` for symmetric
#   losses; for $\mathcal{L}_q$ the band's width bounds how much the noisy minimiser can lose on
#   clean data: {prf:ref}`thm-eq8` with the constant
#   $A$, which decreases in $q$ and vanishes at $q = 1$. The bound is valid but loose: the
#   exact worst case is several times (small $q$) to orders of magnitude (large $q$) smaller.
# * Truncating at $k$ replaces the width by $\mathcal{L}_q(k)$ ({prf:ref}`thm-eq10`), narrower when
#   $k^q > 2 - c(1/c)^q$; Eq. 10's lower bound holds exactly when $k \ge (2^{1-q} - 1)^{1/q}$,
#   a threshold below $1/4$ for every $q$ (not $k \ge 1/c$ as stated). Chapter 4 shows how the
#   truncated loss is trained (Eq. 11-12, Algorithm 1).


# %% [markdown]
# ## Exercises
#
# The solutions are hidden; open one after trying the exercise. Each solution's code checks its
# answer with `assert`s, so the page does not build if an answer is wrong.
#
# ```{exercise-start} How large must q be?
# :label: ex-03-q-for-A
# ```
#
# For $c = 10$ and $\eta = 0.4$, evaluate the constant $A$ of {prf:ref}`thm-eq8` at the paper's
# $q = 0.7$ by hand and compare with `noise_tolerance_constant`. Then find the smallest $q$ for
# which $A \le 0.1$, by bisection, using that $A$ decreases in $q$.
#
# ```{exercise-end}
# ```
#
# ```{solution-start} ex-03-q-for-A
# :class: dropdown
# ```
#
# $c^{1-q} = 10^{0.3} \approx 1.995$ and $c(1 - \eta) - 1 = 5$, so
# $A = \frac{0.4}{0.7}\cdot\frac{0.995}{5} \approx 0.114$: the paper's $q$ just misses $0.1$.
# Because $A$ falls from $\infty$ ($q \to 0$) to $0$ ($q = 1$) and is monotone, bisection finds
# the crossing, a little above $0.7$.


# %%
import math

from gce_lab.bounds import noise_tolerance_constant

c, eta = 10, 0.4
by_hand = eta / 0.7 * (c ** (1 - 0.7) - 1) / (c * (1 - eta) - 1)
print(f"A(q = 0.7) by hand {by_hand:.4f}, noise_tolerance_constant {noise_tolerance_constant(eta, 0.7, c):.4f}")
assert math.isclose(noise_tolerance_constant(eta, 0.7, c), by_hand, rel_tol=1e-12)

low, high = 1e-6, 1.0
assert noise_tolerance_constant(eta, low, c) > 0.1 >= noise_tolerance_constant(eta, high, c)
for _ in range(60):
    middle = (low + high) / 2
    low, high = (middle, high) if noise_tolerance_constant(eta, middle, c) > 0.1 else (low, middle)
print(f"smallest q with A <= 0.1: {high:.4f}")
assert abs(noise_tolerance_constant(eta, high, c) - 0.1) < 1e-9 and 0.7 < high < 1


# %% [markdown]
# ```{solution-end}
# ```
#
# ```{exercise-start} The threshold k* by bisection
# :label: ex-03-k-star
# ```
#
# {prf:ref}`thm-eq10` assumes $k \ge 1/2$; the chapter found that its lower bound holds exactly
# when $k \ge k^*(q)$. For $c = 10$ and $q = 0.7$, find $k^*$ numerically as the smallest $k$ at
# which the exact minimum of the truncated sum (`truncated_lq_sum_minimum`) is not below
# $(c-1)\,\mathcal{L}_q(k)$, by bisection on $[1/c, 1/2]$, and compare with
# $(2^{1-q} - 1)^{1/q}$.
#
# ```{exercise-end}
# ```
#
# ```{solution-start} ex-03-k-star
# :class: dropdown
# ```
#
# The bound fails for $k < k^*$ and holds for $k \ge k^*$, so bisection on "fails" converges to
# $k^* = (2^{0.3} - 1)^{1/0.7} \approx 0.123$, just above $1/c = 0.1$: for $c = 10$ the paper's
# condition $k \ge 1/c$ lets through the thresholds between $0.1$ and $0.123$, where the
# two-way split $(\frac12, \frac12, 0, \dots)$ undercuts the bound.


# %%
import math

from gce_lab.bounds import eq10_lower_bound_threshold, truncated_lq_sum_bounds, truncated_lq_sum_minimum

c, q = 10, 0.7


def lower_bound_fails(k):
    return truncated_lq_sum_minimum(c, q, k)[0] < truncated_lq_sum_bounds(c, q, k)[0] - 1e-12


low, high = 1 / c, 0.5
assert lower_bound_fails(low) and not lower_bound_fails(high)
for _ in range(50):
    middle = (low + high) / 2
    low, high = (middle, high) if lower_bound_fails(middle) else (low, middle)
closed_form = (2 ** (1 - q) - 1) ** (1 / q)
print(f"bisection: k* = {high:.6f}; (2^(1-q) - 1)^(1/q) = {closed_form:.6f}")
assert abs(high - closed_form) < 1e-6
assert math.isclose(closed_form, eq10_lower_bound_threshold(q))


# %% [markdown]
# ```{solution-end}
# ```
#
# ```{exercise-start} At eta = 1 - 1/c the labels say nothing
# :label: ex-03-no-information
# ```
#
# Show that at $\eta = 1 - 1/c$ every row of the uniform transition matrix is the uniform
# distribution, so that the noisy label is independent of the clean one. What is the
# coefficient $\alpha$ of {prf:ref}`lem-noisy-risk` there, what does that mean for
# {prf:ref}`thm-symmetric-noise-tolerant`, and what does `noise_tolerance_constant` return?
# Check for $c = 10$.
#
# ```{exercise-end}
# ```
#
# ```{solution-start} ex-03-no-information
# :class: dropdown
# ```
#
# $T_{ii} = 1 - \eta = 1/c$ and $T_{ij} = \eta/(c-1) = 1/c$: every row is uniform. Then
# $\alpha = 1 - \eta c/(c-1) = 0$ and $R^\eta = \beta\,\mathbb{E}[S(f)]$ does not depend on the
# clean risk at all: every $f$ minimises it for a symmetric loss, so the theorem's strict
# inequality is needed. $A$ has the denominator $c(1-\eta) - 1 = 0$ and is infinite.


# %%
import math

import numpy as np

from gce_lab.bounds import noise_tolerance_constant
from gce_lab.noise import make_noise

c = 10
eta = 1 - 1 / c
T = make_noise("uniform", eta, num_classes=c).transition_matrix()
alpha = 1 - eta * c / (c - 1)
print(f"eta = {eta:g}: rows of T uniform: {np.allclose(T, 1 / c)}; alpha = {alpha:.2g}")
assert np.allclose(T, 1 / c) and abs(alpha) < 1e-12
assert noise_tolerance_constant(eta, 0.7, c) == math.inf


# %% [markdown]
# ```{solution-end}
# ```
