// SPDX-License-Identifier: GPL-2.0
/*
 * The console: a 16550A UART at COM1 (0x3f8, IRQ 4).  Output is
 * transmitted the moment it is written, so the transmitter is always
 * empty; input comes from a reader thread into the receive FIFO.
 */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "vmm.h"
#include "vmstate.h"

#define COM1_BASE	0x3f8
#define COM1_IRQ	4
#define RX_FIFO_SIZE	64

enum {
	UART_RX = 0,	/* RBR/THR, DLL when DLAB */
	UART_IER = 1,	/* DLM when DLAB */
	UART_IIR = 2,	/* FCR on write */
	UART_LCR = 3,
	UART_MCR = 4,
	UART_LSR = 5,
	UART_MSR = 6,
	UART_SCR = 7,
};

#define UART_IER_RDI		0x01
#define UART_IER_THRI		0x02
#define UART_IIR_NO_INT		0x01
#define UART_IIR_THRI		0x02
#define UART_IIR_RDI		0x04
#define UART_IIR_FIFO		0xc0
#define UART_FCR_ENABLE		0x01
#define UART_FCR_CLEAR_RCVR	0x02
#define UART_LCR_DLAB		0x80
#define UART_MCR_LOOP		0x10
#define UART_LSR_DR		0x01
#define UART_LSR_THRE		0x20
#define UART_LSR_TEMT		0x40
#define UART_MSR_DCD		0x80
#define UART_MSR_DSR		0x20
#define UART_MSR_CTS		0x10

struct serial {
	struct vm *vm;
	pthread_mutex_t lock;
	int in_fd;
	int out_fd;
	pthread_t reader;
	bool reader_started;

	uint8_t ier, lcr, mcr, scr, fcr, dll, dlm;
	bool thri_pending;	/* THR empty, not yet reported via IIR */
	uint8_t rx[RX_FIFO_SIZE];
	unsigned int rx_head, rx_len;
	int irq_level;
};

static struct serial com1;

static uint8_t serial__iir(struct serial *s)
{
	uint8_t fifo = (s->fcr & UART_FCR_ENABLE) ? UART_IIR_FIFO : 0;

	if ((s->ier & UART_IER_RDI) && s->rx_len)
		return fifo | UART_IIR_RDI;
	if ((s->ier & UART_IER_THRI) && s->thri_pending)
		return fifo | UART_IIR_THRI;
	return fifo | UART_IIR_NO_INT;
}

/* Level of IRQ 4 follows "an interrupt is pending"; caller holds lock. */
static void serial__update_irq(struct serial *s)
{
	int level = !(serial__iir(s) & UART_IIR_NO_INT);

	if (level != s->irq_level) {
		s->irq_level = level;
		vm__irq_line(s->vm, COM1_IRQ, level);
	}
}

static uint8_t serial__msr(struct serial *s)
{
	uint8_t mcr = s->mcr;

	/* Loopback wires DTR->DSR, RTS->CTS, OUT1->RI, OUT2->DCD. */
	if (mcr & UART_MCR_LOOP)
		return ((mcr & 0x0c) << 4) | ((mcr & 0x01) << 5) |
		       ((mcr & 0x02) << 3);
	return UART_MSR_DCD | UART_MSR_DSR | UART_MSR_CTS;
}

static void serial__write_out(struct serial *s, uint8_t c)
{
	if (s->mcr & UART_MCR_LOOP) {
		if (s->rx_len < RX_FIFO_SIZE)
			s->rx[(s->rx_head + s->rx_len++) % RX_FIFO_SIZE] = c;
		return;
	}
	/* A console that cannot keep up loses bytes, not the guest. */
	if (write(s->out_fd, &c, 1) < 0 && errno != EAGAIN)
		s->out_fd = -1;
}

static uint8_t serial__read(struct serial *s, unsigned int reg)
{
	uint8_t val;

	switch (reg) {
	case UART_RX:
		if (s->lcr & UART_LCR_DLAB)
			return s->dll;
		if (!s->rx_len)
			return 0;
		val = s->rx[s->rx_head];
		s->rx_head = (s->rx_head + 1) % RX_FIFO_SIZE;
		s->rx_len--;
		return val;
	case UART_IER:
		return (s->lcr & UART_LCR_DLAB) ? s->dlm : s->ier;
	case UART_IIR:
		val = serial__iir(s);
		/* Reading IIR acknowledges a THR-empty interrupt. */
		if ((val & 0x0f) == UART_IIR_THRI)
			s->thri_pending = false;
		return val;
	case UART_LCR:
		return s->lcr;
	case UART_MCR:
		return s->mcr;
	case UART_LSR:
		return UART_LSR_THRE | UART_LSR_TEMT |
		       (s->rx_len ? UART_LSR_DR : 0);
	case UART_MSR:
		return serial__msr(s);
	default:
		return s->scr;
	}
}

