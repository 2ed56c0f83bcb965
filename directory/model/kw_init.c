/*
 * kw_init.c - prepare a slapd for keyward over cn=config.
 *
 * Runs as root over ldapi:// (SASL EXTERNAL).  Each step first looks at
 * what is there and changes only what differs, so that a second run
 * changes nothing:
 *
 *   1. modules back_mdb and ppolicy are loaded;
 *   2. the standard schemas keyward builds on (cosine, nis, inetorgperson)
 *      and keyward's own schema are present;
 *   3. the tenants' database exists, with the indexes, size limit and
 *      access rules of keyward-database.ldif.in, and its ppolicy overlay;
 *   4. the base entries of keyward-base.ldif.in exist;
 *   5. the service identity's password is the one in the bind secret
 *      file (generated when the file does not exist yet).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kw_dir_internal.h"
#include "kw_ldif.h"
#include "kw_log.h"
#include "kw_secret.h"

/* Debian's slapd keeps its modules and standard schemas here. */
#ifndef KW_SLAPD_MODULE_DIR
#define KW_SLAPD_MODULE_DIR "/usr/lib/ldap"
#endif
#ifndef KW_SLAPD_SCHEMA_DIR
#define KW_SLAPD_SCHEMA_DIR "/etc/ldap/schema"
#endif

#define KW_DATABASE_TEMPLATE "keyward-database.ldif.in"
#define KW_BASE_TEMPLATE "keyward-base.ldif.in"

/* Attributes of the database entry that init keeps as the template says. */
static const char *const managed_db_attrs[] = {
	"olcAccess", "olcDbIndex", "olcDbMaxSize",
	"olcLimits", "olcRootDN",  NULL,
};

struct init {
	struct kw_dir *dir;
	const struct kw_config *cfg;
	void (*progress)(const char *line);
	char *err;
	size_t errlen;
	char root_dn[KW_DN_MAX];
};

