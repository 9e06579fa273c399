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
# # 8. Figure 2: choosing q
#
# $\mathcal{L}_q$ slides from CCE ($q \to 0$) to MAE ($q = 1$, where $\mathcal{L}_q = 1 -
# f_y$, half the MAE). Fig. 2 of {cite:t}`zhang2018generalized` shows what the slider does:
# ResNet-34 trained with Adam on CIFAR-10 with $\mathcal{L}_q$ for several $q$, under
# uniform noise $\eta = 0$ (a, d), $0.2$ (b, e) and $0.6$ (c, f); test accuracy against
# epochs on top, validation loss below. The paper reads it as follows (Sec. 4.1):
#
# * on clean data, increasing $q$ "not only slowed down the rate of convergence, but also
#   lowered the classification accuracy";
# * on noisy data, CCE ($q = 0$) first learned predictive patterns and then "overfit
#   strongly to the noisy labels"; larger $q$ "delayed overfitting and attained higher
#   classification accuracies";
# * there is a threshold of $q$ beyond which overfitting "never kicked in before
#   convergence", e.g. $q = 0.8$ at $\eta = 0.2$, and the noisier the data, the larger that
#   threshold; but too large a $q$ hurts accuracy. The paper settles on $q = 0.7$ ("no
#   overfitting was observed for $\eta \le 0.5$").
#
# The paper states no numbers for this figure, and neither its curves nor the list of $q$
# values in its legend are available as data; below are our own runs, with `PROFILE`
# working as in chapter 6.

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
from gce_lab.book.findings import fig2_findings
from gce_lab.book.plots import fig2_summary, plot_fig2, plot_validation_loss
from gce_lab.book.protocol import protocol_differences, settings_table
from gce_lab.book.report import chapter_results, notice
from gce_lab.pipeline.experiments import EXPERIMENTS

setup()

# %% tags=["parameters"]
PROFILE = "cached"  # or "smoke" (seconds), "cpu" (real images, CPU), "lab" / "paper" (GPU)

# %%
results = chapter_results("fig2", PROFILE)
runs, epochs = results.runs, results.epochs
notice(results)

# %% [markdown]
# ## How our runs were trained
#
# One run per $q$, noise rate and seed, all with Adam at its default learning rate. The
# $q$ values of the sweep (0 is CCE, 1 is MAE / 2, 0.7 the paper's choice, 0.8 its
# overfitting-free example at $\eta = 0.2$):

# %%
print("q values:", ", ".join(f"{q:g}" for q in EXPERIMENTS["fig2"].q_values))
settings_table(runs)

# %% [markdown]
# What differs from the paper's protocol (Sec. 4), ours beside the paper's:

# %%
protocol_differences(runs)

# %% [markdown]
# ## Test accuracy and validation loss per epoch
#
# The validation split is noisy like the training split (Sec. 4), so the validation loss
# measures how well the network fits *noisy* labels. The paper does not say which loss its
# panels (d–f) show; we plot each run's own loss, $\mathcal{L}_q$ with the run's $q$ (the
# loss it minimises; CCE for $q = 0$). Its scale depends on $q$ ($\mathcal{L}_q \le 1/q$),
# so compare the *shape* of the curves across $q$, not their height.

# %%
plot_fig2(runs, epochs)
plt.show()

# %% [markdown]
# What to look for: at $\eta = 0$, the curves for
# small $q$ rise fastest and highest; at $\eta = 0.2$ and $0.6$, the accuracy of small $q$
# peaks and then falls while its validation loss turns up (overfitting to the noisy
# labels), and the peak moves later and the fall shrinks as $q$ grows. Smoke runs (three
# epochs, synthetic images) are too short for any of this.
#
# The validation CCE (not in the paper) puts every $q$ on one scale. It is the loss of the
# noisy validation labels, so it turns up when a network starts to fit the noise, whatever
# loss it is trained with:

# %%
plot_validation_loss(runs, epochs, loss="val_cce")
plt.show()

# %% [markdown]
# The curves in numbers: the best test accuracy and its epoch, the last one, their gap
# ("best − last": how much the run lost by overfitting before the end) and the epoch of
# the lowest validation loss. A gap near 0 is an overfitting-free run in the paper's sense.

# %%
fig2_summary(runs, epochs)

# %% [markdown]
# What this page's numbers show, in sentences computed from them:

