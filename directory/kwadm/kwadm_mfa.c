/*
 * kwadm_mfa.c - "kwadm mfa": the TOTP tokens and recovery codes of users.
 *
 * Enrolling and making new recovery codes write what only keywardd's
 * service identity and root may write (the sealed secret, the hashes of
 * the codes), and sealing needs the master key, which only root can read:
 * those two commands work as root only.  Status and reset work for the
 * tenant's administrators too, who may read the state of a token and
 * delete it, never read its secret.
 *
 * A secret, its otpauth URI and QR code and the recovery codes are
 * printed once, on standard output, and wiped from memory afterwards;
 * nothing of them ever goes to standard error, which is often a log.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kw_keys.h"
#include "kw_mfa.h"
#include "kw_mfa_dir.h"
#include "kw_secret.h"
#include "kwadm.h"

/* Room for the longest URI: issuer and account percent-encoded. */
#define URI_MAX (64 + 6 * KW_DISPLAY_MAX + 3 * KW_QNAME_MAX + 128)
/* A typed code: digits, maybe grouped by spaces as apps show them. */
#define CODE_LINE_MAX 64

/* New recovery codes, their hashes, and the list the model takes. */
struct recovery_set {
	char codes[KW_RECOVERY_CODES][KW_RECOVERY_CODE_LEN + 1];
	char hashes[KW_RECOVERY_CODES][KW_RECOVERY_HASH_MAX + 1];
	char *list[KW_RECOVERY_CODES + 1];
};

/* Everything secret of one enrolment, wiped as one. */
struct enrolment {
	struct kw_master_key key;
	unsigned char secret[KW_TOTP_SECRET_BYTES];
	char base32[KW_BASE32_LEN(KW_TOTP_SECRET_BYTES) + 1];
	char sealed[KW_SEAL_TEXT_MAX + 1];
	char uri[URI_MAX];
	char code[CODE_LINE_MAX + 1];
	struct recovery_set recovery;
	char *qr; /* kw_qr_render's, or NULL */
};

static void enrolment_wipe(struct enrolment *e)
{
	kw_wipe_free_str(e->qr);
	kw_wipe(e, sizeof(*e));
}

static const char *state_name(enum kw_totp_state state)
{
	switch (state) {
	case KW_TOTP_PENDING:
		return "pending";
	case KW_TOTP_ACTIVE:
		return "active";
	case KW_TOTP_NONE:
	default:
		return "none";
	}
}

static int root_only(const struct kwadm_command *cmd, const char *why)
{
	kwadm_error("'mfa %s' works as root only: %s; run it without -U",
		    cmd->name, why);
	return KWADM_EXIT_FAILURE;
}

/* Report a failed change of a token in words.  Returns an exit status. */
static int token_failed(const struct kwadm *ctx, int rc, const char *qname)
{
	if (rc != ECANCELED)
		return kwadm_dir_failed(ctx, rc, "user", qname);
	kwadm_error("the TOTP token of '%s' was changed at the same time "
		    "(another enrolment or a reset); nothing was changed",
		    qname);
	return KWADM_EXIT_FAILURE;
}

static int new_recovery_codes(struct recovery_set *r)
{
	size_t i;
	int rc;

	rc = kw_recovery_new(r->codes, KW_RECOVERY_CODES);
	for (i = 0; rc == 0 && i < KW_RECOVERY_CODES; i++) {
		rc = kw_recovery_hash(r->codes[i], r->hashes[i],
				      sizeof(r->hashes[i]));
		r->list[i] = r->hashes[i];
	}
	if (rc == 0)
		return 0;
	kwadm_error("cannot make recovery codes: %s", strerror(rc));
	kw_wipe(r, sizeof(*r));
	return KWADM_EXIT_FAILURE;
}

