/*
 * kw_proto.c - encoding and decoding the frames of the client protocol.
 *
 * Decoding runs in two steps: split the body into fields, checking the
 * framing, the tags and the limits in one place, then copy the fields the
 * type carries into the structure.  Nothing is copied out of a frame that
 * fails any check.
 */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "kw_proto.h"
#include "kw_secret.h"

#define TAG_LIMIT 16 /* one past the highest tag of version 1 */
#define BIT(tag) (1u << (tag))

/* Limits per tag; a zero entry is a tag that version 1 does not know. */
static const uint16_t tag_max[TAG_LIMIT] = {
	[KW_TAG_USER] = KW_PROTO_USER_MAX,
	[KW_TAG_PASSWORD] = KW_PROTO_PASSWORD_MAX,
	[KW_TAG_SERVICE] = KW_PROTO_SERVICE_MAX,
	[KW_TAG_RHOST] = KW_PROTO_RHOST_MAX,
	[KW_TAG_TTY] = KW_PROTO_TTY_MAX,
	[KW_TAG_TENANT] = KW_PROTO_TENANT_MAX,
	[KW_TAG_REQUEST_ID] = KW_PROTO_REQUEST_ID_MAX,
	[KW_TAG_ROLES] = KW_PROTO_ROLES_MAX,
	[KW_TAG_STATUS] = 1,
	[KW_TAG_MESSAGE] = KW_PROTO_MESSAGE_MAX,
	[KW_TAG_CANONICAL_USER] = KW_PROTO_CANONICAL_USER_MAX,
	[KW_TAG_CODE] = KW_PROTO_CODE_MAX,
	[KW_TAG_INFO] = KW_PROTO_INFO_MAX,
	[KW_TAG_TICKET] = KW_PROTO_TICKET_MAX,
	[KW_TAG_NO_CODE] = 1,
};

/* Which tags each type carries, and which of them it must carry. */
struct type_spec {
	enum kw_proto_type type;
	const char *name;
	uint32_t allowed;
	uint32_t required;
};

static const struct type_spec type_specs[] = {
	{KW_PROTO_PING, "PING", BIT(KW_TAG_REQUEST_ID), BIT(KW_TAG_REQUEST_ID)},
	{KW_PROTO_AUTHENTICATE, "AUTHENTICATE",
	 BIT(KW_TAG_USER) | BIT(KW_TAG_PASSWORD) | BIT(KW_TAG_SERVICE) |
		 BIT(KW_TAG_RHOST) | BIT(KW_TAG_TTY) | BIT(KW_TAG_TENANT) |
		 BIT(KW_TAG_REQUEST_ID),
	 BIT(KW_TAG_USER) | BIT(KW_TAG_PASSWORD) | BIT(KW_TAG_SERVICE) |
		 BIT(KW_TAG_REQUEST_ID)},
	{KW_PROTO_ACCOUNT, "ACCOUNT",
	 BIT(KW_TAG_USER) | BIT(KW_TAG_SERVICE) | BIT(KW_TAG_RHOST) |
		 BIT(KW_TAG_TTY) | BIT(KW_TAG_TENANT) | BIT(KW_TAG_REQUEST_ID) |
		 BIT(KW_TAG_ROLES),
	 BIT(KW_TAG_USER) | BIT(KW_TAG_SERVICE) | BIT(KW_TAG_REQUEST_ID)},
	{KW_PROTO_TOTP, "TOTP",
	 BIT(KW_TAG_USER) | BIT(KW_TAG_SERVICE) | BIT(KW_TAG_RHOST) |
		 BIT(KW_TAG_TTY) | BIT(KW_TAG_TENANT) | BIT(KW_TAG_REQUEST_ID) |
		 BIT(KW_TAG_CODE) | BIT(KW_TAG_TICKET),
	 BIT(KW_TAG_USER) | BIT(KW_TAG_SERVICE) | BIT(KW_TAG_REQUEST_ID)},
	{KW_PROTO_REPLY, "REPLY",
	 BIT(KW_TAG_STATUS) | BIT(KW_TAG_MESSAGE) | BIT(KW_TAG_CANONICAL_USER) |
		 BIT(KW_TAG_REQUEST_ID) | BIT(KW_TAG_INFO) |
		 BIT(KW_TAG_TICKET) | BIT(KW_TAG_NO_CODE),
	 BIT(KW_TAG_STATUS)},
};

