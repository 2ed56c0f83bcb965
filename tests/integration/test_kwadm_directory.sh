#!/bin/sh
# test_kwadm_directory.sh - `kwadm directory init` on an empty slapd, twice.
#
# The first run must build everything (modules, schema, database, base
# entries, service identity); the second must change nothing, which is
# checked by comparing every entry with its operational attributes
# (modifyTimestamp, entryCSN) before and after.

: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/lib/slapd.sh"
. "$top_srcdir/tests/lib/keyward.sh"

kw_require_root
trap slapd_cleanup EXIT INT TERM HUP
slapd_start || { not_ok "private slapd starts"; done_testing; }
kw_write_conf

snapshot() {
	{
		as_root ldapsearch -LLL -o ldif-wrap=no -b "$KW_BASE" \
			'(objectClass=*)' '*' '+'
		as_root ldapsearch -LLL -o ldif-wrap=no -b cn=config \
			'(|(olcDatabase=*)(objectClass=olcSchemaConfig)(objectClass=olcModuleList)(olcOverlay=*))' \
			'*' '+'
	} 2>/dev/null
}

out=$(kwadm directory init --schema "$top_srcdir/etc/ldap/keyward.ldif" \
	--templates "$top_srcdir/etc/ldap" 2>&1)
ok $? "directory init on an empty slapd succeeds"
diag "$out"

is "$(count_entries "$KW_BASE" '(ou=tenants)')" 1 "ou=tenants exists"
is "$(count_entries "cn=keywardd,ou=system,$KW_BASE")" 1 \
	"the service identity exists"
is "$(count_entries cn=schema,cn=config '(cn=*keyward)')" 1 \
	"keyward schema is loaded"
is "$(attr_of 'olcDatabase={1}mdb,cn=config' olcSuffix)" "$KW_BASE" \
	"the tenants' database serves $KW_BASE"
is "$(attr_of 'olcDatabase={1}mdb,cn=config' olcDbMaxSize)" \
	"$((64 * 1024 * 1024))" "database size limit from db_max_size_mb"
is "$(count_entries 'olcDatabase={1}mdb,cn=config' '(objectClass=olcPPolicyConfig)')" 1 \
	"the password policy overlay is on the database"

mode=$(stat -c '%a %u' "$KW_SECRET" 2>/dev/null)
is "$mode" "600 0" "the bind secret was generated, root-only"
ldapwhoami -x -H "$SLAPD_LDAPI" -D "cn=keywardd,ou=system,$KW_BASE" \
	-w "$(cat "$KW_SECRET")" >/dev/null 2>&1
ok $? "the service identity binds with the secret"
pwreset=$(attr_of "cn=keywardd,ou=system,$KW_BASE" pwdReset)
is "$pwreset" "" "the service password is not marked for change"

before=$(snapshot)
out=$(kwadm directory init --schema "$top_srcdir/etc/ldap/keyward.ldif" \
	--templates "$top_srcdir/etc/ldap" 2>&1)
ok $? "a second directory init succeeds"
after=$(snapshot)
if [ "$before" = "$after" ]; then
	ok 0 "the second init changed nothing (entries and timestamps)"
else
	not_ok "the second init changed nothing (entries and timestamps)"
	diag "$(printf '%s\n' "$before" >"$KW_TEST_DIR/a";
		printf '%s\n' "$after" >"$KW_TEST_DIR/b";
		diff "$KW_TEST_DIR/a" "$KW_TEST_DIR/b" | head -20)"
fi

# A secret file that others may read is refused, and nothing changes.
chmod 0644 "$KW_SECRET"
before=$(snapshot)
out=$(kwadm directory init --schema "$top_srcdir/etc/ldap/keyward.ldif" \
	--templates "$top_srcdir/etc/ldap" 2>&1)
is "$?" 1 "init refuses a bind secret readable by others"
like "$out" "$KW_SECRET.*(group|others)" "the error names the file and why"
is "$(snapshot)" "$before" "and changes nothing"
chmod 0600 "$KW_SECRET"

# A directory that does not answer.
out=$("$KWADM" -c "$KW_CONF" -o "directory.admin_uri=ldapi://%2Ftmp%2Fkw-none" \
	directory init --schema "$top_srcdir/etc/ldap/keyward.ldif" \
	--templates "$top_srcdir/etc/ldap" 2>&1)
is "$?" 1 "init against a missing directory exits 1"
like "$out" "cannot reach the directory" "and says the directory is unreachable"

# A schema file that is not there.
out=$(kwadm directory init --schema /nonexistent/keyward.ldif \
	--templates "$top_srcdir/etc/ldap" 2>&1)
is "$?" 1 "init with a missing schema file exits 1"
like "$out" "/nonexistent/keyward.ldif" "and names the file"

done_testing
