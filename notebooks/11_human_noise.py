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
# # 11. Beyond the paper: human label noise
#
# Every noisy label in {cite:t}`zhang2018generalized` is synthetic: a label replaced at
# random (uniform noise) or swapped along a fixed map of similar classes (class-dependent
# noise), both *class-conditional*: whether a label goes wrong, and how, depends on the
# image's class alone. People do not err like that. CIFAR-10N {cite:p}`wei2022learning`
# asked Amazon Mechanical Turk workers to label all 50,000 CIFAR-10 training images, three
# workers per image. From their answers come five label sets: each worker's labels
# (*random 1-3*, about 17-18 % wrong), the majority vote (*aggregate*, 9 %) and, per
# image, a wrong answer whenever one of the three gave one (*worst*, 40 %). CIFAR-100N
# does the same for CIFAR-100 with one worker per image (40 % wrong); its images are not
# available offline, so it runs only where torchvision can download them.
#
# Does $\mathcal{L}_q$'s advantage hold for the noise that people make? This chapter first
# looks at how human noise differs from the paper's models, then trains the six losses of
# Table 1 on the aggregate, random 1 and worst labels and sets the results beside Table 1's
# synthetic columns of about the same noise rate.
#
# The CIFAR-N labels are licensed **CC BY-NC 4.0** (non-commercial use only), not MIT like
# this book, so they are not part of its repository: the analyses below read counts derived
# from them once (`python -m gce_lab human-stats`, committed with their provenance under
# `results/human_label_stats/`). Training on the human labels needs the label file itself:
# `python -m gce_lab human-stats --download` (or `human_label_sets("cifar10", download=True)`)
# fetches it from github.com/UCSC-REAL/cifar-10-100n and checks its SHA-256.

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
from gce_lab.book.human_report import (
    annotator_dependence,
    confused_pairs,
    human_comparison,
    human_findings,
    label_set_rates,
    ordering_agreement,
    per_class_rates,
    plot_transition_matrices,
)
from gce_lab.book.protocol import protocol_differences, settings_table
from gce_lab.book.report import chapter_results, notice
from gce_lab.noise import make_noise
from gce_lab.pipeline.data import class_names
from gce_lab.pipeline.human_noise import LICENSE
from gce_lab.pipeline.human_stats import load_human_stats
from gce_lab.pipeline.results import load_results

setup()

# %% tags=["parameters"]
PROFILE = "cached"  # or "cpu" (real images, CPU), "lab" / "paper" (GPU); there is no smoke run of human noise

# %% [markdown]
# ## The label sets

# %%
classes = class_names("cifar10")
stats = load_human_stats("cifar10")  # counts derived from the label files, committed under results/
print(LICENSE)
label_set_rates(stats)

# %% [markdown]
# ## How human noise differs from the paper's models
#
# The transition matrix $T_{ij}$ (the share of images of true class $i$ labelled $j$),
# measured from the clean and human label pairs of all 50,000 images, beside the paper's
# two models at $\eta = 0.4$ (chapter 5). Forward $T$ is given the measured matrix of its
# label set.

# %%
matrices = {
    "human, worst": stats.transition_matrix("human_worst"),
    "human, random 1": stats.transition_matrix("human_random1"),
    "uniform η = 0.4": make_noise("uniform", 0.4, "cifar10").transition_matrix(),
    "class-dependent η = 0.4": make_noise("class_dependent", 0.4, "cifar10").transition_matrix(),
}
plot_transition_matrices(matrices, classes)
plt.show()

# %% [markdown]
# Human errors are neither spread evenly (uniform) nor confined to a few swaps
# (class-dependent): they fall mostly on pairs of similar classes, with a long tail of
# other confusions. The most frequent confusions of the *worst* labels:

# %%
confused_pairs(stats, "human_worst", classes)

# %% [markdown]
# The paper's class-dependent map (TRUCK → AUTOMOBILE, BIRD → AIRPLANE, DEER → HORSE,
# CAT ↔ DOG) was chosen to mimic such confusions; compare it with the table. Per class, the
# share of wrong labels varies far more than either model lets it:

