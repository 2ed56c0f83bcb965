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
#include <stdio.h>
#include <string.h>
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
		rc = kw_dir_modify_asserted(dir, dn, &m, in_window,
					    failure_attr[b], count_out,
					    "counter update");
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
		rc = kw_dir_modify_asserted(dir, dn, &m, new_window, NULL, NULL,
					    "counter update");
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
	if (kw_dn_counter(dir, tenant, key, out, outsz) != 0)
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

int kw_lock_reset_user(struct kw_dir *dir, const struct kw_name *name,
		       bool everything)
{
	char dn[KW_DN_MAX];
	struct kw_mods m;

	if (kw_dn_user(dir, name, dn, sizeof(dn)) != 0)
		return kw_dir_set_error(dir, EINVAL, "invalid user");
	kw_mods_init(&m);
	kw_mods_remove(&m, failure_attr[KW_BUDGET_PASSWORD]);
	kw_mods_remove(&m, window_attr[KW_BUDGET_PASSWORD]);
	if (everything) {
		kw_mods_remove(&m, failure_attr[KW_BUDGET_CODE]);
		kw_mods_remove(&m, window_attr[KW_BUDGET_CODE]);
		kw_mods_remove(&m, "kwLockedUntil");
		kw_mods_remove(&m, "kwLockReason");
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
