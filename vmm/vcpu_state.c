// SPDX-License-Identifier: GPL-2.0
/*
 * A vCPU's complete architectural state, to and from a vmstate section.
 * The order of the ioctls matters both ways: see "What a vmstate holds
 * and in which order it is restored" in Documentation/vmm.rst.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "vmm.h"
#include "vmstate.h"

#define MSR_IA32_TSC		0x10
#define MSR_IA32_TSC_DEADLINE	0x6e0
#define MSR_MTRRCAP		0xfe
#define MSR_MTRR_PHYSBASE0	0x200
#define MSR_MTRR_FIX64K		0x250
#define MSR_MTRR_FIX16K_80000	0x258
#define MSR_MTRR_FIX16K_A0000	0x259
#define MSR_MTRR_FIX4K_C0000	0x268
#define MSR_MTRR_FIX4K_F8000	0x26f
#define MSR_MTRR_DEF_TYPE	0x2ff
#define MTRRCAP_VCNT		0xff
/* What KVM emulates (KVM_NR_VAR_MTRR) if MTRRcap cannot be read. */
#define KVM_VAR_MTRRS		8

/* KVM_GET_MSR_INDEX_LIST, asked once, its buffer grown until it fits. */
static struct kvm_msr_list *msr_index_list(int kvm_fd)
{
	static struct kvm_msr_list *list;
	uint32_t n = 0;

	while (!list) {
		struct kvm_msr_list *l;

		l = calloc(1, sizeof(*l) + n * sizeof(l->indices[0]));
		if (!l)
			return NULL;
		l->nmsrs = n;
		if (!ioctl(kvm_fd, KVM_GET_MSR_INDEX_LIST, l)) {
			list = l;
			break;
		}
		/* On E2BIG KVM wrote the count it needs into nmsrs. */
		n = l->nmsrs;
		free(l);
		if (errno != E2BIG || !n) {
			vmm__log("KVM_GET_MSR_INDEX_LIST: %s", strerror(errno));
			return NULL;
		}
	}
	return list;
}

static int read_msr(struct vcpu *vcpu, uint32_t index, uint64_t *value)
{
	struct {
		struct kvm_msrs h;
		struct kvm_msr_entry e;
	} one = { .h.nmsrs = 1, .e.index = index };

	if (ioctl(vcpu->fd, KVM_GET_MSRS, &one) != 1)
		return -EIO;
	*value = one.e.data;
	return 0;
}

static int write_msr(struct vcpu *vcpu, uint32_t index, uint64_t value)
{
	struct {
		struct kvm_msrs h;
		struct kvm_msr_entry e;
	} one = { .h.nmsrs = 1, .e.index = index, .e.data = value };
	int ret = ioctl(vcpu->fd, KVM_SET_MSRS, &one);

	/* KVM_SET_MSRS answers how many it set: 0 is a refusal. */
	return ret == 1 ? 0 : ret < 0 ? -errno : -EINVAL;
}

static void add_index(uint32_t *idx, uint32_t *nr, uint32_t index)
{
	uint32_t i;

	for (i = 0; i < *nr; i++)
		if (idx[i] == index)
			return;
	idx[(*nr)++] = index;
}

/*
 * The MSRs to save: KVM's list, then the MTRRs, which the list leaves
 * out although the guest programs them (a restored guest with default
 * MTRRs may see its memory as uncached).
 */
static uint32_t *msrs_to_save(struct vcpu *vcpu, uint32_t *nr)
{
	struct kvm_msr_list *list = msr_index_list(vcpu->vm->kvm_fd);
	uint64_t cap, vcnt = KVM_VAR_MTRRS;
	uint32_t *idx, i;

	if (!list)
		return NULL;
	if (!read_msr(vcpu, MSR_MTRRCAP, &cap))
		vcnt = cap & MTRRCAP_VCNT;
	idx = calloc(list->nmsrs + 4 + 8 + 2 * vcnt, sizeof(*idx));
	if (!idx)
		return NULL;
	*nr = 0;
	for (i = 0; i < list->nmsrs; i++)
		add_index(idx, nr, list->indices[i]);
	add_index(idx, nr, MSR_MTRR_DEF_TYPE);
	add_index(idx, nr, MSR_MTRR_FIX64K);
	add_index(idx, nr, MSR_MTRR_FIX16K_80000);
	add_index(idx, nr, MSR_MTRR_FIX16K_A0000);
	for (i = MSR_MTRR_FIX4K_C0000; i <= MSR_MTRR_FIX4K_F8000; i++)
		add_index(idx, nr, i);
	for (i = 0; i < 2 * vcnt; i++)
		add_index(idx, nr, MSR_MTRR_PHYSBASE0 + i);
	return idx;
}

