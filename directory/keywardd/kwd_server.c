/*
 * kwd_server.c - the workers, each of which accepts its own clients.
 *
 * Every worker waits in accept() on the listening socket, and the kernel
 * gives each new client to one waiting worker: a request goes from the
 * client's connect() to the thread that answers it with no hand-over in
 * between (a hand-over costs a thread wake-up, a good part of a local
 * round trip).  Each worker keeps its own warm directory connections, so
 * a directory that is slow delays only the requests that wait on it (each
 * bounded by directory.connect_timeout_ms and op_timeout_ms) while the
 * other workers go on answering.  When every worker is busy, new clients
 * wait in the socket's backlog: under load they are answered late, or
 * time out and refuse, but never get a wrong answer.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "keywardd.h"
#include "kw_log.h"

static bool stopping(struct kwd_server *srv)
{
	bool s;

	pthread_mutex_lock(&srv->lock);
	s = srv->stopping;
	pthread_mutex_unlock(&srv->lock);
	return s;
}

/* The next client, or -1 once the server stops. */
static int next_client(struct kwd_server *srv)
{
	for (;;) {
		int fd = accept4(srv->listen_fd, NULL, NULL, SOCK_CLOEXEC);

		if (fd >= 0)
			return fd;
		/* kwd_server_stop() shuts the socket down: EINVAL */
		if (stopping(srv))
			return -1;
		if (errno == EINTR || errno == ECONNABORTED)
			continue;
		/*
		 * Out of descriptors or memory, or worse: say so and wait
		 * a little, so that a lasting error does not spin.
		 */
		kw_log(LOG_ERR, "accept: %s", strerror(errno));
		poll(NULL, 0, 100);
	}
}

static void *worker_main(void *arg)
{
	struct kwd_worker *w = arg;
	struct kwd_server *srv = w->srv;
	int fd;

	while ((fd = next_client(srv)) >= 0) {
		struct kwd_conf *conf = kwd_conf_get(srv);

		if (conf->generation != w->generation) {
			/* a reload: reconnect with the new settings */
			kwd_worker_drop_connections(w);
			w->generation = conf->generation;
		}
		kwd_serve_client(w, conf, fd);
		close(fd);
		kwd_conf_put(srv, conf);
	}
	kwd_worker_drop_connections(w);
	pthread_mutex_lock(&srv->lock);
	srv->n_running--;
	pthread_cond_broadcast(&srv->exited);
	pthread_mutex_unlock(&srv->lock);
	return NULL;
}

int kwd_server_start(struct kwd_server *srv, struct kwd_conf *conf)
{
	size_t n = (size_t)conf->cfg.workers, i;
	int rc;

	srv->conf = conf;
	srv->workers = calloc(n, sizeof(*srv->workers));
	if (srv->workers == NULL)
		return ENOMEM;
	srv->n_workers = n;
	for (i = 0; i < n; i++) {
		struct kwd_worker *w = &srv->workers[i];

		w->srv = srv;
		w->id = (unsigned)i + 1;
		w->generation = conf->generation;
		pthread_mutex_lock(&srv->lock);
		srv->n_running++;
		pthread_mutex_unlock(&srv->lock);
		rc = pthread_create(&w->thread, NULL, worker_main, w);
		if (rc != 0) {
			pthread_mutex_lock(&srv->lock);
			srv->n_running--;
			pthread_mutex_unlock(&srv->lock);
			kw_log(LOG_ERR, "cannot start worker %zu: %s", i + 1,
			       strerror(rc));
			return rc;
		}
		w->started = true;
	}
	return 0;
}

int kwd_server_stop(struct kwd_server *srv, int timeout_ms)
{
	struct timespec deadline;
	size_t i;
	int rc = 0;

	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += timeout_ms / 1000;
	deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&srv->lock);
	srv->stopping = true;
	pthread_mutex_unlock(&srv->lock);
	/*
	 * Wakes every worker waiting in accept(), which fails from now on;
	 * the clients still in the backlog are refused.  The descriptor
	 * itself stays open until the workers are gone, so that its number
	 * cannot be reused under a late accept().
	 */
	if (srv->listen_fd >= 0)
		shutdown(srv->listen_fd, SHUT_RDWR);
	pthread_mutex_lock(&srv->lock);
	while (srv->n_running > 0 && rc == 0)
		rc = pthread_cond_timedwait(&srv->exited, &srv->lock,
					    &deadline);
	if (srv->n_running > 0) {
		kw_log(LOG_WARNING,
		       "%zu workers still busy after %d ms; not waiting longer",
		       srv->n_running, timeout_ms);
		pthread_mutex_unlock(&srv->lock);
		return ETIMEDOUT;
	}
	pthread_mutex_unlock(&srv->lock);
	for (i = 0; i < srv->n_workers; i++)
		if (srv->workers[i].started)
			pthread_join(srv->workers[i].thread, NULL);
	kwd_handover_clear(&srv->handover);
	free(srv->workers);
	srv->workers = NULL;
	return 0;
}
