/*
 * fuzz_unseal.c - fuzz target for the parsers of stored MFA values: the
 * sealed TOTP secret (kw_unseal) and the recovery code hash
 * (kw_recovery_match), both of which read what the directory returns.
 *
 * The input, up to its first NUL, is the stored text; the key, tenant and
 * user are fixed, so the seeds in tests/fuzz/corpus/unseal/ that were
 * sealed with them reach the decryption.  Properties checked (a broken
 * one aborts):
 *
 *  - kw_unseal returns 0, EINVAL or EACCES, and nothing else;
 *  - on failure the output buffer is all zeros and the length is 0;
 *  - on success the secret fits KW_SEAL_PLAIN_MAX, the text is at most
 *    KW_SEAL_TEXT_MAX bytes, and sealing the secret again opens to the
 *    same bytes;
 *  - the same text never opens for another user;
 *  - kw_recovery_match never matches a text that is not a stored hash of
 *    the fixed code's shape, and kw_recovery_looks_like does not crash;
 *  - kw_totp_verify, given the text as a code, refuses with EINVAL all
 *    but exactly six ASCII digits.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kw_keys.h"
#include "kw_mfa.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_TEXT_MAX 4096

/* The seeds' key: 00 01 .. 1f; tenant "acme", user "alice". */
#define FUZZ_TENANT "acme"
#define FUZZ_USER "alice"
#define FUZZ_CODE "abcde-fghjk-mnpqr"

static void check(int ok)
{
	if (!ok)
		abort();
}

static bool all_zero(const unsigned char *p, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (p[i] != 0)
			return false;
	}
	return true;
}

static void fuzz_code(const char *text)
{
	static const unsigned char secret[] = "12345678901234567890";
	struct kw_totp_params p;
	long long step = 0;
	bool six_digits = strlen(text) == 6;
	int rc;

	for (size_t i = 0; six_digits && i < 6; i++)
		six_digits = text[i] >= '0' && text[i] <= '9';
	kw_totp_params_default(&p);
	rc = kw_totp_verify(secret, 20, &p, text, 59, 0, &step);
	if (six_digits)
		check(rc == 0 || rc == EACCES || rc == EALREADY);
	else
		check(rc == EINVAL && step == -1);
}

static void fuzz_opened(const struct kw_master_key *m, const char *text,
			const unsigned char *plain, size_t len)
{
	char again[KW_SEAL_TEXT_MAX + 1];
	unsigned char back[KW_SEAL_PLAIN_MAX];
	size_t n = 0;

	check(len >= 1 && len <= KW_SEAL_PLAIN_MAX);
	check(strlen(text) <= KW_SEAL_TEXT_MAX);
	check(kw_unseal(m, FUZZ_TENANT, "mallory", text, back, sizeof(back),
			&n) == EACCES);
	check(kw_seal(m, FUZZ_TENANT, FUZZ_USER, plain, len, again,
		      sizeof(again)) == 0);
	check(kw_unseal(m, FUZZ_TENANT, FUZZ_USER, again, back, sizeof(back),
			&n) == 0);
	check(n == len && memcmp(back, plain, len) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kw_master_key m;
	unsigned char out[KW_SEAL_PLAIN_MAX];
	size_t len = size < FUZZ_TEXT_MAX ? size : FUZZ_TEXT_MAX, n = 99;
	char *text;
	int rc;

	for (size_t i = 0; i < KW_KEY_BYTES; i++)
		m.bytes[i] = (unsigned char)i;
	m.loaded = true;
	text = malloc(len + 1);
	if (text == NULL)
		abort();
	memcpy(text, data, len);
	text[len] = '\0';

	memset(out, 0xa5, sizeof(out));
	rc = kw_unseal(&m, FUZZ_TENANT, FUZZ_USER, text, out, sizeof(out), &n);
	check(rc == 0 || rc == EINVAL || rc == EACCES);
	if (rc == 0)
		fuzz_opened(&m, text, out, n);
	else
		check(n == 0 && all_zero(out, sizeof(out)));

	(void)kw_recovery_looks_like(text);
	fuzz_code(text);
	if (kw_recovery_match(FUZZ_CODE, text))
		check(strlen(text) == KW_RECOVERY_HASH_MAX &&
		      strncmp(text, "kr1$", 4) == 0);

	free(text);
	kw_master_key_wipe(&m);
	return 0;
}
