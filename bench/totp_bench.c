/*
 * totp_bench.c - what a password+TOTP login costs next to its floor, and
 * whether checking a code grows with the number of users of a tenant.
 *
 *   totp_bench ldif -k MASTER_KEY -t TENANT -b TENANTS_BASE -u UID_BASE
 *                   -n USERS -p PASSWORD_FILE
 *
 * writes to stdout the LDIF of USERS users of TENANT, named u0000000 on,
 * with the entry `kwadm user add` makes and an active token: the secret
 * sealed for (TENANT, user) under MASTER_KEY, state active, no last step.
 * Root adds it with ldapadd.  The password goes in as cleartext, which the
 * ppolicy overlay hashes on add (olcPPolicyHashCleartext).
 *
 *   totp_bench run -s STACK -m MARKED -f FLOOR -p PASSWORD_FILE
 *                  -H LDAP_URI -b TENANTS_BASE -S SERVICE_DN
 *                  -P SERVICE_PASSWORD_FILE -T TENANT:USERS
 *                  -t TENANT:USERS [-t ...] [-n N] [-c C]
 *
 * measures, in one process:
 *
 *   1. with the users of -T: complete PAM transactions of STACK (password,
 *      TOTP, access), with one client and with C (threads), and the floor
 *      of such a login in the same run: a PAM transaction of FLOOR
 *      (pam_permit) plus the directory work the login needs, done by a
 *      bare libldap client on warm connections: a search for the user's
 *      entry with its TOTP attributes and a modify of kwTotpLastStep under
 *      an assertion (the replay guard) on the service connection, and the
 *      user's bind on a connection of its own;
 *   2. for each -t, with one client: pam_authenticate of MARKED (password,
 *      pam_echo, TOTP).  pam_echo's message reaches the conversation when
 *      the password module is done, and so splits the time into the
 *      password step and the TOTP step (asking keywardd what the login
 *      needs, the prompt, the check and the step's write).  The tenants
 *      take turns, in rounds, with the same number of logins each.
 *
 * A code is accepted once per time step and user, and no run may wait for
 * the clock: every login of a run has a user of its own, so -T needs 4 N +
 * 20 users and each -t N + 20 (fewer make N smaller for part 2).  Logins
 * take users across the whole tenant (position p is user p * s mod USERS,
 * s coprime with USERS), so that a large tenant is not measured on the few
 * entries written last.  Each token's secret is HMAC-SHA256 of
 * "user@tenant" under BENCH_KEY, cut to 20 bytes: ldif seals it and run
 * makes the current code from it with liboath (SHA1, 6 digits, 30 s,
 * keywardd's mfa.* defaults).
 *
 * PAM finds the services where the application's PAM looks: run it under
 * pam_wrapper (bench/totp_bench.sh does).  Prints median and 99th
 * percentile latency in microseconds and logins per second; no figure is
 * checked against a limit.
 */
#include "config.h"

#include <errno.h>
#include <ldap.h>
#include <liboath/oath.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <pthread.h>
#include <security/pam_appl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"

#include "kw_keys.h"
#include "kw_mfa.h"

/* Not a secret: it only lets run recompute what ldif sealed. */
#define BENCH_KEY "keyward totp_bench token key"
#define USER_FMT "u%07ld"  /* the name of the user of an index */
#define USERS_MAX 9999999L /* the indexes USER_FMT keeps in order */
#define POOLS_MAX 4
#define CLIENTS_MAX 64
#define WARMUP 20
#define CODE_DIGITS 6
#define CODE_PERIOD_S 30
/*
 * The text pam_echo shows between the password and the TOTP module: the
 * kw-totp-marked service of bench/totp_bench.sh names it too.
 */
#define MARK "keyward-bench-mark"

struct pool {
	char tenant[64];
	long users;
	long next;   /* the first position no login has used */
	long stride; /* coprime with users */
};

struct opts {
	const char *stack, *marked, *floor, *uri, *base, *service_dn;
	char password[256], service_password[256];
	struct pool stack_pool;
	struct pool pools[POOLS_MAX];
	int n_pools, n, clients;
};

enum kind {
	KIND_STACK,  /* the whole transaction of STACK */
	KIND_FLOOR,  /* FLOOR plus the bare directory work */
	KIND_MARKED, /* pam_authenticate of MARKED, split at the mark */
};

