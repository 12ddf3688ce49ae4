// SPDX-License-Identifier: GPL-2.0
/*
 * nt_sleeper: a thread whose sleeping and run-queue waits are known, for the cpu integration tests.
 *
 *   nt_sleeper GO_FIFO SLEEP_US COUNT [spin] [nice] [pause]
 *
 * Reads its own /proc/thread-self/schedstat, blocks until something opens GO_FIFO for writing (so a
 * tracer can attach first), optionally forks a child that spins on the same CPU (the affinity is
 * inherited: run it under taskset), with "nice" lowers its own priority to nice 19 after the fork (so
 * every wakeup waits for the spinner's slice: long waits, next to which the scheduler's own few
 * microseconds between its clock reads and its tracepoints are negligible), sleeps COUNT times SLEEP_US
 * with nanosleep() in nt_sleeper_sleep(), reads schedstat again, stops the spinner and prints one JSON line:
 *   {"pid":…, "run_delay_ns":…, "cpu_time_ns":…, "sleeps":…, "sleep_ns":…, "wall_ns":…, "timeslices":…,
 *    "blocking_sleeps":…, "sleep_switches":…}
 * blocking_sleeps counts the nanosleep() calls during which the kernel counted a voluntary context switch
 * (a sleep whose timer fires before the thread reaches schedule() never blocks); sleep_switches counts
 * every context switch, voluntary or not, inside those calls (getrusage(RUSAGE_THREAD) around each).
 * run_delay_ns is the kernel's own run-queue wait (schedstat field 2) from before the go wakeup to
 * after the spinner is reaped: every wait a tracer attached before "go" can see, except at exit.
 * With "pause" it then blocks in pause() until killed, so its ELF stays readable for symbolization.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static unsigned long long pcount_last;
/* The kernel's counts of this thread's context switches: "voluntary_ctxt_switches:" (blocking sleeps)
 * or "nonvoluntary_ctxt_switches:" (preemptions); each is one trip through the run queue. */
static unsigned long long ctxt_switches(const char *field)
{
	char line[256];
	unsigned long long v = 0;
	FILE *f = fopen("/proc/thread-self/status", "r");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, field, strlen(field)) == 0) {
			v = strtoull(line + strlen(field), NULL, 10);
			break;
		}
	fclose(f);
	return v;
}

static void read_schedstat(unsigned long long *cpu, unsigned long long *delay)
{
	FILE *f = fopen("/proc/thread-self/schedstat", "r");

	if (!f || fscanf(f, "%llu %llu %llu", cpu, delay, &pcount_last) != 3) {
		perror("schedstat");
		exit(1);
	}
	fclose(f);
}

static void thread_switches(unsigned long long *vol, unsigned long long *invol)
{
	struct rusage ru;

	getrusage(RUSAGE_THREAD, &ru);
	*vol = (unsigned long long)ru.ru_nvcsw;
	*invol = (unsigned long long)ru.ru_nivcsw;
}

static unsigned long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * 1000000000ULL + (unsigned long long)ts.tv_nsec;
}

__attribute__((noinline)) void nt_sleeper_sleep(long us)
{
	struct timespec ts = {us / 1000000, (us % 1000000) * 1000};

	while (nanosleep(&ts, &ts) != 0)
		;
	__asm__ volatile("" ::: "memory"); /* keep the frame: no tail call */
}

int main(int argc, char **argv)
{
	unsigned long long cpu0, d0, cpu1, d1, t0, t1;
	unsigned long long blocking = 0, in_sleep = 0;
	int spin = 0, do_pause = 0, low_prio = 0;
	pid_t child = -1;
	char c;

	if (argc < 4) {
		fprintf(stderr, "usage: %s GO_FIFO SLEEP_US COUNT [spin] [pause]\n", argv[0]);
		return 2;
	}
	long us = atol(argv[2]);
	long count = atol(argv[3]);
	for (int i = 4; i < argc; i++) {
		spin |= strcmp(argv[i], "spin") == 0;
		do_pause |= strcmp(argv[i], "pause") == 0;
		low_prio |= strcmp(argv[i], "nice") == 0;
	}
	/* Read before blocking: the wait to run after the go wakeup is inside the window, as a tracer sees it. */
	unsigned long long v0 = ctxt_switches("voluntary_ctxt_switches:");
	unsigned long long n0 = ctxt_switches("nonvoluntary_ctxt_switches:");
	read_schedstat(&cpu0, &d0);
	unsigned long long p0 = pcount_last;
	int fd = open(argv[1], O_RDONLY);
	if (fd < 0 || read(fd, &c, 1) < 0) {
		perror(argv[1]);
		return 1;
	}
	close(fd);

	t0 = now_ns();
	if (spin) {
		child = fork();
		if (child == 0) {
			volatile unsigned long x = 0;
			for (;;)
				x++;
		}
	}
	if (low_prio && setpriority(PRIO_PROCESS, 0, 19) != 0) {
		perror("setpriority");
		return 1;
	}
	for (long i = 0; i < count; i++) {
		unsigned long long va, na, vb, nb;

		thread_switches(&va, &na);
		nt_sleeper_sleep(us);
		thread_switches(&vb, &nb);
		blocking += vb > va;
		in_sleep += (vb - va) + (nb - na);
	}
	t1 = now_ns();
	if (child > 0) {
		kill(child, SIGKILL);
		waitpid(child, NULL, 0);
	}
	read_schedstat(&cpu1, &d1);
	unsigned long long v1 = ctxt_switches("voluntary_ctxt_switches:");
	unsigned long long n1 = ctxt_switches("nonvoluntary_ctxt_switches:");
	printf("{\"voluntary_switches\":%llu,\"involuntary_switches\":%llu,\"pid\":%d,\"run_delay_ns\":%llu,\"cpu_time_ns\":%llu,\"sleeps\":%ld,\"sleep_ns\":%llu,\"wall_ns\":%llu,\"timeslices\":%llu,\"blocking_sleeps\":%llu,\"sleep_switches\":%llu}\n",
	       v1 - v0, n1 - n0, getpid(), d1 - d0, cpu1 - cpu0, count, (unsigned long long)us * 1000ULL * (unsigned long long)count,
	       t1 - t0, pcount_last - p0, blocking, in_sleep);
	fflush(stdout);
	if (do_pause)
		for (;;)
			pause();
	return 0;
}
