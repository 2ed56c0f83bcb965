/*
 * kw_audit.c - audit records: validation, canonical encoding, the chain
 * of MACs, the keyed hash of unresolved names, record ids.
 *
 * One table of fields drives the encoder and the decoder, so that both
 * walk the same keys in the same order; the decoder accepts exactly the
 * lines that the encoder writes.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "kw_audit.h"
#include "kw_names.h"
#include "kw_secret.h"

#define VERSION_TOKEN "v=1"
#define ANCHOR_PREFIX "kw-audit-anchor v=1"
#define NAME_HASH_PREFIX "h:"
#define NAME_HASH_BYTES 16
#define ULL_DIGITS_MAX 20

enum field_type {
	FIELD_STRING,
	FIELD_TIME,
	FIELD_SEQ,
};

struct field {
	const char *key;
	enum field_type type;
	size_t offset;
	size_t size;
};

#define STRING_FIELD(name)                                                     \
	{                                                                      \
#name, FIELD_STRING, offsetof(struct kw_audit_record, name),   \
			sizeof(((struct kw_audit_record *)0)->name)            \
	}

/*
 * The canonical order.  mac must stay last: the MAC covers the line up to
 * it.  Changing this table changes the format, and needs a new version.
 */
static const struct field fields[] = {
	STRING_FIELD(id),
	{"time", FIELD_TIME, offsetof(struct kw_audit_record, time_us), 0},
	STRING_FIELD(tenant),
	STRING_FIELD(user),
	STRING_FIELD(user_hash),
	STRING_FIELD(service),
	STRING_FIELD(host),
	STRING_FIELD(rhost),
	STRING_FIELD(tty),
	STRING_FIELD(request_id),
	STRING_FIELD(kind),
	STRING_FIELD(outcome),
	STRING_FIELD(reason),
	{"seq", FIELD_SEQ, offsetof(struct kw_audit_record, seq), 0},
	STRING_FIELD(prev_mac),
	STRING_FIELD(mac),
};

#define FIELD_COUNT (sizeof(fields) / sizeof(fields[0]))

/*
 * The longest line: every string value escaped in full (3 bytes a byte),
 * both numbers at 20 digits, and the keys with their '=' and spaces
 * (under 128 bytes for the 17 of them).
 */
#define LINE_BOUND                                                             \
	(128 + 2 * ULL_DIGITS_MAX +                                            \
	 3 * (KW_AUDIT_ID_MAX + KW_AUDIT_TENANT_MAX + KW_AUDIT_USER_MAX +      \
	      KW_AUDIT_USER_HASH_LEN + KW_AUDIT_SERVICE_MAX +                  \
	      KW_AUDIT_HOST_MAX + KW_AUDIT_RHOST_MAX + KW_AUDIT_TTY_MAX +      \
	      KW_AUDIT_REQUEST_ID_MAX + KW_AUDIT_KIND_MAX +                    \
	      KW_AUDIT_OUTCOME_MAX + KW_AUDIT_REASON_MAX +                     \
	      2 * KW_AUDIT_MAC_HEX_LEN))
_Static_assert(LINE_BOUND < KW_AUDIT_LINE_MAX,
	       "KW_AUDIT_LINE_MAX does not hold the longest line");

/* Where the encoder writes, and whether it ran out of room. */
struct writer {
	char *buf;
	size_t size;
	size_t pos;
	bool overflow;
};

static const char hex_lower[] = "0123456789abcdef";
static const char hex_upper[] = "0123456789ABCDEF";

/* --- validation ------------------------------------------------------ */

static bool is_lower_digit(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool is_id_char(unsigned char c)
{
	return is_lower_digit(c) || (c >= 'A' && c <= 'Z') || c == '.' ||
	       c == '_' || c == '-';
}

static bool is_kind_char(unsigned char c)
{
	return is_lower_digit(c) || c == '_' || c == '-';
}

static bool is_reason_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || c == '_';
}

