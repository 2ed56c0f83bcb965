/*
 * test_proto.c - the client protocol: codec, frame I/O and client call.
 *
 * Malformed frames are built field by field with a small builder, so each
 * case says exactly which rule it breaks.  The client is exercised against
 * a server in a forked child on a socket in a private temporary directory;
 * the child reports what it saw through its exit status, since cmocka's
 * assertions belong to the parent.
 */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "kw_client.h"
#include "kw_proto.h"

#define PASSWORD "correct horse battery"
#define REQUEST_ID "0123456789abcdef"

/* ---- building frames by hand ---------------------------------------- */

struct frame {
	uint8_t buf[KW_PROTO_HEADER_LEN + KW_PROTO_MAX_BODY + 64];
	size_t len;
};

static void frame_start(struct frame *f, uint8_t type)
{
	memset(f, 0, sizeof(*f));
	f->buf[0] = 'K';
	f->buf[1] = 'W';
	f->buf[2] = KW_PROTO_VERSION;
	f->buf[3] = type;
	f->len = KW_PROTO_HEADER_LEN;
}

static void frame_field(struct frame *f, uint8_t tag, const void *data,
			size_t len)
{
	f->buf[f->len++] = tag;
	f->buf[f->len++] = (uint8_t)(len >> 8);
	f->buf[f->len++] = (uint8_t)len;
	memcpy(f->buf + f->len, data, len);
	f->len += len;
}

static void frame_str(struct frame *f, uint8_t tag, const char *s)
{
	frame_field(f, tag, s, strlen(s));
}

static void frame_set_body_len(struct frame *f, uint32_t body)
{
	f->buf[4] = (uint8_t)(body >> 24);
	f->buf[5] = (uint8_t)(body >> 16);
	f->buf[6] = (uint8_t)(body >> 8);
	f->buf[7] = (uint8_t)body;
}

static void frame_finish(struct frame *f)
{
	frame_set_body_len(f, (uint32_t)(f->len - KW_PROTO_HEADER_LEN));
}

/* A valid AUTHENTICATE frame, fields in the order given. */
static void frame_auth(struct frame *f)
{
	frame_start(f, KW_PROTO_AUTHENTICATE);
	frame_str(f, KW_TAG_USER, "alice");
	frame_str(f, KW_TAG_PASSWORD, PASSWORD);
	frame_str(f, KW_TAG_SERVICE, "sshd");
	frame_str(f, KW_TAG_REQUEST_ID, REQUEST_ID);
	frame_finish(f);
}

static void fill_auth(struct kw_request *req)
{
	kw_request_clear(req);
	req->type = KW_PROTO_AUTHENTICATE;
	strcpy(req->user, "alice");
	strcpy(req->password, PASSWORD);
	strcpy(req->service, "sshd");
	strcpy(req->rhost, "192.0.2.7");
	strcpy(req->tty, "ssh");
	strcpy(req->default_tenant, "acme");
	strcpy(req->request_id, REQUEST_ID);
}

static void fill_account(struct kw_request *req)
{
	kw_request_clear(req);
	req->type = KW_PROTO_ACCOUNT;
	strcpy(req->user, "bob@acme");
	strcpy(req->service, "contacts");
	strcpy(req->rhost, "2001:db8::1");
	strcpy(req->request_id, REQUEST_ID);
	strcpy(req->roles, "admins,ops");
}

static void assert_request_equal(const struct kw_request *a,
				 const struct kw_request *b)
{
	assert_int_equal(a->type, b->type);
	assert_string_equal(a->user, b->user);
	assert_string_equal(a->password, b->password);
	assert_string_equal(a->service, b->service);
	assert_string_equal(a->rhost, b->rhost);
	assert_string_equal(a->tty, b->tty);
	assert_string_equal(a->default_tenant, b->default_tenant);
	assert_string_equal(a->request_id, b->request_id);
	assert_string_equal(a->roles, b->roles);
}

static void assert_request_empty(const struct kw_request *r)
{
	static const struct kw_request zero;

	assert_memory_equal(r, &zero, sizeof(zero));
}

static void roundtrip_request(const struct kw_request *req)
{
	uint8_t buf[KW_PROTO_REQUEST_FRAME_MAX];
	uint8_t again[KW_PROTO_REQUEST_FRAME_MAX];
	struct kw_request out;
	size_t len = 0, len2 = 0;

	assert_int_equal(kw_proto_encode_request(req, buf, sizeof(buf), &len),
			 0);
	assert_int_equal(kw_proto_decode_request(buf, len, &out), 0);
	assert_request_equal(req, &out);
	/* Encoding is canonical: the decoded request encodes identically. */
	assert_int_equal(
		kw_proto_encode_request(&out, again, sizeof(again), &len2), 0);
	assert_int_equal(len, len2);
	assert_memory_equal(buf, again, len);
	kw_request_clear(&out);
}

static int decode_req(const struct frame *f)
{
	struct kw_request out;
	int ret = kw_proto_decode_request(f->buf, f->len, &out);

	if (ret != 0)
		assert_request_empty(&out);
	kw_request_clear(&out);
	return ret;
}

static int decode_rep(const struct frame *f)
{
	struct kw_reply out;

	return kw_proto_decode_reply(f->buf, f->len, &out);
}

/* ---- round trips ----------------------------------------------------- */

static void test_roundtrip_ping(void **state)
{
	struct kw_request req;

	kw_request_clear(&req);
	req.type = KW_PROTO_PING;
	strcpy(req.request_id, REQUEST_ID);
	roundtrip_request(&req);
}

static void test_roundtrip_authenticate(void **state)
{
	struct kw_request req;

	fill_auth(&req);
	roundtrip_request(&req);
	/* Optional fields may be absent. */
	req.rhost[0] = req.tty[0] = req.default_tenant[0] = '\0';
	roundtrip_request(&req);
	/* An empty password is carried (the daemon refuses it). */
	req.password[0] = '\0';
	roundtrip_request(&req);
	kw_request_clear(&req);
}

static void test_roundtrip_account(void **state)
{
	struct kw_request req;

	fill_account(&req);
	roundtrip_request(&req);
	req.roles[0] = '\0';
	roundtrip_request(&req);
}

