/*
 * kw_dir.h - the directory model: keyward's only door to LDAP.
 *
 * Everything that names an LDAP entry or builds a filter lives behind this
 * header, so that escaping has one place to be right.  Functions return 0
 * or an errno value:
 *
 *   EINVAL        a name or value failed validation (nothing was sent)
 *   ENOENT        no such tenant, user or role
 *   EEXIST        it exists already (or the value is there already)
 *   ENODATA       the value to remove is not there
 *   EACCES        the directory refused the credentials (bad password)
 *   EPERM         the identity may not do this (LDAP insufficient access)
 *   ECONNREFUSED  no directory server answered (all URIs tried)
 *   ETIMEDOUT     a server accepted but did not answer in time
 *   ENOSPC        the database is full
 *   ENOMEM        out of memory
 *   ECANCELED     an asserted condition did not hold (nothing changed)
 *   EPROTO        any other directory error; kw_dir_error() tells more
 *
 * The layout of the tree (see docs/architecture.md):
 *
 *   <base>                                  o=keyward by default
 *     ou=system                             service identities
 *       cn=keywardd                         keywardd's bind identity
 *     ou=policies                           ppolicy's default policy
 *     ou=tenants                            one subtree per tenant
 *       o=<tenant>                          kwTenant: settings, uid range
 *         ou=people / uid=<user>            inetOrgPerson+posixAccount+kwUser
 *         ou=roles  / cn=<role>             groupOfNames; cn=admins is the
 *                                            tenant's administrators
 */
#ifndef KW_DIR_H
#define KW_DIR_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "kw_config.h"
#include "kw_names.h"

#define KW_DIR_ERROR_MAX 256
#define KW_DISPLAY_MAX 128
#define KW_ADMIN_ROLE "admins"

struct kw_dir; /* one LDAP connection with its identity */

/* How a connection authenticates. */
enum kw_dir_identity {
	KW_DIR_AS_ROOT,    /* directory.admin_uri, SASL EXTERNAL as uid 0 */
	KW_DIR_AS_SERVICE, /* directory.bind_dn + bind_password_file */
	KW_DIR_AS_USER,    /* a tenant user's DN and password */
	KW_DIR_ANONYMOUS,  /* for user-password checks only */
};

/*
 * Open a connection to the directory.  URIs from CFG are tried in order
 * with the configured timeouts; TLS certificates are verified against
 * directory.ca_file; plain ldap:// is refused unless the host is a
 * loopback address (or StartTLS is on).  For KW_DIR_AS_USER, USER names
 * the tenant user and PASSWORD is used once and not kept.
 *
 * On failure *DIR_OUT may still receive a handle that is not connected,
 * so that kw_dir_error() can say why; release it with kw_dir_free().
 */
int kw_dir_open(const struct kw_config *cfg, enum kw_dir_identity as,
		const struct kw_name *user, const char *password,
		struct kw_dir **dir_out);
void kw_dir_free(struct kw_dir *dir);

/* The last error in words (the server's diagnostic included), or "". */
const char *kw_dir_error(const struct kw_dir *dir);

/* The URI this connection uses. */
const char *kw_dir_uri(const struct kw_dir *dir);

/*
 * Prepare an empty slapd over cn=config (root over ldapi://): schema,
 * modules, the tenants' database with its indexes, size limit, access
 * rules and password policy, the base entries and the service identity
 * (its password taken from directory.bind_password_file).  Idempotent:
 * a second run changes nothing that is already right.  SCHEMA_LDIF is
 * keyward's cn=config schema file; TEMPLATES_DIR holds
 * keyward-database.ldif.in and keyward-base.ldif.in.  PROGRESS, if not NULL, is
 * called with one line per step.
 */
int kw_dir_init(const struct kw_config *cfg, const char *schema_ldif,
		const char *templates_dir, void (*progress)(const char *line),
		char *err, size_t errlen);

/* ---- tenants ---------------------------------------------------------- */

