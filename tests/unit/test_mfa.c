/*
 * test_mfa.c - the MFA core: TOTP against RFC 6238 and oathtool, base32
 * and otpauth URIs, sealed secrets, the derived keys and the master key
 * file they come from, recovery codes, QR rendering.
 *
 * The clock is an argument of kw_totp_verify(), so no test waits for
 * time to pass.  oathtool and the openssl CLI are the independent
 * implementations; a test that needs one skips itself where it is
 * missing (CI has both).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <liboath/oath.h>
#include <qrencode.h>

#include "kw_keys.h"
#include "kw_mfa.h"
#include "kw_secret.h"

#ifndef KW_TEST_OATHTOOL
#error "KW_TEST_OATHTOOL must name oathtool (empty if configure found none)"
#endif
#ifndef KW_TEST_OPENSSL
#error "KW_TEST_OPENSSL must name openssl (empty if configure found none)"
#endif

/* ---- helpers -------------------------------------------------------- */

static const unsigned char seed_sha1[] = "12345678901234567890";
static const unsigned char seed_sha256[] = "12345678901234567890123456789012";
static const unsigned char seed_sha512[] =
	"1234567890123456789012345678901234567890123456789012345678901234";

static const unsigned char *seed_for(enum kw_totp_algo algo, size_t *len)
{
	switch (algo) {
	case KW_TOTP_SHA256:
		*len = sizeof(seed_sha256) - 1;
		return seed_sha256;
	case KW_TOTP_SHA512:
		*len = sizeof(seed_sha512) - 1;
		return seed_sha512;
	case KW_TOTP_SHA1:
	default:
		*len = sizeof(seed_sha1) - 1;
		return seed_sha1;
	}
}

static void to_hex(const unsigned char *in, size_t len, char *out)
{
	static const char hex[] = "0123456789abcdef";

	for (size_t i = 0; i < len; i++) {
		out[2 * i] = hex[in[i] >> 4];
		out[2 * i + 1] = hex[in[i] & 0x0f];
	}
	out[2 * len] = '\0';
}

static bool tool_present(const char *path)
{
	return path[0] != '\0' && access(path, X_OK) == 0;
}

/* Run CMD and keep the first line of its output, without the newline. */
static int run_line(const char *cmd, char *out, size_t outsz)
{
	FILE *fp = popen(cmd, "r");
	int status;

	if (fp == NULL)
		return -1;
	if (fgets(out, (int)outsz, fp) == NULL)
		out[0] = '\0';
	status = pclose(fp);
	out[strcspn(out, "\n")] = '\0';
	return status == 0 && out[0] != '\0' ? 0 : -1;
}

static bool all_zero(const void *p, size_t len)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < len; i++) {
		if (b[i] != 0)
			return false;
	}
	return true;
}

static void master_fill(struct kw_master_key *m, unsigned char first)
{
	for (size_t i = 0; i < KW_KEY_BYTES; i++)
		m->bytes[i] = (unsigned char)(first + i);
	m->loaded = true;
}

/* ---- TOTP: RFC 6238 Appendix B -------------------------------------- */

struct rfc_vector {
	long long time;
	long long step;
	const char *code[3]; /* SHA1, SHA256, SHA512 */
};

static const struct rfc_vector rfc_vectors[] = {
	{59LL, 1LL, {"94287082", "46119246", "90693936"}},
	{1111111109LL, 37037036LL, {"07081804", "68084774", "25091201"}},
	{1111111111LL, 37037037LL, {"14050471", "67062674", "99943326"}},
	{1234567890LL, 41152263LL, {"89005924", "91819424", "93441116"}},
	{2000000000LL, 66666666LL, {"69279037", "90698825", "38618901"}},
	{20000000000LL, 666666666LL, {"65353130", "77737706", "47863826"}},
};

static void rfc_params(struct kw_totp_params *p, enum kw_totp_algo algo)
{
	kw_totp_params_default(p);
	p->algo = algo;
	p->digits = 8;
}

static int verify_at(enum kw_totp_algo algo, const char *code, long long t,
		     long long last, long long *step)
{
	struct kw_totp_params p;
	const unsigned char *seed;
	size_t len;

	rfc_params(&p, algo);
	seed = seed_for(algo, &len);
	return kw_totp_verify(seed, len, &p, code, (time_t)t, last, step);
}

static void test_totp_defaults(void **state)
{
	struct kw_totp_params p;

	memset(&p, 0xff, sizeof(p));
	kw_totp_params_default(&p);
	assert_int_equal(p.algo, KW_TOTP_SHA1);
	assert_int_equal(p.digits, 6);
	assert_int_equal(p.period_s, 30);
	assert_int_equal(p.window, 1);
}

static void test_totp_rfc6238(void **state)
{
	for (size_t i = 0; i < sizeof(rfc_vectors) / sizeof(rfc_vectors[0]);
	     i++) {
		const struct rfc_vector *v = &rfc_vectors[i];

		for (int a = KW_TOTP_SHA1; a <= KW_TOTP_SHA512; a++) {
			long long step = 0;

			assert_int_equal(
				verify_at(a, v->code[a], v->time, -1, &step),
				0);
			assert_int_equal(step, v->step);
		}
	}
}

static void test_totp_window(void **state)
{
	for (size_t i = 0; i < sizeof(rfc_vectors) / sizeof(rfc_vectors[0]);
	     i++) {
		const struct rfc_vector *v = &rfc_vectors[i];

		for (int a = KW_TOTP_SHA1; a <= KW_TOTP_SHA512; a++) {
			const char *code = v->code[a];
			long long step = 0;

			/* One step late and one early: still this code. */
			assert_int_equal(
				verify_at(a, code, v->time + 30, -1, &step), 0);
			assert_int_equal(step, v->step);
			if (v->time >= 30) {
				step = 0;
				assert_int_equal(verify_at(a, code,
							   v->time - 30, -1,
							   &step),
						 0);
				assert_int_equal(step, v->step);
			}
			/* Two steps off: outside a window of one. */
			assert_int_equal(
				verify_at(a, code, v->time + 60, -1, &step),
				EACCES);
			assert_int_equal(step, -1);
			if (v->time >= 60)
				assert_int_equal(verify_at(a, code,
							   v->time - 60, -1,
							   &step),
						 EACCES);
		}
	}
}

static void test_totp_window_zero_and_wider(void **state)
{
	struct kw_totp_params p;
	long long step;

	rfc_params(&p, KW_TOTP_SHA1);
	p.window = 0;
	assert_int_equal(kw_totp_verify(seed_sha1, 20, &p, "14050471",
					1111111111, -1, &step),
			 0);
	assert_int_equal(kw_totp_verify(seed_sha1, 20, &p, "14050471",
					1111111111 + 30, -1, &step),
			 EACCES);
	p.window = 2;
	assert_int_equal(kw_totp_verify(seed_sha1, 20, &p, "14050471",
					1111111111 + 60, -1, &step),
			 0);
	assert_int_equal(step, 37037037);
	assert_int_equal(kw_totp_verify(seed_sha1, 20, &p, "14050471",
					1111111111 + 90, -1, &step),
			 EACCES);
}

/*
 * In the first steps liboath also tries the steps before 0, as counters
 * that wrap around to 2^64 - 1 and below: their codes must not pass.
 */
