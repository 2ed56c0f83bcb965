/*
 * kw_mfa_dir.c - see kw_mfa_dir.h.
 *
 * The state changes of a token, and the one operation each is:
 *
 *   enrol      replace secret and state (pending), remove step and codes
 *   activate   under (kwTotpState=pending): state, first step, codes
 *   spend      under "active, and no step at or after this one":
 *              replace the step (a compare-and-swap on an ordered value)
 *   recovery   delete that one value of kwRecoveryCode
 *   new codes  under (kwTotpState=active): replace the codes
 *   reset      remove every attribute of the token
 *
 * A replace with no values removes an attribute and is no error when it
 * is absent; slapd asks for the right to delete the attribute (=z), which
 * the access rules grant a tenant's administrators on the token, so one
 * modify resets for root and administrators alike.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "kw_dir_internal.h"
#include "kw_mfa_dir.h"
#include "kw_secret.h"

#define AT_SECRET "kwTotpSecret"
#define AT_STATE KW_AT_TOTP_STATE
#define AT_LAST_STEP "kwTotpLastStep"
#define AT_RECOVERY "kwRecoveryCode"
#define AT_GRACE "kwMfaGraceUntil"
#define AT_SELF_ENROL "kwMfaSelfEnrol"
#define AT_ISSUER "kwMfaIssuer"
#define STATE_PENDING "pending"
#define STATE_ACTIVE "active"
#define SEAL_PREFIX "kw1:"
#define RECOVERY_PREFIX "kr1$"
/* "9999-12-31T23:59:59Z", the last time a GeneralizedTime of 4 digits has */
#define GENTIME_LAST 253402300799LL

/* What a token, a policy, or a code check reads (NULL-terminated). */
#define LOCK_ATTRS                                                             \
	(char *)"kwPasswordFailures", (char *)"kwCodeFailures",                \
		(char *)"kwWindowStart", (char *)"kwCodeWindowStart",          \
		(char *)"kwLockedUntil", (char *)"kwLockReason"
#define USER_ATTRS                                                             \
	(char *)AT_SECRET, (char *)AT_STATE, (char *)AT_LAST_STEP,             \
		(char *)AT_RECOVERY, LOCK_ATTRS
#define POLICY_ATTRS                                                           \
	(char *)"o", (char *)KW_AT_TENANT_DISPLAY, (char *)KW_AT_MFA_POLICY,   \
		(char *)AT_GRACE, (char *)AT_SELF_ENROL, (char *)AT_ISSUER,    \
		(char *)"kwCodeUserLimit"

static char *user_attrs[] = {USER_ATTRS, NULL};
static char *policy_attrs[] = {POLICY_ATTRS, NULL};
static char *lookup_attrs[] = {(char *)"objectClass", USER_ATTRS, POLICY_ATTRS,
			       NULL};

/* ---- checks ------------------------------------------------------------ */

static int user_dn(struct kw_dir *dir, const struct kw_name *name, char *dn)
{
	if (name == NULL || kw_dn_user(dir, name, dn, KW_DN_MAX) != 0)
		return kw_dir_set_error(dir, EINVAL, "invalid user name");
	return 0;
}

static int no_user(struct kw_dir *dir, const struct kw_name *name)
{
	return kw_dir_set_error(dir, ENOENT, "no such user '%s%c%s'",
				name->user, dir->sep, name->tenant);
}

/* Is S printable ASCII, non-empty, at most MAX bytes, starting PREFIX? */
static bool stored_text_valid(const char *s, const char *prefix, size_t max)
{
	size_t i, len;

	if (s == NULL || strncmp(s, prefix, strlen(prefix)) != 0)
		return false;
	len = strlen(s);
	if (len > max)
		return false;
	for (i = 0; i < len; i++)
		if (s[i] <= ' ' || s[i] > '~')
			return false;
	return true;
}

static bool hashes_valid(char *const *hashes, size_t n)
{
	size_t i;

	if (hashes == NULL || n == 0 || n > KW_RECOVERY_CODES_MAX)
		return false;
	for (i = 0; i < n; i++)
		if (!stored_text_valid(hashes[i], RECOVERY_PREFIX,
				       KW_RECOVERY_HASH_MAX))
			return false;
	return true;
}

