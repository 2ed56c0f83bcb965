/*
 * kw_proto.h - the wire format between the modules and keywardd.
 *
 * One request frame goes from a client to keywardd over a UNIX stream
 * socket, one reply frame comes back, and the connection is closed.  A
 * frame is an 8-byte header followed by a body of tagged fields:
 *
 *   "KW" | version u8 (1) | type u8 | body length u32 big-endian
 *   field: tag u8 | length u16 big-endian | bytes
 *
 * The decoder is strict: an unknown type or tag, a tag not allowed for the
 * type, a duplicate tag, a missing required field, a field longer than its
 * limit, a NUL inside a string or any byte left over is an error.  Any
 * change to the format is a new version.  docs/protocol.md is the
 * reference; the limits below and the tables in kw_proto.c must match it.
 *
 * This file needs only libkwcommon (for kw_wipe); no libldap, no PAM.
 */
#ifndef KW_PROTO_H
#define KW_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define KW_PROTO_VERSION 1
#define KW_PROTO_HEADER_LEN 8
#define KW_PROTO_MAX_BODY 16384
#define KW_PROTO_FIELD_HEADER_LEN 3

/* Maximum lengths of the string fields, in bytes, without the NUL. */
#define KW_PROTO_USER_MAX 255
#define KW_PROTO_PASSWORD_MAX 1024
#define KW_PROTO_SERVICE_MAX 64
#define KW_PROTO_RHOST_MAX 255
#define KW_PROTO_TTY_MAX 64
#define KW_PROTO_TENANT_MAX 32
#define KW_PROTO_REQUEST_ID_MAX 32
#define KW_PROTO_ROLES_MAX 1024
#define KW_PROTO_MESSAGE_MAX 256
#define KW_PROTO_CANONICAL_USER_MAX 255
#define KW_PROTO_CODE_MAX 64
#define KW_PROTO_INFO_MAX 8192
#define KW_PROTO_TICKET_MAX 128

/* Length of the ids made by kw_proto_new_request_id(). */
#define KW_PROTO_REQUEST_ID_LEN 16

/* Message types.  Requests are below 0x80, replies from 0x80 up. */
enum kw_proto_type {
	KW_PROTO_PING = 1,
	KW_PROTO_AUTHENTICATE = 2,
	KW_PROTO_ACCOUNT = 3,
	KW_PROTO_TOTP = 4,
	/* 5 SESSION, 6 AUDIT: reserved, refused by version 1. */
	KW_PROTO_REPLY = 0x80,
};

/* Field tags.  16 and up are reserved for later types. */
enum kw_proto_tag {
	KW_TAG_USER = 1,
	KW_TAG_PASSWORD = 2,
	KW_TAG_SERVICE = 3,
	KW_TAG_RHOST = 4,
	KW_TAG_TTY = 5,
	KW_TAG_TENANT = 6,
	KW_TAG_REQUEST_ID = 7,
	KW_TAG_ROLES = 8,
	KW_TAG_STATUS = 9,
	KW_TAG_MESSAGE = 10,
	KW_TAG_CANONICAL_USER = 11,
	KW_TAG_CODE = 12,    /* a one-time code (TOTP request); a secret */
	KW_TAG_INFO = 13,    /* text to show the user (reply): an enrolment */
	KW_TAG_TICKET = 14,  /* proof of an accepted password, for TOTP */
	KW_TAG_NO_CODE = 15, /* one byte, 1: no one-time code to check */
};

/*
 * The outcome in a reply.  There is no "unknown user": an unknown user,
 * a wrong password and a disabled account are all DENIED, so that a client
 * learns nothing about which names exist.
 */
enum kw_status {
	KW_STATUS_OK = 0,
	KW_STATUS_DENIED = 1,
	KW_STATUS_NEW_AUTHTOK_REQD = 2,
	KW_STATUS_UNAVAILABLE = 3, /* directory unreachable: fail closed */
	KW_STATUS_BAD_REQUEST = 4,
	/* TOTP only: what the second factor needs from the user. */
	KW_STATUS_CODE_REQUIRED = 5, /* ask for a code and send it */
	KW_STATUS_NOT_ENROLLED = 6,  /* no token, none required: not checked */
	KW_STATUS_ENROL = 7,         /* show INFO, ask for the first code */
};
#define KW_STATUS_MAX KW_STATUS_ENROL

