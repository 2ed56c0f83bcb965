/*
 * kw_audit_dir.c - see kw_audit_dir.h.
 *
 * Three kinds of reads serve the log, each as cheap as its purpose
 * allows: base reads of kwEventSeq=<seq> (the head's discovery, one read
 * per probe), searches narrowed by indexed equalities (a record by its
 * id, a small range of seqs, a user), and whole-log searches only where
 * a person asked for them or the chain must be checked.  Searches hand
 * each entry over as it arrives, so that a long log is held once, as
 * records, and never also as LDAP messages.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "kw_audit_dir.h"
#include "kw_dir_internal.h"

#define OC_EVENT "kwAuditEvent"
#define OC_LOG "kwAuditLog"
#define AT_ANCHOR "kwAuditAnchor"
#define AT_ID "kwEventId"
#define AT_TIME "kwEventTime"
#define AT_OUTCOME "kwOutcome"
#define AT_REASON "kwReason"
#define AT_SERVICE "kwService"
#define AT_RHOST "kwRemoteHost"
#define AT_TTY "kwTty"
#define AT_REQUEST_ID "kwRequestId"
#define AT_USER "kwUserName"
#define AT_USER_HASH "kwUserHash"
#define AT_HOST "kwEventHost"
#define AT_KIND "kwEventKind"
#define AT_SEQ "kwEventSeq"
#define AT_PREV "kwChainPrev"
#define AT_MAC "kwChainHash"

/* kwEventTime as written: YYYYMMDDHHMMSS.ffffffZ */
#define EVENT_TIME_LEN 22
/* The first time_t of the year 10000, which generalized time cannot say. */
#define TIME_END 253402300800LL
#define ULL_DIGITS 20
/* A seq range this small is asked for as equalities on the index. */
#define SEQ_SET_MAX 64
#define FILTER_MAX 4096
/* The longest random wait before a record's first add, in microseconds. */
#define JITTER_US 500ULL
/* "seq mac seal" */
#define ANCHOR_TEXT_MAX (ULL_DIGITS + 2 * KW_AUDIT_MAC_HEX_LEN + 2)

static char *record_attrs[] = {
	(char *)"objectClass",
	(char *)AT_ID,
	(char *)AT_TIME,
	(char *)AT_OUTCOME,
	(char *)AT_REASON,
	(char *)AT_SERVICE,
	(char *)AT_RHOST,
	(char *)AT_TTY,
	(char *)AT_REQUEST_ID,
	(char *)AT_USER,
	(char *)AT_USER_HASH,
	(char *)AT_HOST,
	(char *)AT_KIND,
	(char *)AT_SEQ,
	(char *)AT_PREV,
	(char *)AT_MAC,
	NULL,
};

/* ---- names and values ------------------------------------------------ */

static int log_dn(struct kw_dir *dir, const char *tenant, char *out,
		  size_t outsz)
{
	char t[KW_DN_MAX];

	if (kw_dn_tenant(dir, tenant, t, sizeof(t)) != 0 ||
	    snprintf(out, outsz, "ou=audit,%s", t) >= (int)outsz)
		return kw_dir_set_error(dir, EINVAL, "invalid tenant");
	return 0;
}

static int record_dn(struct kw_dir *dir, const char *tenant,
		     unsigned long long seq, char *out, size_t outsz)
{
	char container[KW_DN_MAX];
	int rc = log_dn(dir, tenant, container, sizeof(container));

	if (rc)
		return rc;
	if (snprintf(out, outsz, AT_SEQ "=%llu,%s", seq, container) >=
	    (int)outsz)
		return kw_dir_set_error(dir, EINVAL, "invalid tenant");
	return 0;
}

