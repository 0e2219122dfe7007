/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The demo's C helper library: C code that Python (ctypes), Node (koffi) and the demo itself load,
 * to share a named local with them. See tlslocal-demo-helper.c.
 *
 * Copyright the libtlslocal authors.
 */
#ifndef TLSLOCAL_DEMO_HELPER_H
#define TLSLOCAL_DEMO_HELPER_H

#include <stddef.h>

#define TLDEMO_API __attribute__((visibility("default")))

/* What a C library serving a request does on the caller's thread: read request_id from the calling
 * thread's dictionary of the named local local_name, copy it into read_out, and answer with reply =
 * "ack <request_id>", copied into reply_out. Both buffers get "" on failure.
 * @return TL_OK, or the negative TL_ERR_* of the call that failed (TL_ERR_NOT_FOUND when this
 * thread never set request_id, TL_ERR_WRONG_TYPE when it is not a string). */
TLDEMO_API int tldemo_acknowledge(const char *local_name, char *read_out, size_t read_size,
                                  char *reply_out, size_t reply_size);

#endif /* TLSLOCAL_DEMO_HELPER_H */
