#!/bin/sh
# totp_bench.sh - password+TOTP logins against their floor, and what the
# TOTP step costs in a small and in a large tenant, in one run.
#
#   bench/totp_bench.sh [USERS_SMALL] [USERS_LARGE] [LOGINS]
#                                          (defaults 1000 100000 2000)
#   CLIENTS=8   concurrent clients of part 1 (environment)
#   KEYWARDD_ARGS="-o audit.sync=false"   settings for keywardd
#
# As root, from the build directory (or with top_builddir set).  Starts a
# private slapd and keywardd (tests/lib/) and makes three tenants whose
# users all have an active token:
#
#   stack   4 LOGINS + 20 users: a code is good once per step and user,
#           so each login of part 1 needs a user of its own
#   small   USERS_SMALL users    } part 2
#   large   USERS_LARGE users    }
#
# kwadm would take long for 100k users: bench/totp_bench ldif writes the
# entries kwadm makes, with tokens sealed under the test master key, and
# ldapadd adds them as root; the time of each population is printed.  The
# mdb size limit of the tests' configuration (64 MiB) is too small for
# that, so `kwadm directory init` runs again with a larger one.
#
# bench/totp_bench run then measures, under pam_wrapper, the services
#
#   kw-totp         password, TOTP, access (as etc/pam.d/keyward-login)
#   kw-totp-marked  password, pam_echo, TOTP: pam_echo's message splits
#                   pam_authenticate into the password and the TOTP step
#   kw-floor        pam_permit, to which totp_bench adds the directory
#                   work of the login (see bench/totp_bench.c)
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${top_builddir:=$(pwd)}"
USERS_SMALL=${1:-1000}
USERS_LARGE=${2:-100000}
LOGINS=${3:-2000}
CLIENTS=${CLIENTS:-8}
BENCH=$top_builddir/bench/totp_bench
for n in "$USERS_SMALL" "$USERS_LARGE" "$LOGINS" "$CLIENTS"; do
	case $n in
	'' | *[!0-9]*)
		echo "usage: totp_bench.sh [USERS_SMALL] [USERS_LARGE] [LOGINS]" >&2
		exit 2
		;;
	esac
done
for f in "$BENCH" "$top_builddir/keywardd" "$top_builddir/kwadm" \
	"$top_builddir/.libs/pam_keyward_password.so" \
	"$top_builddir/.libs/pam_keyward_totp.so" \
	"$top_builddir/.libs/pam_keyward_access.so"; do
	[ -x "$f" ] || [ -f "$f" ] || {
		echo "totp_bench.sh: $f not built (run make)" >&2
		exit 2
	}