/* The human form of new codes; the JSON form is in print_codes_json. */
static void print_codes(const struct kwadm *ctx, const char *qname,
			const struct recovery_set *r)
{
	size_t i;

	printf("recovery codes of %s (each works once, in place of a code "
	       "from the app):\n",
	       qname);
	for (i = 0; i < KW_RECOVERY_CODES; i++)
		printf("    %s\n", r->codes[i]);
	if (!ctx->quiet)
		printf("These codes are shown only now and cannot be shown "
		       "again: keep them\nsomewhere safe, apart from the "
		       "phone.\n");
}

static void print_codes_json(const char *qname, const char *result,
			     const char *state, const struct recovery_set *r)
{
	size_t i;

	printf("{\"user\":");
	kwadm_json_string(stdout, qname);
	printf(",\"result\":");
	kwadm_json_string(stdout, result);
	printf(",\"state\":");
	kwadm_json_string(stdout, state);
	printf(",\"recovery_codes\":[");
	for (i = 0; i < KW_RECOVERY_CODES; i++) {
		if (i > 0)
			putchar(',');
		kwadm_json_string(stdout, r->codes[i]);
	}
	printf("]}\n");
}

/* ---- enroll -------------------------------------------------------------- */

/* Make and seal a new secret for NAME, with its URI (and QR code). */
static int make_token(struct kwadm *ctx, const struct kw_name *name,
		      const char *qname, bool want_qr, struct enrolment *e)
{
	struct kw_totp_params p;
	struct kw_mfa_policy policy;
	int rc;

	kw_totp_params_of_config(&ctx->cfg, &p);
	rc = kw_mfa_policy_get(ctx->dir, name->tenant, &policy);
	if (rc != 0)
		return kwadm_dir_failed(ctx, rc, "tenant", name->tenant);
	rc = kw_totp_new_secret(e->secret, sizeof(e->secret));
	if (rc == 0)
		rc = kw_seal(&e->key, name->tenant, name->user, e->secret,
			     sizeof(e->secret), e->sealed, sizeof(e->sealed));
	if (rc == 0)
		rc = kw_base32_encode(e->secret, sizeof(e->secret), e->base32,
				      sizeof(e->base32));
	if (rc == 0)
		rc = kw_otpauth_uri(kw_mfa_issuer(&policy, ctx->cfg.mfa_issuer),
				    qname, e->secret, sizeof(e->secret), &p,
				    e->uri, sizeof(e->uri));
	if (rc == 0 && want_qr)
		rc = kw_qr_render(e->uri, &e->qr);
	if (rc != 0) {
		kwadm_error("cannot make a TOTP secret for '%s': %s", qname,
			    strerror(rc));
		return KWADM_EXIT_FAILURE;
	}
	return 0;
}

static void print_token(const struct kwadm *ctx, const char *qname,
			const struct enrolment *e)
{
	if (ctx->json) {
		printf("{\"user\":");
		kwadm_json_string(stdout, qname);
		printf(",\"state\":\"pending\",\"otpauth_uri\":");
		kwadm_json_string(stdout, e->uri);
		printf(",\"secret\":");
		kwadm_json_string(stdout, e->base32);
		printf("}\n");
	} else {
		printf("new TOTP token of %s (pending until its first code):\n"
		       "otpauth URI: %s\n"
		       "secret:      %s\n",
		       qname, e->uri, e->base32);
		if (e->qr != NULL)
			fputs(e->qr, stdout);
		if (!ctx->quiet)
			printf("Scan the QR code or type the secret into an "
			       "authenticator app, then enter\nthe code it "
			       "shows.  This secret is shown only now.\n");
	}
	/* the person (or script) needs it before typing the code */
	fflush(stdout);
}

/*
 * Read one line, the code, from PATH ('-' or NULL: standard input) into
 * CODE, without spaces.  The prompt goes to standard error.
 */