static bool is_hex_char(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

static bool is_visible(unsigned char c)
{
	return c >= 0x21 && c <= 0x7e;
}

static bool is_text(unsigned char c)
{
	return c >= 0x20 && c <= 0x7e;
}

/*
 * S is a string field of SIZE bytes: terminated inside it, MIN to SIZE - 1
 * bytes long, every byte ALLOWED.
 */
static bool string_ok(const char *s, size_t size, size_t min,
		      bool (*allowed)(unsigned char))
{
	size_t len = strnlen(s, size);

	if (len >= size || len < min)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!allowed((unsigned char)s[i]))
			return false;
	return true;
}

/*
 * A tenant or user name, or "": valid by the rules of kw_names.h, the
 * ones keywardd and the directory apply, so that a record a directory
 * would refuse never gets this far.
 */
static bool name_ok(const char *s, size_t size, bool (*valid)(const char *))
{
	size_t len = strnlen(s, size);

	return len < size && (len == 0 || valid(s));
}

/* A MAC in hex: exactly KW_AUDIT_MAC_HEX_LEN lowercase hex digits. */
static bool mac_ok(const char *s, size_t size)
{
	return size == KW_AUDIT_MAC_HEX_LEN + 1 &&
	       string_ok(s, size, KW_AUDIT_MAC_HEX_LEN, is_hex_char);
}

static bool user_hash_ok(const char *s, size_t size)
{
	if (s[0] == '\0')
		return true;
	return strnlen(s, size) == KW_AUDIT_USER_HASH_LEN &&
	       strncmp(s, NAME_HASH_PREFIX, 2) == 0 &&
	       string_ok(s + 2, size - 2, KW_AUDIT_USER_HASH_LEN - 2,
			 is_hex_char);
}

static bool outcome_ok(const char *s, size_t size)
{
	if (strnlen(s, size) >= size)
		return false;
	return strcmp(s, KW_AUDIT_SUCCESS) == 0 ||
	       strcmp(s, KW_AUDIT_FAIL) == 0;
}

/* The chain head {SEQ, MAC} that a record can follow. */
static bool head_ok(unsigned long long seq, const char *mac, size_t size)
{
	if (seq == 0)
		return mac[0] == '\0';
	return mac_ok(mac, size);
}

static bool chain_fields_ok(const struct kw_audit_record *r)
{
	if (r->seq == 0)
		return r->prev_mac[0] == '\0' && r->mac[0] == '\0';
	if (r->tenant[0] == '\0' || !mac_ok(r->mac, sizeof(r->mac)))
		return false;
	return head_ok(r->seq - 1, r->prev_mac, sizeof(r->prev_mac));
}

bool kw_audit_mac_valid(const char *s)
{
	return s != NULL && string_ok(s, KW_AUDIT_MAC_HEX_LEN + 1,
				      KW_AUDIT_MAC_HEX_LEN, is_hex_char);
}

bool kw_audit_user_hash_valid(const char *s)
{
	return s != NULL && s[0] != '\0' &&
	       user_hash_ok(s, KW_AUDIT_USER_HASH_LEN + 1);
}

bool kw_audit_kind_valid(const char *s)
{
	return s != NULL &&
	       string_ok(s, KW_AUDIT_KIND_MAX + 1, 1, is_kind_char);
}

bool kw_audit_service_valid(const char *s)
{
	return s != NULL && string_ok(s, KW_AUDIT_SERVICE_MAX + 1, 1, is_text);
}