/* One login: who, with what, and when the mark arrived. */
struct login {
	char uid[24];
	char user[96]; /* uid@tenant */
	char dn[256];
	char people[192]; /* the search base of the user's entry */
	const char *password;
	char code[CODE_DIGITS + 1];
	int prompts;    /* how many prompts were answered */
	double mark_us; /* 0 until pam_echo's message arrives */
};

/* What one thread does, and what it measured, in microseconds. */
struct run {
	const struct opts *o;
	enum kind kind;
	const struct pool *pool;
	long first; /* the pool position of its first login */
	int n;
	double *lat, *pw_lat, *totp_lat;
	int failures;
	char error[160]; /* the first failure, for stderr */
};

struct stat_pair {
	double median, p99;
};

struct figures {
	struct stat_pair total, pw, totp;
	double per_s;
	int failures;
};

/* ---- tokens ------------------------------------------------------------ */

/*
 * The token secret of UID@TENANT.  Anyone can recompute it from BENCH_KEY,
 * so it is no secret worth wiping.
 */
static int bench_secret(const char *tenant, const char *uid,
			unsigned char out[KW_TOTP_SECRET_BYTES])
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	char data[160];
	int n;

	n = snprintf(data, sizeof(data), "%s@%s", uid, tenant);
	if (n < 0 || (size_t)n >= sizeof(data))
		return EINVAL;
	if (HMAC(EVP_sha256(), BENCH_KEY, (int)strlen(BENCH_KEY),
		 (const unsigned char *)data, (size_t)n, mac, &len) == NULL ||
	    len < KW_TOTP_SECRET_BYTES)
		return EIO;
	memcpy(out, mac, KW_TOTP_SECRET_BYTES);
	return 0;
}

/* The code of the current time step, as the user's app would show it. */
static int code_now(const char *tenant, const char *uid,
		    char code[CODE_DIGITS + 1])
{
	unsigned char secret[KW_TOTP_SECRET_BYTES];
	int rc;

	rc = bench_secret(tenant, uid, secret);
	if (rc != 0)
		return rc;
	rc = oath_totp_generate(
		(const char *)secret, sizeof(secret), time(NULL), CODE_PERIOD_S,
		OATH_TOTP_DEFAULT_START_TIME, CODE_DIGITS, code);
	return rc == OATH_OK ? 0 : EIO;
}

/* ---- users ------------------------------------------------------------- */

static long gcd(long a, long b)
{
	while (b != 0) {
		long t = a % b;

		a = b;
		b = t;
	}
	return a;
}

/* "TENANT:USERS" into P. */
static int pool_parse(const char *arg, struct pool *p)
{
	const char *colon = strchr(arg, ':');
	char *end;
	long users;

	if (colon == NULL || colon == arg ||
	    (size_t)(colon - arg) >= sizeof(p->tenant))
		return EINVAL;
	errno = 0;
	users = strtol(colon + 1, &end, 10);
	if (errno != 0 || *end != '\0' || users < 1 || users > USERS_MAX)
		return EINVAL;
	memset(p, 0, sizeof(*p));
	memcpy(p->tenant, arg, (size_t)(colon - arg));
	p->users = users;
	/* near the golden ratio of the size, so that neighbours spread */
	p->stride = users * 618 / 1000 + 1;
	while (gcd(p->stride, users) != 1)
		p->stride++;
	return 0;
}

/* N unused positions of P, from *FIRST_OUT on. */
static int pool_take(struct pool *p, long n, long *first_out)
{
	if (p->users - p->next < n) {
		fprintf(stderr,
			"totp_bench: tenant %s: %ld more users needed, "
			"%ld left\n",
			p->tenant, n, p->users - p->next);
		return ENOSPC;
	}
	*first_out = p->next;
	p->next += n;
	return 0;
}

static int login_prepare(const struct opts *o, const struct pool *p, long pos,
			 bool with_code, struct login *l)
{
	long index = (long)((long long)pos * p->stride % p->users);
	int n;

	memset(l, 0, sizeof(*l));
	l->password = o->password;
	snprintf(l->uid, sizeof(l->uid), USER_FMT, index);
	n = snprintf(l->user, sizeof(l->user), "%s@%s", l->uid, p->tenant);
	if (n < 0 || (size_t)n >= sizeof(l->user))
		return EINVAL;
	n = snprintf(l->people, sizeof(l->people), "ou=people,o=%s,%s",
		     p->tenant, o->base);
	if (n < 0 || (size_t)n >= sizeof(l->people))
		return EINVAL;
	n = snprintf(l->dn, sizeof(l->dn), "uid=%s,%s", l->uid, l->people);
	if (n < 0 || (size_t)n >= sizeof(l->dn))
		return EINVAL;
	return with_code ? code_now(p->tenant, l->uid, l->code) : 0;
}

