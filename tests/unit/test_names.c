/*
 * test_names.c - the name patterns, kw_name_parse and LDAP escaping.
 *
 * The expected escapes are written out by hand from RFC 4515 and
 * RFC 4514, not computed by the code under test.
 */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kw_names.h"

/* A string of N copies of C, in a static buffer. */
static const char *repeat(char c, size_t n)
{
	static char buf[4][256];
	static int next;
	char *s = buf[next++ % 4];

	assert_true(n < sizeof(buf[0]));
	memset(s, c, n);
	s[n] = '\0';
	return s;
}

static void test_valid_tenant(void **state)
{
	static const char *const good[] = {"a",    "0",      "acme", "a-b",
					   "a--b", "9lives", "x1-y2"};
	static const char *const bad[] = {
		"",      "-",    "-a",          "a-",
		"A",     "Acme", "a_b",         "a.b",
		"a b",   "a@b",  "a\n",         "\xc3\xa9t\xc3\xa9",
		"a\xff", "*",    "acme)(uid=*", "a\\b",
	};

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_true(kw_name_valid_tenant(good[i]));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(kw_name_valid_tenant(bad[i]));
	assert_false(kw_name_valid_tenant(NULL));

	assert_true(kw_name_valid_tenant(repeat('a', 31)));
	assert_true(kw_name_valid_tenant(repeat('a', KW_TENANT_MAX)));
	assert_false(kw_name_valid_tenant(repeat('a', KW_TENANT_MAX + 1)));
	assert_false(kw_name_valid_tenant(repeat('a', 200)));
}

static void test_valid_user(void **state)
{
	static const char *const good[] = {"a",     "_",     "_svc",
					   "alice", "a.b",   "a-b",
					   "a_",    "al1ce", "x.y-z_0"};
	static const char *const bad[] = {
		"",           "1a",         ".",   "..",  ".a",
		"-a",         "a.",         "a-",  "A",   "Alice",
		"al ice",     "alice@acme", "a/b", "a:b", "a\t",
		"\xc3\xa5se", "a\x80",      "*",   "a)",  "a\\",
	};

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_true(kw_name_valid_user(good[i]));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(kw_name_valid_user(bad[i]));
	assert_false(kw_name_valid_user(NULL));

	assert_true(kw_name_valid_user(repeat('u', 31)));
	assert_true(kw_name_valid_user(repeat('u', KW_USER_MAX)));
	assert_false(kw_name_valid_user(repeat('u', KW_USER_MAX + 1)));
	assert_false(kw_name_valid_user(repeat('u', 250)));
}

static void test_valid_role(void **state)
{
	static const char *const good[] = {
		"a", "0", "admin", "contacts-read", "a_b", "a-_-b"};
	static const char *const bad[] = {"",    "_a",          "a_",  "-a",
					  "a-",  "Admin",       "a.b", "a b",
					  "a@b", "\xe2\x82\xac"};

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_true(kw_name_valid_role(good[i]));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(kw_name_valid_role(bad[i]));
	assert_false(kw_name_valid_role(NULL));

	assert_true(kw_name_valid_role(repeat('r', 63)));
	assert_true(kw_name_valid_role(repeat('r', KW_ROLE_MAX)));
	assert_false(kw_name_valid_role(repeat('r', KW_ROLE_MAX + 1)));
}

/* ---- kw_name_parse -------------------------------------------------- */

static void assert_parses(const char *input, char sep, const char *def,
			  const char *user, const char *tenant)
{
	struct kw_name name;

	assert_int_equal(kw_name_parse(input, sep, def, &name), 0);
	assert_string_equal(name.user, user);
	assert_string_equal(name.tenant, tenant);
}

static void assert_refused(const char *input, char sep, const char *def)
{
	struct kw_name name;
	struct kw_name zero;

	memset(&name, 0xff, sizeof(name));
	memset(&zero, 0, sizeof(zero));
	assert_int_equal(kw_name_parse(input, sep, def, &name), EINVAL);
	assert_memory_equal(&name, &zero, sizeof(name));
}