static bool is_lower_hex(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		      (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

/* A positive decimal without sign or leading zeros, as the chain has. */
static bool parse_seq(const char *s, size_t len, unsigned long long *out)
{
	unsigned long long v = 0;

	if (len == 0 || len > ULL_DIGITS || s[0] == '0')
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned int d = (unsigned char)s[i] - '0';

		if (d > 9 || v > (ULLONG_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = v;
	return true;
}

static int format_event_time(long long time_us, char *out, size_t outsz)
{
	time_t t = (time_t)(time_us / 1000000);
	struct tm tm;
	int n;

	if (time_us < 0 || t >= TIME_END || gmtime_r(&t, &tm) == NULL)
		return EINVAL;
	n = snprintf(out, outsz, "%04d%02d%02d%02d%02d%02d.%06lldZ",
		     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		     tm.tm_min, tm.tm_sec, time_us % 1000000);
	return n == EVENT_TIME_LEN && (size_t)n < outsz ? 0 : EINVAL;
}

static int digits_at(const char *s, size_t at, size_t n)
{
	int v = 0;

	for (size_t i = at; i < at + n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

/* Exactly what format_event_time() writes, and a real date. */
static bool parse_event_time(const char *s, long long *time_us_out)
{
	struct tm tm = {0}, back;
	int frac;
	time_t t;

	if (strlen(s) != EVENT_TIME_LEN || s[14] != '.' || s[21] != 'Z')
		return false;
	tm.tm_year = digits_at(s, 0, 4) - 1900;
	tm.tm_mon = digits_at(s, 4, 2) - 1;
	tm.tm_mday = digits_at(s, 6, 2);
	tm.tm_hour = digits_at(s, 8, 2);
	tm.tm_min = digits_at(s, 10, 2);
	tm.tm_sec = digits_at(s, 12, 2);
	frac = digits_at(s, 15, 6);
	if (tm.tm_year < 70 || tm.tm_mon < 0 || tm.tm_mday < 0 ||
	    tm.tm_hour < 0 || tm.tm_min < 0 || tm.tm_sec < 0 || frac < 0)
		return false;
	back = tm;
	t = timegm(&back);
	/* timegm normalises 31 April into 1 May: refuse what moved */
	if (t < 0 || gmtime_r(&t, &back) == NULL ||
	    back.tm_year != tm.tm_year || back.tm_mon != tm.tm_mon ||
	    back.tm_mday != tm.tm_mday || back.tm_hour != tm.tm_hour ||
	    back.tm_min != tm.tm_min || back.tm_sec != tm.tm_sec)
		return false;
	*time_us_out = (long long)t * 1000000 + frac;
	return true;
}

/*
 * The value of ATTR of E into OUT, "" if absent.  False for what the
 * model never writes: several values, an empty one, a NUL, too long.
 */
static bool one_value(LDAP *ld, LDAPMessage *e, const char *attr, char *out,
		      size_t outsz)
{
	struct berval **v = ldap_get_values_len(ld, e, attr);
	bool ok = true;

	out[0] = '\0';
	if (v != NULL && v[0] != NULL) {
		ok = v[1] == NULL && v[0]->bv_len > 0 && v[0]->bv_len < outsz &&
		     memchr(v[0]->bv_val, '\0', v[0]->bv_len) == NULL;
		if (ok) {
			memcpy(out, v[0]->bv_val, v[0]->bv_len);
			out[v[0]->bv_len] = '\0';
		}
	}
	ldap_value_free_len(v);
	return ok;
}

/* The seq that E's DN names (kwEventSeq=<seq>,...), or 0. */
static unsigned long long seq_of_dn(LDAP *ld, LDAPMessage *e)
{
	char *dn = ldap_get_dn(ld, e);
	LDAPDN parsed = NULL;
	unsigned long long seq = 0;
	LDAPAVA *ava;

	if (dn == NULL ||
	    ldap_str2dn(dn, &parsed, LDAP_DN_FORMAT_LDAPV3) != LDAP_SUCCESS)
		goto done;
	if (parsed[0] == NULL || parsed[0][0] == NULL || parsed[0][1] != NULL)
		goto done;
	ava = parsed[0][0];
	if (ava->la_attr.bv_len != strlen(AT_SEQ) ||
	    strncasecmp(ava->la_attr.bv_val, AT_SEQ, ava->la_attr.bv_len) !=
		    0 ||
	    !parse_seq(ava->la_value.bv_val, ava->la_value.bv_len, &seq))
		seq = 0;
done:
	ldap_dnfree(parsed);
	ldap_memfree(dn);
	return seq;
}

/*
 * The record that the entry E of TENANT's log holds, strictly: every
 * value as the model writes it, and a record kw_audit_record_check()
 * accepts, chained, at the seq its DN names.  EBADMSG otherwise; *SEQ_OUT
 * is the seq of the DN (0 if it names none) either way.
 */
static int record_from_entry(struct kw_dir *dir, LDAPMessage *e,
			     const char *tenant, struct kw_audit_record *r,
			     unsigned long long *seq_out)
{
	LDAP *ld = dir->ld;
	char time_s[EVENT_TIME_LEN + 2], seq_s[ULL_DIGITS + 2];
	unsigned long long seq;
	bool ok;

	memset(r, 0, sizeof(*r));
	*seq_out = seq_of_dn(ld, e);
	ok = *seq_out != 0 && kw_entry_has_class(ld, e, OC_EVENT) &&
	     one_value(ld, e, AT_ID, r->id, sizeof(r->id)) &&
	     one_value(ld, e, AT_TIME, time_s, sizeof(time_s)) &&
	     one_value(ld, e, AT_OUTCOME, r->outcome, sizeof(r->outcome)) &&
	     one_value(ld, e, AT_REASON, r->reason, sizeof(r->reason)) &&
	     one_value(ld, e, AT_SERVICE, r->service, sizeof(r->service)) &&
	     one_value(ld, e, AT_RHOST, r->rhost, sizeof(r->rhost)) &&
	     one_value(ld, e, AT_TTY, r->tty, sizeof(r->tty)) &&
	     one_value(ld, e, AT_REQUEST_ID, r->request_id,
		       sizeof(r->request_id)) &&
	     one_value(ld, e, AT_USER, r->user, sizeof(r->user)) &&
	     one_value(ld, e, AT_USER_HASH, r->user_hash,
		       sizeof(r->user_hash)) &&
	     one_value(ld, e, AT_HOST, r->host, sizeof(r->host)) &&
	     one_value(ld, e, AT_KIND, r->kind, sizeof(r->kind)) &&
	     one_value(ld, e, AT_SEQ, seq_s, sizeof(seq_s)) &&
	     one_value(ld, e, AT_PREV, r->prev_mac, sizeof(r->prev_mac)) &&
	     one_value(ld, e, AT_MAC, r->mac, sizeof(r->mac)) &&
	     parse_event_time(time_s, &r->time_us) &&
	     parse_seq(seq_s, strlen(seq_s), &seq) && seq == *seq_out;
	if (ok) {
		r->seq = seq;
		snprintf(r->tenant, sizeof(r->tenant), "%s", tenant);
		ok = kw_audit_record_check(r) == 0; /* seq >= 1: MACs checked */
	}
	if (!ok) {
		memset(r, 0, sizeof(*r));
		return kw_dir_set_error(
			dir, EBADMSG, "audit record %llu of '%s' is malformed",
			*seq_out, tenant);
	}
	return 0;
}

/* ---- reading many records -------------------------------------------- */

/* Records as a search hands them over. */
struct collect {
	const char *tenant;
	bool keep_malformed; /* as seq-only records, for the chain check */
	struct kw_audit_record *v;
	size_t n, cap;
	size_t skipped; /* entries that are not records */
	size_t foreign; /* ... and whose DN names no seq */
};

static int collect_append(struct collect *c, const struct kw_audit_record *r)
{
	if (c->n == c->cap) {
		size_t cap = c->cap == 0 ? 64 : 2 * c->cap;
		struct kw_audit_record *v;

		if (cap > SIZE_MAX / sizeof(*v))
			return ENOMEM;
		v = realloc(c->v, cap * sizeof(*v));
		if (v == NULL)
			return ENOMEM;
		c->v = v;
		c->cap = cap;
	}
	c->v[c->n++] = *r;
	return 0;
}

static int collect_entry(struct kw_dir *dir, LDAPMessage *e, struct collect *c)
{
	struct kw_audit_record r;
	unsigned long long seq;

	if (record_from_entry(dir, e, c->tenant, &r, &seq) != 0) {
		c->skipped++;
		if (seq == 0)
			c->foreign++;
		if (!c->keep_malformed || seq == 0)
			return 0;
		/* only the seq: the chain check calls it malformed there */
		r.seq = seq;
	}
	return collect_append(c, &r);
}

/*
 * A one-level search of C->tenant's log with FILTER, every entry into C
 * as it arrives.  A tenant without a log has an empty one; ENOENT: no
 * such tenant (or none this identity may see).
 */
static int collect_search(struct kw_dir *dir, const char *filter,
			  struct collect *c)
{
	struct timeval tv = kw_dir_op_timeout(dir);
	char base[KW_DN_MAX], tdn[KW_DN_MAX];
	LDAPMessage *msg = NULL;
	char *matched = NULL;
	int rc, msgid, type, code = LDAP_OTHER;

	rc = log_dn(dir, c->tenant, base, sizeof(base));
	if (rc)
		return rc;
	kw_dn_tenant(dir, c->tenant, tdn, sizeof(tdn));
	rc = ldap_search_ext(dir->ld, base, LDAP_SCOPE_ONELEVEL, filter,
			     record_attrs, 0, NULL, NULL, NULL, LDAP_NO_LIMIT,
			     &msgid);
	if (rc != LDAP_SUCCESS)
		return kw_dir_fail(dir, rc, "audit search");
	for (;;) {
		type = ldap_result(dir->ld, msgid, LDAP_MSG_ONE, &tv, &msg);
		if (type == 0) {
			ldap_abandon_ext(dir->ld, msgid, NULL, NULL);
			rc = kw_dir_fail(dir, LDAP_TIMEOUT, "audit search");
			goto done;
		}
		if (type < 0) {
			ldap_get_option(dir->ld, LDAP_OPT_RESULT_CODE, &code);
			rc = kw_dir_fail(dir, code, "audit search");
			goto done;
		}
		if (type == LDAP_RES_SEARCH_RESULT)
			break;
		if (type == LDAP_RES_SEARCH_ENTRY)
			rc = collect_entry(dir, ldap_first_entry(dir->ld, msg),
					   c);
		ldap_msgfree(msg);
		msg = NULL;
		if (rc) {
			ldap_abandon_ext(dir->ld, msgid, NULL, NULL);
			rc = kw_dir_set_error(dir, rc, "audit search: %s",
					      strerror(rc));
			goto done;
		}
	}
	rc = ldap_parse_result(dir->ld, msg, &code, &matched, NULL, NULL, NULL,
			       0);
	if (rc != LDAP_SUCCESS)
		code = rc;
	/* the tenant is there, its log not yet */
	if (code == LDAP_NO_SUCH_OBJECT && matched != NULL &&
	    kw_dn_equal(matched, tdn))
		code = LDAP_SUCCESS;
	rc = kw_dir_fail(dir, code, "audit search");
done:
	ldap_memfree(matched);
	ldap_msgfree(msg);
	return rc;
}

static int by_seq(const void *a, const void *b)
{
	const struct kw_audit_record *x = a, *y = b;

	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int collect_all(struct kw_dir *dir, const char *filter,
		       struct collect *c)
{
	int rc = collect_search(dir, filter, c);

	if (rc) {
		free(c->v);
		c->v = NULL;
		c->n = 0;
		return rc;
	}
	if (c->n > 1)
		qsort(c->v, c->n, sizeof(*c->v), by_seq);
	return 0;
}

/* ---- filters --------------------------------------------------------- */

struct filter {
	char text[FILTER_MAX];
	size_t len;
	bool overflow;
};

static void put(struct filter *f, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void put(struct filter *f, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (f->overflow)
		return;
	va_start(ap, fmt);
	n = vsnprintf(f->text + f->len, sizeof(f->text) - f->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(f->text) - f->len)
		f->overflow = true;
	else
		f->len += (size_t)n;
}

/* (ATTR=VALUE), VALUE escaped whatever validation it passed. */
static void put_equal(struct filter *f, const char *attr, const char *value)
{
	char esc[3 * KW_AUDIT_HOST_MAX + 1];

	if (kw_escape_filter(value, strlen(value), esc, sizeof(esc)) < 0)
		f->overflow = true;
	else
		put(f, "(%s=%s)", attr, esc);
}

static bool query_valid(const struct kw_audit_query *q)
{
	return q != NULL && q->tenant != NULL &&
	       kw_name_valid_tenant(q->tenant) &&
	       (q->user == NULL || kw_name_valid_user(q->user) ||
		kw_audit_user_hash_valid(q->user)) &&
	       (q->outcome == NULL ||
		strcmp(q->outcome, KW_AUDIT_SUCCESS) == 0 ||
		strcmp(q->outcome, KW_AUDIT_FAIL) == 0) &&
	       q->since >= 0 && q->since < TIME_END && q->until >= 0 &&
	       q->until < TIME_END &&
	       (q->service == NULL || kw_audit_service_valid(q->service)) &&
	       (q->kind == NULL || kw_audit_kind_valid(q->kind));
}

static void put_seq_range(struct filter *f, unsigned long long after,
			  unsigned long long until)
{
	if (until != 0 && until - after <= SEQ_SET_MAX) {
		put(f, "(|");
		for (unsigned long long s = after + 1; s <= until; s++)
			put(f, "(" AT_SEQ "=%llu)", s);
		put(f, ")");
		return;
	}
	if (after != 0)
		put(f, "(" AT_SEQ ">=%llu)", after + 1);
	if (until != 0)
		put(f, "(" AT_SEQ "<=%llu)", until);
}

/* The filter of Q, whose range of seqs is not empty. */
static void query_filter(const struct kw_audit_query *q, struct filter *f)
{
	char t[KW_GENTIME_LEN + 1];

	put(f, "(&(objectClass=" OC_EVENT ")");
	if (q->user != NULL)
		put_equal(f,
			  q->user[0] == 'h' && q->user[1] == ':' ? AT_USER_HASH
								 : AT_USER,
			  q->user);
	if (q->outcome != NULL)
		put_equal(f, AT_OUTCOME, q->outcome);
	if (q->service != NULL)
		put_equal(f, AT_SERVICE, q->service);
	if (q->kind != NULL)
		put_equal(f, AT_KIND, q->kind);
	if (q->since != 0) {
		kw_generalized_time(q->since, t);
		put(f, "(" AT_TIME ">=%s)", t);
	}
	if (q->until != 0) {
		kw_generalized_time(q->until, t);
		put(f, "(!(" AT_TIME ">=%s))", t);
	}
	put_seq_range(f, q->after_seq, q->until_seq);
	put(f, ")");
}

int kw_audit_search(struct kw_dir *dir, const struct kw_audit_query *q,
		    struct kw_audit_record **out, size_t *n_out,
		    size_t *skipped_out)
{
	struct collect c = {.tenant = NULL};
	struct filter f = {.len = 0};
	int rc;

	*out = NULL;
	*n_out = 0;
	if (skipped_out != NULL)
		*skipped_out = 0;
	if (!query_valid(q))
		return kw_dir_set_error(dir, EINVAL, "invalid audit query");
	/* nothing can lie in an empty range of seqs */
	if ((q->until_seq != 0 && q->until_seq <= q->after_seq) ||
	    q->after_seq == ULLONG_MAX)
		return 0;
	query_filter(q, &f);
	if (f.overflow)
		return kw_dir_set_error(dir, EINVAL, "audit query too long");
	c.tenant = q->tenant;
	rc = collect_all(dir, f.text, &c);
	if (rc)
		return rc;
	if (q->limit != 0 && c.n > q->limit) {
		if (q->newest)
			memmove(c.v, c.v + (c.n - q->limit),
				q->limit * sizeof(*c.v));
		c.n = q->limit;
	}
	if (c.n == 0) {
		free(c.v);
		c.v = NULL;
	}
	*out = c.v;
	*n_out = c.n;
	if (skipped_out != NULL)
		*skipped_out = c.skipped;
	return 0;
}

int kw_audit_read_log(struct kw_dir *dir, const char *tenant,
		      struct kw_audit_record **out, size_t *n_out,
		      size_t *foreign_out)
{
	struct collect c = {.tenant = tenant, .keep_malformed = true};
	int rc;

	*out = NULL;
	*n_out = 0;
	if (foreign_out != NULL)
		*foreign_out = 0;
	if (tenant == NULL || !kw_name_valid_tenant(tenant))
		return kw_dir_set_error(dir, EINVAL, "invalid tenant");
	/* every entry, so that one that is no record is seen too */
	rc = collect_all(dir, "(objectClass=*)", &c);
	if (rc)
		return rc;
	if (c.n == 0) {
		free(c.v);
		c.v = NULL;
	}
	*out = c.v;
	*n_out = c.n;
	if (foreign_out != NULL)
		*foreign_out = c.foreign;
	return 0;
}

/* ---- anchors --------------------------------------------------------- */

/* "seq mac seal", exactly as store_anchor() writes it. */
static bool parse_anchor(const struct berval *v, struct kw_audit_anchor *a)
{
	const char *s = v->bv_val, *sp;
	size_t len = v->bv_len, seq_len;

	memset(a, 0, sizeof(*a));
	sp = memchr(s, ' ', len);
	if (sp == NULL)
		return false;
	seq_len = (size_t)(sp - s);
	if (!parse_seq(s, seq_len, &a->seq) ||
	    len != seq_len + 2 + 2 * KW_AUDIT_MAC_HEX_LEN ||
	    s[seq_len + 1 + KW_AUDIT_MAC_HEX_LEN] != ' ' ||
	    !is_lower_hex(s + seq_len + 1, KW_AUDIT_MAC_HEX_LEN) ||
	    !is_lower_hex(s + seq_len + 2 + KW_AUDIT_MAC_HEX_LEN,
			  KW_AUDIT_MAC_HEX_LEN))
		return false;
	memcpy(a->mac, s + seq_len + 1, KW_AUDIT_MAC_HEX_LEN);
	memcpy(a->seal, s + seq_len + 2 + KW_AUDIT_MAC_HEX_LEN,
	       KW_AUDIT_MAC_HEX_LEN);
	return true;
}

int kw_audit_anchor_get(struct kw_dir *dir, const char *tenant,
			struct kw_audit_anchor *out, bool *found_out)
{
	static char *attrs[] = {(char *)AT_ANCHOR, NULL};
	char dn[KW_DN_MAX];
	struct kw_audit_anchor a;
	struct berval **v = NULL;
	LDAPMessage *res = NULL, *e;
	int rc;

	memset(out, 0, sizeof(*out));
	*found_out = false;
	rc = log_dn(dir, tenant, dn, sizeof(dn));
	if (rc)
		return rc;
	rc = kw_dir_read(dir, dn, attrs, &res, &e);
	if (rc == ENOENT)
		return 0; /* no log, so never purged */
	if (rc)
		return rc;
	v = ldap_get_values_len(dir->ld, e, AT_ANCHOR);
	for (size_t i = 0; v != NULL && v[i] != NULL; i++) {
		if (!parse_anchor(v[i], &a)) {
			rc = kw_dir_set_error(dir, EBADMSG,
					      "a purge anchor of '%s' is "
					      "malformed",
					      tenant);
			goto done;
		}
		if (*found_out && a.seq == out->seq) {
			rc = kw_dir_set_error(dir, EBADMSG,
					      "two purge anchors of '%s' claim "
					      "seq %llu",
					      tenant, a.seq);
			goto done;
		}
		if (!*found_out || a.seq > out->seq) {
			*out = a;
			*found_out = true;
		}
	}
done:
	if (rc) {
		memset(out, 0, sizeof(*out));
		*found_out = false;
	}
	ldap_value_free_len(v);
	ldap_msgfree(res);
	return rc;
}

/* Add anchor A to TENANT's log: idempotent, as two purges may race. */
static int store_anchor(struct kw_dir *dir, const char *tenant,
			const struct kw_audit_anchor *a)
{
	static char *attrs[] = {(char *)"objectClass", NULL};
	char dn[KW_DN_MAX], text[ANCHOR_TEXT_MAX + 1];
	LDAPMessage *res = NULL, *e;
	struct kw_mods m;
	bool is_log;
	int rc;

	rc = log_dn(dir, tenant, dn, sizeof(dn));
	if (rc)
		return rc;
	rc = kw_dir_read(dir, dn, attrs, &res, &e);
	if (rc)
		return rc;
	is_log = kw_entry_has_class(dir->ld, e, OC_LOG);
	ldap_msgfree(res);
	if (!is_log) {
		kw_mods_init(&m);
		kw_mods_add(&m, LDAP_MOD_ADD, "objectClass", OC_LOG);
		rc = kw_dir_modify(dir, dn, &m, "audit log class");
		if (rc && rc != EEXIST)
			return rc;
	}
	snprintf(text, sizeof(text), "%llu %s %s", a->seq, a->mac, a->seal);
	kw_mods_init(&m);
	kw_mods_add(&m, LDAP_MOD_ADD, AT_ANCHOR, text);
	rc = kw_dir_modify(dir, dn, &m, "audit anchor");
	return rc == EEXIST ? 0 : rc;
}

/* ---- the head -------------------------------------------------------- */

/*
 * Read the link of record SEQ: 0 with its MAC in MAC_OUT, ENOENT if there
 * is no record SEQ, EBADMSG if its MAC is malformed.
 */
static int read_link(struct kw_dir *dir, const char *tenant,
		     unsigned long long seq,
		     char mac_out[KW_AUDIT_MAC_HEX_LEN + 1])
{
	static char *attrs[] = {(char *)AT_MAC, NULL};
	char dn[KW_DN_MAX];
	LDAPMessage *res = NULL, *e;
	int rc;

	rc = record_dn(dir, tenant, seq, dn, sizeof(dn));
	if (rc)
		return rc;
	rc = kw_dir_read(dir, dn, attrs, &res, &e);
	if (rc)
		return rc;
	if (!one_value(dir->ld, e, AT_MAC, mac_out, KW_AUDIT_MAC_HEX_LEN + 1) ||
	    !kw_audit_mac_valid(mac_out))
		rc = kw_dir_set_error(dir, EBADMSG,
				      "audit record %llu of '%s' has a "
				      "malformed " AT_MAC,
				      seq, tenant);
	ldap_msgfree(res);
	return rc;
}

static void set_head(struct kw_audit_head *head, unsigned long long seq,
		     const char *mac)
{
	head->known = true;
	head->seq = seq;
	snprintf(head->mac, sizeof(head->mac), "%s", mac);
}

/*
 * From the present record (or anchor) HEAD, gallop forward (+1, +2, +4,
 * ...) to a missing seq, then bisect: HEAD ends at the last record before
 * the first missing seq that the probes met.  A log has no holes unless
 * someone removed records, and then kw_audit_chain_check() says where.
 */
static int probe_forward(struct kw_dir *dir, const char *tenant,
			 struct kw_audit_head *head)
{
	char mac[KW_AUDIT_MAC_HEX_LEN + 1];
	unsigned long long lo = head->seq, hi, step = 1, mid;
	int rc;

	for (;;) {
		if (lo > ULLONG_MAX - step)
			return kw_dir_set_error(dir, EBADMSG,
						"audit log of '%s' has no end",
						tenant);
		hi = lo + step;
		rc = read_link(dir, tenant, hi, mac);
		if (rc == ENOENT)
			break;
		if (rc)
			return rc;
		lo = hi;
		set_head(head, lo, mac);
		step *= 2;
	}
	while (hi - lo > 1) {
		mid = lo + (hi - lo) / 2;
		rc = read_link(dir, tenant, mid, mac);
		if (rc == ENOENT) {
			hi = mid;
			continue;
		}
		if (rc)
			return rc;
		lo = mid;
		set_head(head, lo, mac);
	}
	head->known = true;
	return 0;
}

int kw_audit_head_from_anchor(struct kw_dir *dir, const char *tenant,
			      const struct kw_audit_anchor *anchor,
			      struct kw_audit_head *out)
{
	struct kw_audit_head head = {.known = false};
	int rc;

	memset(out, 0, sizeof(*out));
	if (tenant == NULL || !kw_name_valid_tenant(tenant))
		return kw_dir_set_error(dir, EINVAL, "invalid tenant");
	if (anchor != NULL)
		set_head(&head, anchor->seq, anchor->mac);
	rc = probe_forward(dir, tenant, &head);
	if (rc == 0)
		*out = head;
	return rc;
}

int kw_audit_head_find(struct kw_dir *dir, const char *tenant,
		       struct kw_audit_head *out)
{
	struct kw_audit_anchor anchor;
	bool found = false;
	int rc;

	memset(out, 0, sizeof(*out));
	if (tenant == NULL || !kw_name_valid_tenant(tenant))
		return kw_dir_set_error(dir, EINVAL, "invalid tenant");
	rc = kw_audit_anchor_get(dir, tenant, &anchor, &found);
	if (rc)
		return rc;
	return kw_audit_head_from_anchor(dir, tenant, found ? &anchor : NULL,
					 out);
}

int kw_audit_head_refresh(struct kw_dir *dir, const char *tenant,
			  struct kw_audit_head *head)
{
	struct kw_audit_head next;
	int rc;

	if (!head->known)
		return kw_audit_head_find(dir, tenant, head);
	if (tenant == NULL || !kw_name_valid_tenant(tenant))
		return kw_dir_set_error(dir, EINVAL, "invalid tenant");
	next = *head;
	rc = probe_forward(dir, tenant, &next);
	if (rc == 0)
		*head = next;
	return rc;
}

/* ---- delivery -------------------------------------------------------- */

static void unchain(struct kw_audit_record *r)
{
	r->seq = 0;
	memset(r->prev_mac, 0, sizeof(r->prev_mac));
	memset(r->mac, 0, sizeof(r->mac));
}

static void add_if_set(struct kw_mods *m, const char *attr, const char *value)
{
	if (value[0] != '\0')
		kw_mods_add(m, LDAP_MOD_ADD, attr, value);
}

/* Add the chained record R at kwEventSeq=<seq>; EEXIST: seq taken. */
static int add_record(struct kw_dir *dir, const struct kw_audit_record *r)
{
	char dn[KW_DN_MAX], time_s[EVENT_TIME_LEN + 2], seq_s[ULL_DIGITS + 1];
	struct kw_mods m;
	int rc;

	rc = record_dn(dir, r->tenant, r->seq, dn, sizeof(dn));
	if (rc)
		return rc;
	if (format_event_time(r->time_us, time_s, sizeof(time_s)) != 0)
		return kw_dir_set_error(dir, EINVAL,
					"audit record time out of range");
	snprintf(seq_s, sizeof(seq_s), "%llu", r->seq);
	kw_mods_init(&m);
	kw_mods_add(&m, LDAP_MOD_ADD, "objectClass", OC_EVENT);
	kw_mods_add(&m, LDAP_MOD_ADD, AT_SEQ, seq_s);
	kw_mods_add(&m, LDAP_MOD_ADD, AT_ID, r->id);
	kw_mods_add(&m, LDAP_MOD_ADD, AT_TIME, time_s);
	kw_mods_add(&m, LDAP_MOD_ADD, AT_OUTCOME, r->outcome);
	add_if_set(&m, AT_REASON, r->reason);
	add_if_set(&m, AT_SERVICE, r->service);
	add_if_set(&m, AT_RHOST, r->rhost);
	add_if_set(&m, AT_TTY, r->tty);
	add_if_set(&m, AT_REQUEST_ID, r->request_id);
	add_if_set(&m, AT_USER, r->user);
	add_if_set(&m, AT_USER_HASH, r->user_hash);
	add_if_set(&m, AT_HOST, r->host);
	add_if_set(&m, AT_KIND, r->kind);
	add_if_set(&m, AT_PREV, r->prev_mac);
	kw_mods_add(&m, LDAP_MOD_ADD, AT_MAC, r->mac);
	return kw_dir_add_entry(dir, dn, &m, "audit record add");
}

/*
 * Is a record with R's id in its log already?  If so, *FOUND_OUT is set,
 * R becomes that record (unless it is malformed) and HEAD moves to it if
 * it is ahead.
 */
static int find_by_id(struct kw_dir *dir, struct kw_audit_record *r,
		      struct kw_audit_head *head, bool *found_out)
{
	struct collect c = {.tenant = r->tenant};
	struct filter f = {.len = 0};
	int rc;

	*found_out = false;
	put(&f, "(&(objectClass=" OC_EVENT ")");
	put_equal(&f, AT_ID, r->id);
	put(&f, ")");
	if (f.overflow)
		return kw_dir_set_error(dir, EINVAL, "invalid audit id");
	rc = collect_all(dir, f.text, &c);
	if (rc)
		return rc;
	*found_out = c.n > 0 || c.skipped > 0;
	if (c.n > 0) {
		*r = c.v[0];
		if (r->seq > head->seq)
			set_head(head, r->seq, r->mac);
	}
	free(c.v);
	return 0;
}

/*
 * The add of R at r->seq found the seq taken: move HEAD to the record
 * there.  *OURS_OUT: that record is R itself, which R then becomes.
 * *FRESH_OUT: HEAD is what the log holds now, no probe needed.
 */
static int chain_moved(struct kw_dir *dir, struct kw_audit_record *r,
		       struct kw_audit_head *head, bool *ours_out,
		       bool *fresh_out)
{
	static char *attrs[] = {(char *)AT_ID, (char *)AT_MAC, NULL};
	char dn[KW_DN_MAX], id[KW_AUDIT_ID_MAX + 1];
	char mac[KW_AUDIT_MAC_HEX_LEN + 1];
	struct kw_audit_record there;
	unsigned long long seq;
	LDAPMessage *res = NULL, *e;
	int rc;

	*ours_out = false;
	*fresh_out = false;
	rc = record_dn(dir, r->tenant, r->seq, dn, sizeof(dn));
	if (rc == 0)
		rc = kw_dir_read(dir, dn, attrs, &res, &e);
	/* gone again (a purge): the head is further on, probe for it */
	if (rc == ENOENT)
		return 0;
	if (rc)
		return rc;
	/* only the MAC must be sound to chain on: tampering elsewhere in the
	   record is for verify to report, not a reason to stop recording */
	if (!one_value(dir->ld, e, AT_MAC, mac, sizeof(mac)) ||
	    !kw_audit_mac_valid(mac)) {
		ldap_msgfree(res);
		return kw_dir_set_error(dir, EBADMSG,
					"audit record %llu of '%s' has a "
					"malformed " AT_MAC,
					r->seq, r->tenant);
	}
	*ours_out = one_value(dir->ld, e, AT_ID, id, sizeof(id)) &&
		    strcmp(id, r->id) == 0;
	ldap_msgfree(res);
	set_head(head, r->seq, mac);
	*fresh_out = true;
	if (!*ours_out)
		return 0;
	rc = kw_dir_read(dir, dn, record_attrs, &res, &e);
	if (rc == 0 && record_from_entry(dir, e, r->tenant, &there, &seq) == 0)
		*r = there;
	ldap_msgfree(res);
	return 0;
}

/*
 * Wait a random while, up to JITTER_US, before a record's first add.  A
 * writer learns that it won a race a little before the losers learn that
 * they lost, so a steady writer that went on at once would win the next
 * race too, and the next, and starve the others; waiting before a new
 * record, and not before a retry, lets the losers go first.
 */
static void jitter(void)
{
	struct timespec now, pause = {0, 0};
	unsigned long long x;

	clock_gettime(CLOCK_MONOTONIC, &now);
	/* the clock's low bits differ between writers: enough for a draw */
	x = (unsigned long long)now.tv_nsec * 0x9e3779b97f4a7c15ULL;
	pause.tv_nsec = (long)((x >> 33) % JITTER_US) * 1000;
	nanosleep(&pause, NULL);
}

int kw_audit_deliver(struct kw_dir *dir, const unsigned char key[KW_KEY_BYTES],
		     struct kw_audit_head *head, struct kw_audit_record *r,
		     bool check_id)
{
	bool container_made = false, done_already = false, fresh = false;
	int attempt, rc = 0;

	if (key == NULL || head == NULL || r == NULL)
		return kw_dir_set_error(dir, EINVAL, "invalid arguments");
	unchain(r);
	if (kw_audit_record_check(r) != 0 || r->tenant[0] == '\0')
		return kw_dir_set_error(dir, EINVAL, "invalid audit record");
	if (!head->known) {
		rc = kw_audit_head_find(dir, r->tenant, head);
		fresh = true;
	}
	if (rc == 0 && check_id)
		rc = find_by_id(dir, r, head, &done_already);
	if (rc || done_already)
		goto done;
	for (attempt = 0; attempt < KW_AUDIT_DELIVER_ATTEMPTS; attempt++) {
		/*
		 * Every writer looks (one read) before it adds.  A writer
		 * that added without looking would always be a round trip
		 * ahead of one that lost a race to it, and could starve it.
		 */
		if (attempt == 0)
			jitter();
		if (!fresh) {
			rc = kw_audit_head_refresh(dir, r->tenant, head);
			if (rc)
				goto done;
		}
		fresh = false;
		rc = kw_audit_chain_next(key, r, head->seq, head->mac);
		if (rc) {
			kw_dir_set_error(dir, rc, "cannot chain onto seq %llu",
					 head->seq);
			goto done;
		}
		rc = add_record(dir, r);
		if (rc == 0) {
			set_head(head, r->seq, r->mac);
			goto done;
		}
		if (rc == ENOENT && !container_made) {
			/* the tenant's first record */
			container_made = true;
			fresh = true;
			rc = kw_dir_ensure_container(dir, r->tenant, "audit");
			if (rc)
				goto done;
			continue;
		}
		if (rc != EEXIST)
			goto done;
		rc = chain_moved(dir, r, head, &done_already, &fresh);
		if (rc || done_already)
			goto done;
	}
	rc = kw_dir_set_error(dir, EBUSY,
			      "the audit log of '%s' kept growing under %d "
			      "attempts",
			      r->tenant, KW_AUDIT_DELIVER_ATTEMPTS);
done:
	if (rc)
		unchain(r);
	return rc;
}

/* ---- purging --------------------------------------------------------- */

/* Delete record SEQ; one that is gone already does not count. */
static int delete_record(struct kw_dir *dir, const char *tenant,
			 unsigned long long seq, size_t *purged)
{
	char dn[KW_DN_MAX];
	int rc = record_dn(dir, tenant, seq, dn, sizeof(dn));

	if (rc == 0)
		rc = kw_dir_delete(dir, dn, "audit record delete");
	if (rc == 0)
		(*purged)++;
	return rc == ENOENT ? 0 : rc;
}

/* Verify the N records V (leftovers and the run) against ANCHOR. */
static int check_run(struct kw_dir *dir, const char *tenant,
		     const unsigned char key[KW_KEY_BYTES],
		     const struct kw_audit_anchor *anchor,
		     const struct kw_audit_record *v, size_t n)
{
	struct kw_audit_verify report;
	int rc = kw_audit_chain_check(key, anchor, v, n, &report);

	if (rc == EBADMSG)
		return kw_dir_set_error(dir, EBADMSG,
					"the audit log of '%s' does not verify "
					"where it would be purged: %s at seq "
					"%llu",
					tenant,
					kw_audit_fault_name(report.fault),
					report.bad_seq);
	if (rc)
		return kw_dir_set_error(dir, rc, "audit chain check: %s",
					strerror(rc));
	return 0;
}

int kw_audit_purge(struct kw_dir *dir, const char *tenant,
		   const unsigned char key[KW_KEY_BYTES], time_t before,
		   size_t *purged_out)
{
	char mac[KW_AUDIT_MAC_HEX_LEN + 1], t[KW_GENTIME_LEN + 1];
	struct collect c = {.tenant = tenant, .keep_malformed = true};
	struct kw_audit_anchor prev, next;
	struct filter f = {.len = 0};
	unsigned long long expect;
	size_t i, start, end, purged = 0;
	bool have_prev;
	int rc;

	if (purged_out != NULL)
		*purged_out = 0;
	if (tenant == NULL || !kw_name_valid_tenant(tenant) || key == NULL ||
	    before <= 0 || before >= TIME_END)
		return kw_dir_set_error(dir, EINVAL, "invalid purge");
	rc = kw_audit_anchor_get(dir, tenant, &prev, &have_prev);
	if (rc)
		return rc;
	/* malformed records come too (as seqs), to stop the purge there */
	kw_generalized_time(before, t);
	put(&f, "(&(objectClass=" OC_EVENT ")(!(" AT_TIME ">=%s)))", t);
	rc = collect_all(dir, f.text, &c);
	if (rc)
		return rc;

	/* 1. leftovers at or below the anchor, then the run after it */
	expect = have_prev ? prev.seq + 1 : 1;
	start = 0;
	while (start < c.n && c.v[start].seq < expect)
		start++;
	end = start;
	while (end < c.n && c.v[end].seq == expect) {
		end++;
		expect++;
	}
	/* 2. older records after the run: is the one that ends it there? */
	if (end < c.n) {
		rc = read_link(dir, tenant, expect, mac);
		if (rc == ENOENT)
			rc = kw_dir_set_error(dir, EBADMSG,
					      "audit record %llu of '%s' was "
					      "removed: not purging past it",
					      expect, tenant);
		if (rc)
			goto done;
	}
	/* 3. nothing goes unless the run verifies and the anchor is sealed */
	if (have_prev || end > start) {
		rc = check_run(dir, tenant, key, have_prev ? &prev : NULL, c.v,
			       end);
		if (rc)
			goto done;
	}
	/* 4. the new anchor first, so that the log verifies at every step */
	if (end > start) {
		rc = kw_audit_anchor_make(key, &c.v[end - 1], &next);
		if (rc) {
			kw_dir_set_error(dir, rc, "cannot make the anchor");
			goto done;
		}
		rc = store_anchor(dir, tenant, &next);
		if (rc)
			goto done;
	}
	/* 5. oldest first: a purge cut short leaves leftovers, not holes */
	for (i = 0; i < end && rc == 0; i++)
		rc = delete_record(dir, tenant, c.v[i].seq, &purged);
done:
	if (purged_out != NULL)
		*purged_out = purged;
	free(c.v);
	return rc;
}
