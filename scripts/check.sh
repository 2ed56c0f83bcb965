#!/bin/sh
# check.sh - set up a fresh Debian 12 machine and run every test of keyward.
#
#   scripts/check.sh            as root, from the top of a clone
#
# 1. installs the Debian packages that are missing (scripts/setup-debian.sh);
# 2. builds keyward with warnings as errors and runs `make check` (unit
#    tests, fuzz corpora, integration tests against a private slapd, PAM
#    stacks under pam_wrapper);
# 3. builds it again with AddressSanitizer and UndefinedBehaviorSanitizer
#    and runs `make check` once more;
# 4. runs the tests of the first build again with KW_VALGRIND=1: every
#    keyward program the integration tests start (kwadm, keywardd, the
#    PAM test driver) runs under valgrind, and a leak or a memory error
#    fails the test;
# 5. runs `make distcheck` (the release tarball builds and passes its
#    tests out of tree).
#
# Every test case counts once per build.  The last line is
#   N passed, N failed
# and the exit status is 0 only when nothing failed.  Logs stay in
# _build/<step>/ (test-suite.log and one .log per test).
#
# KW_CHECK_STEPS="werror asan valgrind distcheck" chooses steps (default:
# all; valgrind needs werror first).
set -u

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
steps=${KW_CHECK_STEPS:-werror asan valgrind distcheck}
jobs=$(nproc 2>/dev/null || echo 2)
passed=0
failed=0

say() {
	printf '== %s\n' "$*"
}

# Add the counts of an automake test-suite.log to the totals.
count_suite() {
	log=$1
	if [ ! -f "$log" ]; then
		failed=$((failed + 1))
		say "no $log: counted as one failure"
		return
	fi
	p=$(sed -n 's/^# PASS: *//p' "$log" | head -1)
	s=$(sed -n 's/^# SKIP: *//p' "$log" | head -1)
	xf=$(sed -n 's/^# XFAIL: *//p' "$log" | head -1)
	f=$(sed -n 's/^# FAIL: *//p' "$log" | head -1)
	xp=$(sed -n 's/^# XPASS: *//p' "$log" | head -1)
	e=$(sed -n 's/^# ERROR: *//p' "$log" | head -1)
	passed=$((passed + ${p:-0} + ${xf:-0}))
	failed=$((failed + ${f:-0} + ${xp:-0} + ${e:-0}))
	say "$log: ${p:-0} passed, ${s:-0} skipped, $((${f:-0} + ${xp:-0} + ${e:-0})) failed"
}

# build NAME CONFIGURE-ARGS...: configure in _build/NAME, make, make check.
build_and_check() {
	name=$1
	shift
	dir=$top/_build/$name
	rm -rf "$dir"
	mkdir -p "$dir"
	say "build $name: configure $*"
	if ! (cd "$dir" && "$top/configure" "$@" >configure.out 2>&1); then
		tail -30 "$dir/configure.out"
		failed=$((failed + 1))
		say "configure failed ($name): counted as one failure"
		return
	fi
	if ! (cd "$dir" && make -j"$jobs" >make.out 2>&1); then
		tail -30 "$dir/make.out"
		failed=$((failed + 1))
		say "make failed ($name): counted as one failure"
		return
	fi
	say "check $name"
	(cd "$dir" && make -j"$jobs" check >check.out 2>&1)
	grep -E '^(FAIL|ERROR|XPASS)' "$dir/check.out" | head -40
	count_suite "$dir/test-suite.log"
}

if [ "$(id -u)" = 0 ]; then
	"$top/scripts/setup-debian.sh" || {
		echo "0 passed, 1 failed"
		exit 1
	}
else
	say "not root: packages not checked, and the integration tests skip"
fi

say "autogen"
"$top/autogen.sh" >/dev/null 2>&1 || {
	echo "autogen.sh failed"
	echo "0 passed, 1 failed"
	exit 1
}

for step in $steps; do
	case $step in
	werror) build_and_check werror --enable-werror ;;
	asan) build_and_check asan --enable-sanitizers ;;
	valgrind)
		dir=$top/_build/werror
		say "check werror under valgrind"
		if [ -f "$dir/Makefile" ]; then
			(cd "$dir" && KW_VALGRIND=1 make -j"$jobs" check \
				>check-valgrind.out 2>&1)
			grep -E '^(FAIL|ERROR|XPASS)' "$dir/check-valgrind.out" |
				head -40
			count_suite "$dir/test-suite.log"
		else
			failed=$((failed + 1))
			say "no werror build to run under valgrind"
		fi
		;;
	distcheck)
		dir=$top/_build/distcheck
		rm -rf "$dir"
		mkdir -p "$dir"
		say "distcheck"
		if (cd "$dir" && "$top/configure" >configure.out 2>&1 &&
			make -j"$jobs" distcheck >distcheck.out 2>&1); then
			passed=$((passed + 1))
			say "distcheck passed"
		else
			tail -40 "$dir/distcheck.out"
			failed=$((failed + 1))
			say "distcheck failed"
		fi
		;;
	*) say "unknown step $step" ;;
	esac
done

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
