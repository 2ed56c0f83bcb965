#!/bin/sh
# test_acl.sh - the schema and the access rules of the tenants' database.
#
# Starts a private slapd, applies etc/ldap/keyward.ldif and the two
# templates by hand (ldapadd over ldapi://, placeholders replaced with
# sed), builds two tenants, acme and beta, and checks what each identity
# may and may not do, with the exact LDAP result codes:
#
#   alice  administrator of acme     carol  plain user of acme
#   bob    administrator of beta     svc    keywardd's service identity
#   anon   anonymous
#
# A code of 32 (no such object) where access is refused means the rules
# disclose nothing: the entry looks as if it did not exist.

: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/lib/slapd.sh"

for prog in ldapadd ldapmodify ldapsearch ldappasswd slaptest; do
	command -v "$prog" >/dev/null 2>&1 ||
		[ -x "/usr/sbin/$prog" ] || skip_all "$prog not found"
done
[ -x "$SLAPD" ] || skip_all "slapd not found"

SCHEMA_DIR=${KW_SLAPD_SCHEMA_DIR:-/etc/ldap/schema}
LDAP_DIR=$top_srcdir/etc/ldap
BASE=o=keyward
T=ou=tenants,$BASE
SVC=cn=keywardd,ou=system,$BASE
ALICE=uid=alice,ou=people,o=acme,$T
CAROL=uid=carol,ou=people,o=acme,$T
BOB=uid=bob,ou=people,o=beta,$T
ALICE_PW=alice-password-1
CAROL_PW=carol-password-1
BOB_PW=bob-password-1
SVC_PW=service-password-1

# ---- helpers -------------------------------------------------------------

# Run an LDAP tool as root over ldapi://.
as_root() {
	"$@" -H "$SLAPD_LDAPI" -Y EXTERNAL -Q
}

# as WHO TOOL ARGS...: run an LDAP tool over ldap:// as WHO.
as() {
	who=$1
	shift
	case $who in
	alice) set -- "$@" -D "$ALICE" -w "$ALICE_PW" ;;
	carol) set -- "$@" -D "$CAROL" -w "$CAROL_PW" ;;
	bob) set -- "$@" -D "$BOB" -w "$BOB_PW" ;;
	svc) set -- "$@" -D "$SVC" -w "$SVC_PW" ;;
	anon) ;;
	*) return 99 ;;
	esac
	"$@" -x -H "$SLAPD_LDAP"
}

# search WHO BASE SCOPE FILTER [ATTR...]: sets $rc and $out (unwrapped LDIF).
search() {
	who=$1 sbase=$2 scope=$3
	shift 3
	out=$(as "$who" ldapsearch -LLL -o ldif-wrap=no -b "$sbase" -s "$scope" \
		"$@" 2>&1)
	rc=$?
}

# The number of entries in $out.
count_dn() {
	printf '%s\n' "$out" | grep -c '^dn:'
}

# modify WHO LDIF [ldapmodify options]: sets $rc.  (Not in a pipeline:
# dash runs every part of one in a subshell, and $rc would be lost.)
modify() {
	who=$1 ldif=$2
	shift 2
	printf '%s\n' "$ldif" |
		as "$who" ldapmodify "$@" >"$KW_TEST_DIR/last.out" 2>&1
	rc=$?
}

# add WHO LDIF: sets $rc.
add() {
	printf '%s\n' "$2" | as "$1" ldapadd >"$KW_TEST_DIR/last.out" 2>&1
	rc=$?
}

# change WHO DN OP ATTR [VALUE] [ldapmodify options]: one change, sets $rc.
change() {
	who=$1 dn=$2 op=$3 attr=$4 value=$5
	shift 5
	if [ -n "$value" ]; then
		value="
$attr: $value"
	fi
	modify "$who" "dn: $dn
changetype: modify
$op: $attr$value" "$@"
}

replace() {
	change "$1" "$2" replace "$3" "$4"
}

