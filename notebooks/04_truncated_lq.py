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
# # 4. Truncated Lq and ACS pruning
#
# Chapter 3 showed that $\mathcal{L}_q$ is only *approximately* noise tolerant: the sum of
# the loss over all labels is not a constant but lies in a band (Eq. 7), and the narrower
# the band, the closer the loss is to the symmetric case. Section 3.3 of
# {cite:t}`zhang2018generalized` narrows the band by cutting the loss off: below a
# threshold $k$ on the softmax output of the label, the loss is held constant,
#
# $$
# \mathcal{L}_{\mathrm{trunc}}(f(\boldsymbol{x}), \boldsymbol{e}_j) =
# \begin{cases}
#   \mathcal{L}_q(k) & \text{if } f_j(\boldsymbol{x}) \le k,\\
#   \mathcal{L}_q(f(\boldsymbol{x}), \boldsymbol{e}_j) & \text{if } f_j(\boldsymbol{x}) > k,
# \end{cases}
# \qquad \mathcal{L}_q(k) = \frac{1-k^q}{q}. \qquad \text{(Eq. 9)}
# $$
#
# A sample the network finds implausible, $f_y(\boldsymbol{x}) \le k$, then contributes a
# constant, so it has no gradient: it is ignored. For $k \ge 1/2$ the sum over the labels
# lies in $[(c-1)\mathcal{L}_q(k),\ c\,\mathcal{L}_q(k)]$ (Eq. 10, {prf:ref}`thm-eq10`; the paper
# says $k \ge 1/c$, which chapter 3 shows is not the right condition), a band of width
# $\mathcal{L}_q(k)$, narrower than Eq. 7's when $k^q > 2 - c(1/c)^q$.
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
import torch

from gce_lab import toy
from gce_lab.book import setup, show_source
from gce_lab.book.toy_plots import decision_grid, plot_decision_regions
from gce_lab.bounds import truncation_tightens
from gce_lab.losses import TruncatedLqLoss, lq_of_probability
from gce_lab.schedules import pruning_epochs
from gce_lab.toy import make_mlp, make_toy_data, toy_config, train_toy

setup()

# %% [markdown]
# ## Why not train on Eq. 9 directly
#
# At initialisation a network's softmax is close to uniform, $f_y \approx 1/c$. With the
# paper's $k = 0.5$ and $c = 10$ classes, *every* sample starts below the threshold, so
# nothing would be learnt. The paper therefore rewrites the objective with one weight per
# sample. With $v_i = 0$ if $f_{y_i}(\boldsymbol{x}_i) \le k$ and $v_i = 1$ otherwise,
#
# $$
# \operatorname*{argmin}_{\boldsymbol\theta} \sum_{i=1}^n \mathcal{L}_{\mathrm{trunc}}(f(\boldsymbol{x}_i;\boldsymbol\theta), y_i)
# = \operatorname*{argmin}_{\boldsymbol\theta} \sum_{i=1}^n v_i\,\mathcal{L}_q(f(\boldsymbol{x}_i;\boldsymbol\theta), y_i) + (1-v_i)\,\mathcal{L}_q(k)
# \qquad \text{(Eq. 11)}
# $$
#
# and, dropping the constant and letting the weights be free,
#
# $$
# \operatorname*{argmin}_{\boldsymbol\theta,\ \boldsymbol{w}\in[0,1]^n} \sum_{i=1}^n w_i\,\mathcal{L}_q(f(\boldsymbol{x}_i;\boldsymbol\theta), y_i) - \mathcal{L}_q(k)\sum_{i=1}^n w_i ,
# \qquad \text{(Eq. 12)}
# $$
#
# because for fixed $\boldsymbol\theta$ the best $w_i$ is 1 when
# $\mathcal{L}_q(f(\boldsymbol{x}_i), y_i) \le \mathcal{L}_q(k)$, i.e. when $f_{y_i} \ge k$,
# and 0 otherwise. If $\mathcal{L}_q$ were convex in $\boldsymbol\theta$, Eq. 12 would be
# biconvex and *alternate convex search* (ACS) {cite:p}`bazaraa2013nonlinear` would find its
# global minimum; for a network it finds a local one. Updating $\boldsymbol{w}$ is called
# *pruning*. This is **Algorithm 1**:
#
# 1. start with $w_i = 1$ for all $i$ and train $\boldsymbol\theta$ on Eq. 12 (that is,
#    plain $\mathcal{L}_q$ minus a constant);
# 2. **pruning step**: set $w_i = 1$ if $f_{y_i}(\boldsymbol{x}_i) > k$, else $w_i = 0$;
# 3. train $\boldsymbol\theta$ on Eq. 12 with the weights fixed; go back to 2.
#
# The weights start at one, so the network first learns from everything, and only once it
# has an opinion are samples it disagrees with set aside; a pruned sample can come back at a
# later pruning step. The scheme resembles self-paced learning {cite:p}`kumar2010self`, and
# pruning by softmax output is related to the rank pruning of
# {cite:t}`northcutt2017learning`, which prunes once rather than repeatedly. In the paper's
# CIFAR-10 runs (Sec. 4.2) the network trains on all samples for the first 40 of 120 epochs,
# then prunes every 10 epochs, each time with the model of the epoch with the best
# validation accuracy so far (to prune with a model that has not yet overfitted).
#
# ## The truncated loss
#
# Here is Eq. 9 next to $\mathcal{L}_q$ for the paper's $q = 0.7$ and $k = 0.5$: to the left
# of $k$ the truncated loss is flat, so its gradient is zero.

