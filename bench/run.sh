#!/usr/bin/env bash
# `make bench`: fulcrum against HAProxy and nginx, in one run, on this machine.
#
# What it measures: for each proxy, HTTP/1.1 throughput (requests/s), latency
# (p50, p99) and the CPU time the proxy process spent per request, with one
# thread/worker each and the same set-up:
#   wrk (2 threads, 64 keep-alive connections)
#     -> proxy on 127.0.0.1 (fulcrum `workers: 1` | HAProxy `nbthread 1` |
#        nginx `worker_processes 1`), round robin, keep-alive to the backends
#     -> two nginx backends (one process each) that answer `200 "ok\n"`.
# That is the suite `http`. Each proxy also terminates TLS on a second port
# (an EC P-256 certificate made here with the openssl CLI), measured by
# three more suites:
#   tls          the same wrk run over https (keep-alive: few handshakes)
#   tls-new      a new connection per request, each a full handshake:
#                BENCH_THREADS `openssl s_time -new` clients at once
#   tls-resumed  the same with `s_time -reuse`: every handshake but the
#                first of each client resumes the session
# For these two the figure is CPU per connection (handshake + request).
#
# How: the backends and the three proxies are started on free loopback ports,
# with configs written to a temporary directory (removed at exit). Each proxy
# gets a short warm-up (BENCH_WARMUP seconds), then one measured wrk run of
# BENCH_SECONDS; the proxy's CPU time is utime+stime from /proc/PID/stat (all
# threads; for nginx the master and its worker summed), read right before and
# right after the measured run. Its resident memory (VmRSS) is read at start,
# after the warm-up and after the run. The CPU the rest of the machine used
# meanwhile is shown too ("other CPU s"): high means a noisy run. A response
# other than 2xx/3xx (as wrk counts them) fails the run; socket errors are
# reported. s_time shows no status, so before measuring each proxy must
# answer s_time's request over TLS with a 200; a tls-new run that resumed,
# or a tls-resumed run that mostly did not, fails.
# The tables are printed and written to bench/results/latest.txt.
#
# usage: bench/run.sh            (from the repository root; `make bench`)
# environment:
#   BUILD_DIR          where build/fulcrum is             (default: build)
#   BENCH_SECONDS      length of each measured run, s     (default: 10)
#   BENCH_WARMUP       length of each warm-up run, s      (default: 2)
#   BENCH_THREADS      wrk threads, s_time clients        (default: 2)
#   BENCH_CONNECTIONS  wrk connections                    (default: 64)
#   BENCH_PROXIES      which proxies, in order            (default: "fulcrum haproxy nginx")
#   BENCH_SUITES       which suites, in order             (default: "http tls tls-new tls-resumed")
#   BENCH_RESULTS      where the table is written         (default: bench/results/latest.txt)
# exit status: 0 when every proxy ran and answered only 2xx/3xx; 1 otherwise.
# (PORT_<name>, TLSPORT_<name> and PID_<name> are set by `start` through printf -v; the
# functions called from traps and as config renderers look unused to shellcheck.)
# shellcheck disable=SC2154,SC2317
set -u -o pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
build=${BUILD_DIR:-build}
case $build in /*) ;; *) build="$root/$build" ;; esac
seconds=${BENCH_SECONDS:-10}
warmup=${BENCH_WARMUP:-2}
threads=${BENCH_THREADS:-2}
conns=${BENCH_CONNECTIONS:-64}
proxies=${BENCH_PROXIES:-fulcrum haproxy nginx}
suites=${BENCH_SUITES:-http tls tls-new tls-resumed}
results=${BENCH_RESULTS:-$here/results/latest.txt}
host=127.0.0.1 # every socket of this script is on loopback, nothing else

die() {
  echo "bench: error: $*" >&2
  exit 1
}
note() { echo "bench: $*" >&2; }

for v in seconds warmup threads conns; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive integer, got '${!v}'"
done
for p in $proxies; do
  case $p in fulcrum | fulcrum_nometrics | haproxy | nginx) ;; *) die "unknown proxy '$p' in BENCH_PROXIES" ;; esac
done
for s in $suites; do
  case $s in http | tls | tls-new | tls-resumed) ;; *) die "unknown suite '$s' in BENCH_SUITES" ;; esac
done
for tool in wrk haproxy nginx curl timeout openssl; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool not found (make bench installs wrk, haproxy, nginx-light, openssl)"
done
[[ -x $build/fulcrum ]] || die "$build/fulcrum not found: run 'make build' first"
# The same fulcrum with its per-request metric updates compiled out
# (FULCRUM_REQUEST_METRICS=0): `make bench-metrics` prices /metrics with it.
nometrics=${NOMETRICS_BUILD_DIR:-build-nometrics}
case $nometrics in /*) ;; *) nometrics="$root/$nometrics" ;; esac
if [[ " $proxies " == *" fulcrum_nometrics "* ]]; then
  [[ -x $nometrics/fulcrum ]] || die "$nometrics/fulcrum not found: run 'make bench-metrics'"
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/fulcrum-bench.XXXXXX") || die "mktemp failed"
children=()  # PIDs this script started, each stopped at exit
load_pids=() # the load generators running (wrk, s_time), stopped at exit

cleanup() {
  local pid deadline
  trap - EXIT INT TERM
  for pid in "${load_pids[@]}" "${children[@]}"; do kill -TERM "$pid" 2>/dev/null; done
  # Bounded: 5 s for a clean stop, then SIGKILL.
  deadline=$((SECONDS + 5))
  for pid in "${load_pids[@]}" "${children[@]}"; do
    while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.05; done
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  done
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- certificate ------------------------------------------------------------

# One self-signed EC P-256 certificate for every proxy's TLS listener (the
# clients do not verify it); HAProxy reads it and its key from one file.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 -subj /CN=localhost \
  -addext subjectAltName=DNS:localhost,IP:$host -keyout "$tmp/tls.key" -out "$tmp/tls.pem" \
  >"$tmp/openssl.log" 2>&1 || { cat "$tmp/openssl.log" >&2; die "openssl could not make a certificate"; }
cat "$tmp/tls.pem" "$tmp/tls.key" >"$tmp/tls-combined.pem"

# --- ports ------------------------------------------------------------------

used_ports=" "
picked=""
# Ports are drawn below the kernel's ephemeral range (from which the proxies'
# own connections to the backends take their source ports), else above it.
port_lo=20000 port_hi=32767
if read -r eph_lo eph_hi </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null; then
  if ((eph_lo > 12000)); then
    port_lo=10000 port_hi=$((eph_lo - 1))
  elif ((eph_hi < 63000)); then
    port_lo=$((eph_hi + 1)) port_hi=65535
  fi
fi
# Sets $picked to a random port in that range that nothing on 127.0.0.1
# accepts on and that this script has not handed out yet (another program may
# still take it first: see start).
pick_port() {
  local p i
  for ((i = 0; i < 200; i++)); do
    p=$((port_lo + (RANDOM * 32768 + RANDOM) % (port_hi - port_lo + 1)))
    [[ $used_ports == *" $p "* ]] && continue
    if ! (exec 3<>"/dev/tcp/$host/$p") 2>/dev/null; then
      used_ports+="$p "
      picked=$p
      return 0
    fi
  done
  die "no free port found on $host"
}

# --- processes --------------------------------------------------------------

# wait_http NAME PID PORT LOG: up to 10 s for PID to answer 200 on PORT.
wait_http() {
  local name=$1 pid=$2 port=$3 log=$4 code deadline=$((SECONDS + 10))
  while ((SECONDS < deadline)); do
    if ! kill -0 "$pid" 2>/dev/null; then
      note "$name exited during start"
      [[ -s $log ]] && sed 's/^/  | /' "$log" | tail -n 15 >&2
      return 1
    fi
    code=$(curl -s -o /dev/null -m 1 -w '%{http_code}' "http://$host:$port/" 2>/dev/null)
    [[ $code == 200 ]] && return 0
    sleep 0.1
  done
  note "$name did not answer 200 on $host:$port within 10 s (last status '${code:-none}')"
  [[ -s $log ]] && sed 's/^/  | /' "$log" | tail -n 15 >&2
  return 1
}

# start NAME RENDER CMD...: starts NAME on a free port; RENDER PORT writes its
# config for that port (and a proxy's TLS listener for the port in
# $tls_port), CMD runs it with the word @CONF@ replaced by the config's path.
# Tried again on new ports (three tries in all) only when a port was taken
# meanwhile. Sets PORT_<NAME>, TLSPORT_<NAME> and PID_<NAME>.
tls_port=""
start() {
  local name=$1 render=$2 try port pid conf log
  shift 2
  for try in 1 2 3; do
    pick_port
    port=$picked
    pick_port
    tls_port=$picked
    conf="$tmp/$name.conf"
    log="$tmp/$name.log"
    "$render" "$port" >"$conf" || die "cannot write $conf"
    local cmd=() w
    for w in "$@"; do cmd+=("${w//@CONF@/$conf}"); done
    "${cmd[@]}" >"$log" 2>&1 </dev/null &
    pid=$!
    children+=("$pid")
    if wait_http "$name" "$pid" "$port" "$log"; then
      printf -v "PORT_$name" %s "$port"
      printf -v "TLSPORT_$name" %s "$tls_port"
      printf -v "PID_$name" %s "$pid"
      note "$name up on $host:$port (pid $pid)"
      return 0
    fi
    kill -TERM "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    # Another try only when the port was taken meanwhile.
    grep -qi 'in use' "$log" "$tmp/$name.d/error.log" 2>/dev/null || break
    note "$name: start $try of 3 failed: port $port or $tls_port taken"
  done
  die "$name failed to start (messages above)"
}

# --- configs ----------------------------------------------------------------

nginx_common() { # NAME: the paths every nginx instance needs under $tmp
  local d="$tmp/$1.d"
  mkdir -p "$d"
  cat <<EOF
daemon off;
pid $d/nginx.pid;
error_log $d/error.log warn;
worker_rlimit_nofile 8192;
events { worker_connections 4096; }
EOF
}
nginx_http_common() {
  local d="$tmp/$1.d"
  cat <<EOF
  access_log off;
  client_body_temp_path $d/client_body;
  proxy_temp_path $d/proxy;
  fastcgi_temp_path $d/fastcgi;
  uwsgi_temp_path $d/uwsgi;
  scgi_temp_path $d/scgi;
  keepalive_requests 100000;
  keepalive_timeout 60s;
EOF
}

render_backend() { # PORT (name from $backend)
  nginx_common "$backend"
  cat <<EOF
master_process off;
worker_processes 1;
http {
$(nginx_http_common "$backend")
  server {
    listen $host:$1 backlog=4096;
    location / { default_type text/plain; return 200 "ok\n"; }
  }
}
EOF
}

render_fulcrum() {
  cat <<EOF
global: { workers: 1, log: { level: warn, access: off }, admin: { listen: $host:0 } }
listeners:
  - { name: web, listen: $host:$1, protocol: http, upstream: backends }
  - name: web_tls
    listen: $host:$tls_port
    protocol: http
    upstream: backends
    tls: { certificate: $tmp/tls.pem, key: $tmp/tls.key }
upstreams:
  backends:
    balance: round_robin
    keepalive: { max_idle: 64, idle_timeout: 60s }
    servers:
      - { address: $host:$PORT_backend1 }
      - { address: $host:$PORT_backend2 }
EOF
}

render_haproxy() {
  cat <<EOF
global
  nbthread 1
  maxconn 4096
defaults
  mode http
  option http-keep-alive
  http-reuse always
  timeout connect 5s
  timeout client 60s
  timeout server 60s
  timeout http-keep-alive 60s
frontend web
  bind $host:$1
  default_backend backends
frontend web_tls
  bind $host:$tls_port ssl crt $tmp/tls-combined.pem
  default_backend backends
backend backends
  balance roundrobin
  server b1 $host:$PORT_backend1
  server b2 $host:$PORT_backend2
EOF
}

render_nginx() {
  nginx_common nginx
  cat <<EOF
worker_processes 1;
http {
$(nginx_http_common nginx)
  upstream backends {
    server $host:$PORT_backend1;
    server $host:$PORT_backend2;
    keepalive 64;
    keepalive_requests 100000;
    keepalive_timeout 60s;
  }
  proxy_http_version 1.1;
  proxy_set_header Connection "";
  server {
    listen $host:$1 backlog=4096;
    location / { proxy_pass http://backends; }
  }
  server {
    listen $host:$tls_port ssl backlog=4096;
    ssl_certificate $tmp/tls.pem;
    ssl_certificate_key $tmp/tls.key;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_session_cache shared:SSL:10m;
    location / { proxy_pass http://backends; }
  }
}
EOF
}

# --- measuring --------------------------------------------------------------

clk_tck=$(getconf CLK_TCK 2>/dev/null || echo 100)

# The PIDs whose CPU counts for PROXY: nginx's master and its worker(s).
proxy_pids() {
  local pid
  pid=$(eval echo "\$PID_$1")
  echo "$pid"
  if [[ $1 == nginx ]]; then
    local f ppid line rest
    for f in /proc/[0-9]*/stat; do
      # field 4 (ppid), counted after the ')' that closes the command name
      read -r line 2>/dev/null <"$f" || continue
      rest=${line##*) }
      read -r _ ppid _ <<<"$rest"
      [[ $ppid == "$pid" ]] && basename "$(dirname "$f")"
    done
  fi
}

