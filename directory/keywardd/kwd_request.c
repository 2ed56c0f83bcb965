/*
 * kwd_request.c - one request: read, decide, log, reply.
 *
 * AUTHENTICATE walks the same path for every name: a lookup on the
 * service connection and a bind as the user on the worker's own password
 * connection, whether the name is unknown, deactivated or suspended, and
 * with a well-formed stand-in name when the given one is not valid (an
 * invalid name never reaches the directory).  The client hears the same
 * words for every refusal; the one log line per decision says which it
 * was.  A name that did not resolve to an account is logged only as a
 * keyed hash: people type passwords into the user field.
 */
#include "config.h"

#include <errno.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "keywardd.h"
#include "kw_audit.h"
#include "kw_mfa.h"
#include "kw_mfa_dir.h"
#include "kw_log.h"
#include "kw_secret.h"

#define MSG_AUTH_DENIED "Authentication failed"
#define MSG_ACCOUNT_DENIED "Access denied"
#define MSG_NEW_AUTHTOK "The password must be changed now"
#define MSG_UNAVAILABLE "The directory service is not available"
#define MSG_BAD_REQUEST "Malformed request"
#define MSG_CODE_PROMPT "Verification code: "
#define MSG_CODE_DENIED "Verification failed"
#define MSG_ENROL_PROMPT "Code shown by the app: "

/*
 * The stand-in for a name that failed validation: well-formed, so that
 * the model builds its DN as for any other name, and outside what kwadm
 * hands out in practice.  Its result is never used.
 */
static const struct kw_name stand_in = {"_keywardd_nobody", "invalid"};

enum outcome {
	OUTCOME_SUCCESS,
	OUTCOME_WRONG_PASSWORD,
	OUTCOME_UNKNOWN_USER,
	OUTCOME_EMPTY_PASSWORD,
	OUTCOME_INVALID_NAME,
	OUTCOME_DEACTIVATED,
	OUTCOME_SUSPENDED,
	OUTCOME_MISSING_ROLE,
	OUTCOME_MUST_CHANGE_PASSWORD,
	OUTCOME_UNAVAILABLE,
	OUTCOME_LOCKED,
	/* TOTP: decisions */
	OUTCOME_WRONG_CODE,
	OUTCOME_REPLAYED_CODE,
	OUTCOME_MALFORMED_CODE,
	OUTCOME_RECOVERY_CODE, /* a success, with a recovery code */
	OUTCOME_ENROLLED,      /* a success: the first code of a new token */
	OUTCOME_MFA_REQUIRED,  /* no token, and the tenant requires one */
	OUTCOME_NO_PASSWORD,   /* a code asked without an accepted password */
	/* TOTP: what to ask the user next (not recorded) */
	OUTCOME_CODE_REQUIRED,
	OUTCOME_ENROL,
	OUTCOME_NOT_ENROLLED,
};

static const char *const outcome_names[] = {
	[OUTCOME_SUCCESS] = "success",
	[OUTCOME_WRONG_PASSWORD] = "wrong_password",
	[OUTCOME_UNKNOWN_USER] = "unknown_user",
	[OUTCOME_EMPTY_PASSWORD] = "empty_password",
	[OUTCOME_INVALID_NAME] = "invalid_name",
	[OUTCOME_DEACTIVATED] = "deactivated",
	[OUTCOME_SUSPENDED] = "suspended",
	[OUTCOME_MISSING_ROLE] = "missing_role",
	[OUTCOME_MUST_CHANGE_PASSWORD] = "must_change_password",
	[OUTCOME_UNAVAILABLE] = "unavailable",
	[OUTCOME_LOCKED] = "locked",
	[OUTCOME_WRONG_CODE] = "wrong_code",
	[OUTCOME_REPLAYED_CODE] = "replayed_code",
	[OUTCOME_MALFORMED_CODE] = "malformed_code",
	[OUTCOME_RECOVERY_CODE] = "recovery_code",
	[OUTCOME_ENROLLED] = "enrolled",
	[OUTCOME_MFA_REQUIRED] = "mfa_required",
	[OUTCOME_NO_PASSWORD] = "password_not_checked",
	[OUTCOME_CODE_REQUIRED] = "code_required",
	[OUTCOME_ENROL] = "enrol",
	[OUTCOME_NOT_ENROLLED] = "not_enrolled",
};

static bool is_success(enum outcome o)
{
	return o == OUTCOME_SUCCESS || o == OUTCOME_RECOVERY_CODE ||
	       o == OUTCOME_ENROLLED;
}

/* Steps of a TOTP login that ask for more: logged, not recorded. */
static bool is_prompt(enum outcome o)
{
	return o == OUTCOME_CODE_REQUIRED || o == OUTCOME_ENROL ||
	       o == OUTCOME_NOT_ENROLLED;
}

/* What the directory said about one name. */
struct facts {
	struct kw_login_facts login;
	int bind_rc;
};

/* One request being answered. */
struct call {
	struct kwd_worker *w;
	const struct kwd_conf *conf;
	uid_t uid;
	pid_t pid;
	struct kw_request req;
	struct kw_reply reply;
	struct kw_name name;
	bool name_valid;
	bool resolved; /* the name is an account: log it in clear */
	bool tenant_known;
	char name_hash[2 * KWD_NAME_HASH_BYTES + 2];
	char error[KW_DIR_ERROR_MAX]; /* why the directory failed */
	time_t now;                   /* when the request came */
	/* the source address's key for the lockout counters */
	char address[KW_ADDRESS_KEY_MAX + 1];
	struct facts facts; /* what the directory said; kept until settled */
	struct kw_mfa_facts mfa; /* the same, for a TOTP request */
	enum outcome outcome;
	bool user_locked; /* which lock refused it, for the log */
};

