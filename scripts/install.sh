#!/usr/bin/env bash
# Installs everything elixir-harvest needs into ./.venv: the Elixir compiler (ground truth for
# extraction and the evaluation executor), the pinned CPU build of PyTorch, then the project.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v elixir >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q elixir
  else
    sudo apt-get update -q && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -q elixir
  fi
fi
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/pip install -q --disable-pip-version-check torch==2.13.0
.venv/bin/pip install -q --disable-pip-version-check -e ".[train,dev]"