static void test_totp_before_first_step(void **state)
{
	struct kw_totp_params p;
	char code[16];
	long long step = 0;

	kw_totp_params_default(&p);
	p.window = 3;
	assert_int_equal(oath_init(), OATH_OK);
	for (uint64_t back = 1; back <= 3; back++) {
		assert_int_equal(
			oath_hotp_generate((const char *)seed_sha1, 20,
					   UINT64_MAX - back + 1, 6, false,
					   OATH_HOTP_DYNAMIC_TRUNCATION, code),
			OATH_OK);
		assert_int_equal(
			kw_totp_verify(seed_sha1, 20, &p, code, 10, -1, &step),
			EACCES);
		assert_int_equal(step, -1);
	}
	/* Step 0 itself is a step like any other. */
	assert_int_equal(oath_hotp_generate((const char *)seed_sha1, 20, 0, 6,
					    false, OATH_HOTP_DYNAMIC_TRUNCATION,
					    code),
			 OATH_OK);
	assert_int_equal(kw_totp_verify(seed_sha1, 20, &p, code, 10, -1, &step),
			 0);
	assert_int_equal(step, 0);
}

static void test_totp_replay(void **state)
{
	long long step = 0;

	/* The same code again: its step is the last one spent. */
	assert_int_equal(verify_at(KW_TOTP_SHA1, "14050471", 1111111111,
				   37037037, &step),
			 EALREADY);
	assert_int_equal(step, 37037037);
	/* A code older than one already spent. */
	assert_int_equal(verify_at(KW_TOTP_SHA1, "07081804", 1111111111,
				   37037037, &step),
			 EALREADY);
	assert_int_equal(step, 37037036);
	assert_int_equal(verify_at(KW_TOTP_SHA256, "46119246", 59, 1000, &step),
			 EALREADY);
	/* A late code (window) of the step just before the spent one. */
	assert_int_equal(verify_at(KW_TOTP_SHA1, "14050471", 1111111111 + 30,
				   37037038, &step),
			 EALREADY);
	/* The next step after the spent one is fine. */
	assert_int_equal(verify_at(KW_TOTP_SHA1, "14050471", 1111111111,
				   37037036, &step),
			 0);
	assert_int_equal(step, 37037037);
}

/*
 * A d-digit HOTP value is the truncated number modulo 10^d, so the 6- and
 * 7-digit codes are the last digits of the RFC's 8-digit ones.
 */
static void test_totp_length(void **state)
{
	struct kw_totp_params p;
	uint64_t counter = 0;
	long long step = 0;
	int pos = 0;

	kw_totp_params_default(&p);
	assert_int_equal(
		kw_totp_verify(seed_sha1, 20, &p, "287082", 59, -1, &step), 0);
	assert_int_equal(step, 1);

	/* liboath itself takes the 8- and 7-digit codes of this secret... */
	assert_int_equal(oath_init(), OATH_OK);
	assert_true(oath_totp_validate4((const char *)seed_sha1, 20, 59, 30, 0,
					1, &pos, &counter, 0, "94287082") >= 0);
	assert_true(oath_totp_validate4((const char *)seed_sha1, 20, 59, 30, 0,
					1, &pos, &counter, 0, "4287082") >= 0);
	/* ...a 6-digit account does not. */
	assert_int_equal(
		kw_totp_verify(seed_sha1, 20, &p, "94287082", 59, -1, &step),
		EINVAL);
	assert_int_equal(step, -1);
	assert_int_equal(
		kw_totp_verify(seed_sha1, 20, &p, "4287082", 59, -1, &step),
		EINVAL);
	/* And an 8-digit account refuses the 6-digit code. */
	p.digits = 8;
	assert_int_equal(
		kw_totp_verify(seed_sha1, 20, &p, "287082", 59, -1, &step),
		EINVAL);
	p.digits = 7;
	assert_int_equal(
		kw_totp_verify(seed_sha1, 20, &p, "4287082", 59, -1, &step), 0);
}

/* "287082" in full-width digits (U+FF10..U+FF19), as a phone may send. */
#define FULL_WIDTH_287082                                                      \
	"\xef\xbc\x92\xef\xbc\x98\xef\xbc\x97"                                 \
	"\xef\xbc\x90\xef\xbc\x98\xef\xbc\x92"

static void test_totp_malformed(void **state)
{
	static const char nul_inside[] = "287\0082";
	static const char *const bad[] = {
		"",        " 287082", "287082 ",         "2870 82",
		"28708a",  "+28708",  "-28708",          "287082\n",
		"28708",   "0x2870",  FULL_WIDTH_287082, nul_inside,
		"2870822",
	};
	struct kw_totp_params p;
	long long step = 0;

	kw_totp_params_default(&p);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		step = 0;
		assert_int_equal(kw_totp_verify(seed_sha1, 20, &p, bad[i], 59,
						-1, &step),
				 EINVAL);
		assert_int_equal(step, -1);
	}
	assert_int_equal(kw_totp_verify(seed_sha1, 20, &p, NULL, 59, -1, &step),
			 EINVAL);
}

static void test_totp_bad_arguments(void **state)
{
	struct kw_totp_params p, bad[6];
	long long step;

	kw_totp_params_default(&p);
	assert_int_equal(
		kw_totp_verify(seed_sha1, 20, &p, "287082", 59, -1, NULL),
		EINVAL);
	assert_int_equal(kw_totp_verify(NULL, 20, &p, "287082", 59, -1, &step),
			 EINVAL);
	assert_int_equal(
		kw_totp_verify(seed_sha1, 15, &p, "287082", 59, -1, &step),
		EINVAL);
	assert_int_equal(
		kw_totp_verify(seed_sha512, 65, &p, "287082", 59, -1, &step),
		EINVAL);
	assert_int_equal(
		kw_totp_verify(seed_sha1, 20, NULL, "287082", 59, -1, &step),
		EINVAL);
	assert_int_equal(
		kw_totp_verify(seed_sha1, 20, &p, "287082", -1, -1, &step),
		EINVAL);
	for (size_t i = 0; i < 6; i++)
		kw_totp_params_default(&bad[i]);
	bad[0].digits = 5;
	bad[1].digits = 9;
	bad[2].period_s = 0;
	bad[3].window = -1;
	bad[4].window = KW_TOTP_WINDOW_MAX + 1;
	bad[5].algo = (enum kw_totp_algo)7;
	for (size_t i = 0; i < 6; i++)
		assert_int_equal(kw_totp_verify(seed_sha1, 20, &bad[i],
						"287082", 59, -1, &step),
				 EINVAL);
}

/* ---- TOTP against oathtool ------------------------------------------ */

static int oathtool_code(const char *mode, int digits, int period, long long t,
			 const unsigned char *secret, size_t len, char *code,
			 size_t codesz)
{
	char hex[2 * KW_TOTP_SECRET_MAX + 1];
	char cmd[512];

	to_hex(secret, len, hex);
	snprintf(cmd, sizeof(cmd), "'%s' %s -d %d -s %d -N @%lld %s",
		 KW_TEST_OATHTOOL, mode, digits, period, t, hex);
	kw_wipe(hex, sizeof(hex));
	return run_line(cmd, code, codesz);
}

