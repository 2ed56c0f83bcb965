/*
 * kwadm_directory.c - "kwadm directory": prepare slapd, show settings.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "kw_keys.h"
#include "kwadm.h"

#define DEFAULT_SCHEMA PKGDATADIR "/ldap/keyward.ldif"
#define DEFAULT_TEMPLATES PKGDATADIR "/ldap"

/*
 * Where kw_dir_init's progress lines go.  The callback takes no context,
 * so this one file-scope pointer carries it; it is set only for the
 * length of one directory init (kw_dir_init and the master key).
 */
static FILE *progress_stream;

static void print_progress(const char *line)
{
	if (progress_stream == NULL)
		return;
	kwadm_print_safe(progress_stream, line);
	fputc('\n', progress_stream);
	fflush(progress_stream);
}

static int check_readable(const char *what, const char *path)
{
	if (access(path, R_OK) == 0)
		return 0;
	kwadm_error("cannot read the %s '%s': %s", what, path, strerror(errno));
	return KWADM_EXIT_FAILURE;
}

/*
 * Make the master key (keys.master_key_file) unless it exists, as
 * kw_dir_init does for the bind secret; an existing key is loaded, so
 * that a file keywardd would refuse (mode, owner, content) fails here.
 */
static int ensure_master_key(const struct kwadm *ctx)
{
	const char *path = ctx->cfg.master_key_file;
	char err[KW_CONFIG_ERROR_MAX] = "", line[KW_CONFIG_ERROR_MAX + 64];
	struct kw_master_key key;
	int rc;

	if (access(path, F_OK) != 0 && errno == ENOENT) {
		rc = kw_master_key_create(path, err, sizeof(err));
		if (rc != 0) {
			kwadm_error("cannot create the master key: %s", err);
			return KWADM_EXIT_FAILURE;
		}
		snprintf(line, sizeof(line), "master key: generated in %s",
			 path);
		print_progress(line);
		return 0;
	}
	rc = kw_master_key_load(path, &key, err, sizeof(err));
	kw_master_key_wipe(&key);
	if (rc != 0) {
		kwadm_error("cannot use the master key: %s", err);
		return KWADM_EXIT_FAILURE;
	}
	snprintf(line, sizeof(line), "master key: as in %s", path);
	print_progress(line);
	return 0;
}

static int directory_init(struct kwadm *ctx, const struct kwadm_command *cmd,
			  int argc, char **argv)
{
	static const struct option opts[] = {
		{"schema", required_argument, NULL, 's'},
		{"templates", required_argument, NULL, 't'},
		KWADM_HELP_OPTION,
		{NULL, 0, NULL, 0},
	};
	const char *schema = DEFAULT_SCHEMA;
	const char *templates = DEFAULT_TEMPLATES;
	char err[KW_DIR_ERROR_MAX] = "";
	int c, rc, key_rc = 0;

	while ((c = kwadm_getopt(cmd, argc, argv, ":hs:t:", opts)) != -1) {
		switch (c) {
		case 's':
			schema = optarg;
			break;
		case 't':
			templates = optarg;
			break;
		case 'h':
			return kwadm_help_command(cmd);
		default:
			return KWADM_EXIT_USAGE;
		}
	}
	rc = kwadm_expect_args(cmd, argc, argv, 0, "");
	if (rc != 0)
		return rc;
	if (ctx->admin != NULL)
		return kwadm_usage_error(cmd, "directory init works as root "
					      "over ldapi://; drop --admin");

	rc = kwadm_load_config(ctx);
	if (rc != 0)
		return rc;
	if (check_readable("schema file", schema) != 0 ||
	    check_readable("templates directory", templates) != 0)
		return KWADM_EXIT_FAILURE;

	/* With --json, stdout holds only the JSON; progress goes aside. */
	progress_stream = ctx->quiet ? NULL : ctx->json ? stderr : stdout;
	rc = kw_dir_init(&ctx->cfg, schema, templates, print_progress, err,
			 sizeof(err));
	if (rc == 0)
		key_rc = ensure_master_key(ctx);
	progress_stream = NULL;
	if (rc == ECONNREFUSED) {
		kwadm_error("cannot reach the directory at %s: %s",
			    ctx->cfg.admin_uri != NULL ? ctx->cfg.admin_uri
						       : "(no admin_uri)",
			    *err != '\0' ? err : strerror(rc));
		return KWADM_EXIT_FAILURE;
	}
	if (rc != 0) {
		kwadm_error("directory init failed: %s",
			    *err != '\0' ? err : strerror(rc));
		return KWADM_EXIT_FAILURE;
	}
	if (key_rc != 0)
		return key_rc;
	kwadm_print_done(ctx, "directory",
			 ctx->cfg.base_dn != NULL ? ctx->cfg.base_dn : "",
			 "initialized", "the directory is ready");
	return KWADM_EXIT_OK;
}

