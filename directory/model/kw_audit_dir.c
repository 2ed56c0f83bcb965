/*
 * kw_audit_dir.c - see kw_audit_dir.h.
 */
#include "config.h"

#include "kw_audit_dir.h"