/* ---- PAM --------------------------------------------------------------- */

static int conv(int n, const struct pam_message **msg,
		struct pam_response **resp, void *data)
{
	struct login *l = data;
	struct pam_response *r = calloc((size_t)n, sizeof(*r));
	int i;

	if (r == NULL)
		return PAM_BUF_ERR;
	for (i = 0; i < n; i++) {
		const char *answer;

		switch (msg[i]->msg_style) {
		case PAM_PROMPT_ECHO_OFF:
		case PAM_PROMPT_ECHO_ON:
			/* the password module asks first, then TOTP */
			answer = l->prompts++ == 0 ? l->password : l->code;
			r[i].resp = strdup(answer);
			if (r[i].resp == NULL)
				goto fail;
			break;
		case PAM_TEXT_INFO:
			if (strcmp(msg[i]->msg, MARK) == 0)
				l->mark_us = bench_now_us();
			break;
		default:
			break;
		}
	}
	*resp = r;
	return PAM_SUCCESS;
fail:
	while (i-- > 0)
		free(r[i].resp);
	free(r);
	return PAM_BUF_ERR;
}

/*
 * One PAM transaction of SERVICE for L, with pam_acct_mgmt if ACCOUNT;
 * *AUTH_START and *AUTH_END bracket pam_authenticate.  Returns a PAM code.
 */
static int pam_login(const char *service, struct login *l, bool account,
		     double *auth_start, double *auth_end, char *err,
		     size_t errlen)
{
	struct pam_conv c = {conv, l};
	pam_handle_t *ph = NULL;
	int rc;

	rc = pam_start(service, l->user, &c, &ph);
	if (rc != PAM_SUCCESS) {
		snprintf(err, errlen, "pam_start %s: %d", service, rc);
		return rc;
	}
	*auth_start = bench_now_us();
	rc = pam_authenticate(ph, 0);
	*auth_end = bench_now_us();
	if (rc == PAM_SUCCESS && account)
		rc = pam_acct_mgmt(ph, 0);
	if (rc != PAM_SUCCESS)
		snprintf(err, errlen, "%s %s: %s", service, l->user,
			 pam_strerror(ph, rc));
	pam_end(ph, rc);
	return rc;
}

/* ---- the floor's directory work ---------------------------------------- */

/* The user's entry, with what a code check reads of it. */
static int floor_search(LDAP *svc, const struct login *l)
{
	char *attrs[] = {(char *)"uid",
			 (char *)"uidNumber",
			 (char *)"kwDeactivated",
			 (char *)"pwdReset",
			 (char *)"kwTotpSecret",
			 (char *)"kwTotpState",
			 (char *)"kwTotpLastStep",
			 NULL};
	LDAPMessage *res = NULL, *e;
	struct berval **secret = NULL;
	char filter[64];
	int rc;

	snprintf(filter, sizeof(filter), "(uid=%s)", l->uid);
	rc = ldap_search_ext_s(svc, l->people, LDAP_SCOPE_ONELEVEL, filter,
			       attrs, 0, NULL, NULL, NULL, 0, &res);
	e = rc == LDAP_SUCCESS && ldap_count_entries(svc, res) == 1
		    ? ldap_first_entry(svc, res)
		    : NULL;
	if (e != NULL)
		secret = ldap_get_values_len(svc, e, "kwTotpSecret");
	/* a search that found no token would be a cheaper floor */
	if (rc == LDAP_SUCCESS && secret == NULL)
		rc = LDAP_NO_SUCH_OBJECT;
	ldap_value_free_len(secret);
	ldap_msgfree(res);
	return rc;
}

