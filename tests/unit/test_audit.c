/*
 * test_audit.c - audit records: validation, the canonical encoding and
 * its strict decoder, the chain of MACs, the name hash, record ids and
 * the spool.
 *
 * Each decoder edge case is a fixture of its own (a named edit of one
 * known-good line), so that the TAP output names the case that broke.
 * Spool tests run in a fresh mkdtemp directory each, removed afterwards.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "kw_audit.h"
#include "kw_keys.h"
#include "kw_names.h"
#include "kw_proto.h"

/* The record limits must let through whatever the names and the protocol
 * let through. */
_Static_assert(KW_AUDIT_TENANT_MAX == KW_TENANT_MAX, "tenant limit");
_Static_assert(KW_AUDIT_USER_MAX == KW_USER_MAX, "user limit");
_Static_assert(KW_AUDIT_SERVICE_MAX == KW_PROTO_SERVICE_MAX, "service limit");
_Static_assert(KW_AUDIT_RHOST_MAX == KW_PROTO_RHOST_MAX, "rhost limit");
_Static_assert(KW_AUDIT_TTY_MAX == KW_PROTO_TTY_MAX, "tty limit");
_Static_assert(KW_AUDIT_REQUEST_ID_MAX == KW_PROTO_REQUEST_ID_MAX,
	       "request id limit");

#define CHAIN_LEN 20
#define SPOOL_RECORDS 100
#define THREAD_RECORDS 500

/* The line of base_record(): the format, spelled out once. */
static const char golden_line[] =
	"v=1 id=rec-0001 time=1700000000000000 tenant=acme user=alice "
	"user_hash= service=sshd host=host1.example rhost=192.0.2.1 "
	"tty=/dev/pts/0 request_id=0123456789abcdef kind=auth "
	"outcome=success reason=success seq=0 prev_mac= mac=";

static void base_record(struct kw_audit_record *r, int i)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->id, sizeof(r->id), "rec-%04d", i);
	r->time_us = 1700000000000000LL + i - 1;
	strcpy(r->tenant, "acme");
	strcpy(r->user, "alice");
	strcpy(r->service, "sshd");
	strcpy(r->host, "host1.example");
	strcpy(r->rhost, "192.0.2.1");
	strcpy(r->tty, "/dev/pts/0");
	strcpy(r->request_id, "0123456789abcdef");
	strcpy(r->kind, "auth");
	strcpy(r->outcome, KW_AUDIT_SUCCESS);
	strcpy(r->reason, "success");
}

static void derive(const char *purpose, const char *tenant,
		   unsigned char key[KW_KEY_BYTES])
{
	struct kw_master_key master;

	memset(&master, 0, sizeof(master));
	for (int i = 0; i < KW_KEY_BYTES; i++)
		master.bytes[i] = (unsigned char)(i * 7 + 1);
	master.loaded = true;
	assert_int_equal(kw_key_derive(&master, purpose, tenant, key), 0);
	kw_master_key_wipe(&master);
}

static void fill(char *field, size_t size, char c)
{
	memset(field, c, size - 1);
	field[size - 1] = '\0';
}

/* Field by field: the bytes after a string's NUL do not count. */
static void assert_same_record(const struct kw_audit_record *a,
			       const struct kw_audit_record *b)
{
	assert_string_equal(a->id, b->id);
	assert_int_equal(a->time_us, b->time_us);
	assert_string_equal(a->tenant, b->tenant);
	assert_string_equal(a->user, b->user);
	assert_string_equal(a->user_hash, b->user_hash);
	assert_string_equal(a->service, b->service);
	assert_string_equal(a->host, b->host);
	assert_string_equal(a->rhost, b->rhost);
	assert_string_equal(a->tty, b->tty);
	assert_string_equal(a->request_id, b->request_id);
	assert_string_equal(a->kind, b->kind);
	assert_string_equal(a->outcome, b->outcome);
	assert_string_equal(a->reason, b->reason);
	assert_int_equal(a->seq, b->seq);
	assert_string_equal(a->prev_mac, b->prev_mac);
	assert_string_equal(a->mac, b->mac);
}

static void assert_round_trip(const struct kw_audit_record *r)
{
	char line[KW_AUDIT_LINE_MAX], again[KW_AUDIT_LINE_MAX];
	struct kw_audit_record back;
	size_t len = 0, alen = 0;

	assert_int_equal(kw_audit_encode(r, line, sizeof(line), &len), 0);
	assert_int_equal(len, strlen(line));
	assert_int_equal(kw_audit_decode(line, len, &back), 0);
	assert_same_record(r, &back);
	assert_int_equal(kw_audit_encode(&back, again, sizeof(again), &alen),
			 0);
	assert_int_equal(alen, len);
	assert_string_equal(again, line);
}

/* --- records and encoding -------------------------------------------- */

static void test_encode_golden(void **state)
{
	struct kw_audit_record r, back;
	char line[KW_AUDIT_LINE_MAX];
	size_t len;

	base_record(&r, 1);
	assert_int_equal(kw_audit_record_check(&r), 0);
	assert_int_equal(kw_audit_encode(&r, line, sizeof(line), &len), 0);
	assert_string_equal(line, golden_line);
	assert_int_equal(
		kw_audit_decode(golden_line, strlen(golden_line), &back), 0);
	assert_memory_equal(&r, &back, sizeof(r));
}

static void test_encode_escapes(void **state)
{
	struct kw_audit_record r;
	char line[KW_AUDIT_LINE_MAX];

	base_record(&r, 1);
	strcpy(r.service, "web login");
	strcpy(r.rhost, "a b%c=d");
	strcpy(r.host, "h%=");
	assert_int_equal(kw_audit_encode(&r, line, sizeof(line), NULL), 0);
	assert_non_null(strstr(line, " service=web%20login "));
	assert_non_null(strstr(line, " rhost=a%20b%25c%3Dd "));
	assert_non_null(strstr(line, " host=h%25%3D "));
	assert_round_trip(&r);
}

/* Every field at its longest, with escapes where the field allows them. */
static void test_round_trip_limits(void **state)
{
	static const char visible[] = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";
	char line[KW_AUDIT_LINE_MAX];
	struct kw_audit_record r;
	size_t len;

	base_record(&r, 1);
	fill(r.id, sizeof(r.id), 'Z');
	r.id[0] = '.';
	r.time_us = LLONG_MAX;
	fill(r.tenant, sizeof(r.tenant), 'z');
	fill(r.user, sizeof(r.user), '_');
	fill(r.service, sizeof(r.service), ' ');
	fill(r.host, sizeof(r.host), '%');
	memcpy(r.host, visible, strlen(visible));
	fill(r.rhost, sizeof(r.rhost), '=');
	fill(r.tty, sizeof(r.tty), '~');
	fill(r.request_id, sizeof(r.request_id), '=');
	fill(r.kind, sizeof(r.kind), '-');
	strcpy(r.outcome, KW_AUDIT_FAIL);
	fill(r.reason, sizeof(r.reason), 'z');
	r.seq = ULLONG_MAX;
	fill(r.prev_mac, sizeof(r.prev_mac), 'f');
	fill(r.mac, sizeof(r.mac), '0');
	assert_round_trip(&r);

	/* Exactly the room the line needs, and one byte less. */
	assert_int_equal(kw_audit_encode(&r, line, sizeof(line), &len), 0);
	assert_int_equal(kw_audit_encode(&r, line, len + 1, NULL), 0);
	assert_int_equal(kw_audit_encode(&r, line, len, NULL), ENOBUFS);
	assert_string_equal(line, "");

	/* The other kind of name: a hash instead of a user, no tenant. */
	r.user[0] = '\0';
	r.tenant[0] = '\0';
	r.seq = 0;
	r.prev_mac[0] = '\0';
	r.mac[0] = '\0';
	strcpy(r.user_hash, "h:0123456789abcdef0123456789abcdef");
	assert_round_trip(&r);
	r.time_us = 0;
	assert_round_trip(&r);
}

/* One change that makes a record invalid. */
struct bad_record {
	const char *name;
	void (*spoil)(struct kw_audit_record *r);
};

static void spoil_id_empty(struct kw_audit_record *r)
{
	r->id[0] = '\0';
}

static void spoil_id_unterminated(struct kw_audit_record *r)
{
	memset(r->id, 'a', sizeof(r->id));
}

static void spoil_id_comma(struct kw_audit_record *r)
{
	strcpy(r->id, "a,b");
}

static void spoil_time(struct kw_audit_record *r)
{
	r->time_us = -1;
}

static void spoil_tenant_upper(struct kw_audit_record *r)
{
	strcpy(r->tenant, "Acme");
}

static void spoil_tenant_unterminated(struct kw_audit_record *r)
{
	memset(r->tenant, 'a', sizeof(r->tenant));
}

/* The characters of a name, but not a name (kw_names.h): a leading '-'. */
static void spoil_tenant_not_a_name(struct kw_audit_record *r)
{
	strcpy(r->tenant, "-acme");
}

static void spoil_user_not_a_name(struct kw_audit_record *r)
{
	strcpy(r->user, "alice.");
}

static void spoil_user_no_tenant(struct kw_audit_record *r)
{
	r->tenant[0] = '\0';
}

static void spoil_user_and_hash(struct kw_audit_record *r)
{
	strcpy(r->user_hash, "h:0123456789abcdef0123456789abcdef");
}

