/*
 * kw_seal.c - TOTP secrets sealed at rest with AES-256-GCM, and the
 * strict base64 both the sealed texts and the recovery hashes use.
 *
 * A sealed text is "kw1:" + base64(nonce || ciphertext || tag).  The key
 * is the tenant's KW_KEY_TOTP_SEAL key, so a directory dump opens for no
 * one without the master key; the tenant and the user are bound in as
 * associated data, so a text copied to another entry does not open there.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include <openssl/evp.h>

#include "kw_keys.h"
#include "kw_mfa.h"
#include "kw_secret.h"

#define SEAL_PREFIX "kw1:"
#define SEAL_PREFIX_LEN (sizeof(SEAL_PREFIX) - 1)
/*
 * A random 96-bit nonce per seal: under one tenant key the chance of a
 * repeat stays negligible far beyond any number of TOTP enrolments
 * (NIST SP 800-38D allows 2^32 random nonces per key).
 */
#define SEAL_NONCE_BYTES 12
#define SEAL_TAG_BYTES 16
#define SEAL_RAW_MAX (SEAL_NONCE_BYTES + KW_SEAL_PLAIN_MAX + SEAL_TAG_BYTES)
#define SEAL_RAW_MIN (SEAL_NONCE_BYTES + 1 + SEAL_TAG_BYTES)

/*
 * The associated data: a label naming the format and its version, then
 * each name preceded by its length, so that no two (tenant, user) pairs
 * encode alike ("ab","c" against "a","bc").
 */
#define SEAL_AAD_LABEL "keyward/totp-seal/v1"
#define SEAL_AAD_MAX (sizeof(SEAL_AAD_LABEL) - 1 + 2 + 2 * KW_SEAL_NAME_MAX)

_Static_assert(KW_SEAL_TEXT_MAX ==
		       SEAL_PREFIX_LEN + KW_BASE64_LEN(SEAL_RAW_MAX),
	       "KW_SEAL_TEXT_MAX must fit the longest sealed secret");

static const char b64_alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int kw_base64_encode(const unsigned char *in, size_t len, char *out,
		     size_t outsz)
{
	size_t i, n = 0;

	if (out == NULL || (in == NULL && len > 0))
		return EINVAL;
	if (len > SIZE_MAX / 2 || outsz < KW_BASE64_LEN(len) + 1) {
		if (outsz > 0)
			out[0] = '\0';
		return ENOBUFS;
	}
	for (i = 0; i + 3 <= len; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 |
			     in[i + 2];

		out[n++] = b64_alphabet[v >> 18 & 0x3f];
		out[n++] = b64_alphabet[v >> 12 & 0x3f];
		out[n++] = b64_alphabet[v >> 6 & 0x3f];
		out[n++] = b64_alphabet[v & 0x3f];
	}
	if (len - i == 1) {
		uint32_t v = (uint32_t)in[i] << 16;

		out[n++] = b64_alphabet[v >> 18 & 0x3f];
		out[n++] = b64_alphabet[v >> 12 & 0x3f];
		out[n++] = '=';
		out[n++] = '=';
	} else if (len - i == 2) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;

		out[n++] = b64_alphabet[v >> 18 & 0x3f];
		out[n++] = b64_alphabet[v >> 12 & 0x3f];
		out[n++] = b64_alphabet[v >> 6 & 0x3f];
		out[n++] = '=';
	}
	out[n] = '\0';
	return 0;
}

static int b64_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

