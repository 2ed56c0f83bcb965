#!/bin/sh
# test_kwadm_mfa.sh - kwadm mfa and kwadm tenant set against a private
# slapd (root).  The first codes are made by the real oathtool from the
# secret kwadm prints, every write is checked with ldapsearch as root, and
# what a tenant administrator can and cannot do is checked with kwadm -U
# and with ldapsearch under the administrator's own DN.
#
#   alice, dave   users of acme        bob    administrator of acme
#   carol         administrator of beta
#
# Nothing sleeps: kwadm reads the first code from a FIFO, which the test
# writes once the secret has been printed.
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/lib/slapd.sh"
. "$top_srcdir/tests/lib/keyward.sh"

kw_require_root
command -v oathtool >/dev/null 2>&1 || skip_all "oathtool not found"
trap slapd_cleanup EXIT INT TERM HUP
kw_directory_start || { not_ok "directory ready"; done_testing; }

ACME=o=acme,$KW_TENANTS
ALICE=$(kw_user_dn alice@acme)
DAVE=$(kw_user_dn dave@acme)
BOB=$(kw_user_dn bob@acme)
B_PW='bob: administrator of acme 1'
C_PW='carol: administrator of beta 2'
TOKEN_ATTRS='kwTotpSecret kwTotpState kwTotpLastStep kwRecoveryCode
kwCodeFailures kwCodeWindowStart'

# ---- helpers ---------------------------------------------------------------

# as_admin USER@TENANT PWFILE ARGS...: kwadm as that tenant administrator.
as_admin() {
	who=$1 pwf=$2
	shift 2
	"$KWADM" -c "$KW_CONF" -U "$who" --password-file "$pwf" "$@"
}
# bob_ldap ARGS...: ldapsearch under bob's own DN.
bob_ldap() {
	ldapsearch -LLL -o ldif-wrap=no -x -H "$SLAPD_LDAPI" -D "$BOB" \
		-w "$B_PW" "$@"
}
# The number of values of ATTR on DN, as root.
n_values() {
	attr_of "$1" "$2" | grep -c .
}
# The token attributes of DN that root sees, one "attr: value" a line.
token_of() {
	for a in $TOKEN_ATTRS; do
		attr_of "$1" "$a" | sed "s/^/$a: /"
	done
}
tree() {
	as_root ldapsearch -LLL -o ldif-wrap=no -b "$KW_BASE" \
		'(objectClass=*)' '*' 2>/dev/null
}
# json_ok TEXT: TEXT is one JSON value (python3 where there is one; else
# its shape).
json_ok() {
	if command -v python3 >/dev/null 2>&1; then
		printf '%s\n' "$1" |
			python3 -c 'import json, sys; json.load(sys.stdin)'
	else
		printf '%s\n' "$1" | grep -Eqx '\{.*\}|\[.*\]'
	fi
}

right_code() { oathtool --totp -b "$1"; }
# A code that matches no step within three of now.
wrong_code() {
	valid=$(oathtool --totp -b "$1" -w 6 -N "@$(($(date +%s) - 90))")
	for c in 000000 111111 222222 333333 444444 555555; do
		printf '%s\n' "$valid" | grep -qx "$c" || {
			echo "$c"
			return
		}
	done
}
malformed_code() { echo 12ab56; }
# The recovery codes in kwadm's human output, and how many are well formed.
printed_codes() {
	printf '%s\n' "$1" | sed -n 's/^    \([a-z2-9-]*\)$/\1/p'
}
count_codes() {
	printf '%s\n' "$1" | grep -Ec '^[a-z2-9]{5}-[a-z2-9]{5}-[a-z2-9]{5}$'
}

