#!/usr/bin/env bash
# The GPU measurement of gce_lab.pipeline.bench in one call (README.md beside this file says how to run it
# on a GPU machine and how to commit what it writes). From the repository root:
#
#     bash results/bench/run_on_gpu.sh
#
# 1. the lab profile's time to accuracy on clean CIFAR-10 (Table 1's SGD settings, and Fig. 1a's
#    Adam), test accuracy against training time;                              (about 1.5 min)
# 2. the throughput benchmark, fast path against the plain DataLoader loop, for ResNet-34
#    (CIFAR-10 shape), ResNet-18 (Fashion-MNIST shape) and small_net, with one real epoch
#    timed per path; written after each network, so a cut-off run keeps what it measured.
#                                                                             (about 4 min)
# Environment (all optional):
#   OUT             where the files go (default /tmp/gce_bench_out)
#   PYTHON          the interpreter with torch (default python3)
#   GCE_BENCH_SIZE  full (default) or tiny: a CPU dry run of the same commands in a minute or two
#   GCE_LAB_DATA    folder holding cifar10_jpeg.npz (default .gpu/datasets, carried with the call)
#   GCE_LAB_GIT_COMMIT  the commit this tree is (the copy on the device machine has no .git)
# Files under $OUT (5, none deeper than $OUT): machine.txt, lab-run.log, bench.log,
# <device>-lab-run.json, <device>.json (with "-tiny" before ".json" at the tiny size).
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
export PYTHONPATH=. PYTHONUNBUFFERED=1
OUT=${OUT:-/tmp/gce_bench_out}
SIZE=${GCE_BENCH_SIZE:-full}
PYTHON=${PYTHON:-python3}
export GCE_LAB_DATA=${GCE_LAB_DATA:-.gpu/datasets}
export GCE_LAB_CACHE=${GCE_LAB_CACHE:-/tmp/gce_lab_cache}  # decoded JPEGs: never next to the snapshot
mkdir -p "$OUT"
status=0

{
    date -u
    nvidia-smi || echo "nvidia-smi: not available"
    nproc
    "$PYTHON" -c "import sys, torch, torchvision; print(sys.version); print('torch', torch.__version__, \
'torchvision', torchvision.__version__, 'cuda', torch.version.cuda, 'available', torch.cuda.is_available())"
    git rev-parse HEAD 2>/dev/null || echo "no git; GCE_LAB_GIT_COMMIT=${GCE_LAB_GIT_COMMIT:-unset}"
} >"$OUT/machine.txt" 2>&1

if [ "$SIZE" = full ] && [ ! -f "$GCE_LAB_DATA/cifar10_jpeg.npz" ]; then
    echo "missing $GCE_LAB_DATA/cifar10_jpeg.npz: copy shared/datasets/cifar10_jpeg.npz there and carry .gpu" \
        | tee "$OUT/lab-run.log"
    status=1
else
    timeout 180 "$PYTHON" -m gce_lab bench --size "$SIZE" --lab-run table1 fig1ab --out "$OUT/" 2>&1 \
        | tee "$OUT/lab-run.log" || status=1
fi

timeout 360 "$PYTHON" -m gce_lab bench --size "$SIZE" --full-epoch --out "$OUT/" 2>&1 \
    | tee "$OUT/bench.log" || status=1

ls -l "$OUT"
exit "$status"