/* ---- reading ----------------------------------------------------------- */

/* Has E a value of ATTR, whatever it is? */
static bool attr_present(LDAP *ld, LDAPMessage *e, const char *attr)
{
	struct berval **v = ldap_get_values_len(ld, e, attr);
	bool present = v != NULL && v[0] != NULL;

	ldap_value_free_len(v);
	return present;
}

/* The stored hashes of E, well-formed ones only (the others never match). */
static int fill_recovery(struct kw_dir *dir, LDAPMessage *e,
			 struct kw_mfa_user *u)
{
	struct berval **v = ldap_get_values_len(dir->ld, e, AT_RECOVERY);
	size_t i, count = 0;
	int rc = 0;

	for (i = 0; v != NULL && v[i] != NULL; i++)
		count++;
	if (count == 0)
		goto done;
	if (count > KW_RECOVERY_CODES_MAX)
		count = KW_RECOVERY_CODES_MAX;
	u->recovery = calloc(count + 1, sizeof(*u->recovery));
	if (u->recovery == NULL) {
		rc = kw_dir_set_error(dir, ENOMEM, "out of memory");
		goto done;
	}
	for (i = 0; v[i] != NULL && u->n_recovery < count; i++) {
		char *h;

		if (v[i]->bv_len > KW_RECOVERY_HASH_MAX ||
		    memchr(v[i]->bv_val, '\0', v[i]->bv_len) != NULL)
			continue;
		h = strndup(v[i]->bv_val, v[i]->bv_len);
		if (h == NULL) {
			rc = kw_dir_set_error(dir, ENOMEM, "out of memory");
			goto done;
		}
		if (!stored_text_valid(h, RECOVERY_PREFIX,
				       KW_RECOVERY_HASH_MAX)) {
			free(h);
			continue;
		}
		u->recovery[u->n_recovery++] = h;
	}
done:
	ldap_value_free_len(v);
	return rc;
}

static int fill_user(struct kw_dir *dir, LDAPMessage *e, struct kw_mfa_user *u)
{
	char state[16];
	long step;
	int rc;

	kw_mfa_user_clear(u);
	u->last_step = -1;
	if (kw_attr_str(dir->ld, e, AT_STATE, state, sizeof(state))) {
		if (strcasecmp(state, STATE_ACTIVE) == 0)
			u->state = KW_TOTP_ACTIVE;
		else if (strcasecmp(state, STATE_PENDING) == 0)
			u->state = KW_TOTP_PENDING;
	}
	if (!kw_attr_str(dir->ld, e, AT_SECRET, u->sealed, sizeof(u->sealed)) ||
	    !stored_text_valid(u->sealed, SEAL_PREFIX, KW_SEAL_TEXT_MAX))
		kw_wipe(u->sealed, sizeof(u->sealed));
	if (kw_attr_long(dir->ld, e, AT_LAST_STEP, &step) && step >= 0)
		u->last_step = step;
	kw_lock_fill(dir, e, &u->lock);
	rc = fill_recovery(dir, e, u);
	if (rc)
		kw_mfa_user_clear(u);
	return rc;
}

bool kw_mfa_entry_required(LDAP *ld, LDAPMessage *e)
{
	char policy[32];

	/* any value but "optional", even one that does not read, requires */
	if (kw_attr_str(ld, e, KW_AT_MFA_POLICY, policy, sizeof(policy)))
		return strcasecmp(policy, "optional") != 0;
	return attr_present(ld, e, KW_AT_MFA_POLICY);
}

bool kw_mfa_entry_has_token(LDAP *ld, LDAPMessage *e)
{
	char state[16];

	/* a state that does not read is a token too: the code step decides */
	if (kw_attr_str(ld, e, AT_STATE, state, sizeof(state)))
		return state[0] != '\0';
	return attr_present(ld, e, AT_STATE);
}

