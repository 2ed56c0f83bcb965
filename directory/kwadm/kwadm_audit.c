/*
 * kwadm_audit.c - "kwadm audit": the log of every attempt, per tenant.
 *
 * list reads a tenant's log, as root or as one of the tenant's own
 * administrators.  verify and purge need each tenant's chain key, which
 * is derived from keys.master_key_file, a file only root reads; so they
 * are root's alone, and purge deletes, which only root may.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kw_audit.h"
#include "kw_audit_dir.h"
#include "kw_keys.h"
#include "kw_secret.h"
#include "kwadm.h"

/* How often "list --follow" asks the directory for new records. */
#define AUDIT_FOLLOW_INTERVAL_MS 1000

/* The largest --limit, and the farthest a relative TIME reaches back. */
#define AUDIT_LIMIT_MAX 1000000000UL
#define AUDIT_RELATIVE_MAX (100L * 366 * 86400)

#define SECONDS_PER_DAY 86400L

/* "record" or "records", for N of them. */
static const char *records_word(size_t n)
{
	return n == 1 ? "record" : "records";
}

/* ---- times ------------------------------------------------------------- */

/* -N followed by s, m, h or d: that long before NOW. */
static bool parse_relative(const char *s, time_t now, time_t *out)
{
	long n = 0, unit;
	size_t i;

	if (s[0] != '-' || s[1] < '1' || s[1] > '9')
		return false;
	for (i = 1; s[i] >= '0' && s[i] <= '9'; i++) {
		n = n * 10 + (s[i] - '0');
		if (n > AUDIT_RELATIVE_MAX)
			return false;
	}
	if (s[i] == '\0' || s[i + 1] != '\0')
		return false;
	switch (s[i]) {
	case 's':
		unit = 1;
		break;
	case 'm':
		unit = 60;
		break;
	case 'h':
		unit = 3600;
		break;
	case 'd':
		unit = SECONDS_PER_DAY;
		break;
	default:
		return false;
	}
	if (n > AUDIT_RELATIVE_MAX / unit || now - n * unit <= 0)
		return false;
	*out = now - n * unit;
	return true;
}

/* TEXT of the option NAME into *OUT, or a usage error. */
static int parse_time_option(const struct kwadm_command *cmd, const char *name,
			     const char *text, time_t now, time_t *out)
{
	char quoted[KWADM_QUOTE_MAX];

	if (kwadm_parse_utc(text, out) || parse_relative(text, now, out))
		return 0;
	return kwadm_usage_error(cmd,
				 "%s '%s': write YYYY-MM-DD, "
				 "YYYY-MM-DDTHH:MM:SSZ (UTC) or a time before "
				 "now such as -30m, -1h, -7d",
				 name,
				 kwadm_quote(text, quoted, sizeof(quoted)));
}

/* "2026-01-31T12:00:00.123456Z" */
static void format_time_us(long long time_us, char *out, size_t outsz)
{
	char seconds[32];
	time_t t = (time_t)(time_us / 1000000);

	kwadm_format_time(t, seconds, sizeof(seconds));
	if (strlen(seconds) == 20)
		snprintf(out, outsz, "%.19s.%06lldZ", seconds,
			 time_us % 1000000);
	else
		snprintf(out, outsz, "%s", seconds);
}

/* ---- checks shared by the subcommands -------------------------------- */

/* verify and purge need the master key: root's alone. */
static int require_root(const struct kwadm *ctx,
			const struct kwadm_command *cmd)
{
	if (ctx->admin == NULL)
		return 0;
	kwadm_error("'audit %s' needs root: the chain keys derive from "
		    "keys.master_key_file, which only root reads",
		    cmd->name);
	return KWADM_EXIT_FAILURE;
}

/* The tenants of --tenant T or --all, in *NAMES_OUT (free with free()). */
static int pick_tenants(struct kwadm *ctx, const char *tenant, bool all,
			char (**names_out)[KW_TENANT_MAX + 1], size_t *n_out)
{
	struct kw_tenant *list = NULL;
	size_t i, n = 1;
	int rc = 0;

	*names_out = NULL;
	*n_out = 0;
	if (all) {
		rc = kw_tenant_list(ctx->dir, &list, &n);
		if (rc != 0) {
			rc = kwadm_dir_failed(ctx, rc, NULL, NULL);
			goto done;
		}
	}
	*names_out = calloc(n + 1, sizeof(**names_out));
	if (*names_out == NULL) {
		kwadm_error("out of memory");
		rc = KWADM_EXIT_FAILURE;
		goto done;
	}
	for (i = 0; i < n; i++)
		snprintf((*names_out)[i], sizeof((*names_out)[i]), "%s",
			 all ? list[i].name : tenant);
	*n_out = n;
done:
	free(list);
	return rc;
}

/* Exactly one of --tenant T and --all. */
static int check_scope(const struct kwadm_command *cmd, const char *tenant,
		       bool all)
{
	if (tenant == NULL && !all)
		return kwadm_usage_error(cmd, "name a tenant with --tenant, or "
					      "give --all");
	if (tenant != NULL && all)
		return kwadm_usage_error(cmd, "--tenant and --all exclude "
					      "each other");
	return tenant != NULL ? kwadm_check_tenant(tenant) : 0;
}

/* ---- list: printing ---------------------------------------------------- */

enum column {
	COL_TIME,
	COL_SEQ,
	COL_KIND,
	COL_OUTCOME,
	COL_REASON,
	COL_USER,
	COL_SERVICE,
	COL_RHOST,
	COL_HOST,
	COL_REQUEST,
	N_COLUMNS,
};

