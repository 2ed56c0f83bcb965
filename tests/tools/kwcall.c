/*
 * kwcall.c - send keywardd one request from the command line, for tests.
 *
 *   kwcall -s SOCKET ping
 *   kwcall -s SOCKET auth -u USER [-S SERVICE] [-r RHOST] [-T TTY]
 *          [-D TENANT] [-i ID] < password
 *   kwcall -s SOCKET account -u USER [-S SERVICE] [-R ROLES] ...
 *   kwcall -s SOCKET raw FILE [--half-close]
 *
 * The password is the first line of standard input (no newline: empty),
 * never an argument.  The reply is printed as three lines:
 *
 *   OK                      the status
 *   message: TEXT
 *   user: USER@TENANT       the canonical user, or empty
 *
 * "raw" writes the bytes of FILE to the socket as they are and prints the
 * status of a reply, CLOSED if keywardd closed without one, or TIMEOUT.
 * Exit status: 0 when something was printed, 1 when the call failed,
 * 2 for a usage error.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "kw_client.h"
#include "kw_proto.h"
#include "kw_secret.h"

#define RAW_MAX 65536

static void usage(void)
{
	fputs("usage: kwcall [-s SOCKET] [-t MS] ping|auth|account|raw ...\n"
	      "  -u USER -S SERVICE -r RHOST -T TTY -D TENANT -R ROLES -i ID\n"
	      "  raw FILE [--half-close]\n",
	      stderr);
	exit(2);
}

static void print_reply(const struct kw_reply *reply)
{
	printf("%s\nmessage: %s\nuser: %s\n",
	       kw_proto_status_name(reply->status), reply->message,
	       reply->canonical_user);
}

static void copy_arg(char *dst, size_t dstsz, const char *src)
{
	if (strlen(src) >= dstsz) {
		fprintf(stderr, "kwcall: argument too long for its field\n");
		exit(2);
	}
	memcpy(dst, src, strlen(src) + 1);
}

/* The first line of standard input. */
static void read_password(char *out, size_t outsz)
{
	size_t n = 0;
	int ch;

	while (n + 1 < outsz && (ch = getchar()) != EOF && ch != '\n')
		out[n++] = (char)ch;
	out[n] = '\0';
}

static int connect_to(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -1;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int send_raw(const char *socket_path, const char *file, bool half,
		    int timeout_ms)
{
	static uint8_t data[RAW_MAX];
	uint8_t buf[KW_PROTO_REPLY_FRAME_MAX];
	struct kw_reply reply;
	size_t len, got = 0;
	FILE *fp = fopen(file, "rb");
	int fd, rc;

	if (fp == NULL) {
		perror(file);
		return 1;
	}
	len = fread(data, 1, sizeof(data), fp);
	fclose(fp);
	fd = connect_to(socket_path);
	if (fd < 0) {
		perror(socket_path);
		return 1;
	}
	rc = len > 0 ? kw_proto_write_frame(fd, data, len, timeout_ms) : 0;
	if (rc != 0 && rc != EPIPE && rc != ECONNRESET) {
		fprintf(stderr, "kwcall: write: %s\n", strerror(rc));
		close(fd);
		return 1;
	}
	if (half)
		shutdown(fd, SHUT_WR);
	rc = kw_proto_read_frame(fd, buf, sizeof(buf), timeout_ms, &got);
	close(fd);
	if (rc == ETIMEDOUT) {
		puts("TIMEOUT");
		return 0;
	}
	if (rc != 0) {
		puts("CLOSED");
		return 0;
	}
	if (kw_proto_decode_reply(buf, got, &reply) != 0) {
		puts("GARBLED");
		return 0;
	}
	print_reply(&reply);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"half-close", no_argument, NULL, 'H'},
		{NULL, 0, NULL, 0},
	};
	const char *socket_path = NULL, *type;
	struct kw_request req;
	struct kw_reply reply;
	char err[256];
	bool half = false;
	int c, rc, timeout_ms = KW_CLIENT_DEFAULT_TIMEOUT_MS;

	kw_request_clear(&req);
	copy_arg(req.service, sizeof(req.service), "kwcall");
	while ((c = getopt_long(argc, argv, "s:t:u:S:r:T:D:R:i:", longopts,
				NULL)) != -1) {
		switch (c) {
		case 's':
			socket_path = optarg;
			break;
		case 't':
			timeout_ms = atoi(optarg);
			break;
		case 'u':
			copy_arg(req.user, sizeof(req.user), optarg);
			break;
		case 'S':
			copy_arg(req.service, sizeof(req.service), optarg);
			break;
		case 'r':
			copy_arg(req.rhost, sizeof(req.rhost), optarg);
			break;
		case 'T':
			copy_arg(req.tty, sizeof(req.tty), optarg);
			break;
		case 'D':
			copy_arg(req.default_tenant, sizeof(req.default_tenant),
				 optarg);
			break;
		case 'R':
			copy_arg(req.roles, sizeof(req.roles), optarg);
			break;
		case 'i':
			copy_arg(req.request_id, sizeof(req.request_id),
				 optarg);
			break;
		case 'H':
			half = true;
			break;
		default:
			usage();
		}
	}
	/* GNU getopt moves the operands last: options may follow the type */
	if (optind >= argc || timeout_ms <= 0)
		usage();
	type = argv[optind++];
	if (socket_path == NULL)
		socket_path = KW_CLIENT_DEFAULT_SOCKET;
	if (strcmp(type, "raw") == 0) {
		if (optind + 1 != argc)
			usage();
		return send_raw(socket_path, argv[optind], half, timeout_ms);
	}
	if (optind != argc)
		usage();
	if (strcmp(type, "ping") == 0) {
		req.type = KW_PROTO_PING;
		req.service[0] = '\0';
	} else if (strcmp(type, "auth") == 0) {
		req.type = KW_PROTO_AUTHENTICATE;
		read_password(req.password, sizeof(req.password));
	} else if (strcmp(type, "account") == 0) {
		req.type = KW_PROTO_ACCOUNT;
	} else {
		usage();
	}
	if (req.request_id[0] == '\0')
		kw_proto_new_request_id(req.request_id, sizeof(req.request_id));
	rc = kw_client_call(socket_path, timeout_ms, &req, &reply, err,
			    sizeof(err));
	kw_request_clear(&req);
	if (rc != 0) {
		fprintf(stderr, "kwcall: %s\n", err);
		return 1;
	}
	print_reply(&reply);
	return 0;
}
