/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libtlslocal: opt-in GVariant interop for C programs that use GLib. Include after or instead of
 * <tlslocal.h>; link with `pkg-config --cflags --libs tlslocal glib-2.0`. */
#ifndef TLSLOCAL_GLIB_H
#define TLSLOCAL_GLIB_H

#include <glib.h>

#include "tlslocal.h"

G_BEGIN_DECLS

/* Wrap a GVariant as a TlValue. A floating variant is sunk (the value owns it, and on failure it is
 * released); a non-floating one gets one more reference (the caller keeps its own).
 * @return new reference; NULL with TL_ERR_INVALID_ARGUMENT if variant is NULL or nests more than
 * 127 levels deep (see the depth limit in tlslocal.h; GLib builds such values but reads them back
 * corrupted), or TL_ERR_NO_MEMORY. */
TL_API TlValue *tl_value_new_from_gvariant(GVariant *variant);

/* @return a new reference to the value's GVariant (release with g_variant_unref()); NULL for a NULL
 * value (TL_ERR_INVALID_ARGUMENT) or a pointer value (TL_ERR_WRONG_TYPE). */
TL_API GVariant *tl_value_dup_gvariant(const TlValue *value);

G_END_DECLS

#endif /* TLSLOCAL_GLIB_H */
