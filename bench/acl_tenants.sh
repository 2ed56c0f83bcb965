#!/bin/sh
# acl_tenants.sh - what the tenants' access rules cost per search.
#
#   bench/acl_tenants.sh [TENANTS] [SEARCHES]      (defaults 1000, 2000)
#
# Starts a private slapd (tests/lib/slapd.sh), applies keyward's schema and
# templates, and creates tenants t0000, t0001, ... with 3 users each (u1 is
# the tenant's administrator).  Then, on one warm ldapi:// connection per
# identity, it times a subtree search of a tenant by uid, as:
#
#   root     the rootdn: no access rule is evaluated (the floor)
#   admin    the tenant's administrator (dn.regex + group.expand rules)
#   service  keywardd's identity
#
# first with 10 tenants, then with TENANTS.  It prints the median and 99th
# percentile in microseconds.  Writes use olcDbNoSync to load fast; the
# figures are of searches only.  Run it from the build directory (it needs
# bench/ldap_search_bench) or set top_builddir.

set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${top_builddir:=$(pwd)}"
N_TENANTS=${1:-1000}
N_SEARCHES=${2:-2000}
BENCH=$top_builddir/bench/ldap_search_bench
[ -x "$BENCH" ] || {
	echo "acl_tenants.sh: $BENCH not built (make bench/ldap_search_bench)" >&2
	exit 2
}
[ "$N_TENANTS" -ge 10 ] 2>/dev/null || {
	echo "acl_tenants.sh: TENANTS must be a number >= 10" >&2
	exit 2
}
. "$top_srcdir/tests/lib/slapd.sh"

BASE=o=keyward
T=ou=tenants,$BASE
SVC=cn=keywardd,ou=system,$BASE
SVC_PW=service-password-1

as_root() {
	"$@" -H "$SLAPD_LDAPI" -Y EXTERNAL -Q
}

template() {
	sed -e "s|@BASE_DN@|$BASE|g" \
		-e "s|@DB_DIRECTORY@|$KW_TEST_DIR/db|g" \
		-e "s|@DB_MAX_SIZE@|1073741824|g" \
		-e "s|@SERVICE_DN@|$SVC|g" \
		-e "s|@ROOT_DN@|$SLAPD_PEERCRED|g" \
		-e "s|olcDatabase=mdb,cn=config|olcDatabase={1}mdb,cn=config|" \
		"$top_srcdir/etc/ldap/$1"
}

setup_directory() {
	as_root ldapmodify >/dev/null <<-EOF || return 1
	dn: cn=module{0},cn=config
	changetype: modify
	add: olcModuleLoad
	olcModuleLoad: back_mdb
	olcModuleLoad: ppolicy
	EOF
	as_root ldapadd -f "$top_srcdir/etc/ldap/keyward.ldif" >/dev/null ||
		return 1
	mkdir "$KW_TEST_DIR/db" || return 1
	template keyward-database.ldif.in | as_root ldapadd >/dev/null ||
		return 1
	as_root ldapmodify >/dev/null <<-EOF || return 1
	dn: olcDatabase={1}mdb,cn=config
	changetype: modify
	replace: olcDbNoSync
	olcDbNoSync: TRUE
	EOF
	template keyward-base.ldif.in | as_root ldapadd >/dev/null || return 1
	as_root ldapmodify >/dev/null <<-EOF
	dn: $SVC
	changetype: modify
	replace: userPassword
	userPassword: $SVC_PW
	EOF
}

# tenants_ldif FIRST LAST: tenants tFIRST..tLAST, 3 users each.
tenants_ldif() {
	awk -v first="$1" -v last="$2" -v t="$T" 'BEGIN {
	for (i = first; i <= last; i++) {
		n = sprintf("t%04d", i)
		uid = 100000 + i * 1000
		printf "dn: o=%s,%s\nobjectClass: organization\n", n, t
		printf "objectClass: kwTenant\no: %s\nkwSuspended: FALSE\n", n
		printf "kwTenantIndex: %d\nkwUidBase: %d\n", i, uid
		printf "kwUidCount: 1000\nkwUidNext: %d\n\n", uid + 4
		printf "dn: ou=people,o=%s,%s\n", n, t
		printf "objectClass: organizationalUnit\nou: people\n\n"
		printf "dn: ou=roles,o=%s,%s\n", n, t
		printf "objectClass: organizationalUnit\nou: roles\n\n"
		for (u = 1; u <= 3; u++) {
			printf "dn: uid=u%d,ou=people,o=%s,%s\n", u, n, t
			printf "objectClass: inetOrgPerson\n"
			printf "objectClass: posixAccount\nobjectClass: kwUser\n"
			printf "uid: u%d\ncn: u%d\nsn: u%d\n", u, u, u
			printf "uidNumber: %d\ngidNumber: %d\n", uid + u, uid + u
			printf "homeDirectory: /home/%s/u%d\n", n, u
			printf "userPassword: password-%s-u%d\n", n, u
			printf "kwDeactivated: FALSE\n\n"
		}
		printf "dn: cn=admins,ou=roles,o=%s,%s\n", n, t
		printf "objectClass: groupOfNames\ncn: admins\n"
		printf "member: uid=u1,ou=people,o=%s,%s\n\n", n, t
	} }'
}

# measure N: one line of figures with N tenants.  The
# searched tenant is the last one, so that it is not the first in any scan.
measure() {
	n=$(printf 't%04d' "$(($1 - 1))")
	admin="uid=u1,ou=people,o=$n,$T"
	b="o=$n,$T"
	f='(uid=u2)'
	root=$("$BENCH" -H "$SLAPD_LDAPI" -b "$b" -f "$f" -n "$N_SEARCHES") ||
		return 1
	adm=$("$BENCH" -H "$SLAPD_LDAPI" -D "$admin" -w "password-$n-u1" \
		-b "$b" -f "$f" -n "$N_SEARCHES") || return 1
	svc=$("$BENCH" -H "$SLAPD_LDAPI" -D "$SVC" -w "$SVC_PW" \
		-b "$b" -f "$f" -n "$N_SEARCHES") || return 1
	set -- $root $adm $svc
	printf '%7d %9s %6s %9s %6s %9s %6s   %s/%s/%s\n' "$N_NOW" \
		"$1" "$2" "$4" "$5" "$7" "$8" "$3" "$6" "$9"
}

trap slapd_cleanup EXIT
trap 'exit 1' INT TERM HUP
slapd_start || exit 1
setup_directory || {
	echo "acl_tenants.sh: could not set up the directory" >&2
	exit 1
}

echo "search by uid in one tenant, $N_SEARCHES searches, microseconds"
printf '%7s %9s %6s %9s %6s %9s %6s   %s\n' tenants root-med p99 \
	admin-med p99 svc-med p99 entries
tenants_ldif 0 9 | as_root ldapadd >/dev/null || exit 1
N_NOW=10
measure "$N_NOW" || exit 1
tenants_ldif 10 $((N_TENANTS - 1)) | as_root ldapadd >/dev/null || exit 1
N_NOW=$N_TENANTS
measure "$N_NOW" || exit 1
