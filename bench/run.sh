#!/usr/bin/env bash
# `make bench`: the matrix of fulcrum against HAProxy and nginx, with "direct"
# (wrk straight to one backend, no proxy) as the ceiling, in one run.
#
# Cells (BENCH_CELLS picks some, in the order given):
#   http-16 http-64 http-256   HTTP keep-alive, wrk with 16/64/256 connections
#   tcp-16 tcp-64 tcp-256      the same through each proxy's TCP (layer 4) listener
#   new-64                     a new client connection per request (Connection: close)
#   deferred-64                new-64 on each proxy's listener with deferred accept
#                              (TCP_DEFER_ACCEPT: the kernel hands a connection over
#                              once its request came)
#   body4k-64 body64k-64       responses of 4 KiB and 64 KiB, keep-alive
#   tls-64                     HTTP keep-alive over https
#   tls-new tls-resumed        BENCH_THREADS `openssl s_time` clients, a full
#                              (resp. resumed) TLS handshake and one request per connection
#   post-key-64                the idempotency ledger: POSTs, each with an Idempotency-Key
#                              never sent before, keep-alive, 64 connections (bench/ledger_post.lua)
#   post-nokey-64              the same POSTs without a key, on the same ledger route
#   post-full-64               post-key-64 against a memory store that is full: before
#                              the cell's first run, ledger_memory gets BENCH_FILL seconds
#                              of keyed POSTs, more than max_memory holds, so every claim
#                              pushes the oldest answer out (a store at its steady size,
#                              as it is after its first minutes in service); not in the
#                              default cells
# The two post cells are fulcrum's only (HAProxy and nginx have no ledger):
# they run against three fulcrum processes of their own, the targets
# ledger_none (the route without a ledger), ledger_memory and ledger_redis
# (a redis-server the bench starts on a Unix socket in its temporary folder,
# pinned to the load core), started when a post cell is in BENCH_CELLS.
# and the idle probe (BENCH_IDLE=0 skips it): 10,000 HTTP keep-alive and
# 8,000 TCP client connections held open at once, RSS per connection.
#
# Set-up: two nginx backends (one process each) answer "ok\n", /4k and /64k.
# Every proxy runs one thread (fulcrum `workers: 1`, HAProxy `nbthread 1`,
# nginx `worker_processes 1`) pinned with taskset to core 0; wrk, s_time and
# the backends are pinned to core 1. Configs: bench/configs.sh.
#
# Method: BENCH_ROUNDS rounds; in each, every cell runs against every target
# (direct has HTTP cells only) one after the other, the order of the targets
# rotated by one from round to round. Each run is a BENCH_WARMUP warm-up then
# a measured BENCH_SECONDS. Per run: req/s, p99 (wrk --latency), the CPU µs
# per request of the proxy process(es) (utime+stime deltas from /proc/PID/stat,
# nginx master and worker summed), the server connections opened per request
# (connections the backends accepted, from their stub_status; for fulcrum also
# its fulcrum_upstream_connections_opened_total), and "other CPU s", the CPU
# the rest of the machine used meanwhile (high = noisy). bench/report.py
# prints medians and the medians of the paired per-round ratios
# fulcrum/HAProxy and fulcrum/nginx with their range.
#
# usage: bench/run.sh            (from the repository root; `make bench`)
#        QUICK=1 bench/run.sh    (one round of 2 s runs: a few minutes)
# environment:
#   BUILD_DIR       where fulcrum is                  (default: build)
#   BENCH_ROUNDS    rounds                             (default: 3; QUICK: 1)
#   BENCH_SECONDS   length of each measured run, s     (default: 5; QUICK: 2)
#   BENCH_WARMUP    length of each warm-up, s          (default: 1)
#   BENCH_THREADS   wrk threads, s_time clients        (default: 2)
#   BENCH_TARGETS   which targets                      (default: "direct fulcrum haproxy nginx";
#                   also fulcrum_nometrics, see `make bench-metrics`)
#   BENCH_CELLS     which cells                        (default: all, above)
#   BENCH_IDLE      1: run the idle probe, 0: skip it  (default: 1)
#   BENCH_FILL      seconds of keyed POSTs that fill the memory store before
#                   post-full-64                       (default: 40)
#   BENCH_WORKERS   threads of each proxy              (default: 1): fulcrum `workers`,
#                   HAProxy `nbthread`, nginx `worker_processes`; above 1 nothing is
#                   pinned (proxies, wrk and backends share every core), as when a
#                   proxy is given the whole machine
#   BENCH_RESULTS   the folder the table goes to       (default: bench/results)
#   BENCH_PERF      cells in which the proxies' measured runs are profiled with
#                   `perf record -g` (default: none); the profiles and their
#                   top symbols go to the results folder, fulcrum's top symbols into the table
# It writes RESULTS/matrix-<UTC date and time>.txt and RESULTS/latest.txt.
# exit status: 0 when every run answered only 2xx/3xx; 1 otherwise.
# (PORT_<name> etc. are set by `start` through printf -v; functions called
# from traps and as config renderers look unused to shellcheck.)
# shellcheck disable=SC2154,SC2317,SC2034
set -u -o pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
build=${BUILD_DIR:-build}
case $build in /*) ;; *) build="$root/$build" ;; esac
if [[ ${QUICK:-0} == 1 ]]; then q_rounds=1 q_seconds=2; else q_rounds=3 q_seconds=5; fi
rounds=${BENCH_ROUNDS:-$q_rounds}
seconds=${BENCH_SECONDS:-$q_seconds}
warmup=${BENCH_WARMUP:-1}
threads=${BENCH_THREADS:-2}
proxy_workers=${BENCH_WORKERS:-1}
targets=${BENCH_TARGETS:-direct fulcrum haproxy nginx}
all_cells="http-16 http-64 http-256 tcp-16 tcp-64 tcp-256 new-64 deferred-64 body4k-64 body64k-64 tls-64 tls-new tls-resumed"
all_cells+=" post-key-64 post-nokey-64"
cells=${BENCH_CELLS:-$all_cells}
all_cells+=" post-full-64" # on request only: its fill takes BENCH_FILL seconds
fill_seconds=${BENCH_FILL:-40}
ledger_targets="ledger_none ledger_memory ledger_redis"
idle=${BENCH_IDLE:-1}
idle_http=10000 idle_tcp=8000
results_dir=${BENCH_RESULTS:-$here/results}
perf_cells=${BENCH_PERF:-}
host=127.0.0.1 # every socket of this script is on loopback, nothing else

tmp=$(mktemp -d "${TMPDIR:-/tmp}/fulcrum-bench.XXXXXX") || {
  echo "bench: mktemp failed" >&2
  exit 1
}
children=()  # PIDs this script started, each stopped at exit
load_pids=() # the load generators running (wrk, s_time, idle_hold), stopped at exit
# shellcheck source=bench/lib.sh
. "$here/lib.sh"
# shellcheck source=bench/configs.sh
. "$here/configs.sh"
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

for v in rounds seconds warmup threads proxy_workers fill_seconds; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive integer, got '${!v}'"
done
for t in $targets; do
  case $t in direct | fulcrum | fulcrum_nometrics | haproxy | nginx) ;; *) die "unknown target '$t' in BENCH_TARGETS" ;; esac
done
for c in $cells; do
  [[ " $all_cells " == *" $c "* ]] || die "unknown cell '$c' in BENCH_CELLS (cells: $all_cells)"
done
[[ -n $perf_cells ]] && { command -v perf >/dev/null 2>&1 || die "BENCH_PERF needs perf (Debian linux-perf)"; }
for tool in wrk haproxy nginx curl timeout openssl taskset python3; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool not found (make bench installs what it needs)"
done
[[ -x $build/fulcrum ]] || die "$build/fulcrum not found: run 'make build' first"
# The ledger targets run when a post cell is in the list.
ledger=0
[[ " $cells " == *" post-"* ]] && ledger=1
if ((ledger)); then
  for tool in redis-server redis-cli; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool not found (Debian redis-server; make bench installs it)"
  done
fi
# fulcrum_nometrics: the same fulcrum with its per-request metric updates
# compiled out (FULCRUM_REQUEST_METRICS=0), which `make bench-metrics` builds.
nometrics=${NOMETRICS_BUILD_DIR:-build-nometrics}
case $nometrics in /*) ;; *) nometrics="$root/$nometrics" ;; esac
if [[ " $targets " == *" fulcrum_nometrics "* ]]; then
  [[ -x $nometrics/fulcrum ]] || die "$nometrics/fulcrum not found: run 'make bench-metrics'"
fi
[[ -r $stream_module ]] || note "no $stream_module (Debian libnginx-mod-stream): nginx has no TCP cells"

# Core 0 for the proxy under test, core 1 for everything else; on one core,
# or with several proxy threads, no pinning.
if ((proxy_workers > 1)); then
  proxy_cpu=() load_cpu=()
  note "BENCH_WORKERS=$proxy_workers: nothing pinned"
elif (($(nproc) >= 2)); then
  proxy_cpu=(taskset -c 0) load_cpu=(taskset -c 1)
else
  proxy_cpu=() load_cpu=()
  note "one core: nothing pinned"
fi

# 10,000 held connections and what the proxies open for them: raise the open
# files limit (the hard one too where allowed). HAProxy refuses a maxconn
# whose two descriptors per connection exceed the limit, so below 20,200 the
# HTTP probe holds fewer: (limit - 200) / 2.
ulimit -Hn 65536 2>/dev/null
ulimit -Sn "$(ulimit -Hn)" 2>/dev/null
nofile=$(ulimit -Sn)
[[ $nofile == unlimited ]] && nofile=65536
(((nofile - 200) / 2 < idle_http)) && idle_http=$(((nofile - 200) / 2))
(((nofile - 200) / 2 < idle_tcp)) && idle_tcp=$(((nofile - 200) / 2))
((idle_http < 10000)) && note "open files limit $nofile: the idle probe holds $idle_http HTTP connections"

# Whether CELL runs against TARGET: direct has the HTTP cells only, nginx
# TCP cells only with its stream module.
applies() { # CELL TARGET
  case $2:$1 in
  ledger_*:post-*) return 0 ;;
  ledger_*:* | *:post-*) return 1 ;;
  direct:tcp-* | direct:tls* | direct:deferred-*) return 1 ;;
  nginx:tcp-*) [[ -r $stream_module ]] ;;
  *) return 0 ;;
  esac
}

# --- set-up -----------------------------------------------------------------

mkdir -p "$results_dir" || die "cannot create $results_dir"
stamp=$(date -u '+%Y%m%d-%H%M%S')

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 -subj /CN=localhost \
  -addext subjectAltName=DNS:localhost,IP:$host -keyout "$tmp/tls.key" -out "$tmp/tls.pem" \
  >"$tmp/openssl.log" 2>&1 || { cat "$tmp/openssl.log" >&2; die "openssl could not make a certificate"; }
cat "$tmp/tls.pem" "$tmp/tls.key" >"$tmp/tls-combined.pem"
mkdir -p "$tmp/www"
head -c 4096 /dev/zero | tr '\0' x >"$tmp/www/4k"
head -c 65536 /dev/zero | tr '\0' x >"$tmp/www/64k"

for backend in backend1 backend2; do
  start "$backend" render_backend "${load_cpu[@]}" nginx -p "$tmp/$backend.d/" -e "$tmp/$backend.d/error.log" -c @CONF@
done
start_proxy() { # NAME
  case $1 in
  fulcrum) start fulcrum render_fulcrum "${proxy_cpu[@]}" "$build/fulcrum" -c @CONF@ ;;
  fulcrum_nometrics) start fulcrum_nometrics render_fulcrum "${proxy_cpu[@]}" "$nometrics/fulcrum" -c @CONF@ ;;
  haproxy) start haproxy render_haproxy "${proxy_cpu[@]}" haproxy -db -f @CONF@ ;;
  nginx) start nginx render_nginx "${proxy_cpu[@]}" nginx -p "$tmp/nginx.d/" -e "$tmp/nginx.d/error.log" -c @CONF@ ;;
  esac
}
proxies=""
for t in $targets; do
  [[ $t == direct ]] && continue
  start_proxy "$t"
  proxies+="$t "
done
PORT_direct=$PORT_backend1

# The ledger targets: a redis-server for ledger_redis on a Unix socket in
# $tmp (no TCP port), no persistence, pinned to the load core; then the three
# fulcrum processes, which differ only by their store.
redis_socket="$tmp/redis.sock"
if ((ledger)); then
  mkdir -p "$tmp/redis.d"
  "${load_cpu[@]}" redis-server --port 0 --unixsocket "$redis_socket" --unixsocketperm 700 \
    --dir "$tmp/redis.d" --save "" --appendonly no --maxmemory 2gb --maxmemory-policy volatile-lru \
    >"$tmp/redis.log" 2>&1 </dev/null &
  PID_redis=$!
  children+=("$PID_redis")
  deadline=$((SECONDS + 10))
  until [[ $(timeout 2 redis-cli -s "$redis_socket" ping 2>/dev/null) == PONG ]]; do
    kill -0 "$PID_redis" 2>/dev/null || { tail -n 15 "$tmp/redis.log" >&2; die "redis-server exited during start"; }
    ((SECONDS < deadline)) || { tail -n 15 "$tmp/redis.log" >&2; die "redis-server did not answer within 10 s"; }
    sleep 0.1
  done
  note "redis-server up on $redis_socket (pid $PID_redis)"
  for t in $ledger_targets; do
    ledger_store=${t#ledger_}
    start "$t" render_fulcrum_ledger "${proxy_cpu[@]}" "$build/fulcrum" -c @CONF@
  done
  # Every ledger target answers a POST with and without a key; a repeat of a
  # keyed POST is a replay with a ledger, and goes to a server without one.
  for t in $ledger_targets; do
    url="http://$host:$(eval echo "\$PORT_$t")/v1/payments"
    for key in "" "check-$t" "check-$t"; do
      hdr=()
      [[ -n $key ]] && hdr=(-H "Idempotency-Key: $key")
      answer=$(curl -s -m 2 -i "${hdr[@]}" -H 'Content-Type: application/json' -d '{"amount":1}' "$url") ||
        die "$t: POST to $url failed"
      [[ $answer == "HTTP/1.1 200"* && $answer == *'"paid"'* ]] || die "$t: POST to $url answered '${answer:0:200}'"
    done
    replayed=0
    [[ $answer == *$'\n'[Ii]dempotent-[Rr]eplayed:\ true* ]] && replayed=1
    if [[ $t == ledger_none ]]; then
      ((replayed == 0)) || die "$t: a repeated key was replayed without a ledger"
    else
      ((replayed == 1)) || die "$t: a repeated key was not replayed: '${answer:0:300}'"
    fi
  done
fi

# Every proxy answers "ok" from both backends, over HTTP (also its deferred
# listener), TCP and TLS, and s_time's request over TLS with a 200.
for p in $proxies; do
  urls=("http://$host:$(eval echo "\$PORT_$p")/" "https://$host:$(eval echo "\$TLSPORT_$p")/"
    "http://$host:$(eval echo "\$DEFERPORT_$p")/")
  applies tcp-1 "$p" && urls+=("http://$host:$(eval echo "\$TCPPORT_$p")/")
  for url in "${urls[@]}"; do
    for i in 1 2; do
      body=$(curl -sk -m 2 "$url") || die "$p: request $i to $url failed"
      [[ $body == ok ]] || die "$p: request $i to $url answered '$body', not 'ok'"
    done
  done
done
# s_time sends "GET <page> HTTP/1.0": the page ends the request line itself,
# so that the request is HTTP/1.1 with Connection: close (as in bench/README.md).
s_time_page=$'/ HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nX-Sent-By:'
s_time_request="GET $s_time_page HTTP/1.0"$'\r\n\r\n'
for p in $proxies; do
  status=$(printf '%s' "$s_time_request" |
    timeout 5 openssl s_client -quiet -connect "$host:$(eval echo "\$TLSPORT_$p")" 2>/dev/null |
    head -n 1 | tr -d '\r')
  [[ $status == "HTTP/1.1 200 "* ]] || die "$p: s_time's request over TLS answered '$status', not 200"
done

# --- load -------------------------------------------------------------------

# The load generators run in the background and are waited for, so that
# SIGINT/SIGTERM stop the bench at once.
run_wrk() { # CONNS URL SECONDS OUT [wrk options] [-- script arguments]
  local c=$1 url=$2 secs=$3 out=$4 rc t=$threads opts=()
  shift 4
  while (($# > 0)) && [[ $1 != -- ]]; do
    opts+=("$1")
    shift
  done
  ((t > c)) && t=$c
  timeout -k 5 $((secs + 30)) "${load_cpu[@]}" wrk -t"$t" -c"$c" -d"${secs}s" --latency "${opts[@]}" \
    "$url" "$@" >"$out" 2>&1 </dev/null &
  load_pids=($!)
  wait "${load_pids[0]}"
  rc=$?
  load_pids=()
  return "$rc"
}

run_s_time() { # -new|-reuse PORT SECONDS OUT
  local i pid rc=0
  for ((i = 1; i <= threads; i++)); do
    timeout -k 5 $(($3 + 30)) "${load_cpu[@]}" openssl s_time -connect "$host:$2" "$1" -www "$s_time_page" \
      -time "$3" >"$4.$i" 2>&1 </dev/null &
    load_pids+=($!)
  done
  for pid in "${load_pids[@]}"; do wait "$pid" || rc=$?; done
  load_pids=()
  return "$rc"
}

run_cell() { # CELL TARGET SECONDS OUT
  local c=$1 t=$2 s=$3 out=$4
  local port tls tcp deferred
  port=$(eval echo "\$PORT_$t") tls=$(eval echo "\${TLSPORT_$t:-}") tcp=$(eval echo "\${TCPPORT_$t:-}")
  deferred=$(eval echo "\${DEFERPORT_$t:-}")
  case $c in
  http-*) run_wrk "${c#http-}" "http://$host:$port/" "$s" "$out" ;;
  tcp-*) run_wrk "${c#tcp-}" "http://$host:$tcp/" "$s" "$out" ;;
  new-*) run_wrk "${c#new-}" "http://$host:$port/" "$s" "$out" -H "Connection: close" ;;
  deferred-*) run_wrk "${c#deferred-}" "http://$host:$deferred/" "$s" "$out" -H "Connection: close" ;;
  body4k-*) run_wrk "${c#body4k-}" "http://$host:$port/4k" "$s" "$out" ;;
  body64k-*) run_wrk "${c#body64k-}" "http://$host:$port/64k" "$s" "$out" ;;
  tls-new) run_s_time -new "$tls" "$s" "$out" ;;
  tls-resumed) run_s_time -reuse "$tls" "$s" "$out" ;;
  tls-*) run_wrk "${c#tls-}" "https://$host:$tls/" "$s" "$out" ;;
  post-key-* | post-full-*) run_post "${c##*-}" "http://$host:$port/v1/payments" "$s" "$out" keyed ;;
  post-nokey-*) run_post "${c#post-nokey-}" "http://$host:$port/v1/payments" "$s" "$out" unkeyed ;;
  esac
}

# run_post CONNS URL SECONDS OUT keyed|unkeyed: the ledger cells' POSTs, with
# a token of their own in every key (keys never repeat within a bench run).
run_seq=0
run_post() {
  run_seq=$((run_seq + 1))
  run_wrk "$1" "$2" "$3" "$4" -s "$here/ledger_post.lua" -- "b$stamp-$run_seq" "$5"
}

# fill_store TARGET: keyed POSTs until the memory store is past max_memory,
# once per bench run; says how many entries it holds then.
store_filled=0
fill_store() {
  local t=$1 port entries
  ((store_filled)) && return 0
  store_filled=1
  port=$(eval echo "\$PORT_$t")
  run_post 64 "http://$host:$port/v1/payments" "$fill_seconds" "$tmp/fill.txt" keyed ||
    die "the fill of $t's store failed"
  entries=$(fulcrum_metric "$t" fulcrum_idempotency_entries)
  note "$t's store filled: $(awk '/requests in/ {print $1}' "$tmp/fill.txt") keyed POSTs in ${fill_seconds}s, $entries entries kept"
}

failures=()
rows="$tmp/rows.tsv"
printf 'cell\ttarget\tround\trate\tn\tus\tp99\topened\tmetric_opened\tother\twall\tredis_us\tbackend_us\tload_us\tsleeps\n' >"$rows"

measure() { # CELL TARGET ROUND
  local c=$1 t=$2 r=$3 out="$tmp/load.txt" rc pids pid
  if [[ $t == direct ]]; then pids=("$PID_backend1"); else mapfile -t pids < <(proxy_pids "$t"); fi
  [[ $c == post-full-* && $t == ledger_memory ]] && fill_store "$t"
  run_cell "$c" "$t" "$warmup" "$tmp/warm.txt" || true
  [[ $t == nginx ]] && mapfile -t pids < <(proxy_pids "$t") # a worker may have been replaced
  local m0 m1 b0 b1 w0 w1 wall0 wall1 t0 t1 v0 v1 a0 a1 f0=0 f1=0 r0=0 r1=0
  a0=$(backend_accepts) || die "a backend's status page did not answer"
  [[ $t == fulcrum* || $t == ledger_* ]] && f0=$(fulcrum_opened "$t")
  if [[ -n ${PID_redis:-} ]]; then r0=$(cpu_ticks "$PID_redis") || die "redis-server died"; fi
  m0=$(machine_ticks)
  b0=$(cpu_ticks "$PID_backend1" "$PID_backend2") || die "a backend died"
  children_seconds
  w0=$children_s
  wall0=$EPOCHREALTIME
  local profile=""
  [[ $t != direct && " $perf_cells " == *" $c "* ]] && profile="$results_dir/perf-$stamp-$c-$t-r$r.data"
  [[ -n $profile ]] && perf_start "$(IFS=,; echo "${pids[*]}")" "$seconds" "$profile"
  t0=$(cpu_ticks "${pids[@]}") || die "$t died before the measured run"
  v0=$(voluntary_switches "${pids[@]}") || die "$t died before the measured run"
  run_cell "$c" "$t" "$seconds" "$out"
  rc=$?
  t1=$(cpu_ticks "${pids[@]}") || die "$t died during the measured run"
  v1=$(voluntary_switches "${pids[@]}") || die "$t died during the measured run"
  wall1=$EPOCHREALTIME
  b1=$(cpu_ticks "$PID_backend1" "$PID_backend2") || die "a backend died during the run against $t"
  if [[ -n ${PID_redis:-} ]]; then r1=$(cpu_ticks "$PID_redis") || die "redis-server died during the run against $t"; fi
  children_seconds
  w1=$children_s
  m1=$(machine_ticks)
  a1=$(backend_accepts) || die "a backend's status page did not answer"
  [[ $t == fulcrum* || $t == ledger_* ]] && f1=$(fulcrum_opened "$t")
  [[ -n $profile ]] && perf_stop "$profile"
  ((rc == 0)) || { cat "$out"* >&2; die "the load $c against $t failed (exit $rc)"; }
  local proxy_ticks=$((t1 - t0))
  [[ $t == direct ]] && proxy_ticks=0 # backend1's CPU is in the backends' share
  local other n rate p99 non2xx resumed
  other=$(awk -v m=$((m1 - m0)) -v x=$((proxy_ticks + b1 - b0 + r1 - r0)) -v w0="$w0" -v w1="$w1" \
    -v hz="$clk_tck" 'BEGIN { o = (m - x) / hz - (w1 - w0); if (o < 0) o = 0; printf "%.1f", o }')
  if [[ $c == tls-new || $c == tls-resumed ]]; then
    n=$(cat "$out".* | awk '/connections in .* real seconds/ {n += $1} END {print n + 0}')
    resumed=$(cat "$out".* | grep -E '^[*r]+$' | tr -cd 'r' | wc -c)
    rate=$(awk -v n="$n" -v a="$wall0" -v b="$wall1" 'BEGIN {printf "%.0f", n / (b - a)}')
    p99=-
    ((n > 0)) || { cat "$out".* >&2; die "s_time reported no connections ($c $t)"; }
    if [[ $c == tls-new ]]; then
      ((resumed == 0)) || failures+=("$c $t round $r: $resumed handshakes resumed")
    else
      ((resumed * 10 >= n * 9)) || failures+=("$c $t round $r: only $resumed of $n handshakes resumed")
    fi
  else
    n=$(awk '/requests in/ {print $1}' "$out")
    rate=$(awk '/^Requests\/sec:/ {printf "%.0f", $2}' "$out")
    p99=$(to_ms "$(awk '$1 == "99%" {print $2}' "$out")")
    non2xx=$(awk -F': *' '/Non-2xx or 3xx responses/ {print $2}' "$out")
    [[ -n $n && $n -gt 0 ]] || { cat "$out" >&2; die "wrk reported no requests ($c $t)"; }
    ((${non2xx:-0} == 0)) || failures+=("$c $t round $r: $non2xx responses were not 2xx/3xx")
    grep -q 'Socket errors' "$out" && note "warning: $c $t: $(grep 'Socket errors' "$out")"
  fi
  for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null || failures+=("$t (pid $pid) died during $c"); done
  local us opened mopened=-
  us=$(us_per_request "$proxy_ticks" "$n")
  [[ $t == direct ]] && us=-
  # the second reading's own connections (one per backend) are not the load's
  opened=$(awk -v a=$((a1 - a0 - 2)) -v n="$n" 'BEGIN {printf "%.4f", a / n}')
  [[ $t == fulcrum* || $t == ledger_* ]] && mopened=$(awk -v a=$((f1 - f0)) -v n="$n" 'BEGIN {printf "%.4f", a / n}')
  # redis-server's CPU per request, in the runs against ledger_redis
  local redis_us=-
  [[ $t == ledger_redis ]] && redis_us=$(us_per_request $((r1 - r0)) "$n")
  # The load core's side of each request: the backends' CPU and the load
  # generator's (wrk, s_time), and how often the proxy slept meanwhile.
  local backend_us load_us sleeps=-
  backend_us=$(us_per_request $((b1 - b0)) "$n")
  load_us=$(awk -v a="$w0" -v b="$w1" -v n="$n" 'BEGIN {printf "%.2f", (b - a) * 1e6 / n}')
  [[ $t == direct ]] || sleeps=$(awk -v v=$((v1 - v0)) -v n="$n" 'BEGIN {printf "%.3f", v / n}')
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$c" "$t" "$r" "$rate" "$n" "$us" "$p99" \
    "$opened" "$mopened" "$other" "$(awk -v a="$wall0" -v b="$wall1" 'BEGIN {printf "%.2f", b - a}')" "$redis_us" \
    "$backend_us" "$load_us" "$sleeps" >>"$rows"
  note "$c $t round $r: $rate/s, $us us/req, p99 $p99 ms, opened/req $opened, other CPU ${other}s"
}

# --- idle probe -------------------------------------------------------------

idle_rows="$tmp/idle.tsv"
printf 'kind\ttarget\tconns\trss0\trss1\n' >"$idle_rows"

# idle_probe PROXY http|tcp N: RSS of PROXY before, and with N client
# connections held idle after one request each (bench/idle_hold.py).
# Each probe has a proxy of its own, started afresh and warmed by a short wrk
# run, so that memory freed after an earlier load does not hide what the
# connections take.
idle_probe() {
  local p=$1 kind=$2 count=$3 port pids rss0 rss1 hold out="$tmp/idle-$1-$2.txt" deadline
  stop "$p"
  start_proxy "$p"
  if [[ $kind == http ]]; then port=$(eval echo "\$PORT_$p"); else port=$(eval echo "\$TCPPORT_$p"); fi
  run_wrk 64 "http://$host:$port/" 1 "$tmp/idle-warm.txt" || die "the warm-up of $p before the idle probe failed"
  sleep 0.5
  mapfile -t pids < <(proxy_pids "$p")
  rss0=$(rss_kb "${pids[@]}")
  : >"$out" # there before the wait below reads it
  "${load_cpu[@]}" python3 "$here/idle_hold.py" "$host" "$port" "$count" 300 >"$out" 2>&1 </dev/null &
  hold=$!
  load_pids=("$hold")
  deadline=$((SECONDS + 150))
  while ! grep -q '^ready\|^failed' "$out" && kill -0 "$hold" 2>/dev/null && ((SECONDS < deadline)); do
    sleep 0.2
  done
  if grep -q '^ready' "$out"; then
    sleep 1
    rss1=$(rss_kb "${pids[@]}")
    printf '%s\t%s\t%s\t%s\t%s\n' "$kind" "$p" "$count" "$rss0" "$rss1" >>"$idle_rows"
    note "idle $kind $p: $count connections, RSS $rss0 -> $rss1 kB"
  else
    failures+=("idle $kind $p: $(head -c 300 "$out")")
  fi
  kill -TERM "$hold" 2>/dev/null
  wait "$hold" 2>/dev/null
  load_pids=()
  sleep 2 # the proxy closes what it held
}

# --- run --------------------------------------------------------------------

read -r -a target_list <<<"$targets"
((ledger)) && read -r -a target_list <<<"$targets $ledger_targets"
started=$(date -u '+%Y-%m-%d %H:%M:%S UTC')
m_start=$(machine_ticks)
wall_start=$SECONDS
for ((r = 1; r <= rounds; r++)); do
  # rotate the targets by one each round
  order=()
  for ((i = 0; i < ${#target_list[@]}; i++)); do
    order+=("${target_list[(i + r - 1) % ${#target_list[@]}]}")
  done
  note "round $r of $rounds: ${order[*]}"
  for c in $cells; do
    for t in "${order[@]}"; do
      applies "$c" "$t" && measure "$c" "$t" "$r"
    done
  done
done
# What fulcrum logged during the matrix (the idle probe starts it afresh).
[[ -f $tmp/fulcrum.log ]] && cp "$tmp/fulcrum.log" "$tmp/fulcrum-matrix.log"
if [[ $idle == 1 ]]; then
  for p in $proxies; do idle_probe "$p" http "$idle_http"; done
  for p in $proxies; do applies tcp-1 "$p" && idle_probe "$p" tcp "$idle_tcp"; done
fi
m_end=$(machine_ticks)

# --- report -----------------------------------------------------------------

{
  echo "fulcrum bench matrix  $started  commit $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)"
  if ((proxy_workers > 1)); then
    echo "$rounds rounds of ${seconds}s runs (warm-up ${warmup}s each), targets rotated per round; $(nproc) cores:" \
      "$proxy_workers threads per proxy, nothing pinned"
  else
    echo "$rounds rounds of ${seconds}s runs (warm-up ${warmup}s each), targets rotated per round; $(nproc) cores:" \
      "proxy on core 0 (one thread), wrk/s_time/backends on core 1"
  fi
  echo "$(haproxy -v 2>/dev/null | head -n 1 | cut -d' ' -f1-3), $(nginx -v 2>&1 | cut -d' ' -f3)," \
    "$(openssl version | cut -d' ' -f1-2), $(wrk -v 2>&1 | head -n 1 | cut -d' ' -f1-2)"
  awk -v m=$((m_end - m_start)) -v hz="$clk_tck" -v w=$((SECONDS - wall_start)) -v n="$(nproc)" 'BEGIN {
    printf "machine busy %.0f%% of %d cores over the %d s of the run, the bench included\n", m / hz / w / n * 100, n, w }'
  python3 "$here/report.py" "$rows" "$idle_rows" || echo "(report.py failed)"
  if [[ " $proxies " == *" fulcrum "* ]]; then
    local_n=$(grep -cv ' listening on \|max_connections' "$tmp/fulcrum-matrix.log" 2>/dev/null)
    echo "fulcrum log lines at level warn and above during the matrix (start messages excluded): ${local_n:-0}"
    grep -v ' listening on \|max_connections' "$tmp/fulcrum-matrix.log" 2>/dev/null | sort | uniq -c | sort -rn |
      head -n 5 | sed 's/^/  /'
  fi
  for t in $proxies $([[ $ledger == 1 ]] && echo "$ledger_targets"); do
    [[ $t == fulcrum ]] && continue
    [[ $t == ledger_* ]] || continue
    local_n=$(grep -cv ' listening on \|max_connections' "$tmp/$t.log" 2>/dev/null)
    echo "$t log lines at level warn and above (start messages excluded): ${local_n:-0}"
    grep -v ' listening on \|max_connections' "$tmp/$t.log" 2>/dev/null | sort | uniq -c | sort -rn |
      head -n 5 | sed 's/^/  /'
  done
  for f in "$results_dir/perf-$stamp-"*-fulcrum-*.data.txt "$results_dir/perf-$stamp-"*-ledger_*.data.txt; do
    [[ -f $f ]] || continue
    echo "fulcrum's top symbols by self time, perf record -g -F 999 ($(basename "${f%.data.txt}")):"
    head -n 15 "$f"
  done
  for f in "${failures[@]}"; do echo "FAILED: $f"; done
} | tee "$results_dir/matrix-$stamp.txt"
cp "$results_dir/matrix-$stamp.txt" "$results_dir/latest.txt"
note "table written to $results_dir/matrix-$stamp.txt and $results_dir/latest.txt"
((${#failures[@]} == 0))
