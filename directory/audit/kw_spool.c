/*
 * kw_spool.c - the local spool of audit records: an append-only journal
 * of segment files in a private directory, and a cursor that says how far
 * replays have fed the directory from it.
 *
 * Appends.  A record is one line, written with one write(2) to the newest
 * segment, opened O_APPEND.  Appends hold the handle's append mutex and an
 * flock on "lock": the flock keeps processes apart, but it belongs to the
 * open file, which the threads of a handle share, so it cannot keep them
 * apart.  Under the lock an append first looks at the end of the segment:
 * a writer killed in the middle of its line leaves a torn line, never
 * acknowledged, which is cut off; the next line would merge with it.
 *
 * Rotation.  Under the lock, an append that finds its segment at or past
 * the segment size looks for a newer one (another process may have
 * started it) and otherwise creates the one numbered one higher (O_EXCL).
 * Every append checks this before it writes, so no line goes into a
 * segment once a newer one exists: a replay that sees a newer segment
 * knows that the older one is complete.
 *
 * Group commit.  With sync on, the line is written under the locks but
 * synced outside them.  Each line written through a handle takes a ticket
 * (WRITTEN); SYNCED is the highest ticket known to be on disk.  The first
 * waiter syncs up to WRITTEN for everyone, without the mutex, so that
 * other threads go on appending and join the next round; the rest wait on
 * SYNCED_COND.  A handle syncs the segment it leaves before it moves to
 * another, so that syncing the current segment covers every ticket.
 *
 * Replays hold their own mutex and an flock on "replay.lock": delivering
 * may wait on the network, and logins that append must not wait for it.
 * A replay reads only whole lines, so it needs nothing from the append
 * lock; in the newest segment a last line without its newline may still
 * be being written, and it is left for later.
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

#define SEGMENT_PREFIX "seg."
#define SEGMENT_DIGITS 20
#define SEGMENT_NAME_LEN (sizeof(SEGMENT_PREFIX) - 1 + SEGMENT_DIGITS)
#define NAME_ROOM 32
#define LOCK_NAME "lock"
#define REPLAY_LOCK_NAME "replay.lock"
#define CURSOR_NAME "cursor"
#define CURSOR_TEMP "cursor.tmp"
#define BAD_NAME "bad"
/* "<segment> <offset>\n", both in SEGMENT_DIGITS digits */
#define CURSOR_LEN (2 * SEGMENT_DIGITS + 2)
#define DEFAULT_SEGMENT_SIZE ((off_t)1 << 20)
#define SAVE_EVERY 64
#define READ_CHUNK (64 * 1024)
#define COPY_CHUNK 4096
#define SWITCH_ATTEMPTS 8

/* The records delivered since the last save, and the one in flight. */
_Static_assert(SAVE_EVERY + 1 == KW_SPOOL_REDELIVER_MAX, "redelivery bound");
_Static_assert(READ_CHUNK >= 2 * KW_AUDIT_LINE_MAX, "read buffer");

/* A place in the journal: the next line starts at OFFSET of SEGMENT. */
struct cursor {
	unsigned long long segment;
	unsigned long long offset;
};

struct kw_spool {
	int dirfd;
	int lockfd;
	int replayfd;
	pthread_mutex_t append_mutex;
	pthread_mutex_t replay_mutex;
	pthread_cond_t synced_cond;
	bool ready; /* the mutexes and the condition exist */

	/* Under append_mutex. */
	bool sync;
	off_t segment_size;
	int segfd;                  /* the segment that appends go to */
	unsigned long long segment; /* its number */
	unsigned long long written; /* tickets: lines written through S */
	unsigned long long synced;  /* the last ticket known on disk */
	unsigned long long fail_from, fail_to; /* tickets a sync failed for */
	int fail_rc;
	bool syncing; /* a waiter is syncing for everyone */