/* The replay guard's write: the step, unless it or a later one was spent. */
static int floor_spend_step(LDAP *svc, const struct login *l)
{
	char step[32], filter[160];
	char *values[] = {step, NULL};
	LDAPMod mod = {.mod_op = LDAP_MOD_REPLACE,
		       .mod_type = (char *)"kwTotpLastStep",
		       .mod_values = values};
	LDAPMod *mods[] = {&mod, NULL};
	LDAPControl *assertion = NULL, *ctrls[2] = {NULL, NULL};
	int rc;

	snprintf(step, sizeof(step), "%lld",
		 (long long)(time(NULL) / CODE_PERIOD_S));
	snprintf(filter, sizeof(filter),
		 "(&(kwTotpState=active)(|(!(kwTotpLastStep=*))"
		 "(!(kwTotpLastStep>=%s))))",
		 step);
	rc = ldap_create_assertion_control(svc, filter, 1, &assertion);
	if (rc != LDAP_SUCCESS)
		return rc;
	ctrls[0] = assertion;
	rc = ldap_modify_ext_s(svc, l->dn, mods, ctrls, NULL);
	ldap_control_free(assertion);
	return rc;
}

static int floor_directory(LDAP *svc, LDAP *usr, const struct login *l,
			   char *err, size_t errlen)
{
	struct berval cred = {strlen(l->password), (char *)l->password};
	const char *step = "search";
	int rc;

	rc = floor_search(svc, l);
	if (rc == LDAP_SUCCESS) {
		step = "bind";
		rc = ldap_sasl_bind_s(usr, l->dn, LDAP_SASL_SIMPLE, &cred, NULL,
				      NULL, NULL);
	}
	if (rc == LDAP_SUCCESS) {
		step = "modify";
		rc = floor_spend_step(svc, l);
	}
	if (rc != LDAP_SUCCESS)
		snprintf(err, errlen, "floor %s %s: %s", step, l->user,
			 ldap_err2string(rc));
	return rc;
}

/* ---- measuring --------------------------------------------------------- */

/*
 * R's login at pool position POS, its times into slot I.  True if it
 * succeeded.
 */
static bool run_one(struct run *r, LDAP *svc, LDAP *usr, long pos, int i)
{
	const struct opts *o = r->o;
	char scratch[sizeof(r->error)];
	/* only the first failure is kept: it is the one worth reading */
	char *err = r->failures == 0 ? r->error : scratch;
	double t0, auth_start = 0, auth_end = 0;
	struct login l;
	int rc;

	r->lat[i] = 0;
	if (login_prepare(o, r->pool, pos, r->kind != KIND_FLOOR, &l) != 0) {
		snprintf(err, sizeof(r->error), "no code for position %ld",
			 pos);
		return false;
	}
	t0 = bench_now_us();
	switch (r->kind) {
	case KIND_STACK:
		rc = pam_login(o->stack, &l, true, &auth_start, &auth_end, err,
			       sizeof(r->error));
		break;
	case KIND_FLOOR:
		rc = pam_login(o->floor, &l, true, &auth_start, &auth_end, err,
			       sizeof(r->error));
		if (rc == PAM_SUCCESS &&
		    floor_directory(svc, usr, &l, err, sizeof(r->error)) !=
			    LDAP_SUCCESS)
			rc = PAM_AUTH_ERR;
		break;
	default:
		rc = pam_login(o->marked, &l, false, &auth_start, &auth_end,
			       err, sizeof(r->error));
		if (rc == PAM_SUCCESS && l.mark_us == 0) {
			snprintf(err, sizeof(r->error),
				 "%s: pam_echo's mark never arrived",
				 o->marked);
			rc = PAM_CONV_ERR;
		}
		r->lat[i] = auth_end - auth_start;
		if (rc != PAM_SUCCESS)
			return false;
		r->pw_lat[i] = l.mark_us - auth_start;
		r->totp_lat[i] = auth_end - l.mark_us;
		return true;
	}
	r->lat[i] = bench_now_us() - t0;
	return rc == PAM_SUCCESS;
}

static void *worker(void *arg)
{
	struct run *r = arg;
	const struct opts *o = r->o;
	LDAP *svc = NULL, *usr = NULL;
	int i;

	if (r->kind == KIND_FLOOR) {
		struct login l;

		/* the user connection is warm: bound once as its first user */
		login_prepare(o, r->pool, r->first, false, &l);
		svc = bench_ldap_open_bound(o->uri, o->service_dn,
					    o->service_password);
		usr = bench_ldap_open_bound(o->uri, l.dn, o->password);
		if (svc == NULL || usr == NULL) {
			snprintf(r->error, sizeof(r->error),
				 "floor: cannot bind to %s", o->uri);
			r->failures = r->n;
			goto out;
		}
	}
	for (i = 0; i < r->n; i++)
		if (!run_one(r, svc, usr, r->first + i, i))
			r->failures++;
out:
	if (svc != NULL)
		ldap_unbind_ext_s(svc, NULL, NULL);
	if (usr != NULL)
		ldap_unbind_ext_s(usr, NULL, NULL);
	return NULL;
}

