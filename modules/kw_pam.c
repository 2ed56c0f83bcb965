/*
 * kw_pam.c - the parts the keyward PAM modules share.
 *
 * Every piece of state lives on the PAM handle (pam_set_data) or on the
 * caller's stack; nothing is global, so handles in several threads of one
 * program never meet here.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include <security/pam_ext.h>
#include <security/pam_modules.h>

#include "kw_client.h"
#include "kw_log.h"
#include "kw_names.h"
#include "kw_pam.h"
#include "kw_proto.h"

/*
 * The names of the data kept on the handle.  NOTE: the keyward modules
 * read each other's data by these names; renaming one breaks the
 * hand-over between them.
 */
#define KW_PAM_DATA_REQUEST_ID "keyward.request_id"
#define KW_PAM_DATA_CANONICAL_USER "keyward.canonical_user"
#define KW_PAM_DATA_TICKET "keyward.ticket"
#define KW_PAM_DATA_NO_CODE "keyward.no_code"

/* The longest log line a decision writes, context included. */
#define KW_PAM_LINE_MAX 1024

/* Copy IN into OUT (OUTSZ bytes) only if it fits whole. */
static bool copy_whole(char *out, size_t outsz, const char *in)
{
	size_t len = strlen(in);

	if (len >= outsz)
		return false;
	memcpy(out, in, len + 1);
	return true;
}

/* ---- arguments --------------------------------------------------------- */

static int parse_timeout(const char *text, int *out)
{
	char *end = NULL;
	long value;

	if (text[0] < '0' || text[0] > '9')
		return EINVAL;
	errno = 0;
	value = strtol(text, &end, 10);
	if (errno != 0 || end == text || *end != '\0')
		return EINVAL;
	if (value < 1 || value > KW_PAM_TIMEOUT_MAX_MS)
		return ERANGE;
	*out = (int)value;
	return 0;
}

/*
 * Append the roles of one role= argument (NAME[,NAME...]) to ROLES.
 * Every name must be a valid role name: an empty list or an empty item
 * is an error rather than "no role required", so that `role=` with a
 * forgotten value does not open the service to everyone.
 */
static int append_roles(char *roles, size_t rolessz, const char *list)
{
	const char *p = list;

	if (*p == '\0')
		return EINVAL;
	while (*p != '\0') {
		const char *comma = strchr(p, ',');
		size_t len = comma != NULL ? (size_t)(comma - p) : strlen(p);
		size_t used = strlen(roles);
		char name[KW_ROLE_MAX + 1];

		if (len == 0 || len > KW_ROLE_MAX)
			return EINVAL;
		memcpy(name, p, len);
		name[len] = '\0';
		if (!kw_name_valid_role(name))
			return EINVAL;
		if (used + (used > 0) + len >= rolessz)
			return ERANGE;
		if (used > 0)
			roles[used++] = ',';
		memcpy(roles + used, name, len + 1);
		p += len;
		if (*p == ',') {
			p++;
			if (*p == '\0')
				return EINVAL;
		}
	}
	return 0;
}

static void log_bad_arg(pam_handle_t *pamh, const char *arg, const char *why)
{
	char clean[KW_LOG_FIELD_BUF];

	pam_syslog(pamh, LOG_ERR,
		   "configuration error: %s: %s; refusing every request "
		   "until the service file is fixed",
		   kw_log_sanitize(arg, clean, sizeof(clean)), why);
}