static void fill_policy(struct kw_dir *dir, LDAPMessage *e, const char *tenant,
			struct kw_mfa_policy *p)
{
	memset(p, 0, sizeof(*p));
	p->required = kw_mfa_entry_required(dir->ld, e);
	kw_attr_time(dir->ld, e, AT_GRACE, &p->grace_until);
	kw_attr_bool(dir->ld, e, AT_SELF_ENROL, &p->self_enrol);
	kw_attr_str(dir->ld, e, AT_ISSUER, p->issuer, sizeof(p->issuer));
	kw_attr_long(dir->ld, e, "kwCodeUserLimit", &p->code_user_limit);
	if (!kw_attr_str(dir->ld, e, KW_AT_TENANT_DISPLAY, p->display_name,
			 sizeof(p->display_name)))
		snprintf(p->display_name, sizeof(p->display_name), "%s",
			 tenant);
}

const char *kw_mfa_issuer(const struct kw_mfa_policy *p,
			  const char *host_issuer)
{
	if (host_issuer != NULL && host_issuer[0] != '\0')
		return host_issuer;
	if (p->issuer[0] != '\0')
		return p->issuer;
	return p->display_name;
}

void kw_mfa_user_clear(struct kw_mfa_user *u)
{
	size_t i;

	if (u == NULL)
		return;
	for (i = 0; u->recovery != NULL && u->recovery[i] != NULL; i++)
		free(u->recovery[i]);
	free(u->recovery);
	kw_wipe(u, sizeof(*u));
	u->last_step = -1;
}

void kw_mfa_facts_clear(struct kw_mfa_facts *f)
{
	if (f == NULL)
		return;
	kw_mfa_user_clear(&f->user);
	memset(f, 0, sizeof(*f));
	f->user.last_step = -1;
}

int kw_mfa_get(struct kw_dir *dir, const struct kw_name *name,
	       struct kw_mfa_user *out)
{
	char dn[KW_DN_MAX];
	LDAPMessage *res = NULL, *e;
	int rc;

	memset(out, 0, sizeof(*out));
	out->last_step = -1;
	rc = user_dn(dir, name, dn);
	if (rc)
		return rc;
	rc = kw_dir_read(dir, dn, user_attrs, &res, &e);
	if (rc == ENOENT)
		return no_user(dir, name);
	if (rc)
		return rc;
	rc = fill_user(dir, e, out);
	ldap_msgfree(res);
	return rc;
}

int kw_mfa_policy_get(struct kw_dir *dir, const char *tenant,
		      struct kw_mfa_policy *out)
{
	char dn[KW_DN_MAX];
	LDAPMessage *res = NULL, *e;
	int rc;

	memset(out, 0, sizeof(*out));
	if (tenant == NULL || kw_dn_tenant(dir, tenant, dn, sizeof(dn)) != 0)
		return kw_dir_set_error(dir, EINVAL, "invalid tenant name");
	rc = kw_dir_read(dir, dn, policy_attrs, &res, &e);
	if (rc == ENOENT)
		return kw_dir_set_error(dir, ENOENT, "no such tenant '%s'",
					tenant);
	if (rc)
		return rc;
	fill_policy(dir, e, tenant, out);
	ldap_msgfree(res);
	return 0;
}

/* ---- the lookup of a code check ----------------------------------------- */

/*
 * The filter of one search that finds the tenant entry, the user's entry
 * and, with KEY, the address's counter entry:
 *
 *   (|(objectClass=kwTenant)
 *     (&(objectClass=posixAccount)(uid=<user>))
 *     (&(objectClass=kwFailureCounter)(cn=<key>)))
 */
static int lookup_filter(const struct kw_name *name, const char *key, char *out,
			 size_t outsz)
{
	char esc_user[3 * KW_USER_MAX + 1], esc_key[3 * KW_ADDRESS_KEY_MAX + 1];
	char by_key[4 * KW_ADDRESS_KEY_MAX + 64] = "";
	int n;

	if (kw_escape_filter(name->user, strlen(name->user), esc_user,
			     sizeof(esc_user)) < 0)
		return EINVAL;
	if (key != NULL) {
		if (kw_escape_filter(key, strlen(key), esc_key,
				     sizeof(esc_key)) < 0)
			return EINVAL;
		snprintf(by_key, sizeof(by_key),
			 "(&(objectClass=kwFailureCounter)(cn=%s))", esc_key);
	}
	n = snprintf(out, outsz,
		     "(|(objectClass=" KW_OC_TENANT ")"
		     "(&(objectClass=posixAccount)(uid=%s))%s)",
		     esc_user, by_key);
	return n < 0 || (size_t)n >= outsz ? EINVAL : 0;
}

