#!/bin/bash
# Checks the packages that build-deb.sh made, the way an operator would use
# them: lintian, then install, run, upgrade, remove and purge the package
# of this machine's architecture, then inspect the foreign-architecture
# package under qemu-user.
#
#   debian/check-package.sh [DEB...]
#
# Without arguments it checks the newest build/vpp-maglev_*_<arch>.deb of
# each architecture. Installing needs root and a machine where vpp-maglev
# is not installed (the package is purged at the end). If the group `vpp`
# does not exist it is created for the test and deleted afterwards, so that
# the postinst path that grants access to VPP's sockets is exercised.
set -euo pipefail

SRC=$(cd "$(dirname "$0")/.." && pwd)
PACKAGE=vpp-maglev
UNIT=vpp-maglevd.service
HOST_ARCH=$(dpkg --print-architecture)

failures=0
step() { printf '\n== %s\n' "$*"; }
ok() { printf '   ok: %s\n' "$*"; }
fail() {
	printf '   FAIL: %s\n' "$*" >&2
	failures=$((failures + 1))
}
die() {
	echo "check-package: $*" >&2
	exit 1
}
# check DESCRIPTION COMMAND...: runs COMMAND, records the outcome.
check() {
	local what=$1
	shift
	if "$@"; then ok "$what"; else fail "$what"; fi
}

for tool in lintian dpkg-deb groff file systemd-analyze; do
	command -v "$tool" >/dev/null || die "$tool is missing (make pkg-deps installs the tools)"
done

# --- which packages ----------------------------------------------------------

debs=("$@")
if [ ${#debs[@]} -eq 0 ]; then
	for arch in amd64 arm64; do
		newest=$(ls -t "$SRC"/build/${PACKAGE}_*_"$arch".deb 2>/dev/null | head -n 1 || true)
		[ -n "$newest" ] && debs+=("$newest")
	done
fi
[ ${#debs[@]} -gt 0 ] || die "no package found in build/; run make pkg-deb first"

native_deb=""
foreign_debs=()
for deb in "${debs[@]}"; do
	[ -f "$deb" ] || die "$deb: no such file"
	arch=$(dpkg-deb -f "$deb" Architecture)
	if [ "$arch" = "$HOST_ARCH" ]; then native_deb=$deb; else foreign_debs+=("$deb"); fi
done

# --- lintian -------------------------------------------------------------------

for deb in "${debs[@]}"; do
	step "lintian $(basename "$deb")"
	# Errors and warnings fail the check (a deliberate exception is an
	# override in debian/lintian-overrides, with its reason); info is shown
	# for the record.
	if lintian --fail-on error,warning --display-info --tag-display-limit 0 "$deb"; then
		ok "no lintian errors or warnings"
	else
		fail "lintian reports errors or warnings"
	fi
done

# --- man pages -----------------------------------------------------------------

step "manual pages render without warnings"
for page in man/maglevd.8 man/maglevc.1; do
	out=$(groff -man -ww -z "$SRC/$page" 2>&1)
	if [ -z "$out" ]; then ok "$page"; else fail "$page: $out"; fi
done

# --- foreign architectures -----------------------------------------------------

for deb in "${foreign_debs[@]}"; do
	arch=$(dpkg-deb -f "$deb" Architecture)
	step "$arch binaries of $(basename "$deb")"
	tmp=$(mktemp -d)
	dpkg-deb -x "$deb" "$tmp"
	case "$arch" in
	arm64) elf="ARM aarch64" qemu=qemu-aarch64-static sysroot=/usr/aarch64-linux-gnu ;;
	*)
		fail "no emulator known for $arch"
		continue
		;;
	esac
	for bin in usr/sbin/maglevd usr/bin/maglevc; do
		desc=$(file -b "$tmp/$bin")
		case "$desc" in
		*ELF*"$elf"*) ok "$bin: $desc" ;;
		*) fail "$bin is not an $elf ELF: $desc" ;;
		esac
	done
	if command -v "$qemu" >/dev/null && [ -d "$sysroot" ]; then
		if version=$(QEMU_LD_PREFIX=$sysroot "$qemu" "$tmp/usr/sbin/maglevd" --version); then
			ok "maglevd --version under $qemu: $version"
		else
			fail "maglevd --version under $qemu failed"
		fi
	else
		echo "   skipped: running under emulation needs $qemu (qemu-user-static) and $sysroot (libc6-$arch-cross)"
	fi
	rm -rf "$tmp"
done

# --- install, run, upgrade, remove, purge (native package) ---------------------

