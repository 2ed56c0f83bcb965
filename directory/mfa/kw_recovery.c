/*
 * kw_recovery.c - one-time recovery codes: making them, hashing them for
 * the directory, and matching a typed code against a stored hash.
 *
 * The directory keeps only "kr1$salt$mac" values; a used code is spent by
 * deleting its value (delete-of-a-value fails for the second of two
 * concurrent logins), which is the caller's part.
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include <openssl/evp.h>

#include "kw_mfa.h"
#include "kw_secret.h"

/*
 * Lower case a-z and 2-9 without i, l and o: with case folded, nothing
 * left can be mistaken for 0/O or 1/l/I.  31 symbols.
 */
static const char recovery_alphabet[] = "abcdefghjkmnpqrstuvwxyz23456789";
#define ALPHABET_SIZE (sizeof(recovery_alphabet) - 1)

#define GROUP_CHARS 5
#define HASH_PREFIX "kr1$"
#define HASH_PREFIX_LEN (sizeof(HASH_PREFIX) - 1)
#define SALT_BYTES 16
#define MAC_BYTES 32
#define SALT_TEXT_LEN KW_BASE64_LEN(SALT_BYTES)
#define MAC_TEXT_LEN KW_BASE64_LEN(MAC_BYTES)
/* More typed characters than a code with a separator after each one. */
#define TYPED_MAX (2 * KW_RECOVERY_CODE_LEN)

_Static_assert(ALPHABET_SIZE == 31, "the recovery alphabet has 31 symbols");
_Static_assert(KW_RECOVERY_CODE_CHARS % GROUP_CHARS == 0,
	       "a code is whole groups");
_Static_assert(KW_RECOVERY_CODE_LEN ==
		       KW_RECOVERY_CODE_CHARS +
			       KW_RECOVERY_CODE_CHARS / GROUP_CHARS - 1,
	       "KW_RECOVERY_CODE_LEN counts the dashes between groups");
_Static_assert(KW_RECOVERY_HASH_MAX ==
		       HASH_PREFIX_LEN + SALT_TEXT_LEN + 1 + MAC_TEXT_LEN,
	       "KW_RECOVERY_HASH_MAX is the length of a stored hash");

static bool in_alphabet(char c)
{
	return c != '\0' && memchr(recovery_alphabet, c, ALPHABET_SIZE) != NULL;
}

/*
 * The typed TEXT without '-' and ' ', in lower case, into NORM; EINVAL
 * unless that is exactly KW_RECOVERY_CODE_CHARS alphabet characters.
 */
static int normalize(const char *text, char norm[KW_RECOVERY_CODE_CHARS + 1])
{
	size_t i, n = 0;
	int rc = EINVAL;

	if (text == NULL)
		goto done;
	for (i = 0; text[i] != '\0'; i++) {
		char c = text[i];

		if (i >= TYPED_MAX)
			goto done;
		if (c == '-' || c == ' ')
			continue;
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (n == KW_RECOVERY_CODE_CHARS || !in_alphabet(c))
			goto done;
		norm[n++] = c;
	}
	if (n == KW_RECOVERY_CODE_CHARS)
		rc = 0;
	norm[n] = '\0';
done:
	if (rc != 0)
		kw_wipe(norm, KW_RECOVERY_CODE_CHARS + 1);
	return rc;
}

/*
 * One code into CODE.  A random byte's low five bits are used unless
 * they are 31, so that each of the 31 symbols is equally likely.
 */
static int make_code(char code[KW_RECOVERY_CODE_LEN + 1])
{
	unsigned char pool[32];
	size_t used = sizeof(pool), n = 0, out = 0;
	int rc = 0;

	while (n < KW_RECOVERY_CODE_CHARS) {
		unsigned int v;

		if (used == sizeof(pool)) {
			rc = kw_random_bytes(pool, sizeof(pool));
			if (rc != 0)
				goto done;
			used = 0;
		}
		v = pool[used++] & 0x1f;
		if (v >= ALPHABET_SIZE)
			continue;
		if (n > 0 && n % GROUP_CHARS == 0)
			code[out++] = '-';
		code[out++] = recovery_alphabet[v];
		n++;
	}
	code[out] = '\0';
done:
	kw_wipe(pool, sizeof(pool));
	return rc;
}

static bool seen_before(char codes[][KW_RECOVERY_CODE_LEN + 1], size_t i)
{
	size_t j;

	for (j = 0; j < i; j++) {
		if (strcmp(codes[i], codes[j]) == 0)
			return true;
	}
	return false;
}

