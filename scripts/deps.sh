#!/usr/bin/env bash
# Installs the system packages mmcd builds and tests against (Debian 12), unless already present.
set -euo pipefail
packages=(libzmq3-dev pkg-config zlib1g-dev python3 python3-venv chromium)
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
# The interop test runs the Python client's codec with the python3 on the PATH: it needs numpy.
python3 -c 'import numpy' >/dev/null 2>&1 || missing+=(python3-numpy)
[ ${#missing[@]} -eq 0 ] && exit 0
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}"