/* Every field but the chain fields. */
static bool content_ok(const struct kw_audit_record *r)
{
	if (r->time_us < 0)
		return false;
	if (!string_ok(r->id, sizeof(r->id), 1, is_id_char) ||
	    !name_ok(r->tenant, sizeof(r->tenant), kw_name_valid_tenant) ||
	    !name_ok(r->user, sizeof(r->user), kw_name_valid_user) ||
	    !user_hash_ok(r->user_hash, sizeof(r->user_hash)) ||
	    !string_ok(r->service, sizeof(r->service), 0, is_text) ||
	    !string_ok(r->host, sizeof(r->host), 1, is_visible) ||
	    !string_ok(r->rhost, sizeof(r->rhost), 0, is_text) ||
	    !string_ok(r->tty, sizeof(r->tty), 0, is_text) ||
	    !string_ok(r->request_id, sizeof(r->request_id), 0, is_visible) ||
	    !string_ok(r->kind, sizeof(r->kind), 1, is_kind_char) ||
	    !outcome_ok(r->outcome, sizeof(r->outcome)) ||
	    !string_ok(r->reason, sizeof(r->reason), 1, is_reason_char))
		return false;
	/* A user name belongs to a tenant; a resolved name needs no hash. */
	if (r->user[0] != '\0' &&
	    (r->tenant[0] == '\0' || r->user_hash[0] != '\0'))
		return false;
	return true;
}

int kw_audit_record_check(const struct kw_audit_record *r)
{
	if (r == NULL || !content_ok(r) || !chain_fields_ok(r))
		return EINVAL;
	return 0;
}

bool kw_audit_clean_text(char *dst, size_t dstsz, const char *src)
{
	bool changed = false;
	size_t i = 0;

	if (dst == NULL || dstsz == 0)
		return src != NULL && src[0] != '\0';
	if (src == NULL) {
		dst[0] = '\0';
		return false;
	}
	for (; i < dstsz - 1 && src[i] != '\0'; i++) {
		unsigned char c = (unsigned char)src[i];

		if (!is_text(c)) {
			c = '?';
			changed = true;
		}
		dst[i] = (char)c;
	}
	if (src[i] != '\0')
		changed = true;
	dst[i] = '\0';
	return changed;
}

/* --- encoding -------------------------------------------------------- */

static bool needs_escape(unsigned char c)
{
	return !is_visible(c) || c == '%' || c == '=';
}

static void put_bytes(struct writer *w, const char *p, size_t len)
{
	if (w->overflow || len > w->size - w->pos) {
		w->overflow = true;
		return;
	}
	memcpy(w->buf + w->pos, p, len);
	w->pos += len;
}

static void put_escaped(struct writer *w, const char *s)
{
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;
		char esc[3] = {'%', hex_upper[c >> 4], hex_upper[c & 0x0f]};

		if (needs_escape(c))
			put_bytes(w, esc, sizeof(esc));
		else
			put_bytes(w, s, 1);
	}
}

static void put_decimal(struct writer *w, unsigned long long v)
{
	char digits[ULL_DIGITS_MAX + 1];
	int n = snprintf(digits, sizeof(digits), "%llu", v);

	put_bytes(w, digits, (size_t)n);
}

/*
 * Write R's line into W, with or without the mac field.  R must be valid
 * apart from its chain fields.  The caller adds the NUL.
 */
static void encode_fields(const struct kw_audit_record *r, struct writer *w,
			  bool with_mac)
{
	const char *base = (const char *)r;

	put_bytes(w, VERSION_TOKEN, strlen(VERSION_TOKEN));
	for (size_t i = 0; i < FIELD_COUNT; i++) {
		const struct field *f = &fields[i];

		if (!with_mac && i == FIELD_COUNT - 1)
			break;
		put_bytes(w, " ", 1);
		put_bytes(w, f->key, strlen(f->key));
		put_bytes(w, "=", 1);
		switch (f->type) {
		case FIELD_STRING:
			put_escaped(w, base + f->offset);
			break;
		case FIELD_TIME:
			put_decimal(w, (unsigned long long)r->time_us);
			break;
		case FIELD_SEQ:
			put_decimal(w, r->seq);
			break;
		}
	}
}

int kw_audit_encode(const struct kw_audit_record *r, char *out, size_t outsz,
		    size_t *len_out)
{
	struct writer w = {out, outsz, 0, false};
	int rc = 0;

	if (out == NULL || outsz == 0)
		return EINVAL;
	if (kw_audit_record_check(r) != 0) {
		rc = EINVAL;
		goto done;
	}
	encode_fields(r, &w, true);
	put_bytes(&w, "", 1);
	if (w.overflow)
		rc = ENOBUFS;
done:
	if (rc != 0)
		out[0] = '\0';
	else if (len_out != NULL)
		*len_out = w.pos - 1;
	return rc;
}

