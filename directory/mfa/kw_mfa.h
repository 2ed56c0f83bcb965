/*
 * kw_mfa.h - the MFA core: TOTP codes, sealed TOTP secrets, recovery
 * codes and QR codes for the terminal.
 *
 * Pure functions: nothing here speaks LDAP, keeps state between calls or
 * reads the clock.  The caller passes the time and the last used step, and
 * stores what comes back (the new last step, a sealed secret, the hashes
 * of recovery codes) with the directory's atomic operations.
 *
 * Every function returns 0 or an errno value, unless it returns a bool.
 * Every buffer that receives a secret (a TOTP secret, its base32 form, an
 * otpauth URI, a rendered QR code, a recovery code) is the caller's to
 * wipe with kw_wipe() or kw_wipe_free_str().
 *
 * Depends on libkwcommon (wiping, constant-time compare), libkwkeys (the
 * derived sealing key), liboath, libcrypto and libqrencode.
 */
#ifndef KW_MFA_H
#define KW_MFA_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "kw_keys.h"

/*
 * Fill OUT with LEN bytes from getrandom(2) (blocking until the kernel's
 * pool is ready, retrying after signals).  Every secret, nonce, salt and
 * recovery code of this library comes from here.  Returns 0, EINVAL or
 * the errno of getrandom; OUT is wiped on failure.
 */
int kw_random_bytes(void *out, size_t len);

/* ------------------------------------------------------------------ */
/* TOTP (RFC 6238)                                                    */
/* ------------------------------------------------------------------ */

enum kw_totp_algo {
	KW_TOTP_SHA1,
	KW_TOTP_SHA256,
	KW_TOTP_SHA512,
};

struct kw_totp_params {
	enum kw_totp_algo algo;
	int digits;   /* KW_TOTP_DIGITS_MIN..KW_TOTP_DIGITS_MAX */
	int period_s; /* 1..KW_TOTP_PERIOD_MAX seconds */
	int window;   /* steps accepted each way, 0..KW_TOTP_WINDOW_MAX */
};

#define KW_TOTP_DIGITS_MIN 6
#define KW_TOTP_DIGITS_MAX 8
#define KW_TOTP_PERIOD_MAX 300
#define KW_TOTP_WINDOW_MAX 10

/*
 * A new secret is 160 bits (RFC 4226's recommendation, and what every
 * authenticator app handles).  Any length in MIN..MAX is accepted: 128
 * bits is RFC 4226's floor, 64 bytes the size of the RFC 6238 SHA-512
 * test seed.
 */
#define KW_TOTP_SECRET_BYTES 20
#define KW_TOTP_SECRET_MIN 16
#define KW_TOTP_SECRET_MAX 64

/* The usual parameters: SHA1, 6 digits, 30 s, one step each way. */
void kw_totp_params_default(struct kw_totp_params *p);

/*
 * The parameters the mfa.* settings of CFG ask for (checked when CFG was
 * loaded): the one reading of them, for keywardd's checks and kwadm's
 * enrolments alike.
 */
struct kw_config;
void kw_totp_params_of_config(const struct kw_config *cfg,
			      struct kw_totp_params *p);

/* "SHA1", "SHA256" or "SHA512", as authenticator apps name them. */
const char *kw_totp_algo_name(enum kw_totp_algo algo);

/*
 * Fill OUT with LEN (KW_TOTP_SECRET_MIN..KW_TOTP_SECRET_MAX) bytes from
 * getrandom(2).  Returns 0, EINVAL, or the errno of getrandom; OUT is
 * wiped on failure.
 */
int kw_totp_new_secret(unsigned char *out, size_t len);

/*
 * Check CODE against SECRET at time NOW (the caller's clock, seconds since
 * the epoch).  CODE must be exactly P->digits ASCII digits and nothing
 * else: anything else is refused before any HMAC is computed.
 * LAST_STEP is the step of the last code this user spent (-1 for none).
 *
 * Returns
 *   0        the code matched step S within the window and S > LAST_STEP;
 *            *STEP_OUT = S, which the caller stores as the new last step
 *            (atomically: compare-and-swap on the old value);
 *   EALREADY the code matched step S <= LAST_STEP: a replay, or an older
 *            code than one already spent; *STEP_OUT = S;
 *   EACCES   the code matched no step of the window;
 *   EINVAL   a malformed code, bad parameters, a secret of a wrong
 *            length, NOW before the epoch, or a NULL argument;
 *   EIO      liboath failed.
 * *STEP_OUT is -1 on every other result.  A step is floor(NOW / period).
 */