# utime+stime in clock ticks, summed over the PIDs given; fails when one is gone.
cpu_ticks() {
  local pid total=0 line f
  for pid in "$@"; do
    read -r line 2>/dev/null <"/proc/$pid/stat" || return 1
    # after the ')' that closes the command name: field 3 (state) onwards,
    # so utime (field 14) is f[11] and stime (field 15) f[12]
    read -r -a f <<<"${line##*) }"
    total=$((total + f[11] + f[12]))
  done
  echo "$total"
}

rss_kb() { # VmRSS in kB, summed over the PIDs given
  local pid total=0 v
  for pid in "$@"; do
    v=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status" 2>/dev/null)
    total=$((total + ${v:-0}))
  done
  echo "$total"
}

# Busy clock ticks of the whole machine (every core), from /proc/stat.
machine_ticks() {
  local user nice system irq softirq steal
  read -r _ user nice system _ _ irq softirq steal _ </proc/stat
  echo $((user + nice + system + irq + softirq + steal))
}

# CPU seconds (user + system) of this shell's finished children (wrk, curl),
# from the second line of `times`, e.g. "0m1.234s 0m0.567s". `times` runs in
# this shell (a subshell would report its own children); call it directly,
# not inside $(...): it sets $children_s.
children_seconds() {
  times >"$tmp/times"
  children_s=$(awk 'NR == 2 {
    t = 0
    for (i = 1; i <= 2; i++) { split($i, a, "m"); sub("s", "", a[2]); t += a[1] * 60 + a[2] }
    printf "%.3f", t }' "$tmp/times")
}

