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
# Then it starts keywardd and logs alice in through the example stack
# etc/pam.d/keyward-login, run by pamtester under pam_wrapper (so that
# the host's /etc/pam.d is not touched): once with her password, once
# with a wrong one, and shows keywardd's log of the decisions and the
# tenant's audit log, whose chain it verifies.
# Without --keep everything is stopped and removed at the end; with
# --keep the directory and keywardd keep running and the script prints
# how to reach them and how to stop them.
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
# kwcall, a test client, is how tests/lib/keywardd.sh sees keywardd ready.
make -j"$(nproc)" all kwcall >make.out 2>&1 || {
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
. "$top/tests/lib/keywardd.sh"

if [ -z "$keep" ]; then
	trap keywardd_cleanup EXIT INT TERM HUP
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

step "keywardd, the per-host daemon"
keywardd_start
echo "keywardd runs as pid $KWD_PID, socket $KWD_SOCKET"

# The example stack, with the modules of this build and the demo socket.
svc=$KW_TEST_DIR/pam.d
mkdir -p "$svc"
# As on a real host, a service without a file of its own is refused.
printf '%s\n' 'auth required pam_deny.so' 'account required pam_deny.so' \
	'password required pam_deny.so' 'session required pam_deny.so' \
	>"$svc/other"
mods=$top_builddir/.libs
sock=socket=$KWD_SOCKET
sed -e "/^[[:space:]]*#/!s#\(pam_keyward_[a-z]*\.so\)#$mods/\1 $sock#" \
	"$top/etc/pam.d/keyward-login" >"$svc/keyward-demo"

# pamtester reads the password from stdin and exits 0 only on success.
pam_login() {
	printf '$ pamtester keyward-demo %s authenticate acct_mgmt' "$1"
	printf '   (password: %s)\n' "$2"
	printf '%s\n' "$2" |
		env LD_PRELOAD=libpam_wrapper.so PAM_WRAPPER=1 \
			PAM_WRAPPER_SERVICE_DIR="$svc" \
			pamtester keyward-demo "$1" authenticate acct_mgmt
}

step "a login through the keyward-login PAM stack"
grep -v '^[[:space:]]*#' "$svc/keyward-demo" | grep .
echo
if pam_login alice@demo 'alice-chose-this-herself-2'; then
	echo "=> alice@demo is logged in"
else
	echo "=> alice@demo was refused: the demo failed" >&2
	exit 1
fi
echo
if pam_login alice@demo 'not-her-password'; then
	echo "=> a wrong password was accepted: the demo failed" >&2
	exit 1
else
	echo "=> the wrong password is refused"
fi

step "keywardd's log of the decisions"
grep -E 'outcome=' "$KWD_LOG" | tail -n 5

step "the same attempts in demo's audit log (kwadm audit --tenant demo)"
# keywardd delivers records just after it answers: wait for them.
i=0
while [ $i -lt 100 ] &&
	[ "$(kwadm --json audit --tenant demo | grep -c .)" -lt 3 ]; do
	sleep 0.1
	i=$((i + 1))
done
show kwadm audit --tenant demo
show kwadm audit verify --tenant demo

if [ -n "$keep" ]; then
	step "left running"
	echo "kwadm:  $top_builddir/kwadm -c $KW_CONF ..."
	echo "login:  printf 'PASSWORD\\n' | LD_PRELOAD=libpam_wrapper.so" \
		"PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR=$svc" \
		"pamtester keyward-demo alice@demo authenticate acct_mgmt"
	echo "stop:   kill $KWD_PID $SLAPD_PID && rm -rf $KW_TEST_DIR"
else
	step "done: keywardd and the private directory are stopped and removed"
fi