static const char *const column_titles[N_COLUMNS] = {
	"TIME", "SEQ",     "KIND",  "OUTCOME", "REASON",
	"USER", "SERVICE", "RHOST", "HOST",    "REQUEST ID",
};

/*
 * Room a column takes at least when following, where the first batch,
 * often empty, cannot say how wide the records to come will be.  The
 * time is always 20 characters.
 */
static const size_t follow_widths[N_COLUMNS] = {
	20, 6, 8, 7, 14, 12, 8, 15, 12, 8,
};

/*
 * The table of a list, printed batch after batch when following: the
 * first batch sets the widths, so that the header printed once still
 * heads the columns of what follows.
 */
struct printer {
	bool follow;
	bool header_done;
	size_t widths[N_COLUMNS];
};

/* The cells of R, pointing into R or into TIME and SEQ. */
static void record_cells(const struct kw_audit_record *r, char *time_s,
			 size_t time_sz, char *seq_s, size_t seq_sz,
			 const char *cells[N_COLUMNS])
{
	kwadm_format_time((time_t)(r->time_us / 1000000), time_s, time_sz);
	snprintf(seq_s, seq_sz, "%llu", r->seq);
	cells[COL_TIME] = time_s;
	cells[COL_SEQ] = seq_s;
	cells[COL_KIND] = r->kind;
	cells[COL_OUTCOME] = r->outcome;
	cells[COL_REASON] = r->reason;
	cells[COL_USER] = r->user[0] != '\0' ? r->user : r->user_hash;
	cells[COL_SERVICE] = r->service;
	cells[COL_RHOST] = r->rhost;
	cells[COL_HOST] = r->host;
	cells[COL_REQUEST] = r->request_id;
	for (size_t c = 0; c < N_COLUMNS; c++)
		if (cells[c][0] == '\0')
			cells[c] = "-";
}

static void print_row(const struct printer *p,
		      const char *const cells[N_COLUMNS])
{
	for (size_t c = 0; c < N_COLUMNS; c++) {
		kwadm_print_safe(stdout, cells[c]);
		if (c + 1 == N_COLUMNS)
			break;
		/* two spaces at least, should a later value be wider */
		for (size_t w = strlen(cells[c]); w < p->widths[c]; w++)
			putchar(' ');
		fputs("  ", stdout);
	}
	putchar('\n');
}

static void print_json_record(const struct kwadm *ctx,
			      const struct kw_audit_record *r)
{
	char time_s[40];

	format_time_us(r->time_us, time_s, sizeof(time_s));
	const struct kwadm_field fields[] = {
		{"tenant", "tenant", KWADM_STRING, .string = r->tenant},
		{"seq", "seq", KWADM_NUMBER, .number = (long)r->seq},
		{"id", "id", KWADM_STRING, .string = r->id},
		{"time", "time", KWADM_STRING, .string = time_s},
		{"time_us", "time_us", KWADM_NUMBER,
		 .number = (long)r->time_us},
		{"kind", "kind", KWADM_STRING, .string = r->kind},
		{"outcome", "outcome", KWADM_STRING, .string = r->outcome},
		{"reason", "reason", KWADM_STRING, .string = r->reason},
		{"user", "user", KWADM_STRING, .string = r->user},
		{"user_hash", "user_hash", KWADM_STRING,
		 .string = r->user_hash},
		{"service", "service", KWADM_STRING, .string = r->service},
		{"rhost", "rhost", KWADM_STRING, .string = r->rhost},
		{"tty", "tty", KWADM_STRING, .string = r->tty},
		{"host", "host", KWADM_STRING, .string = r->host},
		{"request_id", "request_id", KWADM_STRING,
		 .string = r->request_id},
		{"prev_mac", "prev_mac", KWADM_STRING, .string = r->prev_mac},
		{"mac", "mac", KWADM_STRING, .string = r->mac},
	};

	kwadm_print_record(ctx, fields, sizeof(fields) / sizeof(fields[0]));
}

static void print_records(const struct kwadm *ctx, struct printer *p,
			  const struct kw_audit_record *v, size_t n)
{
	const char *cells[N_COLUMNS];
	char time_s[32], seq_s[24];
	size_t i, c;

	if (ctx->json) {
		for (i = 0; i < n; i++)
			print_json_record(ctx, &v[i]);
		fflush(stdout);
		return;
	}
	if (!p->header_done) {
		for (c = 0; c < N_COLUMNS; c++) {
			p->widths[c] = strlen(column_titles[c]);
			if (p->follow && p->widths[c] < follow_widths[c])
				p->widths[c] = follow_widths[c];
		}
		for (i = 0; i < n; i++) {
			record_cells(&v[i], time_s, sizeof(time_s), seq_s,
				     sizeof(seq_s), cells);
			for (c = 0; c < N_COLUMNS; c++)
				if (strlen(cells[c]) > p->widths[c])
					p->widths[c] = strlen(cells[c]);
		}
		print_row(p, column_titles);
		p->header_done = true;
	}
	for (i = 0; i < n; i++) {
		record_cells(&v[i], time_s, sizeof(time_s), seq_s,
			     sizeof(seq_s), cells);
		print_row(p, cells);
	}
	fflush(stdout);
}

/* ---- list -------------------------------------------------------------- */

struct list_options {
	struct kw_audit_query q;
	const char *tenant_arg;
	const char *user_arg;
	const char *since_arg;
	const char *until_arg;
	bool follow;
	char tenant[KW_TENANT_MAX + 1];
	char user[KW_AUDIT_USER_HASH_LEN + 1];
};

