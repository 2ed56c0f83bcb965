#!/bin/sh
# test_audit_log.sh - each tenant's audit log in the directory: records
# delivered onto the tenant's chain (tests/tools/kwauditput, as keywardd's
# service identity), read with every filter of `kwadm audit list` and
# with ldapsearch, kept from other tenants' administrators, verified,
# tampered with, purged, delivered by two writers at once and again
# after a crash, and followed (root; a private slapd).
#
#   alice  administrator of acme      carol  administrator of beta
#   bob    plain user of acme
#
# Records are dated in the past with kwauditput --time, so that the time
# filters and purges are tested without waiting; the only waits are
# bounded polls for what --follow prints.  KW_VALGRIND=1 runs kwadm and
# kwauditput under valgrind.
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/lib/slapd.sh"
. "$top_srcdir/tests/lib/keyward.sh"

PUT_BIN=$top_builddir/tests/tools/kwauditput
kw_require_root
[ -x "$PUT_BIN" ] || skip_all "kwauditput not built"
FOLLOW_PID=
stop_follow() {
	[ -n "$FOLLOW_PID" ] && kill -TERM "$FOLLOW_PID" 2>/dev/null
	FOLLOW_PID=
}
trap 'stop_follow; slapd_cleanup' EXIT INT TERM HUP
kw_directory_start || { not_ok "directory ready"; done_testing; }

A_PW='alice: audit test password 1'
B_PW='bob: audit test password 2'
C_PW='carol: audit test password 3'
T=$KW_TENANTS

put() {
	if [ "${KW_VALGRIND:-0}" = 1 ] && command -v valgrind >/dev/null; then
		valgrind -q --leak-check=full \
			--show-leak-kinds=definite,indirect \
			--errors-for-leak-kinds=definite,indirect \
			--error-exitcode=99 \
			--log-file="$KW_TEST_DIR/valgrind-put.%p" \
			"$PUT_BIN" -c "$KW_CONF" "$@"
	else
		"$PUT_BIN" -c "$KW_CONF" "$@"
	fi
}
# The seconds since the epoch of a UTC time.
at() {
	date -u -d "$1" +%s
}
# seqs ARGS...: the seqs that `kwadm --json audit list ARGS` prints.
seqs() {
	kwadm --json audit list "$@" 2>"$KW_TEST_DIR/seqs.err" |
		sed -n 's/^{"tenant":"[^"]*","seq":\([0-9]*\),.*/\1/p' |
		tr '\n' ' ' | sed 's/ $//'
}
# The JSON object of record SEQ of TENANT.
record_json() {
	kwadm --json audit list --tenant "$1" 2>/dev/null |
		grep "^{\"tenant\":\"$1\",\"seq\":$2,"
}
# The value of the JSON string member KEY in the object OBJ.
json_field() {
	printf '%s\n' "$1" | sed -n "s/.*\"$2\":\"\([^\"]*\)\".*/\1/p"
}
# fields OBJ KEY...: those members of OBJ, joined by '|'.
fields() {
	obj=$1
	shift
	sep=
	for k in "$@"; do
		printf '%s%s' "$sep" "$(json_field "$obj" "$k")"
		sep='|'
	done
}
# attrs DN ATTR...: those attributes of DN (as root), joined by '|'.
attrs() {
	dn=$1
	shift
	sep=
	for a in "$@"; do
		printf '%s%s' "$sep" "$(attr_of "$dn" "$a")"
		sep='|'
	done
}
# modify_attr DN ATTR VALUE: replace ATTR of DN as root.
modify_attr() {
	printf 'dn: %s\nchangetype: modify\nreplace: %s\n%s: %s\n' \
		"$1" "$2" "$2" "$3" | as_root ldapmodify >/dev/null 2>&1
}
record_dn() {
	echo "kwEventSeq=$2,ou=audit,o=$1,$T"
}
events() {
	count_entries "ou=audit,o=$1,$T" '(objectClass=kwAuditEvent)'
}
ldap_as() {
	ldapsearch -LLL -o ldif-wrap=no -x -H "$SLAPD_LDAP" -D "$1" -w "$2" \
		-b "$3" "${4:-(objectClass=*)}" dn
}

