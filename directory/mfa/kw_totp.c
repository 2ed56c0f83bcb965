/*
 * kw_totp.c - TOTP codes (RFC 6238) through liboath, base32 and the
 * otpauth:// URI that authenticator apps read.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/types.h>

#include <liboath/oath.h>

#include "kw_config.h"
#include "kw_mfa.h"
#include "kw_secret.h"

/*
 * liboath must be initialised once per process before its first use, and
 * keywardd verifies codes from several threads.  The once-control and its
 * result are the only file-scope state of this library: pthread_once
 * cannot work without them.
 */
static pthread_once_t oath_once = PTHREAD_ONCE_INIT;
static int oath_init_rc = OATH_OK;

static void oath_init_once(void)
{
	oath_init_rc = oath_init();
}

void kw_totp_params_default(struct kw_totp_params *p)
{
	p->algo = KW_TOTP_SHA1;
	p->digits = 6;
	p->period_s = 30;
	p->window = 1;
}

static bool params_valid(const struct kw_totp_params *p)
{
	if (p == NULL)
		return false;
	if (p->algo != KW_TOTP_SHA1 && p->algo != KW_TOTP_SHA256 &&
	    p->algo != KW_TOTP_SHA512)
		return false;
	return p->digits >= KW_TOTP_DIGITS_MIN &&
	       p->digits <= KW_TOTP_DIGITS_MAX && p->period_s >= 1 &&
	       p->period_s <= KW_TOTP_PERIOD_MAX && p->window >= 0 &&
	       p->window <= KW_TOTP_WINDOW_MAX;
}

static bool secret_valid(const unsigned char *secret, size_t len)
{
	return secret != NULL && len >= KW_TOTP_SECRET_MIN &&
	       len <= KW_TOTP_SECRET_MAX;
}

int kw_random_bytes(void *out, size_t len)
{
	unsigned char *p = out;
	size_t got = 0;
	int rc = 0;

	if (out == NULL)
		return EINVAL;
	while (got < len) {
		ssize_t n = getrandom(p + got, len - got, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = n < 0 ? errno : EIO;
			goto done;
		}
		got += (size_t)n;
	}
done:
	if (rc != 0)
		kw_wipe(out, len);
	return rc;
}

int kw_totp_new_secret(unsigned char *out, size_t len)
{
	if (!secret_valid(out, len))
		return EINVAL;
	return kw_random_bytes(out, len);
}

/*
 * Exactly DIGITS ASCII digits, then the end.  liboath takes the number of
 * digits from the code it is given, so without this a 6-digit account
 * would also accept the 7- and 8-digit codes of the same secret.
 */
static bool code_valid(const char *code, int digits)
{
	int i;

	for (i = 0; i < digits; i++) {
		if (code[i] < '0' || code[i] > '9')
			return false;
	}
	return code[digits] == '\0';
}

struct code_compare {
	const char *code;
	size_t digits;
};

/*
 * liboath's own validate functions compare with strcmp(), whose time
 * tells how many leading digits were right; this one does not.  liboath
 * hands it a candidate of exactly the digits it was asked for.
 */
static int compare_code(void *handle, const char *candidate)
{
	const struct code_compare *cmp = handle;

	if (strlen(candidate) != cmp->digits)
		return 1;
	return kw_secret_equal(candidate, cmp->code, cmp->digits) ? 0 : 1;
}

static int oath_flags(enum kw_totp_algo algo)
{
	switch (algo) {
	case KW_TOTP_SHA256:
		return OATH_TOTP_HMAC_SHA256;
	case KW_TOTP_SHA512:
		return OATH_TOTP_HMAC_SHA512;
	case KW_TOTP_SHA1:
	default:
		return 0;
	}
}

int kw_totp_verify(const unsigned char *secret, size_t secret_len,
		   const struct kw_totp_params *p, const char *code, time_t now,
		   long long last_step, long long *step_out)
{
	struct code_compare cmp;
	uint64_t counter = 0;
	int pos = 0, orc, rc;

	if (step_out == NULL)
		return EINVAL;
	*step_out = -1;
	if (!params_valid(p) || code == NULL || !code_valid(code, p->digits))
		return EINVAL;
	if (!secret_valid(secret, secret_len) || now < 0)
		return EINVAL;
	if (pthread_once(&oath_once, oath_init_once) != 0 ||
	    oath_init_rc != OATH_OK)
		return EIO;

	cmp.code = code;
	cmp.digits = (size_t)p->digits;
	/*
	 * The callback variant takes the digits from us and lets
	 * compare_code() do the comparing; liboath searches the window
	 * outwards from NOW's step and reports the absolute step matched.
	 */
	orc = oath_totp_validate4_callback(
		(const char *)secret, secret_len, now, (unsigned)p->period_s, 0,
		(unsigned)p->digits, (size_t)p->window, &pos, &counter,
		oath_flags(p->algo), compare_code, &cmp);
	if (orc == OATH_INVALID_OTP) {
		rc = EACCES;
		goto done;
	}
	if (orc < 0) {
		rc = EIO;
		goto done;
	}
	/*
	 * At step 0 liboath also tries step -1, which wraps around to
	 * 2^64 - 1; no code of a real step can be that.
	 */
	if (counter > (uint64_t)LLONG_MAX) {
		rc = EACCES;
		goto done;
	}
	*step_out = (long long)counter;
	rc = (long long)counter <= last_step ? EALREADY : 0;
done:
	return rc;
}

