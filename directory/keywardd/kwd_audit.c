/*
 * kwd_audit.c - every decision recorded in its tenant's log.
 *
 * A worker turns each decision into an audit record and appends it to the
 * local spool before the client gets its answer (with audit.sync, durably:
 * fsync'd), so that no crash loses a record of an attempt that was
 * answered.  The one exception waits one step: the record of an accepted
 * password (or code) is written at once but synced with the record of
 * the login's next step, which follows within milliseconds, so that a
 * login waits for one sync of the disk rather than two; the delivery
 * thread syncs the spool whenever the directory does not take records,
 * and keywardd does at its stop.  One delivery thread, with a directory
 * connection of its own, takes the records out of the spool in order and adds
 * each to its tenant's chain (kw_audit_deliver).  While the directory is away
 * the records wait in the spool, and are delivered in order once it is back; a
 * login never waits for the directory to take its record.
 *
 * Nor does it compete with the delivery of records for the directory: each
 * record is an add that the directory writes to its disk on its own, and
 * while logins keep coming, those writes would slow the logins' reads and
 * binds on the same server.  So while records keep being appended (the
 * newest less than audit.quiet_ms ago), the delivery thread holds them back,
 * for at most audit.max_delay_s, and then delivers all that wait.  A burst of
 * logins is answered first and recorded in the directory right after; a
 * steady stream is delivered in rounds of max_delay_s.  The records are in
 * the spool all along: holding them back loses nothing, it only makes them
 * reach the tenant's log later.
 *
 * The chain keys are derived from the master key per tenant; the heads of
 * the chains and the keys are kept by the delivery thread alone.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "keywardd.h"
#include "kw_audit_dir.h"
#include "kw_log.h"
#include "kw_secret.h"

/* How long the delivery thread waits before it tries a failed one again. */
#define RETRY_MS 1000
/* How long it sleeps when nothing woke it, to pick up what others left. */
#define IDLE_MS 5000

/* The state of one tenant's chain, as the delivery thread knows it. */
struct kwd_chain {
	char tenant[KW_AUDIT_TENANT_MAX + 1];
	unsigned char key[KW_KEY_BYTES];
	struct kw_audit_head head;
};

struct delivery {
	struct kwd_audit *a;
	long long hold_ms; /* > 0: records held back for this long (busy) */
	char why[KW_DIR_ERROR_MAX]; /* the record that failed, and why */
};

/* ---- the spool directory ------------------------------------------------ */

/* Make PATH and its missing parents; the last one private (0700). */
static int make_spool_dir(const char *path, char *err, size_t errlen)
{
	char buf[PATH_MAX];
	struct stat st;
	size_t i, n = strlen(path);

	if (n == 0 || n >= sizeof(buf) || path[0] != '/') {
		snprintf(err, errlen, "%.200s: not an absolute path", path);
		return EINVAL;
	}
	memcpy(buf, path, n + 1);
	/* "/var/spool/kw/" is "/var/spool/kw": the last one is made 0700 */
	while (n > 1 && buf[n - 1] == '/')
		buf[--n] = '\0';
	for (i = 1; i <= n; i++) {
		if (buf[i] != '/' && buf[i] != '\0')
			continue;
		buf[i] = '\0';
		if (mkdir(buf, i == n ? 0700 : 0755) != 0 && errno != EEXIST) {
			int e = errno;

			snprintf(err, errlen, "cannot make %.200s: %s", buf,
				 strerror(e));
			return e;
		}
		buf[i] = i == n ? '\0' : '/';
	}
	if (lstat(buf, &st) != 0 || !S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "%.200s: not a directory", path);
		return ENOTDIR;
	}
	return 0;
}

/* ---- records ------------------------------------------------------------ */

static long long monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int kwd_audit_submit(struct kwd_audit *a, const struct kw_audit_record *r,
		     bool deferred)
{
	int rc;

	if (!a->enabled)
		return 0;
	rc = deferred ? kw_spool_append_deferred(a->spool, r)
		      : kw_spool_append(a->spool, r);
	if (rc != 0) {
		kw_log(LOG_ERR, "req=%s: audit record not spooled: %s",
		       r->request_id, strerror(rc));
		return rc;
	}
	pthread_mutex_lock(&a->lock);
	a->pending = true;
	a->last_submit_ms = monotonic_ms();
	pthread_cond_signal(&a->wake);
	pthread_mutex_unlock(&a->lock);
	return 0;
}

