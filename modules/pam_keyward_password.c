/*
 * pam_keyward_password.c - check a password through keywardd (auth).
 *
 * pam_sm_authenticate: parse the arguments, get the user and the password
 * (pam_get_authtok, so that use_first_pass and try_first_pass work as
 * Linux-PAM documents them), refuse an empty password, ask keywardd,
 * map its answer to a PAM code, log the decision, wipe.  A keywardd that
 * cannot be reached, or a directory that keywardd cannot reach, refuses
 * the login: nothing but an OK from keywardd ever gives PAM_SUCCESS, and
 * an empty password never does, whatever keywardd says (it gets the
 * attempt all the same, to record it, and refuses it before asking the
 * directory).
 *
 * Every refusal that depends on the account (unknown user, wrong
 * password, deactivated user, suspended tenant, an invalid name) returns
 * PAM_AUTH_ERR and shows the client nothing, so that it cannot tell them
 * apart; keywardd's log does.
 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <syslog.h>

#include <security/pam_ext.h>
#include <security/pam_modules.h>

#include "kw_pam.h"
#include "kw_proto.h"

/* Map a call's outcome to a PAM code.  The default refuses. */
static int auth_result(int call_ret, enum kw_status status)
{
	if (call_ret != 0)
		return PAM_AUTHINFO_UNAVAIL;
	switch (status) {
	case KW_STATUS_OK:
	/*
	 * The password is right but must be changed: authentication
	 * succeeds, and pam_keyward_access answers PAM_NEW_AUTHTOK_REQD in
	 * the account phase, as pam_unix does with an expired password.
	 */
	case KW_STATUS_NEW_AUTHTOK_REQD:
		return PAM_SUCCESS;
	case KW_STATUS_UNAVAILABLE:
		return PAM_AUTHINFO_UNAVAIL;
	case KW_STATUS_DENIED:
	case KW_STATUS_BAD_REQUEST:
	default:
		return PAM_AUTH_ERR;
	}
}

/* Get the password into REQ.  Returns a PAM code; logs a refusal. */
static int get_password(pam_handle_t *pamh, const struct kw_pam_ctx *ctx,
			struct kw_request *req)
{
	const char *password = NULL;
	size_t len;
	int ret;

	ret = pam_get_authtok(pamh, PAM_AUTHTOK, &password, NULL);
	if (ret == PAM_CONV_AGAIN)
		return PAM_INCOMPLETE;
	if (ret != PAM_SUCCESS || password == NULL) {
		kw_pam_log(ctx, LOG_NOTICE, "no password: %s",
			   pam_strerror(pamh, ret));
		return PAM_AUTH_ERR;
	}
	len = strlen(password);
	if (len > KW_PROTO_PASSWORD_MAX) {
		kw_pam_log(ctx, LOG_NOTICE,
			   "password longer than %d bytes refused",
			   KW_PROTO_PASSWORD_MAX);
		return PAM_AUTH_ERR;
	}
	memcpy(req->password, password, len + 1);
	return PAM_SUCCESS;
}

/* Log the decision: one line, at a level that says what it means. */
static void log_decision(const struct kw_pam_ctx *ctx, int call_ret,
			 const struct kw_reply *reply, const char *err,
			 int result)
{
	if (call_ret != 0) {
		kw_pam_log(ctx, LOG_ERR, "refused, fail closed: %s -> %s", err,
			   kw_pam_code_name(result));
	} else if (reply->status == KW_STATUS_UNAVAILABLE) {
		kw_pam_log(ctx, LOG_ERR,
			   "refused, fail closed: keywardd cannot reach the "
			   "directory -> %s",
			   kw_pam_code_name(result));
	} else if (result == PAM_SUCCESS) {
		kw_pam_log(ctx, LOG_INFO, "password accepted (%s) -> %s",
			   kw_proto_status_name(reply->status),
			   kw_pam_code_name(result));
	} else {
		kw_pam_log(ctx, LOG_NOTICE, "refused (%s) -> %s",
			   kw_proto_status_name(reply->status),
			   kw_pam_code_name(result));
	}
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
	/*
	 * What an earlier password step on this handle left is not this
	 * one's answer: only an OK from now on leaves a ticket, and says
	 * again that there is no code to check.
	 */
	kw_pam_set_ticket(pamh, NULL);
	kw_pam_set_no_code(pamh, NULL);

	/* 1. Arguments: a configuration error refuses everyone. */
	ret = kw_pam_parse_args(pamh, KW_PAM_ARGS_PASSWORD, argc, argv, &args);
	if (ret != PAM_SUCCESS)
		goto done;
	ctx.args = &args;

	/* 2. Who, from where, in which transaction. */
	req.type = KW_PROTO_AUTHENTICATE;
	ret = kw_pam_fill_request(pamh, &args, &req, &ctx);
	if (ret != PAM_SUCCESS) {
		if (ret != PAM_INCOMPLETE && ret != PAM_BUF_ERR)
			ret = PAM_AUTH_ERR;
		goto done;
	}

	/* 3. The password (an empty one is sent, to be recorded, and refused).
	 */
	ret = get_password(pamh, &ctx, &req);
	if (ret != PAM_SUCCESS)
		goto done;

	/* 4. Ask keywardd and decide. */
	call_ret = kw_pam_call(&args, &req, &reply, err, sizeof(err));
	ret = auth_result(call_ret, reply.status);
	/* An LDAP bind with an empty password is an anonymous success. */
	if (req.password[0] == '\0') {
		kw_pam_log(&ctx, LOG_NOTICE, "empty password refused");
		ret = PAM_AUTH_ERR;
		goto done;
	}
	if (ret == PAM_SUCCESS) {
		kw_pam_set_canonical_user(pamh, reply.canonical_user);
		kw_pam_set_ticket(pamh, reply.ticket);
		if (reply.no_code)
			kw_pam_set_no_code(pamh, reply.canonical_user);
		ctx.canonical_user = kw_pam_canonical_user(pamh);
	}

	/* 5. Record. */
	log_decision(&ctx, call_ret, &reply, err, ret);

done:
	kw_request_clear(&req);
	kw_reply_clear(&reply);
	return ret;
}

/*
 * This module establishes no credentials, so there is nothing to set
 * and nothing that could fail.  PAM_SUCCESS rather than PAM_IGNORE: in
 * an auth section made of keyward modules only, every module ignoring
 * pam_setcred makes libpam fail the call, and sshd ends the login on a
 * failed pam_setcred.
 */
PAM_EXTERN int pam_sm_setcred(pam_handle_t *pamh, int flags, int argc,
			      const char **argv)
{
	return PAM_SUCCESS;
}