static void test_roundtrip_reply(void **state)
{
	static const enum kw_status all[] = {
		KW_STATUS_OK, KW_STATUS_DENIED, KW_STATUS_NEW_AUTHTOK_REQD,
		KW_STATUS_UNAVAILABLE, KW_STATUS_BAD_REQUEST};
	uint8_t buf[KW_PROTO_REPLY_FRAME_MAX];
	struct kw_reply rep, out;
	size_t len;

	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		kw_reply_clear(&rep);
		rep.status = all[i];
		if (all[i] == KW_STATUS_OK)
			strcpy(rep.canonical_user, "alice@acme");
		if (all[i] != KW_STATUS_BAD_REQUEST)
			strcpy(rep.request_id, REQUEST_ID);
		snprintf(rep.message, sizeof(rep.message), "answer %zu", i);
		assert_int_equal(
			kw_proto_encode_reply(&rep, buf, sizeof(buf), &len), 0);
		assert_int_equal(kw_proto_decode_reply(buf, len, &out), 0);
		assert_int_equal(out.status, rep.status);
		assert_string_equal(out.message, rep.message);
		assert_string_equal(out.canonical_user, rep.canonical_user);
		assert_string_equal(out.request_id, rep.request_id);
	}
}

/* Every field at its limit, with every byte value but NUL. */
static void test_roundtrip_limits(void **state)
{
	struct kw_request req;
	uint8_t buf[KW_PROTO_REPLY_FRAME_MAX];
	struct kw_reply rep, out;
	size_t len;

#define FILL(field, max)                                                       \
	do {                                                                   \
		for (size_t i = 0; i < (max); i++)                             \
			field[i] = (char)(1 + i % 255);                        \
		field[max] = '\0';                                             \
	} while (0)

	kw_request_clear(&req);
	req.type = KW_PROTO_AUTHENTICATE;
	FILL(req.user, KW_PROTO_USER_MAX);
	FILL(req.password, KW_PROTO_PASSWORD_MAX);
	FILL(req.service, KW_PROTO_SERVICE_MAX);
	FILL(req.rhost, KW_PROTO_RHOST_MAX);
	FILL(req.tty, KW_PROTO_TTY_MAX);
	FILL(req.default_tenant, KW_PROTO_TENANT_MAX);
	FILL(req.request_id, KW_PROTO_REQUEST_ID_MAX);
	roundtrip_request(&req);

	req.type = KW_PROTO_ACCOUNT;
	req.password[0] = '\0';
	FILL(req.roles, KW_PROTO_ROLES_MAX);
	roundtrip_request(&req);

	/* TOTP: a code (even an empty one is sent) and a ticket. */
	req.type = KW_PROTO_TOTP;
	req.roles[0] = '\0';
	req.code_given = true;
	roundtrip_request(&req);
	FILL(req.code, KW_PROTO_CODE_MAX);
	FILL(req.ticket, KW_PROTO_TICKET_MAX);
	roundtrip_request(&req);
	kw_request_clear(&req);

	kw_reply_clear(&rep);
	FILL(rep.message, KW_PROTO_MESSAGE_MAX);
	FILL(rep.canonical_user, KW_PROTO_CANONICAL_USER_MAX);
	FILL(rep.request_id, KW_PROTO_REQUEST_ID_MAX);
	FILL(rep.info, KW_PROTO_INFO_MAX);
	FILL(rep.ticket, KW_PROTO_TICKET_MAX);
	rep.no_code = true;
	assert_int_equal(kw_proto_encode_reply(&rep, buf, sizeof(buf), &len),
			 0);
	assert_int_equal(len, KW_PROTO_REPLY_FRAME_MAX);
	assert_int_equal(kw_proto_decode_reply(buf, len, &out), 0);
	assert_memory_equal(&rep, &out, sizeof(rep));
#undef FILL
}

/*
 * NO_CODE: one byte, 1, in a reply only; absent is false.  Any other
 * length or value, or the tag in a request, is refused whole.
 */
static void test_no_code_field(void **state)
{
	static const uint8_t one = 1, zero = 0, two[2] = {1, 1};
	struct kw_request req;
	struct kw_reply out;
	struct frame f;
	size_t len;

	frame_start(&f, KW_PROTO_REPLY);
	frame_str(&f, KW_TAG_REQUEST_ID, REQUEST_ID);
	frame_field(&f, KW_TAG_STATUS, &zero, 1);
	frame_finish(&f);
	assert_int_equal(kw_proto_decode_reply(f.buf, f.len, &out), 0);
	assert_false(out.no_code);

	frame_field(&f, KW_TAG_NO_CODE, &one, 1);
	frame_finish(&f);
	assert_int_equal(kw_proto_decode_reply(f.buf, f.len, &out), 0);
	assert_true(out.no_code);
	assert_int_equal(out.status, KW_STATUS_OK);

	/* the same reply with a zero, an empty or a two-byte value */
	f.buf[f.len - 1] = 0;
	assert_int_equal(kw_proto_decode_reply(f.buf, f.len, &out), EINVAL);
	assert_false(out.no_code);
	f.len -= KW_PROTO_FIELD_HEADER_LEN + 1;
	frame_field(&f, KW_TAG_NO_CODE, two, 0);
	frame_finish(&f);
	assert_int_equal(kw_proto_decode_reply(f.buf, f.len, &out), EINVAL);
	f.len -= KW_PROTO_FIELD_HEADER_LEN;
	frame_field(&f, KW_TAG_NO_CODE, two, 2);
	frame_finish(&f);
	assert_int_equal(kw_proto_decode_reply(f.buf, f.len, &out), EINVAL);

	/* in a request it is an unknown field */
	frame_auth(&f);
	frame_field(&f, KW_TAG_NO_CODE, &one, 1);
	frame_finish(&f);
	assert_int_equal(kw_proto_decode_request(f.buf, f.len, &req), EINVAL);

	/* encoded only when true */
	kw_reply_clear(&out);
	strcpy(out.request_id, REQUEST_ID);
	assert_int_equal(
		kw_proto_encode_reply(&out, f.buf, sizeof(f.buf), &len), 0);
	assert_null(memchr(f.buf + KW_PROTO_HEADER_LEN, KW_TAG_NO_CODE,
			   len - KW_PROTO_HEADER_LEN));
}