root_value() {
	as_root ldapsearch -LLL -o ldif-wrap=no -b "$1" -s base "$2" |
		sed -n "s/^$2: //p"
}

template() {
	sed -e "s|@BASE_DN@|$BASE|g" \
		-e "s|@DB_DIRECTORY@|$KW_TEST_DIR/db|g" \
		-e "s|@DB_MAX_SIZE@|104857600|g" \
		-e "s|@SERVICE_DN@|$SVC|g" \
		-e "s|@ROOT_DN@|$SLAPD_PEERCRED|g" \
		-e "s|olcDatabase=mdb,cn=config|olcDatabase={1}mdb,cn=config|" \
		"$LDAP_DIR/$1"
}

# Definitions of keyward.schema or keyward.ldif, one per line, normalized.
schema_defs() {
	sed -e '/^#/d' -e '/^$/d' "$LDAP_DIR/keyward.schema" |
		awk '/^[a-z]/ { if (d) print d; d = $0; next }
		     { d = d " " $0 } END { print d }' |
		sed -e 's/^attributetype /A /' -e 's/^objectclass /O /'
}
ldif_defs() {
	sed -e '/^#/d' "$LDAP_DIR/keyward.ldif" |
		awk '/^ / { d = d substr($0, 2); next }
		     { if (d) print d; d = $0 } END { print d }' |
		sed -n -e 's/^olcAttributeTypes: /A /p' -e 's/^olcObjectClasses: /O /p'
}
normalize() {
	tr '\t' ' ' | sed -e 's/  */ /g' -e 's/ $//'
}

tenant_ldif() {
	uid_base=$((100000 + $2 * 10000))
	cat <<-EOF
	dn: o=$1,$T
	objectClass: organization
	objectClass: kwTenant
	o: $1
	displayName: $1 Ltd
	kwSuspended: FALSE
	kwTenantIndex: $2
	kwUidBase: $uid_base
	kwUidCount: 10000
	kwUidNext: $((uid_base + 10))
	kwMfaPolicy: optional

	dn: ou=people,o=$1,$T
	objectClass: organizationalUnit
	ou: people

	dn: ou=roles,o=$1,$T
	objectClass: organizationalUnit
	ou: roles

	EOF
}

# user_ldif TENANT USER UIDNUMBER PASSWORD
user_ldif() {
	cat <<-EOF
	dn: uid=$2,ou=people,o=$1,$T
	objectClass: inetOrgPerson
	objectClass: posixAccount
	objectClass: kwUser
	uid: $2
	cn: $2
	sn: $2
	uidNumber: $3
	gidNumber: $3
	homeDirectory: /home/$1/$2
	loginShell: /bin/sh
	userPassword: $4
	kwDeactivated: FALSE

	EOF
}

setup_directory() {
	as_root ldapmodify >/dev/null <<-EOF || return 1
	dn: cn=module{0},cn=config
	changetype: modify
	add: olcModuleLoad
	olcModuleLoad: back_mdb
	olcModuleLoad: ppolicy
	EOF
	as_root ldapadd -f "$LDAP_DIR/keyward.ldif" >/dev/null || return 1
	mkdir "$KW_TEST_DIR/db" || return 1
	template keyward-database.ldif.in | as_root ldapadd >/dev/null ||
		return 1
	template keyward-base.ldif.in | as_root ldapadd >/dev/null || return 1
	{
		tenant_ldif acme 1
		tenant_ldif beta 2
		user_ldif acme alice 110001 "$ALICE_PW"
		user_ldif acme carol 110002 "$CAROL_PW"
		user_ldif beta bob 120001 "$BOB_PW"
		printf 'dn: cn=admins,ou=roles,o=acme,%s\n' "$T"
		printf 'objectClass: groupOfNames\ncn: admins\nmember: %s\n\n' \
			"$ALICE"
		printf 'dn: cn=admins,ou=roles,o=beta,%s\n' "$T"
		printf 'objectClass: groupOfNames\ncn: admins\nmember: %s\n\n' \
			"$BOB"
		# carol's state, as keywardd would keep it
		printf 'dn: %s\nchangetype: modify\nadd: kwTotpSecret\n' "$CAROL"
		printf 'kwTotpSecret: opaque-encrypted-blob\n-\n'
		printf 'add: kwRecoveryCode\nkwRecoveryCode: salted-hash-1\n-\n'
		printf 'add: kwTotpState\nkwTotpState: active\n-\n'
		printf 'add: kwPasswordFailures\nkwPasswordFailures: 0\n\n'
		# the service identity's password, as kwadm sets it
		printf 'dn: %s\nchangetype: modify\nreplace: userPassword\n' "$SVC"
		printf 'userPassword: %s\n\n' "$SVC_PW"
	} | as_root ldapmodify -a >"$KW_TEST_DIR/setup.out" 2>&1
}