/* ---- the directory connections of a worker ----------------------------- */

void kwd_worker_drop_connections(struct kwd_worker *w)
{
	kw_dir_free(w->service);
	kw_dir_free(w->password);
	w->service = NULL;
	w->password = NULL;
}

static bool is_connection_error(int rc)
{
	return rc == ECONNREFUSED || rc == ETIMEDOUT || rc == EPROTO;
}

static int open_connection(struct call *c, enum kw_dir_identity as,
			   struct kw_dir **dir)
{
	struct kw_dir *d = NULL;
	int rc;

	if (*dir != NULL)
		return 0;
	rc = kw_dir_open(&c->conf->cfg, as, NULL, NULL, &d);
	if (rc != 0) {
		snprintf(c->error, sizeof(c->error), "%s connection: %s",
			 as == KW_DIR_AS_SERVICE ? "service" : "password",
			 d != NULL && kw_dir_error(d)[0] != '\0'
				 ? kw_dir_error(d)
				 : strerror(rc));
		kw_dir_free(d);
		return rc;
	}
	kw_log(LOG_DEBUG, "worker %u: %s connection to %s", c->w->id,
	       as == KW_DIR_AS_SERVICE ? "service" : "password", kw_dir_uri(d));
	*dir = d;
	return 0;
}

/*
 * The directory could not answer RC on DIR: remember why, and drop the
 * connections if this one is broken, so that the next request opens new
 * ones (and fails over across the URIs while doing so).
 */
static int directory_failed(struct call *c, struct kw_dir *dir, int rc,
			    const char *what)
{
	snprintf(c->error, sizeof(c->error), "%s: %s", what,
		 kw_dir_error(dir)[0] != '\0' ? kw_dir_error(dir)
					      : strerror(rc));
	if (is_connection_error(rc))
		kwd_worker_drop_connections(c->w);
	return rc;
}

static void facts_clear(struct facts *f)
{
	kw_user_clear(&f->login.user);
	memset(f, 0, sizeof(*f));
}

/*
 * Ask the directory once: the lookup of NAME on the service connection
 * and, with PASSWORD, a bind as NAME on the worker's password connection.
 * Both go out before either answer is read, so that the directory works
 * on them side by side.  One search returns the tenant, the user and the
 * user's roles, so that a name that is not there costs the same as one
 * that is.  The password connection serves binds only, each of which
 * replaces the identity of the one before (a failed bind leaves it
 * anonymous), so it is not reset between checks.
 */
static int ask_once(struct call *c, const struct kw_name *name,
		    const char *password, struct facts *f)
{
	struct kwd_worker *w = c->w;
	int lookup_id = -1, bind_id = -1, rc, bind_rc = 0;

	rc = open_connection(c, KW_DIR_AS_SERVICE, &w->service);
	if (rc == 0 && password != NULL)
		rc = open_connection(c, KW_DIR_ANONYMOUS, &w->password);
	if (rc != 0)
		return rc;
	rc = kw_login_lookup_send(w->service, name, c->address, &lookup_id);
	if (rc == 0 && password != NULL)
		bind_rc = kw_user_check_password_send(w->password, name,
						      password, &bind_id);
	if (rc == 0)
		rc = kw_login_lookup_recv(w->service, lookup_id, name,
					  c->address, &f->login);
	/*
	 * A dead or silent directory already cost the lookup its timeout:
	 * the bind's connection is dropped with the lookup's instead of
	 * being waited on for as long again.
	 */
	if (bind_id >= 0 && !is_connection_error(rc))
		bind_rc = kw_user_check_password_recv(w->password, bind_id);
	f->bind_rc = bind_rc;
	if (rc != 0)
		return directory_failed(c, w->service, rc, "lookup");
	if (bind_rc != 0 && bind_rc != EACCES && bind_rc != EPERM)
		return directory_failed(c, w->password, bind_rc,
					"password check");
	return 0;
}

/*
 * Ask the directory, once more on fresh connections if warm ones turn out
 * to be dead (a directory server restarted since they were made).
 */
static int ask(struct call *c, const struct kw_name *name, const char *password,
	       struct facts *f)
{
	bool warm = c->w->service != NULL || c->w->password != NULL;
	int rc, attempt;

	for (attempt = 0;; attempt++) {
		rc = ask_once(c, name, password, f);
		if (rc != ECONNREFUSED || !warm || attempt > 0)
			return rc;
		kw_log(LOG_INFO,
		       "worker %u: directory connection lost (%s); "
		       "reconnecting",
		       c->w->id, c->error);
		facts_clear(f);
		warm = false;
	}
}

/* ---- logging ----------------------------------------------------------- */

static void hash_name(const struct kwd_server *srv, const char *name, char *out,
		      size_t outsz)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	size_t i;

	if (HMAC(EVP_sha256(), srv->name_key, sizeof(srv->name_key),
		 (const unsigned char *)name, strlen(name), md,
		 &mdlen) == NULL ||
	    mdlen < KWD_NAME_HASH_BYTES ||
	    outsz < 2 * KWD_NAME_HASH_BYTES + 2) {
		snprintf(out, outsz, "#?");
		return;
	}
	out[0] = '#';
	for (i = 0; i < KWD_NAME_HASH_BYTES; i++) {
		out[1 + 2 * i] = hex[md[i] >> 4];
		out[2 + 2 * i] = hex[md[i] & 0x0f];
	}
	out[1 + 2 * KWD_NAME_HASH_BYTES] = '\0';
}

