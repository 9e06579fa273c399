#!/usr/bin/env bash
# The `cpu` profile's sweep under its frozen recipe (recipe 2, see gce_lab/pipeline/profiles.py):
# every offline figure and table on the real images, on this machine's CPU, for many hours and
# across sessions. From the repository root:
#
#     bash results/run_cpu_sweep.sh            # start (or resume) in the background, return at once
#     bash results/run_cpu_sweep.sh --status   # what is done, what runs now
#     touch ~/.cache/gce_lab/PAUSE             # pause after the current cell (rm it to go on)
#
# Every run of a table must come from one version of the training code, so the sweep trains from
# a git worktree ($SWEEP_DIR, default ~/.cache/gce_lab/sweep-tree) of one fixed commit: $SWEEP_COMMIT,
# by default the commit that froze recipe 2 and trained its pilot (RECIPE_COMMIT below). Results
# go into this checkout's results/cpu_v2/ (GCE_LAB_RESULTS), a store of its own until a table's
# runs are complete and replace the recipe-1 runs under results/<experiment>/cpu/ (store_of below
# then sends that experiment's cells there); checkpoints go
# to ~/.cache/gce_lab/checkpoints-v2, outside any work tree. An interrupted sweep (a session that
# ended) resumes where it stopped: finished runs are skipped, a run cut mid-way continues from its
# last epoch. Commit results/cpu_v2/ as runs land; their git_commit column names the sweep's commit.
# Cells run in order of priority, one `python -m gce_lab run` per cell, so that a reader gets
# complete columns early: the pilot's cells, the figures, one seed of every Table 1 column, the
# human-noise runs and Table 2's closed-set row, then the second and third seeds (CIFAR-10 first;
# Fashion-MNIST's column by column).
# The open-set row of Table 2 and CIFAR-100 (and so CIFAR-100N) need downloads: not here.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
MAIN=${GCE_LAB_MAIN:-$(pwd)}  # the checkout whose results/ the sweep fills
STATE=${GCE_LAB_STATE:-$HOME/.cache/gce_lab}
SWEEP_DIR=${SWEEP_DIR:-$STATE/sweep-tree}
RECIPE_COMMIT=f963269  # recipe 2 frozen; its pilot runs in results/cpu_v2 come from this commit
SWEEP_COMMIT=${SWEEP_COMMIT:-$RECIPE_COMMIT}
PYTHON=${PYTHON:-$MAIN/.venv/bin/python}
LOG=$STATE/sweep.log
RESULTS=$MAIN/results/cpu_v2
mkdir -p "$STATE"

TABLE1_COLUMNS=(uniform0.2 uniform0.4 uniform0.6 uniform0.8
    class_dependent0.1 class_dependent0.2 class_dependent0.3 class_dependent0.4)
CELLS=(
    # the pilot's cells (issue 24): CIFAR-10 clean (Table 1's reference column), uniform 0.4 and
    # 0.8, class-dependent 0.4; Fig. 1c (the figures' Adam); Fashion-MNIST uniform 0.4
    "table1 --dataset cifar10 --methods cce lq truncated_lq --noise none0 uniform0.4 uniform0.8 class_dependent0.4"
    "table1 --dataset cifar10 --methods forward_t --noise uniform0.4"
    "fig1c"
    "table1 --dataset fashion_mnist --methods cce lq --noise uniform0.4"
    "fig1ab --dataset cifar10"
)
for noise in "${TABLE1_COLUMNS[@]}"; do CELLS+=("table1 --dataset cifar10 --noise $noise"); done
for noise in "${TABLE1_COLUMNS[@]}"; do CELLS+=("table1 --dataset fashion_mnist --noise $noise"); done
CELLS+=(
    "fig2 --noise uniform0.2" "fig2 --noise none0" "fig2 --noise uniform0.6"
    "table2 --noise closed_set0.4"
    "human --dataset cifar10 --noise human_aggregate" "human --dataset cifar10 --noise human_random1"
    "human --dataset cifar10 --noise human_worst"
)
for seed in 1 2; do
    for noise in "${TABLE1_COLUMNS[@]}"; do CELLS+=("table1 --dataset cifar10 --noise $noise --seeds $seed"); done
done
# Fashion-MNIST's extra seeds column by column, uniform columns first, so that each column has its
# three seeds before the next gets any
for noise in "${TABLE1_COLUMNS[@]}"; do CELLS+=("table1 --dataset fashion_mnist --noise $noise --seeds 1 2"); done

