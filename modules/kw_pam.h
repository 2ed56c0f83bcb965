/*
 * kw_pam.h - what the keyward PAM modules share: their arguments, the PAM
 * items of a request, the request id of a transaction, the call to
 * keywardd and the one log line of each decision.
 *
 * Linked into every pam_keyward_*.so as a static convenience library and
 * hidden by the version script, so none of these names leaves a module.
 * Nothing here keeps state outside the PAM handle: two threads with two
 * handles never share anything.
 */
#ifndef KW_PAM_H
#define KW_PAM_H

#include <stdbool.h>
#include <stddef.h>

#include <security/pam_modules.h>

#include "kw_proto.h"

/* The longest socket path that fits a sockaddr_un, without the NUL. */
#define KW_PAM_SOCKET_MAX 107
#define KW_PAM_TIMEOUT_MAX_MS 120000

/* Which arguments a module takes besides socket=, timeout_ms=, debug. */
enum kw_pam_arg_set {
	KW_PAM_ARGS_PASSWORD, /* tenant=, use_first_pass, try_first_pass */
	KW_PAM_ARGS_ACCESS,   /* tenant=, role= */
	KW_PAM_ARGS_TOTP,     /* tenant= */
};

struct kw_pam_args {
	const char *socket_path; /* NULL: the default socket */
	int timeout_ms;
	const char *tenant; /* default tenant; NULL: none */
	bool debug;
	/* role=: comma-separated role names, empty for none required */
	char roles[KW_PROTO_ROLES_MAX + 1];
};

/*
 * Everything one decision's log line says.  Untrusted strings are
 * sanitized when the line is written, not here.
 */
struct kw_pam_ctx {
	pam_handle_t *pamh;
	const struct kw_pam_args *args;
	const char *request_id;
	/* "user@tenant" as the directory knows it, or NULL if unresolved */
	const char *canonical_user;
	const char *service;
	const char *rhost;
};

/*
 * Parse the module arguments into *ARGS_OUT.  An unknown argument, a
 * malformed value or one out of range is a configuration error: it is
 * logged and PAM_SERVICE_ERR returned, so that a typo never weakens a
 * stack.  Returns PAM_SUCCESS otherwise.
 */
int kw_pam_parse_args(pam_handle_t *pamh, enum kw_pam_arg_set set, int argc,
		      const char **argv, struct kw_pam_args *args_out);

/*
 * The request id of this PAM transaction: the one an earlier keyward
 * module stored on the handle, or a new one, stored for the next.
 * Returns a string owned by the handle, or NULL if none could be made.
 */
const char *kw_pam_request_id(pam_handle_t *pamh);

/*
 * The user as the directory spelled it in this transaction (kept on the
 * handle by a module that got OK or NEW_AUTHTOK_REQD), or NULL.
 */
const char *kw_pam_canonical_user(pam_handle_t *pamh);

/* Keep CANONICAL on the handle for later modules of the transaction. */
void kw_pam_set_canonical_user(pam_handle_t *pamh, const char *canonical);

/*
 * The ticket keywardd gave for this transaction's accepted password
 * (kept by pam_keyward_password), which pam_keyward_totp must show; NULL
 * if there is none.  Setting NULL forgets it: each password step starts
 * so, and only its own OK leaves a ticket.
 */
const char *kw_pam_ticket(pam_handle_t *pamh);
void kw_pam_set_ticket(pam_handle_t *pamh, const char *ticket);

/*
 * keywardd said, accepting this transaction's password for CANONICAL
 * (the canonical user), that the login has no one-time code to check:
 * pam_keyward_password keeps that, pam_keyward_totp then leaves its
 * round trip out.  kw_pam_no_code() is true only for the canonical user
 * and the ticket that the same password step left.  A NULL CANONICAL
 * forgets it: each password step starts so.
 */
void kw_pam_set_no_code(pam_handle_t *pamh, const char *canonical);
bool kw_pam_no_code(pam_handle_t *pamh);

/*
 * Put into REQ what this transaction's password step left: the canonical
 * user (in place of the name as typed) and the ticket; each only if it
 * is there and fits.
 */
void kw_pam_take_password_step(pam_handle_t *pamh, struct kw_request *req);

/*
 * Fill the user, service, rhost, tty, tenant and request id of REQ from
 * the PAM items and ARGS, and point CTX's fields at the same strings.
 * A user name longer than the protocol field is cut to the field's
 * length: it was longer than any valid name and still is, so keywardd
 * refuses and records it as it does any invalid name, and the client
 * sees the same steps as for every other refusal.  Returns PAM_SUCCESS,
 * PAM_INCOMPLETE if the application asks to be called again, or
 * PAM_SYSTEM_ERR / PAM_BAD_ITEM (logged) if a request cannot be made.
 */
int kw_pam_fill_request(pam_handle_t *pamh, const struct kw_pam_args *args,
			struct kw_request *req, struct kw_pam_ctx *ctx);

/*
 * Ask keywardd.  Returns 0 and the reply, or an errno value with a
 * sentence for the log in ERR (see kw_client_call).
 */
int kw_pam_call(const struct kw_pam_args *args, const struct kw_request *req,
		struct kw_reply *reply, char *err, size_t errlen);

/*
 * Log one line at PRIORITY through pam_syslog, after the context:
 * "rid=... user=... tenant=... service=... rhost=... <message>".  The
 * user appears in clear only when the directory resolved it: a name that
 * did not resolve may be a password typed into the wrong field.  LOG_DEBUG
 * lines are written only with the debug argument.
 */
void kw_pam_log(const struct kw_pam_ctx *ctx, int priority, const char *fmt,
		...) __attribute__((format(printf, 3, 4)));

/* "PAM_SUCCESS", "PAM_AUTH_ERR", ... for the log. */
const char *kw_pam_code_name(int code);

#endif
