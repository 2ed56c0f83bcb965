/*
 * kwauditput.c - deliver audit records to a tenant's log as keywardd
 * does, for tests.
 *
 *   kwauditput -c CONF -t TENANT [-n N] [-u USER | -H NAME]
 *              [-o success|fail] [-r REASON] [-k KIND] [-s SERVICE]
 *              [-R RHOST] [-T TTY] [-i REQUEST_ID] [--id ID]
 *              [--time SECONDS]
 *
 * Builds N records (default 1: the time now, the host from
 * gethostname(), fresh ids) and delivers each with kw_audit_deliver()
 * over a connection as keywardd's service identity, so that the
 * directory's real access rules apply.  The chain key is derived from
 * keys.master_key_file of CONF.  -H NAME records NAME as a name that did
 * not resolve: its keyed hash, never the name.  --id ID gives the one
 * record that id and delivers it with check_id, as a delivery from the
 * spool does, so that delivering it twice stores it once.  --time
 * SECONDS (since the epoch) dates record I (from 0) at SECONDS and I
 * microseconds, so that tests can place records in the past without
 * waiting.
 *
 * Defaults: outcome success, reason "success" ("wrong_password" for
 * fail), kind "auth", no user, service, rhost, tty or request id.
 *
 * Prints "SEQ ID" for each delivered record.  Exit status: 0 when every
 * record was delivered, 1 on a failure (said on stderr), 2 for a usage
 * error.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kw_audit.h"
#include "kw_audit_dir.h"
#include "kw_config.h"
#include "kw_dir.h"
#include "kw_keys.h"
#include "kw_secret.h"

#define RECORDS_MAX 100000

struct options {
	const char *config;
	const char *tenant;
	const char *user;
	const char *typed_name; /* -H */
	const char *outcome;
	const char *reason;
	const char *kind;
	const char *service;
	const char *rhost;
	const char *tty;
	const char *request_id;
	const char *id;
	long n;
	long long time_s; /* --time, or -1 for now */
};

static void usage(void)
{
	fputs("usage: kwauditput -c CONF -t TENANT [-n N] [-u USER | -H NAME]\n"
	      "         [-o success|fail] [-r REASON] [-k KIND] [-s SERVICE]\n"
	      "         [-R RHOST] [-T TTY] [-i REQUEST_ID] [--id ID]\n"
	      "         [--time SECONDS]\n",
	      stderr);
	exit(2);
}

static void parse_options(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{"id", required_argument, NULL, 'I'},
		{"time", required_argument, NULL, 'W'},
		{NULL, 0, NULL, 0},
	};
	char *end;
	int c;

	memset(o, 0, sizeof(*o));
	o->outcome = KW_AUDIT_SUCCESS;
	o->kind = "auth";
	o->n = 1;
	o->time_s = -1;
	while ((c = getopt_long(argc, argv, "c:t:n:u:H:o:r:k:s:R:T:i:",
				longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			o->config = optarg;
			break;
		case 't':
			o->tenant = optarg;
			break;
		case 'n':
			errno = 0;
			o->n = strtol(optarg, &end, 10);
			if (errno != 0 || end == optarg || *end != '\0' ||
			    o->n < 1 || o->n > RECORDS_MAX)
				usage();
			break;
		case 'u':
			o->user = optarg;
			break;
		case 'H':
			o->typed_name = optarg;
			break;
		case 'o':
			o->outcome = optarg;
			break;
		case 'r':
			o->reason = optarg;
			break;
		case 'k':
			o->kind = optarg;
			break;
		case 's':
			o->service = optarg;
			break;
		case 'R':
			o->rhost = optarg;
			break;
		case 'T':
			o->tty = optarg;
			break;
		case 'i':
			o->request_id = optarg;
			break;
		case 'I':
			o->id = optarg;
			break;
		case 'W':
			errno = 0;
			o->time_s = strtoll(optarg, &end, 10);
			if (errno != 0 || end == optarg || *end != '\0' ||
			    o->time_s < 0 || o->time_s > 253402300799LL)
				usage();
			break;
		default:
			usage();
		}
	}
	if (optind != argc || o->config == NULL || o->tenant == NULL ||
	    (o->user != NULL && o->typed_name != NULL) ||
	    (o->id != NULL && o->n != 1))
		usage();
	if (o->reason == NULL)
		o->reason = strcmp(o->outcome, KW_AUDIT_FAIL) == 0
				    ? "wrong_password"
				    : "success";
}

/* Copy SRC into DST, or fail: a field that does not fit is a test bug. */
static int copy_field(char *dst, size_t dstsz, const char *src,
		      const char *what)
{
	if (src == NULL)
		return 0;
	if (strlen(src) >= dstsz) {
		fprintf(stderr, "kwauditput: the %s is too long\n", what);
		return EINVAL;
	}
	memcpy(dst, src, strlen(src) + 1);
	return 0;
}

/* This host's name as a record's host: visible ASCII only. */
static void host_name(char *out, size_t outsz)
{
	size_t i;

	if (gethostname(out, outsz) != 0 || out[0] == '\0')
		snprintf(out, outsz, "localhost");
	out[outsz - 1] = '\0';
	for (i = 0; out[i] != '\0'; i++)
		if (out[i] < 0x21 || out[i] > 0x7e)
			out[i] = '?';
}

