#!/bin/sh
# `make run`: four demo backends (three primaries and a backup) and the proxy
# on the demo config, in the foreground. Ctrl-C stops all of them.
#   usage: run_demo.sh BUILD_DIR CONFIG
set -u
build=$1
config=$2
pids=""

stop() {
  trap - INT TERM EXIT
  for pid in $pids; do kill -TERM "$pid" 2>/dev/null; done
  for pid in $pids; do wait "$pid" 2>/dev/null; done
  exit 0
}
trap stop INT TERM EXIT

for n in 1 2 3; do
  "$build/fulcrum-demo-backend" --name "backend-$n" --listen "127.0.0.1:900$n" &
  pids="$pids $!"
done
"$build/fulcrum-demo-backend" --name backup-1 --listen 127.0.0.1:9004 &
pids="$pids $!"

# The demo's TLS listener needs a certificate: made once, never committed.
tls_dir="$(dirname "$config")/demo-tls"
if grep -q 'demo-tls/' "$config" && [ ! -f "$tls_dir/localhost.pem" ]; then
  mkdir -p "$tls_dir"
  if ! openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
      -keyout "$tls_dir/localhost.key" -out "$tls_dir/localhost.pem" -days 365 \
      -subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 2>/dev/null; then
    echo "cannot make the demo certificate in $tls_dir (is openssl installed?)" >&2
    stop
  fi
  chmod 600 "$tls_dir/localhost.key"
fi

"$build/fulcrum" -c "$config" &
proxy=$!
pids="$pids $proxy"

# Wait (bounded) for the proxy to accept, then say where to go.
tries=0
until curl -s -o /dev/null http://127.0.0.1:8080/ 2>/dev/null; do
  tries=$((tries + 1))
  if [ $tries -gt 100 ] || ! kill -0 "$proxy" 2>/dev/null; then
    echo "fulcrum did not start; see the messages above" >&2
    stop
  fi
  sleep 0.1
done
cat <<MSG

  fulcrum is running (config: $config)
    HTTP (web):     curl -i http://127.0.0.1:8080/     (X-Backend: backend-1..3, round robin per request)
    HTTPS (web-tls): curl -i --cacert $tls_dir/localhost.pem https://localhost:8443/
                    (a self-signed certificate made on the first run, in $tls_dir)
    TCP (tcp):      curl -i http://127.0.0.1:8081/     (the same backends, round robin per connection)
    access log:     one JSON line per HTTP request and per TCP connection, below
    metrics:        curl http://127.0.0.1:9901/metrics   (Prometheus text; status page: http://127.0.0.1:9901/status)
    drain a server: curl -X POST -H 'Authorization: Bearer demo-only-token-not-a-secret' \\
                      -H 'Content-Type: application/json' \\
                      http://127.0.0.1:9901/api/upstreams/demo/servers/backend-1/drain
                    (the demo config's token, public: see conf/fulcrum.yaml)
    backup:         stop backend-1..3 and backup-1 answers
  Ctrl-C stops the proxy and the demo backends.

MSG
wait "$proxy"
stop
