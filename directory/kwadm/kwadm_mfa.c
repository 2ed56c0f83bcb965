/*
 * kwadm_mfa.c - "kwadm mfa".
 */
#include "config.h"

#include "kwadm.h"

static const struct kwadm_command mfa_commands[] = {
	{.name = NULL},
};

const struct kwadm_group kwadm_mfa_group = {
	.name = "mfa",
	.summary = "two-factor login: enrol, status, reset, recovery codes",
	.commands = mfa_commands,
};
