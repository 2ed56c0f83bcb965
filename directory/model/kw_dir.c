/*
 * kw_dir.c - connections to the directory and the helpers every part of
 * the model uses.
 *
 * A connection tries the configured URIs in order.  libldap itself fails
 * over only while connecting and never leaves a server that accepted the
 * connection and then hangs, so each URI gets its own handle with a
 * connect timeout and an operation timeout, and the next URI is tried on
 * any connection-level failure.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <lber.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "kw_dir_internal.h"
#include "kw_log.h"
#include "kw_secret.h"

int kw_dir_set_error(struct kw_dir *dir, int err, const char *fmt, ...)
{
	va_list ap;

	if (dir == NULL)
		return err;
	va_start(ap, fmt);
	vsnprintf(dir->error, sizeof(dir->error), fmt, ap);
	va_end(ap);
	return err;
}

static int errno_of_ldap(int rc, const char *diag)
{
	switch (rc) {
	case LDAP_SUCCESS:
		return 0;
	case LDAP_NO_SUCH_OBJECT:
		return ENOENT;
	case LDAP_ALREADY_EXISTS:
	case LDAP_TYPE_OR_VALUE_EXISTS:
		return EEXIST;
	case LDAP_NO_SUCH_ATTRIBUTE:
		return ENODATA;
	case LDAP_INVALID_CREDENTIALS:
		return EACCES;
	case LDAP_INSUFFICIENT_ACCESS:
	case LDAP_INAPPROPRIATE_AUTH:
	case LDAP_STRONG_AUTH_REQUIRED:
	case LDAP_UNWILLING_TO_PERFORM:
		return EPERM;
	case LDAP_SERVER_DOWN:
	case LDAP_CONNECT_ERROR:
		return ECONNREFUSED;
	case LDAP_TIMEOUT:
	case LDAP_TIMELIMIT_EXCEEDED:
		return ETIMEDOUT;
	case LDAP_NO_MEMORY:
		return ENOMEM;
	case LDAP_ASSERTION_FAILED:
		return ECANCELED;
	case LDAP_OTHER:
		/* back_mdb answers this when its map is full */
		if (diag != NULL && strstr(diag, "txn_commit") != NULL)
			return ENOSPC;
		return EPROTO;
	default:
		return EPROTO;
	}
}

int kw_dir_fail(struct kw_dir *dir, int rc, const char *what)
{
	char *diag = NULL;

	if (rc == LDAP_SUCCESS)
		return 0;
	if (dir->ld != NULL)
		ldap_get_option(dir->ld, LDAP_OPT_DIAGNOSTIC_MESSAGE, &diag);
	if (diag != NULL && diag[0] != '\0')
		snprintf(dir->error, sizeof(dir->error), "%s: %s: %s", what,
			 ldap_err2string(rc), diag);
	else
		snprintf(dir->error, sizeof(dir->error), "%s: %s", what,
			 ldap_err2string(rc));
	rc = errno_of_ldap(rc, diag);
	ldap_memfree(diag);
	return rc;
}

const char *kw_dir_error(const struct kw_dir *dir)
{
	return dir != NULL ? dir->error : "";
}

const char *kw_dir_uri(const struct kw_dir *dir)
{
	return dir != NULL ? dir->uri : "";
}

/* ---- DNs ----------------------------------------------------------- */

