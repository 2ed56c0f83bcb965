/*
 * kw_keys.c - the master key file and HKDF-SHA256 derivation.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include "kw_config.h"
#include "kw_keys.h"
#include "kw_secret.h"

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int kw_master_key_load(const char *path, struct kw_master_key *key, char *err,
		       size_t errlen)
{
	char text[KW_SECRET_MAX];
	size_t i;
	int rc;

	memset(key, 0, sizeof(*key));
	rc = kw_config_read_secret(path, text, sizeof(text), err, errlen);
	if (rc != 0)
		return rc;
	if (strlen(text) != 2 * KW_KEY_BYTES) {
		snprintf(err, errlen,
			 "%s: a master key is %d hexadecimal digits", path,
			 2 * KW_KEY_BYTES);
		rc = EINVAL;
		goto done;
	}
	for (i = 0; i < KW_KEY_BYTES; i++) {
		int hi = hex_digit(text[2 * i]),
		    lo = hex_digit(text[2 * i + 1]);

		if (hi < 0 || lo < 0) {
			snprintf(err, errlen,
				 "%s: a master key is %d hexadecimal digits",
				 path, 2 * KW_KEY_BYTES);
			rc = EINVAL;
			goto done;
		}
		key->bytes[i] = (unsigned char)(hi << 4 | lo);
	}
	key->loaded = true;
done:
	kw_wipe(text, sizeof(text));
	if (rc != 0)
		kw_master_key_wipe(key);
	return rc;
}

int kw_master_key_create(const char *path, char *err, size_t errlen)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char raw[KW_KEY_BYTES];
	char text[2 * KW_KEY_BYTES + 1];
	ssize_t n;
	size_t i;
	int fd, rc = 0;

	n = getrandom(raw, sizeof(raw), 0);
	if (n != (ssize_t)sizeof(raw)) {
		snprintf(err, errlen, "getrandom: %s", strerror(errno));
		return EIO;
	}
	for (i = 0; i < KW_KEY_BYTES; i++) {
		text[2 * i] = hex[raw[i] >> 4];
		text[2 * i + 1] = hex[raw[i] & 0x0f];
	}
	text[2 * KW_KEY_BYTES] = '\n';
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		  0600);
	if (fd < 0) {
		rc = errno;
		snprintf(err, errlen, "%s: %s", path, strerror(rc));
		goto done;
	}
	if (write(fd, text, sizeof(text)) != (ssize_t)sizeof(text) ||
	    fsync(fd) != 0) {
		rc = errno != 0 ? errno : EIO;
		snprintf(err, errlen, "%s: %s", path, strerror(rc));
		close(fd);
		unlink(path);
		goto done;
	}
	if (close(fd) != 0) {
		rc = errno;
		snprintf(err, errlen, "%s: %s", path, strerror(rc));
		unlink(path);
	}
done:
	kw_wipe(raw, sizeof(raw));
	kw_wipe(text, sizeof(text));
	return rc;
}

int kw_key_derive(const struct kw_master_key *master, const char *purpose,
		  const char *tenant, unsigned char out[KW_KEY_BYTES])
{
	char info[128];
	EVP_KDF *kdf = NULL;
	EVP_KDF_CTX *ctx = NULL;
	OSSL_PARAM params[4];
	int n, rc = EIO;

	if (master == NULL || !master->loaded || purpose == NULL ||
	    purpose[0] == '\0' || tenant == NULL || tenant[0] == '\0')
		return EINVAL;
	/* The purpose cannot hold a '/', so no two pairs make one info. */
	n = snprintf(info, sizeof(info), "keyward/v1/%s/%s", purpose, tenant);
	if (n < 0 || (size_t)n >= sizeof(info) || strchr(purpose, '/'))
		return EINVAL;
	kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	if (kdf == NULL)
		goto done;
	ctx = EVP_KDF_CTX_new(kdf);
	if (ctx == NULL)
		goto done;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
						     (char *)"SHA256", 0);
	params[1] = OSSL_PARAM_construct_octet_string(
		OSSL_KDF_PARAM_KEY, (void *)master->bytes, KW_KEY_BYTES);
	params[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info,
						      (size_t)n);
	params[3] = OSSL_PARAM_construct_end();
	if (EVP_KDF_derive(ctx, out, KW_KEY_BYTES, params) == 1)
		rc = 0;
done:
	EVP_KDF_CTX_free(ctx);
	EVP_KDF_free(kdf);
	if (rc != 0)
		kw_wipe(out, KW_KEY_BYTES);
	return rc;
}

void kw_master_key_wipe(struct kw_master_key *key)
{
	if (key != NULL)
		kw_wipe(key, sizeof(*key));
}
