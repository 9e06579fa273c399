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
# # 10. Table 2: open-set noise
#
# With *open-set* noise some training images belong to none of the classes: here 40 % of
# the CIFAR-10 training images are replaced by CIFAR-100 images, each keeping the CIFAR-10
# label of the image it replaces {cite:p}`wang2018iterative`. No noise matrix describes
# this, so forward correction has no true $T$ to use. Table 2 of
# {cite:t}`zhang2018generalized` compares the losses on it, and on closed-set uniform noise
# with the same $\eta = 0.4$, in the setup of {cite:t}`wang2018iterative`: their shallow
# CNN, no data augmentation, 100 epochs, and the **test accuracy of the last epoch**. The
# CCE, Forward and Wang et al. numbers are taken from Wang et al.'s paper; MAE,
# $\mathcal{L}_q$ and truncated $\mathcal{L}_q$ (pruning every 10 epochs from epoch 10)
# are the authors' own runs. The table gives means only.
#
# The paper's reading (Sec. 4.3): $\mathcal{L}_q$ "noticeably prevented overfitting",
# truncated $\mathcal{L}_q$ beat Wang et al.'s method on open-set noise (79.55 vs 79.28 %),
# and $\mathcal{L}_q$ falls behind MAE here because the last epoch comes "long after the
# model started overfitting" with a shallow network and no augmentation.
#
# Two caveats on the comparison below:
#
# * We do not implement Wang et al.'s iterative method; its row shows the paper's number
#   only.
# * The paper's "Forward" column does not say whether $T$ was true or estimated. For
#   open-set noise there is no true $T$, so its number can only come from an estimated
#   one: we place it beside our Forward $\hat T$ (estimated from our CCE run, chapter 5).
#   Under closed-set noise we run both and place the paper's number beside Forward $T$;
#   our closed-set Forward $\hat T$ has no paper number to sit beside.
#
# `PROFILE` works as in chapter 6; every column header names the profile of our numbers.

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

from gce_lab.book import setup
from gce_lab.book.claims import claims_table
from gce_lab.book.method_pairs import table_noise
from gce_lab.book.plots import plot_difference_heatmap
from gce_lab.book.protocol import protocol_differences, settings_table
from gce_lab.book.report import agreement_table, chapter_results, comparison_table, notice, stored_runs

setup()

# %% tags=["parameters"]
PROFILE = "cached"  # or "smoke" (seconds), "cpu" (real images, CPU), "lab" / "paper" (GPU)

# %%
results = chapter_results("table2", PROFILE)
runs = results.runs
# Our Table 2 runs one seed: its verdicts borrow the seed spread of Table 1's runs of the same
# profile, where they are stored (none are trained here)
table1_runs = stored_runs("table1", results.label)
borrowed = table_noise(table1_runs, "table1") if table1_runs is not None else None
notice(results)

# %% [markdown]
# ## How our runs were trained
#
# The open-set runs need the CIFAR-100 images, which only torchvision's download provides
# (internet access): on an offline machine only the closed-set runs can be made, and the
# box above says so.

# %%
settings_table(runs)

# %% [markdown]
# What differs from the paper's protocol (Sec. 4), ours beside the paper's:

# %%
protocol_differences(runs)

# %% [markdown]
# ## Our numbers beside the paper's
#
# Under "ours" (its header names the profile): the mean last-epoch test accuracy (%) over
# our seeds (± the standard deviation where there is more than one seed), the number of
# runs, and the rank. Under "paper": the paper's mean and rank. Ranks (1 = most accurate)
# are taken within each noise type, among the methods both sides report.

# %%
comparison_table(runs, "table2", dataset="cifar10")

# %%
plot_difference_heatmap(runs, "table2")
plt.show()

# %% [markdown]
# ## Do we order the methods as the paper does?
#
# As in chapter 9: for every pair of methods that both sides report, does our ordering
# agree with the paper's? The paper reports no standard deviations for Table 2, so no pair
# counts as beyond its noise.

# %%
agreement_table(runs, "table2", borrowed)

# %% [markdown]
# ## The paper's claims, tested
#
# Sec. 4.3 reads the table in sentences, tested here as in chapter 9: each pair of methods a
# claim orders gets *holds*, *does not hold* or *within noise*, and the paper's words decide
# how many of the two rows must hold. Our table runs one seed, so our side borrows each
# pair's one-seed spread from Table 1's multi-seed CIFAR-10 columns (last column); the spread of a
# last-epoch accuracy may well be larger than that of a best-validation one, so a *holds*
# here is less sure than in chapter 9. The paper gives no standard deviations for Table 2, so
# its side is decided by the sign of each gap. *Cannot say* means that results are missing
# (here: the open-set row needs CIFAR-100 images, which an offline machine lacks).

# %%
claims_table(runs, "table2", borrowed)

