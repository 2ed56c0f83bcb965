/*
 * kwd_conf.c - keywardd's configuration as reference-counted snapshots.
 *
 * A SIGHUP reads the file into a new snapshot and installs it only if
 * everything in it is valid; the old one is freed when the last request
 * that holds it is done.  Workers notice the new generation between two
 * requests and reopen their directory connections with it.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keywardd.h"
#include "kw_log.h"

static int apply_override(struct kw_config *cfg, const char *text, char *err,
			  size_t errlen)
{
	char name[128];
	const char *eq = strchr(text, '=');
	size_t n;

	if (eq == NULL || eq == text || (size_t)(eq - text) >= sizeof(name)) {
		snprintf(err, errlen, "-o %s: expected NAME=VALUE", text);
		return EINVAL;
	}
	n = (size_t)(eq - text);
	memcpy(name, text, n);
	name[n] = '\0';
	return kw_config_set(cfg, name, eq + 1, err, errlen);
}

static int read_file(const struct kwd_options *opt, struct kw_config *cfg,
		     char *err, size_t errlen)
{
	const char *path = opt->config_path != NULL ? opt->config_path
						    : KW_CONFIG_DEFAULT_PATH;
	int rc;

	err[0] = '\0';
	rc = kw_config_load(cfg, path, err, errlen);
	if (rc == ENOENT && opt->config_path == NULL)
		return 0; /* no default file: the built-in defaults apply */
	if (rc != 0 && err[0] == '\0')
		snprintf(err, errlen, "%s: %s", path, strerror(rc));
	return rc;
}

int kwd_conf_load(const struct kwd_options *opt, unsigned long generation,
		  struct kwd_conf **conf_out, char *err, size_t errlen)
{
	struct kwd_conf *conf;
	size_t i;
	int rc;

	*conf_out = NULL;
	conf = calloc(1, sizeof(*conf));
	if (conf == NULL || kw_config_init(&conf->cfg) != 0) {
		free(conf);
		snprintf(err, errlen, "out of memory");
		return ENOMEM;
	}
	rc = read_file(opt, &conf->cfg, err, errlen);
	for (i = 0; rc == 0 && i < opt->n_overrides; i++)
		rc = apply_override(&conf->cfg, opt->overrides[i], err, errlen);
	if (rc == 0 && opt->socket_path != NULL)
		rc = kw_config_set(&conf->cfg, "keywardd.socket",
				   opt->socket_path, err, errlen);
	if (rc == 0 &&
	    kw_log_level_parse(conf->cfg.log_level, &conf->log_priority)) {
		snprintf(err, errlen, "keywardd.log_level: unknown level");
		rc = EINVAL;
	}
	if (rc != 0) {
		kw_config_free(&conf->cfg);
		free(conf);
		return rc;
	}
	if (opt->debug)
		conf->log_priority = LOG_DEBUG;
	conf->generation = generation;
	conf->refs = 1;
	*conf_out = conf;
	return 0;
}

struct kwd_conf *kwd_conf_get(struct kwd_server *srv)
{
	struct kwd_conf *conf;

	pthread_mutex_lock(&srv->lock);
	conf = srv->conf;
	conf->refs++;
	pthread_mutex_unlock(&srv->lock);
	return conf;
}

void kwd_conf_put(struct kwd_server *srv, struct kwd_conf *conf)
{
	bool last;

	if (conf == NULL)
		return;
	pthread_mutex_lock(&srv->lock);
	last = --conf->refs == 0;
	pthread_mutex_unlock(&srv->lock);
	if (last) {
		kw_config_free(&conf->cfg);
		free(conf);
	}
}

void kwd_conf_install(struct kwd_server *srv, struct kwd_conf *conf)
{
	struct kwd_conf *old;

	pthread_mutex_lock(&srv->lock);
	old = srv->conf;
	srv->conf = conf;
	pthread_mutex_unlock(&srv->lock);
	kwd_conf_put(srv, old);
}
