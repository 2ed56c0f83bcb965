#!/bin/sh
# test_audit_keywardd.sh - every decision keywardd makes leaves exactly one
# record in its tenant's log, with the right reason, delivered through
# the spool even across a directory outage.  Records are read back with
# ldapsearch as root, not with kwadm: an independent look at what is
# stored.  keywardd delivers after it answers, so the tests poll the
# directory (10 s at most) for what they expect.
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/lib/slapd.sh"
. "$top_srcdir/tests/lib/keyward.sh"
. "$top_srcdir/tests/lib/keywardd.sh"

kw_require_root
[ -x "$KEYWARDD" ] && [ -x "$KWCALL" ] ||
	skip_all "keywardd or kwcall not built"
trap keywardd_cleanup EXIT INT TERM HUP
kw_directory_start || { not_ok "directory ready"; done_testing; }

A_PW='alice: audited 1'
B_PW='bob: deactivated 2'
C_PW='carol: must change'
D_PW='dave: suspended 4'

{
	kwadm tenant create acme && kwadm tenant create beta &&
		kwadm tenant create gamma &&
		kw_make_user alice@acme "$A_PW" && kw_make_user bob@acme "$B_PW" &&
		kw_make_user dave@gamma "$D_PW" &&
		kwadm user add carol@acme --password-file \
			"$(kw_password_file c "$C_PW")" &&
		kwadm user deactivate bob@acme && kwadm tenant suspend gamma &&
		kwadm role create ops@acme
} >"$KW_TEST_DIR/setup.out" 2>&1
ok $? "tenants acme, beta and gamma (suspended), their users"
keywardd_start -o lockout.password_user_limit=3 \
	-o lockout.password_address_limit=1000
ok $? "keywardd starts, lockout at 3 failed passwords per user"

# records TENANT FILTER: how many records of TENANT's log match FILTER.
records() {
	count_entries "ou=audit,o=$1,$KW_TENANTS" "$2"
}
# wait_records TENANT FILTER N: poll until N records match; print the count.
wait_records() {
	i=0
	while [ $i -lt 200 ]; do
		n=$(records "$1" "$2")
		[ "$n" = "$3" ] && break
		sleep 0.05
		i=$((i + 1))
	done
	printf '%s' "$n"
}
auth() { # auth ID USER PASSWORD [KWCALL ARGS]
	id=$1 u=$2 p=$3
	shift 3
	printf '%s' "$p" | kwcall auth -u "$u" -i "$id" -S sshd \
		-r 192.0.2.5 -T pts/7 "$@" | sed -n 1p
}
account() { # account ID USER [KWCALL ARGS]
	id=$1 u=$2
	shift 2
	kwcall account -u "$u" -i "$id" -S sshd -r 192.0.2.5 "$@" | sed -n 1p
}
# one_record TENANT ID REASON OUTCOME: exactly one record of the request,
# and it has that reason and outcome.
one_record() {
	is "$(wait_records "$1" "(kwRequestId=$2)" 1)" 1 \
		"request $2: exactly one record in $1's log"
	is "$(records "$1" "(&(kwRequestId=$2)(kwReason=$3)(kwOutcome=$4))")" \
		1 "request $2: reason $3, outcome $4"
}

auth a-ok alice@acme "$A_PW" >/dev/null
one_record acme a-ok success success
DN=$(as_root ldapsearch -LLL -o ldif-wrap=no \
	-b "ou=audit,o=acme,$KW_TENANTS" '(kwRequestId=a-ok)' 1.1 |
	sed -n 's/^dn: //p')
for pair in kwUserName:alice kwService:sshd kwRemoteHost:192.0.2.5 \
	kwTty:pts/7 kwEventKind:auth "kwEventHost:$(hostname)"; do
	is "$(attr_of "$DN" "${pair%%:*}")" "${pair#*:}" \
		"the record holds ${pair%%:*}=${pair#*:}"
done
like "$(attr_of "$DN" kwEventTime)" '^[0-9]{14}\.[0-9]{6}Z$' \
	"and its time, to the microsecond"
like "$(attr_of "$DN" kwChainHash)" '^[0-9a-f]{64}$' "and its chain hash"

auth a-wrong alice@acme "not it" >/dev/null
one_record acme a-wrong wrong_password fail
auth a-unknown nobody@acme "$A_PW" >/dev/null
one_record acme a-unknown unknown_user fail
is "$(records acme '(&(kwRequestId=a-unknown)(kwUserName=*))')" 0 \
	"the unknown name is not stored in clear"
is "$(records acme '(&(kwRequestId=a-unknown)(kwUserHash=*))')" 1 \
	"but as a keyed hash"
