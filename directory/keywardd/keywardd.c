/*
 * keywardd.c - the per-host daemon of keyward: main(), options and
 * signals.
 *
 * main() is a short recipe: parse the options, read the configuration,
 * start logging, listen, detach (unless -f), start the workers (which
 * accept the clients, kwd_server.c), handle signals until SIGTERM, stop.
 * Signals are blocked in every thread and read from a signalfd by the
 * main thread, so no work at all happens in a signal handler.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "keywardd.h"
#include "kw_log.h"
#include "kw_secret.h"

#define EXIT_USAGE 2
#define MAX_OVERRIDES 64

struct daemon_state {
	struct kwd_options opt;
	const char *overrides[MAX_OVERRIDES];
	struct kwd_server srv;
	int signal_fd;
	char socket_path[256]; /* the one we bound, to unlink at exit */
	unsigned long generation;
};

static const char usage_text[] =
	"Usage: keywardd [OPTION]...\n"
	"The per-host daemon of keyward: answers the PAM modules' questions\n"
	"over a UNIX socket from the LDAP directory.\n"
	"\n"
	"  -c, --config PATH       read PATH instead of " KW_CONFIG_DEFAULT_PATH
	"\n"
	"  -f, --foreground        stay in the foreground, log to stderr\n"
	"  -d, --debug             log at level debug\n"
	"  -o, --option NAME=VALUE set a setting after the file is read\n"
	"      --socket PATH       listen on PATH (keywardd.socket)\n"
	"  -h, --help              print this help and exit\n"
	"  -V, --version           print the version and exit\n"
	"\n"
	"SIGHUP reads the configuration again; SIGTERM stops the daemon.\n"
	"See keywardd(8).\n";

/* ---- options ----------------------------------------------------------- */

static int parse_options(struct daemon_state *st, int argc, char **argv)
{
	enum { OPT_SOCKET = 256 };
	static const struct option longopts[] = {
		{"config", required_argument, NULL, 'c'},
		{"foreground", no_argument, NULL, 'f'},
		{"debug", no_argument, NULL, 'd'},
		{"option", required_argument, NULL, 'o'},
		{"socket", required_argument, NULL, OPT_SOCKET},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	int c;

	st->opt.overrides = st->overrides;
	while ((c = getopt_long(argc, argv, "c:fdo:hV", longopts, NULL)) !=
	       -1) {
		switch (c) {
		case 'c':
			st->opt.config_path = optarg;
			break;
		case 'f':
			st->opt.foreground = true;
			break;
		case 'd':
			st->opt.debug = true;
			break;
		case 'o':
			if (st->opt.n_overrides == MAX_OVERRIDES) {
				fprintf(stderr, "keywardd: too many -o\n");
				return EXIT_USAGE;
			}
			st->overrides[st->opt.n_overrides++] = optarg;
			break;
		case OPT_SOCKET:
			st->opt.socket_path = optarg;
			break;
		case 'h':
			fputs(usage_text, stdout);
			exit(EXIT_SUCCESS);
		case 'V':
			printf("keywardd %s\n", PACKAGE_VERSION);
			exit(EXIT_SUCCESS);
		default:
			fputs("Try 'keywardd --help'.\n", stderr);
			return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "keywardd: unexpected argument '%s'\n",
			argv[optind]);
		fputs("Try 'keywardd --help'.\n", stderr);
		return EXIT_USAGE;
	}
	return 0;
}

/* ---- start ------------------------------------------------------------- */

static void start_logging(const struct kwd_options *opt)
{
	if (opt->foreground) {
		kw_log_open("keywardd", KW_LOG_STDERR, LOG_AUTHPRIV);
	} else {
		/* syslog carries the ident and pid itself */
		openlog("keywardd", LOG_PID | LOG_NDELAY, LOG_AUTHPRIV);
		kw_log_open("", KW_LOG_SYSLOG, LOG_AUTHPRIV);
	}
}

/*
 * Leave the terminal: the parent exits once the socket is listening, so
 * that whoever started keywardd may use it at once.
 */
static int detach(void)
{
	pid_t pid = fork();
	int fd;

	if (pid < 0)
		return errno;
	if (pid > 0)
		_exit(EXIT_SUCCESS);
	if (setsid() < 0)
		return errno;
	if (chdir("/") != 0)
		return errno;
	fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return errno;
	dup2(fd, STDIN_FILENO);
	dup2(fd, STDOUT_FILENO);
	dup2(fd, STDERR_FILENO);
	if (fd > STDERR_FILENO)
		close(fd);
	return 0;
}

static int block_signals(struct daemon_state *st)
{
	sigset_t set;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	/* before any thread exists, so that every thread inherits it */
	if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0)
		return EINVAL;
	st->signal_fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	return st->signal_fd < 0 ? errno : 0;
}

