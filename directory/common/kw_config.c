/*
 * kw_config.c - keyward.conf: one table of settings, one loader.
 *
 * Every setting is one row of SETTINGS below.  The defaults are applied
 * through the same setters as the file and kwadm's "-o name=value", so a
 * default can never hold a value that the file would refuse.  Loading and
 * setting work on a copy that replaces the caller's configuration only
 * when every check has passed.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <libconfig.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kw_config.h"
#include "kw_log.h"
#include "kw_secret.h"

/* sockaddr_un.sun_path holds 108 bytes including the NUL. */
#define KW_SOCKET_PATH_MAX 107
#define KW_UID_LIMIT 2147483647L
#define KW_WHY_MAX 256

enum setting_type {
	SETTING_STRING,
	SETTING_LIST, /* only directory.uri: stored in uris[] and n_uris */
	SETTING_BOOL,
	SETTING_INT,
	SETTING_LONG,
	SETTING_CHAR,
};

/* A check returns 0, or EINVAL with WHY saying what is wrong. */
typedef int (*setting_check)(const char *value, char *why, size_t whylen);

struct setting {
	const char *name;
	enum setting_type type;
	size_t offset;
	const char *default_text; /* NULL: derived (see derive_bind_dn) */
	long min, max;            /* numbers: range; lists: max items */
	setting_check check;      /* strings, chars and list items */
	const char *help;
};

static int check_uri(const char *value, char *why, size_t whylen);
static int check_not_empty(const char *value, char *why, size_t whylen);
static int check_absolute(const char *value, char *why, size_t whylen);
static int check_absolute_or_empty(const char *value, char *why, size_t whylen);
static int check_separator(const char *value, char *why, size_t whylen);
static int check_tenant_or_empty(const char *value, char *why, size_t whylen);
static int check_socket(const char *value, char *why, size_t whylen);
static int check_log_level(const char *value, char *why, size_t whylen);
static int check_algorithm(const char *value, char *why, size_t whylen);

#define FIELD(member) offsetof(struct kw_config, member)

