/*
 * kwd_socket.c - keywardd's listening socket.
 *
 * The socket is mode 0666: the PAM modules run inside any program that
 * logs users in, some of them unprivileged, so the file system cannot say
 * who may ask.  keywardd trusts no caller instead: it takes each peer's
 * credentials from the kernel (SO_PEERCRED) and logs them with the
 * request.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "keywardd.h"
#include "kw_log.h"

static int fill_address(const char *path, struct sockaddr_un *sa, char *err,
			size_t errlen)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (path[0] != '/' || strlen(path) >= sizeof(sa->sun_path)) {
		snprintf(err, errlen,
			 "%s: not an absolute path of at most %zu bytes", path,
			 sizeof(sa->sun_path) - 1);
		return ENAMETOOLONG;
	}
	memcpy(sa->sun_path, path, strlen(path) + 1);
	return 0;
}

/* Make the directory that holds PATH, one level only, mode 0755. */
static int make_parent(const char *path, char *err, size_t errlen)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash == NULL || slash == dir)
		return 0;
	*slash = '\0';
	if (mkdir(dir, 0755) == 0) {
		kw_log(LOG_INFO, "created %s", dir);
		return 0;
	}
	if (errno == EEXIST)
		return 0;
	snprintf(err, errlen, "cannot create %s: %s", dir, strerror(errno));
	return errno;
}

/*
 * Whatever is at PATH: nothing (fine), a socket that somebody answers on
 * (refused: another keywardd runs there), a socket nobody answers on
 * (left by a keywardd that died: removed), or something else (refused).
 */
static int clear_stale(const char *path, const struct sockaddr_un *sa,
		       char *err, size_t errlen)
{
	struct stat st;
	int fd, rc;

	if (lstat(path, &st) != 0) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return errno;
	}
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(err, errlen, "%s exists and is not a socket", path);
		return EEXIST;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return errno;
	}
	rc = connect(fd, (const struct sockaddr *)sa, sizeof(*sa));
	close(fd);
	if (rc == 0) {
		snprintf(err, errlen,
			 "%s: another keywardd answers on this socket", path);
		return EADDRINUSE;
	}
	if (errno != ECONNREFUSED) {
		snprintf(err, errlen,
			 "%s: cannot tell whether it is in use: %s", path,
			 strerror(errno));
		return errno;
	}
	if (unlink(path) != 0 && errno != ENOENT) {
		snprintf(err, errlen, "cannot remove the stale socket %s: %s",
			 path, strerror(errno));
		return errno;
	}
	kw_log(LOG_NOTICE, "removed the stale socket %s", path);
	return 0;
}

int kwd_listen(const char *path, int *fd_out, char *err, size_t errlen)
{
	struct sockaddr_un sa;
	int fd = -1, rc;

	*fd_out = -1;
	rc = fill_address(path, &sa, err, errlen);
	if (rc == 0)
		rc = make_parent(path, err, errlen);
	if (rc == 0)
		rc = clear_stale(path, &sa, err, errlen);
	if (rc != 0)
		return rc;
	/* blocking: the workers wait in accept() */
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		rc = errno;
		snprintf(err, errlen, "socket: %s", strerror(rc));
		return rc;
	}
	if (bind(fd, (const struct sockaddr *)&sa, sizeof(sa)) != 0) {
		rc = errno;
		snprintf(err, errlen, "bind %s: %s", path, strerror(rc));
		goto done;
	}
	/* bound under the umask, opened to everyone only now */
	if (chmod(path, 0666) != 0 || listen(fd, SOMAXCONN) != 0) {
		rc = errno;
		snprintf(err, errlen, "%s: %s", path, strerror(rc));
		unlink(path);
		goto done;
	}
	*fd_out = fd;
	fd = -1;
done:
	if (fd >= 0)
		close(fd);
	return rc;
}
