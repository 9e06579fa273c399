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
# # 1. Learning with noisy labels
#
# Deep networks need many labelled examples, and labels collected at scale contain mistakes.
# A network with enough capacity fits *any* labelling of its training set, random labels
# included {cite:p}`zhang2017understanding`, so mistakes in the labels end up in the model:
# it first learns the patterns shared by the correctly labelled examples and then memorises
# the wrong ones {cite:p}`arpit2017closer`. {cite:t}`zhang2018generalized` attack the
# problem with nothing but the loss function. This chapter sets up the problem, the noise
# models the paper uses, and a toy problem small enough to train four networks on a CPU in
# seconds, where the four losses of the paper can be watched at work.
#
# *Every number on this page is computed live when the page is built (2-D toy data, CPU,
# one seed); none comes from cached GPU results.*

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
import seaborn as sns

from gce_lab.book import setup
from gce_lab.book.toy_plots import decision_grid, plot_decision_regions
from gce_lab.noise import make_noise
from gce_lab.schedules import pruning_epochs
from gce_lab.toy import make_toy_data, toy_config, train_toy

setup()

# %% [markdown]
# ## The problem
#
# We want a classifier $f:\mathcal{X}\to\mathbb{R}^c$ whose last layer is a softmax, so that
# $f_j(\boldsymbol{x})\ge 0$ and $\sum_j f_j(\boldsymbol{x})=1$, trained on
# $D=\{(\boldsymbol{x}_i, y_i)\}_{i=1}^n$ with $y_i\in\{1,\dots,c\}$. For a loss
# $\mathcal{L}$ the (empirical) risk is $R_{\mathcal{L}}(f)=\mathbb{E}_D[\mathcal{L}(f(\boldsymbol{x}), y_{\boldsymbol{x}})]$;
# with categorical cross entropy (CCE) it is (Eq. 2 of the paper)
#
# $$
# R_{\mathcal{L}}(f) = -\frac{1}{n}\sum_{i=1}^{n}\sum_{j=1}^{c} y_{ij}\log f_j(\boldsymbol{x}_i;\boldsymbol{\theta}).
# $$
#
# What we are given instead is a noisy data set $D_\eta=\{(\boldsymbol{x}_i,\tilde y_i)\}$.
# The paper assumes that the noise depends on the true class only, not on the input:
#
# $$
# p(\tilde y = k \mid y = j, \boldsymbol{x}) = p(\tilde y = k \mid y = j) = q_{jk}.
# $$
#
# The $c\times c$ matrix $T$ with entries $T_{jk}=q_{jk}$ is the *noise transition matrix*;
# each row sums to one.
#
# * **Uniform noise** with rate $\eta$: a label is kept with probability $1-\eta$ and
#   otherwise replaced by one of the other $c-1$ classes, uniformly:
#   $q_{jj}=1-\eta$, $q_{jk}=\eta/(c-1)$ for $k\neq j$.
# * **Class-dependent noise**: only some classes are confused, with a similar-looking class,
#   with probability $\eta$. For CIFAR-10 the paper follows {cite:t}`patrini2017making`:
#   TRUCK → AUTOMOBILE, BIRD → AIRPLANE, DEER → HORSE and CAT ↔ DOG.
#
# Both are *closed-set* noise: every wrong label is still one of the $c$ classes. In
# *open-set* noise {cite:p}`wang2018iterative` some training images belong to none of the
# classes at all (chapter 10). Here are the two closed-set matrices, built by `gce_lab.noise`:

# %% tags=["hide-input"]
uniform = make_noise("uniform", 0.4, num_classes=10)
class_dependent = make_noise("class_dependent", 0.4, "cifar10")
cifar10_classes = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]

fig, axes = plt.subplots(1, 2, figsize=(10, 5.3), constrained_layout=True)
for ax, model in zip(axes, [uniform, class_dependent]):
    T = model.transition_matrix()
    # write the large entries; the small uniform ones are given in the title
    labels = np.where(T >= 0.1, np.char.mod("%.1f", T), "")
    sns.heatmap(
        T,
        ax=ax,
        annot=labels,
        fmt="",
        cmap="Blues",
        vmin=0,
        vmax=1,
        cbar=False,
        square=True,
        annot_kws={"fontsize": 11},
        xticklabels=cifar10_classes,
        yticklabels=cifar10_classes,
    )
    ax.set_xlabel(r"noisy label $\tilde y$")
    ax.set_ylabel("true label $y$")