static int outcome_priority(enum outcome o)
{
	switch (o) {
	case OUTCOME_SUCCESS:
	case OUTCOME_MUST_CHANGE_PASSWORD:
	case OUTCOME_RECOVERY_CODE:
	case OUTCOME_ENROLLED:
	case OUTCOME_CODE_REQUIRED:
	case OUTCOME_ENROL:
	case OUTCOME_NOT_ENROLLED:
		return LOG_INFO;
	case OUTCOME_UNAVAILABLE:
		return LOG_ERR;
	default:
		return LOG_NOTICE;
	}
}

static void set_reply(struct call *c, enum kw_status status, const char *msg);

static const char *kind_of(enum kw_proto_type type)
{
	switch (type) {
	case KW_PROTO_AUTHENTICATE:
		return "auth";
	case KW_PROTO_ACCOUNT:
		return "account";
	case KW_PROTO_TOTP:
		return "totp";
	default:
		return "other";
	}
}

/*
 * Should the decision go to the tenant's log?  When the name had a
 * tenant that the directory knows, or the directory was not asked or did
 * not answer (the delivery drops the record if the tenant turns out not
 * to exist).  Names without a valid tenant have only the log line.
 */
static bool to_tenant_log(const struct call *c, enum outcome o)
{
	if (!c->name_valid || !kwd_audit_enabled(&c->w->srv->audit) ||
	    is_prompt(o))
		return false;
	return c->tenant_known || o == OUTCOME_UNAVAILABLE ||
	       o == OUTCOME_EMPTY_PASSWORD;
}

/*
 * The audit record of a decision, spooled before the reply is sent.
 * False if it should have been recorded and could not be.
 */
static bool record_decision(struct call *c, enum outcome o)
{
	struct kwd_audit *a = &c->w->srv->audit;
	struct kw_audit_record r;
	struct timespec ts;

	if (!to_tenant_log(c, o))
		return true;
	memset(&r, 0, sizeof(r));
	clock_gettime(CLOCK_REALTIME, &ts);
	r.time_us = (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
	if (kw_audit_new_id(r.time_us, r.id, sizeof(r.id)) != 0)
		goto failed;
	snprintf(r.tenant, sizeof(r.tenant), "%s", c->name.tenant);
	if (c->resolved)
		snprintf(r.user, sizeof(r.user), "%s", c->name.user);
	else if (kwd_audit_name_hash(a, c->name.tenant, c->req.user,
				     r.user_hash, sizeof(r.user_hash)) != 0)
		goto failed;
	kw_audit_clean_text(r.service, sizeof(r.service), c->req.service);
	snprintf(r.host, sizeof(r.host), "%s", kwd_audit_host(a));
	kw_audit_clean_text(r.rhost, sizeof(r.rhost), c->req.rhost);
	kw_audit_clean_text(r.tty, sizeof(r.tty), c->req.tty);
	kw_audit_clean_text(r.request_id, sizeof(r.request_id),
			    c->req.request_id);
	snprintf(r.kind, sizeof(r.kind), "%s", kind_of(c->req.type));
	snprintf(r.outcome, sizeof(r.outcome), "%s",
		 is_success(o) ? KW_AUDIT_SUCCESS : KW_AUDIT_FAIL);
	snprintf(r.reason, sizeof(r.reason), "%s", outcome_names[o]);
	/* a login that goes on: its next step's record syncs this one */
	if (kwd_audit_submit(a, &r,
			     is_success(o) &&
				     c->req.type != KW_PROTO_ACCOUNT) == 0)
		return true;
failed:
	kw_log(LOG_ERR,
	       "req=%s: the audit record of this decision could not "
	       "be stored",
	       c->req.request_id);
	return false;
}

/* The one line of a decision, and its audit record. */
static void log_decision(struct call *c, enum outcome o, const char *extra)
{
	struct kw_log_ctx ctx = {
		.request_id = c->req.request_id,
		.tenant = c->tenant_known ? c->name.tenant : NULL,
		.user = c->resolved ? c->name.user : NULL,
		.service = c->req.service,
		.rhost = c->req.rhost[0] != '\0' ? c->req.rhost : NULL,
	};
	char tty[KW_LOG_FIELD_BUF], error[KW_LOG_FIELD_BUF * 2];

	/*
	 * What cannot be recorded is not allowed: a success whose record
	 * did not reach the spool is answered as if the directory were
	 * away (fail closed).
	 */
	if (!record_decision(c, o) && c->reply.status != KW_STATUS_DENIED) {
		/* nothing of the success goes out: ticket, info, no code */
		kw_reply_clear(&c->reply);
		snprintf(c->reply.request_id, sizeof(c->reply.request_id), "%s",
			 c->req.request_id);
		set_reply(c, KW_STATUS_UNAVAILABLE, MSG_UNAVAILABLE);
		extra = " audit=not_stored";
	}

	if (!c->resolved && c->name_hash[0] == '\0')
		hash_name(c->w->srv, c->req.user, c->name_hash,
			  sizeof(c->name_hash));
	kw_log_sanitize(c->req.tty[0] != '\0' ? c->req.tty : "-", tty,
			sizeof(tty));
	error[0] = '\0';
	if (o == OUTCOME_UNAVAILABLE && c->error[0] != '\0')
		snprintf(error, sizeof(error), " error=\"%s\"", c->error);
	kw_log_ctx(outcome_priority(o), &ctx,
		   "%s uid=%lu pid=%ld tty=%s%s%s outcome=%s status=%s%s%s",
		   kw_proto_type_name(c->req.type), (unsigned long)c->uid,
		   (long)c->pid, tty,
		   c->resolved ? "" : " name=", c->resolved ? "" : c->name_hash,
		   outcome_names[o], kw_proto_status_name(c->reply.status),
		   extra ? extra : "", error);
}

/* ---- tickets ----------------------------------------------------------- */

/*
 * A ticket says: keywardd accepted this login's password at ISSUED.  It
 * is "<issued, hex>:<HMAC-SHA256 under the ticket key>" over the request
 * id, the name, the service and the client's uid and pid, so that only
 * the same process, in the same login, can show it, and only for
 * KWD_TICKET_TTL_S.  The key is new at every start of keywardd: no state
 * to keep, and nothing to lose when a table fills up.
 */
static bool ticket_mac(const struct call *c, unsigned long long issued,
		       char out[2 * 32 + 1])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	char data[512];
	unsigned int mdlen = 0;
	int n;

	n = snprintf(data, sizeof(data), "%s%c%s%c%s%c%s%c%lu%c%ld%c%llx",
		     c->req.request_id, 0, c->name.user, 0, c->name.tenant, 0,
		     c->req.service, 0, (unsigned long)c->uid, 0, (long)c->pid,
		     0, issued);
	if (n < 0 || (size_t)n >= sizeof(data) ||
	    HMAC(EVP_sha256(), c->w->srv->ticket_key,
		 sizeof(c->w->srv->ticket_key), (const unsigned char *)data,
		 (size_t)n, md, &mdlen) == NULL ||
	    mdlen != 32)
		return false;
	for (unsigned int i = 0; i < 32; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 0x0f];
	}
	out[64] = '\0';
	return true;
}

