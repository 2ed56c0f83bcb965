/*
 * kw_user.c - tenant users: inetOrgPerson + posixAccount + kwUser entries
 * below ou=people of their tenant.
 *
 * uidNumbers come from the tenant's own range (kwUidBase, kwUidCount),
 * handed out by a compare-and-swap on kwUidNext.  An entry whose
 * uidNumber lies outside its tenant's range (an administrator can write
 * one with any LDAP tool) is reported as broken, never used.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kw_dir_internal.h"
#include "kw_secret.h"

char *kw_user_attrs[] = {
	(char *)"uid",
	(char *)"cn",
	(char *)"displayName",
	(char *)"uidNumber",
	(char *)"gidNumber",
	(char *)"homeDirectory",
	(char *)"loginShell",
	(char *)KW_AT_DEACTIVATED,
	(char *)"pwdReset",
	(char *)"pwdChangedTime",
	(char *)"kwPasswordFailures",
	(char *)"kwCodeFailures",
	(char *)"kwWindowStart",
	(char *)"kwCodeWindowStart",
	(char *)"kwLockedUntil",
	(char *)"kwLockReason",
	NULL,
};

static int check_name(struct kw_dir *dir, const struct kw_name *name)
{
	if (!kw_name_valid_user(name->user))
		return kw_dir_set_error(dir, EINVAL,
					"'%s' is not a valid user name",
					name->user);
	if (!kw_name_valid_tenant(name->tenant))
		return kw_dir_set_error(dir, EINVAL,
					"'%s' is not a valid tenant name",
					name->tenant);
	return 0;
}

static int no_user(struct kw_dir *dir, const struct kw_name *name)
{
	return kw_dir_set_error(dir, ENOENT, "no such user '%s%c%s'",
				name->user, dir->sep, name->tenant);
}

void kw_roles_free(char **roles)
{
	for (size_t i = 0; roles != NULL && roles[i] != NULL; i++)
		free(roles[i]);
	free(roles);
}

void kw_user_clear(struct kw_user *user)
{
	if (user == NULL)
		return;
	kw_roles_free(user->roles);
	memset(user, 0, sizeof(*user));
}

void kw_user_list_free(struct kw_user *list, size_t n)
{
	size_t i;

	for (i = 0; list != NULL && i < n; i++)
		kw_user_clear(&list[i]);
	free(list);
}

void kw_user_fill(struct kw_dir *dir, LDAPMessage *e, const char *tenant,
		  struct kw_user *u)
{
	memset(u, 0, sizeof(*u));
	kw_attr_str(dir->ld, e, "uid", u->name.user, sizeof(u->name.user));
	snprintf(u->name.tenant, sizeof(u->name.tenant), "%s", tenant);
	if (!kw_attr_str(dir->ld, e, "displayName", u->display_name,
			 sizeof(u->display_name)))
		kw_attr_str(dir->ld, e, "cn", u->display_name,
			    sizeof(u->display_name));
	u->uid_number = -1;
	u->gid_number = -1;
	kw_attr_long(dir->ld, e, "uidNumber", &u->uid_number);
	kw_attr_long(dir->ld, e, "gidNumber", &u->gid_number);
	kw_attr_str(dir->ld, e, "homeDirectory", u->home, sizeof(u->home));
	kw_attr_str(dir->ld, e, "loginShell", u->shell, sizeof(u->shell));
	kw_attr_bool(dir->ld, e, KW_AT_DEACTIVATED, &u->deactivated);
	kw_attr_bool(dir->ld, e, "pwdReset", &u->must_change_password);
	kw_attr_time(dir->ld, e, "pwdChangedTime", &u->password_changed);
	kw_lock_fill(dir, e, &u->lock);
}

/* The role names whose member is USER_DN (NULL-terminated). */
static int roles_of(struct kw_dir *dir, const char *tenant, const char *user_dn,
		    char ***out)
{
	char roles_dn[KW_DN_MAX], esc[KW_DN_MAX * 3];
	char filter[KW_DN_MAX * 3 + 64];
	char *attrs[] = {(char *)"cn", NULL};
	LDAPMessage *res, *e;
	char **list;
	size_t n = 0;
	int rc, count;

	*out = NULL;
	kw_dn_roles(dir, tenant, roles_dn, sizeof(roles_dn));
	if (kw_escape_filter(user_dn, strlen(user_dn), esc, sizeof(esc)) < 0)
		return EINVAL;
	snprintf(filter, sizeof(filter),
		 "(&(objectClass=groupOfNames)(member=%s))", esc);
	rc = kw_dir_search(dir, roles_dn, LDAP_SCOPE_ONELEVEL, filter, attrs,
			   &res);
	if (rc)
		return rc;
	count = ldap_count_entries(dir->ld, res);
	list = calloc((size_t)(count > 0 ? count : 0) + 1, sizeof(*list));
	if (list == NULL) {
		ldap_msgfree(res);
		return ENOMEM;
	}
	for (e = ldap_first_entry(dir->ld, res); e != NULL;
	     e = ldap_next_entry(dir->ld, e)) {
		char cn[KW_ROLE_MAX + 1];

		if (kw_attr_str(dir->ld, e, "cn", cn, sizeof(cn)) &&
		    kw_name_valid_role(cn) && (list[n] = strdup(cn)) != NULL)
			n++;
	}
	ldap_msgfree(res);
	*out = list;
	return 0;
}

