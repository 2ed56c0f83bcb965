/*
 * kw_audit_dir.h - the directory side of audit: each tenant's log of
 * records, delivered onto its chain, read, and purged.
 *
 * Records, their MACs and the chain are kw_audit.h's.  In the directory a
 * tenant's log is one container with one entry per record:
 *
 *   ou=audit,o=<tenant>,ou=tenants,<base>   organizationalUnit; after the
 *                                           first purge also kwAuditLog,
 *                                           whose kwAuditAnchor values are
 *                                           the purge anchors "seq mac seal"
 *     kwEventSeq=<seq>                      kwAuditEvent: record <seq>
 *
 * The RDN is the record's place in the chain, so that the add of record
 * N + 1 is the chain's compare-and-swap: of two hosts that chain onto the
 * same head, one adds N + 1 and the other is told "already exists", reads
 * the record that took N + 1 and chains onto that.  No entry holds the
 * head, so none has to be kept in step: the head is the record with the
 * highest seq, found with O(log n) base reads and never a search of the
 * whole log.
 *
 * A record's attributes: kwEventId, kwEventTime (generalized time with
 * six fractional digits: the exact time_us), kwOutcome, kwReason,
 * kwService, kwRemoteHost (rhost), kwTty, kwRequestId, kwUserName (user)
 * or kwUserHash (user_hash), kwEventHost (host), kwEventKind (kind),
 * kwEventSeq, kwChainPrev (prev_mac; none for seq 1) and kwChainHash
 * (mac).  An empty field has no attribute.  An entry read back is exactly
 * the record that was chained, so its MAC can be checked; an entry that
 * does not convert strictly (a value too long, of the wrong form, a
 * kwEventSeq that is not its RDN's, a field kw_audit_record_check()
 * refuses) is not a record.
 *
 * Who may do what (etc/ldap/keyward-database.ldif.in): keywardd's service
 * identity adds and reads records of every tenant; a tenant's
 * administrators read their own tenant's log; nobody changes or deletes a
 * record except root, which purges (kw_audit_purge) and stores anchors.
 *
 * Truncation: removing the newest records of a log leaves a shorter log
 * that verifies, since the head is the last record.  Anything else
 * (removing, altering, reordering, inserting records, forging an anchor)
 * is found by kw_audit_chain_check().
 *
 * Functions return 0 or an errno value of kw_dir.h; also EBADMSG for a
 * log that does not read as one (said where).
 */
#ifndef KW_AUDIT_DIR_H
#define KW_AUDIT_DIR_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "kw_audit.h"
#include "kw_dir.h"
#include "kw_keys.h"

/* How often kw_audit_deliver() chains again on a newer head. */
#define KW_AUDIT_DELIVER_ATTEMPTS 64

/* A tenant chain's head as this process last saw it. */
struct kw_audit_head {
	bool known;
	unsigned long long seq; /* 0: an empty chain */
	char mac[KW_AUDIT_MAC_HEX_LEN + 1];
};

/*
 * Find the head of TENANT's chain: from the latest anchor's seq (or 0),
 * base reads of seq + 1, + 2, + 4, ... until one is missing, then a
 * binary search between the last present and the first missing.  An
 * empty log is {known, 0, ""}; a log purged to its end is the anchor's
 * {seq, mac}.  EBADMSG: an anchor or the head record is malformed.
 */
int kw_audit_head_find(struct kw_dir *dir, const char *tenant,
		       struct kw_audit_head *out);
/*
 * As kw_audit_head_find(), from ANCHOR, which the caller read with
 * kw_audit_anchor_get() (NULL: there is none), so that a caller that
 * needs both reads the anchor once and gets a head that follows it.
 */
int kw_audit_head_from_anchor(struct kw_dir *dir, const char *tenant,
			      const struct kw_audit_anchor *anchor,
			      struct kw_audit_head *out);

/*
 * Move the known HEAD of TENANT's chain forward to the current head, with
 * O(log k) base reads for k records added since (one read if none was).
 * An unknown HEAD is found with kw_audit_head_find().
 */
int kw_audit_head_refresh(struct kw_dir *dir, const char *tenant,
			  struct kw_audit_head *head);

