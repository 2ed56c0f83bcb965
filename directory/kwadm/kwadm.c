/*
 * kwadm.c - the administrator's command line: global options, help,
 * configuration, names, the connection and errors in words.
 *
 * main() is a short recipe: parse the global options, find the command
 * group and the subcommand, run it, clean up.  Each subcommand then
 * parses its own options, loads the configuration, checks its names and
 * only then connects, so that a typing error never costs a round trip
 * and an invalid name never reaches the directory.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <termios.h>
#include <unistd.h>

#include "kw_log.h"
#include "kw_secret.h"
#include "kwadm.h"

#define RULE_TENANT                                                            \
	"use 1-32 of a-z, 0-9 and '-', not starting or ending with '-'"
#define RULE_USER                                                              \
	"use 1-32 of a-z, 0-9, '_', '.' and '-', starting with a-z or "        \
	"'_' and not ending with '.' or '-'"
#define RULE_ROLE                                                              \
	"use 1-64 of a-z, 0-9, '_' and '-', not starting or ending "           \
	"with '_' or '-'"

/*
 * Letters and digits that cannot be mistaken for one another when read
 * aloud or off a screen: no 0/O, no 1/l/I.
 */
static const char password_alphabet[] = "abcdefghijkmnopqrstuvwxyz"
					"ABCDEFGHJKLMNPQRSTUVWXYZ"
					"23456789";

/* Help text is refilled to this width. */
#define HELP_WIDTH 78

static const struct kwadm_group *const groups[] = {
	&kwadm_directory_group,
	&kwadm_tenant_group,
	&kwadm_user_group,
	&kwadm_role_group,
	&kwadm_mfa_group,
	&kwadm_audit_group,
	NULL,
};

/* ---- help --------------------------------------------------------------- */

static const char top_description[] =
	"kwadm manages keyward's directory: it prepares an OpenLDAP server,\n"
	"creates, suspends and deletes tenants, adds and deactivates users,\n"
	"resets their passwords and grants roles.  It works through keyward's\n"
	"directory model, as root over ldapi:// (directory.admin_uri, SASL\n"
	"EXTERNAL) or, with -U, as a tenant's administrator.\n"
	"\n"
	"Every name is checked before the directory is contacted.  A tenant\n"
	"is 1-32 of a-z, 0-9 and '-'; a user 1-32 of a-z, 0-9, '_', '.' and\n"
	"'-'; a role 1-64 of a-z, 0-9, '_' and '-'.  A user is written\n"
	"USER@TENANT (the separator is tenants.separator); where\n"
	"tenants.default is set, a plain USER means a user of that tenant.\n";

static const char top_options[] =
	"-c, --config PATH\n"
	"    Read the configuration from PATH instead of\n"
	"    " KW_CONFIG_DEFAULT_PATH ".  A missing default file means the\n"
	"    built-in defaults; a missing PATH is an error.\n"
	"-o, --option NAME=VALUE\n"
	"    Set the setting NAME (e.g. directory.admin_uri) after the file\n"
	"    is read.  May be given more than once.\n"
	"-U, --admin USER@TENANT\n"
	"    Work as this tenant administrator instead of as root.  Needs\n"
	"    --password-file.\n"
	"--password-file FILE\n"
	"    Read the administrator's password from FILE ('-' for standard\n"
	"    input).  One trailing newline is removed.  Passwords are never\n"
	"    taken from the command line.\n"
	"-j, --json\n"
	"    Print one JSON value per command on standard output.\n"
	"-q, --quiet\n"
	"    Print nothing on success except what was asked for.\n"
	"-h, --help\n"
	"    Print this help and exit.\n"
	"-V, --version\n"
	"    Print the version and exit.\n";

static const char top_exit_status[] =
	"0   success\n"
	"1   failure: an invalid name or value, a configuration error, or\n"
	"    the directory refused or could not be reached\n"
	"2   usage error: an unknown command or option, a missing argument\n";

static const char top_examples[] =
	"kwadm directory init\n"
	"kwadm tenant create acme --display-name \"Acme Corporation\"\n"
	"kwadm user add alice@acme --generate\n"
	"kwadm role create sysadmins@acme --description \"Host logins\"\n"
	"kwadm role grant sysadmins@acme alice\n"
	"kwadm --json user list acme\n"
	"kwadm -U bob@acme --password-file /root/bob.pw user show alice@acme\n";

/* Print TEXT with every non-empty line indented by INDENT spaces. */
static void print_indented(const char *text, int indent)
{
	const char *line = text, *end;

	while (*line != '\0') {
		end = strchr(line, '\n');
		if (end == NULL)
			end = line + strlen(line);
		if (end > line)
			printf("%*s%.*s", indent, "", (int)(end - line), line);
		putchar('\n');
		line = *end == '\n' ? end + 1 : end;
	}
}