static void issue_ticket(struct call *c)
{
	char mac[65];

	if (ticket_mac(c, (unsigned long long)c->now, mac))
		snprintf(c->reply.ticket, sizeof(c->reply.ticket), "%llx:%s",
			 (unsigned long long)c->now, mac);
}

static bool ticket_valid(const struct call *c)
{
	const char *colon = strchr(c->req.ticket, ':');
	unsigned long long issued;
	char mac[65], *end;

	if (colon == NULL || colon == c->req.ticket || strlen(colon + 1) != 64)
		return false;
	errno = 0;
	issued = strtoull(c->req.ticket, &end, 16);
	if (errno != 0 || end != colon || issued > (unsigned long long)c->now ||
	    (unsigned long long)c->now - issued > KWD_TICKET_TTL_S)
		return false;
	return ticket_mac(c, issued, mac) &&
	       kw_secret_equal(mac, colon + 1, 64);
}

/* ---- decisions --------------------------------------------------------- */

static void set_reply(struct call *c, enum kw_status status, const char *msg)
{
	c->reply.status = status;
	snprintf(c->reply.message, sizeof(c->reply.message), "%s", msg);
	if (c->resolved &&
	    (status == KW_STATUS_OK || status == KW_STATUS_NEW_AUTHTOK_REQD))
		kw_name_format(&c->name, c->conf->cfg.separator,
			       c->reply.canonical_user,
			       sizeof(c->reply.canonical_user));
}

/* The key under which this login's AUTHENTICATE leaves its facts. */
static void handover_key(const struct call *c, struct kwd_handover_key *key)
{
	memset(key, 0, sizeof(*key));
	memcpy(key->request_id, c->req.request_id, sizeof(key->request_id));
	key->name = c->name;
	memcpy(key->service, c->req.service, sizeof(key->service));
	key->uid = c->uid;
	key->pid = c->pid;
}

static void parse_name(struct call *c)
{
	const char *def = c->req.default_tenant[0] != '\0'
				  ? c->req.default_tenant
				  : c->conf->cfg.default_tenant;

	c->name_valid = kw_name_parse(c->req.user, c->conf->cfg.separator, def,
				      &c->name) == 0;
}

/* The lower of the host's limit and the tenant's own, if it has one. */
static long effective_limit(long host, long tenant)
{
	return tenant > 0 && tenant < host ? tenant : host;
}

/*
 * Which lock refuses this attempt, if any: the source address's (every
 * name tried from it in this tenant), then the user's.
 */
static bool is_locked(struct call *c, const struct facts *f)
{
	if (kw_lock_active(&f->login.address, c->now))
		return true;
	if (c->resolved && kw_lock_active(&f->login.user.lock, c->now)) {
		c->user_locked = true;
		return true;
	}
	return false;
}

static enum outcome decide_authenticate(struct call *c, int rc,
					const struct facts *f)
{
	if (!c->name_valid)
		return OUTCOME_INVALID_NAME;
	if (rc != 0)
		return OUTCOME_UNAVAILABLE;
	c->tenant_known = f->login.tenant_found;
	c->resolved = f->login.tenant_found && f->login.user_found;
	if (c->tenant_known && is_locked(c, f))
		return OUTCOME_LOCKED;
	if (!c->resolved)
		return OUTCOME_UNKNOWN_USER;
	/*
	 * The state comes before the password: deactivation locks the
	 * account in ppolicy too, which refuses the bind whatever the
	 * password, so only the state can be told.
	 */
	if (f->login.tenant.suspended)
		return OUTCOME_SUSPENDED;
	if (f->login.user.deactivated)
		return OUTCOME_DEACTIVATED;
	if (f->bind_rc != 0)
		return OUTCOME_WRONG_PASSWORD;
	return OUTCOME_SUCCESS;
}

