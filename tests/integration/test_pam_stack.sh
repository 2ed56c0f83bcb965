#!/bin/sh
# test_pam_stack.sh - the shipped pam.d stacks, run through the real
# libpam under pam_wrapper with tests/tools/pamdrive, against keywardd and
# a private slapd.
#
# The service files are etc/pam.d/keyward-* with the keyward modules
# rewritten to the built ones and pointed at the test's keywardd;
# everything else in them (pam_nologin, pam_deny, ...) is the system's.
# pam_wrapper's variables are set on each pamdrive command only: every
# process started with them takes one of few /tmp/pam.X slots.
#
# The modules' pam_syslog lines go to pam_wrapper's log on stderr
# (PAM_WRAPPER_DEBUGLEVEL), which is kept in $KW_TEST_DIR/modules.log and
# checked, with keywardd's log, for the test passwords.
#
#   KW_PAM_VALGRIND=1  run pamdrive under valgrind (memcheck, full leak
#                      check); any error fails the run.
#   KW_PAM_KEEP_LOGS=DIR  copy the logs there at the end.
# A sanitizer build is detected: libasan then goes first in LD_PRELOAD.

: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/lib/slapd.sh"
. "$top_srcdir/tests/lib/keyward.sh"
. "$top_srcdir/tests/lib/keywardd.sh"

# These tests are about decisions, and try many wrong passwords from one
# address ("local"): lockout, which would soon refuse them all, has a
# test of its own (test_lockout.sh) and is set out of reach here.
NO_LOCKOUT="-o lockout.password_address_limit=100000
	-o lockout.password_user_limit=1000"

PAMDRIVE=$top_builddir/tests/tools/pamdrive
MODDIR=$top_builddir/.libs
PAM_WRAPPER_LIB=libpam_wrapper.so

kw_require_root
[ -x "$KEYWARDD" ] || skip_all "keywardd not built"
[ -x "$PAMDRIVE" ] || skip_all "tests/tools/pamdrive not built"
[ -f "$MODDIR/pam_keyward_password.so" ] &&
	[ -f "$MODDIR/pam_keyward_access.so" ] ||
	skip_all "the PAM modules are not built"
ldconfig -p 2>/dev/null | grep -q "$PAM_WRAPPER_LIB" ||
	skip_all "pam_wrapper not installed (libpam-wrapper)"

PRELOAD=$PAM_WRAPPER_LIB
if ldd "$MODDIR/pam_keyward_password.so" 2>/dev/null | grep -q libasan; then
	PRELOAD="$(${CC:-gcc} -print-file-name=libasan.so):$PAM_WRAPPER_LIB"
	# libpam and libc allocate what libpam frees: not ours to report.
	ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
	export ASAN_OPTIONS
fi
VALGRIND=
if [ "${KW_PAM_VALGRIND:-0}" = 1 ]; then
	command -v valgrind >/dev/null 2>&1 || skip_all "valgrind not found"
	VALGRIND="valgrind --quiet --leak-check=full --error-exitcode=99"
	VALGRIND="$VALGRIND --show-leak-kinds=definite,indirect"
	VALGRIND="$VALGRIND --errors-for-leak-kinds=definite,indirect"
fi

trap keywardd_cleanup EXIT INT TERM HUP
kw_directory_start || {
	not_ok "directory ready"
	# KW_PAM_KEEP_LOGS=DIR keeps both logs for a reader.
if [ -n "${KW_PAM_KEEP_LOGS:-}" ]; then
	mkdir -p "$KW_PAM_KEEP_LOGS" &&
		cp "$MODLOG" "$KWD_LOG" "$KW_TEST_DIR/drive.err" "$KW_PAM_KEEP_LOGS/"
fi
done_testing
}
SVC=$KW_TEST_DIR/pam.d
MODLOG=$KW_TEST_DIR/modules.log
FAILED_RUNS=$KW_TEST_DIR/failed-runs
mkdir -p "$SVC"
: >"$MODLOG"
: >"$FAILED_RUNS"
: >"$KW_TEST_DIR/drive.err"

# ---- helpers ---------------------------------------------------------------