/* The latencies of logins measured so far, in one or more batches. */
struct sample {
	double *lat, *pw, *totp; /* CAP each */
	int n, cap, failures;
	double wall_us; /* summed over the batches */
};

static int sample_init(struct sample *s, int cap)
{
	memset(s, 0, sizeof(*s));
	s->lat = calloc((size_t)cap * 3, sizeof(*s->lat));
	if (s->lat == NULL)
		return ENOMEM;
	s->pw = s->lat + cap;
	s->totp = s->lat + 2 * (size_t)cap;
	s->cap = cap;
	return 0;
}

static void sample_free(struct sample *s)
{
	free(s->lat);
	memset(s, 0, sizeof(*s));
}

/*
 * A batch of N logins of KIND (rounded down to a multiple of CLIENTS) by
 * CLIENTS threads, each with users of its own from P, added to S.
 * Returns 0, EINVAL (fewer logins than clients, or no room in S), or
 * ENOSPC (too few users left in P).
 */
static int measure(const struct opts *o, enum kind kind, struct pool *p, int n,
		   int clients, struct sample *s)
{
	pthread_t th[CLIENTS_MAX];
	bool started[CLIENTS_MAX] = {false};
	struct run runs[CLIENTS_MAX];
	int per = n / clients, total = per * clients, i;
	double t0;
	long first;
	int rc;

	if (per == 0 || clients > CLIENTS_MAX || s->cap - s->n < total)
		return EINVAL;
	rc = pool_take(p, total, &first);
	if (rc != 0)
		return rc;
	t0 = bench_now_us();
	for (i = 0; i < clients; i++) {
		size_t slot = (size_t)s->n + (size_t)i * per;

		runs[i] = (struct run){.o = o,
				       .kind = kind,
				       .pool = p,
				       .first = first + (long)i * per,
				       .n = per,
				       .lat = s->lat + slot,
				       .pw_lat = s->pw + slot,
				       .totp_lat = s->totp + slot};
		started[i] =
			pthread_create(&th[i], NULL, worker, &runs[i]) == 0;
		if (!started[i]) {
			runs[i].failures = per;
			snprintf(runs[i].error, sizeof(runs[i].error),
				 "pthread_create failed");
		}
	}
	for (i = 0; i < clients; i++)
		if (started[i])
			pthread_join(th[i], NULL);
	s->wall_us += bench_now_us() - t0;
	s->n += total;
	for (i = 0; i < clients; i++) {
		s->failures += runs[i].failures;
		if (runs[i].failures > 0)
			fprintf(stderr, "totp_bench: %d failed, first: %s\n",
				runs[i].failures, runs[i].error);
	}
	return 0;
}

/* WARMUP logins of KIND from P, not counted. */
static int warm_up(const struct opts *o, enum kind kind, struct pool *p)
{
	struct sample s;
	int rc;

	rc = sample_init(&s, WARMUP);
	if (rc == 0)
		rc = measure(o, kind, p, WARMUP, 1, &s);
	sample_free(&s);
	return rc;
}

/* Median and 99th percentile of the N (> 0) values of V, sorted in place. */
static struct stat_pair summarise(double *v, int n)
{
	size_t k = (size_t)((double)n * 0.99);

	qsort(v, (size_t)n, sizeof(*v), bench_cmp_double);
	return (struct stat_pair){.median = v[n / 2],
				  .p99 = v[k < (size_t)n ? k : (size_t)n - 1]};
}

static void figures_of(struct sample *s, struct figures *f)
{
	memset(f, 0, sizeof(*f));
	if (s->n == 0)
		return;
	f->total = summarise(s->lat, s->n);
	f->pw = summarise(s->pw, s->n);
	f->totp = summarise(s->totp, s->n);
	f->per_s = s->n / (s->wall_us / 1e6);
	f->failures = s->failures;
}

