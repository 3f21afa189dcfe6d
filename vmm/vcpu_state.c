// SPDX-License-Identifier: GPL-2.0
/* A vCPU's complete architectural state, to and from a vmstate section. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "vmm.h"
#include "vmstate.h"

/* Every MSR KVM can save, asked once. */
static struct kvm_msr_list *msr_index_list(int kvm_fd)
{
	static struct kvm_msr_list *list;
	struct kvm_msr_list probe = { .nmsrs = 0 };

	if (list)
		return list;
	if (ioctl(kvm_fd, KVM_GET_MSR_INDEX_LIST, &probe) < 0 &&
	    errno != E2BIG)
		return NULL;
	list = calloc(1, sizeof(*list) + probe.nmsrs * sizeof(uint32_t));
	if (!list)
		return NULL;
	list->nmsrs = probe.nmsrs;
	if (ioctl(kvm_fd, KVM_GET_MSR_INDEX_LIST, list) < 0) {
		free(list);
		list = NULL;
	}
	return list;
}

/*
 * Read every listed MSR.  KVM_GET_MSRS stops at the first it cannot
 * read; that one is dropped and reading goes on after it.
 */
static int save_msrs(struct vcpu *vcpu, struct kvm_msr_entry *out,
		     uint32_t *nr)
{
	struct kvm_msr_list *list = msr_index_list(vcpu->vm->kvm_fd);
	uint32_t total, next = 0;
	struct kvm_msrs *batch;

	if (!list)
		return -EIO;
	total = list->nmsrs < VS_MAX_MSRS ? list->nmsrs : VS_MAX_MSRS;
	batch = calloc(1, sizeof(*batch) +
		       total * sizeof(struct kvm_msr_entry));
	if (!batch)
		return -ENOMEM;
	while (next < total) {
		uint32_t i;
		int got;

		batch->nmsrs = total - next;
		for (i = 0; i < batch->nmsrs; i++)
			batch->entries[i].index = list->indices[next + i];
		got = ioctl(vcpu->fd, KVM_GET_MSRS, batch);
		if (got < 0) {
			free(batch);
			return -errno;
		}
		memcpy(out + *nr, batch->entries,
		       got * sizeof(struct kvm_msr_entry));
		*nr += got;
		next += got + 1;
	}
	free(batch);
	return 0;
}

int vcpu__save(struct vcpu *vcpu, struct vsbuf *b)
{
	struct kvm_msr_entry *msrs;
	struct kvm_cpuid2 *cpuid;
	struct vs_vcpu *vs;
	uint32_t nr_msrs = 0;
	size_t len;
	int ret;

	msrs = calloc(VS_MAX_MSRS, sizeof(*msrs));
	cpuid = calloc(1, sizeof(*cpuid) +
		       VS_MAX_CPUID * sizeof(struct kvm_cpuid_entry2));
	ret = -ENOMEM;
	if (!msrs || !cpuid)
		goto out;
	cpuid->nent = VS_MAX_CPUID;
	ret = -errno;
	if (ioctl(vcpu->fd, KVM_GET_CPUID2, cpuid) < 0)
		goto out;
	ret = save_msrs(vcpu, msrs, &nr_msrs);
	if (ret)
		goto out;

	len = sizeof(*vs) + nr_msrs * sizeof(*msrs) +
	      cpuid->nent * sizeof(cpuid->entries[0]);
	vs = vsbuf__section(b, VS_VCPU, len);
	ret = -ENOMEM;
	if (!vs)
		goto out;
	vs->id = vcpu->id;
	vs->nr_msrs = nr_msrs;
	vs->nr_cpuid = cpuid->nent;
	if (ioctl(vcpu->fd, KVM_GET_REGS, &vs->regs) < 0 ||
	    ioctl(vcpu->fd, KVM_GET_SREGS, &vs->sregs) < 0 ||
	    ioctl(vcpu->fd, KVM_GET_XSAVE, &vs->xsave) < 0 ||
	    ioctl(vcpu->fd, KVM_GET_XCRS, &vs->xcrs) < 0 ||
	    ioctl(vcpu->fd, KVM_GET_LAPIC, &vs->lapic) < 0 ||
	    ioctl(vcpu->fd, KVM_GET_VCPU_EVENTS, &vs->events) < 0 ||
	    ioctl(vcpu->fd, KVM_GET_MP_STATE, &vs->mp_state) < 0 ||
	    ioctl(vcpu->fd, KVM_GET_DEBUGREGS, &vs->debugregs) < 0) {
		ret = -errno;
		goto out;
	}
	memcpy(vs + 1, msrs, nr_msrs * sizeof(*msrs));
	memcpy((uint8_t *)(vs + 1) + nr_msrs * sizeof(*msrs), cpuid->entries,
	       cpuid->nent * sizeof(cpuid->entries[0]));
	ret = 0;
out:
	free(msrs);
	free(cpuid);
	return ret;
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

/* Restore in the order KVM needs: CPUID first, MSRs after the LAPIC. */
int vcpu__restore(struct vcpu *vcpu, const void *data, size_t len,
		  char *err, size_t errlen)
{
	const struct vs_vcpu *vs = data;
	struct kvm_cpuid2 *cpuid = NULL;
	struct kvm_msrs *msrs = NULL;
	int ret = -EINVAL;

	if (len < sizeof(*vs) || vs->nr_msrs > VS_MAX_MSRS ||
	    vs->nr_cpuid > VS_MAX_CPUID ||
	    len != sizeof(*vs) + vs->nr_msrs * sizeof(struct kvm_msr_entry) +
		   vs->nr_cpuid * sizeof(struct kvm_cpuid_entry2) ||
	    vs->id != vcpu->id) {
		snprintf(err, errlen, "vCPU %u state is malformed", vcpu->id);
		return -EINVAL;
	}
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
	ret = ioctl(vcpu->fd, KVM_SET_MSRS, msrs);
	if (ret != (int)vs->nr_msrs) {
		snprintf(err, errlen, "vCPU %u: KVM_SET_MSRS restored %d of "
			 "%u MSRs (first failing: %#x)", vcpu->id, ret,
			 vs->nr_msrs, ret >= 0 && ret < (int)vs->nr_msrs ?
			 msrs->entries[ret].index : 0);
		ret = -EINVAL;
		goto out;
	}
	RESTORE(KVM_SET_VCPU_EVENTS, &vs->events);
	ret = 0;
out:
	free(cpuid);
	free(msrs);
	return ret;
}
