/*
 * kw_keys.h - keyward's master key and the keys derived from it.
 *
 * One master key per installation lives in a root-only file (64 hex
 * digits).  Nothing is ever encrypted or signed with it directly: every
 * use derives a key of its own with HKDF-SHA256 (RFC 5869) from the master
 * key, a purpose and a tenant, so that a key of one tenant (or of one
 * purpose) tells nothing about any other.  keywardd and kwadm (as root)
 * read the file; nobody else does.
 *
 * Depends on libkwcommon (secret files, wiping) and OpenSSL's libcrypto.
 */
#ifndef KW_KEYS_H
#define KW_KEYS_H

#include <stdbool.h>
#include <stddef.h>

#define KW_KEY_BYTES 32

/* The purposes of derived keys.  Never reuse one for something else. */
#define KW_KEY_TOTP_SEAL "totp-seal"     /* AES-256-GCM of TOTP secrets */
#define KW_KEY_AUDIT_CHAIN "audit-chain" /* HMAC chain of audit records */
#define KW_KEY_AUDIT_NAME "audit-name"   /* keyed hash of unresolved names */

struct kw_master_key {
	unsigned char bytes[KW_KEY_BYTES];
	bool loaded;
};

/*
 * Read the master key from PATH: a regular file owned by root, without
 * group or other permission bits (kw_config_read_secret's rules), holding
 * exactly 64 hexadecimal digits and an optional newline.  Returns 0, or
 * an errno value with ERR saying why; KEY is wiped on failure.
 */
int kw_master_key_load(const char *path, struct kw_master_key *key, char *err,
		       size_t errlen);

/*
 * Make a new master key from the kernel's random source and write it to
 * PATH (mode 0600, created; an existing file is never replaced: EEXIST).
 * Returns 0 or an errno value with ERR saying why.
 */
int kw_master_key_create(const char *path, char *err, size_t errlen);

/*
 * Derive the key for PURPOSE (one of KW_KEY_*) and TENANT (a valid tenant
 * name) into OUT.  Returns 0, EINVAL for a missing key or an empty
 * purpose or tenant, or EIO if libcrypto fails.  Wipe OUT after use.
 */
int kw_key_derive(const struct kw_master_key *master, const char *purpose,
		  const char *tenant, unsigned char out[KW_KEY_BYTES]);

/* Wipe KEY.  NULL is fine. */
void kw_master_key_wipe(struct kw_master_key *key);

#endif
