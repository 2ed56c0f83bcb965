#!/bin/sh
# test_kwadm_usage.sh - kwadm without a directory: help, usage errors,
# invalid names, configuration errors and an unreachable directory.
#
# No case here may reach a directory server: every name check must fail
# before kwadm connects, so the admin URI points at a socket that does
# not exist, and the messages are checked to be about the name.

: "${top_srcdir:=.}"
: "${top_builddir:=$top_srcdir}"
. "$top_srcdir/tests/lib/tap.sh"

KWADM=$top_builddir/kwadm
[ -x "$KWADM" ] || skip_all "kwadm not built"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/kw-usage.XXXXXX") || exit 1
trap 'rm -rf "$TMP"' EXIT INT TERM HUP

EMPTY_CONF=$TMP/empty.conf
: >"$EMPTY_CONF"
NOWHERE=ldapi://%2Fnonexistent
UNREACHABLE=ldapi://%2Ftmp%2Fkw-nonexistent

# run ARGS...: run kwadm, leaving $status, $out and $err.
run() {
	"$KWADM" "$@" >"$TMP/out" 2>"$TMP/err" </dev/null
	status=$?
	out=$(cat "$TMP/out")
	err=$(cat "$TMP/err")
}

# run_offline ARGS...: kwadm with no config file and no reachable server.
run_offline() {
	run -c "$EMPTY_CONF" -o "directory.admin_uri=$NOWHERE" "$@"
}

# --- help and version ------------------------------------------------------

run --help
is "$status" 0 "--help exits 0"
like "$out" '^SYNOPSIS' "--help has a SYNOPSIS"
like "$out" '^EXIT STATUS' "--help has EXIT STATUS"
is "$err" "" "--help writes nothing to stderr"

run help
is "$status" 0 "'help' exits 0"
like "$out" '^SYNOPSIS' "'help' has a SYNOPSIS"

run -V
is "$status" 0 "-V exits 0"
like "$out" '^kwadm .*[0-9]+\.[0-9]+' "-V prints the version"

run --version
is "$status" 0 "--version exits 0"

for group in directory tenant user role; do
	run "$group" --help
	is "$status" 0 "'$group --help' exits 0"
	like "$out" 'SYNOPSIS' "'$group --help' has a SYNOPSIS"
done

run user add --help
is "$status" 0 "'user add --help' exits 0"
like "$out" 'SYNOPSIS' "'user add --help' has a SYNOPSIS"
like "$out" '--generate' "'user add --help' lists its options"
like "$out" 'EXAMPLE' "'user add --help' has an example"

run help role grant
is "$status" 0 "'help role grant' exits 0"
like "$out" 'role grant ROLE@TENANT USER' "'help role grant' shows it"

# --- usage errors ------------------------------------------------------------

run frobnicate
is "$status" 2 "an unknown command exits 2"
like "$err" "^kwadm: unknown command 'frobnicate'" "and names it"
like "$err" "Try 'kwadm --help'" "and gives a hint"
is "$out" "" "and prints nothing on stdout"

run --no-such-option tenant list
is "$status" 2 "an unknown global option exits 2"
like "$err" "unknown option '--no-such-option'" "and names it"

run tenant list --no-such-option
is "$status" 2 "an unknown command option exits 2"
like "$err" "Try 'kwadm tenant list --help'" "and hints at the command"

run tenant frobnicate
is "$status" 2 "an unknown subcommand exits 2"
like "$err" "Try 'kwadm tenant --help'" "and hints at the group"

run
is "$status" 2 "no command exits 2"

run tenant
is "$status" 2 "a group without a subcommand exits 2"

run tenant create
is "$status" 2 "'tenant create' without a name exits 2"
like "$err" 'missing tenant name' "and says what is missing"

run tenant create acme extra
is "$status" 2 "an extra argument exits 2"

run tenant create acme --display-name
is "$status" 2 "an option without its value exits 2"
like "$err" "'--display-name' needs a value" "and names the option"

run role grant admins@acme
is "$status" 2 "'role grant' without a user exits 2"

run user add alice@acme --generate --password-file /dev/null
is "$status" 2 "--generate with --password-file exits 2"

run -U alice@acme tenant list
is "$status" 2 "--admin without --password-file exits 2"

run -o no-equals-sign tenant list
is "$status" 2 "-o without NAME=VALUE exits 2"