FIFO_OUT=$KW_TEST_DIR/enroll.out.fifo
FIFO_CODE=$KW_TEST_DIR/enroll.code.fifo
ENROLL_ERR=$KW_TEST_DIR/enroll.err
# enroll USER MAKE_CODE [GLOBAL OPTIONS] [-- ENROLL OPTIONS]: run kwadm mfa
# enroll USER and answer its prompt with what MAKE_CODE prints for the
# secret kwadm printed.  Sets out (stdout), st (status) and secret.
enroll() {
	user=$1 make=$2
	shift 2
	global=''
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		global="$global $1"
		shift
	done
	[ "${1:-}" = -- ] && shift
	rm -f "$FIFO_OUT" "$FIFO_CODE"
	mkfifo "$FIFO_OUT" "$FIFO_CODE"
	# shellcheck disable=SC2086 # the options are words
	kwadm $global mfa enroll "$user" --code-file "$FIFO_CODE" "$@" \
		>"$FIFO_OUT" 2>"$ENROLL_ERR" &
	pid=$!
	# held open for writing, so that kwadm's open never blocks
	exec 4<>"$FIFO_CODE" 3<"$FIFO_OUT"
	out='' secret=''
	while IFS= read -r line <&3; do
		out="$out$line
"
		case $line in
		"secret:"*)
			secret=$(printf '%s' "${line#secret:}" | tr -d ' ')
			break
			;;
		'{'*'"secret":"'*)
			secret=$(printf '%s' "$line" |
				sed 's/.*"secret":"\([A-Z2-7]*\)".*/\1/')
			break
			;;
		esac
	done
	[ -n "$secret" ] && "$make" "$secret" >&4
	out="$out$(cat <&3)"
	wait "$pid"
	st=$?
	exec 3<&- 4>&-
}

# ---- directory init makes the master key -----------------------------------

grep -q "master key: generated in $KW_MASTER_KEY" "$KW_TEST_DIR/init.out"
ok $? "directory init generated the master key"
is "$(stat -c '%a %u' "$KW_MASTER_KEY")" "600 0" "owned by root, mode 0600"
grep -Eqx '[0-9a-f]{64}' "$KW_MASTER_KEY"
ok $? "64 hexadecimal digits"
sum=$(cksum <"$KW_MASTER_KEY")
out=$(kwadm directory init --schema "$top_srcdir/etc/ldap/keyward.ldif" \
	--templates "$top_srcdir/etc/ldap" 2>&1)
ok $? "a second directory init works"
like "$out" "master key: as in $KW_MASTER_KEY" "and keeps the key"
is "$(cksum <"$KW_MASTER_KEY")" "$sum" "unchanged"

# ---- tenants, users, administrators ----------------------------------------

{
	kwadm tenant create acme --display-name "Acme Corp" &&
		kwadm tenant create beta &&
		kwadm user add alice@acme && kwadm user add dave@acme &&
		kw_make_user bob@acme "$B_PW" &&
		kw_make_user carol@beta "$C_PW" &&
		kwadm role grant admins@acme bob &&
		kwadm role grant admins@beta carol
} >"$KW_TEST_DIR/setup.out" 2>&1
ok $? "acme with alice, dave and bob (its administrator), beta with carol"
BPW=$(kw_password_file bob "$B_PW")
CPW=$(kw_password_file carol "$C_PW")

out=$(kwadm mfa status alice@acme)
like "$out" '^state: +none$' "alice has no token at first"

# ---- enroll ------------------------------------------------------------------

enroll alice@acme right_code
is "$st" 0 "enroll alice with the code oathtool makes from the printed secret"
S1=$secret
like "$S1" '^[A-Z2-7]{32}$' "the secret is 32 base32 characters (160 bits)"
uri="otpauth://totp/Acme%20Corp:alice%40acme\\?secret=$S1&issuer=Acme%20Corp"
like "$out" "$uri&algorithm=SHA1&digits=6&period=30" \
	"the URI names the issuer (the display name) and account alice@acme"
like "$out" "TOTP token of 'alice@acme' active" "and says it is active"
CODES1=$(printed_codes "$out")
is "$(count_codes "$CODES1")" 10 "ten recovery codes are printed"
like "$out" "shown only now" "with a note that they are shown only now"
case $out in
*"█"* | *"▀"* | *"▄"*) not_ok "no QR code when stdout is no terminal" ;;
*) ok 0 "no QR code when stdout is no terminal" ;;
esac
like "$(cat "$ENROLL_ERR")" "Code from the app for alice@acme" \
	"the prompt goes to standard error"
