#!/bin/sh
# Replay the names corpus through fuzz_names (TAP on stdout).
: "${top_builddir:=.}" "${top_srcdir:=.}"
exec "$top_builddir/tests/fuzz/fuzz_names_replay" \
	"$top_srcdir/tests/fuzz/corpus/names"