static const char *authenticate_note(const struct call *c)
{
	if (c->outcome == OUTCOME_LOCKED)
		return c->user_locked ? " lock=user" : " lock=address";
	if (c->outcome == OUTCOME_SUCCESS &&
	    c->facts.login.user.must_change_password)
		return " must_change_password=yes";
	if (c->outcome == OUTCOME_SUCCESS && c->reply.no_code)
		return " code=none";
	return NULL;
}

static void handle_authenticate(struct call *c)
{
	struct facts *f = &c->facts;
	enum outcome o;
	int rc;

	parse_name(c);
	if (c->req.password[0] == '\0') {
		/*
		 * Refused before the directory: an empty password binds
		 * anonymously.  The client knows what it sent, so the
		 * quicker answer tells it nothing new.
		 */
		c->outcome = OUTCOME_EMPTY_PASSWORD; /* nothing to settle */
		set_reply(c, KW_STATUS_DENIED, MSG_AUTH_DENIED);
		log_decision(c, c->outcome, NULL);
		return;
	}
	rc = ask(c, c->name_valid ? &c->name : &stand_in, c->req.password, f);
	o = decide_authenticate(c, rc, f);
	c->outcome = o;
	if (o == OUTCOME_SUCCESS) {
		set_reply(c, KW_STATUS_OK, "");
		issue_ticket(c);
		/* what the TOTP step would find: nothing to check */
		c->reply.no_code =
			!f->login.mfa_required && !f->login.totp_token;
	} else if (o == OUTCOME_UNAVAILABLE) {
		set_reply(c, KW_STATUS_UNAVAILABLE, MSG_UNAVAILABLE);
	} else {
		set_reply(c, KW_STATUS_DENIED, MSG_AUTH_DENIED);
	}
	log_decision(c, o, authenticate_note(c));
	if (o == OUTCOME_SUCCESS && c->reply.status == KW_STATUS_OK) {
		struct kwd_handover_key key;

		handover_key(c, &key);
		kwd_handover_put(&c->w->srv->handover, &key, &f->login,
				 c->conf->cfg.cache_ttl_s);
	}
}

/* Count a failure on a counter; lock it when it reaches LIMIT. */
static void count_and_lock(struct call *c, const char *what, int rc, long count,
			   long limit, bool user, enum kw_budget budget)
{
	const char *reason = budget == KW_BUDGET_CODE ? "code" : "password";
	const struct kw_config *cfg = &c->conf->cfg;
	struct kw_dir *dir = c->w->service;
	time_t until = c->now + cfg->lock_time_s;

	if (rc != 0) {
		kw_log(LOG_WARNING,
		       "req=%s: the %s failure counter was not updated: %s",
		       c->req.request_id, what, kw_dir_error(dir));
		return;
	}
	if (count < limit)
		return;
	rc = user ? kw_lock_set_user(dir, &c->name, until, reason)
		  : kw_lock_set_address(dir, c->name.tenant, c->address, until,
					reason);
	if (rc != 0) {
		kw_log(LOG_WARNING, "req=%s: the %s lock was not set: %s",
		       c->req.request_id, what, kw_dir_error(dir));
		return;
	}
	kw_log(LOG_NOTICE,
	       "req=%s tenant=%s %s=%s locked for %d s after %ld failed "
	       "%ss",
	       c->req.request_id, c->name.tenant, user ? "user" : "address",
	       user ? c->name.user : c->address, cfg->lock_time_s, count,
	       reason);
}

/*
 * After the reply: the lockout counters.  Done once the client has its
 * answer, so that a failure costs the client no more time than a
 * success, whether or not the name exists (the writes differ).  The
 * price: a burst of attempts in flight at once can pass a limit by at
 * most their number before the lock is seen.
 */
static void settle_authenticate(struct call *c)
{
	const struct kw_config *cfg = &c->conf->cfg;
	const struct kw_login_facts *l = &c->facts.login;
	struct kw_dir *dir = c->w->service;
	long count = 0;
	int rc;

	if (dir == NULL || !c->tenant_known)
		return;
	if (c->outcome == OUTCOME_WRONG_PASSWORD ||
	    c->outcome == OUTCOME_UNKNOWN_USER) {
		rc = kw_lock_count_address(dir, c->name.tenant, c->address,
					   KW_BUDGET_PASSWORD, c->now,
					   cfg->lock_window_s, &count);
		count_and_lock(
			c, "address", rc, count,
			effective_limit(cfg->password_address_limit,
					l->tenant.password_address_limit),
			false, KW_BUDGET_PASSWORD);
	}
	if (c->outcome == OUTCOME_WRONG_PASSWORD) {
		rc = kw_lock_count_user(dir, &c->name, KW_BUDGET_PASSWORD,
					c->now, cfg->lock_window_s, &count);
		count_and_lock(c, "user", rc, count,
			       effective_limit(cfg->password_user_limit,
					       l->tenant.password_user_limit),
			       true, KW_BUDGET_PASSWORD);
	}
	if (c->outcome == OUTCOME_SUCCESS &&
	    l->user.lock.failures[KW_BUDGET_PASSWORD] > 0) {
		rc = kw_lock_reset_user(dir, &c->name, false);
		if (rc != 0)
			kw_log(LOG_WARNING,
			       "req=%s: the user's failure counter was not "
			       "reset: %s",
			       c->req.request_id, kw_dir_error(dir));
	}
}

