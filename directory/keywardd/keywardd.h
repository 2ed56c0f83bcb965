/*
 * keywardd.h - what the parts of keywardd share: the configuration
 * snapshot, the server (the listening socket, the workers) and the
 * request handlers.
 *
 * Threads: the main thread handles signals; each worker accepts one
 * connection at a time on the listening socket, answers its one request
 * and closes it.  A worker owns its directory connections and uses them
 * from its own thread only.
 */
#ifndef KEYWARDD_H
#define KEYWARDD_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <limits.h>

#include "kw_audit.h"
#include "kw_config.h"
#include "kw_dir.h"
#include "kw_keys.h"
#include "kw_proto.h"

/* How long a client may take to send its request, and to take the reply. */
#define KWD_READ_TIMEOUT_MS 2000
#define KWD_WRITE_TIMEOUT_MS 2000
/* How long SIGTERM waits for the requests in flight. */
#define KWD_DRAIN_TIMEOUT_MS 10000
/* Bytes of the keyed hash that stands for an unresolved name in the log. */
#define KWD_NAME_HASH_BYTES 8
#define KWD_NAME_KEY_BYTES 32
/* How long after its password a login may still send its code. */
#define KWD_TICKET_TTL_S 300

/* What the command line asked for; it outlives every reload. */
struct kwd_options {
	const char
		*config_path; /* NULL: KW_CONFIG_DEFAULT_PATH, may be absent */
	bool foreground;
	bool debug;
	const char **overrides; /* "NAME=VALUE", applied after the file */
	size_t n_overrides;
	const char *socket_path; /* --socket, after the overrides */
};

/*
 * One configuration as read at start or at a SIGHUP.  It never changes
 * once installed; a request holds a reference for as long as it runs, so
 * that a reload never pulls a setting from under it.
 */
struct kwd_conf {
	struct kw_config cfg;
	unsigned long generation;
	int log_priority;
	unsigned refs; /* under kwd_server.lock */
};

struct kwd_worker;

/* ---- the hand-over from AUTHENTICATE to ACCOUNT (kwd_handover.c) ------- */

#define KWD_HANDOVER_SLOTS 256

/* What makes an ACCOUNT the one that follows an AUTHENTICATE. */
struct kwd_handover_key {
	char request_id[KW_PROTO_REQUEST_ID_MAX + 1];
	struct kw_name name;
	char service[KW_PROTO_SERVICE_MAX + 1];
	uid_t uid;
	pid_t pid;
};

struct kwd_handover_slot {
	bool used;
	struct kwd_handover_key key;
	struct kw_login_facts facts; /* owns facts.user.roles */
	double at;                   /* CLOCK_MONOTONIC seconds */
};

struct kwd_handover {
	pthread_mutex_t lock;
	struct kwd_handover_slot slots[KWD_HANDOVER_SLOTS];
};

/* Forget everything (the lock is statically initialised, and stays). */
void kwd_handover_clear(struct kwd_handover *h);
/* Leave FACTS (copied) for KEY; nothing if TTL_S is 0. */
void kwd_handover_put(struct kwd_handover *h,
		      const struct kwd_handover_key *key,
		      const struct kw_login_facts *facts, int ttl_s);
/*
 * Take the facts left for KEY if they are younger than TTL_S seconds;
 * they are gone from the table afterwards.  OUT owns its roles then
 * (kw_user_clear).  False if there are none.
 */
bool kwd_handover_take(struct kwd_handover *h,
		       const struct kwd_handover_key *key, int ttl_s,
		       struct kw_login_facts *out);

/* ---- audit records (kwd_audit.c) ---------------------------------------- */

struct kwd_chain;

struct kwd_audit {
	bool enabled;
	bool started;
	char host[KW_AUDIT_HOST_MAX + 1]; /* this host, in every record */
	char spool_dir[PATH_MAX];
	struct kw_spool *spool;
	/* Read at start: the audit chains and the TOTP secrets need it. */
	struct kw_master_key master;
	pthread_t thread;
	pthread_mutex_t lock; /* the four below */
	pthread_cond_t wake;
	bool pending;
	bool stopping;
	long long last_submit_ms; /* monotonic: the newest record's append */
	/* audit.max_delay_s, in ms: how long a busy keywardd holds records */
	long long max_delay_ms;
	long long quiet_ms; /* audit.quiet_ms: no new record for this long */
	long long held_since_ms; /* monotonic: when holding back began; 0 */
	/* The delivery thread's own. */
	struct kw_dir *dir;
	size_t check_ids; /* records still to look up by id first */
	bool check_all;   /* the spool lost its cursor: look up all */
	struct kwd_chain *chains;
	size_t n_chains;
	size_t cap_chains;
};

struct kwd_server {
	pthread_mutex_t lock;
	/* The listening socket; the workers accept on it. */
	int listen_fd;
	bool stopping;
	struct kwd_conf *conf; /* the current one */
	struct kwd_worker *workers;
	size_t n_workers;
	size_t n_running; /* workers that have not exited yet */
	pthread_cond_t exited;
	unsigned char name_key[KWD_NAME_KEY_BYTES];
	/* Keys the tickets of accepted passwords; new at every start. */
	unsigned char ticket_key[KWD_NAME_KEY_BYTES];
	struct kwd_handover handover;
	struct kwd_audit audit;
};