/* One batch of N logins into a sample of its own, summarised in F. */
static int measure_once(const struct opts *o, enum kind kind, struct pool *p,
			int n, int clients, struct figures *f)
{
	struct sample s;
	int rc;

	rc = sample_init(&s, n);
	if (rc == 0)
		rc = measure(o, kind, p, n, clients, &s);
	if (rc == 0)
		figures_of(&s, f);
	sample_free(&s);
	return rc;
}

/* ---- output ------------------------------------------------------------ */

static void print_row(int clients, const char *what, const struct figures *f)
{
	printf("%-8d %-42s %8.0f %8.0f %9.0f %6d\n", clients, what,
	       f->total.median, f->total.p99, f->per_s, f->failures);
}

/* Part 1: the stack against its floor, with 1 client and with C. */
static int stack_against_floor(struct opts *o)
{
	int counts[2] = {1, o->clients}, ci;

	/* modules loaded once, keywardd's connections made, caches filled */
	if (warm_up(o, KIND_STACK, &o->stack_pool) != 0)
		return 1;
	printf("\n1. password+TOTP+access logins, %d per measurement, tenant "
	       "%s (%ld users)\n",
	       o->n, o->stack_pool.tenant, o->stack_pool.users);
	printf("   floor: pam_permit + search of the user's entry, the "
	       "user's bind and the\n   kwTotpLastStep modify under an "
	       "assertion, by libldap on warm connections\n");
	printf("%-8s %-42s %8s %8s %9s %6s\n", "clients", "what", "median",
	       "p99", "logins/s", "failed");
	for (ci = 0; ci < (o->clients > 1 ? 2 : 1); ci++) {
		struct figures stack, floor;

		if (measure_once(o, KIND_STACK, &o->stack_pool, o->n,
				 counts[ci], &stack) != 0 ||
		    measure_once(o, KIND_FLOOR, &o->stack_pool, o->n,
				 counts[ci], &floor) != 0)
			return 1;
		print_row(counts[ci], "keyward password+TOTP+access stack",
			  &stack);
		print_row(counts[ci],
			  "floor: pam_permit + search, bind, modify", &floor);
		printf("%-8d %-42s %8.2f %8.2f %9.2f\n", counts[ci],
		       "ratio stack/floor",
		       stack.total.median / floor.total.median,
		       stack.total.p99 / floor.total.p99,
		       floor.per_s / stack.per_s);
		fflush(stdout);
	}
	return 0;
}

/*
 * Part 2: the TOTP step of one client, tenant by tenant.  The tenants
 * take turns, ROUNDS batches each, so that whatever else the machine
 * does meanwhile (writeback, other processes) weighs on all of them
 * alike rather than on whichever tenant came last.
 */
#define ROUNDS 8

static int totp_rounds(struct opts *o, int n, struct sample *s)
{
	int r, i, rc;

	for (i = 0; i < o->n_pools; i++) {
		rc = warm_up(o, KIND_MARKED, &o->pools[i]);
		if (rc != 0)
			return rc;
	}
	for (r = 0; r < ROUNDS; r++) {
		/* the last round takes what the division left over */
		int batch = r < ROUNDS - 1 ? n / ROUNDS : n - n / ROUNDS * r;

		for (i = 0; i < o->n_pools; i++) {
			rc = measure(o, KIND_MARKED, &o->pools[i], batch, 1,
				     &s[i]);
			if (rc != 0)
				return rc;
		}
	}
	return 0;
}

