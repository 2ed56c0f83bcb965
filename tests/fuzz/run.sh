#!/bin/sh
# Build keyward's fuzz targets as libFuzzer fuzzers and run each one.
#
#   tests/fuzz/run.sh [SECONDS [TARGET...]]
#
# SECONDS (default 60) is the time given to each target; TARGET is one of
# the names in the table below (default: all of them).  Each target starts
# from a copy of its seed corpus in tests/fuzz/corpus/<target>/, so that
# a run never writes into the source tree; a crashing input is kept in
# ./fuzz-artifacts/<target>/ for a new seed and a unit test.
#
# `make check` replays the seed corpora with any compiler; this script
# needs clang and is skipped (successfully) without it.
set -eu

srcdir=$(cd "$(dirname "$0")/../.." && pwd)
seconds=${1:-60}
[ $# -gt 0 ] && shift

# target | the sources it needs besides tests/fuzz/fuzz_<target>.c | libs
targets='
names|directory/model/kw_names.c|
ldif|directory/model/kw_ldif.c|
proto|directory/protocol/kw_proto.c directory/protocol/kw_io.c directory/common/kw_secret.c directory/common/kw_log.c|
unseal|directory/mfa/kw_totp.c directory/mfa/kw_seal.c directory/mfa/kw_recovery.c directory/mfa/kw_qr.c directory/crypto/kw_keys.c directory/common/kw_secret.c directory/common/kw_config.c directory/common/kw_log.c|-loath -lcrypto -lqrencode -lconfig
audit|directory/audit/kw_audit.c directory/common/kw_secret.c|-lcrypto
'

if ! command -v clang >/dev/null 2>&1; then
	echo "run.sh: clang not found: fuzzers not built (make check still" \
		"replays the corpora)"
	exit 0
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/kwfuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM

# The sources include config.h; these targets need nothing of it but the
# feature macros that configure would set.
cat >"$work/config.h" <<'EOH'
#define _GNU_SOURCE 1
#define HAVE_EXPLICIT_BZERO 1
EOH

wanted=${*:-$(echo "$targets" | cut -d'|' -f1 | tr '\n' ' ')}
failed=0
for target in $wanted; do
	line=$(echo "$targets" | grep "^$target|" || true)
	if [ -z "$line" ]; then
		echo "run.sh: unknown target $target" >&2
		failed=1
		continue
	fi
	sources=$(echo "$line" | cut -d'|' -f2)
	libs=$(echo "$line" | cut -d'|' -f3)
	fuzzer="$work/fuzz_$target"
	echo "== $target: building"
	# shellcheck disable=SC2086 # word splitting of the lists is wanted
	if ! (cd "$srcdir" && clang -g -O1 -fsanitize=fuzzer,address,undefined \
		-fno-sanitize-recover=undefined -I"$work" \
		-Idirectory/common -Idirectory/model -Idirectory/protocol \
		-Idirectory/crypto -Idirectory/mfa -Idirectory/audit \
		-DSYSCONFDIR='"/etc"' -DRUNSTATEDIR='"/run"' \
		-DLOCALSTATEDIR='"/var"' \
		-o "$fuzzer" "tests/fuzz/fuzz_$target.c" $sources $libs); then
		echo "run.sh: $target: build failed" >&2
		failed=1
		continue
	fi
	mkdir -p "$work/corpus-$target" "fuzz-artifacts/$target"
	if [ -d "$srcdir/tests/fuzz/corpus/$target" ]; then
		cp "$srcdir/tests/fuzz/corpus/$target"/* "$work/corpus-$target/"
	fi
	echo "== $target: fuzzing for $seconds s"
	if ! "$fuzzer" -max_total_time="$seconds" -print_final_stats=1 \
		-artifact_prefix="fuzz-artifacts/$target/" \
		"$work/corpus-$target"; then
		echo "run.sh: $target: failed, see fuzz-artifacts/$target/" >&2
		failed=1
	fi
	rmdir "fuzz-artifacts/$target" fuzz-artifacts 2>/dev/null || true
done
exit $failed