auth a-unknown2 nobody@acme "other" >/dev/null
wait_records acme '(kwRequestId=a-unknown2)' 1 >/dev/null
h1=$(as_root ldapsearch -LLL -b "ou=audit,o=acme,$KW_TENANTS" \
	'(kwRequestId=a-unknown)' kwUserHash | sed -n 's/^kwUserHash: //p')
h2=$(as_root ldapsearch -LLL -b "ou=audit,o=acme,$KW_TENANTS" \
	'(kwRequestId=a-unknown2)' kwUserHash | sed -n 's/^kwUserHash: //p')
is "$h1" "$h2" "the same name gives the same hash, so repeats can be counted"
auth a-empty alice@acme "" >/dev/null
one_record acme a-empty empty_password fail
auth a-deact bob@acme "$B_PW" >/dev/null
one_record acme a-deact deactivated fail
auth a-susp dave@gamma "$D_PW" >/dev/null
one_record gamma a-susp suspended fail
account a-role alice@acme -R ops >/dev/null
one_record acme a-role missing_role fail
account a-change carol@acme >/dev/null
one_record acme a-change must_change_password fail
account a-acct alice@acme >/dev/null
one_record acme a-acct success success
is "$(records acme '(&(kwRequestId=a-acct)(kwEventKind=account))')" 1 \
	"an account decision is recorded as kind account"
auth a-invalid 'Not*A)Name' "$A_PW" >/dev/null
auth a-notenant alice@nowhere "$A_PW" >/dev/null
is "$(count_entries "ou=tenants,$KW_TENANTS" \
	'(|(kwRequestId=a-invalid)(kwRequestId=a-notenant))')" 0 \
	"a name with no valid or known tenant goes to no tenant's log"
like "$(grep 'req=a-invalid ' "$KWD_LOG")" 'outcome=invalid_name' \
	"(only to keywardd's log)"

for i in 1 2 3; do
	auth "l-$i" alice@acme "wrong $i" >/dev/null
done
i=0
while [ $i -lt 200 ] &&
	[ "$(attr_of "$(kw_user_dn alice@acme)" kwLockReason)" != password ]; do
	sleep 0.05
	i=$((i + 1))
done
auth a-locked alice@acme "$A_PW" >/dev/null
one_record acme a-locked locked fail

# beta's log holds none of acme's records.
is "$(records beta '(objectClass=kwAuditEvent)')" 0 \
	"beta's log has no record of acme's attempts"

# ---- the same through the PAM stack ---------------------------------------

# Each case logs in through a service of its own, a copy of the shipped
# keyward-login stack, so that its records are found by kwService.
PAMDRIVE=$top_builddir/tests/tools/pamdrive
SVC=$KW_TEST_DIR/pam.d
mkdir -p "$SVC"
printf '%s\n' 'auth required pam_deny.so' 'account required pam_deny.so' \
	>"$SVC/other"
mods=$top_builddir/.libs
for s in p-ok p-wrong p-unknown p-empty p-deact p-susp p-role; do
	sed -e "/^[[:space:]]*#/!s#\(pam_keyward_[a-z]*\.so\)#$mods/\1 socket=$KWD_SOCKET#" \
		"$top_srcdir/etc/pam.d/keyward-login" >"$SVC/$s"
done
sed -i "s#\(pam_keyward_access.so socket=[^ ]*\)#\1 role=ops#" "$SVC/p-role"
PRELOAD=libpam_wrapper.so
if ldd "$mods/pam_keyward_password.so" 2>/dev/null | grep -q libasan; then
	PRELOAD="$(${CC:-gcc} -print-file-name=libasan.so):$PRELOAD"
