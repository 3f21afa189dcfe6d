// SPDX-License-Identifier: GPL-2.0
/*
 * Enough of the i8042 keyboard controller for Linux's i8042 and atkbd
 * drivers to find a keyboard on IRQ 1, and for the VMM to type
 * Ctrl-Alt-Del on it (SendCtrlAltDel); and the pulse-reset command that
 * reboot=k uses to end the VM.
 *
 * As in Firecracker's (src/vmm/src/devices/legacy/i8042.rs), the command
 * byte starts without XLATE, so Linux drives the port untranslated and
 * atkbd takes scancode set 2; the keys are set 2 make codes.  Linux's
 * probe also runs the controller and keyboard self-tests, which
 * Firecracker's device leaves unanswered (its guests pass i8042.noaux,
 * i8042.nomux, i8042.dumbkbd; this one answers them too).  No aux port.
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>

#include "vmm.h"

#define I8042_DATA		0x60
#define I8042_COMMAND		0x64
#define I8042_IRQ		1

/* Controller commands, written to the command port. */
#define CMD_READ_CTR		0x20
#define CMD_WRITE_CTR		0x60
#define CMD_AUX_DISABLE		0xa7
#define CMD_AUX_ENABLE		0xa8
#define CMD_CTL_TEST		0xaa
#define CMD_KBD_TEST		0xab
#define CMD_KBD_DISABLE		0xad
#define CMD_KBD_ENABLE		0xae
#define CMD_READ_OUTP		0xd0
#define CMD_WRITE_OUTP		0xd1
#define CMD_RESET_CPU		0xfe

/* Keyboard commands, written to the data port, and its answers. */
#define KBD_CMD_GETID		0xf2
#define KBD_CMD_RESET		0xff
#define KBD_ACK			0xfa
#define KBD_BAT_OK		0xaa
#define CTL_TEST_OK		0x55

/* Status register. */
#define STR_OBF			0x01	/* a byte waits at the data port */
#define STR_CMDDAT		0x08	/* the data port takes a parameter */
#define STR_KEYLOCK		0x10	/* 1: keyboard not inhibited */

/* Command byte (CTR). */
#define CTR_KBDINT		0x01
#define CTR_SYSFLAG		0x04
#define CTR_KBDDIS		0x10
#define CTR_AUXDIS		0x20

/* Scancode set 2 make codes; Delete is an extended (0xe0) key. */
#define KEY_LCTRL		0x14
#define KEY_LALT		0x11
#define KEY_DELETE		0xe071

#define I8042_BUF		16

static struct i8042 {
	pthread_mutex_t lock;
	struct vm *vm;
	uint8_t status;
	uint8_t ctr;
	uint8_t outp;
	uint8_t cmd;		/* the command awaiting its parameter */
	uint8_t buf[I8042_BUF];
	unsigned int head, len;
} kbc = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
};

static void i8042__irq(struct i8042 *k)
{
	if (!(k->ctr & CTR_KBDINT))
		return;
	/* ISA IRQ 1 is edge-triggered: a pulse per byte. */
	vm__irq_line(k->vm, I8042_IRQ, 1);
	vm__irq_line(k->vm, I8042_IRQ, 0);
}

static void i8042__flush(struct i8042 *k)
{
	k->head = 0;
	k->len = 0;
	k->status &= ~STR_OBF;
}

static int i8042__push(struct i8042 *k, uint8_t byte)
{
	if (k->len == I8042_BUF)
		return -ENOSPC;
	k->buf[(k->head + k->len++) % I8042_BUF] = byte;
	k->status |= STR_OBF;
	return 0;
}

static uint8_t i8042__pop(struct i8042 *k)
{
	uint8_t byte;

	if (!k->len)
		return 0;
	byte = k->buf[k->head];
	k->head = (k->head + 1) % I8042_BUF;
	if (!--k->len)
		k->status &= ~STR_OBF;
	return byte;
}

/* A command's one-byte answer replaces whatever was pending. */
static void i8042__answer(struct i8042 *k, uint8_t byte)
{
	i8042__flush(k);
	i8042__push(k, byte);
}

