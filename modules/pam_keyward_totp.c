/*
 * pam_keyward_totp.c - the second factor: a one-time code (auth).
 *
 * Stacked after pam_keyward_password.  pam_sm_authenticate asks keywardd
 * what this login needs, then does it through the conversation:
 *
 *   NOT_ENROLLED   no token and none required (yet): PAM_IGNORE, so that
 *                  this module never lets in a user it did not check
 *                  (keywardd says so already when it accepts the
 *                  password, and then this module does not ask);
 *   CODE_REQUIRED  prompt for the code, send it, map the answer;
 *   ENROL          the tenant requires a token and lets users set one up
 *                  at login: show the QR code and key that keywardd made,
 *                  prompt for the first code, send it; on success show
 *                  the recovery codes, once.
 *
 * keywardd answers a TOTP request only for a login whose password it
 * accepted: pam_keyward_password keeps the ticket of that acceptance on
 * the handle, and this module shows it, so it must come after
 * pam_keyward_password in the same auth stack.  A code is
 * a secret while it is valid: it is prompted without echo, and wiped.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include <security/pam_ext.h>
#include <security/pam_modules.h>

#include "kw_pam.h"
#include "kw_proto.h"
#include "kw_secret.h"

#define DEFAULT_PROMPT "Verification code: "

/* Map the final answer to a PAM code.  The default refuses. */
static int code_result(int call_ret, enum kw_status status)
{
	if (call_ret != 0)
		return PAM_AUTHINFO_UNAVAIL;
	switch (status) {
	case KW_STATUS_OK:
		return PAM_SUCCESS;
	case KW_STATUS_UNAVAILABLE:
		return PAM_AUTHINFO_UNAVAIL;
	default:
		return PAM_AUTH_ERR;
	}
}

/* Show TEXT (keywardd's, for the user) through the conversation. */
static int show(pam_handle_t *pamh, const char *text)
{
	if (text[0] == '\0')
		return PAM_SUCCESS;
	return pam_info(pamh, "%s", text);
}

/* Prompt with PROMPT and put the answer into REQ->code. */
static int ask_code(pam_handle_t *pamh, const struct kw_pam_ctx *ctx,
		    const char *prompt, struct kw_request *req)
{
	char *answer = NULL;
	size_t len;
	int ret;

	ret = pam_prompt(pamh, PAM_PROMPT_ECHO_OFF, &answer, "%s",
			 prompt[0] != '\0' ? prompt : DEFAULT_PROMPT);
	if (ret != PAM_SUCCESS || answer == NULL) {
		kw_pam_log(ctx, LOG_NOTICE, "no code: %s",
			   pam_strerror(pamh, ret));
		kw_wipe_free_str(answer);
		return ret == PAM_CONV_AGAIN ? PAM_INCOMPLETE : PAM_AUTH_ERR;
	}
	/* a longer answer is no code: cut, keywardd refuses and records it */
	len = strnlen(answer, KW_PROTO_CODE_MAX);
	memcpy(req->code, answer, len);
	req->code[len] = '\0';
	req->code_given = true;
	kw_wipe_free_str(answer);
	return PAM_SUCCESS;
}

/* Send REQ with its code, and wipe the code. */
static int send_code(const struct kw_pam_args *args, struct kw_request *req,
		     struct kw_reply *reply, char *err, size_t errlen)
{
	int ret = kw_pam_call(args, req, reply, err, errlen);

	kw_wipe(req->code, sizeof(req->code));
	return ret;
}

static void log_result(const struct kw_pam_ctx *ctx, int call_ret,
		       const struct kw_reply *reply, const char *err,
		       const char *step, int result)
{
	if (call_ret != 0)
		kw_pam_log(ctx, LOG_ERR, "%s: refused, fail closed: %s -> %s",
			   step, err, kw_pam_code_name(result));
	else if (reply->status == KW_STATUS_UNAVAILABLE)
		kw_pam_log(ctx, LOG_ERR,
			   "%s: refused, fail closed: keywardd cannot reach "
			   "the directory -> %s",
			   step, kw_pam_code_name(result));
	else
		kw_pam_log(ctx, result == PAM_SUCCESS ? LOG_INFO : LOG_NOTICE,
			   "%s: %s -> %s", step,
			   kw_proto_status_name(reply->status),
			   kw_pam_code_name(result));
}

