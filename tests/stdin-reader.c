/* The baseline for the memory tests: a C program that only reads stdin. */
#include <unistd.h>

int
main(void)
{
	char buf[512];

	while (read(0, buf, sizeof buf) > 0)
		continue;
	return 0;
}