/*
 * Like print_indented, but refill paragraphs to HELP_WIDTH columns, so
 * that the help texts can be written in short source lines.  A line
 * continues the paragraph above it when it has the same indentation and
 * does not start with '-' (an option); a blank line ends a paragraph.
 * Two spaces after a full stop are kept as written.
 */
static void print_reflowed(const char *text, int indent)
{
	const char *line = text, *word, *end;
	size_t spaces, gap, word_len, para_indent = 0, col = 0;
	bool in_para = false;

	while (*line != '\0') {
		end = line + strcspn(line, "\n");
		spaces = strspn(line, " ");
		word = line + spaces;
		if (in_para &&
		    (word >= end || spaces != para_indent || *word == '-')) {
			putchar('\n');
			in_para = false;
		}
		if (word >= end)
			putchar('\n');
		gap = 0;
		if (word < end && !in_para) {
			para_indent = spaces;
			col = (size_t)indent + spaces;
			printf("%*s", (int)col, "");
			in_para = true;
		} else if (word < end) {
			gap = 1; /* the line break inside a paragraph */
		}
		while (word < end) {
			word_len = strcspn(word, " \n");
			if (col > (size_t)indent + para_indent &&
			    col + gap + word_len > HELP_WIDTH) {
				col = (size_t)indent + para_indent;
				printf("\n%*s", (int)col, "");
			} else {
				printf("%*s", (int)gap, "");
				col += gap;
			}
			fwrite(word, 1, word_len, stdout);
			col += word_len;
			word += word_len;
			gap = strspn(word, " ");
			word += gap;
		}
		line = *end != '\0' ? end + 1 : end;
	}
	if (in_para)
		putchar('\n');
}

static const struct kwadm_group *group_of(const struct kwadm_command *cmd)
{
	const struct kwadm_command *c;
	size_t i;

	for (i = 0; groups[i] != NULL; i++)
		for (c = groups[i]->commands; c->name != NULL; c++)
			if (c == cmd)
				return groups[i];
	return NULL;
}

const char *kwadm_group_of(const struct kwadm_command *cmd)
{
	const struct kwadm_group *group = group_of(cmd);

	return group != NULL ? group->name : "";
}

static void print_synopsis(const struct kwadm_command *cmd, int indent)
{
	printf("%*skwadm [GLOBAL OPTIONS] %s %s%s%s\n", indent, "",
	       kwadm_group_of(cmd), cmd->name, *cmd->synopsis ? " " : "",
	       cmd->synopsis);
}

/* The sections of one command, each title indented by INDENT. */
static void print_command_sections(const struct kwadm_command *cmd, int indent)
{
	printf("%*sDESCRIPTION\n", indent, "");
	print_reflowed(cmd->description, indent + 4);
	printf("\n%*sOPTIONS\n", indent, "");
	if (cmd->options != NULL)
		print_reflowed(cmd->options, indent + 4);
	print_indented("-h, --help\n    Print this help and exit.\n",
		       indent + 4);
	printf("\n%*sEXAMPLE\n", indent, "");
	print_indented(cmd->example, indent + 4);
}

int kwadm_help_command(const struct kwadm_command *cmd)
{
	printf("NAME\n    kwadm %s %s - %s\n\nSYNOPSIS\n", kwadm_group_of(cmd),
	       cmd->name, cmd->summary);
	print_synopsis(cmd, 4);
	putchar('\n');
	print_command_sections(cmd, 0);
	return KWADM_EXIT_OK;
}

static int help_group(const struct kwadm_group *group)
{
	const struct kwadm_command *cmd;

	printf("NAME\n    kwadm %s - %s\n\nSYNOPSIS\n", group->name,
	       group->summary);
	for (cmd = group->commands; cmd->name != NULL; cmd++)
		print_synopsis(cmd, 4);
	printf("\nGLOBAL OPTIONS\n    See 'kwadm --help'.\n");
	for (cmd = group->commands; cmd->name != NULL; cmd++) {
		printf("\n%s %s - %s\n\n", group->name, cmd->name,
		       cmd->summary);
		print_command_sections(cmd, 4);
	}
	return KWADM_EXIT_OK;
}