static void test_parse_good(void **state)
{
	assert_parses("alice@acme", '@', NULL, "alice", "acme");
	assert_parses("alice@acme", '@', "other", "alice", "acme");
	assert_parses("alice", '@', "acme", "alice", "acme");
	assert_parses("a.b-c@t-1", '@', "", "a.b-c", "t-1");
	assert_parses("alice%acme", '%', NULL, "alice", "acme");
	assert_parses("alice+acme", '+', NULL, "alice", "acme");
	assert_parses("_@0", '@', NULL, "_", "0");
}

static void test_parse_bad(void **state)
{
	/* No tenant and no usable default. */
	assert_refused("alice", '@', NULL);
	assert_refused("alice", '@', "");
	assert_refused("alice", '@', "Acme");
	assert_refused("alice", '@', "-acme");
	/* Empty parts, two separators. */
	assert_refused("", '@', "acme");
	assert_refused("@", '@', "acme");
	assert_refused("@acme", '@', "acme");
	assert_refused("alice@", '@', "acme");
	assert_refused("alice@acme@acme", '@', NULL);
	assert_refused("alice@@acme", '@', NULL);
	assert_refused("alice@acme@", '@', NULL);
	/* The other separator is part of the user name, so refused. */
	assert_refused("alice@acme", '%', NULL);
	assert_refused("alice@acme", '%', "acme");
	/* A separator a name may contain, or none at all. */
	assert_refused("alice.acme", '.', NULL);
	assert_refused("alice-acme", '-', NULL);
	assert_refused("aliceaacme", 'a', NULL);
	assert_refused("alice acme", ' ', NULL);
	assert_refused("alice", '\0', "acme");
	/* Case, bytes outside ASCII, control bytes. */
	assert_refused("Alice@acme", '@', NULL);
	assert_refused("alice@ACME", '@', NULL);
	assert_refused("al\xffice@acme", '@', NULL);
	assert_refused("\xc3\xa5se@acme", '@', NULL);
	assert_refused("alice@acm\xc3\xa9", '@', NULL);
	assert_refused("alice\n@acme", '@', NULL);
	assert_refused("alice@acme\n", '@', NULL);
	/* Filter and DN metacharacters. */
	assert_refused("*@acme", '@', NULL);
	assert_refused("alice)(uid=*@acme", '@', NULL);
	assert_refused("alice@acme,o=other", '@', NULL);
	assert_refused(NULL, '@', "acme");
}

static void test_parse_lengths(void **state)
{
	char input[KW_QNAME_MAX + 2];
	struct kw_name name;
	char *big;

	/* The longest name there is: 32 + 1 + 32 bytes. */
	snprintf(input, sizeof(input), "%s@%s", repeat('u', KW_USER_MAX),
		 repeat('t', KW_TENANT_MAX));
	assert_int_equal(strlen(input), KW_QNAME_MAX);
	assert_int_equal(kw_name_parse(input, '@', NULL, &name), 0);
	assert_string_equal(name.user, repeat('u', KW_USER_MAX));
	assert_string_equal(name.tenant, repeat('t', KW_TENANT_MAX));

	snprintf(input, sizeof(input), "%s@%s", repeat('u', KW_USER_MAX + 1),
		 repeat('t', KW_TENANT_MAX));
	assert_refused(input, '@', NULL);
	snprintf(input, sizeof(input), "%s@%s", repeat('u', KW_USER_MAX - 1),
		 repeat('t', KW_TENANT_MAX + 1));
	assert_refused(input, '@', NULL);
	snprintf(input, sizeof(input), "%s@%s", repeat('u', 31),
		 repeat('t', 31));
	assert_parses(input, '@', NULL, repeat('u', 31), repeat('t', 31));
	assert_parses(repeat('u', KW_USER_MAX), '@', "acme",
		      repeat('u', KW_USER_MAX), "acme");
	assert_refused(repeat('u', KW_USER_MAX + 1), '@', "acme");

	/* Very long input: refused without reading all of it. */
	big = malloc(1 << 20);
	assert_non_null(big);
	memset(big, 'a', (1 << 20) - 1);
	big[(1 << 20) - 1] = '\0';
	assert_refused(big, '@', "acme");
	big[10] = '@';
	assert_refused(big, '@', NULL);
	free(big);
}