/* Fields may come in any order and a required one may be empty. */
static void test_decode_any_order(void **state)
{
	struct frame f;
	struct kw_request out;

	frame_start(&f, KW_PROTO_ACCOUNT);
	frame_str(&f, KW_TAG_ROLES, "ops");
	frame_str(&f, KW_TAG_REQUEST_ID, "x");
	frame_str(&f, KW_TAG_SERVICE, "");
	frame_str(&f, KW_TAG_TTY, "");
	frame_str(&f, KW_TAG_USER, "carol");
	frame_finish(&f);
	assert_int_equal(kw_proto_decode_request(f.buf, f.len, &out), 0);
	assert_int_equal(out.type, KW_PROTO_ACCOUNT);
	assert_string_equal(out.user, "carol");
	assert_string_equal(out.service, "");
	assert_string_equal(out.tty, "");
	assert_string_equal(out.roles, "ops");
	assert_string_equal(out.request_id, "x");
}

/* ---- malformed frames ------------------------------------------------ */

static void test_truncated_header(void **state)
{
	struct frame f;
	struct kw_request out;
	struct kw_reply rep;

	frame_auth(&f);
	for (size_t n = 0; n < KW_PROTO_HEADER_LEN; n++) {
		assert_int_equal(kw_proto_decode_request(f.buf, n, &out),
				 EINVAL);
		assert_int_equal(kw_proto_decode_reply(f.buf, n, &rep), EINVAL);
	}
	assert_int_equal(kw_proto_decode_request(NULL, 0, &out), EINVAL);
}

static void test_truncated_body(void **state)
{
	struct frame f;
	struct kw_request out;

	frame_auth(&f);
	for (size_t n = KW_PROTO_HEADER_LEN; n < f.len; n++) {
		assert_int_equal(kw_proto_decode_request(f.buf, n, &out),
				 EINVAL);
		assert_request_empty(&out);
	}
	assert_int_equal(decode_req(&f), 0);
}

static void test_body_too_big(void **state)
{
	struct frame f;
	size_t flen;

	frame_start(&f, KW_PROTO_PING);
	frame_set_body_len(&f, KW_PROTO_MAX_BODY + 1);
	f.len = KW_PROTO_HEADER_LEN + KW_PROTO_MAX_BODY + 1;
	assert_int_equal(decode_req(&f), EMSGSIZE);
	f.buf[3] = KW_PROTO_REPLY;
	assert_int_equal(decode_rep(&f), EMSGSIZE);
	assert_int_equal(kw_proto_frame_length(f.buf, f.len, &flen), EMSGSIZE);
	frame_set_body_len(&f, 0xffffffffu);
	assert_int_equal(kw_proto_frame_length(f.buf, f.len, &flen), EMSGSIZE);
	assert_int_equal(decode_rep(&f), EMSGSIZE);

	/* A body at the limit passes the size check (and fails later). */
	frame_set_body_len(&f, KW_PROTO_MAX_BODY);
	assert_int_equal(
		kw_proto_frame_length(f.buf, KW_PROTO_HEADER_LEN, &flen), 0);
	assert_int_equal(flen, KW_PROTO_HEADER_LEN + KW_PROTO_MAX_BODY);
	f.len = flen;
	assert_int_equal(decode_rep(&f), EINVAL);
}

static void test_length_mismatch(void **state)
{
	struct frame f;

	/* The header promises more than there is. */
	frame_auth(&f);
	frame_set_body_len(&f, (uint32_t)(f.len - KW_PROTO_HEADER_LEN + 1));
	assert_int_equal(decode_req(&f), EINVAL);
	/* Bytes follow the frame. */
	frame_auth(&f);
	f.len++;
	assert_int_equal(decode_req(&f), EINVAL);
}

static void test_field_past_end(void **state)
{
	struct frame f;

	frame_start(&f, KW_PROTO_PING);
	frame_str(&f, KW_TAG_REQUEST_ID, REQUEST_ID);
	f.buf[f.len - strlen(REQUEST_ID) - 1] += 1; /* one byte too long */
	frame_finish(&f);
	assert_int_equal(decode_req(&f), EINVAL);

	/* A field header cut short. */
	frame_start(&f, KW_PROTO_PING);
	frame_str(&f, KW_TAG_REQUEST_ID, REQUEST_ID);
	f.buf[f.len++] = KW_TAG_USER;
	f.buf[f.len++] = 0;
	frame_finish(&f);
	assert_int_equal(decode_req(&f), EINVAL);
}

static void test_unknown_tag(void **state)
{
	static const uint8_t tags[] = {0, 15, 16, 31, 32, 200, 255};
	struct frame f;

	for (size_t i = 0; i < sizeof(tags); i++) {
		frame_auth(&f);
		frame_str(&f, tags[i], "x");
		frame_finish(&f);
		assert_int_equal(decode_req(&f), EINVAL);
	}
}

static void test_tag_not_for_type(void **state)
{
	struct frame f;
	uint8_t status = KW_STATUS_OK;

	/* A password has no place in an ACCOUNT request. */
	frame_start(&f, KW_PROTO_ACCOUNT);
	frame_str(&f, KW_TAG_USER, "bob");
	frame_str(&f, KW_TAG_SERVICE, "sshd");
	frame_str(&f, KW_TAG_REQUEST_ID, REQUEST_ID);
	frame_str(&f, KW_TAG_PASSWORD, PASSWORD);
	frame_finish(&f);
	assert_int_equal(decode_req(&f), EINVAL);

	frame_auth(&f);
	frame_field(&f, KW_TAG_STATUS, &status, 1);
	frame_finish(&f);
	assert_int_equal(decode_req(&f), EINVAL);

	frame_start(&f, KW_PROTO_REPLY);
	frame_field(&f, KW_TAG_STATUS, &status, 1);
	frame_str(&f, KW_TAG_USER, "alice");
	frame_finish(&f);
	assert_int_equal(decode_rep(&f), EINVAL);
}

