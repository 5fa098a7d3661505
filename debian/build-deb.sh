#!/bin/bash
# Builds build/vpp-maglev_<version>~<commit>_<arch>.deb for one Debian
# architecture (amd64 or arm64) from a staged tree with dpkg-deb.
#
#   debian/build-deb.sh ARCH
#
# The version comes from [workspace.package] in Cargo.toml, the commit
# from git. A foreign architecture is cross-compiled with Debian's
# gcc/g++ cross toolchain (packages gcc-<triplet> and g++-<triplet>) and
# needs the Rust standard library for the target (rustup target add).
#
# Environment:
#   CARGO              cargo to use (default: cargo)
#   CARGO_TARGET_DIR   honoured as by cargo
#   DEB_MAINTAINER     Maintainer field (default: the project's address)
#   SKIP_CARGO_BUILD=1 package the binaries already built
#
# Exit status: 0 built, 1 error, 3 the cross toolchain or the Rust target
# for ARCH is missing (nothing was built; the message says what to install).
set -euo pipefail

readonly EXIT_MISSING_TOOLCHAIN=3

die() {
	echo "build-deb: $*" >&2
	exit 1
}
missing() {
	echo "build-deb: cannot build for $ARCH: $*" >&2
	exit "$EXIT_MISSING_TOOLCHAIN"
}

[ $# -eq 1 ] || die "usage: $0 amd64|arm64"
ARCH=$1
case "$ARCH" in
amd64) RUST_TARGET=x86_64-unknown-linux-gnu GNU_TRIPLET=x86_64-linux-gnu ;;
arm64) RUST_TARGET=aarch64-unknown-linux-gnu GNU_TRIPLET=aarch64-linux-gnu ;;
*) die "unsupported architecture '$ARCH' (use amd64 or arm64)" ;;
esac

SRC=$(cd "$(dirname "$0")/.." && pwd)
cd "$SRC"
CARGO=${CARGO:-cargo}
MAINTAINER=${DEB_MAINTAINER:-vpp-maglev developers <vpp-maglev@users.noreply.github.com>}
PACKAGE=vpp-maglev

# --- version -------------------------------------------------------------

