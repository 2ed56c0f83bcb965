/*
 * kwadm_audit.c - "kwadm audit".
 */
#include "config.h"

#include "kwadm.h"

static const struct kwadm_command audit_commands[] = {
	{.name = NULL},
};

const struct kwadm_group kwadm_audit_group = {
	.name = "audit",
	.summary = "the log of every attempt: read, verify, purge",
	.commands = audit_commands,
};
