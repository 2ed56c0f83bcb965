#!/bin/sh
# test_kwadm_tenants.sh - tenants, users and roles through kwadm, each
# result checked independently with ldapsearch as root.  Bad input must
# give a clear error and change nothing: the whole tree is compared before
# and after each refused command.

: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/lib/slapd.sh"
. "$top_srcdir/tests/lib/keyward.sh"

kw_require_root
trap slapd_cleanup EXIT INT TERM HUP
kw_directory_start || { not_ok "directory ready"; done_testing; }

tree() {
	as_root ldapsearch -LLL -o ldif-wrap=no -b "$KW_BASE" \
		'(objectClass=*)' '*' '+' 2>/dev/null |
		grep -v -e '^contextCSN' -e '^authTimestamp'
}

# refused EXPECTED_STATUS MESSAGE_ERE DESC -- kwadm ARGS...
refused() {
	want=$1 re=$2 desc=$3
	shift 4
	before=$(tree)
	out=$(kwadm "$@" 2>&1)
	st=$?
	is "$st" "$want" "$desc: exit $want"
	like "$out" "$re" "$desc: says why"
	after=$(tree)
	if [ "$before" = "$after" ]; then
		ok 0 "$desc: changes nothing"
	else
		not_ok "$desc: changes nothing"
	fi
}

ACME=o=acme,$KW_TENANTS
BETA=o=beta,$KW_TENANTS

# ---- tenants ---------------------------------------------------------------
kwadm tenant create acme --display-name "Acme Inc." >/dev/null
ok $? "tenant create acme"
is "$(count_entries "$ACME")" 4 "acme has its entry, ou=people, ou=roles, cn=admins"
is "$(attr_of "$ACME" description)" "Acme Inc." "display name stored"
is "$(attr_of "$ACME" kwSuspended)" FALSE "a new tenant is active"
kwadm tenant create beta >/dev/null
ok $? "tenant create beta"
abase=$(attr_of "$ACME" kwUidBase)
bbase=$(attr_of "$BETA" kwUidBase)
acount=$(attr_of "$ACME" kwUidCount)
[ -n "$abase" ] && [ -n "$bbase" ] && [ -n "$acount" ] &&
	{ [ $((abase + acount)) -le "$bbase" ] ||
		[ $((bbase + acount)) -le "$abase" ]; }
ok $? "uid ranges of acme ($abase) and beta ($bbase) do not overlap"

refused 1 "exists already" "duplicate tenant" -- tenant create acme
for bad in Acme a_b acme- "a*" "a,b" "a b" \
	abcdefghijabcdefghijabcdefghijabc "$(printf 'a\001b')"; do
	refused 1 "not a valid tenant name" "bad tenant name '$bad'" -- \
		tenant create "$bad"
done
refused 1 "not a valid tenant name" "bad tenant name '-acme'" -- \
	tenant create -- -acme
refused 2 "." "tenant create without a name" -- tenant create
refused 1 "no such tenant" "show a missing tenant" -- tenant show gamma

out=$(kwadm tenant list)
ok $? "tenant list"
like "$out" "acme" "list shows acme"
like "$out" "beta" "list shows beta"
out=$(kwadm --json tenant list)
like "$out" '"name": *"acme"' "json list names acme"
out=$(kwadm --json tenant show acme)
like "$out" "\"uid_base\": *$abase" "json show gives the uid range"

kwadm tenant suspend beta >/dev/null
ok $? "tenant suspend beta"
is "$(attr_of "$BETA" kwSuspended)" TRUE "beta is suspended in the directory"
kwadm tenant resume beta >/dev/null
is "$(attr_of "$BETA" kwSuspended)" FALSE "tenant resume beta"

# ---- users -----------------------------------------------------------------
pw=$(kw_password_file alice 'correct horse battery staple')
kwadm user add alice@acme --display-name "Alice Liddell" \
	--password-file "$pw" >/dev/null
ok $? "user add alice@acme"
ALICE=uid=alice,ou=people,$ACME
auid=$(attr_of "$ALICE" uidNumber)
[ -n "$auid" ] && [ "$auid" -ge "$abase" ] && [ "$auid" -lt $((abase + acount)) ]
ok $? "alice's uidNumber $auid is in acme's range"
ldapwhoami -x -H "$SLAPD_LDAPI" -D "$ALICE" \
	-w 'correct horse battery staple' >/dev/null 2>&1
ok $? "alice binds with her password (ldapwhoami)"
hash=$(attr_of "$ALICE" userPassword)
like "$hash" '^[{]SSHA[}]' "the password is stored hashed ({SSHA})"

kwadm user add bob@beta --password-file "$pw" >/dev/null
ok $? "user add bob@beta"
buid=$(attr_of "uid=bob,ou=people,$BETA" uidNumber)
[ "$buid" -ge "$bbase" ] && [ "$buid" -lt $((bbase + acount)) ]
ok $? "bob's uidNumber $buid is in beta's range"
kwadm user add carol@acme >/dev/null
ok $? "user add carol@acme without a password"
is "$(attr_of "uid=carol,ou=people,$ACME" uidNumber)" $((auid + 1)) \
	"uids are handed out in order"

