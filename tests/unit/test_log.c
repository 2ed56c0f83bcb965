/*
 * test_log.c - the logger: sanitizing, context, levels, one line per call.
 *
 * The stderr target is captured by pointing file descriptor 2 at a
 * temporary file for the duration of each test.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "kw_log.h"

struct capture {
	int saved_stderr;
	int fd;
	char text[65536];
};

static int capture_start(void **state)
{
	struct capture *cap = calloc(1, sizeof(*cap));
	char path[] = "/tmp/kwlog.XXXXXX";

	if (cap == NULL)
		return -1;
	cap->fd = mkstemp(path);
	if (cap->fd < 0)
		return -1;
	unlink(path);
	fcntl(cap->fd, F_SETFL, O_APPEND);
	fflush(stderr);
	cap->saved_stderr = dup(STDERR_FILENO);
	if (cap->saved_stderr < 0 || dup2(cap->fd, STDERR_FILENO) < 0)
		return -1;
	kw_log_open("kwtest", KW_LOG_STDERR, LOG_AUTHPRIV);
	kw_log_set_level(LOG_DEBUG);
	*state = cap;
	return 0;
}

static int capture_stop(void **state)
{
	struct capture *cap = *state;

	dup2(cap->saved_stderr, STDERR_FILENO);
	close(cap->saved_stderr);
	close(cap->fd);
	free(cap);
	kw_log_set_level(LOG_INFO);
	return 0;
}

/* Everything logged so far, as one string. */
static const char *captured(struct capture *cap)
{
	ssize_t n = pread(cap->fd, cap->text, sizeof(cap->text) - 1, 0);

	assert_true(n >= 0);
	cap->text[n] = '\0';
	return cap->text;
}

static size_t count_lines(const char *text)
{
	size_t n = 0;

	for (; *text != '\0'; text++)
		n += *text == '\n';
	return n;
}

/* ---- kw_log_sanitize ------------------------------------------------ */

static void test_sanitize_plain(void **state)
{
	char out[KW_LOG_FIELD_BUF];

	assert_string_equal(kw_log_sanitize("alice@acme", out, sizeof(out)),
			    "alice@acme");
	assert_string_equal(kw_log_sanitize("", out, sizeof(out)), "");
	assert_string_equal(kw_log_sanitize(NULL, out, sizeof(out)), "(null)");
	assert_ptr_equal(kw_log_sanitize("x", out, sizeof(out)), out);
}

static void test_sanitize_escapes(void **state)
{
	char out[KW_LOG_FIELD_BUF];

	assert_string_equal(kw_log_sanitize("a\nb", out, sizeof(out)),
			    "a\\x0ab");
	assert_string_equal(kw_log_sanitize("a b", out, sizeof(out)),
			    "a\\x20b");
	assert_string_equal(kw_log_sanitize("a\\x41", out, sizeof(out)),
			    "a\\x5cx41");
	assert_string_equal(kw_log_sanitize("\x1b[31m", out, sizeof(out)),
			    "\\x1b[31m");
	assert_string_equal(kw_log_sanitize("\x7f\x80\xff", out, sizeof(out)),
			    "\\x7f\\x80\\xff");
	assert_string_equal(
		kw_log_sanitize("\xc3\xa9t\xc3\xa9", out, sizeof(out)),
		"\\xc3\\xa9t\\xc3\\xa9");
	/* A forged context field stays inside its own value. */
	assert_string_equal(kw_log_sanitize("x tenant=evil", out, sizeof(out)),
			    "x\\x20tenant=evil");
}