# A wrk latency value (e.g. 812.00us, 1.23ms, 1.01s) in milliseconds.
to_ms() {
  awk -v v="$1" 'BEGIN {
    n = v + 0
    if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n += 0; else if (v ~ /m$/) n *= 60000; else if (v ~ /s$/) n *= 1000
    printf "%.3f", n }'
}

# The load generators run in the background and are waited for, so that
# SIGINT/SIGTERM stop the bench at once (bash runs a trap only after a
# foreground command ends).
run_wrk() { # URL SECONDS OUT [wrk options]
  local url=$1 secs=$2 out=$3 rc
  shift 3
  timeout -k 5 $((secs + 30)) wrk -t"$threads" -c"$conns" -d"${secs}s" --latency "$@" \
    "$url" >"$out" 2>&1 </dev/null &
  load_pids=($!)
  wait "${load_pids[0]}"
  rc=$?
  load_pids=()
  return "$rc"
}

# s_time sends "GET <page> HTTP/1.0\r\n\r\n". An HTTP/1.0 request costs
# fulcrum a new server connection (it goes to the server as HTTP/1.0, which
# the server closes after its answer) where HAProxy and nginx reuse theirs:
# a page that ends the request line itself makes it an HTTP/1.1 request that
# asks to close, "HTTP/1.0" the value of a field of its own, so that these
# suites measure TLS and not that.
s_time_page=$'/ HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nX-Sent-By:'
s_time_request="GET $s_time_page HTTP/1.0"$'\r\n\r\n'

