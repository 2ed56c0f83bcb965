/*
 * kw_log.h - the one logging wrapper of keyward.
 *
 * Every line goes through kw_log(); a line of one request carries the same
 * context (request id, tenant, user, service, rhost).  Untrusted strings are
 * capped at KW_LOG_FIELD_MAX bytes and made printable before they are
 * written.  No secret is ever passed here.
 *
 * This file depends on nothing else of keyward.
 */
#ifndef KW_LOG_H
#define KW_LOG_H

#include <stdarg.h>
#include <stddef.h>
#include <syslog.h>

#define KW_LOG_FIELD_MAX 100
/* Room for one sanitized field: every byte escaped, "..." and the NUL. */
#define KW_LOG_FIELD_BUF (KW_LOG_FIELD_MAX * 4 + 4)

enum kw_log_target {
	KW_LOG_STDERR, /* kwadm, tests, keywardd in the foreground */
	KW_LOG_SYSLOG, /* keywardd as a service, the modules */
};

/* Context shared by all lines of one request.  Any field may be NULL. */
struct kw_log_ctx {
	const char *request_id;
	const char *tenant;
	const char *user;
	const char *service;
	const char *rhost;
};

void kw_log_open(const char *ident, enum kw_log_target target, int facility);
void kw_log_set_level(int max_priority);
int kw_log_level_parse(const char *name, int *priority_out);

/* Log one line at syslog PRIORITY.  No trailing newline in FMT. */
void kw_log(int priority, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Log one line prefixed with the request context. */
void kw_log_ctx(int priority, const struct kw_log_ctx *ctx, const char *fmt,
		...) __attribute__((format(printf, 3, 4)));

void kw_vlog(int priority, const struct kw_log_ctx *ctx, const char *fmt,
	     va_list ap) __attribute__((format(printf, 3, 0)));

/*
 * Copy untrusted IN into OUT (size OUTSZ) for logging: at most
 * KW_LOG_FIELD_MAX bytes, with every byte outside printable ASCII (and
 * space and backslash, so that a field never holds a separator) written
 * as \xHH, and "..." appended when IN was cut.  OUTSZ should be
 * KW_LOG_FIELD_BUF; a smaller OUT is filled as far as it goes.  A NULL IN
 * is written as "(null)".  Returns OUT.
 */
const char *kw_log_sanitize(const char *in, char *out, size_t outsz);

#endif
