/*
 * kwd_handover.c - what an AUTHENTICATE learned, for the ACCOUNT that
 * follows it in the same login.
 *
 * A PAM login asks keywardd twice, once from pam_keyward_password (auth)
 * and once from pam_keyward_access (account), a few hundred microseconds
 * apart.  Both need the same facts: the tenant's state, the user's entry
 * and roles.  A successful AUTHENTICATE leaves them here; the ACCOUNT of
 * the same login takes them once, instead of a second search.
 *
 * "The same login" is the same request id, name, service, and client
 * process (uid and pid from SO_PEERCRED): another process cannot take
 * facts that it did not ask for.  Facts older than keywardd.cache_ttl_s
 * are never used, so a deactivation or suspension is seen within that
 * bound; 0 turns the hand-over off.  The table is direct-mapped and
 * small: a slot that is taken over before its ACCOUNT comes only costs
 * that ACCOUNT its search.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "keywardd.h"

static double seconds_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static size_t slot_of(const struct kwd_handover_key *key)
{
	const unsigned char *p = (const unsigned char *)key->request_id;
	size_t h = 2166136261u; /* FNV-1a */

	while (*p != '\0')
		h = (h ^ *p++) * 16777619u;
	return h % KWD_HANDOVER_SLOTS;
}

static bool same_key(const struct kwd_handover_key *a,
		     const struct kwd_handover_key *b)
{
	return a->uid == b->uid && a->pid == b->pid &&
	       strcmp(a->request_id, b->request_id) == 0 &&
	       strcmp(a->name.user, b->name.user) == 0 &&
	       strcmp(a->name.tenant, b->name.tenant) == 0 &&
	       strcmp(a->service, b->service) == 0;
}

/* A copy of a NULL-terminated role list; *OUT is NULL for none. */
static int copy_roles(char *const *roles, char ***out)
{
	size_t n = 0, i;
	char **copy;

	*out = NULL;
	if (roles == NULL)
		return 0;
	while (roles[n] != NULL)
		n++;
	copy = calloc(n + 1, sizeof(*copy));
	if (copy == NULL)
		return ENOMEM;
	for (i = 0; i < n; i++) {
		copy[i] = strdup(roles[i]);
		if (copy[i] == NULL) {
			kw_roles_free(copy);
			return ENOMEM;
		}
	}
	*out = copy;
	return 0;
}

static void slot_empty(struct kwd_handover_slot *s)
{
	kw_user_clear(&s->facts.user);
	memset(s, 0, sizeof(*s));
}

void kwd_handover_clear(struct kwd_handover *h)
{
	pthread_mutex_lock(&h->lock);
	for (size_t i = 0; i < KWD_HANDOVER_SLOTS; i++)
		slot_empty(&h->slots[i]);
	pthread_mutex_unlock(&h->lock);
}

void kwd_handover_put(struct kwd_handover *h,
		      const struct kwd_handover_key *key,
		      const struct kw_login_facts *facts, int ttl_s)
{
	struct kwd_handover_slot fresh = {.used = true, .key = *key};
	struct kwd_handover_slot *s;

	if (ttl_s <= 0)
		return;
	fresh.facts = *facts;
	/* the copy below owns its roles; allocate before taking the lock */
	if (copy_roles(facts->user.roles, &fresh.facts.user.roles) != 0)
		return;
	fresh.at = seconds_now();
	pthread_mutex_lock(&h->lock);
	s = &h->slots[slot_of(key)];
	slot_empty(s);
	*s = fresh;
	pthread_mutex_unlock(&h->lock);
}

bool kwd_handover_take(struct kwd_handover *h,
		       const struct kwd_handover_key *key, int ttl_s,
		       struct kw_login_facts *out)
{
	struct kwd_handover_slot *s;
	bool found = false;

	memset(out, 0, sizeof(*out));
	if (ttl_s <= 0)
		return false;
	pthread_mutex_lock(&h->lock);
	s = &h->slots[slot_of(key)];
	if (s->used && same_key(&s->key, key)) {
		double age = seconds_now() - s->at;

		if (age >= 0 && age < (double)ttl_s) {
			*out = s->facts; /* the roles move to OUT */
			s->facts.user.roles = NULL;
			found = true;
		}
		slot_empty(s); /* taken once, or too old to keep */
	}
	pthread_mutex_unlock(&h->lock);
	return found;
}
