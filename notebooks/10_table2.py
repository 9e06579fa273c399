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
# On Colab only: clone the book (its package and committed results) and install the package.
import subprocess
import sys

if "google.colab" in sys.modules:
    url = "https://github.com/gce-lab/gce-lab"
    subprocess.run(["git", "clone", "--depth", "1", url, "/content/gce-lab"], check=True)
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "/content/gce-lab"], check=True)

# %%
import matplotlib.pyplot as plt

from gce_lab.book import setup
from gce_lab.book.claims import claims_table
from gce_lab.book.plots import plot_difference_heatmap
from gce_lab.book.protocol import protocol_differences, settings_table
from gce_lab.book.report import agreement_table, chapter_results, comparison_table, notice

setup()

# %% tags=["parameters"]
PROFILE = "cached"  # or "smoke" (seconds), "cpu" (real images, CPU), "lab" / "paper" (GPU)

# %%
results = chapter_results("table2", PROFILE)
runs = results.runs
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
# agree with the paper's?

# %%
agreement_table(runs, "table2")

# %% [markdown]
# ## The paper's claims, tested
#
# Sec. 4.3 reads the table in sentences. Each one is tested here on our numbers and on the
# paper's own, per data set: a claim about one column (a noise type and rate) either
# passes or fails there, and the paper's words decide how many columns must pass ("in
# general" or "at most noise levels": more than half; "for all datasets at all noise
# levels": all). *Cannot say* means that results are missing and could still change the
# verdict. Nothing here is typed in: `gce_lab/book/claims.py` holds the tests, and the verdicts
# follow the numbers. Where the paper's own numbers do not bear out its sentence, the last
# column says so too.

# %%
claims_table(runs, "table2")

# %% [markdown]
# To produce `cpu` numbers, set `PROFILE = "cpu"` above (closed-set row, about ten minutes
# on a CPU); for `lab` or `paper` numbers, set it and run the page on a GPU, or
# run `python -m gce_lab run table2 --profile lab` and rebuild the book.