off_diagonal = uniform.transition_matrix()[0, 1]
axes[0].set_title(f"uniform, $\\eta$ = 0.4\n(every empty cell: $\\eta/(c-1)$ = {off_diagonal:.3f})")
axes[1].set_title("class-dependent (CIFAR-10), $\\eta$ = 0.4\n(every empty cell: 0)")
fig.suptitle("Noise transition matrices T, rows: true class", fontsize=14)
plt.show()

# %% [markdown]
# ## Noise tolerance and symmetric losses
#
# Training minimises the *noisy* risk $R^\eta_{\mathcal{L}}(f)=\mathbb{E}_{D_\eta}[\mathcal{L}(f(\boldsymbol{x}),\tilde y_{\boldsymbol{x}})]$.
# A loss is *noise tolerant* {cite:p}`manwani2013noise` if the minimiser $f^*$ of the clean
# risk also minimises the noisy one: then the noise does no harm, at least at the optimum.
# A loss is *symmetric* if its sum over all possible labels is a constant,
#
# $$
# \sum_{j=1}^{c}\mathcal{L}(f(\boldsymbol{x}), j) = C \quad \forall \boldsymbol{x}, \forall f \qquad \text{(Eq. 3)},
# $$
#
# and {cite:t}`ghosh2015making` proved:
#
# ```{prf:theorem} Symmetric losses are noise tolerant
# :label: thm-symmetric-noise-tolerant
#
# Let $\mathcal{L}$ be symmetric (Eq. 3) and let the training labels be corrupted by uniform
# noise of rate $\eta < \frac{c-1}{c}$. Then the clean risk $R_{\mathcal{L}}$ and the noisy risk
# $R^\eta_{\mathcal{L}}$ have the same minimisers: $\mathcal{L}$ is noise tolerant.
# ```
#
# Chapter 3 proves it, in one line from the noisy risk's decomposition
# ({prf:ref}`lem-noisy-risk`). CCE, $-\log f_y$, is not symmetric (and not even bounded). The
# mean absolute error between the one-hot label and the softmax output is (Eq. 4)
#
# $$
# \mathcal{L}_{\mathrm{MAE}}(f(\boldsymbol{x}), \boldsymbol{e}_j) = \lVert \boldsymbol{e}_j - f(\boldsymbol{x})\rVert_1 = 2 - 2f_j(\boldsymbol{x}),
# $$
#
# which sums to $2c-2$ over the labels: it is symmetric, hence noise tolerant by
# {prf:ref}`thm-symmetric-noise-tolerant`, also when it trains a deep network
# {cite:p}`ghosh2017robust`, and up to a factor it is the unhinged loss of
# {cite:t}`vanrooyen2015learning`. The paper's observation is that MAE is *hard to train*
# with deep networks: its gradient weighs every sample the same, where CCE's weighs each
# sample by $1/f_{y}$ and so concentrates on the ones not yet fitted. Its remedy is a family
# that interpolates between the two, the negative Box–Cox transformation
# {cite:p}`box1964analysis` of $f_y$, called $\mathcal{L}_q$ after
# {cite:t}`ferrari2010maximum` (Eq. 6):
#
# $$
# \mathcal{L}_q(f(\boldsymbol{x}), \boldsymbol{e}_j) = \frac{1 - f_j(\boldsymbol{x})^q}{q}, \qquad q\in(0,1],
# $$
#
# which tends to CCE as $q\to 0$ and equals MAE/2 at $q=1$, and its *truncated* version
# (Eq. 9), which treats a sample whose $f_y$ is at most a threshold $k$ as if it were not
# there. Chapters 2 and 3 take the losses and their bounds apart; chapter 4 is about the
# truncation. First, let us watch all four at work.
#
# ## A toy problem: four noisy spirals
#
# `gce_lab.toy` draws points on four interleaved spiral arms in the plane (one class per
# arm), corrupts the training labels with uniform noise at $\eta=0.4$ exactly as for the
# images, holds 10 % of the noisy training set out for validation (as the paper does), and
# keeps a clean test set.

