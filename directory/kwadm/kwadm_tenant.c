/*
 * kwadm_tenant.c - "kwadm tenant": the customer organisations.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kw_mfa_dir.h"
#include "kwadm.h"

static const char *tenant_status(const struct kw_tenant *tenant)
{
	return tenant->suspended ? "suspended" : "active";
}

/* POLICY, if not NULL, adds the tenant's MFA policy. */
static void print_tenant(const struct kwadm *ctx,
			 const struct kw_tenant *tenant,
			 const struct kw_mfa_policy *policy)
{
	const struct kw_mfa_policy none = {.required = false};
	const struct kw_mfa_policy *mfa = policy != NULL ? policy : &none;
	const struct kwadm_field fields[] = {
		{"name", "name", KWADM_STRING, .string = tenant->name},
		{"display_name", "display name", KWADM_STRING,
		 .string = tenant->display_name},
		{"status", "status", KWADM_STRING,
		 .string = tenant_status(tenant)},
		{"uid_base", "first uid", KWADM_NUMBER,
		 .number = tenant->uid_base},
		{"uid_count", "uids", KWADM_NUMBER,
		 .number = tenant->uid_count},
		{"uid_next", "next uid", KWADM_NUMBER,
		 .number = tenant->uid_next},
		{"users", "users", KWADM_NUMBER, .number = tenant->n_users},
		{"mfa", "mfa", KWADM_STRING,
		 .string = mfa->required ? "required" : "optional"},
		{"mfa_grace_until", "mfa grace until", KWADM_TIME,
		 .time = mfa->grace_until},
		{"mfa_self_enrol", "mfa self-enrol", KWADM_BOOL,
		 .boolean = mfa->self_enrol},
		{"mfa_issuer", "mfa issuer", KWADM_STRING,
		 .string = mfa->issuer},
	};
	const size_t n_mfa = 4, n = sizeof(fields) / sizeof(fields[0]);

	kwadm_print_record(ctx, fields, policy != NULL ? n : n - n_mfa);
}

/* Load the configuration, check NAME, connect.  Returns an exit status. */
static int prepare(struct kwadm *ctx, const char *name)
{
	int rc;

	rc = kwadm_load_config(ctx);
	if (rc == 0)
		rc = kwadm_check_tenant(name);
	if (rc == 0)
		rc = kwadm_connect(ctx);
	return rc;
}

static int tenant_create(struct kwadm *ctx, const struct kwadm_command *cmd,
			 int argc, char **argv)
{
	static const struct option opts[] = {
		{"display-name", required_argument, NULL, 'd'},
		KWADM_HELP_OPTION,
		{NULL, 0, NULL, 0},
	};
	const char *display_name = "";
	struct kw_tenant tenant;
	const char *name;
	int c, rc;

	while ((c = kwadm_getopt(cmd, argc, argv, ":hd:", opts)) != -1) {
		switch (c) {
		case 'd':
			display_name = optarg;
			break;
		case 'h':
			return kwadm_help_command(cmd);
		default:
			return KWADM_EXIT_USAGE;
		}
	}
	rc = kwadm_expect_args(cmd, argc, argv, 1, "tenant name");
	if (rc != 0)
		return rc;
	name = argv[optind];

	rc = kwadm_load_config(ctx);
	if (rc == 0)
		rc = kwadm_check_tenant(name);
	if (rc == 0)
		rc = kwadm_check_text("display name", display_name);
	if (rc == 0)
		rc = kwadm_connect(ctx);
	if (rc != 0)
		return rc;

	memset(&tenant, 0, sizeof(tenant));
	rc = kw_tenant_create(ctx->dir, name, display_name, &tenant);
	if (rc != 0)
		return kwadm_dir_failed(ctx, rc, "tenant", name);
	if (ctx->json) {
		print_tenant(ctx, &tenant, NULL);
	} else if (!ctx->quiet) {
		printf("tenant '%s' created with uids %ld-%ld\n", name,
		       tenant.uid_base, tenant.uid_base + tenant.uid_count - 1);
	}
	return KWADM_EXIT_OK;
}