/* Returns -1 to go on, or the exit status (after --help or an error). */
static int parse_list_options(const struct kwadm_command *cmd, int argc,
			      char **argv, struct kwadm *ctx,
			      struct list_options *o)
{
	static const struct option opts[] = {
		{"tenant", required_argument, NULL, 't'},
		{"user", required_argument, NULL, 'u'},
		{"outcome", required_argument, NULL, 'o'},
		{"since", required_argument, NULL, 's'},
		{"until", required_argument, NULL, 'U'},
		{"service", required_argument, NULL, 'S'},
		{"kind", required_argument, NULL, 'k'},
		{"limit", required_argument, NULL, 'n'},
		{"json", no_argument, NULL, 'j'},
		{"follow", no_argument, NULL, 'f'},
		KWADM_HELP_OPTION,
		{NULL, 0, NULL, 0},
	};
	char quoted[KWADM_QUOTE_MAX];
	unsigned long limit;
	char *end;
	int c;

	while ((c = kwadm_getopt(cmd, argc, argv, ":ht:u:o:s:U:S:k:n:jf",
				 opts)) != -1) {
		switch (c) {
		case 't':
			o->tenant_arg = optarg;
			break;
		case 'u':
			o->user_arg = optarg;
			break;
		case 'o':
			if (strcmp(optarg, KW_AUDIT_SUCCESS) != 0 &&
			    strcmp(optarg, KW_AUDIT_FAIL) != 0)
				return kwadm_usage_error(
					cmd, "--outcome is success or fail");
			o->q.outcome = optarg;
			break;
		case 's':
			o->since_arg = optarg;
			break;
		case 'U':
			o->until_arg = optarg;
			break;
		case 'S':
			if (!kw_audit_service_valid(optarg))
				return kwadm_usage_error(
					cmd,
					"--service '%s': 1-64 printable "
					"ASCII characters",
					kwadm_quote(optarg, quoted,
						    sizeof(quoted)));
			o->q.service = optarg;
			break;
		case 'k':
			if (!kw_audit_kind_valid(optarg))
				return kwadm_usage_error(
					cmd,
					"--kind '%s': 1-16 of a-z, 0-9, "
					"'_' and '-'",
					kwadm_quote(optarg, quoted,
						    sizeof(quoted)));
			o->q.kind = optarg;
			break;
		case 'n':
			errno = 0;
			limit = strtoul(optarg, &end, 10);
			if (errno != 0 || end == optarg || *end != '\0' ||
			    optarg[0] == '-' || limit < 1 ||
			    limit > AUDIT_LIMIT_MAX)
				return kwadm_usage_error(
					cmd,
					"--limit '%s': a number from 1 "
					"to %lu",
					kwadm_quote(optarg, quoted,
						    sizeof(quoted)),
					AUDIT_LIMIT_MAX);
			o->q.limit = limit;
			o->q.newest = true;
			break;
		case 'j':
			ctx->json = true;
			break;
		case 'f':
			o->follow = true;
			break;
		case 'h':
			return kwadm_help_command(cmd);
		default:
			return KWADM_EXIT_USAGE;
		}
	}
	c = kwadm_expect_args(cmd, argc, argv, 0, "");
	return c != 0 ? c : -1;
}

/* Whose log: --tenant as root; an administrator's own tenant otherwise. */
static int pick_log(const struct kwadm *ctx, const struct kwadm_command *cmd,
		    struct list_options *o)
{
	char admin[KW_QNAME_MAX + 1];

	if (ctx->admin == NULL) {
		if (o->tenant_arg == NULL)
			return kwadm_usage_error(cmd, "name the tenant with "
						      "--tenant (as root)");
		if (kwadm_check_tenant(o->tenant_arg) != 0)
			return KWADM_EXIT_FAILURE;
		snprintf(o->tenant, sizeof(o->tenant), "%s", o->tenant_arg);
		return 0;
	}
	if (o->tenant_arg != NULL &&
	    strcmp(o->tenant_arg, ctx->admin_name.tenant) != 0) {
		kwadm_format_user(ctx, &ctx->admin_name, admin, sizeof(admin));
		if (kwadm_check_tenant(o->tenant_arg) != 0)
			return KWADM_EXIT_FAILURE;
		kwadm_error("%s administers '%s' and may read only that "
			    "tenant's audit log, not '%s''s",
			    admin, ctx->admin_name.tenant, o->tenant_arg);
		return KWADM_EXIT_FAILURE;
	}
	snprintf(o->tenant, sizeof(o->tenant), "%s", ctx->admin_name.tenant);
	return 0;
}

/* --user: a user of the log's tenant, or the hash of an unresolved name. */
static int pick_user(const struct kwadm *ctx, struct list_options *o)
{
	char quoted[KWADM_QUOTE_MAX];
	struct kw_name name;

	if (o->user_arg == NULL)
		return 0;
	if (strncmp(o->user_arg, "h:", 2) == 0) {
		if (!kw_audit_user_hash_valid(o->user_arg)) {
			kwadm_error("'%s' is not a name hash: h: and 32 "
				    "lowercase hex digits",
				    kwadm_quote(o->user_arg, quoted,
						sizeof(quoted)));
			return KWADM_EXIT_FAILURE;
		}
		snprintf(o->user, sizeof(o->user), "%s", o->user_arg);
	} else {
		if (kwadm_parse_user(ctx, o->user_arg, o->tenant, &name) != 0)
			return KWADM_EXIT_FAILURE;
		if (strcmp(name.tenant, o->tenant) != 0) {
			kwadm_error("'%s' is not a user of '%s', whose log "
				    "this is",
				    kwadm_quote(o->user_arg, quoted,
						sizeof(quoted)),
				    o->tenant);
			return KWADM_EXIT_FAILURE;
		}
		snprintf(o->user, sizeof(o->user), "%s", name.user);
	}
	o->q.user = o->user;
	return 0;
}

