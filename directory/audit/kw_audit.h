/*
 * kw_audit.h - audit records, their canonical encoding, the tamper-evident
 * chain of each tenant's log, and the local spool.
 *
 * Every attempt (authentication, account check, TOTP, password change,
 * ...) becomes one struct kw_audit_record.  A record whose tenant resolved
 * goes to that tenant's log in the directory; a record with an empty
 * tenant belongs to no tenant's log (no tenant administrator may read it,
 * and there is no chain to put it in): it goes to syslog only.
 *
 * Names that did not resolve are never stored in clear (a password typed
 * into the user field must not reach a log): the record carries
 * kw_audit_name_hash() of the typed name in user_hash instead.
 *
 * The chain.  Each tenant's log is one chain: record N carries seq N, the
 * MAC of record N-1 (prev_mac) and its own MAC, an HMAC-SHA256 under the
 * tenant's KW_KEY_AUDIT_CHAIN key over its canonical encoding without the
 * mac field.  Altering a record breaks its MAC; removing one leaves a gap
 * in seq; reordering needs new seq values, which breaks the MACs.
 *
 * Several hosts write to one tenant's log.  A strictly linear chain needs
 * a compare-and-swap of the chain's head: the directory side names each
 * record by its seq, so that adding record N+1 succeeds for one writer
 * only (kw_audit_deliver() in directory/model/kw_audit_dir.h).
 * kw_audit_chain_next() is a pure function of (key, record, prev_seq,
 * prev_mac), so a writer that lost the race reads the new head and
 * computes the record again.
 *
 * Retention.  Old records may be purged without breaking verification:
 * the purger takes the last record it purges, makes a sealed anchor of it
 * with kw_audit_anchor_make(), stores the anchor on the tenant's
 * ou=audit entry first and deletes the records up to it afterwards.
 * kw_audit_chain_check() given that anchor expects the log to start right after
 * it, and ignores records at or below it, so that a purge cut short still
 * verifies.  The seal is an HMAC under the chain key: whoever can write that
 * entry but does not hold the key cannot make an anchor that hides a deletion.
 *
 * Truncation at the end (the newest records removed) is seen only against
 * the tenant's chain head: compare the head with the last_seq and
 * last_mac that kw_audit_chain_check() reports.
 *
 * Depends on libkwcommon (kw_wipe, kw_secret_equal) and libcrypto.
 */
#ifndef KW_AUDIT_H
#define KW_AUDIT_H

#include <stdbool.h>
#include <stddef.h>

#include "kw_keys.h"

/*
 * Maximum lengths of the string fields in bytes, without the NUL.  The
 * tenant and user limits are those of kw_names.h, the service, rhost, tty
 * and request id limits those of kw_proto.h; tests/unit/test_audit.c
 * checks that they agree.
 */
#define KW_AUDIT_ID_MAX 64
#define KW_AUDIT_TENANT_MAX 32
#define KW_AUDIT_USER_MAX 32
#define KW_AUDIT_USER_HASH_LEN 34 /* "h:" and 32 hex digits */
#define KW_AUDIT_SERVICE_MAX 64
#define KW_AUDIT_HOST_MAX 255
#define KW_AUDIT_RHOST_MAX 255
#define KW_AUDIT_TTY_MAX 64
#define KW_AUDIT_REQUEST_ID_MAX 32
#define KW_AUDIT_KIND_MAX 16
#define KW_AUDIT_OUTCOME_MAX 8
#define KW_AUDIT_REASON_MAX 32
#define KW_AUDIT_MAC_HEX_LEN 64 /* HMAC-SHA256 in lowercase hex */

/* Length of the ids made by kw_audit_new_id(). */
#define KW_AUDIT_NEW_ID_LEN 33

/* Room for any canonical line, NUL included (checked in kw_audit.c). */
#define KW_AUDIT_LINE_MAX 4096

#define KW_AUDIT_SUCCESS "success"
#define KW_AUDIT_FAIL "fail"