/* Say early whether the directory answers; keywardd runs either way. */
static void check_directory(const struct kwd_conf *conf)
{
	struct kw_dir *dir = NULL;
	int rc = kw_dir_open(&conf->cfg, KW_DIR_AS_SERVICE, NULL, NULL, &dir);

	if (rc == 0)
		kw_log(LOG_INFO, "directory %s answers", kw_dir_uri(dir));
	else
		kw_log(LOG_WARNING,
		       "directory not usable yet (%s); logins are refused "
		       "until it is",
		       dir != NULL && kw_dir_error(dir)[0] != '\0'
			       ? kw_dir_error(dir)
			       : strerror(rc));
	kw_dir_free(dir);
}

/* ---- signals ----------------------------------------------------------- */

static void reload(struct daemon_state *st)
{
	struct kwd_conf *conf = NULL, *old;
	char err[KW_CONFIG_ERROR_MAX];
	int rc;

	rc = kwd_conf_load(&st->opt, st->generation + 1, &conf, err,
			   sizeof(err));
	if (rc != 0) {
		kw_log(LOG_ERR,
		       "SIGHUP: configuration not reloaded, keeping the "
		       "previous one: %s",
		       err);
		return;
	}
	st->generation++;
	old = kwd_conf_get(&st->srv);
	if (strcmp(old->cfg.socket_path, conf->cfg.socket_path) != 0)
		kw_log(LOG_WARNING,
		       "keywardd.socket changed: still listening "
		       "on %s until keywardd restarts",
		       st->socket_path);
	if (old->cfg.workers != conf->cfg.workers)
		kw_log(LOG_WARNING,
		       "keywardd.workers changed: still %zu "
		       "workers until keywardd restarts",
		       st->srv.n_workers);
	kwd_conf_put(&st->srv, old);
	kw_log_set_level(conf->log_priority);
	kwd_conf_install(&st->srv, conf);
	kw_log(LOG_NOTICE,
	       "configuration reloaded (generation %lu, "
	       "log level %s)",
	       st->generation, conf->cfg.log_level);
}

/* Handle the pending signals; false once keywardd is to stop. */
static bool handle_signals(struct daemon_state *st)
{
	struct signalfd_siginfo si;
	bool running = true;

	while (read(st->signal_fd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGHUP) {
			reload(st);
		} else {
			kw_log(LOG_NOTICE, "%s from pid %ld: stopping",
			       si.ssi_signo == SIGTERM ? "SIGTERM" : "SIGINT",
			       (long)si.ssi_pid);
			running = false;
		}
	}
	return running;
}

/* ---- the signal loop --------------------------------------------------- */

