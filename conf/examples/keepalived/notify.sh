#!/bin/sh
# keepalived notify script: logs every state change of the VRRP instance
# (MASTER, BACKUP, FAULT, STOP) to syslog, tag keepalived-fulcrum.
#   keepalived runs: notify.sh [FILE] TYPE NAME STATE PRIORITY
# TYPE is INSTANCE or GROUP. With FILE (the script's own argument in the
# notify line: notify "/etc/keepalived/notify.sh /var/log/vrrp.log"), each
# change is also appended there as "EPOCH_SECONDS NAME STATE".
file=""
if [ $# -ge 5 ]; then
  file=$1
  shift
fi
logger -t keepalived-fulcrum -- "$1 $2 is now $3 (priority $4)" 2>/dev/null || true
if [ -n "$file" ]; then
  echo "$(date +%s.%N) $2 $3" >>"$file"
fi
