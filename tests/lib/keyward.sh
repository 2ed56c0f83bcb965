# keyward.sh - a private directory prepared for keyward (POSIX sh).
#
# Source after tap.sh and slapd.sh, then:
#   trap slapd_cleanup EXIT INT TERM HUP
#   kw_directory_start || exit 1
#
# kw_directory_start starts a private slapd (slapd.sh), writes a
# keyward.conf for it in $KW_TEST_DIR and runs `kwadm directory init`
# against it, as an administrator would on a new host.  Afterwards:
#   KW_CONF     the configuration file
#   KW_SECRET   keywardd's bind secret file (root-only, 0600)
#   KWADM       the kwadm program (from the build tree)
#   kwadm ...   runs kwadm with that configuration
#   as_root TOOL ARGS...   runs an LDAP tool as root over ldapi://
#   count_entries BASE [FILTER]   prints how many entries root sees
# The integration tests need root: the bind secret must be owned by root,
# and root is the directory's administrator over ldapi://.

: "${top_builddir:=$top_srcdir}"
KWADM=$top_builddir/kwadm
KW_BASE=o=keyward
KW_TENANTS=ou=tenants,$KW_BASE

kw_require_root() {
	[ "$(id -u)" = 0 ] ||
		skip_all "needs root (bind secrets must be owned by root)"
	[ -x "$KWADM" ] || skip_all "kwadm not built"
	[ -x "${SLAPD:-/usr/sbin/slapd}" ] || skip_all "slapd not found"
}

# KW_VALGRIND=1 runs every kwadm of the tests under valgrind: a leak or
# a memory error makes kwadm exit 99, which no test expects.
kw_valgrind_wrap_() {
	[ "${KW_VALGRIND:-0}" = 1 ] || return 0
	command -v valgrind >/dev/null 2>&1 || return 0
	cat >"$KW_TEST_DIR/kwadm.vg" <<WRAP
#!/bin/sh
exec valgrind -q --leak-check=full --show-leak-kinds=definite,indirect \\
	--errors-for-leak-kinds=definite,indirect --error-exitcode=99 \\
	--log-file="$KW_TEST_DIR/valgrind.%p" "$top_builddir/kwadm" "\$@"
WRAP
	chmod +x "$KW_TEST_DIR/kwadm.vg"
	KWADM=$KW_TEST_DIR/kwadm.vg
}

kw_write_conf() {
	kw_valgrind_wrap_
	KW_CONF=$KW_TEST_DIR/keyward.conf
	KW_SECRET=$KW_TEST_DIR/bind.secret
	KW_MASTER_KEY=$KW_TEST_DIR/master.key
	cat >"$KW_CONF" <<CONF
directory: {
	uri = [ "$SLAPD_LDAPI" ];
	admin_uri = "$SLAPD_LDAPI";
	base = "$KW_BASE";
	bind_password_file = "$KW_SECRET";
	ca_file = "$SLAPD_CA";
	db_directory = "$KW_TEST_DIR/db";
	db_max_size_mb = 64;
};
keywardd: {
	socket = "$KW_TEST_DIR/kwd.sock";
};
keys: {
	master_key_file = "$KW_MASTER_KEY";
};
audit: {
	spool_directory = "$KW_TEST_DIR/spool";
};
CONF
	export KW_CONF KW_SECRET KW_MASTER_KEY
}

kwadm() {
	"$KWADM" -c "$KW_CONF" "$@"
}

as_root() {
	"$@" -H "$SLAPD_LDAPI" -Y EXTERNAL -Q
}

count_entries() {
	as_root ldapsearch -LLL -o ldif-wrap=no -b "$1" "${2:-(objectClass=*)}" \
		1.1 2>/dev/null | grep -c '^dn:'
}

# kw_make_user USER@TENANT PASSWORD: add the user as an administrator
# would (an initial password, marked for change), then change it to
# PASSWORD with the user's own credentials, as the user would.
KW_INIT_PW='initial-pw-123456'
kw_make_user() {
	kwadm user add "$1" --password-file \
		"$(kw_password_file init "$KW_INIT_PW")" >/dev/null || return 1
	ldappasswd -x -H "$SLAPD_LDAPI" -D "$(kw_user_dn "$1")" \
		-w "$KW_INIT_PW" -s "$2" >/dev/null 2>&1
}

# kw_user_dn USER@TENANT: the DN of the user's entry.
kw_user_dn() {
	echo "uid=${1%@*},ou=people,o=${1#*@},$KW_TENANTS"
}

# The value of ATTR of the entry at DN, as root.
attr_of() {
	as_root ldapsearch -LLL -o ldif-wrap=no -s base -b "$1" \
		'(objectClass=*)' "$2" 2>/dev/null |
		while IFS= read -r line; do
			case $line in
			"$2:: "*) printf '%s' "${line#"$2":: }" | base64 -d
				echo ;;
			"$2: "*) printf '%s\n' "${line#"$2": }" ;;
			esac
		done
}

kw_directory_start() {
	slapd_start || return 1
	kw_write_conf
	kwadm directory init --schema "$top_srcdir/etc/ldap/keyward.ldif" \
		--templates "$top_srcdir/etc/ldap" >"$KW_TEST_DIR/init.out" 2>&1 ||
		{
			diag "kwadm directory init failed:"
			diag "$(cat "$KW_TEST_DIR/init.out")"
			return 1
		}
	# directory init makes the master key where it runs; keywardd and
	# kwadm need it to chain audit records and seal TOTP secrets.
	[ -f "$KW_MASTER_KEY" ] || (umask 077 && head -c 32 /dev/urandom |
		od -An -tx1 | tr -d ' \n' >"$KW_MASTER_KEY")
}

# A password file for kwadm: mode 0600.
kw_password_file() {
	f=$KW_TEST_DIR/pw.$1
	(umask 077 && printf '%s\n' "$2" >"$f")
	printf '%s\n' "$f"
}
