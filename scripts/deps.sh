#!/usr/bin/env bash
# Installs the system packages mmcd builds and tests against (Debian 12), unless already present.
#
#   scripts/deps.sh         # everything scripts/test.sh needs
#   scripts/deps.sh build   # only what `swift build` needs (scripts/demo.sh, scripts/package.sh)
#
# The test set adds python3 with venv and numpy (the Python client's tests) and chromium (the
# live page's browser tests), which with its recommends is some 130 packages the build never uses.
set -euo pipefail
case "${1:-test}" in
  build) packages=(libzmq3-dev pkg-config zlib1g-dev) ;;
  test) packages=(libzmq3-dev pkg-config zlib1g-dev python3 python3-venv chromium) ;;
  *) echo "usage: scripts/deps.sh [build|test]" >&2; exit 2 ;;
esac
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
# The interop test runs the Python client's codec with the python3 on the PATH: it needs numpy.
if [ "${1:-test}" = test ]; then
  python3 -c 'import numpy' >/dev/null 2>&1 || missing+=(python3-numpy)
fi
[ ${#missing[@]} -eq 0 ] && exit 0
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}"
