#!/bin/sh
# test_sshd.sh - end-to-end logins through a real OpenSSH sshd with the
# shipped keyward-sshd PAM stack: password, TOTP self-enrolment through
# keyboard-interactive, codes made by oathtool, refusals, and the records
# they leave in the tenant's audit log.
#
# Nothing of the host changes: sshd runs in a private mount and PID
# namespace (unshare) with /etc overlaid (its own pam.d/keyward-sshd and
# a passwd line for the test user, who has no NSS module yet), a fresh
# /run and /var/log, on a loopback port.  The client answers sshd's
# prompts with an SSH_ASKPASS script; a prompt that carries an
# enrolment's key gets the code oathtool computes from it.
#
# The stack's session lines are replaced with pam_permit: pam_loginuid
# and pam_limits need a login record that a PID namespace does not give,
# and sessions are not what this test is about.
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/lib/slapd.sh"
. "$top_srcdir/tests/lib/keyward.sh"
. "$top_srcdir/tests/lib/keywardd.sh"

MODDIR=$top_builddir/.libs
kw_require_root
for tool in unshare ssh ssh-keygen oathtool; do
	command -v $tool >/dev/null 2>&1 || skip_all "$tool not installed"
done
[ -x /usr/sbin/sshd ] || skip_all "sshd not installed (openssh-server)"
id sshd >/dev/null 2>&1 || skip_all "no sshd user (openssh-server)"
[ -f "$MODDIR/pam_keyward_totp.so" ] || skip_all "modules not built"
if ldd "$MODDIR/pam_keyward_totp.so" 2>/dev/null | grep -q libasan; then
	# sshd would need the sanitizer runtime preloaded: the other builds
	# run this test.
	skip_all "a sanitizer build: sshd cannot load these modules"
fi
unshare --mount --pid --fork --kill-child true 2>/dev/null ||
	skip_all "cannot make mount and PID namespaces here"

trap keywardd_cleanup EXIT INT TERM HUP
kw_directory_start || { not_ok "directory ready"; done_testing; }

A_PW='alice: over ssh 1'
{
	kwadm tenant create acme &&
		kw_make_user alice@acme "$A_PW" &&
		kwadm tenant set acme mfa=required \
			"grace-until=$(date -u -d '+30 days' +%Y-%m-%d)" \
			self-enrol=yes
} >"$KW_TEST_DIR/setup.out" 2>&1
ok $? "tenant acme requires TOTP and lets users enrol; user alice@acme"
keywardd_start
ok $? "keywardd starts"
A_UID=$(kwadm --json user show alice@acme | sed -n 's/.*"uid":\([0-9]*\).*/\1/p')

E2E=$KW_TEST_DIR/e2e
mkdir -p "$E2E/etc-up/pam.d" "$E2E/etc-work"
PORT=$((20000 + $$ % 20000))
ssh-keygen -q -t ed25519 -N '' -f "$E2E/host_key"
cat >"$E2E/sshd_config" <<CONF
ListenAddress 127.0.0.1:$PORT
HostKey $E2E/host_key
PidFile $E2E/sshd.pid
UsePAM yes
KbdInteractiveAuthentication yes
PasswordAuthentication no
PubkeyAuthentication no
PermitRootLogin no
UseDNS no
MaxStartups 20
LogLevel VERBOSE
CONF
sed -e "/^[[:space:]]*#/!s#\\(pam_keyward_[a-z]*\\.so\\)#$MODDIR/\\1 socket=$KWD_SOCKET#" \
	-e 's/^session.*/session    required     pam_permit.so/' \
	"$top_srcdir/etc/pam.d/keyward-sshd" >"$E2E/etc-up/pam.d/keyward-sshd"
{
	cat /etc/passwd
	echo "alice@acme:x:$A_UID:$A_UID:Alice:/:/bin/sh"
} >"$E2E/etc-up/passwd"
{
	cat /etc/group
	echo "acme-users:x:$A_UID:"
} >"$E2E/etc-up/group"
ln -s /usr/sbin/sshd "$E2E/keyward-sshd"

# The client's answers: the password, or a code.  KW_ASK_CODE says which
# code: "enrol" (computed from the key in the prompt, kept in key),
# "next" (from the kept key, for the next time step), "last" (the code
# "next" gave last time), or a literal one.
cat >"$E2E/askpass" <<'ASK'
#!/bin/sh
printf '%s\n' "$1" | tr '\n' ' ' | cut -c1-60 >>"$KW_ASK_LOG"
echo >>"$KW_ASK_LOG"
case $1 in
*"by hand: "*)
	key=$(printf '%s\n' "$1" | sed -n 's/.*by hand: \([A-Z2-7]*\).*/\1/p')
	printf '%s\n' "$key" >"$KW_ASK_DIR/key"
	oathtool --totp -b "$key" ;;
