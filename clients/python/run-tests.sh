#!/usr/bin/env bash
# Runs the Python client's tests against a real mmcd: makes a virtual environment outside the
# repository (MMCD_CLIENT_VENV, default ~/.cache/mmcd/python-client-venv), installs the package
# from this folder with pytest and pandas, and runs pytest (extra arguments go to it).
# The daemon is the `swift build` one of this repository unless MMCD_BIN (and MMC_BIN) name others.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
venv="${MMCD_CLIENT_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/mmcd/python-client-venv}"
[ -x "$venv/bin/python" ] || "${PYTHON:-python3}" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$here" pytest pandas
cd "$here"
exec "$venv/bin/python" -m pytest -p no:cacheprovider "$@"