static int tenant_list(struct kwadm *ctx, const struct kwadm_command *cmd,
		       int argc, char **argv)
{
	static const struct kwadm_field columns[] = {
		{"name", "NAME", KWADM_STRING},
		{"status", "STATUS", KWADM_STRING},
		{"uid_base", "FIRST UID", KWADM_NUMBER},
		{"uid_count", "UIDS", KWADM_NUMBER},
		{"display_name", "DISPLAY NAME", KWADM_STRING},
	};
	const size_t n_cols = sizeof(columns) / sizeof(columns[0]);
	struct kw_tenant *tenants = NULL;
	struct kwadm_field *rows = NULL;
	size_t i, n = 0;
	int rc;

	rc = kwadm_parse_plain(cmd, argc, argv, 0, "");
	if (rc >= 0)
		return rc;
	rc = kwadm_load_config(ctx);
	if (rc == 0)
		rc = kwadm_connect(ctx);
	if (rc != 0)
		return rc;

	rc = kw_tenant_list(ctx->dir, &tenants, &n);
	if (rc != 0)
		return kwadm_dir_failed(ctx, rc, NULL, NULL);
	rows = calloc(n * n_cols + 1, sizeof(*rows));
	if (rows == NULL) {
		kwadm_error("out of memory");
		rc = KWADM_EXIT_FAILURE;
		goto done;
	}
	for (i = 0; i < n; i++) {
		struct kwadm_field *row = &rows[i * n_cols];

		memcpy(row, columns, sizeof(columns));
		row[0].string = tenants[i].name;
		row[1].string = tenant_status(&tenants[i]);
		row[2].number = tenants[i].uid_base;
		row[3].number = tenants[i].uid_count;
		row[4].string = tenants[i].display_name;
	}
	kwadm_print_table(ctx, columns, n_cols, rows, n);
	rc = KWADM_EXIT_OK;
done:
	free(rows);
	free(tenants);
	return rc;
}

static int tenant_show(struct kwadm *ctx, const struct kwadm_command *cmd,
		       int argc, char **argv)
{
	struct kw_mfa_policy policy;
	struct kw_tenant tenant;
	const char *name;
	int rc;

	rc = kwadm_parse_plain(cmd, argc, argv, 1, "tenant name");
	if (rc >= 0)
		return rc;
	name = argv[optind];
	rc = prepare(ctx, name);
	if (rc != 0)
		return rc;

	memset(&tenant, 0, sizeof(tenant));
	rc = kw_tenant_get(ctx->dir, name, &tenant);
	if (rc == 0)
		rc = kw_mfa_policy_get(ctx->dir, name, &policy);
	if (rc != 0)
		return kwadm_dir_failed(ctx, rc, "tenant", name);
	print_tenant(ctx, &tenant, &policy);
	return KWADM_EXIT_OK;
}

static int set_suspended(struct kwadm *ctx, const struct kwadm_command *cmd,
			 int argc, char **argv, bool suspended)
{
	char message[128];
	const char *name;
	int rc;

	rc = kwadm_parse_plain(cmd, argc, argv, 1, "tenant name");
	if (rc >= 0)
		return rc;
	name = argv[optind];
	rc = prepare(ctx, name);
	if (rc != 0)
		return rc;

	rc = kw_tenant_set_suspended(ctx->dir, name, suspended);
	if (rc != 0)
		return kwadm_dir_failed(ctx, rc, "tenant", name);
	snprintf(message, sizeof(message), "tenant '%s' %s", name,
		 suspended ? "suspended: its users can no longer log in"
			   : "resumed");
	kwadm_print_done(ctx, "tenant", name,
			 suspended ? "suspended" : "resumed", message);
	return KWADM_EXIT_OK;
}

static int tenant_suspend(struct kwadm *ctx, const struct kwadm_command *cmd,
			  int argc, char **argv)
{
	return set_suspended(ctx, cmd, argc, argv, true);
}

static int tenant_resume(struct kwadm *ctx, const struct kwadm_command *cmd,
			 int argc, char **argv)
{
	return set_suspended(ctx, cmd, argc, argv, false);
}