static int totp_by_tenant_size(struct opts *o)
{
	struct sample s[POOLS_MAX];
	struct figures f[POOLS_MAX];
	long n = o->n;
	int i, rc = 0;

	/* the same number of logins in every tenant, as many as all have */
	for (i = 0; i < o->n_pools; i++)
		if (o->pools[i].users - WARMUP < n)
			n = o->pools[i].users - WARMUP;
	if (n < ROUNDS) {
		fprintf(stderr,
			"totp_bench: every -t tenant needs at least %d "
			"users\n",
			WARMUP + ROUNDS);
		return 1;
	}
	for (i = 0; i < o->n_pools; i++)
		if (sample_init(&s[i], (int)n) != 0)
			rc = ENOMEM;
	if (rc == 0)
		rc = totp_rounds(o, (int)n, s);
	for (i = 0; i < o->n_pools; i++) {
		figures_of(&s[i], &f[i]);
		sample_free(&s[i]);
	}
	if (rc != 0)
		return 1;
	printf("\n2. TOTP step by tenant size, 1 client, %ld logins per "
	       "tenant in %d rounds\n",
	       n, ROUNDS);
	printf("   auth: pam_authenticate of password + pam_echo + TOTP; "
	       "pam_echo's message\n   ends the password step and starts the "
	       "TOTP step (ask, prompt, check, write)\n");
	printf("%-9s %-8s %8s %8s %8s %8s %8s %8s %6s\n", "users", "tenant",
	       "auth med", "auth p99", "pw med", "pw p99", "totp med",
	       "totp p99", "failed");
	for (i = 0; i < o->n_pools; i++)
		printf("%-9ld %-8s %8.0f %8.0f %8.0f %8.0f %8.0f %8.0f %6d\n",
		       o->pools[i].users, o->pools[i].tenant, f[i].total.median,
		       f[i].total.p99, f[i].pw.median, f[i].pw.p99,
		       f[i].totp.median, f[i].totp.p99, f[i].failures);
	if (o->n_pools > 1)
		printf("TOTP step, %ld users against %ld: median x%.2f, "
		       "p99 x%.2f\n",
		       o->pools[o->n_pools - 1].users, o->pools[0].users,
		       f[o->n_pools - 1].totp.median / f[0].totp.median,
		       f[o->n_pools - 1].totp.p99 / f[0].totp.p99);
	return 0;
}

/* ---- ldif -------------------------------------------------------------- */

struct ldif_opts {
	const char *key_file, *base;
	char password[256];
	struct pool pool;
	long uid_base;
};

/* One user entry with an active token, as kwadm would add it. */
static int write_user(const struct ldif_opts *o, const struct kw_master_key *mk,
		      const char *pw_b64, long index)
{
	const char *t = o->pool.tenant;
	unsigned char secret[KW_TOTP_SECRET_BYTES];
	char uid[24], sealed[KW_SEAL_TEXT_MAX + 1];
	long number = o->uid_base + index;
	int rc;

	snprintf(uid, sizeof(uid), USER_FMT, index);
	rc = bench_secret(t, uid, secret);
	if (rc == 0)
		rc = kw_seal(mk, t, uid, secret, sizeof(secret), sealed,
			     sizeof(sealed));
	if (rc != 0)
		return rc;
	printf("dn: uid=%s,ou=people,o=%s,%s\n"
	       "objectClass: inetOrgPerson\n"
	       "objectClass: posixAccount\n"
	       "objectClass: kwUser\n"
	       "uid: %s\ncn: %s\nsn: %s\ndisplayName: %s\n"
	       "uidNumber: %ld\ngidNumber: %ld\n"
	       "homeDirectory: /home/%s/%s\nloginShell: /bin/bash\n"
	       "kwDeactivated: FALSE\n"
	       "userPassword:: %s\n"
	       "kwTotpSecret: %s\nkwTotpState: active\n\n",
	       uid, t, o->base, uid, uid, uid, uid, number, number, t, uid,
	       pw_b64, sealed);
	return ferror(stdout) ? EIO : 0;
}

static int write_ldif(const struct ldif_opts *o)
{
	struct kw_master_key mk;
	char err[256], pw_b64[KW_BASE64_LEN(sizeof(o->password)) + 1];
	long i;
	int rc;

	rc = kw_master_key_load(o->key_file, &mk, err, sizeof(err));
	if (rc != 0) {
		fprintf(stderr, "totp_bench: %s\n", err);
		return 1;
	}
	rc = kw_base64_encode((const unsigned char *)o->password,
			      strlen(o->password), pw_b64, sizeof(pw_b64));
	for (i = 0; rc == 0 && i < o->pool.users; i++)
		rc = write_user(o, &mk, pw_b64, i);
	kw_master_key_wipe(&mk);
	if (rc == 0 && fflush(stdout) != 0)
		rc = EIO;
	if (rc != 0)
		fprintf(stderr, "totp_bench: ldif: %s\n", strerror(rc));
	return rc != 0;
}

/* ---- main -------------------------------------------------------------- */

static int parse_number(const char *s, long min, long max, long *out)
{
	char *end;

	errno = 0;
	*out = strtol(s, &end, 10);
	return errno == 0 && end != s && *end == '\0' && *out >= min &&
			       *out <= max
		       ? 0
		       : EINVAL;
}