grep -q "$S1" "$ENROLL_ERR"
is "$?" 1 "standard error does not hold the secret"

is "$(attr_of "$ALICE" kwTotpState)" active "the directory has the token active"
sealed=$(attr_of "$ALICE" kwTotpSecret)
like "$sealed" '^kw1:[A-Za-z0-9+/]+=*$' "kwTotpSecret is a sealed text kw1:..."
case $sealed in
*"$S1"*) not_ok "the base32 secret is not in the directory" ;;
*) ok 0 "the base32 secret is not in the directory" ;;
esac
now_step=$(($(date +%s) / 30))
step=$(attr_of "$ALICE" kwTotpLastStep)
[ "$step" -ge $((now_step - 2)) ] && [ "$step" -le "$now_step" ]
ok $? "kwTotpLastStep is the step of the first code ($step, now $now_step)"
HASHES1=$(attr_of "$ALICE" kwRecoveryCode)
is "$(printf '%s\n' "$HASHES1" | grep -c '^kr1\$')" 10 \
	"ten recovery hashes are stored"
same=0
for c in $CODES1; do
	printf '%s\n' "$HASHES1" | grep -qF "$c" && same=1
	printf '%s\n' "$HASHES1" | grep -qF "$(printf '%s' "$c" | tr -d -)" &&
		same=1
done
is "$same" 0 "no printed code is stored in clear"

enroll alice@acme right_code
is "$st" 1 "enrolling an active token again is refused"
like "$(cat "$ENROLL_ERR")" "active TOTP token.*--force" "and names --force"
is "$(attr_of "$ALICE" kwTotpSecret)" "$sealed" "the old token is kept"

enroll alice@acme right_code -- --force
is "$st" 0 "enroll --force replaces an active token"
[ "$secret" != "$S1" ] && [ "$(attr_of "$ALICE" kwTotpSecret)" != "$sealed" ]
ok $? "with a new secret"
S1=$secret
HASHES2=$(attr_of "$ALICE" kwRecoveryCode)
[ "$(printf '%s\n' "$HASHES1" "$HASHES2" | sort | uniq -d | wc -l)" = 0 ]
ok $? "and new recovery codes: the old ones are gone"

# ---- a wrong first code ------------------------------------------------------

enroll dave@acme wrong_code
is "$st" 1 "a wrong first code fails"
like "$(cat "$ENROLL_ERR")" "does not match" "and says the code does not match"
like "$(cat "$ENROLL_ERR")" "stays pending.*kwadm mfa enroll dave@acme" \
	"that the token stays pending, and how to try again"
is "$(attr_of "$DAVE" kwTotpState)" pending \
	"dave's token is pending, not active"
is "$(n_values "$DAVE" kwRecoveryCode)" 0 "with no recovery codes"
case $out in
*recovery*) not_ok "no recovery codes are printed" ;;
*) ok 0 "no recovery codes are printed" ;;
esac
enroll dave@acme malformed_code
is "$st" 1 "a malformed code fails"
like "$(cat "$ENROLL_ERR")" "not a code of 6 digits" "and says why"
is "$(attr_of "$DAVE" kwTotpState)" pending "dave's token stays pending"
out=$(kwadm mfa status dave@acme)
like "$out" '^state: +pending$' "status says pending"
out=$(kwadm mfa recovery-codes dave@acme 2>&1)
is "$?" 1 "recovery-codes needs an active token"
like "$out" "no active TOTP token" "and says so"

# ---- other parameters --------------------------------------------------------

code_sha256() { oathtool --totp=sha256 -d 8 -s 60 -b "$1"; }
enroll dave@acme code_sha256 -o mfa.algorithm=sha256 -o mfa.digits=8 \
	-o mfa.period_s=60 -o mfa.issuer=Host
