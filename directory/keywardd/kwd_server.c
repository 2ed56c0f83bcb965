/*
 * kwd_server.c - the workers and the bounded queue between them and the
 * acceptor.
 *
 * Each worker keeps its own warm directory connections, so a directory
 * that is slow delays only the requests that wait on it (each bounded by
 * directory.connect_timeout_ms and op_timeout_ms) while the other workers
 * go on answering.  When the queue is full the acceptor waits for a free
 * slot, and new clients wait in the socket's backlog: under load they are
 * answered late, or time out and refuse, but never get a wrong answer.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "keywardd.h"
#include "kw_log.h"

/* The next client fd, or -1 once the server stops and the queue is empty. */
static int pop(struct kwd_server *srv)
{
	int fd = -1;

	pthread_mutex_lock(&srv->lock);
	while (srv->queue_len == 0 && !srv->stopping)
		pthread_cond_wait(&srv->not_empty, &srv->lock);
	if (srv->queue_len > 0) {
		fd = srv->queue[srv->queue_head];
		srv->queue_head = (srv->queue_head + 1) % srv->queue_cap;
		srv->queue_len--;
		pthread_cond_signal(&srv->not_full);
	}
	pthread_mutex_unlock(&srv->lock);
	return fd;
}

void kwd_server_push(struct kwd_server *srv, int fd)
{
	pthread_mutex_lock(&srv->lock);
	while (srv->queue_len == srv->queue_cap)
		pthread_cond_wait(&srv->not_full, &srv->lock);
	srv->queue[(srv->queue_head + srv->queue_len) % srv->queue_cap] = fd;
	srv->queue_len++;
	pthread_cond_signal(&srv->not_empty);
	pthread_mutex_unlock(&srv->lock);
}

static void *worker_main(void *arg)
{
	struct kwd_worker *w = arg;
	struct kwd_server *srv = w->srv;
	int fd;

	while ((fd = pop(srv)) >= 0) {
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
	srv->queue_cap = n * KWD_QUEUE_PER_WORKER;
	srv->queue = calloc(srv->queue_cap, sizeof(*srv->queue));
	srv->workers = calloc(n, sizeof(*srv->workers));
	if (srv->queue == NULL || srv->workers == NULL)
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
	pthread_cond_broadcast(&srv->not_empty);
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
	/* connections that were queued after the workers left */
	for (i = 0; i < srv->queue_len; i++)
		close(srv->queue[(srv->queue_head + i) % srv->queue_cap]);
	kwd_handover_clear(&srv->handover);
	free(srv->queue);
	free(srv->workers);
	srv->queue = NULL;
	srv->workers = NULL;
	return 0;
}
