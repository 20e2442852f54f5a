#!/usr/bin/env bash
# The test command of the README: set up whatever is missing, then the notebook tests (nbdev_test) and pytest.
# Fails if either runs nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
. tools/setup.sh
export MPLBACKEND=Agg             # tests draw off-screen (the study's notebook kernels draw inline: see emm_nb.runner)
# nbdev_test runs 2 notebooks at once on 2 cores: one OpenMP thread each avoids spin-wait oversubscription
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"
out=$(nbdev_test --n_workers 2 --timing 2>&1) || { echo "$out"; exit 1; }
echo "$out"
if echo "$out" | grep -q "No files were eligible"; then echo "nbdev_test ran no notebook" >&2; exit 1; fi
# pytest on two workers (pytest-xdist), one test file per worker (module fixtures such as the docs build run once):
# about 40 % less wall time on 2 cores than one process; EMM_TEST_WORKERS=0 runs in this process
python -m pytest -q -n "${EMM_TEST_WORKERS:-2}" --dist loadfile tests "$@"
