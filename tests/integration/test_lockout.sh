#!/bin/sh
# test_lockout.sh - failed passwords are counted in the directory and
# limited per user and per source address (root; a private slapd and
# keywardd, requests through kwcall).
#
# keywardd counts a failure after it has answered (so that the answer's
# timing does not depend on the writes), so the tests wait for a counter
# to reach its value with wait_attr, which polls the directory for at
# most 10 s; nothing here waits out a lock: expiry is shown by moving
# the lock's time into the past in the directory, which is what the
# clock passing does.
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/lib/slapd.sh"
. "$top_srcdir/tests/lib/keyward.sh"
. "$top_srcdir/tests/lib/keywardd.sh"

kw_require_root
[ -x "$KEYWARDD" ] && [ -x "$KWCALL" ] ||
	skip_all "keywardd or kwcall not built"
trap 'stop_second; keywardd_cleanup' EXIT INT TERM HUP
kw_directory_start || { not_ok "directory ready"; done_testing; }

INIT_PW=$KW_INIT_PW
A_PW='alice: lockout test 1'
B_PW='bob: lockout test 2'
C_PW='carol of beta 3'
D_PW='dave: counted twice 4'

addr_dn() {
	echo "cn=$2,ou=counters,o=$1,$KW_TENANTS"
}
# auth USER PASSWORD RHOST [SOCKET]: the status keywardd answers.
auth() {
	printf '%s' "$2" | "$KWCALL" -s "${4:-$KWD_SOCKET}" auth -u "$1" \
		-S sshd -r "$3" | sed -n 1p
}
# wait_attr DN ATTR VALUE: poll until ATTR of DN is VALUE (10 s at most);
# prints what it is in the end.
wait_attr() {
	i=0
	while [ $i -lt 200 ]; do
		v=$(attr_of "$1" "$2")
		[ "$v" = "$3" ] && break
		sleep 0.05
		i=$((i + 1))
	done
	printf '%s' "$v"
}
# set_attr DN ATTR VALUE: as root, what time passing would do.
set_attr() {
	printf 'dn: %s\nchangetype: modify\nreplace: %s\n%s: %s\n' \
		"$1" "$2" "$2" "$3" | as_root ldapmodify >/dev/null 2>&1
}
# A generalized time N seconds from now (negative: in the past).
gentime() {
	date -u -d "@$(($(date +%s) + $1))" +%Y%m%d%H%M%SZ
}

{
	kwadm tenant create acme && kwadm tenant create beta &&
		kw_make_user alice@acme "$A_PW" && kw_make_user bob@acme "$B_PW" &&
		kw_make_user carol@beta "$C_PW" && kw_make_user dave@acme "$D_PW"
} >"$KW_TEST_DIR/setup.out" 2>&1
ok $? "tenants acme and beta, users alice, bob, dave and carol"

# ---- the user's budget ---------------------------------------------------

keywardd_start -o lockout.password_user_limit=5 \
	-o lockout.password_address_limit=1000
ok $? "keywardd with 5 failed passwords per user, 1000 per address"
ALICE=$(kw_user_dn alice@acme)
for i in 1 2 3 4; do
	auth alice@acme "wrong $i" 192.0.2.1 >/dev/null
done
is "$(wait_attr "$ALICE" kwPasswordFailures 4)" 4 \
	"four wrong passwords are counted on alice's entry"
is "$(auth alice@acme "$A_PW" 192.0.2.1)" OK \
	"the right password still logs in below the limit"
is "$(wait_attr "$ALICE" kwPasswordFailures '')" "" \
	"a successful login resets the counter"
for i in 1 2 3 4 5; do
	auth alice@acme "wrong $i" 192.0.2.1 >/dev/null
done
is "$(wait_attr "$ALICE" kwLockReason password)" password \
	"the fifth wrong password locks alice, and says why"
until=$(attr_of "$ALICE" kwLockedUntil)
like "$until" '^[0-9]{14}Z$' "the lock has an end: $until"
out=$(printf '%s' "$A_PW" | kwcall auth -u alice@acme -i t-locked \
	-r 192.0.2.1)
is "$(printf '%s\n' "$out" | sed -n 1,2p)" "DENIED
message: Authentication failed" \
	"locked: the right password is refused with the usual words"
like "$(grep 'req=t-locked ' "$KWD_LOG")" 'outcome=locked .*lock=user' \
	"and keywardd's log says it was the user's lock"
is "$(auth alice@acme "$A_PW" 198.51.100.1)" DENIED \
	"the user's lock holds from every address"
show=$(kwadm --json user show alice@acme)
like "$show" '"locked":true' "kwadm user show: locked"
like "$show" '"lock_reason":"password"' "and why"
like "$show" '"locked_until":"20[0-9-]+T[0-9:]+Z"' "and until when"
is "$(attr_of "$ALICE" kwPasswordFailures)" 5 \
	"attempts against a locked user are not counted"

