/*
 * kw_names.h - the strict patterns for names, and LDAP escaping.
 *
 * Every user, tenant and role name is checked here before it reaches the
 * directory.  The patterns (documented in docs/admin-guide.md):
 *
 *   tenant  [a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?   1-32 bytes, DNS-label like
 *   role    [a-z0-9]([a-z0-9_-]{0,62}[a-z0-9])?  1-64 bytes
 *   user    [a-z_][a-z0-9_.-]{0,31}             1-32 bytes, POSIX-portable,
 *                                                 not ending in '.' or '-'
 *
 * Only lowercase ASCII is accepted, so two spellings never name one
 * account.  Escaping follows RFC 4515 (filters) and RFC 4514 (DN values);
 * it is applied to every value even after validation.
 */
#ifndef KW_NAMES_H
#define KW_NAMES_H

#include <stdbool.h>
#include <stddef.h>

#define KW_TENANT_MAX 32
#define KW_USER_MAX 32
#define KW_ROLE_MAX 64
/* user + separator + tenant */
#define KW_QNAME_MAX (KW_USER_MAX + 1 + KW_TENANT_MAX)

struct kw_name {
	char user[KW_USER_MAX + 1];
	char tenant[KW_TENANT_MAX + 1];
};

bool kw_name_valid_tenant(const char *s);
bool kw_name_valid_user(const char *s);
bool kw_name_valid_role(const char *s);

/*
 * Split INPUT ("alice@acme", or "alice" with DEFAULT_TENANT set) at SEP
 * and validate both parts.  Returns 0 or EINVAL; OUT is zeroed on error.
 * INPUT may be any bytes; it is never copied anywhere on failure.
 * INPUT holds at most one SEP and at most KW_QNAME_MAX bytes; without a
 * SEP, DEFAULT_TENANT is used if it is a valid tenant name (NULL or ""
 * means there is none).  SEP must be a visible ASCII character that no
 * name may contain (not a letter, digit, '_', '.' or '-').
 */
int kw_name_parse(const char *input, char sep, const char *default_tenant,
		  struct kw_name *out);

/* Write "user<sep>tenant" into OUT (at least KW_QNAME_MAX + 1 bytes). */
void kw_name_format(const struct kw_name *name, char sep, char *out,
		    size_t outsz);

/*
 * Escape LEN bytes at IN (which may hold NUL) for use as an assertion value
 * in an LDAP search filter (RFC 4515: * ( ) \ NUL as \2a \28 \29 \5c \00;
 * control bytes, 0x7f and bytes >= 0x80 are also written as \hh, in
 * lowercase hex).  Returns the length written (excluding the NUL), or -1
 * if OUTSZ is too small (OUT is then "").  3 * LEN + 1 bytes always do.
 */
long kw_escape_filter(const char *in, size_t len, char *out, size_t outsz);

/*
 * Escape LEN bytes at IN as an RDN attribute value (RFC 4514: , + " \ < >
 * ; = and a leading # or space and a trailing space are backslash-escaped;
 * NUL and bytes outside printable ASCII are written as \hh).  Returns the
 * length written, or -1 if OUTSZ is too small (OUT is then "").
 * 3 * LEN + 1 bytes always do.
 */
long kw_escape_dn_value(const char *in, size_t len, char *out, size_t outsz);

/*
 * The key under which failed attempts from a remote host are counted
 * (lockout per source address), from the PAM_RHOST text RHOST:
 *
 *   ""                  "local"  (a console, or a service that sets none)
 *   an IPv4 address     its dotted quad        "192.0.2.7"
 *   an IPv6 address     its /64, canonical     "2001:db8:1:2::/64"
 *                       (one customer usually holds a whole /64, so a
 *                       single address would count nothing)
 *   IPv4-mapped IPv6    the IPv4 address
 *   a host name         lowercased, if it is [A-Za-z0-9.-]{1,63}
 *
 * Anything else gives EINVAL; the caller counts it as "unknown".  OUT
 * holds at least KW_ADDRESS_KEY_MAX + 1 bytes.
 */
#define KW_ADDRESS_KEY_MAX 64
int kw_address_key(const char *rhost, char *out, size_t outsz);

#endif