# --- invalid names: exit 1, about the name, no connection ------------------

# check_name DESC ARGS...: an invalid name is refused with the rule.
check_name() {
	desc=$1
	shift
	run_offline "$@"
	is "$status" 1 "$desc exits 1"
	like "$err" 'is not a valid (tenant|user|role) name: ' \
		"$desc: the message names the rule"
	case $err in
	*"cannot reach"* | *"Can't contact"*)
		not_ok "$desc: no directory was contacted" ;;
	*)
		ok 0 "$desc: no directory was contacted" ;;
	esac
}

check_name "tenant 'Acme!'" tenant create 'Acme!'
check_name "tenant '-acme'" tenant show -- -acme
check_name "tenant of 33 characters" tenant show \
	abcdefghijabcdefghijabcdefghijabc
check_name "user 'Alice@acme'" user add 'Alice@acme'
check_name "user 'alice@ac me'" user show 'alice@ac me'
check_name "user without tenant" user show alice
check_name "tenant of user list" user list 'ACME'
check_name "role 'x_@acme'" role create 'x_@acme'
check_name "role 'ops@Acme'" role members 'ops@Acme'
check_name "user of a grant" role grant ops@acme 'bad name'
check_name "--admin name" -U 'Bob@acme' --password-file /dev/null \
	tenant list

run_offline tenant create 'Acme!'
like "$err" "'Acme!' is not a valid tenant name: use 1-32 of a-z, 0-9 and '-'" \
	"the tenant rule is spelled out"

run_offline role grant ops@acme bob@other
is "$status" 1 "granting a role to another tenant's user exits 1"
like "$err" "not in tenant 'acme'" "and says why"

run_offline tenant create acme --display-name "$(printf 'a\tb')"
is "$status" 1 "a display name with a control character exits 1"

# --- configuration -------------------------------------------------------------

run -c "$TMP/no-such.conf" tenant list
is "$status" 1 "a missing -c file exits 1"
like "$err" "no-such.conf" "and names the file"

printf '# keyward.conf with a typing error\n%s\n' \
	'directory: { no_such_setting = "x"; };' >"$TMP/unknown.conf"
run -c "$TMP/unknown.conf" tenant list
is "$status" 1 "an unknown setting exits 1"
like "$err" "unknown.conf:2" "and names file:line"
like "$err" "no_such_setting" "and names the setting"

run -c "$EMPTY_CONF" -o no.such_setting=1 tenant list
is "$status" 1 "an unknown -o setting exits 1"
like "$err" "no.such_setting" "and names it"

run -c "$EMPTY_CONF" directory init --schema "$TMP/no-such.ldif"
is "$status" 1 "a missing schema file exits 1"
like "$err" "no-such.ldif" "and names the file"

run -c "$EMPTY_CONF" directory show-config
is "$status" 0 "show-config works without a directory"
like "$out" 'directory.admin_uri' "and prints the settings"

run -c "$EMPTY_CONF" --json directory show-config
like "$out" '^\{".*\}$' "show-config --json prints one JSON object"

# --- an unreachable directory --------------------------------------------------

run -c "$EMPTY_CONF" -o "directory.admin_uri=$UNREACHABLE" tenant list
is "$status" 1 "an unreachable directory exits 1"
like "$err" "^kwadm: cannot reach the directory" "and says so"
like "$err" "kw-nonexistent" "and names the URI"

run -c "$EMPTY_CONF" -o "directory.admin_uri=$UNREACHABLE" \
	user show alice@acme
is "$status" 1 "a valid user name is sent on and fails to connect"
like "$err" "cannot reach the directory" "with the connection message"

run -c "$EMPTY_CONF" -U alice@acme --password-file "$TMP/no-such.pw" \
	tenant list
is "$status" 1 "a missing --password-file exits 1"
like "$err" "no-such.pw" "and names the file"

: >"$TMP/empty.pw"
run -c "$EMPTY_CONF" -U alice@acme --password-file "$TMP/empty.pw" \
	tenant list
is "$status" 1 "an empty password file exits 1"
like "$err" "empty" "and says it is empty"

run -c "$EMPTY_CONF" -o "directory.admin_uri=$UNREACHABLE" \
	tenant delete acme
is "$status" 1 "tenant delete without --yes and without a tty exits 1"
like "$err" "without --yes" "and says why"

done_testing