*"Verification code"*)
	case $KW_ASK_CODE in
	next) oathtool --totp -b -N "@$(($(date +%s) + 30))" \
		"$(cat "$KW_ASK_DIR/key")" | tee "$KW_ASK_DIR/last_code" ;;
	last) cat "$KW_ASK_DIR/last_code" ;;
	*) printf '%s\n' "$KW_ASK_CODE" ;;
	esac ;;
*) printf '%s\n' "$KW_ASK_PW" ;;
esac
ASK
chmod 0755 "$E2E/askpass"

# Inside the namespace: the overlays, sshd, the logins.
cat >"$E2E/inner.sh" <<INNER
set -u
mount -t tmpfs tmpfs /run && mkdir -m 0755 /run/sshd || exit 10
mount -t overlay overlay \
	-o lowerdir=/etc,upperdir=$E2E/etc-up,workdir=$E2E/etc-work /etc ||
	exit 11
mount -t tmpfs tmpfs /var/log || exit 12
$E2E/keyward-sshd -D -e -f $E2E/sshd_config 2>$E2E/sshd.log &
i=0
while [ \$i -lt 100 ] && ! ssh-keyscan -p $PORT 127.0.0.1 >/dev/null 2>&1; do
	sleep 0.1
	i=\$((i + 1))
done
# login NAME PASSWORD CODE: the command's output, then "exit=N".
login() {
	KW_ASK_PW=\$2 KW_ASK_CODE=\$3 KW_ASK_DIR=$E2E \
	KW_ASK_LOG=$E2E/asked.\$1 SSH_ASKPASS=$E2E/askpass \
	SSH_ASKPASS_REQUIRE=force DISPLAY=none setsid ssh -F /dev/null \
		-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
		-o PreferredAuthentications=keyboard-interactive \
		-o NumberOfPasswordPrompts=1 -o BatchMode=no \
		-p $PORT -l alice@acme 127.0.0.1 'echo logged-in as \$(id -un)' \
		</dev/null >$E2E/out.\$1 2>$E2E/err.\$1
	echo "exit=\$?" >>$E2E/out.\$1
}
login enrol '$A_PW' enrol
login code '$A_PW' next
login replay '$A_PW' last
login wrongcode '$A_PW' 000000
login wrongpw 'not it' next
kill \$(cat $E2E/sshd.pid) 2>/dev/null
INNER
: >"$E2E/asked.enrol"
unshare --mount --pid --fork --kill-child --mount-proc sh "$E2E/inner.sh"
ok $? "sshd ran in its own namespaces"
for f in enrol code replay wrongcode wrongpw; do
	[ -f "$E2E/out.$f" ] || echo "exit=none" >"$E2E/out.$f"
done

is "$(cat "$E2E/out.enrol")" "logged-in as alice@acme
exit=0" "first ssh login: alice enrols through keyboard-interactive"
like "$(cat "$E2E/asked.enrol")" 'Two-factor login must be set up' \
	"the enrolment (QR code and key) reached the client with the prompt"
like "$(cat "$E2E/key" 2>/dev/null)" '^[A-Z2-7]{32}$' \
	"and the key, from which oathtool made the first code"
is "$(cat "$E2E/out.code")" "logged-in as alice@acme
exit=0" "next login: the password and a code from oathtool"
like "$(cat "$E2E/asked.code")" 'Verification code' "asked for the code"
is "$(tail -n 1 "$E2E/out.replay")" "exit=255" "the same code again: refused"
is "$(tail -n 1 "$E2E/out.wrongcode")" "exit=255" "a wrong code: refused"
is "$(tail -n 1 "$E2E/out.wrongpw")" "exit=255" "a wrong password: refused"
is "$(grep -c 'Verification code' "$E2E/asked.wrongpw")" 0 \
	"and no code is asked after a wrong password"

# The audit log saw every one of them, from sshd.
records() {
	count_entries "ou=audit,o=acme,$KW_TENANTS" "$1"
}
wait_for() { # wait_for FILTER N
	i=0
	while [ $i -lt 200 ] && [ "$(records "$1")" != "$2" ]; do
		sleep 0.05
		i=$((i + 1))
	done
	records "$1"
}
SVC='(kwService=keyward-sshd)(kwRemoteHost=127.0.0.1)'
for r in enrolled success replayed_code wrong_code wrong_password; do
	n=$(wait_for "(&$SVC(kwReason=$r))" 1)
	[ "$n" -ge 1 ]
	ok $? "the audit log has the $r of the sshd logins ($n)"
done
if [ "${KW_E2E_KEEP:-}" ]; then
	cp -r "$E2E" "$KW_E2E_KEEP"
fi
diag "sshd: $(grep -c 'Accepted keyboard-interactive' "$E2E/sshd.log") \
accepted, $(grep -c 'Failed keyboard-interactive\|error: PAM' \
	"$E2E/sshd.log") refused"
done_testing
