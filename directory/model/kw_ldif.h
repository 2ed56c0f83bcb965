/*
 * kw_ldif.h - a small reader for the LDIF that keyward ships.
 *
 * It reads content records only (RFC 2849 without change records, URLs or
 * controls): "dn:" lines, "attr: value" and "attr:: base64" lines, folded
 * lines that start with one space, comments and blank lines between
 * entries.  That is all the schema files of slapd and keyward's templates
 * use.  Templates carry @NAME@ placeholders that kw_ldif_substitute()
 * replaces before parsing.
 */
#ifndef KW_LDIF_H
#define KW_LDIF_H

#include <stddef.h>

#define KW_LDIF_MAX_SIZE (1024 * 1024)

struct kw_ldif_attr {
	char *name;
	char *value; /* NUL-terminated; may hold NUL bytes if base64 */
	size_t len;
};

struct kw_ldif_entry {
	char *dn;
	struct kw_ldif_attr *attrs;
	size_t n_attrs;
	unsigned line; /* where the entry starts */
};

struct kw_ldif {
	struct kw_ldif_entry *entries;
	size_t n;
};

/*
 * Parse TEXT (LEN bytes).  Returns 0, EINVAL with ERR saying "line N:
 * problem", or ENOMEM.  On error OUT holds nothing.
 */
int kw_ldif_parse(const char *text, size_t len, struct kw_ldif *out, char *err,
		  size_t errlen);
void kw_ldif_free(struct kw_ldif *ldif);

/*
 * Replace every @NAME@ in TEXT by its value from PAIRS (NAME, VALUE, ...,
 * NULL).  A placeholder without a value is an error.  Returns a new string
 * or NULL with ERR filled.
 */
char *kw_ldif_substitute(const char *text, const char *const *pairs, char *err,
			 size_t errlen);

/* Read a whole file of at most KW_LDIF_MAX_SIZE bytes; NUL-terminated. */
int kw_ldif_read_file(const char *path, char **text_out, size_t *len_out,
		      char *err, size_t errlen);

/* The first value of NAME in ENTRY, or NULL. */
const struct kw_ldif_attr *kw_ldif_find(const struct kw_ldif_entry *entry,
					const char *name);

#endif
