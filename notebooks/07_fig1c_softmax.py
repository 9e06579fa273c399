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
# # 7. Figure 1c: how sure the network is of right and wrong labels
#
# A network trained on noisy labels first learns the patterns shared by the correctly
# labelled samples and only later memorises the wrong labels {cite:p}`arpit2017closer`.
# {cite:t}`zhang2018generalized` make this visible in Fig. 1(c): ResNet-34 trained with
# Adam on CIFAR-10 with 40 % uniform label noise, and for every epoch the *average softmax
# output of the given label* $f_{\tilde y}(\boldsymbol{x})$, separately over the correctly
# labelled training samples (solid lines) and the wrongly labelled ones (dashed), for CCE
# (orange) and $\mathcal{L}_q$ with $q = 0.7$ (blue). In the paper's words (Sec. 4.1):
#
# > For CCE, the average softmax for wrongly labeled samples remained small at the
# > beginning, but grew quickly when the model started overfitting. $\mathcal{L}_q$ loss,
# > on the other hand, resulted in significantly smaller softmax values for wrongly labeled
# > data.
#
# This is what truncated $\mathcal{L}_q$ (chapter 4) relies on: if the wrongly labelled
# samples keep a small $f_{\tilde y}$, a threshold $k$ on it (the paper uses $k = 0.5$)
# separates them from the rest. The paper states no numbers for this figure, and its
# curves are not available as data; below are our own runs. `PROFILE` works as in
# chapter 6: `"cached"` shows the committed results (paper, else lab, else cpu, else smoke).

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
from gce_lab.book.findings import fig1c_findings
from gce_lab.book.plots import fig1c_summary, plot_fig1c
from gce_lab.book.protocol import protocol_differences, settings_table
from gce_lab.book.report import chapter_results, notice

setup()

# %% tags=["parameters"]
PROFILE = "cached"  # or "smoke" (seconds), "cpu" (real images, CPU), "lab" / "paper" (GPU)

# %%
results = chapter_results("fig1c", PROFILE)
runs, epochs = results.runs, results.epochs
notice(results)

# %% [markdown]
# ## How our runs were trained
#
# Two runs per seed, CCE and $\mathcal{L}_q$ ($q = 0.7$), on the same noisy labels: every
# training label is replaced with probability 0.4 by a label drawn uniformly from the
# other classes; the test labels stay clean. The averages are taken over each epoch's
# training batches as the network sees them during training (in training mode, just before
# each update, with random crops and flips only where the run's `augment` setting below says
# so); the paper does not say how it computed them.

# %%
augmented = runs["augment"].astype(str).str.lower() == "true"
print(
    f"Training batches with random crops and flips: {int(augmented.sum())} of {len(runs)} runs "
    f"({'augmented' if augmented.all() else 'not augmented' if not augmented.any() else 'mixed'})."
)
print(f"Share of wrong labels in the training split ({results.label} profile):")
for run_id, rate in zip(runs["run_id"], runs["realised_noise_rate"]):
    print(f"  {run_id}: {rate:.3f}")
settings_table(runs)

# %% [markdown]
# What differs from the paper's protocol (Sec. 4), ours beside the paper's:

# %%
protocol_differences(runs)

# %% [markdown]
# ## Average softmax of the given label per epoch

# %%
plot_fig1c(runs, epochs)
plt.show()

# %% [markdown]
# What to look for: both losses raise
# $f_{\tilde y}$ on the correctly labelled samples (solid); on the wrongly labelled ones
# (dashed), CCE's average starts low and then climbs as the network memorises the wrong
# labels, while $\mathcal{L}_q$'s stays well below it. Smoke runs (three epochs, synthetic
# images) are far too short for memorisation.
#
# In numbers: the averages at the last epoch, and the highest average on the wrongly
# labelled samples with the epoch where it occurs.

# %%
fig1c_summary(runs, epochs)

# %% [markdown]
# What this page's numbers show, in sentences computed from them (the test accuracies are
# those of `runs.csv`: at the best-validation epoch and at the last):

# %%
fig1c_findings(runs, epochs)

# %% [markdown]
# To produce `cpu` numbers, set `PROFILE = "cpu"` above (a few minutes on a CPU); for `lab`
# or `paper` numbers, set it and run the page on a GPU, or
# run `python -m gce_lab run fig1c --profile lab` and rebuild the book.


