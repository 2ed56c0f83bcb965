#!/bin/sh
# test_totp.sh - two-factor logins through the real PAM stack (password,
# TOTP, access) under pam_wrapper, against keywardd and a private slapd.
# Codes come from oathtool, the independent implementation, at the
# current time (no test waits for a time step): what the window of one
# step either way accepts is enough for every case.
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/lib/slapd.sh"
. "$top_srcdir/tests/lib/keyward.sh"
. "$top_srcdir/tests/lib/keywardd.sh"

PAMDRIVE=$top_builddir/tests/tools/pamdrive
MODDIR=$top_builddir/.libs
PAM_WRAPPER_LIB=libpam_wrapper.so

kw_require_root
[ -x "$KEYWARDD" ] && [ -x "$PAMDRIVE" ] || skip_all "keywardd not built"
[ -f "$MODDIR/pam_keyward_totp.so" ] || skip_all "pam_keyward_totp not built"
ldconfig -p 2>/dev/null | grep -q "$PAM_WRAPPER_LIB" ||
	skip_all "pam_wrapper not installed (libpam-wrapper)"
command -v oathtool >/dev/null 2>&1 || skip_all "oathtool not installed"
PRELOAD=$PAM_WRAPPER_LIB
if ldd "$MODDIR/pam_keyward_totp.so" 2>/dev/null | grep -q libasan; then
	PRELOAD="$(${CC:-gcc} -print-file-name=libasan.so):$PAM_WRAPPER_LIB"
fi
VALGRIND=
[ "${KW_VALGRIND:-0}" = 1 ] &&
	VALGRIND="valgrind --quiet --error-exitcode=99 --leak-check=full"

trap keywardd_cleanup EXIT INT TERM HUP
kw_directory_start || { not_ok "directory ready"; done_testing; }

SVC=$KW_TEST_DIR/pam.d
MODLOG=$KW_TEST_DIR/modules.log
mkdir -p "$SVC"
: >"$MODLOG"
: >"$KW_TEST_DIR/drive.err"
printf '%s\n' 'auth required pam_deny.so' 'account required pam_deny.so' \
	>"$SVC/other"
sock=socket=$KW_TEST_DIR/kwd.sock
sed -e "/^[[:space:]]*#/!s#\\(pam_keyward_[a-z]*\\.so\\)#$MODDIR/\\1 $sock#" \
	"$top_srcdir/etc/pam.d/keyward-login" >"$SVC/login"
printf 'auth required %s %s\naccount required pam_permit.so\n' \
	"$MODDIR/pam_keyward_totp.so" "$sock" >"$SVC/code-only"

