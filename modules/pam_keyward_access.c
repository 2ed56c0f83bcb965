/*
 * pam_keyward_access.c - may this user log in here now? (account)
 *
 * pam_sm_acct_mgmt: parse the arguments (role= names the roles of which
 * the user must hold one), ask keywardd with an ACCOUNT request, map the
 * answer, log the decision.  keywardd checks that the user is active,
 * the tenant is not suspended, a required role is held and the password
 * is not marked for change.
 *
 * Failing closed: when keywardd or the directory cannot be reached the
 * answer is PAM_PERM_DENIED, one of the codes pam_acct_mgmt(3) lists and
 * every application treats as a refusal; the log line says why.
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
static int account_result(int call_ret, enum kw_status status)
{
	if (call_ret != 0)
		return PAM_PERM_DENIED;
	switch (status) {
	case KW_STATUS_OK:
		return PAM_SUCCESS;
	case KW_STATUS_NEW_AUTHTOK_REQD:
		return PAM_NEW_AUTHTOK_REQD;
	case KW_STATUS_DENIED:
	case KW_STATUS_UNAVAILABLE:
	case KW_STATUS_BAD_REQUEST:
	default:
		return PAM_PERM_DENIED;
	}
}

static void log_decision(const struct kw_pam_ctx *ctx, int call_ret,
			 const struct kw_reply *reply, const char *err,
			 int result)
{
	const char *roles = ctx->args->roles[0] != '\0' ? ctx->args->roles
							: "(none required)";

	if (call_ret != 0) {
		kw_pam_log(ctx, LOG_ERR, "refused, fail closed: %s -> %s", err,
			   kw_pam_code_name(result));
	} else if (reply->status == KW_STATUS_UNAVAILABLE) {
		kw_pam_log(ctx, LOG_ERR,
			   "refused, fail closed: keywardd cannot reach the "
			   "directory -> %s",
			   kw_pam_code_name(result));
	} else if (result == PAM_SUCCESS) {
		kw_pam_log(ctx, LOG_INFO, "access granted, roles %s -> %s",
			   roles, kw_pam_code_name(result));
	} else if (result == PAM_NEW_AUTHTOK_REQD) {
		kw_pam_log(ctx, LOG_NOTICE, "password must be changed -> %s",
			   kw_pam_code_name(result));
	} else {
		kw_pam_log(ctx, LOG_NOTICE,
			   "access refused (%s), roles %s -> %s",
			   kw_proto_status_name(reply->status), roles,
			   kw_pam_code_name(result));
	}
}

/* Tell the user why they must change their password, if keywardd said. */
static void show_change_message(pam_handle_t *pamh, int flags,
				const struct kw_reply *reply)
{
	if ((flags & PAM_SILENT) != 0 || reply->message[0] == '\0')
		return;
	/* A conversation that cannot show text changes nothing. */
	(void)pam_info(pamh, "%s", reply->message);
}

PAM_EXTERN int pam_sm_acct_mgmt(pam_handle_t *pamh, int flags, int argc,
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

	/* 1. Arguments: a typo in role= must never open the service. */
	ret = kw_pam_parse_args(pamh, KW_PAM_ARGS_ACCESS, argc, argv, &args);
	if (ret != PAM_SUCCESS)
		goto done;
	ctx.args = &args;

	/* 2. Who, from where, in which transaction, needing which roles. */
	req.type = KW_PROTO_ACCOUNT;
	ret = kw_pam_fill_request(pamh, &args, &req, &ctx);
	if (ret != PAM_SUCCESS) {
		if (ret != PAM_INCOMPLETE && ret != PAM_BUF_ERR)
			ret = PAM_PERM_DENIED;
		goto done;
	}
	memcpy(req.roles, args.roles, sizeof(req.roles));
	ctx.canonical_user = kw_pam_canonical_user(pamh);

	/* 3. Ask keywardd and decide. */
	call_ret = kw_pam_call(&args, &req, &reply, err, sizeof(err));
	ret = account_result(call_ret, reply.status);
	if (ret == PAM_SUCCESS || ret == PAM_NEW_AUTHTOK_REQD) {
		kw_pam_set_canonical_user(pamh, reply.canonical_user);
		ctx.canonical_user = kw_pam_canonical_user(pamh);
	}

	/* 4. Record, and say what the user must do. */
	log_decision(&ctx, call_ret, &reply, err, ret);
	if (ret == PAM_NEW_AUTHTOK_REQD)
		show_change_message(pamh, flags, &reply);

done:
	kw_request_clear(&req);
	kw_reply_clear(&reply);
	return ret;
}