fi
# stack SERVICE USER PASSWORD: the PAM results, as pamdrive prints them.
stack() {
	printf '%s\t%s\n' "$2" "$3" | env LD_PRELOAD="$PRELOAD" \
		PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR="$SVC" "$PAMDRIVE" "$1" \
		2>/dev/null | sed 's/^[0-9]* //'
}
# by_stack TENANT SERVICE N: the records of that service, once N are in.
by_stack() {
	wait_records "$1" "(kwService=$2)" "$3"
}
kwadm user unlock alice@acme >/dev/null 2>&1
if ldconfig -p 2>/dev/null | grep -q libpam_wrapper.so && [ -x "$PAMDRIVE" ]
then
	stack p-ok alice@acme "$A_PW" >/dev/null
	is "$(by_stack acme p-ok 2)" 2 \
		"stack, success: two records (auth and account)"
	is "$(records acme '(&(kwService=p-ok)(kwEventKind=auth)(kwReason=success))')" \
		1 "one of them the authentication's success"
	stack p-wrong alice@acme "not it" >/dev/null
	is "$(by_stack acme p-wrong 1)" 1 "stack, wrong password: one record"
	is "$(records acme '(&(kwService=p-wrong)(kwReason=wrong_password))')" \
		1 "with the reason wrong_password"
	stack p-unknown nobody@acme "$A_PW" >/dev/null
	is "$(wait_records acme '(&(kwService=p-unknown)(kwReason=unknown_user))' 1)" \
		1 "stack, unknown user: one record, unknown_user"
	stack p-empty alice@acme "" >/dev/null
	is "$(by_stack acme p-empty 1)" 1 "stack, empty password: one record"
	is "$(records acme '(&(kwService=p-empty)(kwReason=empty_password))')" \
		1 "with the reason empty_password"
	stack p-deact bob@acme "$B_PW" >/dev/null
	is "$(by_stack acme p-deact 1)" 1 "stack, deactivated user: one record"
	is "$(records acme '(&(kwService=p-deact)(kwReason=deactivated))')" \
		1 "with the reason deactivated"
	stack p-susp dave@gamma "$D_PW" >/dev/null
	is "$(by_stack gamma p-susp 1)" 1 "stack, suspended tenant: one record"
	is "$(records gamma '(&(kwService=p-susp)(kwReason=suspended))')" \
		1 "with the reason suspended"
	stack p-role alice@acme "$A_PW" >/dev/null
	is "$(by_stack acme p-role 2)" 2 \
		"stack, missing role: the authentication's and the account's"
	is "$(records acme '(&(kwService=p-role)(kwEventKind=account)(kwReason=missing_role))')" \
		1 "the account step's with the reason missing_role"
else
	skip "the cases through the PAM stack" "pam_wrapper or pamdrive missing"
fi

# ---- the directory goes away: records wait in the spool ------------------

SPOOL=$KW_TEST_DIR/spool
KWSPOOL=$top_builddir/tests/tools/kwspool
slapd_stop
for i in 1 2 3; do
	auth "out-$i" bob@acme "$B_PW" >/dev/null
done
is "$("$KWSPOOL" count "$SPOOL")" 3 \
	"slapd stopped: three attempts wait in the spool"
is "$(stat -c %a "$SPOOL")" 700 "which only keywardd's user may read"
slapd_restart_same
ok $? "slapd restarted"
is "$(wait_records acme '(&(|(kwRequestId=out-1)(kwRequestId=out-2)(kwRequestId=out-3))(kwReason=unavailable))' 3)" 3 \
	"all three are delivered once it is back, as 'unavailable'"
seqs=$(as_root ldapsearch -LLL -b "ou=audit,o=acme,$KW_TENANTS" \
	'(|(kwRequestId=out-1)(kwRequestId=out-2)(kwRequestId=out-3))' kwEventSeq kwRequestId |
	awk '/^kwEventSeq/ {s=$2} /^kwRequestId/ {print $2, s}' | sort)
is "$(printf '%s\n' "$seqs" | awk '{print $2}' | sort -n | tr '\n' ' ')" \
	"$(printf '%s\n' "$seqs" | awk '{print $2}' | tr '\n' ' ')" \
	"in the order they were made"
i=0
while [ $i -lt 200 ] && [ "$("$KWSPOOL" count "$SPOOL")" != 0 ]; do
	sleep 0.05
	i=$((i + 1))
done
is "$("$KWSPOOL" count "$SPOOL")" 0 "and the spool is empty again"
is "$(grep -c 'audit: the directory does not take records (.*); they wait' "$KWD_LOG")" 1 \
	"keywardd said once, with the reason, that records wait"
is "$(grep -c 'audit: the directory takes records again' "$KWD_LOG")" 1 \
	"and once that they go again"

# ---- what cannot be recorded is not allowed ------------------------------

# An immutable journal (chattr +i, which holds even for root) makes every
# append fail: the right password is then answered UNAVAILABLE, with
# nothing of the success (no canonical user, no ticket) in the reply.
seg=$(ls "$SPOOL"/seg.* 2>/dev/null | tail -n 1)
if [ -n "$seg" ] && chattr +i "$seg" 2>/dev/null; then
	out=$(printf '%s' "$A_PW" | kwcall auth -u alice@acme -i nostore-1 \
		-S sshd)
	chattr -i "$seg"
	is "$(printf '%s\n' "$out" | sed -n 1p)" UNAVAILABLE \
		"a success whose record cannot be spooled is refused"
	is "$(printf '%s\n' "$out" | sed -n 3p)" "user: " \
		"and its reply carries nothing of the success"
	like "$(grep 'req=nostore-1 ' "$KWD_LOG")" 'audit=not_stored' \
		"keywardd's log says why"
else
	for t in "refused" "nothing of the success" "log says why"; do
		skip "unrecorded success: $t" "chattr +i not possible here"
	done
