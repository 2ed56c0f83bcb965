/*
 * kw_ldif.c - the LDIF reader described in kw_ldif.h.
 *
 * The input is unfolded line by line into a scratch buffer; each logical
 * line is then either a dn, an attribute or the end of an entry.  Every
 * error names the line where the logical line starts.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kw_ldif.h"

static int fail(char *err, size_t errlen, int rc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail(char *err, size_t errlen, int rc, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return rc;
}

static int b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* Decode base64 IN (LEN bytes) into OUT (at least LEN bytes). */
static bool b64_decode(const char *in, size_t len, char *out, size_t *out_len)
{
	size_t i, o = 0, pad = 0;
	unsigned acc = 0;
	int bits = 0;

	if (len % 4 != 0)
		return false;
	for (i = 0; i < len; i++) {
		int v;

		if (in[i] == '=') {
			/* padding only at the end, at most two */
			if (i < len - 2)
				return false;
			pad++;
			continue;
		}
		if (pad > 0)
			return false;
		v = b64_value((unsigned char)in[i]);
		if (v < 0)
			return false;
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (char)((acc >> bits) & 0xff);
		}
	}
	*out_len = o;
	return true;
}

static bool valid_attr_name(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || len > 128)
		return false;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '-' || c == ';' ||
		      c == '.'))
			return false;
	}
	return true;
}

static int add_attr(struct kw_ldif_entry *e, const char *name, size_t nlen,
		    const char *value, size_t vlen)
{
	struct kw_ldif_attr *a;

	a = realloc(e->attrs, (e->n_attrs + 1) * sizeof(*a));
	if (a == NULL)
		return ENOMEM;
	e->attrs = a;
	a = &e->attrs[e->n_attrs];
	a->name = strndup(name, nlen);
	a->value = malloc(vlen + 1);
	if (a->name == NULL || a->value == NULL) {
		free(a->name);
		free(a->value);
		return ENOMEM;
	}
	memcpy(a->value, value, vlen);
	a->value[vlen] = '\0';
	a->len = vlen;
	e->n_attrs++;
	return 0;
}

static void free_entry(struct kw_ldif_entry *e)
{
	size_t i;

	for (i = 0; i < e->n_attrs; i++) {
		free(e->attrs[i].name);
		free(e->attrs[i].value);
	}
	free(e->attrs);
	free(e->dn);
}

void kw_ldif_free(struct kw_ldif *ldif)
{
	size_t i;

	if (ldif == NULL)
		return;
	for (i = 0; i < ldif->n; i++)
		free_entry(&ldif->entries[i]);
	free(ldif->entries);
	ldif->entries = NULL;
	ldif->n = 0;
}

/*
 * Handle one logical line LINE (LEN bytes, unfolded) that started at
 * LINENO.  CUR is the entry being built, or NULL before its dn.
 */
static int take_line(struct kw_ldif *out, const char *line, size_t len,
		     unsigned lineno, bool *in_entry, char *err, size_t errlen)
{
	const char *colon = memchr(line, ':', len);
	const char *v;
	size_t nlen, vlen;
	bool b64 = false;
	char *decoded = NULL;
	int rc;

	if (colon == NULL)
		return fail(err, errlen, EINVAL, "line %u: no ':' in line",
			    lineno);
	nlen = (size_t)(colon - line);
	if (!valid_attr_name(line, nlen))
		return fail(err, errlen, EINVAL, "line %u: bad attribute name",
			    lineno);
	v = colon + 1;
	if (v < line + len && *v == ':') {
		b64 = true;
		v++;
	} else if (v < line + len && *v == '<') {
		return fail(err, errlen, EINVAL,
			    "line %u: URL values are not supported", lineno);
	}
	while (v < line + len && *v == ' ')
		v++;
	vlen = (size_t)(line + len - v);
	if (b64) {
		decoded = malloc(vlen + 1);
		if (decoded == NULL)
			return ENOMEM;
		if (!b64_decode(v, vlen, decoded, &vlen)) {
			free(decoded);
			return fail(err, errlen, EINVAL,
				    "line %u: bad base64 value", lineno);
		}
		v = decoded;
	} else if (memchr(v, '\0', vlen) != NULL) {
		return fail(err, errlen, EINVAL, "line %u: NUL in value",
			    lineno);
	}

	if (!*in_entry) {
		struct kw_ldif_entry *e;

		if (nlen != 2 || strncasecmp(line, "dn", 2) != 0) {
			free(decoded);
			return fail(err, errlen, EINVAL,
				    "line %u: an entry must start with dn:",
				    lineno);
		}
		if (vlen == 0 || memchr(v, '\0', vlen) != NULL) {
			free(decoded);
			return fail(err, errlen, EINVAL,
				    "line %u: empty or bad dn", lineno);
		}
		e = realloc(out->entries, (out->n + 1) * sizeof(*e));
		if (e == NULL) {
			free(decoded);
			return ENOMEM;
		}
		out->entries = e;
		e = &out->entries[out->n];
		memset(e, 0, sizeof(*e));
		e->dn = strndup(v, vlen);
		e->line = lineno;
		free(decoded);
		if (e->dn == NULL)
			return ENOMEM;
		out->n++;
		*in_entry = true;
		return 0;
	}
	if (nlen == 2 && strncasecmp(line, "dn", 2) == 0) {
		free(decoded);
		return fail(err, errlen, EINVAL,
			    "line %u: second dn: without a blank line before "
			    "it",
			    lineno);
	}
	if (nlen == 10 && strncasecmp(line, "changetype", 10) == 0) {
		free(decoded);
		return fail(err, errlen, EINVAL,
			    "line %u: change records are not supported",
			    lineno);
	}
	rc = add_attr(&out->entries[out->n - 1], line, nlen, v, vlen);
	free(decoded);
	return rc;
}