# %%
data = make_toy_data(eta=0.4, seed=0)
print(f"training points:   {len(data.y_train)}")
print(f"validation points: {len(data.y_val)} (noisy labels)")
print(f"test points:       {len(data.y_test)} (clean labels)")
print(f"wrong training labels: {data.is_noisy.sum()} ({data.realised_rate:.1%}; eta = {data.noise.eta})")

# %% tags=["hide-input"]
fig, axes = plt.subplots(1, 2, figsize=(9, 4.6), constrained_layout=True, sharey=True)
palette = sns.color_palette(["#0072B2", "#E69F00", "#009E73", "#CC79A7"])
panels = [
    (axes[0], data.y_train_true, "true labels"),
    (axes[1], data.y_train, f"what the model sees: {data.realised_rate:.0%} of labels wrong"),
]
for ax, labels, title in panels:
    sns.scatterplot(
        x=data.x_train[:, 0],
        y=data.x_train[:, 1],
        hue=labels,
        palette=palette,
        s=14,
        linewidth=0,
        ax=ax,
        legend=ax is axes[0],
    )
    ax.set_title(title)
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    ax.set_aspect("equal")
axes[0].legend(title="class", loc="lower left")
plt.show()

# %% [markdown]
# ## Four losses, one network
#
# The same three-layer ReLU network (128 units per layer), initialisation, batch order and
# optimiser (Adam {cite:p}`kingma2014adam`, as in the paper's Sec. 4.1) is trained with each
# loss; only the loss changes, as in the paper. Truncated $\mathcal{L}_q$ follows the
# paper's schedule scaled to the toy: plain $\mathcal{L}_q$ for the first third of training,
# then a pruning step every twelfth (chapter 4 explains it). All settings are in one place,
# a `ToyConfig` in the names of the trainer that runs the image experiments
# (`gce_lab.toy.toy_config` gives the toy's defaults); these are the ones the toy uses:

# %%
config = toy_config("truncated_lq")
for setting in ("epochs", "optimizer", "lr", "batch_size", "q", "k", "seed"):
    print(f"{setting:>10} = {getattr(config, setting)}")
prune_before = pruning_epochs(config.epochs, config.prune_start, config.prune_every)
print(f"pruning (truncated Lq only): all samples in epochs 1-{config.prune_start}, then a pruning step")
print(f"before epochs {', '.join(map(str, prune_before))}")

# %%
methods = {"cce": "CCE", "mae": "MAE", "lq": "Lq (q = 0.7)", "truncated_lq": "truncated Lq (q = 0.7, k = 0.5)"}
runs = {method: train_toy(method, data) for method in methods}


def summary(run):
    """Test accuracy (last epoch; best validation epoch) and memorisation."""
    history = run.history
    last = history.iloc[-1]
    best = history.loc[history["val_acc"].idxmax()]
    return {
        "test acc, last epoch (%)": round(last["test_acc"], 1),
        "best val epoch": int(best["epoch"]),
        "test acc, best val epoch (%)": round(best["test_acc"], 1),
        "wrong labels memorised (%)": round(last["memorised"], 1),
    }


pd.DataFrame.from_dict({name: summary(runs[m]) for m, name in methods.items()}, orient="index")

# %% [markdown]
# "Memorised" is the share of the wrongly labelled training points that the final model
# assigns to their *wrong* label: a model that ignored the noise completely would score
# near 0 %, one that fitted every training label 100 %. Two accuracies are given because
# the paper uses two criteria: Table 1 reports the test accuracy at the epoch of best
# validation accuracy (on the noisy validation labels), Table 2 the accuracy after the last
# epoch. Early stopping on a noisy validation set is itself a defence against memorisation,
# so the gap between the two columns is largest for CCE.
#
# ## Decision boundaries
#
# Each panel shows what one model predicts over the plane, on top of the training points
# coloured by the (noisy) label the model was given.

# %%
fig, axes = plt.subplots(2, 2, figsize=(9, 9.4), constrained_layout=True)
for ax, (method, name) in zip(axes.flat, methods.items()):
    run = runs[method]
    title = f"{name}\nlast-epoch test accuracy {run.final['test_acc']:.1f} %"
    plot_decision_regions(ax, decision_grid(run.model), data.x_train, data.y_train, title=title)