static void spoil_hash_short(struct kw_audit_record *r)
{
	r->user[0] = '\0';
	strcpy(r->user_hash, "h:0123456789abcdef0123456789abcde");
}

static void spoil_hash_upper(struct kw_audit_record *r)
{
	r->user[0] = '\0';
	strcpy(r->user_hash, "h:0123456789ABCDEF0123456789abcdef");
}

static void spoil_service_control(struct kw_audit_record *r)
{
	strcpy(r->service, "ss\th");
}

static void spoil_rhost_non_ascii(struct kw_audit_record *r)
{
	strcpy(r->rhost, "h\xc3\xa9te");
}

static void spoil_tty_newline(struct kw_audit_record *r)
{
	strcpy(r->tty, "pts/0\n");
}

static void spoil_tty_delete(struct kw_audit_record *r)
{
	strcpy(r->tty, "pts\x7f");
}

static void spoil_host_empty(struct kw_audit_record *r)
{
	r->host[0] = '\0';
}

static void spoil_host_space(struct kw_audit_record *r)
{
	strcpy(r->host, "host one");
}

static void spoil_request_id_space(struct kw_audit_record *r)
{
	strcpy(r->request_id, "a b");
}

static void spoil_kind_empty(struct kw_audit_record *r)
{
	r->kind[0] = '\0';
}

static void spoil_kind_upper(struct kw_audit_record *r)
{
	strcpy(r->kind, "Auth");
}

static void spoil_outcome(struct kw_audit_record *r)
{
	strcpy(r->outcome, "ok");
}

static void spoil_reason_digit(struct kw_audit_record *r)
{
	strcpy(r->reason, "code2");
}

static void spoil_reason_empty(struct kw_audit_record *r)
{
	r->reason[0] = '\0';
}

static void spoil_unchained_mac(struct kw_audit_record *r)
{
	fill(r->mac, sizeof(r->mac), 'a');
}

static void spoil_first_with_prev(struct kw_audit_record *r)
{
	r->seq = 1;
	fill(r->mac, sizeof(r->mac), 'a');
	fill(r->prev_mac, sizeof(r->prev_mac), 'b');
}

static void spoil_second_without_prev(struct kw_audit_record *r)
{
	r->seq = 2;
	fill(r->mac, sizeof(r->mac), 'a');
}

static void spoil_mac_upper(struct kw_audit_record *r)
{
	r->seq = 1;
	fill(r->mac, sizeof(r->mac), 'A');
}

static void spoil_chained_no_tenant(struct kw_audit_record *r)
{
	r->user[0] = '\0';
	r->tenant[0] = '\0';
	r->seq = 1;
	fill(r->mac, sizeof(r->mac), 'a');
}

static const struct bad_record bad_records[] = {
	{"id empty", spoil_id_empty},
	{"id unterminated", spoil_id_unterminated},
	{"id comma", spoil_id_comma},
	{"time negative", spoil_time},
	{"tenant uppercase", spoil_tenant_upper},
	{"tenant unterminated", spoil_tenant_unterminated},
	{"tenant not a name", spoil_tenant_not_a_name},
	{"user not a name", spoil_user_not_a_name},
	{"user without tenant", spoil_user_no_tenant},
	{"user and hash", spoil_user_and_hash},
	{"hash short", spoil_hash_short},
	{"hash uppercase", spoil_hash_upper},
	{"service control", spoil_service_control},
	{"rhost non-ascii", spoil_rhost_non_ascii},
	{"tty newline", spoil_tty_newline},
	{"tty delete", spoil_tty_delete},
	{"host empty", spoil_host_empty},
	{"host space", spoil_host_space},
	{"request id space", spoil_request_id_space},
	{"kind empty", spoil_kind_empty},
	{"kind uppercase", spoil_kind_upper},
	{"outcome", spoil_outcome},
	{"reason digit", spoil_reason_digit},
	{"reason empty", spoil_reason_empty},
	{"unchained with mac", spoil_unchained_mac},
	{"first with prev_mac", spoil_first_with_prev},
	{"second without prev_mac", spoil_second_without_prev},
	{"mac uppercase", spoil_mac_upper},
	{"chained without tenant", spoil_chained_no_tenant},
};

static void test_encode_rejects(void **state)
{
	char line[KW_AUDIT_LINE_MAX];
	size_t len = 12345;

	for (size_t i = 0; i < sizeof(bad_records) / sizeof(bad_records[0]);
	     i++) {
		struct kw_audit_record r;

		base_record(&r, 1);
		bad_records[i].spoil(&r);
		strcpy(line, "x");
		if (kw_audit_record_check(&r) != EINVAL ||
		    kw_audit_encode(&r, line, sizeof(line), &len) != EINVAL ||
		    line[0] != '\0' || len != 12345)
			fail_msg("accepted: %s", bad_records[i].name);
	}
	assert_int_equal(kw_audit_record_check(NULL), EINVAL);
	assert_int_equal(kw_audit_encode(NULL, line, sizeof(line), NULL),
			 EINVAL);
}

/* The single-field rules that queries and kwadm's options use. */
static void test_field_rules(void **state)
{
	char mac[KW_AUDIT_MAC_HEX_LEN + 2], hash[KW_AUDIT_USER_HASH_LEN + 2];
	char kind[KW_AUDIT_KIND_MAX + 2], service[KW_AUDIT_SERVICE_MAX + 2];

	memset(mac, 'a', KW_AUDIT_MAC_HEX_LEN);
	mac[KW_AUDIT_MAC_HEX_LEN] = '\0';
	assert_true(kw_audit_mac_valid(mac));
	mac[0] = 'A';
	assert_false(kw_audit_mac_valid(mac));
	mac[0] = 'a';
	mac[KW_AUDIT_MAC_HEX_LEN - 1] = '\0';
	assert_false(kw_audit_mac_valid(mac)); /* 63 digits */
	mac[KW_AUDIT_MAC_HEX_LEN - 1] = 'a';
	mac[KW_AUDIT_MAC_HEX_LEN] = 'a';
	mac[KW_AUDIT_MAC_HEX_LEN + 1] = '\0';
	assert_false(kw_audit_mac_valid(mac)); /* 65 */

	strcpy(hash, "h:");
	memset(hash + 2, '0', KW_AUDIT_USER_HASH_LEN - 2);
	hash[KW_AUDIT_USER_HASH_LEN] = '\0';
	assert_true(kw_audit_user_hash_valid(hash));
	hash[0] = 'x';
	assert_false(kw_audit_user_hash_valid(hash));
	assert_false(kw_audit_user_hash_valid(""));

	assert_true(kw_audit_kind_valid("auth"));
	assert_false(kw_audit_kind_valid(""));
	assert_false(kw_audit_kind_valid("Auth"));
	memset(kind, 'a', sizeof(kind) - 1);
	kind[sizeof(kind) - 1] = '\0';
	assert_false(kw_audit_kind_valid(kind)); /* one too long */

	assert_true(kw_audit_service_valid("sshd web"));
	assert_false(kw_audit_service_valid(""));
	assert_false(kw_audit_service_valid("ss\thd"));
	memset(service, 's', sizeof(service) - 1);
	service[sizeof(service) - 1] = '\0';
	assert_false(kw_audit_service_valid(service));

	assert_false(kw_audit_mac_valid(NULL));
	assert_false(kw_audit_user_hash_valid(NULL));
	assert_false(kw_audit_kind_valid(NULL));
	assert_false(kw_audit_service_valid(NULL));
}

static void test_clean_text(void **state)
{
	char small[5], tty[KW_AUDIT_TTY_MAX + 1];
	struct kw_audit_record r;

	assert_false(kw_audit_clean_text(tty, sizeof(tty), "pts/0"));
	assert_string_equal(tty, "pts/0");
	assert_true(kw_audit_clean_text(tty, sizeof(tty), "a\tb\n\xc3\xa9"));
	assert_string_equal(tty, "a?b???");
	assert_true(kw_audit_clean_text(small, sizeof(small), "abcdef"));
	assert_string_equal(small, "abcd");
	assert_false(kw_audit_clean_text(small, sizeof(small), "abcd"));
	assert_false(kw_audit_clean_text(small, sizeof(small), NULL));
	assert_string_equal(small, "");

	/* Whatever it is given, the result is a valid field. */
	base_record(&r, 1);
	kw_audit_clean_text(r.rhost, sizeof(r.rhost), "\x01\x7f\xff x%=y");
	assert_int_equal(kw_audit_record_check(&r), 0);
}

/* --- decoder fixtures ------------------------------------------------ */

/*
 * An edit of golden_line: FIND (the first match) replaced by REPLACE of
 * REPLACE_LEN bytes (0: its strlen).  FIND NULL appends REPLACE.  EXPECT
 * is what kw_audit_decode() must answer.
 */
struct decode_case {
	const char *find;
	const char *replace;
	size_t replace_len;
	int expect;
};

#define BAD(find, replace)                                                     \
	{                                                                      \
		find, replace, 0, EINVAL                                       \
	}

static const struct decode_case case_good = {"", "", 0, 0};
static const struct decode_case case_unknown_key =
	BAD(" mac=", " color=red mac=");
static const struct decode_case case_duplicate_key =
	BAD(" tty=/dev/pts/0", " tty=/dev/pts/0 tty=/dev/pts/0");