is "$st" 0 "enroll with SHA-256, 8 digits, 60 s steps (oathtool agrees)"
uri="otpauth://totp/Host:dave%40acme\\?secret=$secret&issuer=Host"
like "$out" "$uri&algorithm=SHA256&digits=8&period=60" \
	"the URI carries them, and the host's issuer comes first"
is "$(attr_of "$DAVE" kwTotpState)" active "dave's token is active"
step=$(attr_of "$DAVE" kwTotpLastStep)
now_step=$(($(date +%s) / 60))
[ "$step" -ge $((now_step - 2)) ] && [ "$step" -le "$now_step" ]
ok $? "its last step counts 60 s steps"

enroll dave@acme right_code --json -- --force
is "$st" 0 "enroll --json"
is "$(printf '%s\n' "$out" | grep -c .)" 2 "prints two lines"
first=$(printf '%s\n' "$out" | sed -n 1p)
second=$(printf '%s\n' "$out" | sed -n 2p)
json_ok "$first" && json_ok "$second"
ok $? "each one JSON object"
like "$first" '"state":"pending","otpauth_uri":"otpauth://totp/[^"]*",'\
'"secret":"[A-Z2-7]{32}"' \
	"the first: the pending token with its URI and secret"
like "$second" '"result":"enrolled","state":"active",'\
'"recovery_codes":\[("[a-z2-9-]{17}",?){10}\]' \
	"the second: active, with ten recovery codes"

enroll dave@acme right_code -- --force --qr
is "$st" 0 "enroll --qr"
case $out in
*"█"* | *"▀"* | *"▄"*) ok 0 "prints a QR code in block characters" ;;
*) not_ok "prints a QR code in block characters" ;;
esac

# ---- status ------------------------------------------------------------------

out=$(kwadm mfa status alice@acme 2>&1)
ok $? "status as root"
like "$out" '^state: +active$' "says active"
like "$out" '^recovery codes left: +10$' "counts ten recovery codes"
like "$out" '^last code used: +[0-9]{4}-[0-9]{2}-[0-9]{2}T' \
	"gives the last code's time"
like "$out" '^failed codes: +0$' "and no failed codes"
out=$(kwadm --json mfa status alice@acme)
json_ok "$out"
ok $? "status --json is one JSON object"
like "$out" '"state":"active","recovery_codes_left":10' \
	"with the state and count"
all=$(kwadm mfa status alice@acme 2>&1; kwadm --json mfa status alice@acme 2>&1;
	as_admin bob@acme "$BPW" mfa status alice@acme 2>&1)
case $all in
*"$S1"* | *kw1:* | *'kr1$'*) not_ok "status never shows a secret or a hash" ;;
*) ok 0 "status never shows a secret or a hash" ;;
esac

out=$(as_admin bob@acme "$BPW" mfa status alice@acme 2>&1)
ok $? "status as acme's administrator"
like "$out" '^state: +active$' "sees the state"
like "$out" '^recovery codes left: +-$' \
	"but not the recovery codes (unreadable)"
out=$(as_admin bob@acme "$BPW" --json mfa status alice@acme)
json_ok "$out"
ok $? "status --json as the administrator is one JSON object"
like "$out" '"recovery_codes_left":null' "where the count is null"

# ---- what a tenant administrator cannot do -----------------------------------

out=$(bob_ldap -s base -b "$ALICE" '(objectClass=*)' kwTotpSecret \
	kwRecoveryCode kwTotpState 2>&1)
ok $? "ldapsearch as bob reads alice's entry"
case $out in
*kwTotpSecret* | *kwRecoveryCode*)
	not_ok "but not her secret or recovery codes" ;;
*) ok 0 "but not her secret or recovery codes" ;;
esac
like "$out" '^kwTotpState: active$' "only the state"
out=$(bob_ldap -b "$ACME" '(kwTotpSecret=*)' dn 2>/dev/null | grep -c '^dn:')
is "$out" 0 "nor find entries by their secret"

