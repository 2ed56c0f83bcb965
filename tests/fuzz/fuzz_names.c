/*
 * fuzz_names.c - fuzz target for name parsing and LDAP escaping.
 *
 * The first input byte picks the separator and whether a default tenant
 * is given; the rest is the name, and also the raw value for both
 * escapes.  Properties checked (a broken one aborts):
 *
 *  - a parsed name has valid parts, and formats back to what was parsed;
 *  - a filter escape holds no *, (, ), NUL, control or non-ASCII byte,
 *    every backslash starts a \hh escape, and unescaping gives the input;
 *  - a DN escape holds no unescaped special character, no leading space
 *    or '#' and no trailing space, and unescaping gives the input;
 *  - one byte less of room fails cleanly with an empty result.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kw_names.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_VALUE_MAX 4096

static void check(int ok)
{
	if (!ok)
		abort();
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Undo either escape; returns the length, or -1 for a broken escape. */
static long unescape(const char *in, char *out)
{
	long n = 0;

	while (*in != '\0') {
		if (*in != '\\') {
			out[n++] = *in++;
			continue;
		}
		if (hex_value(in[1]) >= 0 && hex_value(in[2]) >= 0) {
			out[n++] = (char)(hex_value(in[1]) * 16 +
					  hex_value(in[2]));
			in += 3;
		} else if (in[1] != '\0') {
			out[n++] = in[1];
			in += 2;
		} else {
			return -1;
		}
	}
	return n;
}

static void fuzz_parse(const char *input, char sep, const char *def)
{
	struct kw_name name;
	struct kw_name again;
	char formatted[KW_QNAME_MAX + 1];

	if (kw_name_parse(input, sep, def, &name) != 0) {
		static const struct kw_name zero;

		check(memcmp(&name, &zero, sizeof(name)) == 0);
		return;
	}
	check(kw_name_valid_user(name.user));
	check(kw_name_valid_tenant(name.tenant));
	kw_name_format(&name, sep, formatted, sizeof(formatted));
	if (strchr(input, sep) != NULL)
		check(strcmp(formatted, input) == 0);
	else
		check(strcmp(name.user, input) == 0 &&
		      strcmp(name.tenant, def) == 0);
	check(kw_name_parse(formatted, sep, NULL, &again) == 0);
	check(memcmp(&name, &again, sizeof(name)) == 0);
}

static void fuzz_filter(const char *value, size_t len, char *out, size_t outsz,
			char *back)
{
	long n = kw_escape_filter(value, len, out, outsz);

	check(n >= 0 && (size_t)n == strlen(out));
	for (long i = 0; i < n; i++) {
		unsigned char c = out[i];

		check(c >= 0x20 && c < 0x7f);
		check(c != '*' && c != '(' && c != ')');
		if (c == '\\')
			check(hex_value(out[i + 1]) >= 0 &&
			      hex_value(out[i + 2]) >= 0);
	}
	check(unescape(out, back) == (long)len);
	check(memcmp(back, value, len) == 0);
	check(kw_escape_filter(value, len, out, (size_t)n) == -1);
	check(n == 0 || out[0] == '\0');
}

static void fuzz_dn(const char *value, size_t len, char *out, size_t outsz,
		    char *back)
{
	long n = kw_escape_dn_value(value, len, out, outsz);
	int escaped = 0;

	check(n >= 0 && (size_t)n == strlen(out));
	for (long i = 0; i < n; i++) {
		unsigned char c = out[i];

		check(c >= 0x20 && c < 0x7f);
		if (escaped) {
			escaped = 0;
			continue;
		}
		if (c == '\\') {
			escaped = 1;
			continue;
		}
		check(strchr(",+\"<>;=", c) == NULL);
		check(!(i == 0 && (c == ' ' || c == '#')));
		check(!(i == n - 1 && c == ' '));
	}
	check(!escaped);
	check(unescape(out, back) == (long)len);
	check(memcmp(back, value, len) == 0);
	check(kw_escape_dn_value(value, len, out, (size_t)n) == -1);
	check(n == 0 || out[0] == '\0');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char seps[] = "@%+";
	char *input, *out, *back;
	size_t len, outsz;
	char sep;
	const char *def;

	if (size < 1)
		return 0;
	sep = seps[data[0] % 3];
	def = (data[0] & 0x04) != 0 ? "acme" : NULL;
	len = size - 1 < FUZZ_VALUE_MAX ? size - 1 : FUZZ_VALUE_MAX;

	input = malloc(len + 1);
	outsz = 3 * len + 1;
	out = malloc(outsz);
	back = malloc(len + 1);
	if (input == NULL || out == NULL || back == NULL)
		abort();
	memcpy(input, data + 1, len);
	input[len] = '\0';

	/* The parser sees a C string: up to the first NUL. */
	fuzz_parse(input, sep, def);
	fuzz_filter(input, len, out, outsz, back);
	fuzz_dn(input, len, out, outsz, back);

	free(input);
	free(out);
	free(back);
	return 0;
}