static const struct decode_case case_missing_key = BAD(" tty=/dev/pts/0", "");
static const struct decode_case case_misplaced_key =
	BAD("rhost=192.0.2.1 tty=/dev/pts/0", "tty=/dev/pts/0 rhost=192.0.2.1");
static const struct decode_case case_key_case = BAD(" tty=", " TTY=");
static const struct decode_case case_no_equals = BAD(" tty=", " tty");
static const struct decode_case case_bad_version = BAD("v=1", "v=2");
static const struct decode_case case_no_version = BAD("v=1 ", "");
static const struct decode_case case_escape_short = BAD("sshd", "sshd%2");
static const struct decode_case case_escape_end = BAD("mac=", "mac=%");
static const struct decode_case case_escape_non_hex = BAD("sshd", "ss%ZZ");
static const struct decode_case case_escape_lowercase =
	BAD("sshd", "web%3dlogin");
static const struct decode_case case_escape_needless = BAD("sshd", "%73shd");
static const struct decode_case case_escape_nul = BAD("sshd", "ss%00hd");
static const struct decode_case case_escape_newline = BAD("sshd", "ss%0Ahd");
static const struct decode_case case_raw_equals = BAD("sshd", "ss=hd");
static const struct decode_case case_raw_percent_ok = {"sshd", "ss%25hd", 0, 0};
static const struct decode_case case_embedded_nul = {"sshd", "ss\0hd", 5,
						     EINVAL};
static const struct decode_case case_non_ascii_token =
	BAD("tenant=acme", "tenant=acm\xc3\xa9");
static const struct decode_case case_escaped_non_ascii_token =
	BAD("tenant=acme", "tenant=acm%C3%A9");
static const struct decode_case case_non_ascii_text =
	BAD("rhost=192.0.2.1", "rhost=h\xc3\xa9");
static const struct decode_case case_escaped_control_text =
	BAD("rhost=192.0.2.1", "rhost=h%1B");
static const struct decode_case case_overlong_tenant =
	BAD("tenant=acme", "tenant=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
static const struct decode_case case_overlong_escaped =
	BAD("sshd", "%20%20%20%20%20%20%20%20%20%20%20%20%20%20%20%20"
		    "%20%20%20%20%20%20%20%20%20%20%20%20%20%20%20%20"
		    "%20%20%20%20%20%20%20%20%20%20%20%20%20%20%20%20"
		    "%20%20%20%20%20%20%20%20%20%20%20%20%20%20%20%20%20");
static const struct decode_case case_trailing_field = BAD(NULL, " extra=1");
static const struct decode_case case_trailing_space = BAD(NULL, " ");
static const struct decode_case case_trailing_newline = BAD(NULL, "\n");
static const struct decode_case case_trailing_byte = BAD(NULL, "x");
static const struct decode_case case_double_space = BAD(" tty=", "  tty=");
static const struct decode_case case_leading_space = BAD("v=1", " v=1");
static const struct decode_case case_time_leading_zero =
	BAD("time=1", "time=01");
static const struct decode_case case_time_sign = BAD("time=1", "time=+1");
static const struct decode_case case_time_negative = BAD("time=1", "time=-1");
static const struct decode_case case_time_empty =
	BAD("time=1700000000000000", "time=");
static const struct decode_case case_time_overflow =
	BAD("time=1700000000000000", "time=9223372036854775808");
static const struct decode_case case_time_max = {
	"time=1700000000000000", "time=9223372036854775807", 0, 0};
static const struct decode_case case_seq_overflow =
	BAD("seq=0", "seq=18446744073709551616");
static const struct decode_case case_seq_hex = BAD("seq=0", "seq=0x1");
static const struct decode_case case_outcome =
	BAD("outcome=success", "outcome=ok");
static const struct decode_case case_chain_half =
	BAD("seq=0", "seq=1"); /* chained, but no mac */
static const struct decode_case case_truncated = BAD(" kind=", "");

static char *edit_line(const struct decode_case *c, size_t *len_out)
{
	size_t glen = strlen(golden_line);
	size_t rlen = c->replace_len != 0 ? c->replace_len : strlen(c->replace);
	size_t at = glen, flen = 0;
	char *line = malloc(glen + rlen + 1);

	assert_non_null(line);
	if (c->find != NULL) {
		const char *hit = strstr(golden_line, c->find);

		assert_non_null(hit);
		at = (size_t)(hit - golden_line);
		flen = strlen(c->find);
	}
	memcpy(line, golden_line, at);
	memcpy(line + at, c->replace, rlen);
	memcpy(line + at + rlen, golden_line + at + flen, glen - at - flen);
	*len_out = glen - flen + rlen;
	line[*len_out] = '\0';
	return line;
}

static void test_decode_case(void **state)
{
	const struct decode_case *c = *state;
	struct kw_audit_record r;
	static const struct kw_audit_record zero;
	size_t len;
	char *line = edit_line(c, &len);
	char *exact = malloc(len ? len : 1);

	/* An exact-size copy, not NUL-terminated, so that ASan sees any
	 * read past LEN. */
	assert_non_null(exact);
	memcpy(exact, line, len);
	memset(&r, 0x5a, sizeof(r));
	assert_int_equal(kw_audit_decode(exact, len, &r), c->expect);
	if (c->expect != 0) {
		assert_memory_equal(&r, &zero, sizeof(r));
	} else {
		char again[KW_AUDIT_LINE_MAX];
		size_t alen;

		assert_int_equal(
			kw_audit_encode(&r, again, sizeof(again), &alen), 0);
		assert_int_equal(alen, len);
		assert_memory_equal(again, line, len);
	}
	free(exact);
	free(line);
}

static void test_decode_arguments(void **state)
{
	struct kw_audit_record r;
	char *long_line = malloc(KW_AUDIT_LINE_MAX);

	assert_non_null(long_line);
	memset(long_line, 'a', KW_AUDIT_LINE_MAX);
	assert_int_equal(kw_audit_decode(long_line, KW_AUDIT_LINE_MAX, &r),
			 EINVAL);
	assert_int_equal(kw_audit_decode(NULL, 0, &r), EINVAL);
	assert_int_equal(kw_audit_decode("", 0, &r), EINVAL);
	assert_int_equal(
		kw_audit_decode(golden_line, strlen(golden_line), NULL),
		EINVAL);
	/* The length counts, not a NUL: the golden line cut short fails. */
	assert_int_equal(
		kw_audit_decode(golden_line, strlen(golden_line) - 1, &r),
		EINVAL);
	free(long_line);
}

/* --- the chain ------------------------------------------------------- */

static void build_chain(const unsigned char key[KW_KEY_BYTES],
			struct kw_audit_record *recs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		base_record(&recs[i], (int)i + 1);
		if (i % 3 == 1) {
			recs[i].user[0] = '\0';
			strcpy(recs[i].user_hash,
			       "h:00112233445566778899aabbccddeeff");
			strcpy(recs[i].outcome, KW_AUDIT_FAIL);
			strcpy(recs[i].reason, "unknown_user");
		}
		assert_int_equal(
			kw_audit_chain_next(key, &recs[i],
					    i > 0 ? recs[i - 1].seq : 0,
					    i > 0 ? recs[i - 1].mac : ""),
			0);
	}
}

struct chain_state {
	unsigned char key[KW_KEY_BYTES];
	unsigned char other_key[KW_KEY_BYTES];
	struct kw_audit_record recs[CHAIN_LEN];
	struct kw_audit_verify report;
};

static int chain_setup(void **state)
{
	struct chain_state *cs = calloc(1, sizeof(*cs));

	if (cs == NULL)
		return -1;
	derive(KW_KEY_AUDIT_CHAIN, "acme", cs->key);
	derive(KW_KEY_AUDIT_CHAIN, "other", cs->other_key);
	build_chain(cs->key, cs->recs, CHAIN_LEN);
	*state = cs;
	return 0;
}

static int chain_teardown(void **state)
{
	free(*state);
	return 0;
}

/* Check RECS and expect FAULT at BAD_SEQ (or an intact chain). */
static void check_chain(struct chain_state *cs,
			const struct kw_audit_anchor *anchor,
			const struct kw_audit_record *recs, size_t n,
			enum kw_audit_fault fault, unsigned long long bad_seq)
{
	int rc = kw_audit_chain_check(cs->key, anchor, recs, n, &cs->report);

	assert_string_equal(kw_audit_fault_name(cs->report.fault),
			    kw_audit_fault_name(fault));
	assert_int_equal(rc, fault == KW_AUDIT_INTACT ? 0 : EBADMSG);
	if (fault != KW_AUDIT_INTACT)
		assert_int_equal(cs->report.bad_seq, bad_seq);
}

static void test_chain_intact(void **state)
{
	struct chain_state *cs = *state;

	assert_int_equal(cs->recs[0].seq, 1);
	assert_string_equal(cs->recs[0].prev_mac, "");
	for (size_t i = 1; i < CHAIN_LEN; i++) {
		assert_int_equal(cs->recs[i].seq, i + 1);
		assert_string_equal(cs->recs[i].prev_mac, cs->recs[i - 1].mac);
		assert_round_trip(&cs->recs[i]);
	}
	check_chain(cs, NULL, cs->recs, CHAIN_LEN, KW_AUDIT_INTACT, 0);
	assert_int_equal(cs->report.checked, CHAIN_LEN);
	assert_int_equal(cs->report.last_seq, CHAIN_LEN);
	assert_string_equal(cs->report.last_mac, cs->recs[CHAIN_LEN - 1].mac);

	/* An empty log is intact, and says so. */
	check_chain(cs, NULL, NULL, 0, KW_AUDIT_INTACT, 0);
	assert_int_equal(cs->report.checked, 0);
	assert_int_equal(cs->report.last_seq, 0);
}

