#!/bin/sh
# test_kwadm_isolation.sh - a tenant administrator reaches only their own
# tenant, through kwadm and through any LDAP tool; and connections refuse
# servers whose certificate does not verify.
#
#   alice  administrator of acme      bob  administrator of beta
#   carol  plain user of acme

: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/lib/slapd.sh"
. "$top_srcdir/tests/lib/keyward.sh"

kw_require_root
trap slapd_cleanup EXIT INT TERM HUP
kw_directory_start || { not_ok "directory ready"; done_testing; }

ACME=o=acme,$KW_TENANTS
BETA=o=beta,$KW_TENANTS
ALICE=uid=alice,ou=people,$ACME
A_PW='alice: a long and private one'
B_PW='bob: another long private one'
C_PW='carol: yet another long one'

# kw_make_user NAME@TENANT PASSWORD: add the user and let them change the
# initial password themselves (kwadm marks it for change), as people do.
kwadm tenant create acme >/dev/null && kwadm tenant create beta >/dev/null
ok $? "tenants acme and beta"
kw_make_user alice@acme "$A_PW" && kw_make_user bob@beta "$B_PW" &&
	kw_make_user carol@acme "$C_PW"
ok $? "users alice, bob, carol have their own passwords"
kwadm role grant admins@acme alice >/dev/null &&
	kwadm role grant admins@beta bob >/dev/null
ok $? "alice administers acme, bob administers beta"

APW=$(kw_password_file alice "$A_PW")
CPW=$(kw_password_file carol "$C_PW")
as_alice() {
	"$KWADM" -c "$KW_CONF" -U alice@acme --password-file "$APW" "$@"
}

tree() {
	as_root ldapsearch -LLL -o ldif-wrap=no -b "$KW_BASE" \
		'(objectClass=*)' '*' '+' 2>/dev/null |
		grep -v -e '^contextCSN' -e '^authTimestamp'
}

# ---- through kwadm ---------------------------------------------------------
out=$(as_alice user list acme 2>&1)
ok $? "alice lists acme's users"
like "$out" carol "and sees carol"
as_alice user add dave@acme >/dev/null 2>&1
ok $? "alice adds dave@acme"
as_alice role create ops@acme >/dev/null 2>&1
ok $? "alice creates a role in acme"
as_alice role grant ops@acme carol >/dev/null 2>&1
ok $? "alice grants it to carol"
as_alice user deactivate dave@acme >/dev/null 2>&1
is "$(attr_of "uid=dave,ou=people,$ACME" kwDeactivated)" TRUE \
	"alice deactivates dave"

before=$(tree)
out=$(as_alice user list beta 2>&1)
is "$?" 1 "alice cannot list beta's users"
out=$(as_alice user add eve@beta 2>&1)
is "$?" 1 "alice cannot add a user to beta"
out=$(as_alice user deactivate bob@beta 2>&1)
is "$?" 1 "alice cannot deactivate bob@beta"
out=$(as_alice user reset-password bob@beta --password-file "$APW" 2>&1)
is "$?" 1 "alice cannot reset bob's password"
out=$(as_alice role grant admins@beta bob 2>&1)
is "$?" 1 "alice cannot change beta's roles"
out=$(as_alice tenant suspend beta 2>&1)
is "$?" 1 "alice cannot suspend beta"
out=$(as_alice tenant suspend acme 2>&1)
is "$?" 1 "alice cannot suspend her own tenant (an operator's act)"
out=$(as_alice tenant create gamma 2>&1)
is "$?" 1 "alice cannot create tenants"
out=$(as_alice tenant delete beta --yes 2>&1)
is "$?" 1 "alice cannot delete beta"
[ "$before" = "$(tree)" ]
ok $? "none of that changed anything"

out=$(as_alice tenant list 2>&1)
case $out in *beta*) not_ok "alice's tenant list does not show beta" ;;
*) ok 0 "alice's tenant list does not show beta" ;; esac

out=$("$KWADM" -c "$KW_CONF" -U alice@acme --password-file "$CPW" user list acme 2>&1)
is "$?" 1 "a wrong administrator password is refused"
out=$("$KWADM" -c "$KW_CONF" -U carol@acme --password-file "$CPW" user add x@acme 2>&1)
is "$?" 1 "a plain user cannot add users"

