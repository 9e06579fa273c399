#!/usr/bin/env bash
# Regenerate the chapters' .ipynb twins from the results committed at HEAD, not from the files a
# running sweep keeps rewriting in results/: executes the chapters in a scratch worktree of HEAD
# and copies the twins back here. Then commit them with the results they were made from.
#
#     git add results/<experiment>/cpu && git commit -m "..."   # the results first
#     bash results/twins_at_head.sh 06 09                          # chapters, as `make twins NB=...`
set -euo pipefail
cd "$(dirname "$0")/.."
MAIN=$(pwd)
TREE=$(mktemp -d /tmp/gce_lab_twins.XXXXXX)
trap 'git -C "$MAIN" worktree remove --force "$TREE" >/dev/null 2>&1 || rm -rf "$TREE"' EXIT
git worktree add --detach "$TREE" HEAD >/dev/null
# The scratch tree has no ../shared beside it: the data (snapshots, CIFAR-N labels) are this checkout's.
DATA=${GCE_LAB_DATA:-$(cd "$MAIN/../shared/datasets" 2>/dev/null && pwd || echo "$HOME/.cache/gce_lab/data")}
(cd "$TREE" && PYTHONPATH="$TREE" GCE_LAB_RESULTS="$TREE/results" GCE_LAB_DATA="$DATA" \
    "$MAIN/.venv/bin/python" -m gce_lab.book.notebook_twins "$@")
for twin in "$TREE"/notebooks/*.ipynb; do
    cmp -s "$twin" "notebooks/$(basename "$twin")" || cp "$twin" notebooks/
done
git status --short notebooks
