#!/bin/sh
# Generate the build system from configure.ac and Makefile.am.
set -e
cd "$(dirname "$0")"
autoreconf --force --install
# The TAP driver is used through LOG_DRIVER, which automake does not see.
cp -f "$(automake --print-libdir)/tap-driver.sh" build-aux/tap-driver.sh