before=$(tree)
out=$(as_admin bob@acme "$BPW" mfa enroll alice@acme --force </dev/null 2>&1)
is "$?" 1 "bob cannot enroll"
like "$out" "works as root only.*master key" "and is told why"
out=$(as_admin bob@acme "$BPW" mfa recovery-codes alice@acme 2>&1)
is "$?" 1 "bob cannot make recovery codes"
out=$(as_admin carol@beta "$CPW" mfa status alice@acme 2>&1)
is "$?" 1 "carol (beta) cannot see the status of acme's alice"
like "$out" "no such user" "acme's users do not exist for her"
out=$(as_admin carol@beta "$CPW" mfa reset alice@acme 2>&1)
is "$?" 1 "carol cannot reset acme's alice"
[ "$before" = "$(tree)" ]
ok $? "none of that changed anything"

# ---- recovery-codes ----------------------------------------------------------

out=$(kwadm mfa recovery-codes alice@acme)
ok $? "recovery-codes as root"
CODES3=$(printed_codes "$out")
is "$(count_codes "$CODES3")" 10 "prints ten new codes"
like "$out" "shown only now" "once"
HASHES3=$(attr_of "$ALICE" kwRecoveryCode)
is "$(printf '%s\n' "$HASHES3" | grep -c '^kr1\$')" 10 "ten hashes are stored"
[ "$(printf '%s\n' "$HASHES2" "$HASHES3" | sort | uniq -d | wc -l)" = 0 ]
ok $? "and none of the old ones is left"
out=$(kwadm --json mfa recovery-codes alice@acme)
json_ok "$out"
ok $? "recovery-codes --json is one JSON object"
like "$out" '"result":"replaced".*("[a-z2-9-]{17}",?){10}' \
	"with ten new codes"

# ---- reset -----------------------------------------------------------------

as_root ldapmodify >/dev/null 2>&1 <<LDIF
dn: $ALICE
changetype: modify
replace: kwCodeFailures
kwCodeFailures: 3
-
replace: kwCodeWindowStart
kwCodeWindowStart: 20260101000000Z
LDIF
ok $? "alice has failed codes counted"
like "$(kwadm mfa status alice@acme)" '^failed codes: +3$' "status shows them"
out=$(as_admin bob@acme "$BPW" mfa reset alice@acme 2>&1)
ok $? "bob, acme's administrator, resets alice's token"
like "$out" "must enrol again" "and is told she must enrol again"
is "$(token_of "$ALICE")" "" \
	"secret, state, step, codes and code failures are gone"
like "$(kwadm mfa status alice@acme)" '^state: +none$' "status says none"
out=$(kwadm mfa reset alice@acme 2>&1)
ok $? "a reset with nothing to reset is no error"
out=$(as_admin bob@acme "$BPW" mfa reset alice@acme 2>&1)
ok $? "nor for the administrator, whose right is only to delete"
out=$(kwadm mfa reset nobody@acme 2>&1)
is "$?" 1 "resetting a user who does not exist fails"
like "$out" "no such user 'nobody@acme'" "and names the user"
out=$(kwadm mfa status nobody@acme 2>&1)
is "$?" 1 "so does status"
out=$(kwadm mfa reset 'Bad*Name@acme' 2>&1)
is "$?" 1 "an invalid name is refused"

# ---- tenant set ------------------------------------------------------------

out=$(kwadm tenant set acme mfa=required grace-until=2030-01-02 \
	self-enrol=yes issuer="Acme Login" 2>&1)
ok $? "tenant set with every key"
is "$(attr_of "$ACME" kwMfaPolicy)" required "kwMfaPolicy: required"
is "$(attr_of "$ACME" kwMfaGraceUntil)" 20300102000000Z \
	"kwMfaGraceUntil: the midnight the date starts with"
