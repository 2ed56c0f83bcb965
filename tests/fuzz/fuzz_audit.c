/*
 * fuzz_audit.c - fuzz target for the audit record decoder.
 *
 * The input is one candidate line.  Properties checked (a broken one
 * aborts):
 *
 *  - a line that fails to decode leaves the record zeroed;
 *  - a decoded record is valid, encodes back to exactly the input bytes
 *    (the encoding is canonical), and decodes again to the same record;
 *  - a decoded record with a tenant can be chained, and its chain of one
 *    verifies; one without a tenant is refused by the chain;
 *  - checking the record as the input gave it never crashes, and never
 *    passes unless its MAC really is the one computed under the key.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kw_audit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const unsigned char fuzz_key[KW_KEY_BYTES] = {
	0x6b, 0x65, 0x79, 0x77, 0x61, 0x72, 0x64, 0x2d, 0x66, 0x75, 0x7a,
	0x7a, 0x2d, 0x61, 0x75, 0x64, 0x69, 0x74, 0x2d, 0x63, 0x68, 0x61,
	0x69, 0x6e, 0x2d, 0x6b, 0x65, 0x79, 0x2d, 0x30, 0x30, 0x31,
};

static void check(int ok)
{
	if (!ok)
		abort();
}

static void fuzz_chain(const struct kw_audit_record *decoded)
{
	struct kw_audit_record r;
	struct kw_audit_verify report;
	int rc;

	rc = kw_audit_chain_check(fuzz_key, NULL, decoded, 1, &report);
	check(rc == 0 || rc == EBADMSG);
	if (rc == 0)
		check(decoded->seq == 1 && report.checked == 1);

	memcpy(&r, decoded, sizeof(r));
	rc = kw_audit_chain_next(fuzz_key, &r, 0, "");
	if (decoded->tenant[0] == '\0') {
		check(rc == EINVAL);
		check(memcmp(&r, decoded, sizeof(r)) == 0);
		return;
	}
	check(rc == 0 && r.seq == 1);
	check(kw_audit_chain_check(fuzz_key, NULL, &r, 1, &report) == 0);
	check(report.checked == 1 && report.fault == KW_AUDIT_INTACT);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct kw_audit_record zero;
	struct kw_audit_record r, again;
	char *line;
	size_t len = 0;

	if (kw_audit_decode((const char *)data, size, &r) != 0) {
		check(memcmp(&r, &zero, sizeof(r)) == 0);
		return 0;
	}
	check(kw_audit_record_check(&r) == 0);
	line = malloc(KW_AUDIT_LINE_MAX);
	if (line == NULL)
		abort();
	check(kw_audit_encode(&r, line, KW_AUDIT_LINE_MAX, &len) == 0);
	check(len == size && memcmp(line, data, size) == 0);
	check(kw_audit_decode(line, len, &again) == 0);
	check(memcmp(&r, &again, sizeof(r)) == 0);
	free(line);
	fuzz_chain(&r);
	return 0;
}