int kw_recovery_new(char codes[][KW_RECOVERY_CODE_LEN + 1], size_t n)
{
	size_t i = 0;
	int rc = 0;

	if (codes == NULL || n == 0 || n > KW_RECOVERY_CODES_MAX)
		return EINVAL;
	/* A repeat is a 2^-74 event, but a set must hold N codes. */
	while (i < n) {
		rc = make_code(codes[i]);
		if (rc != 0)
			goto done;
		if (!seen_before(codes, i))
			i++;
	}
done:
	if (rc != 0)
		kw_wipe(codes, n * sizeof(codes[0]));
	return rc;
}

static int mac_code(const unsigned char salt[SALT_BYTES], const char *norm,
		    unsigned char mac[MAC_BYTES])
{
	size_t maclen = 0;

	if (EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, salt, SALT_BYTES,
		      (const unsigned char *)norm, KW_RECOVERY_CODE_CHARS, mac,
		      MAC_BYTES, &maclen) == NULL ||
	    maclen != MAC_BYTES) {
		kw_wipe(mac, MAC_BYTES);
		return EIO;
	}
	return 0;
}

int kw_recovery_hash(const char *code, char *out, size_t outsz)
{
	char norm[KW_RECOVERY_CODE_CHARS + 1];
	unsigned char salt[SALT_BYTES], mac[MAC_BYTES];
	size_t n;
	int rc;

	if (out == NULL)
		return EINVAL;
	if (outsz > 0)
		out[0] = '\0';
	rc = normalize(code, norm);
	if (rc != 0)
		goto done;
	if (outsz < KW_RECOVERY_HASH_MAX + 1) {
		rc = ENOBUFS;
		goto done;
	}
	rc = kw_random_bytes(salt, sizeof(salt));
	if (rc != 0)
		goto done;
	rc = mac_code(salt, norm, mac);
	if (rc != 0)
		goto done;
	memcpy(out, HASH_PREFIX, HASH_PREFIX_LEN);
	n = HASH_PREFIX_LEN;
	rc = kw_base64_encode(salt, sizeof(salt), out + n, outsz - n);
	if (rc != 0)
		goto done;
	n += SALT_TEXT_LEN;
	out[n++] = '$';
	rc = kw_base64_encode(mac, sizeof(mac), out + n, outsz - n);
done:
	kw_wipe(norm, sizeof(norm));
	kw_wipe(mac, sizeof(mac));
	if (rc != 0 && outsz > 0)
		kw_wipe(out, outsz);
	return rc;
}

/* Split a stored "kr1$salt$mac" into its bytes; false if malformed. */
static bool parse_stored(const char *stored, unsigned char salt[SALT_BYTES],
			 unsigned char mac[MAC_BYTES])
{
	const char *p;
	size_t n;

	if (stored == NULL ||
	    strnlen(stored, KW_RECOVERY_HASH_MAX + 1) != KW_RECOVERY_HASH_MAX ||
	    memcmp(stored, HASH_PREFIX, HASH_PREFIX_LEN) != 0)
		return false;
	p = stored + HASH_PREFIX_LEN;
	if (kw_base64_decode(p, SALT_TEXT_LEN, salt, SALT_BYTES, &n) != 0 ||
	    n != SALT_BYTES || p[SALT_TEXT_LEN] != '$')
		return false;
	p += SALT_TEXT_LEN + 1;
	return kw_base64_decode(p, MAC_TEXT_LEN, mac, MAC_BYTES, &n) == 0 &&
	       n == MAC_BYTES;
}

bool kw_recovery_match(const char *code, const char *stored)
{
	char norm[KW_RECOVERY_CODE_CHARS + 1];
	unsigned char salt[SALT_BYTES], want[MAC_BYTES], got[MAC_BYTES];
	bool match = false;

	if (normalize(code, norm) != 0)
		goto done;
	if (!parse_stored(stored, salt, want))
		goto done;
	if (mac_code(salt, norm, got) != 0)
		goto done;
	match = kw_secret_equal(want, got, MAC_BYTES);
done:
	kw_wipe(norm, sizeof(norm));
	kw_wipe(got, sizeof(got));
	kw_wipe(want, sizeof(want));
	return match;
}

bool kw_recovery_looks_like(const char *text)
{
	char norm[KW_RECOVERY_CODE_CHARS + 1];
	bool looks = normalize(text, norm) == 0;

	kw_wipe(norm, sizeof(norm));
	return looks;
}