# make_service NAME SOURCE [PASSWORD ARGS [ACCESS ARGS [TOTP ARGS]]]: SOURCE from
# etc/pam.d with the keyward modules made absolute, given the socket of
# the test's keywardd and any further arguments.
make_service() {
	sock=socket=$KW_TEST_DIR/kwd.sock
	pw=$MODDIR/pam_keyward_password.so
	acc=$MODDIR/pam_keyward_access.so
	totp=$MODDIR/pam_keyward_totp.so
	sed -e "/^[[:space:]]*#/!s#pam_keyward_password\\.so#$pw $sock ${3:-}#" \
		-e "/^[[:space:]]*#/!s#pam_keyward_access\\.so#$acc $sock ${4:-}#" \
		-e "/^[[:space:]]*#/!s#pam_keyward_totp\\.so#$totp $sock ${5:-}#" \
		"$top_srcdir/etc/pam.d/$2" >"$SVC/$1"
}

# drive SERVICE [PAMDRIVE OPTIONS]: logins from stdin, results on stdout.
# The preload is set on the one command.  Of pam_wrapper's log only the
# modules' pam_syslog lines go to $MODLOG: its own trace lines show PAM
# items, the password among them, and are no log of ours.  A run that
# fails (valgrind, a crash, a hang past 60 s) is noted in $FAILED_RUNS,
# with its stderr in $KW_TEST_DIR/drive.err.
drive() {
	err=$(mktemp -p "$KW_TEST_DIR")
	timeout 60 env LD_PRELOAD="$PRELOAD" PAM_WRAPPER=1 \
		PAM_WRAPPER_SERVICE_DIR="$SVC" PAM_WRAPPER_DEBUGLEVEL=3 \
		$VALGRIND "$PAMDRIVE" "$@" 2>"$err"
	st=$?
	grep -a 'SYSLOG(' "$err" >>"$MODLOG"
	grep -av '^PWRAP_' "$err" >>"$KW_TEST_DIR/drive.err"
	rm -f "$err"
	[ $st = 0 ] || echo "pamdrive $* exited $st" >>"$FAILED_RUNS"
	return $st
}

# login SERVICE USER PASSWORD [PAMDRIVE OPTIONS]: "auth=... acct=...".
login() {
	s=$1 u=$2 p=$3
	shift 3
	printf '%s\t%s\n' "$u" "$p" | drive "$@" "$s" | sed 's/^[0-9]* //'
}

OK="auth=PAM_SUCCESS acct=PAM_SUCCESS"
AUTH_ERR="auth=PAM_AUTH_ERR acct=-"
UNAVAIL="auth=PAM_AUTHINFO_UNAVAIL acct=-"

# ---- the services ----------------------------------------------------------

# As on a real host, a service without a file of its own is refused.
printf '%s\n' 'auth required pam_deny.so' 'account required pam_deny.so' \
	'password required pam_deny.so' 'session required pam_deny.so' \
	>"$SVC/other"
make_service login keyward-login
make_service login-acme keyward-login tenant=acme tenant=acme
make_service login-ops keyward-login "" role=ops
make_service login-roles keyward-login "" "role=ops,auditors role=admins"
make_service sshd keyward-sshd
make_service web keyward-web
make_service first-pass keyward-login use_first_pass
make_service try-first-pass keyward-login try_first_pass
make_service typo keyward-login "" rol=ops
make_service bad-role keyward-login "" role=Ops
make_service empty-role keyward-login "" role=
make_service bad-role-list keyward-login "" role=ops,,admins
make_service bad-tenant keyward-login tenant=ACME
make_service bad-timeout keyward-login timeout_ms=0
make_service relative-socket keyward-login socket=kwd.sock
make_service pw-typo keyward-login debugg
silent="socket=$KW_TEST_DIR/silent.sock timeout_ms=300"
make_service silent keyward-login "$silent" "$silent"

A_PW='alice: acme correct horse 42'
AB_PW='alice: beta battery staple 7'
B_PW='bob: acme (ops) *star* \back'
D_PW='dave: gamma a long one 99'
INIT_PW=$KW_INIT_PW

# ---- without keywardd -------------------------------------------------------

is "$(login login alice@acme "$A_PW")" "$UNAVAIL" \
	"keywardd not running: auth refused with PAM_AUTHINFO_UNAVAIL"
is "$(login login alice@acme "$A_PW" -o acct)" "auth=- acct=PAM_PERM_DENIED" \
	"keywardd not running: account refused with PAM_PERM_DENIED"
like "$(cat "$MODLOG")" 'keywardd is not running \(connect ' \
	"the module log says keywardd is not running"
is "$(login login alice@acme '')" "$AUTH_ERR" \
	"an empty password is refused before keywardd is asked"
