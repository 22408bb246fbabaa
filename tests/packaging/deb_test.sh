#!/usr/bin/env bash
# The built Debian package installed into a clean Debian 12 root, as apt
# installs it on a new machine: its dependencies resolve, the postinst
# makes the fulcrum system user and enables the unit, /etc/fulcrum/fulcrum.yaml
# and the logrotate file are conffiles, `fulcrum -t` accepts the shipped
# config, the unit passes `systemd-analyze verify` (its man pages found) and
# has the hardening it promises, logrotate accepts its file, and a purge
# removes the package's files. Prints each failure; exits 1 on any.
#   usage: deb_test.sh DEB [ROOT_CACHE]     (as root)
#
# The clean root is made once with debootstrap (minbase, plus systemd for
# systemd-analyze) from the mirror this machine's apt uses, and kept in
# ROOT_CACHE (default /var/cache/fulcrum-deb-test/bookworm); each run works
# on a fresh copy of it, removed at the end. Containers cannot be started
# here, so the root is used with chroot.
set -uo pipefail
deb=$(realpath "$1")
cache=${2:-/var/cache/fulcrum-deb-test/bookworm}
[ "$(id -u)" = 0 ] || { echo "deb_test.sh: needs root (debootstrap, chroot)"; exit 2; }
[ -f "$deb" ] || { echo "deb_test.sh: no package $deb (make deb)"; exit 2; }

failures=0
fail() {
  echo "FAIL: $*"
  failures=$((failures + 1))
}

# The first Debian mirror of this machine's apt sources (deb822 or one-line).
mirror() {
  local uri
  uri=$(awk '/^URIs:/ && $2 !~ /security/ { print $2; exit }' /etc/apt/sources.list.d/*.sources 2>/dev/null)
  [ -n "$uri" ] || uri=$(awk '/^deb / && $2 !~ /security/ { print $2; exit }' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null)
  echo "$uri"
}

if [ ! -x "$cache/usr/bin/systemd-analyze" ]; then
  command -v debootstrap >/dev/null || { echo "deb_test.sh: needs debootstrap"; exit 2; }
  url=$(mirror)
  [ -n "$url" ] || { echo "deb_test.sh: no Debian mirror in /etc/apt/sources*"; exit 2; }
  echo "making a clean Debian 12 root in $cache with debootstrap (a few minutes, once)..."
  rm -rf "$cache.tmp"
  mkdir -p "$(dirname "$cache")"
  debootstrap --variant=minbase --include=systemd bookworm "$cache.tmp" "$url" >"$cache.log" 2>&1 ||
    { tail -n 20 "$cache.log"; echo "deb_test.sh: debootstrap failed"; exit 2; }
  printf 'deb %s bookworm main\n' "$url" >"$cache.tmp/etc/apt/sources.list"
  mv "$cache.tmp" "$cache"
fi

work=$(mktemp -d /var/tmp/fulcrum-deb-test.XXXXXX)
root=$work/root
proc_mounted=0
cleanup() {
  [ "$proc_mounted" = 1 ] && umount "$root/proc" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
cp -a "$cache" "$root"
cp /etc/resolv.conf "$root/etc/resolv.conf"
mount -t proc proc "$root/proc" 2>/dev/null && proc_mounted=1
in_root() { chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 "$@"; }

# Install as on a new machine: apt resolves the dependencies (man-db and
# logrotate too, to check the man pages and the logrotate file).
cp "$deb" "$root/tmp/fulcrum.deb"
in_root apt-get update -qq >"$work/apt.log" 2>&1 || { cat "$work/apt.log"; fail "apt-get update in the root"; }
if ! DEBIAN_FRONTEND=noninteractive in_root apt-get install -y -qq --no-install-recommends \
  /tmp/fulcrum.deb man-db logrotate >>"$work/apt.log" 2>&1; then
  cat "$work/apt.log"
  fail "apt-get install of the package"
  echo "$failures failure(s)"
  exit 1
fi

# The binary and the shipped config.
out=$(in_root fulcrum -t -c /etc/fulcrum/fulcrum.yaml 2>&1)
[ "$out" = "configuration OK" ] || fail "fulcrum -t on the shipped config: $out"
in_root fulcrum --version >/dev/null 2>&1 || fail "fulcrum --version"

# The system user of the postinst.
user=$(in_root getent passwd fulcrum)
[ -n "$user" ] || fail "no fulcrum user"
uid=$(cut -d: -f3 <<<"$user")
[ -n "$uid" ] && [ "$uid" -lt 1000 ] || fail "fulcrum is not a system user: $user"
grep -q ':/usr/sbin/nologin$' <<<"$user" || fail "the fulcrum user can log in: $user"
in_root getent group fulcrum >/dev/null || fail "no fulcrum group"

# Conffiles.
conffiles=$(in_root dpkg-query -W -f='${Conffiles}' fulcrum)
for f in /etc/fulcrum/fulcrum.yaml /etc/logrotate.d/fulcrum; do
  grep -q "^ $f " <<<"$conffiles" || fail "$f is not a conffile"
done

# The unit: verified by systemd, enabled, and as hardened as promised.
unit=/lib/systemd/system/fulcrum.service
out=$(in_root systemd-analyze verify "$unit" 2>&1) || fail "systemd-analyze verify $unit: $out"
[ -z "$out" ] || fail "systemd-analyze verify $unit says: $out"
[ -L "$root/etc/systemd/system/multi-user.target.wants/fulcrum.service" ] || fail "the unit is not enabled"
for line in User=fulcrum Group=fulcrum CapabilityBoundingSet=CAP_NET_BIND_SERVICE \
  AmbientCapabilities=CAP_NET_BIND_SERVICE ProtectSystem=strict NoNewPrivileges=yes \
  LimitNOFILE=65536 'ExecStart=/usr/sbin/fulcrum -c /etc/fulcrum/fulcrum.yaml'; do
  grep -qx "$line" "$root$unit" || fail "the unit lacks $line"
done
first_reload=$(grep -m1 '^ExecReload=' "$root$unit")
[ "$first_reload" = "ExecReload=/usr/sbin/fulcrum -t -c /etc/fulcrum/fulcrum.yaml" ] ||
  fail "the unit's reload does not check the file first: $first_reload"

# Man pages, logrotate, the rest of the files.
for page in fulcrum.8 fulcrum.yaml.5; do
  in_root man -w "${page%.*}" >/dev/null 2>&1 ||
    [ -f "$root/usr/share/man/man${page##*.}/$page.gz" ] || fail "no man page $page"
done
out=$(in_root logrotate --debug /etc/logrotate.d/fulcrum 2>&1) || fail "logrotate --debug: $out"
for f in /usr/share/fulcrum/prometheus/alerts.yaml /usr/share/fulcrum/grafana/fulcrum.json \
  /usr/share/doc/fulcrum/copyright; do
  [ -f "$root$f" ] || fail "no $f"
done

# Purge: the package's files go, the conffiles with them.
DEBIAN_FRONTEND=noninteractive in_root apt-get purge -y -qq fulcrum >>"$work/apt.log" 2>&1 ||
  fail "apt-get purge fulcrum"
for f in /usr/sbin/fulcrum /etc/fulcrum/fulcrum.yaml /etc/logrotate.d/fulcrum "$unit"; do
  [ ! -e "$root$f" ] || fail "$f is left after a purge"
done

echo "$failures failure(s)"
[ "$failures" = 0 ]