/*
 * One attempt.  Zero the structure before filling it in.  What each
 * string field may hold (anything else is EINVAL, never truncated):
 *
 *   id          1-64 of [A-Za-z0-9._-]: safe as an RDN value unescaped
 *   tenant      "" or 1-32 of [a-z0-9-]
 *   user        "" or 1-32 of [a-z0-9_.-]; needs a tenant
 *   user_hash   "" or "h:" and 32 lowercase hex digits; not with user
 *   service     0-64 bytes of free text
 *   host        1-255 of visible ASCII (0x21-0x7e): the deciding host
 *   rhost       0-255 bytes of free text
 *   tty         0-64 bytes of free text
 *   request_id  0-32 of visible ASCII: shared by the decisions of a login
 *   kind        1-16 of [a-z0-9_-]: "auth", "account", "totp",
 *               "password-change", ...
 *   outcome     KW_AUDIT_SUCCESS or KW_AUDIT_FAIL
 *   reason      1-32 of [a-z_]: success, wrong_password, unknown_user,
 *               empty_password, wrong_code, replayed_code, malformed_code,
 *               deactivated, suspended, missing_role, locked,
 *               network_refused, unavailable, invalid_name,
 *               must_change_password, ...
 *
 * Free text is printable ASCII, space included (0x20-0x7e).  Text from
 * outside (PAM_RHOST, PAM_TTY) goes through kw_audit_clean_text() first.
 *
 * time_us is >= 0.  The chain fields are either all unset (seq 0, empty
 * prev_mac and mac: a record not yet in a chain, as in the spool) or set
 * by kw_audit_chain_next(): seq >= 1, mac of 64 hex digits, prev_mac
 * empty for seq 1 and 64 hex digits otherwise.  Only a record with a
 * tenant can be chained.
 */
struct kw_audit_record {
	char id[KW_AUDIT_ID_MAX + 1];
	long long time_us; /* microseconds since the epoch, UTC */
	char tenant[KW_AUDIT_TENANT_MAX + 1];
	char user[KW_AUDIT_USER_MAX + 1];
	char user_hash[KW_AUDIT_USER_HASH_LEN + 1];
	char service[KW_AUDIT_SERVICE_MAX + 1];
	char host[KW_AUDIT_HOST_MAX + 1];
	char rhost[KW_AUDIT_RHOST_MAX + 1];
	char tty[KW_AUDIT_TTY_MAX + 1];
	char request_id[KW_AUDIT_REQUEST_ID_MAX + 1];
	char kind[KW_AUDIT_KIND_MAX + 1];
	char outcome[KW_AUDIT_OUTCOME_MAX + 1];
	char reason[KW_AUDIT_REASON_MAX + 1];
	unsigned long long seq;
	char prev_mac[KW_AUDIT_MAC_HEX_LEN + 1];
	char mac[KW_AUDIT_MAC_HEX_LEN + 1];
};

/*
 * The rules of single fields, for values that come from elsewhere (a
 * query, a command line) and must match what records hold: a MAC (64
 * lowercase hex digits), a name's hash ("h:" and 32), a kind (1 to
 * KW_AUDIT_KIND_MAX of a-z 0-9 _ -), a service (1 to KW_AUDIT_SERVICE_MAX
 * printable ASCII).  NULL is not valid.
 */
bool kw_audit_mac_valid(const char *s);
bool kw_audit_user_hash_valid(const char *s);
bool kw_audit_kind_valid(const char *s);
bool kw_audit_service_valid(const char *s);

/* Returns 0 if every field of R holds what it may (see above), or EINVAL. */
int kw_audit_record_check(const struct kw_audit_record *r);

/*
 * Copy untrusted text SRC into the free-text field DST of DSTSZ bytes,
 * replacing every byte outside 0x20-0x7e with '?' and cutting it to
 * DSTSZ - 1 bytes, so that the attempt is recorded whatever a client
 * sent.  Returns true if the value had to be changed (worth a log line).
 * A NULL SRC gives "".
 */
bool kw_audit_clean_text(char *dst, size_t dstsz, const char *src);