int kwd_audit_name_hash(struct kwd_audit *a, const char *tenant,
			const char *name, char *out, size_t outsz)
{
	unsigned char key[KW_KEY_BYTES];
	int rc;

	rc = kw_key_derive(&a->master, KW_KEY_AUDIT_NAME, tenant, key);
	if (rc == 0)
		rc = kw_audit_name_hash(key, name, out, outsz);
	kw_wipe(key, sizeof(key));
	return rc;
}

const char *kwd_audit_host(const struct kwd_audit *a)
{
	return a->host;
}

bool kwd_audit_enabled(const struct kwd_audit *a)
{
	return a->enabled;
}

/* ---- delivery ----------------------------------------------------------- */

static struct kwd_chain *chain_of(struct kwd_audit *a, const char *tenant)
{
	struct kwd_chain *c;
	size_t i;

	for (i = 0; i < a->n_chains; i++)
		if (strcmp(a->chains[i].tenant, tenant) == 0)
			return &a->chains[i];
	if (a->n_chains == a->cap_chains) {
		size_t cap = a->cap_chains ? 2 * a->cap_chains : 16;

		/* not realloc: the old block holds keys, wiped before free */
		c = calloc(cap, sizeof(*c));
		if (c == NULL)
			return NULL;
		if (a->chains != NULL) {
			memcpy(c, a->chains, a->n_chains * sizeof(*c));
			kw_wipe(a->chains, a->cap_chains * sizeof(*c));
			free(a->chains);
		}
		a->chains = c;
		a->cap_chains = cap;
	}
	c = &a->chains[a->n_chains];
	memset(c, 0, sizeof(*c));
	snprintf(c->tenant, sizeof(c->tenant), "%s", tenant);
	if (kw_key_derive(&a->master, KW_KEY_AUDIT_CHAIN, tenant, c->key) != 0)
		return NULL;
	a->n_chains++;
	return c;
}

/* Forget CHAIN (its tenant has no log): its key wiped, the last moved in. */
static void forget_chain(struct kwd_audit *a, struct kwd_chain *chain)
{
	struct kwd_chain *last = &a->chains[a->n_chains - 1];

	if (chain != last)
		*chain = *last;
	kw_wipe(last, sizeof(*last));
	a->n_chains--;
}

static void forget_chains(struct kwd_audit *a)
{
	if (a->chains != NULL)
		kw_wipe(a->chains, a->cap_chains * sizeof(*a->chains));
	free(a->chains);
	a->chains = NULL;
	a->n_chains = 0;
	a->cap_chains = 0;
}

static bool stopping(struct kwd_audit *a)
{
	bool s;

	pthread_mutex_lock(&a->lock);
	s = a->stopping;
	pthread_mutex_unlock(&a->lock);
	return s;
}

/*
 * How long the records should wait before the next look, in ms; 0: not
 * at all.  They wait while records keep being appended, until they have
 * waited max_delay; then the whole backlog goes (the hold ends only when
 * a pass empties the spool).
 */
static long long hold_back(struct kwd_audit *a)
{
	long long now = monotonic_ms(), wait = 0;

	pthread_mutex_lock(&a->lock);
	if (a->max_delay_ms > 0 && now - a->last_submit_ms < a->quiet_ms) {
		long long left;

		if (a->held_since_ms == 0)
			a->held_since_ms = now;
		left = a->held_since_ms + a->max_delay_ms - now;
		wait = a->last_submit_ms + a->quiet_ms - now;
		if (left <= 0)
			wait = 0;
		else if (left < wait)
			wait = left;
	}
	pthread_mutex_unlock(&a->lock);
	return wait;
}

