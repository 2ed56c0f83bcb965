/*
 * kw_config.h - keyward.conf: one table of settings, one loader.
 *
 * The file uses libconfig syntax and is read by keywardd and kwadm.  Every
 * setting is described once, in the table in kw_config.c (name, type,
 * default, range, help); the same setter serves the file and kwadm's
 * "-o name=value" overrides.  Errors name the file, the line and the
 * setting.  This file depends on nothing else of keyward.
 *
 * Example:
 *
 *	directory: {
 *		uri = [ "ldaps://ldap1.example.net", "ldaps://ldap2.example.net"
 *]; base = "o=keyward"; bind_dn = "cn=keywardd,ou=system,o=keyward";
 *		bind_password_file = "/etc/keyward/bind.secret";
 *		ca_file = "/etc/keyward/ca.pem";
 *	};
 */
#ifndef KW_CONFIG_H
#define KW_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define KW_CONFIG_DEFAULT_PATH "/etc/keyward/keyward.conf"
#define KW_CONFIG_ERROR_MAX 512
#define KW_CONFIG_MAX_URIS 8
#define KW_CONFIG_MAX_FILE_SIZE (256 * 1024)
#define KW_SECRET_MAX 1024

struct kw_config {
	char *path; /* the file this came from, or NULL for defaults */

	/* directory.* */
	char *uris[KW_CONFIG_MAX_URIS]; /* directory.uri: tried in order */
	size_t n_uris;
	char *base_dn;            /* directory.base */
	char *bind_dn;            /* directory.bind_dn: keywardd's identity */
	char *bind_password_file; /* directory.bind_password_file */
	char *ca_file;            /* directory.ca_file */
	bool starttls;            /* directory.starttls, for ldap:// URIs */
	int connect_timeout_ms;   /* directory.connect_timeout_ms */
	int op_timeout_ms;        /* directory.op_timeout_ms */
	char *admin_uri;          /* directory.admin_uri: ldapi for root */
	char *db_directory;       /* directory.db_directory: init only */
	long db_max_size_mb;      /* directory.db_max_size_mb: init only */

	/* tenants.* */
	char separator;       /* tenants.separator: between user, tenant */
	char *default_tenant; /* tenants.default: for plain "alice" */
	long uid_min;         /* tenants.uid_min: first uid of all */
	long uid_range;       /* tenants.uid_range: uids per tenant */
	long uid_max;         /* tenants.uid_max: last uid of all */

	/* keywardd.* */
	char *socket_path; /* keywardd.socket */
	int workers;       /* keywardd.workers */
	int cache_ttl_s;   /* keywardd.cache_ttl_s */
	char *log_level;   /* keywardd.log_level */

	/* lockout.* (docs/security-model.md explains the model) */
	int lock_window_s;          /* lockout.window_s */
	int lock_time_s;            /* lockout.lock_s */
	int password_user_limit;    /* lockout.password_user_limit */
	int password_address_limit; /* lockout.password_address_limit */
	int code_user_limit;        /* lockout.code_user_limit */
	int code_address_limit;     /* lockout.code_address_limit */

	/* keys.* */
	char *master_key_file; /* keys.master_key_file */

	/* audit.* */
	bool audit_enabled;       /* audit.enabled */
	char *audit_spool_dir;    /* audit.spool_directory */
	bool audit_sync;          /* audit.sync */
	int audit_max_delay_s;    /* audit.max_delay_s; 0: deliver at once */
	int audit_quiet_ms;       /* audit.quiet_ms */
	int audit_retention_days; /* audit.retention_days; 0: keep */

	/* mfa.* */
	char *mfa_algorithm; /* mfa.algorithm: sha1, sha256, sha512 */
	int mfa_digits;      /* mfa.digits */
	int mfa_period_s;    /* mfa.period_s */
	int mfa_window;      /* mfa.window: steps either way */
	char *mfa_issuer;    /* mfa.issuer: "" for the tenant's name */
};

/* Fill CFG with the built-in defaults.  Returns 0 or ENOMEM. */
int kw_config_init(struct kw_config *cfg);

/*
 * Read PATH over the defaults in CFG.  Returns 0, or an errno value with
 * ERR (KW_CONFIG_ERROR_MAX bytes) saying "FILE:LINE: setting: problem".
 * ENOENT is returned for a missing file; callers treat a missing default
 * file as "use defaults" and a missing named file as an error.
 * On error CFG is left as it was.
 */
int kw_config_load(struct kw_config *cfg, const char *path, char *err,
		   size_t errlen);

/*
 * Set the setting called NAME (e.g. "directory.op_timeout_ms") from its
 * text form VALUE, with the same checks as the file.  A list setting
 * takes a comma-separated VALUE.  Returns 0 or EINVAL/ERANGE/ENOENT with
 * ERR filled.
 */
int kw_config_set(struct kw_config *cfg, const char *name, const char *value,
		  char *err, size_t errlen);

/* Release everything CFG owns; CFG may be NULL. */
void kw_config_free(struct kw_config *cfg);

/* Print the table of settings (name, type, default, range, help) to FP. */
void kw_config_describe(FILE *fp);

/*
 * Read a secret from PATH into BUF (size BUFSZ), without a trailing
 * newline.  The file must be a regular file owned by root (uid 0) with no
 * group or other permission bits, opened without following links.
 * Returns 0, or an errno value with ERR saying why (e.g. "mode 0644: must
 * not be readable by group or others").  BUF is wiped on failure.
 */
int kw_config_read_secret(const char *path, char *buf, size_t bufsz, char *err,
			  size_t errlen);

#endif