like "$(cat "$MODLOG")" 'empty password refused' "and the log says so"
is "$(login typo alice@acme "$A_PW" -o acct)" "auth=- acct=PAM_SERVICE_ERR" \
	"an unknown argument (rol=) is a configuration error"
like "$(cat "$MODLOG")" 'configuration error: rol=ops: unknown argument' \
	"and the log names it"
is "$(login pw-typo alice@acme "$A_PW")" "auth=PAM_SERVICE_ERR acct=-" \
	"an unknown argument of the password module too"
for s in bad-role empty-role bad-role-list; do
	is "$(login $s alice@acme "$A_PW" -o acct)" \
		"auth=- acct=PAM_SERVICE_ERR" "a bad role list ($s) refuses"
done
for s in bad-tenant bad-timeout relative-socket; do
	is "$(login $s alice@acme "$A_PW")" "auth=PAM_SERVICE_ERR acct=-" \
		"a bad value ($s) refuses"
done

# A socket that accepts and never answers: refused once timeout_ms runs
# out, not later (the 60 s limit of drive() would catch a hang).
if command -v python3 >/dev/null 2>&1; then
	python3 -c 'import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1])
s.listen(64)
time.sleep(30)' "$KW_TEST_DIR/silent.sock" &
	silent_pid=$!
	i=0
	while [ ! -S "$KW_TEST_DIR/silent.sock" ] && [ $i -lt 100 ]; do
		sleep 0.05
		i=$((i + 1))
	done
	is "$(login silent alice@acme "$A_PW")" "$UNAVAIL" \
		"keywardd that never answers: auth refused"
	is "$(login silent alice@acme "$A_PW" -o acct)" \
		"auth=- acct=PAM_PERM_DENIED" "and account refused"
	like "$(cat "$MODLOG")" 'did not answer within 300 ms' \
		"the log says keywardd did not answer in time"
	kill "$silent_pid" 2>/dev/null
	wait "$silent_pid" 2>/dev/null
else
	skip "keywardd that never answers" "python3 not found"
fi

# ---- the directory and keywardd --------------------------------------------

# kw_make_user NAME@TENANT PASSWORD: add the user, who changes the initial
# password (which kwadm marks for change) as themselves.
kwadm tenant create acme >/dev/null && kwadm tenant create beta >/dev/null &&
	kwadm tenant create gamma >/dev/null
ok $? "tenants acme, beta, gamma"
kw_make_user alice@acme "$A_PW" && kw_make_user alice@beta "$AB_PW" &&
	kw_make_user bob@acme "$B_PW" && kw_make_user dave@gamma "$D_PW"
ok $? "users alice@acme, alice@beta, bob@acme, dave@gamma"
kwadm user add carol@acme --password-file \
	"$(kw_password_file init "$INIT_PW")" >/dev/null
ok $? "carol@acme keeps her initial password, marked for change"
kwadm role create ops@acme >/dev/null && kwadm role grant ops@acme bob \
	>/dev/null
ok $? "role ops@acme held by bob; admins@acme (made with the tenant) by nobody"

# No answer cache, so that every change is seen at the next login.
keywardd_start $NO_LOCKOUT -o keywardd.cache_ttl_s=0
ok $? "keywardd starts"

is "$(login login alice@acme "$A_PW")" "$OK" "the right password logs in"
is "$(login login alice@acme "x$A_PW")" "$AUTH_ERR" "a wrong one does not"
is "$(login login nobody@acme "$A_PW")" "$AUTH_ERR" \
	"an unknown user gets the same answer"
is "$(login login alice@nowhere "$A_PW")" "$AUTH_ERR" \
	"so does an unknown tenant"
is "$(login login alice@acme '')" "$AUTH_ERR" "an empty password is refused"
is "$(login login Alice@acme "$A_PW")" "$AUTH_ERR" \
	"names are lowercase only: Alice is not alice"
is "$(login login 'alice@acme ' "$A_PW")" "$AUTH_ERR" \
	"a trailing space is not ignored"

# Names with LDAP metacharacters never match anyone, whatever the password.
for name in '*@acme' 'al*@acme' 'a(b)c@acme' 'alice)(uid=*@acme' \
	'al\5c@acme' 'alice\@acme' 'alice,ou=people@acme' '*' \
	'alice@*' 'alice@acme,o=keyward'; do
	is "$(login login "$name" "$A_PW")" "$AUTH_ERR" \
		"LDAP metacharacters refused: $name"
