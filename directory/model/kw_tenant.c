/*
 * kw_tenant.c - tenants: their partition of the tree and its settings.
 *
 * A tenant is the subtree o=<name>,ou=tenants,<base>.  Creating one takes
 * the next tenant index from the counter on ou=tenants (a compare-and-swap,
 * so that two administrators never get the same one); the index fixes the
 * tenant's uid range, so ranges never overlap.  Deleting removes the
 * subtree, deepest entries first.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kw_dir_internal.h"

char *kw_tenant_attrs[] = {
	(char *)"o",
	(char *)KW_AT_TENANT_DISPLAY,
	(char *)KW_AT_SUSPENDED,
	(char *)KW_AT_UID_BASE,
	(char *)KW_AT_UID_COUNT,
	(char *)KW_AT_UID_NEXT,
	(char *)"kwPasswordUserLimit",
	(char *)"kwPasswordAddressLimit",
	NULL,
};

void kw_tenant_fill(struct kw_dir *dir, LDAPMessage *e, struct kw_tenant *t)
{
	memset(t, 0, sizeof(*t));
	kw_attr_str(dir->ld, e, "o", t->name, sizeof(t->name));
	if (!kw_attr_str(dir->ld, e, KW_AT_TENANT_DISPLAY, t->display_name,
			 sizeof(t->display_name)))
		snprintf(t->display_name, sizeof(t->display_name), "%s",
			 t->name);
	kw_attr_bool(dir->ld, e, KW_AT_SUSPENDED, &t->suspended);
	kw_attr_long(dir->ld, e, KW_AT_UID_BASE, &t->uid_base);
	kw_attr_long(dir->ld, e, KW_AT_UID_COUNT, &t->uid_count);
	kw_attr_long(dir->ld, e, KW_AT_UID_NEXT, &t->uid_next);
	kw_attr_long(dir->ld, e, "kwPasswordUserLimit",
		     &t->password_user_limit);
	kw_attr_long(dir->ld, e, "kwPasswordAddressLimit",
		     &t->password_address_limit);
	t->n_users = -1;
}

static int count_children(struct kw_dir *dir, const char *base, long *n)
{
	char *attrs[] = {(char *)LDAP_NO_ATTRS, NULL};
	LDAPMessage *res;
	int rc;

	rc = kw_dir_search(dir, base, LDAP_SCOPE_ONELEVEL, "(objectClass=*)",
			   attrs, &res);
	if (rc)
		return rc;
	*n = ldap_count_entries(dir->ld, res);
	ldap_msgfree(res);
	return 0;
}

int kw_tenant_get_state(struct kw_dir *dir, const char *name,
			struct kw_tenant *out)
{
	char dn[KW_DN_MAX];
	LDAPMessage *res, *e;
	int rc;

	if (!kw_name_valid_tenant(name))
		return kw_dir_set_error(
			dir, EINVAL, "'%s' is not a valid tenant name", name);
	kw_dn_tenant(dir, name, dn, sizeof(dn));
	rc = kw_dir_read(dir, dn, kw_tenant_attrs, &res, &e);
	if (rc == ENOENT)
		return kw_dir_set_error(dir, ENOENT, "no such tenant '%s'",
					name);
	if (rc)
		return rc;
	kw_tenant_fill(dir, e, out);
	ldap_msgfree(res);
	return 0;
}

int kw_tenant_get(struct kw_dir *dir, const char *name, struct kw_tenant *out)
{
	char people[KW_DN_MAX];
	int rc = kw_tenant_get_state(dir, name, out);

	if (rc)
		return rc;
	kw_dn_people(dir, name, people, sizeof(people));
	if (count_children(dir, people, &out->n_users) != 0)
		out->n_users = -1;
	return 0;
}

static int cmp_tenant(const void *a, const void *b)
{
	return strcmp(((const struct kw_tenant *)a)->name,
		      ((const struct kw_tenant *)b)->name);
}

int kw_tenant_list(struct kw_dir *dir, struct kw_tenant **list_out,
		   size_t *n_out)
{
	LDAPMessage *res, *e;
	struct kw_tenant *list;
	size_t n = 0;
	int rc, count;

	*list_out = NULL;
	*n_out = 0;
	rc = kw_dir_search(dir, dir->tenants_dn, LDAP_SCOPE_ONELEVEL,
			   "(objectClass=" KW_OC_TENANT ")", kw_tenant_attrs,
			   &res);
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
		kw_tenant_fill(dir, e, &list[n]);
		if (kw_name_valid_tenant(list[n].name))
			n++;
	}
	ldap_msgfree(res);
	qsort(list, n, sizeof(*list), cmp_tenant);
	*list_out = list;
	*n_out = n;
	return 0;
}

int kw_tenant_set_suspended(struct kw_dir *dir, const char *name,
			    bool suspended)
{
	char dn[KW_DN_MAX];
	struct kw_tenant t;
	struct kw_mods m;
	int rc;

	rc = kw_tenant_get(dir, name, &t);
	if (rc)
		return rc;
	kw_dn_tenant(dir, name, dn, sizeof(dn));
	kw_mods_init(&m);
	kw_mods_add(&m, LDAP_MOD_REPLACE, KW_AT_SUSPENDED,
		    suspended ? "TRUE" : "FALSE");
	return kw_dir_modify(dir, dn, &m, suspended ? "suspend" : "resume");
}

/* Add an organizationalUnit OU below PARENT. */
static int add_ou(struct kw_dir *dir, const char *parent, const char *ou,
		  char *dn, size_t dnsz)
{
	struct kw_mods m;

	snprintf(dn, dnsz, "ou=%s,%s", ou, parent);
	kw_mods_init(&m);
	kw_mods_add(&m, LDAP_MOD_ADD, "objectClass", "organizationalUnit");
	kw_mods_add(&m, LDAP_MOD_ADD, "ou", ou);
	return kw_dir_add_entry(dir, dn, &m, dn);
}