/*
 * The canonical encoding: one line of text, no newline, the fields in this
 * fixed order, each as key=value, separated by single spaces:
 *
 *   v=1 id= time= tenant= user= user_hash= service= host= rhost= tty=
 *   request_id= kind= outcome= reason= seq= prev_mac= mac=
 *
 * time and seq are decimal without sign or leading zeros.  In a value,
 * every byte outside 0x21-0x7e and every '%' and '=' is written as %XX
 * (uppercase hex), and no other byte is.  The MAC of a record covers the
 * line up to, not including, the space before "mac=".
 *
 * kw_audit_encode() writes R's line and a NUL into OUT (OUTSZ bytes;
 * KW_AUDIT_LINE_MAX always do) and its length into *LEN_OUT (may be
 * NULL).  Returns 0; EINVAL if R is not valid; ENOBUFS if OUT is too small
 * (OUT is then "").
 */
int kw_audit_encode(const struct kw_audit_record *r, char *out, size_t outsz,
		    size_t *len_out);

/*
 * Decode the LEN bytes at LINE (no newline; need not be NUL-terminated)
 * into *OUT.  Strict: a wrong version, an unknown, duplicate, missing or
 * misplaced key, a bad or needless escape, an over-long value, a number
 * out of range or with leading zeros, a field that kw_audit_record_check()
 * refuses, a NUL or anything after the last field is EINVAL, and *OUT is
 * zeroed.  A line that decodes encodes back to the same bytes.
 */
int kw_audit_decode(const char *line, size_t len, struct kw_audit_record *out);

/*
 * Put R into a chain after the record {PREV_SEQ, PREV_MAC}: the chain's
 * head, or PREV_SEQ 0 and PREV_MAC "" for the first record.  Sets
 * r->seq = PREV_SEQ + 1, r->prev_mac and r->mac (under KEY, the tenant's
 * KW_KEY_AUDIT_CHAIN key).  Any chain fields R had are replaced, so the
 * same record can be computed again on a newer head.  Returns 0; EINVAL
 * (R unchanged) if R is not valid, has no tenant, or the head is not
 * valid; EIO if libcrypto fails.
 */
int kw_audit_chain_next(const unsigned char key[KW_KEY_BYTES],
			struct kw_audit_record *r, unsigned long long prev_seq,
			const char *prev_mac);

/*
 * The last purged record of a chain, sealed under the chain key.  Store
 * all three fields; kw_audit_chain_check() checks the seal.
 */
struct kw_audit_anchor {
	unsigned long long seq;
	char mac[KW_AUDIT_MAC_HEX_LEN + 1];
	char seal[KW_AUDIT_MAC_HEX_LEN + 1];
};

/*
 * Make the anchor for purging every record up to and including LAST (a
 * chained record that checked good).  Returns 0; EINVAL if LAST is not a
 * valid chained record; EIO if libcrypto fails.
 */
int kw_audit_anchor_make(const unsigned char key[KW_KEY_BYTES],
			 const struct kw_audit_record *last,
			 struct kw_audit_anchor *out);

/* Why a chain did not verify, in order of the checks on each record. */
enum kw_audit_fault {
	KW_AUDIT_INTACT = 0,
	KW_AUDIT_BAD_ANCHOR,    /* the anchor's seal does not match */
	KW_AUDIT_ORDER,         /* seq not strictly increasing: the records
				   were not sorted, or two claim one seq */
	KW_AUDIT_MALFORMED,     /* a field not valid, or not chained */
	KW_AUDIT_MISSING_START, /* the first seq is not 1 (or the anchor's
				   seq + 1): records removed from the start */
	KW_AUDIT_GAP,           /* a seq is missing: a record was removed */
	KW_AUDIT_ALTERED,       /* the MAC does not match: record altered */
	KW_AUDIT_BROKEN_LINK,   /* prev_mac is not the previous record's mac */
};

struct kw_audit_verify {
	size_t checked;             /* records verified good */
	size_t skipped;             /* records at or below the anchor */
	enum kw_audit_fault fault;  /* the first fault, or KW_AUDIT_INTACT */
	unsigned long long bad_seq; /* the seq where it was found (for a gap
				       or a missing start: the first missing
				       one; 0 for a bad anchor) */
	size_t bad_index;           /* index in RECORDS where it was found */
	/* The last good record (or the anchor): compare with the head. */
	unsigned long long last_seq;
	char last_mac[KW_AUDIT_MAC_HEX_LEN + 1];
};