int kw_mfa_lookup(struct kw_dir *dir, const struct kw_name *name,
		  const char *address_key, struct kw_mfa_facts *out)
{
	char tdn[KW_DN_MAX], udn[KW_DN_MAX], adn[KW_DN_MAX], filter[512];
	LDAPMessage *res = NULL, *e;
	int rc;

	memset(out, 0, sizeof(*out));
	out->user.last_step = -1;
	if (name == NULL || kw_dn_tenant(dir, name->tenant, tdn, sizeof(tdn)) ||
	    kw_dn_user(dir, name, udn, sizeof(udn)) ||
	    lookup_filter(name, address_key, filter, sizeof(filter)))
		return kw_dir_set_error(dir, EINVAL, "invalid name");
	if (address_key != NULL && kw_dn_counter(dir, name->tenant, address_key,
						 adn, sizeof(adn)) != 0)
		return kw_dir_set_error(dir, EINVAL, "invalid address");
	rc = kw_dir_search(dir, tdn, LDAP_SCOPE_SUBTREE, filter, lookup_attrs,
			   &res);
	if (rc == ENOENT)
		return 0; /* no such tenant */
	if (rc)
		return rc;
	/*
	 * A tenant administrator can write entries of these classes anywhere
	 * in the tenant: each counts only at the one DN the model gives it.
	 */
	for (e = ldap_first_entry(dir->ld, res); e != NULL && rc == 0;
	     e = ldap_next_entry(dir->ld, e)) {
		char *dn = ldap_get_dn(dir->ld, e);

		if (dn == NULL)
			continue;
		if (!out->tenant_found && kw_dn_equal(dn, tdn) &&
		    kw_entry_has_class(dir->ld, e, KW_OC_TENANT)) {
			fill_policy(dir, e, name->tenant, &out->policy);
			out->tenant_found = true;
		} else if (!out->user_found && kw_dn_equal(dn, udn) &&
			   kw_entry_has_class(dir->ld, e, "posixAccount")) {
			rc = fill_user(dir, e, &out->user);
			out->user_found = rc == 0;
		} else if (address_key != NULL && !out->address.found &&
			   kw_dn_equal(dn, adn) &&
			   kw_entry_has_class(dir->ld, e, "kwFailureCounter")) {
			kw_lock_fill(dir, e, &out->address);
		}
		ldap_memfree(dn);
	}
	ldap_msgfree(res);
	if (rc)
		kw_mfa_facts_clear(out);
	return rc;
}

/* ---- writing ----------------------------------------------------------- */

/* HASHES[0..N-1] as a new NULL-terminated array (the strings not copied). */
static char **value_list(struct kw_dir *dir, char *const *hashes, size_t n)
{
	char **list = calloc(n + 1, sizeof(*list));
	size_t i;

	if (list == NULL) {
		kw_dir_set_error(dir, ENOMEM, "out of memory");
		return NULL;
	}
	for (i = 0; i < n; i++)
		list[i] = hashes[i];
	return list;
}

/* The words of ENOENT are the model's: which user is missing. */
static int user_modify(struct kw_dir *dir, const struct kw_name *name,
		       const char *dn, struct kw_mods *m, const char *filter,
		       const char *what)
{
	int rc;

	if (filter != NULL)
		rc = kw_dir_modify_asserted(dir, dn, m, filter, NULL, NULL,
					    what);
	else
		rc = kw_dir_modify(dir, dn, m, what);
	if (rc == ENOENT)
		return no_user(dir, name);
	if (rc == ECANCELED)
		kw_dir_set_error(dir, ECANCELED,
				 "%s: the token of '%s%c%s' changed meanwhile",
				 what, name->user, dir->sep, name->tenant);
	return rc;
}