static int dn_printf(char *out, size_t outsz, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int dn_printf(char *out, size_t outsz, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(out, outsz, fmt, ap);
	va_end(ap);
	return n < 0 || (size_t)n >= outsz ? EINVAL : 0;
}

static int escape_value(const char *in, char *out, size_t outsz)
{
	return kw_escape_dn_value(in, strlen(in), out, outsz) < 0 ? EINVAL : 0;
}

int kw_dn_tenant(const struct kw_dir *dir, const char *tenant, char *out,
		 size_t outsz)
{
	char t[3 * KW_TENANT_MAX + 1];

	if (!kw_name_valid_tenant(tenant) || escape_value(tenant, t, sizeof(t)))
		return EINVAL;
	return dn_printf(out, outsz, "o=%s,%s", t, dir->tenants_dn);
}

int kw_dn_people(const struct kw_dir *dir, const char *tenant, char *out,
		 size_t outsz)
{
	char t[KW_DN_MAX];
	int rc = kw_dn_tenant(dir, tenant, t, sizeof(t));

	return rc ? rc : dn_printf(out, outsz, "ou=people,%s", t);
}

int kw_dn_roles(const struct kw_dir *dir, const char *tenant, char *out,
		size_t outsz)
{
	char t[KW_DN_MAX];
	int rc = kw_dn_tenant(dir, tenant, t, sizeof(t));

	return rc ? rc : dn_printf(out, outsz, "ou=roles,%s", t);
}

int kw_dn_user(const struct kw_dir *dir, const struct kw_name *name, char *out,
	       size_t outsz)
{
	char people[KW_DN_MAX], u[3 * KW_USER_MAX + 1];
	int rc;

	if (!kw_name_valid_user(name->user) ||
	    escape_value(name->user, u, sizeof(u)))
		return EINVAL;
	rc = kw_dn_people(dir, name->tenant, people, sizeof(people));
	return rc ? rc : dn_printf(out, outsz, "uid=%s,%s", u, people);
}

int kw_dn_role(const struct kw_dir *dir, const char *tenant, const char *role,
	       char *out, size_t outsz)
{
	char roles[KW_DN_MAX], r[3 * KW_ROLE_MAX + 1];
	int rc;

	if (!kw_name_valid_role(role) || escape_value(role, r, sizeof(r)))
		return EINVAL;
	rc = kw_dn_roles(dir, tenant, roles, sizeof(roles));
	return rc ? rc : dn_printf(out, outsz, "cn=%s,%s", r, roles);
}

int kw_dn_counter(const struct kw_dir *dir, const char *tenant, const char *key,
		  char *out, size_t outsz)
{
	char t[KW_DN_MAX], k[3 * KW_ADDRESS_KEY_MAX + 1];
	int rc;

	if (key == NULL || key[0] == '\0' || strlen(key) > KW_ADDRESS_KEY_MAX ||
	    escape_value(key, k, sizeof(k)))
		return EINVAL;
	rc = kw_dn_tenant(dir, tenant, t, sizeof(t));
	return rc ? rc : dn_printf(out, outsz, "cn=%s,ou=counters,%s", k, t);
}

/* Copy the value of RDN I of DN if its attribute is TYPE. */
static bool rdn_value(LDAPDN dn, int i, const char *type, char *out,
		      size_t outsz)
{
	LDAPAVA *ava;

	if (dn[i] == NULL || dn[i][0] == NULL || dn[i][1] != NULL)
		return false;
	ava = dn[i][0];
	if (ava->la_attr.bv_len != strlen(type) ||
	    strncasecmp(ava->la_attr.bv_val, type, ava->la_attr.bv_len) != 0)
		return false;
	if (ava->la_value.bv_len >= outsz ||
	    memchr(ava->la_value.bv_val, '\0', ava->la_value.bv_len) != NULL)
		return false;
	memcpy(out, ava->la_value.bv_val, ava->la_value.bv_len);
	out[ava->la_value.bv_len] = '\0';
	return true;
}

int kw_dn_to_name(const struct kw_dir *dir, const char *dn, struct kw_name *out)
{
	LDAPDN parsed = NULL;
	char ou[16], expect[KW_DN_MAX];
	struct kw_name n;
	int rc = EINVAL;

	if (ldap_str2dn(dn, &parsed, LDAP_DN_FORMAT_LDAPV3) != LDAP_SUCCESS)
		return EINVAL;
	if (rdn_value(parsed, 0, "uid", n.user, sizeof(n.user)) &&
	    rdn_value(parsed, 1, "ou", ou, sizeof(ou)) &&
	    strcmp(ou, "people") == 0 &&
	    rdn_value(parsed, 2, "o", n.tenant, sizeof(n.tenant)) &&
	    kw_name_valid_user(n.user) && kw_name_valid_tenant(n.tenant) &&
	    kw_dn_user(dir, &n, expect, sizeof(expect)) == 0) {
		/* the rest of the DN must be our tenants' container */
		LDAPDN want = NULL;

		if (ldap_str2dn(expect, &want, LDAP_DN_FORMAT_LDAPV3) ==
		    LDAP_SUCCESS) {
			char *a = NULL, *b = NULL;

			ldap_dn2str(parsed, &a, LDAP_DN_FORMAT_LDAPV3);
			ldap_dn2str(want, &b, LDAP_DN_FORMAT_LDAPV3);
			if (a != NULL && b != NULL && strcasecmp(a, b) == 0) {
				*out = n;
				rc = 0;
			}
			ldap_memfree(a);
			ldap_memfree(b);
			ldap_dnfree(want);
		}
	}
	ldap_dnfree(parsed);
	return rc;
}

bool kw_dn_equal(const char *a, const char *b)
{
	char *na = NULL, *nb = NULL;
	bool same = false;

	if (ldap_dn_normalize(a, LDAP_DN_FORMAT_LDAPV3, &na,
			      LDAP_DN_FORMAT_LDAPV3) == LDAP_SUCCESS &&
	    ldap_dn_normalize(b, LDAP_DN_FORMAT_LDAPV3, &nb,
			      LDAP_DN_FORMAT_LDAPV3) == LDAP_SUCCESS)
		same = strcasecmp(na, nb) == 0;
	ldap_memfree(na);
	ldap_memfree(nb);
	return same;
}

/* ---- searches and values ------------------------------------------- */

struct timeval kw_dir_op_timeout(const struct kw_dir *dir)
{
	struct timeval tv = {.tv_sec = dir->op_timeout_ms / 1000,
			     .tv_usec = (dir->op_timeout_ms % 1000) * 1000};
	return tv;
}

int kw_dir_search(struct kw_dir *dir, const char *base, int scope,
		  const char *filter, char **attrs, LDAPMessage **res)
{
	struct timeval tv = kw_dir_op_timeout(dir);
	int rc;

	*res = NULL;
	rc = ldap_search_ext_s(dir->ld, base, scope, filter, attrs, 0, NULL,
			       NULL, &tv, LDAP_NO_LIMIT, res);
	if (rc != LDAP_SUCCESS) {
		/* a search can fail and still hand back a result */
		ldap_msgfree(*res);
		*res = NULL;
		return kw_dir_fail(dir, rc, "search");
	}
	return 0;
}

int kw_dir_wait(struct kw_dir *dir, int msgid, LDAPMessage **res,
		const char *what)
{
	return kw_dir_wait_ctrls(dir, msgid, res, NULL, what);
}

int kw_dir_wait_ctrls(struct kw_dir *dir, int msgid, LDAPMessage **res,
		      LDAPControl ***ctrls_out, const char *what)
{
	struct timeval tv = kw_dir_op_timeout(dir);
	int type, rc, code = LDAP_OTHER;

	*res = NULL;
	if (ctrls_out != NULL)
		*ctrls_out = NULL;
	type = ldap_result(dir->ld, msgid, LDAP_MSG_ALL, &tv, res);
	if (type == 0) {
		/* the same as the synchronous calls do on their timeout */
		ldap_abandon_ext(dir->ld, msgid, NULL, NULL);
		return kw_dir_fail(dir, LDAP_TIMEOUT, what);
	}
	if (type < 0) {
		ldap_get_option(dir->ld, LDAP_OPT_RESULT_CODE, &code);
		return kw_dir_fail(dir, code, what);
	}
	rc = ldap_parse_result(dir->ld, *res, &code, NULL, NULL, NULL,
			       ctrls_out, 0);
	if (rc != LDAP_SUCCESS)
		code = rc;
	if (code != LDAP_SUCCESS) {
		ldap_msgfree(*res);
		*res = NULL;
		if (ctrls_out != NULL) {
			ldap_controls_free(*ctrls_out);
			*ctrls_out = NULL;
		}
		return kw_dir_fail(dir, code, what);
	}
	return 0;
}

int kw_dir_ensure_container(struct kw_dir *dir, const char *tenant,
			    const char *name)
{
	char t[KW_DN_MAX], dn[KW_DN_MAX];
	struct kw_mods m;
	int rc;

	rc = kw_dn_tenant(dir, tenant, t, sizeof(t));
	if (rc == 0)
		rc = dn_printf(dn, sizeof(dn), "ou=%s,%s", name, t);
	if (rc)
		return kw_dir_set_error(dir, EINVAL, "invalid container");
	kw_mods_init(&m);
	kw_mods_add(&m, LDAP_MOD_ADD, "objectClass", "organizationalUnit");
	kw_mods_add(&m, LDAP_MOD_ADD, "ou", name);
	rc = kw_dir_add_entry(dir, dn, &m, "container add");
	return rc == EEXIST ? 0 : rc;
}

int kw_dir_read(struct kw_dir *dir, const char *dn, char **attrs,
		LDAPMessage **res, LDAPMessage **entry)
{
	int rc = kw_dir_search(dir, dn, LDAP_SCOPE_BASE, "(objectClass=*)",
			       attrs, res);

	if (rc)
		return rc;
	*entry = ldap_first_entry(dir->ld, *res);
	if (*entry == NULL) {
		ldap_msgfree(*res);
		*res = NULL;
		return kw_dir_set_error(dir, ENOENT, "%s: no such entry", dn);
	}
	return 0;
}

bool kw_entry_has_class(LDAP *ld, LDAPMessage *entry, const char *cls)
{
	struct berval **v = ldap_get_values_len(ld, entry, "objectClass");
	bool found = false;
	size_t i;

	for (i = 0; v != NULL && v[i] != NULL && !found; i++)
		found = v[i]->bv_len == strlen(cls) &&
			strncasecmp(v[i]->bv_val, cls, v[i]->bv_len) == 0;
	ldap_value_free_len(v);
	return found;
}

bool kw_attr_str(LDAP *ld, LDAPMessage *entry, const char *attr, char *out,
		 size_t outsz)
{
	struct berval **v = ldap_get_values_len(ld, entry, attr);
	bool ok = false;

	if (v != NULL && v[0] != NULL && v[0]->bv_len < outsz &&
	    memchr(v[0]->bv_val, '\0', v[0]->bv_len) == NULL) {
		memcpy(out, v[0]->bv_val, v[0]->bv_len);
		out[v[0]->bv_len] = '\0';
		ok = true;
	}
	ldap_value_free_len(v);
	return ok;
}

bool kw_attr_long(LDAP *ld, LDAPMessage *entry, const char *attr, long *out)
{
	char buf[32], *end;
	long v;

	if (!kw_attr_str(ld, entry, attr, buf, sizeof(buf)))
		return false;
	errno = 0;
	v = strtol(buf, &end, 10);
	if (errno != 0 || end == buf || *end != '\0')
		return false;
	*out = v;
	return true;
}

bool kw_attr_bool(LDAP *ld, LDAPMessage *entry, const char *attr, bool *out)
{
	char buf[8];

	if (!kw_attr_str(ld, entry, attr, buf, sizeof(buf)))
		return false;
	if (strcmp(buf, "TRUE") == 0)
		*out = true;
	else if (strcmp(buf, "FALSE") == 0)
		*out = false;
	else
		return false;
	return true;
}

bool kw_attr_time(LDAP *ld, LDAPMessage *entry, const char *attr, time_t *out)
{
	char buf[32];
	struct tm tm = {0};
	char *end;

	if (!kw_attr_str(ld, entry, attr, buf, sizeof(buf)))
		return false;
	end = strptime(buf, "%Y%m%d%H%M%S", &tm);
	if (end == NULL || (*end != 'Z' && *end != '.'))
		return false;
	*out = timegm(&tm);
	return true;
}

/* ---- modifications ------------------------------------------------- */

void kw_mods_init(struct kw_mods *m)
{
	memset(m, 0, sizeof(*m));
}

void kw_mods_add(struct kw_mods *m, int op, const char *attr, const char *value)
{
	size_t i, k;

	/* values of one operation on one attribute go together */
	for (i = 0; i < m->n; i++)
		if (m->mod[i].mod_op == op &&
		    strcasecmp(m->mod[i].mod_type, attr) == 0)
			break;
	if (i == m->n) {
		if (m->n == KW_MODS_MAX) {
			m->overflow = true;
			return;
		}
		m->mod[i].mod_op = op;
		m->mod[i].mod_type = (char *)attr;
		m->mod[i].mod_values = NULL;
		m->list[i] = &m->mod[i];
		m->list[++m->n] = NULL;
	}
	if (value == NULL)
		return;
	for (k = 0; m->values[i][k] != NULL; k++)
		;
	if (k == KW_MOD_VALUES_MAX) {
		m->overflow = true;
		return;
	}
	m->values[i][k] = (char *)value;
	m->values[i][k + 1] = NULL;
	m->mod[i].mod_values = m->values[i];
}

int kw_mods_check(struct kw_dir *dir, const struct kw_mods *m)
{
	if (m->overflow)
		return kw_dir_set_error(dir, EINVAL,
					"internal: too many modifications");
	return 0;
}

void kw_mods_add_list(struct kw_mods *m, int op, const char *attr,
		      char **values)
{
	size_t i;

	kw_mods_add(m, op, attr, NULL);
	for (i = 0; i < m->n; i++)
		if (m->mod[i].mod_op == op &&
		    strcasecmp(m->mod[i].mod_type, attr) == 0)
			m->mod[i].mod_values = values;
}

void kw_mods_remove(struct kw_mods *m, const char *attr)
{
	kw_mods_add(m, LDAP_MOD_REPLACE, attr, NULL);
}

int kw_dir_add_entry(struct kw_dir *dir, const char *dn, struct kw_mods *m,
		     const char *what)
{
	int rc = kw_mods_check(dir, m);

	if (rc)
		return rc;
	rc = ldap_add_ext_s(dir->ld, dn, m->list, NULL, NULL);
	return kw_dir_fail(dir, rc, what);
}

int kw_dir_modify(struct kw_dir *dir, const char *dn, struct kw_mods *m,
		  const char *what)
{
	int rc = kw_mods_check(dir, m);

	if (rc)
		return rc;
	rc = ldap_modify_ext_s(dir->ld, dn, m->list, NULL, NULL);
	return kw_dir_fail(dir, rc, what);
}

/* The new value of ATTR in the post-read control of a result, or -1. */
static long post_read_value(LDAPControl **ctrls, const char *attr)
{
	LDAPControl *c = ldap_control_find(LDAP_CONTROL_POST_READ, ctrls, NULL);
	struct berval dn = {0}, type = {0};
	BerVarray vals = NULL;
	BerElement *ber;
	char buf[32], *end;
	long v = -1;

	if (c == NULL || c->ldctl_value.bv_val == NULL)
		return -1;
	ber = ber_init(&c->ldctl_value);
	if (ber == NULL)
		return -1;
	if (ber_scanf(ber, "{m{{m[W]}", &dn, &type, &vals) != LBER_ERROR &&
	    type.bv_len == strlen(attr) &&
	    strncasecmp(type.bv_val, attr, type.bv_len) == 0 && vals != NULL &&
	    vals[0].bv_val != NULL && vals[0].bv_len < sizeof(buf)) {
		memcpy(buf, vals[0].bv_val, vals[0].bv_len);
		buf[vals[0].bv_len] = '\0';
		errno = 0;
		v = strtol(buf, &end, 10);
		if (errno != 0 || end == buf || *end != '\0' || v < 0)
			v = -1;
	}
	ber_bvarray_free(vals);
	ber_free(ber, 1);
	return v;
}

static LDAPControl *post_read_control(const char *attr)
{
	BerElement *ber = ber_alloc_t(LBER_USE_DER);
	LDAPControl *ctrl = NULL;
	struct berval bv = {0};

	if (ber == NULL)
		return NULL;
	if (ber_printf(ber, "{s}", attr) != -1 &&
	    ber_flatten2(ber, &bv, 0) == 0)
		ldap_control_create(LDAP_CONTROL_POST_READ, 1, &bv, 1, &ctrl);
	ber_free(ber, 1);
	return ctrl;
}

int kw_dir_modify_asserted(struct kw_dir *dir, const char *dn,
			   struct kw_mods *m, const char *filter,
			   const char *post_attr, long *value_out,
			   const char *what)
{
	LDAPControl *ctrls[3] = {NULL, NULL, NULL}, **resp = NULL;
	LDAPMessage *res = NULL;
	int rc, msgid;

	rc = kw_mods_check(dir, m);
	if (rc)
		return rc;
	if (ldap_create_assertion_control(dir->ld, (char *)filter, 1,
					  &ctrls[0]) != LDAP_SUCCESS)
		return kw_dir_set_error(dir, ENOMEM, "assertion control");
	if (post_attr != NULL) {
		ctrls[1] = post_read_control(post_attr);
		if (ctrls[1] == NULL) {
			rc = kw_dir_set_error(dir, ENOMEM, "post-read control");
			goto done;
		}
	}
	rc = ldap_modify_ext(dir->ld, dn, m->list, ctrls, NULL, &msgid);
	if (rc != LDAP_SUCCESS) {
		rc = kw_dir_fail(dir, rc, what);
		goto done;
	}
	rc = kw_dir_wait_ctrls(dir, msgid, &res, &resp, what);
	if (rc == 0 && post_attr != NULL) {
		*value_out = post_read_value(resp, post_attr);
		if (*value_out < 0)
			rc = kw_dir_set_error(dir, EPROTO,
					      "%s: no value in the post-read "
					      "control",
					      what);
	}
done:
	ldap_controls_free(resp);
	ldap_msgfree(res);
	ldap_control_free(ctrls[0]);
	ldap_control_free(ctrls[1]);
	return rc;
}

int kw_dir_delete(struct kw_dir *dir, const char *dn, const char *what)
{
	return kw_dir_fail(dir, ldap_delete_ext_s(dir->ld, dn, NULL, NULL),
			   what);
}

int kw_dir_take_next(struct kw_dir *dir, const char *dn, const char *attr,
		     long limit, long *old)
{
	char *attrs[] = {(char *)attr, NULL};
	int tries;

	for (tries = 0; tries < 32; tries++) {
		LDAPMessage *res, *e;
		char was[32], now[32];
		struct kw_mods m;
		long v;
		int rc, lrc;

		rc = kw_dir_read(dir, dn, attrs, &res, &e);
		if (rc)
			return rc;
		if (!kw_attr_long(dir->ld, e, attr, &v)) {
			ldap_msgfree(res);
			return kw_dir_set_error(dir, EPROTO, "%s: no valid %s",
						dn, attr);
		}
		ldap_msgfree(res);
		if (v >= limit)
			return kw_dir_set_error(dir, ENOSPC,
						"%s: %s reached its limit %ld",
						dn, attr, limit);
		snprintf(was, sizeof(was), "%ld", v);
		snprintf(now, sizeof(now), "%ld", v + 1);
		kw_mods_init(&m);
		kw_mods_add(&m, LDAP_MOD_DELETE, attr, was);
		kw_mods_add(&m, LDAP_MOD_ADD, attr, now);
		lrc = ldap_modify_ext_s(dir->ld, dn, m.list, NULL, NULL);
		if (lrc == LDAP_SUCCESS) {
			*old = v;
			return 0;
		}
		/* someone else took this value first: read again */
		if (lrc != LDAP_NO_SUCH_ATTRIBUTE)
			return kw_dir_fail(dir, lrc, "allocate");
	}
	return kw_dir_set_error(dir, EAGAIN, "%s: %s keeps changing", dn, attr);
}

/* ---- connections --------------------------------------------------- */

static bool host_is_loopback(const char *host)
{
	struct in6_addr a6;
	struct in_addr a4;

	if (strcasecmp(host, "localhost") == 0)
		return true;
	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, host, &a6) == 1)
		return IN6_IS_ADDR_LOOPBACK(&a6);
	return false;
}

