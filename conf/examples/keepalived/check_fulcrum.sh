#!/bin/sh
# keepalived track_script for fulcrum: succeeds while fulcrum's /healthz
# answers 2xx. It fails when fulcrum is down (connection refused), hung (no
# answer within 1s) or draining (503 from SIGTERM on), and keepalived then
# hands the virtual address to the other node.
#   usage: check_fulcrum.sh [ADMIN_ADDRESS]    (default 127.0.0.1:9901)
exec curl --silent --fail --max-time 1 --noproxy '*' --output /dev/null \
  "http://${1:-127.0.0.1:9901}/healthz"
