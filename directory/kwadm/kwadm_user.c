/*
 * kwadm_user.c - "kwadm user": the accounts of a tenant.
 *
 * A password set by an administrator is known to the administrator, so
 * it is always marked to be changed at the next login.  kwadm never
 * prints a password except one it generated itself, and that one once.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kw_secret.h"
#include "kwadm.h"

/* A password of the administrator's choice, or a generated one. */
struct new_password {
	const char *file; /* --password-file, or NULL */
	bool generate;    /* --generate, or no file on reset-password */
	char text[KW_SECRET_MAX + 1];
};

static const char *user_status(const struct kw_user *user)
{
	return user->deactivated ? "deactivated" : "active";
}

static void print_user(const struct kwadm *ctx, const struct kw_user *user)
{
	char qname[KW_QNAME_MAX + 1];
	bool locked = kw_lock_active(&user->lock, time(NULL));

	kwadm_format_user(ctx, &user->name, qname, sizeof(qname));
	const struct kwadm_field fields[] = {
		{"name", "name", KWADM_STRING, .string = qname},
		{"display_name", "display name", KWADM_STRING,
		 .string = user->display_name},
		{"status", "status", KWADM_STRING, .string = user_status(user)},
		{"uid", "uid", KWADM_NUMBER, .number = user->uid_number},
		{"gid", "gid", KWADM_NUMBER, .number = user->gid_number},
		{"home", "home", KWADM_STRING, .string = user->home},
		{"shell", "shell", KWADM_STRING, .string = user->shell},
		{"must_change_password", "must change password", KWADM_BOOL,
		 .boolean = user->must_change_password},
		{"password_changed", "password changed", KWADM_TIME,
		 .time = user->password_changed},
		{"locked", "locked", KWADM_BOOL, .boolean = locked},
		{"locked_until", "locked until", KWADM_TIME,
		 .time = locked ? user->lock.locked_until : 0},
		{"lock_reason", "lock reason", KWADM_STRING,
		 .string = locked ? user->lock.reason : ""},
		{"password_failures", "failed passwords", KWADM_NUMBER,
		 .number = user->lock.failures[KW_BUDGET_PASSWORD]},
		{"code_failures", "failed codes", KWADM_NUMBER,
		 .number = user->lock.failures[KW_BUDGET_CODE]},
		{"roles", "roles", KWADM_LIST, .list = user->roles},
	};

	kwadm_print_record(ctx, fields, sizeof(fields) / sizeof(fields[0]));
}

/* Read or generate the new password.  Returns an exit status. */
static int obtain_password(struct new_password *pw)
{
	if (pw->file != NULL)
		return kwadm_read_password_file(pw->file, pw->text,
						sizeof(pw->text));
	if (pw->generate)
		return kwadm_generate_password(pw->text, sizeof(pw->text));
	return 0;
}

static bool password_given(const struct new_password *pw)
{
	return pw->file != NULL || pw->generate;
}

/* Both passwords cannot come from one standard input. */
static int check_stdin_once(const struct kwadm *ctx,
			    const struct kwadm_command *cmd,
			    const struct new_password *pw)
{
	if (pw->file != NULL && strcmp(pw->file, "-") == 0 &&
	    ctx->password_file != NULL && strcmp(ctx->password_file, "-") == 0)
		return kwadm_usage_error(cmd, "only one password can be read "
					      "from standard input");
	return 0;
}

/* Tell what became of the password of QNAME. */
static void print_password_note(const struct kwadm *ctx, const char *qname,
				const struct new_password *pw)
{
	if (pw->generate) {
		printf("password: %s\n", pw->text);
		if (!ctx->quiet)
			printf("This password is shown only this once; %s "
			       "must change it at the first login.\n",
			       qname);
	} else if (password_given(pw) && !ctx->quiet) {
		printf("%s must change the password at the first login\n",
		       qname);
	} else if (!ctx->quiet) {
		printf("%s has no password and cannot log in until "
		       "'kwadm user reset-password %s'\n",
		       qname, qname);
	}
}