# ---- the schema ----------------------------------------------------------

cat >"${TMPDIR:-/tmp}/kw-slaptest.$$.conf" <<EOF
include $SCHEMA_DIR/core.schema
include $SCHEMA_DIR/cosine.schema
include $SCHEMA_DIR/nis.schema
include $SCHEMA_DIR/inetorgperson.schema
include $LDAP_DIR/keyward.schema
EOF
SLAPTEST=$(command -v slaptest || echo /usr/sbin/slaptest)
"$SLAPTEST" -u -f "${TMPDIR:-/tmp}/kw-slaptest.$$.conf" >/dev/null 2>&1
ok $? "slaptest accepts keyward.schema"
rm -f "${TMPDIR:-/tmp}/kw-slaptest.$$.conf"

schema_defs | normalize >"${TMPDIR:-/tmp}/kw-schema.$$"
n_defs=$(wc -l <"${TMPDIR:-/tmp}/kw-schema.$$")
ldif_defs | normalize | cmp -s - "${TMPDIR:-/tmp}/kw-schema.$$"
ok $? "keyward.ldif and keyward.schema define the same $n_defs types"
rm -f "${TMPDIR:-/tmp}/kw-schema.$$"

# ---- the directory -------------------------------------------------------

trap slapd_cleanup EXIT
trap 'exit 1' INT TERM HUP
slapd_start || {
	not_ok "private slapd starts"
	done_testing
}
setup_directory
rc=$?
ok $rc "module loads, keyward.ldif, templates and two tenants apply"
[ $rc = 0 ] || {
	sed 's/^/# /' "$KW_TEST_DIR/setup.out"
	done_testing
}

search svc "$SVC" base '(objectClass=*)' cn
is "$rc" 0 "the service binds after root set its password (no pwdReset)"

# ---- a tenant administrator in its own tenant ----------------------------

search alice "ou=people,o=acme,$T" one '(uid=carol)' uid
is "$rc:$(count_dn)" 0:1 "acme admin finds carol by uid"

search alice "$CAROL" base '(objectClass=*)' userPassword pwdHistory
is "$(printf '%s\n' "$out" | grep -c -i '^userPassword\|^pwdHistory')" 0 \
	"acme admin does not read password hashes"

search alice "$CAROL" base '(objectClass=*)' kwTotpSecret kwRecoveryCode
is "$rc:$(printf '%s\n' "$out" | grep -c '^kw')" 0:0 \
	"acme admin reads neither kwTotpSecret nor kwRecoveryCode"

search alice "$CAROL" base '(objectClass=*)' kwPasswordFailures kwTotpState
is "$(printf '%s\n' "$out" | grep -c '^kw')" 2 \
	"acme admin reads carol's failure counter and TOTP state"

add alice "$(user_ldif acme dave 110011 dave-password-1)"
is "$rc" 0 "acme admin adds a user"

add alice "dn: cn=ops,ou=roles,o=acme,$T
objectClass: groupOfNames
cn: ops
member: uid=dave,ou=people,o=acme,$T"
is "$rc" 0 "acme admin adds a role with a member"