int kw_tenant_create(struct kw_dir *dir, const char *name,
		     const char *display_name, struct kw_tenant *out)
{
	char dn[KW_DN_MAX], people[KW_DN_MAX], roles[KW_DN_MAX];
	char idx[32], base[32], count[32];
	struct kw_mods m;
	long index, max_index;
	int rc;

	if (!kw_name_valid_tenant(name))
		return kw_dir_set_error(
			dir, EINVAL, "'%s' is not a valid tenant name", name);
	if (display_name == NULL || display_name[0] == '\0')
		display_name = name;
	if (strlen(display_name) > KW_DISPLAY_MAX)
		return kw_dir_set_error(dir, EINVAL,
					"display name longer than %d bytes",
					KW_DISPLAY_MAX);
	kw_dn_tenant(dir, name, dn, sizeof(dn));

	/* refuse a duplicate before taking an index */
	rc = kw_tenant_get(dir, name, out);
	if (rc == 0)
		return kw_dir_set_error(dir, EEXIST,
					"tenant '%s' exists already", name);
	if (rc != ENOENT)
		return rc;

	max_index = (dir->uid_max - dir->uid_min + 1) / dir->uid_range;
	rc = kw_dir_take_next(dir, dir->tenants_dn, KW_AT_NEXT_TENANT_INDEX,
			      max_index, &index);
	if (rc == ENOSPC)
		return kw_dir_set_error(dir, ENOSPC,
					"no uid range left for a new tenant "
					"(%ld ranges of %ld in %ld..%ld)",
					max_index, dir->uid_range, dir->uid_min,
					dir->uid_max);
	if (rc)
		return rc;
	snprintf(idx, sizeof(idx), "%ld", index);
	snprintf(base, sizeof(base), "%ld",
		 dir->uid_min + index * dir->uid_range);
	snprintf(count, sizeof(count), "%ld", dir->uid_range);

	kw_mods_init(&m);
	kw_mods_add(&m, LDAP_MOD_ADD, "objectClass", "organization");
	kw_mods_add(&m, LDAP_MOD_ADD, "objectClass", KW_OC_TENANT);
	kw_mods_add(&m, LDAP_MOD_ADD, "o", name);
	kw_mods_add(&m, LDAP_MOD_ADD, KW_AT_TENANT_DISPLAY, display_name);
	kw_mods_add(&m, LDAP_MOD_ADD, KW_AT_SUSPENDED, "FALSE");
	kw_mods_add(&m, LDAP_MOD_ADD, KW_AT_TENANT_INDEX, idx);
	kw_mods_add(&m, LDAP_MOD_ADD, KW_AT_UID_BASE, base);
	kw_mods_add(&m, LDAP_MOD_ADD, KW_AT_UID_COUNT, count);
	kw_mods_add(&m, LDAP_MOD_ADD, KW_AT_UID_NEXT, base);
	kw_mods_add(&m, LDAP_MOD_ADD, KW_AT_MFA_POLICY, "optional");
	rc = kw_dir_add_entry(dir, dn, &m, "create tenant");
	if (rc == EEXIST)
		return kw_dir_set_error(dir, EEXIST,
					"tenant '%s' exists already", name);
	if (rc)
		return rc;

	rc = add_ou(dir, dn, "people", people, sizeof(people));
	if (rc == 0)
		rc = add_ou(dir, dn, "roles", roles, sizeof(roles));
	if (rc == 0)
		rc = kw_role_add_entry(dir, name, KW_ADMIN_ROLE,
				       "administrators of the tenant");
	if (rc) {
		/* leave nothing half made; keep the first error's words */
		char why[KW_DIR_ERROR_MAX];

		snprintf(why, sizeof(why), "%s", dir->error);
		kw_tenant_delete(dir, name);
		snprintf(dir->error, sizeof(dir->error), "%s", why);
		return rc;
	}
	return kw_tenant_get(dir, name, out);
}