/* Is the uidNumber inside the tenant's range? */
static int check_range(struct kw_dir *dir, const struct kw_user *u)
{
	struct kw_tenant t;
	/* no count of the users: this runs on every lookup of a user */
	int rc = kw_tenant_get_state(dir, u->name.tenant, &t);

	if (rc)
		return rc;
	if (u->uid_number < t.uid_base ||
	    u->uid_number >= t.uid_base + t.uid_count)
		return kw_dir_set_error(dir, EPROTO,
					"user '%s%c%s' has uidNumber %ld, "
					"outside the tenant's range %ld..%ld",
					u->name.user, dir->sep, u->name.tenant,
					u->uid_number, t.uid_base,
					t.uid_base + t.uid_count - 1);
	return 0;
}

int kw_user_get(struct kw_dir *dir, const struct kw_name *name,
		struct kw_user *out)
{
	char dn[KW_DN_MAX];
	LDAPMessage *res, *e;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = check_name(dir, name);
	if (rc)
		return rc;
	kw_dn_user(dir, name, dn, sizeof(dn));
	rc = kw_dir_read(dir, dn, kw_user_attrs, &res, &e);
	if (rc == ENOENT)
		return no_user(dir, name);
	if (rc)
		return rc;
	kw_user_fill(dir, e, name->tenant, out);
	ldap_msgfree(res);
	rc = check_range(dir, out);
	if (rc == 0)
		rc = roles_of(dir, name->tenant, dn, &out->roles);
	if (rc)
		kw_user_clear(out);
	return rc;
}

static int cmp_user(const void *a, const void *b)
{
	return strcmp(((const struct kw_user *)a)->name.user,
		      ((const struct kw_user *)b)->name.user);
}

int kw_user_list(struct kw_dir *dir, const char *tenant,
		 struct kw_user **list_out, size_t *n_out)
{
	char people[KW_DN_MAX];
	LDAPMessage *res, *e;
	struct kw_user *list;
	struct kw_tenant t;
	size_t n = 0, i;
	int rc, count;

	*list_out = NULL;
	*n_out = 0;
	rc = kw_tenant_get(dir, tenant, &t);
	if (rc)
		return rc;
	kw_dn_people(dir, tenant, people, sizeof(people));
	rc = kw_dir_search(dir, people, LDAP_SCOPE_ONELEVEL,
			   "(objectClass=posixAccount)", kw_user_attrs, &res);
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
		kw_user_fill(dir, e, tenant, &list[n]);
		if (kw_name_valid_user(list[n].name.user))
			n++;
	}
	ldap_msgfree(res);
	qsort(list, n, sizeof(*list), cmp_user);
	for (i = 0; i < n && rc == 0; i++) {
		char dn[KW_DN_MAX];

		kw_dn_user(dir, &list[i].name, dn, sizeof(dn));
		rc = roles_of(dir, tenant, dn, &list[i].roles);
	}
	if (rc) {
		kw_user_list_free(list, n);
		return rc;
	}
	*list_out = list;
	*n_out = n;
	return 0;
}