static int help_top(void)
{
	const struct kwadm_command *cmd;
	size_t i;

	printf("NAME\n    kwadm - administer keyward's tenants, users and "
	       "roles\n\n");
	printf("SYNOPSIS\n    kwadm [GLOBAL OPTIONS] COMMAND [SUBCOMMAND] "
	       "[ARGS]\n    kwadm help [COMMAND [SUBCOMMAND]]\n\n");
	printf("DESCRIPTION\n");
	print_reflowed(top_description, 4);
	printf("\nCOMMANDS\n");
	for (i = 0; groups[i] != NULL; i++) {
		printf("    %s - %s\n", groups[i]->name, groups[i]->summary);
		for (cmd = groups[i]->commands; cmd->name != NULL; cmd++)
			printf("        %-15s %s\n", cmd->name, cmd->summary);
	}
	printf("\n    'kwadm COMMAND --help' describes the subcommands of "
	       "COMMAND.\n\nOPTIONS\n");
	print_reflowed(top_options, 4);
	printf("\nEXIT STATUS\n");
	print_indented(top_exit_status, 4);
	printf("\nEXAMPLES\n");
	print_indented(top_examples, 4);
	printf("\nFILES\n    " KW_CONFIG_DEFAULT_PATH "\n\nSEE ALSO\n"
	       "    kwadm(8), keywardd(8), slapd(8)\n");
	return KWADM_EXIT_OK;
}

/* ---- errors ------------------------------------------------------------- */

