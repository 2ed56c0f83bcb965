/*
 * kw_login.c - the facts of a login in one round trip.
 *
 * One subtree search of the tenant returns the tenant entry, the user's
 * entry and the roles that name the user as a member:
 *
 *   (|(objectClass=kwTenant)
 *     (&(objectClass=posixAccount)(uid=<user>))
 *     (&(objectClass=groupOfNames)(member=<user's DN>)))
 *
 * A tenant administrator can write entries of those classes anywhere in
 * the tenant, so each result counts only where the model puts such
 * entries: the tenant at o=<tenant>, the user at uid=<user>,ou=people,
 * roles directly below ou=roles.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "kw_dir_internal.h"

/* Room for objectClass and the attributes of a tenant and of a user. */
#define LOGIN_ATTRS_MAX 32

/*
 * What kw_tenant_fill and kw_user_fill read, and objectClass, which tells
 * the entries apart, into ATTRS (NULL-terminated).
 */
static void login_attrs(char *attrs[LOGIN_ATTRS_MAX])
{
	char **lists[] = {kw_tenant_attrs, kw_user_attrs};
	size_t n = 0;

	attrs[n++] = (char *)"objectClass";
	attrs[n++] = (char *)KW_AT_MFA_POLICY;
	attrs[n++] = (char *)KW_AT_TOTP_STATE;
	for (size_t l = 0; l < sizeof(lists) / sizeof(lists[0]); l++)
		for (size_t i = 0; lists[l][i] != NULL; i++)
			if (n < LOGIN_ATTRS_MAX - 1)
				attrs[n++] = lists[l][i];
	attrs[n] = NULL;
}

static int add_role(char ***roles, size_t *n, const char *role)
{
	char **r = realloc(*roles, (*n + 2) * sizeof(*r));

	if (r == NULL)
		return ENOMEM;
	*roles = r;
	r[*n] = strdup(role);
	if (r[*n] == NULL)
		return ENOMEM;
	r[++*n] = NULL;
	return 0;
}

/* The filter and base of NAME's lookup; EINVAL for a name too long. */
static int login_query(struct kw_dir *dir, const struct kw_name *name,
		       const char *address, char *tdn, char *udn, char *filter,
		       size_t filtersz)
{
	char esc_user[3 * KW_USER_MAX + 1], esc_dn[3 * KW_DN_MAX];
	char esc_addr[3 * KW_ADDRESS_KEY_MAX + 1],
		by_addr[4 * KW_ADDRESS_KEY_MAX];

	if (!kw_name_valid_user(name->user) ||
	    !kw_name_valid_tenant(name->tenant))
		return kw_dir_set_error(dir, EINVAL, "invalid name");
	kw_dn_tenant(dir, name->tenant, tdn, KW_DN_MAX);
	kw_dn_user(dir, name, udn, KW_DN_MAX);
	if (kw_escape_filter(name->user, strlen(name->user), esc_user,
			     sizeof(esc_user)) < 0 ||
	    kw_escape_filter(udn, strlen(udn), esc_dn, sizeof(esc_dn)) < 0)
		return kw_dir_set_error(dir, EINVAL, "name too long");
	by_addr[0] = '\0';
	if (address != NULL) {
		if (strlen(address) > KW_ADDRESS_KEY_MAX ||
		    kw_escape_filter(address, strlen(address), esc_addr,
				     sizeof(esc_addr)) < 0)
			return kw_dir_set_error(dir, EINVAL, "invalid address");
		snprintf(by_addr, sizeof(by_addr),
			 "(&(objectClass=kwFailureCounter)(cn=%s))", esc_addr);
	}
	snprintf(filter, filtersz,
		 "(|(objectClass=" KW_OC_TENANT ")"
		 "(&(objectClass=posixAccount)(uid=%s))"
		 "(&(objectClass=groupOfNames)(member=%s))%s)",
		 esc_user, esc_dn, by_addr);
	return 0;
}

/* Is DN the counter entry of ADDRESS in TENANT? */
static bool is_address_entry(const struct kw_dir *dir, const char *dn,
			     const char *tenant, const char *address)
{
	char want[KW_DN_MAX];

	return address != NULL &&
	       kw_dn_counter(dir, tenant, address, want, sizeof(want)) == 0 &&
	       kw_dn_equal(dn, want);
}