int kw_user_add(struct kw_dir *dir, const struct kw_name *name,
		const char *display_name, const char *password,
		struct kw_user *out)
{
	char dn[KW_DN_MAX], tdn[KW_DN_MAX], uid[32], home[300];
	struct kw_tenant t;
	struct kw_mods m;
	long number;
	int rc;

	rc = check_name(dir, name);
	if (rc)
		return rc;
	if (display_name == NULL || display_name[0] == '\0')
		display_name = name->user;
	if (strlen(display_name) > KW_DISPLAY_MAX)
		return kw_dir_set_error(dir, EINVAL,
					"display name longer than %d bytes",
					KW_DISPLAY_MAX);
	if (password != NULL && password[0] == '\0')
		return kw_dir_set_error(dir, EINVAL,
					"an empty password is not allowed");
	rc = kw_tenant_get(dir, name->tenant, &t);
	if (rc)
		return rc;
	kw_dn_user(dir, name, dn, sizeof(dn));
	rc = kw_user_get(dir, name, out);
	if (rc == 0) {
		kw_user_clear(out);
		return kw_dir_set_error(dir, EEXIST,
					"user '%s%c%s' exists already",
					name->user, dir->sep, name->tenant);
	}
	if (rc != ENOENT)
		return rc;

	kw_dn_tenant(dir, name->tenant, tdn, sizeof(tdn));
	rc = kw_dir_take_next(dir, tdn, KW_AT_UID_NEXT,
			      t.uid_base + t.uid_count, &number);
	if (rc == ENOSPC)
		return kw_dir_set_error(dir, ENOSPC,
					"tenant '%s' has used all %ld uids of "
					"its range",
					name->tenant, t.uid_count);
	if (rc)
		return rc;
	snprintf(uid, sizeof(uid), "%ld", number);
	snprintf(home, sizeof(home), "/home/%s/%s", name->tenant, name->user);

	kw_mods_init(&m);
	kw_mods_add(&m, LDAP_MOD_ADD, "objectClass", "inetOrgPerson");
	kw_mods_add(&m, LDAP_MOD_ADD, "objectClass", "posixAccount");
	kw_mods_add(&m, LDAP_MOD_ADD, "objectClass", KW_OC_USER);
	kw_mods_add(&m, LDAP_MOD_ADD, "uid", name->user);
	kw_mods_add(&m, LDAP_MOD_ADD, "cn", display_name);
	kw_mods_add(&m, LDAP_MOD_ADD, "sn", name->user);
	kw_mods_add(&m, LDAP_MOD_ADD, "displayName", display_name);
	kw_mods_add(&m, LDAP_MOD_ADD, "uidNumber", uid);
	/* each user has a private group of the same number */
	kw_mods_add(&m, LDAP_MOD_ADD, "gidNumber", uid);
	kw_mods_add(&m, LDAP_MOD_ADD, "homeDirectory", home);
	kw_mods_add(&m, LDAP_MOD_ADD, "loginShell", "/bin/bash");
	kw_mods_add(&m, LDAP_MOD_ADD, KW_AT_DEACTIVATED, "FALSE");
	if (password != NULL)
		kw_mods_add(&m, LDAP_MOD_ADD, "userPassword", password);
	rc = kw_dir_add_entry(dir, dn, &m, "add user");
	if (rc == EEXIST)
		return kw_dir_set_error(dir, EEXIST,
					"user '%s%c%s' exists already",
					name->user, dir->sep, name->tenant);
	if (rc)
		return rc;
	return kw_user_get(dir, name, out);
}

int kw_user_set_deactivated(struct kw_dir *dir, const struct kw_name *name,
			    bool deactivated)
{
	char dn[KW_DN_MAX];
	struct kw_mods m;
	int rc = check_name(dir, name);

	if (rc)
		return rc;
	kw_dn_user(dir, name, dn, sizeof(dn));
	/*
	 * kwDeactivated is what keywardd checks; the ppolicy lock makes the
	 * directory itself refuse the user's binds too, so that a
	 * deactivated tenant administrator loses their LDAP rights at once.
	 */
	kw_mods_init(&m);
	kw_mods_add(&m, LDAP_MOD_REPLACE, KW_AT_DEACTIVATED,
		    deactivated ? "TRUE" : "FALSE");
	kw_mods_add(&m, LDAP_MOD_REPLACE, "pwdAccountLockedTime",
		    deactivated ? KW_LOCKED_FOREVER : NULL);
	rc = kw_dir_modify(dir, dn, &m,
			   deactivated ? "deactivate" : "reactivate");
	return rc == ENOENT ? no_user(dir, name) : rc;
}

