# slapd.sh - a private slapd for integration tests (POSIX sh).
#
# Source it, then:
#
#   trap slapd_cleanup EXIT INT TERM HUP
#   slapd_start || exit 1
#
# slapd_start builds a fresh cn=config in a temporary directory and starts
# slapd on ldapi:// (a socket in that directory), ldap:// and ldaps:// on
# 127.0.0.1 with free ports.  The server has the schemas of a default Debian
# slapd (core, cosine, nis, inetorgperson), a module list with only the
# module path (no backend, no overlay: `kwadm directory init` loads
# back_mdb and ppolicy itself), and no database but cn=config, which the
# current uid manages over ldapi:// with SASL EXTERNAL.
#
# Exported after slapd_start:
#   KW_TEST_DIR      the temporary directory (removed by slapd_cleanup)
#   SLAPD_LDAPI      ldapi:// URI of the socket
#   SLAPD_LDAP       ldap://127.0.0.1:PORT
#   SLAPD_LDAPS      ldaps://127.0.0.1:PORT
#   SLAPD_CA         CA file that signed the server certificate
#   SLAPD_WRONG_CA   an unrelated CA, for certificate failure tests
#   SLAPD_PID        the daemon's pid
#   SLAPD_PEERCRED   the SASL EXTERNAL identity of the current uid
#
# slapd_stop stops the server and waits until it is gone,
# slapd_restart_same starts it again on the same directory and ports, and
# slapd_cleanup stops it and removes the directory; it is safe to call it
# more than once and before slapd_start.
#
# SLAPD and SLAPADD (set by the Makefile) override the programs' paths.
# KW_SLAPD_DEBUG=LEVEL runs slapd in the foreground with that debug level,
# its output in $KW_TEST_DIR/slapd.log.

: "${SLAPD:=/usr/sbin/slapd}"
: "${SLAPADD:=/usr/sbin/slapadd}"
KW_SLAPD_MODULE_DIR=${KW_SLAPD_MODULE_DIR:-/usr/lib/ldap}
KW_SLAPD_SCHEMA_DIR=${KW_SLAPD_SCHEMA_DIR:-/etc/ldap/schema}

slapd_log_() {
	printf '# slapd.sh: %s\n' "$*" >&2
}

# A random port in 20000..59999.
slapd_random_port_() {
	echo $(($(od -An -N2 -tu2 /dev/urandom) % 40000 + 20000))
}

# Sleep a little; a fractional sleep is a GNU extension, fall back to 1 s.
slapd_nap_() {
	sleep 0.05 2>/dev/null || sleep 1
}

# Make a CA, a server certificate for 127.0.0.1 signed by it, and a second,
# unrelated CA.  EC keys keep this fast.
slapd_make_certs_() {
	d=$KW_TEST_DIR/tls
	mkdir -p "$d" || return 1
	for ca in ca wrong-ca; do
		openssl req -x509 -new -newkey ec \
			-pkeyopt ec_paramgen_curve:prime256v1 -nodes \
			-keyout "$d/$ca.key" -out "$d/$ca.crt" -days 2 \
			-subj "/CN=keyward test $ca" \
			-addext 'basicConstraints=critical,CA:TRUE' \
			-addext 'keyUsage=critical,keyCertSign,cRLSign' \
			>/dev/null 2>&1 || return 1
	done
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
		-nodes -keyout "$d/server.key" -out "$d/server.csr" \
		-subj '/CN=127.0.0.1' >/dev/null 2>&1 || return 1
	cat >"$d/server.ext" <<-EOF
	basicConstraints=CA:FALSE
	keyUsage=critical,digitalSignature,keyAgreement
	extendedKeyUsage=serverAuth
	subjectAltName=IP:127.0.0.1
	EOF
	openssl x509 -req -in "$d/server.csr" -CA "$d/ca.crt" \
		-CAkey "$d/ca.key" -CAcreateserial -days 2 \
		-extfile "$d/server.ext" -out "$d/server.crt" \
		>/dev/null 2>&1 || return 1
	rm -f "$d/ca.key" "$d/wrong-ca.key" "$d/server.csr"
	SLAPD_CA=$d/ca.crt
	SLAPD_WRONG_CA=$d/wrong-ca.crt
	export SLAPD_CA SLAPD_WRONG_CA
}

