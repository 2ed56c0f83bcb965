#!/bin/sh
# test_format.sh - every C file is formatted with the repository's
# .clang-format (80 columns, tabs, one brace style).
#
# One case per file, so that the summary names what to run
# `clang-format -i` on.  Skipped as a whole where clang-format is absent.
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$top_srcdir/tests/lib/tap.sh"

command -v clang-format >/dev/null 2>&1 ||
	skip_all "clang-format not installed (apt-get install clang-format)"
[ -f "$top_srcdir/.clang-format" ] || skip_all "no .clang-format"

cd "$top_srcdir" || exit 1
files=$(find directory modules tests bench -name '*.[ch]' | LC_ALL=C sort)
[ -n "$files" ] || skip_all "no C files found"
for f in $files; do
	clang-format --style=file --dry-run --Werror "$f" >/dev/null 2>&1
	ok $? "$f is formatted"
done
done_testing