int kw_totp_verify(const unsigned char *secret, size_t secret_len,
		   const struct kw_totp_params *p, const char *code, time_t now,
		   long long last_step, long long *step_out);

/* The length of the base32 text of N bytes, without padding or NUL. */
#define KW_BASE32_LEN(n) (((n)*8 + 4) / 5)

/*
 * Write IN as RFC 4648 base32 (upper case, no padding, as authenticator
 * apps want it) and a NUL into OUT.  Returns 0, ENOBUFS if OUTSZ is less
 * than KW_BASE32_LEN(LEN) + 1 (OUT is then empty), or EINVAL for a NULL
 * buffer.
 */
int kw_base32_encode(const unsigned char *in, size_t len, char *out,
		     size_t outsz);

/*
 * Write the otpauth:// URI (Google's Key URI format) for SECRET:
 *   otpauth://totp/ISSUER:ACCOUNT?secret=B32&issuer=ISSUER
 *     &algorithm=SHA1&digits=6&period=30
 * with ISSUER and ACCOUNT percent-encoded (RFC 3986: every byte but the
 * unreserved characters, so a ':' in either is %3A and never a second
 * separator).  Returns 0, EINVAL for an empty or NULL name, a secret of a
 * wrong length or bad parameters, or ENOBUFS (OUT is then empty).  The
 * URI holds the secret: wipe OUT after use.
 */
int kw_otpauth_uri(const char *issuer, const char *account,
		   const unsigned char *secret, size_t len,
		   const struct kw_totp_params *p, char *out, size_t outsz);

/* ------------------------------------------------------------------ */
/* Sealed TOTP secrets (AES-256-GCM under the tenant's derived key)   */
/* ------------------------------------------------------------------ */

/* The length of the padded base64 text of N bytes, without NUL. */
#define KW_BASE64_LEN(n) (4 * (((n) + 2) / 3))

/* The longest secret kw_seal() takes. */
#define KW_SEAL_PLAIN_MAX KW_TOTP_SECRET_MAX
/* The longest sealed text, without its NUL: "kw1:" + base64 of 92 bytes. */
#define KW_SEAL_TEXT_MAX 128
/* The longest tenant or user name bound into a sealed text. */
#define KW_SEAL_NAME_MAX 255

/*
 * Seal PLAIN (1..KW_SEAL_PLAIN_MAX bytes) for USER of TENANT into OUT as
 * "kw1:" + base64(nonce[12] || ciphertext || tag[16]), a NUL-terminated
 * printable text of at most KW_SEAL_TEXT_MAX bytes (OUTSZ of
 * KW_SEAL_TEXT_MAX + 1 always suffices).  The key is derived from MASTER
 * for KW_KEY_TOTP_SEAL and TENANT; the nonce is fresh from getrandom(2);
 * TENANT and USER are bound in as associated data, so the text opens only
 * for the same tenant and user.  Returns 0, EINVAL (NULL or empty names,
 * a name longer than KW_SEAL_NAME_MAX, a bad length, no master key),
 * ENOBUFS, or EIO (getrandom or libcrypto failed); OUT is empty on
 * failure.
 */
int kw_seal(const struct kw_master_key *master, const char *tenant,
	    const char *user, const unsigned char *plain, size_t len, char *out,
	    size_t outsz);

/*
 * Open TEXT made by kw_seal() for the same TENANT and USER into OUT and
 * set *LEN_OUT.  The parser is strict: the exact prefix, canonical padded
 * base64 and nothing else, and a length that kw_seal() can produce.
 * Returns
 *   0        OUT holds *LEN_OUT bytes of the secret (wipe them after use);
 *   EINVAL   TEXT is malformed (wrong prefix, bad base64, too short or too
 *            long), or an argument is bad (as for kw_seal());
 *   EACCES   TEXT is well formed but does not authenticate: another
 *            master key, tenant or user, or altered bytes;
 *   ENOBUFS  the secret would not fit in OUTSZ bytes;
 *   EIO      libcrypto failed.
 * On failure OUT (all OUTSZ bytes) is wiped and *LEN_OUT is 0.
 */
