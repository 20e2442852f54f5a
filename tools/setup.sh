#!/usr/bin/env bash
# Set up whatever this machine is missing, then leave the venv active and EMM_DATA exported (source it: `. tools/setup.sh`).
# The venv .venv (python3.11), the package with its test and docs tools (reinstalled when settings.ini or setup.py
# change), KaTeX for the offline docs, and CIFAR-10: $EMM_DATA, else the shared copy beside the project, else
# ~/.cache/emm_nb/cifar10, else torchvision's download where the network allows; otherwise a clear error.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PY="${PYTHON:-python3.11}"
command -v "$PY" >/dev/null || { echo "setup: $PY not found: install Python 3.11 or set PYTHON" >&2; exit 1; }
[ -x .venv/bin/python ] || "$PY" -m venv .venv
. .venv/bin/activate                      # the venv first on PATH before any nbdev command
stamp=.venv/.emm_nb-installed
want="$(cat settings.ini setup.py | sha256sum | cut -c1-16)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "setup: installing torch and emm_nb[dev] into .venv (a few minutes, once)"
  pip install -q --upgrade pip >/dev/null
  pip install -q torch==2.14.1 torchvision==0.29.1
  pip install -q -e ".[dev]"
  echo "$want" > "$stamp"
fi
if [ ! -d tools/node_modules/katex ]; then
  if command -v npm >/dev/null; then npm ci --prefix tools --no-audit --no-fund --silent   # KaTeX for the offline docs build
  else echo "setup: npm not found: the docs build (tests/test_docs.py) needs it" >&2; fi
fi
if [ -z "${EMM_DATA:-}" ]; then
  for d in ../shared/data/cifar10 "$HOME/.cache/emm_nb/cifar10"; do
    if ls "$d"/train_*.npz >/dev/null 2>&1 || [ -d "$d/cifar-10-batches-py" ]; then EMM_DATA="$(cd "$d" && pwd)"; break; fi
  done
fi
if [ -z "${EMM_DATA:-}" ]; then
  EMM_DATA="$HOME/.cache/emm_nb/cifar10"
  echo "setup: no CIFAR-10 found; downloading it with torchvision into $EMM_DATA"
  python -c "from emm_nb.data import load_cifar10; load_cifar10('$EMM_DATA', download=True)" >/dev/null 2>&1 || {
    echo "setup: no CIFAR-10 and no download (no network?): set EMM_DATA to a folder of train_XX.npz chunks or one holding cifar-10-batches-py" >&2
    exit 1; }
fi
export EMM_DATA