UPSTREAM_VERSION=$(awk '
	/^\[/ { in_ws = ($0 == "[workspace.package]") }
	in_ws && $1 == "version" { gsub(/[" ]/, "", $3); print $3; exit }
' Cargo.toml)
[ -n "$UPSTREAM_VERSION" ] || die "no version in [workspace.package] of Cargo.toml"
COMMIT=$(git rev-parse --short HEAD 2>/dev/null) ||
	die "not a git checkout: the package version needs the commit (git rev-parse --short HEAD)"
VERSION="${UPSTREAM_VERSION}~${COMMIT}"
# Reproducible: timestamps (build date in --version, dpkg-deb mtimes) come
# from the commit, not from the clock.
SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct)}
export SOURCE_DATE_EPOCH
export MAGLEV_COMMIT=$COMMIT

# --- build ---------------------------------------------------------------

HOST_ARCH=$(dpkg --print-architecture)
TARGET_DIR=$("$CARGO" metadata --format-version 1 --no-deps |
	python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])') ||
	die "cargo metadata failed"

if [ "$ARCH" = "$HOST_ARCH" ]; then
	BIN_DIR="$TARGET_DIR/release"
	STRIP=strip
	CARGO_ARGS=()
else
	BIN_DIR="$TARGET_DIR/$RUST_TARGET/release"
	STRIP=$GNU_TRIPLET-strip
	CARGO_ARGS=(--target "$RUST_TARGET")
	for tool in "$GNU_TRIPLET-gcc" "$GNU_TRIPLET-g++" "$GNU_TRIPLET-ar" "$STRIP"; do
		command -v "$tool" >/dev/null ||
			missing "$tool not found; install gcc-$GNU_TRIPLET and g++-$GNU_TRIPLET"
	done
	# grpcio-sys links gRPC's TLS against the target's OpenSSL.
	[ -e "/usr/lib/$GNU_TRIPLET/libssl.so" ] ||
		missing "OpenSSL for $ARCH is not installed; run: dpkg --add-architecture $ARCH && apt-get update && apt-get install libssl-dev:$ARCH"
	sysroot=$(rustc --print sysroot)
	[ -d "$sysroot/lib/rustlib/$RUST_TARGET/lib" ] ||
		missing "the Rust standard library for $RUST_TARGET is not installed in $sysroot; run: rustup target add $RUST_TARGET"
	# cc-rs (ring, zlib) and grpcio-sys (gRPC C-core via CMake) pick the
	# compilers from these; the toolchain file tells CMake it cross-builds.
	target_env=${RUST_TARGET//-/_}
	export "CC_$target_env=$GNU_TRIPLET-gcc"
	export "CXX_$target_env=$GNU_TRIPLET-g++"
	export "AR_$target_env=$GNU_TRIPLET-ar"
	export "CARGO_TARGET_${target_env^^}_LINKER=$GNU_TRIPLET-gcc"
	export "CMAKE_TOOLCHAIN_FILE_$target_env=$SRC/debian/cross/$GNU_TRIPLET.cmake"
	export PKG_CONFIG_ALLOW_CROSS=1
fi

if [ "${SKIP_CARGO_BUILD:-0}" != 1 ]; then
	echo "build-deb: cargo build --release ${CARGO_ARGS[*]} -p maglevd -p maglevc (commit $COMMIT)"
	"$CARGO" build --release --locked "${CARGO_ARGS[@]}" -p maglevd -p maglevc
fi
for bin in maglevd maglevc; do
	[ -x "$BIN_DIR/$bin" ] || die "$BIN_DIR/$bin was not built"
done

# --- stage ---------------------------------------------------------------

WORK="$SRC/build/pkg-$ARCH"
ROOT="$WORK/root"
rm -rf "$WORK"
mkdir -p "$ROOT/DEBIAN"

install -D -m 0755 "$BIN_DIR/maglevd" "$ROOT/usr/sbin/maglevd"
install -D -m 0755 "$BIN_DIR/maglevc" "$ROOT/usr/bin/maglevc"
# The same flags as Debian's dh_strip.
"$STRIP" --remove-section=.comment --remove-section=.note --strip-unneeded \
	"$ROOT/usr/sbin/maglevd" "$ROOT/usr/bin/maglevc"

install -d "$ROOT/usr/share/man/man8" "$ROOT/usr/share/man/man1"
gzip -9n <man/maglevd.8 >"$ROOT/usr/share/man/man8/maglevd.8.gz"
gzip -9n <man/maglevc.1 >"$ROOT/usr/share/man/man1/maglevc.1.gz"

install -D -m 0644 debian/vpp-maglevd.service "$ROOT/lib/systemd/system/vpp-maglevd.service"
install -D -m 0644 debian/default.vpp-maglev "$ROOT/etc/default/vpp-maglev"
[ -f debian/maglev.yaml ] || die "debian/maglev.yaml (the example config) is missing"
# The config may hold secrets (healthcheck headers): 0640, and the
# postinst gives it to group maglevd, which exists only on the target.
install -D -m 0640 debian/maglev.yaml "$ROOT/etc/vpp-maglev/maglev.yaml"

DOC="$ROOT/usr/share/doc/$PACKAGE"
install -D -m 0644 debian/copyright "$DOC/copyright"
# A native package (the version has no Debian revision: this project is its
# own upstream), so policy names the changelog changelog.gz.
sed "1s/^$PACKAGE ([^)]*)/$PACKAGE ($VERSION)/" debian/changelog | gzip -9n >"$DOC/changelog.gz"
for doc in docs/user-guide.md docs/config-guide.md docs/healthchecks.md; do
	if [ -f "$doc" ]; then
		# Like dh_compress: documentation over 4 KiB is compressed.
		if [ "$(stat -c %s "$doc")" -gt 4096 ]; then
			gzip -9n <"$doc" >"$DOC/$(basename "$doc").gz"
			chmod 0644 "$DOC/$(basename "$doc").gz"
		else
			install -m 0644 "$doc" "$DOC/"
		fi
	else
		echo "build-deb: warning: $doc is missing, not shipped" >&2
	fi
done
install -D -m 0644 debian/lintian-overrides "$ROOT/usr/share/lintian/overrides/$PACKAGE"
find "$ROOT" -type d -exec chmod 0755 {} +
find "$ROOT/usr/share" -type f -exec chmod 0644 {} +

# --- control -------------------------------------------------------------

# Shared-library dependencies of the binaries, computed by dpkg-shlibdeps.
# For a cross build the libraries are the cross toolchain's (in
# /usr/<triplet>/lib, from libc6-arm64-cross etc.); their shlibs files name
# the real packages with an architecture qualifier (libc6:arm64 (>= 2.36))
# or as the cross package (libgcc-s1-arm64-cross (>= 4.2)), and both are
# mapped back to the plain package names. Those minimums are coarser than
# the per-symbol ones of a native build (libc6 >= the cross glibc's
# version), which is correct for the Debian release the cross toolchain
# comes from and later ones.
shlibs_depends() {
	local tmp out
	tmp=$(mktemp -d)
	mkdir -p "$tmp/debian"
	printf 'Source: %s\n\nPackage: %s\nArchitecture: any\n' "$PACKAGE" "$PACKAGE" >"$tmp/debian/control"
	local args=(-O -e"$ROOT/usr/sbin/maglevd" -e"$ROOT/usr/bin/maglevc")
	if [ "$ARCH" != "$HOST_ARCH" ]; then
		args=(-l"/usr/$GNU_TRIPLET/lib" "${args[@]}")
	fi
	if ! out=$(cd "$tmp" && DEB_HOST_ARCH=$ARCH dpkg-shlibdeps "${args[@]}" 2>"$tmp/err"); then
		cat "$tmp/err" >&2
		rm -rf "$tmp"
		return 1
	fi
	rm -rf "$tmp"
	out=${out#shlibs:Depends=}
	out=${out//-$ARCH-cross/}
	echo "${out//:$ARCH/}"
}
SHLIBS=$(shlibs_depends) || die "dpkg-shlibdeps could not compute the library dependencies"
[ -n "$SHLIBS" ] || die "dpkg-shlibdeps found no library dependencies"
case "$SHLIBS" in
*cross* | *:*) die "library dependencies still name cross packages or architectures: $SHLIBS" ;;
esac

INSTALLED_SIZE=$(du -k -s --exclude=DEBIAN "$ROOT" | cut -f1)
sed -e "s/@VERSION@/$VERSION/" \
	-e "s/@ARCH@/$ARCH/" \
	-e "s/@MAINTAINER@/$MAINTAINER/" \
	-e "s/@INSTALLED_SIZE@/$INSTALLED_SIZE/" \
	-e "s/@SHLIBS_DEPENDS@/$SHLIBS/" \
	debian/control.in >"$ROOT/DEBIAN/control"
grep -q '@[A-Z_]*@' "$ROOT/DEBIAN/control" && die "unsubstituted field in DEBIAN/control"

install -m 0644 debian/conffiles "$ROOT/DEBIAN/conffiles"
for script in postinst prerm postrm; do
	install -m 0755 "debian/$script" "$ROOT/DEBIAN/$script"
done
(cd "$ROOT" && find . -type f ! -path './DEBIAN/*' -printf '%P\n' | LC_ALL=C sort |
	xargs -d '\n' md5sum >DEBIAN/md5sums)
chmod 0644 "$ROOT/DEBIAN/md5sums"

# --- package -------------------------------------------------------------

OUT="$SRC/build/${PACKAGE}_${VERSION}_${ARCH}.deb"
dpkg-deb --root-owner-group -Zxz --build "$ROOT" "$OUT" >/dev/null
echo "build-deb: built ${OUT#"$SRC"/}"