static void test_duplicate_tag(void **state)
{
	struct frame f;
	uint8_t status = KW_STATUS_OK;

	frame_auth(&f);
	frame_str(&f, KW_TAG_USER, "root");
	frame_finish(&f);
	assert_int_equal(decode_req(&f), EINVAL);

	frame_start(&f, KW_PROTO_REPLY);
	frame_field(&f, KW_TAG_STATUS, &status, 1);
	frame_field(&f, KW_TAG_STATUS, &status, 1);
	frame_finish(&f);
	assert_int_equal(decode_rep(&f), EINVAL);
}

static void test_missing_required(void **state)
{
	struct frame f;

	/* AUTHENTICATE without a password. */
	frame_start(&f, KW_PROTO_AUTHENTICATE);
	frame_str(&f, KW_TAG_USER, "alice");
	frame_str(&f, KW_TAG_SERVICE, "sshd");
	frame_str(&f, KW_TAG_REQUEST_ID, REQUEST_ID);
	frame_finish(&f);
	assert_int_equal(decode_req(&f), EINVAL);

	/* ACCOUNT without a service. */
	frame_start(&f, KW_PROTO_ACCOUNT);
	frame_str(&f, KW_TAG_USER, "alice");
	frame_str(&f, KW_TAG_REQUEST_ID, REQUEST_ID);
	frame_finish(&f);
	assert_int_equal(decode_req(&f), EINVAL);

	/* PING without, or with an empty, request id. */
	frame_start(&f, KW_PROTO_PING);
	frame_finish(&f);
	assert_int_equal(decode_req(&f), EINVAL);
	frame_str(&f, KW_TAG_REQUEST_ID, "");
	frame_finish(&f);
	assert_int_equal(decode_req(&f), EINVAL);

	/* A reply without a status. */
	frame_start(&f, KW_PROTO_REPLY);
	frame_str(&f, KW_TAG_REQUEST_ID, REQUEST_ID);
	frame_finish(&f);
	assert_int_equal(decode_rep(&f), EINVAL);
}

static void test_nul_in_string(void **state)
{
	static const char user[] = "alice\0root";
	static const char message[] = "ok\0hidden";
	struct frame f;
	uint8_t status = KW_STATUS_OK;

	frame_start(&f, KW_PROTO_AUTHENTICATE);
	frame_field(&f, KW_TAG_USER, user, sizeof(user) - 1);
	frame_str(&f, KW_TAG_PASSWORD, PASSWORD);
	frame_str(&f, KW_TAG_SERVICE, "sshd");
	frame_str(&f, KW_TAG_REQUEST_ID, REQUEST_ID);
	frame_finish(&f);
	/* decode_req also checks that nothing, the password least, is left. */
	assert_int_equal(decode_req(&f), EINVAL);

	/* A lone NUL, and a NUL at the end. */
	frame_start(&f, KW_PROTO_PING);
	frame_field(&f, KW_TAG_REQUEST_ID, "", 1);
	frame_finish(&f);
	assert_int_equal(decode_req(&f), EINVAL);
	frame_start(&f, KW_PROTO_PING);
	frame_field(&f, KW_TAG_REQUEST_ID, "abc", 4);
	frame_finish(&f);
	assert_int_equal(decode_req(&f), EINVAL);

	frame_start(&f, KW_PROTO_REPLY);
	frame_field(&f, KW_TAG_STATUS, &status, 1);
	frame_field(&f, KW_TAG_MESSAGE, message, sizeof(message) - 1);
	frame_finish(&f);
	assert_int_equal(decode_rep(&f), EINVAL);
}

static void test_overlong_field(void **state)
{
	static const struct {
		uint8_t tag;
		size_t max;
	} limits[] = {
		{KW_TAG_USER, KW_PROTO_USER_MAX},
		{KW_TAG_PASSWORD, KW_PROTO_PASSWORD_MAX},
		{KW_TAG_SERVICE, KW_PROTO_SERVICE_MAX},
		{KW_TAG_RHOST, KW_PROTO_RHOST_MAX},
		{KW_TAG_TTY, KW_PROTO_TTY_MAX},
		{KW_TAG_TENANT, KW_PROTO_TENANT_MAX},
		{KW_TAG_REQUEST_ID, KW_PROTO_REQUEST_ID_MAX},
	};
	char big[KW_PROTO_ROLES_MAX + 2];
	struct frame f;
	uint8_t status[2] = {0, 0};

	memset(big, 'a', sizeof(big));
	for (size_t i = 0; i < sizeof(limits) / sizeof(limits[0]); i++) {
		for (size_t extra = 0; extra <= 1; extra++) {
			frame_start(&f, KW_PROTO_AUTHENTICATE);
			for (uint8_t tag = KW_TAG_USER;
			     tag <= KW_TAG_REQUEST_ID; tag++) {
				if (tag == limits[i].tag)
					frame_field(&f, tag, big,
						    limits[i].max + extra);
				else
					frame_str(&f, tag, "x");
			}
			frame_finish(&f);
			assert_int_equal(decode_req(&f), extra ? EINVAL : 0);
		}
	}

	frame_start(&f, KW_PROTO_ACCOUNT);
	frame_str(&f, KW_TAG_USER, "bob");
	frame_str(&f, KW_TAG_SERVICE, "sshd");
	frame_str(&f, KW_TAG_REQUEST_ID, REQUEST_ID);
	frame_field(&f, KW_TAG_ROLES, big, KW_PROTO_ROLES_MAX + 1);
	frame_finish(&f);
	assert_int_equal(decode_req(&f), EINVAL);

	frame_start(&f, KW_PROTO_REPLY);
	frame_field(&f, KW_TAG_STATUS, status, 2);
	frame_finish(&f);
	assert_int_equal(decode_rep(&f), EINVAL);
	frame_start(&f, KW_PROTO_REPLY);
	frame_field(&f, KW_TAG_STATUS, status, 1);
	frame_field(&f, KW_TAG_MESSAGE, big, KW_PROTO_MESSAGE_MAX + 1);
	frame_finish(&f);
	assert_int_equal(decode_rep(&f), EINVAL);
}

