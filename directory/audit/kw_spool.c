/*
 * kw_spool.c - the local spool of audit records: one file per record in
 * a private directory, written so that an acknowledged record survives
 * a crash, and replayed in order once the directory answers again.
 *
 * Locks.  Appends hold the handle's append mutex (threads) and an flock
 * on "lock" (processes); the lock file also holds the next sequence
 * number, so that two processes appending to one spool keep one order.
 * A replay holds its own mutex and an flock on "replay.lock" instead:
 * delivering may wait on the network, and logins that append must not
 * wait for it.  An append only ever adds a complete file under a new
 * name, so a replay needs nothing more to see a consistent spool.
 *
 * The counter in "lock" is not synced: after a machine crash it may be
 * behind, and kw_spool_open() takes the highest number found on disk
 * instead.  A record is linked under its final name with linkat(), which
 * never replaces an existing file, so even a wrong counter cannot
 * overwrite a record.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kw_audit.h"

#define RECORD_DIGITS 20
#define RECORD_SUFFIX ".rec"
#define RECORD_NAME_LEN (RECORD_DIGITS + sizeof(RECORD_SUFFIX) - 1)
#define TEMP_PREFIX "tmp."
#define LOCK_NAME "lock"
#define REPLAY_LOCK_NAME "replay.lock"
#define BAD_DIR "bad"
#define COUNTER_LEN (RECORD_DIGITS + 1) /* digits and a newline */
#define NAME_MAX_LEN 64
#define LINK_ATTEMPTS 3
#define BAD_NAME_ATTEMPTS 1000

struct kw_spool {
	int dirfd;
	int lockfd;
	int replayfd;
	pthread_mutex_t append_mutex;
	pthread_mutex_t replay_mutex;
	bool mutexes_ready;
};

__attribute__((format(printf, 3, 4))) static void
set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* errno after a failed call; EIO if the call left none. */
static int last_error(void)
{
	return errno != 0 ? errno : EIO;
}

/* --- names and the counter ------------------------------------------- */