# %% [markdown]
# To produce `cpu` numbers, set `PROFILE = "cpu"` above (closed-set row, about ten minutes
# on a CPU); for `lab` or `paper` numbers, set it and run the page on a GPU, or
# run `python -m gce_lab run table2 --profile lab` and rebuild the book.


# %% [markdown]
# ## Exercises
#
# The solutions are hidden; open one after trying the exercise. Each solution's code checks its
# answer with `assert`s, so the page does not build if an answer is wrong. Solutions that read
# this page's results use the tables loaded above, whichever profile made them, and check what
# holds for any run, not particular numbers.
#
# ```{exercise-start} Open-set noise keeps the labels
# :label: ex-10-open-set
# ```
#
# Apply `open_set_replace` with $\eta = 0.4$ to 500 toy "images" (each image is its own id, 50
# per class) and 300 foreign ones. Check that the labels are unchanged, that 20 images of every
# class were replaced, and that the measured transition matrix between the labels before and
# after is the identity. What does forward correction do with $T = I$?
#
# ```{exercise-end}
# ```
#
# ```{solution-start} ex-10-open-set
# :class: dropdown
# ```
#
# Open-set noise corrupts the *image*, not the label: every label is kept, so label against label
# the transition matrix is the identity, and forward correction with $T = I$ is plain CCE. The
# corruption cannot be described by any $T$, which is why Table 2's "Forward" can only use an
# estimated matrix.


# %%
import numpy as np
import torch

from gce_lab.losses import cce_loss, forward_corrected_loss
from gce_lab.noise import empirical_transition, open_set_replace

labels = np.repeat(np.arange(10), 50)
images = np.arange(500, dtype=np.int64)[:, None]  # each image is its own id
foreign = 1000 + np.arange(300, dtype=np.int64)[:, None]
noisy = open_set_replace(images, labels, foreign, eta=0.4, seed=0, num_classes=10)
print(f"replaced {noisy.is_open_set.sum()} of {len(labels)} images, realised rate {noisy.realised_rate}")
assert np.array_equal(noisy.labels, labels) and np.array_equal(noisy.is_open_set, noisy.images[:, 0] >= 1000)
assert all(noisy.is_open_set[labels == k].sum() == 20 for k in range(10))
assert np.array_equal(empirical_transition(labels, noisy.labels, 10), np.eye(10))
z = torch.randn(8, 10, generator=torch.Generator().manual_seed(0))
y = torch.arange(8)
assert torch.allclose(forward_corrected_loss(z, y, np.eye(10)), cce_loss(z, y))


# %% [markdown]
# ```{solution-end}
# ```
#
# ```{exercise-start} The ceiling of a noisy validation set
# :label: ex-10-val-ceiling
# ```
#
# Under closed-set uniform noise ($\eta = 0.4$, $c = 10$) the validation labels are noisy too. A
# classifier that is right with probability $a$ on clean labels: what accuracy does it score,
# in expectation, on the noisy validation labels? What is the best any classifier can score?
# Check by simulation with `make_noise(...).corrupt`, and compare with `best_val_acc` of this
# page's closed-set runs.
#
# ```{exercise-end}
# ```
#
# ```{solution-start} ex-10-val-ceiling
# :class: dropdown
# ```
#
# A right prediction matches the noisy label with probability $1 - \eta$, a wrong one with
# $\eta/(c-1)$ (if the noisy label happens to be that wrong class), so the expected accuracy is
# $a(1 - \eta) + (1 - a)\,\eta/(c-1)$, largest at $a = 1$: $1 - \eta = 60\,\%$. A noisy
# validation accuracy near 60 % is therefore the mark of a nearly perfect classifier, and one
# above it can only be the luck of a small validation split (large for the smoke profile's few
# validation images).


# %%
import numpy as np

from gce_lab.noise import make_noise

c, eta, n = 10, 0.4, 200_000
rng = np.random.default_rng(0)
true = rng.integers(0, c, n)
noisy_labels = make_noise("uniform", eta, num_classes=c).corrupt(true, seed=1).labels
for a in (1.0, 0.8, 0.5):
    wrong = rng.random(n) >= a
    predictions = np.where(wrong, (true + rng.integers(1, c, n)) % c, true)  # a wrong class, uniformly
    measured, expected = (predictions == noisy_labels).mean(), a * (1 - eta) + (1 - a) * eta / (c - 1)
    print(f"a = {a}: accuracy on noisy labels {measured:.4f}, expected {expected:.4f}")
    assert abs(measured - expected) < 0.005
closed = runs[runs["noise"] == "closed_set"]
print(
    closed[["method", "best_val_acc", "n_val"]].to_string(index=False), f"\nceiling 100 (1 - eta) = {100 * (1 - eta):g}"
)


# %% [markdown]
# ```{solution-end}
# ```