is "$(attr_of "$ACME" kwMfaSelfEnrol)" TRUE "kwMfaSelfEnrol: TRUE"
is "$(attr_of "$ACME" kwMfaIssuer)" "Acme Login" "kwMfaIssuer: Acme Login"
out=$(kwadm tenant show acme)
like "$out" '^mfa: +required$' "tenant show shows the policy"
like "$out" '^mfa grace until: +2030-01-02T00:00:00Z$' "the grace time"
like "$out" '^mfa self-enrol: +yes$' "self-enrolment"
like "$out" '^mfa issuer: +Acme Login$' "and the issuer"
out=$(kwadm --json tenant show acme)
json_ok "$out"
ok $? "tenant show --json is one JSON object"
like "$out" '"mfa":"required","mfa_grace_until":"2030-01-02T00:00:00Z",' \
	"with the policy"
like "$out" '"mfa_self_enrol":true,"mfa_issuer":"Acme Login"' \
	"all of it"

enroll alice@acme right_code
is "$st" 0 "enrol alice again"
like "$out" "totp/Acme%20Login:alice%40acme\\?.*&issuer=Acme%20Login&" \
	"the tenant's issuer comes before its display name"

out=$(as_admin bob@acme "$BPW" tenant set acme mfa=optional \
	grace-until=2031-02-03T04:05:06Z self-enrol=no 2>&1)
ok $? "acme's administrator sets the policy"
is "$(attr_of "$ACME" kwMfaPolicy)" optional "kwMfaPolicy: optional"
is "$(attr_of "$ACME" kwMfaGraceUntil)" 20310203040506Z \
	"kwMfaGraceUntil to the second"
is "$(attr_of "$ACME" kwMfaSelfEnrol)" FALSE "kwMfaSelfEnrol: FALSE"
like "$(as_admin bob@acme "$BPW" tenant show acme)" '^mfa: +optional$' \
	"and sees it with tenant show"

before=$(tree)
out=$(as_admin carol@beta "$CPW" tenant set acme mfa=required 2>&1)
is "$?" 1 "beta's administrator cannot set acme's policy"
for bad in mfa=maybe mfa= grace-until=2030-02-30 grace-until=tomorrow \
	grace-until=2030-1-2 grace-until=2030-01-02T25:00:00Z \
	grace-until=2030-01-02T10:00:00 self-enrol=true \
	"issuer=$(printf 'a\tb')" \
	"issuer=$(printf '%0129d' 0)" unknown=1 mfa; do
	out=$(kwadm tenant set acme mfa=required "$bad" 2>&1)
	st=$?
	# kwadm quotes a control character as \xHH and cuts at 64 bytes
	want=$(printf '%s' "${bad%%	*}" | cut -c1-40)
	[ "$st" = 2 ] && printf '%s\n' "$out" | grep -qF "'$want"
	ok $? "tenant set acme mfa=required '$(printf '%s' "$bad" |
		cut -c1-40)' is a usage error naming it"
done
out=$(kwadm tenant set acme mfa=required mfa=optional 2>&1)
is "$?" 2 "a key given twice is a usage error"
like "$out" "given twice" "and says so"
out=$(kwadm tenant set acme 2>&1)
is "$?" 2 "tenant set without KEY=VALUE is a usage error"
[ "$before" = "$(tree)" ]
ok $? "none of the refused ones changed anything"
is "$(attr_of "$ACME" kwMfaPolicy)" optional "acme's policy is still optional"

out=$(kwadm tenant set acme grace-until=none issuer= 2>&1)
ok $? "grace-until=none issuer= remove both"
is "$(attr_of "$ACME" kwMfaGraceUntil)$(attr_of "$ACME" kwMfaIssuer)" "" \
	"kwMfaGraceUntil and kwMfaIssuer are gone"
out=$(kwadm tenant set nosuch mfa=required 2>&1)
is "$?" 1 "tenant set on a tenant that does not exist fails"
like "$out" "no such tenant 'nosuch'" "and names it"

# ---- help ------------------------------------------------------------------

for c in enroll status reset recovery-codes; do
	out=$(kwadm mfa "$c" --help)
	ok $? "kwadm mfa $c --help"
done
like "$(kwadm mfa enroll --help)" "root only" \
	"enroll's help says it is for root"
like "$(kwadm tenant set --help)" "grace-until=" \
	"tenant set --help lists the keys"

done_testing
