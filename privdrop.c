/*
 * privdrop.c - -u USER: a program started as root gives up root for
 * good before it reads any input.  Each step is checked, and then the
 * result is verified: every user and group ID is the target's, the
 * supplementary groups are only its group, and root cannot be regained.
 *
 * Without -u, a program run by root on a queue that belongs to another
 * user becomes that user: files root made in the queue (an envelope, a
 * state file, a Maildir) would be unreadable to the real smtpd and
 * deliver, and break the queue for good.
 */
#include "privdrop.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int
verify(uid_t uid, gid_t gid)
{
	uid_t ru, eu, su;
	gid_t rg, eg, sg, groups[2];
	int n;

	if (getresuid(&ru, &eu, &su) < 0 || getresgid(&rg, &eg, &sg) < 0)
		return -1;
	if (ru != uid || eu != uid || su != uid || rg != gid || eg != gid ||
	    sg != gid)
		return -1;
	n = getgroups(2, groups);
	if (n < 0 || n > 1 || (n == 1 && groups[0] != gid))
		return -1;
	if (uid != 0 && (setuid(0) == 0 || seteuid(0) == 0))
		return -1;
	return 0;
}

static int
become(const char *who, uid_t uid, gid_t gid, char *err, size_t errlen)
{
	if (setgroups(1, &gid) < 0 || setresgid(gid, gid, gid) < 0 ||
	    setresuid(uid, uid, uid) < 0) {
		snprintf(err, errlen, "cannot become %s: %s", who,
		    strerror(errno));
		return -1;
	}
	if (verify(uid, gid) < 0) {
		snprintf(err, errlen, "dropping privileges to %s did not hold",
		    who);
		return -1;
	}
	return 0;
}

/*
 * Root on a queue directory owned by someone else: become its owner
 * (with the owner's group from the password file, else the directory's).
 * Anyone else, or a queue of root's own or that cannot be looked at:
 * nothing changes (queue_open reports what is wrong with it).
 */
int
become_queue_owner(const char *queuedir, char *err, size_t errlen)
{
	struct passwd *pw;
	struct stat st;
	char who[64];

	if (geteuid() != 0 || stat(queuedir, &st) < 0 || st.st_uid == 0)
		return 0;
	pw = getpwuid(st.st_uid);
	snprintf(who, sizeof who, "uid %lu, the queue's owner",
	    (unsigned long)st.st_uid);
	return become(who, st.st_uid, pw != NULL ? pw->pw_gid : st.st_gid,
	    err, errlen);
}

int
drop_privileges(const char *user, char *err, size_t errlen)
{
	struct passwd *pw;
	uid_t uid;
	gid_t gid;

	errno = 0;
	pw = getpwnam(user);
	if (pw == NULL) {
		snprintf(err, errlen, "no such user: %s", user);
		return -1;
	}
	uid = pw->pw_uid;
	gid = pw->pw_gid;
	if (geteuid() != 0) {
		if (getuid() == uid && geteuid() == uid)
			return 0;	/* already that user */
		snprintf(err, errlen, "-u %s needs to start as root", user);
		return -1;
	}
	return become(user, uid, gid, err, errlen);
}