static int tenant_unlock_address(struct kwadm *ctx,
				 const struct kwadm_command *cmd, int argc,
				 char **argv)
{
	char key[KW_ADDRESS_KEY_MAX + 1], message[256];
	const char *name;
	int rc;

	rc = kwadm_parse_plain(cmd, argc, argv, 2, "tenant name and address");
	if (rc >= 0)
		return rc;
	name = argv[optind];
	if (kw_address_key(argv[optind + 1], key, sizeof(key)) != 0 ||
	    strcmp(key, "local") == 0) {
		fprintf(stderr,
			"kwadm: '%s' is not an IP address or host name\n",
			argv[optind + 1]);
		return KWADM_EXIT_USAGE;
	}
	rc = prepare(ctx, name);
	if (rc != 0)
		return rc;
	rc = kw_lock_reset_address(ctx->dir, name, key);
	if (rc == ENOENT) {
		fprintf(stderr,
			"kwadm: tenant '%s' has no failures counted for "
			"%s\n",
			name, key);
		return KWADM_EXIT_FAILURE;
	}
	if (rc != 0)
		return kwadm_dir_failed(ctx, rc, "tenant", name);
	snprintf(message, sizeof(message),
		 "address %s unlocked in tenant '%s': its counters are "
		 "cleared",
		 key, name);
	kwadm_print_done(ctx, "address", key, "unlocked", message);
	return KWADM_EXIT_OK;
}

/* ---- tenant set ------------------------------------------------------- */

/* Is the KEY of "KEY=VALUE" in ARG (of KLEN bytes) NAME? */
static bool key_is(const char *arg, size_t klen, const char *name)
{
	return klen == strlen(name) && strncmp(arg, name, klen) == 0;
}

/*
 * Parse one KEY=VALUE of 'tenant set' into C.  Returns 0, or
 * KWADM_EXIT_USAGE after naming the pair and what is wrong with it.
 */
static int parse_setting(const struct kwadm_command *cmd, const char *arg,
			 struct kw_mfa_policy_change *c)
{
	char quoted[KWADM_QUOTE_MAX];
	const char *eq = strchr(arg, '=');
	const char *value = eq != NULL ? eq + 1 : "";
	size_t klen = eq != NULL ? (size_t)(eq - arg) : 0;
	const char *why = NULL;
	bool *given;

	kwadm_quote(arg, quoted, sizeof(quoted));
	if (key_is(arg, klen, "mfa")) {
		given = &c->set_required;
		c->required = strcmp(value, "required") == 0;
		if (!c->required && strcmp(value, "optional") != 0)
			why = "mfa is required or optional";
	} else if (key_is(arg, klen, "grace-until")) {
		given = &c->set_grace;
		c->grace_until = 0;
		if (strcmp(value, "none") != 0 &&
		    !kwadm_parse_utc(value, &c->grace_until))
			why = "grace-until is YYYY-MM-DD, "
			      "YYYY-MM-DDTHH:MM:SSZ (UTC) or none";
	} else if (key_is(arg, klen, "self-enrol")) {
		given = &c->set_self_enrol;
		c->self_enrol = strcmp(value, "yes") == 0;
		if (!c->self_enrol && strcmp(value, "no") != 0)
			why = "self-enrol is yes or no";
	} else if (key_is(arg, klen, "issuer")) {
		given = &c->set_issuer;
		c->issuer = value;
		if (strlen(value) > KW_DISPLAY_MAX || !kwadm_text_valid(value))
			why = "the issuer must be UTF-8 without control "
			      "characters, at most 128 bytes";
	} else {
		return kwadm_usage_error(cmd,
					 "'%s': not a setting; use mfa=, "
					 "grace-until=, self-enrol= or issuer=",
					 quoted);
	}
	if (*given)
		return kwadm_usage_error(cmd, "'%s': %.*s is given twice",
					 quoted, (int)klen, arg);
	*given = true;
	if (why != NULL)
		return kwadm_usage_error(cmd, "'%s': %s", quoted, why);
	return 0;
}