# $threads `openssl s_time` clients at once, each one connection at a time,
# each connection a handshake (-new: full; -reuse: resumed but the first)
# and that request, read to the close. Their outputs go to OUT.1...
run_s_time() { # -new|-reuse PORT SECONDS OUT
  local i pid rc=0
  for ((i = 1; i <= threads; i++)); do
    timeout -k 5 $(($3 + 30)) openssl s_time -connect "$host:$2" "$1" -www "$s_time_page" -time "$3" \
      >"$4.$i" 2>&1 </dev/null &
    load_pids+=($!)
  done
  for pid in "${load_pids[@]}"; do wait "$pid" || rc=$?; done
  load_pids=()
  return "$rc"
}

run_load() { # SUITE PORT SECONDS OUT
  case $1 in
  http) run_wrk "http://$host:$2/" "$3" "$4" ;;
  tls) run_wrk "https://$host:$2/" "$3" "$4" ;;
  tls-new) run_s_time -new "$2" "$3" "$4" ;;
  tls-resumed) run_s_time -reuse "$2" "$3" "$4" ;;
  esac
}

# The results, by "SUITE PROXY". N is what was counted (requests for wrk,
# connections for s_time), RATE it per second; RESUMED is s_time's count of
# resumed handshakes.
declare -A R_OTHER R_RATE R_N R_CPU R_US R_P50 R_P99 R_NON2XX R_SOCK R_RSSS R_RSS0 R_RSS1 R_RESUMED
failures=()