enum uri_kind { URI_LDAPI, URI_LDAPS, URI_LDAP_TLS, URI_LDAP_PLAIN };

static int classify_uri(struct kw_dir *dir, const char *uri, bool starttls,
			enum uri_kind *kind)
{
	LDAPURLDesc *lud = NULL;
	int rc = 0;

	if (ldap_url_parse(uri, &lud) != LDAP_URL_SUCCESS)
		return kw_dir_set_error(dir, EINVAL, "%s: not an LDAP URI",
					uri);
	if (strcasecmp(lud->lud_scheme, "ldapi") == 0)
		*kind = URI_LDAPI;
	else if (strcasecmp(lud->lud_scheme, "ldaps") == 0)
		*kind = URI_LDAPS;
	else if (strcasecmp(lud->lud_scheme, "ldap") == 0 && starttls)
		*kind = URI_LDAP_TLS;
	else if (strcasecmp(lud->lud_scheme, "ldap") == 0 &&
		 lud->lud_host != NULL && host_is_loopback(lud->lud_host))
		*kind = URI_LDAP_PLAIN;
	else if (strcasecmp(lud->lud_scheme, "ldap") == 0)
		rc = kw_dir_set_error(dir, EINVAL,
				      "%s: plain ldap:// to a host that is "
				      "not loopback is refused: use ldaps://, "
				      "StartTLS or ldapi://",
				      uri);
	else
		rc = kw_dir_set_error(dir, EINVAL, "%s: unknown scheme", uri);
	ldap_free_urldesc(lud);
	return rc;
}

