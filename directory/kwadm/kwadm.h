/*
 * kwadm.h - what the parts of kwadm share.
 *
 * kwadm is "kwadm [GLOBAL OPTIONS] COMMAND [SUBCOMMAND] [ARGS]".  main()
 * (kwadm.c) parses the global options and picks a command group; each
 * group (kwadm_directory.c, kwadm_tenant.c, kwadm_user.c, kwadm_role.c)
 * is a table of subcommands, each with its own help text and options.
 * A subcommand runs as a short recipe: parse its options, load the
 * configuration, check every name, connect, act, print.  Usage errors
 * never reach the configuration; invalid names never reach the directory.
 *
 * Output goes through kwadm_output.c, which prints either human tables
 * and "key: value" lines or one JSON value per command (--json).
 */
#ifndef KWADM_H
#define KWADM_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <time.h>

#include "kw_config.h"
#include "kw_dir.h"
#include "kw_keys.h"
#include "kw_names.h"

/* Exit statuses, as documented in kwadm(8). */
#define KWADM_EXIT_OK 0
#define KWADM_EXIT_FAILURE 1
#define KWADM_EXIT_USAGE 2

/* A generated password: 20 characters, about 116 bits. */
#define KWADM_GENERATED_PASSWORD_LEN 20

/* Everything one run of kwadm knows; owned by main(). */
struct kwadm {
	/* From the global options. */
	const char *config_path; /* -c, or NULL for the default file */
	const char **overrides;  /* -o NAME=VALUE, in order */
	size_t n_overrides;
	const char *admin;         /* -U USER@TENANT, or NULL for root */
	const char *password_file; /* --password-file, for -U */
	bool json;
	bool quiet;

	/* Filled by kwadm_load_config() and kwadm_connect(). */
	bool config_loaded;
	struct kw_config cfg;
	struct kw_name admin_name;
	struct kw_dir *dir;
};

/* One subcommand: "tenant create". */
struct kwadm_command {
	const char *name;     /* "create" */
	const char *synopsis; /* arguments after "kwadm tenant create" */
	const char *summary;  /* one line for the group's list */
	/* The help: lines of text, indented when printed. */
	const char *description;
	const char *options; /* NULL if none but --help */
	const char *example;
	int (*run)(struct kwadm *ctx, const struct kwadm_command *cmd, int argc,
		   char **argv);
};

/* One command group: "tenant" with its subcommands. */
struct kwadm_group {
	const char *name;
	const char *summary;
	const struct kwadm_command *commands; /* ends with a NULL name */
	/*
	 * The subcommand that "kwadm GROUP" runs when no subcommand follows,
	 * only options ("kwadm audit --tenant acme"), or NULL.
	 */
	const char *default_command;
};

extern const struct kwadm_group kwadm_directory_group;
extern const struct kwadm_group kwadm_tenant_group;
extern const struct kwadm_group kwadm_user_group;
extern const struct kwadm_group kwadm_role_group;
extern const struct kwadm_group kwadm_mfa_group;
extern const struct kwadm_group kwadm_audit_group;

/* ---- kwadm.c: setup, names, connection, errors ------------------------- */

/* Every subcommand takes -h, --help. */
#define KWADM_HELP_OPTION                                                      \
	{                                                                      \
		"help", no_argument, NULL, 'h'                                 \
	}

/*
 * getopt_long over the options of CMD.  OPTSTRING starts with ':' so that
 * a missing value is told apart from an unknown option; optind is reset
 * before each subcommand runs.  Returns what getopt_long returns, except
 * that a bad option is reported here (message and hint) and comes back
 * as '?'.
 */
int kwadm_getopt(const struct kwadm_command *cmd, int argc, char **argv,
		 const char *optstring, const struct option *longopts);

/* The group of CMD, for messages ("tenant"). */
const char *kwadm_group_of(const struct kwadm_command *cmd);

/* Print the help of CMD to stdout; returns KWADM_EXIT_OK. */
int kwadm_help_command(const struct kwadm_command *cmd);

