#!/bin/sh
# test_pam_symbols.sh - each built PAM module exports the PAM entry points
# it implements and nothing else: no kw_ symbol of the libraries linked
# into it, no helper, nothing that could clash with the program that
# loads it.  Each also stays loaded once loaded (-z nodelete), so that a
# program that runs many PAM transactions loads it once.

: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
. "$top_srcdir/tests/lib/tap.sh"

command -v nm >/dev/null 2>&1 || skip_all "nm not found"

# module: the pam_sm_* functions it must export, sorted.
check_module() {
	so=$top_builddir/.libs/$1.so
	if [ ! -f "$so" ]; then
		not_ok "$1.so is built"
		return
	fi
	got=$(nm -D --defined-only "$so" | awk '{ print $3 }' | sort | tr '\n' ' ')
	is "$got" "$2" "$1.so exports exactly: $2"
	undefined_kw=$(nm -D --undefined-only "$so" | awk '{ print $2 }' |
		grep -c '^kw_')
	is "$undefined_kw" 0 "$1.so needs no kw_ symbol from outside"
	needed=$(LC_ALL=C readelf -d "$so" 2>/dev/null |
		sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' |
		grep -v -e '^libasan' -e '^libubsan' | sort | tr '\n' ' ')
	is "$needed" "libc.so.6 libpam.so.0 " \
		"$1.so links only libpam and libc (and sanitizers)"
	LC_ALL=C readelf -d "$so" 2>/dev/null | grep -q 'FLAGS_1.*NODELETE'
	ok $? "$1.so stays loaded once loaded (-z nodelete)"
}

check_module pam_keyward_password "pam_sm_authenticate pam_sm_setcred "
check_module pam_keyward_access "pam_sm_acct_mgmt "
check_module pam_keyward_totp "pam_sm_authenticate pam_sm_setcred "

done_testing
