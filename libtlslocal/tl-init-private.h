/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Initializers: run on a thread's first access (tl-init.c), through libffi if need be (tl-ffi-
 * init.c). Not installed. */
#ifndef TL_INIT_PRIVATE_H
#define TL_INIT_PRIVATE_H

#include <glib.h>

#include "tl-local-private.h"

typedef struct _TlEntry TlEntry;

/* The per-thread initializer: a C callback, or a function of any signature called through
 * libffi. */
struct _TlInitializer {
  TlInitFunc fn;
  void *user_data;
  TlDestroyFunc user_data_destroy;
  struct _TlFfiCall *ffi; /* tl-ffi-init.c; NULL for a plain TlInitFunc */
};

int _tl_ffi_prepare(TlCallback fn, int fn_returns_int, TlValue *args, struct _TlFfiCall **out);
int _tl_ffi_call(struct _TlFfiCall *call, TlLocal *local);
void _tl_ffi_free(struct _TlFfiCall *call);

static inline gboolean
_tl_local_has_initializer(const TlLocal *local)
{
  return local->init != NULL && (local->init->fn != NULL || local->init->ffi != NULL);
}

/* Slow path of a thread's first access: create the dictionary, then run the initializer with the
 * dictionary already in place. */
int _tl_entry_create_initialized(TlLocal *local, TlEntry **out, gboolean *out_created);
void _tl_initializer_free(TlInitializer *init);

#endif /* TL_INIT_PRIVATE_H */