static void print_config(const struct kwadm *ctx)
{
	const struct kw_config *cfg = &ctx->cfg;
	char *uris[KW_CONFIG_MAX_URIS + 1];
	char separator[2] = {cfg->separator, '\0'};
	size_t i;

	for (i = 0; i < cfg->n_uris && i < KW_CONFIG_MAX_URIS; i++)
		uris[i] = cfg->uris[i];
	uris[i] = NULL;

	const struct kwadm_field fields[] = {
		{"file", "file", KWADM_STRING,
		 .string =
			 cfg->path != NULL ? cfg->path : "(built-in defaults)"},
		{"directory.uri", "directory.uri", KWADM_LIST, .list = uris},
		{"directory.base", "directory.base", KWADM_STRING,
		 .string = cfg->base_dn},
		{"directory.bind_dn", "directory.bind_dn", KWADM_STRING,
		 .string = cfg->bind_dn},
		{"directory.bind_password_file", "directory.bind_password_file",
		 KWADM_STRING, .string = cfg->bind_password_file},
		{"directory.ca_file", "directory.ca_file", KWADM_STRING,
		 .string = cfg->ca_file},
		{"directory.starttls", "directory.starttls", KWADM_BOOL,
		 .boolean = cfg->starttls},
		{"directory.connect_timeout_ms", "directory.connect_timeout_ms",
		 KWADM_NUMBER, .number = cfg->connect_timeout_ms},
		{"directory.op_timeout_ms", "directory.op_timeout_ms",
		 KWADM_NUMBER, .number = cfg->op_timeout_ms},
		{"directory.admin_uri", "directory.admin_uri", KWADM_STRING,
		 .string = cfg->admin_uri},
		{"directory.db_directory", "directory.db_directory",
		 KWADM_STRING, .string = cfg->db_directory},
		{"directory.db_max_size_mb", "directory.db_max_size_mb",
		 KWADM_NUMBER, .number = cfg->db_max_size_mb},
		{"tenants.separator", "tenants.separator", KWADM_STRING,
		 .string = separator},
		{"tenants.default", "tenants.default", KWADM_STRING,
		 .string = cfg->default_tenant},
		{"tenants.uid_min", "tenants.uid_min", KWADM_NUMBER,
		 .number = cfg->uid_min},
		{"tenants.uid_range", "tenants.uid_range", KWADM_NUMBER,
		 .number = cfg->uid_range},
		{"tenants.uid_max", "tenants.uid_max", KWADM_NUMBER,
		 .number = cfg->uid_max},
		{"keywardd.socket", "keywardd.socket", KWADM_STRING,
		 .string = cfg->socket_path},
		{"keywardd.workers", "keywardd.workers", KWADM_NUMBER,
		 .number = cfg->workers},
		{"keywardd.cache_ttl_s", "keywardd.cache_ttl_s", KWADM_NUMBER,
		 .number = cfg->cache_ttl_s},
		{"keywardd.log_level", "keywardd.log_level", KWADM_STRING,
		 .string = cfg->log_level},
	};

	kwadm_print_record(ctx, fields, sizeof(fields) / sizeof(fields[0]));
}

static int directory_show_config(struct kwadm *ctx,
				 const struct kwadm_command *cmd, int argc,
				 char **argv)
{
	static const struct option opts[] = {
		{"settings", no_argument, NULL, 's'},
		KWADM_HELP_OPTION,
		{NULL, 0, NULL, 0},
	};
	bool settings = false;
	int c, rc;

	while ((c = kwadm_getopt(cmd, argc, argv, ":hs", opts)) != -1) {
		switch (c) {
		case 's':
			settings = true;
			break;
		case 'h':
			return kwadm_help_command(cmd);
		default:
			return KWADM_EXIT_USAGE;
		}
	}
	rc = kwadm_expect_args(cmd, argc, argv, 0, "");
	if (rc != 0)
		return rc;
	if (settings) {
		kw_config_describe(stdout);
		return KWADM_EXIT_OK;
	}
	rc = kwadm_load_config(ctx);
	if (rc != 0)
		return rc;
	print_config(ctx);
	return KWADM_EXIT_OK;
}

static const struct kwadm_command directory_commands[] = {
	{
		.name = "init",
		.synopsis = "[--schema FILE] [--templates DIR]",
		.summary = "prepare an empty slapd for keyward",
		.description =
			"Prepare slapd over cn=config, as root over ldapi://\n"
			"(directory.admin_uri): keyward's schema, the "
			"modules,\n"
			"the tenants' database with its indexes, access rules\n"
			"and password policy, the base entries and keywardd's\n"
			"service identity, whose password is read from\n"
			"directory.bind_password_file (generated when the\n"
			"file does not exist).  It also makes the master key\n"
			"keys.master_key_file when there is none; that file\n"
			"stays on this host.  Running it again\n"
			"changes nothing that is already right.  A line is\n"
			"printed for each step unless -q is given.\n",
		.options =
			"--schema FILE\n"
			"    keyward's cn=config schema (default\n"
			"    " DEFAULT_SCHEMA ").\n"
			"--templates DIR\n"
			"    the LDIF templates of the database and the\n"
			"    base entries (default " DEFAULT_TEMPLATES ").\n",
		.example = "kwadm directory init\n",
		.run = directory_init,
	},
	{
		.name = "show-config",
		.synopsis = "[--settings]",
		.summary = "print the configuration in effect",
		.description =
			"Print the value of every setting after the\n"
			"configuration file and the -o options, one\n"
			"\"setting: value\" line each.  Secrets are never\n"
			"printed; only the files that hold them.\n",
		.options =
			"--settings\n"
			"    Print the table of all settings instead: name,\n"
			"    type, default, range and meaning.\n",
		.example = "kwadm -c /etc/keyward/test.conf directory "
			   "show-config\n",
		.run = directory_show_config,
	},
	{.name = NULL},
};

const struct kwadm_group kwadm_directory_group = {
	.name = "directory",
	.summary = "the directory server itself",
	.commands = directory_commands,
};
