/*
 * fsorder.c - recognising the file systems where "write, link, fsync
 * the file" is as durable as "write, fsync, link, fsync the directory".
 *
 * On a journaling file system that keeps metadata in order and writes a
 * file's data before the journal commit that makes it reachable (ext4
 * with a journal in data=ordered or data=journal mode, the default; ext3
 * on the ext4 driver; xfs), fsync of a file commits the journal up to
 * its last change, and linking it was such a change: the link and the
 * data become durable together.  Everywhere else (ext4 without a
 * journal, data=writeback, ext2, tmpfs, btrfs, NFS...) that is not
 * promised, and postern keeps the portable protocol.
 *
 * ext2, ext3 and ext4 share one magic number; what tells them apart is
 * the kernel's list of the mount's options in /proc/fs/ext4/DEVICE,
 * which names the data mode only when there is a journal.  The device's
 * kernel name comes from /sys/dev/block, as device-mapper volumes are
 * listed there by their dm-N name.
 */
#include "fsorder.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#define EXT_SUPER_MAGIC 0xEF53
#define XFS_MAGIC 0x58465342

/* The kernel's name of the block device dev ("vda", "dm-0"), or -1. */
static int
block_device_name(dev_t dev, char *name, size_t size)
{
	char link[64], target[256];
	const char *base;
	ssize_t n;

	snprintf(link, sizeof link, "/sys/dev/block/%u:%u", major(dev),
	    minor(dev));
	n = readlink(link, target, sizeof target - 1);
	if (n <= 0)
		return -1;
	target[n] = '\0';
	base = strrchr(target, '/');
	base = base != NULL ? base + 1 : target;
	if (*base == '\0' || strlen(base) >= size)
		return -1;
	memcpy(name, base, strlen(base) + 1);
	return 0;
}

/* Whether ext4's option list for device name has a journal data mode. */
static int
ext4_journals_data_in_order(const char *name)
{
	char path[300], line[256];
	int ordered = 0;
	FILE *f;

	snprintf(path, sizeof path, "/proc/fs/ext4/%s/options", name);
	f = fopen(path, "re");
	if (f == NULL)
		return 0;
	while (fgets(line, sizeof line, f) != NULL)
		if (strcmp(line, "data=ordered\n") == 0 ||
		    strcmp(line, "data=journal\n") == 0)
			ordered = 1;
	fclose(f);
	return ordered;
}

/*
 * 1 if the file system of dirfd orders links with data as above; 0 and
 * the reason in why if not, or if it cannot be told.
 */
int
fs_orders_links(int dirfd, char *why, size_t whylen)
{
	struct statfs fs;
	struct stat st;
	char name[64];

	if (fstatfs(dirfd, &fs) < 0 || fstat(dirfd, &st) < 0) {
		snprintf(why, whylen, "cannot tell the file system");
		return 0;
	}
	if ((unsigned long)fs.f_type == XFS_MAGIC)
		return 1;
	if ((unsigned long)fs.f_type != EXT_SUPER_MAGIC) {
		snprintf(why, whylen, "file system type 0x%lx is neither "
		    "ext4 nor xfs", (unsigned long)fs.f_type);
		return 0;
	}
	if (block_device_name(st.st_dev, name, sizeof name) < 0) {
		snprintf(why, whylen, "cannot find the block device %u:%u",
		    major(st.st_dev), minor(st.st_dev));
		return 0;
	}
	if (!ext4_journals_data_in_order(name)) {
		snprintf(why, whylen, "%s has no journal in data=ordered or "
		    "data=journal mode", name);
		return 0;
	}
	return 1;
}
