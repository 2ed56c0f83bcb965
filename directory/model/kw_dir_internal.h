/*
 * kw_dir_internal.h - what the parts of the directory model share, and
 * nothing outside it sees: the connection, DN builders, error mapping and
 * small helpers around libldap.
 */
#ifndef KW_DIR_INTERNAL_H
#define KW_DIR_INTERNAL_H

#include <ldap.h>

#include "kw_dir.h"

#define KW_DN_MAX 512

/* Attribute and class names of the keyward schema (etc/ldap/). */
#define KW_AT_SUSPENDED "kwSuspended"
#define KW_AT_DEACTIVATED "kwDeactivated"
#define KW_AT_TENANT_INDEX "kwTenantIndex"
#define KW_AT_NEXT_TENANT_INDEX "kwNextTenantIndex"
#define KW_AT_UID_BASE "kwUidBase"
#define KW_AT_UID_COUNT "kwUidCount"
#define KW_AT_UID_NEXT "kwUidNext"
#define KW_AT_MFA_POLICY "kwMfaPolicy"
#define KW_AT_TOTP_STATE "kwTotpState"
#define KW_AT_TENANT_DISPLAY "description"
#define KW_OC_TENANT "kwTenant"
#define KW_OC_USER "kwUser"
/* ppolicy's "locked by an administrator until unlocked" */
#define KW_LOCKED_FOREVER "000001010000Z"

/*
 * A role must have a member (groupOfNames), so an empty role holds the
 * zero-length DN, which names no entry and is never shown as a member.
 */
#define KW_ROLE_PLACEHOLDER ""

struct kw_dir {
	LDAP *ld;
	enum kw_dir_identity as;
	char uri[256];
	char base_dn[KW_DN_MAX];
	char tenants_dn[KW_DN_MAX];
	char sep;
	long uid_min;
	long uid_range;
	long uid_max;
	int op_timeout_ms;
	char error[KW_DIR_ERROR_MAX];
};

/*
 * Turn an LDAP result code into the errno contract of kw_dir.h and
 * remember "WHAT: <ldap error>[: <server diagnostic>]" for kw_dir_error().
 */