parse_wrk() { # KEY OUT
  local k=$1 out=$2 sock
  R_N[$k]=$(awk '/requests in/ {print $1}' "$out")
  R_RATE[$k]=$(awk '/^Requests\/sec:/ {printf "%.0f", $2}' "$out")
  R_P50[$k]=$(to_ms "$(awk '$1 == "50%" {print $2}' "$out")")
  R_P99[$k]=$(to_ms "$(awk '$1 == "99%" {print $2}' "$out")")
  R_NON2XX[$k]=$(awk -F': *' '/Non-2xx or 3xx responses/ {print $2}' "$out")
  R_NON2XX[$k]=${R_NON2XX[$k]:-0}
  # "Socket errors: connect 0, read 0, write 0, timeout 0" -> total and detail
  sock=$(awk '/Socket errors:/ {gsub(",", ""); print $4 + $6 + $8 + $10, "(c" $4 " r" $6 " w" $8 " t" $10 ")"}' "$out")
  R_SOCK[$k]=${sock:-0}
  [[ -n ${R_N[$k]} && ${R_N[$k]} -gt 0 ]] || { cat "$out" >&2; die "wrk reported no requests ($k)"; }
  ((R_NON2XX[$k] == 0)) || failures+=("$k: ${R_NON2XX[$k]} responses were not 2xx/3xx")
  [[ ${R_SOCK[$k]} == 0 ]] || note "warning: $k: wrk socket errors ${R_SOCK[$k]}"
}