static int tenant_set(struct kwadm *ctx, const struct kwadm_command *cmd,
		      int argc, char **argv)
{
	static const struct option opts[] = {
		KWADM_HELP_OPTION,
		{NULL, 0, NULL, 0},
	};
	struct kw_mfa_policy_change change;
	char message[KW_TENANT_MAX + 64];
	const char *name;
	int c, i, rc;

	while ((c = kwadm_getopt(cmd, argc, argv, ":h", opts)) != -1) {
		if (c == 'h')
			return kwadm_help_command(cmd);
		return KWADM_EXIT_USAGE;
	}
	if (argc - optind < 1)
		return kwadm_usage_error(cmd, "missing tenant name");
	if (argc - optind < 2)
		return kwadm_usage_error(cmd, "missing KEY=VALUE");
	name = argv[optind];
	/* every pair is checked before anything is written */
	memset(&change, 0, sizeof(change));
	for (i = optind + 1; i < argc; i++) {
		rc = parse_setting(cmd, argv[i], &change);
		if (rc != 0)
			return rc;
	}
	rc = prepare(ctx, name);
	if (rc != 0)
		return rc;

	rc = kw_mfa_policy_set(ctx->dir, name, &change);
	if (rc != 0)
		return kwadm_dir_failed(ctx, rc, "tenant", name);
	snprintf(message, sizeof(message), "MFA policy of tenant '%s' changed",
		 name);
	kwadm_print_done(ctx, "tenant", name, "updated", message);
	return KWADM_EXIT_OK;
}

/* Ask on the terminal for the tenant's name.  True if it was typed. */
static bool confirm_delete(const struct kw_tenant *tenant)
{
	char line[KW_TENANT_MAX + 16];
	size_t len;

	fprintf(stderr,
		"Deleting tenant '%s' removes its %ld users, its roles and "
		"all its data.\nType the tenant's name to confirm: ",
		tenant->name, tenant->n_users);
	fflush(stderr);
	if (fgets(line, sizeof(line), stdin) == NULL)
		return false;
	len = strlen(line);
	if (len > 0 && line[len - 1] == '\n')
		line[--len] = '\0';
	return strcmp(line, tenant->name) == 0;
}

static int tenant_delete(struct kwadm *ctx, const struct kwadm_command *cmd,
			 int argc, char **argv)
{
	static const struct option opts[] = {
		{"yes", no_argument, NULL, 'y'},
		KWADM_HELP_OPTION,
		{NULL, 0, NULL, 0},
	};
	struct kw_tenant tenant;
	char message[128];
	const char *name;
	bool yes = false;
	int c, rc;

	while ((c = kwadm_getopt(cmd, argc, argv, ":hy", opts)) != -1) {
		switch (c) {
		case 'y':
			yes = true;
			break;
		case 'h':
			return kwadm_help_command(cmd);
		default:
			return KWADM_EXIT_USAGE;
		}
	}
	rc = kwadm_expect_args(cmd, argc, argv, 1, "tenant name");
	if (rc != 0)
		return rc;
	name = argv[optind];

	rc = kwadm_load_config(ctx);
	if (rc == 0)
		rc = kwadm_check_tenant(name);
	if (rc != 0)
		return rc;
	if (!yes && !isatty(STDIN_FILENO)) {
		kwadm_error("refusing to delete tenant '%s' without --yes: "
			    "standard input is not a terminal to confirm on",
			    name);
		return KWADM_EXIT_FAILURE;
	}
	rc = kwadm_connect(ctx);
	if (rc != 0)
		return rc;

	memset(&tenant, 0, sizeof(tenant));
	rc = kw_tenant_get(ctx->dir, name, &tenant);
	if (rc != 0)
		return kwadm_dir_failed(ctx, rc, "tenant", name);
	if (!yes && !confirm_delete(&tenant)) {
		kwadm_error("not confirmed; tenant '%s' was not deleted", name);
		return KWADM_EXIT_FAILURE;
	}
	rc = kw_tenant_delete(ctx->dir, name);
	if (rc != 0)
		return kwadm_dir_failed(ctx, rc, "tenant", name);
	snprintf(message, sizeof(message), "tenant '%s' deleted", name);
	kwadm_print_done(ctx, "tenant", name, "deleted", message);
	return KWADM_EXIT_OK;
}