	/* Under replay_mutex: a cursor that a replay could not save. */
	struct cursor unsaved;
	bool has_unsaved;
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

/* --- names ----------------------------------------------------------- */

/* Parse SEGMENT_DIGITS decimal digits at P; false on overflow. */
static bool parse_digits(const char *p, unsigned long long *out)
{
	unsigned long long v = 0;

	for (size_t i = 0; i < SEGMENT_DIGITS; i++) {
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

/* Is NAME a segment's name?  Sets *N if it is. */
static bool parse_segment_name(const char *name, unsigned long long *n)
{
	size_t prefix = sizeof(SEGMENT_PREFIX) - 1;

	if (strlen(name) != SEGMENT_NAME_LEN ||
	    strncmp(name, SEGMENT_PREFIX, prefix) != 0)
		return false;
	return parse_digits(name + prefix, n) && *n != 0;
}

static void segment_name(unsigned long long n, char name[NAME_ROOM])
{
	snprintf(name, NAME_ROOM, SEGMENT_PREFIX "%0*llu", SEGMENT_DIGITS, n);
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

/* Read up to LEN bytes at OFFSET; *GOT_OUT is less only at the end. */
static int read_at(int fd, char *p, size_t len, off_t offset, size_t *got_out)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = pread(fd, p + got, len - got, offset + (off_t)got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return last_error();
		if (n == 0)
			break;
		got += (size_t)n;
	}
	*got_out = got;
	return 0;
}

/*
 * Open NAME in the spool with FLAGS (and MODE, if it creates it); it must
 * be a regular file owned by us (EPERM otherwise).  O_NONBLOCK keeps a
 * FIFO planted under that name from blocking the open.
 */
static int open_owned(int dirfd, const char *name, int flags, mode_t mode,
		      int *fd_out)
{
	struct stat st;
	int fd;

	fd = openat(dirfd, name, flags | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC,
		    mode);
	if (fd < 0)
		return errno == ELOOP ? EPERM : last_error();
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

static int open_segment(int dirfd, unsigned long long n, int flags, int *fd_out)
{
	char name[NAME_ROOM];

	if (n == 0)
		return ENOENT; /* no segment has that number */
	segment_name(n, name);
	return open_owned(dirfd, name, flags, 0, fd_out);
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

/* --- segments -------------------------------------------------------- */

/* The segments on disk: numbers 0 mean none. */
struct segments {
	size_t count;
	unsigned long long oldest;
	unsigned long long newest;
	unsigned long long next; /* the oldest after the one asked about */
};

/*
 * List the segments, or, if BELOW is not 0, remove those numbered lower
 * than BELOW instead (a replay moved past them, and a crash came before
 * it removed them).  OUT->next is the oldest segment numbered above
 * AFTER.
 */
static int scan_segments(int dirfd, unsigned long long after,
			 unsigned long long below, struct segments *out)
{
	struct dirent *de;
	DIR *d = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = open_listing(dirfd, &d);
	if (rc != 0)
		return rc;
	for (;;) {
		unsigned long long n;

		errno = 0;
		de = readdir(d);
		if (de == NULL) {
			rc = errno;
			break;
		}
		if (!parse_segment_name(de->d_name, &n))
			continue;
		if (n < below) {
			if (unlinkat(dirfd, de->d_name, 0) != 0 &&
			    errno != ENOENT) {
				rc = last_error();
				break;
			}
			continue;
		}
		out->count++;
		if (out->oldest == 0 || n < out->oldest)
			out->oldest = n;
		if (n > out->newest)
			out->newest = n;
		if (n > after && (out->next == 0 || n < out->next))
			out->next = n;
	}
	closedir(d);
	return rc;
}

/* Create segment N for appending; sync the directory if SYNC. */
static int create_segment(int dirfd, unsigned long long n, bool sync,
			  int *fd_out)
{
	char name[NAME_ROOM];
	int rc;

	segment_name(n, name);
	rc = open_owned(dirfd, name, O_RDWR | O_APPEND | O_CREAT | O_EXCL, 0600,
			fd_out);
	if (rc == 0 && sync && fsync(dirfd) != 0) {
		rc = last_error();
		close(*fd_out);
		*fd_out = -1;
	}
	return rc;
}

/*
 * Cut a torn last line off the segment at FD of *SIZE bytes.  Only with
 * the append lock held: then no line is half written, and bytes after the
 * last newline are what a writer that died left.
 */
static int cut_torn_line(int fd, off_t *size)
{
	char buf[COPY_CHUNK];
	off_t end = *size;
	size_t step = 1; /* the last byte is almost always a newline */

	while (end > 0) {
		size_t want = (off_t)step < end ? step : (size_t)end;
		size_t got, i;
		int rc;

		rc = read_at(fd, buf, want, end - (off_t)want, &got);
		if (rc != 0)
			return rc;
		if (got != want)
			return EIO; /* it shrank under the lock */
		for (i = want; i > 0 && buf[i - 1] != '\n'; i--)
			continue;
		end -= (off_t)(want - i);
		if (i > 0)
			break;
		step = sizeof(buf);
	}
	if (end == *size)
		return 0;
	if (ftruncate(fd, end) != 0)
		return last_error();
	*size = end;
	return 0;
}

/* --- the cursor ------------------------------------------------------ */

/* Read the saved cursor: 0, ENOENT if none, EBADMSG if it is not one. */
static int read_cursor(int dirfd, struct cursor *out)
{
	char text[CURSOR_LEN + 1];
	size_t got;
	int fd, rc;

	rc = open_owned(dirfd, CURSOR_NAME, O_RDONLY, 0, &fd);
	if (rc != 0)
		return rc;
	rc = read_at(fd, text, sizeof(text), 0, &got);
	close(fd);
	if (rc != 0)
		return rc;
	if (got != CURSOR_LEN || text[SEGMENT_DIGITS] != ' ' ||
	    text[CURSOR_LEN - 1] != '\n' ||
	    !parse_digits(text, &out->segment) ||
	    !parse_digits(text + SEGMENT_DIGITS + 1, &out->offset) ||
	    out->segment == 0 || out->offset > (unsigned long long)INT64_MAX)
		return EBADMSG;
	return 0;
}

/*
 * Replace the saved cursor with C: written aside, then renamed over it,
 * so that a reader sees the old cursor or the new one.  Only with the
 * replay lock held (or, at the start of a journal, with both locks).
 */
static int save_cursor(int dirfd, const struct cursor *c, bool sync)
{
	char text[CURSOR_LEN + 1];
	int fd, rc;

	snprintf(text, sizeof(text), "%0*llu %0*llu\n", SEGMENT_DIGITS,
		 c->segment, SEGMENT_DIGITS, c->offset);
	fd = openat(dirfd, CURSOR_TEMP,
		    O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
		    0600);
	if (fd < 0)
		return last_error();
	rc = write_all(fd, text, CURSOR_LEN);
	if (rc == 0 && sync && fdatasync(fd) != 0)
		rc = last_error();
	if (close(fd) != 0 && rc == 0)
		rc = last_error();
	if (rc == 0 && renameat(dirfd, CURSOR_TEMP, dirfd, CURSOR_NAME) != 0)
		rc = last_error();
	if (rc != 0) {
		unlinkat(dirfd, CURSOR_TEMP, 0);
		return rc;
	}
	if (sync && fsync(dirfd) != 0)
		return last_error();
	return 0;
}

/*
 * Does C fit the segments SEGS?  Its segment may be gone (C moves on to
 * the start of the next one), but it must not be ahead of every segment,
 * and its offset must be in the segment, at the start of a line.  Returns
 * 0, EBADMSG if it does not fit, or another errno value.
 */
static int check_cursor(int dirfd, const struct segments *segs,
			struct cursor *c)
{
	struct segments later;
	struct stat st;
	char before;
	size_t got;
	int fd, rc;

	if (c->segment > segs->newest)
		return EBADMSG;
	rc = open_segment(dirfd, c->segment, O_RDONLY, &fd);
	if (rc == ENOENT) {
		rc = scan_segments(dirfd, c->segment, 0, &later);
		if (rc != 0)
			return rc;
		if (later.next == 0)
			return EBADMSG;
		c->segment = later.next;
		c->offset = 0;
		return 0;
	}
	if (rc != 0)
		return rc;
	if (fstat(fd, &st) != 0) {
		rc = last_error();
		goto done;
	}
	if (c->offset > (unsigned long long)st.st_size) {
		rc = EBADMSG;
		goto done;
	}
	if (c->offset == 0)
		goto done;
	rc = read_at(fd, &before, 1, (off_t)c->offset - 1, &got);
	if (rc == 0 && (got != 1 || before != '\n'))
		rc = EBADMSG;
done:
	close(fd);
	return rc;
}

/*
 * Where the next replay starts: the saved cursor if it fits the segments;
 * otherwise the start of the oldest segment, and *LOST_OUT says whether
 * records may then be delivered again (a segment holds data).
 */
static int find_start(int dirfd, struct cursor *out, bool *lost_out)
{
	struct segments segs;
	struct stat st;
	char name[NAME_ROOM];
	int rc;

	*lost_out = false;
	rc = scan_segments(dirfd, 0, 0, &segs);
	if (rc != 0)
		return rc;
	rc = read_cursor(dirfd, out);
	if (rc == 0)
		rc = check_cursor(dirfd, &segs, out);
	if (rc != ENOENT && rc != EBADMSG)
		return rc;
	out->segment = segs.oldest;
	out->offset = 0;
	if (segs.count > 1) {
		*lost_out = true;
		return 0;
	}
	if (segs.count == 0)
		return 0;
	segment_name(segs.oldest, name);
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
		return errno == ENOENT ? 0 : last_error();
	*lost_out = st.st_size > 0;
	return 0;
}

/* --- open and close -------------------------------------------------- */

/*
 * A spool without segments (a new one): start segment 1, and a cursor
 * pointing at it, so that a missing cursor later means a lost one.  The
 * replay lock is taken for the cursor, below the append lock; replays
 * never take the append lock, so the two cannot deadlock.
 */
static int start_journal(struct kw_spool *s)
{
	struct cursor start = {1, 0};
	int rc;

	rc = create_segment(s->dirfd, 1, s->sync, &s->segfd);
	if (rc != 0)
		return rc;
	s->segment = 1;
	rc = lock_exclusive(s->replayfd);
	if (rc != 0)
		return rc;
	rc = save_cursor(s->dirfd, &start, s->sync);
	unlock_file(s->replayfd);
	return rc;
}

/* With the append lock held: open the newest segment, or start one. */
static int open_newest(struct kw_spool *s)
{
	struct segments segs;
	struct stat st;
	int rc;

	rc = scan_segments(s->dirfd, 0, 0, &segs);
	if (rc != 0)
		return rc;
	if (segs.count == 0)
		return start_journal(s);
	rc = open_segment(s->dirfd, segs.newest, O_RDWR | O_APPEND, &s->segfd);
	if (rc != 0)
		return rc;
	s->segment = segs.newest;
	if (fstat(s->segfd, &st) != 0)
		return last_error();
	return cut_torn_line(s->segfd, &st.st_size);
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

static int init_sync_objects(struct kw_spool *s)
{
	int rc;

	rc = pthread_mutex_init(&s->append_mutex, NULL);
	if (rc != 0)
		return rc;
	rc = pthread_mutex_init(&s->replay_mutex, NULL);
	if (rc == 0) {
		rc = pthread_cond_init(&s->synced_cond, NULL);
		if (rc == 0)
			return 0;
		pthread_mutex_destroy(&s->replay_mutex);
	}
	pthread_mutex_destroy(&s->append_mutex);
	return rc;
}

int kw_spool_open(const char *dir, struct kw_spool **out, char *err,
		  size_t errlen)
{
	struct kw_spool *s = NULL;
	struct cursor start;
	bool locked = false, lost = false;
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
	s->dirfd = s->lockfd = s->replayfd = s->segfd = -1;
	s->sync = true;
	s->segment_size = DEFAULT_SEGMENT_SIZE;
	rc = init_sync_objects(s);
	if (rc != 0) {
		set_err(err, errlen, "%s: %s", dir, strerror(rc));
		free(s);
		return rc;
	}
	s->ready = true;

	s->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (s->dirfd < 0) {
		rc = last_error();
		set_err(err, errlen, "%s: %s", dir, strerror(rc));
		goto done;
	}
	rc = check_directory(s->dirfd, dir, err, errlen);
	if (rc != 0)
		goto done;
	rc = open_owned(s->dirfd, LOCK_NAME, O_RDWR | O_CREAT, 0600,
			&s->lockfd);
	if (rc == 0)
		rc = open_owned(s->dirfd, REPLAY_LOCK_NAME, O_RDWR | O_CREAT,
				0600, &s->replayfd);
	if (rc != 0) {
		set_err(err, errlen, "%s: lock file: %s", dir, strerror(rc));
		goto done;
	}
	rc = lock_exclusive(s->lockfd);
	locked = rc == 0;
	if (rc == 0)
		rc = open_newest(s);
	if (rc == 0)
		rc = find_start(s->dirfd, &start, &lost);
	if (rc != 0)
		set_err(err, errlen, "%s: %s", dir, strerror(rc));
	else if (lost)
		set_err(err, errlen,
			"%s: the replay cursor is missing or damaged; records "
			"from the oldest segment on will be delivered again",
			dir);
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
	if (s->segfd >= 0)
		close(s->segfd);
	if (s->replayfd >= 0)
		close(s->replayfd);
	if (s->lockfd >= 0)
		close(s->lockfd);
	if (s->dirfd >= 0)
		close(s->dirfd);
	if (s->ready) {
		pthread_cond_destroy(&s->synced_cond);
		pthread_mutex_destroy(&s->replay_mutex);
		pthread_mutex_destroy(&s->append_mutex);
	}
	free(s);
}

void kw_spool_set_sync(struct kw_spool *s, bool sync)
{
	if (s == NULL)
		return;
	pthread_mutex_lock(&s->append_mutex);
	s->sync = sync;
	pthread_mutex_unlock(&s->append_mutex);
}

void kw_spool_set_segment_size(struct kw_spool *s, size_t bytes)
{
	if (s == NULL)
		return;
	pthread_mutex_lock(&s->append_mutex);
	if (bytes == 0)
		s->segment_size = DEFAULT_SEGMENT_SIZE;
	else if (bytes > (size_t)INT32_MAX)
		s->segment_size = INT32_MAX;
	else
		s->segment_size = (off_t)bytes;
	pthread_mutex_unlock(&s->append_mutex);
}

static bool sync_on(struct kw_spool *s)
{
	bool sync;

	pthread_mutex_lock(&s->append_mutex);
	sync = s->sync;
	pthread_mutex_unlock(&s->append_mutex);
	return sync;
}

/* --- append ---------------------------------------------------------- */

/* With the append mutex held: a sync of the tickets up to UPTO ended. */
static void sync_done(struct kw_spool *s, unsigned long long upto, int rc)
{
	/*
	 * One range of failed tickets, widened by each failure: a ticket
	 * between two failures may be reported failed although its round
	 * succeeded, which only errs on the safe side.
	 */
	if (rc != 0) {
		if (s->fail_to == 0)
			s->fail_from = s->synced + 1;
		s->fail_to = upto;
		s->fail_rc = rc;
	}
	if (upto > s->synced)
		s->synced = upto;
	pthread_cond_broadcast(&s->synced_cond);
}

/*
 * With both append locks held: append to segment N (FD) from now on,
 * after syncing what this handle wrote to the old one.
 */
static void switch_segment(struct kw_spool *s, int fd, unsigned long long n)
{
	if (s->segfd >= 0) {
		if (s->sync && s->synced < s->written)
			sync_done(s, s->written,
				  fdatasync(s->segfd) == 0 ? 0 : last_error());
		close(s->segfd);
	}
	s->segfd = fd;
	s->segment = n;
}

/*
 * With both append locks held: make S->segfd the newest segment, with a
 * torn last line cut off and room left; *END_OUT is its size.
 */
static int current_segment(struct kw_spool *s, off_t *end_out)
{
	for (int attempt = 0; attempt < SWITCH_ATTEMPTS; attempt++) {
		struct segments segs;
		unsigned long long n;
		struct stat st;
		int fd = -1, rc;

		if (fstat(s->segfd, &st) != 0)
			return last_error();
		if (st.st_nlink > 0) {
			rc = cut_torn_line(s->segfd, &st.st_size);
			if (rc != 0)
				return rc;
			if (st.st_size < s->segment_size) {
				*end_out = st.st_size;
				return 0;
			}
		}
		rc = scan_segments(s->dirfd, 0, 0, &segs);
		if (rc != 0)
			return rc;
		if (segs.newest > s->segment) {
			n = segs.newest;
			rc = open_segment(s->dirfd, n, O_RDWR | O_APPEND, &fd);
		} else if (s->segment == ULLONG_MAX) {
			return EOVERFLOW;
		} else {
			n = s->segment + 1;
			rc = create_segment(s->dirfd, n, s->sync, &fd);
		}
		/* Someone outside the locks came first: look again. */
		if (rc == ENOENT || rc == EEXIST)
			continue;
		if (rc != 0)
			return rc;
		switch_segment(s, fd, n);
	}
	return EAGAIN;
}

/*
 * With the append mutex held: wait until ticket T is on disk.  The first
 * waiter syncs for everyone, without the mutex, on a copy of the segment
 * descriptor (a rotation may close the original meanwhile; it syncs the
 * old segment itself first).
 */
static int wait_synced(struct kw_spool *s, unsigned long long t)
{
	while (t > s->synced) {
		unsigned long long upto;
		int fd, rc;

		if (s->syncing) {
			pthread_cond_wait(&s->synced_cond, &s->append_mutex);
			continue;
		}
		s->syncing = true;
		upto = s->written;
		fd = fcntl(s->segfd, F_DUPFD_CLOEXEC, 0);
		pthread_mutex_unlock(&s->append_mutex);
		if (fd < 0)
			rc = last_error();
		else
			rc = fdatasync(fd) == 0 ? 0 : last_error();
		if (fd >= 0)
			close(fd);
		pthread_mutex_lock(&s->append_mutex);
		s->syncing = false;
		sync_done(s, upto, rc);
	}
	if (s->fail_to != 0 && t >= s->fail_from && t <= s->fail_to)
		return s->fail_rc;
	return 0;
}

/* Append R; with WAIT (and sync on), return once it is on disk. */
static int append_record(struct kw_spool *s, const struct kw_audit_record *r,
			 bool wait)
{
	char line[KW_AUDIT_LINE_MAX + 1];
	bool locked = false;
	off_t start = 0;
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
	rc = current_segment(s, &start);
	if (rc != 0)
		goto done;
	rc = write_all(s->segfd, line, len);
	if (rc != 0) {
		/*
		 * Take back what part of the line was written.  Should that
		 * fail too, the next append cuts it off (cut_torn_line).
		 */
		int cut = ftruncate(s->segfd, start);

		(void)cut;
		goto done;
	}
	unlock_file(s->lockfd);
	locked = false;
	s->written++;
	if (s->sync && wait)
		rc = wait_synced(s, s->written);
done:
	if (locked)
		unlock_file(s->lockfd);
	pthread_mutex_unlock(&s->append_mutex);
	return rc;
}

int kw_spool_append(struct kw_spool *s, const struct kw_audit_record *r)
{
	return append_record(s, r, true);
}

int kw_spool_append_deferred(struct kw_spool *s,
			     const struct kw_audit_record *r)
{
	return append_record(s, r, false);
}

int kw_spool_sync(struct kw_spool *s)
{
	int rc;

	if (s == NULL)
		return EINVAL;
	if (!s->sync)
		return 0;
	rc = pthread_mutex_lock(&s->append_mutex);
	if (rc != 0)
		return rc;
	rc = wait_synced(s, s->written);
	pthread_mutex_unlock(&s->append_mutex);
	return rc;
}

/* --- reading lines --------------------------------------------------- */

enum line_kind {
	LINE_END,   /* no more bytes */
	LINE_WHOLE, /* a line and its newline, short enough to be a record */
	LINE_LONG,  /* a line too long to be a record */
	LINE_TORN,  /* the last bytes, without a newline */
};

struct line {
	enum line_kind kind;
	const char *text; /* not NUL-terminated, no newline */
	size_t len;       /* at most KW_AUDIT_LINE_MAX - 1: longer is cut */
	off_t start, end; /* where it is in the file, newline included */
};

/* A segment read line by line from an offset. */
struct reader {
	int fd;
	char *buf;  /* READ_CHUNK bytes */
	off_t base; /* file offset of buf[0] */
	size_t len; /* bytes in buf */
	size_t pos; /* where the next line starts in buf */
};

/* The line at RD->pos is too long: find where it ends, past the buffer. */
static int skip_long_line(struct reader *rd, struct line *ln)
{
	char chunk[COPY_CHUNK];
	off_t at = rd->base + (off_t)rd->len;
	int rc;

	ln->text = rd->buf + rd->pos;
	ln->len = KW_AUDIT_LINE_MAX - 1;
	ln->start = rd->base + (off_t)rd->pos;
	ln->kind = LINE_TORN;
	for (;;) {
		size_t got;
		char *nl;

		rc = read_at(rd->fd, chunk, sizeof(chunk), at, &got);
		if (rc != 0)
			return rc;
		nl = memchr(chunk, '\n', got);
		if (nl != NULL) {
			ln->kind = LINE_LONG;
			at += nl - chunk + 1;
			break;
		}
		at += (off_t)got;
		if (got < sizeof(chunk))
			break;
	}
	ln->end = at;
	/* TEXT stays valid: the buffer is refilled only by the next call. */
	rd->base = at;
	rd->len = rd->pos = 0;
	return 0;
}

static int next_line(struct reader *rd, struct line *ln)
{
	for (;;) {
		char *p = rd->buf + rd->pos;
		size_t avail = rd->len - rd->pos, got;
		char *nl = memchr(p, '\n', avail);
		int rc;

		ln->text = p;
		ln->start = rd->base + (off_t)rd->pos;
		if (nl != NULL) {
			size_t len = (size_t)(nl - p);

			ln->kind = len < KW_AUDIT_LINE_MAX ? LINE_WHOLE
							   : LINE_LONG;
			ln->len = len < KW_AUDIT_LINE_MAX
					  ? len
					  : KW_AUDIT_LINE_MAX - 1;
			ln->end = ln->start + (off_t)len + 1;
			rd->pos += len + 1;
			return 0;
		}
		if (avail >= KW_AUDIT_LINE_MAX)
			return skip_long_line(rd, ln);
		memmove(rd->buf, p, avail);
		rd->base += (off_t)rd->pos;
		rd->pos = 0;
		rd->len = avail;
		rc = read_at(rd->fd, rd->buf + avail, READ_CHUNK - avail,
			     rd->base + (off_t)avail, &got);
		if (rc != 0)
			return rc;
		rd->len += got;
		if (got > 0)
			continue;
		ln->text = rd->buf;
		ln->start = rd->base;
		ln->kind = avail == 0 ? LINE_END : LINE_TORN;
		ln->len = avail;
		ln->end = rd->base + (off_t)avail;
		rd->pos = rd->len;
		return 0;
	}
}

/* --- replay ---------------------------------------------------------- */

struct replay {
	struct kw_spool *s;
	int (*deliver)(const struct kw_audit_record *r, void *arg);
	void *arg;
	bool sync;
	char *buf;           /* the reader's */
	int badfd;           /* "bad", opened when first needed */
	struct cursor cur;   /* where the next line starts */
	struct cursor saved; /* what "cursor" holds */
	size_t unsaved;      /* records delivered since it was saved */
	bool lost;           /* no cursor fit: started at the oldest */
	size_t delivered;
	size_t bad;
};

static bool same_cursor(const struct cursor *a, const struct cursor *b)
{
	return a->segment == b->segment && a->offset == b->offset;
}

static int save_progress(struct replay *rp)
{
	int rc;

	/*
	 * Without a cursor that fits, a replay keeps the spool in that state
	 * until it has delivered everything: a cursor saved half way would
	 * make the next kw_spool_open() believe that no more than
	 * KW_SPOOL_REDELIVER_MAX records come again.  Removing the segments
	 * it finished is safe: it would start at the oldest left anyway.
	 */
	if (rp->lost || same_cursor(&rp->cur, &rp->saved))
		return 0;
	rc = save_cursor(rp->s->dirfd, &rp->cur, rp->sync);
	if (rc != 0)
		return rc;
	rp->saved = rp->cur;
	rp->unsaved = 0;
	return 0;
}

/* Copy the line LN of the segment at FD to "bad", ending it with '\n'. */
static int copy_to_bad(struct replay *rp, int fd, const struct line *ln)
{
	char chunk[COPY_CHUNK];
	off_t at = ln->start;
	int rc = 0;

	if (rp->badfd < 0) {
		rc = open_owned(rp->s->dirfd, BAD_NAME,
				O_WRONLY | O_APPEND | O_CREAT, 0600,
				&rp->badfd);
		if (rc != 0)
			return rc;
	}
	while (at < ln->end && rc == 0) {
		size_t want = sizeof(chunk), got;

		if ((off_t)want > ln->end - at)
			want = (size_t)(ln->end - at);
		rc = read_at(fd, chunk, want, at, &got);
		if (rc == 0 && got != want)
			rc = EIO;
		if (rc == 0)
			rc = write_all(rp->badfd, chunk, got);
		at += (off_t)got;
	}
	if (rc == 0 && ln->kind == LINE_TORN)
		rc = write_all(rp->badfd, "\n", 1);
	/* Before the cursor moves past it. */
	if (rc == 0 && rp->sync && fdatasync(rp->badfd) != 0)
		rc = last_error();
	return rc;
}

/* One line: deliver it, or copy it to "bad"; then move the cursor on. */
static int replay_line(struct replay *rp, int fd, const struct line *ln)
{
	struct kw_audit_record r;
	int rc;

	if (ln->kind == LINE_WHOLE &&
	    kw_audit_decode(ln->text, ln->len, &r) == 0) {
		rc = rp->deliver(&r, rp->arg);
		if (rc != 0)
			return rc;
		rp->delivered++;
		rp->unsaved++;
	} else {
		rc = copy_to_bad(rp, fd, ln);
		if (rc != 0)
			return rc;
		rp->bad++;
	}
	rp->cur.offset = (unsigned long long)ln->end;
	return rp->unsaved >= SAVE_EVERY ? save_progress(rp) : 0;
}

/*
 * Replay the segment at the cursor to its end.  In a FINISHED segment (a
 * newer one exists) a torn last line is bad; in the newest one it may be
 * a line being written, and it stays.  ENOENT if the segment is gone.
 */
static int replay_segment(struct replay *rp, bool finished)
{
	struct reader rd = {.buf = rp->buf, .base = (off_t)rp->cur.offset};
	int rc;

	rc = open_segment(rp->s->dirfd, rp->cur.segment, O_RDONLY, &rd.fd);
	if (rc != 0)
		return rc;
	for (;;) {
		struct line ln;

		rc = next_line(&rd, &ln);
		if (rc != 0 || ln.kind == LINE_END)
			break;
		if (ln.kind == LINE_TORN && !finished)
			break;
		rc = replay_line(rp, rd.fd, &ln);
		if (rc != 0)
			break;
	}
	close(rd.fd);
	return rc;
}

/*
 * Where this replay starts: a cursor that the last one could not save
 * (saved now, before anything else is delivered), or the saved one;
 * segments before it are removed.
 */
static int start_replay(struct replay *rp)
{
	struct kw_spool *s = rp->s;
	struct segments segs;
	int rc;

	if (s->has_unsaved) {
		rc = save_cursor(s->dirfd, &s->unsaved, rp->sync);
		if (rc != 0)
			return rc;
		s->has_unsaved = false;
	}
	rc = find_start(s->dirfd, &rp->cur, &rp->lost);
	if (rc != 0)
		return rc;
	rp->saved = rp->cur;
	if (rp->lost) {
		rp->saved.segment = 0; /* none fits: save one at the end */
		return 0;
	}
	return scan_segments(s->dirfd, 0, rp->cur.segment, &segs);
}

/* The segment at the cursor is done, and NEXT is newer: move there. */
static int leave_segment(struct replay *rp, unsigned long long next)
{
	char name[NAME_ROOM];
	int rc;

	segment_name(rp->cur.segment, name);
	rp->cur.segment = next;
	rp->cur.offset = 0;
	rc = save_progress(rp);
	if (rc != 0)
		return rc;
	if (unlinkat(rp->s->dirfd, name, 0) != 0 && errno != ENOENT)
		return last_error();
	return 0;
}

static int replay_all(struct replay *rp)
{
	int rc;

	for (;;) {
		struct segments segs;
		bool gone;

		rc = replay_segment(rp, false);
		gone = rc == ENOENT;
		if (rc != 0 && !gone)
			return rc;
		/* Only now: a newer segment seen later means this one is
		 * complete, and it is read to its end once more. */
		rc = scan_segments(rp->s->dirfd, rp->cur.segment, 0, &segs);
		if (rc != 0)
			return rc;
		if (segs.next == 0)
			return 0;
		if (!gone) {
			rc = replay_segment(rp, true);
			if (rc != 0 && rc != ENOENT)
				return rc;
		}
		rc = leave_segment(rp, segs.next);
		if (rc != 0)
			return rc;
	}
}

int kw_spool_replay(struct kw_spool *s,
		    int (*deliver)(const struct kw_audit_record *r, void *arg),
		    void *arg, size_t *delivered_out, size_t *bad_out)
{
	struct replay rp = {.s = s, .deliver = deliver, .arg = arg};
	bool mutex_held = false, locked = false, started = false;
	int rc;

	rp.badfd = -1;
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
	rp.sync = sync_on(s);
	rp.buf = malloc(READ_CHUNK);
	if (rp.buf == NULL) {
		rc = ENOMEM;
		goto done;
	}
	rc = start_replay(&rp);
	if (rc != 0)
		goto done;
	started = true;
	rc = replay_all(&rp);
	if (rc == 0)
		rp.lost = false;
done:
	if (started) {
		int save_rc = save_progress(&rp);

		if (save_rc != 0) {
			s->unsaved = rp.cur;
			s->has_unsaved = true;
			if (rc == 0)
				rc = save_rc;
		}
	}
	if (rp.badfd >= 0)
		close(rp.badfd);
	free(rp.buf);
	if (locked)
		unlock_file(s->replayfd);
	if (mutex_held)
		pthread_mutex_unlock(&s->replay_mutex);
	if (delivered_out != NULL)
		*delivered_out = rp.delivered;
	if (bad_out != NULL)
		*bad_out = rp.bad;
	return rc;
}

/* --- count and list -------------------------------------------------- */

struct walk {
	int (*visit)(const char *line, size_t len, void *arg);
	void *arg;
	size_t count;
	char *buf;
};

/* The whole lines of segment C->segment from C->offset. */
static int walk_segment(struct kw_spool *s, const struct cursor *c,
			struct walk *w)
{
	struct reader rd = {.buf = w->buf, .base = (off_t)c->offset};
	int rc;

	rc = open_segment(s->dirfd, c->segment, O_RDONLY, &rd.fd);
	if (rc != 0)
		return rc == ENOENT ? 0 : rc;
	for (;;) {
		char text[KW_AUDIT_LINE_MAX];
		struct line ln;

		rc = next_line(&rd, &ln);
		if (rc != 0 || ln.kind == LINE_END || ln.kind == LINE_TORN)
			break;
		w->count++;
		if (w->visit == NULL)
			continue;
		memcpy(text, ln.text, ln.len);
		text[ln.len] = '\0';
		rc = w->visit(text, ln.len, w->arg);
		if (rc != 0)
			break;
	}
	close(rd.fd);
	return rc;
}

static int walk_spool(struct kw_spool *s, struct walk *w)
{
	struct cursor c;
	bool lost;
	int rc;

	w->buf = malloc(READ_CHUNK);
	if (w->buf == NULL)
		return ENOMEM;
	rc = find_start(s->dirfd, &c, &lost);
	while (rc == 0 && c.segment != 0) {
		struct segments segs;

		rc = walk_segment(s, &c, w);
		if (rc != 0)
			break;
		rc = scan_segments(s->dirfd, c.segment, 0, &segs);
		c.segment = segs.next;
		c.offset = 0;
	}
	free(w->buf);
	return rc;
}

int kw_spool_count(struct kw_spool *s, size_t *count_out)
{
	struct walk w = {0};
	int rc;

	if (count_out != NULL)
		*count_out = 0;
	if (s == NULL || count_out == NULL)
		return EINVAL;
	rc = walk_spool(s, &w);
	if (rc == 0)
		*count_out = w.count;
	return rc;
}

int kw_spool_list(struct kw_spool *s,
		  int (*visit)(const char *line, size_t len, void *arg),
		  void *arg)
{
	struct walk w = {.visit = visit, .arg = arg};

	if (s == NULL || visit == NULL)
		return EINVAL;
	return walk_spool(s, &w);
}
