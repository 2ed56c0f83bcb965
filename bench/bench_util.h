/*
 * bench_util.h - what the benchmark drivers share: a clock, a warm bound
 * LDAP connection, a secret read from a file, and the sort of samples.
 */
#ifndef BENCH_UTIL_H
#define BENCH_UTIL_H

#include <ldap.h>
#include <stddef.h>

/* CLOCK_MONOTONIC in microseconds. */
double bench_now_us(void);

/* A connection to URI, bound (simple) as DN with PASSWORD, or NULL. */
LDAP *bench_ldap_open_bound(const char *uri, const char *dn,
			    const char *password);

/* The first line of PATH (no newline) into BUF; -1, said on stderr. */
int bench_read_line_file(const char *path, char *buf, size_t sz);

/* qsort() order of doubles. */
int bench_cmp_double(const void *a, const void *b);

#endif