/*
 * Verify the N RECORDS of one tenant's log, sorted by seq, under KEY (the
 * tenant's KW_KEY_AUDIT_CHAIN key).  ANCHOR is the anchor of the last
 * purge, or NULL if the log was never purged.  *REPORT says how many
 * records were verified and what failed first.  Returns 0 if the chain is
 * intact, EBADMSG if not (see REPORT), EINVAL for bad arguments, EIO if
 * libcrypto fails.  MACs are compared in constant time.
 */
int kw_audit_chain_check(const unsigned char key[KW_KEY_BYTES],
			 const struct kw_audit_anchor *anchor,
			 const struct kw_audit_record *records, size_t n,
			 struct kw_audit_verify *report);

/* "intact", "altered", ... for logs and kwadm. */
const char *kw_audit_fault_name(enum kw_audit_fault fault);

/*
 * Write the keyed hash of an unresolved NAME into OUT (at least
 * KW_AUDIT_USER_HASH_LEN + 1 bytes): "h:" and the first 16 bytes of
 * HMAC-SHA256(KEY, NAME) in lowercase hex.  KEY is the tenant's
 * KW_KEY_AUDIT_NAME key, or, when no tenant resolved, the one derived for
 * the tenant "-".  Equal names give equal hashes within a tenant, so that
 * an administrator sees repeated attempts, and the name cannot be read
 * back.  Returns 0; EINVAL (OUT "") for bad arguments; EIO if libcrypto
 * fails.
 */
int kw_audit_name_hash(const unsigned char key[KW_KEY_BYTES], const char *name,
		       char *out, size_t outsz);

/*
 * Write a fresh record id into OUT (at least KW_AUDIT_NEW_ID_LEN + 1
 * bytes): TIME_US (>= 0) as 16 lowercase hex digits, '-', and 64 random
 * bits as 16 hex digits.  Ids sort by time as strings.  The random part
 * alone makes a repeat negligible across all hosts, so the host is not
 * part of the id (it is a field of the record anyway).  Returns 0 or
 * EINVAL.
 */
int kw_audit_new_id(long long time_us, char *out, size_t outsz);

/*
 * The spool: records waiting for the directory, in a directory that the
 * caller creates (mode 0700, owned by the user that runs keywardd).  It is
 * an append-only journal:
 *
 *   seg.NNNNNNNNNNNNNNNNNNNN  segments, numbered in 20 digits: each record
 *                             is its canonical line and a newline, in
 *                             append order; once the newest segment
 *                             passes 1 MiB, the next append starts the
 *                             one numbered one higher
 *   cursor                    where the next replay starts: a segment and
 *                             a byte offset in it
 *   bad                       lines that did not decode, copied there by
 *                             a replay; never deleted
 *   lock, replay.lock         lock files; cursor.tmp is a temporary file
 *
 * Anything else is left alone.  A replay removes a segment once it has
 * delivered all of it and a newer one exists.
 *
 * A spool handle is safe to use from several threads, and several
 * processes may open one directory and append to it at once: every line
 * is written whole, never interleaved with another.
 *
 * Crash safety.  kw_spool_append() returns 0 only once the whole line is
 * written (with sync on: on disk).  A line cut short by a crash was never
 * acknowledged; the next kw_spool_open() or append cuts it off.
 *
 * A replay saves the cursor at least every 64 records it delivers, when
 * it leaves a segment and before it returns.  After a crash, the records
 * delivered since the last save are delivered again: at most
 * KW_SPOOL_REDELIVER_MAX, the one in flight included.  The directory side
 * tells them apart by their id (kw_audit_deliver() with check_id): the
 * caller passes check_id for the first KW_SPOOL_REDELIVER_MAX records
 * that its DELIVER accepts after kw_spool_open(), over as many replays as
 * that takes.  If other processes replay the same directory, any of them
 * may have crashed in a replay: then pass check_id for the first
 * KW_SPOOL_REDELIVER_MAX records of every replay.
 */
#define KW_SPOOL_REDELIVER_MAX 65

struct kw_spool;