static int set_options(struct kw_dir *dir, const struct kw_config *cfg,
		       enum uri_kind kind)
{
	struct timeval net = {.tv_sec = cfg->connect_timeout_ms / 1000,
			      .tv_usec =
				      (cfg->connect_timeout_ms % 1000) * 1000};
	struct timeval op = kw_dir_op_timeout(dir);
	int version = LDAP_VERSION3, demand = LDAP_OPT_X_TLS_DEMAND, zero = 0;

	if (ldap_set_option(dir->ld, LDAP_OPT_PROTOCOL_VERSION, &version) ||
	    ldap_set_option(dir->ld, LDAP_OPT_NETWORK_TIMEOUT, &net) ||
	    ldap_set_option(dir->ld, LDAP_OPT_TIMEOUT, &op) ||
	    ldap_set_option(dir->ld, LDAP_OPT_REFERRALS, LDAP_OPT_OFF))
		return kw_dir_set_error(dir, EPROTO, "cannot set options");
	if (kind == URI_LDAPI || kind == URI_LDAP_PLAIN)
		return 0;
	if (ldap_set_option(dir->ld, LDAP_OPT_X_TLS_REQUIRE_CERT, &demand))
		return kw_dir_set_error(dir, EPROTO, "cannot require TLS");
	if (cfg->ca_file != NULL && cfg->ca_file[0] != '\0' &&
	    ldap_set_option(dir->ld, LDAP_OPT_X_TLS_CACERTFILE, cfg->ca_file))
		return kw_dir_set_error(dir, EPROTO, "%s: cannot use CA file",
					cfg->ca_file);
	/* the options above take effect in a new context of this handle */
	if (ldap_set_option(dir->ld, LDAP_OPT_X_TLS_NEWCTX, &zero))
		return kw_dir_set_error(dir, EPROTO,
					"cannot create a TLS context "
					"(CA file %s)",
					cfg->ca_file && cfg->ca_file[0]
						? cfg->ca_file
						: "of the system");
	return 0;
}

