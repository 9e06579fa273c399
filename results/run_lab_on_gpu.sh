#!/usr/bin/env bash
# The `lab` profile's GPU runs of one data set, in one call on a GPU machine (results/README.md says
# how to send it there and how to commit what it brings back). From the repository root:
#
#     bash results/run_lab_on_gpu.sh cifar10         # Table 1 CIFAR-10 block, Fig. 1c, Fig. 2
#     bash results/run_lab_on_gpu.sh fashion_mnist   # Table 1 Fashion-MNIST block
#
# Runs go in order of priority and each finished run is written at once (runs.csv, epochs.csv,
# atomically), so a call cut off by BUDGET_S still brings back every run that finished; a second
# call resumes where the first stopped (it starts from the committed results/, which it copies).
# Environment (all optional):
#   OUT                where the files go (default /tmp/gce_lab_out)
#   PYTHON             the interpreter with torch (default python3)
#   GCE_LAB_DATA       folder holding the snapshot (default .gpu/datasets, carried with the call)
#   GCE_LAB_GIT_COMMIT the commit this tree is (the copy on the device machine has no .git)
#   BUDGET_S           seconds of training before the sweep is stopped (default 480)
#   EPOCHS             override the profile's epoch count (results are then filed as lab_epochsN)
#   PROFILE            lab (default); smoke for a CPU dry run of the same commands in seconds
#   COMPILE            0 for --no-compile, 1 for --compile (an error where compiling cannot work);
#                      unset: the profile's choice (lab: compile where the GPU can, else eager)
#   PRECISION          auto (default: bf16 where the GPU has it natively, else fp16 with gradient
#                      scaling), bf16, fp16 or fp32
# Files under $OUT: machine.txt, sweep.log, results-<profile>.tgz (the results/ tree of the profile).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
DATASET=${1:?usage: run_lab_on_gpu.sh cifar10|fashion_mnist}
export PYTHONPATH=. PYTHONUNBUFFERED=1
OUT=${OUT:-/tmp/gce_lab_out}
PYTHON=${PYTHON:-python3}
BUDGET_S=${BUDGET_S:-480}
PROFILE=${PROFILE:-lab}
export GCE_LAB_DATA=${GCE_LAB_DATA:-.gpu/datasets}
export GCE_LAB_CACHE=${GCE_LAB_CACHE:-/tmp/gce_lab_cache}
export GCE_LAB_RESULTS=/tmp/gce_lab_results GCE_LAB_CHECKPOINTS=/tmp/gce_lab_checkpoints
rm -rf "$GCE_LAB_RESULTS"; mkdir -p "$OUT" "$GCE_LAB_RESULTS"
cp -r results/. "$GCE_LAB_RESULTS/"

case "$DATASET" in
    cifar10) snapshot=cifar10_jpeg.npz
        sweeps=("fig1c" "table1 --dataset cifar10" "fig2") ;;
    fashion_mnist) snapshot=fashion_mnist.npz
        sweeps=("table1 --dataset fashion_mnist") ;;
    *) echo "unknown data set '$DATASET': cifar10 or fashion_mnist" >&2; exit 2 ;;
esac
if [ ! -f "$GCE_LAB_DATA/$snapshot" ]; then
    echo "missing $GCE_LAB_DATA/$snapshot: copy ../shared/datasets/$snapshot there and carry .gpu" >&2
    exit 1
fi
options=(--profile "$PROFILE" --no-progress)
case "${COMPILE:-}" in
    0) options+=(--no-compile) ;;
    1) options+=(--compile) ;;
esac
[ -z "${PRECISION:-}" ] || options+=(--precision "$PRECISION")
[ -z "${EPOCHS:-}" ] || options+=(--epochs "$EPOCHS")

{
    date -u
    nvidia-smi || echo "nvidia-smi: not available"
    "$PYTHON" -c "import torch, torchvision; print('torch', torch.__version__, 'torchvision', \
torchvision.__version__, 'cuda', torch.version.cuda, 'available', torch.cuda.is_available())"
    echo "commit ${GCE_LAB_GIT_COMMIT:-unknown}; budget ${BUDGET_S}s; options ${options[*]}"
} >"$OUT/machine.txt" 2>&1

deadline=$((SECONDS + BUDGET_S))
status=0
for sweep in "${sweeps[@]}"; do
    left=$((deadline - SECONDS))
    if [ "$left" -le 0 ]; then echo "budget spent before: $sweep" | tee -a "$OUT/sweep.log"; status=1; continue; fi
    # shellcheck disable=SC2086  # $sweep holds the experiment and its filters
    timeout "$left" "$PYTHON" -m gce_lab run $sweep "${options[@]}" 2>&1 | tee -a "$OUT/sweep.log" || status=1
    "$PYTHON" -m gce_lab status ${sweep%% *} --profile "$PROFILE" 2>&1 | tee -a "$OUT/sweep.log"
done
(cd "$GCE_LAB_RESULTS" && tar czf "$OUT/results-$PROFILE.tgz" ./*/"$PROFILE"*) 2>>"$OUT/sweep.log" || status=1
ls -l "$OUT"
exit "$status"