{
	kwadm tenant create acme && kwadm tenant create beta &&
		kw_make_user alice@acme "$A_PW" &&
		kw_make_user bob@acme "$B_PW" &&
		kw_make_user carol@beta "$C_PW" &&
		kwadm role grant admins@acme alice &&
		kwadm role grant admins@beta carol
} >"$KW_TEST_DIR/setup.out" 2>&1
ok $? "tenants acme and beta; alice administers acme, carol beta"
APW=$(kw_password_file alice "$A_PW")
CPW=$(kw_password_file carol "$C_PW")
as_alice() {
	"$KWADM" -c "$KW_CONF" -U alice@acme --password-file "$APW" "$@"
}
as_carol() {
	"$KWADM" -c "$KW_CONF" -U carol@beta --password-file "$CPW" "$@"
}
HOST=$(hostname)

# ---- delivery --------------------------------------------------------------

D1=$(at 2025-01-01T10:00:00Z)
D2=$(at 2025-01-02T10:00:00Z)
D3=$(at 2025-01-03T10:00:00Z)
{
	put -t acme -n 3 -u alice -s sshd -R 192.0.2.1 --time "$D1" &&
		put -t acme -n 2 -u bob -o fail -s sshd -R 198.51.100.7 \
			--time "$D2" &&
		put -t acme -H alcie -o fail -r unknown_user -s web \
			--time "$D3" &&
		put -t acme -u alice -s web -k account -i req-42 -T pts/3 &&
		put -t acme -u bob -o fail -r wrong_code -s sshd -k totp &&
		put -t beta -n 2 -u carol -s sshd
} >"$KW_TEST_DIR/put.out" 2>&1
ok $? "kwauditput delivers 8 records to acme and 2 to beta"
is "$(cut -d' ' -f1 "$KW_TEST_DIR/put.out" | tr '\n' ' ')" \
	"1 2 3 4 5 6 7 8 1 2 " "each tenant's records take seqs 1, 2, ..."
is "$(events acme):$(events beta)" 8:2 \
	"ldapsearch: 8 entries in acme's log, 2 in beta's"

# ---- the entries, as ldapsearch shows them ---------------------------------

E7=$(record_dn acme 7)
is "$(attrs "$E7" kwUserName kwService kwEventKind kwOutcome kwReason \
	kwRequestId kwTty kwEventHost kwEventSeq)" \
	"alice|web|account|success|success|req-42|pts/3|$HOST|7" \
	"record 7: user, service, kind, outcome, reason, request, tty, host"
like "$(attr_of "$E7" kwEventTime)" '^20[0-9]{12}\.[0-9]{6}Z$' \
	"kwEventTime has the microseconds"
like "$(attr_of "$E7" kwEventId)" '^[0-9a-f]{16}-[0-9a-f]{16}$' "kwEventId"
is "$(attr_of "$E7" kwChainPrev)" \
	"$(attr_of "$(record_dn acme 6)" kwChainHash)" \
	"kwChainPrev of record 7 is kwChainHash of record 6"
like "$(attr_of "$E7" kwChainHash)" '^[0-9a-f]{64}$' \
	"kwChainHash: 64 hex digits"
is "$(attr_of "$E7" kwRemoteHost)|$(attrs "$(record_dn acme 1)" kwChainPrev)" \
	"|" "empty fields are absent: no rhost on 7, no kwChainPrev on 1"
E6=$(record_dn acme 6)
like "$(attr_of "$E6" kwUserHash)" '^h:[0-9a-f]{32}$' \
	"an unresolved name is stored as its hash"
