/*
 * fuzz_proto.c - fuzz target for the protocol decoders.
 *
 * Any input is handed to both decoders and to kw_proto_frame_length.
 * Nothing may crash, and whatever decodes must survive a round trip: it
 * encodes without error, the encoding decodes to the same structure, and
 * encoding that again gives the same bytes (the encoding is canonical).
 * A broken property aborts, which the fuzzer and the replay test report.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kw_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok)
{
	if (!ok)
		abort();
}

static void fuzz_request(const uint8_t *data, size_t size)
{
	static uint8_t buf[KW_PROTO_REQUEST_FRAME_MAX];
	static uint8_t again[KW_PROTO_REQUEST_FRAME_MAX];
	struct kw_request first, second;
	size_t len = 0, len2 = 0;
	int ret;

	ret = kw_proto_decode_request(data, size, &first);
	check(ret == 0 || ret == EINVAL || ret == EPROTO || ret == EMSGSIZE);
	if (ret != 0)
		return;
	check(kw_proto_encode_request(&first, buf, sizeof(buf), &len) == 0);
	check(len <= size);
	check(kw_proto_decode_request(buf, len, &second) == 0);
	check(memcmp(&first, &second, sizeof(first)) == 0);
	check(kw_proto_encode_request(&second, again, sizeof(again), &len2) ==
	      0);
	check(len == len2 && memcmp(buf, again, len) == 0);
	kw_request_clear(&first);
	kw_request_clear(&second);
}

static void fuzz_reply(const uint8_t *data, size_t size)
{
	static uint8_t buf[KW_PROTO_REPLY_FRAME_MAX];
	static uint8_t again[KW_PROTO_REPLY_FRAME_MAX];
	struct kw_reply first, second;
	size_t len = 0, len2 = 0;
	int ret;

	ret = kw_proto_decode_reply(data, size, &first);
	check(ret == 0 || ret == EINVAL || ret == EPROTO || ret == EMSGSIZE);
	if (ret != 0)
		return;
	check(kw_proto_encode_reply(&first, buf, sizeof(buf), &len) == 0);
	check(len <= size);
	check(kw_proto_decode_reply(buf, len, &second) == 0);
	check(memcmp(&first, &second, sizeof(first)) == 0);
	check(kw_proto_encode_reply(&second, again, sizeof(again), &len2) == 0);
	check(len == len2 && memcmp(buf, again, len) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t frame_len;

	if (kw_proto_frame_length(data, size, &frame_len) == 0)
		check(frame_len >= KW_PROTO_HEADER_LEN &&
		      frame_len <= KW_PROTO_HEADER_LEN + KW_PROTO_MAX_BODY);
	fuzz_request(data, size);
	fuzz_reply(data, size);
	return 0;
}