done
long=$(printf '%0300d' 0 | tr 0 a)
is "$(login login "$long@acme" "$A_PW")" "$AUTH_ERR" \
	"a 305-byte name is refused"
long=$(printf '%04000d' 0 | tr 0 a)
is "$(login login "$long" "$A_PW")" "$AUTH_ERR" "a 4000-byte name is refused"
is "$(login login "$(printf 'al\377ce@acme')" "$A_PW")" "$AUTH_ERR" \
	"a name that is not UTF-8 is refused"
is "$(login login "$(printf 'al\303\255ce@acme')" "$A_PW")" "$AUTH_ERR" \
	"a name with a non-ASCII letter is refused"
# PAM_USER is a C string: "alice\0x@acme" reaches libpam as "alice", so
# a NUL cannot be smuggled through it; the protocol refuses a NUL inside
# a field (tests/unit/test_proto.c).
skip "a name with a NUL" "PAM_USER is a C string; a NUL ends it"

is "$(login login alice@beta "$A_PW")" "$AUTH_ERR" \
	"alice@acme's password is refused for alice@beta"
is "$(login login alice@beta "$AB_PW")" "$OK" \
	"alice@beta logs in with her own"

is "$(login login-acme alice "$A_PW")" "$OK" \
	"tenant=acme: plain alice is alice@acme"
is "$(login login-acme alice "$AB_PW")" "$AUTH_ERR" \
	"tenant=acme: alice@beta's password is refused for plain alice"
is "$(login login-acme alice@beta "$AB_PW")" "$OK" \
	"tenant=acme: alice@beta still names beta"
is "$(login login alice "$A_PW")" "$AUTH_ERR" \
	"no default tenant: plain alice is refused"

out=$(printf 'carol@acme\t%s\n' "$INIT_PW" | drive login)
is "$(printf '%s\n' "$out" | sed -n 's/^[0-9]* //p')" \
	"auth=PAM_SUCCESS acct=PAM_NEW_AUTHTOK_REQD" \
	"a password marked for change: account says PAM_NEW_AUTHTOK_REQD"
out=$(grep -a ' info: ' "$KW_TEST_DIR/drive.err" | tail -n 1)
like "$out" '^1 info: .*password must be changed' \
	"and the user is told to change it"
is "$(login sshd carol@acme "$INIT_PW")" \
	"auth=PAM_SUCCESS acct=PAM_NEW_AUTHTOK_REQD" \
	"through the sshd stack too (sshd then runs the refusing password stack)"

is "$(login login-ops bob@acme "$B_PW")" "$OK" "role=ops: bob holds it"
is "$(login login-ops alice@acme "$A_PW")" \
	"auth=PAM_SUCCESS acct=PAM_PERM_DENIED" \
	"role=ops: alice does not, and is refused"
is "$(login login-roles bob@acme "$B_PW")" "$OK" \
	"role=ops,auditors role=admins: one of them is enough"
is "$(login login-roles alice@acme "$A_PW")" \
	"auth=PAM_SUCCESS acct=PAM_PERM_DENIED" "none of them is not"
kwadm role revoke ops@acme bob >/dev/null
ok $? "ops@acme revoked from bob"
is "$(login login-ops bob@acme "$B_PW")" \
	"auth=PAM_SUCCESS acct=PAM_PERM_DENIED" \
	"role=ops: bob is refused at once"
is "$(login login bob@acme "$B_PW")" "$OK" \
	"bob still logs in where no role is required"

kwadm user deactivate bob@acme >/dev/null
ok $? "bob@acme deactivated"
is "$(login login bob@acme "$B_PW")" "$AUTH_ERR" \
	"a deactivated user is refused, with the answer of a wrong password"
is "$(login login bob@acme "$B_PW" -o acct)" "auth=- acct=PAM_PERM_DENIED" \
	"and by the account check alone"
kwadm user reactivate bob@acme >/dev/null
ok $? "bob@acme reactivated"
is "$(login login bob@acme "$B_PW")" "$OK" "bob logs in again at once"

is "$(login login dave@gamma "$D_PW")" "$OK" "dave@gamma logs in"
kwadm tenant suspend gamma >/dev/null
ok $? "tenant gamma suspended"
is "$(login login dave@gamma "$D_PW")" "$AUTH_ERR" \
	"a user of a suspended tenant is refused"
is "$(login login dave@gamma "$D_PW" -o acct)" "auth=- acct=PAM_PERM_DENIED" \
	"and by the account check alone"