static int pick_times(const struct kwadm_command *cmd, struct list_options *o)
{
	time_t now = time(NULL);
	int rc = 0;

	if (o->since_arg != NULL)
		rc = parse_time_option(cmd, "--since", o->since_arg, now,
				       &o->q.since);
	if (rc == 0 && o->until_arg != NULL)
		rc = parse_time_option(cmd, "--until", o->until_arg, now,
				       &o->q.until);
	if (rc == 0 && o->q.since != 0 && o->q.until != 0 &&
	    o->q.since >= o->q.until)
		rc = kwadm_usage_error(cmd, "--since must be before --until");
	return rc;
}

static void warn_skipped(const char *tenant, size_t skipped)
{
	if (skipped > 0)
		kwadm_error("warning: %zu %s of '%s''s audit log %s not "
			    "read as records and %s left out; 'kwadm audit "
			    "verify --tenant %s' tells where",
			    skipped, skipped == 1 ? "entry" : "entries", tenant,
			    skipped == 1 ? "does" : "do",
			    skipped == 1 ? "is" : "are", tenant);
}

/* Print Q's records in seq order.  Returns an exit status. */
static int list_once(struct kwadm *ctx, const struct kw_audit_query *q,
		     struct printer *p)
{
	struct kw_audit_record *v = NULL;
	size_t n = 0, skipped = 0;
	int rc;

	rc = kw_audit_search(ctx->dir, q, &v, &n, &skipped);
	if (rc != 0)
		return kwadm_dir_failed(ctx, rc, "tenant", q->tenant);
	print_records(ctx, p, v, n);
	warn_skipped(q->tenant, skipped);
	free(v);
	return KWADM_EXIT_OK;
}

/*
 * Poll for records after HEAD until SIGINT or SIGTERM, which end it with
 * success.  The signals are blocked and taken with sigtimedwait(), so
 * that none is lost between two polls and nothing runs in a handler.
 */
static int follow_log(struct kwadm *ctx, struct kw_audit_query q,
		      struct printer *p, struct kw_audit_head head)
{
	const struct timespec interval = {
		.tv_sec = AUDIT_FOLLOW_INTERVAL_MS / 1000,
		.tv_nsec = (AUDIT_FOLLOW_INTERVAL_MS % 1000) * 1000000L,
	};
	struct kw_audit_head next;
	sigset_t stop, old;
	int rc = KWADM_EXIT_OK, sig;

	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	sigprocmask(SIG_BLOCK, &stop, &old);
	q.limit = 0;
	for (;;) {
		sig = sigtimedwait(&stop, NULL, &interval);
		if (sig == SIGINT || sig == SIGTERM)
			break;
		if (sig < 0 && errno != EAGAIN && errno != EINTR) {
			kwadm_error("cannot wait: %s", strerror(errno));
			rc = KWADM_EXIT_FAILURE;
			break;
		}
		next = head;
		rc = kw_audit_head_refresh(ctx->dir, q.tenant, &next);
		if (rc != 0) {
			rc = kwadm_dir_failed(ctx, rc, "tenant", q.tenant);
			break;
		}
		if (next.seq <= head.seq)
			continue;
		q.after_seq = head.seq;
		q.until_seq = next.seq;
		rc = list_once(ctx, &q, p);
		if (rc != KWADM_EXIT_OK)
			break;
		head = next;
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	return rc;
}

static int audit_list(struct kwadm *ctx, const struct kwadm_command *cmd,
		      int argc, char **argv)
{
	struct list_options o;
	struct printer p = {.follow = false};
	struct kw_audit_head head = {.known = false};
	int rc;

	memset(&o, 0, sizeof(o));
	rc = parse_list_options(cmd, argc, argv, ctx, &o);
	if (rc >= 0)
		return rc;
	rc = pick_times(cmd, &o);
	if (rc == 0)
		rc = kwadm_load_config(ctx);
	if (rc == 0)
		rc = pick_log(ctx, cmd, &o);
	if (rc == 0)
		rc = pick_user(ctx, &o);
	if (rc == 0)
		rc = kwadm_connect(ctx);
	if (rc != 0)
		return rc;
	o.q.tenant = o.tenant;
	p.follow = o.follow;

	/* the head first: what was printed ends there, following starts */
	if (o.follow) {
		rc = kw_audit_head_find(ctx->dir, o.tenant, &head);
		if (rc != 0)
			return kwadm_dir_failed(ctx, rc, "tenant", o.tenant);
		o.q.until_seq = head.seq;
	}
	if (!o.follow || head.seq > 0)
		rc = list_once(ctx, &o.q, &p);
	else
		print_records(ctx, &p, NULL, 0);
	if (rc == KWADM_EXIT_OK && o.follow)
		rc = follow_log(ctx, o.q, &p, head);
	return rc;
}

/* ---- verify ------------------------------------------------------------ */

/* What one tenant's check found. */
struct verdict {
	bool intact;
	const char *fault; /* "intact", "altered", ..., "head", "foreign" */
	unsigned long long bad_seq;
	unsigned long long first_seq, last_seq, anchor_seq;
	size_t records;
	char message[256];
};

static void describe_fault(const char *tenant,
			   const struct kw_audit_verify *report,
			   const struct kw_audit_record *v, size_t n,
			   struct verdict *out)
{
	unsigned long long seq = report->bad_seq, to = seq;

