#!/usr/bin/env bash
# The README's main job: set up whatever is missing, then run the cpu study's main experiments (the four headline
# experiments, width and skips) into study_out/. Arguments go to emm_study and override these: --factors all for
# every experiment, --preset gpu on a GPU machine.
set -euo pipefail
cd "$(dirname "$0")/.."
. tools/setup.sh
exec emm_study --preset cpu --out study_out --factors main "$@"