static void print_user_json(const struct kwadm *ctx, const char *qname,
			    const char *result, const struct new_password *pw)
{
	printf("{\"user\":");
	kwadm_json_string(stdout, qname);
	printf(",\"result\":");
	kwadm_json_string(stdout, result);
	printf(",\"password_set\":%s", password_given(pw) ? "true" : "false");
	if (password_given(pw))
		printf(",\"must_change_password\":true");
	if (pw->generate) {
		printf(",\"password\":");
		kwadm_json_string(stdout, pw->text);
	}
	printf("}\n");
}

static int parse_password_option(const struct kwadm_command *cmd, int c,
				 struct new_password *pw)
{
	if (c == 'p' && !pw->generate) {
		pw->file = optarg;
		return 0;
	}
	if (c == 'g' && pw->file == NULL) {
		pw->generate = true;
		return 0;
	}
	return kwadm_usage_error(cmd, "--password-file and --generate "
				      "exclude each other");
}

static int user_add(struct kwadm *ctx, const struct kwadm_command *cmd,
		    int argc, char **argv)
{
	static const struct option opts[] = {
		{"display-name", required_argument, NULL, 'd'},
		{"password-file", required_argument, NULL, 'p'},
		{"generate", no_argument, NULL, 'g'},
		KWADM_HELP_OPTION,
		{NULL, 0, NULL, 0},
	};
	struct new_password pw = {.file = NULL};
	const char *display_name = "";
	char qname[KW_QNAME_MAX + 1];
	struct kw_name name;
	struct kw_user user;
	int c, rc;

	memset(&user, 0, sizeof(user));
	while ((c = kwadm_getopt(cmd, argc, argv, ":hd:p:g", opts)) != -1) {
		switch (c) {
		case 'd':
			display_name = optarg;
			break;
		case 'p':
		case 'g':
			rc = parse_password_option(cmd, c, &pw);
			if (rc != 0)
				return rc;
			break;
		case 'h':
			return kwadm_help_command(cmd);
		default:
			return KWADM_EXIT_USAGE;
		}
	}
	rc = kwadm_expect_args(cmd, argc, argv, 1, "user name");
	if (rc == 0)
		rc = check_stdin_once(ctx, cmd, &pw);
	if (rc != 0)
		return rc;

	rc = kwadm_load_config(ctx);
	if (rc == 0)
		rc = kwadm_parse_user(ctx, argv[optind], NULL, &name);
	if (rc == 0)
		rc = kwadm_check_text("display name", display_name);
	if (rc == 0)
		rc = obtain_password(&pw);
	if (rc == 0)
		rc = kwadm_connect(ctx);
	if (rc != 0)
		goto done;
	kwadm_format_user(ctx, &name, qname, sizeof(qname));

	/*
	 * The account is created first and the password set after, because
	 * only kw_user_set_password can mark it to be changed at the first
	 * login.
	 */
	rc = kw_user_add(ctx->dir, &name, display_name, NULL, &user);
	if (rc != 0) {
		rc = kwadm_dir_failed(ctx, rc, "user", qname);
		goto done;
	}
	if (password_given(&pw)) {
		rc = kw_user_set_password(ctx->dir, &name, pw.text, true);
		if (rc != 0) {
			kwadm_dir_failed(ctx, rc, "user", qname);
			kwadm_error("user '%s' was created without a password; "
				    "set one with 'kwadm user reset-password "
				    "%s'",
				    qname, qname);
			rc = KWADM_EXIT_FAILURE;
			goto done;
		}
	}
	if (ctx->json) {
		print_user_json(ctx, qname, "created", &pw);
	} else {
		if (!ctx->quiet)
			printf("user '%s' created with uid %ld\n", qname,
			       user.uid_number);
		print_password_note(ctx, qname, &pw);
	}
	rc = KWADM_EXIT_OK;
done:
	kw_wipe(pw.text, sizeof(pw.text));
	kw_user_clear(&user);
	return rc;
}

