#!/usr/bin/env bash
# The `cpu` profile's sweep: every offline figure and table on the real images, on this machine's
# CPU, for hours and across sessions. From the repository root:
#
#     bash results/run_cpu_sweep.sh            # start (or resume) in the background, return at once
#     bash results/run_cpu_sweep.sh --status   # what is done, what runs now
#     touch ~/.cache/gce_lab/PAUSE             # pause after the current cell (rm it to go on)
#
# It trains from a git worktree of the commit that is checked out now ($SWEEP_DIR, default
# ~/.cache/gce_lab/sweep-tree), so that editing this checkout does not change the running code;
# results go into this checkout's results/ (GCE_LAB_RESULTS), checkpoints to
# ~/.cache/gce_lab/checkpoints, outside any work tree. An interrupted sweep (a session that ended)
# resumes where it stopped: finished runs are skipped, a run cut mid-way continues from its last
# epoch. Commit results/*/cpu/ as runs land; their git_commit column names the sweep's commit.
# Cells run in order of priority, one `python -m gce_lab run` per cell: first the pilot of the
# profile (the effects it must show), the human-noise runs, then the Table 1 blocks, the figures,
# Table 2's closed-set row and the extra seeds. The open-set row of Table 2 and CIFAR-100 (and
# so CIFAR-100N) need downloads: not here.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
MAIN=${GCE_LAB_MAIN:-$(pwd)}  # the checkout whose results/ the sweep fills
STATE=${GCE_LAB_STATE:-$HOME/.cache/gce_lab}
SWEEP_DIR=${SWEEP_DIR:-$STATE/sweep-tree}
PYTHON=${PYTHON:-$MAIN/.venv/bin/python}
LOG=$STATE/sweep.log
mkdir -p "$STATE"

CELLS=(
    # the pilot: Fig. 1c and 1a on CIFAR-10, then three Table 1 columns of both data sets
    "fig1c"
    "fig1ab --dataset cifar10"
    "table1 --dataset cifar10 --methods cce mae lq --noise uniform0.4 uniform0.8 class_dependent0.4"
    "table1 --dataset fashion_mnist --methods cce mae lq --noise uniform0.4 uniform0.8 class_dependent0.4"
    # beyond the paper: the six losses under CIFAR-10N's human labels
    "human --dataset cifar10 --noise human_aggregate" "human --dataset cifar10 --noise human_random1"
    "human --dataset cifar10 --noise human_worst"
    # the Table 1 blocks, one column at a time
    "table1 --dataset fashion_mnist --noise uniform0.2" "table1 --dataset fashion_mnist --noise uniform0.4"
    "table1 --dataset fashion_mnist --noise uniform0.6" "table1 --dataset fashion_mnist --noise uniform0.8"
    "table1 --dataset fashion_mnist --noise class_dependent0.1"
    "table1 --dataset fashion_mnist --noise class_dependent0.2"
    "table1 --dataset fashion_mnist --noise class_dependent0.3"
    "table1 --dataset fashion_mnist --noise class_dependent0.4"
    "table1 --dataset cifar10 --noise uniform0.2" "table1 --dataset cifar10 --noise uniform0.4"
    "table1 --dataset cifar10 --noise uniform0.6" "table1 --dataset cifar10 --noise uniform0.8"
    "table1 --dataset cifar10 --noise class_dependent0.1" "table1 --dataset cifar10 --noise class_dependent0.2"
    "table1 --dataset cifar10 --noise class_dependent0.3" "table1 --dataset cifar10 --noise class_dependent0.4"
    # the figures and Table 2's closed-set row
    "fig2 --noise uniform0.2" "fig2 --noise none0" "fig2 --noise uniform0.6"
    "table2 --noise closed_set0.4"
    # the spread: two more seeds of CIFAR-10's uniform 0.4 and class-dependent 0.4 columns
    "table1 --dataset cifar10 --noise uniform0.4 class_dependent0.4 --seeds 1"
    "table1 --dataset cifar10 --noise uniform0.4 class_dependent0.4 --seeds 2"
)

if [ "${1:-}" = "--status" ]; then
    if [ -f "$STATE/sweep.pid" ] && kill -0 "$(cat "$STATE/sweep.pid")" 2>/dev/null; then
        echo "running (pid $(cat "$STATE/sweep.pid")) at commit $(git -C "$SWEEP_DIR" rev-parse --short HEAD)"
    else
        echo "not running"
    fi
    [ -e "$STATE/PAUSE" ] && echo "paused: $STATE/PAUSE exists"
    for e in fig1ab fig1c fig2 table1 table2 human; do
        GCE_LAB_CHECKPOINTS=$STATE/checkpoints "$PYTHON" -m gce_lab status "$e" --profile cpu 2>/dev/null | head -1
    done
    tail -3 "$LOG" 2>/dev/null
    exit 0
fi

if [ "${1:-}" != "--foreground" ]; then
    if [ -f "$STATE/sweep.pid" ] && kill -0 "$(cat "$STATE/sweep.pid")" 2>/dev/null; then
        echo "the sweep is already running (pid $(cat "$STATE/sweep.pid")); see $LOG" >&2
        exit 1
    fi
    if [ ! -d "$SWEEP_DIR" ]; then
        git worktree add --detach "$SWEEP_DIR" "${SWEEP_COMMIT:-HEAD}" >/dev/null || exit 1
    elif [ "${SWEEP_COMMIT:-}" != "" ]; then
        git -C "$SWEEP_DIR" checkout --detach "$SWEEP_COMMIT" >/dev/null || exit 1
    fi
    # The worktree's copy of this script runs (bash reads a script as it goes: editing this one
    # must not change a running sweep).
    GCE_LAB_MAIN=$MAIN nohup setsid bash "$SWEEP_DIR/results/run_cpu_sweep.sh" --foreground >>"$LOG" 2>&1 &
    echo $! >"$STATE/sweep.pid"
    echo "sweep started (pid $!) at commit $(git -C "$SWEEP_DIR" rev-parse --short HEAD); log: $LOG"
    exit 0
fi

# --foreground: the sweep itself
export PYTHONPATH=$SWEEP_DIR PYTHONUNBUFFERED=1
export GCE_LAB_RESULTS=$MAIN/results GCE_LAB_CHECKPOINTS=$STATE/checkpoints
export GCE_LAB_DATA=${GCE_LAB_DATA:-$(cd "$MAIN/../shared/datasets" 2>/dev/null && pwd)}
cd "$SWEEP_DIR" || exit 1
echo "$(date -u +%FT%TZ) sweep at commit $(git rev-parse HEAD), python $PYTHON, data $GCE_LAB_DATA"
for cell in "${CELLS[@]}"; do
    while [ -e "$STATE/PAUSE" ]; do sleep 10; done
    echo "$(date -u +%FT%TZ) cell: $cell"
    # shellcheck disable=SC2086  # a cell is a list of words
    "$PYTHON" -m gce_lab run $cell --profile cpu --no-progress || echo "$(date -u +%FT%TZ) cell failed: $cell"
done
echo "$(date -u +%FT%TZ) sweep done"