/* A field found in a body: where its bytes are, if it was there. */
struct field {
	const uint8_t *data;
	uint16_t len;
	bool present;
};

/* Where the encoder writes, and whether it ran out of room. */
struct writer {
	uint8_t *buf;
	size_t size;
	size_t pos;
	bool overflow;
};

static const struct type_spec *find_type(unsigned int type)
{
	for (size_t i = 0; i < sizeof(type_specs) / sizeof(type_specs[0]); i++)
		if ((unsigned int)type_specs[i].type == type)
			return &type_specs[i];
	return NULL;
}

static uint32_t read_u32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static void put_bytes(struct writer *w, const void *p, size_t len)
{
	if (w->overflow || len > w->size - w->pos) {
		w->overflow = true;
		return;
	}
	memcpy(w->buf + w->pos, p, len);
	w->pos += len;
}

static void put_field(struct writer *w, uint8_t tag, const void *p, size_t len)
{
	uint8_t head[KW_PROTO_FIELD_HEADER_LEN] = {tag, (uint8_t)(len >> 8),
						   (uint8_t)len};

	put_bytes(w, head, sizeof(head));
	put_bytes(w, p, len);
}

/*
 * Write string field TAG from S, if S is within the tag's limit.  An empty
 * optional field is left out; a required one is written even when empty.
 */
static int put_string(struct writer *w, const struct type_spec *spec,
		      uint8_t tag, const char *s)
{
	size_t len = strnlen(s, (size_t)tag_max[tag] + 1);

	if (len > tag_max[tag])
		return EINVAL;
	if (!(spec->allowed & BIT(tag)))
		return len == 0 ? 0 : EINVAL;
	if (len == 0 && !(spec->required & BIT(tag)))
		return 0;
	put_field(w, tag, s, len);
	return 0;
}

static void start_frame(struct writer *w, const struct type_spec *spec)
{
	uint8_t head[KW_PROTO_HEADER_LEN] = {'K', 'W', KW_PROTO_VERSION,
					     (uint8_t)spec->type};

	put_bytes(w, head, sizeof(head));
}

/* Fill in the body length once the body is written. */
static int finish_frame(struct writer *w, size_t *len_out)
{
	size_t body;

	if (w->overflow)
		return ENOBUFS;
	body = w->pos - KW_PROTO_HEADER_LEN;
	if (body > KW_PROTO_MAX_BODY)
		return EMSGSIZE;
	w->buf[4] = (uint8_t)(body >> 24);
	w->buf[5] = (uint8_t)(body >> 16);
	w->buf[6] = (uint8_t)(body >> 8);
	w->buf[7] = (uint8_t)body;
	*len_out = w->pos;
	return 0;
}

int kw_proto_frame_length(const uint8_t *hdr, size_t hdrlen,
			  size_t *frame_len_out)
{
	uint32_t body;

	if (hdr == NULL || frame_len_out == NULL ||
	    hdrlen < KW_PROTO_HEADER_LEN)
		return EINVAL;
	if (hdr[0] != 'K' || hdr[1] != 'W' || hdr[2] != KW_PROTO_VERSION)
		return EPROTO;
	body = read_u32(hdr + 4);
	if (body > KW_PROTO_MAX_BODY)
		return EMSGSIZE;
	*frame_len_out = KW_PROTO_HEADER_LEN + (size_t)body;
	return 0;
}

/*
 * Check the header of the frame at BUF (LEN bytes, exactly one frame) and
 * split its body into FIELDS, indexed by tag.  Every check on the framing
 * is here: the type must be one of EXPECT_REPLY's side, every tag known,
 * allowed for the type, seen once and within its limit, every required tag
 * present, and the fields must fill the body exactly.
 */
