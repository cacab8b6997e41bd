#!/usr/bin/env bash
# Builds the Debian package of mmcd: dist/mmcd_<version>_<arch>.deb, installable on a Debian 12
# host without Swift (`apt-get install ./dist/mmcd_*.deb`).
#
#   scripts/package.sh
#
# The binaries come from a release build with the Swift runtime and FoundationEssentials linked
# in (--static-swift-stdlib; never full Foundation, which would add ICU's 34 MB to each): they
# need only Debian's own libraries (libzmq5, zlib, libstdc++, libc), which dpkg-shlibdeps turns
# into the package's Depends. They are stripped; their debug symbols go to
# dist/mmcd-dbgsym_<version>_<arch>.deb (/usr/lib/debug/.build-id/..., found by gdb through the
# binaries' build ids). Man pages come from the argument parsers (swift-argument-
# parser's generate-manual plugin, which runs the debug build's --experimental-dump-help: the
# options are the same in both builds), shell completions from --generate-completion-script.
#
# Layout: /usr/bin/mmcd, /usr/bin/mmc, /etc/mmcd/mmcd.toml and /etc/default/mmcd (conffiles),
# /lib/systemd/system/mmcd.service and mmcd@.service, /usr/share/doc/mmcd (README, operations,
# protocol, the example configuration), man pages mmcd(8), mmc(1), mmc-SUBCOMMAND(1), bash and
# zsh completions. Maintainer scripts: packaging/deb.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

