/*
 * bench/spawn.c - the cost of starting a program per connection, as a
 * super-server does: posix_spawn with standard input from a file and
 * output to /dev/null, then wait.  usage: spawn N INPUT PROGRAM [ARG...]
 * Prints the mean wall-clock microseconds per run.
 */
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>

extern char **environ;

int
main(int argc, char **argv)
{
	struct timespec a, z;
	int n;

	if (argc < 4)
		return 2;
	n = atoi(argv[1]);
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (int i = 0; i < n; i++) {
		posix_spawn_file_actions_t fa;
		pid_t pid;
		int status;

		posix_spawn_file_actions_init(&fa);
		posix_spawn_file_actions_addopen(&fa, 0, argv[2], O_RDONLY, 0);
		posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
		posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
		if (posix_spawn(&pid, argv[3], &fa, NULL, argv + 3, environ) != 0)
			return 1;
		if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) ||
		    WEXITSTATUS(status) != 0)
			return 1;
		posix_spawn_file_actions_destroy(&fa);
	}
	clock_gettime(CLOCK_MONOTONIC, &z);
	printf("%.1f\n", ((double)(z.tv_sec - a.tv_sec) * 1e9 +
	    (double)(z.tv_nsec - a.tv_nsec)) / n / 1000);
	return 0;
}