static int split_frame(const uint8_t *buf, size_t len, bool expect_reply,
		       const struct type_spec **spec_out,
		       struct field fields[TAG_LIMIT])
{
	const struct type_spec *spec;
	size_t frame_len, pos;
	uint32_t seen = 0;
	int ret;

	memset(fields, 0, TAG_LIMIT * sizeof(fields[0]));
	if (buf == NULL)
		return EINVAL;
	ret = kw_proto_frame_length(buf, len, &frame_len);
	if (ret != 0)
		return ret;
	if (frame_len != len)
		return EINVAL;
	spec = find_type(buf[3]);
	if (spec == NULL || (spec->type == KW_PROTO_REPLY) != expect_reply)
		return EINVAL;

	pos = KW_PROTO_HEADER_LEN;
	while (pos < len) {
		uint8_t tag;
		uint16_t flen;

		if (len - pos < KW_PROTO_FIELD_HEADER_LEN)
			return EINVAL;
		tag = buf[pos];
		flen = (uint16_t)(buf[pos + 1] << 8 | buf[pos + 2]);
		pos += KW_PROTO_FIELD_HEADER_LEN;
		if (tag >= TAG_LIMIT || !(spec->allowed & BIT(tag)))
			return EINVAL;
		if (seen & BIT(tag))
			return EINVAL;
		if (flen > tag_max[tag] || flen > len - pos)
			return EINVAL;
		seen |= BIT(tag);
		fields[tag].data = buf + pos;
		fields[tag].len = flen;
		fields[tag].present = true;
		pos += flen;
	}
	if ((seen & spec->required) != spec->required)
		return EINVAL;
	*spec_out = spec;
	return 0;
}

/*
 * Copy a string field into DST (at least its limit + 1 bytes).  A NUL
 * inside the value is refused: truncating there would make a name other
 * than the one that was sent.
 */
static int copy_string(const struct field *f, char *dst)
{
	if (!f->present) {
		dst[0] = '\0';
		return 0;
	}
	if (memchr(f->data, '\0', f->len) != NULL)
		return EINVAL;
	memcpy(dst, f->data, f->len);
	dst[f->len] = '\0';
	return 0;
}

void kw_request_clear(struct kw_request *req)
{
	if (req == NULL)
		return;
	kw_wipe(req, sizeof(*req));
}

void kw_reply_clear(struct kw_reply *reply)
{
	if (reply == NULL)
		return;
	kw_wipe(reply, sizeof(*reply)); /* INFO may hold a new TOTP key */
	reply->status = KW_STATUS_DENIED;
}

int kw_proto_encode_request(const struct kw_request *req, uint8_t *buf,
			    size_t bufsz, size_t *len_out)
{
	const struct type_spec *spec;
	struct writer w = {.buf = buf, .size = bufsz};
	int ret;

	if (req == NULL || buf == NULL || len_out == NULL)
		return EINVAL;
	spec = find_type((unsigned int)req->type);
	if (spec == NULL || spec->type == KW_PROTO_REPLY)
		return EINVAL;
	/* The id is what ties the log lines of one request together. */
	if (req->request_id[0] == '\0')
		return EINVAL;

	start_frame(&w, spec);
	ret = put_string(&w, spec, KW_TAG_USER, req->user);
	if (ret == 0)
		ret = put_string(&w, spec, KW_TAG_PASSWORD, req->password);
	if (ret == 0)
		ret = put_string(&w, spec, KW_TAG_SERVICE, req->service);
	if (ret == 0)
		ret = put_string(&w, spec, KW_TAG_RHOST, req->rhost);
	if (ret == 0)
		ret = put_string(&w, spec, KW_TAG_TTY, req->tty);
	if (ret == 0)
		ret = put_string(&w, spec, KW_TAG_TENANT, req->default_tenant);
	if (ret == 0)
		ret = put_string(&w, spec, KW_TAG_REQUEST_ID, req->request_id);
	if (ret == 0)
		ret = put_string(&w, spec, KW_TAG_ROLES, req->roles);
	if (ret == 0)
		ret = put_string(&w, spec, KW_TAG_TICKET, req->ticket);
	if (ret == 0 && (req->code_given || req->code[0] != '\0')) {
		size_t len = strnlen(req->code, KW_PROTO_CODE_MAX + 1);

		/* written even when empty: an empty code is a code too */
		if (!req->code_given || !(spec->allowed & BIT(KW_TAG_CODE)) ||
		    len > KW_PROTO_CODE_MAX)
			ret = EINVAL;
		else
			put_field(&w, KW_TAG_CODE, req->code, len);
	}
	if (ret == 0)
		ret = finish_frame(&w, len_out);
	if (ret != 0)
		kw_wipe(buf, w.pos);
	return ret;
}