static void serve(struct daemon_state *st)
{
	struct pollfd pfd = {.fd = st->signal_fd, .events = POLLIN};

	for (;;) {
		if (poll(&pfd, 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			kw_log(LOG_ERR, "poll: %s", strerror(errno));
			return;
		}
		if ((pfd.revents & POLLIN) && !handle_signals(st))
			return;
	}
}

/* ---- main -------------------------------------------------------------- */

static int start(struct daemon_state *st)
{
	struct kwd_conf *conf = NULL;
	char err[KW_CONFIG_ERROR_MAX];
	int rc;

	rc = kwd_conf_load(&st->opt, 1, &conf, err, sizeof(err));
	if (rc != 0) {
		kw_log(LOG_ERR, "configuration: %s", err);
		return rc;
	}
	st->generation = 1;
	st->srv.conf = conf; /* freed by stop() from here on */
	kw_log_set_level(conf->log_priority);
	if (getrandom(st->srv.name_key, sizeof(st->srv.name_key), 0) !=
		    (ssize_t)sizeof(st->srv.name_key) ||
	    getrandom(st->srv.ticket_key, sizeof(st->srv.ticket_key), 0) !=
		    (ssize_t)sizeof(st->srv.ticket_key)) {
		kw_log(LOG_ERR, "getrandom: %s", strerror(errno));
		return EIO;
	}
	rc = kwd_listen(conf->cfg.socket_path, &st->srv.listen_fd, err,
			sizeof(err));
	if (rc != 0) {
		kw_log(LOG_ERR, "cannot listen: %s", err);
		return rc;
	}
	snprintf(st->socket_path, sizeof(st->socket_path), "%s",
		 conf->cfg.socket_path);
	if (!st->opt.foreground && (rc = detach()) != 0) {
		kw_log(LOG_ERR, "cannot detach: %s", strerror(rc));
		return rc;
	}
	rc = block_signals(st);
	if (rc != 0) {
		kw_log(LOG_ERR, "signals: %s", strerror(rc));
		return rc;
	}
	check_directory(conf);
	rc = kwd_audit_start(&st->srv, conf);
	if (rc != 0)
		return rc;
	/* before the workers: they answer the first client at once */
	kw_log(LOG_NOTICE, "keywardd %s listening on %s with %d workers",
	       PACKAGE_VERSION, st->socket_path, conf->cfg.workers);
	return kwd_server_start(&st->srv, conf);
}

static int stop(struct daemon_state *st)
{
	int rc;

	/* new clients find no socket at once; accepted ones are answered */
	if (st->srv.listen_fd >= 0 && unlink(st->socket_path) != 0 &&
	    errno != ENOENT)
		kw_log(LOG_WARNING, "cannot remove %s: %s", st->socket_path,
		       strerror(errno));
	rc = kwd_server_stop(&st->srv, KWD_DRAIN_TIMEOUT_MS);
	if (rc != 0)
		return rc; /* workers still run: free nothing under them */
	if (st->srv.listen_fd >= 0)
		close(st->srv.listen_fd);
	kwd_audit_stop(&st->srv);
	kwd_conf_put(&st->srv, st->srv.conf);
	st->srv.conf = NULL;
	kw_wipe(st->srv.name_key, sizeof(st->srv.name_key));
	kw_wipe(st->srv.ticket_key, sizeof(st->srv.ticket_key));
	if (st->signal_fd >= 0)
		close(st->signal_fd);
	if (st->srv.n_workers > 0)
		kw_log(LOG_NOTICE, "stopped");
	return 0;
}

int main(int argc, char **argv)
{
	static struct daemon_state st = {
		.srv = {.lock = PTHREAD_MUTEX_INITIALIZER,
			.listen_fd = -1,
			.exited = PTHREAD_COND_INITIALIZER,
			.handover = {.lock = PTHREAD_MUTEX_INITIALIZER},
			.audit = {.lock = PTHREAD_MUTEX_INITIALIZER,
				  .wake = PTHREAD_COND_INITIALIZER}},
		.signal_fd = -1,
	};
	int rc;

	rc = parse_options(&st, argc, argv);
	if (rc != 0)
		return rc;
	start_logging(&st.opt);
	umask(022);
	rc = start(&st);
	if (rc == 0)
		serve(&st);
	if (stop(&st) != 0)
		_exit(EXIT_SUCCESS); /* workers still run: no exit handlers */
	return rc == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
