/*
 * kw_lockout.c - failure counters and locks, shared by every host.
 *
 * A counter is an INTEGER attribute with the start of its window beside
 * it: on a user's entry for the user's budget, on an entry
 * cn=<address>,ou=counters,o=<tenant> for a source address.  Every change
 * is one atomic operation of the directory, never read-then-write:
 *
 *   1. within the window: Modify-Increment (RFC 4525) under an assertion
 *      (RFC 4528) that the window is still the current one, with a
 *      post-read control (RFC 4527) returning the new count;
 *   2. the window is over (the assertion fails) or never started: replace
 *      count and window start, under the assertion that no other host
 *      started a new window meanwhile; if one did, go back to 1;
 *   3. an address with no entry yet: add it with a count of one; if
 *      another host added it first (68), go back to 1.
 *
 * So concurrent failures on any number of hosts are each counted once.
 */
#include "config.h"

#include <errno.h>
#include <lber.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "kw_dir_internal.h"

#define COUNTER_ATTEMPTS 8

static const char *const failure_attr[] = {
	[KW_BUDGET_PASSWORD] = "kwPasswordFailures",
	[KW_BUDGET_CODE] = "kwCodeFailures",
};
static const char *const window_attr[] = {
	[KW_BUDGET_PASSWORD] = "kwWindowStart",
	[KW_BUDGET_CODE] = "kwCodeWindowStart",
};

void kw_generalized_time(time_t t, char out[KW_GENTIME_LEN + 1])
{
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(out, KW_GENTIME_LEN + 1, "%Y%m%d%H%M%SZ", &tm) == 0)
		snprintf(out, KW_GENTIME_LEN + 1, "19700101000000Z");
}

void kw_lock_fill(struct kw_dir *dir, LDAPMessage *e, struct kw_lock *l)
{
	int b;

	memset(l, 0, sizeof(*l));
	l->found = true;
	for (b = 0; b < KW_BUDGETS; b++) {
		kw_attr_long(dir->ld, e, failure_attr[b], &l->failures[b]);
		kw_attr_time(dir->ld, e, window_attr[b], &l->window_start[b]);
	}
	kw_attr_time(dir->ld, e, "kwLockedUntil", &l->locked_until);
	kw_attr_str(dir->ld, e, "kwLockReason", l->reason, sizeof(l->reason));
}

bool kw_lock_active(const struct kw_lock *l, time_t now)
{
	return l != NULL && l->found && l->locked_until > now;
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

/*
 * Modify DN with M under the assertion FILTER; with POST_ATTR, return the
 * new value of that attribute in *VALUE_OUT.  ECANCELED: the assertion
 * did not hold, and nothing changed.
 */
static int modify_asserted(struct kw_dir *dir, const char *dn,
			   struct kw_mods *m, const char *filter,
			   const char *post_attr, long *value_out)
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
		rc = kw_dir_fail(dir, rc, "counter update");
		goto done;
	}
	rc = kw_dir_wait_ctrls(dir, msgid, &res, &resp, "counter update");
	if (rc == 0 && post_attr != NULL) {
		*value_out = post_read_value(resp, post_attr);
		if (*value_out < 0)
			rc = kw_dir_set_error(dir, EPROTO,
					      "no count in the post-read "
					      "control");
	}
done:
	ldap_controls_free(resp);
	ldap_msgfree(res);
	ldap_control_free(ctrls[0]);
	ldap_control_free(ctrls[1]);
	return rc;
}