/* Print "kwadm: MESSAGE" and the hint for CMD; returns KWADM_EXIT_USAGE. */
int kwadm_usage_error(const struct kwadm_command *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * Check that exactly N_ARGS arguments are left after the options, naming
 * them in the error (e.g. "a tenant name").  Returns 0 or
 * KWADM_EXIT_USAGE after printing the error.
 */
int kwadm_expect_args(const struct kwadm_command *cmd, int argc, char **argv,
		      int n_args, const char *what);

/*
 * Parse a subcommand that has no options but --help and takes N_ARGS
 * arguments (named WHAT in the error).  Returns -1 to go on, with the
 * arguments at ARGV[optind], or the exit status to return.
 */
int kwadm_parse_plain(const struct kwadm_command *cmd, int argc, char **argv,
		      int n_args, const char *what);

/* Print "kwadm: MESSAGE" to stderr. */
void kwadm_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Load the configuration and apply the -o overrides, once. */
int kwadm_load_config(struct kwadm *ctx);

/*
 * Check names, printing an error that names the rule.  Each returns 0 or
 * KWADM_EXIT_FAILURE.  The configuration must be loaded.
 */
int kwadm_check_tenant(const char *tenant);
int kwadm_parse_user(const struct kwadm *ctx, const char *input,
		     const char *default_tenant, struct kw_name *out);
int kwadm_parse_role(const struct kwadm *ctx, const char *input, char *role_out,
		     char *tenant_out);
int kwadm_check_text(const char *what, const char *text);

/* Connect as root or as the -U administrator.  Returns an exit status. */
int kwadm_connect(struct kwadm *ctx);

/*
 * What a command about one user does first: load the configuration,
 * parse INPUT (user@tenant) into *NAME, connect.  Returns an exit status.
 */
int kwadm_prepare_user(struct kwadm *ctx, const char *input,
		       struct kw_name *name);

/*
 * Load keys.master_key_file into *KEY (root only can), printing why not.
 * Returns an exit status.
 */
int kwadm_load_master_key(const struct kwadm *ctx, struct kw_master_key *key);

/*
 * Report RC from a kw_dir_* call in words: KIND ("tenant", "user",
 * "role") and NAME say what ENOENT and EEXIST are about.  Returns
 * KWADM_EXIT_FAILURE.
 */
int kwadm_dir_failed(const struct kwadm *ctx, int rc, const char *kind,
		     const char *name);

/* Format NAME as "user@tenant" with the configured separator. */
void kwadm_format_user(const struct kwadm *ctx, const struct kw_name *name,
		       char *out, size_t outsz);

/*
 * Read a password from PATH ("-" for standard input) into BUF, without
 * one trailing newline.  Refuses an empty password.  BUF is wiped on
 * failure.  Returns 0 or KWADM_EXIT_FAILURE after printing the error.
 */
int kwadm_read_password_file(const char *path, char *buf, size_t bufsz);

/* Fill BUF with a generated password (and a NUL); BUFSZ > the length. */
int kwadm_generate_password(char *buf, size_t bufsz);

/* ---- kwadm_output.c ---------------------------------------------------- */

enum kwadm_value_type {
	KWADM_STRING,
	KWADM_BOOL,
	KWADM_NUMBER, /* a long; negative means "unknown" */
	KWADM_TIME,   /* a time_t; 0 means "unknown" */
	KWADM_LIST,   /* a NULL-terminated array of strings, or NULL */
};

/* One value with the names it goes by. */
struct kwadm_field {
	const char *key;   /* JSON member name, e.g. "display_name" */
	const char *label; /* human label or column header */
	enum kwadm_value_type type;
	const char *string;
	bool boolean;
	long number;
	time_t time;
	char *const *list;
};

/* Print one record: "label: value" lines, or one JSON object. */
void kwadm_print_record(const struct kwadm *ctx,
			const struct kwadm_field *fields, size_t n_fields);

/*
 * Print N_ROWS records of N_COLS fields each (ROWS holds them row after
 * row; their names come from COLUMNS): an aligned table with a header
 * line, or one JSON array of objects.
 */
void kwadm_print_table(const struct kwadm *ctx,
		       const struct kwadm_field *columns, size_t n_cols,
		       const struct kwadm_field *rows, size_t n_rows);

/* Print a list of strings: one per line under HEADER, or a JSON array. */
void kwadm_print_strings(const struct kwadm *ctx, const char *header,
			 char *const *items, size_t n_items);

/*
 * Tell what happened ("tenant 'acme' suspended"): a line on stdout unless
 * --quiet, or in JSON {"KEY": "NAME", "result": "RESULT"}.
 */
void kwadm_print_done(const struct kwadm *ctx, const char *key,
		      const char *name, const char *result,
		      const char *message);

/* Write S as a JSON string (with quotes) to FP. */
void kwadm_json_string(FILE *fp, const char *s);

/* Write S to FP for a terminal: controls and invalid UTF-8 replaced. */
void kwadm_print_safe(FILE *fp, const char *s);

/*
 * Copy untrusted S into OUT for an error message: printable ASCII as it
 * is, other bytes as \xHH, cut at 64 bytes with "...".  Returns OUT.
 */
const char *kwadm_quote(const char *s, char *out, size_t outsz);
#define KWADM_QUOTE_MAX (64 * 4 + 4)

/* Format T as ISO 8601 UTC ("2026-01-31T12:00:00Z"), or "-" for 0. */
const char *kwadm_format_time(time_t t, char *out, size_t outsz);
/*
 * YYYY-MM-DD (midnight UTC at its start) or YYYY-MM-DDTHH:MM:SSZ, after
 * 1970, into *OUT.  A day or time that does not exist (February 30,
 * 24:00:00) is refused: timegm would quietly move it on.
 */
bool kwadm_parse_utc(const char *s, time_t *out);

/* True if S is valid UTF-8 without control characters. */
bool kwadm_text_valid(const char *s);

#endif
