#!/usr/bin/env bash
# The GPU check: proves the GPU path on one GPU in under 8 minutes and writes each figure as it is measured.
#
#   bash tools/gpu_check.sh --prepare       # here, before a GPU is lent: CIFAR-10's first two chunks (10,000 images,
#                                           # 28 MB) and the fastcore wheel into .gpu_data/ (git-ignored), the one path to carry
#   bash tools/gpu_check.sh [DIR] [ARGS]    # on the GPU machine, in the repository root (DIR: $OUT if set, else gpu_check/)
#   bash tools/gpu_check.sh --quick [DIR]   # a dry run on the CPU at tiny sizes (tests/test_device_check.py runs it)
#
# With this workplace's device tool: run(command="bash tools/gpu_check.sh", carry=[".gpu_data"], timeout_s=540).
#
# The GPU machine needs python3 with torch and numpy (Python 3.12 and torch 2.11 are enough: no venv, no nbdev,
# papermill or package index) and this checkout. bench/device_check.py measures, on the first GPU, each section under
# its own deadline (7.6 minutes in all; the whole check is stopped at 8): training img/s of the paper's 35.1M DDPM++ at
# 32x32, batch 512, in fp32 (the paper's path), TF32, bf16 and bf16 + channels-last; the 10,000-sample evaluation
# (35 network evaluations each, fp32 / TF32 / bf16) and the exact top-2 search against 1,000 and 50,000 images; the
# closed-form optimum, 10,000 samples against 50,000 images; the 200-step loss of every mode beside fp32's; one
# `gpu`-preset run at N = 500 end to end through emm_nb.study.train_run into a run cache (300 epochs, 3 snapshots),
# read back from the cache; 1, 2 and 4 packed trainings of that preset on the one GPU; bf16 + torch.compile last. Images beyond the carried chunks (the 50,000-image references)
# are random: timings do not depend on the pixels, and the JSON says how many are real.
#
# What comes back: DIR/device_check.json, rewritten atomically after every figure (a check cut short keeps what it
# measured: `done` lists the finished sections), and DIR/gpu_check.log (the machine, the environment, the output).
# Until emm_nb/study.py imports without fastcore, the carried fastcore wheel is installed under /tmp for the gpu_run
# section; without it that section alone fails.
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
mode=gpu
case "${1:-}" in --prepare) mode=prepare; shift ;; --quick) mode=quick; shift ;; esac

if [ "$mode" = prepare ]; then
    src=${EMM_DATA:-../shared/data/cifar10}
    mkdir -p .gpu_data/cifar10 .gpu_data/wheels || exit 1
    cp "$src/train_00.npz" "$src/train_01.npz" .gpu_data/cifar10/ || exit 1
    v=$("$PY" -c 'import fastcore; print(fastcore.__version__)') &&
        "$PY" -m pip download -q --no-deps --only-binary=:all: -d .gpu_data/wheels "fastcore==$v" || exit 1
    du -sh .gpu_data; ls .gpu_data/*
    exit 0
fi

if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then dir=$1; shift; else dir=${OUT:-gpu_check}; fi
mkdir -p "$dir" || exit 1
log="$dir/gpu_check.log"
{
    echo "gpu_check ($mode) $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(hostname), commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
    command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv
} >"$log" 2>&1
if ! "$PY" -c 'import fastcore' 2>/dev/null; then
    if ls .gpu_data/wheels/fastcore-*.whl >/dev/null 2>&1 &&
        "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/emm_site .gpu_data/wheels/*.whl >>"$log" 2>&1; then
        export PYTHONPATH="/tmp/emm_site${PYTHONPATH:+:$PYTHONPATH}"; echo "fastcore installed from .gpu_data/wheels" >>"$log"
    else echo "no fastcore: section gpu_run fails until emm_nb/study.py imports without it" >>"$log"; fi
fi
[ -z "${EMM_DATA:-}" ] && [ -d .gpu_data/cifar10 ] && export EMM_DATA="$PWD/.gpu_data/cifar10"   # none: a synthetic chunk
export PYTHONUNBUFFERED=1 MPLBACKEND=Agg PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
if [ "$mode" = quick ]; then "$PY" bench/device_check.py --quick --out "$dir" "$@" 2>&1 | tee -a "$log"
else timeout -k 15 "${GPU_CHECK_S:-480}" "$PY" bench/device_check.py --out "$dir" "$@" 2>&1 | tee -a "$log"; fi
rc=${PIPESTATUS[0]}
[ "$rc" = 124 ] && echo "gpu_check: stopped at ${GPU_CHECK_S:-480} s; $dir/device_check.json holds every figure measured" | tee -a "$log"
exit "$rc"