# %% tags=["hide-input"]
q, k = 0.7, 0.5
p = torch.linspace(0.001, 1.0, 500)
lq = lq_of_probability(p, q)
lq_k = lq_of_probability(k, q)
truncated = torch.where(p > k, lq, torch.full_like(lq, lq_k))

fig, ax = plt.subplots(figsize=(7, 4.2), constrained_layout=True)
ax.plot(p, lq, label=f"$L_q$, q = {q}", color="#0072B2", linestyle="--")
ax.plot(p, truncated, label=f"truncated $L_q$, k = {k}", color="#D55E00", linewidth=2.5)
ax.axvline(k, color="0.4", linestyle=":", linewidth=1)
ax.annotate("no gradient:\nsample ignored", xy=(0.22, lq_k + 0.03), fontsize=10)
ax.set_xlabel(r"softmax output of the label, $f_y(x)$")
ax.set_ylabel("loss")
ax.set_title("Eq. 9: the truncated $L_q$ loss")
ax.legend()
plt.show()
print(f"L_q(k) = (1 - k^q) / q = {lq_k:.4f} for q = {q}, k = {k}")

# %% [markdown]
# In the package the truncated loss keeps one weight $w_i \in \{0, 1\}$ per training sample:
# a batch's loss is $w_i\,\mathcal{L}_q - w_i\,\mathcal{L}_q(k)$ (Eq. 12), and `prune` is
# Algorithm 1's pruning step, which sets $w_i = [f_{y_i}(x_i) > k]$ (Eq. 11); `pruning_epochs`
# is its schedule:

# %%
show_source(TruncatedLqLoss.forward, TruncatedLqLoss.prune, pruning_epochs)

# %% [markdown]
# ## Two pitfalls: a negative objective, and weights that belong to the training set
#
# **The objective is negative by design** (AlanChou/Truncated-Loss#4 reports it as a bug). For a
# sample with $f_y > k$, $\mathcal{L}_q(f_y) < \mathcal{L}_q(k)$, so Eq. 12's term
# $w_i(\mathcal{L}_q - \mathcal{L}_q(k))$ is negative; a pruned sample contributes 0. Eq. 12 drops
# the constant of Eq. 11: right after a pruning step it is Eq. 9 minus $\mathcal{L}_q(k)$ per
# sample, with the same gradient. Eq. 9 itself is never negative.
#
# **The weights $w_i$ belong to the training set** (AlanChou/Truncated-Loss#6): $w_i$ is indexed
# by a training sample's id, so evaluating the same criterion on a test batch with the test
# loader's ids reads the weights of unrelated training samples. `gce_lab.TruncatedGCELoss`
# (torch's conventions) makes this hard to get wrong: the weights are read only through the
# training-set ids passed as `index`, an id beyond `num_samples` raises, and a call without
# `index` returns Eq. 9, which needs no per-sample state. `tests/test_gce_truncated.py` checks
# both statements.

