#!/usr/bin/env bash
# shellcheck disable=SC2317  # stop_pid/cleanup are called from traps
# proxy_bench.sh: Portico vs nginx vs HAProxy, same machine, same run.
#
# Topology (2 cores):  core PROXY_CPU (0): the proxy under test, one worker
#                      core LOAD_CPU  (1): wrk + the origin (nginx, 1 worker)
# Every proxy keeps a keep-alive pool to the origin; wrk uses keep-alive too.
# The headline number is requests per proxy CPU-second: it does not depend on
# whether the proxy core or the load core saturates first.
#
# Environment (defaults in brackets):
#   DURATION [5]     seconds per measured run      WARMUP [1]  seconds of warm-up before each run
#   ROUNDS [3]       alternating rounds            CONNECTIONS [32]   THREADS [1] (wrk)
#   PROXIES ["nginx haproxy portico"]              SIZES ["small 16k"]
#   PORTICO_BIN [<script dir>/../build/portico]    RESULTS_DIR [<script dir>/results]
#   PROXY_CPU [0]  LOAD_CPU [1]  READY_TIMEOUT [20] seconds to wait for a server to answer
#   NGINX_BIN, HAPROXY_BIN, WRK_BIN [found on PATH / in /usr/sbin]
#   MODE [http]      http, or https: wrk speaks TLS to the proxy (keep-alive), which terminates it
#                    with the same throwaway certificate (ECDSA P-256, made with `openssl req` in
#                    the temp dir) and the same TLS 1.2/1.3 ECDHE+AEAD ciphers; nginx and portico only
#   CONCURRENT [0]   1: in each round every proxy is loaded at the same time (one wrk each, all
#                    proxies sharing the proxy core), so a burst from another tenant hits them all
#                    alike and same-round ratios are paired measurements; 0: one proxy at a time
#                    (rotating order). Use 1 to resolve a few percent between configurations on a
#                    noisy machine; absolute numbers then describe a shared core.
#
# Several runs (made at different times) pool with bench/lib/pool_ratios.py RESULTS_DIR/*/runs.csv:
# the median same-round ratio of each Portico variant to plain Portico over all their rounds.
#
# Exit status: 0 all runs clean; 1 some run had non-2xx responses or socket
# errors (listed at the end); 2 setup failure (message on stderr).
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
DURATION=${DURATION:-5}
WARMUP=${WARMUP:-1}
ROUNDS=${ROUNDS:-3}
CONNECTIONS=${CONNECTIONS:-32}
THREADS=${THREADS:-1}
PROXIES=${PROXIES:-"nginx haproxy portico"}
SIZES=${SIZES:-"small 16k"}
PORTICO_BIN=${PORTICO_BIN:-"$(dirname "$0")/../build/portico"}
RESULTS_DIR=${RESULTS_DIR:-"$BENCH_DIR/results"}
PROXY_CPU=${PROXY_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
READY_TIMEOUT=${READY_TIMEOUT:-20}
PATH="$PATH:/usr/sbin:/sbin"
NGINX_BIN=${NGINX_BIN:-$(command -v nginx || true)}
HAPROXY_BIN=${HAPROXY_BIN:-$(command -v haproxy || true)}
WRK_BIN=${WRK_BIN:-$(command -v wrk || true)}
MODE=${MODE:-http}
CONCURRENT=${CONCURRENT:-0}

log() { printf '[bench] %s\n' "$*" >&2; }
die() { printf '[bench] ERROR: %s\n' "$*" >&2; exit 2; }

# ---------------------------------------------------------------- cleanup ---
STARTED_PIDS=()   # every process we launched, in start order
EXTRA_PIDS=()     # children of those (nginx workers), killed if orphaned
WRK_PIDS=()       # the wrk processes running now (one, or one per proxy with CONCURRENT=1)
WRK_OUTS=()       # their output files
TMP=""
CLEANED=0

stop_pid() {  # stop_pid PID: TERM, up to 5 s grace, then KILL
  local pid=$1 i
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    log "pid $pid ignored SIGTERM; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
}

cleanup() {
  local rc=$?
  ((CLEANED)) && return
  CLEANED=1
  trap - INT TERM
  local i
  for i in "${WRK_PIDS[@]}"; do stop_pid "$i"; done
  for ((i = ${#STARTED_PIDS[@]} - 1; i >= 0; i--)); do stop_pid "${STARTED_PIDS[i]}"; done
  for i in "${EXTRA_PIDS[@]}"; do stop_pid "$i"; done
  [[ -n $TMP && -d $TMP ]] && rm -rf -- "$TMP"
  # A run that recorded nothing leaves no results folder behind.
  [[ -n ${RAW:-} && -f $RAW && ! -s $RAW ]] && rm -rf -- "$OUT"
  exit "$rc"
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT
trap 'log "terminated"; exit 143' TERM

# ----------------------------------------------------------------- checks ---
[[ $DURATION =~ ^[0-9]+$ && $DURATION -ge 1 ]] || die "DURATION must be a whole number of seconds >= 1"
[[ $CONCURRENT == 0 || $CONCURRENT == 1 ]] || die "CONCURRENT must be 0 or 1"
[[ $WARMUP =~ ^[0-9]+$ ]] || die "WARMUP must be a whole number of seconds"
[[ $ROUNDS =~ ^[0-9]+$ && $ROUNDS -ge 1 ]] || die "ROUNDS must be >= 1"
[[ $CONNECTIONS =~ ^[0-9]+$ && $CONNECTIONS -ge 1 ]] || die "CONNECTIONS must be >= 1"
[[ $THREADS =~ ^[0-9]+$ && $THREADS -ge 1 && $THREADS -le $CONNECTIONS ]] \
  || die "THREADS must be >= 1 and <= CONNECTIONS"
read -ra PROXY_LIST <<<"$PROXIES"
read -ra SIZE_LIST <<<"$SIZES"
((${#PROXY_LIST[@]})) || die "PROXIES is empty"
((${#SIZE_LIST[@]})) || die "SIZES is empty"
KNOWN_PROXIES=(nginx haproxy portico portico+N portico+resilient portico+metrics portico+observed portico+observed100
  portico+accesslog portico+tracing portico+tracing100 portico+keyauth portico+jwt-hs256 portico+jwt-rs256
  portico+jwt-es256 portico+ratelimit portico+ratelimit-redis)
known_proxy() {  # known_proxy NAME: one of KNOWN_PROXIES (portico+N: portico+ and a number)
  [[ $1 == portico+[0-9]* ]] && return 0
  [[ $1 != portico+N && " ${KNOWN_PROXIES[*]} " == *" $1 "* ]]
}
for p in "${PROXY_LIST[@]}"; do
  known_proxy "$p" || die "unknown proxy '$p' in PROXIES (${KNOWN_PROXIES[*]})"
done
case $MODE in
  http) ;;
  https)
    command -v openssl >/dev/null || die "'openssl' not found (MODE=https makes a certificate)"
    [[ " ${PROXY_LIST[*]} " != *" haproxy "* ]] || die "MODE=https compares nginx and portico; drop haproxy from PROXIES"
    ;;
  *) die "unknown MODE '$MODE' (http https)" ;;
esac
for s in "${SIZE_LIST[@]}"; do
  case $s in small | 16k) ;; *) die "unknown size '$s' in SIZES (small 16k)" ;; esac
done
for tool in taskset curl python3 getconf pgrep; do
  command -v "$tool" >/dev/null || die "'$tool' not found"
done
[[ -x $NGINX_BIN ]] || die "nginx not found (needed for the origin); set NGINX_BIN"
[[ -x $WRK_BIN ]] || die "wrk not found; set WRK_BIN"
if [[ " ${PROXY_LIST[*]} " == *" haproxy "* ]]; then
  [[ -x $HAPROXY_BIN ]] || die "haproxy not found; set HAPROXY_BIN or drop it from PROXIES"
fi
if [[ " ${PROXY_LIST[*]} " == *" portico+ratelimit-redis "* ]]; then
  REDIS_BIN=${REDIS_BIN:-$(command -v redis-server || true)}
  [[ -x $REDIS_BIN ]] || die "redis-server not found (portico+ratelimit-redis); set REDIS_BIN"
fi
if [[ " ${PROXY_LIST[*]} " == *" portico"* ]]; then
  [[ -x $PORTICO_BIN ]] || die "portico binary '$PORTICO_BIN' not found or not executable;" \
    "build it, set PORTICO_BIN, or run with PROXIES=\"nginx haproxy\""
fi
for cpu in "$PROXY_CPU" "$LOAD_CPU"; do
  taskset -c "$cpu" true 2>/dev/null || die "cannot pin to CPU $cpu (online: $(cat /sys/devices/system/cpu/online))"
done
[[ $PROXY_CPU != "$LOAD_CPU" ]] || log "warning: PROXY_CPU == LOAD_CPU; proxy and load generator share a core"
CLK_TCK=$(getconf CLK_TCK)

# ------------------------------------------------------------------ setup ---
TMP=$(mktemp -d "${TMPDIR:-/tmp}/portico-bench.XXXXXX")
STAMP=$(date +%Y%m%d-%H%M%S)
OUT="$RESULTS_DIR/$STAMP"
mkdir -p "$OUT/wrk" "$TMP/origin" "$TMP/nginx" "$TMP/haproxy" "$TMP/portico"
RAW="$OUT/raw_runs.txt"
: >"$RAW"

# portico+N variants (Portico with N extra routes), portico+resilient and portico+metrics each need a proxy and an
# admin port.
VARIANTS=()
for p in "${PROXY_LIST[@]}"; do [[ $p == portico+* ]] && VARIANTS+=("$p"); done
NPORTS=$((6 + 2 * ${#VARIANTS[@]}))
mapfile -t PORTS < <(python3 "$BENCH_DIR/lib/free_ports.py" "$NPORTS") || die "could not find free ports"
((${#PORTS[@]} == NPORTS)) || die "could not find free ports"
ORIGIN_PORT=${PORTS[0]}
declare -A PROXY_PORT=([nginx]=${PORTS[1]} [haproxy]=${PORTS[2]} [portico]=${PORTS[3]})
declare -A ADMIN_PORT=([portico]=${PORTS[4]})
for i in "${!VARIANTS[@]}"; do
  PROXY_PORT[${VARIANTS[$i]}]=${PORTS[$((5 + 2 * i))]}
  ADMIN_PORT[${VARIANTS[$i]}]=${PORTS[$((6 + 2 * i))]}
  mkdir -p "$TMP/${VARIANTS[$i]}"
done
PORTICO_ADMIN_PORT=${PORTS[4]}
REDIS_PORT=${PORTS[$((NPORTS - 1))]}
declare -A WRK_HEADER=()  # per proxy: a request header the variant needs (a credential)
# shellcheck disable=SC2034  # `args` is the caller's array
header_args() {  # header_args ARRAY NAME: ARRAY becomes the -H arguments NAME's requests need
  local -n args=$1
  args=()
  [[ -n ${WRK_HEADER[$2]:-} ]] && args=(-H "${WRK_HEADER[$2]}")
  return 0
}

# MODE=https: one certificate and one cipher list for every proxy.
SCHEME=http
TLS_CIPHERS="ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305"
if [[ $MODE == https ]]; then
  SCHEME=https
  mkdir -p "$TMP/tls"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=localhost \
    -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" -keyout "$TMP/tls/key.pem" -out "$TMP/tls/cert.pem" \
    2>"$TMP/tls/openssl.log" || die "openssl req failed: $(cat "$TMP/tls/openssl.log")"
  chmod 755 "$TMP/tls" && chmod 644 "$TMP/tls/cert.pem" "$TMP/tls/key.pem"
fi

# MODE=https: turns a rendered proxy config's listener into a TLS one with the bench certificate.
tlsify() {  # tlsify KIND FILE PORT
  [[ $MODE == https ]] || return 0
  case $1 in
    nginx)
      sed -i -e "s|listen 127.0.0.1:$3 backlog=4096;|listen 127.0.0.1:$3 ssl backlog=4096;\n        ssl_certificate $TMP/tls/cert.pem;\n        ssl_certificate_key $TMP/tls/key.pem;\n        ssl_protocols TLSv1.2 TLSv1.3;\n        ssl_ciphers $TLS_CIPHERS;\n        ssl_session_cache shared:SSL:10m;|" "$2"
      grep -q "ssl_certificate " "$2" || die "could not enable TLS in $2"
      ;;
    portico)
      sed -i -e "s|\"127.0.0.1:$3\"|\"127.0.0.1:$3 ssl\"|" "$2"
      python3 - "$2" "$TMP/tls/cert.pem" "$TMP/tls/key.pem" <<'PY'
import json, sys
conf, cert, key = sys.argv[1:]
with open(conf, "a") as f:
    f.write("certificates:\n  - cert: %s\n    key: %s\n    snis: [\"*\"]\n"
            % (json.dumps(open(cert).read()), json.dumps(open(key).read())))
PY
      grep -q " ssl\"" "$2" || die "could not enable TLS in $2"
      ;;
  esac
}

render() {  # render TEMPLATE OUTPUT PROXY_PORT
  sed -e "s|@TMP@|$TMP|g" -e "s|@ORIGIN_PORT@|$ORIGIN_PORT|g" -e "s|@PROXY_PORT@|$3|g" \
    -e "s|@ADMIN_PORT@|$PORTICO_ADMIN_PORT|g" -e "s|@VARIANT@|${PORTICO_VARIANT:-}|g" \
    -e "s|@SAMPLING@|${PORTICO_SAMPLING:-1}|g" "$BENCH_DIR/conf/$1" >"$2"
  if grep -q '@[A-Z_]*@' "$2"; then die "unrendered placeholder in $2"; fi
}

show_log() {  # show_log FILE: last lines of a server log, for failure messages
  [[ -s $1 ]] && { printf -- '---- %s (tail) ----\n' "$1" >&2; tail -n 20 "$1" >&2; }
  return 0
}

# wait_ready NAME PID URL LOG...: poll until URL answers 200, with a deadline.
wait_ready() {
  local name=$1 pid=$2 url=$3 code f
  shift 3
  local deadline=$((SECONDS + READY_TIMEOUT))
  while true; do
    if ! kill -0 "$pid" 2>/dev/null; then
      for f in "$@"; do show_log "$f"; done
      die "$name (pid $pid) exited during startup"
    fi
    code=$(curl -sk -o /dev/null -w '%{http_code}' --max-time 1 ${WRK_HEADER[$name]:+-H "${WRK_HEADER[$name]}"} "$url" \
      2>/dev/null) || true
    [[ $code == 200 ]] && return 0
    if ((SECONDS >= deadline)); then
      for f in "$@"; do show_log "$f"; done
      die "$name did not answer 200 on $url within ${READY_TIMEOUT}s (last status: ${code:-none})"
    fi
    sleep 0.1
  done
}

# check_bodies NAME BASE_URL: both paths return 200 with the expected body.
check_bodies() {
  local name=$1 base=$2 got
  local -a hdr
  header_args hdr "$name"
  got=$(curl -sk --max-time 5 "${hdr[@]}" "$base/small") || die "$name: GET /small failed"
  [[ $got == "hello, world" ]] || die "$name: GET /small returned unexpected body '${got:0:60}'"
  got=$(curl -sk -o /dev/null --max-time 5 -w '%{http_code} %{size_download}' "${hdr[@]}" "$base/16k") || true
  [[ $got == "200 16384" ]] || die "$name: GET /16k returned '$got' (want '200 16384')"
}

declare -A MEASURE_PIDS  # proxy -> pids whose CPU time is the proxy's cost

# Worker processes of a master (nginx), or the process itself if it has none.
worker_pids() {
  local kids
  kids=$(pgrep -P "$1" | tr '\n' ' ') || true
  if [[ -n ${kids// /} ]]; then echo "$kids"; else echo "$1"; fi
}

start_origin() {
  head -c 16384 /dev/urandom >"$TMP/origin/16k.bin"
  # Run as root, nginx workers drop to "nobody": let them read the body file.
  chmod 755 "$TMP" "$TMP/origin" && chmod 644 "$TMP/origin/16k.bin"
  render origin_nginx.conf.tmpl "$TMP/origin/nginx.conf" "$ORIGIN_PORT"
  taskset -c "$LOAD_CPU" "$NGINX_BIN" -p "$TMP/origin/" -c "$TMP/origin/nginx.conf" \
    -e "$TMP/origin/error.log" >"$TMP/origin/stdout.log" 2>&1 &
  local pid=$!
  STARTED_PIDS+=("$pid")
  wait_ready origin "$pid" "http://127.0.0.1:$ORIGIN_PORT/small" "$TMP/origin/stdout.log" "$TMP/origin/error.log"
  local -a kids
  read -ra kids <<<"$({ pgrep -P "$pid" || true; } | xargs)"
  EXTRA_PIDS+=("${kids[@]}")
  check_bodies origin "http://127.0.0.1:$ORIGIN_PORT"
  log "origin nginx pid $pid on 127.0.0.1:$ORIGIN_PORT (cpu $LOAD_CPU)"
}

start_redis() {  # a throwaway redis-server on loopback for portico+ratelimit-redis (load core)
  mkdir -p "$TMP/redis"
  taskset -c "$LOAD_CPU" "$REDIS_BIN" --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no \
    --dir "$TMP/redis" >"$TMP/redis/redis.log" 2>&1 &
  STARTED_PIDS+=("$!")
  local i
  for i in $(seq 1 50); do
    (exec 3<>"/dev/tcp/127.0.0.1/$REDIS_PORT") 2>/dev/null && break
    sleep 0.1
  done
  log "redis-server pid $! on 127.0.0.1:$REDIS_PORT (cpu $LOAD_CPU)"
}

start_proxy() {
  local name=$1 port=${PROXY_PORT[$1]} pid dir="$TMP/$1"
  case $name in
    nginx)
      render nginx_proxy.conf.tmpl "$dir/nginx.conf" "$port"
      tlsify nginx "$dir/nginx.conf" "$port"
      taskset -c "$PROXY_CPU" "$NGINX_BIN" -p "$dir/" -c "$dir/nginx.conf" -e "$dir/error.log" \
        >"$dir/stdout.log" 2>&1 &
      pid=$!
      ;;
    haproxy)
      render haproxy.cfg.tmpl "$dir/haproxy.cfg" "$port"
      # -db: foreground, no master process: the one process is the worker.
      taskset -c "$PROXY_CPU" "$HAPROXY_BIN" -db -f "$dir/haproxy.cfg" >"$dir/stdout.log" 2>&1 &
      pid=$!
      ;;
    portico|portico+*)
      if [[ $name == portico+resilient ]]; then
        # Retries, health checks (active and passive) and circuit breakers on, nothing failing.
        PORTICO_ADMIN_PORT=${ADMIN_PORT[$name]} render portico_resilient.yaml.tmpl "$dir/portico.yaml" "$port"
      elif [[ $name == portico+observed* || $name == portico+accesslog || $name == portico+tracing* ||
              $name == portico+metrics ]]; then
        # Access log + prometheus + opentelemetry at 1% (observed) or 100% (observed100) sampling;
        # or one part of that alone: the access log (accesslog), the prometheus plugin with every
        # family (metrics), tracing at 1% or 100% (tracing, tracing100). The parts are marked
        # blocks of one template.
        sampling=0.01
        [[ $name == *100 ]] && sampling=1
        PORTICO_ADMIN_PORT=${ADMIN_PORT[$name]} PORTICO_VARIANT=$name PORTICO_SAMPLING=$sampling \
          render portico_observed.yaml.tmpl "$dir/observed.yaml" "$port"
        case $name in
          portico+accesslog) drop='/\[metrics\]/,/\[\/metrics\]/d;/\[tracing\]/,/\[\/tracing\]/d;/\[plugins\]/d' ;;
          portico+tracing*) drop='/\[access\]/d;/\[metrics\]/,/\[\/metrics\]/d' ;;
          portico+metrics) drop='/\[access\]/d;/\[tracing\]/,/\[\/tracing\]/d' ;;
          *) drop='' ;;
        esac
        sed -e "$drop" "$dir/observed.yaml" >"$dir/portico.yaml"
      elif [[ $name == portico+keyauth || $name == portico+jwt-* ]]; then
        # key-auth, or jwt with a consumer's jwt_secret (HS256 secret, RS256 or ES256 public
        # key); every request carries a valid credential (bench/lib/auth_variant.py).
        PORTICO_ADMIN_PORT=${ADMIN_PORT[$name]} render portico.yaml.tmpl "$dir/plain.yaml" "$port"
        WRK_HEADER[$name]=$(python3 "$BENCH_DIR/lib/auth_variant.py" "${name#portico+}" "$dir" "$dir/plain.yaml" \
          "$dir/portico.yaml") || die "auth_variant.py failed for $name"
      elif [[ $name == portico+ratelimit || $name == portico+ratelimit-redis ]]; then
        # rate-limiting per client address with a limit never reached, Kong's headers on:
        # counters in the process (local) or in a redis-server on loopback (one round trip each).
        PORTICO_ADMIN_PORT=${ADMIN_PORT[$name]} render portico.yaml.tmpl "$dir/portico.yaml" "$port"
        if [[ $name == portico+ratelimit-redis ]]; then
          start_redis
          printf 'plugins:\n  - name: rate-limiting\n    config: {hour: 1000000000, limit_by: ip, policy: redis, redis: {host: 127.0.0.1, port: %s}}\n' \
            "$REDIS_PORT" >>"$dir/portico.yaml"
        else
          printf 'plugins:\n  - name: rate-limiting\n    config: {hour: 1000000000, limit_by: ip}\n' >>"$dir/portico.yaml"
        fi
      else
        PORTICO_ADMIN_PORT=${ADMIN_PORT[$name]} render portico.yaml.tmpl "$dir/portico.yaml" "$port"
      fi
      if [[ $name == portico+[0-9]* ]]; then
        # portico+N: the same proxy with N more routes loaded (bench/gen_routes.py mix) that the
        # benchmark requests do not match: what a large route table costs per request.
        python3 "$BENCH_DIR/gen_routes.py" "${name#portico+}" --body >>"$dir/portico.yaml"
      fi
      tlsify portico "$dir/portico.yaml" "$port"
      taskset -c "$PROXY_CPU" "$PORTICO_BIN" run -c "$dir/portico.yaml" --workers 1 \
        >"$dir/stdout.log" 2>"$dir/stderr.log" &
      pid=$!
      ;;
  esac
  STARTED_PIDS+=("$pid")
  wait_ready "$name" "$pid" "$SCHEME://127.0.0.1:$port/small" "$dir"/*.log
  check_bodies "$name" "$SCHEME://127.0.0.1:$port"
  case $name in
    nginx) MEASURE_PIDS[$name]=$(worker_pids "$pid" | xargs) ;;   # the worker, not the master
    haproxy) MEASURE_PIDS[$name]=$pid ;;                           # -db: no master
    portico | portico+*) MEASURE_PIDS[$name]=$({ pgrep -P "$pid" || true; } | xargs echo "$pid") ;;  # all its threads (+ any helpers)
  esac
  local -a measured
  read -ra measured <<<"${MEASURE_PIDS[$name]}"
  EXTRA_PIDS+=("${measured[@]}")  # nginx workers outlive a killed master
  log "$name pid $pid on 127.0.0.1:$port (cpu $PROXY_CPU), measuring pid(s) ${MEASURE_PIDS[$name]}"
}

cpu_ticks() {  # cpu_ticks PID...: utime+stime (fields 14+15 of /proc/PID/stat), summed
  local total=0 pid stat rest
  local -a f
  for pid in "$@"; do
    stat=$(<"/proc/$pid/stat") || die "process $pid is gone"
    rest=${stat##*) }  # fields from 3 on; comm (field 2) may contain spaces
    read -ra f <<<"$rest"
    total=$((total + f[11] + f[12]))
  done
  echo "$total"
}

# proxy_ticks NAME: the CPU ticks of the processes measured for proxy NAME.
proxy_ticks() {
  local -a pids
  read -ra pids <<<"${MEASURE_PIDS[$1]}"
  cpu_ticks "${pids[@]}"
}

start_wrk() {  # start_wrk OUTFILE SECONDS URL [extra wrk args]: one more wrk, in background
  local outfile=$1 secs=$2 url=$3
  shift 3
  taskset -c "$LOAD_CPU" "$WRK_BIN" -t"$THREADS" -c"$CONNECTIONS" -d"${secs}s" "$@" "$url" \
    >"$outfile" 2>&1 &
  WRK_PIDS+=("$!")
  WRK_OUTS+=("$outfile")
}

wait_wrks() {  # waits for the running wrk processes (interruptible); any failure ends the benchmark
  local rc out
  while ((${#WRK_PIDS[@]} > 0)); do
    rc=0
    wait "${WRK_PIDS[0]}" || rc=$?
    out=${WRK_OUTS[0]}
    WRK_PIDS=("${WRK_PIDS[@]:1}")  # waited for: never signalled again
    WRK_OUTS=("${WRK_OUTS[@]:1}")
    ((rc == 0)) || { cat "$out" >&2; die "wrk exited with status $rc (output: $out)"; }
  done
}

run_wrk() {  # run_wrk OUTFILE SECONDS URL [extra wrk args]: one wrk, waited for
  start_wrk "$@"
  wait_wrks
}

# ------------------------------------------------------------------- main ---
{
  echo "date: $(date -Is)"
  echo "host: $(uname -srm), $(nproc) cpus, load: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "settings: DURATION=$DURATION WARMUP=$WARMUP ROUNDS=$ROUNDS CONNECTIONS=$CONNECTIONS" \
    "THREADS=$THREADS PROXIES='$PROXIES' SIZES='$SIZES' PROXY_CPU=$PROXY_CPU LOAD_CPU=$LOAD_CPU MODE=$MODE" \
    "CONCURRENT=$CONCURRENT"
  echo "nginx: $("$NGINX_BIN" -v 2>&1)"
  [[ -x $HAPROXY_BIN ]] && echo "haproxy: $("$HAPROXY_BIN" -v 2>&1 | head -n1)"
  echo "wrk: $("$WRK_BIN" -v 2>&1 | head -n1)"
  if [[ " ${PROXY_LIST[*]} " == *" portico "* ]]; then
    echo "portico: $PORTICO_BIN ($(git -C "$BENCH_DIR" rev-parse --short HEAD 2>/dev/null || echo no-git)," \
      "built $(date -r "$PORTICO_BIN" -Is))"
  fi
} >"$OUT/meta.txt"
log "results -> $OUT"
log "load average: $(cut -d' ' -f1-3 /proc/loadavg) (the machine is shared: compare ratios, not absolutes)"

start_origin
for p in "${PROXY_LIST[@]}"; do start_proxy "$p"; done

record_run() {  # record_run ROUND SIZE PROXY POSITION TAG CPU_TICKS RUN_NO
  local result rps
  result=$(grep '^BENCH_RESULT ' "$OUT/wrk/$5.txt" | tail -n1) || die "no BENCH_RESULT line in $OUT/wrk/$5.txt"
  echo "round=$1 size=$2 proxy=$3 position=$4 cpu_ticks=$6" \
    "clk_tck=$CLK_TCK connections=$CONNECTIONS threads=$THREADS ${result#BENCH_RESULT }" >>"$RAW"
  rps=$(awk '/^Requests\/sec:/ {print $2}' "$OUT/wrk/$5.txt")
  log "[$7/$total_runs] round $1 /$2 $3: ${rps:-?} req/s, proxy cpu $(($6 * 1000 / CLK_TCK)) ms"
}

n=${#PROXY_LIST[@]}
total_runs=$((ROUNDS * ${#SIZE_LIST[@]} * n))
run_no=0
if ((CONCURRENT)); then
  log "CONCURRENT=1: the ${n} proxies are loaded at the same time, sharing cpu $PROXY_CPU"
  for ((round = 1; round <= ROUNDS; round++)); do
    for size in "${SIZE_LIST[@]}"; do
      declare -A ticks_before=()
      if ((WARMUP > 0)); then
        for proxy in "${PROXY_LIST[@]}"; do
          header_args hdr "$proxy"
          start_wrk "$OUT/wrk/round${round}-${size}-${proxy}.warmup.txt" "$WARMUP" \
            "$SCHEME://127.0.0.1:${PROXY_PORT[$proxy]}/$size" "${hdr[@]}"
        done
        wait_wrks
      fi
      for proxy in "${PROXY_LIST[@]}"; do ticks_before[$proxy]=$(proxy_ticks "$proxy"); done
      for proxy in "${PROXY_LIST[@]}"; do
        header_args hdr "$proxy"
        start_wrk "$OUT/wrk/round${round}-${size}-${proxy}.txt" "$DURATION" \
          "$SCHEME://127.0.0.1:${PROXY_PORT[$proxy]}/$size" "${hdr[@]}" --latency -s "$BENCH_DIR/lib/report.lua"
      done
      wait_wrks
      for ((i = 0; i < n; i++)); do
        proxy=${PROXY_LIST[i]}
        after=$(proxy_ticks "$proxy")
        run_no=$((run_no + 1))
        record_run "$round" "$size" "$proxy" "$((i + 1))" "round${round}-${size}-${proxy}" \
          "$((after - ${ticks_before[$proxy]}))" "$run_no"
      done
    done
  done
fi
for ((round = 1; round <= ROUNDS && !CONCURRENT; round++)); do
  for size in "${SIZE_LIST[@]}"; do
    for ((i = 0; i < n; i++)); do
      proxy=${PROXY_LIST[((i + round - 1) % n)]}  # rotate the order each round
      url="$SCHEME://127.0.0.1:${PROXY_PORT[$proxy]}/$size"
      run_no=$((run_no + 1))
      tag="round${round}-${size}-${proxy}"
      header_args hdr "$proxy"
      if ((WARMUP > 0)); then run_wrk "$OUT/wrk/$tag.warmup.txt" "$WARMUP" "$url" "${hdr[@]}"; fi
      before=$(proxy_ticks "$proxy")
      run_wrk "$OUT/wrk/$tag.txt" "$DURATION" "$url" "${hdr[@]}" --latency -s "$BENCH_DIR/lib/report.lua"
      after=$(proxy_ticks "$proxy")
      record_run "$round" "$size" "$proxy" "$((i + 1))" "$tag" "$((after - before))" "$run_no"
    done
  done
done

for p in "${PROXY_LIST[@]}"; do
  read -ra mpids <<<"${MEASURE_PIDS[$p]}"
  for pid in "${mpids[@]}"; do kill -0 "$pid" 2>/dev/null || die "$p (pid $pid) died during the benchmark"; done
done

ln -sfn "$STAMP" "$RESULTS_DIR/latest"
echo
rc=0
python3 "$BENCH_DIR/lib/summarize.py" "$RAW" "$OUT" || rc=$?
log "raw numbers: $OUT/runs.csv, $OUT/runs.json; wrk output: $OUT/wrk/"
if ((rc == 1)); then
  log "FAILED: some runs had non-2xx responses or socket errors (see above)"
elif ((rc != 0)); then
  die "summarize.py failed (status $rc)"
fi
exit "$rc"