if [ -z "$native_deb" ]; then
	echo "check-package: no $HOST_ARCH package to install; install checks skipped" >&2
	[ "$failures" -eq 0 ] || exit 1
	exit 0
fi
[ "$(id -u)" -eq 0 ] || die "installing $native_deb needs root"
if dpkg-query -W -f '${Status}' "$PACKAGE" 2>/dev/null | grep -q 'installed'; then
	die "$PACKAGE is installed on this machine; the check would purge it. Remove it first"
fi

created_vpp_group=0
cleanup() {
	dpkg --purge "$PACKAGE" >/dev/null 2>&1 || true
	if [ "$created_vpp_group" = 1 ]; then
		delgroup --quiet vpp >/dev/null 2>&1 || groupdel vpp 2>/dev/null || true
	fi
}
trap cleanup EXIT
if ! getent group vpp >/dev/null; then
	addgroup --system --quiet vpp
	created_vpp_group=1
fi
user_existed=0
getent passwd maglevd >/dev/null && user_existed=1

step "dpkg -i $(basename "$native_deb")"
check "package installs" dpkg -i "$native_deb"

step "installed system"
check "system user maglevd exists" getent passwd maglevd
check "system group maglevd exists" getent group maglevd
check "maglevd is in group vpp" bash -c 'id -nG maglevd | tr " " "\n" | grep -qx vpp'
check "maglevd has no login shell" bash -c '[ "$(getent passwd maglevd | cut -d: -f7)" = /usr/sbin/nologin ]'
for f in /usr/sbin/maglevd /usr/bin/maglevc /usr/share/man/man8/maglevd.8.gz \
	/usr/share/man/man1/maglevc.1.gz /lib/systemd/system/$UNIT /etc/default/vpp-maglev \
	/etc/vpp-maglev/maglev.yaml /usr/share/doc/$PACKAGE/copyright \
	/usr/share/doc/$PACKAGE/changelog.gz; do
	check "$f installed" test -e "$f"
done
check "config is 0640 root:maglevd" bash -c '[ "$(stat -c "%a %U:%G" /etc/vpp-maglev/maglev.yaml)" = "640 root:maglevd" ]'
check "conffiles registered" bash -c "dpkg-query -W -f '\${Conffiles}' $PACKAGE | grep -q /etc/vpp-maglev/maglev.yaml"
check "unit enabled" test -L /etc/systemd/system/multi-user.target.wants/$UNIT
check "maglevd --version" /usr/sbin/maglevd --version
check "maglevc finds its libraries" bash -c '! ldd /usr/bin/maglevc | grep -q "not found"'
step "example config passes --check as user maglevd"
check "maglevd --config /etc/vpp-maglev/maglev.yaml --check" \
	runuser -u maglevd -- /usr/sbin/maglevd --config /etc/vpp-maglev/maglev.yaml --check
check "installed man pages render without warnings" bash -c \
	'for p in /usr/share/man/man8/maglevd.8.gz /usr/share/man/man1/maglevc.1.gz; do
		out=$(zcat "$p" | groff -man -ww -z 2>&1); [ -z "$out" ] || { echo "$p: $out"; exit 1; }
	done'

step "smoke run: the installed maglevd as user maglevd, queried with maglevc"
# Loopback only: one static backend (never probed) and VPP disabled.
smoke=$(mktemp -d)
chmod 0755 "$smoke"
cat >"$smoke/maglev.yaml" <<'YAML'
maglev:
  backends:
    local0: {address: 127.0.0.1}
  frontends:
    smoke:
      address: 192.0.2.1
      protocol: tcp
      port: 80
      pools:
        - name: primary
          backends: {local0: {}}
YAML
chmod 0644 "$smoke/maglev.yaml"
ports=$(python3 -c 'import socket
ss = [socket.socket() for _ in range(2)]
for s in ss: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in ss))')
read -r grpc_port metrics_port <<<"$ports"
# setpriv execs maglevd in place, so $! is maglevd itself and receives the
# SIGTERM below directly.
setpriv --reuid=maglevd --regid=maglevd --init-groups \
	/usr/sbin/maglevd --config "$smoke/maglev.yaml" --vpp-api-addr= \
	--grpc-addr "127.0.0.1:$grpc_port" --metrics-addr "127.0.0.1:$metrics_port" \
	>"$smoke/maglevd.log" 2>&1 &
daemon=$!
answered=0
for _ in $(seq 1 100); do
	if timeout 5 /usr/bin/maglevc --server "127.0.0.1:$grpc_port" show version >"$smoke/version" 2>&1; then
		answered=1
		break
	fi
	kill -0 "$daemon" 2>/dev/null || break
	sleep 0.1