static void test_format(void **state)
{
	struct kw_name name;
	char out[KW_QNAME_MAX + 1];
	char small[8];

	assert_int_equal(kw_name_parse("alice@acme", '@', NULL, &name), 0);
	kw_name_format(&name, '@', out, sizeof(out));
	assert_string_equal(out, "alice@acme");
	kw_name_format(&name, '%', out, sizeof(out));
	assert_string_equal(out, "alice%acme");

	/* Too small: nothing rather than a cut name. */
	kw_name_format(&name, '@', small, sizeof(small));
	assert_string_equal(small, "");
	kw_name_format(&name, '@', small, 0);
	kw_name_format(&name, '@', NULL, 0);
}

/* ---- escaping ------------------------------------------------------- */

struct escape_case {
	const char *in;
	size_t len;
	const char *out;
};

#define CASE(lit, expect)                                                      \
	{                                                                      \
		lit, sizeof(lit) - 1, expect                                   \
	}

static void test_escape_filter(void **state)
{
	static const struct escape_case cases[] = {
		CASE("", ""),
		CASE("alice", "alice"),
		CASE("*", "\\2a"),
		CASE("(", "\\28"),
		CASE(")", "\\29"),
		CASE("\\", "\\5c"),
		CASE("\0", "\\00"),
		CASE("a*b(c)d\\e", "a\\2ab\\28c\\29d\\5ce"),
		CASE("*)(uid=*))(|(uid=*", "\\2a\\29\\28uid=\\2a\\29\\29\\28|"
					   "\\28uid=\\2a"),
		CASE("a\0b", "a\\00b"),
		CASE("\xc3\xa9", "\\c3\\a9"),
		CASE("\n\t\x1f\x7f\x80\xff", "\\0a\\09\\1f\\7f\\80\\ff"),
		CASE("a b=c,d+e;f<g>h#i\"", "a b=c,d+e;f<g>h#i\""),
	};
	char out[256];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		long n = kw_escape_filter(cases[i].in, cases[i].len, out,
					  sizeof(out));

		assert_string_equal(out, cases[i].out);
		assert_int_equal(n, (long)strlen(cases[i].out));
	}
}

static void test_escape_filter_small(void **state)
{
	char out[8];

	/* "abc" needs 4 bytes with its NUL. */
	assert_int_equal(kw_escape_filter("abc", 3, out, 4), 3);
	assert_string_equal(out, "abc");
	memset(out, 'X', sizeof(out));
	assert_int_equal(kw_escape_filter("abc", 3, out, 3), -1);
	assert_string_equal(out, "");

	/* An escape is never cut: "\2a" needs 4 bytes. */
	assert_int_equal(kw_escape_filter("*", 1, out, 4), 3);
	assert_string_equal(out, "\\2a");
	memset(out, 'X', sizeof(out));
	assert_int_equal(kw_escape_filter("a*", 2, out, 4), -1);
	assert_string_equal(out, "");

	assert_int_equal(kw_escape_filter("", 0, out, 1), 0);
	assert_string_equal(out, "");
	memset(out, 'X', sizeof(out));
	assert_int_equal(kw_escape_filter("a", 1, out, 0), -1);
	assert_int_equal(out[0], 'X');
	assert_int_equal(kw_escape_filter("a", 1, NULL, 0), -1);
	assert_int_equal(kw_escape_filter(NULL, 1, out, sizeof(out)), -1);
}

static void test_escape_dn(void **state)
{
	static const struct escape_case cases[] = {
		CASE("", ""),
		CASE("acme", "acme"),
		CASE("a,b", "a\\,b"),
		CASE("a+b", "a\\+b"),
		CASE("\"", "\\\""),
		CASE("\\", "\\\\"),
		CASE("<a>", "\\<a\\>"),
		CASE("a;b", "a\\;b"),
		CASE("a=b", "a\\=b"),
		CASE(" a", "\\ a"),
		CASE("#a", "\\#a"),
		CASE("a#", "a#"),
		CASE("a#b", "a#b"),
		CASE("a ", "a\\ "),
		CASE("a b", "a b"),
		CASE(" ", "\\ "),
		CASE("  ", "\\ \\ "),
		CASE("   ", "\\  \\ "),
		CASE("#", "\\#"),
		CASE("\0", "\\00"),
		CASE("a\0b", "a\\00b"),
		CASE("\n\x7f", "\\0a\\7f"),
		CASE("\xc3\xa9t\xc3\xa9", "\\c3\\a9t\\c3\\a9"),
		CASE("*()", "*()"),
		CASE("acme,o=evil", "acme\\,o\\=evil"),
	};
	char out[256];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		long n = kw_escape_dn_value(cases[i].in, cases[i].len, out,
					    sizeof(out));

		assert_string_equal(out, cases[i].out);
		assert_int_equal(n, (long)strlen(cases[i].out));
	}
}

