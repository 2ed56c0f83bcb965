/*
 * fuzz_ldif.c - fuzz target for the LDIF reader and the placeholder
 * substitution of directory/model/kw_ldif.c.
 *
 * Invariants checked beyond "no crash": every parsed entry has a non-empty
 * DN without NUL, every attribute a valid name, and a substitution either
 * fails with a message or leaves no known placeholder behind.
 */
#include "config.h"

#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kw_ldif.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const pairs[] = {"BASE_DN", "o=keyward", "ROOT_DN",
					    "cn=root", NULL,        NULL};
	struct kw_ldif ldif;
	char err[256];
	char *text, *subst;
	size_t i, k;

	text = malloc(size + 1);
	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';

	if (kw_ldif_parse(text, size, &ldif, err, sizeof(err)) == 0) {
		for (i = 0; i < ldif.n; i++) {
			assert(ldif.entries[i].dn[0] != '\0');
			for (k = 0; k < ldif.entries[i].n_attrs; k++) {
				const struct kw_ldif_attr *a =
					&ldif.entries[i].attrs[k];

				assert(a->name[0] != '\0');
				assert(a->value[a->len] == '\0');
				assert(kw_ldif_find(&ldif.entries[i],
						    a->name) != NULL);
			}
		}
		kw_ldif_free(&ldif);
	} else {
		assert(ldif.n == 0 && ldif.entries == NULL);
		assert(err[0] != '\0');
	}

	subst = kw_ldif_substitute(text, pairs, err, sizeof(err));
	if (subst != NULL) {
		assert(strstr(subst, "@BASE_DN@") == NULL ||
		       strstr(text, "@BASE_DN@") == NULL);
		free(subst);
	}
	free(text);
	return 0;
}
