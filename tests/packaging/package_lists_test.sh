#!/usr/bin/env bash
# The package lists (.ci/packages-*.txt) are the only place packages are
# named: `make run` installs the build and run lists and no test peer,
# `make test` the test list too, .ci/run and the Dockerfile install
# through .ci/install-packages, and debian/control builds with the build
# list at the project's version. Prints each failure; exits 1 on any.
#   usage: package_lists_test.sh SOURCE_DIR
set -uo pipefail
cd "$1" || exit 2
failures=0
fail() {
  echo "FAIL: $*"
  failures=$((failures + 1))
}

lean=$(sh .ci/install-packages --list build run) || fail "cannot list build run"
tests=$(sh .ci/install-packages --list test) || fail "cannot list test"
for peer in doctest-dev nginx-light prometheus chromium haproxy testssl.sh; do
  grep -qx "$peer" <<<"$tests" || fail "$peer is not in packages-test.txt"
  grep -qx "$peer" <<<"$lean" && fail "make run would install the test package $peer"
done
all=$(sh .ci/install-packages --list build run runtime test dev fuzz bench bench-pick deb deb-test) ||
  fail "cannot list every list"
for name in $all; do
  [[ $name =~ ^[a-z0-9][a-z0-9+.-]+$ ]] || fail "not a Debian package name: $name"
done
sh .ci/install-packages --list nonexistent >/dev/null 2>&1 && fail "an unknown list is not an error"

# What make would run (-n: nothing is run, nothing installed).
run_plan=$(make -n run 2>&1)
grep -q "install-packages build run$" <<<"$run_plan" || fail "make run does not install build run"
grep -q "install-packages.*test" <<<"$run_plan" && fail "make run installs the test list"
grep -q "cmake --build .* --target fulcrum fulcrum-demo-backend" <<<"$run_plan" ||
  fail "make run builds more than the proxy and the demo backends"
test_plan=$(make -n test 2>&1)
grep -q "install-packages build test$" <<<"$test_plan" || fail "make test does not install build test"

# No package named outside the lists.
grep -q "apt-get install" docker/Dockerfile Makefile .ci/run && fail "apt-get install outside .ci/install-packages"
grep -q "install-packages build" docker/Dockerfile || fail "the Dockerfile does not install the build list"
grep -q "install-packages runtime" docker/Dockerfile || fail "the Dockerfile does not install the runtime list"
grep -q "install-packages build run test" .ci/run || fail ".ci/run does not install the lists"

# debian/: its Build-Depends are the build list (less build-essential's
# g++ and make), and its version is the project's.
build_list=$(sh .ci/install-packages --list build | grep -vx -e g++ -e make | sort)
build_depends=$(sed -n '/^Build-Depends:/,/^[A-Z]/p' debian/control | sed -e 's/^Build-Depends://' -e '/^[A-Z]/d' |
  tr ',' '\n' | sed -e 's/(.*)//' -e 's/[[:space:]]//g' | grep -v -e '^$' -e '^debhelper-compat$' | sort)
[ "$build_list" = "$build_depends" ] ||
  fail "debian/control Build-Depends differ from packages-build.txt: $(diff <(echo "$build_list") <(echo "$build_depends") | grep '^[<>]' | tr '\n' ' ')"
project_version=$(sed -n 's/^project(fulcrum VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)
deb_version=$(sed -n '1s/^fulcrum (\([^)]*\)).*/\1/p' debian/changelog)
[ -n "$project_version" ] && [ "$project_version" = "$deb_version" ] ||
  fail "debian/changelog says $deb_version, CMakeLists.txt $project_version"

echo "$failures failure(s)"
[ "$failures" = 0 ]
