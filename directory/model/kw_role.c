/*
 * kw_role.c - roles: groupOfNames entries below ou=roles of a tenant,
 * whose members are users of the same tenant.
 *
 * groupOfNames must have a member, so a role without users holds the
 * zero-length DN (KW_ROLE_PLACEHOLDER), which names no entry; it is added
 * when the last user leaves and removed when the first one comes.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kw_dir_internal.h"

static int check_role(struct kw_dir *dir, const char *tenant, const char *role)
{
	if (!kw_name_valid_tenant(tenant))
		return kw_dir_set_error(
			dir, EINVAL, "'%s' is not a valid tenant name", tenant);
	if (!kw_name_valid_role(role))
		return kw_dir_set_error(dir, EINVAL,
					"'%s' is not a valid role name", role);
	return 0;
}

static int no_role(struct kw_dir *dir, const char *tenant, const char *role)
{
	return kw_dir_set_error(dir, ENOENT, "no such role '%s%c%s'", role,
				dir->sep, tenant);
}

int kw_role_add_entry(struct kw_dir *dir, const char *tenant, const char *role,
		      const char *description)
{
	char dn[KW_DN_MAX];
	struct kw_mods m;
	int rc;

	rc = kw_dn_role(dir, tenant, role, dn, sizeof(dn));
	if (rc)
		return rc;
	kw_mods_init(&m);
	kw_mods_add(&m, LDAP_MOD_ADD, "objectClass", "groupOfNames");
	kw_mods_add(&m, LDAP_MOD_ADD, "cn", role);
	kw_mods_add(&m, LDAP_MOD_ADD, "member", KW_ROLE_PLACEHOLDER);
	if (description != NULL && description[0] != '\0')
		kw_mods_add(&m, LDAP_MOD_ADD, "description", description);
	return kw_dir_add_entry(dir, dn, &m, "create role");
}

int kw_role_create(struct kw_dir *dir, const char *tenant, const char *role,
		   const char *description)
{
	struct kw_tenant t;
	int rc = check_role(dir, tenant, role);

	if (rc)
		return rc;
	if (description != NULL && strlen(description) > KW_DISPLAY_MAX)
		return kw_dir_set_error(dir, EINVAL,
					"description longer than %d bytes",
					KW_DISPLAY_MAX);
	rc = kw_tenant_get(dir, tenant, &t);
	if (rc)
		return rc;
	rc = kw_role_add_entry(dir, tenant, role, description);
	if (rc == EEXIST)
		return kw_dir_set_error(dir, EEXIST,
					"role '%s%c%s' exists already", role,
					dir->sep, tenant);
	return rc;
}

static size_t count_members(struct kw_dir *dir, LDAPMessage *e)
{
	struct berval **v = ldap_get_values_len(dir->ld, e, "member");
	size_t n = 0, i;

	for (i = 0; v != NULL && v[i] != NULL; i++)
		if (v[i]->bv_len > 0)
			n++;
	ldap_value_free_len(v);
	return n;
}

static int cmp_role(const void *a, const void *b)
{
	return strcmp(((const struct kw_role *)a)->name,
		      ((const struct kw_role *)b)->name);
}

int kw_role_list(struct kw_dir *dir, const char *tenant,
		 struct kw_role **list_out, size_t *n_out)
{
	char *attrs[] = {(char *)"cn", (char *)"description", (char *)"member",
			 NULL};
	char roles_dn[KW_DN_MAX];
	LDAPMessage *res, *e;
	struct kw_role *list;
	struct kw_tenant t;
	size_t n = 0;
	int rc, count;

	*list_out = NULL;
	*n_out = 0;
	rc = kw_tenant_get(dir, tenant, &t);
	if (rc)
		return rc;
	kw_dn_roles(dir, tenant, roles_dn, sizeof(roles_dn));
	rc = kw_dir_search(dir, roles_dn, LDAP_SCOPE_ONELEVEL,
			   "(objectClass=groupOfNames)", attrs, &res);
	if (rc)
		return rc;
	count = ldap_count_entries(dir->ld, res);
	list = calloc(count > 0 ? (size_t)count : 1, sizeof(*list));
	if (list == NULL) {
		ldap_msgfree(res);
		return ENOMEM;
	}
	for (e = ldap_first_entry(dir->ld, res); e != NULL;
	     e = ldap_next_entry(dir->ld, e)) {
		struct kw_role *r = &list[n];

		if (!kw_attr_str(dir->ld, e, "cn", r->name, sizeof(r->name)) ||
		    !kw_name_valid_role(r->name))
			continue;
		kw_attr_str(dir->ld, e, "description", r->description,
			    sizeof(r->description));
		r->n_members = count_members(dir, e);
		n++;
	}
	ldap_msgfree(res);
	qsort(list, n, sizeof(*list), cmp_role);
	*list_out = list;
	*n_out = n;
	return 0;
}

int kw_role_delete(struct kw_dir *dir, const char *tenant, const char *role)
{
	char dn[KW_DN_MAX];
	int rc = check_role(dir, tenant, role);

	if (rc)
		return rc;
	if (strcmp(role, KW_ADMIN_ROLE) == 0)
		return kw_dir_set_error(dir, EPERM,
					"the role '%s' holds the tenant's "
					"administrators and cannot be deleted",
					KW_ADMIN_ROLE);
	kw_dn_role(dir, tenant, role, dn, sizeof(dn));
	rc = kw_dir_delete(dir, dn, "delete role");
	return rc == ENOENT ? no_role(dir, tenant, role) : rc;
}

/* Check that the user and the role exist and are of one tenant. */
static int member_dns(struct kw_dir *dir, const char *role,
		      const struct kw_name *user, char *role_dn, char *user_dn)
{
	char *attrs[] = {(char *)LDAP_NO_ATTRS, NULL};
	LDAPMessage *res, *e;
	int rc = check_role(dir, user->tenant, role);

	if (rc)
		return rc;
	if (!kw_name_valid_user(user->user))
		return kw_dir_set_error(dir, EINVAL,
					"'%s' is not a valid user name",
					user->user);
	kw_dn_role(dir, user->tenant, role, role_dn, KW_DN_MAX);
	kw_dn_user(dir, user, user_dn, KW_DN_MAX);
	rc = kw_dir_read(dir, role_dn, attrs, &res, &e);
	if (rc == ENOENT)
		return no_role(dir, user->tenant, role);
	if (rc)
		return rc;
	ldap_msgfree(res);
	rc = kw_dir_read(dir, user_dn, attrs, &res, &e);
	if (rc == ENOENT)
		return kw_dir_set_error(dir, ENOENT, "no such user '%s%c%s'",
					user->user, dir->sep, user->tenant);
	if (rc)
		return rc;
	ldap_msgfree(res);
	return 0;
}