int kw_base64_decode(const char *in, size_t inlen, unsigned char *out,
		     size_t outsz, size_t *len_out)
{
	size_t i, n = 0, pad = 0, need;
	int rc = EINVAL;

	if (len_out != NULL)
		*len_out = 0;
	if (in == NULL || (out == NULL && outsz > 0) || len_out == NULL ||
	    inlen % 4 != 0)
		goto done;
	if (inlen > 0 && in[inlen - 1] == '=')
		pad = in[inlen - 2] == '=' ? 2 : 1;
	need = inlen / 4 * 3 - pad;
	if (need > outsz) {
		rc = ENOBUFS;
		goto done;
	}
	for (i = 0; i < inlen; i += 4) {
		bool last = i + 4 == inlen;
		int v0 = b64_value(in[i]), v1 = b64_value(in[i + 1]);
		int v2 = last && pad == 2 ? 0 : b64_value(in[i + 2]);
		int v3 = last && pad >= 1 ? 0 : b64_value(in[i + 3]);
		uint32_t v;

		if (v0 < 0 || v1 < 0 || v2 < 0 || v3 < 0)
			goto done;
		v = (uint32_t)v0 << 18 | (uint32_t)v1 << 12 |
		    (uint32_t)v2 << 6 | (uint32_t)v3;
		/* The bits under the padding must be zero: one text per value.
		 */
		if (last && ((pad == 2 && (v & 0xffff) != 0) ||
			     (pad == 1 && (v & 0xff) != 0)))
			goto done;
		out[n++] = (unsigned char)(v >> 16);
		if (!(last && pad == 2))
			out[n++] = (unsigned char)(v >> 8);
		if (!(last && pad >= 1))
			out[n++] = (unsigned char)v;
	}
	*len_out = n;
	rc = 0;
done:
	if (rc != 0)
		kw_wipe(out, outsz);
	return rc;
}

static bool name_valid(const char *name)
{
	return name != NULL && name[0] != '\0' &&
	       strnlen(name, KW_SEAL_NAME_MAX + 1) <= KW_SEAL_NAME_MAX;
}

static size_t build_aad(const char *tenant, const char *user,
			unsigned char aad[SEAL_AAD_MAX])
{
	size_t n = sizeof(SEAL_AAD_LABEL) - 1, len;

	memcpy(aad, SEAL_AAD_LABEL, n);
	len = strlen(tenant);
	aad[n++] = (unsigned char)len;
	memcpy(aad + n, tenant, len);
	n += len;
	len = strlen(user);
	aad[n++] = (unsigned char)len;
	memcpy(aad + n, user, len);
	return n + len;
}

static bool args_valid(const struct kw_master_key *master, const char *tenant,
		       const char *user)
{
	return master != NULL && master->loaded && name_valid(tenant) &&
	       name_valid(user);
}

/* RAW = nonce || ciphertext || tag, for LEN bytes of PLAIN. */
static int seal_raw(const unsigned char key[KW_KEY_BYTES],
		    const unsigned char *aad, size_t aadlen,
		    const unsigned char *plain, size_t len,
		    unsigned char raw[SEAL_RAW_MAX])
{
	unsigned char *nonce = raw, *ct = raw + SEAL_NONCE_BYTES;
	const EVP_CIPHER *aes = EVP_aes_256_gcm();
	EVP_CIPHER_CTX *ctx = NULL;
	int n, rc = EIO;

	if (kw_random_bytes(nonce, SEAL_NONCE_BYTES) != 0)
		goto done;
	ctx = EVP_CIPHER_CTX_new();
	if (ctx == NULL || EVP_EncryptInit_ex2(ctx, aes, key, nonce, NULL) != 1)
		goto done;
	if (EVP_EncryptUpdate(ctx, NULL, &n, aad, (int)aadlen) != 1)
		goto done;
	if (EVP_EncryptUpdate(ctx, ct, &n, plain, (int)len) != 1 ||
	    (size_t)n != len)
		goto done;
	if (EVP_EncryptFinal_ex(ctx, ct + len, &n) != 1 || n != 0)
		goto done;
	if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, SEAL_TAG_BYTES,
				ct + len) != 1)
		goto done;
	rc = 0;
done:
	EVP_CIPHER_CTX_free(ctx);
	return rc;
}

int kw_seal(const struct kw_master_key *master, const char *tenant,
	    const char *user, const unsigned char *plain, size_t len, char *out,
	    size_t outsz)
{
	unsigned char key[KW_KEY_BYTES];
	unsigned char aad[SEAL_AAD_MAX];
	unsigned char raw[SEAL_RAW_MAX];
	size_t aadlen, rawlen = SEAL_NONCE_BYTES + len + SEAL_TAG_BYTES;
	int rc;

	if (out == NULL)
		return EINVAL;
	if (outsz > 0)
		out[0] = '\0';
	if (!args_valid(master, tenant, user) || plain == NULL || len == 0 ||
	    len > KW_SEAL_PLAIN_MAX)
		return EINVAL;
	if (outsz < SEAL_PREFIX_LEN + KW_BASE64_LEN(rawlen) + 1)
		return ENOBUFS;
	aadlen = build_aad(tenant, user, aad);
	rc = kw_key_derive(master, KW_KEY_TOTP_SEAL, tenant, key);
	if (rc != 0)
		goto done;
	rc = seal_raw(key, aad, aadlen, plain, len, raw);
	if (rc != 0)
		goto done;
	memcpy(out, SEAL_PREFIX, SEAL_PREFIX_LEN);
	rc = kw_base64_encode(raw, rawlen, out + SEAL_PREFIX_LEN,
			      outsz - SEAL_PREFIX_LEN);
done:
	kw_wipe(key, sizeof(key));
	kw_wipe(raw, sizeof(raw));
	if (rc != 0 && outsz > 0)
		kw_wipe(out, outsz);
	return rc;
}

