#!/usr/bin/env bash
# Set up whatever this machine is missing, then leave the venv active and EMM_DATA exported: source it
# (`. tools/setup.sh`, from any folder). Safe in an interactive shell: it changes neither the shell's options nor its
# working directory, and a step that fails prints why and returns 1 (the shell stays open).
# The venv .venv (python3.11), the package with its test and docs tools (reinstalled when settings.ini or setup.py
# change), KaTeX for the offline docs, and CIFAR-10: $EMM_DATA, else the shared copy beside the project, else
# ~/.cache/emm_nb/cifar10, else torchvision's download where the network allows; otherwise a clear error.
# EMM_SETUP_DATA=0 skips CIFAR-10 (the docs build does not read it).
_emm_setup() {
  local root py stamp want d
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)" || { echo "setup: cannot find the project folder" >&2; return 1; }
  py="${PYTHON:-python3.11}"
  command -v "$py" >/dev/null || { echo "setup: $py not found: install Python 3.11 or set PYTHON" >&2; return 1; }
  [ -x "$root/.venv/bin/python" ] || "$py" -m venv "$root/.venv" || { echo "setup: could not create $root/.venv" >&2; return 1; }
  . "$root/.venv/bin/activate" || { echo "setup: could not activate $root/.venv" >&2; return 1; }   # first on PATH
  stamp="$root/.venv/.emm_nb-installed"
  want="$(cat "$root/settings.ini" "$root/setup.py" | sha256sum | cut -c1-16)"
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    echo "setup: installing torch and emm_nb[dev] into .venv (a few minutes, once)"
    ( cd "$root" && pip install -q --upgrade pip >/dev/null && pip install -q torch==2.14.1 torchvision==0.29.1 \
      && pip install -q -e ".[dev]" ) || { echo "setup: pip install failed (see above)" >&2; return 1; }
    echo "$want" > "$stamp"
  fi
  if [ ! -d "$root/tools/node_modules/katex" ]; then
    if command -v npm >/dev/null; then   # KaTeX for the offline docs build
      npm ci --prefix "$root/tools" --no-audit --no-fund --silent || echo "setup: npm ci failed: the docs build (tools/docs.sh) needs KaTeX" >&2
    else echo "setup: npm not found: the docs build (tools/docs.sh, tests/test_docs.py) needs node and npm" >&2; fi
  fi
  [ "${EMM_SETUP_DATA:-1}" = 0 ] && return 0
  if [ -z "${EMM_DATA:-}" ]; then
    for d in "$root/../shared/data/cifar10" "$HOME/.cache/emm_nb/cifar10"; do
      if ls "$d"/train_*.npz >/dev/null 2>&1 || [ -d "$d/cifar-10-batches-py" ]; then EMM_DATA="$(cd "$d" && pwd)"; break; fi
    done
  fi
  if [ -z "${EMM_DATA:-}" ]; then
    echo "setup: no CIFAR-10 found; downloading it with torchvision into $HOME/.cache/emm_nb/cifar10"
    python -c "from emm_nb.data import load_cifar10; load_cifar10('$HOME/.cache/emm_nb/cifar10', download=True)" >/dev/null 2>&1 || {
      echo "setup: no CIFAR-10 and no download (no network?): set EMM_DATA to a folder of train_XX.npz chunks or one holding cifar-10-batches-py" >&2
      return 1; }
    EMM_DATA="$HOME/.cache/emm_nb/cifar10"
  fi
  export EMM_DATA
}
if _emm_setup; then unset -f _emm_setup; (return 0 2>/dev/null) && return 0; exit 0
else unset -f _emm_setup; (return 0 2>/dev/null) && return 1; exit 1; fi
