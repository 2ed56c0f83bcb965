#!/bin/sh
# test_keywardd.sh - keywardd alone against a private slapd, driven through
# the test client kwcall: every outcome of AUTHENTICATE and ACCOUNT, the
# refusals that must look alike, names and passwords kept out of the log,
# a directory that goes away and comes back, SIGHUP, SIGTERM, malformed
# frames and parallel clients.
#
#   acme    alice (roles ops; dev granted and revoked), dave (deactivated),
#           erin (password marked for change), frank (deactivated live)
#   beta    alice (another person, another password)
#   gamma   carl, in a tenant that is suspended

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

kw_require_root
[ -x "$KEYWARDD" ] && [ -x "$KWCALL" ] ||
	skip_all "keywardd or kwcall not built"
trap keywardd_cleanup EXIT INT TERM HUP
kw_directory_start || { not_ok "directory ready"; done_testing; }

INIT_PW=$KW_INIT_PW
A_PW='alice: correct horse 42'
AB_PW='alice of beta: another 77'
D_PW='dave: deactivated but right'
C_PW='carl: suspended tenant 9'
F_PW='frank: soon deactivated 5'

# kw_make_user NAME@TENANT PASSWORD: add the user, who then changes the
# initial password (marked for change by kwadm) as themselves.
# auth USER PASSWORD [KWCALL ARGS...]: the whole reply.
auth() {
	u=$1 p=$2
	shift 2
	printf '%s' "$p" | kwcall auth -u "$u" "$@"
}
# first line only (the status)
auth_status() {
	auth "$@" | sed -n 1p
}
message_of() {
	printf '%s\n' "$1" | sed -n 's/^message: //p'
}
# the log line of request ID
log_of() {
	grep -F "req=$1 " "$KWD_LOG"
}

{
	kwadm tenant create acme && kwadm tenant create beta &&
		kwadm tenant create gamma &&
		kw_make_user alice@acme "$A_PW" && kw_make_user alice@beta "$AB_PW" &&
		kw_make_user dave@acme "$D_PW" && kw_make_user carl@gamma "$C_PW" &&
		kw_make_user frank@acme "$F_PW" &&
		kwadm user add erin@acme --password-file \
			"$(kw_password_file init "$INIT_PW")" &&
		kwadm role create ops@acme && kwadm role create dev@acme &&
		kwadm role grant ops@acme alice && kwadm role grant dev@acme alice &&
		kwadm role revoke dev@acme alice &&
		kwadm user deactivate dave@acme && kwadm tenant suspend gamma
} >"$KW_TEST_DIR/setup.out" 2>&1
ok $? "tenants, users and roles are in place"

# ---- start ---------------------------------------------------------------
keywardd_start $NO_LOCKOUT
ok $? "keywardd starts and answers a PING" || { done_testing; }
out=$(kwcall ping)
is "$(printf '%s' "$out" | sed -n 1p)|$(printf '%s' "$out" | sed -n 3p)" \
	"OK|user: " "PING is answered OK, with no user"
is "$(stat -c %a "$KWD_SOCKET")" 666 "the socket is mode 0666"
like "$(cat "$KWD_LOG")" "listening on $KWD_SOCKET" \
	"the log says where it listens"

# ---- AUTHENTICATE ----------------------------------------------------------
out=$(auth alice@acme "$A_PW" -i t-success -S sshd -r 192.0.2.7 -T pts/3)
is "$out" "OK
message: 
user: alice@acme" "the right password: OK with the canonical name"
line=$(log_of t-success)
like "$line" "tenant=acme user=alice service=sshd rhost=192.0.2.7 " \
	"the log line carries the request's context"
like "$line" \
	"AUTHENTICATE uid=0 pid=[0-9]+ tty=pts/3 outcome=success status=OK" \
	"and the peer's uid and pid, and the outcome"

out=$(auth alice@acme "wrong $A_PW" -i t-wrong)
is "$(printf '%s' "$out" | sed -n 1p)" DENIED "a wrong password is DENIED"
DENIED_MSG=$(message_of "$out")
[ -n "$DENIED_MSG" ]
ok $? "with a message: $DENIED_MSG"
like "$(log_of t-wrong)" "user=alice .*outcome=wrong_password" \
	"logged as wrong_password"