/* The MAC is HMAC-SHA256 of the line up to " mac=", as documented. */
static void test_chain_mac_definition(void **state)
{
	struct chain_state *cs = *state;
	char line[KW_AUDIT_LINE_MAX], hex[2 * 32 + 1];
	unsigned char md[32];
	unsigned int mdlen = 0;
	char *cut;

	assert_int_equal(
		kw_audit_encode(&cs->recs[4], line, sizeof(line), NULL), 0);
	cut = strstr(line, " mac=");
	assert_non_null(cut);
	assert_non_null(HMAC(EVP_sha256(), cs->key, KW_KEY_BYTES,
			     (const unsigned char *)line, (size_t)(cut - line),
			     md, &mdlen));
	assert_int_equal(mdlen, 32);
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	assert_string_equal(hex, cs->recs[4].mac);
	assert_string_equal(cut + strlen(" mac="), cs->recs[4].mac);
}

static void test_chain_altered(void **state)
{
	struct chain_state *cs = *state;

	strcpy(cs->recs[7].rhost, "198.51.100.7");
	check_chain(cs, NULL, cs->recs, CHAIN_LEN, KW_AUDIT_ALTERED, 8);
	assert_int_equal(cs->report.bad_index, 7);
	assert_int_equal(cs->report.checked, 7);
	assert_int_equal(cs->report.last_seq, 7);

	/* The time is covered too, and so is the outcome. */
	build_chain(cs->key, cs->recs, CHAIN_LEN);
	cs->recs[2].time_us++;
	check_chain(cs, NULL, cs->recs, CHAIN_LEN, KW_AUDIT_ALTERED, 3);
	build_chain(cs->key, cs->recs, CHAIN_LEN);
	strcpy(cs->recs[19].outcome, KW_AUDIT_SUCCESS);
	strcpy(cs->recs[19].reason, "success");
	check_chain(cs, NULL, cs->recs, CHAIN_LEN, KW_AUDIT_ALTERED, 20);
}

static void test_chain_removed(void **state)
{
	struct chain_state *cs = *state;

	memmove(&cs->recs[10], &cs->recs[11],
		(CHAIN_LEN - 11) * sizeof(cs->recs[0]));
	check_chain(cs, NULL, cs->recs, CHAIN_LEN - 1, KW_AUDIT_GAP, 11);
	assert_int_equal(cs->report.bad_index, 10);
	assert_int_equal(cs->report.checked, 10);
}

static void test_chain_swapped(void **state)
{
	struct chain_state *cs = *state;
	struct kw_audit_record tmp;

	/* Out of order as given. */
	tmp = cs->recs[4];
	cs->recs[4] = cs->recs[5];
	cs->recs[5] = tmp;
	check_chain(cs, NULL, cs->recs, CHAIN_LEN, KW_AUDIT_ORDER, 5);

	/* Renumbered into the other's place: the MACs no longer match. */
	cs->recs[4].seq = 5;
	cs->recs[5].seq = 6;
	check_chain(cs, NULL, cs->recs, CHAIN_LEN, KW_AUDIT_ALTERED, 5);

	/* One seq claimed twice (a race without the compare-and-swap). */
	build_chain(cs->key, cs->recs, CHAIN_LEN);
	cs->recs[9] = cs->recs[8];
	check_chain(cs, NULL, cs->recs, CHAIN_LEN, KW_AUDIT_ORDER, 9);
}

static void test_chain_prev_mac(void **state)
{
	struct chain_state *cs = *state;
	char *p = &cs->recs[12].prev_mac[5];

	*p = *p == '0' ? '1' : '0';
	check_chain(cs, NULL, cs->recs, CHAIN_LEN, KW_AUDIT_ALTERED, 13);
}

/* A fork: two hosts wrote seq 10 on one head; the log kept one of each. */
static void test_chain_broken_link(void **state)
{
	struct chain_state *cs = *state;
	struct kw_audit_record fork = cs->recs[9];

	strcpy(fork.rhost, "203.0.113.9");
	assert_int_equal(kw_audit_chain_next(cs->key, &fork, cs->recs[8].seq,
					     cs->recs[8].mac),
			 0);
	assert_int_equal(fork.seq, 10);
	cs->recs[9] = fork;
	check_chain(cs, NULL, cs->recs, CHAIN_LEN, KW_AUDIT_BROKEN_LINK, 11);
	assert_int_equal(cs->report.checked, 10);
}

static void test_chain_malformed(void **state)
{
	struct chain_state *cs = *state;

	strcpy(cs->recs[3].outcome, "maybe");
	check_chain(cs, NULL, cs->recs, CHAIN_LEN, KW_AUDIT_MALFORMED, 4);
	build_chain(cs->key, cs->recs, CHAIN_LEN);
	cs->recs[0].seq = 0;
	cs->recs[0].prev_mac[0] = '\0';
	cs->recs[0].mac[0] = '\0';
	check_chain(cs, NULL, cs->recs, CHAIN_LEN, KW_AUDIT_MALFORMED, 0);
}

static void test_chain_purge(void **state)
{
	struct chain_state *cs = *state;
	struct kw_audit_anchor anchor, forged;

	assert_int_equal(kw_audit_anchor_make(cs->key, &cs->recs[4], &anchor),
			 0);
	assert_int_equal(anchor.seq, 5);
	assert_string_equal(anchor.mac, cs->recs[4].mac);

	/* The first five purged, with the anchor: intact. */
	check_chain(cs, &anchor, cs->recs + 5, CHAIN_LEN - 5, KW_AUDIT_INTACT,
		    0);
	assert_int_equal(cs->report.checked, CHAIN_LEN - 5);
	assert_int_equal(cs->report.last_seq, CHAIN_LEN);

	/* A purge that stopped half way: the leftovers are skipped. */
	check_chain(cs, &anchor, cs->recs + 2, CHAIN_LEN - 2, KW_AUDIT_INTACT,
		    0);
	assert_int_equal(cs->report.skipped, 3);
	assert_int_equal(cs->report.checked, CHAIN_LEN - 5);

	/* Everything purged: the anchor is the head. */
	check_chain(cs, &anchor, NULL, 0, KW_AUDIT_INTACT, 0);
	assert_int_equal(cs->report.last_seq, 5);
	assert_string_equal(cs->report.last_mac, anchor.mac);

	/* Purged without an anchor. */
	check_chain(cs, NULL, cs->recs + 5, CHAIN_LEN - 5,
		    KW_AUDIT_MISSING_START, 1);

	/* An anchor older than the purge: the records between are gone. */
	assert_int_equal(kw_audit_anchor_make(cs->key, &cs->recs[2], &anchor),
			 0);
	check_chain(cs, &anchor, cs->recs + 5, CHAIN_LEN - 5,
		    KW_AUDIT_MISSING_START, 4);

	/* An anchor moved forward by hand, or made without the key. */
	forged = anchor;
	forged.seq = 10;
	strcpy(forged.mac, cs->recs[9].mac);
	check_chain(cs, &forged, cs->recs + 10, CHAIN_LEN - 10,
		    KW_AUDIT_BAD_ANCHOR, 0);
	assert_int_equal(
		kw_audit_anchor_make(cs->other_key, &cs->recs[9], &forged), 0);
	check_chain(cs, &forged, cs->recs + 10, CHAIN_LEN - 10,
		    KW_AUDIT_BAD_ANCHOR, 0);
	memset(&forged, 0, sizeof(forged));
	check_chain(cs, &forged, cs->recs, CHAIN_LEN, KW_AUDIT_BAD_ANCHOR, 0);

	/* Only a chained record can anchor a purge. */
	base_record(&cs->recs[0], 1);
	assert_int_equal(kw_audit_anchor_make(cs->key, &cs->recs[0], &anchor),
			 EINVAL);
	assert_int_equal(anchor.seq, 0);
}

static void test_chain_other_key(void **state)
{
	struct chain_state *cs = *state;

	assert_int_equal(kw_audit_chain_check(cs->other_key, NULL, cs->recs,
					      CHAIN_LEN, &cs->report),
			 EBADMSG);
	assert_int_equal(cs->report.fault, KW_AUDIT_ALTERED);
	assert_int_equal(cs->report.bad_seq, 1);
	assert_int_equal(cs->report.checked, 0);
}

