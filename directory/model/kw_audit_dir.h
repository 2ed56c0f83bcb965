/*
 * kw_audit_dir.h - the directory side of audit: records in each tenant's log,
 * reading, purging.
 */
#ifndef KW_AUDIT_DIR_H
#define KW_AUDIT_DIR_H

#include "kw_dir.h"

#endif