/* Is RC a failure of this server (so that the next URI may answer)? */
static bool server_failed(int rc)
{
	return rc == LDAP_SERVER_DOWN || rc == LDAP_CONNECT_ERROR ||
	       rc == LDAP_TIMEOUT || rc == LDAP_UNAVAILABLE || rc == LDAP_BUSY;
}

static int sasl_no_prompts(LDAP *ld, unsigned flags, void *defaults,
			   void *prompts)
{
	return LDAP_SUCCESS;
}

static int do_bind(struct kw_dir *dir, const struct kw_config *cfg,
		   enum kw_dir_identity as, const struct kw_name *user,
		   const char *password)
{
	char dn[KW_DN_MAX], secret[KW_SECRET_MAX], err[KW_CONFIG_ERROR_MAX];
	struct berval cred = {0, NULL};
	int rc;

	switch (as) {
	case KW_DIR_AS_ROOT:
		/* EXTERNAL asks nothing: the socket's peer is the identity */
		rc = ldap_sasl_interactive_bind_s(dir->ld, NULL, "EXTERNAL",
						  NULL, NULL, LDAP_SASL_QUIET,
						  sasl_no_prompts, NULL);
		return rc;
	case KW_DIR_AS_SERVICE:
		if (kw_config_read_secret(cfg->bind_password_file, secret,
					  sizeof(secret), err, sizeof(err))) {
			kw_dir_set_error(dir, EACCES, "%s", err);
			return LDAP_INVALID_CREDENTIALS;
		}
		cred.bv_val = secret;
		cred.bv_len = strlen(secret);
		rc = ldap_sasl_bind_s(dir->ld, cfg->bind_dn, LDAP_SASL_SIMPLE,
				      &cred, NULL, NULL, NULL);
		kw_wipe(secret, sizeof(secret));
		return rc;
	case KW_DIR_AS_USER:
		if (kw_dn_user(dir, user, dn, sizeof(dn)))
			return LDAP_PARAM_ERROR;
		cred.bv_val = (char *)password;
		cred.bv_len = strlen(password);
		return ldap_sasl_bind_s(dir->ld, dn, LDAP_SASL_SIMPLE, &cred,
					NULL, NULL, NULL);
	case KW_DIR_ANONYMOUS:
		/* no bind: make sure the server is there */
		return ldap_connect(dir->ld);
	}
	return LDAP_PARAM_ERROR;
}