/* Computing the next record is a pure function of (record, head). */
static void test_chain_next_retry(void **state)
{
	struct chain_state *cs = *state;
	struct kw_audit_record r, again, fresh;

	base_record(&r, 99);
	assert_int_equal(kw_audit_chain_next(cs->key, &r, cs->recs[4].seq,
					     cs->recs[4].mac),
			 0);
	again = r;
	assert_int_equal(kw_audit_chain_next(cs->key, &again, cs->recs[4].seq,
					     cs->recs[4].mac),
			 0);
	assert_memory_equal(&r, &again, sizeof(r));

	/* The swap failed: another host wrote seq 6.  Retry on its head. */
	assert_int_equal(kw_audit_chain_next(cs->key, &r, cs->recs[5].seq,
					     cs->recs[5].mac),
			 0);
	base_record(&fresh, 99);
	assert_int_equal(kw_audit_chain_next(cs->key, &fresh, cs->recs[5].seq,
					     cs->recs[5].mac),
			 0);
	assert_memory_equal(&r, &fresh, sizeof(r));
	assert_int_equal(r.seq, 7);
	assert_string_equal(r.prev_mac, cs->recs[5].mac);

	/* Bad heads and unchainable records leave R as it was. */
	again = r;
	assert_int_equal(kw_audit_chain_next(cs->key, &r, 0, cs->recs[0].mac),
			 EINVAL);
	assert_int_equal(kw_audit_chain_next(cs->key, &r, 3, ""), EINVAL);
	assert_int_equal(kw_audit_chain_next(cs->key, &r, 3, "abc"), EINVAL);
	assert_int_equal(
		kw_audit_chain_next(cs->key, &r, ULLONG_MAX, cs->recs[0].mac),
		EINVAL);
	assert_int_equal(kw_audit_chain_next(cs->key, &r, 0, NULL), EINVAL);
	assert_int_equal(kw_audit_chain_next(NULL, &r, 0, ""), EINVAL);
	assert_memory_equal(&r, &again, sizeof(r));
	r.user[0] = '\0';
	r.tenant[0] = '\0';
	again = r;
	assert_int_equal(kw_audit_chain_next(cs->key, &r, 0, ""), EINVAL);
	assert_memory_equal(&r, &again, sizeof(r));

	assert_int_equal(
		kw_audit_chain_check(cs->key, NULL, NULL, 1, &cs->report),
		EINVAL);
	assert_int_equal(kw_audit_chain_check(cs->key, NULL, cs->recs, 1, NULL),
			 EINVAL);
	assert_string_equal(kw_audit_fault_name((enum kw_audit_fault)99),
			    "invalid");
}

/* --- names and ids --------------------------------------------------- */

static void test_name_hash(void **state)
{
	static const char *const names[] = {
		"alice", "Hunter2-Password!", "bob@acme", "x@y@z", "",
	};
	unsigned char acme[KW_KEY_BYTES], other[KW_KEY_BYTES],
		none[KW_KEY_BYTES];
	char a[KW_AUDIT_USER_HASH_LEN + 1], b[KW_AUDIT_USER_HASH_LEN + 1];
	struct kw_audit_record r;

	derive(KW_KEY_AUDIT_NAME, "acme", acme);
	derive(KW_KEY_AUDIT_NAME, "other", other);
	derive(KW_KEY_AUDIT_NAME, "-", none);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		assert_int_equal(
			kw_audit_name_hash(acme, names[i], a, sizeof(a)), 0);
		assert_int_equal(strlen(a), KW_AUDIT_USER_HASH_LEN);
		assert_memory_equal(a, "h:", 2);
		if (names[i][0] != '\0')
			assert_null(strstr(a, names[i]));
		assert_int_equal(
			kw_audit_name_hash(acme, names[i], b, sizeof(b)), 0);
		assert_string_equal(a, b);
		assert_int_equal(
			kw_audit_name_hash(other, names[i], b, sizeof(b)), 0);
		assert_string_not_equal(a, b);
		assert_int_equal(
			kw_audit_name_hash(none, names[i], b, sizeof(b)), 0);
		assert_string_not_equal(a, b);

		/* A hash is what the user_hash field takes. */
		base_record(&r, 1);
		r.user[0] = '\0';
		strcpy(r.user_hash, a);
		assert_int_equal(kw_audit_record_check(&r), 0);
	}
	assert_int_equal(kw_audit_name_hash(acme, "alice", a, sizeof(a)), 0);
	assert_int_equal(kw_audit_name_hash(acme, "alicf", b, sizeof(b)), 0);
	assert_string_not_equal(a, b);

	assert_int_equal(kw_audit_name_hash(acme, "alice", a, sizeof(a) - 1),
			 EINVAL);
	assert_string_equal(a, "");
	assert_int_equal(kw_audit_name_hash(acme, NULL, a, sizeof(a)), EINVAL);
	assert_int_equal(kw_audit_name_hash(NULL, "alice", a, sizeof(a)),
			 EINVAL);
}

static void test_new_id(void **state)
{
	enum { N = 2000 };
	char(*ids)[KW_AUDIT_NEW_ID_LEN + 1] = calloc(N, sizeof(*ids));
	char early[KW_AUDIT_NEW_ID_LEN + 1], late[KW_AUDIT_NEW_ID_LEN + 1];
	struct kw_audit_record r;

	assert_non_null(ids);
	for (int i = 0; i < N; i++) {
		assert_int_equal(kw_audit_new_id(1700000000000000LL, ids[i],
						 sizeof(ids[i])),
				 0);
		assert_int_equal(strlen(ids[i]), KW_AUDIT_NEW_ID_LEN);
		assert_memory_equal(ids[i], "00060a24181e4000-", 17);
		for (int j = 0; j < i; j++)
			assert_string_not_equal(ids[i], ids[j]);
	}
	base_record(&r, 1);
	strcpy(r.id, ids[0]);
	assert_int_equal(kw_audit_record_check(&r), 0);

	/* Ids sort by time as plain strings. */
	assert_int_equal(kw_audit_new_id(255, early, sizeof(early)), 0);
	assert_int_equal(kw_audit_new_id(256, late, sizeof(late)), 0);
	assert_memory_equal(early, "00000000000000ff-", 17);
	assert_true(strcmp(early, late) < 0);

	assert_int_equal(kw_audit_new_id(-1, early, sizeof(early)), EINVAL);
	assert_int_equal(kw_audit_new_id(0, early, KW_AUDIT_NEW_ID_LEN),
			 EINVAL);
	assert_int_equal(kw_audit_new_id(0, NULL, 64), EINVAL);
	free(ids);
}

/* --- the spool ------------------------------------------------------- */

#define SEGMENT_1 "seg.00000000000000000001"
#define SMALL_SEGMENT 1000 /* about four records */

struct spool_state {
	char dir[64];
	struct kw_spool *spool;
	/* What deliver() saw, and when it should fail. */
	char (*seen)[KW_AUDIT_ID_MAX + 1];
	size_t nseen;
	size_t room;
	size_t fail_at; /* 1-based call number that fails; 0 never */
	size_t exit_at; /* 1-based call number that ends the process */
	size_t calls;
};

static int spool_setup(void **state)
{
	struct spool_state *ss = calloc(1, sizeof(*ss));
	const char *tmp = getenv("TMPDIR");

	if (ss == NULL)
		return -1;
	snprintf(ss->dir, sizeof(ss->dir), "%s/kwaudit.XXXXXX",
		 tmp != NULL && strlen(tmp) < 40 ? tmp : "/tmp");
	if (mkdtemp(ss->dir) == NULL) {
		free(ss);
		return -1;
	}
	ss->room = 2 * THREAD_RECORDS;
	ss->seen = calloc(ss->room, sizeof(*ss->seen));
	if (ss->seen == NULL) {
		rmdir(ss->dir);
		free(ss);
		return -1;
	}
	*state = ss;
	return 0;
}

static int remove_entry(const char *path, const struct stat *st, int flag,
			struct FTW *ftw)
{
	return remove(path);
}