/* Does USER hold one of the comma-separated ROLES? */
static bool holds_a_role(const struct kw_user *user, const char *roles)
{
	char list[KW_PROTO_ROLES_MAX + 1], *save = NULL, *role;
	size_t i;

	snprintf(list, sizeof(list), "%s", roles);
	for (role = strtok_r(list, ", \t", &save); role != NULL;
	     role = strtok_r(NULL, ", \t", &save)) {
		if (!kw_name_valid_role(role))
			continue;
		for (i = 0; user->roles != NULL && user->roles[i] != NULL; i++)
			if (strcmp(user->roles[i], role) == 0)
				return true;
	}
	return false;
}

static void handle_account(struct call *c)
{
	struct kwd_handover_key key;
	struct facts f = {0};
	bool handed_over;
	enum outcome o;
	int rc = 0;

	parse_name(c);
	if (!c->name_valid) {
		set_reply(c, KW_STATUS_DENIED, MSG_ACCOUNT_DENIED);
		log_decision(c, OUTCOME_INVALID_NAME, NULL);
		return;
	}
	handover_key(c, &key);
	handed_over = kwd_handover_take(&c->w->srv->handover, &key,
					c->conf->cfg.cache_ttl_s, &f.login);
	if (!handed_over)
		rc = ask(c, &c->name, NULL, &f);
	if (rc != 0) {
		o = OUTCOME_UNAVAILABLE;
	} else {
		c->tenant_known = f.login.tenant_found;
		c->resolved = f.login.tenant_found && f.login.user_found;
		if (!c->resolved)
			o = OUTCOME_UNKNOWN_USER;
		else if (f.login.tenant.suspended)
			o = OUTCOME_SUSPENDED;
		else if (f.login.user.deactivated)
			o = OUTCOME_DEACTIVATED;
		else if (c->req.roles[0] != '\0' &&
			 !holds_a_role(&f.login.user, c->req.roles))
			o = OUTCOME_MISSING_ROLE;
		else if (f.login.user.must_change_password)
			o = OUTCOME_MUST_CHANGE_PASSWORD;
		else
			o = OUTCOME_SUCCESS;
	}
	if (o == OUTCOME_SUCCESS)
		set_reply(c, KW_STATUS_OK, "");
	else if (o == OUTCOME_MUST_CHANGE_PASSWORD)
		set_reply(c, KW_STATUS_NEW_AUTHTOK_REQD, MSG_NEW_AUTHTOK);
	else if (o == OUTCOME_UNAVAILABLE)
		set_reply(c, KW_STATUS_UNAVAILABLE, MSG_UNAVAILABLE);
	else
		set_reply(c, KW_STATUS_DENIED, MSG_ACCOUNT_DENIED);
	log_decision(c, o,
		     handed_over ? " facts=authenticate" : " facts=directory");
	facts_clear(&f);
}

/* ---- TOTP ---------------------------------------------------------- */

/*
 * The directory's answer for a TOTP request, on the service connection,
 * once more on a fresh one if the warm one turns out to be dead.
 */
static int ask_mfa(struct call *c)
{
	struct kwd_worker *w = c->w;
	int rc, attempt;

	for (attempt = 0; attempt < 2; attempt++) {
		bool warm = w->service != NULL;

		rc = open_connection(c, KW_DIR_AS_SERVICE, &w->service);
		if (rc != 0)
			return rc;
		rc = kw_mfa_lookup(w->service, &c->name, c->address, &c->mfa);
		if (rc == 0)
			return 0;
		rc = directory_failed(c, w->service, rc, "mfa lookup");
		kw_mfa_facts_clear(&c->mfa);
		if (rc != ECONNREFUSED || !warm)
			return rc;
	}
	return rc;
}

/* A recovery code instead of a TOTP code: find it, and use it up. */
static enum outcome check_recovery(struct call *c)
{
	const struct kw_mfa_user *u = &c->mfa.user;
	size_t i;
	int rc;

	for (i = 0; i < u->n_recovery; i++) {
		if (!kw_recovery_match(c->req.code, u->recovery[i]))
			continue;
		/* deleting the one value is atomic: one login gets it */
		rc = kw_mfa_use_recovery(c->w->service, &c->name,
					 u->recovery[i]);
		if (rc == 0)
			return OUTCOME_RECOVERY_CODE;
		if (rc == ENODATA)
			return OUTCOME_REPLAYED_CODE;
		directory_failed(c, c->w->service, rc, "recovery code");
		return OUTCOME_UNAVAILABLE;
	}
	return OUTCOME_WRONG_CODE;
}

/* A TOTP code against the user's active token. */
static enum outcome check_code(struct call *c)
{
	const struct kw_mfa_user *u = &c->mfa.user;
	long long step = -1;
	int rc;

	if (kw_recovery_looks_like(c->req.code))
		return check_recovery(c);
	rc = kwd_totp_check_code(kwd_master_key(c->w->srv), &c->conf->cfg,
				 &c->name, u->sealed, c->req.code, c->now,
				 u->last_step, &step);
	if (rc == EINVAL)
		return OUTCOME_MALFORMED_CODE;
	if (rc == EACCES)
		return OUTCOME_WRONG_CODE;
	if (rc == EALREADY)
		return OUTCOME_REPLAYED_CODE;
	if (rc != 0) {
		snprintf(c->error, sizeof(c->error),
			 "the TOTP secret cannot be opened (master key)");
		return OUTCOME_UNAVAILABLE;
	}
	/* the step advances atomically: of two hosts, one wins */
	rc = kw_mfa_advance_step(c->w->service, &c->name, step);
	if (rc == ECANCELED)
		return OUTCOME_REPLAYED_CODE;
	if (rc != 0) {
		directory_failed(c, c->w->service, rc, "totp step");
		return OUTCOME_UNAVAILABLE;
	}
	return OUTCOME_SUCCESS;
}