kwadm user unlock alice@acme >"$KW_TEST_DIR/unlock.out" 2>&1
ok $? "kwadm user unlock alice@acme"
is "$(attr_of "$ALICE" kwLockedUntil)|$(attr_of "$ALICE" kwPasswordFailures)" \
	"|" "the lock and the counters are gone (ldapsearch)"
is "$(auth alice@acme "$A_PW" 192.0.2.1)" OK "alice logs in again"
like "$(kwadm --json user show alice@acme)" '"locked":false' \
	"kwadm user show: not locked"

# Expiry: the lock's end passes.
for i in 1 2 3 4 5; do
	auth alice@acme "wrong $i" 192.0.2.1 >/dev/null
done
is "$(wait_attr "$ALICE" kwLockReason password)" password "locked again"
is "$(auth alice@acme "$A_PW" 192.0.2.1)" DENIED "and refused"
set_attr "$ALICE" kwLockedUntil "$(gentime -1)"
is "$(auth alice@acme "$A_PW" 192.0.2.1)" OK \
	"once the lock's end has passed, alice logs in without an unlock"

# A tenant's administrator unlocks the tenant's users, and no others.
kwadm role grant admins@acme bob >/dev/null 2>&1
BPW=$(kw_password_file bob "$B_PW")
for i in 1 2 3 4 5; do
	auth alice@acme "wrong $i" 192.0.2.1 >/dev/null
done
is "$(wait_attr "$ALICE" kwLockReason password)" password "alice locked"
"$KWADM" -c "$KW_CONF" -U bob@acme --password-file "$BPW" \
	user unlock alice@acme >"$KW_TEST_DIR/admin-unlock.out" 2>&1
ok $? "acme's administrator bob unlocks alice@acme"
is "$(attr_of "$ALICE" kwLockedUntil)" "" "the lock is gone (ldapsearch)"
"$KWADM" -c "$KW_CONF" -U bob@acme --password-file "$BPW" \
	user unlock carol@beta >"$KW_TEST_DIR/admin-unlock2.out" 2>&1
is $? 1 "but cannot unlock beta's carol"

# The window: failures older than lockout.window_s no longer count.
kwadm user unlock alice@acme >/dev/null 2>&1
for i in 1 2 3 4; do
	auth alice@acme "wrong $i" 192.0.2.1 >/dev/null
done
is "$(wait_attr "$ALICE" kwPasswordFailures 4)" 4 "four failures"
set_attr "$ALICE" kwWindowStart "$(gentime -1000)"
auth alice@acme "wrong 5" 192.0.2.1 >/dev/null
is "$(wait_attr "$ALICE" kwPasswordFailures 1)" 1 \
	"a failure after the window has passed starts a new count"
is "$(attr_of "$ALICE" kwLockedUntil)" "" "and locks nothing"
kwadm user unlock alice@acme >/dev/null 2>&1

# A tenant tightens the limit for its own users.
BETA=o=beta,$KW_TENANTS
set_attr "$BETA" kwPasswordUserLimit 2
CAROL=$(kw_user_dn carol@beta)
auth carol@beta wrong1 192.0.2.9 >/dev/null
auth carol@beta wrong2 192.0.2.9 >/dev/null
is "$(wait_attr "$CAROL" kwLockReason password)" password \
	"beta's limit of 2 locks carol after two failures"
is "$(auth carol@beta "$C_PW" 192.0.2.9)" DENIED "carol is refused"
kwadm user unlock carol@beta >/dev/null 2>&1
is "$(auth carol@beta "$C_PW" 192.0.2.9)" OK "and logs in once unlocked"
keywardd_stop

# ---- the address's budget, and spraying ----------------------------------

keywardd_start -o lockout.password_address_limit=5 \
	-o lockout.password_user_limit=1000
ok $? "keywardd with 5 failed passwords per address"
SPRAY=198.51.100.9
auth nobody1@acme x "$SPRAY" >/dev/null
auth nobody2@acme x "$SPRAY" >/dev/null
auth bob@acme wrong "$SPRAY" >/dev/null
auth alice@acme wrong "$SPRAY" >/dev/null
auth nobody3@acme x "$SPRAY" >/dev/null
is "$(wait_attr "$(addr_dn acme $SPRAY)" kwLockReason password)" password \
	"five failures for five names, known or not, lock the address"
is "$(attr_of "$(addr_dn acme $SPRAY)" kwPasswordFailures)" 5 \
	"its counter holds all five"
is "$(auth alice@acme "$A_PW" "$SPRAY")" DENIED \
	"from the locked address even the right password is refused"
is "$(auth alice@acme "$A_PW" 198.51.100.10)" OK \
	"from another address alice logs in"