/* One argument.  Returns PAM_SUCCESS or PAM_SERVICE_ERR (logged). */
static int parse_one_arg(pam_handle_t *pamh, enum kw_pam_arg_set set,
			 const char *arg, struct kw_pam_args *args)
{
	if (strcmp(arg, "debug") == 0) {
		args->debug = true;
	} else if (strncmp(arg, "socket=", 7) == 0) {
		const char *path = arg + 7;

		if (path[0] != '/' || strlen(path) > KW_PAM_SOCKET_MAX) {
			log_bad_arg(pamh, arg,
				    "the socket must be an absolute path that "
				    "fits a socket address");
			return PAM_SERVICE_ERR;
		}
		args->socket_path = path;
	} else if (strncmp(arg, "timeout_ms=", 11) == 0) {
		if (parse_timeout(arg + 11, &args->timeout_ms) != 0) {
			log_bad_arg(pamh, arg,
				    "timeout_ms takes a whole number of "
				    "milliseconds from 1 to 120000");
			return PAM_SERVICE_ERR;
		}
	} else if (strncmp(arg, "tenant=", 7) == 0) {
		if (!kw_name_valid_tenant(arg + 7)) {
			log_bad_arg(pamh, arg, "not a valid tenant name");
			return PAM_SERVICE_ERR;
		}
		args->tenant = arg + 7;
	} else if (set == KW_PAM_ARGS_ACCESS && strncmp(arg, "role=", 5) == 0) {
		if (append_roles(args->roles, sizeof(args->roles), arg + 5) !=
		    0) {
			log_bad_arg(pamh, arg,
				    "role takes one or more valid role names, "
				    "separated by commas");
			return PAM_SERVICE_ERR;
		}
	} else if (set == KW_PAM_ARGS_PASSWORD &&
		   (strcmp(arg, "use_first_pass") == 0 ||
		    strcmp(arg, "try_first_pass") == 0)) {
		/* pam_get_authtok reads these two from the arguments itself. */
	} else {
		log_bad_arg(pamh, arg, "unknown argument");
		return PAM_SERVICE_ERR;
	}
	return PAM_SUCCESS;
}

int kw_pam_parse_args(pam_handle_t *pamh, enum kw_pam_arg_set set, int argc,
		      const char **argv, struct kw_pam_args *args_out)
{
	memset(args_out, 0, sizeof(*args_out));
	args_out->timeout_ms = KW_CLIENT_DEFAULT_TIMEOUT_MS;
	for (int i = 0; i < argc; i++) {
		int ret;

		if (argv[i] == NULL) {
			pam_syslog(pamh, LOG_ERR,
				   "configuration error: a "
				   "NULL module argument");
			return PAM_SERVICE_ERR;
		}
		ret = parse_one_arg(pamh, set, argv[i], args_out);
		if (ret != PAM_SUCCESS)
			return ret;
	}
	return PAM_SUCCESS;
}

/* ---- data on the handle ------------------------------------------------ */

static void free_string_data(pam_handle_t *pamh, void *data, int error_status)
{
	free(data);
}

/* Keep a copy of VALUE on the handle under NAME.  Returns a PAM code. */
static int set_string_data(pam_handle_t *pamh, const char *name,
			   const char *value)
{
	char *copy = strdup(value);
	int ret;

	if (copy == NULL)
		return PAM_BUF_ERR;
	ret = pam_set_data(pamh, name, copy, free_string_data);
	if (ret != PAM_SUCCESS)
		free(copy);
	return ret;
}

/*
 * Forget the string NAME.  Replacing the data of an entry that exists
 * frees the old copy and allocates nothing, so it cannot fail.
 */
static void clear_string_data(pam_handle_t *pamh, const char *name)
{
	const void *data = NULL;

	if (pam_get_data(pamh, name, &data) == PAM_SUCCESS && data != NULL)
		(void)pam_set_data(pamh, name, NULL, NULL);
}

/* The string NAME, or NULL for none (never set, or forgotten). */
static const char *get_string_data(pam_handle_t *pamh, const char *name)
{
	const void *data = NULL;

	if (pam_get_data(pamh, name, &data) != PAM_SUCCESS || data == NULL)
		return NULL;
	return data;
}

const char *kw_pam_request_id(pam_handle_t *pamh)
{
	char id[KW_PROTO_REQUEST_ID_LEN + 1];
	const char *stored = get_string_data(pamh, KW_PAM_DATA_REQUEST_ID);

	if (stored != NULL && stored[0] != '\0' &&
	    strlen(stored) <= KW_PROTO_REQUEST_ID_MAX)
		return stored;
	if (kw_proto_new_request_id(id, sizeof(id)) != 0)
		return NULL;
	if (set_string_data(pamh, KW_PAM_DATA_REQUEST_ID, id) != PAM_SUCCESS)
		return NULL;
	return get_string_data(pamh, KW_PAM_DATA_REQUEST_ID);
}