refused 1 "exists already" "duplicate user" -- user add alice@acme
for bad in Alice@acme "al ice@acme" "alice@Acme" "a*@acme" "x(y)@acme" \
	"a\\\\b@acme" "alice@@acme" "@acme" "alice@" \
	abcdefghijabcdefghijabcdefghijabc@acme; do
	refused 1 "not a valid|no tenant" "bad user name '$bad'" -- user add "$bad"
done
refused 1 "no such tenant" "user of a missing tenant" -- user add dave@gamma

kwadm user deactivate carol@acme >/dev/null
is "$(attr_of "uid=carol,ou=people,$ACME" kwDeactivated)" TRUE "user deactivate"
kwadm user reactivate carol@acme >/dev/null
is "$(attr_of "uid=carol,ou=people,$ACME" kwDeactivated)" FALSE "user reactivate"

pw2=$(kw_password_file carol 'new password for carol 1')
kwadm user reset-password carol@acme --password-file "$pw2" >/dev/null
ok $? "reset-password with a given password"
is "$(attr_of "uid=carol,ou=people,$ACME" pwdReset)" TRUE \
	"the reset password must be changed at next login (pwdReset)"
out=$(ldapsearch -x -H "$SLAPD_LDAPI" -D "uid=carol,ou=people,$ACME" \
	-w 'new password for carol 1' -b "$ACME" -s base 2>&1)
like "$out" "restricted|50" "after a reset carol can bind but do nothing else"
out=$(kwadm user reset-password carol@acme 2>&1)
ok $? "reset-password generating a password"
like "$out" "change" "the generated password is shown with a note to change it"

out=$(kwadm user show alice@acme)
like "$out" "$auid" "user show gives the uid"
out=$(kwadm --json user list acme)
like "$out" '"alice@acme"' "json user list names alice"
like "$out" '"carol@acme"' "json user list names carol"

# ---- roles -----------------------------------------------------------------
kwadm role create sales@acme --description "Sales team" >/dev/null
ok $? "role create sales@acme"
SALES=cn=sales,ou=roles,$ACME
kwadm role grant sales@acme alice >/dev/null
ok $? "role grant sales@acme alice"
is "$(attr_of "$SALES" member)" "$ALICE" "alice is the only member of sales"
refused 1 "already" "grant twice" -- role grant sales@acme alice
refused 1 "tenant|not" "grant a user of another tenant" -- role grant sales@acme bob@beta
refused 1 "no such user" "grant a missing user" -- role grant sales@acme zed
refused 1 "no such role" "grant a missing role" -- role grant ops@acme alice
refused 1 "exists already" "duplicate role" -- role create sales@acme
refused 1 "not a valid role" "bad role name" -- role create "Sales!@acme"
out=$(kwadm role members sales@acme)
like "$out" "alice@acme" "role members lists alice@acme"
kwadm role revoke sales@acme alice >/dev/null
ok $? "role revoke"
is "$(count_entries "$KW_BASE" "(member=$ALICE)")" 0 "alice is in no role now"
is "$(count_entries "$SALES")" 1 "the emptied role still exists"
refused 1 "does not have" "revoke a role the user does not have" -- \
	role revoke sales@acme alice
refused 1 "cannot be deleted" "the admins role cannot be deleted" -- \
	role delete admins@acme
kwadm role grant sales@acme carol >/dev/null
kwadm role delete sales@acme >/dev/null
ok $? "role delete"
is "$(count_entries "$ACME" '(cn=sales)')" 0 "the role is gone"

kwadm role grant admins@acme alice >/dev/null
kwadm user delete alice@acme >/dev/null
ok $? "user delete alice@acme"
is "$(count_entries "$ACME" '(uid=alice)')" 0 "alice's entry is gone"
is "$(count_entries "$KW_BASE" "(member=$ALICE)")" 0 "and she is in no role"
refused 1 "no such user" "delete a missing user" -- user delete alice@acme

# ---- tenant delete ----------------------------------------------------------
acme_before=$(as_root ldapsearch -LLL -o ldif-wrap=no -b "$ACME" \
	'(objectClass=*)' '*' '+' 2>/dev/null)
refused 1 "--yes|confirm" "delete without --yes and without a terminal" -- \
	tenant delete beta </dev/null
kwadm tenant delete beta --yes >/dev/null
ok $? "tenant delete beta"
is "$(count_entries "$BETA")" 0 "no entry of beta is left"
acme_after=$(as_root ldapsearch -LLL -o ldif-wrap=no -b "$ACME" \
	'(objectClass=*)' '*' '+' 2>/dev/null)
[ "$acme_before" = "$acme_after" ]
ok $? "acme is untouched by the deletion of beta"
is "$(count_entries "$KW_BASE" '(ou=tenants)')" 1 "the tenants' container stays"
refused 1 "no such tenant" "delete a missing tenant" -- tenant delete beta --yes

done_testing