is "$(auth carol@beta "$C_PW" "$SPRAY")" OK \
	"the address is locked in acme only: beta's carol logs in from it"
is "$(count_entries "ou=counters,$BETA" "(cn=$SPRAY)")" 0 \
	"and beta has no counter for it (ldapsearch)"
kwadm tenant unlock-address acme "$SPRAY" >/dev/null 2>&1
ok $? "kwadm tenant unlock-address acme $SPRAY"
is "$(auth alice@acme "$A_PW" "$SPRAY")" OK "the address may log in again"
kwadm tenant unlock-address acme 203.0.113.77 >/dev/null 2>&1
is $? 1 "unlocking an address with no counter fails"
kwadm tenant unlock-address acme 'not an address' >/dev/null 2>&1
is $? 2 "a malformed address is a usage error"

# IPv6: one /64 is one source.
for i in 1 2 3 4 5; do
	auth "nobody$i@acme" x "2001:db8:7:9::$i" >/dev/null
done
V6=$(addr_dn acme '2001:db8:7:9::/64')
is "$(wait_attr "$V6" kwPasswordFailures 5)" 5 \
	"five addresses of one IPv6 /64 count as one source"
is "$(auth alice@acme "$A_PW" '2001:db8:7:9::abcd')" DENIED \
	"and all of the /64 is locked"
is "$(auth alice@acme "$A_PW" '2001:db8:7:a::1')" OK \
	"the next /64 is not"
keywardd_stop

# ---- one address cannot lock a user out ------------------------------------

keywardd_start
ok $? "keywardd with the default limits (10 per address, 20 per user)"
BOB=$(kw_user_dn bob@acme)
for i in $(seq 1 30); do
	auth bob@acme "wrong $i" 192.0.2.66 >/dev/null
done
is "$(wait_attr "$(addr_dn acme 192.0.2.66)" kwLockReason password)" \
	password "thirty guesses from one address lock the address"
# keywardd counts after it answers, so a guess can overtake the count of
# the one before: the address's limit holds to within the attempts in
# flight, and stays well below the user's limit of 20.
bob=$(wait_attr "$BOB" kwPasswordFailures 10)
[ "$bob" -ge 10 ] && [ "$bob" -lt 20 ]
ok $? "bob's counter stops near the address's limit of 10 ($bob), below 20"
is "$(attr_of "$BOB" kwLockedUntil)" "" "so bob is not locked"
is "$(auth bob@acme "$B_PW" 192.0.2.67)" OK \
	"and logs in from his own address"
keywardd_stop

# ---- exact counts from two hosts at once -----------------------------------

keywardd_start -o lockout.password_user_limit=1000 \
	-o lockout.password_address_limit=100000
ok $? "keywardd 1, limits out of reach"
SOCK2=$KW_TEST_DIR/kwd2.sock
"$KEYWARDD" -f -c "$KW_CONF" -o "keywardd.socket=$SOCK2" \
	-o lockout.password_user_limit=1000 \
	-o lockout.password_address_limit=100000 \
	2>>"$KW_TEST_DIR/keywardd2.log" &
PID2=$!
stop_second() {
	[ -n "${PID2:-}" ] && kill "$PID2" 2>/dev/null && wait "$PID2"
	PID2=
}
i=0
while [ $i -lt 200 ] &&
	[ "$("$KWCALL" -s "$SOCK2" ping 2>/dev/null | sed -n 1p)" != OK ]; do
	sleep 0.05
	i=$((i + 1))
done
is "$("$KWCALL" -s "$SOCK2" ping | sed -n 1p)" OK \
	"keywardd 2 on its own socket, the same directory"
DAVE=$(kw_user_dn dave@acme)
pids=
for i in $(seq 1 50); do
	auth dave@acme "wrong $i" 192.0.2.200 >/dev/null &
	pids="$pids $!"
	auth dave@acme "wrong $i" 192.0.2.201 "$SOCK2" >/dev/null &
	pids="$pids $!"
done
for p in $pids; do wait "$p"; done
is "$(wait_attr "$DAVE" kwPasswordFailures 100)" 100 \
	"2 hosts x 50 parallel wrong passwords: dave's counter is exactly 100"
is "$(wait_attr "$(addr_dn acme 192.0.2.200)" kwPasswordFailures 50)" 50 \
	"the first address counted exactly 50"
is "$(wait_attr "$(addr_dn acme 192.0.2.201)" kwPasswordFailures 50)" 50 \
	"the second exactly 50"
stop_second
keywardd_stop

# ---- logs ------------------------------------------------------------------

leaked=0
for pw in "$A_PW" "$B_PW" "$C_PW" "$D_PW" "$INIT_PW"; do
	grep -qF -- "$pw" "$KWD_LOG" "$KW_TEST_DIR/keywardd2.log" && leaked=1
done
ok $leaked "no password appears in either keywardd's log"
done_testing