static int spool_teardown(void **state)
{
	struct spool_state *ss = *state;
	int rc;

	kw_spool_close(ss->spool);
	rc = nftw(ss->dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(ss->seen);
	free(ss);
	return rc == 0 ? 0 : -1;
}

static void open_spool(struct spool_state *ss)
{
	char err[256];

	kw_spool_close(ss->spool);
	ss->spool = NULL;
	assert_int_equal(kw_spool_open(ss->dir, &ss->spool, err, sizeof(err)),
			 0);
	assert_string_equal(err, "");
}

static size_t spool_count(struct spool_state *ss)
{
	size_t n = 12345;

	assert_int_equal(kw_spool_count(ss->spool, &n), 0);
	return n;
}

static int deliver(const struct kw_audit_record *r, void *arg)
{
	struct spool_state *ss = arg;

	ss->calls++;
	if (ss->exit_at != 0 && ss->calls == ss->exit_at)
		_exit(0);
	if (ss->fail_at != 0 && ss->calls == ss->fail_at)
		return EAGAIN;
	if (kw_audit_record_check(r) != 0 || ss->nseen == ss->room)
		return EINVAL;
	strcpy(ss->seen[ss->nseen++], r->id);
	return 0;
}

static void replay_spool(struct spool_state *ss, int expect_rc,
			 size_t expect_delivered, size_t expect_bad)
{
	size_t delivered = 99, bad = 99;

	assert_int_equal(
		kw_spool_replay(ss->spool, deliver, ss, &delivered, &bad),
		expect_rc);
	assert_int_equal(delivered, expect_delivered);
	assert_int_equal(bad, expect_bad);
}

static void append_records(struct spool_state *ss, int first, int n)
{
	for (int i = first; i < first + n; i++) {
		struct kw_audit_record r;

		base_record(&r, i);
		assert_int_equal(kw_spool_append(ss->spool, &r), 0);
	}
}

/* deliver() saw rec-FIRST ... rec-(FIRST + N - 1), in that order. */
static void assert_seen(struct spool_state *ss, int first, size_t n)
{
	assert_int_equal(ss->nseen, n);
	for (size_t i = 0; i < n; i++) {
		char id[KW_AUDIT_ID_MAX + 1];

		snprintf(id, sizeof(id), "rec-%04d", first + (int)i);
		assert_string_equal(ss->seen[i], id);
	}
}

static void forget_seen(struct spool_state *ss)
{
	ss->nseen = 0;
	ss->calls = 0;
	ss->fail_at = 0;
}

static void spool_path(struct spool_state *ss, const char *name, char path[128])
{
	snprintf(path, 128, "%s/%s", ss->dir, name);
}

static bool exists(struct spool_state *ss, const char *name)
{
	char path[128];

	spool_path(ss, name, path);
	return access(path, F_OK) == 0;
}

/* Write TEXT into the spool's file NAME, as MODE "w" or "a" of fopen. */
static void put_file(struct spool_state *ss, const char *name, const char *mode,
		     const char *text)
{
	char path[128];
	FILE *fp;

	spool_path(ss, name, path);
	fp = fopen(path, mode);
	assert_non_null(fp);
	assert_int_equal(fputs(text, fp) >= 0, 1);
	assert_int_equal(fclose(fp), 0);
}

/* The spool's file NAME, NUL-terminated; free it. */
static char *slurp(struct spool_state *ss, const char *name, size_t *len_out)
{
	char path[128];
	struct stat st;
	char *text;
	FILE *fp;

	spool_path(ss, name, path);
	fp = fopen(path, "r");
	assert_non_null(fp);
	assert_int_equal(fstat(fileno(fp), &st), 0);
	text = calloc(1, (size_t)st.st_size + 1);
	assert_non_null(text);
	assert_int_equal(fread(text, 1, (size_t)st.st_size, fp),
			 (size_t)st.st_size);
	assert_int_equal(fclose(fp), 0);
	if (len_out != NULL)
		*len_out = (size_t)st.st_size;
	return text;
}

static size_t count_segments(struct spool_state *ss)
{
	struct dirent *de;
	size_t n = 0;
	DIR *d;

	d = opendir(ss->dir);
	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		if (strncmp(de->d_name, "seg.", 4) == 0)
			n++;
	closedir(d);
	return n;
}

static void test_spool_append_replay(void **state)
{
	struct spool_state *ss = *state;
	char *cursor;

	open_spool(ss);
	assert_true(exists(ss, SEGMENT_1));
	assert_true(exists(ss, "cursor"));
	assert_int_equal(spool_count(ss), 0);
	append_records(ss, 1, SPOOL_RECORDS);
	assert_int_equal(spool_count(ss), SPOOL_RECORDS);

	open_spool(ss);
	assert_int_equal(spool_count(ss), SPOOL_RECORDS);
	replay_spool(ss, 0, SPOOL_RECORDS, 0);
	assert_seen(ss, 1, SPOOL_RECORDS);
	assert_int_equal(spool_count(ss), 0);
	cursor = slurp(ss, "cursor", NULL);
	assert_int_equal(strlen(cursor), 42);
	assert_int_equal(strncmp(cursor, "00000000000000000001 ", 21), 0);
	free(cursor);
	assert_false(exists(ss, "cursor.tmp"));
	assert_false(exists(ss, "bad"));

	/* Nothing twice; without sync, records go the same way. */
	forget_seen(ss);
	replay_spool(ss, 0, 0, 0);
	kw_spool_set_sync(ss->spool, false);
	append_records(ss, 101, 2);
	assert_int_equal(spool_count(ss), 2);
	replay_spool(ss, 0, 2, 0);
	assert_seen(ss, 101, 2);
	assert_int_equal(count_segments(ss), 1);
}

/*
 * Deferred appends are written at once, in order with the others, and
 * synced by the next synced append or by kw_spool_sync().
 */
static void test_spool_deferred(void **state)
{
	struct spool_state *ss = *state;
	struct kw_audit_record r;

	open_spool(ss);
	for (int i = 1; i <= 3; i++) {
		base_record(&r, i);
		assert_int_equal(kw_spool_append_deferred(ss->spool, &r), 0);
	}
	assert_int_equal(spool_count(ss), 3);
	base_record(&r, 4);
	assert_int_equal(kw_spool_append(ss->spool, &r), 0);
	base_record(&r, 5);
	assert_int_equal(kw_spool_append_deferred(ss->spool, &r), 0);
	assert_int_equal(kw_spool_sync(ss->spool), 0);
	assert_int_equal(kw_spool_sync(NULL), EINVAL);
	replay_spool(ss, 0, 5, 0);
	assert_seen(ss, 1, 5);
}

static void test_spool_delivery_fails(void **state)
{
	struct spool_state *ss = *state;

	open_spool(ss);
	append_records(ss, 1, SPOOL_RECORDS);
	ss->fail_at = 37;
	replay_spool(ss, EAGAIN, 36, 0);
	assert_int_equal(spool_count(ss), 64);
	assert_seen(ss, 1, 36);

	forget_seen(ss);
	replay_spool(ss, 0, 64, 0);
	assert_seen(ss, 37, 64);
	assert_int_equal(spool_count(ss), 0);
}

/* Progress survives closing: a new handle starts where the last stopped. */
static void test_spool_cursor_saved(void **state)
{
	struct spool_state *ss = *state;

	open_spool(ss);
	append_records(ss, 1, SPOOL_RECORDS);
	ss->fail_at = 11;
	replay_spool(ss, EAGAIN, 10, 0);
	kw_spool_close(ss->spool);
	ss->spool = NULL;

	open_spool(ss);
	assert_int_equal(spool_count(ss), SPOOL_RECORDS - 10);
	forget_seen(ss);
	replay_spool(ss, 0, SPOOL_RECORDS - 10, 0);
	assert_seen(ss, 11, SPOOL_RECORDS - 10);
}

/*
 * A replay that dies without saving its progress: the next one delivers
 * again at most KW_SPOOL_REDELIVER_MAX records, then the rest, in order.
 */
static void test_spool_crash_redelivery(void **state)
{
	struct spool_state *ss = *state;
	const size_t crash_at = 100, total = 200;
	size_t first, delivered = 0;
	int status;
	pid_t pid;

	open_spool(ss);
	append_records(ss, 1, (int)total);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct kw_spool *own = NULL;

		kw_spool_close(ss->spool);
		ss->spool = NULL;
		if (kw_spool_open(ss->dir, &own, NULL, 0) != 0)
			_exit(2);
		ss->exit_at = crash_at;
		kw_spool_replay(own, deliver, ss, NULL, NULL);
		_exit(3);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);

	open_spool(ss);
	assert_int_equal(
		kw_spool_replay(ss->spool, deliver, ss, &delivered, NULL), 0);
	assert_int_equal(delivered, ss->nseen);
	assert_true(ss->nseen > 0);
	assert_int_equal(sscanf(ss->seen[0], "rec-%zu", &first), 1);
	assert_true(first + KW_SPOOL_REDELIVER_MAX >= crash_at);
	assert_true(first <= crash_at);
	assert_seen(ss, (int)first, total - first + 1);
}

static void test_spool_cursor_lost(void **state)
{
	struct spool_state *ss = *state;
	char err[256], path[128];

	/* A new spool without a cursor has nothing to deliver again. */
	open_spool(ss);
	spool_path(ss, "cursor", path);
	assert_int_equal(unlink(path), 0);
	open_spool(ss);

	append_records(ss, 1, 5);
	replay_spool(ss, 0, 5, 0);
	put_file(ss, "cursor", "w", "00000000000000000001 junk\n");
	kw_spool_close(ss->spool);
	ss->spool = NULL;
	assert_int_equal(kw_spool_open(ss->dir, &ss->spool, err, sizeof(err)),
			 0);
	assert_non_null(strstr(err, "cursor"));
	forget_seen(ss);
	replay_spool(ss, 0, 5, 0);
	assert_seen(ss, 1, 5);
	open_spool(ss);

	/* A cursor past the end of its segment does not fit either. */
	put_file(ss, "cursor", "w",
		 "00000000000000000001 00000000000000999999\n");
	kw_spool_close(ss->spool);
	ss->spool = NULL;
	assert_int_equal(kw_spool_open(ss->dir, &ss->spool, err, sizeof(err)),
			 0);
	assert_non_null(strstr(err, "cursor"));
	assert_int_equal(spool_count(ss), 5);

	/* Until a replay gets through, every open says so again. */
	forget_seen(ss);
	ss->fail_at = 3;
	replay_spool(ss, EAGAIN, 2, 0);
	kw_spool_close(ss->spool);
	ss->spool = NULL;
	assert_int_equal(kw_spool_open(ss->dir, &ss->spool, err, sizeof(err)),
			 0);
	assert_non_null(strstr(err, "cursor"));
	forget_seen(ss);
	replay_spool(ss, 0, 5, 0);
	assert_seen(ss, 1, 5);
	open_spool(ss);
	replay_spool(ss, 0, 0, 0);
}

/*
 * A line without its newline at the end of the newest segment may still
 * be being written: it is not delivered.  Completed, it is; left torn, the
 * next append or open cuts it off, as its append never returned.
 */
