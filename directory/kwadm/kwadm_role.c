/*
 * kwadm_role.c - "kwadm role": the roles of a tenant and their members.
 *
 * A role is written ROLE@TENANT and holds only users of its own tenant.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kwadm.h"

/* A role named on the command line. */
struct role_ref {
	char role[KW_ROLE_MAX + 1];
	char tenant[KW_TENANT_MAX + 1];
	char qname[KW_ROLE_MAX + 1 + KW_TENANT_MAX + 1];
};

/* Load the configuration, parse INPUT into REF, connect. */
static int prepare(struct kwadm *ctx, const char *input, struct role_ref *ref)
{
	int rc;

	rc = kwadm_load_config(ctx);
	if (rc == 0)
		rc = kwadm_parse_role(ctx, input, ref->role, ref->tenant);
	if (rc != 0)
		return rc;
	snprintf(ref->qname, sizeof(ref->qname), "%s%c%s", ref->role,
		 ctx->cfg.separator, ref->tenant);
	return kwadm_connect(ctx);
}

static int role_create(struct kwadm *ctx, const struct kwadm_command *cmd,
		       int argc, char **argv)
{
	static const struct option opts[] = {
		{"description", required_argument, NULL, 'd'},
		KWADM_HELP_OPTION,
		{NULL, 0, NULL, 0},
	};
	char message[sizeof(((struct role_ref *)NULL)->qname) + 32];
	const char *description = "";
	struct role_ref ref;
	int c, rc;

	while ((c = kwadm_getopt(cmd, argc, argv, ":hd:", opts)) != -1) {
		switch (c) {
		case 'd':
			description = optarg;
			break;
		case 'h':
			return kwadm_help_command(cmd);
		default:
			return KWADM_EXIT_USAGE;
		}
	}
	rc = kwadm_expect_args(cmd, argc, argv, 1, "role name");
	if (rc != 0)
		return rc;
	rc = kwadm_load_config(ctx);
	if (rc == 0)
		rc = kwadm_check_text("description", description);
	if (rc == 0)
		rc = prepare(ctx, argv[optind], &ref);
	if (rc != 0)
		return rc;

	rc = kw_role_create(ctx->dir, ref.tenant, ref.role, description);
	if (rc != 0)
		return kwadm_dir_failed(ctx, rc, "role", ref.qname);
	snprintf(message, sizeof(message), "role '%s' created", ref.qname);
	kwadm_print_done(ctx, "role", ref.qname, "created", message);
	return KWADM_EXIT_OK;
}

static int role_list(struct kwadm *ctx, const struct kwadm_command *cmd,
		     int argc, char **argv)
{
	static const struct kwadm_field columns[] = {
		{"name", "ROLE", KWADM_STRING},
		{"members", "MEMBERS", KWADM_NUMBER},
		{"description", "DESCRIPTION", KWADM_STRING},
	};
	const size_t n_cols = sizeof(columns) / sizeof(columns[0]);
	struct kw_role *roles = NULL;
	struct kwadm_field *rows = NULL;
	const char *tenant;
	size_t i, n = 0;
	int rc;

	rc = kwadm_parse_plain(cmd, argc, argv, 1, "tenant name");
	if (rc >= 0)
		return rc;
	tenant = argv[optind];
	rc = kwadm_load_config(ctx);
	if (rc == 0)
		rc = kwadm_check_tenant(tenant);
	if (rc == 0)
		rc = kwadm_connect(ctx);
	if (rc != 0)
		return rc;

	rc = kw_role_list(ctx->dir, tenant, &roles, &n);
	if (rc != 0)
		return kwadm_dir_failed(ctx, rc, "tenant", tenant);
	rows = calloc(n * n_cols + 1, sizeof(*rows));
	if (rows == NULL) {
		kwadm_error("out of memory");
		rc = KWADM_EXIT_FAILURE;
		goto done;
	}
	for (i = 0; i < n; i++) {
		struct kwadm_field *row = &rows[i * n_cols];

		memcpy(row, columns, sizeof(columns));
		row[0].string = roles[i].name;
		row[1].number = (long)roles[i].n_members;
		row[2].string = roles[i].description;
	}
	kwadm_print_table(ctx, columns, n_cols, rows, n);
	rc = KWADM_EXIT_OK;
done:
	free(rows);
	free(roles);
	return rc;
}