# login SERVICE USER PASSWORD [CODE]: "auth=... acct=...", the modules'
# conversation text in $KW_TEST_DIR/talk.
login() {
	s=$1 u=$2 p=$3
	if [ $# -ge 4 ]; then
		line=$(printf '%s\t%s\t%s' "$u" "$p" "$4")
	else
		line=$(printf '%s\t%s' "$u" "$p")
	fi
	printf '%s\n' "$line" | timeout 60 env LD_PRELOAD="$PRELOAD" \
		PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR="$SVC" \
		PAM_WRAPPER_DEBUGLEVEL=3 $VALGRIND "$PAMDRIVE" "$s" \
		2>"$KW_TEST_DIR/talk.raw" | sed 's/^[0-9]* //'
	grep -a 'SYSLOG(' "$KW_TEST_DIR/talk.raw" >>"$MODLOG"
	grep -av '^PWRAP_' "$KW_TEST_DIR/talk.raw" >"$KW_TEST_DIR/talk"
	cat "$KW_TEST_DIR/talk" >>"$KW_TEST_DIR/drive.err"
}
code_of() { # code_of BASE32KEY [OFFSET_S] [DIGITS]
	oathtool --totp -b -d "${3:-6}" \
		-N "@$(($(date +%s) + ${2:-0}))" "$1"
}
last_outcome() { # the outcome of keywardd's last TOTP decision
	grep ' TOTP ' "$KWD_LOG" | tail -n 1 |
		sed -n 's/.*outcome=\([a-z_]*\).*/\1/p'
}
OK="auth=PAM_SUCCESS acct=PAM_SUCCESS"
AUTH_ERR="auth=PAM_AUTH_ERR acct=-"

{
	for t in acme beta gamma delta; do kwadm tenant create $t; done
	kw_make_user bob@acme 'bob: no token 1' &&
		kw_make_user carol@beta 'carol: self-enrols 2' &&
		kw_make_user frank@beta 'frank: races 5' &&
		kw_make_user dave@gamma 'dave: required 3' &&
		kw_make_user erin@delta 'erin: in grace 4'
	future=$(date -u -d '+30 days' +%Y-%m-%d)
	kwadm tenant set beta mfa=required "grace-until=$future" \
		self-enrol=yes
	kwadm tenant set gamma mfa=required
	kwadm tenant set delta mfa=required "grace-until=$future" \
		self-enrol=no
} >"$KW_TEST_DIR/setup.out" 2>&1
ok $? "tenants with optional, required-with-enrolment, required and grace"
keywardd_start -o lockout.code_user_limit=100 \
	-o lockout.code_address_limit=1000
ok $? "keywardd starts"

# ---- no token ----------------------------------------------------------

is "$(login login bob@acme 'bob: no token 1' 000000)" "$OK" \
	"optional MFA and no token: the password alone logs in"
like "$(cat "$MODLOG")" \
	'no token, none required \(said with the password\) -> PAM_IGNORE' \
	"the TOTP module answered PAM_IGNORE, not PAM_SUCCESS"
is "$(grep ' TOTP ' "$KWD_LOG" | grep -c ' user=bob ')" 0 \
	"without asking keywardd: the password's answer said there is no code"
like "$(grep ' AUTHENTICATE ' "$KWD_LOG" | grep ' user=bob ' | tail -n 1)" \
	'outcome=success status=OK code=none' "as keywardd's log line says"
kwadm mfa enroll bob@acme </dev/null >"$KW_TEST_DIR/bob.enrol" 2>&1
is "$(attr_of "uid=bob,ou=people,o=acme,$KW_TENANTS" kwTotpState)" pending \
	"bob gets a token that is not active yet (a wrong first code)"
is "$(login login bob@acme 'bob: no token 1' 000000)" "$OK" \
	"optional MFA and a pending token: still the password alone"
is "$(grep ' TOTP ' "$KWD_LOG" | grep -c ' user=bob ')" 1 \
	"but now the TOTP module asks keywardd"
is "$(last_outcome)" not_enrolled "which finds no active token"

# The answer of one password step is not the next one's: an application
# that authenticates twice on one handle, with MFA required in between,
# is asked for the code the second time.
{ kwadm tenant create eps && kw_make_user gina@eps 'gina: asked again 6'; } \
	>>"$KW_TEST_DIR/setup.out" 2>&1
twice=$(printf 'gina@eps\tgina: asked again 6\t000000\n' |
	env LD_PRELOAD="$PRELOAD" PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR="$SVC" \
	$VALGRIND "$PAMDRIVE" \
	-a "'$KWADM' -c '$KW_CONF' tenant set eps mfa=required >/dev/null" \
	login 2>>"$KW_TEST_DIR/drive.err" | sed 's/^[0-9]* //')
is "$twice" "auth1=PAM_SUCCESS auth=PAM_AUTH_ERR acct=-" \
	"a second password step on one handle: no code first, MFA required next"
is "$(last_outcome)" mfa_required \
	"the second time the TOTP module asked keywardd, and it said so"
is "$(login login dave@gamma 'dave: required 3' 000000)" "$AUTH_ERR" \
	"required MFA without a token and no grace: refused"
is "$(last_outcome)" mfa_required "recorded as mfa_required"
is "$(login login erin@delta 'erin: in grace 4' 000000)" "$OK" \
	"required MFA, no self-enrolment, in the grace period: let in"
as_root ldapmodify >/dev/null 2>&1 <<LDIF
dn: o=delta,$KW_TENANTS
changetype: modify
replace: kwMfaGraceUntil
kwMfaGraceUntil: 20000101000000Z
LDIF
is "$(login login erin@delta 'erin: in grace 4' 000000)" "$AUTH_ERR" \
	"once the grace period has passed: refused"

# ---- self-enrolment through the conversation ---------------------------

# The code prompt's answer: oathtool over the key the enrolment showed,
# which is also kept for the later logins.
ENROL="!sed -n 's/.*by hand: \\([A-Z2-7]*\\)\$/\\1/p' | tee $KW_TEST_DIR/carol.key | head -n 1 | xargs oathtool --totp -b"
out=$(login login carol@beta 'carol: self-enrols 2' "$ENROL")
is "$out" "$OK" "carol enrols at her first login, and is let in"
KEY=$(cat "$KW_TEST_DIR/carol.key")
like "$KEY" '^[A-Z2-7]{32}$' "the enrolment showed a base32 key"
like "$(cat "$KW_TEST_DIR/talk")" 'Scan this code with an authenticator app' \
	"and a QR code to scan"
grep -a -A 12 'Recovery codes' "$KW_TEST_DIR/talk" |
	sed -n 's/^ *\([a-z2-9]\{5\}-[a-z2-9]\{5\}-[a-z2-9]\{5\}\)$/\1/p' \
	>"$KW_TEST_DIR/carol.codes"
is "$(grep -c . "$KW_TEST_DIR/carol.codes")" 10 \
	"and, once active, ten recovery codes"
CAROL=$(kw_user_dn carol@beta)
is "$(attr_of "$CAROL" kwTotpState)" active "the token is active (ldapsearch)"
like "$(attr_of "$CAROL" kwTotpSecret)" '^kw1:' "its secret is sealed"
is "$(attr_of "$CAROL" kwTotpSecret | grep -c "$KEY")" 0 \
	"and the key itself is not stored"
is "$(attr_of "$CAROL" kwRecoveryCode | grep -c .)" 10 \
	"ten recovery codes are stored"
is "$(attr_of "$CAROL" kwRecoveryCode | grep -cFf "$KW_TEST_DIR/carol.codes")" \
	0 "as hashes: none of the codes appears"

# ---- codes ---------------------------------------------------------------

C_PW='carol: self-enrols 2'
# The enrolment used the current step; the next one is within the window.
NEXT=$(code_of "$KEY" 30)
is "$(login login carol@beta "$C_PW" "$NEXT")" "$OK" \
	"a code made by oathtool logs carol in"
is "$(last_outcome)" success "recorded as success"
is "$(login login carol@beta "$C_PW" "$NEXT")" "$AUTH_ERR" \
	"the same code a second time is refused"
is "$(last_outcome)" replayed_code "as a replayed code"
is "$(login login carol@beta "$C_PW" "$(code_of "$KEY" -600)")" "$AUTH_ERR" \
	"a code of ten minutes ago is refused"
is "$(last_outcome)" wrong_code "as a wrong code"
is "$(login login carol@beta "$C_PW" "$(code_of "$KEY" 60 8)")" "$AUTH_ERR" \
	"an 8-digit code (which liboath alone would take) is refused"
is "$(last_outcome)" malformed_code "as malformed"
is "$(login login carol@beta "$C_PW" 12ab56)" "$AUTH_ERR" \
	"non-digits are refused"
is "$(login login carol@beta "$C_PW" '')" "$AUTH_ERR" "an empty code too"
is "$(last_outcome)" malformed_code "as malformed"
is "$(login login carol@beta 'not her password' "$(code_of "$KEY")")" \
	"$AUTH_ERR" "a right code after a wrong password is refused"
is "$(grep -c 'Verification code' "$KW_TEST_DIR/talk")" 0 \
	"and no code is even asked for"
is "$(login code-only carol@beta "$C_PW" "$(code_of "$KEY")")" \
	"$AUTH_ERR" "a TOTP module without the password module refuses"
is "$(last_outcome)" password_not_checked "and says why"

# Recovery codes: each once.
RC=$(sed -n 1p "$KW_TEST_DIR/carol.codes")
is "$(login login carol@beta "$C_PW" "$RC")" "$OK" \
	"a recovery code logs carol in"
is "$(last_outcome)" recovery_code "recorded as a recovery code"
is "$(attr_of "$CAROL" kwRecoveryCode | grep -c .)" 9 "nine are left"
is "$(login login carol@beta "$C_PW" "$RC")" "$AUTH_ERR" \
	"the same recovery code a second time is refused"
RC2=$(sed -n 2p "$KW_TEST_DIR/carol.codes" | tr a-z A-Z | tr -d -)
is "$(login login carol@beta "$C_PW" "$RC2")" "$OK" \
	"another one, typed in capitals without dashes, works"

# One code, 20 logins at once: exactly one gets in.  frank enrols first
# (which uses the current step), then all race with the next step's code.
FRANK_ENROL=$(printf '%s' "$ENROL" | sed "s#carol.key#frank.key#")
is "$(login login frank@beta 'frank: races 5' "$FRANK_ENROL")" "$OK" \
	"frank enrols"
ONE=$(code_of "$(cat "$KW_TEST_DIR/frank.key")" 30)
i=0
: >"$KW_TEST_DIR/par.in"
while [ $i -lt 20 ]; do
	printf '%s\t%s\t%s\n' frank@beta 'frank: races 5' "$ONE" \
		>>"$KW_TEST_DIR/par.in"
	i=$((i + 1))
done
timeout 120 env LD_PRELOAD="$PRELOAD" PAM_WRAPPER=1 \
	PAM_WRAPPER_SERVICE_DIR="$SVC" "$PAMDRIVE" -j 20 -o auth login \
	<"$KW_TEST_DIR/par.in" >"$KW_TEST_DIR/par.out" 2>/dev/null
is "$(grep -c 'auth=PAM_SUCCESS' "$KW_TEST_DIR/par.out")" 1 \
	"20 parallel logins with one valid code: exactly one succeeds"
is "$(grep -c 'auth=PAM_AUTH_ERR' "$KW_TEST_DIR/par.out")" 19 \
	"and the other 19 are refused"
keywardd_stop

# ---- failed codes are limited ------------------------------------------

keywardd_start -o lockout.code_user_limit=3 -o lockout.code_address_limit=1000
ok $? "keywardd with 3 failed codes per user"
for c in 111111 222222 333333; do
	login login carol@beta "$C_PW" "$c" >/dev/null
done
i=0
while [ $i -lt 200 ] && [ "$(attr_of "$CAROL" kwLockReason)" != code ]; do
	sleep 0.05
	i=$((i + 1))
done
is "$(attr_of "$CAROL" kwLockReason)" code \
	"three wrong codes lock carol, with the reason 'code'"
RC3=$(sed -n 3p "$KW_TEST_DIR/carol.codes")
is "$(login login carol@beta "$C_PW" "$RC3")" "$AUTH_ERR" \
	"while locked, even a good recovery code is refused"
kwadm user unlock carol@beta >/dev/null 2>&1
is "$(login login carol@beta "$C_PW" "$RC3")" "$OK" \
	"unlocked, it works"
keywardd_stop

# ---- nothing secret in the logs -----------------------------------------

leaked=0
for s in "$KEY" "$NEXT" "$ONE" "$RC" "$RC2" "$RC3" 'carol: self-enrols 2'; do
	grep -qF -- "$s" "$KWD_LOG" "$MODLOG" && leaked=1
done
ok $leaked "no key, code, recovery code or password in either log"
done_testing
