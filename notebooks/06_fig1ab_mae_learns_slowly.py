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
# # 6. Figure 1a/b: MAE learns slowly
#
# MAE is provably robust to label noise {cite:p}`ghosh2017robust`, yet
# {cite:t}`zhang2018generalized` argue that it is a poor loss for deep networks: its
# gradient weighs every sample equally, so the hard, informative samples get no extra
# attention and training crawls (Eq. 5; chapter 2). Their Fig. 1(a, b) shows it on
# *clean* labels: a ResNet {cite:p}`he2016deep` trained with the default setting of Adam
# {cite:p}`kingma2014adam` on CIFAR-10 (a) and CIFAR-100 (b), test accuracy against
# epochs, CCE in orange and MAE in blue. In the paper's words (Sec. 3.2), MAE "took
# significantly longer to converge" on CIFAR-10 with "a compromise in classification
# accuracy", and on CIFAR-100 the effects were "much more severe".
#
# The paper's curves are not available as data, so this page cannot redraw them. The only
# numbers the text states are for CIFAR-100: **MAE reached at most 38.29 % test accuracy
# after 2000 epochs, while CCE reached 39.92 % after merely 7 epochs.**
#
# This chapter draws the same figure from our own training runs. Which runs, is set by
# `PROFILE` below: `"cached"` (the default) shows the committed results, the most
# faithful available (`paper`, else `lab`, else `cpu`, else `smoke`); `"smoke"`, `"cpu"`,
# `"lab"` or `"paper"` trains whatever of that profile is missing first. The box below
# says which profile made the numbers on this page. The four profiles, from the fastest:
#
# * `smoke`: synthetic images, a tiny network, three epochs: seconds on a CPU, a check
#   that the pipeline runs; its numbers mean nothing.
# * `cpu`: the real images (Fashion-MNIST, and CIFAR-10 from a lossy JPEG copy) on a
#   laptop's two cores. Its recipe is chosen so that the network reaches, within a few
#   minutes a run, the regime the paper's effects come from: it first learns the clean
#   pattern, then memorises the wrong labels (Sec. 4.1). The profile has had two recipes: the
#   first (`cpu_net` with 0.62 M parameters, a fixed class-balanced subset of 12,500 training
#   images, 15 epochs of Adam, no augmentation, about 1.5 minutes a run) and the second, frozen
#   after the pilot shown at the end of this page (a 2.2 M-parameter `cpu_net`, 25,000 images,
#   14 epochs: Adam for the figures, SGD for the tables), whose runs replaced the first recipe's
#   one experiment at a time as its sweep completed them. Every committed `cpu` run of the
#   book is the second recipe's; the settings table below gives them.
#   Expect the paper's effects at far lower accuracies; `gce_lab/pipeline/profiles.py`
#   gives the reason for each setting.
# * `lab`: the real images, a 2 M-parameter network, 15-20 epochs: minutes on a GPU.
# * `paper`: the protocol of Sec. 4 (ResNet-34, 120-150 epochs, five seeds): hours on a GPU.

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
from IPython.display import display

from gce_lab.book import setup
from gce_lab.book.findings import fig1ab_findings
from gce_lab.book.plots import accuracy_at_epoch, fig1ab_summary, plot_fig1ab
from gce_lab.book.protocol import protocol_differences, settings_table
from gce_lab.book.report import chapter_results, notice

setup()

# %% tags=["parameters"]
PROFILE = "cached"  # or "smoke" (seconds), "cpu" (real images, CPU), "lab" / "paper" (GPU)

# %%
results = chapter_results("fig1ab", PROFILE)
runs, epochs = results.runs, results.epochs
notice(results)

# %% [markdown]
# ## How our runs were trained
#
# Each run trains one network from scratch with one loss on the clean training split
# (10 % of the training set held out for validation, Sec. 4) and records the test accuracy
# after every epoch. As in Sec. 4.1 the optimiser is Adam with its default learning rate.
# The paper does not say how long its Fig. 1 runs were (the MAE run on CIFAR-100 went on
# for 2000 epochs); the `paper` profile trains as long as Table 1 (120 epochs, CIFAR-100
# 150), long enough to test the "39.92 % after 7 epochs" of CCE but not the 2000 epochs of
# MAE. The settings, read from the results files:

# %%
settings_table(runs)

# %% [markdown]
# What differs from the paper's protocol (Sec. 4), ours beside the paper's:

# %%
protocol_differences(runs)

# %% [markdown]
# ## Test accuracy per epoch

# %%
plot_fig1ab(runs, epochs)
plt.show()

# %% [markdown]
# What to look for: the MAE curve should rise later and level off lower than CCE's, and
# the gap should be much wider on CIFAR-100 (100 classes, so the softmax output of the
# label starts near 1/100 and MAE's constant per-sample weight makes almost no progress).
# Smoke runs are three epochs on synthetic images and can show neither. What this page's
# numbers show, in sentences computed from them:

# %%
fig1ab_findings(runs, epochs)

# %% [markdown]
#
# The same curves in numbers: the peak of each test curve and its epoch, the last epoch, and
# how fast each loss learns: the first epoch at which the curve reaches 90 % of its peak. The
# peak is picked by looking at the test set, so it describes the curve; it is not an accuracy
# any protocol may report (an exercise below measures how far it sits above the
# accuracy at the best-validation epoch).

# %%
fig1ab_summary(runs, epochs)

# %% [markdown]
# ## The paper's CIFAR-100 statement
#
# The paper's one quantitative statement about Fig. 1b compares CCE on CIFAR-100 after 7
# epochs with MAE after 2000 epochs (38.29 %). No profile trains 2000 epochs, so that number
# is not re-tested here; what can be checked is the direction, CCE after 7 epochs ahead of MAE
# after all of its epochs, and only where CIFAR-100 runs exist:

# %%
cifar100 = runs[runs["dataset"] == "cifar100"]
if cifar100.empty:
    print(
        f"No CIFAR-100 runs in the {results.label} results (CIFAR-100 needs torchvision's download): "
        "the paper's CIFAR-100 statement is not tested on this page."
    )
else:
    at_7 = accuracy_at_epoch(cifar100, epochs, 7).droplevel(0, axis=1)
    display(at_7)
    cce_7 = at_7.loc[("CIFAR-100", "CCE")].iloc[-1]
    mae_last = fig1ab_summary(cifar100, epochs).droplevel(0, axis=1).loc[("CIFAR-100", "MAE"), "last test acc (%)"]
    if cce_7 != cce_7:  # NaN: the runs are shorter than 7 epochs
        print(f"The {results.label} runs are shorter than 7 epochs: the direction cannot be checked here.")
    else:
        print(
            f"CCE after 7 epochs: {cce_7:.2f} %; MAE after its last epoch: {mae_last:.2f} %: "
            f"{'CCE ahead, as the paper says' if cce_7 > mae_last else 'CCE not ahead, unlike the paper'}."
        )

# %% [markdown]
# To produce the missing numbers yourself, set `PROFILE = "cpu"` above (CIFAR-10 on a
# CPU, about ten minutes a run) or `"lab"` on a machine with a GPU, or run
# `python -m gce_lab run fig1ab --profile lab` (then `paper`) and rebuild the
# book. CIFAR-100 needs torchvision's download, i.e. internet access (e.g. on Colab).


# %% [markdown]
# ## Why the `cpu` recipe changed
#
# The paper's effects need a network that first learns the clean pattern and then memorises
# the wrong labels (Sec. 3.2, Fig. 1c), and truncated $\mathcal{L}_q$ needs a network that is
# already confident on the clean samples when it prunes (Sec. 3.3). The first `cpu` recipe
# memorised, but its network was weak: on CIFAR-10 it pruned many clean samples, and at
# $\eta = 0.8$ nearly everything. Before the second recipe was frozen, a pilot trained a few
# cells of Table 1 with it (seed 0; the clean cell is Table 1's reference column, which the
# paper does not have) and measured the signs of the regime asked of a recipe. The first
# recipe's numbers are its own committed runs of the same cells (its clean cell is Fig. 1a's
# CCE run, trained by the same recipe). "Wrong-label softmax" is the mean softmax on the given
# label of the wrongly labelled training samples after the last epoch; "1st prune" is truncated
# $\mathcal{L}_q$'s first pruning step: which fraction of what it prunes is wrongly labelled
# (precision), and which share of the clean samples it prunes.

# %%
from gce_lab.book.recipe_pilot import recipe_pilots, recipe_table, signs_findings, signs_table

pilots = recipe_pilots()
recipe_table(pilots)

# %% [markdown]
# The signs, each recipe's measurement, and whether it is met (seconds: the median wall time
# of a CIFAR-10 run on the 2-core machine that trained it):

# %%
signs_table(pilots)

# %%
signs_findings(pilots)

# %% [markdown]
# Neither recipe shows every sign within the budget of a few minutes a run on two cores. The
# first memorises because Adam at a constant learning rate fits 11,250 images many times
# over; its network never becomes confident enough on the clean samples for pruning to pick
# the wrong labels. The second trains on twice the images, with a wider hidden layer and the
# tables' SGD with one learning-rate drop: its clean accuracy and its pruning are much closer
# to the signs, but at the low learning rate CCE memorises slowly, and the few epochs a CPU
# can afford end long before the wrong labels are fitted. The figures train the same network on
# the same images with Adam at a constant learning rate (Sec. 4.1), and there CCE does memorise:
# in the Fig. 1c rows its wrong-label softmax ends higher, and its accuracy falls further from
# the best epoch to the last, than under the tables' SGD. `gce_lab/pipeline/profiles.py` gives
# the reason for each of the second recipe's settings.