kwadm tenant resume gamma >/dev/null
ok $? "tenant gamma resumed"
is "$(login login dave@gamma "$D_PW")" "$OK" "dave logs in again at once"

is "$(login sshd alice@acme "$A_PW")" "$OK" "the sshd stack lets alice in"
is "$(login sshd alice@acme "x$A_PW")" "$AUTH_ERR" "and refuses a wrong one"
is "$(login web alice@acme "$A_PW")" "$OK" "the web stack lets alice in"
is "$(login web alice@acme "x$A_PW")" "$AUTH_ERR" "and refuses a wrong one"
is "$(login first-pass alice@acme "$A_PW")" "$AUTH_ERR" \
	"use_first_pass with no earlier password: refused, nothing asked"
is "$(login try-first-pass alice@acme "$A_PW")" "$OK" \
	"try_first_pass with no earlier password: asks, and logs in"

# One request id for both modules of a login, in both logs.
lines_before=$(wc -l <"$MODLOG")
printf 'alice@acme\t%s\n' "$A_PW" | drive login >/dev/null
tail -n +$((lines_before + 1)) "$MODLOG" | grep -a 'rid=' >"$MODLOG.one"
rids=$(sed -n 's/.*rid=\([0-9a-f]*\) .*/\1/p' "$MODLOG.one" | sort -u)
is "$(printf '%s\n' "$rids" | grep -c .)" 1 \
	"auth and account of one login log one request id"
like "$(cat "$MODLOG.one")" "rid=$rids user=alice@acme .*password accepted" \
	"the module logs the accepted password with the canonical user"
is "$(grep -c "$rids" "$KWD_LOG")" 2 \
	"keywardd logs its two requests (password, account) under it"
like "$(cat "$MODLOG.one")" "rid=$rids .*said with the password" \
	"the code step asked nothing: the password's answer said no code"

like "$(grep "$rids" "$KWD_LOG" | grep ACCOUNT)" 'facts=directory' \
	"with keywardd.cache_ttl_s=0 the account check asks the directory"

# ---- the hand-over from auth to account -------------------------------------

# With the default keywardd.cache_ttl_s, the account check of a login
# takes the facts that its authentication found, once.
keywardd_stop
keywardd_start $NO_LOCKOUT
ok $? "keywardd restarted with the default cache_ttl_s"
# last_account RID: keywardd's ACCOUNT line of the login with that id.
last_rid() {
	tail -n +$((1 + $1)) "$MODLOG" | sed -n 's/.*rid=\([0-9a-f]*\) .*/\1/p' |
		tail -n 1
}
account_line() {
	grep "$1" "$KWD_LOG" | grep ACCOUNT
}
n=$(wc -l <"$MODLOG")
is "$(login login alice@acme "$A_PW")" "$OK" "alice logs in"
like "$(account_line "$(last_rid "$n")")" 'outcome=success .*facts=authenticate' \
	"the account check used what the authentication found"
n=$(wc -l <"$MODLOG")
is "$(login login alice@acme "$A_PW" -o acct)" "auth=- acct=PAM_SUCCESS" \
	"an account check without authentication"
like "$(account_line "$(last_rid "$n")")" 'facts=directory' \
	"asks the directory"
kwadm role grant ops@acme bob >/dev/null
ok $? "ops@acme granted to bob again"
is "$(login login-ops bob@acme "$B_PW")" "$OK" \
	"role=ops through the hand-over: bob holds it"
is "$(login login-ops alice@acme "$A_PW")" \
	"auth=PAM_SUCCESS acct=PAM_PERM_DENIED" "and alice does not"
is "$(login sshd carol@acme "$INIT_PW")" \
	"auth=PAM_SUCCESS acct=PAM_NEW_AUTHTOK_REQD" \
	"a password marked for change is still seen"
kwadm user deactivate bob@acme >/dev/null 2>&1
is "$(login login-ops bob@acme "$B_PW")" "$AUTH_ERR" \
	"a deactivation is seen by the next login at once"
kwadm user reactivate bob@acme >/dev/null 2>&1
is "$(login login-ops bob@acme "$B_PW")" "$OK" "and so is the reactivation"
keywardd_stop
keywardd_start $NO_LOCKOUT -o keywardd.cache_ttl_s=0
ok $? "keywardd back to cache_ttl_s=0"

# ---- keywardd and the directory go away -------------------------------------