# %%
per_class_rates(stats, classes)

# %% [markdown]
# ### Noise that is not class-conditional
#
# Under the paper's models a label's fate depends on its class alone. Then two workers who
# label the same images independently would both err on an image of class $i$ with
# probability $p_1(i)\,p_2(i)$, the product of their error rates on that class. The table
# compares that product with how often two workers are both wrong on the same image
# (averaged over the three pairs of workers). A ratio above 1 means that errors gather on
# particular images, the ambiguous or odd ones: the noise depends on the image, which no
# transition matrix can describe and which a loss that trusts confident predictions may
# find harder to spot.

# %%
dependence = annotator_dependence(stats, classes)
ratio = dependence["observed / class-conditional"]
print(
    f"Ratio observed / class-conditional: {ratio.min():.2f} ({ratio.idxmin()}) to {ratio.max():.2f} "
    f"({ratio.idxmax()}); above 1 for {int((ratio > 1).sum())} of {len(ratio)} classes."
)
dependence

# %% [markdown]
# ## The losses under human noise
#
# Table 1's six losses, trained on the CIFAR-10 images with the human labels (the
# aggregate, random 1 and worst sets) in the profile's recipe (the box says which), with a
# tenth of the training images held out as the noisy validation split and the test accuracy
# taken at the best-validation epoch, as in Table 1. Forward $\hat T$ estimates its matrix
# from the CCE run of the same labels (chapter 5).

# %%
results = chapter_results("human", PROFILE)
runs = results.runs
notice(results)

# %%
settings_table(runs)

# %%
protocol_differences(runs)

# %% [markdown]
# Beside each human label set, the synthetic columns of Table 1 (same profile, same data
# set, trained by the same recipe: a column whose runs the profile's other recipe trained
# shows "—") whose $\eta$ is nearest to the human labels' share of wrong ones in the training split
# (the header's percentage: the runs' own training images, so it differs a little from the
# share over all 50,000 images in the first table). Each cell: the test
# accuracy (%; the mean over seeds where a column ran several) and, in brackets, the loss's
# rank in its column (1 = most accurate).

# %%
try:
    table1 = load_results("table1", results.label)[0]
    table1 = table1[table1["dataset"] == "cifar10"]
except FileNotFoundError:
    table1 = None
    print(f"No Table 1 results of the {results.label} profile here: the synthetic columns are missing.")
human_comparison(runs, table1) if table1 is not None and len(table1) else runs.groupby(["noise", "method"])[
    "test_acc_best_val"
].mean().unstack(0)

# %% [markdown]
# The order of the losses under each human label set, and how many pairs of losses the
# synthetic column of the same rate orders the same way (a pair counts where both columns
# have both losses):

# %%
ordering_agreement(runs, table1) if table1 is not None and len(table1) else None

# %% [markdown]
# What these numbers show, in sentences computed from them:

# %%
human_findings(runs)

# %% [markdown]
# To train what is missing, set `PROFILE = "cpu"` above (chapter 6 gives what a `cpu` run
# costs), or run `python -m gce_lab run human --profile cpu --dataset
# cifar10`; CIFAR-100N needs the CIFAR-100 images (torchvision's download, e.g. on Colab).


# %% [markdown]
# ## Exercises
#
# The solutions are hidden; open one after trying the exercise. Each solution's code checks its
# answer with `assert`s, so the page does not build if an answer is wrong. Solutions that read
# this page's results use the tables loaded above, whichever profile made them, and check what
# holds for any run, not particular numbers.
#
# ```{exercise-start} Three workers: independent or not?
# :label: ex-11-three-workers
# ```
#
# The *worst* label of an image is wrong whenever at least one of its three workers was wrong.
# From the error rates $r_1, r_2, r_3$ of *random 1-3* (`stats.rate`), predict the share of
# wrong *worst* labels and the share of images on which at least two workers erred, assuming the
# workers err independently of each other. Compare both with what the label files count
# (`stats.wrong_share`, over the patterns of which label sets are wrong on an image). What do
# the differences say?
#
# ```{exercise-end}
# ```
#
# ```{solution-start} ex-11-three-workers
# :class: dropdown
# ```
#
# Independence gives $P(\text{any wrong}) = 1 - \prod_i (1 - r_i) \approx 44\,\%$ and
# $P(\text{at least two wrong}) \approx 8\,\%$. The files have fewer images with any error
# ($40\,\%$) and more with two or more ($11\,\%$): errors pile up on the same images, the
# ambiguous ones, instead of falling at random. That is the image dependence the chapter
# measured class by class, here without conditioning on the class.


