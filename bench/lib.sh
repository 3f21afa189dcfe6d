# SPDX-License-Identifier: GPL-2.0
#
# Shell helpers the benchmarks share; source it after setting $prog.

# The guests' kernel command line, as Firecracker's docs give it.
boot_args="console=ttyS0 reboot=k panic=1 pci=off quiet"

now_ms() { date +%s%3N; }

# wait_for FILE PATTERN SECONDS [PID]: 0 once PATTERN appears in FILE;
# 1 at the timeout, or as soon as process PID, which writes FILE, is gone.
wait_for() {
	local end=$(($(date +%s) + $3))

	while [ "$(date +%s)" -lt $end ]; do
		grep -q "$2" "$1" 2>/dev/null && return 0
		if [ -n "${4:-}" ] && ! kill -0 "$4" 2>/dev/null; then
			grep -q "$2" "$1" 2>/dev/null && return 0
			echo "$prog: the process writing $1 is gone" >&2
			return 1
		fi
		sleep 0.01
	done
	echo "$prog: timed out waiting for '$2' in $1" >&2
	tail -n 20 "$1" >&2
	return 1
}

# api_ms SOCK METHOD PATH BODY: prints the request's time in ms; fails,
# with the VMM's answer, unless it is a 2xx.
api_ms() {
	local out body
	body=$(mktemp)
	out=$(curl -s -m 120 -o "$body" -w '%{http_code} %{time_total}' \
		--unix-socket "$1" -X "$2" -d "$4" "http://localhost$3")
	case "$out" in
	2*) awk -v t="${out#* }" 'BEGIN { printf "%d\n", t * 1000 }' ;;
	*) echo "$prog: $2 $3 -> ${out%% *} $(cat "$body")" >&2
	   rm -f "$body"
	   return 1 ;;
	esac
	rm -f "$body"
}

api() { api_ms "$@" >/dev/null; }