static void say(struct init *in, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void say(struct init *in, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	if (in->progress == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	in->progress(line);
}

static int fail(struct init *in, int rc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(struct init *in, int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(in->err, in->errlen, fmt, ap);
	va_end(ap);
	return rc;
}

static int fail_dir(struct init *in, int rc)
{
	return fail(in, rc, "%s", kw_dir_error(in->dir));
}

/* "{3}name.la" -> "name" */
static void bare_name(const char *v, char *out, size_t outsz)
{
	const char *p = v;
	size_t n;

	if (*p == '{') {
		const char *q = strchr(p, '}');

		if (q != NULL)
			p = q + 1;
	}
	n = strlen(p);
	if (n > 3 && strcmp(p + n - 3, ".la") == 0)
		n -= 3;
	if (n > 3 && strcmp(p + n - 3, ".so") == 0)
		n -= 3;
	snprintf(out, outsz, "%.*s", (int)n, p);
}

/* Turn an LDIF entry into LDAPMods (binary-safe) for an add. */
static LDAPMod **entry_mods(const struct kw_ldif_entry *e, bool skip_rdn_db)
{
	LDAPMod **mods = calloc(e->n_attrs + 1, sizeof(*mods));
	size_t i, n = 0;

	if (mods == NULL)
		return NULL;
	for (i = 0; i < e->n_attrs; i++) {
		struct berval *bv;
		LDAPMod *m = NULL;
		size_t k, count;

		if (skip_rdn_db &&
		    strcasecmp(e->attrs[i].name, "olcDatabase") == 0)
			continue;
		for (k = 0; k < n; k++)
			if (strcasecmp(mods[k]->mod_type, e->attrs[i].name) ==
			    0)
				m = mods[k];
		if (m == NULL) {
			m = calloc(1, sizeof(*m));
			if (m == NULL)
				goto oom;
			m->mod_op = LDAP_MOD_ADD | LDAP_MOD_BVALUES;
			m->mod_type = e->attrs[i].name;
			mods[n++] = m;
		}
		for (count = 0; m->mod_bvalues && m->mod_bvalues[count];
		     count++)
			;
		bv = malloc(sizeof(*bv));
		if (bv == NULL)
			goto oom;
		bv->bv_val = e->attrs[i].value;
		bv->bv_len = e->attrs[i].len;
		{
			struct berval **nv = realloc(m->mod_bvalues,
						     (count + 2) * sizeof(*nv));

			if (nv == NULL) {
				free(bv);
				goto oom;
			}
			nv[count] = bv;
			nv[count + 1] = NULL;
			m->mod_bvalues = nv;
		}
	}
	return mods;
oom:
	for (i = 0; mods[i] != NULL; i++) {
		size_t k;

		for (k = 0; mods[i]->mod_bvalues && mods[i]->mod_bvalues[k];
		     k++)
			free(mods[i]->mod_bvalues[k]);
		free(mods[i]->mod_bvalues);
		free(mods[i]);
	}
	free(mods);
	return NULL;
}

static void free_mods(LDAPMod **mods)
{
	size_t i, k;

	if (mods == NULL)
		return;
	for (i = 0; mods[i] != NULL; i++) {
		for (k = 0; mods[i]->mod_bvalues && mods[i]->mod_bvalues[k];
		     k++)
			free(mods[i]->mod_bvalues[k]);
		free(mods[i]->mod_bvalues);
		free(mods[i]);
	}
	free(mods);
}

/* Add entry E under DN (or E's own dn); EEXIST when it is there. */
static int add_ldif_entry(struct init *in, const struct kw_ldif_entry *e,
			  const char *dn, bool skip_rdn_db)
{
	LDAPMod **mods = entry_mods(e, skip_rdn_db);
	int rc;

	if (mods == NULL)
		return fail(in, ENOMEM, "out of memory");
	rc = ldap_add_ext_s(in->dir->ld, dn ? dn : e->dn, mods, NULL, NULL);
	free_mods(mods);
	rc = kw_dir_fail(in->dir, rc, dn ? dn : e->dn);
	return rc;
}

static int load_ldif(struct init *in, const char *path,
		     const char *const *pairs, struct kw_ldif *out)
{
	char *text = NULL, *subst = NULL, perr[256];
	size_t len;
	int rc;

	rc = kw_ldif_read_file(path, &text, &len, perr, sizeof(perr));
	if (rc)
		return fail(in, rc, "%s", perr);
	if (pairs != NULL) {
		subst = kw_ldif_substitute(text, pairs, perr, sizeof(perr));
		free(text);
		if (subst == NULL)
			return fail(in, EINVAL, "%s: %s", path, perr);
		text = subst;
		len = strlen(text);
	}
	rc = kw_ldif_parse(text, len, out, perr, sizeof(perr));
	free(text);
	if (rc)
		return fail(in, rc, "%s: %s", path, perr);
	if (out->n == 0) {
		kw_ldif_free(out);
		return fail(in, EINVAL, "%s: no entry", path);
	}
	return 0;
}

/* ---- 1. modules ---------------------------------------------------- */

static int ensure_modules(struct init *in)
{
	static const char *const wanted[] = {"back_mdb", "ppolicy"};
	char *attrs[] = {(char *)"olcModuleLoad", NULL};
	LDAPMessage *res, *e;
	char dn[KW_DN_MAX] = "";
	bool have[2] = {false, false};
	struct kw_mods m;
	size_t i;
	int rc;

	rc = kw_dir_search(in->dir, "cn=config", LDAP_SCOPE_ONELEVEL,
			   "(objectClass=olcModuleList)", attrs, &res);
	if (rc)
		return fail_dir(in, rc);
	for (e = ldap_first_entry(in->dir->ld, res); e != NULL;
	     e = ldap_next_entry(in->dir->ld, e)) {
		struct berval **v;
		char *edn = ldap_get_dn(in->dir->ld, e);

		if (dn[0] == '\0' && edn != NULL)
			snprintf(dn, sizeof(dn), "%s", edn);
		ldap_memfree(edn);
		v = ldap_get_values_len(in->dir->ld, e, "olcModuleLoad");
		for (size_t k = 0; v != NULL && v[k] != NULL; k++) {
			char name[64], raw[64];

			snprintf(raw, sizeof(raw), "%.*s", (int)v[k]->bv_len,
				 v[k]->bv_val);
			bare_name(raw, name, sizeof(name));
			for (i = 0; i < 2; i++)
				if (strcmp(name, wanted[i]) == 0)
					have[i] = true;
		}
		ldap_value_free_len(v);
	}
	ldap_msgfree(res);

	kw_mods_init(&m);
	for (i = 0; i < 2; i++) {
		if (have[i])
			say(in, "module %s: loaded", wanted[i]);
		else
			kw_mods_add(&m, LDAP_MOD_ADD, "olcModuleLoad",
				    wanted[i]);
	}
	if (m.n == 0)
		return 0;
	if (dn[0] == '\0') {
		kw_mods_add(&m, LDAP_MOD_ADD, "objectClass", "olcModuleList");
		kw_mods_add(&m, LDAP_MOD_ADD, "cn", "module");
		kw_mods_add(&m, LDAP_MOD_ADD, "olcModulePath",
			    KW_SLAPD_MODULE_DIR);
		rc = kw_dir_add_entry(in->dir, "cn=module,cn=config", &m,
				      "load modules");
	} else {
		rc = kw_dir_modify(in->dir, dn, &m, "load modules");
	}
	if (rc)
		return fail_dir(in, rc);
	for (i = 0; i < 2; i++)
		if (!have[i])
			say(in, "module %s: loaded now", wanted[i]);
	return 0;
}

/* ---- 2. schema ----------------------------------------------------- */

static int schema_present(struct init *in, const char *name, bool *present)
{
	char *attrs[] = {(char *)"cn", NULL};
	LDAPMessage *res, *e;
	int rc;

	*present = false;
	rc = kw_dir_search(in->dir, "cn=schema,cn=config", LDAP_SCOPE_ONELEVEL,
			   "(objectClass=olcSchemaConfig)", attrs, &res);
	if (rc)
		return fail_dir(in, rc);
	for (e = ldap_first_entry(in->dir->ld, res); e != NULL;
	     e = ldap_next_entry(in->dir->ld, e)) {
		char cn[128], bare[128];

		if (!kw_attr_str(in->dir->ld, e, "cn", cn, sizeof(cn)))
			continue;
		bare_name(cn, bare, sizeof(bare));
		if (strcasecmp(bare, name) == 0)
			*present = true;
	}
	ldap_msgfree(res);
	return 0;
}

static int ensure_schema(struct init *in, const char *name, const char *path)
{
	struct kw_ldif ldif;
	bool present;
	int rc;

	rc = schema_present(in, name, &present);
	if (rc)
		return rc;
	if (present) {
		say(in, "schema %s: present", name);
		return 0;
	}
	rc = load_ldif(in, path, NULL, &ldif);
	if (rc)
		return rc;
	rc = add_ldif_entry(in, &ldif.entries[0], NULL, false);
	kw_ldif_free(&ldif);
	if (rc)
		return fail(in, rc, "schema %s from %s: %s", name, path,
			    kw_dir_error(in->dir));
	say(in, "schema %s: added from %s", name, path);
	return 0;
}

/* ---- 3. database --------------------------------------------------- */

static int find_database(struct init *in, char *dn, size_t dnsz)
{
	char *attrs[] = {(char *)"olcDatabase", NULL};
	char filter[KW_DN_MAX * 3 + 64], esc[KW_DN_MAX * 3];
	const char *base = in->cfg->base_dn;
	LDAPMessage *res, *e;
	int rc;

	if (kw_escape_filter(base, strlen(base), esc, sizeof(esc)) < 0)
		return fail(in, EINVAL, "base %s is too long", base);
	snprintf(filter, sizeof(filter),
		 "(&(objectClass=olcDatabaseConfig)(olcSuffix=%s))", esc);
	rc = kw_dir_search(in->dir, "cn=config", LDAP_SCOPE_ONELEVEL, filter,
			   attrs, &res);
	if (rc)
		return fail_dir(in, rc);
	e = ldap_first_entry(in->dir->ld, res);
	if (e == NULL) {
		ldap_msgfree(res);
		return ENOENT;
	}
	{
		char *d = ldap_get_dn(in->dir->ld, e);

		snprintf(dn, dnsz, "%s", d ? d : "");
		ldap_memfree(d);
	}
	ldap_msgfree(res);
	return 0;
}

/*
 * Create the database directory, owned by the user slapd runs as (the
 * peer of our ldapi:// socket), so that slapd can open it.
 */
static int make_db_directory(struct init *in)
{
	const char *path = in->cfg->db_directory;
	struct ucred peer;
	socklen_t plen = sizeof(peer);
	struct stat st;
	int fd = -1;

	if (stat(path, &st) == 0) {
		if (!S_ISDIR(st.st_mode))
			return fail(in, ENOTDIR, "%s: not a directory", path);
		return 0;
	}
	if (mkdir(path, 0700) != 0)
		return fail(in, errno, "cannot create %s: %s", path,
			    strerror(errno));
	if (ldap_get_option(in->dir->ld, LDAP_OPT_DESC, &fd) == 0 && fd >= 0 &&
	    getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &peer, &plen) == 0 &&
	    chown(path, peer.uid, peer.gid) != 0)
		return fail(in, errno, "cannot give %s to slapd (uid %u): %s",
			    path, (unsigned)peer.uid, strerror(errno));
	say(in, "database directory %s: created", path);
	return 0;
}

/* Values of ATTR on the entry at DN, "{n}" prefixes removed, joined. */
static int current_values(struct init *in, const char *dn, const char *attr,
			  char **joined)
{
	char *attrs[] = {(char *)attr, NULL};
	LDAPMessage *res, *e;
	struct berval **v;
	size_t cap = 1, len = 0, k;
	char *out;
	int rc;

	rc = kw_dir_read(in->dir, dn, attrs, &res, &e);
	if (rc)
		return fail_dir(in, rc);
	v = ldap_get_values_len(in->dir->ld, e, attr);
	for (k = 0; v != NULL && v[k] != NULL; k++)
		cap += v[k]->bv_len + 1;
	out = malloc(cap);
	if (out == NULL) {
		ldap_value_free_len(v);
		ldap_msgfree(res);
		return ENOMEM;
	}
	for (k = 0; v != NULL && v[k] != NULL; k++) {
		const char *s = v[k]->bv_val;
		size_t n = v[k]->bv_len;

		if (n > 0 && s[0] == '{') {
			const char *q = memchr(s, '}', n);

			if (q != NULL) {
				n -= (size_t)(q + 1 - s);
				s = q + 1;
			}
		}
		memcpy(out + len, s, n);
		len += n;
		out[len++] = '\n';
	}
	out[len] = '\0';
	ldap_value_free_len(v);
	ldap_msgfree(res);
	*joined = out;
	return 0;
}

/* Squeeze runs of white space, so that slapd's reformatting compares. */
static void squeeze(char *s)
{
	char *w = s;
	bool space = false;

	for (; *s != '\0'; s++) {
		if (*s == ' ' || *s == '\t') {
			space = true;
			continue;
		}
		if (space && w != s)
			*w++ = ' ';
		space = false;
		*w++ = *s;
	}
	*w = '\0';
}

/* Make ATTR of DN hold exactly the template's values. */
static int sync_attr(struct init *in, const char *dn,
		     const struct kw_ldif_entry *t, const char *attr)
{
	char *have = NULL, *want;
	size_t cap = 1, len = 0, i, k = 0;
	struct berval **bv;
	LDAPMod mod, *mods[2] = {&mod, NULL};
	bool same;
	int rc;

	for (i = 0; i < t->n_attrs; i++)
		if (strcasecmp(t->attrs[i].name, attr) == 0)
			cap += t->attrs[i].len + 1, k++;
	if (k == 0)
		return 0;
	want = malloc(cap);
	bv = calloc(k + 1, sizeof(*bv));
	if (want == NULL || bv == NULL) {
		free(want);
		free(bv);
		return fail(in, ENOMEM, "out of memory");
	}
	for (i = 0, k = 0; i < t->n_attrs; i++) {
		if (strcasecmp(t->attrs[i].name, attr) != 0)
			continue;
		memcpy(want + len, t->attrs[i].value, t->attrs[i].len);
		len += t->attrs[i].len;
		want[len++] = '\n';
		bv[k] = malloc(sizeof(**bv));
		if (bv[k] == NULL)
			break;
		bv[k]->bv_val = t->attrs[i].value;
		bv[k]->bv_len = t->attrs[i].len;
		k++;
	}
	want[len] = '\0';
	rc = current_values(in, dn, attr, &have);
	if (rc == 0) {
		squeeze(have);
		squeeze(want);
		same = strcasecmp(have, want) == 0;
		if (same) {
			say(in, "database %s: as configured", attr);
		} else {
			mod.mod_op = LDAP_MOD_REPLACE | LDAP_MOD_BVALUES;
			mod.mod_type = (char *)attr;
			mod.mod_bvalues = bv;
			rc = ldap_modify_ext_s(in->dir->ld, dn, mods, NULL,
					       NULL);
			rc = kw_dir_fail(in->dir, rc, attr);
			if (rc)
				fail(in, rc, "%s: %s", dn,
				     kw_dir_error(in->dir));
			else
				say(in, "database %s: updated", attr);
		}
	}
	for (i = 0; bv[i] != NULL; i++)
		free(bv[i]);
	free(bv);
	free(want);
	free(have);
	return rc;
}

static int ensure_overlay(struct init *in, const char *db_dn,
			  const struct kw_ldif_entry *t)
{
	char *attrs[] = {(char *)"olcOverlay", NULL};
	char dn[2 * KW_DN_MAX];
	bool found;
	const struct kw_ldif_attr *ov = kw_ldif_find(t, "olcOverlay");
	LDAPMessage *res, *e;
	size_t i;
	int rc;

	rc = kw_dir_search(in->dir, db_dn, LDAP_SCOPE_ONELEVEL,
			   "(objectClass=olcPPolicyConfig)", attrs, &res);
	if (rc)
		return fail_dir(in, rc);
	e = ldap_first_entry(in->dir->ld, res);
	found = e != NULL;
	if (found) {
		char *d = ldap_get_dn(in->dir->ld, e);

		snprintf(dn, sizeof(dn), "%s", d ? d : "");
		ldap_memfree(d);
	}
	ldap_msgfree(res);
	if (!found) {
		snprintf(dn, sizeof(dn), "olcOverlay=%s,%s",
			 ov != NULL ? ov->value : "ppolicy", db_dn);
		rc = add_ldif_entry(in, t, dn, false);
		if (rc)
			return fail_dir(in, rc);
		say(in, "password policy overlay: added");
		return 0;
	}
	for (i = 0; i < t->n_attrs; i++) {
		const char *a = t->attrs[i].name;

		if (strcasecmp(a, "objectClass") == 0 ||
		    strcasecmp(a, "olcOverlay") == 0 ||
		    kw_ldif_find(t, a) != &t->attrs[i])
			continue;
		rc = sync_attr(in, dn, t, a);
		if (rc)
			return rc;
	}
	return 0;
}

static int ensure_database(struct init *in, const char *tdir,
			   const char *const *pairs)
{
	char path[4096], db_dn[KW_DN_MAX];
	struct kw_ldif ldif;
	size_t i;
	int rc;

	snprintf(path, sizeof(path), "%s/%s", tdir, KW_DATABASE_TEMPLATE);
	rc = load_ldif(in, path, pairs, &ldif);
	if (rc)
		return rc;
	rc = find_database(in, db_dn, sizeof(db_dn));
	if (rc == ENOENT) {
		rc = make_db_directory(in);
		if (rc == 0) {
			rc = add_ldif_entry(in, &ldif.entries[0], NULL, false);
			if (rc)
				fail_dir(in, rc);
		}
		if (rc == 0)
			rc = find_database(in, db_dn, sizeof(db_dn));
		if (rc == 0)
			say(in, "database %s: created as %s", in->cfg->base_dn,
			    db_dn);
	} else if (rc == 0) {
		say(in, "database %s: present as %s", in->cfg->base_dn, db_dn);
		for (i = 0; rc == 0 && managed_db_attrs[i] != NULL; i++)
			rc = sync_attr(in, db_dn, &ldif.entries[0],
				       managed_db_attrs[i]);
	}
	for (i = 1; rc == 0 && i < ldif.n; i++)
		rc = ensure_overlay(in, db_dn, &ldif.entries[i]);
	kw_ldif_free(&ldif);
	return rc;
}

/* ---- 4. base entries ----------------------------------------------- */

static int ensure_base(struct init *in, const char *tdir,
		       const char *const *pairs)
{
	char path[4096];
	struct kw_ldif ldif;
	size_t i, added = 0;
	int rc = 0;

	snprintf(path, sizeof(path), "%s/%s", tdir, KW_BASE_TEMPLATE);
	rc = load_ldif(in, path, pairs, &ldif);
	if (rc)
		return rc;
	for (i = 0; i < ldif.n; i++) {
		rc = add_ldif_entry(in, &ldif.entries[i], NULL, false);
		if (rc == EEXIST) {
			rc = 0;
			continue;
		}
		if (rc) {
			fail_dir(in, rc);
			break;
		}
		added++;
	}
	if (rc == 0)
		say(in, "base entries: %zu added, %zu present", added,
		    ldif.n - added);
	kw_ldif_free(&ldif);
	return rc;
}

/* ---- 5. the service identity --------------------------------------- */

static int make_secret_file(struct init *in, const char *path)
{
	static const char alphabet[] = "abcdefghijkmnopqrstuvwxyz"
				       "ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
	unsigned char raw[32];
	char secret[sizeof(raw) + 2];
	size_t i;
	ssize_t n;
	int fd;

	if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw))
		return fail(in, EIO, "no random bytes for the bind secret");
	for (i = 0; i < sizeof(raw); i++)
		secret[i] = alphabet[raw[i] % (sizeof(alphabet) - 1)];
	secret[i++] = '\n';
	secret[i] = '\0';
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		  0600);
	if (fd < 0) {
		kw_wipe(secret, sizeof(secret));
		kw_wipe(raw, sizeof(raw));
		return fail(in, errno, "cannot create %s: %s", path,
			    strerror(errno));
	}
	n = write(fd, secret, i);
	kw_wipe(secret, sizeof(secret));
	kw_wipe(raw, sizeof(raw));
	if (n != (ssize_t)i || fsync(fd) != 0) {
		close(fd);
		unlink(path);
		return fail(in, EIO, "cannot write %s", path);
	}
	close(fd);
	say(in, "bind secret: generated in %s", path);
	return 0;
}