scripts/deps.sh build
tools=()
for p in dpkg-dev binutils; do dpkg -s "$p" >/dev/null 2>&1 || tools+=("$p"); done
if [ ${#tools[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${tools[@]}"
fi

version=$(cat VERSION)
arch=$(dpkg --print-architecture)
name="mmcd_${version}_${arch}"

release=(-c release --static-swift-stdlib)
swift build "${release[@]}"
bin=$(swift build "${release[@]}" --show-bin-path)

# Nothing from the toolchain may be needed at run time.
for tool in mmcd mmc; do
  if ldd "$bin/$tool" | grep -E 'not found|swift|Foundation|dispatch|BlocksRuntime|/opt/'; then
    echo "package.sh: $tool links libraries that are not Debian's (above)" >&2
    exit 1
  fi
done

rm -rf "dist/$name" "dist/mmcd-dbgsym_${version}_${arch}"
stage="dist/$name"
debug="dist/mmcd-dbgsym_${version}_${arch}"
install -d "$stage/DEBIAN" "$stage/usr/bin" "$stage/etc/mmcd" "$stage/etc/default" \
  "$stage/lib/systemd/system" "$stage/usr/share/doc/mmcd/examples" "$stage/usr/share/man/man1" \
  "$stage/usr/share/man/man8" "$stage/usr/share/bash-completion/completions" \
  "$stage/usr/share/zsh/vendor-completions" "$debug/DEBIAN"

# Binaries, stripped; debug symbols by build id into the -dbgsym package.
for tool in mmcd mmc; do
  build_id=$(readelf -n "$bin/$tool" | sed -n 's/.*Build ID: \([0-9a-f]*\).*/\1/p')
  if [ -z "$build_id" ]; then
    echo "package.sh: $bin/$tool has no build id" >&2
    exit 1
  fi
  symbols="$debug/usr/lib/debug/.build-id/${build_id:0:2}/${build_id:2}.debug"
  install -d "$(dirname "$symbols")"
  objcopy --only-keep-debug --compress-debug-sections "$bin/$tool" "$symbols"
  chmod 0644 "$symbols"
  objcopy --strip-all "$bin/$tool" "$stage/usr/bin/$tool"
  chmod 0755 "$stage/usr/bin/$tool"
done

install -m 0644 config/mmcd.toml "$stage/etc/mmcd/mmcd.toml"
install -m 0644 packaging/deb/default "$stage/etc/default/mmcd"
install -m 0644 systemd/mmcd.service systemd/mmcd@.service "$stage/lib/systemd/system/"
install -m 0644 README.md docs/operations.md docs/protocol.md "$stage/usr/share/doc/mmcd/"
install -m 0644 config/mmcd.toml "$stage/usr/share/doc/mmcd/examples/mmcd.toml"
install -m 0644 packaging/deb/copyright "$stage/usr/share/doc/mmcd/copyright"

# Man pages from the argument parsers: mmc(1) and one page per subcommand, mmcd(8).
swift package plugin generate-manual --configuration debug --multi-page \
  --date "$(git log -1 --format=%cs 2>/dev/null || date +%F)"
pages=.build/plugins/GenerateManual/outputs
# mmc.feed.1 becomes mmc-feed(1), as git-commit(1); the generated pages of the help subcommands
# repeat mmc(1) and are left out.
for page in "$pages"/mmc/*.1; do
  command=$(basename "$page" .1)
  case "$command" in *.help) continue ;; esac
  title=${command//./-}
  sed -e "s/^\.Dt ${command^^} 1\$/.Dt ${title^^} 1/" "$page" | gzip -9n > "$stage/usr/share/man/man1/$title.1.gz"
done
# The daemon is a system administration command: section 8.
sed -e 's/^\.Dt MMCD 1$/.Dt MMCD 8/' "$pages/mmcd/mmcd.1" | gzip -9n > "$stage/usr/share/man/man8/mmcd.8.gz"

for tool in mmcd mmc; do
  "$stage/usr/bin/$tool" --generate-completion-script bash > "$stage/usr/share/bash-completion/completions/$tool"
  "$stage/usr/bin/$tool" --generate-completion-script zsh > "$stage/usr/share/zsh/vendor-completions/_$tool"
done

# Depends: the Debian packages of the libraries the binaries load, as dpkg-shlibdeps finds them.
shlibs=$(mktemp -d)
trap 'rm -rf "$shlibs"' EXIT
install -d "$shlibs/debian"
printf 'Source: mmcd\n\nPackage: mmcd\nArchitecture: any\n' > "$shlibs/debian/control"
depends=$(cd "$shlibs" && dpkg-shlibdeps -O "$repo/$stage/usr/bin/mmcd" "$repo/$stage/usr/bin/mmc" \
  | sed -n 's/^shlibs:Depends=//p')

installed_size=$(du -sk --exclude=DEBIAN "$stage" | cut -f1)
cat > "$stage/DEBIAN/control" <<CONTROL
Package: mmcd
Version: $version
Architecture: $arch
Maintainer: mmcd maintainers <mmcd@localhost>
Installed-Size: $installed_size
Depends: $depends
Section: net
Priority: optional
Homepage: file:///usr/share/doc/mmcd/README.md
Description: streaming mass-maximization clustering daemon
 mmcd subscribes to a ZeroMQ stream of sensor points, keeps mass-estimation trees over a
 sliding window, re-clusters the window by maximizing cluster mass and publishes the cluster
 updates on another ZeroMQ socket. It runs as the hardened systemd service mmcd.service, or
 as one mmcd@NAME instance per sensor group. mmc clusters and plots files and feeds and
 watches the daemon.
CONTROL
printf '/etc/mmcd/mmcd.toml\n/etc/default/mmcd\n' > "$stage/DEBIAN/conffiles"
install -m 0755 packaging/deb/postinst packaging/deb/prerm packaging/deb/postrm "$stage/DEBIAN/"
(cd "$stage" && find usr lib -type f -print0 | sort -z | xargs -0 md5sum > DEBIAN/md5sums)

cat > "$debug/DEBIAN/control" <<CONTROL
Package: mmcd-dbgsym
Version: $version
Architecture: $arch
Maintainer: mmcd maintainers <mmcd@localhost>
Installed-Size: $(du -sk --exclude=DEBIAN "$debug" | cut -f1)
Depends: mmcd (= $version)
Section: debug
Priority: optional
Description: debug symbols for mmcd
 The symbols of /usr/bin/mmcd and /usr/bin/mmc, by build id, for gdb and for symbolizing
 crash reports.
CONTROL

dpkg-deb --root-owner-group -Zxz --build "$stage" "dist/$name.deb"
dpkg-deb --root-owner-group -Zxz -z1 --build "$debug" "dist/mmcd-dbgsym_${version}_${arch}.deb"
rm -rf "$stage" "$debug"
ls -l "dist/$name.deb" "dist/mmcd-dbgsym_${version}_${arch}.deb"
