/*
 * kwspool.c - look into an audit spool, for tests that check what
 * keywardd left in its spool.
 *
 *   kwspool count DIR   prints the number of records waiting
 *   kwspool list DIR    prints the waiting lines, oldest first
 *
 * Nothing is delivered: the cursor does not move.  Opening the spool
 * does what kw_spool_open() does (it may start the first segment, or cut
 * off a torn last line), which is safe while keywardd runs, and needs
 * the user that owns DIR.  A warning of the open (a lost cursor) goes to
 * stderr.  Exit status: 0 on success, 1 on a failure (said on stderr), 2
 * for a usage error.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "kw_audit.h"

static int print_line(const char *line, size_t len, void *arg)
{
	FILE *out = arg;

	if (fwrite(line, 1, len, out) != len || putc('\n', out) == EOF)
		return EIO;
	return 0;
}

static int run(const char *command, const char *dir)
{
	char err[512];
	struct kw_spool *s = NULL;
	size_t n = 0;
	int rc;

	rc = kw_spool_open(dir, &s, err, sizeof(err));
	if (rc != 0) {
		fprintf(stderr, "kwspool: %s\n", err[0] ? err : strerror(rc));
		return rc;
	}
	if (err[0] != '\0')
		fprintf(stderr, "kwspool: %s\n", err);
	if (strcmp(command, "count") == 0) {
		rc = kw_spool_count(s, &n);
		if (rc == 0)
			printf("%zu\n", n);
	} else {
		rc = kw_spool_list(s, print_line, stdout);
	}
	if (rc != 0)
		fprintf(stderr, "kwspool: %s: %s\n", dir, strerror(rc));
	kw_spool_close(s);
	return rc;
}

int main(int argc, char **argv)
{
	int rc;

	if (argc != 3 ||
	    (strcmp(argv[1], "count") != 0 && strcmp(argv[1], "list") != 0)) {
		fputs("usage: kwspool count|list DIR\n", stderr);
		return 2;
	}
	rc = run(argv[1], argv[2]);
	if (fflush(stdout) != 0 && rc == 0) {
		fprintf(stderr, "kwspool: %s\n", strerror(errno));
		rc = EIO;
	}
	return rc == 0 ? 0 : 1;
}
