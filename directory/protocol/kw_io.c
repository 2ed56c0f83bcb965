/*
 * kw_io.c - reading and writing whole frames with a deadline.
 *
 * Used by the client library and by keywardd alike.  Each call keeps to
 * one deadline for the whole frame, so that a peer that sends one byte at
 * a time cannot stretch it.  recv and send are tried first and poll()
 * waits only when they would block: on a local socket the bytes are
 * mostly there already, and a poll() per step would double the system
 * calls of a request.  recv and send get MSG_DONTWAIT, which makes the
 * socket's own blocking mode irrelevant, and send gets MSG_NOSIGNAL,
 * so that a peer that went away is an EPIPE, not a SIGPIPE that would kill
 * the program a PAM module is loaded into.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

#include "kw_proto.h"

static int64_t monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait until FD is ready for EVENTS or DEADLINE (monotonic ms) passes. */
static int wait_ready(int fd, short events, int64_t deadline)
{
	for (;;) {
		struct pollfd pfd = {.fd = fd, .events = events};
		int64_t left = deadline - monotonic_ms();
		int n;

		if (left <= 0)
			return ETIMEDOUT;
		n = poll(&pfd, 1, left > INT32_MAX ? INT32_MAX : (int)left);
		if (n > 0)
			return 0; /* ready, hung up or failed: recv/send tell */
		if (n == 0)
			return ETIMEDOUT;
		if (errno != EINTR)
			return errno;
	}
}

/*
 * Read exactly LEN bytes into BUF.  *GOT_OUT counts the bytes read, so
 * that the caller can tell an end of stream at the start from one inside.
 */
static int read_exact(int fd, uint8_t *buf, size_t len, int64_t deadline,
		      size_t *got_out)
{
	size_t got = 0;
	int ret = 0;

	while (got < len) {
		ssize_t n = recv(fd, buf + got, len - got, MSG_DONTWAIT);

		if (n > 0) {
			got += (size_t)n;
			continue;
		}
		if (n == 0) {
			ret = EPROTO;
			break;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK) {
			ret = errno;
			break;
		}
		ret = wait_ready(fd, POLLIN, deadline);
		if (ret != 0)
			break;
	}
	*got_out = got;
	return ret;
}

int kw_proto_read_frame(int fd, uint8_t *buf, size_t bufsz, int timeout_ms,
			size_t *len_out)
{
	int64_t deadline = monotonic_ms() + timeout_ms;
	size_t got = 0, frame_len = 0;
	int ret;

	if (fd < 0 || buf == NULL || len_out == NULL || timeout_ms <= 0 ||
	    bufsz < KW_PROTO_HEADER_LEN)
		return EINVAL;
	*len_out = 0;

	ret = read_exact(fd, buf, KW_PROTO_HEADER_LEN, deadline, &got);
	if (ret == EPROTO && got == 0)
		return ENODATA;
	if (ret != 0)
		return ret;
	ret = kw_proto_frame_length(buf, KW_PROTO_HEADER_LEN, &frame_len);
	if (ret != 0)
		return ret;
	/* Refuse before reading: the peer learns nothing by sending more. */
	if (frame_len > bufsz)
		return EMSGSIZE;
	ret = read_exact(fd, buf + KW_PROTO_HEADER_LEN,
			 frame_len - KW_PROTO_HEADER_LEN, deadline, &got);
	if (ret != 0)
		return ret;
	*len_out = frame_len;
	return 0;
}

int kw_proto_write_frame(int fd, const uint8_t *buf, size_t len, int timeout_ms)
{
	int64_t deadline = monotonic_ms() + timeout_ms;
	size_t sent = 0;

	if (fd < 0 || buf == NULL || timeout_ms <= 0)
		return EINVAL;
	while (sent < len) {
		ssize_t n = send(fd, buf + sent, len - sent,
				 MSG_NOSIGNAL | MSG_DONTWAIT);
		int ret;

		if (n >= 0) {
			sent += (size_t)n;
			continue;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return errno;
		ret = wait_ready(fd, POLLOUT, deadline);
		if (ret != 0)
			return ret;
	}
	return 0;
}

int kw_proto_peer_cred(int fd, uid_t *uid_out, gid_t *gid_out, pid_t *pid_out)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0)
		return errno;
	if (len != sizeof(cred))
		return EPROTO;
	if (uid_out != NULL)
		*uid_out = cred.uid;
	if (gid_out != NULL)
		*gid_out = cred.gid;
	if (pid_out != NULL)
		*pid_out = cred.pid;
	return 0;
}
