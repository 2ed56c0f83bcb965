/*
 * kwd_totp.c - the key material of a TOTP request: checking a code
 * against a sealed secret, making a new secret for a self-enrolment, and
 * making recovery codes.  The directory work and the decision are in
 * kwd_request.c; every secret and code that passes through here is wiped
 * before the function returns.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keywardd.h"
#include "kw_mfa.h"
#include "kw_secret.h"

int kwd_totp_check_code(const struct kw_master_key *mk,
			const struct kw_config *cfg, const struct kw_name *name,
			const char *sealed, const char *code, time_t now,
			long long last_step, long long *step_out)
{
	unsigned char secret[KW_SEAL_PLAIN_MAX];
	struct kw_totp_params p;
	size_t len = 0;
	int rc;

	*step_out = -1;
	kw_totp_params_of_config(cfg, &p);
	if (mk == NULL)
		return EIO;
	rc = kw_unseal(mk, name->tenant, name->user, sealed, secret,
		       sizeof(secret), &len);
	if (rc != 0) {
		rc = EIO; /* a secret this host cannot open: not the user's */
		goto done;
	}
	rc = kw_totp_verify(secret, len, &p, code, now, last_step, step_out);
done:
	kw_wipe(secret, sizeof(secret));
	return rc;
}

int kwd_totp_new_enrolment(const struct kw_master_key *mk,
			   const struct kw_config *cfg,
			   const struct kw_name *name, const char *issuer,
			   char *sealed, size_t sealedsz, char *info,
			   size_t infosz)
{
	unsigned char secret[KW_TOTP_SECRET_BYTES];
	char account[KW_QNAME_MAX + 1];
	char b32[KW_BASE32_LEN(KW_TOTP_SECRET_BYTES) + 1];
	char uri[1024];
	struct kw_totp_params p;
	char *qr = NULL;
	int rc, n;

	kw_totp_params_of_config(cfg, &p);
	if (mk == NULL)
		return EIO;
	rc = kw_totp_new_secret(secret, sizeof(secret));
	if (rc == 0)
		rc = kw_seal(mk, name->tenant, name->user, secret,
			     sizeof(secret), sealed, sealedsz);
	if (rc != 0)
		goto done;
	kw_name_format(name, cfg->separator, account, sizeof(account));
	rc = kw_base32_encode(secret, sizeof(secret), b32, sizeof(b32));
	if (rc == 0)
		rc = kw_otpauth_uri(issuer, account, secret, sizeof(secret), &p,
				    uri, sizeof(uri));
	if (rc == 0)
		rc = kw_qr_render(uri, &qr);
	if (rc != 0)
		goto done;
	n = snprintf(info, infosz,
		     "Two-factor login must be set up for %s.\n"
		     "Scan this code with an authenticator app:\n\n%s\n"
		     "or enter this key in it by hand: %s\n"
		     "(%s, %d digits, every %d s)\n",
		     account, qr, b32, kw_totp_algo_name(p.algo), p.digits,
		     p.period_s);
	if (n < 0 || (size_t)n >= infosz)
		rc = ENOBUFS;
done:
	if (rc != 0) {
		kw_wipe(info, infosz);
		kw_wipe(sealed, sealedsz);
	}
	kw_wipe_free_str(qr);
	kw_wipe(secret, sizeof(secret));
	kw_wipe(b32, sizeof(b32));
	kw_wipe(uri, sizeof(uri));
	return rc;
}

void kwd_totp_free_hashes(char **hashes, size_t n)
{
	for (size_t i = 0; hashes != NULL && i < n; i++)
		free(hashes[i]);
	free(hashes);
}

int kwd_totp_new_recovery(char ***hashes_out, size_t *n_out, char *info,
			  size_t infosz)
{
	char codes[KW_RECOVERY_CODES][KW_RECOVERY_CODE_LEN + 1];
	char **hashes;
	size_t used, i;
	int rc, n;

	*hashes_out = NULL;
	*n_out = 0;
	hashes = calloc(KW_RECOVERY_CODES + 1, sizeof(*hashes));
	if (hashes == NULL)
		return ENOMEM;
	rc = kw_recovery_new(codes, KW_RECOVERY_CODES);
	for (i = 0; rc == 0 && i < KW_RECOVERY_CODES; i++) {
		hashes[i] = malloc(KW_RECOVERY_HASH_MAX + 1);
		if (hashes[i] == NULL)
			rc = ENOMEM;
		else
			rc = kw_recovery_hash(codes[i], hashes[i],
					      KW_RECOVERY_HASH_MAX + 1);
	}
	n = snprintf(info, infosz,
		     "Two-factor login is set up.  Recovery codes, each "
		     "good for one login\nwithout the app; they are shown "
		     "only now, so keep them safe:\n");
	used = n > 0 ? (size_t)n : 0;
	for (i = 0; rc == 0 && i < KW_RECOVERY_CODES; i++) {
		n = snprintf(info + used, infosz - used, "  %s\n", codes[i]);
		if (n < 0 || (size_t)n >= infosz - used)
			rc = ENOBUFS;
		else
			used += (size_t)n;
	}
	kw_wipe(codes, sizeof(codes));
	if (rc != 0) {
		kwd_totp_free_hashes(hashes, KW_RECOVERY_CODES);
		kw_wipe(info, infosz);
		return rc;
	}
	*hashes_out = hashes;
	*n_out = KW_RECOVERY_CODES;
	return 0;
}