static int try_uri(struct kw_dir *dir, const struct kw_config *cfg,
		   const char *uri, enum kw_dir_identity as,
		   const struct kw_name *user, const char *password)
{
	enum uri_kind kind = URI_LDAPI;
	int rc;

	rc = classify_uri(dir, uri, cfg->starttls, &kind);
	if (rc)
		return rc;
	snprintf(dir->uri, sizeof(dir->uri), "%s", uri);
	if (ldap_initialize(&dir->ld, uri) != LDAP_SUCCESS)
		return kw_dir_set_error(dir, EINVAL, "%s: cannot use this URI",
					uri);
	rc = set_options(dir, cfg, kind);
	if (rc)
		return rc;
	if (kind == URI_LDAP_TLS) {
		rc = ldap_start_tls_s(dir->ld, NULL, NULL);
		if (rc != LDAP_SUCCESS) {
			kw_dir_fail(dir, rc, uri);
			return server_failed(rc) ? ECONNREFUSED : EPROTO;
		}
	}
	rc = do_bind(dir, cfg, as, user, password);
	if (rc == LDAP_INVALID_CREDENTIALS && dir->error[0] != '\0' &&
	    as == KW_DIR_AS_SERVICE)
		return EACCES; /* the secret file was refused; error is set */
	if (rc != LDAP_SUCCESS) {
		char what[300];

		snprintf(what, sizeof(what), "%s", uri);
		rc = kw_dir_fail(dir, rc, what);
		/* TLS failures come back as -1 or -11 ("connect error") */
		return rc;
	}
	return 0;
}

