#!/usr/bin/env bash
# callgrind_cost.sh: what one proxied request costs Portico, in user-space instructions, measured
# deterministically under valgrind's callgrind (no timing noise from other tenants).
#
#   bench/callgrind_cost.sh                         # every variant below
#   VARIANTS="plain observed" bench/callgrind_cost.sh
#   PORTICO_BIN=/path/to/portico KEEP=1 bench/callgrind_cost.sh
#
# For each variant Portico runs under callgrind (one worker), gets N keep-alive GETs of a 13-byte
# body through one connection after a warm-up, and exits; the per-request cost is
# (instructions(N2) - instructions(N1)) / (N2 - N1), so start-up, config load and exit cancel out.
# Every thread counts (the access-log writer, the span exporter), as they share the proxy's core.
# Variants (Portico config on top of one service and one `/` route):
#   plain        nothing else
#   access       the access log (default fields) to a file
#   prom         the prometheus plugin, every family on
#   otel1        the opentelemetry plugin, sampling_rate 0.01, exporting OTLP to the origin
#   otel100      the same at sampling_rate 1
#   observed     access + prom + otel1 (proxy_bench.sh's portico+observed)
#   observed100  access + prom + otel100 (portico+observed100)
# Needs valgrind, nginx (the origin), curl and python3. KEEP=1 keeps the callgrind files (for
# callgrind_annotate) in the printed directory.
set -euo pipefail
BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
PORTICO_BIN=${PORTICO_BIN:-"$BENCH_DIR/../build/portico"}
VARIANTS=${VARIANTS:-"plain access prom otel1 otel100 observed observed100"}
N1=${N1:-1000}
N2=${N2:-3000}
die() { echo "callgrind_cost: $*" >&2; exit 1; }
for tool in valgrind nginx curl python3; do command -v $tool >/dev/null || die "needs $tool"; done
[[ -x $PORTICO_BIN ]] || die "portico binary '$PORTICO_BIN' not found (set PORTICO_BIN)"

TMP=$(mktemp -d /tmp/portico-cg.XXXXXX)
mapfile -t PORTS < <(python3 "$BENCH_DIR/lib/free_ports.py" 3)
ORIGIN_PORT=${PORTS[0]} PROXY_PORT=${PORTS[1]} ADMIN_PORT=${PORTS[2]}
ORIGIN_PID=
PORTICO_PID=
cleanup() {
  [[ -n $PORTICO_PID ]] && kill "$PORTICO_PID" 2>/dev/null || true
  [[ -n $ORIGIN_PID ]] && kill "$ORIGIN_PID" 2>/dev/null || true
  if [[ ${KEEP:-0} == 1 ]]; then echo "callgrind files kept in $TMP"; else rm -rf "$TMP"; fi
}
trap cleanup EXIT

# The origin: proxy_bench.sh's nginx (answers /small and accepts OTLP posts on /v1/traces).
mkdir -p "$TMP/origin"
head -c 16384 /dev/zero >"$TMP/origin/16k.bin"
sed -e "s|@TMP@|$TMP|g" -e "s|@ORIGIN_PORT@|$ORIGIN_PORT|g" "$BENCH_DIR/conf/origin_nginx.conf.tmpl" \
  >"$TMP/origin/nginx.conf"
nginx -c "$TMP/origin/nginx.conf" -p "$TMP/origin" >"$TMP/origin/stdout.log" 2>&1 &
ORIGIN_PID=$!
for _ in $(seq 100); do curl -sf -o /dev/null "http://127.0.0.1:$ORIGIN_PORT/small" && break; sleep 0.1; done
curl -sf -o /dev/null "http://127.0.0.1:$ORIGIN_PORT/small" || die "origin nginx did not start"

config() {  # config VARIANT > portico.yaml
  local access=off prom=0 sampling=
  case $1 in
    plain) ;;
    access) access=$TMP/access.log ;;
    prom) prom=1 ;;
    otel1) sampling=0.01 ;;
    otel100) sampling=1 ;;
    observed) access=$TMP/access.log prom=1 sampling=0.01 ;;
    observed100) access=$TMP/access.log prom=1 sampling=1 ;;
    *) die "unknown variant '$1'" ;;
  esac
  cat <<EOF
_format_version: "3.0"
portico:
  listen: ["127.0.0.1:$PROXY_PORT"]
  admin_listen: "127.0.0.1:$ADMIN_PORT"
  workers: 1
  access_log: "$access"
services:
  - name: origin
    url: http://127.0.0.1:$ORIGIN_PORT
    routes:
      - name: all
        paths: ["/"]
        strip_path: false
EOF
  [[ $prom == 1 || -n $sampling ]] && echo "plugins:"
  if [[ $prom == 1 ]]; then
    echo "  - name: prometheus"
    echo "    config: {status_code_metrics: true, latency_metrics: true, bandwidth_metrics: true, upstream_health_metrics: true}"
  fi
  if [[ -n $sampling ]]; then
    echo "  - name: opentelemetry"
    echo "    config: {traces_endpoint: http://127.0.0.1:$ORIGIN_PORT/v1/traces, sampling_rate: $sampling, batch_span_count: 200, batch_flush_delay: 1}"
  fi
}

instructions() {  # instructions VARIANT N: total instructions of one run
  local out="$TMP/cg.$1.$2"
  valgrind --tool=callgrind --callgrind-out-file="$out.out" "$PORTICO_BIN" run -c "$TMP/$1.yaml" --workers 1 \
    >/dev/null 2>"$out.err" &
  PORTICO_PID=$!
  for _ in $(seq 300); do curl -s -o /dev/null "http://127.0.0.1:$PROXY_PORT/small" && break; sleep 0.1; done
  python3 - "$PROXY_PORT" "$2" <<'PY' || die "requests failed"
import socket, sys
port, n = int(sys.argv[1]), int(sys.argv[2])
s = socket.create_connection(("127.0.0.1", port))
req = b"GET /small HTTP/1.1\r\nHost: x\r\nUser-Agent: cg\r\n\r\n"
buf = b""
for _ in range(n):
    s.sendall(req)
    while True:
        if b"\r\n\r\n" in buf:
            head, rest = buf.split(b"\r\n\r\n", 1)
            length = [int(l.split(b":")[1]) for l in head.split(b"\r\n") if l.lower().startswith(b"content-length")][0]
            if len(rest) >= length:
                buf = rest[length:]
                break
        data = s.recv(65536)
        if not data:
            sys.exit(1)
        buf += data
s.close()
PY
  sleep 1
  kill -INT "$PORTICO_PID"
  wait "$PORTICO_PID" 2>/dev/null || true
  PORTICO_PID=
  awk '/Collected/ {print $4}' "$out.err"
}

printf '%-12s %12s %10s\n' variant "instr/req" "vs plain"
plain=
for v in $VARIANTS; do
  config "$v" >"$TMP/$v.yaml"
  a=$(instructions "$v" "$N1")
  b=$(instructions "$v" "$N2")
  per=$(((b - a) / (N2 - N1)))
  [[ $v == plain ]] && plain=$per
  if [[ -n $plain && $v != plain ]]; then
    printf '%-12s %12d %+10d\n' "$v" "$per" $((per - plain))
  else
    printf '%-12s %12d %10s\n' "$v" "$per" ""
  fi
done