is "$(attr_of "$E6" kwUserName)" "" "and not in clear"
as_root ldapsearch -LLL -o ldif-wrap=no -b "ou=audit,o=acme,$T" \
	'(objectClass=*)' '*' >"$KW_TEST_DIR/acme.ldif" 2>&1
grep -q alcie "$KW_TEST_DIR/acme.ldif"
is $? 1 "the typed name appears nowhere in the log"
is "$(attr_of "$(record_dn acme 1)" kwEventTime)" "20250101100000.000000Z" \
	"the time given is stored exactly"

# ---- kwadm audit list: every filter ----------------------------------------

is "$(seqs --tenant acme)" "1 2 3 4 5 6 7 8" \
	"all of acme's records, in seq order"
is "$(seqs --tenant beta)" "1 2" "beta's records"
is "$(seqs --tenant acme --user alice)" "1 2 3 7" "--user alice"
is "$(seqs --tenant acme --user bob@acme)" "4 5 8" "--user bob@acme"
HASH=$(json_field "$(record_json acme 6)" user_hash)
is "$(seqs --tenant acme --user "$HASH")" 6 "--user with the name hash"
is "$(seqs --tenant acme --outcome fail)" "4 5 6 8" "--outcome fail"
is "$(seqs --tenant acme --outcome success)" "1 2 3 7" "--outcome success"
is "$(seqs --tenant acme --since 2025-01-02 --until 2025-01-03)" "4 5" \
	"--since and --until (days)"
is "$(seqs --tenant acme --since 2025-01-02T10:00:00Z)" "4 5 6 7 8" \
	"--since is inclusive"
is "$(seqs --tenant acme --until 2025-01-02T10:00:00Z)" "1 2 3" \
	"--until is exclusive"
is "$(seqs --tenant acme --since -1h)" "7 8" "--since -1h"
is "$(seqs --tenant acme --until -1d)" "1 2 3 4 5 6" "--until -1d"
is "$(seqs --tenant acme --service web)" "6 7" "--service web"
is "$(seqs --tenant acme --kind totp)" 8 "--kind totp"
is "$(seqs --tenant acme --kind auth)" "1 2 3 4 5 6" "--kind auth"
is "$(seqs --tenant acme --limit 2)" "7 8" "--limit 2: the newest two"
is "$(seqs --tenant acme --user bob --outcome fail --service sshd \
	--kind auth --since 2025-01-01 --limit 5)" \
	"4 5" "filters together"
is "$(seqs --tenant acme --user nobody)" "" "a user without records: none"

J7=$(record_json acme 7)
is "$(fields "$J7" user service kind outcome reason request_id tty host \
	rhost)" \
	"alice|web|account|success|success|req-42|pts/3|$HOST|" \
	"--json: every field of record 7"
is "$(json_field "$J7" mac)|$(json_field "$J7" id)" \
	"$(attr_of "$E7" kwChainHash)|$(attr_of "$E7" kwEventId)" \
	"--json: its MAC and id are the entry's"
like "$J7" '"time":"20[0-9-]+T[0-9:]+\.[0-9]{6}Z","time_us":[0-9]+,' \
	"--json: the time to the microsecond"
J4=$(record_json acme 4)
is "$(fields "$J4" user rhost reason time)" \
	"bob|198.51.100.7|wrong_password|2025-01-02T10:00:00.000000Z" \
	"--json: record 4"
is "$(kwadm --json audit list --tenant acme | wc -l)" 8 \
	"--json: one line per record"

out=$(kwadm audit list --tenant acme --outcome fail --kind auth)
is "$(printf '%s\n' "$out" | sed -n 1p | tr -s ' ')" \
	"TIME SEQ KIND OUTCOME REASON USER SERVICE RHOST HOST REQUEST ID" \
	"the table's header"
is "$(printf '%s\n' "$out" | sed -n 2p | tr -s ' ')" \
	"2025-01-02T10:00:00Z 4 auth fail wrong_password bob sshd 198.51.100.7 \
$HOST -" \
	"a row: time to the second, seq, kind, outcome, reason, user, ..."