int kw_role_grant(struct kw_dir *dir, const char *role,
		  const struct kw_name *user)
{
	char role_dn[KW_DN_MAX], user_dn[KW_DN_MAX];
	struct kw_mods m;
	int rc = member_dns(dir, role, user, role_dn, user_dn);

	if (rc)
		return rc;
	kw_mods_init(&m);
	kw_mods_add(&m, LDAP_MOD_ADD, "member", user_dn);
	rc = kw_dir_modify(dir, role_dn, &m, "grant");
	if (rc == EEXIST)
		return kw_dir_set_error(
			dir, EEXIST, "'%s%c%s' has the role '%s' already",
			user->user, dir->sep, user->tenant, role);
	if (rc)
		return rc;
	/* the role has a real member now: drop the placeholder if there */
	kw_mods_init(&m);
	kw_mods_add(&m, LDAP_MOD_DELETE, "member", KW_ROLE_PLACEHOLDER);
	rc = kw_dir_modify(dir, role_dn, &m, "grant");
	return rc == ENODATA ? 0 : rc;
}

int kw_role_drop_member(struct kw_dir *dir, const char *role_dn,
			const char *member_dn)
{
	struct kw_mods m;
	int rc;

	kw_mods_init(&m);
	kw_mods_add(&m, LDAP_MOD_DELETE, "member", member_dn);
	rc = ldap_modify_ext_s(dir->ld, role_dn, m.list, NULL, NULL);
	if (rc == LDAP_OBJECT_CLASS_VIOLATION) {
		/* the last member: put the placeholder in the same change */
		kw_mods_init(&m);
		kw_mods_add(&m, LDAP_MOD_ADD, "member", KW_ROLE_PLACEHOLDER);
		kw_mods_add(&m, LDAP_MOD_DELETE, "member", member_dn);
		rc = ldap_modify_ext_s(dir->ld, role_dn, m.list, NULL, NULL);
	}
	return kw_dir_fail(dir, rc, "revoke");
}

int kw_role_revoke(struct kw_dir *dir, const char *role,
		   const struct kw_name *user)
{
	char role_dn[KW_DN_MAX], user_dn[KW_DN_MAX];
	int rc = check_role(dir, user->tenant, role);

	if (rc)
		return rc;
	if (!kw_name_valid_user(user->user))
		return kw_dir_set_error(dir, EINVAL,
					"'%s' is not a valid user name",
					user->user);
	kw_dn_role(dir, user->tenant, role, role_dn, sizeof(role_dn));
	kw_dn_user(dir, user, user_dn, sizeof(user_dn));
	rc = kw_role_drop_member(dir, role_dn, user_dn);
	if (rc == ENODATA)
		return kw_dir_set_error(
			dir, ENOENT, "'%s%c%s' does not have the role '%s'",
			user->user, dir->sep, user->tenant, role);
	return rc == ENOENT ? no_role(dir, user->tenant, role) : rc;
}

int kw_role_members(struct kw_dir *dir, const char *tenant, const char *role,
		    char ***members_out)
{
	char *attrs[] = {(char *)"member", NULL};
	char dn[KW_DN_MAX];
	LDAPMessage *res, *e;
	struct berval **v;
	char **list;
	size_t n = 0, i;
	int rc = check_role(dir, tenant, role);

	*members_out = NULL;
	if (rc)
		return rc;
	kw_dn_role(dir, tenant, role, dn, sizeof(dn));
	rc = kw_dir_read(dir, dn, attrs, &res, &e);
	if (rc == ENOENT)
		return no_role(dir, tenant, role);
	if (rc)
		return rc;
	v = ldap_get_values_len(dir->ld, e, "member");
	for (i = 0; v != NULL && v[i] != NULL; i++)
		;
	list = calloc(i + 1, sizeof(*list));
	for (i = 0; list != NULL && v != NULL && v[i] != NULL; i++) {
		char member[KW_DN_MAX], q[KW_QNAME_MAX + 1];
		struct kw_name name;

		if (v[i]->bv_len == 0 || v[i]->bv_len >= sizeof(member))
			continue;
		memcpy(member, v[i]->bv_val, v[i]->bv_len);
		member[v[i]->bv_len] = '\0';
		/* only users of this tenant count as members */
		if (kw_dn_to_name(dir, member, &name) != 0 ||
		    strcmp(name.tenant, tenant) != 0)
			continue;
		kw_name_format(&name, dir->sep, q, sizeof(q));
		list[n] = strdup(q);
		if (list[n] != NULL)
			n++;
	}
	ldap_value_free_len(v);
	ldap_msgfree(res);
	if (list == NULL)
		return ENOMEM;
	*members_out = list;
	return 0;
}