done
if [ "$answered" = 1 ]; then ok "maglevc show version answered"; else fail "maglevd did not answer maglevc within 10 s"; fi
check "maglevc show backends lists the backend" bash -c \
	"timeout 5 /usr/bin/maglevc --server 127.0.0.1:$grpc_port show backends | grep -q local0"
check "GET /metrics serves maglev_build_info" bash -c \
	"python3 -c 'import sys, urllib.request; sys.exit(b\"maglev_build_info\" not in urllib.request.urlopen(sys.argv[1], timeout=5).read())' http://127.0.0.1:$metrics_port/metrics"
check "first log line is 'starting'" bash -c "head -n 1 '$smoke/maglevd.log' | grep -q 'starting version='"
if kill -TERM "$daemon" 2>/dev/null; then
	rc=0
	wait "$daemon" || rc=$?
	if [ "$rc" = 0 ]; then ok "SIGTERM stops maglevd with status 0"; else fail "maglevd exited with $rc after SIGTERM"; fi
else
	wait "$daemon" || true
	fail "maglevd was not running at the end of the smoke run"
fi
if [ "$failures" -gt 0 ]; then
	echo "   maglevd log:"
	sed 's/^/     /' "$smoke/maglevd.log"
fi

step "the default gRPC socket, as the unit runs it"
# RuntimeDirectory= makes /run/vpp-maglev for the unit; here the check does.
made_run_dir=0
if [ ! -d /run/vpp-maglev ]; then
	install -d -o maglevd -g maglevd -m 0755 /run/vpp-maglev
	made_run_dir=1
fi
setpriv --reuid=maglevd --regid=maglevd --init-groups \
	/usr/sbin/maglevd --config "$smoke/maglev.yaml" --vpp-api-addr= --metrics-addr= \
	>"$smoke/socket.log" 2>&1 &
daemon=$!
for _ in $(seq 1 100); do
	[ -S /run/vpp-maglev/maglevd.sock ] && break
	sleep 0.1
done
check "socket is 0660 maglevd:maglevd" bash -c \
	'[ "$(stat -c "%a %U:%G" /run/vpp-maglev/maglevd.sock)" = "660 maglevd:maglevd" ]'
check "maglevc reaches it without --server (as root)" bash -c \
	"timeout 5 /usr/bin/maglevc show backends | grep -q local0"
kill -TERM "$daemon" 2>/dev/null || true
wait "$daemon" || true
[ "$made_run_dir" = 1 ] && rm -rf /run/vpp-maglev
rm -rf "$smoke"

step "systemd-analyze verify $UNIT"
if out=$(systemd-analyze verify "/lib/systemd/system/$UNIT" 2>&1) && [ -z "$out" ]; then
	ok "unit verifies cleanly"
else
	fail "systemd-analyze verify: $out"
fi

step "upgrade (reinstall of the same package)"
check "package reinstalls" dpkg -i "$native_deb"
check "user still there" getent passwd maglevd

step "dpkg --remove"
check "package removes" dpkg --remove "$PACKAGE"
check "maglevd binary gone" test ! -e /usr/sbin/maglevd
check "maglevc binary gone" test ! -e /usr/bin/maglevc
check "unit file gone" test ! -e /lib/systemd/system/$UNIT
check "conffiles kept after remove" test -e /etc/vpp-maglev/maglev.yaml

step "dpkg --purge"
check "package purges" dpkg --purge "$PACKAGE"
check "/etc/vpp-maglev/maglev.yaml gone" test ! -e /etc/vpp-maglev/maglev.yaml
check "/etc/vpp-maglev gone" test ! -e /etc/vpp-maglev
check "/etc/default/vpp-maglev gone" test ! -e /etc/default/vpp-maglev
check "no enablement symlink left" test ! -e /etc/systemd/system/multi-user.target.wants/$UNIT
check "package unknown to dpkg" bash -c "! dpkg-query -W -f '\${Status}' $PACKAGE 2>/dev/null | grep -q 'installed\|config-files'"
# Debian policy: system users are not removed on purge.
check "user maglevd kept after purge (policy)" getent passwd maglevd
if [ "$user_existed" = 0 ]; then
	echo "   note: the test created the system user maglevd; remove it with: deluser --system maglevd"
fi

echo
if [ "$failures" -gt 0 ]; then
	echo "check-package: $failures check(s) FAILED" >&2
	exit 1
fi
echo "check-package: all checks passed"
