/*
 * kw_mfa_dir.h - the directory side of TOTP: secrets, steps, recovery codes,
 * tenant MFA policy.
 *
 * A user's token lives on the user's entry (kwUser):
 *
 *   kwTotpSecret    the secret, sealed by kw_seal() for (tenant, user)
 *   kwTotpState     "pending" (enrolled, first code not yet shown) or
 *                   "active"
 *   kwTotpLastStep  the last time step whose code was spent
 *   kwRecoveryCode  one kw_recovery_hash() per unused recovery code
 *
 * and the tenant's policy on its entry (kwTenant): kwMfaPolicy,
 * kwMfaGraceUntil, kwMfaSelfEnrol, kwMfaIssuer.  Only keywardd's service
 * identity and root read or write secrets and recovery codes; a tenant
 * administrator may delete them (a reset) and read the state, the step
 * and the failure counters (etc/ldap/keyward-database.ldif.in).
 *
 * Every change that another host could race is one atomic operation of
 * the directory: a modify under an assertion (RFC 4528) where a state must
 * hold, the delete of one value where a code is spent.  Nothing here reads
 * a value and then writes what it decided from it.
 *
 * Errors are those of kw_dir.h; ECANCELED always means that the asserted
 * state did not hold and nothing changed.
 */
#ifndef KW_MFA_DIR_H
#define KW_MFA_DIR_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "kw_dir.h"
#include "kw_mfa.h"

enum kw_totp_state {
	KW_TOTP_NONE,    /* no token, or one the directory does not know */
	KW_TOTP_PENDING, /* stored, waiting for its first code */
	KW_TOTP_ACTIVE,  /* confirmed: logins need its codes */
};

struct kw_mfa_policy {
	/*
	 * kwMfaPolicy: absent or "optional" is optional; any other value
	 * (a typing error written with an LDAP tool) counts as required,
	 * so that a broken setting never weakens a login.
	 */
	bool required;
	time_t grace_until;              /* kwMfaGraceUntil, 0: none */
	bool self_enrol;                 /* kwMfaSelfEnrol, absent: false */
	char issuer[KW_DISPLAY_MAX + 1]; /* kwMfaIssuer, or "" */
	char display_name[KW_DISPLAY_MAX + 1]; /* as struct kw_tenant's */
	long code_user_limit; /* kwCodeUserLimit, 0: the host's limit */
};

/*
 * The issuer an authenticator app shows: HOST_ISSUER (the host's
 * mfa.issuer; NULL or "" for none), else the tenant's kwMfaIssuer, else
 * its display name (which is the tenant's name when it has none).
 */
const char *kw_mfa_issuer(const struct kw_mfa_policy *p,
			  const char *host_issuer);

struct kw_mfa_user {
	enum kw_totp_state state; /* kwTotpState; another value is NONE */
	char sealed[KW_SEAL_TEXT_MAX + 1]; /* "kw1:...", or "" */
	long long last_step;               /* -1 if none */
	char **recovery; /* stored hashes, NULL-terminated, or NULL */
	size_t n_recovery;
	struct kw_lock lock; /* the user's failure counters (kw_lock_fill) */
};

struct kw_mfa_facts {
	bool tenant_found, user_found;
	struct kw_mfa_policy policy;
	struct kw_mfa_user user;
	struct kw_lock address; /* the source address's counters, if asked */
};

/*
 * Everything a code check needs about NAME, in one subtree search of the
 * tenant whatever its size: the tenant's policy, the user's token, and,
 * with ADDRESS_KEY (a kw_address_key(), or NULL), that address's failure
 * counters of the tenant.  Each entry counts only at the DN where the
 * model puts it.  Returns 0 with the found flags set (a missing tenant
 * is no error), EINVAL for an invalid name or key, or a connection
 * error.  Free with kw_mfa_facts_clear().
 */
int kw_mfa_lookup(struct kw_dir *dir, const struct kw_name *name,
		  const char *address_key, struct kw_mfa_facts *out);
/* Wipe the sealed text and free the hashes.  NULL is fine. */
void kw_mfa_facts_clear(struct kw_mfa_facts *f);
void kw_mfa_user_clear(struct kw_mfa_user *u);

/*
 * The token of NAME as the connection's identity may read it: a tenant
 * administrator gets no sealed text and no recovery hashes.  ENOENT: no
 * such user.  Free with kw_mfa_user_clear().
 */
int kw_mfa_get(struct kw_dir *dir, const struct kw_name *name,
	       struct kw_mfa_user *out);
/* The policy of TENANT.  ENOENT: no such tenant. */
int kw_mfa_policy_get(struct kw_dir *dir, const char *tenant,
		      struct kw_mfa_policy *out);

/*
 * Store SEALED (a kw_seal() text) as NAME's token, pending, in one
 * modify: any former secret, step and recovery codes go with it.
 */
int kw_mfa_store_pending(struct kw_dir *dir, const struct kw_name *name,
			 const char *sealed);
/*
 * Activate NAME's pending token after its first code, of step STEP, and
 * give it the N (1..KW_RECOVERY_CODES_MAX) recovery HASHES.  ECANCELED:
 * the token was not pending (activated or reset meanwhile).
 */
int kw_mfa_activate(struct kw_dir *dir, const struct kw_name *name,
		    long long step, char *const *hashes, size_t n);
/*
 * Spend the code of STEP: store it as the last step, under the assertion
 * that the token is active and no step at or after STEP was spent.
 * ECANCELED: that step or a later one was used already (a replay, or
 * another host won the race), or the token is no longer active.
 */
int kw_mfa_advance_step(struct kw_dir *dir, const struct kw_name *name,
			long long step);
/*
 * Spend the recovery code whose STORED_HASH kw_recovery_match() found,
 * by deleting that one value.  ENODATA: it was spent already (the delete
 * of a value is atomic, so two hosts never both succeed).
 */
int kw_mfa_use_recovery(struct kw_dir *dir, const struct kw_name *name,
			const char *stored_hash);
/*
 * Replace every recovery code of NAME's active token with the N HASHES.
 * ECANCELED: the token is not active.
 */
int kw_mfa_set_recovery(struct kw_dir *dir, const struct kw_name *name,
			char *const *hashes, size_t n);
/*
 * Remove NAME's token: secret, state, last step, recovery codes and the
 * code failure counters.  Root and the tenant's administrators may; no
 * error when there was nothing to remove.
 */
int kw_mfa_reset(struct kw_dir *dir, const struct kw_name *name);

/* What kw_mfa_policy_set() changes: only the fields whose set_ is true. */
struct kw_mfa_policy_change {
	bool set_required;
	bool required;
	bool set_grace;
	time_t grace_until; /* 0 removes */
	bool set_self_enrol;
	bool self_enrol;
	bool set_issuer;
	const char *issuer; /* "" removes; at most KW_DISPLAY_MAX bytes */
};

/*
 * Change TENANT's policy in one modify, so that either every change is
 * made or none.  EINVAL for nothing to change or a bad value (an issuer
 * too long or holding control characters, a negative time).
 */
int kw_mfa_policy_set(struct kw_dir *dir, const char *tenant,
		      const struct kw_mfa_policy_change *c);

#endif