/*
 * Read every MSR to save into @out, in batches.  KVM_GET_MSRS returns
 * how many it read and stops at the first it cannot (one the host lists
 * but this vCPU's CPUID does not expose, say): that one is reported and
 * skipped, and reading goes on after it.
 */
static int save_msrs(struct vcpu *vcpu, struct kvm_msr_entry **out,
		     uint32_t *nr)
{
	uint32_t total, next = 0, *idx = msrs_to_save(vcpu, &total);
	struct kvm_msrs *batch;
	int ret = 0;

	*nr = 0;
	if (!idx)
		return -ENOMEM;
	batch = calloc(1, sizeof(*batch) +
		       total * sizeof(struct kvm_msr_entry));
	*out = calloc(total ? total : 1, sizeof(struct kvm_msr_entry));
	if (!batch || !*out) {
		ret = -ENOMEM;
		goto out;
	}
	while (next < total) {
		uint32_t i;
		int got;

		batch->nmsrs = total - next;
		for (i = 0; i < batch->nmsrs; i++)
			batch->entries[i] = (struct kvm_msr_entry) {
				.index = idx[next + i],
			};
		got = ioctl(vcpu->fd, KVM_GET_MSRS, batch);
		if (got < 0) {
			ret = -errno;
			vmm__log("vCPU %u: KVM_GET_MSRS: %s", vcpu->id,
				 strerror(errno));
			goto out;
		}
		memcpy(*out + *nr, batch->entries,
		       got * sizeof(struct kvm_msr_entry));
		*nr += got;
		next += got;
		if (next < total) {
			vmm__log("vCPU %u: MSR %#x cannot be read: not saved",
				 vcpu->id, idx[next]);
			next++;
		}
	}
out:
	if (ret) {
		free(*out);
		*out = NULL;
	}
	free(batch);
	free(idx);
	return ret;
}

#define SAVE(cmd, arg)							\
	do {								\
		if (ioctl(vcpu->fd, cmd, arg) < 0) {			\
			ret = -errno;					\
			vmm__log("vCPU %u: %s: %s", vcpu->id, #cmd,	\
				 strerror(errno));			\
			goto out;					\
		}							\
	} while (0)

/*
 * MP state first: KVM_GET_MP_STATE delivers pending INIT and SIPI events
 * into the vCPU and LAPIC state, which every read after it then sees.
 * Events last, as Firecracker does: the other reads may still change
 * what is pending.
 */
int vcpu__save(struct vcpu *vcpu, struct vsbuf *b)
{
	struct kvm_msr_entry *msrs = NULL;
	struct kvm_cpuid2 *cpuid;
	struct vs_vcpu *vs;
	uint32_t nr_msrs = 0;
	uint8_t *sec;
	size_t len;
	int ret;

	vs = calloc(1, sizeof(*vs));
	cpuid = calloc(1, sizeof(*cpuid) +
		       VS_MAX_CPUID * sizeof(struct kvm_cpuid_entry2));
	ret = -ENOMEM;
	if (!vs || !cpuid)
		goto out;
	vs->id = vcpu->id;
	SAVE(KVM_GET_MP_STATE, &vs->mp_state);
	SAVE(KVM_GET_REGS, &vs->regs);
	SAVE(KVM_GET_SREGS, &vs->sregs);
	SAVE(KVM_GET_XSAVE, &vs->xsave);
	SAVE(KVM_GET_XCRS, &vs->xcrs);
	SAVE(KVM_GET_DEBUGREGS, &vs->debugregs);
	SAVE(KVM_GET_LAPIC, &vs->lapic);
	ret = ioctl(vcpu->fd, KVM_GET_TSC_KHZ, 0);
	if (ret <= 0) {
		ret = ret < 0 ? -errno : -EIO;
		vmm__log("vCPU %u: KVM_GET_TSC_KHZ: %s", vcpu->id,
			 strerror(-ret));
		goto out;
	}
	vs->tsc_khz = ret;
	cpuid->nent = VS_MAX_CPUID;
	SAVE(KVM_GET_CPUID2, cpuid);
	vs->nr_cpuid = cpuid->nent;
	ret = save_msrs(vcpu, &msrs, &nr_msrs);
	if (ret)
		goto out;
	vs->nr_msrs = nr_msrs;
	SAVE(KVM_GET_VCPU_EVENTS, &vs->events);

	/* Filled at once: the next section may move the buffer. */
	len = sizeof(*vs) + nr_msrs * sizeof(*msrs) +
	      cpuid->nent * sizeof(cpuid->entries[0]);
	sec = vsbuf__section(b, VS_VCPU, len);
	ret = b->error;
	if (!sec)
		goto out;
	memcpy(sec, vs, sizeof(*vs));
	memcpy(sec + sizeof(*vs), msrs, nr_msrs * sizeof(*msrs));
	memcpy(sec + sizeof(*vs) + nr_msrs * sizeof(*msrs), cpuid->entries,
	       cpuid->nent * sizeof(cpuid->entries[0]));
	ret = 0;
out:
	free(vs);
	free(msrs);
	free(cpuid);
	return ret;
}