# refused IDs USER PASSWORD OUTCOME DESC: DENIED, the same words, and the
# log says OUTCOME
refused() {
	out=$(auth "$2" "$3" -i "$1")
	is "$(printf '%s' "$out" | sed -n 1p)|$(message_of "$out")" \
		"DENIED|$DENIED_MSG" "$5: DENIED with the same message"
	like "$(log_of "$1")" "outcome=$4 " "$5: logged as $4"
}
refused t-unknown nobody@acme "$A_PW" unknown_user "an unknown user"
refused t-notenant alice@nowhere "$A_PW" unknown_user "an unknown tenant"
refused t-deact dave@acme "$D_PW" deactivated \
	"a deactivated user with the right password"
refused t-susp carl@gamma "$C_PW" suspended \
	"a user of a suspended tenant with the right password"
refused t-empty alice@acme "" empty_password "an empty password"
refused t-cross alice@beta "$A_PW" wrong_password \
	"alice@acme's password for alice@beta"
is "$(auth_status alice@beta "$AB_PW")" OK "alice@beta's own password works"
refused t-nodefault alice "$A_PW" invalid_name \
	"a name without a tenant and no default tenant"
out=$(auth alice "$A_PW" -D acme)
is "$(printf '%s' "$out" | sed -n 1p) $(printf '%s' "$out" | sed -n 3p)" \
	"OK user: alice@acme" "the request's default tenant completes a plain name"

line=$(log_of t-unknown)
case $line in *nobody*) not_ok "an unknown name is not logged in clear" ;;
*) ok 0 "an unknown name is not logged in clear" ;; esac
like "$line" "name=#[0-9a-f]{16} " "but as a keyed hash"
like "$(log_of t-notenant)" "name=#[0-9a-f]{16} " \
	"an unknown tenant's name is hashed too"
hash_in() {
	log_of "$1" | sed 's/.*name=\(#[0-9a-f]*\).*/\1/'
}
auth nobody@acme x -i t-h1 >/dev/null
h1=$(hash_in t-h1)
h2=$(hash_in t-unknown)
is "$h1" "$h2" "the same unknown name gives the same hash"

# invalid names: each refused like the others and never in the log
LONG=$(printf 'a%.0s' $(seq 1 200))@acme
n=0
for name in 'al*ce@acme' 'al(ce)@acme' 'al\ce@acme' 'al,ce@acme' \
	'alice@acme@acme' 'Alice@acme' "$LONG" "$(printf 'al\377\376ce@acme')" \
	'alice@ac me' ')(uid=*)' '*'; do
	n=$((n + 1))
	out=$(auth "$name" "$A_PW" -i "t-inv$n")
	is "$(printf '%s' "$out" | sed -n 1p)|$(message_of "$out")" \
		"DENIED|$DENIED_MSG" "invalid name $n: DENIED with the same message"
	line=$(log_of "t-inv$n")
	like "$line" "outcome=invalid_name " "invalid name $n: logged as invalid_name"
	short=$(printf '%s' "$name" | cut -c1-20)
	if printf '%s' "$line" | sed 's/.*AUTHENTICATE//' | grep -qF -e "$short"; then
		not_ok "invalid name $n is not in the log in clear"
	else
		ok 0 "invalid name $n is not in the log in clear"
	fi
done
grep -q "$(printf '\377')" "$KWD_LOG"
is "$?" 1 "no raw non-ASCII byte reaches the log"

# timing: the refusals cost about the same; reported, not asserted
avg_ms() {
	start=$(date +%s%N)
	for _ in $(seq 1 50); do
		auth "$1" "$2" >/dev/null
	done
	echo $((($(date +%s%N) - start) / 50000))
}
diag "mean time per AUTHENTICATE (us, 50 calls, kwcall included):" \
	"  success $(avg_ms alice@acme "$A_PW")" \
	"  wrong password $(avg_ms alice@acme x)" \
	"  unknown user $(avg_ms nobody@acme "$A_PW")" \
	"  deactivated $(avg_ms dave@acme "$D_PW")" \
	"  invalid name $(avg_ms 'al*ce@acme' "$A_PW")" \
	"  empty password $(avg_ms alice@acme '')"

# deactivation takes effect at the next request
is "$(auth_status frank@acme "$F_PW")" OK "frank logs in"
kwadm user deactivate frank@acme >/dev/null
is "$(auth_status frank@acme "$F_PW")" DENIED \
	"deactivated, frank is refused at once"
is "$(kwd_status account -u frank@acme)" DENIED "and ACCOUNT refuses him"