int kw_dir_fail(struct kw_dir *dir, int rc, const char *what);
/* Remember a message of our own and return ERR. */
int kw_dir_set_error(struct kw_dir *dir, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* DNs, built with RFC 4514 escaping of names already validated. */
int kw_dn_tenant(const struct kw_dir *dir, const char *tenant, char *out,
		 size_t outsz);
int kw_dn_people(const struct kw_dir *dir, const char *tenant, char *out,
		 size_t outsz);
int kw_dn_roles(const struct kw_dir *dir, const char *tenant, char *out,
		size_t outsz);
int kw_dn_user(const struct kw_dir *dir, const struct kw_name *name, char *out,
	       size_t outsz);
int kw_dn_role(const struct kw_dir *dir, const char *tenant, const char *role,
	       char *out, size_t outsz);
/* The counter entry of KEY (a kw_address_key(), not empty) in TENANT. */
int kw_dn_counter(const struct kw_dir *dir, const char *tenant, const char *key,
		  char *out, size_t outsz);
/* The user name of a DN below DIR's tenants, or EINVAL. */
int kw_dn_to_name(const struct kw_dir *dir, const char *dn,
		  struct kw_name *out);

/* Search with the connection's timeout; *RES must be ldap_msgfree'd. */
/*
 * Wait, within the operation timeout, for the whole answer to the
 * operation MSGID sent without waiting, and check its result code.
 * Returns 0 with *RES to free with ldap_msgfree(), or an errno value
 * (*RES NULL); a timed-out operation is abandoned.
 */
int kw_dir_wait(struct kw_dir *dir, int msgid, LDAPMessage **res,
		const char *what);
/* As kw_dir_wait, and the result's controls (ldap_controls_free). */
int kw_dir_wait_ctrls(struct kw_dir *dir, int msgid, LDAPMessage **res,
		      LDAPControl ***ctrls_out, const char *what);
/* Add ou=NAME below TENANT's entry, unless it is there already. */
int kw_dir_ensure_container(struct kw_dir *dir, const char *tenant,
			    const char *name);
/* Lockout state of an entry (kw_lockout.c). */
#define KW_GENTIME_LEN 15
void kw_generalized_time(time_t t, char out[KW_GENTIME_LEN + 1]);
void kw_lock_fill(struct kw_dir *dir, LDAPMessage *e, struct kw_lock *l);
int kw_dir_search(struct kw_dir *dir, const char *base, int scope,
		  const char *filter, char **attrs, LDAPMessage **res);
/* Read one entry by DN: ENOENT if there is none. */
int kw_dir_read(struct kw_dir *dir, const char *dn, char **attrs,
		LDAPMessage **res, LDAPMessage **entry);

/* Attribute values of ENTRY; return false when absent. */
/* Does ENTRY have the object class CLS (compared ignoring case)? */
bool kw_entry_has_class(LDAP *ld, LDAPMessage *entry, const char *cls);
bool kw_attr_str(LDAP *ld, LDAPMessage *entry, const char *attr, char *out,
		 size_t outsz);
bool kw_attr_long(LDAP *ld, LDAPMessage *entry, const char *attr, long *out);
bool kw_attr_bool(LDAP *ld, LDAPMessage *entry, const char *attr, bool *out);
/* GeneralizedTime "YYYYMMDDHHMMSSZ" into time_t (UTC). */
bool kw_attr_time(LDAP *ld, LDAPMessage *entry, const char *attr, time_t *out);

/*
 * A small builder of LDAPMod arrays for single operations.  Values are
 * not copied: they must outlive the operation.
 */
#define KW_MODS_MAX 24
#define KW_MOD_VALUES_MAX 8
struct kw_mods {
	LDAPMod *list[KW_MODS_MAX + 1];
	LDAPMod mod[KW_MODS_MAX];
	char *values[KW_MODS_MAX][KW_MOD_VALUES_MAX + 1];
	size_t n;
	bool overflow;
};

void kw_mods_init(struct kw_mods *m);
/* Add VALUE (may be NULL for a delete of all values) to the OP on ATTR. */
void kw_mods_add(struct kw_mods *m, int op, const char *attr,
		 const char *value);
/* directory.op_timeout_ms as a struct timeval, for libldap's calls. */
struct timeval kw_dir_op_timeout(const struct kw_dir *dir);
/*
 * The values of the OP on ATTR are VALUES, a NULL-terminated list of any
 * length, which the caller keeps until the operation is sent (the
 * builder holds at most KW_MOD_VALUES_MAX values of its own).
 */
void kw_mods_add_list(struct kw_mods *m, int op, const char *attr,
		      char **values);
/* Remove every value of ATTR, if it has any (a replace with none). */
void kw_mods_remove(struct kw_mods *m, const char *attr);
/* Returns ENOMEM-like EINVAL when the builder overflowed. */
int kw_mods_check(struct kw_dir *dir, const struct kw_mods *m);

int kw_dir_add_entry(struct kw_dir *dir, const char *dn, struct kw_mods *m,
		     const char *what);
int kw_dir_modify(struct kw_dir *dir, const char *dn, struct kw_mods *m,
		  const char *what);
int kw_dir_delete(struct kw_dir *dir, const char *dn, const char *what);
/*
 * Modify DN with M under the assertion FILTER (RFC 4528), the
 * compare-and-swap of the directory; with POST_ATTR, return the new value
 * of that INTEGER attribute (non-negative) in *VALUE_OUT, read with a
 * post-read control (RFC 4527).  ECANCELED: the assertion did not hold,
 * and nothing changed.  WHAT names the operation in errors.
 */
int kw_dir_modify_asserted(struct kw_dir *dir, const char *dn,
			   struct kw_mods *m, const char *filter,
			   const char *post_attr, long *value_out,
			   const char *what);

/*
 * Add 1 to the INTEGER attribute ATTR of DN, as a compare-and-swap (delete
 * the value read, add the next), retrying on a concurrent change.  *OLD
 * receives the value before the increment.
 */
int kw_dir_take_next(struct kw_dir *dir, const char *dn, const char *attr,
		     long limit, long *old);

/* Entries into structs, and the attributes they need (NULL-terminated). */
extern char *kw_tenant_attrs[];
extern char *kw_user_attrs[];
void kw_tenant_fill(struct kw_dir *dir, LDAPMessage *e, struct kw_tenant *t);
void kw_user_fill(struct kw_dir *dir, LDAPMessage *e, const char *tenant,
		  struct kw_user *u);
/* Are A and B the same DN (after normalisation)? */
bool kw_dn_equal(const char *a, const char *b);

/* Roles, for tenant creation and user deletion (kw_role.c). */
int kw_role_add_entry(struct kw_dir *dir, const char *tenant, const char *role,
		      const char *description);
/* Remove MEMBER_DN from the role at ROLE_DN, keeping the role valid. */
int kw_role_drop_member(struct kw_dir *dir, const char *role_dn,
			const char *member_dn);

/*
 * The second factor on an entry (kw_mfa_dir.c): does the tenant entry E
 * require one, does the user entry E hold a token (active or pending)?
 */
bool kw_mfa_entry_required(LDAP *ld, LDAPMessage *e);
bool kw_mfa_entry_has_token(LDAP *ld, LDAPMessage *e);

#endif
