/*
 * bench_util.c - what the benchmark drivers share (bench_util.h).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "bench_util.h"

double bench_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

LDAP *bench_ldap_open_bound(const char *uri, const char *dn,
			    const char *password)
{
	struct berval cred = {strlen(password), (char *)password};
	int version = LDAP_VERSION3;
	LDAP *ld = NULL;

	if (ldap_initialize(&ld, uri) != LDAP_SUCCESS)
		return NULL;
	ldap_set_option(ld, LDAP_OPT_PROTOCOL_VERSION, &version);
	if (ldap_sasl_bind_s(ld, dn, LDAP_SASL_SIMPLE, &cred, NULL, NULL,
			     NULL) != LDAP_SUCCESS) {
		ldap_unbind_ext_s(ld, NULL, NULL);
		return NULL;
	}
	return ld;
}

int bench_read_line_file(const char *path, char *buf, size_t sz)
{
	FILE *fp = fopen(path, "r");

	if (fp == NULL || fgets(buf, (int)sz, fp) == NULL) {
		fprintf(stderr, "%s: cannot read %s\n",
			program_invocation_short_name, path);
		if (fp != NULL)
			fclose(fp);
		return -1;
	}
	fclose(fp);
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

int bench_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}