fi

# ---- records wait while keywardd is busy ---------------------------------

# restart_with ARGS: keywardd again, with the lockout of the start and ARGS.
restart_with() {
	keywardd_stop &&
		keywardd_start -o lockout.password_user_limit=3 \
			-o lockout.password_address_limit=1000 "$@"
}
# stream PREFIX: a decision every 0.2 s, until the first one (PREFIX-0) is
# in the directory or 40 have been made; prints how many were made.
stream() {
	n=0
	while [ $n -lt 40 ]; do
		account "$1-$n" alice@acme >/dev/null
		n=$((n + 1))
		[ "$(records acme "(kwRequestId=$1-0)")" = 1 ] && break
		sleep 0.2
	done
	printf '%s' "$n"
}

# ids PREFIX N: a filter for the records of requests PREFIX-0 .. PREFIX-(N-1)
# (kwRequestId has no substring rule: PREFIX-* would match nothing).
ids() {
	f='(|' n=0
	while [ $n -lt "$2" ]; do
		f="$f(kwRequestId=$1-$n)"
		n=$((n + 1))
	done
	printf '%s)' "$f"
}

restart_with -o audit.quiet_ms=3000 -o audit.max_delay_s=3600
ok $? "keywardd restarts: quiet after 3 s without a record"
for n in 0 1 2 3 4; do account "held-$n" alice@acme >/dev/null; done
sleep 0.5
is "$(records acme "$(ids held 5)")" 0 \
	"while decisions keep coming, their records wait in the spool"
is "$("$KWSPOOL" count "$SPOOL")" 5 "all five of them"
is "$(wait_records acme "$(ids held 5)" 5)" 5 \
	"once keywardd is quiet, all five are delivered"

# A tenant deleted while its record waits: the record is dropped (there
# is no log to keep), and the records after it still go.
# keywardd is stopped with both held, and finds zeta gone at its start.
{ kwadm tenant create zeta && kw_make_user zed@zeta 'zed: goes away 7'; } \
	>>"$KW_TEST_DIR/setup.out" 2>&1
restart_with -o audit.quiet_ms=60000 -o audit.max_delay_s=3600
kwcall account -u zed@zeta -i gone-0 -S sshd >/dev/null
account after-0 alice@acme >/dev/null
keywardd_stop
kwadm tenant delete zeta --yes >>"$KW_TEST_DIR/setup.out" 2>&1
restart_with
is "$(wait_records acme '(kwRequestId=after-0)' 1)" 1 \
	"a record of a tenant deleted meanwhile holds up no later record"
like "$(grep 'tenant zeta has no log' "$KWD_LOG")" 'gone-0 dropped' \
	"it is dropped, and the log says so"

restart_with -o audit.quiet_ms=60000 -o audit.max_delay_s=1
ok $? "keywardd restarts: quiet only after 60 s, records held 1 s at most"
made=$(stream busy)
busy_made=$made
[ "$made" -lt 40 ]
ok $? "a record reaches the directory while decisions keep coming ($made made)"
[ "$made" -ge 3 ]
ok $? "but not before it waited (the first $((made - 1)) looks found nothing)"

restart_with -o audit.quiet_ms=60000 -o audit.max_delay_s=0
ok $? "keywardd restarts: audit.max_delay_s = 0"
made=$(stream now)
[ "$made" -lt 40 ]
ok $? "records go at once, busy or not ($made made)"
is "$(wait_records acme "$(ids busy "$busy_made")" "$busy_made")" \
	"$busy_made" "every record of the first stream is delivered"
is "$(wait_records acme "$(ids now "$made")" "$made")" "$made" \
	"and of the second"

# ---- the records are one intact chain -----------------------------------

keywardd_stop
ok $? "keywardd stops"
out=$(kwadm audit verify --tenant acme 2>&1)
ok $? "kwadm audit verify finds acme's chain intact"
diag "$out"

# The spool keywardd makes is private, however its path is written.
keywardd_start -o "audit.spool_directory=$KW_TEST_DIR/spool2/"
ok $? "keywardd starts with a spool path that ends in /"
is "$(stat -c %a "$KW_TEST_DIR/spool2")" 700 "and makes the spool mode 0700"
keywardd_stop

leaked=0
for pw in "$A_PW" "$B_PW" "$C_PW" "$D_PW"; do
	grep -qF -- "$pw" "$KWD_LOG" && leaked=1
	as_root ldapsearch -LLL -o ldif-wrap=no -b "ou=tenants,$KW_TENANTS" \
		'(objectClass=kwAuditEvent)' | grep -qF -- "$pw" && leaked=1
done
ok $leaked "no password in keywardd's log or in any record"
done_testing
