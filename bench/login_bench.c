/*
 * login_bench.c - what a keyward login costs, next to its floor.
 *
 * Runs complete PAM transactions (pam_start, pam_authenticate,
 * pam_acct_mgmt, pam_end) of a service whose stack is
 * pam_keyward_password + pam_keyward_access, and in the same run the floor
 * of such a login: a PAM transaction of pam_permit alone plus the
 * directory operations that the login needs (a search for the user on a
 * warm service connection and a bind as the user on a warm connection of
 * its own), made by a bare libldap client.  Each figure is measured with
 * one client and with C concurrent clients (threads).
 *
 *   login_bench -s SERVICE -f FLOOR_SERVICE -u USER -p PASSWORD_FILE
 *               -H LDAP_URI -b SEARCH_BASE -D USER_DN
 *               -S SERVICE_DN -P SERVICE_PASSWORD_FILE [-n N] [-c C] [-w]
 *               [-W COMMAND]
 *
 * With -W, COMMAND (run by the shell) must return once keywardd has
 * delivered every record of its spool to the directory.  It runs before
 * each measurement, so that none pays for the delivery of the records of
 * the one before, and its time after a stack measurement is printed: how
 * long after the last login the records reached the tenant's log.
 *
 * With -w every login uses a wrong password, and a refusal is what is
 * expected: the stack's figure is the cost of a failed login, and the
 * floor's directory work is the search, the failed bind and the one
 * write a failure must make (an increment of the user's counter).
 *
 * PAM finds SERVICE and FLOOR_SERVICE where the application's PAM looks:
 * run it under pam_wrapper (bench/login_bench.sh does).  Prints median
 * and 99th percentile latency in microseconds and logins per second.
 */
#include "config.h"

#include <errno.h>
#include <ldap.h>
#include <pthread.h>
#include <stdbool.h>
#include <security/pam_appl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"

struct opts {
	const char *service, *floor_service, *user, *uri, *base, *user_dn;
	const char *service_dn;
	char password[256], service_password[256];
	int n, clients;
	bool wrong;        /* -w: measure failed logins */
	const char *drain; /* -W: waits until every record is delivered */
};

struct run {
	const struct opts *o;
	bool floor;
	int n;
	double *lat; /* microseconds, one per login */
	int failures;
};

static int conv(int n, const struct pam_message **msg,
		struct pam_response **resp, void *data)
{
	struct pam_response *r = calloc((size_t)n, sizeof(*r));
	int i;

	if (r == NULL)
		return PAM_BUF_ERR;
	for (i = 0; i < n; i++)
		if (msg[i]->msg_style == PAM_PROMPT_ECHO_OFF ||
		    msg[i]->msg_style == PAM_PROMPT_ECHO_ON)
			r[i].resp = strdup((const char *)data);
	*resp = r;
	return PAM_SUCCESS;
}

static int pam_login(const char *service, const char *user,
		     const char *password)
{
	struct pam_conv c = {conv, (void *)password};
	pam_handle_t *ph = NULL;
	int rc;

	rc = pam_start(service, user, &c, &ph);
	if (rc != PAM_SUCCESS)
		return rc;
	rc = pam_authenticate(ph, 0);
	if (rc == PAM_SUCCESS)
		rc = pam_acct_mgmt(ph, 0);
	pam_end(ph, rc);
	return rc;
}

/*
 * A failure's one write: an increment on the user's entry.  Of another
 * counter than keywardd's, so that the floor's writes lock nobody.
 */
static int floor_count(const struct opts *o, LDAP *svc)
{
	char *one[] = {(char *)"1", NULL};
	LDAPMod inc = {LDAP_MOD_INCREMENT,
		       (char *)"kwCodeFailures",
		       {.modv_strvals = one}};
	LDAPMod *mods[] = {&inc, NULL};

	int rc = ldap_modify_ext_s(svc, o->user_dn, mods, NULL, NULL);

	if (rc == LDAP_NO_SUCH_ATTRIBUTE) { /* the first failure sets it */
		inc.mod_op = LDAP_MOD_REPLACE;
		rc = ldap_modify_ext_s(svc, o->user_dn, mods, NULL, NULL);
	}
	return rc;
}