/*
 * A request.  Every string is NUL-terminated; an empty string is an absent
 * optional field.  PASSWORD is a secret: kw_request_clear() wipes the
 * whole structure, and must run on every path once the request is done.
 */
struct kw_request {
	enum kw_proto_type type;
	char user[KW_PROTO_USER_MAX + 1];
	char password[KW_PROTO_PASSWORD_MAX + 1];
	char service[KW_PROTO_SERVICE_MAX + 1];
	char rhost[KW_PROTO_RHOST_MAX + 1];
	char tty[KW_PROTO_TTY_MAX + 1];
	char default_tenant[KW_PROTO_TENANT_MAX + 1];
	char request_id[KW_PROTO_REQUEST_ID_MAX + 1];
	/* Comma-separated role names, any of which grants access. */
	char roles[KW_PROTO_ROLES_MAX + 1];
	/*
	 * TOTP: CODE_GIVEN false asks what the login needs (no CODE field
	 * on the wire); true sends the code the user typed, even an empty
	 * one, so that keywardd can refuse and record it.
	 */
	bool code_given;
	char code[KW_PROTO_CODE_MAX + 1];
	/* TOTP: the ticket the AUTHENTICATE reply of this login carried. */
	char ticket[KW_PROTO_TICKET_MAX + 1];
};

struct kw_reply {
	enum kw_status status;
	/* Text for the PAM conversation or the log; may be empty. */
	char message[KW_PROTO_MESSAGE_MAX + 1];
	/* "user@tenant", set on success. */
	char canonical_user[KW_PROTO_CANONICAL_USER_MAX + 1];
	/* The request's id, echoed; empty only in a BAD_REQUEST reply. */
	char request_id[KW_PROTO_REQUEST_ID_MAX + 1];
	/* TOTP: text for the user (a QR code, recovery codes); may be "". */
	char info[KW_PROTO_INFO_MAX + 1];
	/*
	 * AUTHENTICATE OK: a ticket that this process sends with the TOTP
	 * request of the same login, so that keywardd answers it only
	 * after a password it accepted.  Opaque to the client.
	 */
	char ticket[KW_PROTO_TICKET_MAX + 1];
	/*
	 * AUTHENTICATE OK: this login has no one-time code to check (the
	 * user has no token and the tenant requires none), so that its TOTP
	 * step, which keywardd would answer NOT_ENROLLED, may be left out.
	 */
	bool no_code;
};

/* The largest frames that a valid request or reply can make. */
#define KW_PROTO_REQUEST_FRAME_MAX                                             \
	(KW_PROTO_HEADER_LEN + 10 * KW_PROTO_FIELD_HEADER_LEN +                \
	 KW_PROTO_USER_MAX + KW_PROTO_PASSWORD_MAX + KW_PROTO_SERVICE_MAX +    \
	 KW_PROTO_RHOST_MAX + KW_PROTO_TTY_MAX + KW_PROTO_TENANT_MAX +         \
	 KW_PROTO_REQUEST_ID_MAX + KW_PROTO_ROLES_MAX + KW_PROTO_CODE_MAX +    \
	 KW_PROTO_TICKET_MAX)
#define KW_PROTO_REPLY_FRAME_MAX                                               \
	(KW_PROTO_HEADER_LEN + 7 * KW_PROTO_FIELD_HEADER_LEN + 1 +             \
	 KW_PROTO_MESSAGE_MAX + KW_PROTO_CANONICAL_USER_MAX +                  \
	 KW_PROTO_REQUEST_ID_MAX + KW_PROTO_INFO_MAX + KW_PROTO_TICKET_MAX +   \
	 1)

/* Wipe REQ (password included) and set every field to empty.  NULL is ok. */
void kw_request_clear(struct kw_request *req);

/* Set every field of REPLY to empty and the status to DENIED. */
void kw_reply_clear(struct kw_reply *reply);