static void test_spool_torn_line(void **state)
{
	struct spool_state *ss = *state;
	char line[KW_AUDIT_LINE_MAX + 1], first[KW_AUDIT_LINE_MAX];
	struct kw_audit_record r;
	size_t half, len;
	char *text;

	open_spool(ss);
	append_records(ss, 1, 3);
	base_record(&r, 4);
	assert_int_equal(kw_audit_encode(&r, line, sizeof(line) - 1, &len), 0);
	half = len / 2;
	line[len] = '\n';
	line[len + 1] = '\0';
	memcpy(first, line, half);
	first[half] = '\0';
	put_file(ss, SEGMENT_1, "a", first);
	replay_spool(ss, 0, 3, 0);
	assert_int_equal(spool_count(ss), 0);
	put_file(ss, SEGMENT_1, "a", line + half);
	assert_int_equal(spool_count(ss), 1);
	replay_spool(ss, 0, 1, 0);
	assert_seen(ss, 1, 4);

	put_file(ss, SEGMENT_1, "a", "v=1 id=torn-by-append tim");
	append_records(ss, 5, 1);
	replay_spool(ss, 0, 1, 0);
	assert_seen(ss, 1, 5);
	text = slurp(ss, SEGMENT_1, &len);
	assert_null(strstr(text, "torn-by-append"));
	assert_int_equal(text[len - 1], '\n');
	free(text);

	put_file(ss, SEGMENT_1, "a", "v=1 id=torn-by-open tim");
	open_spool(ss);
	text = slurp(ss, SEGMENT_1, &len);
	assert_null(strstr(text, "torn-by-open"));
	assert_int_equal(text[len - 1], '\n');
	free(text);
	replay_spool(ss, 0, 0, 0);
}

/* A write that fails half way leaves nothing of its line behind. */
static void test_spool_short_write(void **state)
{
	struct spool_state *ss = *state;
	struct stat st;
	char path[128];
	int status;
	pid_t pid;

	open_spool(ss);
	append_records(ss, 1, 3);
	spool_path(ss, SEGMENT_1, path);
	assert_int_equal(stat(path, &st), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct rlimit lim = {(rlim_t)st.st_size + 100,
				     (rlim_t)st.st_size + 100};
		struct kw_audit_record r;
		struct stat after;

		signal(SIGXFSZ, SIG_IGN);
		if (setrlimit(RLIMIT_FSIZE, &lim) != 0)
			_exit(2);
		base_record(&r, 4);
		if (kw_spool_append(ss->spool, &r) != EFBIG)
			_exit(3);
		if (stat(path, &after) != 0 || after.st_size != st.st_size)
			_exit(4);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	append_records(ss, 4, 1);
	replay_spool(ss, 0, 4, 0);
	assert_seen(ss, 1, 4);
}

static void test_spool_corrupt(void **state)
{
	struct spool_state *ss = *state;
	char long_line[KW_AUDIT_LINE_MAX + 100];
	char *bad;

	open_spool(ss);
	append_records(ss, 1, 3);
	put_file(ss, SEGMENT_1, "a", "v=1 garbage\n");
	append_records(ss, 4, 3);
	memset(long_line, 'x', sizeof(long_line) - 2);
	long_line[sizeof(long_line) - 2] = '\n';
	long_line[sizeof(long_line) - 1] = '\0';
	put_file(ss, SEGMENT_1, "a", long_line);
	append_records(ss, 7, 4);
	/* Files that are not the spool's are left alone. */
	put_file(ss, "notes.txt", "w", "hello\n");

	assert_int_equal(spool_count(ss), 12);
	replay_spool(ss, 0, 10, 2);
	assert_seen(ss, 1, 10);
	bad = slurp(ss, "bad", NULL);
	assert_int_equal(strncmp(bad, "v=1 garbage\n", 12), 0);
	assert_string_equal(bad + 12, long_line);
	free(bad);
	assert_true(exists(ss, "notes.txt"));
	assert_int_equal(spool_count(ss), 0);
	replay_spool(ss, 0, 0, 0);
}

/*
 * Small segments: appends span many, a replay delivers them in order and
 * removes those it finished; a torn line at the end of an older segment
 * is bad, not a line being written.
 */
static void test_spool_rotation(void **state)
{
	struct spool_state *ss = *state;
	size_t segments;
	char *bad;

	open_spool(ss);
	kw_spool_set_segment_size(ss->spool, SMALL_SEGMENT);
	append_records(ss, 1, SPOOL_RECORDS);
	segments = count_segments(ss);
	assert_true(segments >= 10);
	assert_true(exists(ss, "seg.00000000000000000002"));
	put_file(ss, SEGMENT_1, "a", "v=1 torn-old");
	assert_int_equal(spool_count(ss), SPOOL_RECORDS);

	ss->fail_at = 51;
	replay_spool(ss, EAGAIN, 50, 1);
	assert_seen(ss, 1, 50);
	assert_false(exists(ss, SEGMENT_1));
	assert_true(count_segments(ss) < segments);
	bad = slurp(ss, "bad", NULL);
	assert_string_equal(bad, "v=1 torn-old\n");
	free(bad);

	forget_seen(ss);
	replay_spool(ss, 0, SPOOL_RECORDS - 50, 0);
	assert_seen(ss, 51, SPOOL_RECORDS - 50);
	assert_int_equal(count_segments(ss), 1);
	assert_int_equal(spool_count(ss), 0);

	/* The newest segment takes the next records; nothing comes twice. */
	forget_seen(ss);
	append_records(ss, 101, 10);
	replay_spool(ss, 0, 10, 0);
	assert_seen(ss, 101, 10);
	kw_spool_set_segment_size(ss->spool, 0);
}

struct listing {
	size_t n;
	size_t stop_at;
	char first[KW_AUDIT_LINE_MAX];
};

static int visit_line(const char *line, size_t len, void *arg)
{
	struct listing *l = arg;

	assert_int_equal(strlen(line), len);
	if (l->n == 0)
		strcpy(l->first, line);
	l->n++;
	return l->n == l->stop_at ? ECANCELED : 0;
}

static void test_spool_list(void **state)
{
	struct spool_state *ss = *state;
	struct listing l = {0};
	char line[KW_AUDIT_LINE_MAX];
	struct kw_audit_record r;

	open_spool(ss);
	append_records(ss, 1, 3);
	assert_int_equal(kw_spool_list(ss->spool, visit_line, &l), 0);
	assert_int_equal(l.n, 3);
	base_record(&r, 1);
	assert_int_equal(kw_audit_encode(&r, line, sizeof(line), NULL), 0);
	assert_string_equal(l.first, line);

	l = (struct listing){.stop_at = 2};
	assert_int_equal(kw_spool_list(ss->spool, visit_line, &l), ECANCELED);
	assert_int_equal(l.n, 2);
	assert_int_equal(spool_count(ss), 3);
	assert_int_equal(kw_spool_list(NULL, visit_line, &l), EINVAL);
	assert_int_equal(kw_spool_list(ss->spool, NULL, NULL), EINVAL);
}

static void test_spool_refuses(void **state)
{
	struct spool_state *ss = *state;
	/* Any value but NULL, to see that a failed open clears it. */
	struct kw_spool *s = (struct kw_spool *)ss;
	struct kw_audit_record r;
	char err[256], path[128];
	size_t len = 99;
	char *text;

	assert_int_equal(chmod(ss->dir, 0777), 0);
	assert_int_equal(kw_spool_open(ss->dir, &s, err, sizeof(err)), EPERM);
	assert_null(s);
	assert_non_null(strstr(err, "writable"));
	assert_false(exists(ss, SEGMENT_1));
	assert_int_equal(chmod(ss->dir, 0720), 0);
	assert_int_equal(kw_spool_open(ss->dir, &s, err, sizeof(err)), EPERM);
	assert_int_equal(chmod(ss->dir, 0700), 0);

	snprintf(path, sizeof(path), "%s/missing", ss->dir);
	assert_int_equal(kw_spool_open(path, &s, err, sizeof(err)), ENOENT);
	assert_non_null(strstr(err, "missing"));
	put_file(ss, "file", "w", "x\n");
	snprintf(path, sizeof(path), "%s/file", ss->dir);
	assert_int_equal(kw_spool_open(path, &s, err, sizeof(err)), ENOTDIR);
	assert_int_equal(kw_spool_open(NULL, &s, err, sizeof(err)), EINVAL);

	/* An invalid record is refused before anything reaches the disk. */
	open_spool(ss);
	base_record(&r, 1);
	strcpy(r.reason, "Not A Token");
	assert_int_equal(kw_spool_append(ss->spool, &r), EINVAL);
	assert_int_equal(spool_count(ss), 0);
	text = slurp(ss, SEGMENT_1, &len);
	assert_int_equal(len, 0);
	free(text);
	assert_int_equal(kw_spool_append(NULL, &r), EINVAL);
	assert_int_equal(kw_spool_replay(ss->spool, NULL, NULL, NULL, NULL),
			 EINVAL);
	assert_int_equal(kw_spool_count(NULL, NULL), EINVAL);
	assert_int_equal(kw_spool_count(ss->spool, NULL), EINVAL);
	kw_spool_set_sync(NULL, false);
	kw_spool_set_segment_size(NULL, 1);
	kw_spool_close(NULL);

	/* A segment that is a symbolic link is not followed. */
	kw_spool_close(ss->spool);
	ss->spool = NULL;
	spool_path(ss, SEGMENT_1, path);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(symlink("/dev/null", path), 0);
	assert_int_equal(kw_spool_open(ss->dir, &s, err, sizeof(err)), EPERM);
	assert_null(s);
}

struct appender {
	struct kw_spool *spool;
	int thread;
	int rc;
};

static void *append_thread(void *arg)
{
	struct appender *a = arg;

	for (int i = 0; i < THREAD_RECORDS && a->rc == 0; i++) {
		struct kw_audit_record r;

		base_record(&r, i);
		snprintf(r.id, sizeof(r.id), "t%d-%04d", a->thread, i);
		a->rc = kw_spool_append(a->spool, &r);
	}
	return NULL;
}

/* Each writer's records came back in its own order, none twice. */
static void assert_each_in_order(struct spool_state *ss, int writers,
				 int per_writer)
{
	int next[2] = {0, 0};

	assert_true(writers <= 2);
	assert_int_equal(ss->nseen, (size_t)(writers * per_writer));
	for (size_t i = 0; i < ss->nseen; i++) {
		int w, k;

		assert_int_equal(sscanf(ss->seen[i], "t%d-%d", &w, &k), 2);
		assert_true(w >= 0 && w < writers);
		assert_int_equal(k, next[w]);
		next[w]++;
	}
}

/* Two threads append at once, sharing syncs. */
static void test_spool_threads(void **state)
{
	struct spool_state *ss = *state;
	struct appender a[2];
	pthread_t t[2];

	open_spool(ss);
	for (int i = 0; i < 2; i++) {
		a[i] = (struct appender){ss->spool, i, 0};
		assert_int_equal(
			pthread_create(&t[i], NULL, append_thread, &a[i]), 0);
	}
	for (int i = 0; i < 2; i++) {
		assert_int_equal(pthread_join(t[i], NULL), 0);
		assert_int_equal(a[i].rc, 0);
	}
	assert_int_equal(spool_count(ss), 2 * THREAD_RECORDS);
	replay_spool(ss, 0, 2 * THREAD_RECORDS, 0);
	assert_each_in_order(ss, 2, THREAD_RECORDS);
}

/*
 * Two processes, each with its own handle, append to one spool at once,
 * with small segments, so that each also moves to segments that the other
 * started.  Every line decodes: none was interleaved with another.
 */
static void test_spool_processes(void **state)
{
	struct spool_state *ss = *state;
	struct appender a;
	int status;
	pid_t pid;

	open_spool(ss);
	kw_spool_set_segment_size(ss->spool, 4 * SMALL_SEGMENT);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct kw_spool *own = NULL;

		kw_spool_close(ss->spool);
		if (kw_spool_open(ss->dir, &own, NULL, 0) != 0)
			_exit(2);
		kw_spool_set_segment_size(own, 4 * SMALL_SEGMENT);
		a = (struct appender){own, 1, 0};
		append_thread(&a);
		kw_spool_close(own);
		_exit(a.rc == 0 ? 0 : 1);
	}
	a = (struct appender){ss->spool, 0, 0};
	append_thread(&a);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(a.rc, 0);

	assert_true(count_segments(ss) > 10);
	assert_int_equal(spool_count(ss), 2 * THREAD_RECORDS);
	replay_spool(ss, 0, 2 * THREAD_RECORDS, 0);
	assert_each_in_order(ss, 2, THREAD_RECORDS);
}