int kw_mfa_store_pending(struct kw_dir *dir, const struct kw_name *name,
			 const char *sealed)
{
	char dn[KW_DN_MAX];
	struct kw_mods m;
	int rc;

	rc = user_dn(dir, name, dn);
	if (rc)
		return rc;
	if (!stored_text_valid(sealed, SEAL_PREFIX, KW_SEAL_TEXT_MAX))
		return kw_dir_set_error(dir, EINVAL, "not a sealed secret");
	kw_mods_init(&m);
	kw_mods_add(&m, LDAP_MOD_REPLACE, AT_SECRET, sealed);
	kw_mods_add(&m, LDAP_MOD_REPLACE, AT_STATE, STATE_PENDING);
	kw_mods_remove(&m, AT_LAST_STEP);
	kw_mods_remove(&m, AT_RECOVERY);
	return user_modify(dir, name, dn, &m, NULL, "enrol");
}

int kw_mfa_activate(struct kw_dir *dir, const struct kw_name *name,
		    long long step, char *const *hashes, size_t n)
{
	char dn[KW_DN_MAX], step_s[32];
	struct kw_mods m;
	char **list = NULL;
	int rc;

	rc = user_dn(dir, name, dn);
	if (rc)
		goto done;
	if (step < 0 || !hashes_valid(hashes, n)) {
		rc = kw_dir_set_error(dir, EINVAL, "invalid step or codes");
		goto done;
	}
	list = value_list(dir, hashes, n);
	if (list == NULL) {
		rc = ENOMEM;
		goto done;
	}
	snprintf(step_s, sizeof(step_s), "%lld", step);
	kw_mods_init(&m);
	kw_mods_add(&m, LDAP_MOD_REPLACE, AT_STATE, STATE_ACTIVE);
	kw_mods_add(&m, LDAP_MOD_REPLACE, AT_LAST_STEP, step_s);
	kw_mods_add_list(&m, LDAP_MOD_REPLACE, AT_RECOVERY, list);
	rc = user_modify(dir, name, dn, &m, "(" AT_STATE "=" STATE_PENDING ")",
			 "activate");
done:
	free(list);
	return rc;
}

int kw_mfa_advance_step(struct kw_dir *dir, const struct kw_name *name,
			long long step)
{
	char dn[KW_DN_MAX], step_s[32], filter[160];
	struct kw_mods m;
	int rc;

	rc = user_dn(dir, name, dn);
	if (rc)
		return rc;
	if (step < 0)
		return kw_dir_set_error(dir, EINVAL, "invalid step");
	snprintf(step_s, sizeof(step_s), "%lld", step);
	/* absent, or lower: "not at least STEP", as LDAP has no '<' */
	snprintf(filter, sizeof(filter),
		 "(&(" AT_STATE "=" STATE_ACTIVE ")(|(!(" AT_LAST_STEP "=*))"
		 "(!(" AT_LAST_STEP ">=%s))))",
		 step_s);
	kw_mods_init(&m);
	kw_mods_add(&m, LDAP_MOD_REPLACE, AT_LAST_STEP, step_s);
	return user_modify(dir, name, dn, &m, filter, "spend code");
}

int kw_mfa_use_recovery(struct kw_dir *dir, const struct kw_name *name,
			const char *stored_hash)
{
	char dn[KW_DN_MAX];
	struct kw_mods m;
	int rc;

	rc = user_dn(dir, name, dn);
	if (rc)
		return rc;
	if (!stored_text_valid(stored_hash, RECOVERY_PREFIX,
			       KW_RECOVERY_HASH_MAX))
		return kw_dir_set_error(dir, EINVAL, "not a recovery hash");
	kw_mods_init(&m);
	kw_mods_add(&m, LDAP_MOD_DELETE, AT_RECOVERY, stored_hash);
	rc = user_modify(dir, name, dn, &m, NULL, "spend recovery code");
	if (rc == ENODATA)
		kw_dir_set_error(dir, ENODATA, "the recovery code was spent");
	return rc;
}