static void i8042__command(struct i8042 *k, uint8_t cmd)
{
	switch (cmd) {
	case CMD_RESET_CPU:
		metrics__inc(&metrics.i8042.reset_count);
		vm__request_exit(k->vm, VM_EXIT_RESET);
		break;
	case CMD_READ_CTR:
		i8042__answer(k, k->ctr);
		break;
	case CMD_READ_OUTP:
		i8042__answer(k, k->outp);
		break;
	case CMD_WRITE_CTR:
	case CMD_WRITE_OUTP:
		k->status |= STR_CMDDAT;
		k->cmd = cmd;
		break;
	case CMD_CTL_TEST:
		i8042__answer(k, CTL_TEST_OK);
		break;
	case CMD_KBD_TEST:
		i8042__answer(k, 0);	/* no clock or data line stuck */
		break;
	case CMD_KBD_DISABLE:
		k->ctr |= CTR_KBDDIS;
		break;
	case CMD_KBD_ENABLE:
		k->ctr &= ~CTR_KBDDIS;
		break;
	case CMD_AUX_DISABLE:
		k->ctr |= CTR_AUXDIS;
		break;
	case CMD_AUX_ENABLE:
		/* There is no aux port: the bit stays set, as Linux checks. */
		break;
	default:
		metrics__inc(&metrics.i8042.missed_write_count);
		break;
	}
}

/* A byte for the keyboard itself: acknowledged, as by a real one. */
static void i8042__kbd_write(struct i8042 *k, uint8_t byte)
{
	i8042__answer(k, KBD_ACK);
	if (byte == KBD_CMD_RESET) {
		i8042__push(k, KBD_BAT_OK);
	} else if (byte == KBD_CMD_GETID) {
		/* An MF2 keyboard's ID. */
		i8042__push(k, 0xab);
		i8042__push(k, 0x83);
	}
	i8042__irq(k);
}

static void i8042__io(void *dev, uint16_t port, uint8_t *data, uint32_t len,
		      bool is_write)
{
	struct i8042 *k = dev;

	/* 0x61-0x63 share the range (port B, unused here): nothing there. */
	if (port != I8042_DATA && port != I8042_COMMAND) {
		if (!is_write)
			memset(data, 0, len);
		return;
	}
	if (len != 1) {
		if (!is_write)
			memset(data, 0xff, len);
		metrics__inc(is_write ? &metrics.i8042.missed_write_count :
			     &metrics.i8042.missed_read_count);
		return;
	}
	pthread_mutex_lock(&k->lock);
	if (!is_write) {
		metrics__inc(&metrics.i8042.read_count);
		if (port == I8042_COMMAND) {
			*data = k->status;
		} else {
			*data = i8042__pop(k);
			/* More to read: the guest hears of it again. */
			if (k->status & STR_OBF)
				i8042__irq(k);
		}
	} else {
		metrics__inc(&metrics.i8042.write_count);
		if (port == I8042_COMMAND) {
			i8042__command(k, *data);
		} else if (k->status & STR_CMDDAT) {
			if (k->cmd == CMD_WRITE_CTR)
				k->ctr = *data;
			else
				k->outp = *data;
			k->status &= ~STR_CMDDAT;
		} else {
			i8042__kbd_write(k, *data);
		}
	}
	pthread_mutex_unlock(&k->lock);
}

static int i8042__key(struct i8042 *k, uint16_t key)
{
	if (key >> 8 && i8042__push(k, key >> 8))
		return -ENOSPC;
	if (i8042__push(k, key & 0xff))
		return -ENOSPC;
	i8042__irq(k);
	return 0;
}

/*
 * Ctrl, Alt, Delete pressed (never released, as in Firecracker): Linux's
 * keyboard driver signals init, which does what its ctrlaltdel says.
 */
int i8042__ctrl_alt_del(void)
{
	struct i8042 *k = &kbc;
	int ret = -ENOSPC;

	pthread_mutex_lock(&k->lock);
	if (!k->vm) {
		ret = -ENODEV;
	} else if (I8042_BUF - k->len >= 4) {
		ret = i8042__key(k, KEY_LCTRL);
		if (!ret)
			ret = i8042__key(k, KEY_LALT);
		if (!ret)
			ret = i8042__key(k, KEY_DELETE);
	}
	if (ret == -ENOSPC)
		metrics__inc(&metrics.i8042.error_count);
	pthread_mutex_unlock(&k->lock);
	return ret;
}

int i8042__init(struct vm *vm)
{
	pthread_mutex_lock(&kbc.lock);
	kbc.vm = vm;
	kbc.ctr = CTR_SYSFLAG | CTR_KBDINT;
	kbc.status = STR_KEYLOCK;
	kbc.outp = 0;
	kbc.cmd = 0;
	i8042__flush(&kbc);
	pthread_mutex_unlock(&kbc.lock);
	return ioport__register(I8042_DATA, I8042_COMMAND - I8042_DATA + 1,
				i8042__io, &kbc);
}