/* What keywardd said the login needs, done.  Returns the PAM code. */
static int follow_up(pam_handle_t *pamh, int flags,
		     const struct kw_pam_args *args,
		     const struct kw_pam_ctx *ctx, struct kw_request *req,
		     struct kw_reply *reply)
{
	bool enrol = reply->status == KW_STATUS_ENROL;
	char prompt[KW_PROTO_MESSAGE_MAX + 1], err[512];
	int call_ret, ret;

	if (enrol && (flags & PAM_SILENT)) {
		kw_pam_log(ctx, LOG_NOTICE,
			   "enrolment needs the conversation, and the "
			   "application asked for silence -> PAM_AUTH_ERR");
		return PAM_AUTH_ERR;
	}
	if (enrol) {
		ret = show(pamh, reply->info);
		if (ret != PAM_SUCCESS)
			return PAM_AUTH_ERR;
	}
	memcpy(prompt, reply->message, sizeof(prompt));
	kw_reply_clear(reply); /* the enrolment's key leaves memory */
	ret = ask_code(pamh, ctx, prompt, req);
	if (ret != PAM_SUCCESS)
		return ret;
	call_ret = send_code(args, req, reply, err, sizeof(err));
	ret = code_result(call_ret, reply->status);
	log_result(ctx, call_ret, reply, err, enrol ? "enrolment" : "code",
		   ret);
	if (ret == PAM_SUCCESS && enrol && !(flags & PAM_SILENT))
		show(pamh, reply->info); /* the recovery codes, once */
	return ret;
}

PAM_EXTERN int pam_sm_authenticate(pam_handle_t *pamh, int flags, int argc,
				   const char **argv)
{
	struct kw_pam_args args;
	struct kw_pam_ctx ctx = {.pamh = pamh};
	struct kw_request req;
	struct kw_reply reply;
	char err[512];
	int call_ret, ret;

	kw_request_clear(&req);
	kw_reply_clear(&reply);

	/* 1. Arguments: a configuration error refuses everyone. */
	ret = kw_pam_parse_args(pamh, KW_PAM_ARGS_TOTP, argc, argv, &args);
	if (ret != PAM_SUCCESS)
		goto done;
	ctx.args = &args;

	/* 2. Who, from where, in which transaction. */
	req.type = KW_PROTO_TOTP;
	ret = kw_pam_fill_request(pamh, &args, &req, &ctx);
	if (ret != PAM_SUCCESS) {
		if (ret != PAM_INCOMPLETE && ret != PAM_BUF_ERR)
			ret = PAM_AUTH_ERR;
		goto done;
	}
	/*
	 * The user as the password check resolved it ("alice" with a
	 * default tenant is "alice@acme" there), so that this line needs
	 * no tenant= of its own.
	 */
	ctx.canonical_user = kw_pam_canonical_user(pamh);
	kw_pam_take_password_step(pamh, &req);

	/*
	 * 3. What does this login need?  Nothing, if keywardd said so when
	 * it accepted the password of this transaction: no token, none
	 * required.  It would answer NOT_ENROLLED now; not asking saves a
	 * round trip and a directory search.
	 */
	if (kw_pam_no_code(pamh)) {
		kw_pam_log(&ctx, LOG_INFO,
			   "no token, none required (said with the password) "
			   "-> PAM_IGNORE");
		ret = PAM_IGNORE;
		goto done;
	}
	call_ret = kw_pam_call(&args, &req, &reply, err, sizeof(err));
	if (call_ret == 0 && reply.status == KW_STATUS_NOT_ENROLLED) {
		kw_pam_log(&ctx, LOG_INFO,
			   "no token, none required -> "
			   "PAM_IGNORE");
		ret = PAM_IGNORE;
		goto done;
	}
	if (call_ret != 0 || (reply.status != KW_STATUS_CODE_REQUIRED &&
			      reply.status != KW_STATUS_ENROL)) {
		/* an OK here would be a code nobody typed: refuse it too */
		ret = call_ret == 0 && reply.status == KW_STATUS_OK
			      ? PAM_AUTH_ERR
			      : code_result(call_ret, reply.status);
		log_result(&ctx, call_ret, &reply, err, "ask", ret);
		goto done;
	}

	/* 4. Ask the user, and keywardd again. */
	ret = follow_up(pamh, flags, &args, &ctx, &req, &reply);

done:
	kw_request_clear(&req);
	kw_reply_clear(&reply);
	return ret;
}

/* No credentials to set (see pam_keyward_password). */
PAM_EXTERN int pam_sm_setcred(pam_handle_t *pamh, int flags, int argc,
			      const char **argv)
{
	return PAM_SUCCESS;
}