static const struct kwadm_command tenant_commands[] = {
	{
		.name = "create",
		.synopsis = "NAME [--display-name TEXT]",
		.summary = "create a tenant",
		.description =
			"Create the tenant NAME: its partition of the\n"
			"directory and its range of uids.  The members of its\n"
			"role '" KW_ADMIN_ROLE
			"' are its administrators.  NAME\n"
			"is 1-32 of a-z, 0-9 and '-', not starting or ending\n"
			"with '-'; it cannot be changed later.\n",
		.options = "--display-name TEXT\n"
			   "    The organisation's name for people, in UTF-8\n"
			   "    (at most 128 bytes).\n",
		.example = "kwadm tenant create acme --display-name "
			   "\"Acme Corporation\"\n",
		.run = tenant_create,
	},
	{
		.name = "list",
		.synopsis = "",
		.summary = "list the tenants",
		.description = "Print every tenant with its status and its\n"
			       "range of uids, sorted by name.\n",
		.options = NULL,
		.example = "kwadm --json tenant list\n",
		.run = tenant_list,
	},
	{
		.name = "show",
		.synopsis = "NAME",
		.summary = "show one tenant",
		.description = "Print the settings of the tenant NAME and the\n"
			       "number of its users.\n",
		.options = NULL,
		.example = "kwadm tenant show acme\n",
		.run = tenant_show,
	},
	{
		.name = "set",
		.synopsis = "NAME KEY=VALUE...",
		.summary = "change a tenant's MFA policy",
		.description =
			"Change the two-factor login policy of the tenant\n"
			"NAME.  Every KEY=VALUE is checked before anything is\n"
			"written, and all of them are written in one change:\n"
			"a bad one is a usage error and changes nothing.  "
			"Root\n"
			"and the tenant's own administrators may do it.  The\n"
			"policy is shown by 'kwadm tenant show'.\n",
		.options =
			"mfa=required|optional\n"
			"    required: every user of the tenant needs a TOTP\n"
			"    token to log in (after the grace time).\n"
			"grace-until=YYYY-MM-DD[THH:MM:SSZ]|none\n"
			"    Until then (UTC; a date alone means its\n"
			"    midnight), users without a token still log in\n"
			"    where MFA is required.  none removes it.\n"
			"self-enrol=yes|no\n"
			"    yes: users without a token may enrol themselves\n"
			"    at login.\n"
			"issuer=TEXT\n"
			"    The name authenticator apps show for the "
			"tenant's\n"
			"    tokens (UTF-8, at most 128 bytes); empty removes\n"
			"    it, and the display name is shown.  mfa.issuer,\n"
			"    where a host sets it, comes first.\n",
		.example = "kwadm tenant set acme mfa=required "
			   "grace-until=2026-03-01 issuer=\"Acme\"\n",
		.run = tenant_set,
	},
	{
		.name = "suspend",
		.synopsis = "NAME",
		.summary = "refuse every login of a tenant",
		.description =
			"Suspend the tenant NAME: from now on every login of\n"
			"its users is refused, on every host and in every web\n"
			"login.  Nothing is deleted; 'resume' undoes it.\n",
		.options = NULL,
		.example = "kwadm tenant suspend acme\n",
		.run = tenant_suspend,
	},
	{
		.name = "resume",
		.synopsis = "NAME",
		.summary = "allow the logins of a suspended tenant again",
		.description = "Resume the suspended tenant NAME: its users\n"
			       "can log in again.\n",
		.options = NULL,
		.example = "kwadm tenant resume acme\n",
		.run = tenant_resume,
	},
	{
		.name = "unlock-address",
		.synopsis = "NAME ADDRESS",
		.summary = "lift the lock of a source address",
		.description =
			"Clear the failure counters and the lock that failed\n"
			"attempts from ADDRESS (an IPv4 or IPv6 address, or a\n"
			"host name as PAM_RHOST gives it) put on tenant NAME.\n"
			"IPv6 addresses are counted by their /64, so any\n"
			"address of the /64 lifts it.  A lock also expires by\n"
			"itself after lockout.lock_s.\n",
		.options = NULL,
		.example = "kwadm tenant unlock-address acme 192.0.2.7\n",
		.run = tenant_unlock_address,
	},
	{
		.name = "delete",
		.synopsis = "NAME [--yes]",
		.summary = "delete a tenant with all its users and roles",
		.description =
			"Delete the tenant NAME: every entry of its "
			"partition,\n"
			"its users, roles and settings, and nothing else.  "
			"This\n"
			"cannot be undone.  Without --yes, kwadm asks for the\n"
			"tenant's name to be typed on the terminal, and "
			"refuses\n"
			"when standard input is not a terminal.\n",
		.options = "-y, --yes\n"
			   "    Delete without asking.\n",
		.example = "kwadm tenant delete acme --yes\n",
		.run = tenant_delete,
	},
	{.name = NULL},
};

const struct kwadm_group kwadm_tenant_group = {
	.name = "tenant",
	.summary = "tenants: the organisations, one partition each",
	.commands = tenant_commands,
};