/*
 * The TSC frequency the guest calibrated against.  Without TSC scaling
 * KVM can run a vCPU only at the host's rate and refuses another; that is
 * an error only if the rates really differ.
 */
static int restore_tsc_khz(struct vcpu *vcpu, uint32_t khz, char *err,
			   size_t errlen)
{
	int host, saved_errno;

	if (!ioctl(vcpu->fd, KVM_SET_TSC_KHZ, khz))
		return 0;
	saved_errno = errno;
	host = ioctl(vcpu->fd, KVM_GET_TSC_KHZ, 0);
	if (host == (int)khz)
		return 0;
	snprintf(err, errlen, "vCPU %u: the snapshot's TSC runs at %u kHz, "
		 "this host's at %d kHz, and KVM cannot scale it "
		 "(KVM_SET_TSC_KHZ: %s)", vcpu->id, khz, host,
		 strerror(saved_errno));
	return -saved_errno;
}

#define RESTORE(cmd, arg)						\
	do {								\
		if (ioctl(vcpu->fd, cmd, arg) < 0) {			\
			snprintf(err, errlen, "vCPU %u: %s: %s",	\
				 vcpu->id, #cmd, strerror(errno));	\
			ret = -errno;					\
			goto out;					\
		}							\
	} while (0)


/*
 * Move MSR @index to the end of @msrs; returns how many entries moved (0
 * or 1).
 */
static uint32_t move_msr_last(struct kvm_msrs *msrs, uint32_t index)
{
	struct kvm_msr_entry *e = msrs->entries, last;
	uint32_t i;

	for (i = 0; i < msrs->nmsrs; i++) {
		if (e[i].index != index)
			continue;
		last = e[i];
		memmove(&e[i], &e[i + 1], (msrs->nmsrs - i - 1) * sizeof(*e));
		e[msrs->nmsrs - 1] = last;
		return 1;
	}
	return 0;
}

/* The IA32_TSC a checked vCPU section holds; false if it holds none. */
static bool saved_tsc(const struct vs_vcpu *vs, uint64_t *tsc)
{
	const struct kvm_msr_entry *e = (const void *)(vs + 1);
	uint32_t i;

	for (i = 0; i < vs->nr_msrs; i++) {
		if (e[i].index == MSR_IA32_TSC) {
			*tsc = e[i].data;
			return true;
		}
	}
	return false;
}

/* Entries [@first, @first + @n) of @msrs: every one must set. */
static int set_msrs(struct vcpu *vcpu, const struct kvm_msrs *msrs,
		    uint32_t first, uint32_t n, char *err, size_t errlen)
{
	struct kvm_msrs *part;
	int ret;

	if (!n)
		return 0;
	part = malloc(sizeof(*part) + n * sizeof(part->entries[0]));
	if (!part)
		return -ENOMEM;
	part->nmsrs = n;
	part->pad = 0;
	memcpy(part->entries, &msrs->entries[first], n * sizeof(part->entries[0]));
	/* Every saved MSR read back on the source: each must set here. */
	ret = ioctl(vcpu->fd, KVM_SET_MSRS, part);
	if (ret < 0) {
		ret = -errno;
		snprintf(err, errlen, "vCPU %u: KVM_SET_MSRS: %s", vcpu->id,
			 strerror(-ret));
	} else if (ret != (int)n) {
		snprintf(err, errlen, "vCPU %u: KVM_SET_MSRS set %d of %u "
			 "MSRs: MSR %#x was refused", vcpu->id, ret, n,
			 part->entries[ret].index);
		ret = -EINVAL;
	} else {
		ret = 0;
	}
	free(part);
	return ret;
}
/*
 * Give every vCPU of @vm its TSC rate, then one TSC value: the greatest
 * of the saved ones.  @sections are the vCPU sections, by id.
 *
 * The guest ran with its vCPUs' TSCs in step; what was saved is not.
 * KVM_GET_MSRS reads each vCPU at its own moment, and on a host whose TSC
 * is unstable KVM stops a vCPU's TSC while the vCPU is not loaded, so one
 * that sat halted before the pause saved the TSC of its last exit, up to
 * seconds behind the others.  Written back as saved, the values stay
 * apart: KVM puts host writes into one generation only within a second
 * of each other, and even then, on an unstable host, keeps each vCPU at
 * its own value plus the time since (kvm_synchronize_tsc()).  One value
 * written to all in one pass, milliseconds apart, puts every vCPU on one
 * line; the greatest moves no vCPU's TSC backwards.
 */
int vcpus__restore_tsc(struct vm *vm, const void *const *sections,
		       char *err, size_t errlen)
{
	uint64_t tsc, max = 0;
	unsigned int i;
	int ret;

	for (i = 0; i < vm->nr_vcpus; i++) {
		const struct vs_vcpu *vs = sections[i];

		ret = restore_tsc_khz(&vm->vcpus[i], vs->tsc_khz, err, errlen);
		if (ret)
			return ret;
		if (!saved_tsc(vs, &tsc)) {
			snprintf(err, errlen, "vCPU %u state has no IA32_TSC",
				 i);
			return -EINVAL;
		}
		if (tsc > max)
			max = tsc;
	}
	for (i = 0; i < vm->nr_vcpus; i++) {
		ret = write_msr(&vm->vcpus[i], MSR_IA32_TSC, max);
		if (ret) {
			snprintf(err, errlen, "vCPU %u: KVM_SET_MSRS: IA32_TSC: "
				 "%s", i, ret == -EINVAL ? "refused" :
				 strerror(-ret));
			return ret;
		}
	}
	return 0;
}

/*
 * Firecracker's order, after vcpus__restore_tsc(); each constraint is
 * explained in vmm.rst.  In short: CPUID before what it validates (XSAVE,
 * MSRs), SREGS (APIC base) before the LAPIC, the LAPIC before the MSRs
 * (TSC deadline), REGS before the events, which SET_REGS would otherwise
 * clear.
 */
int vcpu__restore(struct vcpu *vcpu, const void *data, size_t len,
		  char *err, size_t errlen)
{
	const struct vs_vcpu *vs = data;
	struct kvm_cpuid2 *cpuid = NULL;
	struct kvm_msrs *msrs = NULL;
	int ret = -EINVAL;
	uint32_t late;

	if (vstate__check_vcpu(data, len, vcpu->id, err, errlen))
		return -EINVAL;
	cpuid = calloc(1, sizeof(*cpuid) +
		       vs->nr_cpuid * sizeof(struct kvm_cpuid_entry2));
	msrs = calloc(1, sizeof(*msrs) +
		      vs->nr_msrs * sizeof(struct kvm_msr_entry));
	if (!cpuid || !msrs) {
		ret = -ENOMEM;
		goto out;
	}
	cpuid->nent = vs->nr_cpuid;
	memcpy(cpuid->entries, (const uint8_t *)(vs + 1) +
	       vs->nr_msrs * sizeof(struct kvm_msr_entry),
	       vs->nr_cpuid * sizeof(struct kvm_cpuid_entry2));
	msrs->nmsrs = vs->nr_msrs;
	memcpy(msrs->entries, vs + 1,
	       vs->nr_msrs * sizeof(struct kvm_msr_entry));

	RESTORE(KVM_SET_CPUID2, cpuid);
	RESTORE(KVM_SET_MP_STATE, &vs->mp_state);
	RESTORE(KVM_SET_REGS, &vs->regs);
	RESTORE(KVM_SET_SREGS, &vs->sregs);
	RESTORE(KVM_SET_XSAVE, &vs->xsave);
	RESTORE(KVM_SET_XCRS, &vs->xcrs);
	RESTORE(KVM_SET_DEBUGREGS, &vs->debugregs);
	RESTORE(KVM_SET_LAPIC, &vs->lapic);
	/*
	 * IA32_TSC is written already, to every vCPU alike: a second write
	 * would start a new TSC generation if it came a second later.
	 */
	msrs->nmsrs -= move_msr_last(msrs, MSR_IA32_TSC);
	/*
	 * The TSC deadline alone, last: KVM arms the timer from it against
	 * the guest's TSC as it is at that write, and drops the write unless
	 * KVM_SET_LAPIC has put LVTT in TSC-deadline mode (QEMU writes it
	 * after the vCPU events too).
	 */
	late = move_msr_last(msrs, MSR_IA32_TSC_DEADLINE);
	ret = set_msrs(vcpu, msrs, 0, msrs->nmsrs - late, err, errlen);
	if (ret)
		goto out;
	RESTORE(KVM_SET_VCPU_EVENTS, &vs->events);
	ret = set_msrs(vcpu, msrs, msrs->nmsrs - late, late, err, errlen);
	if (ret)
		goto out;
	/* The snapshot was a pause too; the kvmclock MSRs are set by now. */
	vcpu__kvmclock_ctrl(vcpu);
	ret = 0;
out:
	free(cpuid);
	free(msrs);
	return ret;
}
