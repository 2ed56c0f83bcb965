#!/bin/sh
# setup-debian.sh - install what keyward needs to build and test on Debian 12.
#
# Run as root.  Installs only packages that are missing.  The slapd package
# is installed without starting a system-wide slapd: keyward's demo and
# tests start their own private server in a temporary directory.
set -eu

PACKAGES="
	build-essential autoconf automake libtool pkg-config
	libpam0g-dev libldap2-dev liboath-dev libssl-dev libconfig-dev
	libcmocka-dev libqrencode-dev
	slapd ldap-utils oathtool openssl
	libpam-wrapper libpamtest0-dev pamtester libnss-wrapper
	valgrind clang-format
	openssh-server openssh-client
"

if [ "$(id -u)" -ne 0 ]; then
	echo "setup-debian.sh: run as root (it installs Debian packages)" >&2
	exit 1
fi

missing=
for p in $PACKAGES; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
		grep -q 'install ok installed'; then
		missing="$missing $p"
	fi
done

if [ -z "$missing" ]; then
	echo "setup-debian.sh: all packages present"
	exit 0
fi

echo "setup-debian.sh: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
# Keep the package from starting a system slapd while it installs.
policy=/usr/sbin/policy-rc.d
made_policy=
if [ ! -e "$policy" ]; then
	printf '#!/bin/sh\nexit 101\n' >"$policy"
	chmod 0755 "$policy"
	made_policy=1
fi
trap '[ -n "$made_policy" ] && rm -f "$policy"' EXIT
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
echo "setup-debian.sh: done"
