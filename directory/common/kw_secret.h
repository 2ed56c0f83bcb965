/*
 * kw_secret.h - wiping secrets and comparing them in constant time.
 *
 * Every buffer that held a password, a key or a code is wiped with
 * kw_wipe() on every exit path.  This file depends on nothing else of
 * keyward.
 */
#ifndef KW_SECRET_H
#define KW_SECRET_H

#include <stdbool.h>
#include <stddef.h>

/* Overwrite LEN bytes at P with zeros; never optimised away.  P may be NULL. */
void kw_wipe(void *p, size_t len);

/* Wipe a NUL-terminated string in place and free it.  S may be NULL. */
void kw_wipe_free_str(char *s);

/* Compare two buffers of equal length in time that depends only on LEN. */
bool kw_secret_equal(const void *a, const void *b, size_t len);

#endif
