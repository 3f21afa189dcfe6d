// SPDX-License-Identifier: GPL-2.0
/*
 * pagetrack: page presence, accessed and dirty tracking through
 * /dev/pagetrack.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/pagetrack.h>

#include "pagetrack.h"

static int pagetrack_open(struct inode *inode, struct file *file)
{
	return 0;
}

static int pagetrack_release(struct inode *inode, struct file *file)
{
	return 0;
}

static long pagetrack_ioctl(struct file *file, unsigned int cmd,
			    unsigned long arg)
{
	return -ENOTTY;
}

static const struct file_operations pagetrack_fops = {
	.owner = THIS_MODULE,
	.open = pagetrack_open,
	.release = pagetrack_release,
	.unlocked_ioctl = pagetrack_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = noop_llseek,
};

static struct miscdevice pagetrack_dev = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = PAGETRACK_DEVICE_NAME,
	.fops = &pagetrack_fops,
	.mode = 0666,
};

static int __init pagetrack_init(void)
{
	return misc_register(&pagetrack_dev);
}

static void __exit pagetrack_exit(void)
{
	misc_deregister(&pagetrack_dev);
}

module_init(pagetrack_init);
module_exit(pagetrack_exit);

MODULE_DESCRIPTION("Page presence, accessed and dirty tracking, including KVM guest accessed bits");
MODULE_VERSION(PAGETRACK_VERSION);
MODULE_LICENSE("GPL");