/*
 * Open the spool in DIR, which must be a directory owned by the effective
 * user and not writable by group or others (EPERM otherwise).  Starts the
 * first segment if there is none, and cuts off a torn last line (see
 * above).  Returns 0 with *OUT set, or an errno value with ERR (ERRLEN
 * bytes) saying why.
 *
 * If records are spooled but the cursor is missing or does not fit the
 * segments (a damaged file, a machine crash with sync off), replays start
 * again at the oldest segment, and records already delivered are
 * delivered again, more than KW_SPOOL_REDELIVER_MAX of them.  The open
 * still returns 0, with ERR saying so (ERR is "" otherwise): log it, and
 * pass check_id for every record until a replay returns 0.  Until then
 * no cursor is saved, so that every open says so again.
 */
int kw_spool_open(const char *dir, struct kw_spool **out, char *err,
		  size_t errlen);

/* Close S.  NULL is fine. */
void kw_spool_close(struct kw_spool *s);

/*
 * With SYNC false, kw_spool_append() no longer waits for the disk: a
 * record survives the process that appended it (the kernel holds it),
 * but not a crash of the machine before the kernel writes it out.  On by
 * default.
 */
void kw_spool_set_sync(struct kw_spool *s, bool sync);

/*
 * For tests: start a new segment once the newest passes BYTES instead of
 * 1 MiB (0 restores that).  Every handle on one directory should use the
 * same size, or records of two processes may be replayed out of order.
 */
void kw_spool_set_segment_size(struct kw_spool *s, size_t bytes);

/*
 * Store R (which may be unchained).  Returns 0 once the record is written
 * and, with sync on, on disk; EINVAL if R is not valid; or the errno of
 * the failing call.  A failed write leaves nothing of the record; a
 * failed sync leaves it written but perhaps not on disk: it will be
 * delivered unless the machine crashes.  Threads that append at once
 * share one sync.
 */
int kw_spool_append(struct kw_spool *s, const struct kw_audit_record *r);

/*
 * As kw_spool_append(), without waiting for the disk: R is written (it
 * survives the process), and on disk once a later kw_spool_append() or
 * kw_spool_sync() of this handle returns, since syncing the journal
 * syncs every line before it.  For a record that another will follow
 * at once (a login's accepted password, then its account step), so that
 * one login waits for one sync, not two.
 */
int kw_spool_append_deferred(struct kw_spool *s,
			     const struct kw_audit_record *r);

/* Wait until every record appended so far is on disk (with sync on). */
int kw_spool_sync(struct kw_spool *s);

/*
 * Hand the records from the cursor on to DELIVER, oldest first, moving
 * the cursor past each one that DELIVER accepts (returns 0).  Stops at the
 * first DELIVER that fails and returns its value; that record and all
 * later ones stay.  A line that does not decode (or a torn one at the
 * end of a segment older than the newest) is copied to "bad", counted in
 * *BAD_OUT and skipped.  Records appended meanwhile may wait for the next
 * replay.  *DELIVERED_OUT and *BAD_OUT (either may be NULL) are set on
 * every return.  Only one replay runs at a time per spool directory;
 * DELIVER may append to S but must not replay it.  Returns 0, DELIVER's
 * error, or an errno value (a cursor that could not be saved is saved by
 * the next replay before it delivers anything).
 */
int kw_spool_replay(struct kw_spool *s,
		    int (*deliver)(const struct kw_audit_record *r, void *arg),
		    void *arg, size_t *delivered_out, size_t *bad_out);

/*
 * Set *COUNT_OUT to the number of records waiting: the lines after the
 * cursor, those that will not decode included.  It reads the segments.
 * While a replay runs, it may count records that the replay delivers.
 * Returns 0 or an errno value.
 */
int kw_spool_count(struct kw_spool *s, size_t *count_out);

/*
 * Call VISIT with each waiting line, oldest first, as kw_spool_count()
 * counts them, without delivering anything: LINE is NUL-terminated and
 * without its newline (a line too long to be a record is cut to
 * KW_AUDIT_LINE_MAX - 1 bytes), LEN its length.  Stops at the first
 * VISIT that does not return 0 and returns its value; otherwise returns 0
 * or an errno value.
 */
int kw_spool_list(struct kw_spool *s,
		  int (*visit)(const char *line, size_t len, void *arg),
		  void *arg);

#endif
