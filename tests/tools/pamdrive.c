/*
 * pamdrive - run PAM logins through the real libpam, for tests and
 * benchmarks.
 *
 *   pamdrive [-j THREADS] [-r REPEAT] [-o auth|acct|both] [-t]
 *            [-a COMMAND] SERVICE
 *
 * Reads logins from stdin, one a line: the user name, a TAB, the
 * password (the rest of the line, which may be empty), and optionally a
 * second TAB and a one-time code.  Without a code every password prompt
 * gets the password; with one, the first gets the password and the
 * later ones the code.  A code of the form "!COMMAND" is the first line
 * that COMMAND (run by /bin/sh) prints, with the text the modules sent
 * so far (PAM_TEXT_INFO) on its standard input: a test computes a code
 * from the key that an enrolment shows.  Each login is one
 * PAM transaction: pam_start, pam_authenticate, pam_acct_mgmt (only when
 * authentication succeeded, as applications do), pam_end.  THREADS
 * threads take logins from the list until it is done; the whole list is
 * run REPEAT times.  Afterwards one line per login, in input order:
 *
 *   N auth=PAM_SUCCESS acct=PAM_PERM_DENIED [us=MICROSECONDS]
 *
 * ("-" for a step that did not run).  With -a, each login authenticates
 * twice on its one handle, as an application that asks again may: after
 * the first pam_authenticate, COMMAND runs (by /bin/sh, without the
 * preloads), then pam_authenticate runs again, and the line starts with
 * "auth1=" (the first result) before "auth=" (the second, which decides
 * the account step).  Text the modules send through the
 * conversation goes to stderr as "N info: ..." or "N error: ...".  The
 * exit status is 0 when every login ran, whatever PAM answered, 2 for a
 * usage error and 1 for anything else.
 *
 * Run it under pam_wrapper to use service files from a private
 * directory: LD_PRELOAD=libpam_wrapper.so PAM_WRAPPER=1
 * PAM_WRAPPER_SERVICE_DIR=DIR pamdrive SERVICE.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <security/pam_appl.h>

#define PAMDRIVE_MAX_THREADS 64
#define PAMDRIVE_MAX_LOGINS 100000

struct login {
	size_t number; /* 1-based, in input order */
	char *user;
	char *password;
	char *code; /* NULL: answer every password prompt with PASSWORD */
	int auth;
	int auth1; /* -a: the first pam_authenticate */
	int acct;
	bool auth_ran;
	bool acct_ran;
	long long micros;
};

struct run {
	const char *service;
	const char *between; /* -a: run between two pam_authenticate */
	bool do_auth;
	bool do_acct;
	struct login *logins;
	size_t count;
	size_t next;
	pthread_mutex_t lock;
};

static const char *code_name(int code)
{
	static const struct {
		int code;
		const char *name;
	} names[] = {
		{PAM_SUCCESS, "PAM_SUCCESS"},
		{PAM_OPEN_ERR, "PAM_OPEN_ERR"},
		{PAM_SYMBOL_ERR, "PAM_SYMBOL_ERR"},
		{PAM_SERVICE_ERR, "PAM_SERVICE_ERR"},
		{PAM_SYSTEM_ERR, "PAM_SYSTEM_ERR"},
		{PAM_BUF_ERR, "PAM_BUF_ERR"},
		{PAM_PERM_DENIED, "PAM_PERM_DENIED"},
		{PAM_AUTH_ERR, "PAM_AUTH_ERR"},
		{PAM_CRED_INSUFFICIENT, "PAM_CRED_INSUFFICIENT"},
		{PAM_AUTHINFO_UNAVAIL, "PAM_AUTHINFO_UNAVAIL"},
		{PAM_USER_UNKNOWN, "PAM_USER_UNKNOWN"},
		{PAM_MAXTRIES, "PAM_MAXTRIES"},
		{PAM_NEW_AUTHTOK_REQD, "PAM_NEW_AUTHTOK_REQD"},
		{PAM_ACCT_EXPIRED, "PAM_ACCT_EXPIRED"},
		{PAM_SESSION_ERR, "PAM_SESSION_ERR"},
		{PAM_CRED_UNAVAIL, "PAM_CRED_UNAVAIL"},
		{PAM_CRED_EXPIRED, "PAM_CRED_EXPIRED"},
		{PAM_CRED_ERR, "PAM_CRED_ERR"},
		{PAM_CONV_ERR, "PAM_CONV_ERR"},
		{PAM_AUTHTOK_ERR, "PAM_AUTHTOK_ERR"},
		{PAM_ABORT, "PAM_ABORT"},
		{PAM_BAD_ITEM, "PAM_BAD_ITEM"},
		{PAM_INCOMPLETE, "PAM_INCOMPLETE"},
		{PAM_MODULE_UNKNOWN, "PAM_MODULE_UNKNOWN"},
		{PAM_IGNORE, "PAM_IGNORE"},
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (names[i].code == code)
			return names[i].name;
	}
	return "PAM_(unknown)";
}