/*
 * Decrypt RAW into PLAIN (room for RAWLEN minus nonce and tag).  EACCES
 * when the tag does not verify, which is what any other key, tenant,
 * user or altered byte comes to.
 */
static int open_raw(const unsigned char key[KW_KEY_BYTES],
		    const unsigned char *aad, size_t aadlen,
		    const unsigned char *raw, size_t rawlen,
		    unsigned char *plain)
{
	const unsigned char *nonce = raw, *ct = raw + SEAL_NONCE_BYTES;
	size_t len = rawlen - SEAL_NONCE_BYTES - SEAL_TAG_BYTES;
	const EVP_CIPHER *aes = EVP_aes_256_gcm();
	EVP_CIPHER_CTX *ctx = NULL;
	int n, rc = EIO;

	ctx = EVP_CIPHER_CTX_new();
	if (ctx == NULL || EVP_DecryptInit_ex2(ctx, aes, key, nonce, NULL) != 1)
		goto done;
	if (EVP_DecryptUpdate(ctx, NULL, &n, aad, (int)aadlen) != 1)
		goto done;
	if (EVP_DecryptUpdate(ctx, plain, &n, ct, (int)len) != 1 ||
	    (size_t)n != len)
		goto done;
	if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, SEAL_TAG_BYTES,
				(void *)(ct + len)) != 1)
		goto done;
	rc = EVP_DecryptFinal_ex(ctx, plain + len, &n) == 1 ? 0 : EACCES;
done:
	EVP_CIPHER_CTX_free(ctx);
	return rc;
}

int kw_unseal(const struct kw_master_key *master, const char *tenant,
	      const char *user, const char *text, unsigned char *out,
	      size_t outsz, size_t *len_out)
{
	unsigned char key[KW_KEY_BYTES];
	unsigned char aad[SEAL_AAD_MAX];
	unsigned char raw[SEAL_RAW_MAX];
	unsigned char plain[KW_SEAL_PLAIN_MAX];
	size_t aadlen, textlen, rawlen = 0, len = 0;
	int rc = EINVAL;

	if (out == NULL && outsz > 0)
		return EINVAL;
	if (len_out == NULL)
		goto done;
	*len_out = 0;
	if (!args_valid(master, tenant, user) || text == NULL)
		goto done;
	textlen = strnlen(text, KW_SEAL_TEXT_MAX + 1);
	if (textlen > KW_SEAL_TEXT_MAX || textlen < SEAL_PREFIX_LEN ||
	    memcmp(text, SEAL_PREFIX, SEAL_PREFIX_LEN) != 0)
		goto done;
	/* Too long for a sealed secret comes back as ENOBUFS: malformed. */
	if (kw_base64_decode(text + SEAL_PREFIX_LEN, textlen - SEAL_PREFIX_LEN,
			     raw, sizeof(raw), &rawlen) != 0 ||
	    rawlen < SEAL_RAW_MIN)
		goto done;
	len = rawlen - SEAL_NONCE_BYTES - SEAL_TAG_BYTES;
	if (len > outsz) {
		rc = ENOBUFS;
		goto done;
	}
	aadlen = build_aad(tenant, user, aad);
	rc = kw_key_derive(master, KW_KEY_TOTP_SEAL, tenant, key);
	if (rc != 0)
		goto done;
	/* Into PLAIN first: OUT never holds bytes that did not verify. */
	rc = open_raw(key, aad, aadlen, raw, rawlen, plain);
	if (rc != 0)
		goto done;
	memcpy(out, plain, len);
	*len_out = len;
done:
	kw_wipe(key, sizeof(key));
	kw_wipe(plain, sizeof(plain));
	if (rc != 0)
		kw_wipe(out, outsz);
	return rc;
}
