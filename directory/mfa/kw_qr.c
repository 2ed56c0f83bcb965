/*
 * kw_qr.c - a QR code drawn with Unicode half blocks, for kwadm to show an
 * otpauth:// URI in a terminal.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <qrencode.h>

#include "kw_mfa.h"
#include "kw_secret.h"

/* Two modules: the spec asks for four, phones read two well enough. */
#define QUIET_ZONE 2
/* The widest glyph is three bytes of UTF-8. */
#define GLYPH_MAX 3

/*
 * Glyphs draw LIGHT modules, in the terminal's foreground colour, and a
 * dark module is a blank cell.  A scanner wants dark modules on a light
 * ground; on a terminal with a dark background (the usual one for an
 * administrator's ssh session) the blank cells are dark and the glyphs
 * light, which is that.  Drawing dark modules as glyphs instead would
 * show a negative there, which many phone scanners do not read.  On a
 * light-background terminal the picture is inverted, as with every
 * renderer of this kind, and the otpauth URI is the fallback.
 */
static const char *const glyphs[4] = {
	" ",            /* neither half light */
	"\xe2\x96\x84", /* U+2584 LOWER HALF BLOCK: lower module light */
	"\xe2\x96\x80", /* U+2580 UPPER HALF BLOCK: upper module light */
	"\xe2\x96\x88", /* U+2588 FULL BLOCK: both modules light */
};

/* Whether the module at ROW, COL of the code with its quiet zone is light. */
static bool module_light(const QRcode *qr, size_t row, size_t col)
{
	size_t width = (size_t)qr->width;

	if (row < QUIET_ZONE || col < QUIET_ZONE || row >= width + QUIET_ZONE ||
	    col >= width + QUIET_ZONE)
		return true;
	/* libqrencode: bit 0 of each byte is set for a dark module. */
	return (qr->data[(row - QUIET_ZONE) * width + (col - QUIET_ZONE)] &
		1) == 0;
}

static void draw(const QRcode *qr, char *buf)
{
	size_t side = (size_t)qr->width + 2 * QUIET_ZONE, row, col, n = 0;

	for (row = 0; row < side; row += 2) {
		for (col = 0; col < side; col++) {
			/* Below the last row there is only the background. */
			bool upper = module_light(qr, row, col);
			bool lower = row + 1 < side &&
				     module_light(qr, row + 1, col);
			const char *g =
				glyphs[(upper ? 2 : 0) | (lower ? 1 : 0)];
			size_t len = strlen(g);

			memcpy(buf + n, g, len);
			n += len;
		}
		buf[n++] = '\n';
	}
	buf[n] = '\0';
}

int kw_qr_render(const char *text, char **out)
{
	QRcode *qr = NULL;
	char *buf = NULL;
	size_t side, lines;
	int rc = 0;

	if (out == NULL)
		return EINVAL;
	*out = NULL;
	if (text == NULL || text[0] == '\0')
		return EINVAL;
	errno = 0;
	qr = QRcode_encodeString8bit(text, 0, QR_ECLEVEL_M);
	if (qr == NULL) {
		/* ERANGE (too long for any version) is the caller's input. */
		rc = errno == ENOMEM ? ENOMEM : EINVAL;
		goto done;
	}
	side = (size_t)qr->width + 2 * QUIET_ZONE;
	lines = (side + 1) / 2;
	buf = malloc(lines * (side * GLYPH_MAX + 1) + 1);
	if (buf == NULL) {
		rc = ENOMEM;
		goto done;
	}
	draw(qr, buf);
	*out = buf;
done:
	/* The modules spell out TEXT, and TEXT holds the TOTP secret. */
	if (qr != NULL) {
		kw_wipe(qr->data, (size_t)qr->width * (size_t)qr->width);
		QRcode_free(qr);
	}
	return rc;
}