replace alice "$CAROL" userPassword carol-password-2
is "$rc" 0 "acme admin resets carol's password"
is "$(root_value "$CAROL" pwdReset)" TRUE "the reset sets pwdReset"
CAROL_PW=carol-password-2

search carol "$CAROL" base '(objectClass=*)' uid
is "$rc" 50 "after the reset carol may only change her password"
as carol ldappasswd -s carol-password-3 >/dev/null 2>&1
is "$?" 0 "carol changes her own password"
CAROL_PW=carol-password-3
is "$(root_value "$CAROL" pwdReset)" "" "the change clears pwdReset"

replace alice "o=acme,$T" kwMfaPolicy required
is "$rc" 0 "acme admin sets kwMfaPolicy"
replace alice "o=acme,$T" displayName "Acme Corporation"
is "$rc" 0 "acme admin sets the tenant's displayName"
change alice "o=acme,$T" increment kwUidNext 1 -e '!assert=(kwUidNext=110010)'
is "$rc:$(root_value "o=acme,$T" kwUidNext)" 0:110011 \
	"acme admin takes a uid (increment under assertion)"
replace alice "o=acme,$T" kwSuspended TRUE
is "$rc" 50 "acme admin cannot change kwSuspended"
replace alice "o=acme,$T" kwUidBase 1
is "$rc" 50 "acme admin cannot change kwUidBase"
replace alice "o=acme,$T" kwTenantIndex 7
is "$rc" 50 "acme admin cannot change kwTenantIndex"
replace alice "o=acme,$T" kwUidCount 99999999
is "$rc" 50 "acme admin cannot change kwUidCount"
replace alice "$CAROL" kwPasswordFailures 0
is "$rc" 50 "acme admin cannot set a failure counter"
change alice "$CAROL" delete kwPasswordFailures ""
is "$rc" 0 "acme admin deletes a failure counter (unlock)"
change alice "o=acme,$T" add ou new
is "$rc" 50 "acme admin cannot change other tenant entry attributes"
add alice "dn: ou=extra,o=acme,$T
objectClass: organizationalUnit
ou: extra"
is "$rc" 50 "acme admin cannot add a top-level container to its tenant"

# ---- a tenant administrator and another tenant ---------------------------

search alice "o=beta,$T" sub '(objectClass=*)'
is "$rc:$(count_dn)" 32:0 "acme admin: beta does not exist (search)"
search alice "$BOB" base '(objectClass=*)'
is "$rc:$(count_dn)" 32:0 "acme admin: bob does not exist"
search bob "o=acme,$T" sub '(objectClass=*)'
is "$rc:$(count_dn)" 32:0 "beta admin: acme does not exist"

search alice "$BASE" sub '(objectClass=*)' dn
n_all=$(count_dn)
n_other=$(printf '%s\n' "$out" | grep '^dn:' | grep -vc "o=acme,$T\$")
is "$rc:$n_other" 0:0 "acme admin's search from the base finds only acme"
like "$n_all" '^[1-9][0-9]*$' "... and finds acme's entries ($n_all)"

search alice "$T" one '(objectClass=*)'
is "$rc:$(count_dn)" 32:0 "acme admin cannot list the tenants"

# Writes answer 50: slapd 2.5 checks write access after finding the entry,
# and for a missing one it answers 32 with a matched DN whatever the
# rules say.  So writes (unlike reads) can probe whether a name exists,
# a known limit of slapd 2.5 that the rules cannot close.
as alice ldapcompare "$BOB" cn:bob >/dev/null 2>&1
is "$?" 32 "acme admin: compare on a beta user answers no such object"
replace alice "$BOB" cn intruder
is "$rc" 50 "acme admin cannot modify a beta user"
replace alice "o=beta,$T" kwMfaPolicy optional
is "$rc" 50 "acme admin cannot modify the beta tenant"
add alice "$(user_ldif beta mallory 120099 mallory-password-1)"
is "$rc" 50 "acme admin cannot add a user under beta"
change alice "cn=admins,ou=roles,o=beta,$T" add member "$ALICE"
is "$rc" 50 "acme admin cannot join beta's admins"
as alice ldapdelete "$BOB" >/dev/null 2>&1
is "$?" 50 "acme admin cannot delete a beta user"
search svc "$BOB" base '(objectClass=*)' cn
like "$out" '^cn: bob$' "... and bob is unchanged"

