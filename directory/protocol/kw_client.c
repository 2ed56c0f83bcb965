/*
 * kw_client.c - one request to keywardd and its reply.
 *
 * The steps: encode, connect within the deadline, send and wipe, read one
 * frame, decode, check that it answers this request, close.  Every
 * failure ends in the same place, which wipes and closes.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "kw_client.h"
#include "kw_proto.h"
#include "kw_secret.h"

static int64_t monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Milliseconds left before DEADLINE, or 0 if it has passed. */
static int time_left(int64_t deadline)
{
	int64_t left = deadline - monotonic_ms();

	return left > 0 ? (int)left : 0;
}

static void set_error(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void set_error(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/*
 * Connect FD to PATH.  A UNIX stream connect only waits when the
 * listener's backlog is full; SO_SNDTIMEO bounds that wait, and it ends
 * in EAGAIN.  The connection itself is made at once or refused.
 */
static int connect_unix(int fd, const char *path, int64_t deadline)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	size_t len = strlen(path);

	if (len == 0 || len >= sizeof(addr.sun_path))
		return ENAMETOOLONG;
	memcpy(addr.sun_path, path, len + 1);

	for (;;) {
		int left = time_left(deadline);
		struct timeval tv = {.tv_sec = left / 1000,
				     .tv_usec = (left % 1000) * 1000};

		if (left == 0)
			return ETIMEDOUT;
		if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) !=
		    0)
			return errno;
		if (connect(fd, (const struct sockaddr *)&addr, sizeof(addr)) ==
		    0)
			return 0;
		if (errno == EAGAIN || errno == EINPROGRESS)
			return ETIMEDOUT;
		if (errno != EINTR)
			return errno;
	}
}

/* Say what a failed connect means to someone reading the log. */
static void explain_connect(int ret, const char *path, char *err, size_t errlen)
{
	char ebuf[128];
	const char *why = strerror_r(ret, ebuf, sizeof(ebuf));

	switch (ret) {
	case ENOENT:
	case ECONNREFUSED:
		set_error(err, errlen,
			  "keywardd is not running (connect %s: %s)", path,
			  why);
		break;
	case EACCES:
	case EPERM:
		set_error(err, errlen,
			  "no permission to reach keywardd (connect %s: %s)",
			  path, why);
		break;
	case ETIMEDOUT:
		set_error(err, errlen,
			  "keywardd did not accept the connection in time "
			  "(connect %s)",
			  path);
		break;
	case ENAMETOOLONG:
		set_error(err, errlen, "socket path is empty or too long: %s",
			  path);
		break;
	default:
		set_error(err, errlen, "cannot reach keywardd (connect %s: %s)",
			  path, why);
		break;
	}
}

/* Map an error of sending or reading to the caller's few cases. */
static int explain_exchange(int ret, const char *step, const char *path,
			    int timeout_ms, char *err, size_t errlen)
{
	char ebuf[128];

	switch (ret) {
	case ETIMEDOUT:
		set_error(err, errlen,
			  "keywardd did not answer within %d ms (%s %s)",
			  timeout_ms, step, path);
		return ETIMEDOUT;
	case ENODATA:
	case EPIPE:
	case ECONNRESET:
		set_error(err, errlen,
			  "keywardd closed the connection without an answer "
			  "(%s %s)",
			  step, path);
		return EPROTO;
	case EPROTO:
	case EMSGSIZE:
	case EINVAL:
		set_error(err, errlen,
			  "keywardd sent a malformed reply (%s %s: %s)", step,
			  path, strerror_r(ret, ebuf, sizeof(ebuf)));
		return EPROTO;
	default:
		set_error(err, errlen, "talking to keywardd failed (%s %s: %s)",
			  step, path, strerror_r(ret, ebuf, sizeof(ebuf)));
		return ret;
	}
}

int kw_client_call(const char *socket_path, int timeout_ms,
		   const struct kw_request *req, struct kw_reply *reply,
		   char *err, size_t errlen)
{
	uint8_t frame[KW_PROTO_REQUEST_FRAME_MAX];
	uint8_t answer[KW_PROTO_REPLY_FRAME_MAX];
	size_t frame_len = 0, answer_len = 0;
	int64_t deadline;
	int fd = -1, left;
	int ret;

	set_error(err, errlen, "no error");
	kw_reply_clear(reply);
	if (socket_path == NULL)
		socket_path = KW_CLIENT_DEFAULT_SOCKET;
	if (req == NULL || reply == NULL || timeout_ms <= 0) {
		set_error(err, errlen, "invalid arguments to kw_client_call");
		return EINVAL;
	}
	deadline = monotonic_ms() + timeout_ms;

	/* 1. Encode the whole request before touching the socket. */
	ret = kw_proto_encode_request(req, frame, sizeof(frame), &frame_len);
	if (ret != 0) {
		set_error(err, errlen,
			  "request cannot be encoded (a field is too long or "
			  "does not belong to a %s request)",
			  kw_proto_type_name(req->type));
		ret = EINVAL;
		goto done;
	}

	/* 2. Connect within the deadline. */
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		ret = errno;
		explain_connect(ret, socket_path, err, errlen);
		goto done;
	}
	ret = connect_unix(fd, socket_path, deadline);
	if (ret != 0) {
		explain_connect(ret, socket_path, err, errlen);
		goto done;
	}

	/* 3. Send, then wipe the copy of the password at once. */
	left = time_left(deadline);
	ret = left > 0 ? kw_proto_write_frame(fd, frame, frame_len, left)
		       : ETIMEDOUT;
	kw_wipe(frame, sizeof(frame));
	if (ret != 0) {
		ret = explain_exchange(ret, "send to", socket_path, timeout_ms,
				       err, errlen);
		goto done;
	}

	/* 4. Read one frame and check that it answers this request. */
	left = time_left(deadline);
	ret = left > 0 ? kw_proto_read_frame(fd, answer, sizeof(answer), left,
					     &answer_len)
		       : ETIMEDOUT;
	if (ret == 0)
		ret = kw_proto_decode_reply(answer, answer_len, reply);
	if (ret != 0) {
		ret = explain_exchange(ret, "read from", socket_path,
				       timeout_ms, err, errlen);
		goto done;
	}
	/* A daemon that could not parse the request cannot echo its id. */
	if (strcmp(reply->request_id, req->request_id) != 0 &&
	    !(reply->status == KW_STATUS_BAD_REQUEST &&
	      reply->request_id[0] == '\0')) {
		set_error(err, errlen,
			  "keywardd answered another request (read from %s)",
			  socket_path);
		ret = EPROTO;
		goto done;
	}
	set_error(err, errlen, "keywardd answered %s",
		  kw_proto_status_name(reply->status));

done:
	kw_wipe(frame, sizeof(frame));
	kw_wipe(answer, sizeof(answer)); /* an enrolment's reply holds a key */
	if (fd >= 0)
		close(fd);
	if (ret != 0)
		kw_reply_clear(reply);
	return ret;
}
