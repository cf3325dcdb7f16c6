/*
 * queue.h - the queue directory of queue(5): writing a message and its
 * envelope so that, once committed, they survive a crash or power cut.
 */
#ifndef POSTERN_QUEUE_H
#define POSTERN_QUEUE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define QUEUE_ID_MAX 64

struct queue {
	int dirfd;
	int tmpfd;
	int messfd;
	int todofd;
	int anonymous;	/* O_TMPFILE + linkat work here: 1, 0, -1 unknown */
	uid_t owner;	/* of the queue directory */
	int ordered;	/* queuesync ordered: 1 used, 0 not, -1 not yet checked */
};

struct qmsg {
	int fd;
	uint32_t crc;	/* CRC-32 of what is written so far */
	char tmpname[64];
	char id[QUEUE_ID_MAX];
};

/* One piece of a message: len octets of the entry's file from off. */
struct qextent {
	long long off;
	long long len;
};

/*
 * The message of a queue entry: the whole of an old-format mess/ file,
 * the part of a PQE1 entry before its envelope, or the pieces a PQE2
 * entry's map lists, one after the other (queue(5)).
 */
struct qmessage {
	int fd;
	long long len;
	struct qextent *map;	/* NULL: the file's first len octets */
	size_t nmap;
};

/*
 * A one-file entry ends in a trailer of 48 octets: "PQE1 <16 hex:
 * message> <16 hex: envelope> <8 hex: CRC-32>\n", or "PQE2 <16 hex: map
 * offset> ..." for an entry whose message is a list of pieces (written
 * when a content filter changed it).  A map is QMAP_RECORD octets per
 * piece, "<16 hex: offset> <16 hex: length>\n", at most QMAP_MAX.
 */
#define QENTRY_TRAILER_SIZE 48
#define QMAP_RECORD 34
#define QMAP_MAX 8192

struct qentry {
	int version;		/* 1 or 2 */
	long long msglen;	/* the message's length */
	long long mapoff;	/* PQE2: where the map starts */
	long long envoff;	/* where the envelope starts */
	long long envlen;
	uint32_t crc;	/* of every octet before the trailer */
};

int qentry_parse(int fd, struct qentry *e);
int qentry_verify(int fd, const struct qentry *e);
int qmessage_open(int dirfd, const char *id, struct qmessage *m);
int qmessage_from_fd(int fd, struct qmessage *m);
ssize_t qmessage_read(const struct qmessage *m, void *buf, size_t n,
    long long off);
void qmessage_close(struct qmessage *m);

int queue_open(struct queue *q, const char *path, char *err, size_t errlen);
int queue_subdir(const struct queue *q, const char *name);
void queue_sync_ordered(struct queue *q);
void queue_close(struct queue *q);
int qmsg_create(struct queue *q, struct qmsg *m);
int qmsg_write(struct qmsg *m, const void *p, size_t n);
int qmsg_commit(struct queue *q, struct qmsg *m, const char *env,
    size_t envlen);
int qmsg_commit_map(struct queue *q, struct qmsg *m,
    const struct qextent *map, size_t nmap, const char *env, size_t envlen);
void qmsg_abort(struct queue *q, struct qmsg *m);
void queue_trigger(struct queue *q);

#endif