static void test_escape_dn_small(void **state)
{
	char out[8];

	assert_int_equal(kw_escape_dn_value("a,", 2, out, 4), 3);
	assert_string_equal(out, "a\\,");
	memset(out, 'X', sizeof(out));
	assert_int_equal(kw_escape_dn_value("a,", 2, out, 3), -1);
	assert_string_equal(out, "");
	assert_int_equal(kw_escape_dn_value("\xff", 1, out, 4), 3);
	memset(out, 'X', sizeof(out));
	assert_int_equal(kw_escape_dn_value("\xff", 1, out, 3), -1);
	assert_string_equal(out, "");
	assert_int_equal(kw_escape_dn_value("a", 1, NULL, 0), -1);
	assert_int_equal(kw_escape_dn_value(NULL, 0, out, sizeof(out)), 0);
	assert_string_equal(out, "");
}

/* The worst case of each escape is three bytes out for one in. */
static void test_escape_worst_case(void **state)
{
	char in[100];
	char out[3 * sizeof(in) + 1];

	memset(in, '*', sizeof(in));
	assert_int_equal(kw_escape_filter(in, sizeof(in), out, sizeof(out)),
			 3 * sizeof(in));
	assert_int_equal(kw_escape_filter(in, sizeof(in), out, sizeof(out) - 1),
			 -1);
	memset(in, '\0', sizeof(in));
	assert_int_equal(kw_escape_dn_value(in, sizeof(in), out, sizeof(out)),
			 3 * sizeof(in));
	assert_int_equal(
		kw_escape_dn_value(in, sizeof(in), out, sizeof(out) - 1), -1);
}

static void check_key(const char *rhost, int want_rc, const char *want)
{
	char out[KW_ADDRESS_KEY_MAX + 1];

	memset(out, 'x', sizeof(out));
	assert_int_equal(kw_address_key(rhost, out, sizeof(out)), want_rc);
	if (want_rc == 0)
		assert_string_equal(out, want);
}

/* The keys under which failures from a remote host are counted. */
static void test_address_key(void **state)
{
	char small[8];

	(void)state;
	check_key("", 0, "local");
	check_key(NULL, 0, "local");
	check_key("192.0.2.7", 0, "192.0.2.7");
	check_key("::ffff:192.0.2.7", 0, "192.0.2.7");
	/* one /64, whatever the spelling and the host part */
	check_key("2001:db8:7:9::1", 0, "2001:db8:7:9::/64");
	check_key("2001:0DB8:0007:0009:ffff:1:2:3", 0, "2001:db8:7:9::/64");
	check_key("2001:db8:7:a::1", 0, "2001:db8:7:a::/64");
	check_key("Host-1.Example.NET", 0, "host-1.example.net");
	/* what a host name may not hold */
	check_key("a b", EINVAL, NULL);
	check_key("x*)(uid=*", EINVAL, NULL);
	check_key("host\\,o=x", EINVAL, NULL);
	check_key("\xc3\xa9t\xc3\xa9", EINVAL, NULL);
	check_key(
		"0123456789012345678901234567890123456789012345678901234567890"
		"123",
		EINVAL, NULL);
	/* no room for the longest key */
	assert_int_equal(kw_address_key("192.0.2.7", small, sizeof(small)),
			 EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_tenant),
		cmocka_unit_test(test_valid_user),
		cmocka_unit_test(test_valid_role),
		cmocka_unit_test(test_parse_good),
		cmocka_unit_test(test_parse_bad),
		cmocka_unit_test(test_parse_lengths),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_escape_filter),
		cmocka_unit_test(test_escape_filter_small),
		cmocka_unit_test(test_escape_dn),
		cmocka_unit_test(test_escape_dn_small),
		cmocka_unit_test(test_escape_worst_case),
		cmocka_unit_test(test_address_key),
	};

	return cmocka_run_group_tests_name("names", tests, NULL, NULL);
}