done
# keywardd_start waits for a PING of the test client, a check program.
[ -x "$top_builddir/kwcall" ] || {
	echo "totp_bench.sh: kwcall not built (run make kwcall)" >&2
	exit 2
}
WRAPPER=$(for d in /usr/lib/*-linux-gnu /usr/lib64 /usr/lib; do
	[ -f "$d/libpam_wrapper.so" ] && echo "$d/libpam_wrapper.so"; done | head -1)
[ -n "$WRAPPER" ] || {
	echo "totp_bench.sh: libpam_wrapper.so not found" \
		"(apt-get install libpam-wrapper)" >&2
	exit 2
}

. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/lib/slapd.sh"
. "$top_srcdir/tests/lib/keyward.sh"
. "$top_srcdir/tests/lib/keywardd.sh"
[ "$(id -u)" = 0 ] || { echo "totp_bench.sh: run as root" >&2; exit 2; }
trap keywardd_cleanup EXIT INT TERM HUP
# A reader that goes away (| head) must not leave slapd and keywardd
# running: ignore further SIGPIPEs and leave through the EXIT trap.
trap 'trap "" PIPE; exit 141' PIPE

STACK_USERS=$((4 * LOGINS + 20))
ALL_USERS=$((STACK_USERS + USERS_SMALL + USERS_LARGE))
# Every tenant gets the same range: a tenant's range starts at uid_min +
# its index * uid_range, so tenants made with different ranges overlap.
RANGE=100000
for n in "$USERS_LARGE" "$USERS_SMALL" "$STACK_USERS"; do
	[ "$n" -gt "$RANGE" ] && RANGE=$n
done
# A user with a token and its index keys takes about 1.3 KiB of the map
# (109k users filled 136 MiB); 4 KiB leaves room for the logins' records.
DB_MB=$((64 + ALL_USERS * 4 / 1024))

now() { date +%s.%N; }
seconds() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

kw_directory_start >/dev/null || exit 1
kwadm -o "directory.db_max_size_mb=$DB_MB" directory init \
	--schema "$top_srcdir/etc/ldap/keyward.ldif" \
	--templates "$top_srcdir/etc/ldap" >"$KW_TEST_DIR/init2.out" 2>&1 || {
	echo "totp_bench.sh: directory init with $DB_MB MiB failed:" >&2
	cat "$KW_TEST_DIR/init2.out" >&2
	exit 1
}
PW='totp bench password 1'
PWFILE=$(kw_password_file bench "$PW")

# populate TENANT USERS: the tenant, and its users with tokens.
populate() {
	kwadm -o "tenants.uid_range=$RANGE" tenant create "$1" >/dev/null ||
		return 1
	tdn=o=$1,$KW_TENANTS
	base=$(attr_of "$tdn" kwUidBase)
	count=$(attr_of "$tdn" kwUidCount)
	if [ -z "$base" ] || [ "${count:-0}" -lt "$2" ]; then
		echo "totp_bench.sh: tenant $1: uid range $base+$count" >&2
		return 1
	fi
	t0=$(now)
	"$BENCH" ldif -k "$KW_MASTER_KEY" -t "$1" -b "$KW_TENANTS" \
		-u "$base" -n "$2" -p "$PWFILE" |
		as_root ldapadd -c >/dev/null 2>"$KW_TEST_DIR/add.$1.err"
	t1=$(now)
	got=$(count_entries "ou=people,$tdn" '(kwTotpState=active)')
	[ "$got" = "$2" ] || {
		echo "totp_bench.sh: tenant $1: $got of $2 users added:" >&2
		tail -5 "$KW_TEST_DIR/add.$1.err" >&2
		return 1
	}
	# kwadm user add would take the numbers after these
	as_root ldapmodify >/dev/null <<LDIF || return 1
dn: $tdn
changetype: modify
replace: kwUidNext
kwUidNext: $((base + $2))
LDIF
	s=$(seconds "$t0" "$t1")
	rate=$(awk -v n="$2" -v s="$s" \
		'BEGIN { printf "%.0f", n / (s > 0 ? s : 0.1) }')
	echo "populated tenant $1: $2 users with tokens in $s s ($rate users/s)"
}

echo "keyward TOTP benchmark: $(nproc) CPUs, slapd over ldapi://," \
	"$(date -u +%FT%TZ)"
echo "mdb map size $DB_MB MiB; every tenant's uid range $RANGE"
populate stack "$STACK_USERS" || exit 1
populate small "$USERS_SMALL" || exit 1
populate large "$USERS_LARGE" || exit 1
du -sm "$KW_TEST_DIR/db" | awk '{ print "mdb on disk: " $1 " MiB" }'
# The population's dirty pages go to disk now, not during the figures.
sync "$KW_TEST_DIR"/db/*.mdb
# shellcheck disable=SC2086 # KEYWARDD_ARGS is a list of arguments
keywardd_start ${KEYWARDD_ARGS:-} || exit 1

svc=$KW_TEST_DIR/pam.d
mkdir -p "$svc"
mods=$top_builddir/.libs
sock=socket=$KWD_SOCKET
cat >"$svc/kw-totp" <<PAM
auth     required $mods/pam_keyward_password.so $sock
auth     required $mods/pam_keyward_totp.so $sock
account  required $mods/pam_keyward_access.so $sock
PAM
# The mark's text is MARK in bench/totp_bench.c.
cat >"$svc/kw-totp-marked" <<PAM
auth     required $mods/pam_keyward_password.so $sock
auth     optional pam_echo.so keyward-bench-mark
auth     required $mods/pam_keyward_totp.so $sock
account  required pam_permit.so
PAM
cat >"$svc/kw-floor" <<PAM
auth     required pam_permit.so
account  required pam_permit.so
PAM
cat >"$svc/other" <<PAM
auth     required pam_deny.so
account  required pam_deny.so
PAM

LD_PRELOAD=$WRAPPER PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR=$svc \
	"$BENCH" run -s kw-totp -m kw-totp-marked -f kw-floor -p "$PWFILE" \
	-H "$SLAPD_LDAPI" -b "$KW_TENANTS" \
	-S "cn=keywardd,ou=system,$KW_BASE" -P "$KW_SECRET" \
	-T "stack:$STACK_USERS" -t "small:$USERS_SMALL" \
	-t "large:$USERS_LARGE" -n "$LOGINS" -c "$CLIENTS" \
	2>"$KW_TEST_DIR/bench.err"
st=$?
[ -s "$KW_TEST_DIR/bench.err" ] && tail -5 "$KW_TEST_DIR/bench.err" >&2
[ $st = 0 ] || {
	echo "totp_bench.sh: keywardd's last lines:" >&2
	tail -5 "$KWD_LOG" >&2
}
exit $st
