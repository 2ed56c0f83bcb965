/*
 * kw_names.c - the strict name patterns and LDAP escaping.
 *
 * The patterns are written out as small hand-made matchers rather than
 * regular expressions: they are short, they need no locale, and each
 * rule can be read next to the pattern in kw_names.h.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "kw_names.h"

static bool is_lower_or_digit(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* tenant: [a-z0-9]([a-z0-9-]{0,30}[a-z0-9])? */
static bool valid_tenant_len(const char *s, size_t len)
{
	if (len < 1 || len > KW_TENANT_MAX)
		return false;
	if (!is_lower_or_digit(s[0]) || !is_lower_or_digit(s[len - 1]))
		return false;
	for (size_t i = 1; i + 1 < len; i++) {
		unsigned char c = s[i];

		if (!is_lower_or_digit(c) && c != '-')
			return false;
	}
	return true;
}

/* user: [a-z_][a-z0-9_.-]{0,31}, not ending in '.' or '-' */
static bool valid_user_len(const char *s, size_t len)
{
	unsigned char first, last;

	if (len < 1 || len > KW_USER_MAX)
		return false;
	first = s[0];
	last = s[len - 1];
	if (!(first >= 'a' && first <= 'z') && first != '_')
		return false;
	if (last == '.' || last == '-')
		return false;
	for (size_t i = 1; i < len; i++) {
		unsigned char c = s[i];

		if (!is_lower_or_digit(c) && c != '_' && c != '.' && c != '-')
			return false;
	}
	return true;
}

/* role: [a-z0-9]([a-z0-9_-]{0,62}[a-z0-9])? */
static bool valid_role_len(const char *s, size_t len)
{
	if (len < 1 || len > KW_ROLE_MAX)
		return false;
	if (!is_lower_or_digit(s[0]) || !is_lower_or_digit(s[len - 1]))
		return false;
	for (size_t i = 1; i + 1 < len; i++) {
		unsigned char c = s[i];

		if (!is_lower_or_digit(c) && c != '-' && c != '_')
			return false;
	}
	return true;
}

bool kw_name_valid_tenant(const char *s)
{
	if (s == NULL)
		return false;
	return valid_tenant_len(s, strnlen(s, KW_TENANT_MAX + 1));
}

bool kw_name_valid_user(const char *s)
{
	if (s == NULL)
		return false;
	return valid_user_len(s, strnlen(s, KW_USER_MAX + 1));
}

bool kw_name_valid_role(const char *s)
{
	if (s == NULL)
		return false;
	return valid_role_len(s, strnlen(s, KW_ROLE_MAX + 1));
}

/*
 * A separator must not be a character that any name may contain, or the
 * split would be ambiguous; it must also be visible in a log line.
 */
static bool valid_separator(char sep)
{
	unsigned char c = sep;

	if (c <= 0x20 || c >= 0x7f)
		return false;
	return !is_lower_or_digit(c) && c != '_' && c != '.' && c != '-';
}

int kw_name_parse(const char *input, char sep, const char *default_tenant,
		  struct kw_name *out)
{
	const char *at;
	size_t len, user_len, tenant_len;
	struct kw_name name;

	memset(out, 0, sizeof(*out));
	if (input == NULL || !valid_separator(sep))
		return EINVAL;
	len = strnlen(input, KW_QNAME_MAX + 1);
	if (len > KW_QNAME_MAX)
		return EINVAL;

	/* At most one separator: "a@b@c" names nobody. */
	at = memchr(input, sep, len);
	if (at != NULL && memchr(at + 1, sep, len - (at + 1 - input)) != NULL)
		return EINVAL;

	memset(&name, 0, sizeof(name));
	if (at == NULL) {
		if (default_tenant == NULL ||
		    !kw_name_valid_tenant(default_tenant))
			return EINVAL;
		user_len = len;
		tenant_len = strlen(default_tenant);
		memcpy(name.tenant, default_tenant, tenant_len);
	} else {
		user_len = (size_t)(at - input);
		tenant_len = len - user_len - 1;
		if (!valid_tenant_len(at + 1, tenant_len))
			return EINVAL;
		memcpy(name.tenant, at + 1, tenant_len);
	}
	if (!valid_user_len(input, user_len))
		return EINVAL;
	memcpy(name.user, input, user_len);
	*out = name;
	return 0;
}