/* Does the service password already work?  Checked with a bind. */
static bool service_bind_works(struct init *in, const char *secret)
{
	struct berval cred = {strlen(secret), (char *)secret};
	LDAP *ld = NULL;
	int version = LDAP_VERSION3, rc;

	if (ldap_initialize(&ld, in->cfg->admin_uri) != LDAP_SUCCESS)
		return false;
	ldap_set_option(ld, LDAP_OPT_PROTOCOL_VERSION, &version);
	rc = ldap_sasl_bind_s(ld, in->cfg->bind_dn, LDAP_SASL_SIMPLE, &cred,
			      NULL, NULL, NULL);
	ldap_unbind_ext_s(ld, NULL, NULL);
	return rc == LDAP_SUCCESS;
}

static int ensure_service_password(struct init *in)
{
	const char *path = in->cfg->bind_password_file;
	char secret[KW_SECRET_MAX], err[KW_CONFIG_ERROR_MAX];
	struct kw_mods m;
	int rc;

	if (access(path, F_OK) != 0 && errno == ENOENT) {
		rc = make_secret_file(in, path);
		if (rc)
			return rc;
	}
	rc = kw_config_read_secret(path, secret, sizeof(secret), err,
				   sizeof(err));
	if (rc)
		return fail(in, rc, "%s", err);
	if (service_bind_works(in, secret)) {
		kw_wipe(secret, sizeof(secret));
		say(in, "service identity %s: password as in %s",
		    in->cfg->bind_dn, path);
		return 0;
	}
	kw_mods_init(&m);
	kw_mods_add(&m, LDAP_MOD_REPLACE, "userPassword", secret);
	rc = kw_dir_modify(in->dir, in->cfg->bind_dn, &m, "service password");
	kw_wipe(secret, sizeof(secret));
	if (rc)
		return fail_dir(in, rc);
	/* ppolicy marks a password set by root for change: not this one */
	kw_mods_init(&m);
	kw_mods_add(&m, LDAP_MOD_DELETE, "pwdReset", NULL);
	rc = kw_dir_modify(in->dir, in->cfg->bind_dn, &m, "service pwdReset");
	if (rc && rc != ENODATA)
		return fail_dir(in, rc);
	say(in, "service identity %s: password set from %s", in->cfg->bind_dn,
	    path);
	return 0;
}