static void test_sanitize_long(void **state)
{
	char in[KW_LOG_FIELD_MAX * 3];
	char out[KW_LOG_FIELD_BUF];

	/* Exactly the limit: kept whole. */
	memset(in, 'a', KW_LOG_FIELD_MAX);
	in[KW_LOG_FIELD_MAX] = '\0';
	kw_log_sanitize(in, out, sizeof(out));
	assert_int_equal(strlen(out), KW_LOG_FIELD_MAX);
	assert_null(strstr(out, "..."));

	/* One more: cut, and said so. */
	memset(in, 'a', sizeof(in) - 1);
	in[sizeof(in) - 1] = '\0';
	kw_log_sanitize(in, out, sizeof(out));
	assert_int_equal(strlen(out), KW_LOG_FIELD_MAX + 3);
	assert_string_equal(out + KW_LOG_FIELD_MAX, "...");

	/* All escaped: the worst case fits KW_LOG_FIELD_BUF. */
	memset(in, '\n', sizeof(in) - 1);
	kw_log_sanitize(in, out, sizeof(out));
	assert_int_equal(strlen(out), KW_LOG_FIELD_MAX * 4 + 3);
	assert_string_equal(out + KW_LOG_FIELD_MAX * 4, "...");
}

static void test_sanitize_small_buffer(void **state)
{
	char out[10];

	/* Room for 6 bytes and "...": an escape is never split. */
	kw_log_sanitize("abcdefghijkl", out, sizeof(out));
	assert_string_equal(out, "abcdef...");
	kw_log_sanitize("ab\ncdefgh", out, sizeof(out));
	assert_string_equal(out, "ab\\x0a...");
	kw_log_sanitize("abc\ndefgh", out, sizeof(out));
	assert_string_equal(out, "abc...");
	kw_log_sanitize("abcde", out, sizeof(out));
	assert_string_equal(out, "abcde");
	kw_log_sanitize("abc", out, 1);
	assert_string_equal(out, "");
	assert_null(kw_log_sanitize("abc", NULL, 0));
}

/* ---- lines ---------------------------------------------------------- */

static void test_log_line(void **state)
{
	struct capture *cap = *state;
	char expect[128];

	kw_log(LOG_NOTICE, "started with %d workers", 8);
	snprintf(expect, sizeof(expect),
		 "kwtest[%ld]: notice: started with 8 workers\n",
		 (long)getpid());
	assert_string_equal(captured(cap), expect);
}

static void test_log_context(void **state)
{
	struct capture *cap = *state;
	const struct kw_log_ctx ctx = {
		.request_id = "r-17",
		.tenant = "acme",
		.user = "bob\nuser=root",
		.service = "sshd",
		.rhost = NULL,
	};
	const char *text;

	kw_log_ctx(LOG_WARNING, &ctx, "%s", "refused");
	text = captured(cap);
	assert_non_null(strstr(text, ": warning: req=r-17 tenant=acme "
				     "user=bob\\x0auser=root service=sshd "
				     "refused\n"));
	assert_null(strstr(text, "rhost="));
	assert_int_equal(count_lines(text), 1);
}

static void test_log_context_all_null(void **state)
{
	struct capture *cap = *state;
	const struct kw_log_ctx ctx = {0};

	kw_log_ctx(LOG_ERR, &ctx, "nothing known");
	assert_non_null(strstr(captured(cap), ": err: nothing known\n"));
}

static void test_log_flattens_message(void **state)
{
	struct capture *cap = *state;
	const char *text;

	kw_log(LOG_INFO, "user %s", "eve\nkwtest[1]: info: forged");
	text = captured(cap);
	assert_int_equal(count_lines(text), 1);
	assert_non_null(strstr(text, "user eve\\x0akwtest[1]"));
}

static void test_log_long_message(void **state)
{
	struct capture *cap = *state;
	char *big = malloc(10000);
	const char *text;

	assert_non_null(big);
	memset(big, 'z', 9999);
	big[9999] = '\0';
	kw_log(LOG_INFO, "%s", big);
	text = captured(cap);
	assert_int_equal(count_lines(text), 1);
	assert_non_null(strstr(text, "zzz...\n"));
	assert_true(strlen(text) < 4100);
	free(big);
}

static void test_log_level_filter(void **state)
{
	struct capture *cap = *state;
	const char *text;

	kw_log_set_level(LOG_NOTICE);
	kw_log(LOG_INFO, "hidden info");
	kw_log(LOG_DEBUG, "hidden debug");
	kw_log(LOG_NOTICE, "shown notice");
	kw_log(LOG_ERR, "shown err");
	text = captured(cap);
	assert_null(strstr(text, "hidden"));
	assert_non_null(strstr(text, "shown notice"));
	assert_non_null(strstr(text, "shown err"));
	assert_int_equal(count_lines(text), 2);
}