/* Parse RECORD_DIGITS decimal digits at P; false on overflow. */
static bool parse_digits(const char *p, unsigned long long *out)
{
	unsigned long long v = 0;

	for (size_t i = 0; i < RECORD_DIGITS; i++) {
		unsigned int d;

		if (p[i] < '0' || p[i] > '9')
			return false;
		d = (unsigned int)(p[i] - '0');
		if (v > (ULLONG_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = v;
	return true;
}

/* Is NAME a record file's name?  Sets *SEQ if it is. */
static bool parse_record_name(const char *name, unsigned long long *seq)
{
	if (strlen(name) != RECORD_NAME_LEN ||
	    strcmp(name + RECORD_DIGITS, RECORD_SUFFIX) != 0)
		return false;
	return parse_digits(name, seq) && *seq != 0;
}

static void record_name(unsigned long long seq, char name[NAME_MAX_LEN])
{
	snprintf(name, NAME_MAX_LEN, "%0*llu" RECORD_SUFFIX, RECORD_DIGITS,
		 seq);
}

/* The next number in the lock file, or 0 if it holds none. */
static unsigned long long read_counter(int lockfd)
{
	char text[COUNTER_LEN];
	unsigned long long v;
	ssize_t n;

	do
		n = pread(lockfd, text, sizeof(text), 0);
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)sizeof(text) || text[RECORD_DIGITS] != '\n' ||
	    !parse_digits(text, &v))
		return 0;
	return v;
}

static int write_counter(int lockfd, unsigned long long next)
{
	char text[COUNTER_LEN + 1];
	ssize_t n;

	snprintf(text, sizeof(text), "%0*llu\n", RECORD_DIGITS, next);
	do
		n = pwrite(lockfd, text, COUNTER_LEN, 0);
	while (n < 0 && errno == EINTR);
	if (n != COUNTER_LEN)
		return n < 0 ? last_error() : EIO;
	return 0;
}

/* --- small file helpers ---------------------------------------------- */

static int lock_exclusive(int fd)
{
	while (flock(fd, LOCK_EX) != 0)
		if (errno != EINTR)
			return last_error();
	return 0;
}

static void unlock_file(int fd)
{
	flock(fd, LOCK_UN);
}

static int sync_fd(int fd)
{
	return fsync(fd) == 0 ? 0 : last_error();
}

static int write_all(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? last_error() : EIO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Open (creating) the lock file NAME of the spool, owned by us. */
static int open_lock_file(int dirfd, const char *name, int *fd_out)
{
	struct stat st;
	int fd;

	fd = openat(dirfd, name, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC,
		    0600);
	if (fd < 0)
		return last_error();
	if (fstat(fd, &st) != 0) {
		int rc = last_error();

		close(fd);
		return rc;
	}
	if (!S_ISREG(st.st_mode) || st.st_uid != geteuid()) {
		close(fd);
		return EPERM;
	}
	*fd_out = fd;
	return 0;
}

/* A stream of the spool directory's entries, independent of DIRFD's. */
static int open_listing(int dirfd, DIR **out)
{
	int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return last_error();
	*out = fdopendir(fd);
	if (*out == NULL) {
		int rc = last_error();

		close(fd);
		return rc;
	}
	return 0;
}

/* --- scanning -------------------------------------------------------- */

/* What a scan of the directory found. */
struct scan {
	unsigned long long max_seq;
	size_t count;
	unsigned long long *seqs; /* only if asked for */
	size_t room;
};

static int scan_keep_seq(struct scan *sc, unsigned long long seq)
{
	if (sc->count == sc->room) {
		size_t room = sc->room != 0 ? 2 * sc->room : 64;
		unsigned long long *p;

		if (room > SIZE_MAX / sizeof(*p))
			return ENOMEM;
		p = realloc(sc->seqs, room * sizeof(*p));
		if (p == NULL)
			return ENOMEM;
		sc->seqs = p;
		sc->room = room;
	}
	sc->seqs[sc->count] = seq;
	return 0;
}

/*
 * Look at every entry of S's directory: count the records and find the
 * highest number; keep the numbers if KEEP; remove temporary files if
 * REMOVE_TEMPS (only with the append lock held: then no append is half
 * way, and every temporary file is one that a crash left).
 */
static int scan_spool(struct kw_spool *s, bool keep, bool remove_temps,
		      struct scan *sc)
{
	struct dirent *de;
	bool removed = false;
	DIR *d = NULL;
	int rc;

	memset(sc, 0, sizeof(*sc));
	rc = open_listing(s->dirfd, &d);
	if (rc != 0)
		goto done;
	for (;;) {
		unsigned long long seq;

		errno = 0;
		de = readdir(d);
		if (de == NULL) {
			rc = errno;
			break;
		}
		if (remove_temps && strncmp(de->d_name, TEMP_PREFIX,
					    strlen(TEMP_PREFIX)) == 0) {
			if (unlinkat(s->dirfd, de->d_name, 0) != 0 &&
			    errno != ENOENT) {
				rc = last_error();
				break;
			}
			removed = true;
			continue;
		}
		if (!parse_record_name(de->d_name, &seq))
			continue;
		if (keep) {
			rc = scan_keep_seq(sc, seq);
			if (rc != 0)
				break;
		}
		sc->count++;
		if (seq > sc->max_seq)
			sc->max_seq = seq;
	}
	if (rc == 0 && removed)
		rc = sync_fd(s->dirfd);
done:
	if (d != NULL)
		closedir(d);
	if (rc != 0) {
		free(sc->seqs);
		memset(sc, 0, sizeof(*sc));
	}
	return rc;
}

/* With the append lock held: the number the next record gets. */
static int next_number(struct kw_spool *s, bool rescan, unsigned long long *out)
{
	unsigned long long next = rescan ? 0 : read_counter(s->lockfd);
	struct scan sc;
	int rc;

	if (next != 0) {
		*out = next;
		return 0;
	}
	rc = scan_spool(s, false, false, &sc);
	if (rc != 0)
		return rc;
	if (sc.max_seq == ULLONG_MAX)
		return EOVERFLOW;
	*out = sc.max_seq + 1;
	return 0;
}

/* --- open and close -------------------------------------------------- */

/* With the append lock held: clean up after a crash, fix the counter. */
static int recover(struct kw_spool *s)
{
	unsigned long long counter = read_counter(s->lockfd), next;
	struct scan sc;
	int rc;

	rc = scan_spool(s, false, true, &sc);
	if (rc != 0)
		return rc;
	if (sc.max_seq == ULLONG_MAX)
		return EOVERFLOW;
	next = sc.max_seq + 1;
	if (counter > next)
		next = counter;
	return write_counter(s->lockfd, next);
}

static int check_directory(int dirfd, const char *dir, char *err, size_t errlen)
{
	struct stat st;

	if (fstat(dirfd, &st) != 0) {
		int rc = last_error();

		set_err(err, errlen, "%s: %s", dir, strerror(rc));
		return rc;
	}
	if (st.st_uid != geteuid()) {
		set_err(err, errlen, "%s: not owned by uid %u", dir,
			(unsigned int)geteuid());
		return EPERM;
	}
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
		set_err(err, errlen, "%s: writable by group or others", dir);
		return EPERM;
	}
	return 0;
}

int kw_spool_open(const char *dir, struct kw_spool **out, char *err,
		  size_t errlen)
{
	struct kw_spool *s = NULL;
	bool locked = false;
	int rc;

	set_err(err, errlen, "%s", "");
	if (out != NULL)
		*out = NULL;
	if (dir == NULL || out == NULL) {
		set_err(err, errlen, "spool: no directory given");
		return EINVAL;
	}
	s = calloc(1, sizeof(*s));
	if (s == NULL) {
		set_err(err, errlen, "%s: out of memory", dir);
		return ENOMEM;
	}
	s->dirfd = s->lockfd = s->replayfd = -1;
	rc = pthread_mutex_init(&s->append_mutex, NULL);
	if (rc == 0) {
		rc = pthread_mutex_init(&s->replay_mutex, NULL);
		if (rc != 0)
			pthread_mutex_destroy(&s->append_mutex);
	}
	if (rc != 0) {
		set_err(err, errlen, "%s: %s", dir, strerror(rc));
		free(s);
		return rc;
	}
	s->mutexes_ready = true;

	s->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (s->dirfd < 0) {
		rc = last_error();
		set_err(err, errlen, "%s: %s", dir, strerror(rc));
		goto done;
	}
	rc = check_directory(s->dirfd, dir, err, errlen);
	if (rc != 0)
		goto done;
	rc = open_lock_file(s->dirfd, LOCK_NAME, &s->lockfd);
	if (rc == 0)
		rc = open_lock_file(s->dirfd, REPLAY_LOCK_NAME, &s->replayfd);
	if (rc != 0) {
		set_err(err, errlen, "%s: lock file: %s", dir, strerror(rc));
		goto done;
	}
	rc = lock_exclusive(s->lockfd);
	locked = rc == 0;
	if (rc == 0)
		rc = recover(s);
	if (rc != 0)
		set_err(err, errlen, "%s: %s", dir, strerror(rc));
done:
	if (locked)
		unlock_file(s->lockfd);
	if (rc != 0)
		kw_spool_close(s);
	else
		*out = s;
	return rc;
}

void kw_spool_close(struct kw_spool *s)
{
	if (s == NULL)
		return;
	if (s->replayfd >= 0)
		close(s->replayfd);
	if (s->lockfd >= 0)
		close(s->lockfd);
	if (s->dirfd >= 0)
		close(s->dirfd);
	if (s->mutexes_ready) {
		pthread_mutex_destroy(&s->replay_mutex);
		pthread_mutex_destroy(&s->append_mutex);
	}
	free(s);
}

/* --- append ---------------------------------------------------------- */

/*
 * Write the LEN bytes of LINE as record SEQ: into a temporary file,
 * synced, then linked under the record's name, then the directory
 * synced.  Returns EEXIST if a record of that number is already there.
 */
static int write_record(struct kw_spool *s, unsigned long long seq,
			const char *line, size_t len)
{
	char temp[NAME_MAX_LEN], name[NAME_MAX_LEN];
	bool linked = false;
	int fd, rc;

	snprintf(temp, sizeof(temp), TEMP_PREFIX "%0*llu", RECORD_DIGITS, seq);
	record_name(seq, name);
	/* Under the append lock, a temporary file of this name is debris. */
	if (unlinkat(s->dirfd, temp, 0) != 0 && errno != ENOENT)
		return last_error();
	fd = openat(s->dirfd, temp,
		    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return last_error();
	rc = write_all(fd, line, len);
	if (rc == 0)
		rc = sync_fd(fd);
	if (close(fd) != 0 && rc == 0)
		rc = last_error();
	if (rc != 0)
		goto done;
	if (linkat(s->dirfd, temp, s->dirfd, name, 0) != 0) {
		rc = last_error();
		goto done;
	}
	/* The record is in place: from here on, errors do not undo it. */
	linked = true;
	if (unlinkat(s->dirfd, temp, 0) != 0)
		rc = last_error();
	if (fsync(s->dirfd) != 0 && rc == 0)
		rc = last_error();
done:
	if (!linked)
		unlinkat(s->dirfd, temp, 0);
	return rc;
}

int kw_spool_append(struct kw_spool *s, const struct kw_audit_record *r)
{
	char line[KW_AUDIT_LINE_MAX + 1];
	unsigned long long seq = 0;
	bool locked = false;
	size_t len;
	int rc;

	if (s == NULL || r == NULL)
		return EINVAL;
	rc = kw_audit_encode(r, line, sizeof(line) - 1, &len);
	if (rc != 0)
		return rc;
	line[len++] = '\n';

	rc = pthread_mutex_lock(&s->append_mutex);
	if (rc != 0)
		return rc;
	rc = lock_exclusive(s->lockfd);
	if (rc != 0)
		goto done;
	locked = true;
	/*
	 * A number already taken means the counter fell behind (a machine
	 * crash, an edited lock file): count again from the files.
	 */
	for (int attempt = 0; attempt < LINK_ATTEMPTS; attempt++) {
		rc = next_number(s, attempt > 0, &seq);
		if (rc != 0)
			goto done;
		rc = write_record(s, seq, line, len);
		if (rc != EEXIST)
			break;
	}
	/*
	 * The record is stored whatever happens to the counter: a counter
	 * left behind costs a rescan at the next append, nothing more.
	 */
	if (rc == 0)
		(void)write_counter(s->lockfd, seq + 1);
done:
	if (locked)
		unlock_file(s->lockfd);
	pthread_mutex_unlock(&s->append_mutex);
	return rc;
}

/* --- replay ---------------------------------------------------------- */

static int compare_seq(const void *a, const void *b)
{
	unsigned long long x = *(const unsigned long long *)a;
	unsigned long long y = *(const unsigned long long *)b;

	return (x > y) - (x < y);
}

/*
 * Read record file NAME into *R.  Returns 0 with *DECODED telling whether
 * it holds one valid line; ENOENT if it is gone; another errno value if
 * it could not be read.
 */
static int load_record(struct kw_spool *s, const char *name,
		       struct kw_audit_record *r, bool *decoded)
{
	char buf[KW_AUDIT_LINE_MAX + 1];
	struct stat st;
	size_t len = 0;
	int fd, rc = 0;

	*decoded = false;
	fd = openat(s->dirfd, name,
		    O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return errno == ELOOP ? 0 : last_error();
	if (fstat(fd, &st) != 0) {
		rc = last_error();
		goto done;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > (off_t)sizeof(buf))
		goto done;
	while (len < sizeof(buf)) {
		ssize_t n = read(fd, buf + len, sizeof(buf) - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = last_error();
			goto done;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	/* One line and its newline; the decoder refuses any other newline. */
	if (len > 0 && buf[len - 1] == '\n')
		*decoded = kw_audit_decode(buf, len - 1, r) == 0;
done:
	close(fd);
	return rc;
}

/* Move NAME into bad/ under a name not yet used there. */
static int quarantine(struct kw_spool *s, const char *name)
{
	char target[NAME_MAX_LEN + 16];
	struct stat st;
	int badfd = -1, rc = 0;

	if (mkdirat(s->dirfd, BAD_DIR, 0700) != 0 && errno != EEXIST)
		return last_error();
	badfd = openat(s->dirfd, BAD_DIR,
		       O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (badfd < 0)
		return last_error();
	if (fstat(badfd, &st) != 0) {
		rc = last_error();
		goto done;
	}
	if (st.st_uid != geteuid() || (st.st_mode & (S_IWGRP | S_IWOTH))) {
		rc = EPERM;
		goto done;
	}
	/* Only replays write in bad/, and the replay lock is held. */
	snprintf(target, sizeof(target), "%s", name);
	for (int i = 1; fstatat(badfd, target, &st, AT_SYMLINK_NOFOLLOW) == 0;
	     i++) {
		if (i == BAD_NAME_ATTEMPTS) {
			rc = EEXIST;
			goto done;
		}
		snprintf(target, sizeof(target), "%s.%d", name, i);
	}
	if (errno != ENOENT) {
		rc = last_error();
		goto done;
	}
	if (renameat(s->dirfd, name, badfd, target) != 0) {
		rc = last_error();
		goto done;
	}
	rc = sync_fd(badfd);
	if (rc == 0)
		rc = sync_fd(s->dirfd);
done:
	close(badfd);
	return rc;
}

static int remove_record(struct kw_spool *s, const char *name)
{
	if (unlinkat(s->dirfd, name, 0) != 0 && errno != ENOENT)
		return last_error();
	return sync_fd(s->dirfd);
}

int kw_spool_replay(struct kw_spool *s,
		    int (*deliver)(const struct kw_audit_record *r, void *arg),
		    void *arg, size_t *delivered_out, size_t *bad_out)
{
	size_t delivered = 0, bad = 0;
	struct scan sc = {0};
	bool mutex_held = false, locked = false;
	int rc;

	if (s == NULL || deliver == NULL) {
		rc = EINVAL;
		goto done;
	}
	rc = pthread_mutex_lock(&s->replay_mutex);
	if (rc != 0)
		goto done;
	mutex_held = true;
	rc = lock_exclusive(s->replayfd);
	if (rc != 0)
		goto done;
	locked = true;
	rc = scan_spool(s, true, false, &sc);
	if (rc != 0)
		goto done;
	qsort(sc.seqs, sc.count, sizeof(*sc.seqs), compare_seq);
	for (size_t i = 0; i < sc.count; i++) {
		char name[NAME_MAX_LEN];
		struct kw_audit_record r;
		bool decoded;

		record_name(sc.seqs[i], name);
		rc = load_record(s, name, &r, &decoded);
		if (rc == ENOENT) {
			rc = 0;
			continue;
		}
		if (rc != 0)
			goto done;
		if (!decoded) {
			rc = quarantine(s, name);
			if (rc != 0)
				goto done;
			bad++;
			continue;
		}
		rc = deliver(&r, arg);
		if (rc != 0)
			goto done;
		delivered++;
		rc = remove_record(s, name);
		if (rc != 0)
			goto done;
	}
done:
	free(sc.seqs);
	if (locked)
		unlock_file(s->replayfd);
	if (mutex_held)
		pthread_mutex_unlock(&s->replay_mutex);
	if (delivered_out != NULL)
		*delivered_out = delivered;
	if (bad_out != NULL)
		*bad_out = bad;
	return rc;
}

int kw_spool_count(struct kw_spool *s, size_t *count_out)
{
	struct scan sc;
	int rc;

	if (count_out != NULL)
		*count_out = 0;
	if (s == NULL || count_out == NULL)
		return EINVAL;
	rc = scan_spool(s, false, false, &sc);
	if (rc == 0)
		*count_out = sc.count;
	return rc;
}