static int role_delete(struct kwadm *ctx, const struct kwadm_command *cmd,
		       int argc, char **argv)
{
	char message[sizeof(((struct role_ref *)NULL)->qname) + 32];
	struct role_ref ref;
	int rc;

	rc = kwadm_parse_plain(cmd, argc, argv, 1, "role name");
	if (rc >= 0)
		return rc;
	rc = prepare(ctx, argv[optind], &ref);
	if (rc != 0)
		return rc;

	rc = kw_role_delete(ctx->dir, ref.tenant, ref.role);
	if (rc != 0)
		return kwadm_dir_failed(ctx, rc, "role", ref.qname);
	snprintf(message, sizeof(message), "role '%s' deleted", ref.qname);
	kwadm_print_done(ctx, "role", ref.qname, "deleted", message);
	return KWADM_EXIT_OK;
}

static void free_members(char **members)
{
	size_t i;

	for (i = 0; members != NULL && members[i] != NULL; i++)
		free(members[i]);
	free(members);
}

static int role_members(struct kwadm *ctx, const struct kwadm_command *cmd,
			int argc, char **argv)
{
	struct role_ref ref;
	char **members = NULL;
	size_t n = 0;
	int rc;

	rc = kwadm_parse_plain(cmd, argc, argv, 1, "role name");
	if (rc >= 0)
		return rc;
	rc = prepare(ctx, argv[optind], &ref);
	if (rc != 0)
		return rc;

	rc = kw_role_members(ctx->dir, ref.tenant, ref.role, &members);
	if (rc != 0)
		return kwadm_dir_failed(ctx, rc, "role", ref.qname);
	while (members != NULL && members[n] != NULL)
		n++;
	kwadm_print_strings(ctx, "MEMBER", members, n);
	free_members(members);
	return KWADM_EXIT_OK;
}

/*
 * Parse the user of a grant or revoke: "alice" means alice of the role's
 * tenant; "alice@other" is refused, for a role holds only its own users.
 */
static int parse_member(const struct kwadm *ctx, const struct role_ref *ref,
			const char *input, struct kw_name *user)
{
	char qname[KW_QNAME_MAX + 1];

	if (kwadm_parse_user(ctx, input, ref->tenant, user) != 0)
		return KWADM_EXIT_FAILURE;
	if (strcmp(user->tenant, ref->tenant) == 0)
		return 0;
	kwadm_format_user(ctx, user, qname, sizeof(qname));
	kwadm_error("user '%s' is not in tenant '%s': role '%s' can only "
		    "hold users of its own tenant",
		    qname, ref->tenant, ref->qname);
	return KWADM_EXIT_FAILURE;
}

