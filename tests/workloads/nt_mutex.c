// SPDX-License-Identifier: GPL-2.0
/*
 * nt_mutex: threads contending on one pthread mutex for a known hold time, for the futex test.
 *
 *   nt_mutex GO_FIFO THREADS ITERATIONS HOLD_US
 *
 * After GO_FIFO is opened for writing, THREADS threads each take the mutex ITERATIONS times and
 * hold it for HOLD_US (sleeping inside, so waiters block in futex(FUTEX_WAIT)). Each thread times
 * its pthread_mutex_lock() calls with CLOCK_MONOTONIC. Prints one JSON line:
 *   {"pid":…, "mutex":"0x…", "lock_wait_ns":…, "hold_ns":…, "wall_ns":…}
 * lock_wait_ns is the sum over threads of the time spent inside pthread_mutex_lock(): an upper bound
 * for the futex wait time a tracer can see for that mutex.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static long iterations, hold_us;
static unsigned long long total_wait;

static unsigned long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * 1000000000ULL + (unsigned long long)ts.tv_nsec;
}

static void *worker(void *arg)
{
	unsigned long long waited = 0;
	struct timespec hold = {hold_us / 1000000, (hold_us % 1000000) * 1000};

	(void)arg;
	for (long i = 0; i < iterations; i++) {
		unsigned long long t0 = now_ns();
		pthread_mutex_lock(&lock);
		waited += now_ns() - t0;
		nanosleep(&hold, NULL);
		pthread_mutex_unlock(&lock);
		sched_yield(); /* give a woken waiter a chance to take it */
	}
	__atomic_fetch_add(&total_wait, waited, __ATOMIC_RELAXED);
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
		pthread_create(&th[i], NULL, worker, NULL);
	for (int i = 0; i < nthreads; i++)
		pthread_join(th[i], NULL);
	printf("{\"pid\":%d,\"mutex\":\"%p\",\"lock_wait_ns\":%llu,\"hold_ns\":%llu,\"wall_ns\":%llu}\n", getpid(),
	       (void *)&lock, total_wait, (unsigned long long)nthreads * iterations * hold_us * 1000ULL, now_ns() - t0);
	return 0;
}