static void test_wrong_magic_or_version(void **state)
{
	struct frame f;
	size_t flen;

	frame_auth(&f);
	f.buf[0] = 'k';
	assert_int_equal(decode_req(&f), EPROTO);
	frame_auth(&f);
	f.buf[1] = 'X';
	assert_int_equal(decode_req(&f), EPROTO);
	assert_int_equal(kw_proto_frame_length(f.buf, f.len, &flen), EPROTO);
	for (unsigned int v = 0; v < 256; v++) {
		if (v == KW_PROTO_VERSION)
			continue;
		frame_auth(&f);
		f.buf[2] = (uint8_t)v;
		assert_int_equal(decode_req(&f), EPROTO);
		f.buf[3] = KW_PROTO_REPLY;
		assert_int_equal(decode_rep(&f), EPROTO);
	}
}

static void test_wrong_type(void **state)
{
	struct frame f;
	uint8_t status = KW_STATUS_OK;

	/* Reserved and unknown request types. */
	for (unsigned int t = 0; t < 256; t++) {
		if (t >= KW_PROTO_PING && t <= KW_PROTO_ACCOUNT)
			continue;
		frame_start(&f, (uint8_t)t);
		frame_str(&f, KW_TAG_REQUEST_ID, REQUEST_ID);
		frame_finish(&f);
		assert_int_equal(decode_req(&f), EINVAL);
	}
	/* A request is not a reply and a reply is not a request. */
	frame_auth(&f);
	assert_int_equal(decode_rep(&f), EINVAL);
	frame_start(&f, KW_PROTO_REPLY);
	frame_field(&f, KW_TAG_STATUS, &status, 1);
	frame_finish(&f);
	assert_int_equal(decode_rep(&f), 0);
	assert_int_equal(decode_req(&f), EINVAL);
}

static void test_reply_bad_status(void **state)
{
	struct frame f;
	struct kw_reply out;

	for (unsigned int s = 0; s < 256; s++) {
		uint8_t status = (uint8_t)s;

		frame_start(&f, KW_PROTO_REPLY);
		frame_field(&f, KW_TAG_STATUS, &status, 1);
		frame_finish(&f);
		assert_int_equal(kw_proto_decode_reply(f.buf, f.len, &out),
				 s <= KW_STATUS_MAX ? 0 : EINVAL);
		if (s > KW_STATUS_MAX)
			assert_int_equal(out.status, KW_STATUS_DENIED);
	}
}

/* ---- encoder --------------------------------------------------------- */

static void test_encode_refuses(void **state)
{
	struct kw_request req;
	struct kw_reply rep;
	uint8_t buf[KW_PROTO_REQUEST_FRAME_MAX];
	size_t len;

	/* A password in an ACCOUNT request is an error, not dropped. */
	fill_account(&req);
	strcpy(req.password, PASSWORD);
	assert_int_equal(kw_proto_encode_request(&req, buf, sizeof(buf), &len),
			 EINVAL);
	/* A user in a PING. */
	fill_account(&req);
	req.type = KW_PROTO_PING;
	assert_int_equal(kw_proto_encode_request(&req, buf, sizeof(buf), &len),
			 EINVAL);
	/* No request id. */
	fill_auth(&req);
	req.request_id[0] = '\0';
	assert_int_equal(kw_proto_encode_request(&req, buf, sizeof(buf), &len),
			 EINVAL);
	/* A string that fills its buffer without a terminator. */
	fill_auth(&req);
	memset(req.tty, 'x', sizeof(req.tty));
	assert_int_equal(kw_proto_encode_request(&req, buf, sizeof(buf), &len),
			 EINVAL);
	/* Unknown and reply types. */
	fill_auth(&req);
	req.type = (enum kw_proto_type)5;
	assert_int_equal(kw_proto_encode_request(&req, buf, sizeof(buf), &len),
			 EINVAL);
	req.type = KW_PROTO_REPLY;
	assert_int_equal(kw_proto_encode_request(&req, buf, sizeof(buf), &len),
			 EINVAL);
	assert_int_equal(kw_proto_encode_request(NULL, buf, sizeof(buf), &len),
			 EINVAL);

	kw_reply_clear(&rep);
	rep.status = (enum kw_status)(KW_STATUS_MAX + 1);
	assert_int_equal(kw_proto_encode_reply(&rep, buf, sizeof(buf), &len),
			 EINVAL);
	kw_request_clear(&req);
}

/* A buffer too small is ENOBUFS and keeps no part of the password. */
static void test_encode_small_buffer(void **state)
{
	struct kw_request req;
	uint8_t buf[KW_PROTO_REQUEST_FRAME_MAX];
	size_t len, need;

	fill_auth(&req);
	assert_int_equal(kw_proto_encode_request(&req, buf, sizeof(buf), &need),
			 0);
	for (size_t size = 0; size < need; size++) {
		memset(buf, 0, sizeof(buf));
		assert_int_equal(kw_proto_encode_request(&req, buf, size, &len),
				 ENOBUFS);
		assert_null(memmem(buf, sizeof(buf), "horse", 5));
	}
	assert_int_equal(kw_proto_encode_request(&req, buf, need, &len), 0);
	assert_int_equal(len, need);
	kw_request_clear(&req);
}

static void test_request_clear_wipes(void **state)
{
	struct kw_request req;

	fill_auth(&req);
	kw_request_clear(&req);
	assert_request_empty(&req);
	kw_request_clear(NULL);
	kw_reply_clear(NULL);
}

static void test_new_request_id(void **state)
{
	char a[KW_PROTO_REQUEST_ID_LEN + 1], b[KW_PROTO_REQUEST_ID_LEN + 1];

	assert_int_equal(kw_proto_new_request_id(a, sizeof(a)), 0);
	assert_int_equal(kw_proto_new_request_id(b, sizeof(b)), 0);
	assert_int_equal(strlen(a), KW_PROTO_REQUEST_ID_LEN);
	assert_int_equal(strspn(a, "0123456789abcdef"),
			 KW_PROTO_REQUEST_ID_LEN);
	assert_string_not_equal(a, b);
	assert_int_equal(kw_proto_new_request_id(a, KW_PROTO_REQUEST_ID_LEN),
			 EINVAL);
	assert_int_equal(kw_proto_new_request_id(NULL, 64), EINVAL);
}