struct kwd_worker {
	struct kwd_server *srv;
	pthread_t thread;
	bool started;
	unsigned id;
	/* The configuration generation the connections below were made with. */
	unsigned long generation;
	struct kw_dir *service;  /* AS_SERVICE: lookups */
	struct kw_dir *password; /* ANONYMOUS: user binds only */
};

/* ---- configuration (kwd_conf.c) ---------------------------------------- */

/*
 * Read the configuration as OPT says (file, overrides, --socket).
 * Returns 0 and a snapshot with one reference, or an errno value with ERR
 * saying why.
 */
int kwd_conf_load(const struct kwd_options *opt, unsigned long generation,
		  struct kwd_conf **conf_out, char *err, size_t errlen);
/* Take a reference to the current snapshot. */
struct kwd_conf *kwd_conf_get(struct kwd_server *srv);
/* Drop a reference; the last one frees the snapshot.  CONF may be NULL. */
void kwd_conf_put(struct kwd_server *srv, struct kwd_conf *conf);
/* Make CONF (with its one reference) the current snapshot. */
void kwd_conf_install(struct kwd_server *srv, struct kwd_conf *conf);

/* ---- listening socket (kwd_socket.c) ----------------------------------- */

/*
 * Listen on PATH: make its directory (0755) if missing, remove a socket
 * there that nobody answers on, refuse one that answers, and leave the
 * new socket at mode 0666.  Returns 0 and the descriptor, or an errno
 * value with ERR filled.
 */
int kwd_listen(const char *path, int *fd_out, char *err, size_t errlen);

/* ---- server (kwd_server.c) --------------------------------------------- */

/* Start the workers, which accept on SRV->listen_fd. */
int kwd_server_start(struct kwd_server *srv, struct kwd_conf *conf);
/*
 * Stop: shut the listening socket down (the clients in its backlog are
 * refused) and let the workers finish the requests in flight, for at
 * most TIMEOUT_MS.  Returns 0, or ETIMEDOUT if some worker is still busy
 * (it is then left running and nothing of the server is freed).  The
 * caller closes the listening socket after a 0.
 */
int kwd_server_stop(struct kwd_server *srv, int timeout_ms);

/*
 * Load the master key, open the spool (making its directory, 0700) and
 * start the delivery thread, as CONF says.  Without audit.enabled only
 * the key is loaded, if there is one.  Returns 0 or an errno value
 * (logged): keywardd then refuses to start.
 */
int kwd_audit_start(struct kwd_server *srv, const struct kwd_conf *conf);
/* Stop the delivery (what is spooled stays for the next start). */
void kwd_audit_stop(struct kwd_server *srv);
/*
 * Spool R (a record with a tenant) before the decision is answered, and
 * wake the delivery.  DEFERRED: R's login goes on at once (an accepted
 * password), so R is synced with the next record.  Returns 0, or an
 * errno value (logged).
 */
int kwd_audit_submit(struct kwd_audit *a, const struct kw_audit_record *r,
		     bool deferred);
bool kwd_audit_enabled(const struct kwd_audit *a);
const char *kwd_audit_host(const struct kwd_audit *a);
/* The keyed hash of an unresolved NAME typed for TENANT. */
int kwd_audit_name_hash(struct kwd_audit *a, const char *tenant,
			const char *name, char *out, size_t outsz);
/* The master key, or NULL if keywardd has none. */
const struct kw_master_key *kwd_master_key(const struct kwd_server *srv);

/* ---- TOTP key material (kwd_totp.c) ------------------------------------- */

struct kw_totp_params;

/*
 * Check CODE against the SEALED secret of NAME at NOW, after LAST_STEP.
 * Returns 0 with the matched step in *STEP_OUT; EINVAL for a malformed
 * code, EACCES for a wrong one, EALREADY for a code of a step used
 * already, EIO if the secret cannot be opened (no or another master key).
 */
int kwd_totp_check_code(const struct kw_master_key *mk,
			const struct kw_config *cfg, const struct kw_name *name,
			const char *sealed, const char *code, time_t now,
			long long last_step, long long *step_out);
/*
 * A new secret for NAME: SEALED for the directory, INFO the text that
 * shows it to the user once (QR code, key, parameters).
 */
int kwd_totp_new_enrolment(const struct kw_master_key *mk,
			   const struct kw_config *cfg,
			   const struct kw_name *name, const char *issuer,
			   char *sealed, size_t sealedsz, char *info,
			   size_t infosz);
/* Ten recovery codes: their hashes, and INFO that shows the codes once. */
int kwd_totp_new_recovery(char ***hashes_out, size_t *n_out, char *info,
			  size_t infosz);
void kwd_totp_free_hashes(char **hashes, size_t n);

/* ---- requests (kwd_request.c) ------------------------------------------ */

/* Answer the one request on FD (a connected client); FD stays open. */
void kwd_serve_client(struct kwd_worker *w, const struct kwd_conf *conf,
		      int fd);
/* Close the worker's directory connections (NULL-safe members). */
void kwd_worker_drop_connections(struct kwd_worker *w);

#endif