struct kw_tenant {
	char name[KW_TENANT_MAX + 1];
	char display_name[KW_DISPLAY_MAX + 1];
	bool suspended;
	long uid_base;  /* first uid of the tenant's range */
	long uid_count; /* size of the range */
	long uid_next;  /* next uid to hand out */
	long n_users;   /* filled by kw_tenant_get only, else -1 */
	/*
	 * The tenant's own password limits (0: none), which only tighten;
	 * its code limit is in kw_mfa_policy, read with the token.
	 */
	long password_user_limit;
	long password_address_limit;
};

int kw_tenant_create(struct kw_dir *dir, const char *name,
		     const char *display_name, struct kw_tenant *out);
int kw_tenant_get(struct kw_dir *dir, const char *name, struct kw_tenant *out);
/*
 * As kw_tenant_get(), without counting the users (n_users is -1): one
 * read of the tenant's entry, for every login's lookup.
 */
int kw_tenant_get_state(struct kw_dir *dir, const char *name,
			struct kw_tenant *out);
/* *LIST_OUT is sorted by name; free it with free(). */
int kw_tenant_list(struct kw_dir *dir, struct kw_tenant **list_out,
		   size_t *n_out);
int kw_tenant_set_suspended(struct kw_dir *dir, const char *name,
			    bool suspended);
/* Remove every entry of the tenant, and nothing else. */
int kw_tenant_delete(struct kw_dir *dir, const char *name);

/* ---- lockout state (kw_lockout.c) ------------------------------------ */

/* Two budgets of failures, counted and limited apart. */
enum kw_budget {
	KW_BUDGET_PASSWORD = 0,
	KW_BUDGET_CODE = 1,
};
#define KW_BUDGETS 2
#define KW_LOCK_REASON_MAX 64

/* The counters and lock of a user, or of a source address of a tenant. */
struct kw_lock {
	bool found;                      /* the entry exists */
	long failures[KW_BUDGETS];       /* in the current window */
	time_t window_start[KW_BUDGETS]; /* 0: no window */
	time_t locked_until;             /* 0: not locked */
	char reason[KW_LOCK_REASON_MAX + 1];
};

/* Is L a lock that holds at NOW? */
bool kw_lock_active(const struct kw_lock *l, time_t now);

/*
 * Count one failure of budget B at NOW, in windows of WINDOW_S seconds,
 * for a user or for the source address KEY (kw_address_key) of TENANT,
 * atomically whatever other hosts do at the same time.  *COUNT_OUT is the
 * count in the current window after this failure.  EBUSY if the counter
 * changed under every attempt.
 */
int kw_lock_count_user(struct kw_dir *dir, const struct kw_name *name,
		       enum kw_budget b, time_t now, int window_s,
		       long *count_out);
int kw_lock_count_address(struct kw_dir *dir, const char *tenant,
			  const char *key, enum kw_budget b, time_t now,
			  int window_s, long *count_out);
/* Lock until UNTIL, saying why (REASON: a short token). */
int kw_lock_set_user(struct kw_dir *dir, const struct kw_name *name,
		     time_t until, const char *reason);
int kw_lock_set_address(struct kw_dir *dir, const char *tenant, const char *key,
			time_t until, const char *reason);
/*
 * Forget a user's password failures (after a success), or EVERYTHING:
 * both budgets and the lock (an administrator's unlock).
 */
int kw_lock_reset_user(struct kw_dir *dir, const struct kw_name *name,
		       bool everything);
/* Forget an address's counters and lock; ENOENT if it has none. */
int kw_lock_reset_address(struct kw_dir *dir, const char *tenant,
			  const char *key);

/* ---- users ------------------------------------------------------------ */

struct kw_user {
	struct kw_name name;
	char display_name[KW_DISPLAY_MAX + 1];
	long uid_number;
	long gid_number;
	char home[256];
	char shell[64];
	bool deactivated;
	bool must_change_password; /* ppolicy pwdReset */
	time_t password_changed;   /* pwdChangedTime, 0 if unknown */
	struct kw_lock lock;       /* failure counters and lock */
	char **roles;              /* NULL-terminated, or NULL */
};

/*
 * Add a user with a uidNumber from the tenant's range.  PASSWORD may be
 * NULL (the account then cannot log in until reset-password).
 */