int kw_base32_encode(const unsigned char *in, size_t len, char *out,
		     size_t outsz)
{
	static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
	unsigned int acc = 0;
	int bits = 0;
	size_t i, n = 0;

	if (out == NULL || (in == NULL && len > 0))
		return EINVAL;
	if (len > (SIZE_MAX - 4) / 8 || outsz < KW_BASE32_LEN(len) + 1) {
		if (outsz > 0)
			out[0] = '\0';
		return ENOBUFS;
	}
	for (i = 0; i < len; i++) {
		acc = (acc << 8 | in[i]) & 0xfff;
		bits += 8;
		while (bits >= 5) {
			bits -= 5;
			out[n++] = alphabet[(acc >> bits) & 0x1f];
		}
	}
	if (bits > 0)
		out[n++] = alphabet[(acc << (5 - bits)) & 0x1f];
	out[n] = '\0';
	kw_wipe(&acc, sizeof(acc));
	return 0;
}

/* A bounded string builder: one overflow flag instead of a check per call. */
struct text_buf {
	char *p;
	size_t len;
	size_t cap;
	bool overflow;
};

static void buf_append(struct text_buf *b, const char *s)
{
	size_t n = strlen(s);

	if (b->overflow || n >= b->cap - b->len) {
		b->overflow = true;
		return;
	}
	memcpy(b->p + b->len, s, n + 1);
	b->len += n;
}

/* RFC 3986 section 2.3: only these stand for themselves. */
static bool unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
	       c == '~';
}

static void buf_append_encoded(struct text_buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;
		char piece[4];

		if (unreserved(c)) {
			piece[0] = (char)c;
			piece[1] = '\0';
		} else {
			piece[0] = '%';
			piece[1] = hex[c >> 4];
			piece[2] = hex[c & 0x0f];
			piece[3] = '\0';
		}
		buf_append(b, piece);
	}
}

void kw_totp_params_of_config(const struct kw_config *cfg,
			      struct kw_totp_params *p)
{
	const char *algo = cfg->mfa_algorithm;

	kw_totp_params_default(p);
	if (algo != NULL && strcmp(algo, "sha256") == 0)
		p->algo = KW_TOTP_SHA256;
	else if (algo != NULL && strcmp(algo, "sha512") == 0)
		p->algo = KW_TOTP_SHA512;
	p->digits = cfg->mfa_digits;
	p->period_s = cfg->mfa_period_s;
	p->window = cfg->mfa_window;
}

const char *kw_totp_algo_name(enum kw_totp_algo algo)
{
	switch (algo) {
	case KW_TOTP_SHA256:
		return "SHA256";
	case KW_TOTP_SHA512:
		return "SHA512";
	case KW_TOTP_SHA1:
	default:
		return "SHA1";
	}
}

int kw_otpauth_uri(const char *issuer, const char *account,
		   const unsigned char *secret, size_t len,
		   const struct kw_totp_params *p, char *out, size_t outsz)
{
	char b32[KW_BASE32_LEN(KW_TOTP_SECRET_MAX) + 1];
	char tail[64];
	struct text_buf b = {.p = out, .len = 0, .cap = outsz};
	int rc;

	if (out == NULL || outsz == 0)
		return out == NULL ? EINVAL : ENOBUFS;
	out[0] = '\0';
	if (issuer == NULL || issuer[0] == '\0' || account == NULL ||
	    account[0] == '\0' || !secret_valid(secret, len) ||
	    !params_valid(p))
		return EINVAL;
	rc = kw_base32_encode(secret, len, b32, sizeof(b32));
	if (rc != 0)
		goto done;
	snprintf(tail, sizeof(tail), "&algorithm=%s&digits=%d&period=%d",
		 kw_totp_algo_name(p->algo), p->digits, p->period_s);

	buf_append(&b, "otpauth://totp/");
	buf_append_encoded(&b, issuer);
	buf_append(&b, ":");
	buf_append_encoded(&b, account);
	buf_append(&b, "?secret=");
	buf_append(&b, b32);
	buf_append(&b, "&issuer=");
	buf_append_encoded(&b, issuer);
	buf_append(&b, tail);
	rc = b.overflow ? ENOBUFS : 0;
done:
	kw_wipe(b32, sizeof(b32));
	if (rc != 0)
		kw_wipe(out, outsz);
	return rc;
}