static int read_code(const char *path, const char *qname, char *code,
		     size_t codesz)
{
	bool from_stdin = path == NULL || strcmp(path, "-") == 0;
	size_t len = 0, i, j;
	int fd, rc = KWADM_EXIT_FAILURE;
	ssize_t n = 0;
	char c = 0;

	fprintf(stderr, "Code from the app for %s: ", qname);
	fflush(stderr);
	fd = from_stdin ? STDIN_FILENO
			: open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		kwadm_error("cannot open the code file '%s': %s", path,
			    strerror(errno));
		goto done;
	}
	/* byte by byte: one line, and nothing after it, is ours */
	while (len < codesz - 1) {
		n = read(fd, &c, 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0 || c == '\n')
			break;
		code[len++] = c;
	}
	code[len] = '\0';
	/* a typed line ends the prompt's line; a file's does not */
	if (!isatty(fd))
		fputc('\n', stderr);
	if (n < 0)
		kwadm_error("cannot read the code: %s", strerror(errno));
	else if (len == codesz - 1)
		kwadm_error("the code is longer than %zu characters",
			    codesz - 2);
	else
		rc = 0;
	for (i = j = 0; rc == 0 && i < len; i++)
		if (code[i] != ' ' && code[i] != '\r')
			code[j++] = code[i];
	if (rc == 0)
		code[j] = '\0';
	if (rc == 0 && j == 0) {
		kwadm_error("no code was entered");
		rc = KWADM_EXIT_FAILURE;
	}
done:
	if (!from_stdin && fd >= 0)
		close(fd);
	kw_wipe(&c, sizeof(c));
	if (rc != 0)
		kw_wipe(code, codesz);
	return rc;
}

/* Check the first code and activate the token.  Returns an exit status. */
static int confirm_token(struct kwadm *ctx, const struct kw_name *name,
			 const char *qname, const char *code_file,
			 struct enrolment *e)
{
	struct kw_totp_params p;
	long long step = -1;
	int rc;

	kw_totp_params_of_config(&ctx->cfg, &p);
	rc = read_code(code_file, qname, e->code, sizeof(e->code));
	if (rc == 0) {
		rc = kw_totp_verify(e->secret, sizeof(e->secret), &p, e->code,
				    time(NULL), -1, &step);
		if (rc == EINVAL)
			kwadm_error("that is not a code of %d digits",
				    p.digits);
		else if (rc != 0)
			kwadm_error("the code does not match");
	}
	if (rc != 0) {
		kwadm_error("the TOTP token of '%s' stays pending and cannot "
			    "be used; check the phone's clock and run 'kwadm "
			    "mfa enroll %s' again with a new scan",
			    qname, qname);
		return KWADM_EXIT_FAILURE;
	}
	rc = new_recovery_codes(&e->recovery);
	if (rc != 0)
		return rc;
	rc = kw_mfa_activate(ctx->dir, name, step, e->recovery.list,
			     KW_RECOVERY_CODES);
	if (rc != 0)
		return token_failed(ctx, rc, qname);
	return 0;
}

