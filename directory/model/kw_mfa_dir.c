/*
 * kw_mfa_dir.c - see kw_mfa_dir.h.
 */
#include "config.h"

#include "kw_mfa_dir.h"