# ---- a plain user --------------------------------------------------------

search carol "$CAROL" base '(objectClass=*)' '*' +
like "$out" '^uid: carol' "carol reads her own entry"
is "$(printf '%s\n' "$out" |
	grep -ci '^userPassword\|^kwTotpSecret\|^kwRecoveryCode\|^pwdHistory')" \
	0 "... but not her password hash or secrets"
like "$out" 'kwTotpState: active' "... and sees her own TOTP state"
search carol "$ALICE" base '(objectClass=*)'
is "$rc:$(count_dn)" 32:0 "carol cannot read another user"
search carol "o=acme,$T" sub '(objectClass=*)'
is "$rc:$(count_dn)" 32:0 "carol cannot search her tenant"
search carol "cn=admins,ou=roles,o=acme,$T" base '(objectClass=*)'
is "$rc:$(count_dn)" 32:0 "carol cannot read roles"
replace carol "$CAROL" kwDeactivated FALSE
is "$rc" 50 "carol cannot change her kwDeactivated"
replace carol "$CAROL" cn Carol
is "$rc" 50 "carol cannot change her own cn"
replace carol "$CAROL" kwTotpLastStep 1
is "$rc" 50 "carol cannot change her TOTP state"

# ---- the service identity ------------------------------------------------

search svc "$T" sub '(uid=*)' uid
is "$rc:$(count_dn)" 0:4 "service finds the users of both tenants"
search svc "$CAROL" base '(objectClass=*)' userPassword
is "$(printf '%s\n' "$out" | grep -ci '^userPassword')" 0 \
	"service does not read password hashes"
search svc "$CAROL" base '(objectClass=*)' kwTotpSecret kwRecoveryCode
is "$(printf '%s\n' "$out" | grep -c '^kw')" 2 \
	"service reads carol's TOTP secret and recovery code"
search svc "o=beta,$T" base '(objectClass=*)' kwSuspended kwMfaPolicy
is "$(printf '%s\n' "$out" | grep -c '^kw')" 2 "service reads tenant settings"
search svc "cn=admins,ou=roles,o=beta,$T" base '(member=*)' member
is "$rc:$(count_dn)" 0:1 "service reads roles"
search svc "cn=default,ou=policies,$BASE" base '(objectClass=*)' pwdMustChange
is "$rc:$(count_dn)" 0:1 "service reads the password policy"
search svc "$T" base '(objectClass=*)' kwNextTenantIndex
is "$rc:$(printf '%s\n' "$out" | grep -c '^kwNext')" 0:0 \
	"service does not read kwNextTenantIndex"

change svc "$CAROL" add kwPasswordFailures 0
is "$rc" 0 "service creates carol's failure counter"
change svc "$CAROL" increment kwPasswordFailures 1
is "$rc:$(root_value "$CAROL" kwPasswordFailures)" 0:1 \
	"service increments kwPasswordFailures"
change svc "$CAROL" increment kwPasswordFailures 1 \
	-e '!assert=(kwPasswordFailures<=0)'
is "$rc:$(root_value "$CAROL" kwPasswordFailures)" 122:1 \
	"a false assertion (ORDERING rule) stops the increment"