static int user_list(struct kwadm *ctx, const struct kwadm_command *cmd,
		     int argc, char **argv)
{
	static const struct kwadm_field columns[] = {
		{"name", "USER", KWADM_STRING},
		{"uid", "UID", KWADM_NUMBER},
		{"status", "STATUS", KWADM_STRING},
		{"must_change_password", "MUST CHANGE", KWADM_BOOL},
		{"display_name", "DISPLAY NAME", KWADM_STRING},
	};
	const size_t n_cols = sizeof(columns) / sizeof(columns[0]);
	struct kw_user *users = NULL;
	struct kwadm_field *rows = NULL;
	char(*qnames)[KW_QNAME_MAX + 1] = NULL;
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

	rc = kw_user_list(ctx->dir, tenant, &users, &n);
	if (rc != 0)
		return kwadm_dir_failed(ctx, rc, "tenant", tenant);
	rows = calloc(n * n_cols + 1, sizeof(*rows));
	qnames = calloc(n + 1, sizeof(*qnames));
	if (rows == NULL || qnames == NULL) {
		kwadm_error("out of memory");
		rc = KWADM_EXIT_FAILURE;
		goto done;
	}
	for (i = 0; i < n; i++) {
		struct kwadm_field *row = &rows[i * n_cols];

		kwadm_format_user(ctx, &users[i].name, qnames[i],
				  sizeof(qnames[i]));
		memcpy(row, columns, sizeof(columns));
		row[0].string = qnames[i];
		row[1].number = users[i].uid_number;
		row[2].string = user_status(&users[i]);
		row[3].boolean = users[i].must_change_password;
		row[4].string = users[i].display_name;
	}
	kwadm_print_table(ctx, columns, n_cols, rows, n);
	rc = KWADM_EXIT_OK;
done:
	free(qnames);
	free(rows);
	kw_user_list_free(users, n);
	return rc;
}

static int user_show(struct kwadm *ctx, const struct kwadm_command *cmd,
		     int argc, char **argv)
{
	char qname[KW_QNAME_MAX + 1];
	struct kw_name name;
	struct kw_user user;
	int rc;

	rc = kwadm_parse_plain(cmd, argc, argv, 1, "user name");
	if (rc >= 0)
		return rc;
	rc = kwadm_prepare_user(ctx, argv[optind], &name);
	if (rc != 0)
		return rc;
	kwadm_format_user(ctx, &name, qname, sizeof(qname));

	memset(&user, 0, sizeof(user));
	rc = kw_user_get(ctx->dir, &name, &user);
	if (rc != 0)
		return kwadm_dir_failed(ctx, rc, "user", qname);
	print_user(ctx, &user);
	kw_user_clear(&user);
	return KWADM_EXIT_OK;
}

/*
 * The shape of deactivate, reactivate, unlock and delete: one user, one
 * call of the model, one line saying what became of the user.
 */
struct user_change {
	const char *result; /* "deactivated", ... for --json */
	const char *note;   /* after "user 'alice@acme' RESULT" */
	int (*apply)(struct kw_dir *dir, const struct kw_name *name);
};

static int change_user(struct kwadm *ctx, const struct kwadm_command *cmd,
		       int argc, char **argv, const struct user_change *change)
{
	char qname[KW_QNAME_MAX + 1];
	char message[KW_QNAME_MAX + 128];
	struct kw_name name;
	int rc;

	rc = kwadm_parse_plain(cmd, argc, argv, 1, "user name");
	if (rc >= 0)
		return rc;
	rc = kwadm_prepare_user(ctx, argv[optind], &name);
	if (rc != 0)
		return rc;
	kwadm_format_user(ctx, &name, qname, sizeof(qname));

	rc = change->apply(ctx->dir, &name);
	if (rc != 0)
		return kwadm_dir_failed(ctx, rc, "user", qname);
	snprintf(message, sizeof(message), "user '%s' %s%s", qname,
		 change->result, change->note);
	kwadm_print_done(ctx, "user", qname, change->result, message);
	return KWADM_EXIT_OK;
}