static void test_totp_oathtool(void **state)
{
	static const struct {
		const char *mode;
		enum kw_totp_algo algo;
		int digits;
		int period;
	} modes[] = {
		{"--totp", KW_TOTP_SHA1, 6, 30},
		{"--totp", KW_TOTP_SHA1, 8, 30},
		{"--totp=sha256", KW_TOTP_SHA256, 6, 30},
		{"--totp=sha256", KW_TOTP_SHA256, 8, 30},
		{"--totp=sha512", KW_TOTP_SHA512, 7, 60},
		{"--totp", KW_TOTP_SHA1, 6, 60},
	};
	static const long long times[] = {0,          29,         1700000000,
					  1700000029, 4102444800, 20000000001};
	unsigned char secrets[3][KW_TOTP_SECRET_MAX];
	static const size_t lens[3] = {KW_TOTP_SECRET_BYTES, 32, 64};

	if (!tool_present(KW_TEST_OATHTOOL))
		skip();
	for (size_t s = 0; s < 3; s++)
		assert_int_equal(kw_totp_new_secret(secrets[s], lens[s]), 0);

	for (size_t m = 0; m < sizeof(modes) / sizeof(modes[0]); m++) {
		struct kw_totp_params p;

		kw_totp_params_default(&p);
		p.algo = modes[m].algo;
		p.digits = modes[m].digits;
		p.period_s = modes[m].period;
		for (size_t s = 0; s < 3; s++) {
			for (size_t t = 0; t < sizeof(times) / sizeof(times[0]);
			     t++) {
				char code[32];
				long long step = -2;

				assert_int_equal(
					oathtool_code(modes[m].mode, p.digits,
						      p.period_s, times[t],
						      secrets[s], lens[s], code,
						      sizeof(code)),
					0);
				assert_int_equal(strlen(code),
						 (size_t)p.digits);
				assert_int_equal(
					kw_totp_verify(secrets[s], lens[s], &p,
						       code, (time_t)times[t],
						       -1, &step),
					0);
				assert_int_equal(step,
						 times[t] / modes[m].period);
				kw_wipe(code, sizeof(code));
			}
		}
	}
	kw_wipe(secrets, sizeof(secrets));
}

/* The 8-digit code of oathtool, refused by a 6-digit account. */
static void test_totp_oathtool_length(void **state)
{
	struct kw_totp_params p;
	char code[32];
	long long step;

	if (!tool_present(KW_TEST_OATHTOOL))
		skip();
	kw_totp_params_default(&p);
	assert_int_equal(oathtool_code("--totp", 8, 30, 1111111111, seed_sha1,
				       20, code, sizeof(code)),
			 0);
	assert_string_equal(code, "14050471");
	assert_int_equal(
		kw_totp_verify(seed_sha1, 20, &p, code, 1111111111, -1, &step),
		EINVAL);
	assert_int_equal(kw_totp_verify(seed_sha1, 20, &p, code + 2, 1111111111,
					-1, &step),
			 0);
}

/* Several threads making liboath's first call at once (pthread_once). */
static void *verify_thread(void *arg)
{
	long long step = 0;
	int *rc = arg;

	for (int i = 0; i < 20 && *rc == 0; i++)
		*rc = verify_at(KW_TOTP_SHA512, "47863826", 20000000000LL, -1,
				&step);
	return NULL;
}

static void test_totp_threads(void **state)
{
	pthread_t threads[4];
	int rcs[4] = {0};

	for (int i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&threads[i], NULL,
						verify_thread, &rcs[i]),
				 0);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(pthread_join(threads[i], NULL), 0);
		assert_int_equal(rcs[i], 0);
	}
}

static void test_totp_new_secret(void **state)
{
	unsigned char a[KW_TOTP_SECRET_BYTES], b[KW_TOTP_SECRET_BYTES];
	unsigned char big[KW_TOTP_SECRET_MAX + 1];

	assert_int_equal(kw_totp_new_secret(a, sizeof(a)), 0);
	assert_int_equal(kw_totp_new_secret(b, sizeof(b)), 0);
	assert_memory_not_equal(a, b, sizeof(a));
	assert_int_equal(kw_totp_new_secret(big, KW_TOTP_SECRET_MAX), 0);
	assert_int_equal(kw_totp_new_secret(big, KW_TOTP_SECRET_MIN - 1),
			 EINVAL);
	assert_int_equal(kw_totp_new_secret(big, sizeof(big)), EINVAL);
	assert_int_equal(kw_totp_new_secret(NULL, 20), EINVAL);
	assert_int_equal(kw_random_bytes(NULL, 1), EINVAL);
	kw_wipe(a, sizeof(a));
	kw_wipe(b, sizeof(b));
	kw_wipe(big, sizeof(big));
}

/* ---- base32 and the otpauth URI ------------------------------------- */

static void test_base32(void **state)
{
	/* RFC 4648 section 10, without the padding. */
	static const char *const vectors[][2] = {
		{"", ""},
		{"f", "MY"},
		{"fo", "MZXQ"},
		{"foo", "MZXW6"},
		{"foob", "MZXW6YQ"},
		{"fooba", "MZXW6YTB"},
		{"foobar", "MZXW6YTBOI"},
	};
	char out[64];

	for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		const char *in = vectors[i][0];
		size_t len = strlen(in), want = strlen(vectors[i][1]);

		assert_int_equal(KW_BASE32_LEN(len), want);
		assert_int_equal(kw_base32_encode((const unsigned char *)in,
						  len, out, want + 1),
				 0);
		assert_string_equal(out, vectors[i][1]);
		memset(out, 'x', sizeof(out));
		assert_int_equal(kw_base32_encode((const unsigned char *)in,
						  len, out, want),
				 ENOBUFS);
		if (want > 0)
			assert_int_equal(out[0], '\0');
	}
	assert_int_equal(kw_base32_encode(seed_sha1, 20, out, sizeof(out)), 0);
	assert_string_equal(out, "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
	assert_int_equal(kw_base32_encode(NULL, 1, out, sizeof(out)), EINVAL);
	assert_int_equal(kw_base32_encode(seed_sha1, 1, NULL, 8), EINVAL);
}