is "$(printf '%s\n' "$out" | sed -n 4p | tr -s ' ')" \
	"2025-01-03T10:00:00Z 6 auth fail unknown_user $HASH web - $HOST -" \
	"an unresolved name shows as its hash"
is "$(printf '%s\n' "$out" | wc -l)" 4 "a header and three rows"

kwadm audit list >"$KW_TEST_DIR/noten.out" 2>&1
is $? 2 "as root, --tenant is required"
kwadm audit list --tenant acme --outcome maybe >/dev/null 2>&1
is $? 2 "--outcome maybe is a usage error"
kwadm audit list --tenant acme --since yesterday >/dev/null 2>&1
is $? 2 "an unreadable TIME is a usage error"
kwadm audit list --tenant acme --since 2025-02-30 >/dev/null 2>&1
is $? 2 "a date that does not exist is a usage error"
kwadm audit list --tenant acme --limit 0 >/dev/null 2>&1
is $? 2 "--limit 0 is a usage error"
out=$(kwadm audit list --tenant nosuch 2>&1)
is "$?|$out" "1|kwadm: no such tenant 'nosuch'" "an unknown tenant"

# ---- isolation -------------------------------------------------------------

CAROL_DN=$(kw_user_dn carol@beta)
ALICE_DN=$(kw_user_dn alice@acme)
out=$(ldap_as "$CAROL_DN" "$C_PW" "ou=audit,o=acme,$T" 2>&1)
st=$?
[ "$st" = 32 ] && ! printf '%s' "$out" | grep -q '^dn:'
ok $? "ldapsearch as beta's admin under acme's ou=audit finds nothing ($st)"
out=$(ldap_as "$CAROL_DN" "$C_PW" "$KW_BASE" '(objectClass=kwAuditEvent)' \
	2>/dev/null | grep -c '^dn:.*o=acme,')
is "$out" 0 "nor does a search of the whole tree"
out=$(ldap_as "$CAROL_DN" "$C_PW" "ou=audit,o=beta,$T" \
	'(objectClass=kwAuditEvent)' 2>/dev/null | grep -c '^dn:')
is "$out" 2 "beta's admin reads beta's log with ldapsearch"
out=$(ldap_as "$ALICE_DN" "$A_PW" "ou=audit,o=acme,$T" \
	'(objectClass=kwAuditEvent)' 2>/dev/null | grep -c '^dn:')
is "$out" 8 "acme's admin reads acme's log with ldapsearch"
ldapmodify -x -H "$SLAPD_LDAP" -D "$ALICE_DN" -w "$A_PW" >/dev/null 2>&1 <<LDIF
dn: $(record_dn acme 4)
changetype: modify
replace: kwOutcome
kwOutcome: success
LDIF
is $? 50 "acme's admin cannot change a record"
ldapdelete -x -H "$SLAPD_LDAP" -D "$ALICE_DN" -w "$A_PW" \
	"$(record_dn acme 4)" >/dev/null 2>&1
is $? 50 "nor delete one"

out=$(as_carol audit list --tenant acme 2>&1)
is "$?" 1 "kwadm -U carol@beta audit list --tenant acme is refused"
like "$out" "may read only that tenant's audit log" "and says why"
out=$("$KWADM" -c "$KW_CONF" -o "directory.uri=ldapi://%2Fnonexistent" \
	-U carol@beta --password-file /nonexistent \
	audit list --tenant acme 2>&1)
like "$out" "may read only" "refused before the directory is asked"
out=$(as_carol --json audit list 2>&1)
is "$(printf '%s\n' "$out" | wc -l)" 2 "carol reads beta's log by default"
like "$out" '"tenant":"beta"' "and it is beta's"
is "$(as_alice --json audit list --tenant acme | wc -l)" 8 \
	"alice reads acme's log"
