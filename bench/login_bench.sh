#!/bin/sh
# login_bench.sh - a keyward login against its floor, in one run.
#
#   bench/login_bench.sh [LOGINS] [CLIENTS]       (defaults 2000, 8)
#
# As root, from the build directory (or with top_builddir set).  Starts a
# private slapd and keywardd (tests/lib/), makes a tenant with one user,
# and runs bench/login_bench under pam_wrapper with two services:
#
#   kw-bench     auth pam_keyward_password, account pam_keyward_access
#   kw-floor     auth and account pam_permit
#
# login_bench adds to each kw-floor transaction the directory operations a
# login needs (search for the user, bind as the user) on warm libldap
# connections.  It prints median and p99 latency and logins per second
# for both, with one client and with CLIENTS, and their ratio, in five
# runs: successful logins with auditing on (records fsync'd, the
# default), on with every record delivered at once, on without fsync,
# and off; and failed logins (a wrong
# password: counted and recorded), whose floor adds the failure's one
# write (an increment) to the search and the failed bind.
#
# With auditing on, every measurement starts with keywardd's spool empty
# (login_bench -W waits for it), so that none pays for the records of the
# one before, and after each stack measurement it prints how long its
# records took to reach the tenant's log: keywardd holds them back while
# logins keep coming (audit.max_delay_s, 5 s by default), so a run this
# short is recorded in the directory after its last login.
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${top_builddir:=$(pwd)}"
LOGINS=${1:-2000}
CLIENTS=${2:-8}
BENCH=$top_builddir/bench/login_bench
KWSPOOL=$top_builddir/tests/tools/kwspool
for f in "$BENCH" "$top_builddir/keywardd" "$top_builddir/kwcall" \
	"$KWSPOOL" "$top_builddir/.libs/pam_keyward_password.so"; do
	[ -x "$f" ] || [ -f "$f" ] || {
		echo "login_bench.sh: $f not built" \
			"(run make; make kwcall tests/tools/kwspool)" >&2
		exit 2
	}
done
WRAPPER=$(for d in /usr/lib/*-linux-gnu /usr/lib64 /usr/lib; do
	[ -f "$d/libpam_wrapper.so" ] && echo "$d/libpam_wrapper.so"; done | head -1)
[ -n "$WRAPPER" ] || {
	echo "login_bench.sh: libpam_wrapper.so not found (apt-get install libpam-wrapper)" >&2
	exit 2
}

. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/lib/slapd.sh"
. "$top_srcdir/tests/lib/keyward.sh"
. "$top_srcdir/tests/lib/keywardd.sh"
[ "$(id -u)" = 0 ] || { echo "login_bench.sh: run as root" >&2; exit 2; }
trap keywardd_cleanup EXIT INT TERM HUP
# A reader that goes away (| head) must not leave slapd and keywardd
# running: leave through the EXIT trap.
trap 'trap "" PIPE; exit 141' PIPE
kw_directory_start >/dev/null || exit 1
keywardd_start || exit 1

PW='bench password for alice 1'
kwadm tenant create acme >/dev/null
kwadm user add alice@acme --password-file \
	"$(kw_password_file init 'initial-pw-123456')" >/dev/null
USER_DN=uid=alice,ou=people,o=acme,$KW_TENANTS
ldappasswd -x -H "$SLAPD_LDAPI" -D "$USER_DN" -w 'initial-pw-123456' \
	-s "$PW" >/dev/null

svc=$KW_TEST_DIR/pam.d
mkdir -p "$svc"
mods=$top_builddir/.libs
cat >"$svc/kw-bench" <<PAM
auth     required $mods/pam_keyward_password.so socket=$KWD_SOCKET
account  required $mods/pam_keyward_access.so socket=$KWD_SOCKET
PAM
cat >"$svc/other" <<PAM
auth     required pam_deny.so
account  required pam_deny.so
PAM
cat >"$svc/kw-floor" <<PAM
auth     required pam_permit.so
account  required pam_permit.so
PAM

# The -W command: returns once keywardd's spool is empty (60 s at most).
cat >"$KW_TEST_DIR/drain" <<SH
#!/bin/sh
i=0
until [ "\$(env -u LD_PRELOAD "$KWSPOOL" count "$KW_TEST_DIR/spool")" = 0 ]; do
	i=\$((i + 1))
	[ \$i -le 3000 ] || exit 1
	sleep 0.02
done
SH
chmod +x "$KW_TEST_DIR/drain"
DRAIN="-W $KW_TEST_DIR/drain"

# run TITLE [LOGIN_BENCH ARGS]: one table of figures.
run() {
	title=$1
	shift
	printf '\n== %s\n' "$title"
	LD_PRELOAD=$WRAPPER PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR=$svc \
		"$BENCH" -s kw-bench -f kw-floor -u alice@acme \
		-p "$(kw_password_file bench "$PW")" -H "$SLAPD_LDAPI" \
		-b "ou=people,o=acme,$KW_TENANTS" -D "$USER_DN" \
		-S "cn=keywardd,ou=system,$KW_BASE" -P "$KW_SECRET" \
		-c "$CLIENTS" "$@" 2>"$KW_TEST_DIR/bench.err" || {
		tail -5 "$KW_TEST_DIR/bench.err" >&2
		exit 1
	}
}
# restart_keywardd ARGS: keywardd with other settings, same directory.
restart_keywardd() {
	keywardd_stop
	keywardd_start "$@" || exit 1
}

echo "keyward login benchmark: $(nproc) CPUs, slapd over ldapi://, $(date -u +%FT%TZ)"
run "successful logins; auditing on, each record fsync'd (the default)" \
	-n "$LOGINS" $DRAIN
restart_keywardd -o audit.max_delay_s=0
run "successful logins; auditing on, fsync'd, delivered at once (audit.max_delay_s=0)" \
	-n "$LOGINS" $DRAIN
restart_keywardd -o audit.sync=false
run "successful logins; auditing on, records not fsync'd (audit.sync=false)" \
	-n "$LOGINS" $DRAIN
restart_keywardd -o audit.enabled=false
run "successful logins; auditing off (audit.enabled=false)" -n "$LOGINS"

# Failed logins: lockout limits at their highest, and the counters
# cleared, so that every attempt is a counted wrong password and none a
# refusal of a locked account (which counts nothing).
restart_keywardd -o lockout.password_user_limit=1000 \
	-o lockout.password_address_limit=100000
kwadm user unlock alice@acme >/dev/null
FAILS=$((LOGINS / 5))
[ "$FAILS" -ge 10 ] || FAILS=10
run "failed logins (counted, recorded); $FAILS per measurement" -w \
	-n "$FAILS" $DRAIN
kwadm user unlock alice@acme >/dev/null