static void test_otpauth_uri(void **state)
{
	static const char want[] =
		"otpauth://totp/Acme%20Corp%3A%20%C3%9Cn%C3%AFcode:"
		"alice%40acme?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
		"&issuer=Acme%20Corp%3A%20%C3%9Cn%C3%AFcode"
		"&algorithm=SHA1&digits=6&period=30";
	static const char issuer[] = "Acme Corp: \xc3\x9c"
				     "n\xc3\xaf"
				     "code";
	struct kw_totp_params p;
	char out[512];

	kw_totp_params_default(&p);
	assert_int_equal(kw_otpauth_uri(issuer, "alice@acme", seed_sha1, 20, &p,
					out, sizeof(out)),
			 0);
	assert_string_equal(out, want);

	/* Exactly enough room, and one byte less. */
	assert_int_equal(kw_otpauth_uri(issuer, "alice@acme", seed_sha1, 20, &p,
					out, sizeof(want)),
			 0);
	assert_string_equal(out, want);
	assert_int_equal(kw_otpauth_uri(issuer, "alice@acme", seed_sha1, 20, &p,
					out, sizeof(want) - 1),
			 ENOBUFS);
	assert_true(all_zero(out, sizeof(want) - 1));
	assert_int_equal(
		kw_otpauth_uri(issuer, "alice@acme", seed_sha1, 20, &p, out, 0),
		ENOBUFS);

	p.algo = KW_TOTP_SHA512;
	p.digits = 8;
	p.period_s = 60;
	assert_int_equal(kw_otpauth_uri("Keyward", "bob.smith_1~x@t-1",
					seed_sha512, 64, &p, out, sizeof(out)),
			 0);
	assert_non_null(strstr(out, "otpauth://totp/Keyward:"
				    "bob.smith_1~x%40t-1?secret="));
	assert_non_null(strstr(out, "&issuer=Keyward&algorithm=SHA512"
				    "&digits=8&period=60"));
	p.algo = KW_TOTP_SHA256;
	assert_int_equal(
		kw_otpauth_uri("K", "a", seed_sha256, 32, &p, out, sizeof(out)),
		0);
	assert_non_null(strstr(out, "&algorithm=SHA256&"));

	kw_totp_params_default(&p);
	assert_int_equal(
		kw_otpauth_uri("", "a", seed_sha1, 20, &p, out, sizeof(out)),
		EINVAL);
	assert_int_equal(
		kw_otpauth_uri(NULL, "a", seed_sha1, 20, &p, out, sizeof(out)),
		EINVAL);
	assert_int_equal(
		kw_otpauth_uri("K", "", seed_sha1, 20, &p, out, sizeof(out)),
		EINVAL);
	assert_int_equal(
		kw_otpauth_uri("K", NULL, seed_sha1, 20, &p, out, sizeof(out)),
		EINVAL);
	assert_int_equal(
		kw_otpauth_uri("K", "a", seed_sha1, 10, &p, out, sizeof(out)),
		EINVAL);
	assert_int_equal(
		kw_otpauth_uri("K", "a", seed_sha1, 20, NULL, out, sizeof(out)),
		EINVAL);
	assert_int_equal(kw_otpauth_uri("K", "a", seed_sha1, 20, &p, NULL, 8),
			 EINVAL);
	kw_wipe(out, sizeof(out));
}

/* ---- base64 --------------------------------------------------------- */

static void test_base64(void **state)
{
	static const char *const vectors[][2] = {
		{"", ""},
		{"f", "Zg=="},
		{"fo", "Zm8="},
		{"foo", "Zm9v"},
		{"foob", "Zm9vYg=="},
		{"fooba", "Zm9vYmE="},
		{"foobar", "Zm9vYmFy"},
	};
	static const char *const bad[] = {
		"Zg=",  "Zg",       "Z===",   "====",  "Zh==",
		"Zm9=", "Zg==Zg==", "Zm9v\n", " Zm9v", "Zm-v",
		"Zm_v", "Zm9vY===", "=m9v",
	};
	unsigned char out[16];
	char text[16];
	size_t n;

	for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		const char *plain = vectors[i][0], *enc = vectors[i][1];
		size_t len = strlen(plain);

		assert_int_equal(KW_BASE64_LEN(len), strlen(enc));
		assert_int_equal(kw_base64_encode((const unsigned char *)plain,
						  len, text, strlen(enc) + 1),
				 0);
		assert_string_equal(text, enc);
		assert_int_equal(kw_base64_encode((const unsigned char *)plain,
						  len, text, strlen(enc)),
				 ENOBUFS);
		n = 99;
		assert_int_equal(kw_base64_decode(enc, strlen(enc), out,
						  sizeof(out), &n),
				 0);
		assert_int_equal(n, len);
		assert_memory_equal(out, plain, len);
		if (len > 0) {
			memset(out, 0xa5, sizeof(out));
			assert_int_equal(kw_base64_decode(enc, strlen(enc), out,
							  len - 1, &n),
					 ENOBUFS);
			assert_true(all_zero(out, len - 1));
		}
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(out, 0xa5, sizeof(out));
		n = 99;
		assert_int_equal(kw_base64_decode(bad[i], strlen(bad[i]), out,
						  sizeof(out), &n),
				 EINVAL);
		assert_int_equal(n, 0);
		assert_true(all_zero(out, sizeof(out)));
	}
}

/* ---- sealing -------------------------------------------------------- */

static void test_seal_roundtrip(void **state)
{
	static const size_t lens[] = {1,  16, KW_TOTP_SECRET_BYTES,
				      32, 33, KW_SEAL_PLAIN_MAX};
	struct kw_master_key m;
	unsigned char secret[KW_SEAL_PLAIN_MAX], back[KW_SEAL_PLAIN_MAX];
	char text[KW_SEAL_TEXT_MAX + 1];
	size_t n;

	master_fill(&m, 1);
	assert_int_equal(kw_totp_new_secret(secret, sizeof(secret)), 0);
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		assert_int_equal(kw_seal(&m, "acme", "alice", secret, lens[i],
					 text, sizeof(text)),
				 0);
		assert_memory_equal(text, "kw1:", 4);
		assert_true(strlen(text) <= KW_SEAL_TEXT_MAX);
		for (size_t j = 0; text[j] != '\0'; j++)
			assert_true(text[j] > 0x20 && text[j] < 0x7f);
		n = 0;
		assert_int_equal(kw_unseal(&m, "acme", "alice", text, back,
					   sizeof(back), &n),
				 0);
		assert_int_equal(n, lens[i]);
		assert_memory_equal(back, secret, lens[i]);
	}
	/* The longest secret fills KW_SEAL_TEXT_MAX exactly. */
	assert_int_equal(strlen(text), KW_SEAL_TEXT_MAX);

	/* Exactly the room the secret needs opens; less is ENOBUFS. */
	assert_int_equal(
		kw_seal(&m, "acme", "alice", secret, 20, text, sizeof(text)),
		0);
	assert_int_equal(kw_unseal(&m, "acme", "alice", text, back, 20, &n), 0);
	memset(back, 0xa5, sizeof(back));
	assert_int_equal(kw_unseal(&m, "acme", "alice", text, back, 19, &n),
			 ENOBUFS);
	assert_int_equal(n, 0);
	assert_true(all_zero(back, 19));
	kw_wipe(secret, sizeof(secret));
	kw_wipe(back, sizeof(back));
	kw_master_key_wipe(&m);
}

static void test_seal_fresh_nonce(void **state)
{
	struct kw_master_key m;
	char a[KW_SEAL_TEXT_MAX + 1], b[KW_SEAL_TEXT_MAX + 1];

	master_fill(&m, 1);
	assert_int_equal(
		kw_seal(&m, "acme", "alice", seed_sha1, 20, a, sizeof(a)), 0);
	assert_int_equal(
		kw_seal(&m, "acme", "alice", seed_sha1, 20, b, sizeof(b)), 0);
	assert_string_not_equal(a, b);
	/* The nonces (the first 16 base64 characters) differ. */
	assert_memory_not_equal(a + 4, b + 4, 16);
	kw_master_key_wipe(&m);
}

