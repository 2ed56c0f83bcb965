/*
 * test_secret.c - the wipe helpers and the constant-time compare.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kw_secret.h"

static void test_wipe(void **state)
{
	char buf[64];

	memset(buf, 0xa5, sizeof(buf));
	kw_wipe(buf + 8, 16);
	for (size_t i = 0; i < sizeof(buf); i++) {
		if (i >= 8 && i < 24)
			assert_int_equal(buf[i], 0);
		else
			assert_int_equal((unsigned char)buf[i], 0xa5);
	}
	kw_wipe(NULL, 10);
	kw_wipe(buf, 0);
	assert_int_equal((unsigned char)buf[0], 0xa5);
}

static void test_wipe_free_str(void **state)
{
	char *s = strdup("correct horse battery staple");

	assert_non_null(s);
	/* Under ASan or valgrind a wipe past the string would show. */
	kw_wipe_free_str(s);
	kw_wipe_free_str(NULL);
	s = strdup("");
	assert_non_null(s);
	kw_wipe_free_str(s);
}

static void test_equal(void **state)
{
	static const unsigned char a[] = "123456";
	unsigned char b[sizeof(a)];

	memcpy(b, a, sizeof(a));
	assert_true(kw_secret_equal(a, b, sizeof(a)));
	assert_true(kw_secret_equal(a, b, 0));
	assert_true(kw_secret_equal(NULL, NULL, 0));

	/* Every single-bit difference at every position is seen. */
	for (size_t i = 0; i < sizeof(a); i++) {
		for (int bit = 0; bit < 8; bit++) {
			b[i] ^= (unsigned char)(1u << bit);
			assert_false(kw_secret_equal(a, b, sizeof(a)));
			b[i] ^= (unsigned char)(1u << bit);
		}
	}
	assert_true(kw_secret_equal(a, b, sizeof(a)));

	/* Only LEN bytes count. */
	b[3] = 'x';
	assert_true(kw_secret_equal(a, b, 3));
	assert_false(kw_secret_equal(a, b, 4));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wipe),
		cmocka_unit_test(test_wipe_free_str),
		cmocka_unit_test(test_equal),
	};

	return cmocka_run_group_tests_name("secret", tests, NULL, NULL);
}
