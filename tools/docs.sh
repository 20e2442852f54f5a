#!/usr/bin/env bash
# The README's docs command: set up whatever is missing (tools/setup.sh: the venv with nbdev and smalldocs, KaTeX under
# node), then build the site offline into _docs/ (tools/build_docs.py: no Quarto, no network). Arguments go to
# build_docs.py, e.g. --out DIR or --strict. Open _docs/index.html in a browser.
set -euo pipefail
cd "$(dirname "$0")/.."
EMM_SETUP_DATA=0 . tools/setup.sh   # the build reads the notebooks' saved outputs, not CIFAR-10
export MPLBACKEND=Agg
exec python tools/build_docs.py "$@"
