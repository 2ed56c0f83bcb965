# tap.sh - tiny TAP producer for the shell tests (POSIX sh).
#
# Source it, then:
#   some_command; ok $? "what it shows"    ok STATUS DESC: 0 passes
#   is "$got" "$want" "desc"               string equality
#   like "$got" 'ERE' "desc"               extended regular expression
#   not_ok "desc"                          an unconditional failure
#   diag "text"                            a "# " comment line
#   skip "desc" "reason"                   a skipped case
#   skip_all "reason"                      nothing can run: plan 0, exit 0
#   done_testing                           print the plan, exit 1 on failure
# Each case prints `ok N - desc` or `not ok N - desc`.

tap_count=0
tap_failed=0

tap_result_() {
	tap_count=$((tap_count + 1))
	if [ "$1" = 0 ]; then
		printf 'ok %d - %s\n' "$tap_count" "$2"
	else
		tap_failed=$((tap_failed + 1))
		printf 'not ok %d - %s\n' "$tap_count" "$2"
	fi
}

diag() {
	printf '%s\n' "$@" | sed 's/^/# /'
}

ok() {
	if [ "$1" = 0 ]; then
		tap_result_ 0 "$2"
	else
		tap_result_ 1 "$2"
		diag "  status: $1"
	fi
}

not_ok() {
	tap_result_ 1 "$1"
}

is() {
	if [ "$1" = "$2" ]; then
		tap_result_ 0 "$3"
	else
		tap_result_ 1 "$3"
		diag "       got: '$1'" "  expected: '$2'"
	fi
}

like() {
	if printf '%s\n' "$1" | grep -Eq -e "$2"; then
		tap_result_ 0 "$3"
	else
		tap_result_ 1 "$3"
		diag "       got: '$1'" "  expected to match: '$2'"
	fi
}

skip() {
	tap_count=$((tap_count + 1))
	printf 'ok %d - %s # SKIP %s\n' "$tap_count" "$1" "$2"
}

skip_all() {
	printf '1..0 # SKIP %s\n' "$1"
	exit 0
}

done_testing() {
	printf '1..%d\n' "$tap_count"
	[ "$tap_failed" = 0 ] || exit 1
	exit 0
}