static void test_log_keeps_errno(void **state)
{
	errno = EACCES;
	kw_log(LOG_INFO, "errno survives");
	assert_int_equal(errno, EACCES);
}

static void test_level_parse(void **state)
{
	static const struct {
		const char *name;
		int priority;
	} levels[] = {
		{"emerg", LOG_EMERG},  {"alert", LOG_ALERT},
		{"crit", LOG_CRIT},    {"err", LOG_ERR},
		{"error", LOG_ERR},    {"warning", LOG_WARNING},
		{"warn", LOG_WARNING}, {"notice", LOG_NOTICE},
		{"info", LOG_INFO},    {"debug", LOG_DEBUG},
	};
	int priority = -1;

	for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
		assert_int_equal(kw_log_level_parse(levels[i].name, &priority),
				 0);
		assert_int_equal(priority, levels[i].priority);
	}
	priority = -1;
	assert_int_equal(kw_log_level_parse("Info", &priority), EINVAL);
	assert_int_equal(kw_log_level_parse("", &priority), EINVAL);
	assert_int_equal(kw_log_level_parse("verbose", &priority), EINVAL);
	assert_int_equal(kw_log_level_parse(NULL, &priority), EINVAL);
	assert_int_equal(priority, -1);
}

/* ---- threads -------------------------------------------------------- */

#define LOG_THREADS 4
#define LOG_LINES_EACH 200

static void *log_many(void *arg)
{
	const struct kw_log_ctx ctx = {.request_id = arg, .user = "u"};

	for (int i = 0; i < LOG_LINES_EACH; i++)
		kw_log_ctx(LOG_INFO, &ctx, "line %d of a longer message", i);
	return NULL;
}

static void test_log_threads(void **state)
{
	struct capture *cap = *state;
	pthread_t threads[LOG_THREADS];
	char ids[LOG_THREADS][8];
	const char *text, *line;

	for (int i = 0; i < LOG_THREADS; i++) {
		snprintf(ids[i], sizeof(ids[i]), "t%d", i);
		assert_int_equal(
			pthread_create(&threads[i], NULL, log_many, ids[i]), 0);
	}
	for (int i = 0; i < LOG_THREADS; i++)
		assert_int_equal(pthread_join(threads[i], NULL), 0);

	/* Every line whole: nothing of another thread inside it. */
	text = captured(cap);
	assert_int_equal(count_lines(text), LOG_THREADS * LOG_LINES_EACH);
	for (line = text; *line != '\0'; line = strchr(line, '\n') + 1) {
		static const char tail[] = "of a longer message\n";
		const char *end = strchr(line, '\n') + 1;
		const char *req = strstr(line, "req=");

		assert_true(req != NULL && req < end);
		req = strstr(req + 1, "req=");
		assert_true(req == NULL || req >= end);
		assert_memory_equal(end - strlen(tail), tail, strlen(tail));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sanitize_plain),
		cmocka_unit_test(test_sanitize_escapes),
		cmocka_unit_test(test_sanitize_long),
		cmocka_unit_test(test_sanitize_small_buffer),
		cmocka_unit_test(test_level_parse),
		cmocka_unit_test_setup_teardown(test_log_line, capture_start,
						capture_stop),
		cmocka_unit_test_setup_teardown(test_log_context, capture_start,
						capture_stop),
		cmocka_unit_test_setup_teardown(test_log_context_all_null,
						capture_start, capture_stop),
		cmocka_unit_test_setup_teardown(test_log_flattens_message,
						capture_start, capture_stop),
		cmocka_unit_test_setup_teardown(test_log_long_message,
						capture_start, capture_stop),
		cmocka_unit_test_setup_teardown(test_log_level_filter,
						capture_start, capture_stop),
		cmocka_unit_test_setup_teardown(test_log_keeps_errno,
						capture_start, capture_stop),
		cmocka_unit_test_setup_teardown(test_log_threads, capture_start,
						capture_stop),
	};

	return cmocka_run_group_tests_name("log", tests, NULL, NULL);
}