# %%
from gce_lab import TruncatedGCELoss

generator = torch.Generator().manual_seed(0)
train_z, train_y = 3 * torch.randn(8, 4, generator=generator), torch.randint(0, 4, (8,), generator=generator)
test_z, test_y = 3 * torch.randn(8, 4, generator=generator), torch.randint(0, 4, (8,), generator=generator)
criterion = TruncatedGCELoss(num_samples=8, q=q, k=k, reduction="none")  # 8 training samples
criterion.prune(train_z, train_y, index=torch.arange(8))
objective = criterion(train_z, train_y, index=torch.arange(8))  # Eq. 12, for training
eq9 = criterion(train_z, train_y)  # Eq. 9, for any set
print(
    pd.DataFrame({"Eq. 12 (training)": objective.numpy(), "Eq. 9": eq9.numpy(), "Eq. 9 - L_q(k)": (eq9 - lq_k).numpy()})
    .round(4)
    .T
)
print(f"batch objective {objective.mean():.4f} < 0; test loss (Eq. 9, no ids) {criterion(test_z, test_y).mean():.4f}")
assert torch.all(objective <= 0) and torch.all(eq9 >= 0)

# %% [markdown]
# ## The start-up problem, measured
#
# The toy problem of chapter 1 (four spiral arms, 40 % uniform label noise) has $c = 4$
# classes, so an untrained network gives $f_y \approx 0.25$, half of $k$:

# %%
data = make_toy_data(eta=0.4, seed=0)
config = toy_config("truncated_lq")
untrained = make_mlp(data.num_classes, seed=config.seed)  # train_toy's network, before training
with torch.no_grad():
    probs = torch.softmax(untrained(torch.from_numpy(data.x_train)), dim=1)
f_y = probs[torch.arange(len(data.y_train)), torch.from_numpy(data.y_train)]
print(f"untrained network: f_y in [{f_y.min():.3f}, {f_y.max():.3f}]")
print(f"samples above k = {k}: {(f_y > k).sum().item()} of {len(f_y)}")

# %% [markdown]
# Training on Eq. 9 from the start would therefore have no gradient at all. Algorithm 1
# avoids it by starting from $w_i = 1$.
#
# ## Algorithm 1 on the toy
#
# `gce_lab.toy.train_toy("truncated_lq", ...)` runs Algorithm 1 with the paper's schedule
# scaled to the toy's epochs, pruning with the best-validation model, and records each
# pruning step. For comparison, plain $\mathcal{L}_q$ with the same settings:

# %%
prune_before = pruning_epochs(config.epochs, config.prune_start, config.prune_every)
print(
    f"{config.epochs} epochs: all samples until epoch {config.prune_start}, "
    f"then prune every {config.prune_every} epochs, before epochs {', '.join(map(str, prune_before))}"
)
print("(paper: 120 epochs, all samples until epoch 40, then every 10)")
truncated_run = train_toy("truncated_lq", data)
lq_run = train_toy("lq", data)

print(
    f"wrong training labels: {data.is_noisy.sum()} of {len(data.y_train)} "
    f"({data.realised_rate:.1%}, the precision of random pruning)"
)
truncated_run.pruning_table().set_index("epoch").round(3)

# %% [markdown]
# The loop around the pruning step, as the toy trainer runs it: before each scheduled epoch,
# `_prune` rebuilds the best-validation model and resets every weight from its softmax
# outputs; in between, ordinary minibatch steps on the weighted loss:

# %%
show_source(toy._train, toy._prune)

# %% [markdown]
# Each row is one pruning step: `epoch` is the epoch it ran before, `model_epoch` the epoch
# of the best-validation model that judged the samples, `n_pruned` how many samples got
# $w_i = 0$, `n_pruned_mislabelled` how many of those had a wrong label. *Precision* is the share of
# pruned samples that were mislabelled (pruning at random would give the noise rate),
# *recall* the share of mislabelled samples that got pruned. Because the judge is the
# best-validation model, consecutive steps repeat the same decision until a better model
# appears.
#
# ## Why it works: the softmax of wrong labels
#
# The pruning step only looks at $f_{y_i}(\boldsymbol{x}_i)$, the probability the judging
# model gives to the label it was told. At the first pruning step, correctly and wrongly
# labelled samples are already well separated by $k$ — the toy counterpart of the paper's
# Fig. 1(c) (chapter 7):