/* The directory work of one login: find the user, bind as the user. */
static int floor_ldap(const struct opts *o, LDAP *svc, LDAP *usr)
{
	char *attrs[] = {(char *)"uid", (char *)"uidNumber",
			 (char *)"kwDeactivated", (char *)"pwdReset", NULL};
	static char wrong[] = "not the password";
	struct berval cred = {strlen(o->password), (char *)o->password};
	LDAPMessage *res = NULL;
	char filter[128];
	int rc;

	if (o->wrong)
		cred = (struct berval){sizeof(wrong) - 1, wrong};
	snprintf(filter, sizeof(filter), "(uid=%.*s)",
		 (int)strcspn(o->user, "@"), o->user);
	rc = ldap_search_ext_s(svc, o->base, LDAP_SCOPE_ONELEVEL, filter, attrs,
			       0, NULL, NULL, NULL, 0, &res);
	if (rc == LDAP_SUCCESS && ldap_count_entries(svc, res) != 1)
		rc = LDAP_NO_SUCH_OBJECT;
	ldap_msgfree(res);
	if (rc != LDAP_SUCCESS)
		return rc;
	rc = ldap_sasl_bind_s(usr, o->user_dn, LDAP_SASL_SIMPLE, &cred, NULL,
			      NULL, NULL);
	if (!o->wrong)
		return rc;
	if (rc != LDAP_INVALID_CREDENTIALS)
		return LDAP_OTHER;
	return floor_count(o, svc);
}

static void *worker(void *arg)
{
	struct run *r = arg;
	const struct opts *o = r->o;
	LDAP *svc = NULL, *usr = NULL;
	int i;

	if (r->floor) {
		svc = bench_ldap_open_bound(o->uri, o->service_dn,
					    o->service_password);
		usr = bench_ldap_open_bound(o->uri, o->user_dn, o->password);
		if (svc == NULL || usr == NULL) {
			r->failures = r->n;
			goto out;
		}
	}
	for (i = 0; i < r->n; i++) {
		double t0 = bench_now_us();
		int rc;

		if (r->floor) {
			rc = pam_login(o->floor_service, o->user, o->password);
			if (rc == PAM_SUCCESS &&
			    floor_ldap(o, svc, usr) != LDAP_SUCCESS)
				rc = PAM_SYSTEM_ERR;
		} else {
			rc = pam_login(o->service, o->user,
				       o->wrong ? "not the password"
						: o->password);
			/* a refused wrong password is the expected answer */
			if (o->wrong && rc == PAM_AUTH_ERR)
				rc = PAM_SUCCESS;
		}
		r->lat[i] = bench_now_us() - t0;
		if (rc != PAM_SUCCESS)
			r->failures++;
	}
out:
	if (svc != NULL)
		ldap_unbind_ext_s(svc, NULL, NULL);
	if (usr != NULL)
		ldap_unbind_ext_s(usr, NULL, NULL);
	return NULL;
}

struct figures {
	double median, p99, per_s;
	int failures;
};

static int measure(const struct opts *o, bool floor, int clients,
		   struct figures *f)
{
	pthread_t th[64];
	struct run runs[64];
	double *all, t0, wall;
	int per = o->n / clients, i, k = 0, total;

	total = per * clients;
	all = calloc((size_t)total, sizeof(*all));
	if (all == NULL)
		return ENOMEM;
	t0 = bench_now_us();
	for (i = 0; i < clients; i++) {
		runs[i] = (struct run){.o = o,
				       .floor = floor,
				       .n = per,
				       .lat = all + (size_t)i * per};
		pthread_create(&th[i], NULL, worker, &runs[i]);
	}
	f->failures = 0;
	for (i = 0; i < clients; i++) {
		pthread_join(th[i], NULL);
		f->failures += runs[i].failures;
	}
	wall = bench_now_us() - t0;
	qsort(all, (size_t)total, sizeof(*all), bench_cmp_double);
	k = total / 2;
	f->median = all[k];
	f->p99 = all[(size_t)(total * 0.99) < (size_t)total
			     ? (size_t)(total * 0.99)
			     : (size_t)total - 1];
	f->per_s = total / (wall / 1e6);
	free(all);
	return 0;
}