# s_time prints a '*' for each full handshake and an 'r' for each resumed
# one, then "N connections in T real seconds, ...".
parse_s_time() { # KEY OUT WALL_SECONDS
  local k=$1 out=$2
  R_N[$k]=$(cat "$out".* | awk '/connections in .* real seconds/ {n += $1} END {print n + 0}')
  R_RESUMED[$k]=$(cat "$out".* | grep -E '^[*r]+$' | tr -cd 'r' | wc -c)
  R_RATE[$k]=$(awk -v n="${R_N[$k]}" -v t="$3" 'BEGIN {printf "%.0f", n / t}')
  ((R_N[$k] > 0)) || { cat "$out".* >&2; die "s_time reported no connections ($k)"; }
  case $k in
  tls-new\ *) ((R_RESUMED[$k] == 0)) || failures+=("$k: ${R_RESUMED[$k]} handshakes resumed") ;;
  tls-resumed\ *) # all but the first of each client; below 90 % the row means little
    ((R_RESUMED[$k] * 10 >= R_N[$k] * 9)) ||
      failures+=("$k: only ${R_RESUMED[$k]} of ${R_N[$k]} handshakes resumed") ;;
  esac
}

measure() { # SUITE PROXY
  local s=$1 p=$2 k="$1 $2"
  local port pids t0 t1 out="$tmp/load-$1-$2.txt" rc
  if [[ $s == http ]]; then port=$(eval echo "\$PORT_$p"); else port=$(eval echo "\$TLSPORT_$p"); fi
  mapfile -t pids < <(proxy_pids "$p")
  R_RSSS[$k]=$(rss_kb "${pids[@]}")
  note "$k: warm-up ${warmup}s"
  run_load "$s" "$port" "$warmup" "$tmp/warm-$1-$2.txt" || true
  # again: nginx may have replaced a worker
  mapfile -t pids < <(proxy_pids "$p")
  for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null || die "$p (pid $pid) died during warm-up"; done
  R_RSS0[$k]=$(rss_kb "${pids[@]}")
  note "$k: measuring ${seconds}s (CPU of pid ${pids[*]})"
  local m0 m1 b0 b1 w0 w1 wall0 wall1
  m0=$(machine_ticks)
  b0=$(cpu_ticks "$PID_backend1" "$PID_backend2") || die "a backend died"
  children_seconds
  w0=$children_s
  wall0=$EPOCHREALTIME
  t0=$(cpu_ticks "${pids[@]}") || die "$p died before the measured run"
  run_load "$s" "$port" "$seconds" "$out"
  rc=$?
  t1=$(cpu_ticks "${pids[@]}") || die "$p died during the measured run"
  wall1=$EPOCHREALTIME
  b1=$(cpu_ticks "$PID_backend1" "$PID_backend2") || die "a backend died during the run against $p"
  children_seconds
  w1=$children_s
  m1=$(machine_ticks)
  # What the rest of the machine used meanwhile: a sign of a noisy run.
  R_OTHER[$k]=$(awk -v m=$((m1 - m0)) -v x=$((t1 - t0 + b1 - b0)) -v w0="$w0" -v w1="$w1" \
    -v hz="$clk_tck" 'BEGIN { o = (m - x) / hz - (w1 - w0); if (o < 0) o = 0; printf "%.1f", o }')
  R_RSS1[$k]=$(rss_kb "${pids[@]}")
  ((rc == 0)) || { cat "$out"* >&2; die "the load against $p ($s) failed (exit $rc)"; }
  for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null || failures+=("$p (pid $pid) died during the run"); done

  case $s in
  http | tls) parse_wrk "$k" "$out" ;;
  *) parse_s_time "$k" "$out" "$(awk -v a="$wall0" -v b="$wall1" 'BEGIN {print b - a}')" ;;
  esac
  R_CPU[$k]=$(awk -v t=$((t1 - t0)) -v hz="$clk_tck" 'BEGIN {printf "%.2f", t / hz}')
  R_US[$k]=$(awk -v t=$((t1 - t0)) -v hz="$clk_tck" -v n="${R_N[$k]}" 'BEGIN {printf "%.2f", t / hz * 1e6 / n}')
}