# %% tags=["hide-input"]
first = truncated_run.prunes[0]
frame = pd.DataFrame(
    {
        "f_y": first.label_probability,
        "label": np.where(first.mislabelled, "wrong label", "correct label"),
    }
)
fig, ax = plt.subplots(figsize=(8, 4.2), constrained_layout=True)
sns.histplot(
    data=frame,
    x="f_y",
    hue="label",
    bins=40,
    binrange=(0, 1),
    palette={"correct label": "#009E73", "wrong label": "#D55E00"},
    ax=ax,
)
ax.axvline(k, color="0.2", linestyle="--", linewidth=1.2)
ax.text(k + 0.01, ax.get_ylim()[1] * 0.9, f"k = {k}: pruned to the left", fontsize=10)
ax.set_xlabel(
    r"$f_{y_i}(x_i)$ under the judging model "
    f"(epoch {first.model_epoch})"
)
ax.set_ylabel("training samples")
ax.set_title(f"First pruning step (before epoch {first.epoch})")
plt.show()

# %% [markdown]
# ## Which samples get pruned
#
# The last pruning step, drawn over the decision regions of the final truncated-$\mathcal{L}_q$
# model. Points are coloured by the label the model was given; the markers show the
# outcome of pruning.

# %% tags=["hide-input"]
last = truncated_run.prunes[-1]
outcome = {
    "pruned, label was wrong": last.pruned & last.mislabelled,
    "pruned, label was right": last.pruned & ~last.mislabelled,
    "kept, label was wrong": ~last.pruned & last.mislabelled,
}
styles = {
    "pruned, label was wrong": dict(marker="o", facecolors="none", edgecolors="black"),
    "pruned, label was right": dict(marker="x", color="#D55E00"),
    "kept, label was wrong": dict(marker="s", facecolors="none", edgecolors="#D55E00"),
}
fig, ax = plt.subplots(figsize=(7.5, 7.5), constrained_layout=True)
title = f"Pruning before epoch {last.epoch}: {last.n_pruned} samples pruned"
plot_decision_regions(ax, decision_grid(truncated_run.model), data.x_train, data.y_train, title=title)
for name, mask in outcome.items():
    ax.scatter(
        data.x_train[mask, 0],
        data.x_train[mask, 1],
        s=40,
        linewidths=1.1,
        label=f"{name} ({mask.sum()})",
        **styles[name],
    )
ax.legend(loc="lower left", fontsize=9, framealpha=0.95)
plt.show()

# %% [markdown]
# Most of the circles sit where a point's colour disagrees with the region around it: the
# pruned samples are the ones whose label contradicts their neighbourhood. The few correct
# samples pruned by mistake lie where arms meet, and the mislabelled samples that survive
# are mostly there too.
#
# ## What pruning does to training
#
# Test accuracy and the number of pruned samples over the epochs, for truncated
# $\mathcal{L}_q$ and for plain $\mathcal{L}_q$ (identical until the first pruning step):

# %% tags=["hide-input"]
curves = pd.concat(
    [
        truncated_run.history.assign(loss="truncated Lq"),
        lq_run.history.assign(loss="Lq"),
    ]
)
curves["test_acc"] = curves.groupby("loss", sort=False)["test_acc"].transform(
    lambda column: column.rolling(5, min_periods=1).mean()
)
fig, axes = plt.subplots(1, 2, figsize=(10, 4.2), constrained_layout=True)
sns.lineplot(
    data=curves, x="epoch", y="test_acc", hue="loss", ax=axes[0], palette={"truncated Lq": "#D55E00", "Lq": "#0072B2"}
)
axes[0].set_ylabel("clean test accuracy (%, 5-epoch mean)")
axes[0].set_title("Test accuracy")
history = truncated_run.history
axes[1].plot(history["epoch"], history["n_pruned"], color="#D55E00")
num_wrong = data.is_noisy.sum()
axes[1].axhline(num_wrong, color="0.3", linestyle="--", linewidth=1)
axes[1].text(2, num_wrong - 14, "number of wrong labels", fontsize=10)
axes[1].set_xlabel("epoch")
axes[1].set_ylabel("samples with $w_i = 0$")
axes[1].set_title("Pruned samples (truncated Lq)")
for ax in axes:
    for step in truncated_run.prunes:
        ax.axvline(step.epoch, color="0.6", linestyle=":", linewidth=0.8)