static void test_seal_binding(void **state)
{
	struct kw_master_key m, other;
	unsigned char back[KW_SEAL_PLAIN_MAX];
	char text[KW_SEAL_TEXT_MAX + 1];
	size_t n;

	master_fill(&m, 1);
	master_fill(&other, 2);
	assert_int_equal(
		kw_seal(&m, "acme", "alice", seed_sha1, 20, text, sizeof(text)),
		0);
	memset(back, 0xa5, sizeof(back));
	n = 99;
	assert_int_equal(
		kw_unseal(&m, "acme", "bob", text, back, sizeof(back), &n),
		EACCES);
	assert_int_equal(n, 0);
	assert_true(all_zero(back, sizeof(back)));
	assert_int_equal(
		kw_unseal(&m, "globex", "alice", text, back, sizeof(back), &n),
		EACCES);
	assert_int_equal(kw_unseal(&other, "acme", "alice", text, back,
				   sizeof(back), &n),
			 EACCES);
	assert_int_equal(
		kw_unseal(&m, "acme", "alicf", text, back, sizeof(back), &n),
		EACCES);
	assert_int_equal(
		kw_unseal(&m, "acme", "alice", text, back, sizeof(back), &n),
		0);
	kw_wipe(back, sizeof(back));
	kw_master_key_wipe(&m);
	kw_master_key_wipe(&other);
}

static void test_seal_every_flip(void **state)
{
	struct kw_master_key m;
	unsigned char back[KW_SEAL_PLAIN_MAX];
	char text[KW_SEAL_TEXT_MAX + 1], copy[KW_SEAL_TEXT_MAX + 1];
	size_t len, n;

	master_fill(&m, 1);
	/* 21 bytes: a text with padding, so the padding is flipped too. */
	assert_int_equal(kw_seal(&m, "acme", "alice", seed_sha512, 21, text,
				 sizeof(text)),
			 0);
	len = strlen(text);
	assert_int_equal(text[len - 1], '=');
	for (size_t i = 0; i < len; i++) {
		for (int v = 1; v < 256; v++) {
			int rc;

			memcpy(copy, text, sizeof(copy));
			copy[i] = (char)(copy[i] ^ v);
			memset(back, 0xa5, sizeof(back));
			rc = kw_unseal(&m, "acme", "alice", copy, back,
				       sizeof(back), &n);
			if (rc != EINVAL && rc != EACCES)
				fail_msg("flip %d at %zu gave %d", v, i, rc);
			assert_true(all_zero(back, sizeof(back)));
		}
	}
	kw_master_key_wipe(&m);
}

static void test_seal_malformed(void **state)
{
	struct kw_master_key m;
	unsigned char back[KW_SEAL_PLAIN_MAX];
	unsigned char raw[12 + KW_SEAL_PLAIN_MAX + 16 + 3];
	char text[KW_SEAL_TEXT_MAX + 8], copy[KW_SEAL_TEXT_MAX + 8];
	size_t len, n;

	master_fill(&m, 1);
	assert_int_equal(
		kw_seal(&m, "acme", "alice", seed_sha1, 20, text, sizeof(text)),
		0);
	len = strlen(text);

	/* Every truncation fails: as malformed, or as not authentic. */
	for (size_t cut = 0; cut < len; cut++) {
		int rc;

		memcpy(copy, text, cut);
		copy[cut] = '\0';
		rc = kw_unseal(&m, "acme", "alice", copy, back, sizeof(back),
			       &n);
		assert_true(rc == EINVAL || rc == EACCES);
		if (cut < 4 + KW_BASE64_LEN(12 + 1 + 16) || cut % 4 != 0)
			assert_int_equal(rc, EINVAL);
	}

	/* The prefix exactly, and nothing else around the text. */
	snprintf(copy, sizeof(copy), "KW1:%s", text + 4);
	assert_int_equal(
		kw_unseal(&m, "acme", "alice", copy, back, sizeof(back), &n),
		EINVAL);
	snprintf(copy, sizeof(copy), "kw2:%s", text + 4);
	assert_int_equal(
		kw_unseal(&m, "acme", "alice", copy, back, sizeof(back), &n),
		EINVAL);
	snprintf(copy, sizeof(copy), " %s", text);
	assert_int_equal(
		kw_unseal(&m, "acme", "alice", copy, back, sizeof(back), &n),
		EINVAL);
	snprintf(copy, sizeof(copy), "%s\n", text);
	assert_int_equal(
		kw_unseal(&m, "acme", "alice", copy, back, sizeof(back), &n),
		EINVAL);
	snprintf(copy, sizeof(copy), "%sAAAA", text);
	assert_int_equal(
		kw_unseal(&m, "acme", "alice", copy, back, sizeof(back), &n),
		EACCES);

	/* Well-formed base64 of lengths kw_seal() never makes. */
	memset(raw, 0x5a, sizeof(raw));
	memcpy(copy, "kw1:", 4);
	assert_int_equal(
		kw_base64_encode(raw, 12 + 16, copy + 4, sizeof(copy) - 4), 0);
	assert_int_equal(
		kw_unseal(&m, "acme", "alice", copy, back, sizeof(back), &n),
		EINVAL);
	assert_int_equal(kw_base64_encode(raw, 12 + KW_SEAL_PLAIN_MAX + 16 + 1,
					  copy + 4, sizeof(copy) - 4),
			 0);
	assert_int_equal(
		kw_unseal(&m, "acme", "alice", copy, back, sizeof(back), &n),
		EINVAL);
	assert_int_equal(kw_base64_encode(raw, 12 + KW_SEAL_PLAIN_MAX + 16,
					  copy + 4, sizeof(copy) - 4),
			 0);
	assert_int_equal(
		kw_unseal(&m, "acme", "alice", copy, back, sizeof(back), &n),
		EACCES);

	assert_int_equal(
		kw_unseal(&m, "acme", "alice", "", back, sizeof(back), &n),
		EINVAL);
	assert_int_equal(
		kw_unseal(&m, "acme", "alice", "kw1:", back, sizeof(back), &n),
		EINVAL);
	assert_int_equal(
		kw_unseal(&m, "acme", "alice", NULL, back, sizeof(back), &n),
		EINVAL);
	assert_int_equal(
		kw_unseal(&m, "acme", "alice", text, back, sizeof(back), NULL),
		EINVAL);
	kw_master_key_wipe(&m);
}

