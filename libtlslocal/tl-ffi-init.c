/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Initializers with stored arguments: a plain C function of any signature, replayed in each
 * thread's first access as fn(local, arg0, arg1, ...) through libffi, the C counterpart of a
 * threading.local subclass getting its constructor arguments again in every thread. */
#include <ffi.h>

#include "tl-error-private.h"
#include "tl-init-private.h"
#include "tl-local-private.h"
#include "tl-memory-private.h"
#include "tl-value-private.h"
#include "tlslocal-glib.h"

typedef union {
  int b;
  guint8 y;
  gint16 n;
  guint16 q;
  gint32 i;
  guint32 u;
  gint64 x;
  guint64 t;
  double d;
  const char *s;
  const TlValue *value;
} TlFfiArg;

/* C requires compilers to take at least 127 parameters, and libffi copies every argument onto the
 * calling thread's stack: a tuple of a million arguments would overflow it. */
#define TL_FFI_MAX_ARGS 126 /* after the local */

struct _TlFfiCall {
  ffi_cif cif;
  TlCallback fn;
  int returns_int;
  size_t n_args;
  ffi_type **types; /* n_args + 1: the local first */
  TlFfiArg *values; /* unpacked once: the arguments never change */
  GVariant *args;   /* keeps the strings that values point into alive */
  TlValue **boxed;  /* the TlValue arguments, owned */
};

/* The libffi type for one argument of GVariant type character kind, filling *arg. Anything but the
 * basic types goes as a borrowed TlValue *, which the call keeps in boxed[index]. NULL if out of
 * memory (TL_ERR_NO_MEMORY recorded). */
static ffi_type *
unpack_argument(GVariant *child, TlFfiArg *arg, TlValue **boxed)
{
  const char *type = g_variant_get_type_string(child);

  *boxed = NULL;
  if (type[1] == '\0') {
    switch (type[0]) {
    case 'b': arg->b = g_variant_get_boolean(child) ? 1 : 0; return &ffi_type_sint;
    case 'y': arg->y = g_variant_get_byte(child); return &ffi_type_uint8;
    case 'n': arg->n = g_variant_get_int16(child); return &ffi_type_sint16;
    case 'q': arg->q = g_variant_get_uint16(child); return &ffi_type_uint16;
    case 'i': arg->i = g_variant_get_int32(child); return &ffi_type_sint32;
    case 'u': arg->u = g_variant_get_uint32(child); return &ffi_type_uint32;
    case 'x': arg->x = g_variant_get_int64(child); return &ffi_type_sint64;
    case 't': arg->t = g_variant_get_uint64(child); return &ffi_type_uint64;
    case 'd': arg->d = g_variant_get_double(child); return &ffi_type_double;
    case 's':
    case 'o':
    case 'g': arg->s = g_variant_get_string(child, NULL); return &ffi_type_pointer;
    default: break;
    }
  }
  *boxed = tl_value_new_from_gvariant(child);
  arg->value = *boxed;
  return *boxed != NULL ? &ffi_type_pointer : NULL;
}

void
_tl_ffi_free(struct _TlFfiCall *call)
{
  size_t i;

  for (i = 0; call->boxed != NULL && i < call->n_args; i++)
    tl_value_unref(call->boxed[i]);
  g_free(call->boxed);
  g_free(call->values);
  g_free(call->types);
  if (call->args != NULL)
    g_variant_unref(call->args);
  g_free(call);
}

int
_tl_ffi_prepare(TlCallback fn, int fn_returns_int, TlValue *args, struct _TlFfiCall **out)
{
  struct _TlFfiCall *call;
  size_t i;

  *out = NULL;
  if (fn == NULL)
    return _tl_fail(TL_ERR_INVALID_ARGUMENT,
                    "arguments were given without an initializer to take them");
  if (!_tl_value_is_valid(args))
    return _tl_fail(TL_ERR_INVALID_ARGUMENT,
                    args == NULL ? "args is NULL" : "args is not a valid TlValue");
  if (args->kind != TL_VALUE_VARIANT ||
      !g_variant_is_of_type(_tl_value_variant(args), G_VARIANT_TYPE_TUPLE))
    return _tl_failf(TL_ERR_WRONG_TYPE, "args has type '%s', not a tuple", tl_value_type(args));

  if (g_variant_n_children(_tl_value_variant(args)) > TL_FFI_MAX_ARGS)
    return _tl_failf(TL_ERR_INVALID_ARGUMENT, "args has %zu items; an initializer takes %d at most",
                     g_variant_n_children(_tl_value_variant(args)), TL_FFI_MAX_ARGS);

  call = _tl_new0(struct _TlFfiCall, 1);
  if (call == NULL)
    return _tl_fail(TL_ERR_NO_MEMORY, "out of memory preparing the initializer");
  call->fn = fn;
  call->returns_int = fn_returns_int != 0;
  call->n_args = g_variant_n_children(_tl_value_variant(args));
  call->types = _tl_new(ffi_type *, call->n_args + 1);
  call->values = _tl_new0(TlFfiArg, call->n_args + 1);
  call->boxed = _tl_new0(TlValue *, call->n_args + 1);
  if (call->types == NULL || call->values == NULL || call->boxed == NULL) {
    _tl_ffi_free(call);
    return _tl_fail(TL_ERR_NO_MEMORY, "out of memory preparing the initializer");
  }
  call->args = g_variant_ref(_tl_value_variant(args));
  g_variant_get_data(call->args); /* serialised, so the string pointers below stay valid */
  call->types[0] = &ffi_type_pointer;
  for (i = 0; i < call->n_args; i++) {
    GVariant *child = g_variant_get_child_value(call->args, i);
    call->types[i + 1] = unpack_argument(child, &call->values[i], &call->boxed[i]);
    g_variant_unref(child); /* strings point into call->args's serialised data */
    if (call->types[i + 1] == NULL) {
      _tl_ffi_free(call);
      return TL_ERR_NO_MEMORY;
    }
  }
  if (ffi_prep_cif(&call->cif, FFI_DEFAULT_ABI, (unsigned int) call->n_args + 1,
                   call->returns_int ? &ffi_type_sint : &ffi_type_void, call->types) != FFI_OK) {
    _tl_ffi_free(call);
    return _tl_fail(TL_ERR_INVALID_ARGUMENT, "libffi cannot prepare a call with these arguments");
  }
  *out = call;
  return TL_OK;
}

int
_tl_ffi_call(struct _TlFfiCall *call, TlLocal *local)
{
  void *avalues[TL_FFI_MAX_ARGS + 1];
  ffi_arg result = 0;
  size_t i;

  /* Several threads may replay at once: the cif and values are only read. */
  avalues[0] = &local;
  for (i = 0; i < call->n_args; i++)
    avalues[i + 1] = &call->values[i];
  ffi_call(&call->cif, call->fn, &result, avalues);
  return call->returns_int ? (int) (ffi_sarg) result : 0;
}