static void test_names(void **state)
{
	assert_string_equal(kw_proto_status_name(KW_STATUS_OK), "OK");
	assert_string_equal(kw_proto_status_name(KW_STATUS_NEW_AUTHTOK_REQD),
			    "NEW_AUTHTOK_REQD");
	assert_string_equal(kw_proto_status_name((enum kw_status)9), "invalid");
	assert_string_equal(kw_proto_type_name(KW_PROTO_ACCOUNT), "ACCOUNT");
	assert_string_equal(kw_proto_type_name((enum kw_proto_type)5),
			    "invalid");
}

/* ---- frame I/O over a socket pair ------------------------------------ */

static void make_pair(int sv[2])
{
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv),
			 0);
}

static void test_io_roundtrip(void **state)
{
	struct frame f;
	uint8_t buf[KW_PROTO_REQUEST_FRAME_MAX];
	size_t len;
	int sv[2];

	make_pair(sv);
	frame_auth(&f);
	/* Two frames back to back: the reader takes exactly one each time. */
	assert_int_equal(kw_proto_write_frame(sv[0], f.buf, f.len, 1000), 0);
	assert_int_equal(kw_proto_write_frame(sv[0], f.buf, f.len, 1000), 0);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(kw_proto_read_frame(sv[1], buf, sizeof(buf),
						     1000, &len),
				 0);
		assert_int_equal(len, f.len);
		assert_memory_equal(buf, f.buf, len);
	}
	close(sv[0]);
	close(sv[1]);
}

static void test_io_eof(void **state)
{
	struct frame f;
	uint8_t buf[KW_PROTO_REQUEST_FRAME_MAX];
	size_t len;
	int sv[2];

	/* Closed before a byte. */
	make_pair(sv);
	close(sv[0]);
	assert_int_equal(
		kw_proto_read_frame(sv[1], buf, sizeof(buf), 1000, &len),
		ENODATA);
	close(sv[1]);

	/* Closed inside the header, then inside the body. */
	frame_auth(&f);
	for (size_t cut = 3; cut < f.len; cut += 17) {
		make_pair(sv);
		assert_int_equal(send(sv[0], f.buf, cut, 0), (ssize_t)cut);
		close(sv[0]);
		assert_int_equal(kw_proto_read_frame(sv[1], buf, sizeof(buf),
						     1000, &len),
				 EPROTO);
		close(sv[1]);
	}
}

static void test_io_timeout(void **state)
{
	struct frame f;
	uint8_t buf[KW_PROTO_REQUEST_FRAME_MAX];
	size_t len;
	int sv[2];

	make_pair(sv);
	assert_int_equal(kw_proto_read_frame(sv[1], buf, sizeof(buf), 50, &len),
			 ETIMEDOUT);
	/* Part of a frame, then silence. */
	frame_auth(&f);
	assert_int_equal(send(sv[0], f.buf, 10, 0), 10);
	assert_int_equal(kw_proto_read_frame(sv[1], buf, sizeof(buf), 50, &len),
			 ETIMEDOUT);
	close(sv[0]);
	close(sv[1]);
}

static void test_io_refuses(void **state)
{
	struct frame f;
	uint8_t buf[KW_PROTO_REPLY_FRAME_MAX];
	size_t len;
	int sv[2];

	/* Longer than the caller's buffer. */
	make_pair(sv);
	memset(buf, 'x', sizeof(buf));
	frame_auth(&f);
	frame_field(&f, KW_TAG_TTY, buf, sizeof(buf));
	frame_finish(&f);
	assert_int_equal(send(sv[0], f.buf, f.len, 0), (ssize_t)f.len);
	assert_int_equal(
		kw_proto_read_frame(sv[1], buf, sizeof(buf), 1000, &len),
		EMSGSIZE);
	close(sv[0]);
	close(sv[1]);

	/* Longer than the protocol allows, and a bad magic. */
	make_pair(sv);
	frame_start(&f, KW_PROTO_PING);
	frame_set_body_len(&f, KW_PROTO_MAX_BODY + 1);
	assert_int_equal(send(sv[0], f.buf, KW_PROTO_HEADER_LEN, 0),
			 KW_PROTO_HEADER_LEN);
	assert_int_equal(
		kw_proto_read_frame(sv[1], buf, sizeof(buf), 1000, &len),
		EMSGSIZE);
	f.buf[0] = 'X';
	assert_int_equal(send(sv[0], f.buf, KW_PROTO_HEADER_LEN, 0),
			 KW_PROTO_HEADER_LEN);
	assert_int_equal(
		kw_proto_read_frame(sv[1], buf, sizeof(buf), 1000, &len),
		EPROTO);
	assert_int_equal(kw_proto_read_frame(sv[1], buf, 4, 1000, &len),
			 EINVAL);
	assert_int_equal(kw_proto_read_frame(sv[1], buf, sizeof(buf), 0, &len),
			 EINVAL);

	/* Writing to a peer that left is EPIPE, not SIGPIPE. */
	close(sv[1]);
	assert_int_equal(kw_proto_write_frame(sv[0], f.buf, 8, 1000), EPIPE);
	close(sv[0]);
}

static void test_peer_cred(void **state)
{
	uid_t uid;
	gid_t gid;
	pid_t pid;
	int sv[2];

	make_pair(sv);
	assert_int_equal(kw_proto_peer_cred(sv[1], &uid, &gid, &pid), 0);
	assert_int_equal(uid, getuid());
	assert_int_equal(gid, getgid());
	assert_int_equal(pid, getpid());
	close(sv[0]);
	close(sv[1]);
	assert_int_equal(kw_proto_peer_cred(-1, &uid, &gid, &pid), EBADF);
}

/* ---- the client against a forked server ------------------------------ */