const char *kw_pam_canonical_user(pam_handle_t *pamh)
{
	return get_string_data(pamh, KW_PAM_DATA_CANONICAL_USER);
}

void kw_pam_set_canonical_user(pam_handle_t *pamh, const char *canonical)
{
	if (canonical == NULL || canonical[0] == '\0')
		return;
	/* Only the log uses it: failing to keep it changes no decision. */
	(void)set_string_data(pamh, KW_PAM_DATA_CANONICAL_USER, canonical);
}

const char *kw_pam_ticket(pam_handle_t *pamh)
{
	return get_string_data(pamh, KW_PAM_DATA_TICKET);
}

void kw_pam_set_ticket(pam_handle_t *pamh, const char *ticket)
{
	if (ticket == NULL || ticket[0] == '\0') {
		clear_string_data(pamh, KW_PAM_DATA_TICKET);
		return;
	}
	/* Without it the code step refuses: that fails closed. */
	(void)set_string_data(pamh, KW_PAM_DATA_TICKET, ticket);
}

void kw_pam_set_no_code(pam_handle_t *pamh, const char *canonical)
{
	if (canonical == NULL || canonical[0] == '\0') {
		clear_string_data(pamh, KW_PAM_DATA_NO_CODE);
		return;
	}
	/* Without it the code step asks keywardd: only slower. */
	(void)set_string_data(pamh, KW_PAM_DATA_NO_CODE, canonical);
}

bool kw_pam_no_code(pam_handle_t *pamh)
{
	const char *marked = get_string_data(pamh, KW_PAM_DATA_NO_CODE);
	const char *canonical = kw_pam_canonical_user(pamh);

	return marked != NULL && canonical != NULL &&
	       strcmp(marked, canonical) == 0 && kw_pam_ticket(pamh) != NULL;
}

void kw_pam_take_password_step(pam_handle_t *pamh, struct kw_request *req)
{
	const char *canonical = kw_pam_canonical_user(pamh);
	const char *ticket = kw_pam_ticket(pamh);

	if (canonical != NULL)
		(void)copy_whole(req->user, sizeof(req->user), canonical);
	if (ticket != NULL)
		(void)copy_whole(req->ticket, sizeof(req->ticket), ticket);
}

/* ---- the request ------------------------------------------------------- */

/* A PAM string item, or "" when it is unset. */
static const char *string_item(pam_handle_t *pamh, int type)
{
	const void *item = NULL;

	if (pam_get_item(pamh, type, &item) != PAM_SUCCESS || item == NULL)
		return "";
	return item;
}

int kw_pam_fill_request(pam_handle_t *pamh, const struct kw_pam_args *args,
			struct kw_request *req, struct kw_pam_ctx *ctx)
{
	const char *user = NULL;
	size_t user_len;
	int ret;

	ctx->pamh = pamh;
	ctx->args = args;
	ctx->service = string_item(pamh, PAM_SERVICE);
	ctx->rhost = string_item(pamh, PAM_RHOST);
	ctx->request_id = kw_pam_request_id(pamh);
	if (ctx->request_id == NULL) {
		kw_pam_log(ctx, LOG_CRIT, "cannot make a request id");
		return PAM_BUF_ERR;
	}

	ret = pam_get_user(pamh, &user, NULL);
	if (ret == PAM_CONV_AGAIN)
		return PAM_INCOMPLETE;
	if (ret != PAM_SUCCESS || user == NULL) {
		kw_pam_log(ctx, LOG_ERR, "no user name: %s",
			   pam_strerror(pamh, ret));
		return ret != PAM_SUCCESS ? ret : PAM_USER_UNKNOWN;
	}

	/* See the header: a cut name is still an invalid one. */
	user_len = strlen(user);
	if (user_len > KW_PROTO_USER_MAX)
		user_len = KW_PROTO_USER_MAX;
	memcpy(req->user, user, user_len);
	req->user[user_len] = '\0';