static int add_counter_entry(struct kw_dir *dir, const char *tenant,
			     const char *dn, const char *key, enum kw_budget b,
			     const char *now)
{
	struct kw_mods m;
	int rc;

	kw_mods_init(&m);
	kw_mods_add(&m, LDAP_MOD_ADD, "objectClass", "kwFailureCounter");
	kw_mods_add(&m, LDAP_MOD_ADD, "cn", key);
	kw_mods_add(&m, LDAP_MOD_ADD, failure_attr[b], "1");
	kw_mods_add(&m, LDAP_MOD_ADD, window_attr[b], now);
	rc = kw_dir_add_entry(dir, dn, &m, "counter add");
	if (rc == ENOENT) {
		/* the tenant's first counter: make ou=counters first */
		rc = kw_dir_ensure_container(dir, tenant, "counters");
		if (rc == 0)
			rc = kw_dir_add_entry(dir, dn, &m, "counter add");
	}
	return rc;
}

/*
 * Count one failure of budget B on the entry DN (an address entry, to be
 * added if missing, when KEY is not NULL).
 */
static int count_failure(struct kw_dir *dir, const char *tenant, const char *dn,
			 const char *key, enum kw_budget b, time_t now,
			 int window_s, long *count_out)
{
	char now_s[KW_GENTIME_LEN + 1], from_s[KW_GENTIME_LEN + 1];
	char in_window[128], new_window[192];
	int attempt, rc = 0;

	kw_generalized_time(now, now_s);
	kw_generalized_time(now - window_s, from_s);
	snprintf(in_window, sizeof(in_window), "(%s>=%s)", window_attr[b],
		 from_s);
	snprintf(new_window, sizeof(new_window), "(|(!%s)(!(%s=*)))", in_window,
		 failure_attr[b]);
	for (attempt = 0; attempt < COUNTER_ATTEMPTS; attempt++) {
		struct kw_mods m;

		/* 1. the window is current: count on */
		kw_mods_init(&m);
		kw_mods_add(&m, LDAP_MOD_INCREMENT, failure_attr[b], "1");
		rc = modify_asserted(dir, dn, &m, in_window, failure_attr[b],
				     count_out);
		if (rc == 0)
			return 0;
		if (rc == ENOENT && key != NULL) {
			/* 3. no entry for this address yet */
			rc = add_counter_entry(dir, tenant, dn, key, b, now_s);
			if (rc == 0) {
				*count_out = 1;
				return 0;
			}
			if (rc == EEXIST)
				continue;
			return rc;
		}
		if (rc != ECANCELED && rc != ENODATA)
			return rc;
		/* 2. start a new window, unless another host just did */
		kw_mods_init(&m);
		kw_mods_add(&m, LDAP_MOD_REPLACE, failure_attr[b], "1");
		kw_mods_add(&m, LDAP_MOD_REPLACE, window_attr[b], now_s);
		rc = modify_asserted(dir, dn, &m, new_window, NULL, NULL);
		if (rc == 0) {
			*count_out = 1;
			return 0;
		}
		if (rc != ECANCELED)
			return rc;
	}
	return kw_dir_set_error(dir, EBUSY,
				"the counter kept changing under %d attempts",
				COUNTER_ATTEMPTS);
}

static int address_dn(struct kw_dir *dir, const char *tenant, const char *key,
		      char *out, size_t outsz)
{
	char esc[3 * KW_ADDRESS_KEY_MAX + 1], t[KW_DN_MAX];

	if (key == NULL || key[0] == '\0' || strlen(key) > KW_ADDRESS_KEY_MAX ||
	    kw_escape_dn_value(key, strlen(key), esc, sizeof(esc)) < 0 ||
	    kw_dn_tenant(dir, tenant, t, sizeof(t)) != 0 ||
	    snprintf(out, outsz, "cn=%s,ou=counters,%s", esc, t) >= (int)outsz)
		return kw_dir_set_error(dir, EINVAL,
					"invalid tenant or address");
	return 0;
}

int kw_lock_count_user(struct kw_dir *dir, const struct kw_name *name,
		       enum kw_budget b, time_t now, int window_s,
		       long *count_out)
{
	char dn[KW_DN_MAX];

	if ((b != KW_BUDGET_PASSWORD && b != KW_BUDGET_CODE) || window_s < 1 ||
	    kw_dn_user(dir, name, dn, sizeof(dn)) != 0)
		return kw_dir_set_error(dir, EINVAL, "invalid counter");
	return count_failure(dir, name->tenant, dn, NULL, b, now, window_s,
			     count_out);
}