enum server_mode {
	SERVE_OK,          /* check the request, answer OK */
	SERVE_SILENT,      /* read the request, never answer */
	SERVE_CLOSE,       /* accept and close at once */
	SERVE_WRONG_ID,    /* answer with another request id */
	SERVE_GARBAGE,     /* answer with bytes that are no frame */
	SERVE_BAD_REQUEST, /* answer BAD_REQUEST without an id */
};

struct fixture {
	char dir[64];
	char path[128];
	int listen_fd;
	pid_t child;
};

static int setup_fixture(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));

	if (fx == NULL)
		return -1;
	/*
	 * mkdtemp's template: a short prefix and six placeholder letters
	 * (fx is zeroed, so a NUL follows them).
	 */
	strcpy(fx->dir, "/tmp/kwproto-");
	memset(fx->dir + strlen(fx->dir), 'X', 6);
	if (mkdtemp(fx->dir) == NULL) {
		free(fx);
		return -1;
	}
	snprintf(fx->path, sizeof(fx->path), "%s/keywardd.sock", fx->dir);
	fx->listen_fd = -1;
	fx->child = -1;
	*state = fx;
	return 0;
}

static int teardown_fixture(void **state)
{
	struct fixture *fx = *state;

	if (fx->listen_fd >= 0)
		close(fx->listen_fd);
	if (fx->child > 0) {
		kill(fx->child, SIGKILL);
		waitpid(fx->child, NULL, 0);
	}
	unlink(fx->path);
	rmdir(fx->dir);
	free(fx);
	return 0;
}

static int listen_on(const char *path)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	strcpy(addr.sun_path, path);
	assert_int_equal(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
	assert_int_equal(listen(fd, 4), 0);
	return fd;
}

/* The server's side, in the child; returns its exit status. */
static int serve(int listen_fd, enum server_mode mode)
{
	uint8_t buf[KW_PROTO_REQUEST_FRAME_MAX];
	uint8_t out[KW_PROTO_REPLY_FRAME_MAX];
	struct kw_request req;
	struct kw_reply rep;
	size_t len;
	uid_t uid;
	int fd;

	fd = accept(listen_fd, NULL, NULL);
	if (fd < 0)
		return 10;
	if (mode == SERVE_CLOSE) {
		close(fd);
		return 0;
	}
	if (kw_proto_read_frame(fd, buf, sizeof(buf), 5000, &len) != 0)
		return 11;
	if (kw_proto_decode_request(buf, len, &req) != 0)
		return 12;
	if (kw_proto_peer_cred(fd, &uid, NULL, NULL) != 0 || uid != getuid())
		return 13;
	if (strcmp(req.password, PASSWORD) != 0 ||
	    strcmp(req.user, "alice") != 0)
		return 14;
	if (mode == SERVE_SILENT) {
		/* Wait for the client to give up and close. */
		while (recv(fd, buf, sizeof(buf), 0) > 0)
			;
		return 0;
	}
	if (mode == SERVE_GARBAGE) {
		static const char junk[] = "HTTP/1.0 200 OK\r\n\r\n";

		return kw_proto_write_frame(fd, (const uint8_t *)junk,
					    sizeof(junk) - 1, 1000) == 0
			       ? 0
			       : 15;
	}
	kw_reply_clear(&rep);
	rep.status = KW_STATUS_OK;
	strcpy(rep.canonical_user, "alice@acme");
	strcpy(rep.message, "welcome");
	strcpy(rep.request_id, req.request_id);
	if (mode == SERVE_WRONG_ID)
		strcpy(rep.request_id, "ffffffffffffffff");
	if (mode == SERVE_BAD_REQUEST) {
		rep.status = KW_STATUS_BAD_REQUEST;
		rep.request_id[0] = rep.canonical_user[0] = '\0';
	}
	kw_request_clear(&req);
	if (kw_proto_encode_reply(&rep, out, sizeof(out), &len) != 0)
		return 16;
	if (kw_proto_write_frame(fd, out, len, 1000) != 0)
		return 17;
	close(fd);
	return 0;
}

static void start_server(struct fixture *fx, enum server_mode mode)
{
	fx->listen_fd = listen_on(fx->path);
	fx->child = fork();
	assert_true(fx->child >= 0);
	if (fx->child == 0)
		_exit(serve(fx->listen_fd, mode));
}