static const struct setting settings[] = {
	{"directory.uri", SETTING_LIST, FIELD(uris), "ldapi:///", 1,
	 KW_CONFIG_MAX_URIS, check_uri,
	 "directory servers, tried in order (ldap://, ldaps://, ldapi://)"},
	{"directory.base", SETTING_STRING, FIELD(base_dn), "o=keyward", 0, 0,
	 check_not_empty, "DN above all tenants"},
	{"directory.bind_dn", SETTING_STRING, FIELD(bind_dn), NULL, 0, 0,
	 check_not_empty,
	 "keywardd's own identity; follows directory.base unless set"},
	{"directory.bind_password_file", SETTING_STRING,
	 FIELD(bind_password_file), SYSCONFDIR "/keyward/bind.secret", 0, 0,
	 check_absolute, "root-owned file (mode 0600) with bind_dn's password"},
	{"directory.ca_file", SETTING_STRING, FIELD(ca_file), "", 0, 0,
	 check_absolute_or_empty,
	 "CA certificates for TLS; empty: the system's store"},
	{"directory.starttls", SETTING_BOOL, FIELD(starttls), "true", 0, 0,
	 NULL, "require StartTLS on ldap:// URIs"},
	{"directory.connect_timeout_ms", SETTING_INT, FIELD(connect_timeout_ms),
	 "3000", 100, 60000, NULL, "time allowed to connect to one server"},
	{"directory.op_timeout_ms", SETTING_INT, FIELD(op_timeout_ms), "5000",
	 100, 300000, NULL, "time allowed for one directory operation"},
	{"directory.admin_uri", SETTING_STRING, FIELD(admin_uri), "ldapi:///",
	 0, 0, check_uri, "where root reaches cn=config (kwadm directory)"},
	{"directory.db_directory", SETTING_STRING, FIELD(db_directory),
	 "/var/lib/ldap/keyward", 0, 0, check_absolute,
	 "database directory created by kwadm directory init"},
	{"directory.db_max_size_mb", SETTING_LONG, FIELD(db_max_size_mb),
	 "1024", 16, 1048576, NULL, "size limit of that database, in MiB"},
	{"tenants.separator", SETTING_CHAR, FIELD(separator), "@", 0, 0,
	 check_separator, "between user and tenant: one of @ % +"},
	{"tenants.default", SETTING_STRING, FIELD(default_tenant), "", 0, 0,
	 check_tenant_or_empty, "tenant of a name given without one"},
	{"tenants.uid_min", SETTING_LONG, FIELD(uid_min), "1000000", 1,
	 KW_UID_LIMIT, NULL, "first uid given to any tenant"},
	{"tenants.uid_range", SETTING_LONG, FIELD(uid_range), "100000", 1,
	 KW_UID_LIMIT, NULL, "uids reserved for each tenant"},
	{"tenants.uid_max", SETTING_LONG, FIELD(uid_max), "2000000000", 1,
	 KW_UID_LIMIT, NULL, "last uid given to any tenant"},
	{"keywardd.socket", SETTING_STRING, FIELD(socket_path),
	 RUNSTATEDIR "/keyward/keywardd.sock", 0, 0, check_socket,
	 "keywardd's UNIX socket (absolute, at most 107 bytes)"},
	{"keywardd.workers", SETTING_INT, FIELD(workers), "8", 1, 256, NULL,
	 "threads answering requests"},
	{"keywardd.cache_ttl_s", SETTING_INT, FIELD(cache_ttl_s), "5", 0, 60,
	 NULL,
	 "seconds a login's account check may use what its password check "
	 "found; 0: never"},
	{"keywardd.log_level", SETTING_STRING, FIELD(log_level), "info", 0, 0,
	 check_log_level,
	 "emerg, alert, crit, err, warning, notice, info or debug"},
	{"lockout.window_s", SETTING_INT, FIELD(lock_window_s), "900", 60,
	 86400, NULL, "seconds over which failed attempts are counted"},
	{"lockout.lock_s", SETTING_INT, FIELD(lock_time_s), "900", 60, 86400,
	 NULL, "seconds a lock holds before it expires by itself"},
	{"lockout.password_user_limit", SETTING_INT, FIELD(password_user_limit),
	 "20", 1, 1000, NULL,
	 "failed passwords of one user per window before it is locked"},
	{"lockout.password_address_limit", SETTING_INT,
	 FIELD(password_address_limit), "10", 1, 100000, NULL,
	 "failed passwords from one address per window and tenant"},
	{"lockout.code_user_limit", SETTING_INT, FIELD(code_user_limit), "10",
	 1, 1000, NULL, "failed one-time codes of one user per window"},
	{"lockout.code_address_limit", SETTING_INT, FIELD(code_address_limit),
	 "5", 1, 100000, NULL,
	 "failed one-time codes from one address per window and tenant"},
	{"keys.master_key_file", SETTING_STRING, FIELD(master_key_file),
	 SYSCONFDIR "/keyward/master.key", 0, 0, check_absolute,
	 "root-owned file (mode 0600): the key that TOTP secrets and audit "
	 "chains are keyed from"},
	{"audit.enabled", SETTING_BOOL, FIELD(audit_enabled), "true", 0, 0,
	 NULL, "record every decision in the tenant's log"},
	{"audit.spool_directory", SETTING_STRING, FIELD(audit_spool_dir),
	 LOCALSTATEDIR "/lib/keyward/spool", 0, 0, check_absolute,
	 "where records wait for the directory (mode 0700)"},
	{"audit.sync", SETTING_BOOL, FIELD(audit_sync), "true", 0, 0, NULL,
	 "make each record durable (fsync) before the login is answered"},
	{"audit.max_delay_s", SETTING_INT, FIELD(audit_max_delay_s), "5", 0,
	 3600, NULL,
	 "while logins keep coming, seconds a record may wait in the spool "
	 "before it goes to the directory; 0: at once"},
	{"audit.quiet_ms", SETTING_INT, FIELD(audit_quiet_ms), "50", 1, 60000,
	 NULL,
	 "milliseconds without a new record after which keywardd counts as "
	 "quiet and delivers what waits"},
	{"audit.retention_days", SETTING_INT, FIELD(audit_retention_days),
	 "365", 0, 36500, NULL,
	 "days kwadm audit purge keeps records by default; 0: keep all"},
	{"mfa.algorithm", SETTING_STRING, FIELD(mfa_algorithm), "sha1", 0, 0,
	 check_algorithm,
	 "TOTP hash: sha1 (what every app knows), sha256, sha512"},
	{"mfa.digits", SETTING_INT, FIELD(mfa_digits), "6", 6, 8, NULL,
	 "digits of a TOTP code"},
	{"mfa.period_s", SETTING_INT, FIELD(mfa_period_s), "30", 15, 300, NULL,
	 "seconds of one TOTP step"},
	{"mfa.window", SETTING_INT, FIELD(mfa_window), "1", 0, 10, NULL,
	 "TOTP steps accepted either side of now (clock skew)"},
	{"mfa.issuer", SETTING_STRING, FIELD(mfa_issuer), "", 0, 0, NULL,
	 "issuer shown in authenticator apps; empty: the tenant's display "
	 "name"},
};

#define N_SETTINGS (sizeof(settings) / sizeof(settings[0]))

static const struct setting *find_setting(const char *name)
{
	for (size_t i = 0; i < N_SETTINGS; i++) {
		if (strcmp(settings[i].name, name) == 0)
			return &settings[i];
	}
	return NULL;
}

static bool is_known_group(const char *name)
{
	size_t len = strlen(name);

	for (size_t i = 0; i < N_SETTINGS; i++) {
		if (strncmp(settings[i].name, name, len) == 0 &&
		    settings[i].name[len] == '.')
			return true;
	}
	return false;
}

static void *field_of(struct kw_config *cfg, const struct setting *s)
{
	return (char *)cfg + s->offset;
}

static void set_error(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void set_error(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* ---- checks of single values ---------------------------------------- */

static int check_uri(const char *value, char *why, size_t whylen)
{
	static const char *const schemes[] = {"ldap://", "ldaps://",
					      "ldapi://"};

	/* libldap splits a URI list at spaces and commas. */
	if (strpbrk(value, " \t,") != NULL) {
		set_error(why, whylen,
			  "\"%s\" must not contain spaces or commas", value);
		return EINVAL;
	}
	for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++) {
		if (strncasecmp(value, schemes[i], strlen(schemes[i])) == 0)
			return 0;
	}
	set_error(why, whylen,
		  "\"%s\" must start with ldap://, ldaps:// or ldapi://",
		  value);
	return EINVAL;
}

static int check_not_empty(const char *value, char *why, size_t whylen)
{
	if (value[0] != '\0')
		return 0;
	set_error(why, whylen, "must not be empty");
	return EINVAL;
}

static int check_algorithm(const char *value, char *why, size_t whylen)
{
	if (strcmp(value, "sha1") == 0 || strcmp(value, "sha256") == 0 ||
	    strcmp(value, "sha512") == 0)
		return 0;
	snprintf(why, whylen, "'%s' is not sha1, sha256 or sha512", value);
	return EINVAL;
}

static int check_absolute(const char *value, char *why, size_t whylen)
{
	if (value[0] == '/')
		return 0;
	set_error(why, whylen, "\"%s\" must be an absolute path", value);
	return EINVAL;
}

static int check_absolute_or_empty(const char *value, char *why, size_t whylen)
{
	if (value[0] == '\0')
		return 0;
	return check_absolute(value, why, whylen);
}

static int check_separator(const char *value, char *why, size_t whylen)
{
	if (strlen(value) == 1 && strchr("@%+", value[0]) != NULL)
		return 0;
	set_error(why, whylen, "\"%s\" must be one of @ %% +", value);
	return EINVAL;
}

/*
 * NOTE: this is the tenant pattern of kw_names.c, repeated here because
 * the common units depend on nothing else of keyward.  test_config checks
 * that both agree.
 */
static bool tenant_name_ok(const char *s)
{
	size_t len = strlen(s);

	if (len < 1 || len > 32)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = s[i];
		bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
		bool edge = i == 0 || i == len - 1;

		if (!alnum && (edge || c != '-'))
			return false;
	}
	return true;
}

