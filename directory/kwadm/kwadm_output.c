/*
 * kwadm_output.c - tables, "key: value" lines and JSON.
 *
 * Names are ASCII, but display names and descriptions come from the
 * directory and may hold any UTF-8, or bytes that are not UTF-8 at all.
 * Valid UTF-8 is passed through; control characters never reach a
 * terminal, and invalid bytes become U+FFFD, so that the JSON is always
 * valid and a display name cannot move the cursor.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kwadm.h"

#define REPLACEMENT_UTF8 "\xef\xbf\xbd"

/*
 * Decode one UTF-8 sequence at S.  Returns its length (1-4) and the code
 * point in *CP, or 0 for an invalid byte (overlong forms, surrogates and
 * values past U+10FFFF are invalid).
 */
static size_t utf8_decode(const unsigned char *s, uint32_t *cp)
{
	size_t len, i;
	uint32_t c, min;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if ((s[0] & 0xe0) == 0xc0) {
		len = 2;
		c = s[0] & 0x1f;
		min = 0x80;
	} else if ((s[0] & 0xf0) == 0xe0) {
		len = 3;
		c = s[0] & 0x0f;
		min = 0x800;
	} else if ((s[0] & 0xf8) == 0xf0) {
		len = 4;
		c = s[0] & 0x07;
		min = 0x10000;
	} else {
		return 0;
	}
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

static bool is_control(uint32_t cp)
{
	return cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0);
}

bool kwadm_text_valid(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	uint32_t cp;
	size_t len;

	while (*p != '\0') {
		len = utf8_decode(p, &cp);
		if (len == 0 || is_control(cp))
			return false;
		p += len;
	}
	return true;
}

/* The number of terminal columns S takes, counting code points. */
static size_t display_width(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	uint32_t cp;
	size_t len, width = 0;

	while (*p != '\0') {
		len = utf8_decode(p, &cp);
		p += len == 0 ? 1 : len;
		width++;
	}
	return width;
}

void kwadm_print_safe(FILE *fp, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	uint32_t cp;
	size_t len;

	while (*p != '\0') {
		len = utf8_decode(p, &cp);
		if (len == 0) {
			fputs(REPLACEMENT_UTF8, fp);
			p++;
			continue;
		}
		if (is_control(cp))
			fputc('?', fp);
		else
			fwrite(p, 1, len, fp);
		p += len;
	}
}

void kwadm_json_string(FILE *fp, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	uint32_t cp;
	size_t len;

	fputc('"', fp);
	while (*p != '\0') {
		len = utf8_decode(p, &cp);
		if (len == 0) {
			fputs("\\ufffd", fp);
			p++;
			continue;
		}
		if (cp == '"' || cp == '\\')
			fprintf(fp, "\\%c", (int)cp);
		else if (cp == '\n')
			fputs("\\n", fp);
		else if (cp == '\t')
			fputs("\\t", fp);
		else if (cp < 0x20 || cp == 0x7f)
			fprintf(fp, "\\u%04x", (unsigned int)cp);
		else
			fwrite(p, 1, len, fp);
		p += len;
	}
	fputc('"', fp);
}

const char *kwadm_quote(const char *s, char *out, size_t outsz)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s;
	size_t used = 0, n;

	if (outsz == 0)
		return out;
	for (n = 0; p[n] != '\0'; n++) {
		if (n == 64 || used + 8 > outsz) {
			if (used + 4 <= outsz) {
				memcpy(out + used, "...", 3);
				used += 3;
			}
			break;
		}
		if (p[n] >= 0x20 && p[n] < 0x7f) {
			out[used++] = (char)p[n];
		} else {
			out[used++] = '\\';
			out[used++] = 'x';
			out[used++] = hex[p[n] >> 4];
			out[used++] = hex[p[n] & 0x0f];
		}
	}
	out[used] = '\0';
	return out;
}

/*
 * Does S have the shape of TEMPLATE, where 'd' stands for a digit and
 * every other character for itself?
 */
static bool has_shape(const char *s, const char *template)
{
	for (; *template != '\0'; s++, template ++) {
		if (*template == 'd' ? *s < '0' || *s > '9' : *s != *template)
			return false;
	}
	return *s == '\0';
}

