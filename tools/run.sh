#!/usr/bin/env bash
# The README's main job: set up whatever is missing, then run the cpu study into study_out/ (arguments go to emm_study,
# e.g. --factors headline for the four headline experiments, --preset gpu on a GPU machine).
set -euo pipefail
cd "$(dirname "$0")/.."
. tools/setup.sh
exec emm_study --preset cpu --out study_out "$@"