static int mfa_enroll(struct kwadm *ctx, const struct kwadm_command *cmd,
		      int argc, char **argv)
{
	static const struct option opts[] = {
		{"code-file", required_argument, NULL, 'c'},
		{"qr", no_argument, NULL, 'r'},
		{"force", no_argument, NULL, 'f'},
		KWADM_HELP_OPTION,
		{NULL, 0, NULL, 0},
	};
	char qname[KW_QNAME_MAX + 1];
	const char *code_file = NULL;
	bool want_qr = false, force = false;
	struct kw_mfa_user token;
	struct enrolment e;
	struct kw_name name;
	int c, rc;

	memset(&e, 0, sizeof(e));
	memset(&token, 0, sizeof(token));
	while ((c = kwadm_getopt(cmd, argc, argv, ":hc:rf", opts)) != -1) {
		switch (c) {
		case 'c':
			code_file = optarg;
			break;
		case 'r':
			want_qr = true;
			break;
		case 'f':
			force = true;
			break;
		case 'h':
			return kwadm_help_command(cmd);
		default:
			return KWADM_EXIT_USAGE;
		}
	}
	rc = kwadm_expect_args(cmd, argc, argv, 1, "user name");
	if (rc != 0)
		return rc;
	if (ctx->admin != NULL)
		return root_only(cmd, "sealing a TOTP secret needs the master "
				      "key, and only root may store one");
	want_qr = (want_qr || isatty(STDOUT_FILENO)) && !ctx->json;

	rc = kwadm_load_config(ctx);
	if (rc == 0)
		rc = kwadm_parse_user(ctx, argv[optind], NULL, &name);
	if (rc != 0)
		goto done;
	kwadm_format_user(ctx, &name, qname, sizeof(qname));
	/* the key first: without it, nothing is worth a round trip */
	rc = kwadm_load_master_key(ctx, &e.key);
	if (rc != 0)
		goto done;
	rc = kwadm_connect(ctx);
	if (rc != 0)
		goto done;

	rc = kw_mfa_get(ctx->dir, &name, &token);
	if (rc != 0) {
		rc = kwadm_dir_failed(ctx, rc, "user", qname);
		goto done;
	}
	if (token.state == KW_TOTP_ACTIVE && !force) {
		kwadm_error("'%s' has an active TOTP token already; --force "
			    "replaces it, 'kwadm mfa reset' removes it",
			    qname);
		rc = KWADM_EXIT_FAILURE;
		goto done;
	}
	rc = make_token(ctx, &name, qname, want_qr, &e);
	if (rc != 0)
		goto done;
	rc = kw_mfa_store_pending(ctx->dir, &name, e.sealed);
	if (rc != 0) {
		rc = kwadm_dir_failed(ctx, rc, "user", qname);
		goto done;
	}
	print_token(ctx, qname, &e);
	rc = confirm_token(ctx, &name, qname, code_file, &e);
	if (rc != 0)
		goto done;
	if (ctx->json) {
		print_codes_json(qname, "enrolled", "active", &e.recovery);
	} else {
		if (!ctx->quiet)
			printf("TOTP token of '%s' active\n", qname);
		print_codes(ctx, qname, &e.recovery);
	}
	rc = KWADM_EXIT_OK;
done:
	kw_mfa_user_clear(&token);
	enrolment_wipe(&e);
	return rc;
}

/* ---- status -------------------------------------------------------------- */

static int mfa_status(struct kwadm *ctx, const struct kwadm_command *cmd,
		      int argc, char **argv)
{
	char qname[KW_QNAME_MAX + 1];
	struct kw_mfa_user token;
	struct kw_name name;
	time_t last_used = 0;
	long left;
	int rc;

	rc = kwadm_parse_plain(cmd, argc, argv, 1, "user name");
	if (rc >= 0)
		return rc;
	rc = kwadm_prepare_user(ctx, argv[optind], &name);
	if (rc != 0)
		return rc;
	kwadm_format_user(ctx, &name, qname, sizeof(qname));

	rc = kw_mfa_get(ctx->dir, &name, &token);
	if (rc != 0)
		return kwadm_dir_failed(ctx, rc, "user", qname);
	/* administrators cannot read the hashes, so cannot count them */
	left = ctx->admin != NULL && token.state != KW_TOTP_NONE
		       ? -1
		       : (long)token.n_recovery;
	if (token.last_step >= 0)
		last_used = (time_t)(token.last_step * ctx->cfg.mfa_period_s);
	const struct kwadm_field fields[] = {
		{"user", "user", KWADM_STRING, .string = qname},
		{"state", "state", KWADM_STRING,
		 .string = state_name(token.state)},
		{"recovery_codes_left", "recovery codes left", KWADM_NUMBER,
		 .number = left},
		{"last_code_used", "last code used", KWADM_TIME,
		 .time = last_used},
		{"code_failures", "failed codes", KWADM_NUMBER,
		 .number = token.lock.failures[KW_BUDGET_CODE]},
	};
	kwadm_print_record(ctx, fields, sizeof(fields) / sizeof(fields[0]));
	kw_mfa_user_clear(&token);
	return KWADM_EXIT_OK;
}