	out->fault = kw_audit_fault_name(report->fault);
	out->bad_seq = seq;
	switch (report->fault) {
	case KW_AUDIT_MISSING_START:
	case KW_AUDIT_GAP:
		if (report->bad_index < n && v[report->bad_index].seq > seq)
			to = v[report->bad_index].seq - 1;
		if (to > seq)
			snprintf(out->message, sizeof(out->message),
				 "%s: records %llu..%llu removed", tenant, seq,
				 to);
		else
			snprintf(out->message, sizeof(out->message),
				 "%s: record %llu removed", tenant, seq);
		break;
	case KW_AUDIT_ALTERED:
		snprintf(out->message, sizeof(out->message),
			 "%s: record %llu altered", tenant, seq);
		break;
	case KW_AUDIT_MALFORMED:
		snprintf(out->message, sizeof(out->message),
			 "%s: record %llu malformed (it does not read as a "
			 "record)",
			 tenant, seq);
		break;
	case KW_AUDIT_BROKEN_LINK:
		snprintf(out->message, sizeof(out->message),
			 "%s: record %llu does not link to the record before "
			 "it",
			 tenant, seq);
		break;
	case KW_AUDIT_ORDER:
		snprintf(out->message, sizeof(out->message),
			 "%s: two records claim seq %llu", tenant, seq);
		break;
	case KW_AUDIT_BAD_ANCHOR:
		snprintf(out->message, sizeof(out->message),
			 "%s: the purge anchor (seq %llu) was not sealed with "
			 "the chain key",
			 tenant, out->anchor_seq);
		break;
	case KW_AUDIT_INTACT:
		break;
	}
}

/* The record of V (sorted) at SEQ, or NULL. */
static const struct kw_audit_record *find_seq(const struct kw_audit_record *v,
					      size_t n, unsigned long long seq)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (v[mid].seq == seq)
			return &v[mid];
		if (v[mid].seq < seq)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/*
 * The head that the probes find must be a record of the chain (or the
 * anchor) with the same MAC: what deliveries chain onto is what was
 * checked.
 */
static bool head_agrees(const struct kw_audit_head *head,
			const struct kw_audit_anchor *anchor, bool have_anchor,
			const struct kw_audit_record *v, size_t n)
{
	const struct kw_audit_record *r;

	if (head->seq == 0)
		return n == 0;
	r = find_seq(v, n, head->seq);
	if (r != NULL)
		return strcmp(r->mac, head->mac) == 0;
	return have_anchor && anchor->seq == head->seq &&
	       strcmp(anchor->mac, head->mac) == 0;
}

static void judge(const char *tenant, const unsigned char key[KW_KEY_BYTES],
		  const struct kw_audit_head *head,
		  const struct kw_audit_anchor *anchor, bool have_anchor,
		  const struct kw_audit_record *v, size_t n, size_t foreign,
		  struct verdict *out)
{
	struct kw_audit_verify report;
	int rc;

