#!/usr/bin/env bash
# One command for a newcomer: install everything, then run the pipeline on the offline demo.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
.venv/bin/python scripts/demo.py
