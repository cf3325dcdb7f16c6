/*
 * libFuzzer target: a queue entry as a damaged disk or a hostile
 * writer may leave it (queue(5)): the trailer parser, a PQE2 entry's
 * map, the checksum and the reads of the message that deliver makes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../../queue.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct qentry e;
	struct qmessage m;
	char buf[4096];
	long long off = 0, total = 0;
	ssize_t n;
	int fd = memfd_create("entry", 0);

	if (fd < 0)
		abort();
	if (size > 0 && write(fd, data, size) != (ssize_t)size)
		abort();
	if (qentry_parse(fd, &e) == 0) {
		/* what a trailer accepts must lie inside the file */
		if (e.msglen < 0 || e.envlen < 3 || e.envoff < 0 ||
		    (size_t)(e.envoff + e.envlen) + QENTRY_TRAILER_SIZE != size)
			abort();
		(void)qentry_verify(fd, &e);
	}
	if (qmessage_from_fd(dup(fd), &m) == 0) {
		/* every octet of the message can be read, and no more */
		while ((n = qmessage_read(&m, buf, sizeof buf, off)) > 0) {
			off += n;
			total += n;
		}
		if (n < 0 || total != m.len)
			abort();
		qmessage_close(&m);
	}
	close(fd);
	return 0;
}
