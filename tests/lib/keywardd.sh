# keywardd.sh - keywardd for integration tests (POSIX sh).
#
# Usage, after a private directory (tests/lib/keyward.sh):
#
#   . "$top_srcdir/tests/lib/tap.sh"
#   . "$top_srcdir/tests/lib/slapd.sh"
#   . "$top_srcdir/tests/lib/keyward.sh"
#   . "$top_srcdir/tests/lib/keywardd.sh"
#   kw_require_root
#   trap keywardd_cleanup EXIT INT TERM HUP    # stops keywardd, then slapd
#   kw_directory_start || exit 1
#   keywardd_start || exit 1                   # returns once it answers
#   printf '%s' "$password" | kwcall auth -u alice@acme
#   keywardd_stop                              # SIGTERM; its exit status
#
# keywardd_start runs "$top_builddir/keywardd -f -c $KW_CONF" (plus any
# arguments given to keywardd_start) in the background, with its stderr
# (the log) in $KWD_LOG, and waits until it answers a PING on $KWD_SOCKET
# (the keywardd.socket that keyward.sh wrote into $KW_CONF).
#
# Exported afterwards:
#   KEYWARDD     the program
#   KWD_SOCKET   its socket ($KW_TEST_DIR/kwd.sock)
#   KWD_LOG      its log ($KW_TEST_DIR/keywardd.log; appended to by every
#                start, so one file holds the whole test)
#   KWD_PID      its pid, while it runs
#   KWCALL       the test client (tests/tools/kwcall.c)
#
# Functions:
#   keywardd_start [ARGS...]  start and wait for a PING (30 s at most)
#   keywardd_stop             SIGTERM, wait; returns keywardd's status
#   keywardd_reload           SIGHUP
#   keywardd_alive            true while it runs
#   keywardd_cleanup          keywardd_stop, then slapd_cleanup
#   kwcall ARGS...            the test client on $KWD_SOCKET: prints the
#                             status, "message: ..." and "user: ..." lines;
#                             an AUTHENTICATE reads the password from stdin
#   kwd_status ARGS...        kwcall, printing only the status line
#
# KW_VALGRIND=1 runs keywardd under valgrind (memcheck, full leak check,
# --error-exitcode=99); its report goes to $KW_TEST_DIR/valgrind.log, and
# keywardd_stop then returns 99 on any error or leak.

KEYWARDD=${KEYWARDD:-$top_builddir/keywardd}
KWCALL=${KWCALL:-$top_builddir/kwcall}
KWD_PID=
export KEYWARDD KWCALL

kwcall() {
	"$KWCALL" -s "$KWD_SOCKET" "$@"
}

kwd_status() {
	kwcall "$@" | sed -n 1p
}

keywardd_alive() {
	[ -n "$KWD_PID" ] && kill -0 "$KWD_PID" 2>/dev/null &&
		[ -r "/proc/$KWD_PID/stat" ] &&
		! sed 's/^.*) //' "/proc/$KWD_PID/stat" | grep -q '^[ZX]'
}

keywardd_start() {
	[ -x "$KEYWARDD" ] || {
		diag "keywardd not built: $KEYWARDD"
		return 1
	}
	KWD_SOCKET=$KW_TEST_DIR/kwd.sock
	KWD_LOG=$KW_TEST_DIR/keywardd.log
	export KWD_SOCKET KWD_LOG
	if [ "${KW_VALGRIND:-0}" = 1 ]; then
		valgrind --quiet --leak-check=full \
			--show-leak-kinds=definite,indirect,possible \
			--errors-for-leak-kinds=definite,indirect,possible \
			--error-exitcode=99 --track-fds=no \
			--log-file="$KW_TEST_DIR/valgrind.log" \
			"$KEYWARDD" -f -c "$KW_CONF" "$@" 2>>"$KWD_LOG" &
		tries=600
	else
		"$KEYWARDD" -f -c "$KW_CONF" "$@" 2>>"$KWD_LOG" &
		tries=300
	fi
	KWD_PID=$!
	export KWD_PID
	i=0
	while [ $i -lt $tries ]; do
		if [ -S "$KWD_SOCKET" ] &&
			[ "$(kwd_status -t 2000 ping 2>/dev/null)" = OK ]; then
			return 0
		fi
		if ! keywardd_alive; then
			wait "$KWD_PID"
			diag "keywardd exited with status $? before answering; log:"
			diag "$(tail -n 20 "$KWD_LOG")"
			KWD_PID=
			return 1
		fi
		sleep 0.05 2>/dev/null || sleep 1
		i=$((i + 1))
	done
	diag "keywardd did not answer a PING; log:"
	diag "$(tail -n 20 "$KWD_LOG")"
	keywardd_stop
	return 1
}

keywardd_reload() {
	[ -n "$KWD_PID" ] && kill -HUP "$KWD_PID"
}

keywardd_stop() {
	[ -n "$KWD_PID" ] || return 0
	kill -TERM "$KWD_PID" 2>/dev/null
	wait "$KWD_PID"
	st=$?
	KWD_PID=
	if [ "${KW_VALGRIND:-0}" = 1 ] && [ -s "$KW_TEST_DIR/valgrind.log" ]; then
		diag "valgrind:" "$(cat "$KW_TEST_DIR/valgrind.log")"
	fi
	return $st
}

keywardd_cleanup() {
	keywardd_stop
	slapd_cleanup
}