/* ---- reset --------------------------------------------------------------- */

static int mfa_reset(struct kwadm *ctx, const struct kwadm_command *cmd,
		     int argc, char **argv)
{
	char qname[KW_QNAME_MAX + 1], message[2 * KW_QNAME_MAX + 128];
	struct kw_name name;
	int rc;

	rc = kwadm_parse_plain(cmd, argc, argv, 1, "user name");
	if (rc >= 0)
		return rc;
	rc = kwadm_prepare_user(ctx, argv[optind], &name);
	if (rc != 0)
		return rc;
	kwadm_format_user(ctx, &name, qname, sizeof(qname));

	rc = kw_mfa_reset(ctx->dir, &name);
	if (rc != 0)
		return kwadm_dir_failed(ctx, rc, "user", qname);
	snprintf(message, sizeof(message),
		 "TOTP token and recovery codes of '%s' removed: %s must "
		 "enrol again",
		 qname, qname);
	kwadm_print_done(ctx, "user", qname, "reset", message);
	return KWADM_EXIT_OK;
}

/* ---- recovery-codes ------------------------------------------------------ */

static int mfa_recovery_codes(struct kwadm *ctx,
			      const struct kwadm_command *cmd, int argc,
			      char **argv)
{
	char qname[KW_QNAME_MAX + 1];
	struct recovery_set r;
	struct kw_mfa_user token;
	struct kw_name name;
	int rc;

	memset(&r, 0, sizeof(r));
	memset(&token, 0, sizeof(token));
	rc = kwadm_parse_plain(cmd, argc, argv, 1, "user name");
	if (rc >= 0)
		return rc;
	if (ctx->admin != NULL)
		return root_only(cmd, "only root may store recovery codes");
	rc = kwadm_prepare_user(ctx, argv[optind], &name);
	if (rc != 0)
		return rc;
	kwadm_format_user(ctx, &name, qname, sizeof(qname));

	rc = kw_mfa_get(ctx->dir, &name, &token);
	if (rc != 0) {
		rc = kwadm_dir_failed(ctx, rc, "user", qname);
		goto done;
	}
	if (token.state != KW_TOTP_ACTIVE) {
		kwadm_error("'%s' has no active TOTP token; enrol it first "
			    "with 'kwadm mfa enroll %s'",
			    qname, qname);
		rc = KWADM_EXIT_FAILURE;
		goto done;
	}
	rc = new_recovery_codes(&r);
	if (rc != 0)
		goto done;
	rc = kw_mfa_set_recovery(ctx->dir, &name, r.list, KW_RECOVERY_CODES);
	if (rc != 0) {
		rc = token_failed(ctx, rc, qname);
		goto done;
	}
	if (ctx->json) {
		print_codes_json(qname, "replaced", "active", &r);
	} else {
		if (!ctx->quiet)
			printf("the old recovery codes of '%s' are void\n",
			       qname);
		print_codes(ctx, qname, &r);
	}
	rc = KWADM_EXIT_OK;
done:
	kw_mfa_user_clear(&token);
	kw_wipe(&r, sizeof(r));
	return rc;
}