/*
 * Add R, a valid record with a tenant (its chain fields are replaced), as
 * the next record of its tenant's chain, under KEY (the tenant's
 * KW_KEY_AUDIT_CHAIN key).  HEAD is this process's idea of the head of
 * R's tenant's chain; an unknown one is found first.
 *
 * With CHECK_ID, a record with R's id already in the log means that R
 * was delivered before (the spool's crash window, kw_audit.h): R becomes
 * that record and nothing is added.  Use it when delivering from the
 * spool; a fresh id needs no check.
 *
 * Then, up to KW_AUDIT_DELIVER_ATTEMPTS times: bring HEAD up to date (one
 * base read when nothing is new), chain R onto it and add it.  If another
 * writer took that seq, read the record there (R's own id there means
 * delivered), chain onto it and add again at once.  Before a record's
 * first add a writer waits a random while (under half a millisecond):
 * the winner of a race learns it first, and a writer that went straight
 * on to its next record would win again and again and starve the others.
 * Measured on a 2-core machine with writers adding flat out: 2 or 4
 * writers never ran out of attempts, 8 sometimes did.  Then EBUSY; the
 * record stays in the spool for a later delivery.
 *
 * A tenant without ou=audit gets it.  On success R is the stored record
 * and *HEAD is {r->seq, r->mac}.  On error R is unchained again (seq 0,
 * no MACs) and may be delivered later; ENOENT means the tenant does not
 * exist; EBADMSG that the record to chain onto has a malformed MAC.
 */
int kw_audit_deliver(struct kw_dir *dir, const unsigned char key[KW_KEY_BYTES],
		     struct kw_audit_head *head, struct kw_audit_record *r,
		     bool check_id);

/*
 * What to read from a tenant's log.  Zero it, then set TENANT and any
 * narrowing; every field set must hold: the records that come back match
 * all of them.
 */
struct kw_audit_query {
	const char *tenant;
	const char *user;    /* a user name, or a user_hash "h:...": NULL any */
	const char *outcome; /* KW_AUDIT_SUCCESS, KW_AUDIT_FAIL, NULL any */
	time_t since;        /* time >= since; 0: from the start */
	time_t until;        /* time < until; 0: to the end */
	const char *service; /* exactly this service; NULL any */
	const char *kind;    /* exactly this kind; NULL any */
	unsigned long long after_seq; /* seq > after_seq; 0: from the start */
	unsigned long long until_seq; /* seq <= until_seq; 0: to the end */
	size_t limit;                 /* at most this many; 0: all */
	bool newest; /* with LIMIT, the newest records, else the oldest */
};

/*
 * The records of Q->tenant's log that match Q, in one search whose filter
 * the model builds (escaped), sorted by seq.  A small seq range (after_seq
 * and until_seq at most 64 apart) is asked as equalities on the indexed
 * kwEventSeq, so that following a log costs no scan of it.  An entry that
 * does not convert strictly is left out and counted in *SKIPPED_OUT (may
 * be NULL): a person reading the log is shown only records, and
 * kw_audit_read_log() tells where the bad ones are.  A log that was never
 * written is empty.  *OUT is freed with free() (NULL for no records).
 * EINVAL: a field of Q is not valid (nothing was sent).
 */
int kw_audit_search(struct kw_dir *dir, const struct kw_audit_query *q,
		    struct kw_audit_record **out, size_t *n_out,
		    size_t *skipped_out);

/*
 * Every record of TENANT's log, sorted by seq, for kw_audit_chain_check().
 * An entry kwEventSeq=<seq> that does not convert strictly comes back as
 * a record holding only that seq, which kw_audit_chain_check() reports as
 * KW_AUDIT_MALFORMED at its place; an entry of the log that is not at
 * kwEventSeq=<seq> at all is counted in *FOREIGN_OUT (may be NULL).
 */
int kw_audit_read_log(struct kw_dir *dir, const char *tenant,
		      struct kw_audit_record **out, size_t *n_out,
		      size_t *foreign_out);

/*
 * The latest (highest seq) purge anchor of TENANT's log into *OUT, with
 * *FOUND_OUT false (and *OUT zeroed) if the log was never purged.
 * EBADMSG: a value of kwAuditAnchor is malformed, or two claim one seq.
 * The seal is checked by kw_audit_chain_check(), which holds the key.
 */
int kw_audit_anchor_get(struct kw_dir *dir, const char *tenant,
			struct kw_audit_anchor *out, bool *found_out);

/*
 * Purge TENANT's records older than BEFORE: the longest run of records
 * that follows the latest anchor and whose every record is older than
 * BEFORE.  The run ends at the first record that is not, so that records
 * out of time order (a host's skewed clock, a spool delivered late) never
 * take a record within the retention with them.  The run is checked against
 * the previous anchor under KEY first, and a run that does not verify is
 * refused with EBADMSG (a purge must not launder tampering), as is a run
 * that ends at a record that was removed.  Then the anchor of its last
 * record is added to ou=audit (as kwAuditLog's kwAuditAnchor) BEFORE any
 * record is deleted, and the records are deleted oldest first, together
 * with any left over from a purge cut short.  *PURGED_OUT (may be NULL)
 * is the number of entries deleted.  Root only: nobody else may delete.
 */
int kw_audit_purge(struct kw_dir *dir, const char *tenant,
		   const unsigned char key[KW_KEY_BYTES], time_t before,
		   size_t *purged_out);

#endif
