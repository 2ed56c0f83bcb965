/*
 * kw_client.h - asking keywardd one question over its socket.
 *
 * Used by the PAM modules and the NSS module, so it keeps no global state,
 * installs no signal handlers, never raises SIGPIPE, opens every
 * descriptor with CLOEXEC and closes it before returning.  It is safe to
 * call from several threads at once.
 */
#ifndef KW_CLIENT_H
#define KW_CLIENT_H

#include <stddef.h>

#include "kw_proto.h"

#define KW_CLIENT_DEFAULT_SOCKET RUNSTATEDIR "/keyward/keywardd.sock"

/* A timeout for callers that have none of their own. */
#define KW_CLIENT_DEFAULT_TIMEOUT_MS 10000

/*
 * Connect to SOCKET_PATH (NULL: KW_CLIENT_DEFAULT_SOCKET), send REQ, wait
 * for the reply and decode it into *REPLY, all within TIMEOUT_MS (> 0).
 * The encoded request, which holds the password, is wiped as soon as it is
 * sent.  REQ itself is left to the caller to clear.
 *
 * Returns 0 when a well-formed reply to this request arrived (whatever its
 * status), or an errno value with a sentence for the log in ERR (ERRLEN
 * bytes, may be 0), never containing anything of REQ but the socket path:
 *
 *   ENOENT, ECONNREFUSED  keywardd is not running
 *   EACCES                the caller may not use the socket
 *   ETIMEDOUT             no whole reply within TIMEOUT_MS
 *   EPROTO                the reply was malformed, did not echo the request
 *                         id, or keywardd closed the connection early
 *   EINVAL                bad arguments, or REQ cannot be encoded
 *   ENAMETOOLONG          SOCKET_PATH does not fit a socket address
 *
 * or another errno of socket/connect.  On error *REPLY is cleared (status
 * DENIED), so that a caller who ignores the return value still refuses.
 */
int kw_client_call(const char *socket_path, int timeout_ms,
		   const struct kw_request *req, struct kw_reply *reply,
		   char *err, size_t errlen);

#endif
