// SPDX-License-Identifier: GPL-2.0
/*
 * pagetrack: page presence, accessed and dirty tracking through
 * /dev/pagetrack.  One open file is one tracker session.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/uaccess.h>

#include "pagetrack.h"

static int pagetrack_open(struct inode *inode, struct file *file)
{
	struct pt_session *s = pt_session_create();

	if (!s)
		return -ENOMEM;
	file->private_data = s;
	return 0;
}

static int pagetrack_release(struct inode *inode, struct file *file)
{
	pt_session_destroy(file->private_data);
	return 0;
}

/*
 * Copy in an extensible argument: @size first, then as much of the
 * structure as both sides know; bytes beyond what the kernel knows must be
 * zero, else -E2BIG as from clone3() and openat2().  Returns the caller's
 * size, or a negative errno.
 */
static long pt_copy_arg(void *karg, size_t ksize, size_t min_size,
			void __user *uarg)
{
	u32 usize;
	int ret;

	if (get_user(usize, (u32 __user *)uarg))
		return -EFAULT;
	if (usize < min_size || usize > PAGE_SIZE)
		return -EINVAL;
	ret = copy_struct_from_user(karg, ksize, uarg, usize);
	/* Not "ret ?: usize": that would be unsigned, and errors positive. */
	if (ret)
		return ret;
	return usize;
}

static long pt_ioctl_attach(struct file *file, void __user *uarg)
{
	struct pagetrack_attach a;
	long ret;

	ret = pt_copy_arg(&a, sizeof(a), PAGETRACK_ATTACH_SIZE_VER0, uarg);
	if (ret < 0)
		return ret;
	return pt_session_attach(file->private_data, file, &a);
}

static long pt_ioctl_scan(struct pt_session *s, void __user *uarg)
{
	struct pagetrack_scan sc;
	long usize;
	int ret;

	usize = pt_copy_arg(&sc, sizeof(sc), PAGETRACK_SCAN_SIZE_VER0, uarg);
	if (usize < 0)
		return usize;
	ret = pt_scan(s, &sc);
	if (ret)
		return ret;
	if (copy_to_user(uarg, &sc, min_t(size_t, usize, sizeof(sc))))
		return -EFAULT;
	return 0;
}

/*
 * Commands are matched on type and number only: the size bits of the
 * command grow with the structure, while the @size field says which
 * version the caller speaks.
 */
static long pagetrack_ioctl(struct file *file, unsigned int cmd,
			    unsigned long arg)
{
	struct pt_session *s = file->private_data;
	void __user *uarg = (void __user *)arg;

	if (_IOC_TYPE(cmd) != PAGETRACK_IOC_MAGIC)
		return -ENOTTY;
	switch (_IOC_NR(cmd)) {
	case _IOC_NR(PAGETRACK_IOC_ATTACH):
		return pt_ioctl_attach(file, uarg);
	case _IOC_NR(PAGETRACK_IOC_SCAN):
		return pt_ioctl_scan(s, uarg);
	default:
		return -ENOTTY;
	}
}

static const struct file_operations pagetrack_fops = {
	.owner = THIS_MODULE,
	.open = pagetrack_open,
	.release = pagetrack_release,
	.unlocked_ioctl = pagetrack_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = noop_llseek,
};

/*
 * Root only unless a udev rule says otherwise: kmod/60-pagetrack.rules,
 * which make dkms-install installs, gives the node to group kvm, as
 * /dev/kvm is.  Who may track what is checked at attach, not here.
 */
static struct miscdevice pagetrack_dev = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = PAGETRACK_DEVICE_NAME,
	.fops = &pagetrack_fops,
	.mode = 0600,
};

static int __init pagetrack_init(void)
{
	int ret;

	ret = pt_netlink_init();
	if (ret)
		return ret;
	ret = misc_register(&pagetrack_dev);
	if (ret)
		pt_netlink_exit();
	return ret;
}

static void __exit pagetrack_exit(void)
{
	misc_deregister(&pagetrack_dev);
	pt_netlink_exit();
}

module_init(pagetrack_init);
module_exit(pagetrack_exit);

MODULE_DESCRIPTION("Page presence, accessed and dirty tracking, including KVM guest accessed bits");
MODULE_VERSION(PAGETRACK_VERSION);
MODULE_LICENSE("GPL");