static int check_tenant_or_empty(const char *value, char *why, size_t whylen)
{
	if (value[0] == '\0' || tenant_name_ok(value))
		return 0;
	set_error(why, whylen, "\"%s\" is not a valid tenant name", value);
	return EINVAL;
}

static int check_socket(const char *value, char *why, size_t whylen)
{
	int rc = check_absolute(value, why, whylen);

	if (rc != 0)
		return rc;
	if (strlen(value) <= KW_SOCKET_PATH_MAX)
		return 0;
	set_error(why, whylen, "path is %zu bytes long, at most %d fit",
		  strlen(value), KW_SOCKET_PATH_MAX);
	return EINVAL;
}

static int check_log_level(const char *value, char *why, size_t whylen)
{
	if (kw_log_level_parse(value, NULL) == 0)
		return 0;
	set_error(why, whylen,
		  "\"%s\" is not one of emerg, alert, crit, err, warning, "
		  "notice, info, debug",
		  value);
	return EINVAL;
}

/* Control bytes in a value end up in logs and LDAP URIs: none at all. */
static int check_text(const char *value, char *why, size_t whylen)
{
	for (const unsigned char *p = (const unsigned char *)value; *p; p++) {
		if (*p < 0x20 || *p == 0x7f) {
			set_error(why, whylen,
				  "must not contain control characters");
			return EINVAL;
		}
	}
	return 0;
}

/* ---- the setters: one per type, shared by file, text and defaults -- */

static int set_string(struct kw_config *cfg, const struct setting *s,
		      const char *value, char *why, size_t whylen)
{
	char **field = field_of(cfg, s);
	char *copy;
	int rc;

	rc = check_text(value, why, whylen);
	if (rc == 0 && s->check != NULL)
		rc = s->check(value, why, whylen);
	if (rc != 0)
		return rc;
	copy = strdup(value);
	if (copy == NULL) {
		set_error(why, whylen, "out of memory");
		return ENOMEM;
	}
	free(*field);
	*field = copy;
	return 0;
}

static int set_char(struct kw_config *cfg, const struct setting *s,
		    const char *value, char *why, size_t whylen)
{
	int rc = s->check(value, why, whylen);

	if (rc == 0)
		*(char *)field_of(cfg, s) = value[0];
	return rc;
}

static int set_list(struct kw_config *cfg, const struct setting *s,
		    const char *const *items, size_t n, char *why,
		    size_t whylen)
{
	char *copies[KW_CONFIG_MAX_URIS] = {NULL};
	size_t i;
	int rc = 0;

	/* An empty list would leave keywardd with nowhere to go. */
	if (n < (size_t)s->min || n > (size_t)s->max) {
		set_error(why, whylen, "%zu items, must be %ld to %ld", n,
			  s->min, s->max);
		return n == 0 ? EINVAL : ERANGE;
	}
	for (i = 0; i < n && rc == 0; i++) {
		rc = check_text(items[i], why, whylen);
		if (rc == 0)
			rc = s->check(items[i], why, whylen);
		if (rc == 0 && (copies[i] = strdup(items[i])) == NULL) {
			set_error(why, whylen, "out of memory");
			rc = ENOMEM;
		}
	}
	if (rc != 0) {
		for (i = 0; i < n; i++)
			free(copies[i]);
		return rc;
	}
	for (i = 0; i < cfg->n_uris; i++)
		free(cfg->uris[i]);
	memset(cfg->uris, 0, sizeof(cfg->uris));
	memcpy(cfg->uris, copies, n * sizeof(copies[0]));
	cfg->n_uris = n;
	return 0;
}

static int set_number(struct kw_config *cfg, const struct setting *s,
		      long long value, char *why, size_t whylen)
{
	if (value < s->min || value > s->max) {
		set_error(why, whylen, "%lld is out of range (%ld..%ld)", value,
			  s->min, s->max);
		return ERANGE;
	}
	if (s->type == SETTING_INT)
		*(int *)field_of(cfg, s) = (int)value;
	else
		*(long *)field_of(cfg, s) = (long)value;
	return 0;
}

static int set_bool(struct kw_config *cfg, const struct setting *s, bool value)
{
	*(bool *)field_of(cfg, s) = value;
	return 0;
}

/* ---- text values: defaults and "-o name=value" ---------------------- */

