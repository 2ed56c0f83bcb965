/*
 * kw_log.c - the one logging wrapper of keyward.
 *
 * A line is formatted completely in a buffer on the caller's stack and
 * then written with one call (write(2) or syslog(3)), so that lines of
 * concurrent threads never interleave.  The settings are read under a
 * mutex; formatting itself takes no lock.
 *
 * kw_log_open() never calls openlog(): the PAM and NSS modules run inside
 * someone else's process (sshd, a web server), whose syslog identity is
 * not ours to change.  Each syslog line therefore starts with the ident
 * instead; keywardd may call openlog() itself.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "kw_log.h"

/* A longer line is cut and ends in "...". */
#define KW_LOG_LINE_MAX 4096
#define KW_LOG_IDENT_MAX 32

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static char log_ident[KW_LOG_IDENT_MAX] = "keyward";
static enum kw_log_target log_target = KW_LOG_STDERR;
static int log_facility = LOG_AUTHPRIV;
static int log_max_priority = LOG_INFO;

static const struct {
	const char *name;
	int priority;
} level_names[] = {
	{"emerg", LOG_EMERG},  {"alert", LOG_ALERT},   {"crit", LOG_CRIT},
	{"err", LOG_ERR},      {"error", LOG_ERR},     {"warning", LOG_WARNING},
	{"warn", LOG_WARNING}, {"notice", LOG_NOTICE}, {"info", LOG_INFO},
	{"debug", LOG_DEBUG},
};

void kw_log_open(const char *ident, enum kw_log_target target, int facility)
{
	pthread_mutex_lock(&log_lock);
	if (ident == NULL)
		ident = "";
	/* The ident is ours, not untrusted, but keep it to one short word. */
	kw_log_sanitize(ident, log_ident, sizeof(log_ident));
	log_target = target;
	log_facility = facility & LOG_FACMASK;
	pthread_mutex_unlock(&log_lock);
}

void kw_log_set_level(int max_priority)
{
	if (max_priority < LOG_EMERG)
		max_priority = LOG_EMERG;
	if (max_priority > LOG_DEBUG)
		max_priority = LOG_DEBUG;
	pthread_mutex_lock(&log_lock);
	log_max_priority = max_priority;
	pthread_mutex_unlock(&log_lock);
}

int kw_log_level_parse(const char *name, int *priority_out)
{
	if (name == NULL)
		return EINVAL;
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]);
	     i++) {
		if (strcmp(name, level_names[i].name) == 0) {
			if (priority_out != NULL)
				*priority_out = level_names[i].priority;
			return 0;
		}
	}
	return EINVAL;
}

static const char *priority_name(int priority)
{
	/* The first name of each priority in the table is its own. */
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]);
	     i++) {
		if (level_names[i].priority == priority)
			return level_names[i].name;
	}
	return "info";
}

static bool is_plain(unsigned char c)
{
	return c > 0x20 && c < 0x7f && c != '\\';
}

const char *kw_log_sanitize(const char *in, char *out, size_t outsz)
{
	static const char hex[] = "0123456789abcdef";
	size_t pos = 0, i;

	if (out == NULL || outsz == 0)
		return out;
	if (in == NULL)
		in = "(null)";
	/*
	 * Space and backslash are escaped too: a field then never contains
	 * a separator of the line, and "\x" always starts an escape.
	 */
	for (i = 0; in[i] != '\0' && i < KW_LOG_FIELD_MAX; i++) {
		unsigned char c = in[i];
		size_t need = is_plain(c) ? 1 : 4;

		/* Keep room for "..." and the NUL. */
		if (pos + need + 4 > outsz)
			break;
		if (need == 1) {
			out[pos++] = (char)c;
		} else {
			out[pos++] = '\\';
			out[pos++] = 'x';
			out[pos++] = hex[c >> 4];
			out[pos++] = hex[c & 0x0f];
		}
	}
	if (in[i] != '\0') {
		size_t dots = outsz - 1 - pos < 3 ? outsz - 1 - pos : 3;

		memset(out + pos, '.', dots);
		pos += dots;
	}
	out[pos] = '\0';
	return out;
}

/*
 * Make the formatted message one line: a newline or other control byte
 * in it (from a caller's %s) becomes \xHH.  Works in place from the end
 * of LINE; returns the new length.
 */