int kw_unseal(const struct kw_master_key *master, const char *tenant,
	      const char *user, const char *text, unsigned char *out,
	      size_t outsz, size_t *len_out);

/*
 * RFC 4648 base64 with the standard alphabet and padding, shared by the
 * sealed texts and the recovery hashes.  kw_base64_encode() writes
 * KW_BASE64_LEN(LEN) characters and a NUL; returns 0, EINVAL or ENOBUFS
 * (OUT is then empty).  kw_base64_decode() reads exactly INLEN characters
 * and accepts only the canonical text (length a multiple of 4, padding
 * only at the end, zero unused bits), so that one byte string has exactly
 * one text; returns 0, EINVAL for anything else, or ENOBUFS; OUT is wiped
 * on failure.
 */
int kw_base64_encode(const unsigned char *in, size_t len, char *out,
		     size_t outsz);
int kw_base64_decode(const char *in, size_t inlen, unsigned char *out,
		     size_t outsz, size_t *len_out);

/* ------------------------------------------------------------------ */
/* Recovery codes                                                     */
/* ------------------------------------------------------------------ */

/*
 * A recovery code is KW_RECOVERY_CODE_CHARS characters of a 31-symbol
 * alphabet (a-z and 2-9 without i, l and o, so that none of 0/O, 1/l/I
 * can be misread), printed lower case in three groups of five:
 * "xxxxx-xxxxx-xxxxx".  15 symbols carry 74 bits; 12 would carry only
 * 59.5, under the 60 bits the hashes must resist offline.
 */
#define KW_RECOVERY_CODES 10
#define KW_RECOVERY_CODES_MAX 100
#define KW_RECOVERY_CODE_CHARS 15
#define KW_RECOVERY_CODE_LEN 17
/* "kr1$" + base64(salt[16]) + "$" + base64(HMAC-SHA256), without NUL. */
#define KW_RECOVERY_HASH_MAX 73

/*
 * Fill CODES[0..N-1] (N is 1..KW_RECOVERY_CODES_MAX) with distinct new
 * codes from getrandom(2), each NUL-terminated.  Returns 0, EINVAL, or
 * the errno of getrandom; CODES are wiped on failure.
 */
int kw_recovery_new(char codes[][KW_RECOVERY_CODE_LEN + 1], size_t n);

/*
 * Hash CODE for storage: "kr1$<base64 salt>$<base64 HMAC-SHA256(salt,
 * normalized code)>", with a fresh 16-byte salt.  Normalization drops
 * '-' and ' ' and folds case.  Returns 0, EINVAL for a code that does not
 * normalize to KW_RECOVERY_CODE_CHARS alphabet characters, ENOBUFS (OUTSZ
 * of KW_RECOVERY_HASH_MAX + 1 always suffices), or EIO.
 */
int kw_recovery_hash(const char *code, char *out, size_t outsz);

/*
 * Whether CODE (as typed) matches STORED (from kw_recovery_hash()); the
 * MACs are compared in constant time.  False for a malformed code or a
 * malformed stored value.
 */
bool kw_recovery_match(const char *code, const char *stored);

/*
 * Whether TEXT (as typed) has the shape of a recovery code rather than of
 * a TOTP code (which is digits only, and shorter).
 */
bool kw_recovery_looks_like(const char *text);

/* ------------------------------------------------------------------ */
/* QR codes for the terminal                                          */
/* ------------------------------------------------------------------ */

/*
 * Render TEXT (non-empty) as a QR code (ECC level M, 8-bit mode) in
 * Unicode half blocks, two module rows per line, each line ending in
 * '\n', with a quiet zone of two modules.  Light modules are drawn in the
 * terminal's foreground colour and dark modules are left blank, so the
 * code reads right on a terminal with a dark background.  *OUT is a
 * malloc'd string; it shows TEXT (an otpauth URI holds the secret), so
 * free it with kw_wipe_free_str().  Returns 0, EINVAL (NULL, empty, or too
 * long for a QR code), or ENOMEM; *OUT is NULL on failure.
 */
int kw_qr_render(const char *text, char **out);

#endif