/*
 * Write REQ as one frame into BUF (BUFSZ bytes) and its length into
 * *LEN_OUT.  Optional fields are written only when not empty, in tag order,
 * so that equal requests encode to equal bytes.  Returns 0; EINVAL if REQ
 * is not valid (unknown type, a string not terminated within its limit, an
 * empty request id, or a field set that its type does not carry: a
 * password in an ACCOUNT request is refused, not dropped); ENOBUFS if BUF
 * is too small.  BUF holds the password afterwards: wipe it after use.
 */
int kw_proto_encode_request(const struct kw_request *req, uint8_t *buf,
			    size_t bufsz, size_t *len_out);

/*
 * Decode the one frame of LEN bytes at BUF into *OUT.  Returns 0;
 * EPROTO for a wrong magic or version; EMSGSIZE if the header announces a
 * body over KW_PROTO_MAX_BODY; EINVAL for anything else that is malformed
 * (short or long input, reply type, unknown tag, ...).  On error *OUT is
 * wiped.  A daemon answers EINVAL with a BAD_REQUEST reply and closes.
 */
int kw_proto_decode_request(const uint8_t *buf, size_t len,
			    struct kw_request *out);

/* As kw_proto_encode_request(), for a reply (status must be known). */
int kw_proto_encode_reply(const struct kw_reply *reply, uint8_t *buf,
			  size_t bufsz, size_t *len_out);

/* As kw_proto_decode_request(), for a reply. */
int kw_proto_decode_reply(const uint8_t *buf, size_t len, struct kw_reply *out);

/*
 * From the first HDRLEN bytes of a frame (at least KW_PROTO_HEADER_LEN),
 * find the length of the whole frame, header included, so that a reader
 * knows how much more to read.  Returns 0; EINVAL if HDRLEN is short;
 * EPROTO for a wrong magic or version; EMSGSIZE for a body over the limit.
 */
int kw_proto_frame_length(const uint8_t *hdr, size_t hdrlen,
			  size_t *frame_len_out);

/*
 * Write a fresh request id (KW_PROTO_REQUEST_ID_LEN lowercase hex digits
 * and a NUL) into OUT, which holds at least KW_PROTO_REQUEST_ID_LEN + 1
 * bytes.  The id only follows a request through the logs; it is not a
 * secret.  Returns 0 or EINVAL.
 */
int kw_proto_new_request_id(char *out, size_t outsz);

/* "OK", "DENIED", ... for logs; "invalid" for anything else. */
const char *kw_proto_status_name(enum kw_status status);

/* "PING", "AUTHENTICATE", ... for logs; "invalid" for anything else. */
const char *kw_proto_type_name(enum kw_proto_type type);

/*
 * Frame I/O over a connected stream socket, shared by both sides.  Both
 * keep to one overall deadline of TIMEOUT_MS (> 0) for the whole frame,
 * work on blocking and non-blocking sockets alike, and never raise
 * SIGPIPE.
 *
 * kw_proto_read_frame reads exactly one frame into BUF (BUFSZ bytes) and
 * sets *LEN_OUT to its length.  Returns 0; ETIMEDOUT; ENODATA if the peer
 * closed before sending a byte; EPROTO if it closed inside a frame or the
 * header has a wrong magic or version; EMSGSIZE if the frame is longer
 * than BUFSZ or than the protocol allows (nothing more is read: close the
 * connection); EINVAL for bad arguments; or the errno of poll/recv.
 */
int kw_proto_read_frame(int fd, uint8_t *buf, size_t bufsz, int timeout_ms,
			size_t *len_out);

/*
 * Write the LEN bytes of BUF.  Returns 0; ETIMEDOUT; EPIPE or ECONNRESET if
 * the peer went away; EINVAL for bad arguments; or the errno of poll/send.
 */
int kw_proto_write_frame(int fd, const uint8_t *buf, size_t len,
			 int timeout_ms);

/*
 * The credentials of the process at the other end of a UNIX socket, taken
 * by the kernel when it connected (SO_PEERCRED).  Returns 0 or errno.
 */
int kw_proto_peer_cred(int fd, uid_t *uid_out, gid_t *gid_out, pid_t *pid_out);

#endif
