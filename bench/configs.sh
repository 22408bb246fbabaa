# Sourced by bench/run.sh: the configs of the two nginx backends and of the
# three proxies, each written for the ports `start` picked (lib.sh). Every
# proxy gets the same four listeners: HTTP on $1, HTTPS on $tls_port, TCP
# (layer 4) on $tcp_port and HTTP with deferred accept (TCP_DEFER_ACCEPT:
# fulcrum's defer_accept, HAProxy's defer-accept, nginx's deferred) on
# $defer_port, round robin over the two backends, one thread, no
# logging, keep-alive to the backends, and room for the idle-connection probe
# (10,000 HTTP and 8,000 TCP client connections held at once: $idle_http and
# $idle_tcp), within the open files limit $nofile.
# shellcheck shell=bash disable=SC2154

stream_module=/usr/lib/nginx/modules/ngx_stream_module.so

nginx_common() { # NAME: the paths every nginx instance needs under $tmp
  local d="$tmp/$1.d"
  mkdir -p "$d"
  cat <<EOF
daemon off;
pid $d/nginx.pid;
error_log $d/error.log warn;
worker_rlimit_nofile $nofile;
events { worker_connections $((nofile - 64)); }
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
  keepalive_requests 1000000;
  keepalive_timeout 120s;
EOF
}

# A backend: "ok\n" on /, the bodies /4k and /64k from files, and its
# stub_status (accepted connections) on $aux_port.
render_backend() { # PORT (name from $backend)
  nginx_common "$backend"
  cat <<EOF
master_process off;
worker_processes 1;
http {
$(nginx_http_common "$backend")
  server {
    listen $host:$1 backlog=4096;
    location = / { default_type text/plain; return 200 "ok\n"; }
    # the ledger cells' POSTs (a static file would answer POST with 405)
    location = /v1/payments { default_type application/json; return 200 "{\"status\":\"paid\"}\n"; }
    location / { root $tmp/www; default_type application/octet-stream; }
  }
  server {
    listen $host:$aux_port;
    location / { stub_status; }
  }
}
EOF
}

# fulcrum's upstream of the two backends, keep-alive, no cap on the pool.
fulcrum_backends() {
  cat <<EOF
upstreams:
  backends:
    balance: round_robin
    keepalive: { idle_timeout: 60s }
    servers:
      - { address: $host:$PORT_backend1 }
      - { address: $host:$PORT_backend2 }
EOF
}

render_fulcrum() {
  cat <<EOF
global:
  workers: $proxy_workers
  max_connections: $((idle_http + 50))
  log: { level: warn, access: off }
  admin: { listen: $host:$aux_port }
listeners:
  - { name: web, listen: $host:$1, protocol: http, upstream: backends }
  - name: web_tls
    listen: $host:$tls_port
    protocol: http
    upstream: backends
    tls: { certificate: $tmp/tls.pem, key: $tmp/tls.key }
  - { name: l4, listen: $host:$tcp_port, protocol: tcp, upstream: l4 }
  - { name: web_deferred, listen: $host:$defer_port, protocol: http, upstream: backends, defer_accept: true }
$(fulcrum_backends)
  l4:
    balance: round_robin
    servers:
      - { address: $host:$PORT_backend1 }
      - { address: $host:$PORT_backend2 }
EOF
}

# The ledger cells' fulcrum (targets ledger_none, ledger_memory, ledger_redis):
# the same HTTP listener and upstream as render_fulcrum, plus a route for
# /v1/payments, with no ledger ($ledger_store = none) or a ledger in memory
# or in the bench's redis-server (on the Unix socket $redis_socket). The
# route is there in all three, so that what differs is the ledger alone.
# ttl 60s keeps the store to the last minute's keys; the Redis timeout is 1s
# (not the 50ms default) so that a busy machine slows the runs rather than
# turning keyed requests into 503s.
render_fulcrum_ledger() {
  local idem=""
  [[ $ledger_store != none ]] && idem="
        idempotency: { ttl: 60s, in_flight_timeout: 30s }"
  cat <<EOF
global:
  workers: $proxy_workers
  log: { level: warn, access: off }
  admin: { listen: $host:$aux_port }
EOF
  case $ledger_store in
  memory) echo "  idempotency_store: { type: memory, max_entries: 1000000, max_memory: 256m }" ;;
  redis) echo "  idempotency_store: { type: redis, address: \"unix:$redis_socket\", timeout: 1s }" ;;
  esac
  cat <<EOF
listeners:
  - name: api
    listen: $host:$1
    protocol: http
    routes:
      - match: { path_prefix: /v1/payments }
        upstream: backends$idem
    upstream: backends
$(fulcrum_backends)
EOF
}

render_haproxy() {
  cat <<EOF
global
  nbthread $proxy_workers
  ulimit-n $nofile
  maxconn $((idle_http + 50))
defaults
  maxconn $((idle_http + 50))
  timeout connect 5s
  timeout client 120s
  timeout server 120s
frontend web
  mode http
  option http-keep-alive
  timeout http-keep-alive 120s
  bind $host:$1
  default_backend backends
frontend web_deferred
  mode http
  option http-keep-alive
  timeout http-keep-alive 120s
  bind $host:$defer_port defer-accept
  default_backend backends
frontend web_tls
  mode http
  option http-keep-alive
  timeout http-keep-alive 120s
  bind $host:$tls_port ssl crt $tmp/tls-combined.pem
  default_backend backends
backend backends
  mode http
  http-reuse always
  balance roundrobin
  server b1 $host:$PORT_backend1
  server b2 $host:$PORT_backend2
frontend l4
  mode tcp
  bind $host:$tcp_port
  default_backend l4
backend l4
  mode tcp
  balance roundrobin
  server b1 $host:$PORT_backend1
  server b2 $host:$PORT_backend2
EOF
}

# nginx keeps up to `keepalive` idle connections per worker for the whole
# upstream: 1024, so that 256 client connections need no new ones either.
render_nginx() {
  [[ -r $stream_module ]] && echo "load_module $stream_module;"
  nginx_common nginx
  cat <<EOF
worker_processes $proxy_workers;
http {
$(nginx_http_common nginx)
  upstream backends {
    server $host:$PORT_backend1;
    server $host:$PORT_backend2;
    keepalive 1024;
    keepalive_requests 1000000;
    keepalive_timeout 60s;
  }
  proxy_http_version 1.1;
  proxy_set_header Connection "";
  server {
    listen $host:$1 backlog=4096;
    location / { proxy_pass http://backends; }
  }
  server {
    listen $host:$defer_port deferred backlog=4096;
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
  [[ -r $stream_module ]] && cat <<EOF
stream {
  upstream l4 {
    server $host:$PORT_backend1;
    server $host:$PORT_backend2;
  }
  server {
    listen $host:$tcp_port backlog=4096;
    proxy_pass l4;
  }
}
EOF
  return 0
}