/* Wait for the server and return its exit status. */
static int server_status(struct fixture *fx)
{
	int status = -1;

	assert_int_equal(waitpid(fx->child, &status, 0), fx->child);
	fx->child = -1;
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

/* Call the client and check that the error text never holds a secret. */
static int call(struct fixture *fx, int timeout_ms, struct kw_reply *rep,
		char *err, size_t errlen)
{
	struct kw_request req;
	int ret;

	fill_auth(&req);
	ret = kw_client_call(fx->path, timeout_ms, &req, rep, err, errlen);
	kw_request_clear(&req);
	assert_null(strstr(err, "horse"));
	return ret;
}

static void test_client_ok(void **state)
{
	struct fixture *fx = *state;
	struct kw_reply rep;
	char err[256];

	start_server(fx, SERVE_OK);
	assert_int_equal(call(fx, 5000, &rep, err, sizeof(err)), 0);
	assert_int_equal(rep.status, KW_STATUS_OK);
	assert_string_equal(rep.canonical_user, "alice@acme");
	assert_string_equal(rep.message, "welcome");
	assert_string_equal(rep.request_id, REQUEST_ID);
	assert_int_equal(server_status(fx), 0);
}

static void test_client_timeout(void **state)
{
	struct fixture *fx = *state;
	struct kw_reply rep;
	char err[256];

	start_server(fx, SERVE_SILENT);
	assert_int_equal(call(fx, 200, &rep, err, sizeof(err)), ETIMEDOUT);
	assert_int_equal(rep.status, KW_STATUS_DENIED);
	assert_non_null(strstr(err, "did not answer within 200 ms"));
	assert_int_equal(server_status(fx), 0);
}

static void test_client_server_closes(void **state)
{
	struct fixture *fx = *state;
	struct kw_reply rep;
	char err[256];

	start_server(fx, SERVE_CLOSE);
	assert_int_equal(call(fx, 5000, &rep, err, sizeof(err)), EPROTO);
	assert_int_equal(rep.status, KW_STATUS_DENIED);
	assert_non_null(strstr(err, "closed the connection"));
	assert_int_equal(server_status(fx), 0);
}

static void test_client_wrong_id(void **state)
{
	struct fixture *fx = *state;
	struct kw_reply rep;
	char err[256];

	start_server(fx, SERVE_WRONG_ID);
	assert_int_equal(call(fx, 5000, &rep, err, sizeof(err)), EPROTO);
	assert_int_equal(rep.status, KW_STATUS_DENIED);
	assert_string_equal(rep.canonical_user, "");
	assert_non_null(strstr(err, "another request"));
	assert_int_equal(server_status(fx), 0);
}

static void test_client_garbage(void **state)
{
	struct fixture *fx = *state;
	struct kw_reply rep;
	char err[256];

	start_server(fx, SERVE_GARBAGE);
	assert_int_equal(call(fx, 5000, &rep, err, sizeof(err)), EPROTO);
	assert_non_null(strstr(err, "malformed reply"));
	assert_int_equal(server_status(fx), 0);
}

static void test_client_bad_request(void **state)
{
	struct fixture *fx = *state;
	struct kw_reply rep;
	char err[256];

	start_server(fx, SERVE_BAD_REQUEST);
	assert_int_equal(call(fx, 5000, &rep, err, sizeof(err)), 0);
	assert_int_equal(rep.status, KW_STATUS_BAD_REQUEST);
	assert_int_equal(server_status(fx), 0);
}

static void test_client_not_running(void **state)
{
	struct fixture *fx = *state;
	struct kw_reply rep;
	char err[256], want[256];
	int fd;

	/* No socket file at all. */
	assert_int_equal(call(fx, 1000, &rep, err, sizeof(err)), ENOENT);
	snprintf(want, sizeof(want),
		 "keywardd is not running (connect %s: "
		 "No such file or directory)",
		 fx->path);
	assert_string_equal(err, want);
	assert_int_equal(rep.status, KW_STATUS_DENIED);

	/* A socket file left behind by a daemon that is gone. */
	fd = listen_on(fx->path);
	close(fd);
	assert_int_equal(call(fx, 1000, &rep, err, sizeof(err)), ECONNREFUSED);
	assert_non_null(strstr(err, "keywardd is not running (connect "));
	assert_non_null(strstr(err, "Connection refused"));
}

static void test_client_bad_arguments(void **state)
{
	struct fixture *fx = *state;
	struct kw_request req;
	struct kw_reply rep;
	char err[256], longpath[200];

	fill_auth(&req);
	assert_int_equal(
		kw_client_call(fx->path, 0, &req, &rep, err, sizeof(err)),
		EINVAL);
	assert_int_equal(
		kw_client_call(fx->path, 100, NULL, &rep, err, sizeof(err)),
		EINVAL);
	/* Nothing is sent for a request that cannot be encoded. */
	req.type = KW_PROTO_ACCOUNT;
	assert_int_equal(
		kw_client_call(fx->path, 100, &req, &rep, err, sizeof(err)),
		EINVAL);
	assert_null(strstr(err, "horse"));

	fill_auth(&req);
	memset(longpath, 'p', sizeof(longpath) - 1);
	longpath[sizeof(longpath) - 1] = '\0';
	assert_int_equal(
		kw_client_call(longpath, 100, &req, &rep, err, sizeof(err)),
		ENAMETOOLONG);
	/* No room for a message is fine. */
	assert_int_equal(kw_client_call(fx->path, 100, &req, &rep, NULL, 0),
			 ENOENT);
	kw_request_clear(&req);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip_ping),
		cmocka_unit_test(test_roundtrip_authenticate),
		cmocka_unit_test(test_roundtrip_account),
		cmocka_unit_test(test_roundtrip_reply),
		cmocka_unit_test(test_roundtrip_limits),
		cmocka_unit_test(test_no_code_field),
		cmocka_unit_test(test_decode_any_order),
		cmocka_unit_test(test_truncated_header),
		cmocka_unit_test(test_truncated_body),
		cmocka_unit_test(test_body_too_big),
		cmocka_unit_test(test_length_mismatch),
		cmocka_unit_test(test_field_past_end),
		cmocka_unit_test(test_unknown_tag),
		cmocka_unit_test(test_tag_not_for_type),
		cmocka_unit_test(test_duplicate_tag),
		cmocka_unit_test(test_missing_required),
		cmocka_unit_test(test_nul_in_string),
		cmocka_unit_test(test_overlong_field),
		cmocka_unit_test(test_wrong_magic_or_version),
		cmocka_unit_test(test_wrong_type),
		cmocka_unit_test(test_reply_bad_status),
		cmocka_unit_test(test_encode_refuses),
		cmocka_unit_test(test_encode_small_buffer),
		cmocka_unit_test(test_request_clear_wipes),
		cmocka_unit_test(test_new_request_id),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_io_roundtrip),
		cmocka_unit_test(test_io_eof),
		cmocka_unit_test(test_io_timeout),
		cmocka_unit_test(test_io_refuses),
		cmocka_unit_test(test_peer_cred),
		cmocka_unit_test_setup_teardown(test_client_ok, setup_fixture,
						teardown_fixture),
		cmocka_unit_test_setup_teardown(
			test_client_timeout, setup_fixture, teardown_fixture),
		cmocka_unit_test_setup_teardown(test_client_server_closes,
						setup_fixture,
						teardown_fixture),
		cmocka_unit_test_setup_teardown(
			test_client_wrong_id, setup_fixture, teardown_fixture),
		cmocka_unit_test_setup_teardown(
			test_client_garbage, setup_fixture, teardown_fixture),
		cmocka_unit_test_setup_teardown(test_client_bad_request,
						setup_fixture,
						teardown_fixture),
		cmocka_unit_test_setup_teardown(test_client_not_running,
						setup_fixture,
						teardown_fixture),
		cmocka_unit_test_setup_teardown(test_client_bad_arguments,
						setup_fixture,
						teardown_fixture),
	};

	return cmocka_run_group_tests_name("proto", tests, NULL, NULL);
}