int kw_user_delete(struct kw_dir *dir, const struct kw_name *name)
{
	char dn[KW_DN_MAX];
	char **roles = NULL;
	size_t i;
	int rc = check_name(dir, name);

	if (rc)
		return rc;
	kw_dn_user(dir, name, dn, sizeof(dn));
	rc = roles_of(dir, name->tenant, dn, &roles);
	if (rc == ENOENT)
		return kw_dir_set_error(dir, ENOENT, "no such tenant '%s'",
					name->tenant);
	if (rc)
		return rc;
	/* check first that the user is there, so that nothing changes */
	{
		char *attrs[] = {(char *)LDAP_NO_ATTRS, NULL};
		LDAPMessage *res, *e;

		rc = kw_dir_read(dir, dn, attrs, &res, &e);
		if (rc == 0)
			ldap_msgfree(res);
	}
	for (i = 0; rc == 0 && roles[i] != NULL; i++) {
		char role_dn[KW_DN_MAX];

		kw_dn_role(dir, name->tenant, roles[i], role_dn,
			   sizeof(role_dn));
		rc = kw_role_drop_member(dir, role_dn, dn);
		if (rc == ENODATA)
			rc = 0;
	}
	for (i = 0; roles[i] != NULL; i++)
		free(roles[i]);
	free(roles);
	if (rc == 0)
		rc = kw_dir_delete(dir, dn, "delete user");
	return rc == ENOENT ? no_user(dir, name) : rc;
}

int kw_user_set_password(struct kw_dir *dir, const struct kw_name *name,
			 const char *password, bool must_change)
{
	char dn[KW_DN_MAX];
	struct kw_mods m;
	int rc = check_name(dir, name);

	if (rc)
		return rc;
	if (password == NULL || password[0] == '\0')
		return kw_dir_set_error(dir, EINVAL,
					"an empty password is not allowed");
	kw_dn_user(dir, name, dn, sizeof(dn));
	kw_mods_init(&m);
	kw_mods_add(&m, LDAP_MOD_REPLACE, "userPassword", password);
	rc = kw_dir_modify(dir, dn, &m, "set password");
	if (rc == ENOENT)
		return no_user(dir, name);
	if (rc)
		return rc;
	/*
	 * ppolicy sets pwdReset itself when an administrator changes a
	 * password and the policy says pwdMustChange; say it explicitly so
	 * that the outcome does not depend on the policy.
	 */
	kw_mods_init(&m);
	if (must_change)
		kw_mods_add(&m, LDAP_MOD_REPLACE, "pwdReset", "TRUE");
	else
		kw_mods_add(&m, LDAP_MOD_DELETE, "pwdReset", NULL);
	rc = kw_dir_modify(dir, dn, &m, "mark password");
	return rc == ENODATA ? 0 : rc;
}

int kw_user_check_password_send(struct kw_dir *dir, const struct kw_name *name,
				const char *password, int *msgid_out)
{
	char dn[KW_DN_MAX];
	struct berval cred;
	int rc;

	*msgid_out = -1;
	if (password == NULL || password[0] == '\0')
		return kw_dir_set_error(dir, EACCES, "empty password");
	rc = check_name(dir, name);
	if (rc)
		return rc;
	kw_dn_user(dir, name, dn, sizeof(dn));
	cred.bv_val = (char *)password;
	cred.bv_len = strlen(password);
	rc = ldap_sasl_bind(dir->ld, dn, LDAP_SASL_SIMPLE, &cred, NULL, NULL,
			    msgid_out);
	if (rc != LDAP_SUCCESS)
		*msgid_out = -1;
	return kw_dir_fail(dir, rc, "password check");
}

int kw_user_check_password_recv(struct kw_dir *dir, int msgid)
{
	LDAPMessage *res = NULL;
	int rc = kw_dir_wait(dir, msgid, &res, "password check");

	ldap_msgfree(res);
	return rc;
}