# Where an experiment's runs are stored: results/cpu_v2 until they replace the first recipe's runs
# under results/<experiment>/cpu (a `git mv`, once the experiment's offline runs are all done; see
# results/README.md), then there, so that a resumed sweep neither trains them again nor writes
# beside the first recipe's runs. Published: every row (and at least one) from the recipe's or
# the sweep's commit.
store_of() {
    local published=$MAIN/results/$1/cpu/runs.csv
    if [ -f "$published" ] && [ "$(tail -n +2 "$published" | grep -c .)" -gt 0 ] &&
        [ "$(tail -n +2 "$published" | grep -v -e "$RECIPE_COMMIT" -e "$SWEEP_COMMIT" -c)" = 0 ]; then
        echo "$MAIN/results"
    else
        echo "$RESULTS"
    fi
}

if [ "${1:-}" = "--status" ]; then
    if [ -f "$STATE/sweep.pid" ] && kill -0 "$(cat "$STATE/sweep.pid")" 2>/dev/null; then
        echo "running (pid $(cat "$STATE/sweep.pid")) at commit $(git -C "$SWEEP_DIR" rev-parse --short HEAD)"
    else
        echo "not running"
    fi
    [ -e "$STATE/PAUSE" ] && echo "paused: $STATE/PAUSE exists"
    for e in fig1ab fig1c fig2 table1 table2 human; do
        GCE_LAB_RESULTS=$(store_of "$e") GCE_LAB_CHECKPOINTS=$STATE/checkpoints-v2 \
            "$PYTHON" -m gce_lab status "$e" --profile cpu 2>/dev/null | head -1
    done
    current=$(grep -o 'cell: .*' "$LOG" 2>/dev/null | tail -1)
    for i in "${!CELLS[@]}"; do
        [ "cell: ${CELLS[$i]}" = "$current" ] && echo "at cell $((i + 1)) of ${#CELLS[@]}: ${CELLS[$i]}"
    done
    tail -3 "$LOG" 2>/dev/null
    exit 0
fi

if [ "${1:-}" != "--foreground" ]; then
    if [ -f "$STATE/sweep.pid" ] && kill -0 "$(cat "$STATE/sweep.pid")" 2>/dev/null; then
        echo "the sweep is already running (pid $(cat "$STATE/sweep.pid")); see $LOG" >&2
        exit 1
    fi
    if [ -f "$SWEEP_DIR/.git" ] && ! git -C "$SWEEP_DIR" rev-parse --git-dir >/dev/null 2>&1; then
        # a worktree whose record under .git/worktrees is gone (the checkout was copied afresh):
        # it holds only the code of a fixed commit, so it is made again
        echo "remaking the stale worktree $SWEEP_DIR" >&2
        rm -rf "$SWEEP_DIR" && git worktree prune
    fi
    if [ ! -d "$SWEEP_DIR" ]; then
        git worktree add --detach "$SWEEP_DIR" "$SWEEP_COMMIT" >/dev/null || exit 1
    else
        git -C "$SWEEP_DIR" checkout --detach "$SWEEP_COMMIT" >/dev/null || exit 1
    fi
    # A copy of this script runs (bash reads a script as it goes: editing this one must not change
    # a running sweep); the worktree holds the training code.
    cp "$0" "$STATE/run_cpu_sweep.sh"
    GCE_LAB_MAIN=$MAIN SWEEP_COMMIT=$SWEEP_COMMIT nohup setsid bash "$STATE/run_cpu_sweep.sh" --foreground >>"$LOG" 2>&1 &
    echo $! >"$STATE/sweep.pid"
    echo "sweep started (pid $!) at commit $(git -C "$SWEEP_DIR" rev-parse --short HEAD); log: $LOG"
    exit 0
fi

# --foreground: the sweep itself
export PYTHONPATH=$SWEEP_DIR PYTHONUNBUFFERED=1
export GCE_LAB_CHECKPOINTS=$STATE/checkpoints-v2
export GCE_LAB_DATA=${GCE_LAB_DATA:-$(cd "$MAIN/../shared/datasets" 2>/dev/null && pwd)}
cd "$SWEEP_DIR" || exit 1
echo "$(date -u +%FT%TZ) sweep at commit $(git rev-parse HEAD), python $PYTHON, data $GCE_LAB_DATA"
for cell in "${CELLS[@]}"; do
    while [ -e "$STATE/PAUSE" ]; do sleep 10; done
    echo "$(date -u +%FT%TZ) cell: $cell"
    # shellcheck disable=SC2086  # a cell is a list of words
    GCE_LAB_RESULTS=$(store_of "${cell%% *}") "$PYTHON" -m gce_lab run $cell --profile cpu --no-progress ||
        echo "$(date -u +%FT%TZ) cell failed: $cell"
done
echo "$(date -u +%FT%TZ) sweep done"