	req->request_id[0] = '\0';
	if (!copy_whole(req->service, sizeof(req->service), ctx->service) ||
	    !copy_whole(req->rhost, sizeof(req->rhost), ctx->rhost) ||
	    !copy_whole(req->tty, sizeof(req->tty),
			string_item(pamh, PAM_TTY)) ||
	    !copy_whole(req->request_id, sizeof(req->request_id),
			ctx->request_id)) {
		kw_pam_log(ctx, LOG_ERR,
			   "the service, remote host or tty item is longer "
			   "than the protocol allows");
		return PAM_BAD_ITEM;
	}
	if (req->service[0] == '\0') {
		kw_pam_log(ctx, LOG_ERR, "the application set no service");
		return PAM_BAD_ITEM;
	}
	if (args->tenant != NULL)
		copy_whole(req->default_tenant, sizeof(req->default_tenant),
			   args->tenant);
	return PAM_SUCCESS;
}

int kw_pam_call(const struct kw_pam_args *args, const struct kw_request *req,
		struct kw_reply *reply, char *err, size_t errlen)
{
	return kw_client_call(args->socket_path, args->timeout_ms, req, reply,
			      err, errlen);
}

/* ---- logging ----------------------------------------------------------- */

void kw_pam_log(const struct kw_pam_ctx *ctx, int priority, const char *fmt,
		...)
{
	char rid[KW_LOG_FIELD_BUF], user[KW_LOG_FIELD_BUF];
	char service[KW_LOG_FIELD_BUF], rhost[KW_LOG_FIELD_BUF];
	char tenant[KW_LOG_FIELD_BUF];
	char message[KW_PAM_LINE_MAX];
	const char *tenant_arg;
	va_list ap;

	if (priority == LOG_DEBUG && (ctx->args == NULL || !ctx->args->debug))
		return;
	va_start(ap, fmt);
	vsnprintf(message, sizeof(message), fmt, ap);
	va_end(ap);

	tenant_arg = ctx->args != NULL ? ctx->args->tenant : NULL;
	kw_log_sanitize(ctx->request_id != NULL ? ctx->request_id : "-", rid,
			sizeof(rid));
	kw_log_sanitize(ctx->canonical_user != NULL ? ctx->canonical_user
						    : "(unresolved)",
			user, sizeof(user));
	kw_log_sanitize(tenant_arg != NULL ? tenant_arg : "-", tenant,
			sizeof(tenant));
	kw_log_sanitize(ctx->service != NULL && ctx->service[0] != '\0'
				? ctx->service
				: "-",
			service, sizeof(service));
	kw_log_sanitize(ctx->rhost != NULL && ctx->rhost[0] != '\0' ? ctx->rhost
								    : "-",
			rhost, sizeof(rhost));
	pam_syslog(ctx->pamh, priority,
		   "rid=%s user=%s default_tenant=%s service=%s rhost=%s %s",
		   rid, user, tenant, service, rhost, message);
}

const char *kw_pam_code_name(int code)
{
	switch (code) {
	case PAM_SUCCESS:
		return "PAM_SUCCESS";
	case PAM_AUTH_ERR:
		return "PAM_AUTH_ERR";
	case PAM_AUTHINFO_UNAVAIL:
		return "PAM_AUTHINFO_UNAVAIL";
	case PAM_PERM_DENIED:
		return "PAM_PERM_DENIED";
	case PAM_NEW_AUTHTOK_REQD:
		return "PAM_NEW_AUTHTOK_REQD";
	case PAM_SERVICE_ERR:
		return "PAM_SERVICE_ERR";
	case PAM_USER_UNKNOWN:
		return "PAM_USER_UNKNOWN";
	case PAM_INCOMPLETE:
		return "PAM_INCOMPLETE";
	case PAM_BAD_ITEM:
		return "PAM_BAD_ITEM";
	case PAM_BUF_ERR:
		return "PAM_BUF_ERR";
	case PAM_SYSTEM_ERR:
		return "PAM_SYSTEM_ERR";
	case PAM_CONV_ERR:
		return "PAM_CONV_ERR";
	default:
		return "PAM_(other)";
	}
}