# %% [markdown]
# ### What the committed `cpu` runs cost
#
# Every run records its wall time. For the `cpu` runs the book shows, per recipe and experiment:
# how many, their wall time in hours and the median seconds a run, on the 2-core machine that
# trained them (some beside other work, so more than a quiet machine needs). Every experiment
# now holds the second recipe's runs (the first recipe's are in git history); Table 1's extra
# seeds count here as the sweep commits them.

# %%
from gce_lab.book.cpu_cost import cpu_cost

cpu_cost()

# %% [markdown]
# ## Exercises
#
# The solutions are hidden; open one after trying the exercise. Each solution's code checks its
# answer with `assert`s, so the page does not build if an answer is wrong. Solutions that read
# this page's results use the tables loaded above, whichever profile made them, and check what
# holds for any run, not particular numbers.
#
# ```{exercise-start} MAE's slow start in one number
# :label: ex-06-init-gradient
# ```
#
# At initialisation a network's softmax is close to uniform. For $c = 10$ and $c = 100$
# (CIFAR-10 and CIFAR-100), compute with autograd the gradient of MAE, of $\mathcal{L}_q$
# ($q = 0.7$) and of CCE with respect to the labelled logit at all-zero logits. How many times
# smaller than CCE's is each? What does that predict for Fig. 1(b)?
#
# ```{exercise-end}
# ```
#
# ```{solution-start} ex-06-init-gradient
# :class: dropdown
# ```
#
# All three gradients are the CCE gradient $f_y - 1$ times a weight (chapter 2): $2f_y$ for MAE
# and $f_y^q$ for $\mathcal{L}_q$. At $f_y = 1/c$ MAE gets $2/c$ of CCE's push, a fifth for
# CIFAR-10 but a fiftieth for CIFAR-100, and $\mathcal{L}_q$ gets $(1/c)^{0.7}$: $0.20$ and
# $0.040$. With 100 classes MAE starts fifty times slower than CCE, which is why its curve in
# Fig. 1(b) barely leaves the ground.


# %%
import math

import torch

from gce_lab.losses import cce_loss, lq_loss, mae_loss

losses = {"CCE": cce_loss, "MAE": mae_loss, "Lq": lambda z, y: lq_loss(z, y, 0.7)}
for c in (10, 100):
    gradient = {}
    for name, loss_fn in losses.items():
        z = torch.zeros(1, c, dtype=torch.float64, requires_grad=True)
        loss_fn(z, torch.tensor([0])).backward()
        gradient[name] = z.grad[0, 0].item()
    mae_ratio, lq_ratio = gradient["MAE"] / gradient["CCE"], gradient["Lq"] / gradient["CCE"]
    print(f"c = {c}: MAE / CCE = {mae_ratio:.4f}, Lq / CCE = {lq_ratio:.4f}")
    assert math.isclose(mae_ratio, 2 / c, rel_tol=1e-9) and math.isclose(lq_ratio, (1 / c) ** 0.7, rel_tol=1e-9)


# %% [markdown]
# ```{solution-end}
# ```
#
# ```{exercise-start} Choosing the epoch on the test set would flatter every loss
# :label: ex-06-oracle
# ```
#
# Table 1's protocol reports the test accuracy at the epoch of best *validation* accuracy. From
# `epochs`, compute for each of this page's runs the best test accuracy over all its epochs, an
# "oracle" that peeks at the test set, and set it beside `test_acc_best_val` and
# `test_acc_last` of `runs`. How many points would the oracle add? Why can it never be lower
# than either?
#
# ```{exercise-end}
# ```
#
# ```{solution-start} ex-06-oracle
# :class: dropdown
# ```
#
# The oracle is the largest of the test accuracies the run recorded, and the best-validation
# and last-epoch accuracies are two of them, so it is at least as high as both. The difference
# is the optimism of choosing the epoch on the test set: a number no honest protocol may
# report, and a reason to compare papers only under the same selection rule.


# %%
oracle = epochs.groupby("run_id")["test_acc"].max()  # epochs without a test evaluation are skipped
table = runs.set_index("run_id")[["method", "test_acc_best_val", "test_acc_last"]].assign(oracle=oracle)
table["oracle - best val"] = table["oracle"] - table["test_acc_best_val"]
print(table.round(2).to_string())
assert len(table) and table["oracle"].notna().all()
assert (table["oracle"] >= table[["test_acc_best_val", "test_acc_last"]].max(axis=1) - 0.01).all()  # files round


# %% [markdown]
# ```{solution-end}
# ```
