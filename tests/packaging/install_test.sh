#!/usr/bin/env bash
# make install with PREFIX and DESTDIR: every file lands where it should,
# the unit's paths follow PREFIX and SYSCONFDIR and it passes
# systemd-analyze verify, the installed binary accepts the installed
# config, and a second install keeps an edited config. Prints each
# failure; exits 1 on any.
#   usage: install_test.sh SOURCE_DIR BUILD_DIR
set -uo pipefail
src=$1
build=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
fail() {
  echo "FAIL: $*"
  failures=$((failures + 1))
}
install_into() {  # make install ARGS..., quietly unless it fails
  make -C "$src" --no-print-directory install BUILD_DIR="$build" "$@" >"$tmp/make.log" 2>&1 ||
    { cat "$tmp/make.log"; fail "make install $*"; }
}

# A staged install, as a package build does it.
stage=$tmp/stage
install_into DESTDIR="$stage" PREFIX=/usr
for f in usr/sbin/fulcrum usr/share/man/man8/fulcrum.8 usr/share/man/man5/fulcrum.yaml.5 \
  etc/fulcrum/fulcrum.yaml lib/systemd/system/fulcrum.service etc/logrotate.d/fulcrum \
  usr/share/fulcrum/prometheus/alerts.yaml usr/share/fulcrum/grafana/fulcrum.json usr/share/doc/fulcrum/examples/http.yaml; do
  [ -f "$stage/$f" ] || fail "make install DESTDIR PREFIX=/usr: no $f"
done
[ -x "$stage/usr/sbin/fulcrum" ] || fail "the binary is not executable"
grep -qx 'ExecStart=/usr/sbin/fulcrum -c /etc/fulcrum/fulcrum.yaml' "$stage/lib/systemd/system/fulcrum.service" ||
  fail "PREFIX=/usr: the unit does not start /usr/sbin/fulcrum on /etc/fulcrum/fulcrum.yaml"
out=$("$stage/usr/sbin/fulcrum" -t -c "$stage/etc/fulcrum/fulcrum.yaml" 2>&1) ||
  fail "fulcrum -t on the installed config: $out"
if command -v man >/dev/null; then
  for page in man8/fulcrum.8 man5/fulcrum.yaml.5; do
    warnings=$(MANWIDTH=80 man --warnings -l "$stage/usr/share/man/$page" 2>&1 >/dev/null)
    [ -z "$warnings" ] || fail "man $page: $warnings"
  done
fi

# An edited config survives the next install.
echo "# edited" >>"$stage/etc/fulcrum/fulcrum.yaml"
install_into DESTDIR="$stage" PREFIX=/usr
tail -n 1 "$stage/etc/fulcrum/fulcrum.yaml" | grep -qx "# edited" || fail "a second install overwrote the edited config"

# A real install under a prefix of its own: the unit runs that binary on
# that config, and systemd accepts it.
prefix=$tmp/opt/fulcrum
install_into PREFIX="$prefix" SYSCONFDIR="$prefix/etc"
unit=$prefix/lib/systemd/system/fulcrum.service
grep -qx "ExecStart=$prefix/sbin/fulcrum -c $prefix/etc/fulcrum/fulcrum.yaml" "$unit" ||
  fail "PREFIX=$prefix: the unit does not start $prefix/sbin/fulcrum on $prefix/etc/fulcrum/fulcrum.yaml"
grep -qx "ExecReload=$prefix/sbin/fulcrum -t -c $prefix/etc/fulcrum/fulcrum.yaml" "$unit" ||
  fail "the unit's reload does not check the file first"
if command -v systemd-analyze >/dev/null; then
  out=$(systemd-analyze verify --man=no "$unit" 2>&1) || fail "systemd-analyze verify: $out"
else
  fail "no systemd-analyze (package systemd)"
fi

echo "$failures failure(s)"
[ "$failures" = 0 ]
