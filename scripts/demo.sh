#!/bin/sh
# demo.sh - set up a fresh Debian 12 machine and show keyward at work.
#
#   scripts/demo.sh [--keep]      as root, from the top of a clone
#
# Installs the Debian packages that are missing, builds keyward in
# _build/demo, starts a private slapd in a temporary directory (nothing
# of the host's own LDAP or PAM is touched), prepares it with
# `kwadm directory init`, provisions a tenant "demo" with a user
# alice@demo, and shows what landed in the directory with ldapsearch.
# Without --keep everything is stopped and removed at the end; with
# --keep the directory keeps running and the script prints how to reach
# it and how to stop it.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
keep=
case ${1:-} in
--keep) keep=1 ;;
"") ;;
*)
	echo "usage: scripts/demo.sh [--keep]" >&2
	exit 2
	;;
esac

step() {
	printf '\n== %s\n' "$*"
}

show() {
	printf '$ %s\n' "$*"
	"$@"
}

if [ "$(id -u)" -ne 0 ]; then
	echo "demo.sh: run as root (it installs packages and runs slapd)" >&2
	exit 1
fi

step "packages"
"$top/scripts/setup-debian.sh"

step "build"
cd "$top"
./autogen.sh >/dev/null 2>&1
mkdir -p _build/demo
cd _build/demo
[ -f Makefile ] || "$top/configure" --enable-werror >configure.out
make -j"$(nproc)" >make.out 2>&1 || {
	tail -30 make.out
	exit 1
}
echo "built $(ls kwadm) in $PWD"

top_srcdir=$top
top_builddir=$PWD
# tests/lib/slapd.sh starts a private slapd; tap.sh gives it its diag().
. "$top/tests/lib/tap.sh"
. "$top/tests/lib/slapd.sh"
. "$top/tests/lib/keyward.sh"

if [ -z "$keep" ]; then
	trap slapd_cleanup EXIT INT TERM HUP
fi

step "a private directory"
slapd_start
echo "slapd runs as pid $SLAPD_PID in $KW_TEST_DIR"
echo "  $SLAPD_LDAPI"
echo "  $SLAPD_LDAPS (CA: $SLAPD_CA)"
kw_write_conf
echo "keyward.conf for it: $KW_CONF"

step "kwadm directory init"
show kwadm directory init --schema "$top/etc/ldap/keyward.ldif" \
	--templates "$top/etc/ldap"

step "a tenant, a role and a user"
show kwadm tenant create demo --display-name "Demo Company"
show kwadm role create staff@demo --description "Everyone at Demo"
pw=$(kw_password_file alice 'demo-password-for-alice-1')
show kwadm user add alice@demo --display-name "Alice Demo" \
	--password-file "$pw"
show kwadm role grant staff@demo alice
show kwadm user show alice@demo
show kwadm tenant list

step "what the directory holds (ldapsearch as root)"
as_root ldapsearch -LLL -o ldif-wrap=no -b "o=demo,$KW_TENANTS" \
	'(objectClass=*)' dn uidNumber member kwSuspended kwDeactivated \
	pwdReset 2>/dev/null

step "alice's first password must be changed: she does it with ldappasswd"
show ldappasswd -x -H "$SLAPD_LDAPI" \
	-D "uid=alice,ou=people,o=demo,$KW_TENANTS" \
	-w 'demo-password-for-alice-1' -s 'alice-chose-this-herself-2'
show ldapwhoami -x -H "$SLAPD_LDAPI" \
	-D "uid=alice,ou=people,o=demo,$KW_TENANTS" \
	-w 'alice-chose-this-herself-2'

if [ -n "$keep" ]; then
	step "left running"
	echo "kwadm:  $top_builddir/kwadm -c $KW_CONF ..."
	echo "stop:   kill $SLAPD_PID && rm -rf $KW_TEST_DIR"
else
	step "done: the private directory is stopped and removed"
fi
