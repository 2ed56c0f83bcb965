/*
 * replay.c - run a fuzz target over a corpus, as a TAP test.
 *
 * Each fuzz target defines LLVMFuzzerTestOneInput().  Built with clang
 * -fsanitize=fuzzer it is a real fuzzer (tests/fuzz/run.sh); linked with
 * this file it replays every file of the corpus directories given on the
 * command line (or in REPLAY_CORPUS, fixed at build time), so that
 * `make check` (and the sanitizer build) runs the
 * corpus on every change.  A crash fails the test; nothing else can.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REPLAY_MAX_INPUT (1024 * 1024)

static int replay_file(const char *path)
{
	FILE *fp;
	uint8_t *buf;
	size_t len;

	fp = fopen(path, "rb");
	if (fp == NULL)
		return errno;
	buf = malloc(REPLAY_MAX_INPUT);
	if (buf == NULL) {
		fclose(fp);
		return ENOMEM;
	}
	len = fread(buf, 1, REPLAY_MAX_INPUT, fp);
	fclose(fp);
	/* Copy to an exact-size buffer so that ASan sees overreads. */
	uint8_t *exact = malloc(len ? len : 1);
	if (exact == NULL) {
		free(buf);
		return ENOMEM;
	}
	memcpy(exact, buf, len);
	free(buf);
	LLVMFuzzerTestOneInput(exact, len);
	free(exact);
	return 0;
}

int main(int argc, char **argv)
{
	int n = 0, failed = 0;
#ifdef REPLAY_CORPUS
	/* built for `make check`: the corpus is known at build time */
	static char corpus[] = REPLAY_CORPUS;
	char *fixed[] = {argv[0], corpus, NULL};

	if (argc == 1) {
		argc = 2;
		argv = fixed;
	}
#endif

	printf("# replaying %d corpus director%s\n", argc - 1,
	       argc == 2 ? "y" : "ies");
	for (int i = 1; i < argc; i++) {
		DIR *d = opendir(argv[i]);
		struct dirent *de;

		if (d == NULL) {
			printf("not ok %d - open corpus %s: %s\n", ++n, argv[i],
			       strerror(errno));
			failed++;
			continue;
		}
		while ((de = readdir(d)) != NULL) {
			char path[4096];
			struct stat st;
			int rc;

			if (de->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "%s/%s", argv[i],
				 de->d_name);
			if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
				continue;
			rc = replay_file(path);
			printf("%s %d - %s\n", rc == 0 ? "ok" : "not ok", ++n,
			       de->d_name);
			failed += rc != 0;
		}
		closedir(d);
	}
	if (n == 0) {
		printf("not ok 1 - empty corpus\n");
		n = 1;
		failed = 1;
	}
	printf("1..%d\n", n);
	return failed ? 1 : 0;
}