static int grant_or_revoke(struct kwadm *ctx, const struct kwadm_command *cmd,
			   int argc, char **argv, bool grant)
{
	char qname[KW_QNAME_MAX + 1];
	char message[2 * KW_QNAME_MAX + KW_ROLE_MAX + 64];
	struct role_ref ref;
	struct kw_name user;
	int rc;

	rc = kwadm_parse_plain(cmd, argc, argv, 2, "role name or user name");
	if (rc >= 0)
		return rc;
	rc = kwadm_load_config(ctx);
	if (rc == 0)
		rc = kwadm_parse_role(ctx, argv[optind], ref.role, ref.tenant);
	if (rc != 0)
		return rc;
	snprintf(ref.qname, sizeof(ref.qname), "%s%c%s", ref.role,
		 ctx->cfg.separator, ref.tenant);
	rc = parse_member(ctx, &ref, argv[optind + 1], &user);
	if (rc == 0)
		rc = kwadm_connect(ctx);
	if (rc != 0)
		return rc;
	kwadm_format_user(ctx, &user, qname, sizeof(qname));

	if (grant)
		rc = kw_role_grant(ctx->dir, ref.role, &user);
	else
		rc = kw_role_revoke(ctx->dir, ref.role, &user);
	if (rc != 0)
		return kwadm_dir_failed(ctx, rc, "role", ref.qname);
	snprintf(message, sizeof(message), "'%s' %s role '%s'", qname,
		 grant ? "now has" : "no longer has", ref.qname);
	kwadm_print_done(ctx, "role", ref.qname, grant ? "granted" : "revoked",
			 message);
	return KWADM_EXIT_OK;
}

static int role_grant(struct kwadm *ctx, const struct kwadm_command *cmd,
		      int argc, char **argv)
{
	return grant_or_revoke(ctx, cmd, argc, argv, true);
}

static int role_revoke(struct kwadm *ctx, const struct kwadm_command *cmd,
		       int argc, char **argv)
{
	return grant_or_revoke(ctx, cmd, argc, argv, false);
}

static const struct kwadm_command role_commands[] = {
	{
		.name = "create",
		.synopsis = "ROLE@TENANT [--description TEXT]",
		.summary = "create a role in a tenant",
		.description =
			"Create the empty role ROLE in TENANT.  A PAM service\n"
			"can require a role for its logins.  ROLE is 1-64 of\n"
			"a-z, 0-9, '_' and '-', not starting or ending with "
			"'_'\n"
			"or '-'.  The members of role '" KW_ADMIN_ROLE "' are\n"
			"the tenant's administrators.\n",
		.options = "--description TEXT\n"
			   "    What the role is for, in UTF-8 (at most 128\n"
			   "    bytes).\n",
		.example = "kwadm role create sysadmins@acme --description "
			   "\"Logins on the hosts\"\n",
		.run = role_create,
	},
	{
		.name = "list",
		.synopsis = "TENANT",
		.summary = "list the roles of a tenant",
		.description = "Print every role of TENANT with the number of\n"
			       "its members.\n",
		.options = NULL,
		.example = "kwadm role list acme\n",
		.run = role_list,
	},
	{
		.name = "delete",
		.synopsis = "ROLE@TENANT",
		.summary = "delete a role",
		.description = "Delete the role ROLE of TENANT.  Its members\n"
			       "lose what the role gave them at once.\n",
		.options = NULL,
		.example = "kwadm role delete sysadmins@acme\n",
		.run = role_delete,
	},
	{
		.name = "members",
		.synopsis = "ROLE@TENANT",
		.summary = "list the members of a role",
		.description = "Print the users that have the role ROLE.\n",
		.options = NULL,
		.example = "kwadm role members admins@acme\n",
		.run = role_members,
	},
	{
		.name = "grant",
		.synopsis = "ROLE@TENANT USER",
		.summary = "give a user a role",
		.description =
			"Make USER a member of ROLE.  USER is a user of the\n"
			"role's tenant, written 'alice' or 'alice@TENANT'; a\n"
			"user of another tenant is refused.\n",
		.options = NULL,
		.example = "kwadm role grant sysadmins@acme alice\n",
		.run = role_grant,
	},
	{
		.name = "revoke",
		.synopsis = "ROLE@TENANT USER",
		.summary = "take a role from a user",
		.description = "Remove USER from ROLE; USER is written as for\n"
			       "'grant'.\n",
		.options = NULL,
		.example = "kwadm role revoke sysadmins@acme alice\n",
		.run = role_revoke,
	},
	{.name = NULL},
};

const struct kwadm_group kwadm_role_group = {
	.name = "role",
	.summary = "roles: groups of users that services can require",
	.commands = role_commands,
};