/* Self-enrolment, first step: a new pending token, shown once. */
static enum outcome begin_enrolment(struct call *c)
{
	char sealed[KW_SEAL_TEXT_MAX + 1];
	int rc;

	rc = kwd_totp_new_enrolment(
		kwd_master_key(c->w->srv), &c->conf->cfg, &c->name,
		kw_mfa_issuer(&c->mfa.policy, c->conf->cfg.mfa_issuer), sealed,
		sizeof(sealed), c->reply.info, sizeof(c->reply.info));
	if (rc == 0)
		rc = kw_mfa_store_pending(c->w->service, &c->name, sealed);
	kw_wipe(sealed, sizeof(sealed));
	if (rc != 0) {
		kw_wipe(c->reply.info, sizeof(c->reply.info));
		snprintf(c->error, sizeof(c->error), "enrolment not stored: %s",
			 kw_dir_error(c->w->service)[0]
				 ? kw_dir_error(c->w->service)
				 : strerror(rc));
		return OUTCOME_UNAVAILABLE;
	}
	return OUTCOME_ENROL;
}

/* Self-enrolment, second step: the first code activates the token. */
static enum outcome finish_enrolment(struct call *c)
{
	const struct kw_mfa_user *u = &c->mfa.user;
	char **hashes = NULL;
	long long step = -1;
	size_t n = 0;
	int rc;

	rc = kwd_totp_check_code(kwd_master_key(c->w->srv), &c->conf->cfg,
				 &c->name, u->sealed, c->req.code, c->now, -1,
				 &step);
	if (rc == EINVAL)
		return OUTCOME_MALFORMED_CODE;
	if (rc == EACCES || rc == EALREADY)
		return OUTCOME_WRONG_CODE;
	if (rc != 0)
		return OUTCOME_UNAVAILABLE;
	rc = kwd_totp_new_recovery(&hashes, &n, c->reply.info,
				   sizeof(c->reply.info));
	if (rc == 0)
		rc = kw_mfa_activate(c->w->service, &c->name, step, hashes, n);
	kwd_totp_free_hashes(hashes, n);
	if (rc == ECANCELED) {
		kw_wipe(c->reply.info, sizeof(c->reply.info));
		return OUTCOME_WRONG_CODE; /* reset or activated meanwhile */
	}
	if (rc != 0) {
		kw_wipe(c->reply.info, sizeof(c->reply.info));
		directory_failed(c, c->w->service, rc, "totp activation");
		return OUTCOME_UNAVAILABLE;
	}
	return OUTCOME_ENROLLED;
}

/* No active token: what the tenant's policy asks. */
static enum outcome without_token(struct call *c)
{
	const struct kw_mfa_policy *p = &c->mfa.policy;
	bool in_grace = p->grace_until > c->now;

	if (!p->required)
		return OUTCOME_NOT_ENROLLED;
	if (!in_grace)
		return OUTCOME_MFA_REQUIRED;
	if (!p->self_enrol)
		return OUTCOME_NOT_ENROLLED; /* let in until the grace ends */
	if (!c->req.code_given)
		return begin_enrolment(c);
	if (c->mfa.user.state != KW_TOTP_PENDING)
		return OUTCOME_WRONG_CODE;
	return finish_enrolment(c);
}

static enum outcome decide_totp(struct call *c)
{
	const struct kw_mfa_facts *m = &c->mfa;

	if (!c->name_valid)
		return OUTCOME_INVALID_NAME;
	if (!ticket_valid(c))
		return OUTCOME_NO_PASSWORD;
	if (ask_mfa(c) != 0)
		return OUTCOME_UNAVAILABLE;
	c->tenant_known = m->tenant_found;
	c->resolved = m->tenant_found && m->user_found;
	if (!c->resolved)
		return OUTCOME_UNKNOWN_USER;
	if (kw_lock_active(&m->address, c->now))
		return OUTCOME_LOCKED;
	if (kw_lock_active(&m->user.lock, c->now)) {
		c->user_locked = true;
		return OUTCOME_LOCKED;
	}
	if (m->user.state != KW_TOTP_ACTIVE)
		return without_token(c);
	if (!c->req.code_given)
		return OUTCOME_CODE_REQUIRED;
	return check_code(c);
}

static void handle_totp(struct call *c)
{
	enum outcome o;

	parse_name(c);
	o = decide_totp(c);
	c->outcome = o;
	switch (o) {
	case OUTCOME_SUCCESS:
	case OUTCOME_RECOVERY_CODE:
	case OUTCOME_ENROLLED:
		set_reply(c, KW_STATUS_OK, "");
		break;
	case OUTCOME_CODE_REQUIRED:
		set_reply(c, KW_STATUS_CODE_REQUIRED, MSG_CODE_PROMPT);
		break;
	case OUTCOME_ENROL:
		set_reply(c, KW_STATUS_ENROL, MSG_ENROL_PROMPT);
		break;
	case OUTCOME_NOT_ENROLLED:
		set_reply(c, KW_STATUS_NOT_ENROLLED, "");
		break;
	case OUTCOME_UNAVAILABLE:
		set_reply(c, KW_STATUS_UNAVAILABLE, MSG_UNAVAILABLE);
		break;
	default:
		set_reply(c, KW_STATUS_DENIED, MSG_CODE_DENIED);
		break;
	}
	log_decision(c, o,
		     o == OUTCOME_LOCKED
			     ? (c->user_locked ? " lock=user" : " lock=address")
			     : NULL);
}