# the password marked for change still authenticates; ACCOUNT asks for
# the change
is "$(auth_status erin@acme "$INIT_PW" -i t-erin)" OK \
	"a password marked for change authenticates"
like "$(log_of t-erin)" "must_change_password=yes" \
	"and the log says it must change"

# ---- ACCOUNT -------------------------------------------------------------
# account ID EXPECTED_STATUS OUTCOME DESC -- KWCALL ARGS
account() {
	id=$1 want=$2 outcome=$3 desc=$4
	shift 5
	out=$(kwcall account -i "$id" "$@")
	is "$(printf '%s' "$out" | sed -n 1p)" "$want" "ACCOUNT $desc: $want"
	like "$(log_of "$id")" "ACCOUNT .*outcome=$outcome " \
		"ACCOUNT $desc: logged as $outcome"
}
account a-ok OK success "of alice" -- -u alice@acme -S sshd
is "$(kwcall account -u alice@acme | sed -n 's/^user: //p')" alice@acme \
	"ACCOUNT answers the canonical name"
account a-deact DENIED deactivated "of a deactivated user" -- -u dave@acme
account a-susp DENIED suspended "in a suspended tenant" -- -u carl@gamma
account a-unknown DENIED unknown_user "of an unknown user" -- -u nobody@acme
account a-invalid DENIED invalid_name "of an invalid name" -- -u 'x*@acme'
account a-role OK success "with a role she holds" -- -u alice@acme -R ops
account a-roles OK success "with one of several roles" -- \
	-u alice@acme -R 'admins,nosuch,ops'
account a-revoked DENIED missing_role "with a revoked role" -- \
	-u alice@acme -R dev
account a-absent DENIED missing_role "with a role she never had" -- \
	-u alice@acme -R admins
account a-reset NEW_AUTHTOK_REQD must_change_password \
	"of a password marked for change" -- -u erin@acme
account a-default OK success "with the request's default tenant" -- \
	-u alice -D acme
out1=$(kwcall account -u dave@acme | sed -n 's/^message: //p')
out2=$(kwcall account -u nobody@acme | sed -n 's/^message: //p')
out3=$(kwcall account -u alice@acme -R admins | sed -n 's/^message: //p')
[ "$out1" = "$out2" ] && [ "$out2" = "$out3" ]
ok $? "ACCOUNT refusals share one message ($out1)"

# ---- malformed frames ----------------------------------------------------
ID=0123456789abcdef
frame() {
	printf "$1" >"$KW_TEST_DIR/frame.$2"
	echo "$KW_TEST_DIR/frame.$2"
}
raw() {
	kwcall -t 5000 raw "$@" | sed -n 1p
}
f=$(frame "\113\127\001\001\000\000\000\023\007\000\020$ID" ping)
is "$(raw "$f")" OK "a PING written by hand is answered"
f=$(frame "\113\127\001\001\000\000\000\027\007\000\020$ID\014\000\001x" tag)
is "$(raw "$f")" BAD_REQUEST "an unknown tag: BAD_REQUEST"
f=$(frame "\113\127\001\004\000\000\000\023\007\000\020$ID" type)
is "$(raw "$f")" BAD_REQUEST "a reserved type: BAD_REQUEST"
f=$(frame "\113\127\001\003\000\000\000\052\001\000\012alice@acme\003\000\002xx$(
	)\007\000\020$ID\002\000\002pw" pwacct)
is "$(raw "$f")" BAD_REQUEST "a password in an ACCOUNT request: BAD_REQUEST"
f=$(frame "hello, keywardd\n" magic)
is "$(raw "$f")" CLOSED "a wrong magic: closed without a reply"
f=$(frame "\113\127\002\001\000\000\000\023\007\000\020$ID" version)
is "$(raw "$f")" CLOSED "a wrong version: closed"
f=$(frame "\113\127\001\001\001\000\000\000" huge)
is "$(raw "$f")" CLOSED "a frame of 16 MiB announced: closed"
f=$(frame "\113\127\001\001\000\000\000\023\007\000" short)
is "$(raw --half-close "$f")" CLOSED "a truncated frame: closed"
f=$(frame "" empty)
is "$(raw --half-close "$f")" CLOSED "nothing at all: closed"
start=$(date +%s%N)
f=$(frame "\113\127\001" slow)
is "$(raw "$f")" CLOSED "a client that stops sending: closed"
ms=$((($(date +%s%N) - start) / 1000000))
[ "$ms" -ge 1500 ] && [ "$ms" -lt 4500 ]
ok $? "after the read deadline of about 2 s (took $ms ms)"
like "$(grep -c 'malformed request' "$KWD_LOG")" '^[3-9]$' \
	"malformed requests are logged"