# --- run --------------------------------------------------------------------

# 64 client connections, as many to the backends, plus the listeners: raise
# the descriptor limit where the hard limit allows.
ulimit -Sn 65536 2>/dev/null || ulimit -Sn "$(ulimit -Hn)" 2>/dev/null || true

for backend in backend1 backend2; do
  start "$backend" render_backend nginx -p "$tmp/$backend.d/" -e "$tmp/$backend.d/error.log" -c @CONF@
done
for p in $proxies; do
  case $p in
  fulcrum) start fulcrum render_fulcrum "$build/fulcrum" -c @CONF@ ;;
  fulcrum_nometrics) start fulcrum_nometrics render_fulcrum "$nometrics/fulcrum" -c @CONF@ ;;
  haproxy) start haproxy render_haproxy haproxy -db -f @CONF@ ;;
  nginx) start nginx render_nginx nginx -p "$tmp/nginx.d/" -e "$tmp/nginx.d/error.log" -c @CONF@ ;;
  esac
done
# Both backends must be in the rotation of every proxy: two requests each
# through a fresh connection must both be 200 "ok".
for p in $proxies; do
  port=$(eval echo "\$PORT_$p")
  for i in 1 2; do
    body=$(curl -s -m 2 "http://$host:$port/") || die "$p: request $i failed"
    [[ $body == ok ]] || die "$p: request $i answered '$body', not 'ok'"
  done
done
# Over TLS too: curl's request, and s_time's, which must get a 200. And what
# each proxy negotiates with OpenSSL's client defaults (wrk and s_time use
# them too).
declare -A NEGOTIATED
for p in $proxies; do
  port=$(eval echo "\$TLSPORT_$p")
  body=$(curl -sk -m 2 "https://$host:$port/") || die "$p: the request over TLS failed"
  [[ $body == ok ]] || die "$p: the request over TLS answered '$body', not 'ok'"
  status=$(printf '%s' "$s_time_request" | timeout 5 openssl s_client -quiet -connect "$host:$port" 2>/dev/null |
    head -n 1 | tr -d '\r')
  [[ $status == "HTTP/1.1 200 "* ]] || die "$p: s_time's request over TLS answered '$status', not 200"
  NEGOTIATED[$p]=$(timeout 5 openssl s_client -brief -connect "$host:$port" </dev/null 2>&1 |
    awk -F': ' '/^Protocol version/ {v = $2} /^Ciphersuite/ {c = $2} /Temp Key/ {split($2, g, ","); t = g[1]}
      END {print v, c, t}')
done

for s in $suites; do
  for p in $proxies; do measure "$s" "$p"; done
done

# --- report -----------------------------------------------------------------

ratio() { # SUITE OTHER: fulcrum's CPU per request (or connection) over OTHER's
  local a=${R_US[$1 fulcrum]:-} b=${R_US[$1 $2]:-}
  [[ -n $a && -n $b ]] || { echo "n/a"; return; }
  awk -v a="$a" -v b="$b" 'BEGIN { if (b > 0) printf "%.2fx", a / b; else print "n/a" }'
}

suite_title() {
  case $1 in
  http) echo "http: wrk -t$threads -c$conns -d${seconds}s, keep-alive both sides" ;;
  tls) echo "tls: the same over https (keep-alive: one handshake per connection)" ;;
  tls-new) echo "tls-new: $threads x openssl s_time -new for ${seconds}s: a full handshake and one request per connection" ;;
  tls-resumed) echo "tls-resumed: $threads x openssl s_time -reuse for ${seconds}s: the same, the handshakes resumed" ;;
  esac
}

