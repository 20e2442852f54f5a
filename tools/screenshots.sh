#!/usr/bin/env bash
# Browser check of the docs site: build it offline, open pages in headless Chromium (Debian's package) with
# every outside host unreachable, and save screenshots into docs/screenshots/ for a person to look at:
#   home.png        the home page (nbs/index.ipynb)
#   theory.png      the theory page (nbs/theory/); the data page 00_data until the theory notebook exists
#   api.png         an API page (00_data): show_doc signatures with their docments
#   experiment.png  the first experiment page (nbs/experiments/), when one exists
# Usage: bash tools/screenshots.sh            (installs chromium with apt-get when absent and run as root, ~1.5 min)
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-$( [ -x .venv/bin/python ] && echo .venv/bin/python || echo python3 )}"
OUT=docs/screenshots

if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" != 0 ]; then echo "chromium is not installed: apt-get update && apt-get install -y chromium (as root)" >&2; exit 1; fi
  echo "installing chromium (Debian package, ~1.5 min)"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi

"$PY" tools/build_docs.py
SITE="$PWD/_docs"

first() { # the first page matching a glob under _docs, or nothing
  (cd "$SITE" && for f in $1; do [ -f "$f" ] && { echo "$f"; return; }; done) || true
}
theory=$(first "theory/theory.html theory/*.html"); theory=${theory:-data.html}
experiment=$(first "experiments/index.html experiments/*.html experiments/*/*.html")

profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
shot() { # name page height
  # no network: every host name fails to resolve, so the page shows only what the site itself serves
  timeout 120 chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync --hide-scrollbars \
    --host-resolver-rules="MAP * ~NOTFOUND" --virtual-time-budget=3000 \
    --user-data-dir="$profile" --screenshot="$OUT/$1.png" --window-size=1280,"$3" \
    "file://$SITE/$2" >/dev/null 2>&1
  [ -s "$OUT/$1.png" ] || { echo "no screenshot of $2" >&2; exit 1; }
}
mkdir -p "$OUT"
rm -f "$OUT"/*.png
shot home index.html 1000
shot theory "$theory" 2000
[ -f "$SITE/data.html" ] && shot api data.html 1400
[ -n "$experiment" ] && shot experiment "$experiment" 1400

# small PNGs for the repository: a 256-colour palette keeps text and figures legible at a fraction of the size
"$PY" - "$OUT" <<'EOF'
import sys
from pathlib import Path
from PIL import Image
for p in sorted(Path(sys.argv[1]).glob('*.png')):
    Image.open(p).convert('RGB').quantize(256, method=Image.Quantize.MEDIANCUT).save(p, optimize=True)
    print(f"{p}: {p.stat().st_size/1e3:.0f} kB")
EOF
echo "pages: home=index.html theory=$theory experiment=${experiment:-none yet}"