static int parse_number(const char *text, long long *value_out, char *why,
			size_t whylen)
{
	const char *digits = text[0] == '-' ? text + 1 : text;
	char *end;
	long long v;

	if (!isdigit((unsigned char)digits[0])) {
		set_error(why, whylen, "\"%s\" is not an integer", text);
		return EINVAL;
	}
	errno = 0;
	v = strtoll(text, &end, 10);
	if (*end != '\0') {
		set_error(why, whylen, "\"%s\" is not an integer", text);
		return EINVAL;
	}
	if (errno == ERANGE) {
		set_error(why, whylen, "\"%s\" is out of range", text);
		return ERANGE;
	}
	*value_out = v;
	return 0;
}

static int parse_bool(const char *text, bool *value_out, char *why,
		      size_t whylen)
{
	static const char *const yes[] = {"true", "yes", "on", "1"};
	static const char *const no[] = {"false", "no", "off", "0"};

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcasecmp(text, yes[i]) == 0) {
			*value_out = true;
			return 0;
		}
		if (strcasecmp(text, no[i]) == 0) {
			*value_out = false;
			return 0;
		}
	}
	set_error(why, whylen, "\"%s\" is not true or false", text);
	return EINVAL;
}

/* Split "a, b,c" at commas; items are trimmed and must not be empty. */
static int set_list_text(struct kw_config *cfg, const struct setting *s,
			 const char *text, char *why, size_t whylen)
{
	const char *items[KW_CONFIG_MAX_URIS + 1];
	char *copy, *p;
	size_t n = 0;
	int rc = 0;

	copy = strdup(text);
	if (copy == NULL) {
		set_error(why, whylen, "out of memory");
		return ENOMEM;
	}
	p = copy;
	for (;;) {
		char *comma = strchr(p, ',');
		char *end;

		if (comma != NULL)
			*comma = '\0';
		while (*p == ' ' || *p == '\t')
			p++;
		end = p + strlen(p);
		while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
			*--end = '\0';
		if (*p == '\0') {
			set_error(why, whylen, "empty item in list");
			rc = EINVAL;
			break;
		}
		if (n == KW_CONFIG_MAX_URIS) {
			set_error(why, whylen, "more than %d items",
				  KW_CONFIG_MAX_URIS);
			rc = ERANGE;
			break;
		}
		items[n++] = p;
		if (comma == NULL)
			break;
		p = comma + 1;
	}
	if (rc == 0)
		rc = set_list(cfg, s, items, n, why, whylen);
	free(copy);
	return rc;
}

static int set_text(struct kw_config *cfg, const struct setting *s,
		    const char *text, char *why, size_t whylen)
{
	long long number;
	bool flag;
	int rc;

	switch (s->type) {
	case SETTING_STRING:
		return set_string(cfg, s, text, why, whylen);
	case SETTING_CHAR:
		return set_char(cfg, s, text, why, whylen);
	case SETTING_LIST:
		return set_list_text(cfg, s, text, why, whylen);
	case SETTING_BOOL:
		rc = parse_bool(text, &flag, why, whylen);
		return rc != 0 ? rc : set_bool(cfg, s, flag);
	case SETTING_INT:
	case SETTING_LONG:
		rc = parse_number(text, &number, why, whylen);
		return rc != 0 ? rc : set_number(cfg, s, number, why, whylen);
	}
	set_error(why, whylen, "unknown type");
	return EINVAL;
}

/* ---- whole configurations ------------------------------------------- */

static void free_fields(struct kw_config *cfg)
{
	for (size_t i = 0; i < N_SETTINGS; i++) {
		if (settings[i].type == SETTING_STRING) {
			char **field = field_of(cfg, &settings[i]);

			free(*field);
			*field = NULL;
		}
	}
	for (size_t i = 0; i < cfg->n_uris; i++)
		free(cfg->uris[i]);
	free(cfg->path);
	memset(cfg, 0, sizeof(*cfg));
}

void kw_config_free(struct kw_config *cfg)
{
	if (cfg != NULL)
		free_fields(cfg);
}

static int copy_config(struct kw_config *dst, const struct kw_config *src)
{
	*dst = *src;
	dst->path = NULL;
	memset(dst->uris, 0, sizeof(dst->uris));
	dst->n_uris = 0;
	for (size_t i = 0; i < N_SETTINGS; i++) {
		if (settings[i].type == SETTING_STRING)
			*(char **)field_of(dst, &settings[i]) = NULL;
	}

	if (src->path != NULL && (dst->path = strdup(src->path)) == NULL)
		goto fail;
	for (size_t i = 0; i < src->n_uris; i++) {
		if ((dst->uris[i] = strdup(src->uris[i])) == NULL)
			goto fail;
		dst->n_uris = i + 1;
	}
	for (size_t i = 0; i < N_SETTINGS; i++) {
		const char *from;
		char **to;

		if (settings[i].type != SETTING_STRING)
			continue;
		from = *(char *const *)((const char *)src + settings[i].offset);
		to = field_of(dst, &settings[i]);
		if (from != NULL && (*to = strdup(from)) == NULL)
			goto fail;
	}
	return 0;
fail:
	free_fields(dst);
	return ENOMEM;
}

static char *derive_bind_dn(const char *base)
{
	static const char prefix[] = "cn=keywardd,ou=system,";
	size_t len = sizeof(prefix) + strlen(base);
	char *dn = malloc(len);

	if (dn != NULL)
		snprintf(dn, len, "%s%s", prefix, base);
	return dn;
}

/*
 * directory.bind_dn follows directory.base while it holds the value
 * derived from the old base and was not itself set in the same step.
 */
