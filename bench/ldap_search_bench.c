/*
 * ldap_search_bench.c - time one search, repeated, on one warm connection.
 *
 *   ldap_search_bench -H URI [-D DN -w PASSWORD] -b BASE -f FILTER [-n N]
 *
 * Binds once (simple bind with -D, else SASL EXTERNAL, which over
 * ldapi:// makes root the rootdn), runs N synchronous subtree searches
 * (default 2000, after 100 untimed ones to warm the caches) and prints
 * "median_us p99_us entries": the median and 99th percentile of the
 * search times in microseconds, and the entries the last search returned.
 * Every search must succeed; any error stops the run with status 1.
 */
#include <ldap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define WARMUP 100

struct options {
	const char *uri;
	const char *bind_dn;
	const char *password;
	const char *base;
	const char *filter;
	long count;
};

static int parse_options(int argc, char **argv, struct options *opt)
{
	int c;
	char *end;

	memset(opt, 0, sizeof(*opt));
	opt->count = 2000;
	while ((c = getopt(argc, argv, "H:D:w:b:f:n:")) != -1) {
		switch (c) {
		case 'H':
			opt->uri = optarg;
			break;
		case 'D':
			opt->bind_dn = optarg;
			break;
		case 'w':
			opt->password = optarg;
			break;
		case 'b':
			opt->base = optarg;
			break;
		case 'f':
			opt->filter = optarg;
			break;
		case 'n':
			opt->count = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || opt->count < 1 ||
			    opt->count > 10000000)
				return -1;
			break;
		default:
			return -1;
		}
	}
	if (opt->uri == NULL || opt->base == NULL || opt->filter == NULL)
		return -1;
	if ((opt->bind_dn == NULL) != (opt->password == NULL))
		return -1;
	return 0;
}

static int connect_and_bind(const struct options *opt, LDAP **ld_out)
{
	LDAP *ld = NULL;
	int version = LDAP_VERSION3;
	int rc;

	rc = ldap_initialize(&ld, opt->uri);
	if (rc != LDAP_SUCCESS)
		goto done;
	ldap_set_option(ld, LDAP_OPT_PROTOCOL_VERSION, &version);
	if (opt->bind_dn != NULL) {
		struct berval cred;

		cred.bv_val = (char *)opt->password;
		cred.bv_len = strlen(opt->password);
		rc = ldap_sasl_bind_s(ld, opt->bind_dn, LDAP_SASL_SIMPLE, &cred,
				      NULL, NULL, NULL);
	} else {
		/* An empty, present response: the identity is the socket's. */
		struct berval empty = {0, (char *)""};

		rc = ldap_sasl_bind_s(ld, NULL, "EXTERNAL", &empty, NULL, NULL,
				      NULL);
	}
done:
	if (rc != LDAP_SUCCESS) {
		fprintf(stderr, "bind to %s: %s\n", opt->uri,
			ldap_err2string(rc));
		if (ld != NULL)
			ldap_unbind_ext_s(ld, NULL, NULL);
		return -1;
	}
	*ld_out = ld;
	return 0;
}

/* One search; returns its duration in microseconds, or -1. */
static double timed_search(LDAP *ld, const struct options *opt,
			   int *entries_out)
{
	static char uid_attr[] = "uid";
	char *attrs[] = {uid_attr, NULL};
	struct timespec t0, t1;
	LDAPMessage *res = NULL;
	int rc;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = ldap_search_ext_s(ld, opt->base, LDAP_SCOPE_SUBTREE, opt->filter,
			       attrs, 0, NULL, NULL, NULL, 0, &res);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (rc != LDAP_SUCCESS) {
		fprintf(stderr, "search %s under %s: %s\n", opt->filter,
			opt->base, ldap_err2string(rc));
		ldap_msgfree(res);
		return -1;
	}
	*entries_out = ldap_count_entries(ld, res);
	ldap_msgfree(res);
	return (double)(t1.tv_sec - t0.tv_sec) * 1e6 +
	       (double)(t1.tv_nsec - t0.tv_nsec) / 1e3;
}

static int compare_doubles(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	struct options opt;
	LDAP *ld = NULL;
	double *times = NULL;
	int entries = 0;
	int status = 1;
	long i;

	if (parse_options(argc, argv, &opt) != 0) {
		fprintf(stderr,
			"usage: %s -H URI [-D DN -w PASSWORD] -b BASE "
			"-f FILTER [-n COUNT]\n",
			argv[0]);
		return 2;
	}
	if (connect_and_bind(&opt, &ld) != 0)
		goto done;
	times = calloc((size_t)opt.count, sizeof(*times));
	if (times == NULL)
		goto done;
	for (i = 0; i < WARMUP; i++)
		if (timed_search(ld, &opt, &entries) < 0)
			goto done;
	for (i = 0; i < opt.count; i++) {
		times[i] = timed_search(ld, &opt, &entries);
		if (times[i] < 0)
			goto done;
	}
	qsort(times, (size_t)opt.count, sizeof(*times), compare_doubles);
	printf("%.0f %.0f %d\n", times[opt.count / 2],
	       times[(opt.count * 99) / 100], entries);
	status = 0;
done:
	free(times);
	if (ld != NULL)
		ldap_unbind_ext_s(ld, NULL, NULL);
	return status;
}