static void serial__write(struct serial *s, unsigned int reg, uint8_t val)
{
	switch (reg) {
	case UART_RX:
		if (s->lcr & UART_LCR_DLAB) {
			s->dll = val;
			break;
		}
		serial__write_out(s, val);
		s->thri_pending = true;
		break;
	case UART_IER:
		if (s->lcr & UART_LCR_DLAB) {
			s->dlm = val;
			break;
		}
		/* Enabling THRI with an empty THR raises it at once. */
		if (!(s->ier & UART_IER_THRI) && (val & UART_IER_THRI))
			s->thri_pending = true;
		s->ier = val & 0x0f;
		break;
	case UART_IIR:
		s->fcr = val & 0xc9;
		if (val & UART_FCR_CLEAR_RCVR)
			s->rx_len = 0;
		break;
	case UART_LCR:
		s->lcr = val;
		break;
	case UART_MCR:
		s->mcr = val & 0x1f;
		break;
	case UART_SCR:
		s->scr = val;
		break;
	}
}

static void serial__io(void *dev, uint16_t port, uint8_t *data, uint32_t len,
		       bool is_write)
{
	struct serial *s = dev;
	unsigned int reg = port - COM1_BASE;

	if (len != 1) {
		if (!is_write)
			memset(data, 0xff, len);
		return;
	}
	pthread_mutex_lock(&s->lock);
	if (is_write)
		serial__write(s, reg, *data);
	else
		*data = serial__read(s, reg);
	serial__update_irq(s);
	pthread_mutex_unlock(&s->lock);
}

static void *serial__reader(void *arg)
{
	struct serial *s = arg;
	uint8_t buf[RX_FIFO_SIZE];

	for (;;) {
		unsigned int room, i;
		ssize_t n;

		pthread_mutex_lock(&s->lock);
		room = RX_FIFO_SIZE - s->rx_len;
		pthread_mutex_unlock(&s->lock);
		if (!room) {
			/* The guest is not reading: wait, don't drop. */
			poll(NULL, 0, 10);
			continue;
		}
		n = read(s->in_fd, buf, room);
		if (n <= 0)
			return NULL;
		pthread_mutex_lock(&s->lock);
		for (i = 0; i < n; i++)
			s->rx[(s->rx_head + s->rx_len++) % RX_FIFO_SIZE] = buf[i];
		serial__update_irq(s);
		pthread_mutex_unlock(&s->lock);
	}
}

int serial__init(struct vm *vm, int in_fd, int out_fd)
{
	struct serial *s = &com1;
	int ret;

	memset(s, 0, sizeof(*s));
	pthread_mutex_init(&s->lock, NULL);
	s->vm = vm;
	s->in_fd = in_fd;
	s->out_fd = out_fd;
	ret = ioport__register(COM1_BASE, 8, serial__io, s);
	if (ret)
		return ret;
	if (in_fd >= 0) {
		ret = pthread_create(&s->reader, NULL, serial__reader, s);
		if (ret)
			return -ret;
		s->reader_started = true;
	}
	return 0;
}

void serial__save(struct vs_serial *vs)
{
	struct serial *s = &com1;
	unsigned int i;

	pthread_mutex_lock(&s->lock);
	vs->ier = s->ier;
	vs->lcr = s->lcr;
	vs->mcr = s->mcr;
	vs->scr = s->scr;
	vs->fcr = s->fcr;
	vs->dll = s->dll;
	vs->dlm = s->dlm;
	vs->thri_pending = s->thri_pending;
	vs->rx_len = s->rx_len;
	for (i = 0; i < s->rx_len; i++)
		vs->rx[i] = s->rx[(s->rx_head + i) % RX_FIFO_SIZE];
	pthread_mutex_unlock(&s->lock);
}

int serial__restore(const struct vs_serial *vs)
{
	struct serial *s = &com1;

	if (vs->rx_len > RX_FIFO_SIZE)
		return -EINVAL;
	pthread_mutex_lock(&s->lock);
	s->ier = vs->ier;
	s->lcr = vs->lcr;
	s->mcr = vs->mcr;
	s->scr = vs->scr;
	s->fcr = vs->fcr;
	s->dll = vs->dll;
	s->dlm = vs->dlm;
	s->thri_pending = vs->thri_pending;
	s->rx_head = 0;
	s->rx_len = vs->rx_len;
	memcpy(s->rx, vs->rx, vs->rx_len);
	s->irq_level = -1;	/* force the line to the restored level */
	serial__update_irq(s);
	pthread_mutex_unlock(&s->lock);
	return 0;
}

void serial__exit(void)
{
	if (com1.reader_started) {
		pthread_cancel(com1.reader);
		pthread_join(com1.reader, NULL);
		com1.reader_started = false;
	}
}