static int follow_base(struct kw_config *cfg, const char *old_base,
		       bool bind_dn_set)
{
	char *old_derived, *new_derived;
	bool follows;

	if (bind_dn_set || strcmp(old_base, cfg->base_dn) == 0)
		return 0;
	old_derived = derive_bind_dn(old_base);
	if (old_derived == NULL)
		return ENOMEM;
	follows = strcmp(old_derived, cfg->bind_dn) == 0;
	free(old_derived);
	if (!follows)
		return 0;
	new_derived = derive_bind_dn(cfg->base_dn);
	if (new_derived == NULL)
		return ENOMEM;
	free(cfg->bind_dn);
	cfg->bind_dn = new_derived;
	return 0;
}

/* Checks across settings; WHY names the setting that is out of line. */
static int check_whole(const struct kw_config *cfg, char *why, size_t whylen)
{
	if (cfg->uid_min + cfg->uid_range > cfg->uid_max) {
		set_error(why, whylen,
			  "setting tenants.uid_range: uid_min + uid_range = "
			  "%ld exceeds uid_max = %ld",
			  cfg->uid_min + cfg->uid_range, cfg->uid_max);
		return EINVAL;
	}
	return 0;
}

int kw_config_init(struct kw_config *cfg)
{
	char why[KW_WHY_MAX];
	int rc;

	memset(cfg, 0, sizeof(*cfg));
	for (size_t i = 0; i < N_SETTINGS; i++) {
		if (settings[i].default_text == NULL)
			continue;
		rc = set_text(cfg, &settings[i], settings[i].default_text, why,
			      sizeof(why));
		if (rc != 0)
			goto fail;
	}
	cfg->bind_dn = derive_bind_dn(cfg->base_dn);
	if (cfg->bind_dn == NULL) {
		rc = ENOMEM;
		goto fail;
	}
	return 0;
fail:
	free_fields(cfg);
	return rc;
}

int kw_config_set(struct kw_config *cfg, const char *name, const char *value,
		  char *err, size_t errlen)
{
	const struct setting *s = name != NULL ? find_setting(name) : NULL;
	struct kw_config next;
	char why[KW_WHY_MAX];
	int rc;

	if (s == NULL) {
		set_error(err, errlen, "setting %s: unknown setting",
			  name != NULL ? name : "(null)");
		return ENOENT;
	}
	if (value == NULL) {
		set_error(err, errlen, "setting %s: no value", name);
		return EINVAL;
	}
	rc = copy_config(&next, cfg);
	if (rc != 0) {
		set_error(err, errlen, "setting %s: out of memory", name);
		return rc;
	}
	rc = set_text(&next, s, value, why, sizeof(why));
	if (rc != 0) {
		set_error(err, errlen, "setting %s: %s", name, why);
		goto fail;
	}
	rc = follow_base(&next, cfg->base_dn,
			 strcmp(name, "directory.bind_dn") == 0);
	if (rc != 0) {
		set_error(err, errlen, "setting %s: out of memory", name);
		goto fail;
	}
	rc = check_whole(&next, why, sizeof(why));
	if (rc != 0) {
		set_error(err, errlen, "%s", why);
		goto fail;
	}
	free_fields(cfg);
	*cfg = next;
	return 0;
fail:
	free_fields(&next);
	return rc;
}

/* ---- the file ------------------------------------------------------- */

struct load_state {
	const char *path;
	struct kw_config *cfg;
	unsigned int lines[N_SETTINGS]; /* where each setting was, or 0 */
	char *err;
	size_t errlen;
};