int kw_proto_decode_request(const uint8_t *buf, size_t len,
			    struct kw_request *out)
{
	struct field f[TAG_LIMIT];
	const struct type_spec *spec = NULL;
	int ret;

	if (out == NULL)
		return EINVAL;
	kw_request_clear(out);
	ret = split_frame(buf, len, false, &spec, f);
	if (ret != 0)
		goto done;

	out->type = spec->type;
	ret = copy_string(&f[KW_TAG_USER], out->user);
	if (ret == 0)
		ret = copy_string(&f[KW_TAG_PASSWORD], out->password);
	if (ret == 0)
		ret = copy_string(&f[KW_TAG_SERVICE], out->service);
	if (ret == 0)
		ret = copy_string(&f[KW_TAG_RHOST], out->rhost);
	if (ret == 0)
		ret = copy_string(&f[KW_TAG_TTY], out->tty);
	if (ret == 0)
		ret = copy_string(&f[KW_TAG_TENANT], out->default_tenant);
	if (ret == 0)
		ret = copy_string(&f[KW_TAG_REQUEST_ID], out->request_id);
	if (ret == 0)
		ret = copy_string(&f[KW_TAG_ROLES], out->roles);
	if (ret == 0)
		ret = copy_string(&f[KW_TAG_CODE], out->code);
	out->code_given = f[KW_TAG_CODE].present;
	if (ret == 0)
		ret = copy_string(&f[KW_TAG_TICKET], out->ticket);
	if (ret == 0 && out->request_id[0] == '\0')
		ret = EINVAL;

done:
	if (ret != 0)
		kw_request_clear(out);
	return ret;
}

int kw_proto_encode_reply(const struct kw_reply *reply, uint8_t *buf,
			  size_t bufsz, size_t *len_out)
{
	const struct type_spec *spec = find_type(KW_PROTO_REPLY);
	struct writer w = {.buf = buf, .size = bufsz};
	uint8_t status;
	int ret;

	if (reply == NULL || buf == NULL || len_out == NULL)
		return EINVAL;
	if ((int)reply->status < (int)KW_STATUS_OK ||
	    (int)reply->status > (int)KW_STATUS_MAX)
		return EINVAL;
	status = (uint8_t)reply->status;

	start_frame(&w, spec);
	ret = put_string(&w, spec, KW_TAG_REQUEST_ID, reply->request_id);
	if (ret == 0)
		put_field(&w, KW_TAG_STATUS, &status, 1);
	if (ret == 0)
		ret = put_string(&w, spec, KW_TAG_MESSAGE, reply->message);
	if (ret == 0)
		ret = put_string(&w, spec, KW_TAG_CANONICAL_USER,
				 reply->canonical_user);
	if (ret == 0)
		ret = put_string(&w, spec, KW_TAG_INFO, reply->info);
	if (ret == 0)
		ret = put_string(&w, spec, KW_TAG_TICKET, reply->ticket);
	if (ret == 0 && reply->no_code) {
		static const uint8_t yes = 1;

		put_field(&w, KW_TAG_NO_CODE, &yes, 1);
	}
	if (ret == 0)
		ret = finish_frame(&w, len_out);
	return ret;
}