slapd_config_ldif_() {
	cat <<-EOF
	dn: cn=config
	objectClass: olcGlobal
	cn: config
	olcPidFile: $KW_TEST_DIR/slapd.pid
	olcArgsFile: $KW_TEST_DIR/slapd.args
	olcLogLevel: none
	olcTLSCACertificateFile: $SLAPD_CA
	olcTLSCertificateFile: $KW_TEST_DIR/tls/server.crt
	olcTLSCertificateKeyFile: $KW_TEST_DIR/tls/server.key

	dn: cn=module{0},cn=config
	objectClass: olcModuleList
	cn: module{0}
	olcModulePath: $KW_SLAPD_MODULE_DIR

	dn: cn=schema,cn=config
	objectClass: olcSchemaConfig
	cn: schema

	include: file://$KW_SLAPD_SCHEMA_DIR/core.ldif

	include: file://$KW_SLAPD_SCHEMA_DIR/cosine.ldif

	include: file://$KW_SLAPD_SCHEMA_DIR/nis.ldif

	include: file://$KW_SLAPD_SCHEMA_DIR/inetorgperson.ldif

	dn: olcDatabase={-1}frontend,cn=config
	objectClass: olcDatabaseConfig
	objectClass: olcFrontendConfig
	olcDatabase: {-1}frontend
	olcAccess: {0}to dn.base="" by * read
	olcAccess: {1}to dn.base="cn=Subschema" by * read

	dn: olcDatabase={0}config,cn=config
	objectClass: olcDatabaseConfig
	olcDatabase: {0}config
	olcAccess: {0}to * by dn.exact="$SLAPD_PEERCRED" manage by * none
	EOF
}

# Start slapd on the current ports.  Returns 0 once it answers, 1 if it
# exited (a port taken, most likely), 2 if it neither answered nor exited.
slapd_launch_() {
	rm -f "$KW_TEST_DIR/slapd.pid"
	urls="$SLAPD_LDAPI $SLAPD_LDAP $SLAPD_LDAPS"
	if [ -n "${KW_SLAPD_DEBUG:-}" ]; then
		"$SLAPD" -F "$KW_TEST_DIR/slapd.d" -h "$urls" \
			-d "$KW_SLAPD_DEBUG" >>"$KW_TEST_DIR/slapd.log" 2>&1 &
		launcher=$!
	else
		launcher=
		"$SLAPD" -F "$KW_TEST_DIR/slapd.d" -h "$urls" \
			>>"$KW_TEST_DIR/slapd.log" 2>&1 || return 1
	fi
	# Ready within 5 s: about 50 ms is usual.
	i=0
	while [ $i -lt 100 ]; do
		if ldapwhoami -H "$SLAPD_LDAPI" -Y EXTERNAL -Q \
			>/dev/null 2>&1; then
			if [ -s "$KW_TEST_DIR/slapd.pid" ]; then
				SLAPD_PID=$(cat "$KW_TEST_DIR/slapd.pid")
				export SLAPD_PID
				return 0
			fi
		fi
		if [ -n "$launcher" ] && ! slapd_alive_ "$launcher"; then
			return 1
		fi
		slapd_nap_
		i=$((i + 1))
	done
	return 2
}

# True while PID runs: a zombie counts as gone.
slapd_alive_() {
	[ -r "/proc/$1/stat" ] || return 1
	state=$(sed 's/^.*) \(.\).*$/\1/' "/proc/$1/stat" 2>/dev/null)
	[ -n "$state" ] && [ "$state" != Z ] && [ "$state" != X ]
}