static void test_seal_bad_arguments(void **state)
{
	struct kw_master_key m, none;
	unsigned char back[KW_SEAL_PLAIN_MAX];
	unsigned char big[KW_SEAL_PLAIN_MAX + 1] = {0};
	char text[KW_SEAL_TEXT_MAX + 1], name[KW_SEAL_NAME_MAX + 2];
	size_t n;

	master_fill(&m, 1);
	memset(&none, 0, sizeof(none));
	memset(name, 'a', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';

	assert_int_equal(kw_seal(&none, "acme", "alice", seed_sha1, 20, text,
				 sizeof(text)),
			 EINVAL);
	assert_int_equal(kw_seal(NULL, "acme", "alice", seed_sha1, 20, text,
				 sizeof(text)),
			 EINVAL);
	assert_int_equal(
		kw_seal(&m, "", "alice", seed_sha1, 20, text, sizeof(text)),
		EINVAL);
	assert_int_equal(
		kw_seal(&m, "acme", NULL, seed_sha1, 20, text, sizeof(text)),
		EINVAL);
	assert_int_equal(
		kw_seal(&m, "acme", name, seed_sha1, 20, text, sizeof(text)),
		EINVAL);
	assert_int_equal(kw_seal(&m, "acme", name + 1, seed_sha1, 20, text,
				 sizeof(text)),
			 0);
	assert_int_equal(
		kw_unseal(&m, "acme", name + 1, text, back, sizeof(back), &n),
		0);
	assert_int_equal(
		kw_seal(&m, "acme", "alice", seed_sha1, 0, text, sizeof(text)),
		EINVAL);
	assert_int_equal(kw_seal(&m, "acme", "alice", big, sizeof(big), text,
				 sizeof(text)),
			 EINVAL);
	assert_int_equal(
		kw_seal(&m, "acme", "alice", NULL, 20, text, sizeof(text)),
		EINVAL);
	/* "kw1:" + 64 base64 characters for 20 bytes, and the NUL. */
	assert_int_equal(kw_seal(&m, "acme", "alice", seed_sha1, 20, text, 68),
			 ENOBUFS);
	assert_int_equal(text[0], '\0');
	assert_int_equal(kw_seal(&m, "acme", "alice", seed_sha1, 20, text, 69),
			 0);
	assert_int_equal(
		kw_unseal(&none, "acme", "alice", text, back, sizeof(back), &n),
		EINVAL);
	assert_int_equal(
		kw_unseal(&m, "acme", "", text, back, sizeof(back), &n),
		EINVAL);
	kw_wipe(back, sizeof(back));
	kw_master_key_wipe(&m);
}

/* ---- derived keys and the master key file --------------------------- */

/*
 * HKDF-SHA256 of the master key 00 01 .. 1f, no salt, info
 * "keyward/v1/totp-seal/acme", from the openssl CLI:
 *   openssl kdf -keylen 32 -kdfopt digest:SHA256 -kdfopt hexkey:0001..1f
 *     -kdfopt info:keyward/v1/totp-seal/acme HKDF
 */
static const char hkdf_acme_seal[] =
	"dedf53ff42b1bae7bd24565e3109ed301d12ab227b3a51fedabd2276efd7e5f2";

static void test_hkdf(void **state)
{
	struct kw_master_key m;
	unsigned char a[KW_KEY_BYTES], b[KW_KEY_BYTES], c[KW_KEY_BYTES];
	char hex[2 * KW_KEY_BYTES + 1];

	master_fill(&m, 0);
	assert_int_equal(kw_key_derive(&m, KW_KEY_TOTP_SEAL, "acme", a), 0);
	to_hex(a, sizeof(a), hex);
	assert_string_equal(hex, hkdf_acme_seal);

	assert_int_equal(kw_key_derive(&m, KW_KEY_TOTP_SEAL, "acme", b), 0);
	assert_memory_equal(a, b, sizeof(a));
	assert_int_equal(kw_key_derive(&m, KW_KEY_TOTP_SEAL, "globex", b), 0);
	assert_memory_not_equal(a, b, sizeof(a));
	assert_int_equal(kw_key_derive(&m, KW_KEY_AUDIT_CHAIN, "acme", c), 0);
	assert_memory_not_equal(a, c, sizeof(a));
	assert_memory_not_equal(b, c, sizeof(b));
	m.bytes[31] ^= 1;
	assert_int_equal(kw_key_derive(&m, KW_KEY_TOTP_SEAL, "acme", c), 0);
	assert_memory_not_equal(a, c, sizeof(a));

	assert_int_equal(kw_key_derive(&m, KW_KEY_TOTP_SEAL, "", c), EINVAL);
	assert_int_equal(kw_key_derive(&m, "totp/seal", "acme", c), EINVAL);
	m.loaded = false;
	assert_int_equal(kw_key_derive(&m, KW_KEY_TOTP_SEAL, "acme", c),
			 EINVAL);
	kw_wipe(a, sizeof(a));
	kw_wipe(b, sizeof(b));
	kw_wipe(c, sizeof(c));
	kw_master_key_wipe(&m);
}

/* The same value again, from the openssl CLI at test time. */
static void test_hkdf_openssl(void **state)
{
	char cmd[512], line[256], hex[2 * KW_KEY_BYTES + 1];
	size_t n = 0;

	if (!tool_present(KW_TEST_OPENSSL))
		skip();
	snprintf(cmd, sizeof(cmd),
		 "'%s' kdf -keylen 32 -kdfopt digest:SHA256 -kdfopt "
		 "hexkey:000102030405060708090a0b0c0d0e0f"
		 "101112131415161718191a1b1c1d1e1f "
		 "-kdfopt info:keyward/v1/totp-seal/acme HKDF",
		 KW_TEST_OPENSSL);
	assert_int_equal(run_line(cmd, line, sizeof(line)), 0);
	/* "DE:DF:53:..." */
	for (size_t i = 0; line[i] != '\0' && n < sizeof(hex) - 1; i++) {
		if (line[i] == ':')
			continue;
		hex[n++] = (char)(line[i] >= 'A' && line[i] <= 'F'
					  ? line[i] - 'A' + 'a'
					  : line[i]);
	}
	hex[n] = '\0';
	assert_string_equal(hex, hkdf_acme_seal);
}

struct key_dir {
	char path[PATH_MAX];
	char file[PATH_MAX + 16];
};

static int key_dir_setup(void **state)
{
	struct key_dir *kd = calloc(1, sizeof(*kd));
	const char *tmp = getenv("TMPDIR");

	if (kd == NULL)
		return -1;
	/* mkdtemp's template: a prefix and six placeholder letters. */
	snprintf(kd->path, sizeof(kd->path) - 6, "%s/kwmfa.",
		 tmp != NULL && tmp[0] == '/' ? tmp : "/tmp");
	memset(kd->path + strlen(kd->path), 'X', 6);
	if (mkdtemp(kd->path) == NULL) {
		free(kd);
		return -1;
	}
	snprintf(kd->file, sizeof(kd->file), "%s/master.key", kd->path);
	*state = kd;
	return 0;
}

static int key_dir_teardown(void **state)
{
	struct key_dir *kd = *state;

	unlink(kd->file);
	rmdir(kd->path);
	free(kd);
	return 0;
}

static void write_key_file(const struct key_dir *kd, const char *text,
			   mode_t mode)
{
	int fd;

	unlink(kd->file);
	fd = open(kd->file, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(fchmod(fd, mode), 0);
	assert_int_equal(close(fd), 0);
}

static const char key_hex[] =
	"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

/* Permission bits are checked before the owner: this runs as anyone. */
static void test_master_key_mode(void **state)
{
	struct key_dir *kd = *state;
	struct kw_master_key m;
	char err[256];

	write_key_file(kd, key_hex, 0644);
	memset(&m, 0xa5, sizeof(m));
	assert_int_equal(kw_master_key_load(kd->file, &m, err, sizeof(err)),
			 EPERM);
	assert_false(m.loaded);
	assert_true(all_zero(&m, sizeof(m)));
	assert_non_null(strstr(err, "0644"));
	write_key_file(kd, key_hex, 0640);
	assert_int_equal(kw_master_key_load(kd->file, &m, err, sizeof(err)),
			 EPERM);
}

/* A good file must be root's, so these need root (CI runs as root). */
static void test_master_key_load(void **state)
{
	struct key_dir *kd = *state;
	struct kw_master_key m;
	unsigned char want[KW_KEY_BYTES];
	char err[256], text[80];

	if (geteuid() != 0)
		skip();
	for (size_t i = 0; i < KW_KEY_BYTES; i++)
		want[i] = (unsigned char)i;

	snprintf(text, sizeof(text), "%s\n", key_hex);
	write_key_file(kd, text, 0600);
	assert_int_equal(kw_master_key_load(kd->file, &m, err, sizeof(err)), 0);
	assert_true(m.loaded);
	assert_memory_equal(m.bytes, want, KW_KEY_BYTES);
	kw_master_key_wipe(&m);
	assert_false(m.loaded);

	/* Upper-case digits and no newline are fine; 0400 too. */
	write_key_file(kd,
		       "000102030405060708090A0B0C0D0E0F"
		       "101112131415161718191A1B1C1D1E1F",
		       0400);
	assert_int_equal(kw_master_key_load(kd->file, &m, err, sizeof(err)), 0);
	assert_memory_equal(m.bytes, want, KW_KEY_BYTES);
	kw_master_key_wipe(&m);
}

static void test_master_key_owner(void **state)
{
	struct key_dir *kd = *state;
	struct kw_master_key m;
	char err[256];

	if (geteuid() != 0)
		skip();
	write_key_file(kd, key_hex, 0600);
	assert_int_equal(chown(kd->file, 65534, 65534), 0);
	assert_int_equal(kw_master_key_load(kd->file, &m, err, sizeof(err)),
			 EPERM);
	assert_false(m.loaded);
	assert_non_null(strstr(err, "root"));
}

static void test_master_key_content(void **state)
{
	static const char *const bad[] = {
		/* 63 digits */
		"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e"
		"1",
		/* 66 digits */
		"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e"
		"1f"
		"20",
		/* a non-hex digit */
		"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e"
		"1g",
		/* a space inside */
		"000102030405060708090a0b0c0d0e0f "
		"01112131415161718191a1b1c1d1e1f",
		/* a second newline */
		"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e"
		"1f"
		"\n\n",
		"\n",
	};
	struct key_dir *kd = *state;
	struct kw_master_key m;
	char err[256];

	if (geteuid() != 0)
		skip();
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		write_key_file(kd, bad[i], 0600);
		memset(&m, 0xa5, sizeof(m));
		assert_int_equal(
			kw_master_key_load(kd->file, &m, err, sizeof(err)),
			EINVAL);
		assert_true(all_zero(&m, sizeof(m)));
	}
}

/* ---- recovery codes ------------------------------------------------- */

static bool code_well_formed(const char *code)
{
	static const char alphabet[] = "abcdefghjkmnpqrstuvwxyz23456789";

	if (strlen(code) != KW_RECOVERY_CODE_LEN)
		return false;
	for (size_t i = 0; i < KW_RECOVERY_CODE_LEN; i++) {
		if (i == 5 || i == 11) {
			if (code[i] != '-')
				return false;
		} else if (strchr(alphabet, code[i]) == NULL) {
			return false;
		}
	}
	return true;
}

static void test_recovery_new(void **state)
{
	char codes[KW_RECOVERY_CODES][KW_RECOVERY_CODE_LEN + 1];
	char one[1][KW_RECOVERY_CODE_LEN + 1];

	assert_int_equal(kw_recovery_new(codes, KW_RECOVERY_CODES), 0);
	for (size_t i = 0; i < KW_RECOVERY_CODES; i++) {
		assert_true(code_well_formed(codes[i]));
		assert_true(kw_recovery_looks_like(codes[i]));
		for (size_t j = 0; j < i; j++)
			assert_string_not_equal(codes[i], codes[j]);
	}
	assert_int_equal(kw_recovery_new(one, 1), 0);
	assert_true(code_well_formed(one[0]));
	assert_int_equal(kw_recovery_new(codes, 0), EINVAL);
	assert_int_equal(kw_recovery_new(NULL, 1), EINVAL);
	assert_int_equal(kw_recovery_new(codes, KW_RECOVERY_CODES_MAX + 1),
			 EINVAL);
	kw_wipe(codes, sizeof(codes));
	kw_wipe(one, sizeof(one));
}

static void upper(char *s)
{
	for (; *s != '\0'; s++) {
		if (*s >= 'a' && *s <= 'z')
			*s = (char)(*s - 'a' + 'A');
	}
}

static void test_recovery_hash_match(void **state)
{
	char codes[2][KW_RECOVERY_CODE_LEN + 1];
	char h1[KW_RECOVERY_HASH_MAX + 1], h2[KW_RECOVERY_HASH_MAX + 1];
	char typed[64];

	assert_int_equal(kw_recovery_new(codes, 2), 0);
	assert_int_equal(kw_recovery_hash(codes[0], h1, sizeof(h1)), 0);
	assert_int_equal(strlen(h1), KW_RECOVERY_HASH_MAX);
	assert_memory_equal(h1, "kr1$", 4);
	assert_int_equal(h1[4 + 24], '$');
	assert_true(kw_recovery_match(codes[0], h1));
	assert_false(kw_recovery_match(codes[1], h1));

	/* Salted: the same code hashes differently, and both match. */
	assert_int_equal(kw_recovery_hash(codes[0], h2, sizeof(h2)), 0);
	assert_string_not_equal(h1, h2);
	assert_true(kw_recovery_match(codes[0], h2));

	/* Case, dashes and spaces do not matter. */
	snprintf(typed, sizeof(typed), "%.5s%.5s%.5s", codes[0], codes[0] + 6,
		 codes[0] + 12);
	assert_true(kw_recovery_match(typed, h1));
	upper(typed);
	assert_true(kw_recovery_match(typed, h1));
	snprintf(typed, sizeof(typed), " %.5s %.5s - %.5s ", codes[0],
		 codes[0] + 6, codes[0] + 12);
	assert_true(kw_recovery_match(typed, h1));
	/* A hash made from the typed form matches the printed form. */
	assert_int_equal(kw_recovery_hash(typed, h2, sizeof(h2)), 0);
	assert_true(kw_recovery_match(codes[0], h2));

	/* One character changed. */
	strcpy(typed, codes[0]);
	typed[0] = typed[0] == 'a' ? 'b' : 'a';
	assert_false(kw_recovery_match(typed, h1));

	assert_int_equal(kw_recovery_hash(codes[0], h2, KW_RECOVERY_HASH_MAX),
			 ENOBUFS);
	assert_int_equal(kw_recovery_hash(codes[0], NULL, 80), EINVAL);
	kw_wipe(codes, sizeof(codes));
	kw_wipe(typed, sizeof(typed));
}

static void test_recovery_malformed_code(void **state)
{
	static const char *const bad[] = {
		"",
		"abcde-fghjk-mnpq",         /* 14 */
		"abcde-fghjk-mnpqrs",       /* 16 */
		"abcde-fghjk-mnpq0",        /* zero */
		"abcde-fghjk-mnpqo",        /* o */
		"abcde-fghjk-mnpq1",        /* one */
		"abcde-fghjk-mnpql",        /* l */
		"abcde-fghjk-mnpqi",        /* i */
		"abcde_fghjk_mnpqr",        /* other separator */
		"abcde-fghjk-mnpq\xc3\xa9", /* non-ASCII */
		"abcde\tfghjk-mnpqr",
		"287082",
		"94287082",
		"- - - - - - - - - - - - - - - - - - abcdefghjkmnpqr",
	};
	char h[KW_RECOVERY_HASH_MAX + 1];

	assert_int_equal(kw_recovery_hash("abcde-fghjk-mnpqr", h, sizeof(h)),
			 0);
	assert_true(kw_recovery_looks_like("ABCDE FGHJK MNPQR"));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(kw_recovery_hash(bad[i], h, sizeof(h)),
				 EINVAL);
		assert_false(kw_recovery_looks_like(bad[i]));
		assert_false(kw_recovery_match(bad[i], h));
	}
	assert_int_equal(kw_recovery_hash(NULL, h, sizeof(h)), EINVAL);
	assert_false(kw_recovery_looks_like(NULL));
	assert_false(kw_recovery_match(NULL, h));
}