keywardd_stop
is "$(login login alice@acme "$A_PW")" "$UNAVAIL" \
	"keywardd stopped: refused with PAM_AUTHINFO_UNAVAIL"
keywardd_start $NO_LOCKOUT -o keywardd.cache_ttl_s=0
ok $? "keywardd started again"
is "$(login login alice@acme "$A_PW")" "$OK" "and alice logs in again"

slapd_stop
is "$(login login alice@acme "$A_PW")" "$UNAVAIL" \
	"slapd stopped: refused with PAM_AUTHINFO_UNAVAIL"
is "$(login login alice@acme "$A_PW" -o acct)" "auth=- acct=PAM_PERM_DENIED" \
	"and the account check refuses too"
like "$(cat "$MODLOG")" 'keywardd cannot reach the directory' \
	"the module log says the directory is out of reach"
slapd_restart_same
ok $? "slapd restarted"
is "$(login login alice@acme "$A_PW")" "$OK" \
	"alice logs in again, keywardd not restarted"

# ---- 50 logins in parallel ---------------------------------------------------

# Five processes of ten threads, each with a mix of right and wrong
# passwords, users and roles; every answer must be the expected one.
: >"$KW_TEST_DIR/par.in"
: >"$KW_TEST_DIR/par.want"
n=0
while [ $n -lt 10 ]; do
	case $((n % 5)) in
	0) printf 'alice@acme\t%s\n' "$A_PW"
	   echo "$OK" >>"$KW_TEST_DIR/par.want" ;;
	1) printf 'alice@acme\tx%s\n' "$A_PW"
	   echo "$AUTH_ERR" >>"$KW_TEST_DIR/par.want" ;;
	2) printf 'bob@acme\t%s\n' "$B_PW"
	   echo "$OK" >>"$KW_TEST_DIR/par.want" ;;
	3) printf 'alice@beta\t%s\n' "$AB_PW"
	   echo "$OK" >>"$KW_TEST_DIR/par.want" ;;
	4) printf 'nobody@acme\t%s\n' "$A_PW"
	   echo "$AUTH_ERR" >>"$KW_TEST_DIR/par.want" ;;
	esac >>"$KW_TEST_DIR/par.in"
	n=$((n + 1))
done
pids=
for p in 1 2 3 4 5; do
	drive -j 10 login <"$KW_TEST_DIR/par.in" >"$KW_TEST_DIR/par.out.$p" &
	pids="$pids $!"
done
# Not a bare wait: keywardd is a child of this shell too.
for pid in $pids; do
	wait "$pid"
done
all_right=0
for p in 1 2 3 4 5; do
	sed 's/^[0-9]* //' "$KW_TEST_DIR/par.out.$p" |
		cmp -s - "$KW_TEST_DIR/par.want" || {
		all_right=1
		diag "process $p:" "$(cat "$KW_TEST_DIR/par.out.$p")"
	}
done
ok $all_right "50 logins in parallel (5 processes x 10 threads): all right"

# ---- logs ------------------------------------------------------------------

[ "$(grep -c 'rid=' "$MODLOG")" -gt 50 ]
ok $? "the modules' log lines are captured"
leaked=0
for pw in "$A_PW" "$AB_PW" "$B_PW" "$D_PW" "$INIT_PW" "x$A_PW"; do
	if grep -qF -e "$pw" "$MODLOG" "$KWD_LOG"; then
		leaked=1
		diag "a password appears in a log:" \
			"$(grep -nF -e "$pw" "$MODLOG" "$KWD_LOG" | head -n 3)"
	fi
done
ok $leaked "no test password appears in keywardd's log or the modules' log"
if grep -q "user=(unresolved)" "$MODLOG" &&
	! grep -E 'user=(nobody|al\*|\*)' "$MODLOG" >/dev/null; then
	ok 0 "names that did not resolve are not logged in clear"
else
	not_ok "names that did not resolve are not logged in clear"
fi

is "$(cat "$FAILED_RUNS")" "" \
	"every pamdrive run ended cleanly${VALGRIND:+ (valgrind: no errors, no leaks)}"

# KW_PAM_KEEP_LOGS=DIR keeps both logs for a reader.
if [ -n "${KW_PAM_KEEP_LOGS:-}" ]; then
	mkdir -p "$KW_PAM_KEEP_LOGS" &&
		cp "$MODLOG" "$KWD_LOG" "$KW_TEST_DIR/drive.err" "$KW_PAM_KEEP_LOGS/"
fi
done_testing