is "$(as_alice --json audit list --user bob --outcome fail | wc -l)" 3 \
	"with filters, her tenant by default"
as_alice audit verify --tenant acme >"$KW_TEST_DIR/av.out" 2>&1
is $? 1 "a tenant admin cannot verify (the keys are root's)"
like "$(cat "$KW_TEST_DIR/av.out")" "needs root" "and is told why"
as_alice audit purge --tenant acme --before 2025-06-01 --yes \
	>"$KW_TEST_DIR/ap.out" 2>&1
is $? 1 "nor purge"
is "$(events acme)" 8 "nothing was purged"

# ---- verify ----------------------------------------------------------------

out=$(kwadm audit verify --tenant acme)
is "$?|$out" "0|acme: 8 records intact (seq 1..8)" "verify: acme intact"
out=$(kwadm audit verify --all)
is "$?|$out" "0|acme: 8 records intact (seq 1..8)
beta: 2 records intact (seq 1..2)" "verify --all"
like "$(kwadm --json audit verify --tenant beta)" \
	'^\{"tenant":"beta","intact":true,"fault":"intact",.*"records":2,' \
	"verify --json"

# A record removed (a fresh tenant for each kind of tampering).
kwadm tenant create t-del >/dev/null 2>&1 &&
	put -t t-del -n 5 --time "$D1" >/dev/null
ok $? "t-del: 5 records"
as_root ldapdelete "$(record_dn t-del 3)" >/dev/null 2>&1
ok $? "root deletes record 3 with ldapdelete"
out=$(kwadm audit verify --tenant t-del)
is "$?|$out" "1|t-del: record 3 removed" "verify reports record 3 removed"
out=$(kwadm audit verify --all)
is "$?" 1 "verify --all fails when one tenant does"
like "$out" "acme: 8 records intact" "and still reports the others"
out=$(kwadm audit purge --tenant t-del --before 2025-06-01 --yes 2>&1)
is "$?" 1 "a purge that would pass the removed record is refused"
like "$out" "record 3 of 't-del' was removed" "and says where"
is "$(events t-del)" 4 "and deletes nothing"

# A record altered.
kwadm tenant create t-alt >/dev/null 2>&1 &&
	put -t t-alt -n 5 --time "$D1" >/dev/null
ok $? "t-alt: 5 records"
modify_attr "$(record_dn t-alt 2)" kwReason wrong_password
ok $? "root rewrites record 2's kwReason with ldapmodify"
out=$(kwadm audit verify --tenant t-alt)
is "$?|$out" "1|t-alt: record 2 altered" "verify reports record 2 altered"
out=$(kwadm audit purge --tenant t-alt --before 2025-06-01 --yes 2>&1)
is "$?" 1 "the purge of a chain that does not verify is refused"
like "$out" "does not verify .*altered at seq 2" "and says why"
is "$(events t-alt)|$(attr_of "ou=audit,o=t-alt,$T" kwAuditAnchor)" "5|" \
	"nothing deleted, no anchor stored"

# A record that no longer reads as one.
kwadm tenant create t-bad >/dev/null 2>&1 &&
	put -t t-bad -n 3 >/dev/null
ok $? "t-bad: 3 records"
modify_attr "$(record_dn t-bad 2)" kwReason "Not A Reason"
out=$(kwadm audit verify --tenant t-bad)
is "$?|$out" "1|t-bad: record 2 malformed (it does not read as a record)" \
	"verify reports a record that does not convert as malformed"
is "$(seqs --tenant t-bad)" "1 3" "list leaves it out"
like "$(cat "$KW_TEST_DIR/seqs.err")" \
	"1 entry of 't-bad''s audit log does not read" \
	"and says so"
printf 'dn: cn=junk,ou=audit,o=t-bad,%s\nobjectClass: %s\ncn: junk\n' \
	"$T" organizationalRole | as_root ldapadd >/dev/null 2>&1