bool kwadm_parse_utc(const char *s, time_t *out)
{
	bool date_only = has_shape(s, "dddd-dd-dd");
	struct tm tm, typed, check;
	const char *end;
	time_t t;

	if (!date_only && !has_shape(s, "dddd-dd-ddTdd:dd:ddZ"))
		return false;
	memset(&tm, 0, sizeof(tm));
	end = strptime(s, date_only ? "%Y-%m-%d" : "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (end == NULL || *end != '\0')
		return false;
	typed = tm; /* timegm normalises TM in place */
	t = timegm(&tm);
	if (t <= 0 || gmtime_r(&t, &check) == NULL ||
	    check.tm_year != typed.tm_year || check.tm_mon != typed.tm_mon ||
	    check.tm_mday != typed.tm_mday || check.tm_hour != typed.tm_hour ||
	    check.tm_min != typed.tm_min || check.tm_sec != typed.tm_sec)
		return false;
	*out = t;
	return true;
}

const char *kwadm_format_time(time_t t, char *out, size_t outsz)
{
	struct tm tm;

	if (t == 0 || gmtime_r(&t, &tm) == NULL ||
	    strftime(out, outsz, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, outsz, "-");
	return out;
}

/* ---- human form -------------------------------------------------------- */

/* The text of FIELD for a person, in a new string (NULL without memory). */
static char *field_text(const struct kwadm_field *field)
{
	char buf[64];
	char *text;
	size_t i, len = 0;

	switch (field->type) {
	case KWADM_STRING:
		return strdup(field->string != NULL && *field->string != '\0'
				      ? field->string
				      : "-");
	case KWADM_BOOL:
		return strdup(field->boolean ? "yes" : "no");
	case KWADM_NUMBER:
		if (field->number < 0)
			return strdup("-");
		snprintf(buf, sizeof(buf), "%ld", field->number);
		return strdup(buf);
	case KWADM_TIME:
		return strdup(kwadm_format_time(field->time, buf, sizeof(buf)));
	case KWADM_LIST:
		if (field->list == NULL || field->list[0] == NULL)
			return strdup("-");
		for (i = 0; field->list[i] != NULL; i++)
			len += strlen(field->list[i]) + 2;
		text = malloc(len + 1);
		if (text == NULL)
			return NULL;
		text[0] = '\0';
		for (i = 0; field->list[i] != NULL; i++) {
			if (i > 0)
				strcat(text, ", ");
			strcat(text, field->list[i]);
		}
		return text;
	}
	return strdup("-");
}

static void print_record_human(const struct kwadm_field *fields,
			       size_t n_fields)
{
	size_t i, width = 0;
	char *text;

	for (i = 0; i < n_fields; i++)
		if (strlen(fields[i].label) > width)
			width = strlen(fields[i].label);
	for (i = 0; i < n_fields; i++) {
		text = field_text(&fields[i]);
		printf("%s:%*s ", fields[i].label,
		       (int)(width - strlen(fields[i].label)), "");
		kwadm_print_safe(stdout, text != NULL ? text : "?");
		putchar('\n');
		free(text);
	}
}

static void print_padded(const char *text, size_t width, bool last)
{
	size_t have = display_width(text);

	kwadm_print_safe(stdout, text);
	if (last)
		return;
	for (; have < width + 2; have++)
		putchar(' ');
}

static void print_table_human(const struct kwadm_field *columns, size_t n_cols,
			      const struct kwadm_field *rows, size_t n_rows)
{
	char **texts;
	size_t *widths;
	size_t r, c, w;

	texts = calloc(n_rows * n_cols + 1, sizeof(*texts));
	widths = calloc(n_cols + 1, sizeof(*widths));
	if (texts == NULL || widths == NULL) {
		kwadm_error("out of memory");
		goto done;
	}
	for (c = 0; c < n_cols; c++)
		widths[c] = strlen(columns[c].label);
	for (r = 0; r < n_rows; r++) {
		for (c = 0; c < n_cols; c++) {
			texts[r * n_cols + c] =
				field_text(&rows[r * n_cols + c]);
			if (texts[r * n_cols + c] == NULL)
				continue;
			w = display_width(texts[r * n_cols + c]);
			if (w > widths[c])
				widths[c] = w;
		}
	}
	for (c = 0; c < n_cols; c++)
		print_padded(columns[c].label, widths[c], c + 1 == n_cols);
	putchar('\n');
	for (r = 0; r < n_rows; r++) {
		for (c = 0; c < n_cols; c++) {
			const char *t = texts[r * n_cols + c];

			print_padded(t != NULL ? t : "?", widths[c],
				     c + 1 == n_cols);
		}
		putchar('\n');
	}
done:
	if (texts != NULL)
		for (r = 0; r < n_rows * n_cols; r++)
			free(texts[r]);
	free(texts);
	free(widths);
}

/* ---- JSON form --------------------------------------------------------- */

static void json_value(const struct kwadm_field *field)
{
	char buf[64];
	size_t i;

	switch (field->type) {
	case KWADM_STRING:
		kwadm_json_string(stdout,
				  field->string != NULL ? field->string : "");
		return;
	case KWADM_BOOL:
		fputs(field->boolean ? "true" : "false", stdout);
		return;
	case KWADM_NUMBER:
		if (field->number < 0)
			fputs("null", stdout);
		else
			printf("%ld", field->number);
		return;
	case KWADM_TIME:
		if (field->time == 0)
			fputs("null", stdout);
		else
			kwadm_json_string(stdout,
					  kwadm_format_time(field->time, buf,
							    sizeof(buf)));
		return;
	case KWADM_LIST:
		putchar('[');
		for (i = 0; field->list != NULL && field->list[i] != NULL;
		     i++) {
			if (i > 0)
				putchar(',');
			kwadm_json_string(stdout, field->list[i]);
		}
		putchar(']');
		return;
	}
	fputs("null", stdout);
}

/* An object of FIELDS, named by KEYS (the same array, or the columns). */
static void json_object(const struct kwadm_field *keys,
			const struct kwadm_field *fields, size_t n_fields)
{
	size_t i;

	putchar('{');
	for (i = 0; i < n_fields; i++) {
		if (i > 0)
			putchar(',');
		kwadm_json_string(stdout, keys[i].key);
		putchar(':');
		json_value(&fields[i]);
	}
	putchar('}');
}

/* ---- the entry points -------------------------------------------------- */

void kwadm_print_record(const struct kwadm *ctx,
			const struct kwadm_field *fields, size_t n_fields)
{
	if (ctx->json) {
		json_object(fields, fields, n_fields);
		putchar('\n');
	} else {
		print_record_human(fields, n_fields);
	}
}

void kwadm_print_table(const struct kwadm *ctx,
		       const struct kwadm_field *columns, size_t n_cols,
		       const struct kwadm_field *rows, size_t n_rows)
{
	size_t r;

	if (!ctx->json) {
		print_table_human(columns, n_cols, rows, n_rows);
		return;
	}
	putchar('[');
	for (r = 0; r < n_rows; r++) {
		if (r > 0)
			putchar(',');
		json_object(columns, &rows[r * n_cols], n_cols);
	}
	puts("]");
}

void kwadm_print_strings(const struct kwadm *ctx, const char *header,
			 char *const *items, size_t n_items)
{
	size_t i;

	if (ctx->json) {
		putchar('[');
		for (i = 0; i < n_items; i++) {
			if (i > 0)
				putchar(',');
			kwadm_json_string(stdout, items[i]);
		}
		puts("]");
		return;
	}
	puts(header);
	for (i = 0; i < n_items; i++) {
		kwadm_print_safe(stdout, items[i]);
		putchar('\n');
	}
}

void kwadm_print_done(const struct kwadm *ctx, const char *key,
		      const char *name, const char *result, const char *message)
{
	if (ctx->json) {
		putchar('{');
		kwadm_json_string(stdout, key);
		putchar(':');
		kwadm_json_string(stdout, name);
		fputs(",\"result\":", stdout);
		kwadm_json_string(stdout, result);
		puts("}");
	} else if (!ctx->quiet) {
		kwadm_print_safe(stdout, message);
		putchar('\n');
	}
}
