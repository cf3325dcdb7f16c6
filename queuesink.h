/* queuesink.h - the in-process queue sink's state. */
#ifndef POSTERN_QUEUESINK_H
#define POSTERN_QUEUESINK_H

#include "queue.h"
#include "util.h"

struct queue_sink {
	struct queue *queue;
	struct qmsg msg;
	int held;	/* a hold marker was made for msg */
};

#endif
