#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Install kernel modules into a guest image's staging tree, for every
# kernel release pagetrack supports (scripts/kdirs.sh), so that one image
# boots on each: STAGE/lib/modules/RELEASE/ gets the named modules and
# everything they need, decompressed (busybox insmod reads plain .ko
# only), and load.order, their file names one a line in the order to
# insmod them.  The order comes from the release's modules.dep, and
# modules.softdep's "pre:" modules, found through modules.alias, come
# before the module that wants them (ext4 wants crc32c, which modules.dep
# does not name).  The guest's loader, selftests/vmm/guest/load_modules.sh,
# goes in as STAGE/bin/load-modules.
# usage: kmods.sh STAGE MODULE...

set -e
stage=${1:?usage: kmods.sh STAGE MODULE...}
shift
srcdir=$(cd "$(dirname "$0")/.." && pwd)

# modpath NAME: NAME's file in modules.dep ('-' and '_' are one).
modpath() {
	awk -F: -v n="$(echo "$1" | tr - _)" '{
		b = $1; sub(/.*\//, "", b); sub(/\.ko(\.xz|\.gz)?$/, "", b)
		gsub(/-/, "_", b)
		if (b == n) { print $1; exit }
	}' "$mdir/modules.dep"
}

# order PATH: PATH's dependencies, then PATH, each once, into $list.
order() {
	local path="$1" name dep soft mod
	case " $list " in *" $path "*) return 0 ;; esac
	name=$(basename "$path" | sed 's/\.ko.*//' | tr - _)
	for soft in $(awk -v n="$name" '$1 == "softdep" && $2 == n {
			for (i = 3; i <= NF && $i != "post:"; i++)
				if ($i != "pre:") print $i }' "$mdir/modules.softdep"); do
		for mod in $(awk -v a="$soft" '$1 == "alias" && $2 == a \
				{ print $3 }' "$mdir/modules.alias"); do
			dep=$(modpath "$mod")
			[ -z "$dep" ] || order "$dep"
		done
	done
	# modules.dep lists the whole closure, the first needed last.
	for dep in $(awk -F: -v p="$path" '$1 == p { print $2 }' \
			"$mdir/modules.dep" | tr ' ' '\n' | tac); do
		order "$dep"
	done
	list="$list $path"
}

mkdir -p "$stage/bin"
cp "$srcdir/selftests/vmm/guest/load_modules.sh" "$stage/bin/load-modules"
chmod 755 "$stage/bin/load-modules"

releases=$("$srcdir/scripts/kdirs.sh" | sed 's,.*/linux-headers-,,')
[ -n "$releases" ] || { echo "kmods: no supported kernel" >&2; exit 1; }
for rel in $releases; do
	mdir=/lib/modules/$rel
	[ -f "$mdir/modules.dep" ] || {
		echo "kmods: $mdir/modules.dep missing" >&2
		exit 1
	}
	list=
	for m in "$@"; do
		path=$(modpath "$m")
		[ -n "$path" ] || { echo "kmods: $rel has no $m" >&2; exit 1; }
		order "$path"
	done
	out=$stage/lib/modules/$rel
	mkdir -p "$out"
	: >"$out/load.order"
	for path in $list; do
		ko=$(basename "$path" | sed 's/\.ko.*/.ko/')
		case "$path" in
		*.xz) xz -dc "$mdir/$path" >"$out/$ko" ;;
		*.gz) gzip -dc "$mdir/$path" >"$out/$ko" ;;
		*) cp "$mdir/$path" "$out/$ko" ;;
		esac
		echo "$ko" >>"$out/load.order"
	done
done
