/*
 * keywardd.h - what the parts of keywardd share: the configuration
 * snapshot, the server (queue of client connections, workers) and the
 * request handlers.
 *
 * Threads: the main thread accepts connections and handles signals; each
 * worker takes one connection at a time from a bounded queue, answers its
 * one request and closes it.  A worker owns its directory connections and
 * uses them from its own thread only.
 */
#ifndef KEYWARDD_H
#define KEYWARDD_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "kw_config.h"
#include "kw_dir.h"
#include "kw_proto.h"

/* How long a client may take to send its request, and to take the reply. */
#define KWD_READ_TIMEOUT_MS 2000
#define KWD_WRITE_TIMEOUT_MS 2000
/* How long SIGTERM waits for the requests in flight. */
#define KWD_DRAIN_TIMEOUT_MS 10000
/* Queued connections per worker before the acceptor waits. */
#define KWD_QUEUE_PER_WORKER 8
/* Bytes of the keyed hash that stands for an unresolved name in the log. */
#define KWD_NAME_HASH_BYTES 8
#define KWD_NAME_KEY_BYTES 32

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

struct kwd_server {
	pthread_mutex_t lock;
	pthread_cond_t not_empty;
	pthread_cond_t not_full;
	int *queue; /* client fds, a ring of queue_cap */
	size_t queue_cap;
	size_t queue_head;
	size_t queue_len;
	bool stopping;
	struct kwd_conf *conf; /* the current one */
	struct kwd_worker *workers;
	size_t n_workers;
	size_t n_running; /* workers that have not exited yet */
	pthread_cond_t exited;
	unsigned char name_key[KWD_NAME_KEY_BYTES];
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

int kwd_server_start(struct kwd_server *srv, struct kwd_conf *conf);
/* Hand a client connection to the workers; waits while the queue is full. */
void kwd_server_push(struct kwd_server *srv, int fd);
/*
 * Stop: let the workers finish what is queued and in flight, for at most
 * TIMEOUT_MS.  Returns 0, or ETIMEDOUT if some worker is still busy (it
 * is then left running and nothing of the server is freed).
 */
int kwd_server_stop(struct kwd_server *srv, int timeout_ms);

/* ---- requests (kwd_request.c) ------------------------------------------ */

/* Answer the one request on FD (a connected client); FD stays open. */
void kwd_serve_client(struct kwd_worker *w, const struct kwd_conf *conf,
		      int fd);
/* Close the worker's directory connections (NULL-safe members). */
void kwd_worker_drop_connections(struct kwd_worker *w);

#endif