static void test_recovery_malformed_stored(void **state)
{
	static const char code[] = "abcde-fghjk-mnpqr";
	char h[KW_RECOVERY_HASH_MAX + 1], copy[KW_RECOVERY_HASH_MAX + 8];
	size_t len;

	assert_int_equal(kw_recovery_hash(code, h, sizeof(h)), 0);
	len = strlen(h);
	assert_true(kw_recovery_match(code, h));

	assert_false(kw_recovery_match(code, NULL));
	assert_false(kw_recovery_match(code, ""));
	for (size_t cut = 0; cut < len; cut++) {
		memcpy(copy, h, cut);
		copy[cut] = '\0';
		assert_false(kw_recovery_match(code, copy));
	}
	for (size_t i = 0; i < len; i++) {
		for (int v = 1; v < 256; v++) {
			memcpy(copy, h, sizeof(h));
			copy[i] = (char)(copy[i] ^ v);
			assert_false(kw_recovery_match(code, copy));
		}
	}
	snprintf(copy, sizeof(copy), "%s=", h);
	assert_false(kw_recovery_match(code, copy));
	snprintf(copy, sizeof(copy), "kr2%s", h + 3);
	assert_false(kw_recovery_match(code, copy));
}

/* ---- QR codes ------------------------------------------------------- */