plt.show()

# %% [markdown]
# ## The threshold k
#
# A larger $k$ gives a tighter band in Eq. 10, but prunes more samples, eventually
# correct ones. The paper fixes $k = 0.5$. Here are three thresholds on the toy, with
# whether the Eq. 10 band is narrower than Eq. 7's for $c = 4$, $q = 0.7$
# (`gce_lab.bounds.truncation_tightens`, chapter 3):

# %%
threshold_runs = {
    0.3: train_toy("truncated_lq", data, k=0.3),
    0.5: truncated_run,
    0.7: train_toy("truncated_lq", data, k=0.7),
}
rows = []
for threshold, run in threshold_runs.items():
    step = run.prunes[-1]
    rows.append(
        {
            "k": threshold,
            "band narrower than Eq. 7": truncation_tightens(data.num_classes, q, threshold),
            "n_pruned": step.n_pruned,
            "precision": round(step.precision, 3),
            "recall": round(step.recall, 3),
            "test acc, last epoch (%)": round(run.final["test_acc"], 1),
        }
    )
pd.DataFrame(rows).set_index("k")

# %% [markdown]
# Because the softmax outputs are nearly bimodal by the time pruning starts (the histogram
# above), thresholds between 0.3 and 0.5 prune almost the same samples. A high threshold
# catches more of the wrong labels (recall rises) but also throws away correct samples near
# the class boundaries (precision falls); whether that costs accuracy depends on how
# redundant the correct samples are — on this easy toy it does not, and a difference of a
# few points from one seed should not be over-read. Note also that $k = 0.3$ is above
# $1/c$ and still prunes well although Eq. 10 is then *looser* than Eq. 7: the bound
# explains why truncation can help, not how much. The paper fixes $k = 0.5$ and suggests
# treating $k$ as a hyper-parameter whose best value depends on the noise.
#
# On CIFAR-10, CIFAR-100 and Fashion-MNIST the paper reports that truncation improves over
# plain $\mathcal{L}_q$ under uniform noise (Table 1, chapter 9) and gives the best
# open-set result (Table 2, chapter 10).


# %% [markdown]
# ## Exercises
#
# The solutions are hidden; open one after trying the exercise. Each solution's code checks its
# answer with `assert`s, so the page does not build if an answer is wrong.
#
# ```{exercise-start} Prune by hand
# :label: ex-04-prune
# ```
#
# Five training samples with $c = 3$ classes have the logits and labels below. With $k = 0.5$,
# compute each $f_{y_i}$ by hand, decide which samples a pruning step sets to $w_i = 0$, and
# check with `TruncatedLqLoss.prune`. What do the pruned samples contribute to the loss? And how
# many of the five would survive a pruning step at initialisation, when all logits are 0?
#
# | sample | logits $z$ | label $y$ |
# | --- | --- | --- |
# | 0 | (2, 0, 0) | 0 |
# | 1 | (0, 2, 0) | 0 |
# | 2 | (0, 2, 1) | 1 |
# | 3 | (0, 0, 0) | 2 |
# | 4 | (0, 0, 3) | 2 |
#
# ```{exercise-end}
# ```
#
# ```{solution-start} ex-04-prune
# :class: dropdown
# ```
#
# $f_{y} = e^{z_y}/\sum_j e^{z_j}$: $e^2/(e^2 + 2) = 0.787$, $1/(e^2 + 2) = 0.107$,
# $e^2/(1 + e^2 + e) = 0.665$, $1/3$ and $e^3/(e^3 + 2) = 0.909$. Samples 1 and 3 have
# $f_y \le 0.5$ and are pruned; their term $w_i\mathcal{L}_q - w_i\mathcal{L}_q(k)$ is 0, with no
# gradient. At initialisation every $f_y = 1/3 < k$: all five would be pruned, which is why
# Algorithm 1 trains on plain $\mathcal{L}_q$ before its first pruning step.