int kw_mfa_set_recovery(struct kw_dir *dir, const struct kw_name *name,
			char *const *hashes, size_t n)
{
	char dn[KW_DN_MAX];
	struct kw_mods m;
	char **list = NULL;
	int rc;

	rc = user_dn(dir, name, dn);
	if (rc)
		goto done;
	if (!hashes_valid(hashes, n)) {
		rc = kw_dir_set_error(dir, EINVAL, "invalid recovery codes");
		goto done;
	}
	list = value_list(dir, hashes, n);
	if (list == NULL) {
		rc = ENOMEM;
		goto done;
	}
	kw_mods_init(&m);
	kw_mods_add_list(&m, LDAP_MOD_REPLACE, AT_RECOVERY, list);
	rc = user_modify(dir, name, dn, &m, "(" AT_STATE "=" STATE_ACTIVE ")",
			 "new recovery codes");
done:
	free(list);
	return rc;
}

int kw_mfa_reset(struct kw_dir *dir, const struct kw_name *name)
{
	char dn[KW_DN_MAX];
	struct kw_mods m;
	int rc;

	rc = user_dn(dir, name, dn);
	if (rc)
		return rc;
	kw_mods_init(&m);
	kw_mods_remove(&m, AT_SECRET);
	kw_mods_remove(&m, AT_STATE);
	kw_mods_remove(&m, AT_LAST_STEP);
	kw_mods_remove(&m, AT_RECOVERY);
	kw_mods_remove(&m, "kwCodeFailures");
	kw_mods_remove(&m, "kwCodeWindowStart");
	return user_modify(dir, name, dn, &m, NULL, "reset");
}

/* ---- the tenant's policy ------------------------------------------------ */

static bool issuer_valid(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	if (s == NULL || strlen(s) > KW_DISPLAY_MAX)
		return false;
	for (; *p != '\0'; p++)
		if (*p < 0x20 || *p == 0x7f)
			return false;
	return true;
}

int kw_mfa_policy_set(struct kw_dir *dir, const char *tenant,
		      const struct kw_mfa_policy_change *c)
{
	char dn[KW_DN_MAX], grace[KW_GENTIME_LEN + 1];
	struct kw_mods m;
	int rc;

	if (tenant == NULL || kw_dn_tenant(dir, tenant, dn, sizeof(dn)) != 0)
		return kw_dir_set_error(dir, EINVAL, "invalid tenant name");
	if (c == NULL || (!c->set_required && !c->set_grace &&
			  !c->set_self_enrol && !c->set_issuer))
		return kw_dir_set_error(dir, EINVAL, "nothing to change");
	if (c->set_grace &&
	    (c->grace_until < 0 || (long long)c->grace_until > GENTIME_LAST))
		return kw_dir_set_error(dir, EINVAL, "invalid grace time");
	if (c->set_issuer && !issuer_valid(c->issuer))
		return kw_dir_set_error(dir, EINVAL,
					"the issuer must be at most %d bytes "
					"without control characters",
					KW_DISPLAY_MAX);
	kw_mods_init(&m);
	if (c->set_required)
		kw_mods_add(&m, LDAP_MOD_REPLACE, KW_AT_MFA_POLICY,
			    c->required ? "required" : "optional");
	if (c->set_grace && c->grace_until != 0) {
		kw_generalized_time(c->grace_until, grace);
		kw_mods_add(&m, LDAP_MOD_REPLACE, AT_GRACE, grace);
	} else if (c->set_grace) {
		kw_mods_remove(&m, AT_GRACE);
	}
	if (c->set_self_enrol)
		kw_mods_add(&m, LDAP_MOD_REPLACE, AT_SELF_ENROL,
			    c->self_enrol ? "TRUE" : "FALSE");
	if (c->set_issuer && c->issuer[0] != '\0')
		kw_mods_add(&m, LDAP_MOD_REPLACE, AT_ISSUER, c->issuer);
	else if (c->set_issuer)
		kw_mods_remove(&m, AT_ISSUER);
	rc = kw_dir_modify(dir, dn, &m, "MFA policy");
	if (rc == ENOENT)
		return kw_dir_set_error(dir, ENOENT, "no such tenant '%s'",
					tenant);
	return rc;
}