int kw_dir_open(const struct kw_config *cfg, enum kw_dir_identity as,
		const struct kw_name *user, const char *password,
		struct kw_dir **dir_out)
{
	struct kw_dir *dir;
	const char *root_uri[1];
	const char *const *uris;
	size_t n, i;
	int rc = ECONNREFUSED;

	*dir_out = NULL;
	if (as == KW_DIR_AS_USER &&
	    (user == NULL || password == NULL || password[0] == '\0'))
		return EACCES; /* an empty password never authenticates */
	dir = calloc(1, sizeof(*dir));
	if (dir == NULL)
		return ENOMEM;
	dir->as = as;
	dir->sep = cfg->separator;
	dir->uid_min = cfg->uid_min;
	dir->uid_range = cfg->uid_range;
	dir->uid_max = cfg->uid_max;
	dir->op_timeout_ms = cfg->op_timeout_ms;
	if (dn_printf(dir->base_dn, sizeof(dir->base_dn), "%s", cfg->base_dn) ||
	    dn_printf(dir->tenants_dn, sizeof(dir->tenants_dn), "ou=tenants,%s",
		      cfg->base_dn)) {
		free(dir);
		return EINVAL;
	}
	if (as == KW_DIR_AS_ROOT) {
		root_uri[0] = cfg->admin_uri;
		uris = root_uri;
		n = 1;
	} else {
		uris = (const char *const *)cfg->uris;
		n = cfg->n_uris;
	}
	for (i = 0; i < n; i++) {
		dir->error[0] = '\0';
		rc = try_uri(dir, cfg, uris[i], as, user, password);
		if (rc == 0) {
			*dir_out = dir;
			return 0;
		}
		kw_log(LOG_DEBUG, "directory %s: %s", uris[i], dir->error);
		if (dir->ld != NULL) {
			ldap_unbind_ext_s(dir->ld, NULL, NULL);
			dir->ld = NULL;
		}
		/* a refusal of the identity is final; a dead server is not */
		if (rc != ECONNREFUSED && rc != ETIMEDOUT)
			break;
	}
	if (rc == ECONNREFUSED && n > 1)
		kw_dir_set_error(dir, rc,
				 "no directory server answered "
				 "(tried %zu URIs; last: %s)",
				 n, dir->error);
	/* the unconnected handle carries the error text to the caller */
	*dir_out = dir;
	return rc;
}

void kw_dir_free(struct kw_dir *dir)
{
	if (dir == NULL)
		return;
	if (dir->ld != NULL)
		ldap_unbind_ext_s(dir->ld, NULL, NULL);
	free(dir);
}