fig.suptitle(f"Decision regions after {config.epochs} epochs, uniform noise $\\eta$ = {data.noise.eta}", fontsize=14)
plt.show()

# %% [markdown]
# CCE bends its boundaries around individual wrongly labelled points: small islands of the
# wrong class appear inside the arms, and its test accuracy falls. MAE does the opposite: it
# barely reacts to single points, but it also has trouble following the spiral arms at all
# — this is the "hard to train" side of robustness that motivates the paper. $\mathcal{L}_q$
# sits between the two, and truncated $\mathcal{L}_q$, which stops training on the points
# it has judged mislabelled, gives the cleanest regions.
#
# ## Learning curves
#
# The paper's Fig. 1(c) and Fig. 2 show the same story over training time on CIFAR-10
# (chapters 7 and 8): with CCE the network first learns the pattern, then starts to memorise
# the noise and its test accuracy drops. Here is the toy version.

# %% tags=["hide-input"]
curves = pd.concat([runs[m].history.assign(loss=name) for m, name in methods.items()])
columns = ["test_acc", "memorised"]
curves[columns] = curves.groupby("loss", sort=False)[columns].transform(
    lambda column: column.rolling(5, min_periods=1).mean()
)
fig, axes = plt.subplots(1, 2, figsize=(10, 4.2), constrained_layout=True)
sns.lineplot(data=curves, x="epoch", y="test_acc", hue="loss", ax=axes[0])
axes[0].set_title("Clean test accuracy")
axes[0].set_ylabel("accuracy (%)")
sns.lineplot(data=curves, x="epoch", y="memorised", hue="loss", ax=axes[1], legend=False)
axes[1].set_title("Wrong training labels fitted")
axes[1].set_ylabel("% of the wrong labels")
for ax in axes:
    ax.axvline(prune_before[0], color="0.5", linestyle=":", linewidth=1)
axes[0].legend(title="loss", loc="lower right", fontsize=9)
fig.suptitle("5-epoch moving averages; dotted line: first pruning step")
plt.show()

# %% [markdown]
# Until the first pruning step truncated $\mathcal{L}_q$ is plain $\mathcal{L}_q$, and the
# two curves coincide.
#
# A word of caution: this is one seed of one toy problem, and differences of a point or two
# are within the seed-to-seed spread. What it shows reliably is the mechanism, which the
# following chapters make precise:
#
# * chapter 2: the losses and their gradients (why CCE chases the wrong labels, why MAE is
#   slow, what $q$ trades);
# * chapter 3: the bounds of Eq. 7, 8 and 10 behind the robustness claims;
# * chapter 4: truncated $\mathcal{L}_q$, the pruning algorithm, and which samples it prunes;
# * chapter 5: how the noise is generated and the forward-correction baseline.


# %% [markdown]
# ## Exercises
#
# The solutions are hidden; open one after trying the exercise. Each solution's code checks its
# answer with `assert`s, so the page does not build if an answer is wrong.
#
# ```{exercise-start} Which losses are symmetric?
# :label: ex-01-symmetric
# ```
#
# Draw 1,000 random logit vectors for $c = 4$ classes and compute, for each, the sum over all
# labels $\sum_{j=1}^{c}\mathcal{L}(f(\boldsymbol{x}), j)$ for CCE, MAE and $\mathcal{L}_q$ with
# $q = 0.7$, using `gce_lab.losses`. Which of the three is symmetric (Eq. 3), and with which
# constant $C$? What can you say about the sums of the other two?
#
# ```{exercise-end}
# ```
#
# ```{solution-start} ex-01-symmetric
# :class: dropdown
# ```
#
# MAE is symmetric with $C = 2c - 2 = 6$: $\sum_j (2 - 2f_j) = 2c - 2\sum_j f_j$. CCE's sum
# $-\sum_j \log f_j$ grows without bound as soon as one $f_j$ is small, so it varies a lot from
# vector to vector. $\mathcal{L}_q$ is not symmetric either, but its sum stays inside the band
# that {prf:ref}`thm-eq7` (chapter 3) proves, $[(c - c^{1-q})/q,\ (c-1)/q]$.


# %%
import torch