/* ---- the whole ----------------------------------------------------- */

static int whoami(struct init *in)
{
	struct berval *authzid = NULL;
	int rc;

	rc = ldap_whoami_s(in->dir->ld, &authzid, NULL, NULL);
	if (rc != LDAP_SUCCESS)
		return fail(in, kw_dir_fail(in->dir, rc, "whoami"), "%s",
			    kw_dir_error(in->dir));
	if (authzid == NULL || authzid->bv_len < 4 ||
	    strncmp(authzid->bv_val, "dn:", 3) != 0 ||
	    authzid->bv_len - 3 >= sizeof(in->root_dn)) {
		ber_bvfree(authzid);
		return fail(in, EPERM,
			    "the directory did not grant an identity over %s",
			    in->cfg->admin_uri);
	}
	memcpy(in->root_dn, authzid->bv_val + 3, authzid->bv_len - 3);
	in->root_dn[authzid->bv_len - 3] = '\0';
	ber_bvfree(authzid);
	return 0;
}

int kw_dir_init(const struct kw_config *cfg, const char *schema_ldif,
		const char *templates_dir, void (*progress)(const char *line),
		char *err, size_t errlen)
{
	struct init in = {
		.cfg = cfg, .progress = progress, .err = err, .errlen = errlen};
	char size[32], base_o[KW_DN_MAX];
	const char *pairs[] = {
		(char *)"BASE_DN",
		cfg->base_dn,
		(char *)"BASE_O",
		base_o,
		(char *)"DB_DIRECTORY",
		cfg->db_directory,
		(char *)"DB_MAX_SIZE",
		size,
		(char *)"SERVICE_DN",
		cfg->bind_dn,
		(char *)"ROOT_DN",
		in.root_dn,
		NULL,
		NULL,
	};
	int rc;

	snprintf(size, sizeof(size), "%ld",
		 cfg->db_max_size_mb * 1024L * 1024L);
	/* the base entry is an organization: the base must be o=NAME */
	if (strncasecmp(cfg->base_dn, "o=", 2) != 0 ||
	    strcspn(cfg->base_dn + 2, ",+\\") == 0 ||
	    strcspn(cfg->base_dn + 2, ",+\\") >= sizeof(base_o))
		return fail(&in, EINVAL,
			    "directory.base '%s': must be o=NAME or "
			    "o=NAME,<parent DN>",
			    cfg->base_dn);
	snprintf(base_o, sizeof(base_o), "%.*s",
		 (int)strcspn(cfg->base_dn + 2, ",+\\"), cfg->base_dn + 2);
	rc = kw_dir_open(cfg, KW_DIR_AS_ROOT, NULL, NULL, &in.dir);
	if (rc) {
		fail(&in, rc, "cannot reach the directory as root at %s: %s",
		     cfg->admin_uri, kw_dir_error(in.dir));
		kw_dir_free(in.dir);
		return rc;
	}
	rc = whoami(&in);
	if (rc == 0)
		rc = ensure_modules(&in);
	if (rc == 0)
		rc = ensure_schema(&in, "cosine",
				   KW_SLAPD_SCHEMA_DIR "/cosine.ldif");
	if (rc == 0)
		rc = ensure_schema(&in, "nis", KW_SLAPD_SCHEMA_DIR "/nis.ldif");
	if (rc == 0)
		rc = ensure_schema(&in, "inetorgperson",
				   KW_SLAPD_SCHEMA_DIR "/inetorgperson.ldif");
	if (rc == 0)
		rc = ensure_schema(&in, "keyward", schema_ldif);
	if (rc == 0)
		rc = ensure_database(&in, templates_dir, pairs);
	if (rc == 0)
		rc = ensure_base(&in, templates_dir, pairs);
	if (rc == 0)
		rc = ensure_service_password(&in);
	kw_dir_free(in.dir);
	return rc;
}