modify_attr "$(record_dn t-bad 2)" kwReason success
out=$(kwadm audit verify --tenant t-bad)
is "$?|$out" "1|t-bad: 1 entry below ou=audit is not a record" \
	"an entry that is no record in the log is reported"

# ---- purge -----------------------------------------------------------------

kwadm audit purge --tenant acme --before 2025-06-01 </dev/null \
	>"$KW_TEST_DIR/noyes.out" 2>&1
is $? 1 "purge without --yes and without a terminal is refused"
kwadm -o audit.retention_days=0 audit purge --tenant acme --yes \
	>"$KW_TEST_DIR/keep.out" 2>&1
is $? 1 "with audit.retention_days = 0, purge needs --before"
like "$(cat "$KW_TEST_DIR/keep.out")" "retention_days is 0" "and says so"
out=$(kwadm -o audit.retention_days=3650 audit purge --tenant acme --yes)
DAY=$(date -u -d '-3650 days' +%Y-%m-%d)
like "$?|$out|$(events acme)" \
	"^0\\|acme: 0 records purged \\(older than ${DAY}T[0-9:]{8}Z\\)\\|8\$" \
	"without --before, audit.retention_days before now: nothing that old"
M5=$(attr_of "$(record_dn acme 5)" kwChainHash)
as_root ldapsearch -LLL -o ldif-wrap=no -b "$(record_dn acme 3)" -s base \
	'(objectClass=*)' '*' >"$KW_TEST_DIR/rec3.ldif" 2>/dev/null
out=$(kwadm audit purge --tenant acme --before 2025-01-02T12:00:00Z --yes)
is "$?|$out" "0|acme: 5 records purged (older than 2025-01-02T12:00:00Z)" \
	"purge --before with records on both sides"
like "$(attr_of "ou=audit,o=acme,$T" kwAuditAnchor)" \
	"^5 $M5 [0-9a-f]{64}\$" \
	"the anchor of record 5 is stored on ou=audit"
is "$(seqs --tenant acme)" "6 7 8" "the older records are gone"
out=$(kwadm audit verify --tenant acme)
is "$?|$out" "0|acme: 3 records intact (seq 6..8)" "and the log still verifies"
put -t acme -u alice >/dev/null
is "$(seqs --tenant acme)" "6 7 8 9" "a new record chains on at seq 9"
out=$(kwadm audit verify --tenant acme)
is "$?|$out" "0|acme: 4 records intact (seq 6..9)" "intact"
out=$(kwadm audit purge --tenant acme --before 2025-01-02T12:00:00Z --yes)
is "$out" "acme: 0 records purged (older than 2025-01-02T12:00:00Z)" \
	"purging again finds nothing"
# A purge cut short leaves records at or below the anchor: put one back.
as_root ldapadd <"$KW_TEST_DIR/rec3.ldif" >/dev/null 2>&1
ok $? "root puts purged record 3 back, as a purge cut short leaves it"
out=$(kwadm audit verify --tenant acme)
is "$?|$out" "0|acme: 4 records intact (seq 6..9)" \
	"a leftover below the anchor does not break the log"
out=$(kwadm --json audit purge --tenant acme --before 2025-01-02T12:00:00Z \
	--yes)
is "$out" '{"tenant":"acme","purged":1,"before":"2025-01-02T12:00:00Z"}' \
	"the next purge finishes it"
out=$(kwadm audit purge --tenant acme --before 2025-01-04 --yes)
is "$out" "acme: 1 record purged (older than 2025-01-04T00:00:00Z)" \
	"purge the next day's record"
like "$(attr_of "ou=audit,o=acme,$T" kwAuditAnchor | sort -n | tr '\n' ' ')" \
	'^5 [0-9a-f]{64} [0-9a-f]{64} 6 [0-9a-f]{64} [0-9a-f]{64} $' \
	"each purge adds its anchor"
