// SPDX-License-Identifier: GPL-2.0
/*
 * ptctl - inspect page presence, accessed and dirty bits of a process
 * through /dev/pagetrack, and list live tracker sessions.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <unistd.h>

#include "parse.h"
#include "ptctl.h"

static void usage(FILE *f)
{
	fputs(
"NAME\n"
"	ptctl - page presence, accessed and dirty bits of a process\n"
"\n"
"SYNOPSIS\n"
"	ptctl scan --pid PID [--range START-END] [--clear] [--host-only] [--json]\n"
"	ptctl watch --pid PID [--range START-END] [--interval MS] [--count N]\n"
"	ptctl list [--json]\n"
"\n"
"DESCRIPTION\n"
"	ptctl reads the page-table accessed (A) and dirty (D) bits of a\n"
"	process through /dev/pagetrack (the pagetrack.ko module).\n"
"\n"
"	scan     attaches to PID's memory, scans it once and prints the\n"
"	         number of present, accessed, dirty and written-since-mapped\n"
"	         pages, and their address ranges.\n"
"	watch    clears the accessed bits, then every interval reports the\n"
"	         pages accessed since the previous report: the working-set\n"
"	         size over time.  Ctrl-C stops it.\n"
"	list     lists the live tracker sessions of all processes (over\n"
"	         generic netlink), like ss(8) for sockets.\n"
"\n"
"OPTIONS\n"
"	-p, --pid PID\n"
"		Process to inspect.  Another process needs CAP_SYS_ADMIN\n"
"		and CAP_SYS_PTRACE.\n"
"	-r, --range START-END | START+LENGTH\n"
"		Virtual address range, page aligned; END is exclusive;\n"
"		numbers in decimal or 0x-hex, LENGTH may end in k, M, G.\n"
"		Default: every mapping in /proc/PID/maps.\n"
"	-c, --clear\n"
"		scan: also clear the accessed bits it reports, so the next\n"
"		scan shows only later accesses.\n"
"	-H, --host-only\n"
"		Report host page-table bits only.\n"
"	-i, --interval MS\n"
"		watch: milliseconds between reports (default 1000).\n"
"	-n, --count N\n"
"		watch: stop after N reports (default: until interrupted).\n"
"	-j, --json\n"
"		Machine-readable output.\n"
"	-h, --help\n"
"		This text.\n"
"\n"
"EXIT STATUS\n"
"	0 on success, 1 on failure, 2 on a usage error.\n"
"\n"
"EXAMPLES\n"
"	ptctl scan --pid 1234 --clear\n"
"	ptctl watch --pid 1234 --interval 500 --count 10\n"
"	ptctl scan --pid 1234 --range 0x7f0000000000+64M --json\n"
"	ptctl list\n", f);
}

static int usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "ptctl: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\nTry 'ptctl --help'.\n");
	return 2;
}

static bool have_cap(cap_value_t cap)
{
	cap_flag_value_t v = CAP_CLEAR;
	cap_t caps = cap_get_proc();

	if (caps) {
		cap_get_flag(caps, cap, CAP_EFFECTIVE, &v);
		cap_free(caps);
	}
	return v == CAP_SET;
}

/* What tracking another process takes that this one lacks, or NULL. */
static const char *missing_caps(void)
{
	bool admin = have_cap(CAP_SYS_ADMIN);
	bool ptrace = have_cap(CAP_SYS_PTRACE);

	if (admin && ptrace)
		return NULL;
	if (!admin && !ptrace)
		return "CAP_SYS_ADMIN and CAP_SYS_PTRACE";
	return admin ? "CAP_SYS_PTRACE" : "CAP_SYS_ADMIN";
}

int ptctl_error(const char *what, int err)
{
	bool dev = !strcmp(what, "/dev/pagetrack");

	if (err == ENOENT && dev)
		fprintf(stderr, "ptctl: /dev/pagetrack: no such device; is "
			"pagetrack.ko loaded? (modprobe pagetrack)\n");
	else if (err == EACCES && dev)
		fprintf(stderr, "ptctl: /dev/pagetrack: %s: it is root's, or "
			"group kvm's with kmod/60-pagetrack.rules\n",
			strerror(err));
	else if (err == EPERM && missing_caps())
		fprintf(stderr, "ptctl: %s: %s: inspecting another process "
			"needs CAP_SYS_ADMIN and CAP_SYS_PTRACE; this process "
			"lacks %s\n", what, strerror(err), missing_caps());
	else
		fprintf(stderr, "ptctl: %s: %s\n", what, strerror(err));
	return 1;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "pid", required_argument, NULL, 'p' },
		{ "range", required_argument, NULL, 'r' },
		{ "clear", no_argument, NULL, 'c' },
		{ "host-only", no_argument, NULL, 'H' },
		{ "interval", required_argument, NULL, 'i' },
		{ "count", required_argument, NULL, 'n' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ }
	};
	struct ptctl_opts o = { .pid = -1, .interval_ms = 1000 };
	const char *cmd;
	uint64_t v;
	int c;

	while ((c = getopt_long(argc, argv, "p:r:cHi:n:jh", longopts,
				NULL)) != -1) {
		switch (c) {
		case 'p':
			if (parse__u64(optarg, &v) || !v || v > INT32_MAX)
				return usage_error("bad pid '%s'", optarg);
			o.pid = v;
			break;
		case 'r':
			if (parse__range(optarg, &o.start, &o.end) ||
			    (o.start | o.end) & 4095)
				return usage_error("bad range '%s' (START-END "
						   "or START+LENGTH, page "
						   "aligned)", optarg);
			o.have_range = true;
			break;
		case 'c':
			o.clear = true;
			break;
		case 'H':
			o.host_only = true;
			break;
		case 'i':
			if (parse__u64(optarg, &v) || !v || v > 3600000)
				return usage_error("bad interval '%s' (1 to "
						   "3600000 ms)", optarg);
			o.interval_ms = v;
			break;
		case 'n':
			if (parse__u64(optarg, &v) || !v)
				return usage_error("bad count '%s'", optarg);
			o.count = v;
			break;
		case 'j':
			o.json = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			return usage_error("%s", "bad option");
		}
	}
	/* getopt_long() permutes: options may come before or after it. */
	if (argc - optind != 1)
		return usage_error("%s", argc == optind ? "no command given" :
				   "one command at a time");
	cmd = argv[optind];

	if (!strcmp(cmd, "list"))
		return ptctl_list(&o);
	if (strcmp(cmd, "scan") && strcmp(cmd, "watch"))
		return usage_error("unknown command '%s'", cmd);
	if (o.pid < 0)
		return usage_error("%s needs --pid", cmd);
	/* Say so before /proc or the device refuse with a bare EPERM. */
	if (o.pid != getpid() && missing_caps()) {
		fprintf(stderr, "ptctl: inspecting pid %d needs CAP_SYS_ADMIN "
			"and CAP_SYS_PTRACE; this process lacks %s\n", o.pid,
			missing_caps());
		return 1;
	}
	return !strcmp(cmd, "scan") ? ptctl_scan(&o) : ptctl_watch(&o);
}
