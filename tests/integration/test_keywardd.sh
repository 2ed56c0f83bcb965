#!/bin/sh
# test_keywardd.sh - keywardd alone, driven through the test client kwcall.

: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/lib/slapd.sh"
. "$top_srcdir/tests/lib/keyward.sh"
. "$top_srcdir/tests/lib/keywardd.sh"

kw_require_root
[ -x "$KEYWARDD" ] || skip_all "keywardd not built"
trap keywardd_cleanup EXIT INT TERM HUP
kw_directory_start || { not_ok "directory ready"; done_testing; }
keywardd_start
ok $? "keywardd starts and answers a PING"
is "$(kwd_status ping)" OK "PING is answered OK"

# make_user NAME@TENANT PASSWORD: add the user, who then changes the
# initial password (marked for change by kwadm) as themselves.
make_user() {
	kwadm user add "$1" --password-file \
		"$(kw_password_file init 'initial-pw-123456')" >/dev/null || return 1
	u=${1%@*} t=${1#*@}
	ldappasswd -x -H "$SLAPD_LDAPI" -D "uid=$u,ou=people,o=$t,$KW_TENANTS" \
		-w 'initial-pw-123456' -s "$2" >/dev/null 2>&1
}
A_PW='alice: correct horse 42'
kwadm tenant create acme >/dev/null && make_user alice@acme "$A_PW"
ok $? "alice@acme has her own password"
out=$(printf '%s' "$A_PW" | kwcall auth -u alice@acme)
is "$out" "OK
message: 
user: alice@acme" "the right password: OK and the canonical name"
out=$(printf '%s' "x$A_PW" | kwcall auth -u alice@acme)
is "$(printf '%s' "$out" | sed -n 1p)" DENIED "a wrong password: DENIED"
done_testing