# %% [markdown]
# ## Exercises
#
# The solutions are hidden; open one after trying the exercise. Each solution's code checks its
# answer with `assert`s, so the page does not build if an answer is wrong. Solutions that read
# this page's results use the tables loaded above, whichever profile made them, and check what
# holds for any run, not particular numbers.
#
# ```{exercise-start} Where would the wrong labels sit without memorisation?
# :label: ex-07-minimiser-softmax
# ```
#
# Chapter 3 computed the minimiser $\hat f$ of the noisy risk at one input
# (`noisy_risk_minimizer`). For $c = 10$ and uniform noise $\eta = 0.4$, what softmax output does
# $\hat f$ give to a *wrong* label, for CCE ($q = 0$) and for $\mathcal{L}_q$ ($q = 0.7$)? Compare
# both with the paper's threshold $k = 0.5$ and with the last-epoch averages of
# `mean_softmax_noisy` in `epochs`. What does a measured average far above these values mean?
#
# ```{exercise-end}
# ```
#
# ```{solution-start} ex-07-minimiser-softmax
# :class: dropdown
# ```
#
# $\hat f$ puts $p$ on the clean label and $(1-p)/(c-1)$ on every other one. For CCE it is the
# noisy posterior, so a wrong label gets $\eta/(c-1) = 0.044$; $\mathcal{L}_q$ gives it less.
# Both are far below $k = 0.5$: at the level of risks the wrong labels would sit well below the
# threshold, which is what truncation relies on. A measured average far above them is not the
# loss's minimiser at work but the network memorising the particular wrong labels of its
# training set, the rise of CCE's dashed curve.


# %%
import math

from gce_lab.bounds import noisy_risk_minimizer

c, eta = 10, 0.4
on_wrong_label = {q: float(noisy_risk_minimizer(eta, q, c, label=0)[1]) for q in (0.0, 0.7)}
print(f"softmax of a wrong label at the noisy minimiser: CCE {on_wrong_label[0.0]:.4f}, Lq {on_wrong_label[0.7]:.2e}")
assert math.isclose(on_wrong_label[0.0], eta / (c - 1), rel_tol=1e-9)
assert on_wrong_label[0.7] < on_wrong_label[0.0] < 0.5
last = epochs.sort_values("epoch").groupby("run_id").last()
print(last[["epoch", "mean_softmax_clean", "mean_softmax_noisy"]].round(4).to_string())


# %% [markdown]
# ```{solution-end}
# ```
#
# ```{exercise-start} Is the realised noise rate what eta promises?
# :label: ex-07-noise-rate
# ```
#
# Every training label is replaced with probability $\eta = 0.4$, independently. What is the
# distribution of the share of wrong labels among $n$ training labels, and its standard
# deviation for this page's `n_train`? Check that the `realised_noise_rate` of every run is
# within five standard deviations of $\eta$, and that the two losses of a seed saw the same
# noisy labels.
#
# ```{exercise-end}
# ```
#
# ```{solution-start} ex-07-noise-rate
# :class: dropdown
# ```
#
# The number of wrong labels is binomial, $\mathrm{Bin}(n, \eta)$, so the share has mean $\eta$
# and standard deviation $\sqrt{\eta(1-\eta)/n}$: about $0.005$ for 11,250 labels, so a
# realised rate of $0.40 \pm 0.01$ is what to expect. Both losses of one seed are trained on
# the same corrupted labels, so they report the same rate; that is what makes the comparison
# fair.


# %%
import numpy as np

noisy_runs = runs[runs["noise"] == "uniform"]
sd = np.sqrt(noisy_runs["eta"] * (1 - noisy_runs["eta"]) / noisy_runs["n_train"])
z_scores = (noisy_runs["realised_noise_rate"] - noisy_runs["eta"]) / sd
print(noisy_runs[["run_id", "n_train", "realised_noise_rate"]].assign(sd=sd.round(4), z=z_scores.round(2)).to_string())
assert len(noisy_runs) and (z_scores.abs() < 5).all()
assert (noisy_runs.groupby("seed")["realised_noise_rate"].nunique() == 1).all()


# %% [markdown]
# ```{solution-end}
# ```