out=$(kwadm audit verify --tenant acme)
is "$?|$out" "0|acme: 3 records intact (seq 7..9)" "the latest anchor counts"

# ---- two writers at once ---------------------------------------------------

kwadm tenant create conc >/dev/null 2>&1
put -t conc -n 100 -u alice >"$KW_TEST_DIR/conc1.out" 2>&1 &
p1=$!
put -t conc -n 100 -u bob >"$KW_TEST_DIR/conc2.out" 2>&1 &
p2=$!
wait $p1
s1=$?
wait $p2
s2=$?
is "$s1:$s2" 0:0 "two kwauditput deliver 100 records each at the same time"
is "$(events conc)" 200 "200 records"
is "$(seqs --tenant conc | tr ' ' '\n' | sort -n | tr '\n' ' ')" \
	"$(seq 1 200 | tr '\n' ' ')" "seqs 1..200, without a gap"
is "$(seqs --tenant conc --user alice | wc -w | tr -d ' '):$(seqs \
	--tenant conc --user bob | wc -w | tr -d ' ')" \
	100:100 "100 of each"
out=$(kwadm audit verify --tenant conc)
is "$?|$out" "0|conc: 200 records intact (seq 1..200)" "and the chain is intact"

# ---- delivered again after a crash -----------------------------------------

kwadm tenant create redo >/dev/null 2>&1
out1=$(put -t redo --id crash-1 -u alice)
out2=$(put -t redo --id crash-1 -u alice)
is "$out1|$out2" "1 crash-1|1 crash-1" \
	"the same id delivered twice (check_id) is found the second time"
is "$(events redo)" 1 "one record"
is "$(put -t redo -u alice | cut -d' ' -f1)" 2 "the next record is seq 2"
out=$(kwadm audit verify --tenant redo)
is "$?|$out" "0|redo: 2 records intact (seq 1..2)" "intact"

# ---- --follow ------------------------------------------------------------

FOLLOW_OUT=$KW_TEST_DIR/follow.out
"$KWADM" -c "$KW_CONF" --json audit list --tenant beta --follow \
	>"$FOLLOW_OUT" 2>"$KW_TEST_DIR/follow.err" &
FOLLOW_PID=$!
# wait_lines N: poll (at most 20 s) until the follower printed N lines.
wait_lines() {
	i=0
	while [ $i -lt 400 ]; do
		[ "$(wc -l <"$FOLLOW_OUT")" -ge "$1" ] && break
		sleep 0.05
		i=$((i + 1))
	done
	wc -l <"$FOLLOW_OUT" | tr -d ' '
}
is "$(wait_lines 2)" 2 "--follow prints beta's two records first"
put -t beta -n 3 -u carol -s login >/dev/null
is "$(wait_lines 5)" 5 "then the three delivered while it runs"
is "$(sed -n 's/^{"tenant":"beta","seq":\([0-9]*\),.*/\1/p' "$FOLLOW_OUT" |
	tr '\n' ' ')" "1 2 3 4 5 " "in seq order, each once"
like "$(sed -n 5p "$FOLLOW_OUT")" '"service":"login"' "with their fields"
kill -TERM "$FOLLOW_PID"
wait "$FOLLOW_PID"
is $? 0 "SIGTERM ends --follow with exit status 0"
FOLLOW_PID=
is "$(cat "$KW_TEST_DIR/follow.err")" "" "and nothing on stderr"

# ---- valgrind --------------------------------------------------------------

if [ "${KW_VALGRIND:-0}" = 1 ] && command -v valgrind >/dev/null; then
	runs=$(ls "$KW_TEST_DIR" | grep -c '^valgrind')
	bad=$(cat "$KW_TEST_DIR"/valgrind.* "$KW_TEST_DIR"/valgrind-put.* \
		2>/dev/null | grep -c '==[0-9]*==')
	is "$bad" 0 "valgrind found nothing in $runs runs of kwadm and kwauditput"
fi

done_testing