is "$(kwd_status ping)" OK "keywardd still answers"

# ---- parallel clients ----------------------------------------------------
clients=
wait_clients() {
	for p in $clients; do
		wait "$p"
	done
	clients=
}
i=0
while [ $i -lt 50 ]; do
	if [ $((i % 2)) = 0 ]; then
		auth alice@acme "$A_PW" >"$KW_TEST_DIR/par.$i" 2>&1 &
	else
		auth alice@acme "bad $i" >"$KW_TEST_DIR/par.$i" 2>&1 &
	fi
	clients="$clients $!"
	i=$((i + 1))
done
wait_clients
right=0 i=0
while [ $i -lt 50 ]; do
	st=$(sed -n 1p "$KW_TEST_DIR/par.$i")
	if [ $((i % 2)) = 0 ] && [ "$st" = OK ]; then
		right=$((right + 1))
	elif [ $((i % 2)) = 1 ] && [ "$st" = DENIED ]; then
		right=$((right + 1))
	fi
	i=$((i + 1))
done
is "$right" 50 "50 parallel AUTHENTICATE requests all answered right"

# ---- the directory goes away and comes back --------------------------------
slapd_stop
start=$(date +%s%N)
is "$(auth_status alice@acme "$A_PW" -i t-down)" UNAVAILABLE \
	"slapd stopped: AUTHENTICATE answers UNAVAILABLE"
ms=$((($(date +%s%N) - start) / 1000000))
[ "$ms" -lt 3000 ]
ok $? "promptly ($ms ms)"
like "$(log_of t-down)" "outcome=unavailable status=UNAVAILABLE error=" \
	"logged as unavailable, with the reason"
is "$(kwd_status account -u alice@acme)" UNAVAILABLE \
	"ACCOUNT answers UNAVAILABLE"
is "$(auth_status 'al*ce@acme' "$A_PW")" DENIED \
	"an invalid name is still just DENIED"
is "$(kwd_status ping)" OK "PING still answers"
slapd_restart_same
ok $? "slapd starts again"
good=0
for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16; do
	[ "$(auth_status alice@acme "$A_PW")" = OK ] && good=$((good + 1))
done
is "$good" 16 "after it is back, logins work again without a restart"
keywardd_alive
ok $? "the same keywardd ($KWD_PID) answers"

# ---- SIGHUP ----------------------------------------------------------------
before=$(grep -c 'debug: .*PING uid=' "$KWD_LOG")
cp "$KW_CONF" "$KW_CONF.orig"
sed 's|^\tsocket = .*|&\n\tlog_level = "debug";|' "$KW_CONF.orig" >"$KW_CONF"
keywardd_reload
i=0
until grep -q 'configuration reloaded' "$KWD_LOG" || [ $i -ge 100 ]; do
	sleep 0.05
	i=$((i + 1))
done
like "$(grep 'configuration reloaded' "$KWD_LOG")" "log level debug" \
	"SIGHUP reads the configuration again"
kwd_status ping >/dev/null
after=$(grep -c 'debug: .*PING uid=' "$KWD_LOG")
[ "$after" -gt "$before" ]
ok $? "the new log level applies ($before -> $after debug lines)"

printf 'keywardd: { workers = "many"; };\n' >>"$KW_CONF"
# requests in flight while the configuration is read again
i=0
while [ $i -lt 10 ]; do
	auth alice@acme "$A_PW" >"$KW_TEST_DIR/hup.$i" 2>&1 &
	clients="$clients $!"
	i=$((i + 1))
done
keywardd_reload
wait_clients
i=0
until grep -q 'configuration not reloaded' "$KWD_LOG" || [ $i -ge 100 ]; do
	sleep 0.05
	i=$((i + 1))
done
like "$(grep 'configuration not reloaded' "$KWD_LOG")" \
	"keeping the previous one: .*keyward.conf" \
	"a broken configuration is refused, and the log says why"
is "$(cat "$KW_TEST_DIR"/hup.* | grep -c '^OK$')" 10 \
	"requests in flight during the reload are answered"
is "$(auth_status alice@acme "$A_PW")" OK "and keywardd goes on serving"