replace svc "$CAROL" kwLockedUntil 20300101000000Z
is "$rc" 0 "service sets kwLockedUntil"
replace svc "$CAROL" uid mallory
is "$rc" 50 "service cannot change uid"
replace svc "$CAROL" userPassword service-chosen-1
is "$rc" 50 "service cannot set a user's password"
replace svc "$CAROL" kwDeactivated TRUE
is "$rc" 50 "service cannot change kwDeactivated"
replace svc "o=beta,$T" kwSuspended TRUE
is "$rc" 50 "service cannot change kwSuspended"
add svc "$(user_ldif beta mallory 120099 mallory-password-1)"
is "$rc" 50 "service cannot add a user"
as svc ldapdelete "$CAROL" >/dev/null 2>&1
is "$?" 50 "service cannot delete a user (it reads every user's entry)"
as svc ldapdelete "cn=admins,ou=roles,o=beta,$T" >/dev/null 2>&1
is "$?" 50 "nor a role"
add svc "dn: ou=extra,o=beta,$T
objectClass: organizationalUnit
ou: extra"
is "$rc" 50 "service cannot add other containers under a tenant"
add svc "$(for t in acme beta; do
	for c in audit counters; do
		printf 'dn: ou=%s,o=%s,%s\n' "$c" "$t" "$T"
		printf 'objectClass: organizationalUnit\nou: %s\n\n' "$c"
	done
done)"
is "$rc" 0 "service adds ou=audit and ou=counters"
add svc "dn: kwEventId=e1,ou=audit,o=acme,$T
objectClass: kwAuditEvent
kwEventId: e1
kwEventTime: 20260101000000Z
kwOutcome: failure
kwReason: bad-password
kwService: sshd
kwRemoteHost: 192.0.2.7
kwUserName: carol@acme
kwChainHash: 00ff

dn: cn=192.0.2.7,ou=counters,o=acme,$T
objectClass: kwFailureCounter
cn: 192.0.2.7
kwPasswordFailures: 1
kwWindowStart: 20260101000000Z"
is "$rc" 0 "service adds an audit event and a per-address counter"
replace svc "kwEventId=e1,ou=audit,o=acme,$T" kwOutcome success
is "$rc" 50 "service cannot rewrite an audit event"
as svc ldapdelete "kwEventId=e1,ou=audit,o=acme,$T" >/dev/null 2>&1
is "$?" 50 "service cannot delete an audit event"

search alice "ou=audit,o=acme,$T" one '(objectClass=kwAuditEvent)'
is "$rc:$(count_dn)" 0:1 "acme admin reads acme's audit log"
as alice ldapdelete "kwEventId=e1,ou=audit,o=acme,$T" >/dev/null 2>&1
is "$?" 50 "acme admin cannot delete an audit event"
search bob "ou=audit,o=acme,$T" sub '(objectClass=*)'
is "$rc:$(count_dn)" 32:0 "beta admin cannot read acme's audit log"
as alice ldapdelete "cn=192.0.2.7,ou=counters,o=acme,$T" >/dev/null 2>&1
is "$?" 0 "acme admin deletes a per-address counter (unlock)"

change alice "$CAROL" delete kwTotpSecret ""
is "$rc" 0 "acme admin deletes carol's TOTP secret (reset) without reading it"

# ---- anonymous -----------------------------------------------------------

search anon "$BASE" sub '(objectClass=*)'
is "$rc:$(count_dn)" 32:0 "anonymous reads nothing from the base"
search anon "$CAROL" base '(objectClass=*)'
is "$rc:$(count_dn)" 32:0 "anonymous cannot read a user"

# A role with no users keeps a placeholder member: the empty DN.  It must
# not make anonymous (whose DN is empty) a member.
printf 'dn: cn=admins,ou=roles,o=acme,%s\nchangetype: modify\n' "$T" |
	{ cat; printf 'add: member\nmember:\n'; } |
	as_root ldapmodify >/dev/null 2>&1
is "$?" 0 "slapd accepts the empty DN as a member value"
search anon "o=acme,$T" sub '(objectClass=*)'
is "$rc:$(count_dn)" 32:0 "... and an empty member does not admit anonymous"
replace anon "o=acme,$T" kwMfaPolicy optional
is "$rc" 8 "... who still cannot write (slapd wants a bind: 8)"

done_testing