static long long now_micros(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void free_responses(struct pam_response *resp, int count)
{
	for (int i = 0; i < count; i++) {
		if (resp[i].resp != NULL) {
			explicit_bzero(resp[i].resp, strlen(resp[i].resp));
			free(resp[i].resp);
		}
	}
	free(resp);
}

/* One transaction's side of the conversation. */
struct talk {
	const struct login *login;
	int secrets_asked; /* password prompts answered so far */
	char info[16384];  /* the PAM_TEXT_INFO text so far */
	char computed[128];
};

static void note_info(struct talk *t, const char *msg)
{
	size_t used = strlen(t->info);

	snprintf(t->info + used, sizeof(t->info) - used, "%s\n", msg);
}

/* The first line "!COMMAND" prints with the info text on its stdin. */
static const char *run_code_command(struct talk *t, const char *command)
{
	char path[] = "/tmp/pamdrive.XXXXXX", cmd[4096];
	FILE *p;
	int fd;

	t->computed[0] = '\0';
	fd = mkstemp(path);
	if (fd < 0)
		return t->computed;
	if (write(fd, t->info, strlen(t->info)) < 0)
		t->computed[0] = '\0';
	close(fd);
	/*
	 * Without the preloads of this process (pam_wrapper, and the
	 * sanitizer runtime of an ASan build, whose leak report at the
	 * exit of a tool such as oathtool would end it before its output
	 * is flushed).
	 */
	snprintf(cmd, sizeof(cmd), "unset LD_PRELOAD; (%s) < %s", command,
		 path);
	p = popen(cmd, "r");
	if (p != NULL) {
		if (fgets(t->computed, sizeof(t->computed), p) == NULL)
			t->computed[0] = '\0';
		t->computed[strcspn(t->computed, "\n")] = '\0';
		pclose(p);
	}
	unlink(path);
	return t->computed;
}

static const char *secret_answer(struct talk *t)
{
	const struct login *login = t->login;

	if (t->secrets_asked++ == 0 || login->code == NULL)
		return login->password;
	if (login->code[0] == '!')
		return run_code_command(t, login->code + 1);
	return login->code;
}

/* Answer password prompts with the login's password (and code), name
 * prompts with its user; pass text on to stderr. */
static int converse(int count, const struct pam_message **msgs,
		    struct pam_response **resp_out, void *data)
{
	struct talk *talk = data;
	const struct login *login = talk->login;
	struct pam_response *resp;

	if (count <= 0 || count > PAM_MAX_NUM_MSG)
		return PAM_CONV_ERR;
	resp = calloc((size_t)count, sizeof(*resp));
	if (resp == NULL)
		return PAM_BUF_ERR;
	for (int i = 0; i < count; i++) {
		const char *answer = NULL;

		switch (msgs[i]->msg_style) {
		case PAM_PROMPT_ECHO_OFF:
			answer = secret_answer(talk);
			break;
		case PAM_PROMPT_ECHO_ON:
			answer = login->user;
			break;
		case PAM_TEXT_INFO:
			fprintf(stderr, "%zu info: %s\n", login->number,
				msgs[i]->msg);
			note_info(talk, msgs[i]->msg);
			break;
		case PAM_ERROR_MSG:
			fprintf(stderr, "%zu error: %s\n", login->number,
				msgs[i]->msg);
			break;
		default:
			free_responses(resp, count);
			return PAM_CONV_ERR;
		}
		if (answer != NULL) {
			resp[i].resp = strdup(answer);
			if (resp[i].resp == NULL) {
				free_responses(resp, count);
				return PAM_BUF_ERR;
			}
		}
	}
	*resp_out = resp;
	return PAM_SUCCESS;
}

static void run_login(const struct run *run, struct login *login)
{
	struct talk *talk = calloc(1, sizeof(*talk));
	struct pam_conv conv = {.conv = converse, .appdata_ptr = talk};
	pam_handle_t *pamh = NULL;
	long long start = now_micros();
	int ret;

	login->auth_ran = login->acct_ran = false;
	if (talk == NULL) {
		login->auth = PAM_BUF_ERR;
		login->auth_ran = true;
		return;
	}
	talk->login = login;
	ret = pam_start(run->service, login->user, &conv, &pamh);
	if (ret != PAM_SUCCESS) {
		login->auth = login->auth1 = ret;
		login->auth_ran = true;
		login->micros = now_micros() - start;
		free(talk);
		return;
	}
	if (run->do_auth) {
		ret = pam_authenticate(pamh, 0);
		if (run->between != NULL) {
			char cmd[4096];

			login->auth1 = ret;
			snprintf(cmd, sizeof(cmd), "unset LD_PRELOAD; %s",
				 run->between);
			if (system(cmd) != 0)
				fprintf(stderr,
					"%zu error: -a command failed\n",
					login->number);
			talk->secrets_asked = 0; /* the prompts start over */
			ret = pam_authenticate(pamh, 0);
		}
		login->auth = ret;
		login->auth_ran = true;
	}
	if (run->do_acct && ret == PAM_SUCCESS) {
		ret = pam_acct_mgmt(pamh, 0);
		login->acct = ret;
		login->acct_ran = true;
	}
	pam_end(pamh, ret);
	login->micros = now_micros() - start;
	explicit_bzero(talk, sizeof(*talk));
	free(talk);
}

static void *worker(void *arg)
{
	struct run *run = arg;

	for (;;) {
		size_t i;

		pthread_mutex_lock(&run->lock);
		i = run->next++;
		pthread_mutex_unlock(&run->lock);
		if (i >= run->count)
			break;
		run_login(run, &run->logins[i]);
	}
	return NULL;
}

/* Read the logins from IN, REPEAT times over.  Returns 0 or errno. */
static int read_logins(FILE *in, unsigned long repeat, struct run *run)
{
	char *line = NULL;
	size_t linesz = 0, base = 0;
	ssize_t len;
	int ret = 0;

	run->logins = calloc(PAMDRIVE_MAX_LOGINS, sizeof(*run->logins));
	if (run->logins == NULL)
		return ENOMEM;
	while ((len = getline(&line, &linesz, in)) >= 0) {
		char *tab, *code;

		if (len > 0 && line[len - 1] == '\n')
			line[--len] = '\0';
		tab = strchr(line, '\t');
		if (tab == NULL || base >= PAMDRIVE_MAX_LOGINS) {
			ret = EINVAL;
			break;
		}
		*tab = '\0';
		run->logins[base].user = strdup(line);
		code = strchr(tab + 1, '\t');
		if (code != NULL) {
			*code = '\0';
			run->logins[base].code = strdup(code + 1);
		}
		run->logins[base].password = strdup(tab + 1);
		if (run->logins[base].user == NULL ||
		    run->logins[base].password == NULL ||
		    (code != NULL && run->logins[base].code == NULL)) {
			ret = ENOMEM;
			break;
		}
		base++;
	}
	if (line != NULL) {
		explicit_bzero(line, linesz);
		free(line);
	}
	run->count = base;
	if (ret != 0)
		return ret;
	if (base == 0 || base * repeat > PAMDRIVE_MAX_LOGINS)
		return EINVAL;
	for (unsigned long r = 1; r < repeat; r++) {
		for (size_t i = 0; i < base; i++)
			run->logins[r * base + i] = run->logins[i];
	}
	run->count = base * repeat;
	for (size_t i = 0; i < run->count; i++)
		run->logins[i].number = i + 1;
	return 0;
}

static void free_logins(struct run *run, size_t distinct)
{
	if (run->logins == NULL)
		return;
	for (size_t i = 0; i < distinct; i++) {
		free(run->logins[i].user);
		if (run->logins[i].code != NULL) {
			explicit_bzero(run->logins[i].code,
				       strlen(run->logins[i].code));
			free(run->logins[i].code);
		}
		if (run->logins[i].password != NULL) {
			explicit_bzero(run->logins[i].password,
				       strlen(run->logins[i].password));
			free(run->logins[i].password);
		}
	}
	free(run->logins);
}

static int usage(void)
{
	fprintf(stderr, "usage: pamdrive [-j THREADS] [-r REPEAT] "
			"[-o auth|acct|both] [-t] [-a COMMAND] SERVICE "
			"< LOGINS\n");
	return 2;
}

static bool parse_count(const char *text, unsigned long max, unsigned long *out)
{
	char *end = NULL;
	unsigned long value;

	if (text[0] < '0' || text[0] > '9')
		return false;
	errno = 0;
	value = strtoul(text, &end, 10);
	if (errno != 0 || *end != '\0' || value < 1 || value > max)
		return false;
	*out = value;
	return true;
}

int main(int argc, char **argv)
{
	struct run run = {.do_auth = true, .do_acct = true};
	pthread_t threads[PAMDRIVE_MAX_THREADS];
	unsigned long nthreads = 1, repeat = 1, started = 0;
	size_t distinct;
	bool timing = false;
	int opt, ret = 0;

	while ((opt = getopt(argc, argv, "j:r:o:ta:")) != -1) {
		switch (opt) {
		case 'j':
			if (!parse_count(optarg, PAMDRIVE_MAX_THREADS,
					 &nthreads))
				return usage();
			break;
		case 'r':
			if (!parse_count(optarg, PAMDRIVE_MAX_LOGINS, &repeat))
				return usage();
			break;
		case 'o':
			run.do_auth = strcmp(optarg, "acct") != 0;
			run.do_acct = strcmp(optarg, "auth") != 0;
			if (strcmp(optarg, "auth") != 0 &&
			    strcmp(optarg, "acct") != 0 &&
			    strcmp(optarg, "both") != 0)
				return usage();
			break;
		case 't':
			timing = true;
			break;
		case 'a':
			run.between = optarg;
			break;
		default:
			return usage();
		}
	}
	if (optind + 1 != argc)
		return usage();
	run.service = argv[optind];

	ret = read_logins(stdin, repeat, &run);
	distinct = run.count / repeat;
	if (ret != 0) {
		fprintf(stderr, "pamdrive: bad input: %s\n", strerror(ret));
		free_logins(&run, run.count);
		return 2;
	}
	pthread_mutex_init(&run.lock, NULL);
	for (; started < nthreads; started++) {
		if (pthread_create(&threads[started], NULL, worker, &run) != 0)
			break;
	}
	if (started == 0)
		worker(&run);
	for (unsigned long i = 0; i < started; i++)
		pthread_join(threads[i], NULL);
	pthread_mutex_destroy(&run.lock);

	for (size_t i = 0; i < run.count; i++) {
		const struct login *l = &run.logins[i];

		printf("%zu ", l->number);
		if (run.between != NULL && l->auth_ran)
			printf("auth1=%s ", code_name(l->auth1));
		printf("auth=%s acct=%s",
		       l->auth_ran ? code_name(l->auth) : "-",
		       l->acct_ran ? code_name(l->acct) : "-");
		if (timing)
			printf(" us=%lld", l->micros);
		printf("\n");
	}
	free_logins(&run, distinct);
	return fflush(stdout) == 0 ? 0 : 1;
}