static int read_file(const char *path, char **text_out, char *err,
		     size_t errlen)
{
	struct stat st;
	char *text = NULL;
	size_t len = 0;
	int fd, rc = 0;

	*text_out = NULL;
	/* O_NONBLOCK: opening a FIFO must not hang before fstat sees it. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		rc = errno;
		set_error(err, errlen, "%s: %s", path, strerror(rc));
		return rc;
	}
	if (fstat(fd, &st) != 0) {
		rc = errno;
		set_error(err, errlen, "%s: %s", path, strerror(rc));
		goto done;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = EINVAL;
		set_error(err, errlen, "%s: not a regular file", path);
		goto done;
	}
	if (st.st_size > KW_CONFIG_MAX_FILE_SIZE) {
		rc = EFBIG;
		set_error(err, errlen, "%s: larger than %d bytes", path,
			  KW_CONFIG_MAX_FILE_SIZE);
		goto done;
	}
	text = malloc(KW_CONFIG_MAX_FILE_SIZE + 2);
	if (text == NULL) {
		rc = ENOMEM;
		set_error(err, errlen, "%s: out of memory", path);
		goto done;
	}
	/* The file may grow after fstat: the cap holds for what is read. */
	while (len <= KW_CONFIG_MAX_FILE_SIZE) {
		ssize_t n =
			read(fd, text + len, KW_CONFIG_MAX_FILE_SIZE + 1 - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = errno;
			set_error(err, errlen, "%s: %s", path, strerror(rc));
			goto done;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len > KW_CONFIG_MAX_FILE_SIZE) {
		rc = EFBIG;
		set_error(err, errlen, "%s: larger than %d bytes", path,
			  KW_CONFIG_MAX_FILE_SIZE);
		goto done;
	}
	text[len] = '\0';
	if (memchr(text, '\0', len) != NULL) {
		rc = EINVAL;
		set_error(err, errlen, "%s: contains a NUL byte", path);
		goto done;
	}
	*text_out = text;
	text = NULL;
done:
	free(text);
	close(fd);
	return rc;
}

/*
 * @include would read a second file past every check made on the first
 * (owner, size, type).  Refuse it on any line where it begins; one inside
 * a comment is refused too, which is harmless.
 */
static int refuse_include(const char *path, const char *text, char *err,
			  size_t errlen)
{
	unsigned int line = 1;
	const char *p = text;

	while (*p != '\0') {
		while (*p == ' ' || *p == '\t')
			p++;
		if (strncmp(p, "@include", 8) == 0) {
			set_error(err, errlen,
				  "%s:%u: @include is not supported", path,
				  line);
			return EINVAL;
		}
		p = strchr(p, '\n');
		if (p == NULL)
			break;
		p++;
		line++;
	}
	return 0;
}

/* A character that may appear in a libconfig setting name. */
static bool is_name_char(char c)
{
	return isalnum((unsigned char)c) || c == '_' || c == '-' || c == '*';
}

/* Skip a comment or a string at P, counting lines; NULL if neither. */
static const char *skip_inert(const char *p, unsigned int *line)
{
	if (*p == '#' || (p[0] == '/' && p[1] == '/'))
		return p + strcspn(p, "\n");
	if (p[0] == '/' && p[1] == '*') {
		for (p += 2; *p != '\0' && !(p[0] == '*' && p[1] == '/'); p++)
			*line += *p == '\n';
		return *p != '\0' ? p + 2 : p;
	}
	if (*p == '"') {
		for (p++; *p != '\0' && *p != '"'; p++) {
			if (*p == '\\' && p[1] != '\0')
				p++;
			*line += *p == '\n';
		}
		return *p != '\0' ? p + 1 : p;
	}
	return NULL;
}

/* Whether the integer literal TOKEN (LEN bytes) fits in libconfig's int. */
static bool integer_fits(const char *token, size_t len)
{
	char buf[64];
	const char *digits;
	long long v;
	char *end;

	if (len >= sizeof(buf))
		return false;
	memcpy(buf, token, len);
	buf[len] = '\0';
	digits = buf[0] == '-' || buf[0] == '+' ? buf + 1 : buf;
	if (buf[len - 1] == 'L')
		return true; /* a 64-bit literal: the range checks handle it */
	errno = 0;
	if (digits[0] == '0' && (digits[1] == 'x' || digits[1] == 'X')) {
		v = strtoll(buf, &end, 16);
	} else {
		if (strpbrk(buf, ".eE") != NULL)
			return true; /* a float: the type check refuses it */
		v = strtoll(buf, &end, 10);
	}
	return errno == 0 && *end == '\0' && v >= INT_MIN && v <= INT_MAX;
}

/*
 * libconfig 1.5 keeps an integer literal without the L suffix in 32 bits
 * and silently wraps a larger one (4294967396 is read as 100).  Every
 * setting of ours fits in 32 bits, so a literal that does not is refused
 * here, before libconfig sees it, naming its line and setting.
 */
static int refuse_wide_integers(const char *path, const char *text, char *err,
				size_t errlen)
{
	char group[64] = "", name[64] = "";
	unsigned int line = 1;
	const char *p = text, *next;
	int depth = 0;

	while (*p != '\0') {
		size_t len;

		if ((next = skip_inert(p, &line)) != NULL) {
			p = next;
			continue;
		}
		if (isalpha((unsigned char)*p) || *p == '*') {
			for (len = 0; is_name_char(p[len]); len++)
				;
			snprintf(name, sizeof(name), "%.*s", (int)len, p);
			p += len;
			continue;
		}
		if (isdigit((unsigned char)*p) ||
		    ((*p == '-' || *p == '+') &&
		     isdigit((unsigned char)p[1]))) {
			len = 1;
			while (isalnum((unsigned char)p[len]) ||
			       p[len] == '.' ||
			       ((p[len] == '-' || p[len] == '+') &&
				(p[len - 1] == 'e' || p[len - 1] == 'E')))
				len++;
			if (!integer_fits(p, len)) {
				set_error(err, errlen,
					  "%s:%u: setting %s%s%s: %.*s is out "
					  "of range",
					  path, line, group,
					  depth > 0 ? "." : "", name,
					  (int)(len > 40 ? 40 : len), p);
				return ERANGE;
			}
			p += len;
			continue;
		}
		if (*p == '{' && depth++ == 0)
			memcpy(group, name, sizeof(group));
		else if (*p == '}' && depth > 0 && --depth == 0)
			group[0] = '\0';
		line += *p == '\n';
		p++;
	}
	return 0;
}

/* The first name on LINE of TEXT, for libconfig's "duplicate" error. */
static void name_on_line(const char *text, unsigned int line, char *out,
			 size_t outsz)
{
	const char *p = text;
	size_t len;

	for (unsigned int i = 1; i < line && p != NULL; i++) {
		p = strchr(p, '\n');
		if (p != NULL)
			p++;
	}
	out[0] = '\0';
	if (p == NULL)
		return;
	p += strspn(p, " \t");
	for (len = 0; is_name_char(p[len]); len++)
		;
	snprintf(out, outsz, "%.*s", (int)len, p);
}

static const char *type_problem(enum setting_type type)
{
	switch (type) {
	case SETTING_STRING:
	case SETTING_CHAR:
		return "must be a string";
	case SETTING_LIST:
		return "must be a string or a list of strings";
	case SETTING_BOOL:
		return "must be true or false";
	case SETTING_INT:
	case SETTING_LONG:
		return "must be an integer";
	}
	return "has the wrong type";
}

/* Apply one libconfig value; WHY says what is wrong with it. */
static int apply_value(struct kw_config *cfg, const struct setting *s,
		       config_setting_t *value, char *why, size_t whylen)
{
	int type = config_setting_type(value);
	const char *items[KW_CONFIG_MAX_URIS];
	int n;

	switch (s->type) {
	case SETTING_STRING:
	case SETTING_CHAR:
		if (type != CONFIG_TYPE_STRING)
			break;
		if (s->type == SETTING_CHAR)
			return set_char(cfg, s,
					config_setting_get_string(value), why,
					whylen);
		return set_string(cfg, s, config_setting_get_string(value), why,
				  whylen);
	case SETTING_LIST:
		if (type == CONFIG_TYPE_STRING) {
			items[0] = config_setting_get_string(value);
			return set_list(cfg, s, items, 1, why, whylen);
		}
		if (type != CONFIG_TYPE_ARRAY && type != CONFIG_TYPE_LIST)
			break;
		n = config_setting_length(value);
		if (n > KW_CONFIG_MAX_URIS)
			return set_list(cfg, s, items, (size_t)n, why, whylen);
		for (int i = 0; i < n; i++) {
			config_setting_t *item =
				config_setting_get_elem(value, i);

			if (config_setting_type(item) != CONFIG_TYPE_STRING) {
				set_error(why, whylen, "item %d %s", i + 1,
					  type_problem(SETTING_STRING));
				return EINVAL;
			}
			items[i] = config_setting_get_string(item);
		}
		return set_list(cfg, s, items, (size_t)n, why, whylen);
	case SETTING_BOOL:
		if (type != CONFIG_TYPE_BOOL)
			break;
		return set_bool(cfg, s, config_setting_get_bool(value) != 0);
	case SETTING_INT:
	case SETTING_LONG:
		if (type != CONFIG_TYPE_INT && type != CONFIG_TYPE_INT64)
			break;
		return set_number(cfg, s, config_setting_get_int64(value), why,
				  whylen);
	}
	set_error(why, whylen, "%s", type_problem(s->type));
	return EINVAL;
}

static int load_group(struct load_state *st, config_setting_t *group)
{
	const char *group_name = config_setting_name(group);
	char why[KW_WHY_MAX];
	int n = config_setting_length(group);

	for (int i = 0; i < n; i++) {
		config_setting_t *member = config_setting_get_elem(group, i);
		unsigned int line = config_setting_source_line(member);
		const char *member_name = config_setting_name(member);
		char name[128];
		const struct setting *s;
		int rc;

		snprintf(name, sizeof(name), "%s.%s", group_name,
			 member_name != NULL ? member_name : "?");
		s = find_setting(name);
		if (s == NULL) {
			set_error(st->err, st->errlen,
				  "%s:%u: setting %s: unknown setting",
				  st->path, line, name);
			return EINVAL;
		}
		rc = apply_value(st->cfg, s, member, why, sizeof(why));
		if (rc != 0) {
			set_error(st->err, st->errlen, "%s:%u: setting %s: %s",
				  st->path, line, name, why);
			return rc;
		}
		st->lines[s - settings] = line;
	}
	return 0;
}

static int load_root(struct load_state *st, config_t *lc)
{
	config_setting_t *root = config_root_setting(lc);
	int n = config_setting_length(root);

	for (int i = 0; i < n; i++) {
		config_setting_t *group = config_setting_get_elem(root, i);
		unsigned int line = config_setting_source_line(group);
		const char *name = config_setting_name(group);
		int rc;

		if (name == NULL || !is_known_group(name)) {
			set_error(st->err, st->errlen,
				  "%s:%u: setting %s: unknown group (settings "
				  "live in directory, tenants, keywardd)",
				  st->path, line, name != NULL ? name : "?");
			return EINVAL;
		}
		if (config_setting_type(group) != CONFIG_TYPE_GROUP) {
			set_error(st->err, st->errlen,
				  "%s:%u: setting %s: must be a group "
				  "{ ... }",
				  st->path, line, name);
			return EINVAL;
		}
		rc = load_group(st, group);
		if (rc != 0)
			return rc;
	}
	return 0;
}

int kw_config_load(struct kw_config *cfg, const char *path, char *err,
		   size_t errlen)
{
	struct load_state st = {0};
	struct kw_config next;
	config_t lc;
	char *text = NULL;
	char why[KW_WHY_MAX];
	const struct setting *bind_dn;
	int rc;

	if (path == NULL) {
		set_error(err, errlen, "no configuration file given");
		return EINVAL;
	}
	rc = read_file(path, &text, err, errlen);
	if (rc != 0)
		return rc;
	rc = refuse_include(path, text, err, errlen);
	if (rc == 0)
		rc = refuse_wide_integers(path, text, err, errlen);
	if (rc != 0) {
		free(text);
		return rc;
	}
	rc = copy_config(&next, cfg);
	if (rc != 0) {
		set_error(err, errlen, "%s: out of memory", path);
		free(text);
		return rc;
	}

	config_init(&lc);
	if (config_read_string(&lc, text) != CONFIG_TRUE) {
		char name[64];

		rc = EINVAL;
		name_on_line(text, (unsigned int)config_error_line(&lc), name,
			     sizeof(name));
		if (name[0] != '\0' &&
		    strstr(config_error_text(&lc), "duplicate") != NULL)
			set_error(err, errlen, "%s:%d: setting %s: %s", path,
				  config_error_line(&lc), name,
				  config_error_text(&lc));
		else
			set_error(err, errlen, "%s:%d: %s", path,
				  config_error_line(&lc),
				  config_error_text(&lc));
		goto done;
	}
	st.path = path;
	st.cfg = &next;
	st.err = err;
	st.errlen = errlen;
	rc = load_root(&st, &lc);
	if (rc != 0)
		goto done;

	bind_dn = find_setting("directory.bind_dn");
	rc = follow_base(&next, cfg->base_dn,
			 st.lines[bind_dn - settings] != 0);
	if (rc != 0) {
		set_error(err, errlen, "%s: out of memory", path);
		goto done;
	}
	rc = check_whole(&next, why, sizeof(why));
	if (rc != 0) {
		/* Point at the last of the three uid settings in the file. */
		unsigned int line = 0;

		for (size_t i = 0; i < N_SETTINGS; i++) {
			if (strncmp(settings[i].name, "tenants.uid_", 12) ==
				    0 &&
			    st.lines[i] > line)
				line = st.lines[i];
		}
		set_error(err, errlen, "%s:%u: %s", path, line, why);
		goto done;
	}
	free(next.path);
	next.path = strdup(path);
	if (next.path == NULL) {
		rc = ENOMEM;
		set_error(err, errlen, "%s: out of memory", path);
		goto done;
	}
	free_fields(cfg);
	*cfg = next;
	memset(&next, 0, sizeof(next));
done:
	config_destroy(&lc);
	free_fields(&next);
	free(text);
	return rc;
}

/* ---- the table, for kwadm and the manual --------------------------- */

static const char *type_name(enum setting_type type)
{
	switch (type) {
	case SETTING_STRING:
		return "string";
	case SETTING_LIST:
		return "list";
	case SETTING_BOOL:
		return "bool";
	case SETTING_INT:
	case SETTING_LONG:
		return "integer";
	case SETTING_CHAR:
		return "char";
	}
	return "?";
}

void kw_config_describe(FILE *fp)
{
	for (size_t i = 0; i < N_SETTINGS; i++) {
		const struct setting *s = &settings[i];
		const char *def = s->default_text;

		if (def == NULL)
			def = "cn=keywardd,ou=system,<directory.base>";
		fprintf(fp, "%-30s %-8s default \"%s\"", s->name,
			type_name(s->type), def);
		if (s->type == SETTING_INT || s->type == SETTING_LONG)
			fprintf(fp, ", %ld..%ld", s->min, s->max);
		else if (s->type == SETTING_LIST)
			fprintf(fp, ", %ld..%ld items", s->min, s->max);
		fprintf(fp, "\n    %s\n", s->help);
	}
}

/* ---- secret files --------------------------------------------------- */

static int check_secret_file(const char *path, const struct stat *st,
			     size_t bufsz, char *err, size_t errlen)
{
	if (!S_ISREG(st->st_mode)) {
		set_error(err, errlen, "%s: not a regular file", path);
		return EINVAL;
	}
	if ((st->st_mode & (S_IRWXG | S_IRWXO)) != 0) {
		set_error(err, errlen,
			  "%s: mode %04o: must not be readable or writable "
			  "by group or others",
			  path, (unsigned int)(st->st_mode & 07777));
		return EPERM;
	}
	if (st->st_uid != 0) {
		set_error(err, errlen,
			  "%s: owned by uid %lu: must be owned by root", path,
			  (unsigned long)st->st_uid);
		return EPERM;
	}
	if (st->st_size < 0 || (unsigned long long)st->st_size >= bufsz) {
		set_error(err, errlen, "%s: larger than %zu bytes", path,
			  bufsz - 1);
		return EFBIG;
	}
	return 0;
}

/* Read at most BUFSZ - 1 bytes; EFBIG if there is more. */
static int read_secret_fd(int fd, const char *path, char *buf, size_t bufsz,
			  size_t *len_out, char *err, size_t errlen)
{
	size_t len = 0;

	while (len < bufsz) {
		ssize_t n = read(fd, buf + len, bufsz - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int rc = errno;

			set_error(err, errlen, "%s: %s", path, strerror(rc));
			return rc;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len >= bufsz) {
		set_error(err, errlen, "%s: larger than %zu bytes", path,
			  bufsz - 1);
		return EFBIG;
	}
	*len_out = len;
	return 0;
}

int kw_config_read_secret(const char *path, char *buf, size_t bufsz, char *err,
			  size_t errlen)
{
	struct stat st;
	size_t len = 0;
	int fd, rc;

	if (path == NULL || buf == NULL || bufsz < 2) {
		set_error(err, errlen, "secret: no file or no room");
		return EINVAL;
	}
	fd = open(path,
		  O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		rc = errno;
		if (rc == ELOOP)
			set_error(err, errlen,
				  "%s: is a symbolic link: must be the file "
				  "itself",
				  path);
		else
			set_error(err, errlen, "%s: %s", path, strerror(rc));
		goto done;
	}
	if (fstat(fd, &st) != 0) {
		rc = errno;
		set_error(err, errlen, "%s: %s", path, strerror(rc));
		goto done;
	}
	rc = check_secret_file(path, &st, bufsz, err, errlen);
	if (rc == 0)
		rc = read_secret_fd(fd, path, buf, bufsz, &len, err, errlen);
	if (rc != 0)
		goto done;

	if (len > 0 && buf[len - 1] == '\n')
		len--;
	buf[len] = '\0';
	if (len == 0) {
		rc = EINVAL;
		set_error(err, errlen, "%s: the secret is empty", path);
	} else if (memchr(buf, '\0', len) != NULL) {
		rc = EINVAL;
		set_error(err, errlen, "%s: the secret contains a NUL byte",
			  path);
	}
done:
	if (fd >= 0)
		close(fd);
	if (rc != 0)
		kw_wipe(buf, bufsz);
	return rc;
}
