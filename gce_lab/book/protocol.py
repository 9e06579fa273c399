"""How the runs of a chapter were trained, beside the paper's protocol: the settings table every
experiment chapter shows and the list of settings that differ from the ``paper`` profile."""

from __future__ import annotations

import pandas as pd

from gce_lab.book.report import results_label, source_words
from gce_lab.datasets import DATASET_INFO, DATASET_LABELS
from gce_lab.pipeline.experiments import RunSpec
from gce_lab.pipeline.planning import planned_run
from gce_lab.pipeline.profiles import PAPER_ASSUMPTIONS, run_settings

__all__ = ["settings_table", "protocol_differences"]

_SETTINGS = {
    "data_source": "images",
    "model": "network",
    "optimizer": "optimizer",
    "lr": "lr",
    "milestones": "lr drops after epoch",
    "batch_size": "batch",
    "epochs": "epochs",
    "augment": "augment",
    "prune_start": "pruning from epoch",
    "prune_every": "prune every",
    "n_train": "train",
    "n_val": "val",
    "n_test": "test",
    "device": "device",
}


def settings_table(runs: pd.DataFrame) -> pd.DataFrame:
    """How the runs of ``runs`` were trained: one column per data set (under a profile header),
    one row per setting: images, network, optimiser, learning rate and its drops, batch size,
    epochs, augmentation, pruning schedule, split sizes, device, and the number of runs and
    seeds. Several values of a setting are joined with ", "; "—" where it does not apply."""
    label = results_label(runs)

    def values(column: pd.Series) -> str:
        present = [v for v in dict.fromkeys(column) if not pd.isna(v) and v != ""]
        return ", ".join(f"{v:g}" if isinstance(v, float) else str(v) for v in present) or "—"

    rows = {}
    for dataset, group in runs.groupby("dataset", sort=False):
        row = {name: values(group[column]) for column, name in _SETTINGS.items() if column in group}
        row["images"] = ", ".join(source_words(s) for s in dict.fromkeys(group["data_source"].astype(str)))
        row.update({"runs": len(group), "seeds": group["seed"].nunique()})
        rows[DATASET_LABELS.get(dataset, dataset)] = row
    frame = pd.DataFrame(rows).astype(str)
    frame.index.name = "setting"
    return pd.concat({f"{label} profile": frame}, axis=1)


#: The rows of :func:`settings_table` that show each trainer setting of :data:`PAPER_ASSUMPTIONS`.
_ASSUMED_ROWS = {"optimizer": "optimizer", "lr": "lr", "milestones": "lr drops after epoch", "epochs": "epochs"}
ASSUMED = " (assumed: the paper does not say)"


def _paper_protocol(experiment: str, dataset: str) -> dict[str, str]:
    """The settings the ``paper`` profile trains ``experiment`` on ``dataset`` with, in the words of
    :func:`settings_table` (a truncated L_q run, so that the pruning schedule shows)."""
    settings = run_settings("paper", experiment, dataset)
    run = RunSpec(experiment, "paper", dataset, "truncated_lq", settings["q"], settings["k"], "uniform0.4", 0)
    planned = planned_run(run)
    config = planned.config
    n_train, n_test = DATASET_INFO[dataset].n_train, DATASET_INFO[dataset].n_test
    n_val = round(planned.data.val_fraction * n_train)
    return {
        "images": "real images (the original files)",
        "network": planned.model,
        "optimizer": config.optimizer,
        "lr": f"{config.lr:g}",
        "lr drops after epoch": ";".join(map(str, config.milestones)) or "—",
        "batch": str(config.batch_size),
        "epochs": str(config.epochs),
        "augment": str(config.augment),
        "pruning from epoch": str(config.prune_start),
        "prune every": str(config.prune_every),
        "train": str(n_train - n_val),
        "val": str(n_val),
        "test": str(n_test),
        "seeds": str(len(settings["seeds"])),
    }


def protocol_differences(runs: pd.DataFrame) -> pd.DataFrame:
    """The settings of ``runs`` that differ from the paper's protocol (the ``paper`` profile), per
    data set: ours beside the paper's. A setting of the protocol that the paper does not state
    (:data:`gce_lab.pipeline.profiles.PAPER_ASSUMPTIONS`) says so. Empty when the runs follow
    the protocol."""
    label = results_label(runs)
    experiment = str(runs["experiment"].iloc[0])
    ours = settings_table(runs)[f"{label} profile"]
    rows = []
    for dataset, column in ours.items():
        key = next((k for k, v in DATASET_LABELS.items() if v == dataset), dataset)
        for setting, theirs in _paper_protocol(experiment, key).items():
            mine = column.get(setting, "—")
            if setting == "pruning from epoch" or setting == "prune every":
                mine = mine if mine != "—" else theirs  # only truncated L_q runs prune; not a difference
            if mine != theirs and not (setting == "augment" and {mine, theirs} <= {"False", "—"}):
                assumed = setting in {_ASSUMED_ROWS[name] for name in PAPER_ASSUMPTIONS.get(experiment, ())}
                rows.append((dataset, setting, mine, theirs + (ASSUMED if assumed else "")))
    frame = pd.DataFrame(rows, columns=["data set", "setting", f"ours ({label} profile)", "paper protocol"])
    return frame.set_index(["data set", "setting"])
