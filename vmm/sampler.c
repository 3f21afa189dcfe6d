// SPDX-License-Identifier: GPL-2.0
/*
 * First-access order of a working-set window: while the vCPUs run, a
 * thread samples KVM's accessed bits every interval (wset__sample), so
 * each page is known by the sample it was first touched in and the layer
 * file can hold pages in the order the guest wanted them.  Sampling
 * clears accessed bits and flushes the guest's TLB once per sample; the
 * interval bounds that cost, and 0 turns sampling off (address order).
 */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "vmm.h"
#include "wset.h"

static void *sampler__run(void *arg)
{
	struct vm *vm = arg;
	struct sampler *s = &vm->sampler;
	struct timespec until;
	int ret;

	pthread_mutex_lock(&s->lock);
	while (!s->stop) {
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_sec += s->interval_ms / 1000;
		until.tv_nsec += (s->interval_ms % 1000) * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		while (!s->stop &&
		       pthread_cond_timedwait(&s->wake, &s->lock, &until) !=
		       ETIMEDOUT)
			;
		if (s->stop)
			break;
		ret = wset__sample(vm->ws);
		if (ret) {
			/* The window stays exact; only its order is cut short. */
			vmm__log("working set: sampling stopped: %s",
				 strerror(-ret));
			break;
		}
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

/* With a window just opened. */
void sampler__start(struct vm *vm)
{
	struct sampler *s = &vm->sampler;
	int ret;

	if (!s->interval_ms || s->running)
		return;
	s->stop = false;
	ret = pthread_create(&s->thread, NULL, sampler__run, vm);
	if (ret) {
		vmm__log("working set: no sampling thread: %s", strerror(ret));
		return;
	}
	s->running = true;
}

/* Before the window closes: no sample may race with wset__stop(). */
void sampler__stop(struct vm *vm)
{
	struct sampler *s = &vm->sampler;

	if (!s->running)
		return;
	pthread_mutex_lock(&s->lock);
	s->stop = true;
	pthread_cond_signal(&s->wake);
	pthread_mutex_unlock(&s->lock);
	pthread_join(s->thread, NULL);
	s->running = false;
}