static const struct kwadm_command mfa_commands[] = {
	{
		.name = "enroll",
		.synopsis = "USER@TENANT [--code-file FILE]\n"
			    "        [--qr] [--force]",
		.summary = "give a user a new TOTP token",
		.description =
			"Make a new TOTP secret (RFC 6238) for USER and store\n"
			"it, sealed under the tenant's key, as a pending\n"
			"token.  Print once its otpauth:// URI, its secret in\n"
			"base32 and, on a terminal or with --qr, its QR code,\n"
			"for the user's authenticator app.  Then read the\n"
			"first code the app shows (one line from standard\n"
			"input or --code-file; the prompt goes to standard\n"
			"error) and check it against the host's clock with\n"
			"the mfa.* settings.  A right code makes the token\n"
			"active and gives it ten new recovery codes, printed\n"
			"once.  A wrong code leaves the token pending, which\n"
			"no login accepts; kwadm then exits with 1, and a new\n"
			"'mfa enroll' makes a new secret to scan.\n"
			"\n"
			"The app shows the issuer mfa.issuer, else the\n"
			"tenant's issuer ('kwadm tenant set NAME "
			"issuer=...'),\n"
			"else the tenant's display name; the account is\n"
			"USER@TENANT.\n"
			"\n"
			"Works as root only: sealing needs the master key\n"
			"(keys.master_key_file), which only root can read,\n"
			"and only root and keywardd may write secrets.  A "
			"user\n"
			"whose token is active already is refused, unless the\n"
			"option --force is given.\n"
			"\n"
			"With --json, two JSON objects are printed, each on\n"
			"one line: the pending token (user, state,\n"
			"otpauth_uri, secret) before the code is read, and\n"
			"the result (user, result, state, recovery_codes)\n"
			"after it.\n",
		.options =
			"--code-file FILE\n"
			"    Read the first code from FILE ('-' for standard\n"
			"    input, the default).  Spaces in it are ignored.\n"
			"--qr\n"
			"    Print the QR code even when standard output is\n"
			"    not a terminal (never with --json).\n"
			"--force\n"
			"    Replace an active token; its codes and recovery\n"
			"    codes stop working at once.\n",
		.example = "kwadm mfa enroll alice@acme\n",
		.run = mfa_enroll,
	},
	{
		.name = "status",
		.synopsis = "USER@TENANT",
		.summary = "show the state of a user's TOTP token",
		.description =
			"Print the state of USER's token (none, pending or\n"
			"active), the recovery codes left, when the last code\n"
			"was used (the start of its time step, UTC) and the\n"
			"failed codes in the current lockout window.  Never\n"
			"any secret.  Works as root and as the tenant's\n"
			"administrator, who cannot read the recovery codes:\n"
			"for them the count shows as '-' (null in JSON).\n",
		.options = NULL,
		.example = "kwadm mfa status alice@acme\n",
		.run = mfa_status,
	},
	{
		.name = "reset",
		.synopsis = "USER@TENANT",
		.summary = "remove a user's TOTP token and recovery codes",
		.description =
			"Remove USER's token, its recovery codes, its last\n"
			"used step and the count of failed codes, for a lost\n"
			"or replaced phone.  The user must enrol again; until\n"
			"then, where the tenant requires MFA, its grace time\n"
			"and self-enrolment decide whether the user may log\n"
			"in.  Works as root and as the tenant's\n"
			"administrator.  Resetting a user without a token is\n"
			"no error.\n",
		.options = NULL,
		.example = "kwadm mfa reset alice@acme\n",
		.run = mfa_reset,
	},
	{
		.name = "recovery-codes",
		.synopsis = "USER@TENANT",
		.summary = "replace a user's recovery codes",
		.description =
			"Make ten new recovery codes for USER's active token\n"
			"and print them once; every old code stops working at\n"
			"once.  Each code logs in once in place of a code\n"
			"from the app.  Works as root only: only root and\n"
			"keywardd may write recovery codes.\n",
		.options = NULL,
		.example = "kwadm mfa recovery-codes alice@acme\n",
		.run = mfa_recovery_codes,
	},
	{.name = NULL},
};

const struct kwadm_group kwadm_mfa_group = {
	.name = "mfa",
	.summary = "two-factor login: enrol, status, reset, recovery codes",
	.commands = mfa_commands,
};