static int deliver_one(const struct kw_audit_record *spooled, void *arg)
{
	struct delivery *d = arg;
	struct kwd_audit *a = d->a;
	struct kw_audit_record r = *spooled;
	struct kwd_chain *chain;
	int rc;

	if (stopping(a))
		return ECANCELED; /* the rest waits in the spool */
	d->hold_ms = hold_back(a);
	if (d->hold_ms > 0)
		return ECANCELED; /* busy: they wait in the spool a little */
	chain = chain_of(a, r.tenant);
	if (chain == NULL)
		return ENOMEM;
	/*
	 * After a crash the spool may hand out again the records it had
	 * delivered last: the first few after each start are looked up by
	 * their id before they are added.
	 */
	rc = kw_audit_deliver(a->dir, chain->key, &chain->head, &r,
			      a->check_all || a->check_ids > 0);
	if (rc == 0) {
		if (a->check_ids > 0)
			a->check_ids--;
		return 0;
	}
	if (rc == ENOENT) {
		/* the tenant is gone (deleted, or never was): no log to keep */
		kw_log(LOG_WARNING,
		       "audit: tenant %s has no log (deleted?); record %s of "
		       "request %s dropped",
		       r.tenant, r.id, r.request_id);
		/* names that never had a log must not fill the table */
		forget_chain(a, chain);
		return 0;
	}
	/* a head seen before the failure may be stale now */
	chain->head.known = false;
	/* said once by delivery_main, not at every retry */
	snprintf(d->why, sizeof(d->why), "record %s: %s", r.id,
		 kw_dir_error(a->dir)[0] ? kw_dir_error(a->dir) : strerror(rc));
	kw_log(LOG_DEBUG, "audit: %s; it stays spooled", d->why);
	return rc;
}

/*
 * One pass over the spool.  Returns 0 when it is empty; *HOLD_MS_OUT > 0
 * if it stopped to hold records back, for that long; WHY (WHYSZ bytes)
 * says what stopped it otherwise.
 */
static int deliver_all(struct kwd_audit *a, struct kwd_server *srv,
		       long long *hold_ms_out, char *why, size_t whysz)
{
	struct delivery d = {.a = a};
	size_t delivered = 0, bad = 0;
	int rc;

	if (a->dir == NULL) {
		struct kwd_conf *conf = kwd_conf_get(srv);

		rc = kw_dir_open(&conf->cfg, KW_DIR_AS_SERVICE, NULL, NULL,
				 &a->dir);
		kwd_conf_put(srv, conf);
		if (rc != 0) {
			kw_dir_free(a->dir);
			a->dir = NULL;
			return rc;
		}
	}
	rc = kw_spool_replay(a->spool, deliver_one, &d, &delivered, &bad);
	*hold_ms_out = d.hold_ms;
	snprintf(why, whysz, "%s", d.why[0] ? d.why : strerror(rc));
	if (rc == 0) {
		a->check_all = false; /* the spool knows its place again */
		pthread_mutex_lock(&a->lock);
		a->held_since_ms = 0; /* all delivered: the next wait anew */
		pthread_mutex_unlock(&a->lock);
	}
	if (bad > 0)
		kw_log(LOG_ERR,
		       "audit: %zu spooled records did not decode; kept in "
		       "the spool's bad/ folder",
		       bad);
	if (rc == ECONNREFUSED || rc == ETIMEDOUT || rc == EPROTO) {
		kw_dir_free(a->dir);
		a->dir = NULL;
	}
	return rc;
}

/*
 * Wait MS, or less when woken: by a new record (unless ONLY_STOP), or by
 * the stop.
 */
static void wait_for_work(struct kwd_audit *a, int ms, bool only_stop)
{
	struct timespec until;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += ms / 1000;
	until.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&a->lock);
	while ((only_stop || !a->pending) && !a->stopping)
		if (pthread_cond_timedwait(&a->wake, &a->lock, &until) != 0)
			break;
	a->pending = false;
	pthread_mutex_unlock(&a->lock);
}

