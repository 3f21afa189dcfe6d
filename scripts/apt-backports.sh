# SPDX-License-Identifier: GPL-2.0
#
# Sourced by deps.sh and qemu-fetch.sh: make Debian's backports suite for
# this release available to apt, from the mirror the machine's own apt
# sources already use, without letting it change anything not asked for.
#
# backports_suite        prints "<codename>-backports"
# backports_mirror       prints the mirror URI the sources use for <codename>
# backports_enable PKG.. writes the source and the pin; returns 0 if apt's
#                        configuration changed (an 'apt-get update' is due)

BACKPORTS_SOURCES=/etc/apt/sources.list.d/pagetrack-backports.sources
BACKPORTS_PIN=/etc/apt/preferences.d/pagetrack-backports

backports_codename() {
	# shellcheck disable=SC1091
	. /etc/os-release && echo "$VERSION_CODENAME"
}

backports_suite() {
	echo "$(backports_codename)-backports"
}

# The first configured 'deb' source for the release itself, main component:
# that is the Debian mirror this machine was set up with.  apt lists index
# targets only once it has fetched their indexes, so a machine that never
# ran 'apt-get update' (a fresh image) gets one first.
backports_mirror() {
	local i uri

	for i in 1 2; do
		uri=$(apt-get indextargets --format '$(REPO_URI)' \
			"Release: $(backports_codename)" "Target-Of: deb" \
			"Component: main" "Identifier: Packages" 2>/dev/null |
			head -n1)
		if [ -n "$uri" ] || [ "$i" = 2 ] || [ "$(id -u)" -ne 0 ]; then
			break
		fi
		apt-get update -q >&2
	done
	echo "$uri"
}

# Write FILE with the contents of standard input unless it holds them
# already; returns 0 if it was written.
backports_write() {
	local file=$1 tmp
	tmp=$(mktemp)
	cat >"$tmp"
	if [ -f "$file" ] && cmp -s "$tmp" "$file"; then
		rm -f "$tmp"
		return 1
	fi
	mkdir -p "$(dirname "$file")"
	install -m 644 "$tmp" "$file"
	rm -f "$tmp"
	return 0
}

backports_enable() {
	local suite mirror keyring changed=1
	suite=$(backports_suite)
	mirror=$(backports_mirror)
	if [ -z "$mirror" ]; then
		echo "deps: no apt source for $(backports_codename) main found;" \
		     "cannot add $suite" >&2
		return 2
	fi
	keyring=/usr/share/keyrings/debian-archive-keyring.gpg
	{
		echo "# Written by pagetrack's scripts/deps.sh: the mirror of"
		echo "# this machine's own $(backports_codename) source."
		echo "Types: deb"
		echo "URIs: $mirror"
		echo "Suites: $suite"
		echo "Components: main"
		[ -r "$keyring" ] && echo "Signed-By: $keyring"
	} | backports_write "$BACKPORTS_SOURCES" && changed=0

	# Priority 1: nothing comes from backports unless named here, and what
	# is named here follows backports (990 beats the release's 500).
	{
		echo "# Written by pagetrack's scripts/deps.sh."
		echo "Package: *"
		echo "Pin: release n=$suite"
		echo "Pin-Priority: 1"
		if [ $# -gt 0 ]; then
			echo
			echo "Package: $*"
			echo "Pin: release n=$suite"
			echo "Pin-Priority: 990"
		fi
	} | backports_write "$BACKPORTS_PIN" && changed=0
	return $changed
}
