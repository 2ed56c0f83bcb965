/*
 * kw_secret.c - wiping secrets and comparing them in constant time.
 *
 * Kept free of OpenSSL so that every part of keyward can link it: the
 * PAM modules and the NSS module must stay small.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "kw_secret.h"

void kw_wipe(void *p, size_t len)
{
	if (p == NULL || len == 0)
		return;
	/* configure refuses a libc without it, so there is no fallback. */
	explicit_bzero(p, len);
}

void kw_wipe_free_str(char *s)
{
	if (s == NULL)
		return;
	kw_wipe(s, strlen(s));
	free(s);
}

bool kw_secret_equal(const void *a, const void *b, size_t len)
{
	const volatile unsigned char *pa = a;
	const volatile unsigned char *pb = b;
	volatile unsigned char diff = 0;

	/*
	 * Every byte is read and folded into DIFF whatever came before, so
	 * the loop runs the same number of steps for a match and for a
	 * mismatch at any position.  The volatile qualifiers keep the
	 * compiler from turning it into an early-exit memcmp.
	 */
	for (size_t i = 0; i < len; i++)
		diff |= pa[i] ^ pb[i];
	return diff == 0;
}
