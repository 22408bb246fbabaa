# Sourced by bench/run.sh: ports, starting and stopping processes, and the
# readings of /proc the bench takes (CPU ticks, RSS, the machine's busy time).
# Expects $host, $tmp, and the arrays children/load_pids from the caller.
# (PORT_<name>, TLSPORT_<name>, TCPPORT_<name>, AUXPORT_<name>, DEFERPORT_<name> and PID_<name>
# are set through printf -v.)
# shellcheck shell=bash disable=SC2154,SC2034

die() {
  echo "bench: error: $*" >&2
  exit 1
}
note() { echo "bench: $*" >&2; }

# Stops every process the bench started: TERM, up to 5 s, then KILL.
cleanup() {
  local pid deadline
  trap - EXIT INT TERM
  for pid in "${load_pids[@]}" "${children[@]}"; do kill -TERM "$pid" 2>/dev/null; done
  deadline=$((SECONDS + 5))
  for pid in "${load_pids[@]}" "${children[@]}"; do
    while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.05; done
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  done
  rm -rf "$tmp"
}

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

# start NAME RENDER CMD...: starts NAME on free ports; RENDER PORT writes its
# config (its HTTP listener on PORT; a proxy's TLS listener on $tls_port, its
# TCP listener on $tcp_port, its HTTP listener with deferred accept on
# $defer_port; a backend's status page, or fulcrum's admin listener, on
# $aux_port), CMD runs it with the word @CONF@ replaced by the
# config's path. Tried again on new ports (three tries in all) only when a
# port was taken meanwhile. Sets PORT_, TLSPORT_, TCPPORT_, AUXPORT_, DEFERPORT_
# and PID_<NAME>.
tls_port="" tcp_port="" aux_port="" defer_port=""
start() {
  local name=$1 render=$2 try port pid conf log
  shift 2
  for try in 1 2 3; do
    pick_port
    port=$picked
    pick_port
    tls_port=$picked
    pick_port
    tcp_port=$picked
    pick_port
    aux_port=$picked
    pick_port
    defer_port=$picked
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
      printf -v "TCPPORT_$name" %s "$tcp_port"
      printf -v "AUXPORT_$name" %s "$aux_port"
      printf -v "DEFERPORT_$name" %s "$defer_port"
      printf -v "PID_$name" %s "$pid"
      note "$name up on $host:$port (pid $pid)"
      return 0
    fi
    kill -TERM "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    grep -qi 'in use' "$log" "$tmp/$name.d/error.log" 2>/dev/null || break
    note "$name: start $try of 3 failed: a port was taken"
  done
  die "$name failed to start (messages above)"
}

# stop NAME: stops what `start` started for NAME (TERM, up to 5 s, then KILL)
# and forgets its PID.
stop() {
  local pid deadline=$((SECONDS + 5))
  pid=$(eval echo "\${PID_$1:-}")
  [[ -n $pid ]] || return 0
  kill -TERM "$pid" 2>/dev/null
  while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.05; done
  kill -KILL "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  forget "$pid"
  printf -v "PID_$1" %s ""
}

forget() { # PID: takes PID, which has ended, off the list of children
  local c rest=()
  for c in "${children[@]}"; do [[ $c == "$1" ]] || rest+=("$c"); done
  children=("${rest[@]}")
}

# perf_start PIDS SECONDS OUT: `perf record -g` of PIDS (comma-separated, all
# their threads) for SECONDS into OUT, in the background (sets $perf_pid);
# perf_stop waits for it and writes OUT.txt, the top symbols by self time.
perf_start() {
  perf record -g -F 999 -o "$3" -p "$1" -- sleep "$2" >"$tmp/perf.log" 2>&1 </dev/null &
  perf_pid=$!
  children+=("$perf_pid")
}
perf_stop() { # OUT
  wait "$perf_pid" 2>/dev/null
  forget "$perf_pid"
  perf report -i "$1" --stdio --no-children --sort symbol --percent-limit 0.7 -g none 2>/dev/null |
    grep -v '^#' | grep '%' | sed -E 's/[[:space:]]+-[[:space:]]+-[[:space:]]*$//' >"$1.txt" || note "perf report of $1 failed: $(tail -n 3 "$tmp/perf.log")"
}

# --- readings ---------------------------------------------------------------

clk_tck=$(getconf CLK_TCK 2>/dev/null || echo 100)

# The PIDs whose CPU and memory count for PROXY: nginx's master and its worker(s).
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

# CPU clock ticks spent over N requests, as µs per request (two decimals).
us_per_request() { # TICKS N
  awk -v t="$1" -v hz="$clk_tck" -v n="$2" 'BEGIN {printf "%.2f", t / hz * 1e6 / n}'
}

# Times the PIDs given (every thread of each) blocked of their own accord,
# in epoll_wait above all: each was a wake-up that the load core's process
# sending the next bytes paid for. Fails when one is gone.
voluntary_switches() {
  local pid total=0 f v
  for pid in "$@"; do
    [[ -d /proc/$pid/task ]] || return 1
    for f in /proc/"$pid"/task/*/status; do
      v=$(awk '/^voluntary_ctxt_switches:/ {print $2}' "$f" 2>/dev/null)
      total=$((total + ${v:-0}))
    done
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
# from the second line of `times`. Call it directly, not inside $(...): it
# sets $children_s.
children_seconds() {
  times >"$tmp/times"
  children_s=$(awk 'NR == 2 {
    t = 0
    for (i = 1; i <= 2; i++) { split($i, a, "m"); sub("s", "", a[2]); t += a[1] * 60 + a[2] }
    printf "%.3f", t }' "$tmp/times")
}

# Connections the two backends accepted so far, from nginx's stub_status
# (each reading's own connection included: subtract 1 per reading between two).
backend_accepts() {
  local b total=0 n
  for b in backend1 backend2; do
    n=$(curl -s -m 2 "http://$host:$(eval echo "\$AUXPORT_$b")/" | awk 'NR == 3 {print $1}')
    [[ $n =~ ^[0-9]+$ ]] || return 1
    total=$((total + n))
  done
  echo "$total"
}

# The sum of every series of METRIC that fulcrum (NAME) shows on its admin
# listener's /metrics now.
fulcrum_metric() { # NAME METRIC
  curl -s -m 2 "http://$host:$(eval echo "\$AUXPORT_$1")/metrics" |
    awk -v m="$2" '$1 == m || index($1, m "{") == 1 {n += $NF} END {printf "%.0f", n}'
}

# Server connections fulcrum (NAME) opened so far, over every upstream.
fulcrum_opened() { # NAME
  fulcrum_metric "$1" fulcrum_upstream_connections_opened_total
}

# A wrk latency value (e.g. 812.00us, 1.23ms, 1.01s) in milliseconds.
to_ms() {
  awk -v v="$1" 'BEGIN {
    n = v + 0
    if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n += 0; else if (v ~ /m$/) n *= 60000; else if (v ~ /s$/) n *= 1000
    printf "%.3f", n }'
}
