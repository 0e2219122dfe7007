/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The library's own allocations (tl-memory.c for the string copy). Not installed. */
#ifndef TL_MEMORY_PRIVATE_H
#define TL_MEMORY_PRIVATE_H

#include <glib.h>
#include <stdlib.h>

/* Library-owned memory comes from malloc() itself, never from GLib's allocators (which abort when
 * memory runs out), so that every such allocation can fail with TL_ERR_NO_MEMORY; calling malloc()
 * directly also lets the fault-injection test (tests/fault) tell the library's allocations from
 * GLib's by their caller. It is freed with g_free(), which is free() since GLib 2.46. */

static inline void *
_tl_alloc_n(size_t n, size_t size, gboolean zeroed)
{
  if (size != 0 && n > G_MAXSIZE / size)
    return NULL;
  if (n == 0 || size == 0) /* malloc(0) may return NULL: always ask for at least a byte */
    n = size = 1;
  return zeroed ? calloc(n, size) : malloc(n * size);
}

static inline void *
_tl_realloc_n(void *memory, size_t n, size_t size)
{
  if (size != 0 && n > G_MAXSIZE / size)
    return NULL;
  return realloc(memory, MAX(n * size, 1));
}

/* NULL if out of memory. n 0 still gives a block (of one byte) that g_free() takes. */
#define _tl_new(type, n) ((type *) _tl_alloc_n((n), sizeof(type), FALSE))
#define _tl_new0(type, n) ((type *) _tl_alloc_n((n), sizeof(type), TRUE))
#define _tl_renew(type, memory, n) ((type *) _tl_realloc_n((memory), (n), sizeof(type)))

/* A NUL-terminated copy of the len bytes at string; NULL if out of memory. */
char *_tl_strndup(const char *string, size_t len);

#endif /* TL_MEMORY_PRIVATE_H */