mkdir -p "$(dirname "$results")" || die "cannot create $(dirname "$results")"
{
  echo "fulcrum bench  $(date -u '+%Y-%m-%d %H:%M:%S UTC')  commit $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)"
  echo "warm-up ${warmup}s, $(nproc) cores, 1 proxy thread, 2 nginx backends, keep-alive to them"
  echo "$(haproxy -v 2>/dev/null | head -n 1 | cut -d' ' -f1-3), $(nginx -v 2>&1 | cut -d' ' -f3), $(openssl version | cut -d' ' -f1-2)"
  if [[ $suites == *tls* ]]; then
    for p in $proxies; do printf 'TLS negotiated by %-17s %s\n' "$p:" "${NEGOTIATED[$p]}"; done
  fi
  for s in $suites; do
    echo
    suite_title "$s"
    if [[ $s == http || $s == tls ]]; then
      printf '%-17s %10s %10s %7s %10s %8s %8s %7s %-18s %11s  %s\n' \
        proxy "req/s" requests "CPU s" "CPU us/req" "p50 ms" "p99 ms" non-2xx "socket errors" "other CPU s" "RSS kB start/warm/end"
      for p in $proxies; do
        k="$s $p"
        printf '%-17s %10s %10s %7s %10s %8s %8s %7s %-18s %11s  %s\n' "$p" "${R_RATE[$k]}" "${R_N[$k]}" \
          "${R_CPU[$k]}" "${R_US[$k]}" "${R_P50[$k]}" "${R_P99[$k]}" "${R_NON2XX[$k]}" "${R_SOCK[$k]}" \
          "${R_OTHER[$k]}" "${R_RSSS[$k]}/${R_RSS0[$k]}/${R_RSS1[$k]}"
      done
      unit=request
    else
      printf '%-17s %10s %11s %7s %11s %8s %11s  %s\n' \
        proxy "conn/s" connections "CPU s" "CPU us/conn" resumed "other CPU s" "RSS kB start/warm/end"
      for p in $proxies; do
        k="$s $p"
        printf '%-17s %10s %11s %7s %11s %8s %11s  %s\n' "$p" "${R_RATE[$k]}" "${R_N[$k]}" "${R_CPU[$k]}" \
          "${R_US[$k]}" "${R_RESUMED[$k]}" "${R_OTHER[$k]}" "${R_RSSS[$k]}/${R_RSS0[$k]}/${R_RSS1[$k]}"
      done
      unit=connection
    fi
    [[ " $proxies " == *" fulcrum "* && " $proxies " == *" haproxy "* ]] &&
      echo "fulcrum CPU per $unit / HAProxy's: $(ratio "$s" haproxy)   (above 1 = fulcrum spends more)"
    [[ " $proxies " == *" fulcrum "* && " $proxies " == *" nginx "* ]] &&
      echo "fulcrum CPU per $unit / nginx's:   $(ratio "$s" nginx)"
    [[ " $proxies " == *" fulcrum "* && " $proxies " == *" fulcrum_nometrics "* ]] &&
      echo "fulcrum CPU per $unit / the same without per-request metrics: $(ratio "$s" fulcrum_nometrics)"
  done
  echo
  echo "(CPU = utime+stime of the proxy's process(es) during the measured run; other CPU = what processes"
  echo " outside the bench (proxy, backends, wrk, s_time) used meanwhile, high = noisy run; RSS = VmRSS at start / after warm-up / after the run)"
  if [[ " $proxies " == *" fulcrum "* ]]; then
    flog="$tmp/fulcrum.log"
    n=$(grep -cv ' listening on ' "$flog" 2>/dev/null)
    echo "fulcrum log lines at level warn and above (start message excluded): ${n:-0}"
    grep -v ' listening on ' "$flog" 2>/dev/null | sort | uniq -c | sort -rn | head -n 5 | sed 's/^/  /'
  fi
  if ((${#failures[@]})); then
    echo
    for f in "${failures[@]}"; do echo "FAILED: $f"; done
  fi
} | tee "$results"
echo "bench: table written to $results" >&2

if ((${#failures[@]})); then
  for f in "${failures[@]}"; do note "FAILED: $f"; done
  exit 1
fi
exit 0