/* After the reply: a failed code counts against the code budget. */
static void settle_totp(struct call *c)
{
	const struct kw_config *cfg = &c->conf->cfg;
	struct kw_dir *dir = c->w->service;
	long count = 0;
	int rc;

	if (dir == NULL || !c->resolved ||
	    (c->outcome != OUTCOME_WRONG_CODE &&
	     c->outcome != OUTCOME_REPLAYED_CODE &&
	     c->outcome != OUTCOME_MALFORMED_CODE))
		return;
	rc = kw_lock_count_address(dir, c->name.tenant, c->address,
				   KW_BUDGET_CODE, c->now, cfg->lock_window_s,
				   &count);
	count_and_lock(c, "address", rc, count, cfg->code_address_limit, false,
		       KW_BUDGET_CODE);
	rc = kw_lock_count_user(dir, &c->name, KW_BUDGET_CODE, c->now,
				cfg->lock_window_s, &count);
	count_and_lock(c, "user", rc, count,
		       effective_limit(cfg->code_user_limit,
				       c->mfa.policy.code_user_limit),
		       true, KW_BUDGET_CODE);
}

/* ---- the connection ---------------------------------------------------- */

static void send_reply(struct call *c, int fd)
{
	uint8_t buf[KW_PROTO_REPLY_FRAME_MAX];
	size_t len = 0;
	int rc;

	rc = kw_proto_encode_reply(&c->reply, buf, sizeof(buf), &len);
	if (rc == 0)
		rc = kw_proto_write_frame(fd, buf, len, KWD_WRITE_TIMEOUT_MS);
	kw_wipe(buf, len);
	if (rc != 0)
		kw_log(LOG_INFO, "req=%s uid=%lu pid=%ld: reply not sent: %s",
		       c->reply.request_id[0] ? c->reply.request_id : "-",
		       (unsigned long)c->uid, (long)c->pid, strerror(rc));
}

/* Read and decode one request; false if the connection is to be closed. */
static bool read_request(struct call *c, int fd)
{
	uint8_t buf[KW_PROTO_REQUEST_FRAME_MAX];
	size_t len = 0;
	int rc;

	rc = kw_proto_read_frame(fd, buf, sizeof(buf), KWD_READ_TIMEOUT_MS,
				 &len);
	if (rc == 0)
		rc = kw_proto_decode_request(buf, len, &c->req);
	kw_wipe(buf, sizeof(buf));
	if (rc == 0)
		return true;
	if (rc == ENODATA) {
		kw_log(LOG_DEBUG, "uid=%lu pid=%ld: closed without a request",
		       (unsigned long)c->uid, (long)c->pid);
		return false;
	}
	kw_log(LOG_WARNING, "uid=%lu pid=%ld: %s request: %s",
	       (unsigned long)c->uid, (long)c->pid,
	       rc == EINVAL ? "malformed" : "unreadable", strerror(rc));
	if (rc == EINVAL) {
		/* answered without a request id: none in it can be trusted */
		kw_reply_clear(&c->reply);
		c->reply.status = KW_STATUS_BAD_REQUEST;
		snprintf(c->reply.message, sizeof(c->reply.message), "%s",
			 MSG_BAD_REQUEST);
		send_reply(c, fd);
	}
	return false;
}

void kwd_serve_client(struct kwd_worker *w, const struct kwd_conf *conf, int fd)
{
	struct call c;
	int rc;

	memset(&c, 0, sizeof(c));
	c.w = w;
	c.conf = conf;
	c.now = time(NULL);
	rc = kw_proto_peer_cred(fd, &c.uid, NULL, &c.pid);
	if (rc != 0) {
		kw_log(LOG_WARNING, "no peer credentials: %s; closing",
		       strerror(rc));
		return;
	}
	if (!read_request(&c, fd))
		goto done;
	if (kw_address_key(c.req.rhost, c.address, sizeof(c.address)) != 0)
		snprintf(c.address, sizeof(c.address), "unknown");
	kw_reply_clear(&c.reply);
	snprintf(c.reply.request_id, sizeof(c.reply.request_id), "%s",
		 c.req.request_id);
	switch (c.req.type) {
	case KW_PROTO_PING:
		set_reply(&c, KW_STATUS_OK, "keywardd " PACKAGE_VERSION);
		kw_log(LOG_DEBUG, "req=%s PING uid=%lu pid=%ld",
		       c.req.request_id, (unsigned long)c.uid, (long)c.pid);
		break;
	case KW_PROTO_AUTHENTICATE:
		handle_authenticate(&c);
		break;
	case KW_PROTO_ACCOUNT:
		handle_account(&c);
		break;
	case KW_PROTO_TOTP:
		handle_totp(&c);
		break;
	default:
		set_reply(&c, KW_STATUS_BAD_REQUEST, MSG_BAD_REQUEST);
		kw_log(LOG_WARNING, "req=%s uid=%lu pid=%ld: type %d refused",
		       c.req.request_id, (unsigned long)c.uid, (long)c.pid,
		       (int)c.req.type);
		break;
	}
	send_reply(&c, fd);
	if (c.req.type == KW_PROTO_AUTHENTICATE)
		settle_authenticate(&c);
	else if (c.req.type == KW_PROTO_TOTP)
		settle_totp(&c);
done:
	facts_clear(&c.facts);
	kw_mfa_facts_clear(&c.mfa);
	kw_request_clear(&c.req);
	kw_wipe(&c, sizeof(c));
}