static void verror(const char *fmt, va_list ap)
{
	fputs("kwadm: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void kwadm_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	verror(fmt, ap);
	va_end(ap);
}

int kwadm_usage_error(const struct kwadm_command *cmd, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	verror(fmt, ap);
	va_end(ap);
	fprintf(stderr, "Try 'kwadm %s %s --help'.\n", kwadm_group_of(cmd),
		cmd->name);
	return KWADM_EXIT_USAGE;
}

static int usage_error_top(const char *hint, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int usage_error_top(const char *hint, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	verror(fmt, ap);
	va_end(ap);
	fprintf(stderr, "Try 'kwadm %s--help'.\n", hint);
	return KWADM_EXIT_USAGE;
}

int kwadm_getopt(const struct kwadm_command *cmd, int argc, char **argv,
		 const char *optstring, const struct option *longopts)
{
	char quoted[KWADM_QUOTE_MAX];
	const char *arg;
	int c;

	c = getopt_long(argc, argv, optstring, longopts, NULL);
	if (c != '?' && c != ':')
		return c;
	arg = optind > 0 && optind <= argc ? argv[optind - 1] : "";
	if (strncmp(arg, "--", 2) != 0 && optopt != 0)
		snprintf(quoted, sizeof(quoted), "-%c", optopt);
	else
		kwadm_quote(arg, quoted, sizeof(quoted));
	if (c == ':')
		kwadm_usage_error(cmd, "option '%s' needs a value", quoted);
	else
		kwadm_usage_error(cmd, "unknown option '%s'", quoted);
	return '?';
}

int kwadm_expect_args(const struct kwadm_command *cmd, int argc, char **argv,
		      int n_args, const char *what)
{
	char quoted[KWADM_QUOTE_MAX];

	if (argc - optind < n_args)
		return kwadm_usage_error(cmd, "missing %s", what);
	if (argc - optind > n_args)
		return kwadm_usage_error(cmd, "unexpected argument '%s'",
					 kwadm_quote(argv[optind + n_args],
						     quoted, sizeof(quoted)));
	return 0;
}

int kwadm_parse_plain(const struct kwadm_command *cmd, int argc, char **argv,
		      int n_args, const char *what)
{
	static const struct option opts[] = {
		KWADM_HELP_OPTION,
		{NULL, 0, NULL, 0},
	};
	int c, rc;

	while ((c = kwadm_getopt(cmd, argc, argv, ":h", opts)) != -1) {
		if (c == 'h')
			return kwadm_help_command(cmd);
		return KWADM_EXIT_USAGE;
	}
	rc = kwadm_expect_args(cmd, argc, argv, n_args, what);
	return rc != 0 ? rc : -1;
}

void kwadm_format_user(const struct kwadm *ctx, const struct kw_name *name,
		       char *out, size_t outsz)
{
	char qname[KW_QNAME_MAX + 1];

	kw_name_format(name, ctx->cfg.separator, qname, sizeof(qname));
	snprintf(out, outsz, "%s", qname);
}

/* The URIs a failed connection tried, for the message. */
static void describe_uris(const struct kwadm *ctx, char *out, size_t outsz)
{
	size_t i, used = 0;
	int n;

	out[0] = '\0';
	if (ctx->dir != NULL && kw_dir_uri(ctx->dir) != NULL &&
	    *kw_dir_uri(ctx->dir) != '\0') {
		snprintf(out, outsz, "%s", kw_dir_uri(ctx->dir));
		return;
	}
	if (ctx->admin == NULL) {
		snprintf(out, outsz, "%s",
			 ctx->cfg.admin_uri != NULL ? ctx->cfg.admin_uri
						    : "(no admin_uri)");
		return;
	}
	for (i = 0; i < ctx->cfg.n_uris && used < outsz; i++) {
		n = snprintf(out + used, outsz - used, "%s%s",
			     i > 0 ? ", " : "", ctx->cfg.uris[i]);
		if (n < 0)
			break;
		used += (size_t)n;
	}
}

int kwadm_dir_failed(const struct kwadm *ctx, int rc, const char *kind,
		     const char *name)
{
	char who[KW_QNAME_MAX + 1] = "root";
	char uris[512];
	const char *detail = ctx->dir != NULL ? kw_dir_error(ctx->dir) : "";
	const char *sep;

	if (detail == NULL)
		detail = "";
	sep = *detail != '\0' ? ": " : "";
	if (ctx->admin != NULL)
		kwadm_format_user(ctx, &ctx->admin_name, who, sizeof(who));
	switch (rc) {
	case ENOENT:
		/* the model names what is missing better than we can guess */
		if (strncmp(detail, "no such ", 8) == 0 ||
		    strstr(detail, "does not have") != NULL)
			kwadm_error("%s", detail);
		else
			kwadm_error("no such %s '%s'",
				    kind != NULL ? kind : "entry",
				    name != NULL ? name : "");
		break;
	case EEXIST:
		if (strstr(detail, "already") != NULL) {
			kwadm_error("%s", detail);
			break;
		}
		kwadm_error("%s '%s' exists already",
			    kind != NULL ? kind : "entry",
			    name != NULL ? name : "");
		break;
	case EPERM:
		kwadm_error("permission denied (as %s)%s%s", who, sep, detail);
		break;
	case EACCES:
		kwadm_error("the directory refused the credentials of %s%s%s",
			    who, sep, detail);
		break;
	case ECONNREFUSED:
		describe_uris(ctx, uris, sizeof(uris));
		/* libldap's text often starts with the URI: say it once. */
		if (strncmp(detail, uris, strlen(uris)) == 0 &&
		    strncmp(detail + strlen(uris), ": ", 2) == 0)
			detail += strlen(uris) + 2;
		kwadm_error("cannot reach the directory at %s: %s", uris,
			    *detail != '\0' ? detail : strerror(rc));
		break;
	case ETIMEDOUT:
		describe_uris(ctx, uris, sizeof(uris));
		kwadm_error("the directory at %s did not answer in time%s%s",
			    uris, sep, detail);
		break;
	case ENOSPC:
		kwadm_error("the directory's database is full%s%s", sep,
			    detail);
		break;
	case ENOMEM:
		kwadm_error("out of memory");
		break;
	case EINVAL:
		kwadm_error("the directory model refused a value%s%s", sep,
			    detail);
		break;
	default:
		kwadm_error("directory error: %s",
			    *detail != '\0' ? detail : strerror(rc));
		break;
	}
	return KWADM_EXIT_FAILURE;
}

/* ---- configuration ------------------------------------------------------ */

static int apply_override(struct kwadm *ctx, const char *override)
{
	char err[KW_CONFIG_ERROR_MAX] = "";
	char quoted[KWADM_QUOTE_MAX];
	const char *eq = strchr(override, '=');
	char *name;
	int rc;

	name = strndup(override, (size_t)(eq - override));
	if (name == NULL) {
		kwadm_error("out of memory");
		return KWADM_EXIT_FAILURE;
	}
	rc = kw_config_set(&ctx->cfg, name, eq + 1, err, sizeof(err));
	if (rc != 0)
		kwadm_error("-o %s: %s",
			    kwadm_quote(name, quoted, sizeof(quoted)),
			    *err != '\0' ? err : strerror(rc));
	free(name);
	return rc == 0 ? 0 : KWADM_EXIT_FAILURE;
}

int kwadm_load_config(struct kwadm *ctx)
{
	char err[KW_CONFIG_ERROR_MAX] = "";
	const char *path = ctx->config_path != NULL ? ctx->config_path
						    : KW_CONFIG_DEFAULT_PATH;
	size_t i;
	int rc;

	if (ctx->config_loaded)
		return 0;
	if (kw_config_init(&ctx->cfg) != 0) {
		kwadm_error("out of memory");
		return KWADM_EXIT_FAILURE;
	}
	ctx->config_loaded = true;

	rc = kw_config_load(&ctx->cfg, path, err, sizeof(err));
	if (rc == ENOENT && ctx->config_path == NULL) {
		rc = 0; /* no default file: the built-in defaults apply */
	} else if (rc == ENOENT) {
		kwadm_error("cannot read the configuration file '%s': %s", path,
			    strerror(rc));
		return KWADM_EXIT_FAILURE;
	} else if (rc != 0) {
		if (*err != '\0')
			kwadm_error("%s", err);
		else
			kwadm_error("%s: %s", path, strerror(rc));
		return KWADM_EXIT_FAILURE;
	}

	for (i = 0; i < ctx->n_overrides; i++)
		if (apply_override(ctx, ctx->overrides[i]) != 0)
			return KWADM_EXIT_FAILURE;

	if (ctx->admin != NULL &&
	    kwadm_parse_user(ctx, ctx->admin, NULL, &ctx->admin_name) != 0)
		return KWADM_EXIT_FAILURE;
	return 0;
}

/* ---- names -------------------------------------------------------------- */

int kwadm_check_tenant(const char *tenant)
{
	char quoted[KWADM_QUOTE_MAX];

	if (kw_name_valid_tenant(tenant))
		return 0;
	kwadm_error("'%s' is not a valid tenant name: " RULE_TENANT,
		    kwadm_quote(tenant, quoted, sizeof(quoted)));
	return KWADM_EXIT_FAILURE;
}

/*
 * Split INPUT at its last SEP (a tenant holds neither '.' nor '_', so the
 * tenant is what follows the last one).  Returns the left part in a new
 * string and points *RIGHT into INPUT, or NULL without SEP or memory.
 */
static char *split_name(const char *input, char sep, const char **right)
{
	const char *at = strrchr(input, sep);

	if (at == NULL)
		return NULL;
	*right = at + 1;
	return strndup(input, (size_t)(at - input));
}

/* Say which part of the user name INPUT breaks which rule. */
static void explain_user(const struct kwadm *ctx, const char *input,
			 const char *default_tenant)
{
	char quoted[KWADM_QUOTE_MAX];
	const char *tenant = NULL;
	char *user;

	kwadm_quote(input, quoted, sizeof(quoted));
	user = split_name(input, ctx->cfg.separator, &tenant);
	if (tenant == NULL && (default_tenant == NULL || *default_tenant == 0))
		kwadm_error("'%s' is not a valid user name: write it as "
			    "USER%cTENANT (no default tenant is set)",
			    quoted, ctx->cfg.separator);
	else if (!kw_name_valid_user(user != NULL ? user : input))
		kwadm_error("'%s' is not a valid user name: " RULE_USER,
			    quoted);
	else if (tenant != NULL && !kw_name_valid_tenant(tenant))
		kwadm_error("'%s' is not a valid user name: in the tenant "
			    "part, " RULE_TENANT,
			    quoted);
	else
		kwadm_error("'%s' is not a valid user name", quoted);
	free(user);
}

int kwadm_parse_user(const struct kwadm *ctx, const char *input,
		     const char *default_tenant, struct kw_name *out)
{
	if (default_tenant == NULL)
		default_tenant = ctx->cfg.default_tenant;
	if (default_tenant != NULL && *default_tenant == '\0')
		default_tenant = NULL;
	if (kw_name_parse(input, ctx->cfg.separator, default_tenant, out) == 0)
		return 0;
	explain_user(ctx, input, default_tenant);
	return KWADM_EXIT_FAILURE;
}

int kwadm_parse_role(const struct kwadm *ctx, const char *input, char *role_out,
		     char *tenant_out)
{
	char quoted[KWADM_QUOTE_MAX];
	const char *tenant = NULL;
	const char *dflt = ctx->cfg.default_tenant;
	char *role;
	int rc = KWADM_EXIT_FAILURE;

	kwadm_quote(input, quoted, sizeof(quoted));
	role = split_name(input, ctx->cfg.separator, &tenant);
	if (tenant == NULL && dflt != NULL && *dflt != '\0')
		tenant = dflt;
	if (tenant == NULL)
		kwadm_error("'%s' is not a valid role name: write it as "
			    "ROLE%cTENANT (no default tenant is set)",
			    quoted, ctx->cfg.separator);
	else if (!kw_name_valid_role(role != NULL ? role : input))
		kwadm_error("'%s' is not a valid role name: " RULE_ROLE,
			    quoted);
	else if (!kw_name_valid_tenant(tenant))
		kwadm_error("'%s' is not a valid role name: in the tenant "
			    "part, " RULE_TENANT,
			    quoted);
	else
		rc = 0;
	if (rc == 0) {
		snprintf(role_out, KW_ROLE_MAX + 1, "%s",
			 role != NULL ? role : input);
		snprintf(tenant_out, KW_TENANT_MAX + 1, "%s", tenant);
	}
	free(role);
	return rc;
}

int kwadm_check_text(const char *what, const char *text)
{
	if (strlen(text) > KW_DISPLAY_MAX) {
		kwadm_error("the %s is longer than %d bytes", what,
			    KW_DISPLAY_MAX);
		return KWADM_EXIT_FAILURE;
	}
	if (!kwadm_text_valid(text)) {
		kwadm_error("the %s must be UTF-8 text without control "
			    "characters",
			    what);
		return KWADM_EXIT_FAILURE;
	}
	return 0;
}

/* ---- passwords ---------------------------------------------------------- */

/* Read one line from the terminal FD without echo. */
static ssize_t read_tty_line(int fd, char *buf, size_t bufsz)
{
	struct termios saved, quiet;
	size_t len = 0;
	ssize_t n = 0;
	bool restore = false;

	if (tcgetattr(fd, &saved) == 0) {
		quiet = saved;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		restore = tcsetattr(fd, TCSAFLUSH, &quiet) == 0;
	}
	fputs("Password: ", stderr);
	while (len < bufsz) {
		n = read(fd, buf + len, 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0 || buf[len] == '\n')
			break;
		len++;
	}
	if (restore)
		tcsetattr(fd, TCSAFLUSH, &saved);
	fputc('\n', stderr);
	return n < 0 ? -1 : (ssize_t)len;
}

static ssize_t read_all(int fd, char *buf, size_t bufsz)
{
	size_t len = 0;
	ssize_t n;

	while (len < bufsz) {
		n = read(fd, buf + len, bufsz - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		len += (size_t)n;
	}
	return (ssize_t)len;
}

int kwadm_read_password_file(const char *path, char *buf, size_t bufsz)
{
	bool from_stdin = strcmp(path, "-") == 0;
	const char *what = from_stdin ? "standard input" : path;
	int fd, saved_errno;
	ssize_t n;
	size_t len;

	fd = from_stdin ? STDIN_FILENO
			: open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		kwadm_error("cannot open the password file '%s': %s", path,
			    strerror(errno));
		return KWADM_EXIT_FAILURE;
	}
	/* One byte more than a password may have tells a too long one. */
	if (isatty(fd))
		n = read_tty_line(fd, buf, bufsz);
	else
		n = read_all(fd, buf, bufsz);
	saved_errno = errno;
	if (!from_stdin)
		close(fd);
	if (n < 0) {
		kwadm_error("cannot read the password from '%s': %s", what,
			    strerror(saved_errno));
		goto fail;
	}
	len = (size_t)n;
	if (len == bufsz) {
		kwadm_error("the password in '%s' is longer than %zu bytes",
			    what, bufsz - 1);
		goto fail;
	}
	if (len > 0 && buf[len - 1] == '\n')
		len--;
	buf[len] = '\0';
	if (memchr(buf, '\n', len) != NULL || strlen(buf) != len) {
		kwadm_error("the password in '%s' must be one line of text",
			    what);
		goto fail;
	}
	if (len == 0) {
		kwadm_error("the password in '%s' is empty", what);
		goto fail;
	}
	return 0;
fail:
	kw_wipe(buf, bufsz);
	return KWADM_EXIT_FAILURE;
}

/* True if S has a lowercase letter, an uppercase letter and a digit. */
static bool has_three_classes(const char *s)
{
	bool lower = false, upper = false, digit = false;

	for (; *s != '\0'; s++) {
		lower |= *s >= 'a' && *s <= 'z';
		upper |= *s >= 'A' && *s <= 'Z';
		digit |= *s >= '0' && *s <= '9';
	}
	return lower && upper && digit;
}

int kwadm_generate_password(char *buf, size_t bufsz)
{
	const size_t n_symbols = sizeof(password_alphabet) - 1;
	/* The largest multiple of n_symbols in a byte: no modulo bias. */
	const unsigned int limit = 256 - 256 % n_symbols;
	unsigned char random[64];
	size_t len, i;
	ssize_t n;

	if (bufsz <= KWADM_GENERATED_PASSWORD_LEN)
		return KWADM_EXIT_FAILURE;
	do {
		len = 0;
		while (len < KWADM_GENERATED_PASSWORD_LEN) {
			n = getrandom(random, sizeof(random), 0);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0) {
				kwadm_error("cannot get random bytes: %s",
					    strerror(errno));
				kw_wipe(buf, bufsz);
				return KWADM_EXIT_FAILURE;
			}
			for (i = 0; i < (size_t)n &&
				    len < KWADM_GENERATED_PASSWORD_LEN;
			     i++)
				if (random[i] < limit)
					buf[len++] =
						password_alphabet[random[i] %
								  n_symbols];
		}
		buf[len] = '\0';
		/* Redrawing keeps the choice uniform among the accepted. */
	} while (!has_three_classes(buf));
	kw_wipe(random, sizeof(random));
	return 0;
}

/* ---- connection --------------------------------------------------------- */

int kwadm_prepare_user(struct kwadm *ctx, const char *input,
		       struct kw_name *name)
{
	int rc;

	rc = kwadm_load_config(ctx);
	if (rc == 0)
		rc = kwadm_parse_user(ctx, input, NULL, name);
	if (rc == 0)
		rc = kwadm_connect(ctx);
	return rc;
}

int kwadm_load_master_key(const struct kwadm *ctx, struct kw_master_key *key)
{
	char err[KW_CONFIG_ERROR_MAX] = "";
	int rc;

	rc = kw_master_key_load(ctx->cfg.master_key_file, key, err,
				sizeof(err));
	if (rc == 0)
		return KWADM_EXIT_OK;
	kwadm_error("cannot use the master key: %s%s",
		    err[0] != '\0' ? err : strerror(rc),
		    rc == ENOENT ? " ('kwadm directory init' makes one)" : "");
	return KWADM_EXIT_FAILURE;
}

int kwadm_connect(struct kwadm *ctx)
{
	char password[KW_SECRET_MAX + 1];
	int rc;

	if (ctx->dir != NULL)
		return 0;
	if (ctx->admin == NULL) {
		rc = kw_dir_open(&ctx->cfg, KW_DIR_AS_ROOT, NULL, NULL,
				 &ctx->dir);
	} else {
		if (kwadm_read_password_file(ctx->password_file, password,
					     sizeof(password)) != 0)
			return KWADM_EXIT_FAILURE;
		rc = kw_dir_open(&ctx->cfg, KW_DIR_AS_USER, &ctx->admin_name,
				 password, &ctx->dir);
		kw_wipe(password, sizeof(password));
	}
	if (rc == 0)
		return 0;
	kwadm_dir_failed(ctx, rc, NULL, NULL);
	kw_dir_free(ctx->dir);
	ctx->dir = NULL;
	return KWADM_EXIT_FAILURE;
}

/* ---- dispatch ----------------------------------------------------------- */

static const struct kwadm_group *find_group(const char *name)
{
	size_t i;

	for (i = 0; groups[i] != NULL; i++)
		if (strcmp(groups[i]->name, name) == 0)
			return groups[i];
	return NULL;
}

static const struct kwadm_command *find_command(const struct kwadm_group *g,
						const char *name)
{
	const struct kwadm_command *cmd;

	for (cmd = g->commands; cmd->name != NULL; cmd++)
		if (strcmp(cmd->name, name) == 0)
			return cmd;
	return NULL;
}

static bool is_help(const char *arg)
{
	return strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0 ||
	       strcmp(arg, "help") == 0;
}

/* "kwadm help [GROUP [COMMAND]]" */
static int run_help(int argc, char **argv)
{
	char quoted[KWADM_QUOTE_MAX];
	const struct kwadm_group *group;
	const struct kwadm_command *cmd;

	if (argc < 2)
		return help_top();
	group = find_group(argv[1]);
	if (group == NULL)
		return usage_error_top(
			"", "no help on '%s': no such command",
			kwadm_quote(argv[1], quoted, sizeof(quoted)));
	if (argc < 3)
		return help_group(group);
	cmd = find_command(group, argv[2]);
	if (cmd == NULL)
		return usage_error_top(
			"", "no help on '%s %s': no such command", group->name,
			kwadm_quote(argv[2], quoted, sizeof(quoted)));
	return kwadm_help_command(cmd);
}

/* ARGV[0] is the group's name. */
static int run_group(struct kwadm *ctx, int argc, char **argv)
{
	char quoted[KWADM_QUOTE_MAX];
	char hint[64];
	const struct kwadm_group *group;
	const struct kwadm_command *cmd;

	if (strcmp(argv[0], "help") == 0)
		return run_help(argc, argv);
	group = find_group(argv[0]);
	if (group == NULL)
		return usage_error_top(
			"", "unknown command '%s'",
			kwadm_quote(argv[0], quoted, sizeof(quoted)));
	snprintf(hint, sizeof(hint), "%s ", group->name);
	if (argc >= 2 && is_help(argv[1]))
		return help_group(group);
	if (group->default_command != NULL && (argc < 2 || argv[1][0] == '-')) {
		/* the group's name stands where getopt expects argv[0] */
		cmd = find_command(group, group->default_command);
		optind = 0;
		return cmd->run(ctx, cmd, argc, argv);
	}
	if (argc < 2)
		return usage_error_top(hint, "missing %s command", group->name);
	cmd = find_command(group, argv[1]);
	if (cmd == NULL)
		return usage_error_top(
			hint, "unknown %s command '%s'", group->name,
			kwadm_quote(argv[1], quoted, sizeof(quoted)));
	optind = 0; /* a fresh getopt_long scan for the subcommand */
	return cmd->run(ctx, cmd, argc - 1, argv + 1);
}

static const struct option global_options[] = {
	{"config", required_argument, NULL, 'c'},
	{"option", required_argument, NULL, 'o'},
	{"json", no_argument, NULL, 'j'},
	{"admin", required_argument, NULL, 'U'},
	{"password-file", required_argument, NULL, 'P'},
	{"quiet", no_argument, NULL, 'q'},
	{"help", no_argument, NULL, 'h'},
	{"version", no_argument, NULL, 'V'},
	{NULL, 0, NULL, 0},
};

static int add_override(struct kwadm *ctx, const char *arg)
{
	const char **grown;
	char quoted[KWADM_QUOTE_MAX];

	if (strchr(arg, '=') == NULL || *arg == '=')
		return usage_error_top(
			"", "-o '%s': write it as NAME=VALUE",
			kwadm_quote(arg, quoted, sizeof(quoted)));
	grown = realloc(ctx->overrides,
			(ctx->n_overrides + 1) * sizeof(*grown));
	if (grown == NULL) {
		kwadm_error("out of memory");
		return KWADM_EXIT_FAILURE;
	}
	ctx->overrides = grown;
	ctx->overrides[ctx->n_overrides++] = arg;
	return 0;
}

/*
 * Parse the global options up to the command.  Returns -1 to go on, or
 * the exit status (after --help or --version, or on an error).
 */
static int parse_global(struct kwadm *ctx, int argc, char **argv)
{
	char quoted[KWADM_QUOTE_MAX];
	int c, rc;

	while ((c = getopt_long(argc, argv, "+:c:o:jU:qhV", global_options,
				NULL)) != -1) {
		switch (c) {
		case 'c':
			ctx->config_path = optarg;
			break;
		case 'o':
			rc = add_override(ctx, optarg);
			if (rc != 0)
				return rc;
			break;
		case 'j':
			ctx->json = true;
			break;
		case 'U':
			ctx->admin = optarg;
			break;
		case 'P':
			ctx->password_file = optarg;
			break;
		case 'q':
			ctx->quiet = true;
			break;
		case 'h':
			return help_top();
		case 'V':
			printf("kwadm (%s) %s\n", PACKAGE_NAME,
			       PACKAGE_VERSION);
			return KWADM_EXIT_OK;
		case ':':
			return usage_error_top("", "option '%s' needs a value",
					       kwadm_quote(argv[optind - 1],
							   quoted,
							   sizeof(quoted)));
		default:
			if (optopt != 0 &&
			    strncmp(argv[optind - 1], "--", 2) != 0)
				snprintf(quoted, sizeof(quoted), "-%c", optopt);
			else
				kwadm_quote(argv[optind - 1], quoted,
					    sizeof(quoted));
			return usage_error_top("", "unknown option '%s'",
					       quoted);
		}
	}
	if ((ctx->admin == NULL) != (ctx->password_file == NULL))
		return usage_error_top("", "--admin and --password-file go "
					   "together");
	if (optind >= argc)
		return usage_error_top("", "missing command");
	return -1;
}

int main(int argc, char **argv)
{
	struct kwadm ctx;
	int rc;

	memset(&ctx, 0, sizeof(ctx));
	opterr = 0; /* kwadm words its own errors */
	kw_log_open("kwadm", KW_LOG_STDERR, LOG_AUTHPRIV);
	kw_log_set_level(LOG_WARNING);

	rc = parse_global(&ctx, argc, argv);
	if (rc < 0) {
		if (ctx.quiet)
			kw_log_set_level(LOG_ERR);
		rc = run_group(&ctx, argc - optind, argv + optind);
	}

	kw_dir_free(ctx.dir);
	if (ctx.config_loaded)
		kw_config_free(&ctx.cfg);
	free(ctx.overrides);
	if (fflush(stdout) != 0 && rc == KWADM_EXIT_OK) {
		kwadm_error("cannot write the output: %s", strerror(errno));
		rc = KWADM_EXIT_FAILURE;
	}
	return rc;
}
