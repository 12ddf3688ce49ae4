// SPDX-License-Identifier: GPL-2.0
/*
 * nt_rwlock: writer threads contending on one pthread_rwlock_t for a known hold time, for the rwlock
 * test.
 *
 *   nt_rwlock GO_FIFO THREADS ITERATIONS HOLD_US
 *
 * After GO_FIFO is opened for writing, THREADS threads each take the lock for writing ITERATIONS times
 * (from nt_rwlock_take_write, called by writer) and hold it HOLD_US (sleeping). Each thread times
 * its pthread_rwlock_wrlock() calls with CLOCK_MONOTONIC. Prints one JSON line:
 *   {"pid":…, "rwlock":"0x…", "calls":…, "wrlock_wait_ns":…, "hold_ns":…, "wall_ns":…}
 * wrlock_wait_ns is the sum over threads of the time spent inside pthread_rwlock_wrlock(), measured
 * around the call: an upper bound for what a uprobe/uretprobe pair inside it can measure.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static pthread_rwlock_t lock = PTHREAD_RWLOCK_INITIALIZER;
static long iterations, hold_us;
static unsigned long long total_wait, total_calls;

static unsigned long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * 1000000000ULL + (unsigned long long)ts.tv_nsec;
}

/* Returns the time spent in pthread_rwlock_wrlock(). */
__attribute__((noinline)) unsigned long long nt_rwlock_take_write(void)
{
	unsigned long long t0 = now_ns();

	if (pthread_rwlock_wrlock(&lock) != 0)
		abort();
	return now_ns() - t0;
}

static void *writer(void *arg)
{
	unsigned long long waited = 0;
	struct timespec hold = {hold_us / 1000000, (hold_us % 1000000) * 1000};

	(void)arg;
	for (long i = 0; i < iterations; i++) {
		waited += nt_rwlock_take_write();
		nanosleep(&hold, NULL);
		pthread_rwlock_unlock(&lock);
		sched_yield(); /* give a woken waiter a chance to take it */
	}
	__atomic_fetch_add(&total_wait, waited, __ATOMIC_RELAXED);
	__atomic_fetch_add(&total_calls, (unsigned long long)iterations, __ATOMIC_RELAXED);
	return NULL;
}

int main(int argc, char **argv)
{
	char c;

	if (argc < 5) {
		fprintf(stderr, "usage: %s GO_FIFO THREADS ITERATIONS HOLD_US\n", argv[0]);
		return 2;
	}
	int nthreads = atoi(argv[2]);
	iterations = atol(argv[3]);
	hold_us = atol(argv[4]);
	if (nthreads < 1 || nthreads > 64)
		return 2;
	int fd = open(argv[1], O_RDONLY);
	if (fd < 0 || read(fd, &c, 1) < 0) {
		perror(argv[1]);
		return 1;
	}
	close(fd);
	pthread_t th[64];
	unsigned long long t0 = now_ns();
	for (int i = 0; i < nthreads; i++)
		pthread_create(&th[i], NULL, writer, NULL);
	for (int i = 0; i < nthreads; i++)
		pthread_join(th[i], NULL);
	printf("{\"pid\":%d,\"rwlock\":\"%p\",\"calls\":%llu,\"wrlock_wait_ns\":%llu,\"hold_ns\":%llu,\"wall_ns\":%llu}\n",
	       getpid(), (void *)&lock, total_calls, total_wait,
	       (unsigned long long)nthreads * iterations * hold_us * 1000ULL, now_ns() - t0);
	return 0;
}