	out->anchor_seq = have_anchor ? anchor->seq : 0;
	rc = kw_audit_chain_check(key, have_anchor ? anchor : NULL, v, n,
				  &report);
	if (rc != 0 && rc != EBADMSG) {
		out->fault = "error";
		snprintf(out->message, sizeof(out->message),
			 "%s: cannot check the chain: %s", tenant,
			 strerror(rc));
		return;
	}
	out->records = report.checked;
	out->last_seq = report.last_seq;
	out->first_seq =
		report.checked > 0 ? report.last_seq - report.checked + 1 : 0;
	if (rc == EBADMSG) {
		describe_fault(tenant, &report, v, n, out);
		return;
	}
	if (!head_agrees(head, anchor, have_anchor, v, n)) {
		out->fault = "head";
		out->bad_seq = head->seq;
		snprintf(out->message, sizeof(out->message),
			 "%s: the chain's head (seq %llu) is not its last "
			 "record (seq %llu)",
			 tenant, head->seq, report.last_seq);
		return;
	}
	if (foreign > 0) {
		out->fault = "foreign";
		snprintf(out->message, sizeof(out->message),
			 "%s: %zu %s below ou=audit %s", tenant, foreign,
			 foreign == 1 ? "entry" : "entries",
			 foreign == 1 ? "is not a record" : "are not records");
		return;
	}
	out->intact = true;
	out->fault = "intact";
	if (report.checked > 0)
		snprintf(out->message, sizeof(out->message),
			 "%s: %zu %s intact (seq %llu..%llu)", tenant,
			 report.checked, records_word(report.checked),
			 out->first_seq, out->last_seq);
	else if (have_anchor)
		snprintf(out->message, sizeof(out->message),
			 "%s: 0 records intact (purged up to seq %llu)", tenant,
			 anchor->seq);
	else
		snprintf(out->message, sizeof(out->message),
			 "%s: 0 records intact (empty log)", tenant);
}

static void print_verdict(const struct kwadm *ctx, const char *tenant,
			  const struct verdict *v)
{
	if (!ctx->json) {
		kwadm_print_safe(stdout, v->message);
		putchar('\n');
		return;
	}
	const struct kwadm_field fields[] = {
		{"tenant", "tenant", KWADM_STRING, .string = tenant},
		{"intact", "intact", KWADM_BOOL, .boolean = v->intact},
		{"fault", "fault", KWADM_STRING, .string = v->fault},
		{"bad_seq", "bad_seq", KWADM_NUMBER,
		 .number = v->intact ? -1 : (long)v->bad_seq},
		{"records", "records", KWADM_NUMBER,
		 .number = (long)v->records},
		{"first_seq", "first_seq", KWADM_NUMBER,
		 .number = v->records > 0 ? (long)v->first_seq : -1},
		{"last_seq", "last_seq", KWADM_NUMBER,
		 .number = v->records > 0 ? (long)v->last_seq : -1},
		{"purged_to", "purged_to", KWADM_NUMBER,
		 .number = v->anchor_seq > 0 ? (long)v->anchor_seq : -1},
		{"message", "message", KWADM_STRING, .string = v->message},
	};
	kwadm_print_record(ctx, fields, sizeof(fields) / sizeof(fields[0]));
}

/*
 * Check one tenant's log: its head, its latest anchor, every record.
 * Returns 0 if it is intact, KWADM_EXIT_FAILURE if not or on an error.
 */
static int verify_tenant(struct kwadm *ctx, const struct kw_master_key *mk,
			 const char *tenant)
{
	unsigned char key[KW_KEY_BYTES];
	struct kw_audit_record *v = NULL;
	struct kw_audit_anchor anchor;
	struct kw_audit_head head;
	struct verdict verdict;
	size_t n = 0, foreign = 0;
	bool have_anchor = false;
	int rc;

	memset(&verdict, 0, sizeof(verdict));
	rc = kw_key_derive(mk, KW_KEY_AUDIT_CHAIN, tenant, key);
	if (rc != 0) {
		kwadm_error("%s: cannot derive the chain key: %s", tenant,
			    strerror(rc));
		rc = KWADM_EXIT_FAILURE;
		goto done;
	}
	/*
	 * The anchor once, then the head after it and before the records
	 * (records after it came meanwhile): a purge between two reads of
	 * the anchor would make them disagree.
	 */
	rc = kw_audit_anchor_get(ctx->dir, tenant, &anchor, &have_anchor);
	if (rc == 0)
		rc = kw_audit_head_from_anchor(
			ctx->dir, tenant, have_anchor ? &anchor : NULL, &head);
	if (rc == 0)
		rc = kw_audit_read_log(ctx->dir, tenant, &v, &n, &foreign);
	if (rc == EBADMSG) {
		verdict.fault = "malformed";
		snprintf(verdict.message, sizeof(verdict.message), "%s: %s",
			 tenant, kw_dir_error(ctx->dir));
	} else if (rc != 0) {
		rc = kwadm_dir_failed(ctx, rc, "tenant", tenant);
		goto done;
	} else {
		judge(tenant, key, &head, &anchor, have_anchor, v, n, foreign,
		      &verdict);
	}
	print_verdict(ctx, tenant, &verdict);
	rc = verdict.intact ? 0 : KWADM_EXIT_FAILURE;
done:
	kw_wipe(key, sizeof(key));
	free(v);
	return rc;
}

static int audit_verify(struct kwadm *ctx, const struct kwadm_command *cmd,
			int argc, char **argv)
{
	static const struct option opts[] = {
		{"tenant", required_argument, NULL, 't'},
		{"all", no_argument, NULL, 'a'},
		KWADM_HELP_OPTION,
		{NULL, 0, NULL, 0},
	};
	char(*tenants)[KW_TENANT_MAX + 1] = NULL;
	struct kw_master_key mk;
	const char *tenant = NULL;
	size_t i, n = 0;
	bool all = false;
	int c, rc;

	memset(&mk, 0, sizeof(mk));
	while ((c = kwadm_getopt(cmd, argc, argv, ":ht:a", opts)) != -1) {
		switch (c) {
		case 't':
			tenant = optarg;
			break;
		case 'a':
			all = true;
			break;
		case 'h':
			return kwadm_help_command(cmd);
		default:
			return KWADM_EXIT_USAGE;
		}
	}
	rc = kwadm_expect_args(cmd, argc, argv, 0, "");
	if (rc == 0)
		rc = check_scope(cmd, tenant, all);
	if (rc == 0)
		rc = require_root(ctx, cmd);
	if (rc == 0)
		rc = kwadm_load_config(ctx);
	if (rc == 0)
		rc = kwadm_load_master_key(ctx, &mk);
	if (rc == 0)
		rc = kwadm_connect(ctx);
	if (rc == 0)
		rc = pick_tenants(ctx, tenant, all, &tenants, &n);
	if (rc != 0)
		goto done;
	for (i = 0; i < n; i++)
		if (verify_tenant(ctx, &mk, tenants[i]) != 0)
			rc = KWADM_EXIT_FAILURE;
done:
	kw_master_key_wipe(&mk);
	free(tenants);
	return rc;
}

/* ---- purge ------------------------------------------------------------- */

static bool confirm_purge(const char *scope, const char *before)
{
	char line[16];

	fprintf(stderr,
		"Purging deletes the audit records of %s older than %s; "
		"this cannot be undone.\nType 'yes' to confirm: ",
		scope, before);
	fflush(stderr);
	if (fgets(line, sizeof(line), stdin) == NULL)
		return false;
	return strcmp(line, "yes\n") == 0 || strcmp(line, "yes") == 0;
}

static int purge_tenant(struct kwadm *ctx, const struct kw_master_key *mk,
			const char *tenant, time_t before, const char *before_s)
{
	unsigned char key[KW_KEY_BYTES];
	char message[256];
	size_t purged = 0;
	int rc;

	rc = kw_key_derive(mk, KW_KEY_AUDIT_CHAIN, tenant, key);
	if (rc != 0) {
		kwadm_error("%s: cannot derive the chain key: %s", tenant,
			    strerror(rc));
		rc = KWADM_EXIT_FAILURE;
		goto done;
	}
	rc = kw_audit_purge(ctx->dir, tenant, key, before, &purged);
	if (rc == EBADMSG) {
		kwadm_error("%s: not purged: %s; see 'kwadm audit verify "
			    "--tenant %s'",
			    tenant, kw_dir_error(ctx->dir), tenant);
		rc = KWADM_EXIT_FAILURE;
		goto done;
	}
	if (rc != 0) {
		if (purged > 0)
			kwadm_error("%s: %zu %s purged before the error",
				    tenant, purged, records_word(purged));
		rc = kwadm_dir_failed(ctx, rc, "tenant", tenant);
		goto done;
	}
	if (ctx->json) {
		const struct kwadm_field fields[] = {
			{"tenant", "tenant", KWADM_STRING, .string = tenant},
			{"purged", "purged", KWADM_NUMBER,
			 .number = (long)purged},
			{"before", "before", KWADM_TIME, .time = before},
		};
		kwadm_print_record(ctx, fields,
				   sizeof(fields) / sizeof(fields[0]));
	} else if (!ctx->quiet) {
		snprintf(message, sizeof(message),
			 "%s: %zu %s purged (older than %s)", tenant, purged,
			 records_word(purged), before_s);
		kwadm_print_safe(stdout, message);
		putchar('\n');
	}
done:
	kw_wipe(key, sizeof(key));
	return rc;
}

/* --before, or audit.retention_days before now. */
static int purge_time(const struct kwadm *ctx, const struct kwadm_command *cmd,
		      const char *before_arg, time_t *before)
{
	time_t now = time(NULL);
	int rc;

	if (before_arg != NULL) {
		rc = parse_time_option(cmd, "--before", before_arg, now,
				       before);
		if (rc == 0 && *before > now)
			rc = kwadm_usage_error(cmd,
					       "--before is in the future");
		return rc;
	}
	if (ctx->cfg.audit_retention_days == 0) {
		kwadm_error("audit.retention_days is 0 (keep every record): "
			    "say what to purge with --before");
		return KWADM_EXIT_FAILURE;
	}
	*before = now - (time_t)ctx->cfg.audit_retention_days * SECONDS_PER_DAY;
	return 0;
}

static int audit_purge(struct kwadm *ctx, const struct kwadm_command *cmd,
		       int argc, char **argv)
{
	static const struct option opts[] = {
		{"before", required_argument, NULL, 'b'},
		{"tenant", required_argument, NULL, 't'},
		{"all", no_argument, NULL, 'a'},
		{"yes", no_argument, NULL, 'y'},
		KWADM_HELP_OPTION,
		{NULL, 0, NULL, 0},
	};
	char(*tenants)[KW_TENANT_MAX + 1] = NULL;
	char before_s[32], scope[KW_TENANT_MAX + 16];
	const char *tenant = NULL, *before_arg = NULL;
	struct kw_master_key mk;
	time_t before = 0;
	bool all = false, yes = false;
	size_t i, n = 0;
	int c, rc;

	memset(&mk, 0, sizeof(mk));
	while ((c = kwadm_getopt(cmd, argc, argv, ":hb:t:ay", opts)) != -1) {
		switch (c) {
		case 'b':
			before_arg = optarg;
			break;
		case 't':
			tenant = optarg;
			break;
		case 'a':
			all = true;
			break;
		case 'y':
			yes = true;
			break;
		case 'h':
			return kwadm_help_command(cmd);
		default:
			return KWADM_EXIT_USAGE;
		}
	}
	rc = kwadm_expect_args(cmd, argc, argv, 0, "");
	if (rc == 0)
		rc = check_scope(cmd, tenant, all);
	if (rc == 0)
		rc = require_root(ctx, cmd);
	if (rc == 0)
		rc = kwadm_load_config(ctx);
	if (rc == 0)
		rc = purge_time(ctx, cmd, before_arg, &before);
	if (rc != 0)
		goto done;
	kwadm_format_time(before, before_s, sizeof(before_s));
	snprintf(scope, sizeof(scope), "%s", all ? "every tenant" : tenant);
	if (!yes && !isatty(STDIN_FILENO)) {
		kwadm_error("refusing to purge without --yes: standard input "
			    "is not a terminal to confirm on");
		rc = KWADM_EXIT_FAILURE;
		goto done;
	}
	if (!yes && !confirm_purge(scope, before_s)) {
		kwadm_error("not confirmed; nothing was purged");
		rc = KWADM_EXIT_FAILURE;
		goto done;
	}
	rc = kwadm_load_master_key(ctx, &mk);
	if (rc == 0)
		rc = kwadm_connect(ctx);
	if (rc == 0)
		rc = pick_tenants(ctx, tenant, all, &tenants, &n);
	if (rc != 0)
		goto done;
	for (i = 0; i < n; i++)
		if (purge_tenant(ctx, &mk, tenants[i], before, before_s) != 0)
			rc = KWADM_EXIT_FAILURE;
done:
	kw_master_key_wipe(&mk);
	free(tenants);
	return rc;
}

/* ---- the commands ------------------------------------------------------ */

static const struct kwadm_command audit_commands[] = {
	{
		.name = "list",
		.synopsis = "[--tenant TENANT] [--user USER]\n"
			    "        [--outcome success|fail] [--since TIME] "
			    "[--until TIME]\n"
			    "        [--service SERVICE] [--kind KIND] "
			    "[--limit N]\n"
			    "        [--json] [--follow]",
		.summary = "read a tenant's log of attempts",
		.description =
			"Print the records of a tenant's audit log in the\n"
			"order of the tenant's chain: every login attempt\n"
			"and every other decision, failed and invalid ones\n"
			"included, with its outcome and reason.  Root names\n"
			"the tenant with --tenant.  A tenant administrator\n"
			"(kwadm -U) reads the log of their own tenant, which\n"
			"is the default, and no other: kwadm refuses another\n"
			"tenant before asking, and the directory would too.\n"
			"\n"
			"The options narrow the records; a record is printed\n"
			"when it matches all of them.  TIME is YYYY-MM-DD\n"
			"(midnight UTC), YYYY-MM-DDTHH:MM:SSZ, or a time\n"
			"before now: a minus sign, a number and s, m, h or d\n"
			"(seconds, minutes, hours, days), as in -30m, -1h or\n"
			"the week before, -7d.\n"
			"\n"
			"The table shows for each record: the time (UTC, to\n"
			"the second), its seq (its place in the chain), the\n"
			"kind of decision (auth, account, totp, ...), the\n"
			"outcome and the reason, the user, the PAM service,\n"
			"the remote host, the host that decided and the\n"
			"login's request id.  A name that did not resolve to\n"
			"a user is never stored: the USER column shows the\n"
			"keyed hash of what was typed (h: and 32 hex digits,\n"
			"the same for the same name), which --user accepts.\n"
			"\n"
			"With --json, each record is one JSON object on a\n"
			"line of its own (NDJSON), with every field: id, time\n"
			"to the microsecond, tty and the MACs too.\n",
		.options =
			"--tenant TENANT\n"
			"    Read TENANT's log.  Required as root; an\n"
			"    administrator reads only their own tenant's.\n"
			"--user USER\n"
			"    Only the records of USER (a user name of the\n"
			"    tenant, or USER@TENANT), or of the name hash\n"
			"    h:... shown for a name that did not resolve.\n"
			"--outcome success|fail\n"
			"    Only the successes, or only the failures.\n"
			"--since TIME\n"
			"    Only records from TIME on.\n"
			"--until TIME\n"
			"    Only records before TIME.\n"
			"--service SERVICE\n"
			"    Only records of this PAM service (exactly).\n"
			"--kind KIND\n"
			"    Only decisions of this kind: auth, account,\n"
			"    totp, password-change, ...\n"
			"--limit N\n"
			"    Only the newest N of the matching records, still\n"
			"    oldest first (like tail).\n"
			"--json\n"
			"    One JSON object per record and line; the same as\n"
			"    kwadm --json.\n"
			"--follow\n"
			"    After printing, wait for new records and print\n"
			"    them as they come (every second), until\n"
			"    interrupted (SIGINT or SIGTERM: exit status 0).\n",
		.example = "kwadm audit list --tenant acme --outcome fail "
			   "--since -1h\n"
			   "kwadm audit list --tenant acme --user alice "
			   "--limit 20\n"
			   "kwadm -U carol@acme --password-file carol.pw "
			   "audit list --follow\n",
		.run = audit_list,
	},
	{
		.name = "verify",
		.synopsis = "--tenant TENANT | --all",
		.summary = "check that no record was removed or altered",
		.description =
			"Check the chain of a tenant's audit log, or of every\n"
			"tenant's: each record's MAC under the tenant's chain\n"
			"key, that it links to the record before it, that no\n"
			"seq is missing, and that the log starts right after\n"
			"the anchor of the last purge, whose seal is checked\n"
			"too.  The head that new records are chained onto\n"
			"must be the last record checked.  Prints one line\n"
			"per tenant: how many records are intact and their\n"
			"seqs, or the first fault and where it is (a record\n"
			"removed, altered, malformed, a broken link, a forged\n"
			"anchor).  Exit status 0 if every log checked is\n"
			"intact, 1 if any is not.\n"
			"\n"
			"Root only: the chain keys are derived from\n"
			"keys.master_key_file, which only root reads.  What\n"
			"a chain cannot show is the removal of its newest\n"
			"records, which leaves a shorter log that verifies.\n",
		.options = "--tenant TENANT\n"
			   "    Check TENANT's log.\n"
			   "--all\n"
			   "    Check the log of every tenant.\n",
		.example = "kwadm audit verify --tenant acme\n"
			   "kwadm --json audit verify --all\n",
		.run = audit_verify,
	},
	{
		.name = "purge",
		.synopsis = "--tenant TENANT | --all\n"
			    "        [--before TIME] [--yes]",
		.summary = "delete old records, keeping the chain verifiable",
		.description =
			"Delete the records older than TIME from a tenant's\n"
			"audit log, or from every tenant's.  TIME defaults to\n"
			"audit.retention_days days before now; when that is 0\n"
			"(keep everything), --before is required.  TIME is\n"
			"written as for 'kwadm audit list'.\n"
			"\n"
			"The records go from the start of the log up to the\n"
			"first that is not older than TIME, so that a record\n"
			"delivered late never takes newer ones with it.\n"
			"Before anything is deleted, those records are\n"
			"checked as 'verify' does, and a log that does not\n"
			"verify there is not purged: a purge cannot hide\n"
			"tampering.  Then a sealed anchor of the last one is\n"
			"stored with the log, and the records are deleted,\n"
			"oldest first; the log verifies at every step, and a\n"
			"purge cut short is finished by the next.  Prints how\n"
			"many records were purged.\n"
			"\n"
			"Root only.  Without --yes, kwadm asks on the\n"
			"terminal, and refuses when standard input is not a\n"
			"terminal.\n",
		.options = "--before TIME\n"
			   "    Purge the records older than TIME.\n"
			   "--tenant TENANT\n"
			   "    Purge TENANT's log.\n"
			   "--all\n"
			   "    Purge the log of every tenant.\n"
			   "-y, --yes\n"
			   "    Do not ask for confirmation.\n",
		.example = "kwadm audit purge --tenant acme --before "
			   "2025-01-01 --yes\n"
			   "kwadm audit purge --all --yes\n",
		.run = audit_purge,
	},
	{.name = NULL},
};

const struct kwadm_group kwadm_audit_group = {
	.name = "audit",
	.summary = "the log of every attempt: read, verify, purge",
	.commands = audit_commands,
	.default_command = "list",
};