static size_t flatten_line(char *line, size_t len, size_t size)
{
	static const char hex[] = "0123456789abcdef";
	char tmp[KW_LOG_LINE_MAX];
	size_t out = 0;

	if (size < 8) {
		line[0] = '\0';
		return 0;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = line[i];

		if (c >= 0x20 && c != 0x7f) {
			if (out + 1 >= size - 3)
				goto cut;
			tmp[out++] = (char)c;
			continue;
		}
		if (out + 4 >= size - 3)
			goto cut;
		tmp[out++] = '\\';
		tmp[out++] = 'x';
		tmp[out++] = hex[c >> 4];
		tmp[out++] = hex[c & 0x0f];
	}
	memcpy(line, tmp, out);
	line[out] = '\0';
	return out;
cut:
	memcpy(tmp + out, "...", 3);
	out += 3;
	memcpy(line, tmp, out);
	line[out] = '\0';
	return out;
}

static size_t append(char *buf, size_t size, size_t pos, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static size_t append(char *buf, size_t size, size_t pos, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (pos >= size - 1)
		return pos;
	va_start(ap, fmt);
	n = vsnprintf(buf + pos, size - pos, fmt, ap);
	va_end(ap);
	if (n < 0)
		return pos;
	if ((size_t)n >= size - pos)
		return size - 1;
	return pos + (size_t)n;
}

static size_t format_context(char *buf, size_t size,
			     const struct kw_log_ctx *ctx)
{
	const struct {
		const char *key;
		const char *value;
	} fields[] = {
		{"req", ctx->request_id}, {"tenant", ctx->tenant},
		{"user", ctx->user},      {"service", ctx->service},
		{"rhost", ctx->rhost},
	};
	char clean[KW_LOG_FIELD_BUF];
	size_t pos = 0;

	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		if (fields[i].value == NULL)
			continue;
		kw_log_sanitize(fields[i].value, clean, sizeof(clean));
		pos = append(buf, size, pos, "%s=%s ", fields[i].key, clean);
	}
	return pos;
}

void kw_vlog(int priority, const struct kw_log_ctx *ctx, const char *fmt,
	     va_list ap)
{
	char line[KW_LOG_LINE_MAX];
	char ident[KW_LOG_IDENT_MAX];
	enum kw_log_target target;
	int facility, max_priority, saved_errno = errno;
	size_t pos = 0, msg_start;
	int n;

	priority &= LOG_PRIMASK;
	pthread_mutex_lock(&log_lock);
	max_priority = log_max_priority;
	target = log_target;
	facility = log_facility;
	memcpy(ident, log_ident, sizeof(ident));
	pthread_mutex_unlock(&log_lock);
	if (priority > max_priority)
		goto done;

	if (target == KW_LOG_STDERR && ident[0] != '\0')
		pos = append(line, sizeof(line), pos, "%s[%ld]: ", ident,
			     (long)getpid());
	else if (ident[0] != '\0')
		pos = append(line, sizeof(line), pos, "%s: ", ident);
	pos = append(line, sizeof(line), pos, "%s: ", priority_name(priority));
	if (ctx != NULL)
		pos += format_context(line + pos, sizeof(line) - pos, ctx);

	msg_start = pos;
	n = vsnprintf(line + pos, sizeof(line) - pos, fmt, ap);
	if (n < 0)
		n = 0;
	if ((size_t)n >= sizeof(line) - pos)
		n = (int)(sizeof(line) - pos - 1);
	pos = msg_start + flatten_line(line + msg_start, (size_t)n,
				       sizeof(line) - msg_start);

	if (target == KW_LOG_SYSLOG) {
		syslog(facility | priority, "%s", line);
	} else {
		/* One write: a line from another thread cannot cut in. */
		line[pos++] = '\n';
		while (write(STDERR_FILENO, line, pos) < 0 && errno == EINTR)
			;
	}
done:
	errno = saved_errno;
}

void kw_log(int priority, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	kw_vlog(priority, NULL, fmt, ap);
	va_end(ap);
}

void kw_log_ctx(int priority, const struct kw_log_ctx *ctx, const char *fmt,
		...)
{
	va_list ap;

	va_start(ap, fmt);
	kw_vlog(priority, ctx, fmt, ap);
	va_end(ap);
}