# %%
import itertools

import numpy as np

workers = [f"human_random{i}" for i in (1, 2, 3)]
rates = [stats.rate(worker) for worker in workers]
independent_any = 1 - np.prod([1 - r for r in rates])
independent_two = sum(
    np.prod([rates[i] if i in pair else 1 - rates[i] for i in range(3)]) for pair in itertools.combinations(range(3), 2)
) + np.prod(rates)
measured_any = stats.wrong_share(lambda p: p[workers].sum(axis=1) >= 1)
measured_two = stats.wrong_share(lambda p: p[workers].sum(axis=1) >= 2)
print(f"any worker wrong:  independent {independent_any:.4f}, measured {measured_any:.4f}")
print(f"two or more wrong: independent {independent_two:.4f}, measured {measured_two:.4f}")
assert stats.wrong_share(lambda p: p["human_worst"] != (p[workers].sum(axis=1) >= 1)) == 0  # worst: any wrong
assert measured_any < independent_any and measured_two > independent_two
# the rounded numbers the solution's text quotes
assert [round(100 * x) for x in (independent_any, independent_two, measured_any, measured_two)] == [44, 8, 40, 11]


# %% [markdown]
# ```{solution-end}
# ```
#
# ```{exercise-start} How concentrated are human errors?
# :label: ex-11-confusion-mass
# ```
#
# For each row $i$ of a transition matrix, take the share of its off-diagonal mass
# $\sum_{j \ne i} T_{ij}$ that goes to the single most likely wrong class. What is this share for
# uniform noise, and for a class that class-dependent noise flips? Compute it for every class
# of the *worst* human labels and say where human noise sits between the two models.
#
# ```{exercise-end}
# ```
#
# ```{solution-start} ex-11-confusion-mass
# :class: dropdown
# ```
#
# Uniform noise spreads the mass evenly, so the share is $1/(c-1) = 0.11$; class-dependent noise
# sends all of it to one class, share 1. The human rows lie in between, from under a fifth to
# about two thirds: errors concentrate on a few similar classes (AUTOMOBILE and TRUCK most),
# but never on one alone, a pattern neither of the paper's models produces.


# %%
import numpy as np
import pandas as pd

from gce_lab.noise import make_noise


def top_confusion_share(T):
    off_diagonal = T - np.diag(np.diag(T))
    mass = off_diagonal.sum(axis=1)
    return np.divide(off_diagonal.max(axis=1), mass, out=np.full(len(T), np.nan), where=mass > 0)


uniform_share = top_confusion_share(make_noise("uniform", 0.4, "cifar10").transition_matrix())
flipped_share = top_confusion_share(make_noise("class_dependent", 0.4, "cifar10").transition_matrix())
human_share = top_confusion_share(stats.transition_matrix("human_worst"))
print(pd.Series(human_share, index=classes, name="share to the top wrong class").round(3).to_string())
assert np.allclose(uniform_share, 1 / 9) and np.allclose(flipped_share[~np.isnan(flipped_share)], 1)
assert 1 / 9 < human_share.min() and human_share.max() < 1
# what the solution's text says: from under a fifth to about two thirds, TRUCK and AUTOMOBILE highest
assert human_share.min() < 1 / 5 and 0.6 < human_share.max() < 0.7
assert {classes[i] for i in np.argsort(-human_share)[:2]} == {"automobile", "truck"}


# %% [markdown]
# ```{solution-end}
# ```