int kw_login_lookup_send(struct kw_dir *dir, const struct kw_name *name,
			 const char *address, int *msgid_out)
{
	char tdn[KW_DN_MAX], udn[KW_DN_MAX], filter[5 * KW_DN_MAX];
	char *attrs[LOGIN_ATTRS_MAX];
	int rc;

	*msgid_out = -1;
	rc = login_query(dir, name, address, tdn, udn, filter, sizeof(filter));
	if (rc)
		return rc;
	login_attrs(attrs);
	rc = ldap_search_ext(dir->ld, tdn, LDAP_SCOPE_SUBTREE, filter, attrs, 0,
			     NULL, NULL, NULL, LDAP_NO_LIMIT, msgid_out);
	if (rc != LDAP_SUCCESS)
		*msgid_out = -1;
	return kw_dir_fail(dir, rc, "search");
}

int kw_login_lookup_recv(struct kw_dir *dir, int msgid,
			 const struct kw_name *name, const char *address,
			 struct kw_login_facts *out)
{
	char tdn[KW_DN_MAX], udn[KW_DN_MAX];
	LDAPMessage *res, *e;
	size_t n_roles = 0;
	char **roles = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	if (kw_dn_tenant(dir, name->tenant, tdn, sizeof(tdn)) != 0 ||
	    kw_dn_user(dir, name, udn, sizeof(udn)) != 0)
		return kw_dir_set_error(dir, EINVAL, "invalid name");
	rc = kw_dir_wait(dir, msgid, &res, "search");
	if (rc == ENOENT)
		return 0; /* no such tenant */
	if (rc)
		return rc;
	for (e = ldap_first_entry(dir->ld, res); e != NULL && rc == 0;
	     e = ldap_next_entry(dir->ld, e)) {
		char *dn = ldap_get_dn(dir->ld, e);

		if (dn == NULL)
			continue;
		if (kw_entry_has_class(dir->ld, e, KW_OC_TENANT) &&
		    kw_dn_equal(dn, tdn)) {
			kw_tenant_fill(dir, e, &out->tenant);
			out->tenant_found = true;
			out->mfa_required = kw_mfa_entry_required(dir->ld, e);
		} else if (kw_entry_has_class(dir->ld, e, "posixAccount") &&
			   kw_dn_equal(dn, udn)) {
			kw_user_fill(dir, e, name->tenant, &out->user);
			out->user_found = true;
			out->totp_token = kw_mfa_entry_has_token(dir->ld, e);
		} else if (kw_entry_has_class(dir->ld, e, "kwFailureCounter") &&
			   is_address_entry(dir, dn, name->tenant, address)) {
			kw_lock_fill(dir, e, &out->address);
		} else if (kw_entry_has_class(dir->ld, e, "groupOfNames")) {
			char cn[KW_ROLE_MAX + 1], rdn[KW_DN_MAX];

			if (kw_attr_str(dir->ld, e, "cn", cn, sizeof(cn)) &&
			    kw_dn_role(dir, name->tenant, cn, rdn,
				       sizeof(rdn)) == 0 &&
			    kw_dn_equal(dn, rdn))
				rc = add_role(&roles, &n_roles, cn);
		}
		ldap_memfree(dn);
	}
	ldap_msgfree(res);
	if (rc) {
		kw_user_clear(&out->user);
		kw_roles_free(roles);
		return rc;
	}
	if (out->user_found) {
		out->user.roles = roles;
		roles = NULL;
	}
	/* a uid outside the tenant's range is never used */
	if (out->user_found &&
	    (!out->tenant_found ||
	     out->user.uid_number < out->tenant.uid_base ||
	     out->user.uid_number >=
		     out->tenant.uid_base + out->tenant.uid_count)) {
		kw_dir_set_error(dir, 0,
				 "uidNumber %ld outside the tenant's range",
				 out->user.uid_number);
		kw_user_clear(&out->user);
		out->user_found = false;
	}
	kw_roles_free(roles);
	return 0;
}