slapd_start() {
	if [ ! -x "$SLAPD" ] || [ ! -x "$SLAPADD" ]; then
		slapd_log_ "slapd or slapadd not found ($SLAPD, $SLAPADD)"
		return 1
	fi
	KW_TEST_DIR=$(mktemp -d /tmp/kw.XXXXXX) || return 1
	export KW_TEST_DIR
	SLAPD_PEERCRED="gidNumber=$(id -g)+uidNumber=$(id -u)"
	SLAPD_PEERCRED="$SLAPD_PEERCRED,cn=peercred,cn=external,cn=auth"
	export SLAPD_PEERCRED
	SLAPD_LDAPI="ldapi://$(printf '%s' "$KW_TEST_DIR/ldapi" |
		sed 's|/|%2F|g')"
	export SLAPD_LDAPI
	slapd_make_certs_ || {
		slapd_log_ "openssl could not make the test certificates"
		return 1
	}
	mkdir "$KW_TEST_DIR/slapd.d" || return 1
	slapd_config_ldif_ >"$KW_TEST_DIR/config.ldif"
	"$SLAPADD" -n0 -F "$KW_TEST_DIR/slapd.d" -l "$KW_TEST_DIR/config.ldif" \
		>"$KW_TEST_DIR/slapadd.log" 2>&1 || {
		slapd_log_ "slapadd failed:"
		sed 's/^/#   /' "$KW_TEST_DIR/slapadd.log" >&2
		return 1
	}
	tries=0
	while [ $tries -lt 10 ]; do
		port=$(slapd_random_port_)
		SLAPD_LDAP="ldap://127.0.0.1:$port"
		SLAPD_LDAPS="ldaps://127.0.0.1:$((port + 1))"
		export SLAPD_LDAP SLAPD_LDAPS
		slapd_launch_
		case $? in
		0) return 0 ;;
		2)
			slapd_log_ "slapd did not answer within 5 s"
			slapd_stop
			return 1
			;;
		esac
		tries=$((tries + 1))
	done
	slapd_log_ "slapd did not start; its log:"
	sed 's/^/#   /' "$KW_TEST_DIR/slapd.log" >&2
	return 1
}

slapd_restart_same() {
	[ -n "${KW_TEST_DIR:-}" ] && [ -d "$KW_TEST_DIR/slapd.d" ] || return 1
	slapd_launch_ || {
		slapd_log_ "slapd did not start again"
		return 1
	}
}

# Stop slapd and wait until it is gone: the pid no longer runs (a zombie
# counts as gone) and the socket no longer answers.  After 5 s, SIGKILL.
slapd_stop() {
	[ -n "${SLAPD_PID:-}" ] || return 0
	kill -TERM "$SLAPD_PID" 2>/dev/null
	i=0
	while [ $i -lt 100 ]; do
		if ! slapd_alive_ "$SLAPD_PID" &&
			! ldapwhoami -H "$SLAPD_LDAPI" -Y EXTERNAL -Q \
				>/dev/null 2>&1; then
			break
		fi
		slapd_nap_
		i=$((i + 1))
	done
	if slapd_alive_ "$SLAPD_PID"; then
		slapd_log_ "slapd $SLAPD_PID ignored SIGTERM; killing it"
		kill -KILL "$SLAPD_PID" 2>/dev/null
	fi
	# In debug mode slapd is our child: reap it.  A daemonised one is not,
	# and wait answers 127, which must not end a caller under `set -e`.
	wait "$SLAPD_PID" 2>/dev/null || :
	SLAPD_PID=
	return 0
}

slapd_cleanup() {
	slapd_stop
	if [ -n "${KW_TEST_DIR:-}" ]; then
		case $KW_TEST_DIR in
		/tmp/kw.*) rm -rf "$KW_TEST_DIR" ;;
		esac
		KW_TEST_DIR=
	fi
}
