// SPDX-License-Identifier: GPL-2.0
/*
 * nt_spin: a CPU hog with a known end, for the cpu monitor test.
 *
 *   nt_spin MS
 *
 * Spins in nt_spin_loop() for MS milliseconds of wall time, then prints one JSON line with its own
 * CPU time from /proc/thread-self/schedstat (field 1, ns, the scheduler's sum_exec_runtime):
 *   {"pid":…, "cpu_time_ns":…, "wall_ns":…, "spin_start_realtime_ns":…, "spin_end_realtime_ns":…}
 * The spin's CLOCK_REALTIME bounds let a test pick the monitor intervals wholly inside the spin: the
 * process's life is longer (exec and loading before it, which can block on I/O and leave the CPU idle).
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static unsigned long long clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (unsigned long long)ts.tv_sec * 1000000000ULL + (unsigned long long)ts.tv_nsec;
}

static unsigned long long now_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

__attribute__((noinline)) unsigned long nt_spin_loop(unsigned long long until)
{
	volatile unsigned long x = 0;

	while (now_ns() < until)
		for (int i = 0; i < 1000; i++)
			x++;
	return x;
}

int main(int argc, char **argv)
{
	unsigned long long cpu = 0, rt0 = clock_ns(CLOCK_REALTIME), t0 = now_ns(), rt1;
	FILE *f;

	if (argc < 2) {
		fprintf(stderr, "usage: %s MS\n", argv[0]);
		return 2;
	}
	nt_spin_loop(t0 + (unsigned long long)atol(argv[1]) * 1000000ULL);
	rt1 = clock_ns(CLOCK_REALTIME);
	f = fopen("/proc/thread-self/schedstat", "r");
	if (!f || fscanf(f, "%llu", &cpu) != 1)
		return 1;
	fclose(f);
	printf("{\"pid\":%d,\"cpu_time_ns\":%llu,\"wall_ns\":%llu,\"spin_start_realtime_ns\":%llu,\"spin_end_realtime_ns\":%llu}\n",
	       getpid(), cpu, now_ns() - t0, rt0, rt1);
	return 0;
}