from gce_lab.bounds import lq_sum_bounds
from gce_lab.losses import cce_loss, lq_loss, mae_loss

c = 4
z = 3.0 * torch.randn(1000, c, generator=torch.Generator().manual_seed(0), dtype=torch.float64)


def label_sum(loss_fn):
    """The per-sample loss summed over all c possible labels, for every row of z."""
    return sum(loss_fn(z, torch.full((len(z),), j)) for j in range(c))


sums = {
    "CCE": label_sum(lambda logits, y: cce_loss(logits, y, reduction="none")),
    "MAE": label_sum(lambda logits, y: mae_loss(logits, y, reduction="none")),
    "Lq, q = 0.7": label_sum(lambda logits, y: lq_loss(logits, y, 0.7, reduction="none")),
}
for name, total in sums.items():
    print(f"{name:>12}: sum over the labels from {total.min():.4f} to {total.max():.4f}")
assert torch.allclose(sums["MAE"], torch.full_like(sums["MAE"], 2.0 * c - 2), atol=1e-12)  # symmetric, C = 2c - 2
assert sums["CCE"].max() - sums["CCE"].min() > 1.0  # not symmetric
lower, upper = lq_sum_bounds(c, 0.7)
assert lower - 1e-9 <= sums["Lq, q = 0.7"].min() and sums["Lq, q = 0.7"].max() <= upper + 1e-9  # Eq. 7


# %% [markdown]
# ```{solution-end}
# ```
#
# ```{exercise-start} Noise tolerance at one input, and where it breaks
# :label: ex-01-tolerance
# ```
#
# Take $c = 4$ and one input of clean label 0. Under uniform noise its label is $j$ with
# probability $T_{0j}$, so the noisy risk of a prediction $f$ at this input is
# $\sum_j T_{0j}\,\mathcal{L}_{\mathrm{MAE}}(f, j)$. Compute it for the four one-hot
# predictions and the uniform one, at $\eta = 0.5$ and at $\eta = 0.8$. Which prediction
# minimises it in each case, and how does that match the condition $\eta < (c-1)/c$ of
# {prf:ref}`thm-symmetric-noise-tolerant`? (`make_noise` refuses $\eta = 0.8$ for 4 classes:
# build that $T$ by hand.)
#
# ```{exercise-end}
# ```
#
# ```{solution-start} ex-01-tolerance
# :class: dropdown
# ```
#
# The noisy risk is $\sum_j T_{0j}(2 - 2f_j) = 2 - 2\sum_j T_{0j} f_j$, linear in $f$, so it is
# minimised by the one-hot vector of the largest entry of row $T_{0\cdot}$. That is the clean
# label as long as $1 - \eta > \eta/(c-1)$, i.e. $\eta < (c-1)/c = 0.75$: at $\eta = 0.5$ the
# noisy minimiser is the clean one, $e_0$. At $\eta = 0.8$ every wrong label is more likely
# ($0.8/3 \approx 0.27$) than the clean one ($0.2$), and the noisy risk prefers a wrong class.


# %%
import numpy as np

from gce_lab.noise import make_noise

c = 4
candidates = {f"e_{j}": np.eye(c)[j] for j in range(c)} | {"uniform": np.full(c, 1 / c)}


def uniform_T(eta):
    T = np.full((c, c), eta / (c - 1))
    np.fill_diagonal(T, 1 - eta)
    return T


assert np.allclose(uniform_T(0.5), make_noise("uniform", 0.5, num_classes=c).transition_matrix())
try:
    make_noise("uniform", 0.8, num_classes=c)
except ValueError as error:
    print("make_noise refuses eta = 0.8:", error)
else:
    raise AssertionError("eta = 0.8 > (c - 1)/c must be refused")
for eta in (0.5, 0.8):
    T = uniform_T(eta)
    risks = {name: sum(T[0, j] * (2 - 2 * f[j]) for j in range(c)) for name, f in candidates.items()}
    best = min(risks, key=risks.get)
    print(f"eta = {eta}: " + ", ".join(f"{n} {r:.3f}" for n, r in risks.items()) + f"  -> minimiser {best}")
    assert (best == "e_0") == (eta < (c - 1) / c)


# %% [markdown]
# ```{solution-end}
# ```