int kw_user_add(struct kw_dir *dir, const struct kw_name *name,
		const char *display_name, const char *password,
		struct kw_user *out);
int kw_user_get(struct kw_dir *dir, const struct kw_name *name,
		struct kw_user *out);
int kw_user_list(struct kw_dir *dir, const char *tenant,
		 struct kw_user **list_out, size_t *n_out);
int kw_user_set_deactivated(struct kw_dir *dir, const struct kw_name *name,
			    bool deactivated);
int kw_user_delete(struct kw_dir *dir, const struct kw_name *name);
/* Set PASSWORD; with MUST_CHANGE the user must change it at next login. */
int kw_user_set_password(struct kw_dir *dir, const struct kw_name *name,
			 const char *password, bool must_change);
/*
 * Check PASSWORD by binding as the user on DIR, which must be a
 * connection of its own (KW_DIR_ANONYMOUS), never the service one, in two
 * halves, so that a caller can have the directory work on the bind and
 * on a lookup on another connection at the same time: _send puts the
 * bind on the wire and sets *MSGID_OUT (an empty password is refused
 * before anything is sent); _recv waits for its answer (within the
 * operation timeout) and returns 0, EACCES for wrong credentials or an
 * unknown user (the directory does not tell them apart), or a connection
 * error.  Each bind replaces the identity of the one before on DIR (a
 * failed one leaves it anonymous), so DIR serves check after check.
 */
int kw_user_check_password_send(struct kw_dir *dir, const struct kw_name *name,
				const char *password, int *msgid_out);
int kw_user_check_password_recv(struct kw_dir *dir, int msgid);
void kw_user_clear(struct kw_user *user);
/* Free a NULL-terminated list of role names (as kw_user.roles); NULL ok. */
void kw_roles_free(char **roles);
void kw_user_list_free(struct kw_user *list, size_t n);

/* ---- what a login needs, in one search ------------------------------ */

struct kw_login_facts {
	bool tenant_found;
	bool user_found; /* the user exists, and its uid is in range */
	struct kw_tenant tenant;
	struct kw_user user;    /* with roles; free with kw_user_clear() */
	struct kw_lock address; /* the source address's counters, if asked */
	/*
	 * The second factor, as the lookup saw it: the tenant requires one
	 * (kw_mfa_policy.required), the user has a token, active or being
	 * enrolled.  A login with neither has no code to check.
	 */
	bool mfa_required;
	bool totp_token;
};

/*
 * Everything a login decision needs about NAME: the tenant's state, the
 * user's entry and roles, found with one subtree search of the tenant
 * (so that a login costs one round trip for its facts, and an unknown
 * name costs the same as a known one), in two halves as
 * kw_user_check_password_send/recv.  ADDRESS, a kw_address_key() or
 * NULL, adds that source address's failure counters of the tenant to the
 * same search.  Only entries at the places the model puts them count.
 * _recv returns 0 with the found flags set, or a connection error;
 * EINVAL for an invalid name.
 */
int kw_login_lookup_send(struct kw_dir *dir, const struct kw_name *name,
			 const char *address, int *msgid_out);
int kw_login_lookup_recv(struct kw_dir *dir, int msgid,
			 const struct kw_name *name, const char *address,
			 struct kw_login_facts *out);

/* ---- roles ------------------------------------------------------------ */

struct kw_role {
	char name[KW_ROLE_MAX + 1];
	char description[KW_DISPLAY_MAX + 1];
	size_t n_members;
};

int kw_role_create(struct kw_dir *dir, const char *tenant, const char *role,
		   const char *description);
int kw_role_list(struct kw_dir *dir, const char *tenant,
		 struct kw_role **list_out, size_t *n_out);
int kw_role_delete(struct kw_dir *dir, const char *tenant, const char *role);
int kw_role_grant(struct kw_dir *dir, const char *role,
		  const struct kw_name *user);
int kw_role_revoke(struct kw_dir *dir, const char *role,
		   const struct kw_name *user);
/* The members of ROLE as user names (NULL-terminated, free each + array). */
int kw_role_members(struct kw_dir *dir, const char *tenant, const char *role,
		    char ***members_out);

#endif