int kw_ldif_parse(const char *text, size_t len, struct kw_ldif *out, char *err,
		  size_t errlen)
{
	char *buf;
	size_t pos = 0, blen = 0;
	unsigned lineno = 0, start = 0;
	bool in_entry = false, in_comment = false, have = false;
	int rc = 0;

	out->entries = NULL;
	out->n = 0;
	if (len > KW_LDIF_MAX_SIZE)
		return fail(err, errlen, EINVAL, "LDIF larger than %d bytes",
			    KW_LDIF_MAX_SIZE);
	buf = malloc(len + 1);
	if (buf == NULL)
		return ENOMEM;

	/* version: 1 may open the file; skip it like slapadd does */
	while (pos <= len && rc == 0) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t end = nl != NULL ? (size_t)(nl - text) : len;
		size_t l = end - pos;
		const char *s = text + pos;

		lineno++;
		if (l > 0 && s[l - 1] == '\r')
			l--;
		if (l > 0 && s[0] == ' ') {
			/* a folded continuation of the previous line */
			if (!have && !in_comment) {
				rc = fail(err, errlen, EINVAL,
					  "line %u: continuation of nothing",
					  lineno);
				break;
			}
			if (!in_comment) {
				memcpy(buf + blen, s + 1, l - 1);
				blen += l - 1;
			}
		} else {
			if (have) {
				rc = take_line(out, buf, blen, start, &in_entry,
					       err, errlen);
				have = false;
				blen = 0;
				if (rc)
					break;
			}
			in_comment = false;
			if (l == 0) {
				in_entry = false;
			} else if (s[0] == '#') {
				in_comment = true;
			} else if (!in_entry && out->n == 0 && l >= 8 &&
				   strncmp(s, "version:", 8) == 0) {
				in_comment = true;
			} else {
				memcpy(buf, s, l);
				blen = l;
				start = lineno;
				have = true;
			}
		}
		if (nl == NULL)
			break;
		pos = end + 1;
	}
	if (rc == 0 && have)
		rc = take_line(out, buf, blen, start, &in_entry, err, errlen);
	free(buf);
	if (rc)
		kw_ldif_free(out);
	return rc;
}

const struct kw_ldif_attr *kw_ldif_find(const struct kw_ldif_entry *entry,
					const char *name)
{
	size_t i;

	for (i = 0; i < entry->n_attrs; i++)
		if (strcasecmp(entry->attrs[i].name, name) == 0)
			return &entry->attrs[i];
	return NULL;
}

char *kw_ldif_substitute(const char *text, const char *const *pairs, char *err,
			 size_t errlen)
{
	size_t cap = strlen(text) + 1, len = 0;
	char *out = malloc(cap);
	const char *p = text;

	if (out == NULL) {
		fail(err, errlen, ENOMEM, "out of memory");
		return NULL;
	}
	while (*p != '\0') {
		const char *end, *value = NULL;
		size_t klen, vlen, i;

		if (*p != '@' || (end = strchr(p + 1, '@')) == NULL ||
		    end == p + 1) {
			out[len++] = *p++;
			continue;
		}
		klen = (size_t)(end - p - 1);
		for (i = 0; pairs[i] != NULL && pairs[i + 1] != NULL; i += 2)
			if (strlen(pairs[i]) == klen &&
			    strncmp(pairs[i], p + 1, klen) == 0)
				value = pairs[i + 1];
		if (value == NULL) {
			/* '@' in ordinary text, such as an e-mail address */
			if (strspn(p + 1, "ABCDEFGHIJKLMNOPQRSTUVWXYZ_") !=
			    klen) {
				out[len++] = *p++;
				continue;
			}
			fail(err, errlen, EINVAL, "no value for @%.*s@",
			     (int)klen, p + 1);
			free(out);
			return NULL;
		}
		vlen = strlen(value);
		if (len + vlen + strlen(end + 1) + 1 > cap) {
			char *n;

			cap = len + vlen + strlen(end + 1) + 1;
			n = realloc(out, cap);
			if (n == NULL) {
				free(out);
				fail(err, errlen, ENOMEM, "out of memory");
				return NULL;
			}
			out = n;
		}
		memcpy(out + len, value, vlen);
		len += vlen;
		p = end + 1;
	}
	out[len] = '\0';
	return out;
}

int kw_ldif_read_file(const char *path, char **text_out, size_t *len_out,
		      char *err, size_t errlen)
{
	struct stat st;
	char *buf;
	ssize_t n;
	size_t got = 0;
	int fd, rc;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		rc = errno;
		return fail(err, errlen, rc, "%s: %s", path, strerror(rc));
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    st.st_size > KW_LDIF_MAX_SIZE) {
		close(fd);
		return fail(err, errlen, EINVAL,
			    "%s: not a regular file of at most %d bytes", path,
			    KW_LDIF_MAX_SIZE);
	}
	buf = malloc((size_t)st.st_size + 1);
	if (buf == NULL) {
		close(fd);
		return ENOMEM;
	}
	while (got < (size_t)st.st_size) {
		n = read(fd, buf + got, (size_t)st.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	if (got != (size_t)st.st_size) {
		free(buf);
		return fail(err, errlen, EIO, "%s: short read", path);
	}
	buf[got] = '\0';
	*text_out = buf;
	*len_out = got;
	return 0;
}