# ---- a directory that accepts and never answers ----------------------------
sed 's|^\tdb_max_size_mb = .*|&\n\top_timeout_ms = 1000;|' "$KW_CONF.orig" \
	>"$KW_CONF"
keywardd_reload
i=0
until [ "$(grep -c 'configuration reloaded' "$KWD_LOG")" = 2 ] ||
	[ $i -ge 100 ]; do
	sleep 0.05
	i=$((i + 1))
done
is "$(auth_status alice@acme "$A_PW")" OK "op_timeout_ms of 1 s in effect"
kill -STOP "$SLAPD_PID"
start=$(date +%s%N)
auth alice@acme "$A_PW" -i t-hung >"$KW_TEST_DIR/hung.out" 2>&1 &
hung=$!
sleep 0.2
is "$(kwd_status ping)" OK "while a request waits on a hung slapd, PING answers"
ms=$((($(date +%s%N) - start) / 1000000))
[ "$ms" -lt 1000 ]
ok $? "at once ($ms ms after the stuck request began)"
wait "$hung"
ms=$((($(date +%s%N) - start) / 1000000))
is "$(sed -n 1p "$KW_TEST_DIR/hung.out")" UNAVAILABLE \
	"the stuck request is answered UNAVAILABLE"
[ "$ms" -lt 4000 ]
ok $? "within the operation timeout, not the client's ($ms ms)"
kill -CONT "$SLAPD_PID"
good=0
for i in 1 2 3 4 5 6 7 8; do
	[ "$(auth_status alice@acme "$A_PW")" = OK ] && good=$((good + 1))
done
is "$good" 8 "once slapd answers again, so does every login"
cp "$KW_CONF.orig" "$KW_CONF"

# ---- one keywardd per socket; SIGTERM --------------------------------------
"$KEYWARDD" -f -c "$KW_CONF" 2>"$KW_TEST_DIR/second.log"
is "$?" 1 "a second keywardd on the same socket refuses to start"
like "$(cat "$KW_TEST_DIR/second.log")" "another keywardd answers" \
	"and says why"
is "$(kwd_status ping)" OK "the first one still answers"

keywardd_stop
is "$?" 0 "SIGTERM: keywardd exits 0"
[ ! -e "$KWD_SOCKET" ]
ok $? "and removes its socket"

# a socket left behind by a keywardd that died is replaced
"$KEYWARDD" -f -c "$KW_CONF" 2>>"$KWD_LOG" &
dead=$!
i=0
until [ -S "$KWD_SOCKET" ] || [ $i -ge 200 ]; do
	sleep 0.05
	i=$((i + 1))
done
kill -KILL "$dead"
wait "$dead" 2>/dev/null
[ -S "$KWD_SOCKET" ]
ok $? "a killed keywardd leaves its socket"
keywardd_start $NO_LOCKOUT -o "keywardd.socket=$KWD_SOCKET"
ok $? "a new keywardd replaces the stale socket"
like "$(cat "$KWD_LOG")" "removed the stale socket" "and says so"
keywardd_stop
is "$?" 0 "and stops cleanly"

# the socket's directory is made when missing
mkdir -p "$KW_TEST_DIR/sub"
"$KEYWARDD" -f -c "$KW_CONF" --socket "$KW_TEST_DIR/sub/run/k.sock" \
	2>>"$KWD_LOG" &
pid=$!
i=0
until [ -S "$KW_TEST_DIR/sub/run/k.sock" ] || [ $i -ge 200 ]; do
	sleep 0.05
	i=$((i + 1))
done
is "$(stat -c %a "$KW_TEST_DIR/sub/run" 2>&1)" 755 \
	"a missing socket directory is made, mode 0755"
kill -TERM "$pid"
wait "$pid"
is "$?" 0 "that keywardd stops with 0 too"

# ---- secrets ---------------------------------------------------------------
leaked=
for pw in "$INIT_PW" "$A_PW" "$AB_PW" "$D_PW" "$C_PW" "$F_PW" \
	"$(cat "$KW_SECRET")"; do
	grep -qF -e "$pw" "$KWD_LOG" && leaked="$leaked [$pw]"
done
is "$leaked" "" "no password and no bind secret appears in keywardd's log"
diag "keywardd logged $(grep -c ' outcome=' "$KWD_LOG") decisions" \
	"in $(grep -c 'listening on' "$KWD_LOG") runs"

done_testing