#define UPPER_HALF "\xe2\x96\x80"
#define LOWER_HALF "\xe2\x96\x84"
#define FULL_BLOCK "\xe2\x96\x88"

/* Decode one glyph at *P into its upper and lower light halves. */
static bool next_glyph(const char **p, bool *upper_light, bool *lower_light)
{
	if (**p == ' ') {
		*upper_light = *lower_light = false;
		*p += 1;
		return true;
	}
	if (strncmp(*p, FULL_BLOCK, 3) == 0) {
		*upper_light = true;
		*lower_light = true;
	} else if (strncmp(*p, UPPER_HALF, 3) == 0) {
		*upper_light = true;
		*lower_light = false;
	} else if (strncmp(*p, LOWER_HALF, 3) == 0) {
		*upper_light = false;
		*lower_light = true;
	} else {
		return false;
	}
	*p += 3;
	return true;
}

/*
 * Read the picture back into modules and compare them with libqrencode's
 * own matrix for the same text: the structure (lines, glyphs, quiet
 * zone) and the orientation and polarity of every module.
 */
static void check_qr(const char *text)
{
	QRcode *qr = QRcode_encodeString8bit(text, 0, QR_ECLEVEL_M);
	const char *p;
	char *pic = NULL;
	size_t size, side, lines = 0;

	assert_non_null(qr);
	size = (size_t)qr->width;
	side = size + 4;
	assert_int_equal(kw_qr_render(text, &pic), 0);
	assert_non_null(pic);
	assert_true(pic[0] != '\0');

	p = pic;
	while (*p != '\0') {
		size_t row = 2 * lines;

		for (size_t col = 0; col < side; col++) {
			bool light[2];

			assert_true(next_glyph(&p, &light[0], &light[1]));
			for (size_t half = 0; half < 2; half++) {
				size_t r = row + half;
				bool want;

				if (r >= side)
					want = false; /* below the picture */
				else if (r < 2 || col < 2 || r >= size + 2 ||
					 col >= size + 2)
					want = true; /* quiet zone */
				else
					want = (qr->data[(r - 2) * size +
							 (col - 2)] &
						1) == 0;
				assert_int_equal(light[half], want);
			}
		}
		assert_int_equal(*p, '\n');
		p++;
		lines++;
	}
	assert_int_equal(lines, (size + 4 + 1) / 2);
	QRcode_free(qr);
	kw_wipe_free_str(pic);
}

static void test_qr_render(void **state)
{
	struct kw_totp_params params;
	char uri[512];
	char *pic = (char *)1;

	check_qr("x");
	check_qr("https://example.org/");
	kw_totp_params_default(&params);
	assert_int_equal(kw_otpauth_uri("Keyward: Acme", "alice@acme",
					seed_sha1, 20, &params, uri,
					sizeof(uri)),
			 0);
	check_qr(uri);

	assert_int_equal(kw_qr_render("", &pic), EINVAL);
	assert_null(pic);
	assert_int_equal(kw_qr_render(NULL, &pic), EINVAL);
	assert_int_equal(kw_qr_render("x", NULL), EINVAL);
}

static void test_qr_too_long(void **state)
{
	/* Past the 2331 bytes of version 40 at level M. */
	char *text = malloc(4000);
	char *pic = (char *)1;

	assert_non_null(text);
	memset(text, 'a', 3999);
	text[3999] = '\0';
	assert_int_equal(kw_qr_render(text, &pic), EINVAL);
	assert_null(pic);
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		/* First, so that its threads make liboath's first call. */
		cmocka_unit_test(test_totp_threads),
		cmocka_unit_test(test_totp_defaults),
		cmocka_unit_test(test_totp_rfc6238),
		cmocka_unit_test(test_totp_window),
		cmocka_unit_test(test_totp_window_zero_and_wider),
		cmocka_unit_test(test_totp_before_first_step),
		cmocka_unit_test(test_totp_replay),
		cmocka_unit_test(test_totp_length),
		cmocka_unit_test(test_totp_malformed),
		cmocka_unit_test(test_totp_bad_arguments),
		cmocka_unit_test(test_totp_oathtool),
		cmocka_unit_test(test_totp_oathtool_length),
		cmocka_unit_test(test_totp_new_secret),
		cmocka_unit_test(test_base32),
		cmocka_unit_test(test_otpauth_uri),
		cmocka_unit_test(test_base64),
		cmocka_unit_test(test_seal_roundtrip),
		cmocka_unit_test(test_seal_fresh_nonce),
		cmocka_unit_test(test_seal_binding),
		cmocka_unit_test(test_seal_every_flip),
		cmocka_unit_test(test_seal_malformed),
		cmocka_unit_test(test_seal_bad_arguments),
		cmocka_unit_test(test_hkdf),
		cmocka_unit_test(test_hkdf_openssl),
		cmocka_unit_test_setup_teardown(
			test_master_key_mode, key_dir_setup, key_dir_teardown),
		cmocka_unit_test_setup_teardown(
			test_master_key_load, key_dir_setup, key_dir_teardown),
		cmocka_unit_test_setup_teardown(
			test_master_key_owner, key_dir_setup, key_dir_teardown),
		cmocka_unit_test_setup_teardown(test_master_key_content,
						key_dir_setup,
						key_dir_teardown),
		cmocka_unit_test(test_recovery_new),
		cmocka_unit_test(test_recovery_hash_match),
		cmocka_unit_test(test_recovery_malformed_code),
		cmocka_unit_test(test_recovery_malformed_stored),
		cmocka_unit_test(test_qr_render),
		cmocka_unit_test(test_qr_too_long),
	};

	return cmocka_run_group_tests_name("mfa", tests, NULL, NULL);
}
