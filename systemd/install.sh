#!/usr/bin/env bash
# Installs mmcd: the binary, the configuration and the systemd units.
#
#   systemd/install.sh [--binary PATH] [--prefix PREFIX] [--root DIR]
#
#   --binary PATH   the mmcd executable to install (default: .build/release/mmcd; build it with
#                   `swift build -c release --product mmcd`)
#   --prefix PREFIX installation prefix of the binary (default /usr/local: /usr/local/bin/mmcd);
#                   the units are rewritten to start PREFIX/bin/mmcd
#   --root DIR      stage everything under DIR instead of / (also read from $DESTDIR), for
#                   packaging and tests; systemd is not told then
#
# Puts PREFIX/bin/mmcd, /etc/mmcd/mmcd.toml, /etc/default/mmcd and /etc/systemd/system/mmcd.service
# and mmcd@.service in place. An existing /etc/mmcd/mmcd.toml or /etc/default/mmcd is kept; when
# it differs from the shipped one, the shipped file is written beside it as *.dist.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(dirname "$here")"
binary="$repo/.build/release/mmcd"
prefix=/usr/local
root="${DESTDIR:-}"

usage() { sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; }

while [ $# -gt 0 ]; do
  case "$1" in
    --binary) binary="${2:?--binary needs a path}"; shift 2 ;;
    --prefix) prefix="${2:?--prefix needs a directory}"; shift 2 ;;
    --root) root="${2:?--root needs a directory}"; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "install.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
  esac
done

case "$prefix" in
  /*) ;;
  *) echo "install.sh: --prefix must be an absolute path, not $prefix" >&2; exit 2 ;;
esac
prefix="${prefix%/}"
root="${root%/}"

if [ ! -x "$binary" ]; then
  echo "install.sh: no executable at $binary; build it with 'swift build -c release --product mmcd' or pass --binary" >&2
  exit 1
fi

# Installs $1 as $2 with mode $3, keeping an existing different file and writing $2.dist beside it.
install_config() {
  local source="$1" target="$2" mode="$3"
  if [ -e "$target" ] && ! cmp -s "$source" "$target"; then
    install -m "$mode" "$source" "$target.dist"
    echo "kept $target; the shipped version is $target.dist"
  else
    install -m "$mode" "$source" "$target"
    echo "installed $target"
  fi
}

install -d -m 0755 "$root$prefix/bin" "$root/etc/mmcd" "$root/etc/default" "$root/etc/systemd/system"

install -m 0755 "$binary" "$root$prefix/bin/mmcd"
echo "installed $root$prefix/bin/mmcd"

install_config "$repo/config/mmcd.toml" "$root/etc/mmcd/mmcd.toml" 0644

scratch="$(mktemp)"
trap 'rm -f "$scratch"' EXIT
cat > "$scratch" <<'DEFAULTS'
# Extra command-line flags for mmcd.service (mmcd@NAME reads /etc/default/mmcd-NAME), e.g.
# MMCD_OPTS="--set log.level=debug --set schedule.interval_seconds=5"
MMCD_OPTS=""
DEFAULTS
install_config "$scratch" "$root/etc/default/mmcd" 0644

for unit in mmcd.service mmcd@.service; do
  sed "s#/usr/local/bin/mmcd#$prefix/bin/mmcd#g" "$here/$unit" > "$scratch"
  install -m 0644 "$scratch" "$root/etc/systemd/system/$unit"
  echo "installed $root/etc/systemd/system/$unit"
done

if [ -z "$root" ] && [ -d /run/systemd/system ] && command -v systemctl >/dev/null; then
  systemctl daemon-reload
  echo "systemd reloaded; start with: systemctl enable --now mmcd (or mmcd@NAME with /etc/mmcd/NAME.toml)"
else
  echo "systemd not told (staged install or systemd not running); run 'systemctl daemon-reload' on the target"
fi