static void *delivery_main(void *arg)
{
	struct kwd_server *srv = arg;
	struct kwd_audit *a = &srv->audit;
	bool failing = false;

	while (!stopping(a)) {
		char why[KW_DIR_ERROR_MAX + 32] = "";
		long long hold_ms = 0;
		int rc = deliver_all(a, srv, &hold_ms, why, sizeof(why));
		bool failed = rc != 0 && rc != ECANCELED;

		if (hold_ms > 0) {
			/* held back: look again once it may be quiet */
			wait_for_work(a, (int)hold_ms, true);
			continue;
		}
		if (failed)
			kw_spool_sync(a->spool); /* they wait: on disk */
		if (failed && !failing)
			kw_log(LOG_WARNING,
			       "audit: the directory does not take records "
			       "(%s); they wait in %s",
			       why[0] ? why : strerror(rc), a->spool_dir);
		if (rc == 0 && failing)
			kw_log(LOG_NOTICE,
			       "audit: the directory takes records again");
		failing = failed;
		wait_for_work(a, failing ? RETRY_MS : IDLE_MS, false);
	}
	kw_dir_free(a->dir);
	a->dir = NULL;
	return NULL;
}

/* ---- start and stop ----------------------------------------------------- */

int kwd_audit_start(struct kwd_server *srv, const struct kwd_conf *conf)
{
	struct kwd_audit *a = &srv->audit;
	char err[KW_CONFIG_ERROR_MAX];
	int rc;

	a->enabled = false;
	if (gethostname(a->host, sizeof(a->host) - 1) != 0 || a->host[0] == 0)
		snprintf(a->host, sizeof(a->host), "localhost");
	kw_audit_clean_text(a->host, sizeof(a->host), a->host);
	for (char *p = a->host; *p != '\0'; p++)
		if (*p == ' ')
			*p = '_';
	rc = kw_master_key_load(conf->cfg.master_key_file, &a->master, err,
				sizeof(err));
	if (rc != 0) {
		if (!conf->cfg.audit_enabled && rc == ENOENT)
			return 0; /* neither audit nor TOTP can work */
		kw_log(LOG_ERR, "keys.master_key_file: %s", err);
		return rc;
	}
	if (!conf->cfg.audit_enabled) {
		kw_log(LOG_WARNING, "audit.enabled is false: decisions are "
				    "logged, not recorded");
		return 0;
	}
	snprintf(a->spool_dir, sizeof(a->spool_dir), "%s",
		 conf->cfg.audit_spool_dir);
	rc = make_spool_dir(a->spool_dir, err, sizeof(err));
	if (rc == 0) {
		err[0] = '\0';
		rc = kw_spool_open(a->spool_dir, &a->spool, err, sizeof(err));
	}
	if (rc != 0) {
		kw_log(LOG_ERR, "audit spool: %s", err);
		return rc;
	}
	if (err[0] != '\0') {
		/* it starts over at its oldest record: look each one up */
		kw_log(LOG_WARNING, "audit spool: %s", err);
		a->check_all = true;
	}
	kw_spool_set_sync(a->spool, conf->cfg.audit_sync);
	a->max_delay_ms = (long long)conf->cfg.audit_max_delay_s * 1000;
	a->quiet_ms = conf->cfg.audit_quiet_ms;
	a->check_ids = KW_SPOOL_REDELIVER_MAX;
	a->enabled = true;
	rc = pthread_create(&a->thread, NULL, delivery_main, srv);
	if (rc != 0) {
		kw_log(LOG_ERR, "cannot start the audit delivery: %s",
		       strerror(rc));
		return rc;
	}
	a->started = true;
	return 0;
}

void kwd_audit_stop(struct kwd_server *srv)
{
	struct kwd_audit *a = &srv->audit;

	if (a->started) {
		pthread_mutex_lock(&a->lock);
		a->stopping = true;
		pthread_cond_signal(&a->wake);
		pthread_mutex_unlock(&a->lock);
		pthread_join(a->thread, NULL);
		a->started = false;
	}
	if (a->spool != NULL)
		kw_spool_sync(a->spool);
	kw_spool_close(a->spool);
	a->spool = NULL;
	a->enabled = false;
	forget_chains(a);
	kw_master_key_wipe(&a->master);
}

const struct kw_master_key *kwd_master_key(const struct kwd_server *srv)
{
	return srv->audit.master.loaded ? &srv->audit.master : NULL;
}