static long long now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Fill R, the INDEX-th record, from O; NAME_KEY hashes -H's name. */
static int build_record(const struct options *o, long index,
			const unsigned char name_key[KW_KEY_BYTES],
			struct kw_audit_record *r)
{
	int rc = 0;

	memset(r, 0, sizeof(*r));
	r->time_us = o->time_s >= 0 ? o->time_s * 1000000 + index : now_us();
	if (o->id != NULL)
		rc = copy_field(r->id, sizeof(r->id), o->id, "id");
	else
		rc = kw_audit_new_id(r->time_us, r->id, sizeof(r->id));
	if (rc == 0 && o->typed_name != NULL)
		rc = kw_audit_name_hash(name_key, o->typed_name, r->user_hash,
					sizeof(r->user_hash));
	host_name(r->host, sizeof(r->host));
	kw_audit_clean_text(r->service, sizeof(r->service), o->service);
	kw_audit_clean_text(r->rhost, sizeof(r->rhost), o->rhost);
	kw_audit_clean_text(r->tty, sizeof(r->tty), o->tty);
	if (rc == 0)
		rc = copy_field(r->tenant, sizeof(r->tenant), o->tenant,
				"tenant");
	if (rc == 0)
		rc = copy_field(r->user, sizeof(r->user), o->user, "user");
	if (rc == 0)
		rc = copy_field(r->request_id, sizeof(r->request_id),
				o->request_id, "request id");
	if (rc == 0)
		rc = copy_field(r->kind, sizeof(r->kind), o->kind, "kind");
	if (rc == 0)
		rc = copy_field(r->outcome, sizeof(r->outcome), o->outcome,
				"outcome");
	if (rc == 0)
		rc = copy_field(r->reason, sizeof(r->reason), o->reason,
				"reason");
	if (rc == 0 && kw_audit_record_check(r) != 0) {
		fprintf(stderr, "kwauditput: the record is not valid\n");
		rc = EINVAL;
	}
	return rc;
}

/* Derive the tenant's chain key and, for -H, its name key. */
static int load_keys(const struct kw_config *cfg, const struct options *o,
		     unsigned char chain_key[KW_KEY_BYTES],
		     unsigned char name_key[KW_KEY_BYTES])
{
	struct kw_master_key master;
	char err[256] = "";
	int rc;

	memset(&master, 0, sizeof(master));
	rc = kw_master_key_load(cfg->master_key_file, &master, err,
				sizeof(err));
	if (rc != 0) {
		fprintf(stderr, "kwauditput: %s\n",
			err[0] ? err : strerror(rc));
		goto done;
	}
	rc = kw_key_derive(&master, KW_KEY_AUDIT_CHAIN, o->tenant, chain_key);
	if (rc == 0)
		rc = kw_key_derive(&master, KW_KEY_AUDIT_NAME, o->tenant,
				   name_key);
	if (rc != 0)
		fprintf(stderr, "kwauditput: cannot derive the keys: %s\n",
			strerror(rc));
done:
	kw_master_key_wipe(&master);
	return rc;
}

static int deliver_all(struct kw_dir *dir, const struct options *o,
		       const unsigned char chain_key[KW_KEY_BYTES],
		       const unsigned char name_key[KW_KEY_BYTES])
{
	struct kw_audit_head head = {.known = false};
	struct kw_audit_record r;
	long i;
	int rc = 0;

	for (i = 0; i < o->n && rc == 0; i++) {
		rc = build_record(o, i, name_key, &r);
		if (rc != 0)
			break;
		rc = kw_audit_deliver(dir, chain_key, &head, &r, o->id != NULL);
		if (rc != 0) {
			fprintf(stderr, "kwauditput: record %ld: %s: %s\n",
				i + 1, strerror(rc), kw_dir_error(dir));
			break;
		}
		printf("%llu %s\n", r.seq, r.id);
	}
	return rc;
}

int main(int argc, char **argv)
{
	unsigned char chain_key[KW_KEY_BYTES], name_key[KW_KEY_BYTES];
	char err[KW_CONFIG_ERROR_MAX] = "";
	struct kw_config cfg;
	struct kw_dir *dir = NULL;
	struct options o;
	bool cfg_ready = false;
	int rc;

	parse_options(argc, argv, &o);
	memset(chain_key, 0, sizeof(chain_key));
	memset(name_key, 0, sizeof(name_key));
	rc = kw_config_init(&cfg);
	if (rc != 0)
		goto done;
	cfg_ready = true;
	rc = kw_config_load(&cfg, o.config, err, sizeof(err));
	if (rc != 0) {
		fprintf(stderr, "kwauditput: %s\n",
			err[0] ? err : strerror(rc));
		goto done;
	}
	rc = load_keys(&cfg, &o, chain_key, name_key);
	if (rc != 0)
		goto done;
	rc = kw_dir_open(&cfg, KW_DIR_AS_SERVICE, NULL, NULL, &dir);
	if (rc != 0) {
		fprintf(stderr, "kwauditput: cannot connect: %s\n",
			kw_dir_error(dir));
		goto done;
	}
	rc = deliver_all(dir, &o, chain_key, name_key);
done:
	kw_wipe(chain_key, sizeof(chain_key));
	kw_wipe(name_key, sizeof(name_key));
	kw_dir_free(dir);
	if (cfg_ready)
		kw_config_free(&cfg);
	if (fflush(stdout) != 0)
		rc = EIO;
	return rc == 0 ? 0 : 1;
}