static int apply_deactivate(struct kw_dir *dir, const struct kw_name *name)
{
	return kw_user_set_deactivated(dir, name, true);
}

static int apply_reactivate(struct kw_dir *dir, const struct kw_name *name)
{
	return kw_user_set_deactivated(dir, name, false);
}

static int apply_unlock(struct kw_dir *dir, const struct kw_name *name)
{
	return kw_lock_reset_user(dir, name, true);
}

static int user_deactivate(struct kwadm *ctx, const struct kwadm_command *cmd,
			   int argc, char **argv)
{
	static const struct user_change change = {
		"deactivated", ": every login is refused", apply_deactivate};

	return change_user(ctx, cmd, argc, argv, &change);
}

static int user_reactivate(struct kwadm *ctx, const struct kwadm_command *cmd,
			   int argc, char **argv)
{
	static const struct user_change change = {"reactivated", "",
						  apply_reactivate};

	return change_user(ctx, cmd, argc, argv, &change);
}

static int user_unlock(struct kwadm *ctx, const struct kwadm_command *cmd,
		       int argc, char **argv)
{
	static const struct user_change change = {
		"unlocked", ": failure counters cleared", apply_unlock};

	return change_user(ctx, cmd, argc, argv, &change);
}

static int user_delete(struct kwadm *ctx, const struct kwadm_command *cmd,
		       int argc, char **argv)
{
	static const struct user_change change = {"deleted", "",
						  kw_user_delete};

	return change_user(ctx, cmd, argc, argv, &change);
}

static int user_reset_password(struct kwadm *ctx,
			       const struct kwadm_command *cmd, int argc,
			       char **argv)
{
	static const struct option opts[] = {
		{"password-file", required_argument, NULL, 'p'},
		KWADM_HELP_OPTION,
		{NULL, 0, NULL, 0},
	};
	struct new_password pw = {.file = NULL};
	char qname[KW_QNAME_MAX + 1];
	struct kw_name name;
	int c, rc;

	while ((c = kwadm_getopt(cmd, argc, argv, ":hp:", opts)) != -1) {
		switch (c) {
		case 'p':
			pw.file = optarg;
			break;
		case 'h':
			return kwadm_help_command(cmd);
		default:
			return KWADM_EXIT_USAGE;
		}
	}
	pw.generate = pw.file == NULL;
	rc = kwadm_expect_args(cmd, argc, argv, 1, "user name");
	if (rc == 0)
		rc = check_stdin_once(ctx, cmd, &pw);
	if (rc != 0)
		return rc;

	rc = kwadm_load_config(ctx);
	if (rc == 0)
		rc = kwadm_parse_user(ctx, argv[optind], NULL, &name);
	if (rc == 0)
		rc = obtain_password(&pw);
	if (rc == 0)
		rc = kwadm_connect(ctx);
	if (rc != 0)
		goto done;
	kwadm_format_user(ctx, &name, qname, sizeof(qname));

	rc = kw_user_set_password(ctx->dir, &name, pw.text, true);
	if (rc != 0) {
		rc = kwadm_dir_failed(ctx, rc, "user", qname);
		goto done;
	}
	if (ctx->json) {
		print_user_json(ctx, qname, "password reset", &pw);
	} else {
		if (!ctx->quiet)
			printf("password of '%s' reset\n", qname);
		print_password_note(ctx, qname, &pw);
	}
	rc = KWADM_EXIT_OK;
done:
	kw_wipe(pw.text, sizeof(pw.text));
	return rc;
}