static void usage(void)
{
	fprintf(stderr, "usage: totp_bench ldif -k MASTER_KEY -t TENANT -b "
			"TENANTS_BASE "
			"-u UID_BASE\n"
			"                       -n USERS -p PASSWORD_FILE\n"
			"       totp_bench run -s STACK -m MARKED -f FLOOR "
			"-p PASSWORD_FILE\n"
			"                      -H LDAP_URI -b TENANTS_BASE -S "
			"SERVICE_DN\n"
			"                      -P SERVICE_PASSWORD_FILE -T "
			"TENANT:USERS\n"
			"                      -t TENANT:USERS [-t ...] [-n N] "
			"[-c C]\n");
	exit(2);
}

static int main_ldif(int argc, char **argv)
{
	struct ldif_opts o = {.uid_base = -1};
	const char *tenant = NULL;
	long users = 0;
	int opt;

	while ((opt = getopt(argc, argv, "k:t:b:u:n:p:")) != -1) {
		switch (opt) {
		case 'k':
			o.key_file = optarg;
			break;
		case 't':
			tenant = optarg;
			break;
		case 'b':
			o.base = optarg;
			break;
		case 'u':
			if (parse_number(optarg, 0, 4000000000L, &o.uid_base))
				usage();
			break;
		case 'n':
			if (parse_number(optarg, 1, USERS_MAX, &users))
				usage();
			break;
		case 'p':
			if (bench_read_line_file(optarg, o.password,
						 sizeof(o.password)))
				return 1;
			break;
		default:
			usage();
		}
	}
	if (o.key_file == NULL || tenant == NULL || o.base == NULL ||
	    o.uid_base < 0 || users < 1 || o.password[0] == '\0' ||
	    strlen(tenant) >= sizeof(o.pool.tenant))
		usage();
	snprintf(o.pool.tenant, sizeof(o.pool.tenant), "%s", tenant);
	o.pool.users = users;
	return write_ldif(&o);
}

static int main_run(int argc, char **argv)
{
	struct opts o = {.n = 2000, .clients = 8};
	long v;
	int opt, ret;

	while ((opt = getopt(argc, argv, "s:m:f:p:H:b:S:P:T:t:n:c:")) != -1) {
		switch (opt) {
		case 's':
			o.stack = optarg;
			break;
		case 'm':
			o.marked = optarg;
			break;
		case 'f':
			o.floor = optarg;
			break;
		case 'p':
			if (bench_read_line_file(optarg, o.password,
						 sizeof(o.password)))
				return 1;
			break;
		case 'H':
			o.uri = optarg;
			break;
		case 'b':
			o.base = optarg;
			break;
		case 'S':
			o.service_dn = optarg;
			break;
		case 'P':
			if (bench_read_line_file(optarg, o.service_password,
						 sizeof(o.service_password)))
				return 1;
			break;
		case 'T':
			if (pool_parse(optarg, &o.stack_pool))
				usage();
			break;
		case 't':
			if (o.n_pools == POOLS_MAX ||
			    pool_parse(optarg, &o.pools[o.n_pools++]))
				usage();
			break;
		case 'n':
			if (parse_number(optarg, 10, USERS_MAX, &v))
				usage();
			o.n = (int)v;
			break;
		case 'c':
			if (parse_number(optarg, 1, CLIENTS_MAX, &v))
				usage();
			o.clients = (int)v;
			break;
		default:
			usage();
		}
	}
	if (!o.stack || !o.marked || !o.floor || !o.uri || !o.base ||
	    !o.service_dn || o.stack_pool.users == 0 || o.n_pools == 0 ||
	    o.password[0] == '\0')
		usage();
	if (oath_init() != OATH_OK) {
		fprintf(stderr, "totp_bench: oath_init failed\n");
		return 1;
	}
	printf("latency in microseconds; codes: SHA1, %d digits, %d s\n",
	       CODE_DIGITS, CODE_PERIOD_S);
	ret = stack_against_floor(&o);
	if (ret == 0)
		ret = totp_by_tenant_size(&o);
	oath_done();
	return ret;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		usage();
	/* getopt sees the mode's arguments, as if the mode were argv[0] */
	if (strcmp(argv[1], "ldif") == 0)
		return main_ldif(argc - 1, argv + 1);
	if (strcmp(argv[1], "run") == 0)
		return main_run(argc - 1, argv + 1);
	usage();
	return 2;
}