int kw_proto_decode_reply(const uint8_t *buf, size_t len, struct kw_reply *out)
{
	struct field f[TAG_LIMIT];
	const struct type_spec *spec = NULL;
	int ret;

	if (out == NULL)
		return EINVAL;
	kw_reply_clear(out);
	ret = split_frame(buf, len, true, &spec, f);
	if (ret != 0)
		goto done;

	if (f[KW_TAG_STATUS].len != 1 ||
	    f[KW_TAG_STATUS].data[0] > KW_STATUS_MAX) {
		ret = EINVAL;
		goto done;
	}
	out->status = (enum kw_status)f[KW_TAG_STATUS].data[0];
	ret = copy_string(&f[KW_TAG_MESSAGE], out->message);
	if (ret == 0)
		ret = copy_string(&f[KW_TAG_CANONICAL_USER],
				  out->canonical_user);
	if (ret == 0)
		ret = copy_string(&f[KW_TAG_REQUEST_ID], out->request_id);
	if (ret == 0)
		ret = copy_string(&f[KW_TAG_INFO], out->info);
	if (ret == 0)
		ret = copy_string(&f[KW_TAG_TICKET], out->ticket);
	if (ret == 0 && f[KW_TAG_NO_CODE].present) {
		/* one byte, and only 1: anything else is not version 1 */
		if (f[KW_TAG_NO_CODE].len != 1 ||
		    f[KW_TAG_NO_CODE].data[0] != 1)
			ret = EINVAL;
		else
			out->no_code = true;
	}

done:
	if (ret != 0)
		kw_reply_clear(out);
	return ret;
}

/*
 * Spread SEED over 64 bits (the finaliser of splitmix64); used only when
 * the kernel has no random bytes to give without blocking.
 */
static uint64_t mix64(uint64_t seed)
{
	seed = (seed ^ (seed >> 30)) * 0xbf58476d1ce4e5b9ULL;
	seed = (seed ^ (seed >> 27)) * 0x94d049bb133111ebULL;
	return seed ^ (seed >> 31);
}

int kw_proto_new_request_id(char *out, size_t outsz)
{
	static const char hex[] = "0123456789abcdef";
	uint8_t bytes[KW_PROTO_REQUEST_ID_LEN / 2];
	ssize_t got;

	if (out == NULL || outsz < KW_PROTO_REQUEST_ID_LEN + 1)
		return EINVAL;
	do
		got = getrandom(bytes, sizeof(bytes), GRND_NONBLOCK);
	while (got < 0 && errno == EINTR);
	if (got != (ssize_t)sizeof(bytes)) {
		/*
		 * Early in boot the pool may not be ready, and a login must
		 * not wait for it: the id needs to be unlikely to repeat,
		 * not unpredictable.
		 */
		struct timespec ts;
		uint64_t v;

		clock_gettime(CLOCK_REALTIME, &ts);
		v = mix64((uint64_t)ts.tv_sec * 1000000000ULL +
			  (uint64_t)ts.tv_nsec);
		v = mix64(v ^ ((uint64_t)getpid() << 32) ^
			  (uint64_t)(uintptr_t)&ts);
		for (size_t i = 0; i < sizeof(bytes); i++)
			bytes[i] = (uint8_t)(v >> (8 * i));
	}
	for (size_t i = 0; i < sizeof(bytes); i++) {
		out[2 * i] = hex[bytes[i] >> 4];
		out[2 * i + 1] = hex[bytes[i] & 0x0f];
	}
	out[KW_PROTO_REQUEST_ID_LEN] = '\0';
	return 0;
}

const char *kw_proto_status_name(enum kw_status status)
{
	switch (status) {
	case KW_STATUS_OK:
		return "OK";
	case KW_STATUS_DENIED:
		return "DENIED";
	case KW_STATUS_NEW_AUTHTOK_REQD:
		return "NEW_AUTHTOK_REQD";
	case KW_STATUS_UNAVAILABLE:
		return "UNAVAILABLE";
	case KW_STATUS_BAD_REQUEST:
		return "BAD_REQUEST";
	case KW_STATUS_CODE_REQUIRED:
		return "CODE_REQUIRED";
	case KW_STATUS_NOT_ENROLLED:
		return "NOT_ENROLLED";
	case KW_STATUS_ENROL:
		return "ENROL";
	}
	return "invalid";
}

const char *kw_proto_type_name(enum kw_proto_type type)
{
	const struct type_spec *spec = find_type((unsigned int)type);

	return spec != NULL ? spec->name : "invalid";
}