static const struct kwadm_command user_commands[] = {
	{
		.name = "add",
		.synopsis = "USER@TENANT [--display-name TEXT]\n"
			    "        [--password-file FILE | --generate]",
		.summary = "add a user to a tenant",
		.description =
			"Add the user USER to TENANT, with the next uid of "
			"the\n"
			"tenant's range.  Without a password option the\n"
			"account has no password and cannot log in until\n"
			"'kwadm user reset-password'.  A password set here\n"
			"must be changed at the first login.\n",
		.options =
			"--display-name TEXT\n"
			"    The person's name, in UTF-8 (at most 128 bytes).\n"
			"--password-file FILE\n"
			"    Read the first password from FILE ('-' for\n"
			"    standard input); one trailing newline is "
			"removed.\n"
			"--generate\n"
			"    Generate a password of 20 letters and digits "
			"that\n"
			"    cannot be mistaken for one another, and print it\n"
			"    once.\n",
		.example = "kwadm user add alice@acme --display-name "
			   "\"Alice Liddell\" --generate\n",
		.run = user_add,
	},
	{
		.name = "list",
		.synopsis = "TENANT",
		.summary = "list the users of a tenant",
		.description = "Print every user of TENANT with uid, status\n"
			       "and display name.\n",
		.options = NULL,
		.example = "kwadm user list acme\n",
		.run = user_list,
	},
	{
		.name = "show",
		.synopsis = "USER@TENANT",
		.summary = "show one user",
		.description =
			"Print the account of USER: uid, home, shell, status,\n"
			"password state and roles.  Times are UTC.\n",
		.options = NULL,
		.example = "kwadm user show alice@acme\n",
		.run = user_show,
	},
	{
		.name = "deactivate",
		.synopsis = "USER@TENANT",
		.summary = "refuse every login of a user",
		.description =
			"Deactivate USER: from now on every login is refused,\n"
			"on every host and in every web login.  Nothing is\n"
			"deleted; 'reactivate' undoes it.\n",
		.options = NULL,
		.example = "kwadm user deactivate alice@acme\n",
		.run = user_deactivate,
	},
	{
		.name = "reactivate",
		.synopsis = "USER@TENANT",
		.summary = "allow the logins of a deactivated user again",
		.description = "Reactivate the deactivated USER.\n",
		.options = NULL,
		.example = "kwadm user reactivate alice@acme\n",
		.run = user_reactivate,
	},
	{
		.name = "unlock",
		.synopsis = "USER@TENANT",
		.summary = "lift a lock after failed attempts",
		.description =
			"Lift the lock that failed passwords or codes put on\n"
			"USER and clear both failure counters.  A lock also\n"
			"expires by itself after lockout.lock_s; 'kwadm user\n"
			"show' tells whether, until when and why USER is\n"
			"locked.  A source address that is locked is lifted\n"
			"with 'kwadm tenant unlock-address'.\n",
		.options = NULL,
		.example = "kwadm user unlock alice@acme\n",
		.run = user_unlock,
	},
	{
		.name = "delete",
		.synopsis = "USER@TENANT",
		.summary = "delete a user",
		.description =
			"Delete the account of USER.  This cannot be undone;\n"
			"'deactivate' keeps the account and refuses its\n"
			"logins.\n",
		.options = NULL,
		.example = "kwadm user delete alice@acme\n",
		.run = user_delete,
	},
	{
		.name = "reset-password",
		.synopsis = "USER@TENANT\n        [--password-file FILE]",
		.summary = "set a new password that must be changed",
		.description =
			"Set a new password for USER, which must be changed "
			"at\n"
			"the next login.  Without --password-file a password\n"
			"of 20 letters and digits is generated and printed\n"
			"once.\n",
		.options = "--password-file FILE\n"
			   "    Read the new password from FILE ('-' for\n"
			   "    standard input); one trailing newline is\n"
			   "    removed.\n",
		.example = "kwadm user reset-password alice@acme\n",
		.run = user_reset_password,
	},
	{.name = NULL},
};

const struct kwadm_group kwadm_user_group = {
	.name = "user",
	.summary = "users: the accounts of a tenant",
	.commands = user_commands,
};