int main(void)
{
	static const struct {
		const char *name;
		const struct decode_case *c;
	} decode_cases[] = {
		{"decode good line", &case_good},
		{"decode unknown key", &case_unknown_key},
		{"decode duplicate key", &case_duplicate_key},
		{"decode missing key", &case_missing_key},
		{"decode misplaced key", &case_misplaced_key},
		{"decode key case", &case_key_case},
		{"decode no equals", &case_no_equals},
		{"decode bad version", &case_bad_version},
		{"decode no version", &case_no_version},
		{"decode escape short", &case_escape_short},
		{"decode escape at end", &case_escape_end},
		{"decode escape non-hex", &case_escape_non_hex},
		{"decode escape lowercase", &case_escape_lowercase},
		{"decode escape needless", &case_escape_needless},
		{"decode escape nul", &case_escape_nul},
		{"decode escape newline", &case_escape_newline},
		{"decode raw equals", &case_raw_equals},
		{"decode escaped percent", &case_raw_percent_ok},
		{"decode embedded nul", &case_embedded_nul},
		{"decode non-ascii token", &case_non_ascii_token},
		{"decode escaped non-ascii token",
		 &case_escaped_non_ascii_token},
		{"decode non-ascii text", &case_non_ascii_text},
		{"decode escaped control text", &case_escaped_control_text},
		{"decode overlong tenant", &case_overlong_tenant},
		{"decode overlong escaped", &case_overlong_escaped},
		{"decode trailing field", &case_trailing_field},
		{"decode trailing space", &case_trailing_space},
		{"decode trailing newline", &case_trailing_newline},
		{"decode trailing byte", &case_trailing_byte},
		{"decode double space", &case_double_space},
		{"decode leading space", &case_leading_space},
		{"decode time leading zero", &case_time_leading_zero},
		{"decode time sign", &case_time_sign},
		{"decode time negative", &case_time_negative},
		{"decode time empty", &case_time_empty},
		{"decode time overflow", &case_time_overflow},
		{"decode time max", &case_time_max},
		{"decode seq overflow", &case_seq_overflow},
		{"decode seq hex", &case_seq_hex},
		{"decode outcome", &case_outcome},
		{"decode chained without mac", &case_chain_half},
		{"decode truncated", &case_truncated},
	};
	static const struct CMUnitTest fixed[] = {
		cmocka_unit_test(test_encode_golden),
		cmocka_unit_test(test_encode_escapes),
		cmocka_unit_test(test_round_trip_limits),
		cmocka_unit_test(test_encode_rejects),
		cmocka_unit_test(test_field_rules),
		cmocka_unit_test(test_clean_text),
		cmocka_unit_test(test_decode_arguments),
		cmocka_unit_test_setup_teardown(test_chain_intact, chain_setup,
						chain_teardown),
		cmocka_unit_test_setup_teardown(test_chain_mac_definition,
						chain_setup, chain_teardown),
		cmocka_unit_test_setup_teardown(test_chain_altered, chain_setup,
						chain_teardown),
		cmocka_unit_test_setup_teardown(test_chain_removed, chain_setup,
						chain_teardown),
		cmocka_unit_test_setup_teardown(test_chain_swapped, chain_setup,
						chain_teardown),
		cmocka_unit_test_setup_teardown(test_chain_prev_mac,
						chain_setup, chain_teardown),
		cmocka_unit_test_setup_teardown(test_chain_broken_link,
						chain_setup, chain_teardown),
		cmocka_unit_test_setup_teardown(test_chain_malformed,
						chain_setup, chain_teardown),
		cmocka_unit_test_setup_teardown(test_chain_purge, chain_setup,
						chain_teardown),
		cmocka_unit_test_setup_teardown(test_chain_other_key,
						chain_setup, chain_teardown),
		cmocka_unit_test_setup_teardown(test_chain_next_retry,
						chain_setup, chain_teardown),
		cmocka_unit_test(test_name_hash),
		cmocka_unit_test(test_new_id),
		cmocka_unit_test_setup_teardown(test_spool_append_replay,
						spool_setup, spool_teardown),
		cmocka_unit_test_setup_teardown(test_spool_deferred,
						spool_setup, spool_teardown),
		cmocka_unit_test_setup_teardown(test_spool_delivery_fails,
						spool_setup, spool_teardown),
		cmocka_unit_test_setup_teardown(test_spool_cursor_saved,
						spool_setup, spool_teardown),
		cmocka_unit_test_setup_teardown(test_spool_crash_redelivery,
						spool_setup, spool_teardown),
		cmocka_unit_test_setup_teardown(test_spool_cursor_lost,
						spool_setup, spool_teardown),
		cmocka_unit_test_setup_teardown(test_spool_torn_line,
						spool_setup, spool_teardown),
		cmocka_unit_test_setup_teardown(test_spool_short_write,
						spool_setup, spool_teardown),
		cmocka_unit_test_setup_teardown(test_spool_corrupt, spool_setup,
						spool_teardown),
		cmocka_unit_test_setup_teardown(test_spool_rotation,
						spool_setup, spool_teardown),
		cmocka_unit_test_setup_teardown(test_spool_list, spool_setup,
						spool_teardown),
		cmocka_unit_test_setup_teardown(test_spool_refuses, spool_setup,
						spool_teardown),
		cmocka_unit_test_setup_teardown(test_spool_threads, spool_setup,
						spool_teardown),
		cmocka_unit_test_setup_teardown(test_spool_processes,
						spool_setup, spool_teardown),
	};
	enum {
		N_FIXED = sizeof(fixed) / sizeof(fixed[0]),
		N_DECODE = sizeof(decode_cases) / sizeof(decode_cases[0]),
	};
	struct CMUnitTest tests[N_FIXED + N_DECODE];

	memcpy(tests, fixed, sizeof(fixed));
	for (size_t i = 0; i < N_DECODE; i++) {
		tests[N_FIXED + i] = (struct CMUnitTest){
			.name = decode_cases[i].name,
			.test_func = test_decode_case,
			.initial_state = (void *)decode_cases[i].c,
		};
	}
	return _cmocka_run_group_tests("audit", tests, N_FIXED + N_DECODE, NULL,
				       NULL);
}