int kw_lock_count_address(struct kw_dir *dir, const char *tenant,
			  const char *key, enum kw_budget b, time_t now,
			  int window_s, long *count_out)
{
	char dn[KW_DN_MAX];
	int rc;

	if ((b != KW_BUDGET_PASSWORD && b != KW_BUDGET_CODE) || window_s < 1)
		return kw_dir_set_error(dir, EINVAL, "invalid counter");
	rc = address_dn(dir, tenant, key, dn, sizeof(dn));
	if (rc)
		return rc;
	return count_failure(dir, tenant, dn, key, b, now, window_s, count_out);
}

static int set_lock(struct kw_dir *dir, const char *dn, time_t until,
		    const char *reason)
{
	char until_s[KW_GENTIME_LEN + 1];
	struct kw_mods m;

	kw_generalized_time(until, until_s);
	kw_mods_init(&m);
	kw_mods_add(&m, LDAP_MOD_REPLACE, "kwLockedUntil", until_s);
	kw_mods_add(&m, LDAP_MOD_REPLACE, "kwLockReason", reason);
	return kw_dir_modify(dir, dn, &m, "lock");
}

int kw_lock_set_user(struct kw_dir *dir, const struct kw_name *name,
		     time_t until, const char *reason)
{
	char dn[KW_DN_MAX];

	if (kw_dn_user(dir, name, dn, sizeof(dn)) != 0 || reason == NULL ||
	    reason[0] == '\0' || strlen(reason) > KW_LOCK_REASON_MAX)
		return kw_dir_set_error(dir, EINVAL, "invalid lock");
	return set_lock(dir, dn, until, reason);
}

int kw_lock_set_address(struct kw_dir *dir, const char *tenant, const char *key,
			time_t until, const char *reason)
{
	char dn[KW_DN_MAX];
	int rc = address_dn(dir, tenant, key, dn, sizeof(dn));

	if (rc)
		return rc;
	if (reason == NULL || reason[0] == '\0' ||
	    strlen(reason) > KW_LOCK_REASON_MAX)
		return kw_dir_set_error(dir, EINVAL, "invalid lock");
	return set_lock(dir, dn, until, reason);
}

/* Replace with no value removes an attribute, and is no error if absent. */
static void mods_remove(struct kw_mods *m, const char *attr)
{
	kw_mods_add(m, LDAP_MOD_REPLACE, attr, NULL);
}

int kw_lock_reset_user(struct kw_dir *dir, const struct kw_name *name,
		       bool everything)
{
	char dn[KW_DN_MAX];
	struct kw_mods m;

	if (kw_dn_user(dir, name, dn, sizeof(dn)) != 0)
		return kw_dir_set_error(dir, EINVAL, "invalid user");
	kw_mods_init(&m);
	mods_remove(&m, failure_attr[KW_BUDGET_PASSWORD]);
	mods_remove(&m, window_attr[KW_BUDGET_PASSWORD]);
	if (everything) {
		mods_remove(&m, failure_attr[KW_BUDGET_CODE]);
		mods_remove(&m, window_attr[KW_BUDGET_CODE]);
		mods_remove(&m, "kwLockedUntil");
		mods_remove(&m, "kwLockReason");
	}
	return kw_dir_modify(dir, dn, &m, "counter reset");
}

int kw_lock_reset_address(struct kw_dir *dir, const char *tenant,
			  const char *key)
{
	char dn[KW_DN_MAX];
	int rc = address_dn(dir, tenant, key, dn, sizeof(dn));

	if (rc)
		return rc;
	return kw_dir_delete(dir, dn, "address unlock");
}