void kw_name_format(const struct kw_name *name, char sep, char *out,
		    size_t outsz)
{
	int n;

	if (out == NULL || outsz == 0)
		return;
	n = snprintf(out, outsz, "%s%c%s", name->user, sep, name->tenant);
	/* Never hand out a cut name: it could name another account. */
	if (n < 0 || (size_t)n >= outsz)
		out[0] = '\0';
}

static const char hex_digits[] = "0123456789abcdef";

/* Append one byte as "\hh"; returns false if it does not fit. */
static bool put_hex(char *out, size_t outsz, size_t *pos, unsigned char c)
{
	if (outsz - *pos < 4)
		return false;
	out[(*pos)++] = '\\';
	out[(*pos)++] = hex_digits[c >> 4];
	out[(*pos)++] = hex_digits[c & 0x0f];
	return true;
}

/* Append LEN bytes of TEXT; returns false if they and a NUL do not fit. */
static bool put_text(char *out, size_t outsz, size_t *pos, const char *text,
		     size_t len)
{
	if (outsz - *pos < len + 1)
		return false;
	memcpy(out + *pos, text, len);
	*pos += len;
	return true;
}

static long escape_fail(char *out, size_t outsz)
{
	if (out != NULL && outsz > 0)
		out[0] = '\0';
	return -1;
}

long kw_escape_filter(const char *in, size_t len, char *out, size_t outsz)
{
	size_t pos = 0;

	if (out == NULL || outsz == 0 || (in == NULL && len > 0))
		return escape_fail(out, outsz);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = in[i];
		bool ok;

		if (c == '*' || c == '(' || c == ')' || c == '\\' || c < 0x20 ||
		    c >= 0x7f)
			ok = put_hex(out, outsz, &pos, c);
		else
			ok = put_text(out, outsz, &pos, (const char *)&in[i],
				      1);
		if (!ok)
			return escape_fail(out, outsz);
	}
	out[pos] = '\0';
	return (long)pos;
}

static bool dn_special(unsigned char c)
{
	return c != '\0' && strchr(",+\"\\<>;=", c) != NULL;
}

long kw_escape_dn_value(const char *in, size_t len, char *out, size_t outsz)
{
	size_t pos = 0;

	if (out == NULL || outsz == 0 || (in == NULL && len > 0))
		return escape_fail(out, outsz);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = in[i];
		char pair[2] = {'\\', (char)c};
		bool ok;

		if (c < 0x20 || c >= 0x7f)
			ok = put_hex(out, outsz, &pos, c);
		else if (dn_special(c) || (i == 0 && (c == ' ' || c == '#')) ||
			 (i == len - 1 && c == ' '))
			ok = put_text(out, outsz, &pos, pair, 2);
		else
			ok = put_text(out, outsz, &pos, pair + 1, 1);
		if (!ok)
			return escape_fail(out, outsz);
	}
	out[pos] = '\0';
	return (long)pos;
}

/* ---- source addresses -------------------------------------------------- */

static bool host_name_chars(const char *s)
{
	size_t n = strlen(s), i;

	if (n == 0 || n > 63)
		return false;
	for (i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '-'))
			return false;
	}
	return true;
}

int kw_address_key(const char *rhost, char *out, size_t outsz)
{
	unsigned char a6[16];
	struct in_addr a4;
	char text[INET6_ADDRSTRLEN];
	size_t i;

	if (outsz < KW_ADDRESS_KEY_MAX + 1)
		return EINVAL;
	if (rhost == NULL || rhost[0] == '\0') {
		snprintf(out, outsz, "local");
		return 0;
	}
	if (inet_pton(AF_INET, rhost, &a4) == 1) {
		inet_ntop(AF_INET, &a4, out, (socklen_t)outsz);
		return 0;
	}
	if (inet_pton(AF_INET6, rhost, a6) == 1) {
		static const unsigned char mapped[12] = {
			0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

		if (memcmp(a6, mapped, sizeof(mapped)) == 0) {
			inet_ntop(AF_INET, a6 + 12, out, (socklen_t)outsz);
			return 0;
		}
		memset(a6 + 8, 0, 8);
		inet_ntop(AF_INET6, a6, text, sizeof(text));
		snprintf(out, outsz, "%s/64", text);
		return 0;
	}
	if (!host_name_chars(rhost))
		return EINVAL;
	for (i = 0; rhost[i] != '\0'; i++)
		out[i] = (char)(rhost[i] >= 'A' && rhost[i] <= 'Z'
					? rhost[i] - 'A' + 'a'
					: rhost[i]);
	out[i] = '\0';
	return 0;
}