# %%
import torch

from gce_lab.losses import TruncatedLqLoss

z = torch.tensor([[2.0, 0, 0], [0, 2, 0], [0, 2, 1], [0, 0, 0], [0, 0, 3]])
y = torch.tensor([0, 0, 1, 2, 2])
index = torch.arange(5)
f_y = torch.softmax(z, dim=1)[index, y]
print("f_y:", [round(v, 3) for v in f_y.tolist()])
assert torch.allclose(f_y, torch.tensor([0.787, 0.107, 0.665, 1 / 3, 0.909]), atol=1e-3)

loss = TruncatedLqLoss(q=0.7, k=0.5, num_samples=5, reduction="none")
assert loss.prune(z, y, index) == 2
assert loss.pruned_mask().tolist() == [False, True, False, True, False]
per_sample = loss(z, y, index)
print("w_i L_q - w_i L_q(k):", [round(v, 4) for v in per_sample.tolist()])
assert (per_sample[loss.pruned_mask()] == 0).all()
assert loss.prune(torch.zeros(5, 3), y, index) == 5  # at initialisation f_y = 1/3 < k for every sample


# %% [markdown]
# ```{solution-end}
# ```
#
# ```{exercise-start} Eq. 11: the weighted objective is the truncated loss
# :label: ex-04-eq11
# ```
#
# Show that when the weights are set by pruning ($w_i = 1$ iff $f_{y_i} > k$),
# $w_i\,\mathcal{L}_q(f_i) + (1 - w_i)\,\mathcal{L}_q(k)$ equals the truncated loss of Eq. 9,
# $\min(\mathcal{L}_q(f_i), \mathcal{L}_q(k))$, and that a pruned sample has zero gradient.
# Check both on 200 random logit vectors ($c = 10$, $q = 0.7$, $k = 0.5$) with
# `truncated_lq_loss` and autograd.
#
# ```{exercise-end}
# ```
#
# ```{solution-start} ex-04-eq11
# :class: dropdown
# ```
#
# $\mathcal{L}_q$ decreases in $f$, so $f_{y_i} > k$ means $\mathcal{L}_q(f_i) < \mathcal{L}_q(k)$:
# the minimum is $\mathcal{L}_q(f_i)$ where $w_i = 1$ and $\mathcal{L}_q(k)$ where $w_i = 0$,
# which is the weighted sum. A pruned sample's term is the constant $\mathcal{L}_q(k)$, so its
# logits get no gradient. `truncated_lq_loss` returns $w_i\mathcal{L}_q - w_i\mathcal{L}_q(k)$,
# the same objective shifted by the constant $\mathcal{L}_q(k)$.


# %%
import torch

from gce_lab.losses import lq_loss, lq_of_probability, truncated_lq_loss

generator = torch.Generator().manual_seed(0)
z = (4.0 * torch.randn(200, 10, generator=generator, dtype=torch.float64)).requires_grad_(True)
y = torch.cat([z[:100].argmax(dim=1), torch.randint(0, 10, (100,), generator=generator)])  # half agree with z
q, k = 0.7, 0.5
lq_k = lq_of_probability(k, q)
with torch.no_grad():
    w = (torch.softmax(z, dim=1).gather(1, y[:, None]).squeeze(1) > k).double()
    eq9 = torch.clamp(lq_loss(z, y, q, reduction="none"), max=lq_k)  # min(L_q(f), L_q(k))
objective = truncated_lq_loss(z, y, w, q, k, reduction="none")  # w L_q - w L_q(k)
objective.sum().backward()
print(f"{int(w.sum())} of 200 samples kept, {int((w == 0).sum())} pruned")
assert 0 < w.sum() < 200
assert torch.allclose(objective.detach() + lq_k, eq9, rtol=1e-12)
assert (z.grad[w == 0] == 0).all() and (z.grad[w == 1] != 0).any(dim=1).all()


# %% [markdown]
# ```{solution-end}
# ```