/* Run the -W command: milliseconds it took, or -1 (none, or it failed). */
static double drain(const struct opts *o)
{
	double t0 = bench_now_us();

	if (o->drain == NULL)
		return -1;
	if (system(o->drain) != 0) {
		fprintf(stderr, "login_bench: %s failed\n", o->drain);
		return -1;
	}
	return (bench_now_us() - t0) / 1e3;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: login_bench -s SERVICE -f FLOOR_SERVICE -u USER "
		"-p PASSWORD_FILE\n"
		"                   -H LDAP_URI -b SEARCH_BASE -D USER_DN "
		"-S SERVICE_DN\n"
		"                   -P SERVICE_PASSWORD_FILE [-n N] [-c C] "
		"[-w] [-W COMMAND]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	struct opts o = {.n = 2000, .clients = 8};
	int counts[2], ci, opt;

	while ((opt = getopt(argc, argv, "s:f:u:p:H:b:D:S:P:n:c:wW:")) != -1) {
		switch (opt) {
		case 's':
			o.service = optarg;
			break;
		case 'f':
			o.floor_service = optarg;
			break;
		case 'u':
			o.user = optarg;
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
		case 'D':
			o.user_dn = optarg;
			break;
		case 'S':
			o.service_dn = optarg;
			break;
		case 'P':
			if (bench_read_line_file(optarg, o.service_password,
						 sizeof(o.service_password)))
				return 1;
			break;
		case 'n':
			o.n = atoi(optarg);
			break;
		case 'c':
			o.clients = atoi(optarg);
			break;
		case 'w':
			o.wrong = true;
			break;
		case 'W':
			o.drain = optarg;
			break;
		default:
			usage();
		}
	}
	if (!o.service || !o.floor_service || !o.user || !o.uri || !o.base ||
	    !o.user_dn || !o.service_dn || o.n < 10 || o.clients < 1 ||
	    o.clients > 64)
		usage();

	/* warm up: modules loaded once, connections made, caches filled */
	for (opt = 0; opt < 20; opt++)
		pam_login(o.service, o.user, o.password);
	if (o.wrong)
		printf("failed logins (a wrong password each)\n");

	counts[0] = 1;
	counts[1] = o.clients;
	printf("%d logins per measurement; latency in microseconds\n", o.n);
	printf("%-8s %-34s %8s %8s %9s %6s\n", "clients", "what", "median",
	       "p99", "logins/s", "failed");
	for (ci = 0; ci < 2; ci++) {
		struct figures stack, floor;
		double lag;

		drain(&o);
		measure(&o, false, counts[ci], &stack);
		lag = drain(&o);
		measure(&o, true, counts[ci], &floor);
		printf("%-8d %-34s %8.0f %8.0f %9.0f %6d\n", counts[ci],
		       o.wrong ? "keyward stack, wrong password"
			       : "keyward password+access stack",
		       stack.median, stack.p99, stack.per_s, stack.failures);
		printf("%-8d %-34s %8.0f %8.0f %9.0f %6d\n", counts[ci],
		       o.wrong ? "floor: permit+search+bind+increment"
			       : "floor: pam_permit + search + bind",
		       floor.median, floor.p99, floor.per_s, floor.failures);
		printf("%-8d %-34s %8.2f %8.2f %9.2f\n", counts[ci],
		       "ratio stack/floor", stack.median / floor.median,
		       stack.p99 / floor.p99, floor.per_s / stack.per_s);
		if (lag >= 0)
			printf("%-8d %-34s %8.0f ms\n", counts[ci],
			       "records in the log, after the last", lag);
	}
	return 0;
}