# ---- through plain LDAP tools, as alice ------------------------------------
alice_ldap() {
	ldapsearch -LLL -o ldif-wrap=no -x -H "$SLAPD_LDAP" -D "$ALICE" -w "$A_PW" "$@"
}
out=$(alice_ldap -b "$BETA" '(objectClass=*)' 2>&1)
st=$?
[ "$st" = 32 ] && ! printf '%s' "$out" | grep -q '^dn:'
ok $? "ldapsearch as alice under beta finds nothing (status $st)"
out=$(alice_ldap -b "$KW_BASE" '(objectClass=*)' dn 2>/dev/null | grep '^dn:')
printf '%s\n' "$out" | grep -qv "$ACME\$"
[ $? = 1 ] && [ -n "$out" ]
ok $? "ldapsearch as alice over the whole tree sees only acme entries"
out=$(alice_ldap -b "$KW_BASE" '(uid=bob)' 2>/dev/null | grep -c '^dn:')
is "$out" 0 "alice cannot find bob by name"
ldapmodify -x -H "$SLAPD_LDAP" -D "$ALICE" -w "$A_PW" >/dev/null 2>&1 <<LDIF
dn: uid=bob,ou=people,$BETA
changetype: modify
replace: kwDeactivated
kwDeactivated: TRUE
LDIF
st=$?
[ "$st" != 0 ]
ok $? "ldapmodify as alice on bob is refused (status $st)"
is "$(attr_of "uid=bob,ou=people,$BETA" kwDeactivated)" FALSE "bob is untouched"
out=$(alice_ldap -b "uid=carol,ou=people,$ACME" -s base userPassword 2>/dev/null |
	grep -c '^userPassword')
is "$out" 0 "alice cannot read carol's password hash"

out=$(ldapsearch -LLL -x -H "$SLAPD_LDAP" -D "uid=carol,ou=people,$ACME" -w "$C_PW" \
	-b "$ACME" '(uid=alice)' dn 2>/dev/null | grep -c '^dn:')
is "$out" 0 "carol, a plain user, cannot look up other users"
out=$(ldapsearch -LLL -x -H "$SLAPD_LDAP" -b "$KW_BASE" '(objectClass=*)' dn 2>/dev/null |
	grep -c '^dn:')
is "$out" 0 "anonymous sees nothing"

# ---- a deactivated administrator loses the directory too ------------------
kwadm user deactivate alice@acme >/dev/null
out=$(as_alice user list acme 2>&1)
is "$?" 1 "a deactivated administrator cannot use kwadm"
ldapwhoami -x -H "$SLAPD_LDAP" -D "$ALICE" -w "$A_PW" >/dev/null 2>&1
is "$?" 49 "nor bind with any LDAP tool (ppolicy lock)"
kwadm user reactivate alice@acme >/dev/null
out=$(as_alice user list acme 2>&1)
ok $? "reactivated, alice administers acme again"

# ---- transport security ----------------------------------------------------
with_uri() {
	uri=$1 ca=$2
	shift 2
	"$KWADM" -c "$KW_CONF" -o "directory.uri=$uri" -o "directory.ca_file=$ca" \
		-U alice@acme --password-file "$APW" "$@"
}
out=$(with_uri "$SLAPD_LDAPS" "$SLAPD_CA" user list acme 2>&1)
ok $? "ldaps:// with the right CA works"
out=$(with_uri "$SLAPD_LDAPS" "$SLAPD_WRONG_CA" user list acme 2>&1)
is "$?" 1 "ldaps:// with a wrong CA is refused"
like "$out" "cannot reach|TLS|certificate|connect" "and the error says so"
out=$(with_uri "$SLAPD_LDAP" "$SLAPD_CA" user list acme 2>&1)
ok $? "ldap:// with StartTLS and the right CA works"
out=$(with_uri "$SLAPD_LDAP" "$SLAPD_WRONG_CA" user list acme 2>&1)
is "$?" 1 "StartTLS with a wrong CA is refused"
out=$("$KWADM" -c "$KW_CONF" -o "directory.uri=ldap://192.0.2.1" \
	-o directory.starttls=false -U alice@acme --password-file "$APW" \
	user list acme 2>&1)
is "$?" 1 "plain ldap:// to a non-loopback host is refused"
like "$out" "plain ldap://" "and the error says why"
out=$("$KWADM" -c "$KW_CONF" -o "directory.uri=ldapi://%2Ftmp%2Fkw-none,$SLAPD_LDAPS" \
	-U alice@acme --password-file "$APW" user list acme 2>&1)
ok $? "a dead first URI fails over to the next"

# A server that accepts connections and never answers (slapd stopped with
# SIGSTOP: the kernel still completes the TCP handshake) costs at most the
# operation timeout; `timeout` only guards the test against a hang.
kill -STOP "$SLAPD_PID"
out=$(timeout 30 "$KWADM" -c "$KW_CONF" -o "directory.uri=$SLAPD_LDAP" \
	-o directory.starttls=false -o directory.op_timeout_ms=300 \
	-o directory.connect_timeout_ms=300 \
	-U alice@acme --password-file "$APW" user list acme 2>&1)
st=$?
kill -CONT "$SLAPD_PID"
is "$st" 1 "a server that never answers: kwadm gives up (exit 1, not a hang)"
like "$out" "did not answer in time" "and says the directory did not answer"

done_testing
