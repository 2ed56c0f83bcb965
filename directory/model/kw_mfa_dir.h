/*
 * kw_mfa_dir.h - the directory side of TOTP: secrets, steps, recovery codes,
 * tenant MFA policy.
 */
#ifndef KW_MFA_DIR_H
#define KW_MFA_DIR_H

#include "kw_dir.h"

#endif