/* --- decoding -------------------------------------------------------- */

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Unescape the LEN bytes at P into the string field OUT of SIZE bytes.
 * Only the encoder's own escapes are accepted: a byte that needs one must
 * have one, and no other byte may.  A NUL cannot be held by a C string.
 */
static int decode_string(const char *p, size_t len, char *out, size_t size)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c == '%') {
			int hi, lo;

			if (len - i < 3)
				return EINVAL;
			hi = hex_value(p[i + 1]);
			lo = hex_value(p[i + 2]);
			if (hi < 0 || lo < 0)
				return EINVAL;
			c = (unsigned char)(hi << 4 | lo);
			if (c == '\0' || !needs_escape(c))
				return EINVAL;
			i += 2;
		} else if (needs_escape(c)) {
			return EINVAL;
		}
		if (n + 1 >= size)
			return EINVAL;
		out[n++] = (char)c;
	}
	out[n] = '\0';
	return 0;
}

/* Decimal digits, no sign, no leading zero, at most MAX. */
static int decode_number(const char *p, size_t len, unsigned long long max,
			 unsigned long long *out)
{
	unsigned long long v = 0;

	if (len == 0 || len > ULL_DIGITS_MAX || (p[0] == '0' && len > 1))
		return EINVAL;
	for (size_t i = 0; i < len; i++) {
		unsigned int d;

		if (p[i] < '0' || p[i] > '9')
			return EINVAL;
		d = (unsigned int)(p[i] - '0');
		if (v > (max - d) / 10)
			return EINVAL;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

static int decode_field(const struct field *f, const char *p, size_t len,
			struct kw_audit_record *r)
{
	unsigned long long v;
	int rc;

	switch (f->type) {
	case FIELD_STRING:
		return decode_string(p, len, (char *)r + f->offset, f->size);
	case FIELD_TIME:
		rc = decode_number(p, len, LLONG_MAX, &v);
		if (rc == 0)
			r->time_us = (long long)v;
		return rc;
	case FIELD_SEQ:
		return decode_number(p, len, ULLONG_MAX, &r->seq);
	}
	return EINVAL;
}

/* If the bytes at *P (up to END) start with S, step over them. */
static bool take(const char **p, const char *end, const char *s)
{
	size_t len = strlen(s);

	if ((size_t)(end - *p) < len || memcmp(*p, s, len) != 0)
		return false;
	*p += len;
	return true;
}

int kw_audit_decode(const char *line, size_t len, struct kw_audit_record *out)
{
	struct kw_audit_record r;
	const char *p = line, *end;
	int rc = EINVAL;

	if (out == NULL)
		return EINVAL;
	memset(&r, 0, sizeof(r));
	if (line == NULL || len >= KW_AUDIT_LINE_MAX)
		goto done;
	end = line + len;
	if (!take(&p, end, VERSION_TOKEN))
		goto done;
	/*
	 * Each key in its place: an unknown, duplicate, missing or misplaced
	 * key all show up as the wrong key where the next one must be.
	 */
	for (size_t i = 0; i < FIELD_COUNT; i++) {
		const char *value, *stop;

		if (!take(&p, end, " ") || !take(&p, end, fields[i].key) ||
		    !take(&p, end, "="))
			goto done;
		value = p;
		stop = memchr(value, ' ', (size_t)(end - value));
		if (stop == NULL)
			stop = end;
		if (decode_field(&fields[i], value, (size_t)(stop - value),
				 &r) != 0)
			goto done;
		p = stop;
	}
	if (p != end)
		goto done;
	rc = kw_audit_record_check(&r);
done:
	if (rc == 0)
		memcpy(out, &r, sizeof(r));
	else
		memset(out, 0, sizeof(*out));
	return rc;
}

/* --- MACs and the chain ---------------------------------------------- */

static void to_hex(const unsigned char *p, size_t len, char *out)
{
	for (size_t i = 0; i < len; i++) {
		out[2 * i] = hex_lower[p[i] >> 4];
		out[2 * i + 1] = hex_lower[p[i] & 0x0f];
	}
	out[2 * len] = '\0';
}

/* HMAC-SHA256 of the LEN bytes at DATA under KEY, into MD (32 bytes). */
static int hmac_sha256(const unsigned char key[KW_KEY_BYTES], const void *data,
		       size_t len, unsigned char md[32])
{
	unsigned int mdlen = 0;

	if (HMAC(EVP_sha256(), key, KW_KEY_BYTES, data, len, md, &mdlen) ==
		    NULL ||
	    mdlen != 32) {
		kw_wipe(md, 32);
		return EIO;
	}
	return 0;
}

/* The MAC of R (valid apart from its mac field) in hex, into HEX. */
static int record_mac(const unsigned char key[KW_KEY_BYTES],
		      const struct kw_audit_record *r,
		      char hex[KW_AUDIT_MAC_HEX_LEN + 1])
{
	char line[KW_AUDIT_LINE_MAX];
	struct writer w = {line, sizeof(line), 0, false};
	unsigned char md[32];
	int rc;

	encode_fields(r, &w, false);
	if (w.overflow)
		return EINVAL;
	rc = hmac_sha256(key, line, w.pos, md);
	if (rc == 0)
		to_hex(md, sizeof(md), hex);
	return rc;
}

int kw_audit_chain_next(const unsigned char key[KW_KEY_BYTES],
			struct kw_audit_record *r, unsigned long long prev_seq,
			const char *prev_mac)
{
	struct kw_audit_record next;
	int rc;

	if (key == NULL || r == NULL || prev_mac == NULL ||
	    prev_seq == ULLONG_MAX ||
	    !head_ok(prev_seq, prev_mac, KW_AUDIT_MAC_HEX_LEN + 1))
		return EINVAL;
	memcpy(&next, r, sizeof(next));
	next.seq = 0;
	memset(next.prev_mac, 0, sizeof(next.prev_mac));
	memset(next.mac, 0, sizeof(next.mac));
	if (!content_ok(&next) || next.tenant[0] == '\0')
		return EINVAL;
	next.seq = prev_seq + 1;
	memcpy(next.prev_mac, prev_mac, strlen(prev_mac));
	rc = record_mac(key, &next, next.mac);
	if (rc == 0)
		memcpy(r, &next, sizeof(next));
	return rc;
}

/* The seal of the anchor {SEQ, MAC}, in hex, into HEX. */
static int anchor_seal(const unsigned char key[KW_KEY_BYTES],
		       unsigned long long seq, const char *mac,
		       char hex[KW_AUDIT_MAC_HEX_LEN + 1])
{
	char text[sizeof(ANCHOR_PREFIX) + ULL_DIGITS_MAX +
		  KW_AUDIT_MAC_HEX_LEN + 16];
	unsigned char md[32];
	int n, rc;

	/* Its prefix keeps a seal from ever being the MAC of a record. */
	n = snprintf(text, sizeof(text), ANCHOR_PREFIX " seq=%llu mac=%s", seq,
		     mac);
	if (n < 0 || (size_t)n >= sizeof(text))
		return EINVAL;
	rc = hmac_sha256(key, text, (size_t)n, md);
	if (rc == 0)
		to_hex(md, sizeof(md), hex);
	return rc;
}

int kw_audit_anchor_make(const unsigned char key[KW_KEY_BYTES],
			 const struct kw_audit_record *last,
			 struct kw_audit_anchor *out)
{
	struct kw_audit_anchor a;
	int rc;

	if (out == NULL)
		return EINVAL;
	memset(out, 0, sizeof(*out));
	if (key == NULL || kw_audit_record_check(last) != 0 || last->seq == 0)
		return EINVAL;
	memset(&a, 0, sizeof(a));
	a.seq = last->seq;
	memcpy(a.mac, last->mac, sizeof(a.mac));
	rc = anchor_seal(key, a.seq, a.mac, a.seal);
	if (rc == 0)
		memcpy(out, &a, sizeof(a));
	return rc;
}

/* Returns 0 if ANCHOR's seal holds, EBADMSG if not, EIO. */
static int anchor_verify(const unsigned char key[KW_KEY_BYTES],
			 const struct kw_audit_anchor *anchor)
{
	char seal[KW_AUDIT_MAC_HEX_LEN + 1];
	int rc;

	if (anchor->seq == 0 || !mac_ok(anchor->mac, sizeof(anchor->mac)) ||
	    !mac_ok(anchor->seal, sizeof(anchor->seal)))
		return EBADMSG;
	rc = anchor_seal(key, anchor->seq, anchor->mac, seal);
	if (rc != 0)
		return rc;
	if (!kw_secret_equal(seal, anchor->seal, KW_AUDIT_MAC_HEX_LEN))
		return EBADMSG;
	return 0;
}

static void report_fault(struct kw_audit_verify *report,
			 enum kw_audit_fault fault, unsigned long long seq,
			 size_t index)
{
	report->fault = fault;
	report->bad_seq = seq;
	report->bad_index = index;
}

static void report_good(struct kw_audit_verify *report, unsigned long long seq,
			const char *mac)
{
	report->last_seq = seq;
	memcpy(report->last_mac, mac, KW_AUDIT_MAC_HEX_LEN + 1);
}

/*
 * Check records[i], expected to be EXPECT_SEQ following PREV_MAC.  Returns
 * 0 with *FAULT set (KW_AUDIT_INTACT if the record is good), or EIO.
 */
static int check_one(const unsigned char key[KW_KEY_BYTES],
		     const struct kw_audit_record *r,
		     unsigned long long expect_seq, const char *prev_mac,
		     bool first, enum kw_audit_fault *fault)
{
	char mac[KW_AUDIT_MAC_HEX_LEN + 1];
	int rc;

	*fault = KW_AUDIT_INTACT;
	if (kw_audit_record_check(r) != 0 || r->seq == 0) {
		*fault = KW_AUDIT_MALFORMED;
		return 0;
	}
	if (r->seq != expect_seq) {
		*fault = first ? KW_AUDIT_MISSING_START : KW_AUDIT_GAP;
		return 0;
	}
	rc = record_mac(key, r, mac);
	if (rc != 0)
		return rc;
	if (!kw_secret_equal(mac, r->mac, KW_AUDIT_MAC_HEX_LEN)) {
		*fault = KW_AUDIT_ALTERED;
		return 0;
	}
	/* Seq 1 has no predecessor; record_check saw its empty prev_mac. */
	if (r->seq > 1 &&
	    !kw_secret_equal(prev_mac, r->prev_mac, KW_AUDIT_MAC_HEX_LEN))
		*fault = KW_AUDIT_BROKEN_LINK;
	return 0;
}

int kw_audit_chain_check(const unsigned char key[KW_KEY_BYTES],
			 const struct kw_audit_anchor *anchor,
			 const struct kw_audit_record *records, size_t n,
			 struct kw_audit_verify *report)
{
	unsigned long long expect_seq = 1;
	const char *prev_mac = "";
	int rc = 0;

	if (report == NULL)
		return EINVAL;
	memset(report, 0, sizeof(*report));
	if (key == NULL || (records == NULL && n > 0))
		return EINVAL;
	if (anchor != NULL) {
		rc = anchor_verify(key, anchor);
		if (rc == EBADMSG)
			report_fault(report, KW_AUDIT_BAD_ANCHOR, 0, 0);
		if (rc != 0)
			goto done;
		expect_seq = anchor->seq + 1;
		prev_mac = anchor->mac;
		report_good(report, anchor->seq, anchor->mac);
	}
	/* Sorted input is what makes "the previous record" meaningful. */
	for (size_t i = 1; i < n; i++) {
		if (records[i].seq <= records[i - 1].seq) {
			report_fault(report, KW_AUDIT_ORDER, records[i].seq, i);
			rc = EBADMSG;
			goto done;
		}
	}
	for (size_t i = 0; i < n; i++) {
		const struct kw_audit_record *r = &records[i];
		enum kw_audit_fault fault;

		/* Left over from a purge that stopped half way. */
		if (anchor != NULL && r->seq <= anchor->seq) {
			report->skipped++;
			continue;
		}
		rc = check_one(key, r, expect_seq, prev_mac,
			       report->checked == 0, &fault);
		if (rc != 0)
			goto done;
		if (fault != KW_AUDIT_INTACT) {
			report_fault(report, fault,
				     fault == KW_AUDIT_MISSING_START ||
						     fault == KW_AUDIT_GAP
					     ? expect_seq
					     : r->seq,
				     i);
			rc = EBADMSG;
			goto done;
		}
		report->checked++;
		report_good(report, r->seq, r->mac);
		prev_mac = r->mac;
		expect_seq++;
	}
done:
	return rc;
}

const char *kw_audit_fault_name(enum kw_audit_fault fault)
{
	switch (fault) {
	case KW_AUDIT_INTACT:
		return "intact";
	case KW_AUDIT_BAD_ANCHOR:
		return "bad_anchor";
	case KW_AUDIT_ORDER:
		return "order";
	case KW_AUDIT_MALFORMED:
		return "malformed";
	case KW_AUDIT_MISSING_START:
		return "missing_start";
	case KW_AUDIT_GAP:
		return "gap";
	case KW_AUDIT_ALTERED:
		return "altered";
	case KW_AUDIT_BROKEN_LINK:
		return "broken_link";
	}
	return "invalid";
}

/* --- names and ids --------------------------------------------------- */

int kw_audit_name_hash(const unsigned char key[KW_KEY_BYTES], const char *name,
		       char *out, size_t outsz)
{
	unsigned char md[32];
	int rc;

	if (out == NULL || outsz == 0)
		return EINVAL;
	out[0] = '\0';
	if (key == NULL || name == NULL || outsz < KW_AUDIT_USER_HASH_LEN + 1)
		return EINVAL;
	/* NAME may be a password typed into the user field. */
	rc = hmac_sha256(key, name, strlen(name), md);
	if (rc == 0) {
		memcpy(out, NAME_HASH_PREFIX, 2);
		to_hex(md, NAME_HASH_BYTES, out + 2);
	}
	kw_wipe(md, sizeof(md));
	return rc;
}

/* The finaliser of splitmix64: spreads a counter over 64 bits. */
static uint64_t mix64(uint64_t v)
{
	v = (v ^ (v >> 30)) * 0xbf58476d1ce4e5b9ULL;
	v = (v ^ (v >> 27)) * 0x94d049bb133111ebULL;
	return v ^ (v >> 31);
}

static uint64_t id_random(void)
{
	static atomic_uint_fast64_t counter;
	struct timespec ts;
	uint64_t v;
	ssize_t got;

	do
		got = getrandom(&v, sizeof(v), GRND_NONBLOCK);
	while (got < 0 && errno == EINTR);
	if (got == (ssize_t)sizeof(v))
		return v;
	/*
	 * Early in boot the pool may not be ready, and a login must not wait
	 * for it.  An id must not repeat (the directory side takes a known
	 * id as delivered); it need not be unpredictable.  The clock, the
	 * pid and a counter make it unique on this host.
	 */
	clock_gettime(CLOCK_REALTIME, &ts);
	v = mix64((uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec);
	v ^= mix64(((uint64_t)getpid() << 32) ^ atomic_fetch_add(&counter, 1));
	return v;
}

int kw_audit_new_id(long long time_us, char *out, size_t outsz)
{
	int n;

	if (out == NULL || outsz < KW_AUDIT_NEW_ID_LEN + 1 || time_us < 0)
		return EINVAL;
	n = snprintf(out, outsz, "%016llx-%016llx", (unsigned long long)time_us,
		     (unsigned long long)id_random());
	return n == KW_AUDIT_NEW_ID_LEN ? 0 : EINVAL;
}