static int cmp_len_desc(const void *a, const void *b)
{
	size_t la = strlen(*(char *const *)a), lb = strlen(*(char *const *)b);

	return la < lb ? 1 : la > lb ? -1 : 0;
}

int kw_tenant_delete(struct kw_dir *dir, const char *name)
{
	char *attrs[] = {(char *)LDAP_NO_ATTRS, NULL};
	char dn[KW_DN_MAX];
	LDAPMessage *res, *e;
	char **dns;
	size_t n = 0, i;
	int rc, count;

	if (!kw_name_valid_tenant(name))
		return kw_dir_set_error(
			dir, EINVAL, "'%s' is not a valid tenant name", name);
	kw_dn_tenant(dir, name, dn, sizeof(dn));
	rc = kw_dir_search(dir, dn, LDAP_SCOPE_SUBTREE, "(objectClass=*)",
			   attrs, &res);
	if (rc == ENOENT)
		return kw_dir_set_error(dir, ENOENT, "no such tenant '%s'",
					name);
	if (rc)
		return rc;
	count = ldap_count_entries(dir->ld, res);
	if (count <= 0) {
		ldap_msgfree(res);
		return kw_dir_set_error(dir, ENOENT, "no such tenant '%s'",
					name);
	}
	dns = calloc((size_t)count, sizeof(*dns));
	if (dns == NULL) {
		ldap_msgfree(res);
		return ENOMEM;
	}
	for (e = ldap_first_entry(dir->ld, res); e != NULL;
	     e = ldap_next_entry(dir->ld, e)) {
		char *d = ldap_get_dn(dir->ld, e);

		if (d == NULL)
			continue;
		dns[n] = strdup(d);
		ldap_memfree(d);
		if (dns[n] != NULL)
			n++;
	}
	ldap_msgfree(res);
	/* a child's DN is longer than its parent's: delete longest first */
	qsort(dns, n, sizeof(*dns), cmp_len_desc);
	rc = 0;
	for (i = 0; i < n; i++) {
		if (rc == 0) {
			rc = kw_dir_delete(dir, dns[i], dns[i]);
			if (rc == ENOENT)
				rc = 0; /* someone else was quicker */
		}
		free(dns[i]);
	}
	free(dns);
	return rc;
}