# %%
fig2_findings(runs, epochs)

# %% [markdown]
# To produce `cpu` numbers, set `PROFILE = "cpu"` above (about 35 minutes on a CPU); for
# `lab` or `paper` numbers, set it and run the page on a GPU, or
# run `python -m gce_lab run fig2 --profile lab` and rebuild the book.


# %% [markdown]
# ## Exercises
#
# The solutions are hidden; open one after trying the exercise. Each solution's code checks its
# answer with `assert`s, so the page does not build if an answer is wrong. Solutions that read
# this page's results use the tables loaded above, whichever profile made them, and check what
# holds for any run, not particular numbers.
#
# ```{exercise-start} The protocol, recomputed
# :label: ex-08-protocol
# ```
#
# From `epochs` alone, recompute for every run the epoch of best validation accuracy (the first,
# if several tie), the test accuracy at that epoch and the test accuracy of the last epoch, and
# check them against `best_epoch`, `test_acc_best_val` and `test_acc_last` of `runs`. The
# validation labels are as noisy as the training labels: what does that do to the epoch the
# protocol picks?
#
# ```{exercise-end}
# ```
#
# ```{solution-start} ex-08-protocol
# :class: dropdown
# ```
#
# The numbers agree: `runs.csv` is a summary of `epochs.csv` under this rule. Because the
# validation labels are noisy, a network that starts to fit the noise loses validation accuracy
# as well (it disagrees more often with the validation labels that are right), so the
# noisy validation set still tends to pick an epoch before memorisation sets in: early stopping
# against the noise, without a single clean label.


# %%
import numpy as np
import pandas as pd

recomputed = {}
for run_id, history in epochs.groupby("run_id"):
    history = history.sort_values("epoch").reset_index(drop=True)
    best = history.loc[history["val_acc"].idxmax()]  # idxmax: the first of tied maxima
    recomputed[run_id] = {
        "best_epoch": best["epoch"],
        "test_acc_best_val": best["test_acc"],
        "test_acc_last": history["test_acc"].iloc[-1],
    }
recomputed = pd.DataFrame.from_dict(recomputed, orient="index")
stored = runs.set_index("run_id")[recomputed.columns].loc[recomputed.index]
print(recomputed.join(stored.add_suffix(" (runs.csv)")).to_string())
assert len(recomputed) == len(runs) and np.allclose(recomputed, stored, atol=0.01)


# %% [markdown]
# ```{solution-end}
# ```
#
# ```{exercise-start} Why the validation losses of different q are not comparable
# :label: ex-08-loss-scale
# ```
#
# Show that $\mathcal{L}_q \le 1/q$ and that a network that predicts the uniform distribution
# scores $\mathcal{L}_q = (1 - c^{-q})/q$. Compute this level with `lq_loss` for every $q$ of
# this page's sweep ($c = 10$), and check in `epochs` that no run with $q > 0$ ever has a
# validation loss above $1/q$.
#
# ```{exercise-end}
# ```
#
# ```{solution-start} ex-08-loss-scale
# :class: dropdown
# ```
#
# $f_y^q \ge 0$ gives $(1 - f_y^q)/q \le 1/q$, with equality only at $f_y = 0$. Uniform
# predictions have $f_y = 1/c$, hence $(1 - c^{-q})/q$: $2.30$ for CCE ($q \to 0$), $1.14$ at
# $q = 0.7$ and $0.9$ for $q = 1$. The scale of the loss shrinks as $q$ grows, so only the
# shapes of the curves can be compared across $q$, or a common loss such as the validation CCE.


# %%
import math

import torch

from gce_lab.losses import lq_loss

c = 10
for q in sorted(runs["q"].dropna().unique()):
    uniform_level = lq_loss(torch.zeros(1, c, dtype=torch.float64), torch.tensor([0]), q).item()
    print(f"q = {q:g}: a uniform prediction scores {uniform_level:.4f}" + (f", bound 1/q = {1 / q:.4f}" if q else ""))
    assert math.isclose(uniform_level, (1 - c**-q) / q if q else math.log(c), rel_tol=1e-9)
with_q = epochs.merge(runs[["run_id", "q"]], on="run_id")
with_q = with_q[with_q["q"] > 0]
assert len(with_q) and (with_q["val_loss"] <= 1 / with_q["q"] + 1e-9).all()


# %% [markdown]
# ```{solution-end}
# ```
