#!/usr/bin/env bash
# make demo: vppsim (VPP stand-in) + four nginx backends + maglevd, all local.
# Usage: demo.sh start | stop | backend-stop N | backend-start N
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
top="$(cd "$here/../.." && pwd)"
run="${DEMO_DIR:-/run/vpp-maglev-demo}"
bin="${DEMO_BIN:-$top/target/release}"

nginx_conf() {
	local n=$1
	mkdir -p "$run/nginx$n"
	cat >"$run/nginx$n/nginx.conf" <<NGINX
daemon on;
master_process off;
pid $run/nginx$n/nginx.pid;
error_log $run/nginx$n/error.log warn;
events { worker_connections 64; }
http {
  access_log $run/nginx$n/access.log;
  client_body_temp_path $run/nginx$n/body;
  proxy_temp_path $run/nginx$n/proxy;
  fastcgi_temp_path $run/nginx$n/fastcgi;
  uwsgi_temp_path $run/nginx$n/uwsgi;
  scgi_temp_path $run/nginx$n/scgi;
  server {
    listen 127.0.99.$n:8080;
    location /healthz { return 200 "healthy\n"; }
    location / { return 200 "backend $n\n"; }
  }
}
NGINX
}

backend_start() { nginx_conf "$1"; nginx -c "$run/nginx$1/nginx.conf" -p "$run/nginx$1" -e "$run/nginx$1/error.log"; }
backend_stop() {
	local pidf="$run/nginx$1/nginx.pid"
	[ -f "$pidf" ] && kill "$(cat "$pidf")" 2>/dev/null || true
	rm -f "$pidf"
}

stop() {
	for f in maglevd vppsim; do
		[ -f "$run/$f.pid" ] && kill "$(cat "$run/$f.pid")" 2>/dev/null || true
	done
	for n in 1 2 3 4; do backend_stop "$n"; done
	sleep 0.3
	rm -rf "$run"
	echo "demo stopped and cleaned up"
}

start() {
	for p in "$bin/maglevd" "$bin/maglevc" "$bin/vppsim"; do
		[ -x "$p" ] || { echo "missing $p: run 'make build' first" >&2; exit 1; }
	done
	stop >/dev/null 2>&1 || true
	mkdir -p "$run"
	for n in 1 2 3 4; do backend_start "$n"; done
	"$bin/vppsim" --api-socket "$run/api.sock" --stats-socket "$run/stats.sock" \
		--control-socket "$run/vppsim-control.sock" --request-log "$run/vpp-requests.jsonl" --traffic \
		>"$run/vppsim.log" 2>&1 &
	echo $! >"$run/vppsim.pid"
	for _ in $(seq 50); do [ -S "$run/stats.sock" ] && break; sleep 0.1; done
	"$bin/maglevd" --config "$here/maglev.yaml" --grpc-addr "unix:$run/grpc.sock" \
		--metrics-addr 127.0.0.1:9091 --vpp-api-addr "$run/api.sock" --vpp-stats-addr "$run/stats.sock" \
		>"$run/maglevd.log" 2>&1 &
	echo $! >"$run/maglevd.pid"
	cat <<TXT

vpp-maglev demo is running (files in $run):
  vppsim   pid $(cat "$run/vppsim.pid")   (VPP stand-in with synthetic traffic)
  maglevd  pid $(cat "$run/maglevd.pid")  (log: $run/maglevd.log, metrics: http://127.0.0.1:9091/metrics)
           status page: http://127.0.0.1:9091/status (open it in a browser)
  nginx    127.0.99.1-4:8080

Try, in another terminal:
  export MAGLEV_SERVER=unix:$run/grpc.sock
  $bin/maglevc show frontends web
  $bin/maglevc show vpp lb state
  make demo-backend-stop N=1        # stop web1's nginx; watch maglevd drain it in VPP (and the status page)
  $bin/maglevc show vpp lb state
  make demo-backend-start N=1       # and bring it back
  $bin/maglevc watch events         # live transitions (Ctrl-C to stop)
  $bin/maglevc                      # the interactive shell (Tab, ?)
  tail -f $run/maglevd.log

Ctrl-C here (or 'make demo-stop') stops everything.
TXT
	trap 'echo; stop; exit 0' INT TERM
	tail -n +1 -f "$run/maglevd.log" &
	wait "$(cat "$run/maglevd.pid")" || true
	stop
}

case "${1:-start}" in
start) start ;;
stop) stop ;;
backend-stop) backend_stop "${2:?backend number 1-4}"; echo "stopped nginx $2 (127.0.99.$2)" ;;
backend-start) backend_start "${2:?backend number 1-4}"; echo "started nginx $2 (127.0.99.$2)" ;;
*) echo "usage: $0 start|stop|backend-stop N|backend-start N" >&2; exit 2 ;;
esac
