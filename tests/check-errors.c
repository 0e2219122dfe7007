/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Bad input for every public function: the exact status, the out-parameters the header promises to
 * clear, the per-thread last error, and no GLib message (G_DEBUG=fatal-criticals makes a critical
 * abort the run; the handler below names the row that provoked it first).
 *
 * Most of this file is tables, one row per (function, bad input, expected status), so it also reads
 * as a reference. Each row is a loop iteration of its own, so one failing row does not hide the
 * others. */
#include <limits.h>
#include <pthread.h>
#include <stdalign.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <glib.h>

#include <tlslocal-glib.h>

#include "tl-test.h"

/* Keys and strings that are not valid UTF-8, each broken differently. */
#define BAD_UTF8 "\xff\xfe"   /* bytes that never occur in UTF-8 */
#define TRUNCATED_UTF8 "\xc3" /* the first byte of a two-byte sequence, then the end */
#define LONG_TRUNCATED_UTF8 "abcdefghij\xc3"   /* past the 8-byte word loop of the key hash */
#define OVERLONG_UTF8 "\xc0\x80"               /* NUL encoded in two bytes */
#define SURROGATE_UTF8 "\xed\xa0\x80"          /* U+D800, a UTF-16 surrogate */
#define BEYOND_UNICODE_UTF8 "\xf4\x90\x80\x80" /* U+110000 */
#define BEYOND_QUARKS ((TlQuark) 0x7ffffff0)   /* a number no tl_quark_from_string() returned */

/* A status no function returns: what a pointer-returning function "returned" if it succeeded. */
#define UNEXPECTED_SUCCESS 1000

/* Sentinels for out-parameters, to see which ones a failing call wrote. */
static char sentinel_object;
#define SENTINEL_PTR ((void *) &sentinel_object)

/* Memory that is not a TlLocal or TlValue but is big enough to be read as one: all zeros, and
 * all ones. */
static alignas(max_align_t) unsigned char zeroed_memory[256];
static alignas(max_align_t) unsigned char garbage_memory[256];

static const char *const keys_ok[] = {"a", "b"};
static const char *const keys_with_null[] = {"a", NULL};
static const char *const keys_bad_utf8[] = {"a", BAD_UTF8};
static const char *const keys_truncated[] = {"a", TRUNCATED_UTF8};

typedef struct {
  TlLocal *local;          /* the main thread's dictionary holds "present" */
  TlLocal *empty;          /* no dictionary in any thread */
  TlLocal *cleared;        /* the main thread's dictionary exists but was cleared */
  TlLocal *failing;        /* its initializer fails: every access is TL_ERR_INIT_FAILED */
  TlLocal *visitable;      /* TL_LOCAL_VISITABLE, no dictionary */
  TlLocal *fake;           /* zeroed memory */
  TlLocal *garbage;        /* 0xff bytes */
  TlLocal *value_as_local; /* a TlValue handle passed as a local */
  TlValue *fake_value;     /* zeroed memory */
  TlValue *local_as_value; /* a TlLocal handle passed as a value */
  TlValue *present;        /* the value under "present" */

  TlValue *v_bool, *v_byte, *v_int16, *v_uint16, *v_int32, *v_uint32, *v_int64, *v_uint64;
  TlValue *v_double;
  TlValue *v_handle;
  TlValue *str, *bytes, *ptr, *tuple, *unit, *dict, *int_dict, *nothing, *variant, *int_array;
  TlValue *empty_array;
  TlValue *bare_handle; /* "a{sv}" parsed from text with a <handle 0> that names nothing */
  TlValue *string_dict; /* "a{ss}": string-keyed, but not the "a{sv}" a snapshot is */
  TlValue *deepest;     /* "[[...[1]...]]" 127 levels deep, as deep as a value may nest */
  char *text_128;       /* "[[...[1]...]]" 128 levels deep, one past the limit */
  GVariant *glib_128;   /* 128 arrays around an int32, built with GLib: one past the limit */
  TlValue *args_127;    /* a tuple of 127 int32s, one more than an initializer takes */

  TlValue *items_ok[2], *items_null[2], *items_ptr[2], *items_ptr_first[2], *items_fake[2];
  TlValue *items_mixed[2];

  /* Out-parameters, reset to sentinels before each row. */
  TlValue *out;
  char **keys;
  size_t n, size;
  const char *string;
  const void *data;
  void *pointer;
  GVariant *gvariant;
  int b;
  uint8_t y;
  int16_t i16;
  uint16_t u16;
  int32_t i32;
  uint32_t u32;
  int64_t i64;
  uint64_t u64;
  double d;

  size_t dicts_before, locals_before, threads_before;
} Fx;

#define SENT_B 0x5a
#define SENT_Y 0x5a
#define SENT_I16 0x5a5a
#define SENT_U16 0x5a5a
#define SENT_I32 0x5a5a5a5a
#define SENT_U32 0x5a5a5a5au
#define SENT_I64 INT64_C(0x5a5a5a5a5a5a5a5a)
#define SENT_U64 UINT64_C(0x5a5a5a5a5a5a5a5a)
#define SENT_D 5.25

static int
no_op_visit(const char *key, TlValue *value, void *payload)
{
  return 0;
}

static int
no_op_visitor(uint64_t thread_id, const char *key, TlValue *value, void *payload)
{
  return 0;
}

static void
no_op_hook(int reason, uint64_t thread_id, TlValue *contents, void *user_data)
{
}

static void
no_op_callback(void)
{
}

static int
failing_init(TlLocal *local, void *user_data)
{
  return 7;
}

static TlValue *
parsed(const char *type, const char *text)
{
  TlValue *value = NULL;

  ck_assert_int_eq(tl_value_parse(type, text, &value), TL_OK);
  return value;
}

/* "[" n times, "1", "]" n times: n levels deep. */
static char *
nested_brackets(int n)
{
  char *text = g_malloc((gsize) n * 2 + 2);

  memset(text, '[', (size_t) n);
  text[n] = '1';
  memset(text + n + 1, ']', (size_t) n);
  text[n * 2 + 1] = '\0';
  return text;
}

/* The deep fixtures, shared by the rows of a test case: made for each row, their deep parse and
 * GLib's type building at every level took most of the suite's time under valgrind. */
static struct {
  TlValue *deepest, *args_127;
  char *text_128;
  GVariant *glib_128;
} deep;

static void
deep_setup(void)
{
  char *text = nested_brackets(127);
  TlValue *items[127];
  int i;

  deep.deepest = parsed(NULL, text);
  g_free(text);
  deep.text_128 = nested_brackets(128);
  deep.glib_128 = g_variant_new_int32(1);
  for (i = 0; i < 128; i++)
    deep.glib_128 = g_variant_new_array(NULL, &deep.glib_128, 1);
  g_variant_ref_sink(deep.glib_128);
  items[0] = tl_value_new_int32(1);
  for (i = 1; i < 127; i++)
    items[i] = items[0];
  deep.args_127 = tl_value_new_tuple(items, 127);
  tl_value_unref(items[0]);
  ck_assert_ptr_nonnull(deep.args_127);
}

static void
deep_teardown(void)
{
  tl_value_unref(deep.deepest);
  tl_value_unref(deep.args_127);
  g_free(deep.text_128);
  g_variant_unref(deep.glib_128);
  memset(&deep, 0, sizeof deep);
}

static void
fx_init(Fx *fx)
{
  memset(fx, 0, sizeof *fx);
  memset(garbage_memory, 0xff, sizeof garbage_memory);
  fx->local = tl_local_new();
  fx->empty = tl_local_new();
  fx->cleared = tl_local_new();
  fx->failing = tl_local_new_full(TL_LOCAL_DEFAULT, failing_init, NULL, NULL);
  fx->visitable = tl_local_new_full(TL_LOCAL_VISITABLE, NULL, NULL, NULL);
  fx->fake = (TlLocal *) zeroed_memory;
  fx->garbage = (TlLocal *) garbage_memory;
  fx->fake_value = (TlValue *) zeroed_memory;

  fx->v_bool = tl_value_new_bool(1);
  fx->v_byte = tl_value_new_byte(7);
  fx->v_int16 = tl_value_new_int16(-7);
  fx->v_uint16 = tl_value_new_uint16(7);
  fx->v_int32 = tl_value_new_int32(-7);
  fx->v_uint32 = tl_value_new_uint32(7);
  fx->v_int64 = tl_value_new_int64(-7);
  fx->v_uint64 = tl_value_new_uint64(7);
  fx->v_double = tl_value_new_double(0.5);
  fx->v_handle = tl_value_new_handle(3);
  fx->str = tl_value_new_string("text");
  fx->bytes = tl_value_new_bytes("abc", 3);
  fx->ptr = tl_value_new_pointer(&sentinel_object, NULL);
  fx->tuple = parsed(NULL, "(1, 'two')");
  fx->unit = tl_value_new_tuple(NULL, 0);
  fx->dict = parsed("a{sv}", "{'a': <1>}");
  fx->int_dict = parsed("a{is}", "{1: 'one'}");
  fx->nothing = parsed("ms", "nothing");
  fx->variant = parsed("v", "<1>");
  fx->int_array = parsed("ai", "[1, 2, 3]");
  fx->empty_array = parsed("ai", "[]");
  fx->bare_handle = parsed("a{sv}", "{'a': <handle 0>}");
  fx->string_dict = parsed("a{ss}", "{'a': 'b'}");
  fx->value_as_local = (TlLocal *) fx->v_int32;
  fx->local_as_value = (TlValue *) fx->local;

  fx->items_ok[0] = fx->items_ok[1] = fx->v_int32;
  fx->items_null[0] = fx->v_int32;
  fx->items_null[1] = NULL;
  fx->items_ptr[0] = fx->v_int32;
  fx->items_ptr[1] = fx->ptr;
  fx->items_ptr_first[0] = fx->ptr;
  fx->items_ptr_first[1] = fx->v_int32;
  fx->items_fake[0] = fx->v_int32;
  fx->items_fake[1] = fx->fake_value;
  fx->items_mixed[0] = fx->v_int32;
  fx->items_mixed[1] = fx->str;
  fx->deepest = deep.deepest;
  fx->text_128 = deep.text_128;
  fx->glib_128 = deep.glib_128;
  fx->args_127 = deep.args_127;

  ck_assert_ptr_nonnull(fx->local);
  ck_assert_ptr_nonnull(fx->empty);
  ck_assert_ptr_nonnull(fx->failing);
  ck_assert_ptr_nonnull(fx->visitable);
  ck_assert_ptr_nonnull(fx->unit);
  fx->present = tl_value_new_string("here");
  ck_assert_int_eq(tl_local_set(fx->local, "present", fx->present), TL_OK);
  /* A deleted key leaves a tombstone in the dictionary's index. */
  ck_assert_int_eq(tl_local_set(fx->local, "deleted", fx->v_int32), TL_OK);
  ck_assert_int_eq(tl_local_delete(fx->local, "deleted"), TL_OK);
  ck_assert_int_eq(tl_local_set(fx->cleared, "present", fx->v_int32), TL_OK);
  ck_assert_int_eq(tl_local_clear(fx->cleared), TL_OK);

  fx->dicts_before = tl_stats_live_dicts();
  fx->locals_before = tl_stats_live_locals();
  fx->threads_before = tl_stats_live_threads();
}

static void
fx_reset_outs(Fx *fx)
{
  fx->out = SENTINEL_PTR;
  fx->keys = SENTINEL_PTR;
  fx->string = SENTINEL_PTR;
  fx->data = SENTINEL_PTR;
  fx->pointer = SENTINEL_PTR;
  fx->gvariant = SENTINEL_PTR;
  fx->n = fx->size = 4242;
  fx->b = SENT_B;
  fx->y = SENT_Y;
  fx->i16 = SENT_I16;
  fx->u16 = SENT_U16;
  fx->i32 = SENT_I32;
  fx->u32 = SENT_U32;
  fx->i64 = SENT_I64;
  fx->u64 = SENT_U64;
  fx->d = SENT_D;
}

/* Releases whatever a row that wrongly succeeded handed out, then the fixture. */
static void
fx_clear(Fx *fx)
{
  TlValue **values[] = {&fx->v_bool,      &fx->v_byte,   &fx->v_int16,     &fx->v_uint16,
                        &fx->v_int32,     &fx->v_uint32, &fx->v_int64,     &fx->v_uint64,
                        &fx->v_double,    &fx->v_handle, &fx->str,         &fx->bytes,
                        &fx->ptr,         &fx->tuple,    &fx->unit,        &fx->dict,
                        &fx->int_dict,    &fx->nothing,  &fx->variant,     &fx->int_array,
                        &fx->empty_array, &fx->present,  &fx->bare_handle, &fx->string_dict};
  size_t i;

  if (fx->out != SENTINEL_PTR)
    tl_value_unref(fx->out);
  if (fx->keys != SENTINEL_PTR)
    tl_strv_free(fx->keys);
  if (fx->gvariant != SENTINEL_PTR && fx->gvariant != NULL)
    g_variant_unref(fx->gvariant);
  fx_reset_outs(fx);
  for (i = 0; i < sizeof values / sizeof values[0]; i++) {
    tl_value_unref(*values[i]);
    *values[i] = NULL;
  }
  tl_local_unref(fx->local);
  tl_local_unref(fx->empty);
  tl_local_unref(fx->cleared);
  tl_local_unref(fx->failing);
  tl_local_unref(fx->visitable);
}

/* Status of a call that returns a new value reference: the last error if it returned NULL. */
static int
value_status(TlValue *value)
{
  if (value == NULL)
    return tl_last_error();
  tl_value_unref(value);
  return UNEXPECTED_SUCCESS;
}

static int
string_status(char *string)
{
  if (string == NULL)
    return tl_last_error();
  tl_free(string);
  return UNEXPECTED_SUCCESS;
}

static int
local_status(TlLocal *local)
{
  if (local == NULL)
    return tl_last_error();
  tl_local_unref(local);
  return UNEXPECTED_SUCCESS;
}

static int
gvariant_status(GVariant *variant)
{
  if (variant == NULL)
    return tl_last_error();
  g_variant_unref(variant);
  return UNEXPECTED_SUCCESS;
}

/* For borrowed pointers and for handles that must not be released if wrongly returned. */
static int
borrowed_status(const void *pointer)
{
  return pointer == NULL ? tl_last_error() : UNEXPECTED_SUCCESS;
}

#define NEW_VALUE(call) value_status(call)
#define NEW_STRING(call) string_status(call)
#define NEW_LOCAL(call) local_status(call)
#define NEW_GVARIANT(call) gvariant_status(call)
#define BORROWED(call) borrowed_status(call)
#define QUARK(call) ((call) == 0 ? tl_last_error() : UNEXPECTED_SUCCESS)
#define VOID_CALL(call) ((call), tl_last_error())

/* ---- the tables: X(expected status, call, what must hold afterwards) ---- */

#define LOCAL_ROWS(X)                                                                              \
  /* tl_local_set */                                                                               \
  X(TL_ERR_INVALID_ARGUMENT, tl_local_set(NULL, "k", fx->v_int32), 1)                              \
  X(TL_ERR_INVALID_ARGUMENT, tl_local_set(fx->fake, "k", fx->v_int32), 1)                          \
  X(TL_ERR_INVALID_ARGUMENT, tl_local_set(fx->garbage, "k", fx->v_int32), 1)                       \
  X(TL_ERR_INVALID_ARGUMENT, tl_local_set(fx->value_as_local, "k", fx->v_int32), 1)                \
  X(TL_ERR_INVALID_ARGUMENT, tl_local_set(fx->empty, "k", NULL), 1)                                \
  X(TL_ERR_INVALID_ARGUMENT, tl_local_set(fx->local, "present", NULL), 1)                          \
  X(TL_ERR_INVALID_ARGUMENT, tl_local_set(fx->empty, "k", fx->fake_value), 1)                      \
  X(TL_ERR_INVALID_ARGUMENT, tl_local_set(fx->local, "present", fx->fake_value), 1)                \
  X(TL_ERR_INVALID_ARGUMENT, tl_local_set(fx->empty, "k", fx->local_as_value), 1)                  \
  X(TL_ERR_INVALID_KEY, tl_local_set(fx->empty, NULL, fx->v_int32), 1)                             \
  X(TL_ERR_INVALID_KEY, tl_local_set(fx->empty, BAD_UTF8, fx->v_int32), 1)                         \
  X(TL_ERR_INVALID_KEY, tl_local_set(fx->empty, TRUNCATED_UTF8, fx->v_int32), 1)                   \
  X(TL_ERR_INVALID_KEY, tl_local_set(fx->local, LONG_TRUNCATED_UTF8, fx->v_int32), 1)              \
  X(TL_ERR_INVALID_KEY, tl_local_set(fx->local, OVERLONG_UTF8, fx->v_int32), 1)                    \
  X(TL_ERR_INVALID_KEY, tl_local_set(fx->local, SURROGATE_UTF8, fx->v_int32), 1)                   \
  X(TL_ERR_INVALID_KEY, tl_local_set(fx->local, BEYOND_UNICODE_UTF8, fx->v_int32), 1)              \
  /* tl_local_set_take: the value is taken over even on failure (valgrind sees no leak) */         \
  X(TL_ERR_INVALID_ARGUMENT, tl_local_set_take(NULL, "k", tl_value_new_int32(1)), 1)               \
  X(TL_ERR_INVALID_ARGUMENT, tl_local_set_take(fx->fake, "k", tl_value_new_int32(1)), 1)           \
  X(TL_ERR_INVALID_ARGUMENT, tl_local_set_take(fx->local, "k", NULL), 1)                           \
  X(TL_ERR_INVALID_ARGUMENT, tl_local_set_take(fx->local, "k", fx->fake_value), 1)                 \
  X(TL_ERR_INVALID_KEY, tl_local_set_take(fx->local, NULL, tl_value_new_int32(1)), 1)              \
  X(TL_ERR_INVALID_KEY, tl_local_set_take(fx->local, BAD_UTF8, tl_value_new_int32(1)), 1)          \
  X(TL_ERR_INIT_FAILED, tl_local_set_take(fx->failing, "k", tl_value_new_int32(1)), 1)             \
  /* typed setters */                                                                              \
  X(TL_ERR_INVALID_ARGUMENT, tl_local_set_bool(NULL, "k", 1), 1)                                   \
  X(TL_ERR_INVALID_KEY, tl_local_set_bool(fx->local, TRUNCATED_UTF8, 1), 1)                        \
  X(TL_ERR_INVALID_ARGUMENT, tl_local_set_int64(fx->garbage, "k", 1), 1)                           \
  X(TL_ERR_INVALID_KEY, tl_local_set_int64(fx->local, NULL, 1), 1)                                 \
  X(TL_ERR_INIT_FAILED, tl_local_set_int64(fx->failing, "k", 1), 1)                                \
  X(TL_ERR_INVALID_ARGUMENT, tl_local_set_uint64(fx->value_as_local, "k", 1), 1)                   \
  X(TL_ERR_INVALID_KEY, tl_local_set_uint64(fx->local, BAD_UTF8, 1), 1)                            \
  X(TL_ERR_INVALID_ARGUMENT, tl_local_set_double(NULL, "k", 1.0), 1)                               \
  X(TL_ERR_INVALID_KEY, tl_local_set_double(fx->local, SURROGATE_UTF8, 1.0), 1)                    \
  X(TL_ERR_INVALID_ARGUMENT, tl_local_set_string(NULL, "k", "v"), 1)                               \
  X(TL_ERR_INVALID_ARGUMENT, tl_local_set_string(fx->local, "k", NULL), 1)                         \
  X(TL_ERR_INVALID_UTF8, tl_local_set_string(fx->local, "k", BAD_UTF8), 1)                         \
  X(TL_ERR_INVALID_KEY, tl_local_set_string(fx->local, OVERLONG_UTF8, "v"), 1)                     \
  /* tl_local_get: *out is NULL on every error */                                                  \
  X(TL_ERR_INVALID_ARGUMENT, tl_local_get(NULL, "present", &fx->out), fx->out == NULL)             \
  X(TL_ERR_INVALID_ARGUMENT, tl_local_get(fx->fake, "present", &fx->out), fx->out == NULL)         \
  X(TL_ERR_INVALID_ARGUMENT, tl_local_get(fx->garbage, "present", &fx->out), fx->out == NULL)      \
  X(TL_ERR_INVALID_ARGUMENT, tl_local_get(fx->value_as_local, "k", &fx->out), fx->out == NULL)     \
  X(TL_ERR_INVALID_ARGUMENT, tl_local_get(fx->local, "present", NULL), 1)                          \
  X(TL_ERR_INVALID_KEY, tl_local_get(fx->local, NULL, &fx->out), fx->out == NULL)                  \
  X(TL_ERR_INVALID_KEY, tl_local_get(fx->local, BAD_UTF8, &fx->out), fx->out == NULL)              \
  X(TL_ERR_INVALID_KEY, tl_local_get(fx->local, TRUNCATED_UTF8, &fx->out), fx->out == NULL)        \
  X(TL_ERR_INVALID_KEY, tl_local_get(fx->empty, LONG_TRUNCATED_UTF8, &fx->out), fx->out == NULL)   \
  X(TL_ERR_NOT_FOUND, tl_local_get(fx->local, "absent", &fx->out), fx->out == NULL)                \
  X(TL_ERR_NOT_FOUND, tl_local_get(fx->local, "Present", &fx->out), fx->out == NULL)               \
  X(TL_ERR_NOT_FOUND, tl_local_get(fx->local, "", &fx->out), fx->out == NULL)                      \
  X(TL_ERR_NOT_FOUND, tl_local_get(fx->empty, "present", &fx->out), fx->out == NULL)               \
  X(TL_ERR_NOT_FOUND, tl_local_get(fx->local, "deleted", &fx->out), fx->out == NULL)               \
  X(TL_ERR_NOT_FOUND, tl_local_get(fx->cleared, "present", &fx->out), fx->out == NULL)             \
  /* tl_local_peek: NULL, with the reason in the last error */                                     \
  X(TL_ERR_INVALID_ARGUMENT, BORROWED(tl_local_peek(NULL, "present")), 1)                          \
  X(TL_ERR_INVALID_ARGUMENT, BORROWED(tl_local_peek(fx->fake, "present")), 1)                      \
  X(TL_ERR_INVALID_ARGUMENT, BORROWED(tl_local_peek(fx->garbage, "present")), 1)                   \
  X(TL_ERR_INVALID_ARGUMENT, BORROWED(tl_local_peek(fx->value_as_local, "k")), 1)                  \
  X(TL_ERR_INVALID_KEY, BORROWED(tl_local_peek(fx->local, NULL)), 1)                               \
  X(TL_ERR_INVALID_KEY, BORROWED(tl_local_peek(fx->local, BAD_UTF8)), 1)                           \
  X(TL_ERR_INVALID_KEY, BORROWED(tl_local_peek(fx->local, TRUNCATED_UTF8)), 1)                     \
  X(TL_ERR_INVALID_KEY, BORROWED(tl_local_peek(fx->empty, SURROGATE_UTF8)), 1)                     \
  X(TL_ERR_NOT_FOUND, BORROWED(tl_local_peek(fx->local, "absent")), 1)                             \
  X(TL_ERR_NOT_FOUND, BORROWED(tl_local_peek(fx->empty, "present")), 1)                            \
  X(TL_ERR_NOT_FOUND, BORROWED(tl_local_peek(fx->local, "deleted")), 1)                            \
  X(TL_ERR_NOT_FOUND, BORROWED(tl_local_peek(fx->cleared, "present")), 1)                          \
  /* tl_local_get_<type>: *out untouched on every error */                                         \
  X(TL_ERR_INVALID_ARGUMENT, tl_local_get_int64(NULL, "present", &fx->i64), fx->i64 == SENT_I64)   \
  X(TL_ERR_INVALID_ARGUMENT, tl_local_get_int64(fx->fake, "present", &fx->i64),                    \
    fx->i64 == SENT_I64)                                                                           \
  X(TL_ERR_INVALID_ARGUMENT, tl_local_get_int64(fx->local, "present", NULL), 1)                    \
  X(TL_ERR_INVALID_KEY, tl_local_get_int64(fx->local, BAD_UTF8, &fx->i64), fx->i64 == SENT_I64)    \
  X(TL_ERR_NOT_FOUND, tl_local_get_int64(fx->local, "absent", &fx->i64), fx->i64 == SENT_I64)      \
  X(TL_ERR_WRONG_TYPE, tl_local_get_int64(fx->local, "present", &fx->i64), fx->i64 == SENT_I64)    \
  X(TL_ERR_WRONG_TYPE, tl_local_get_uint64(fx->local, "present", &fx->u64), fx->u64 == SENT_U64)   \
  X(TL_ERR_WRONG_TYPE, tl_local_get_bool(fx->local, "present", &fx->b), fx->b == SENT_B)           \
  X(TL_ERR_WRONG_TYPE, tl_local_get_double(fx->local, "present", &fx->d), fx->d == SENT_D)         \
  X(TL_ERR_NOT_FOUND, tl_local_get_string(fx->cleared, "present", &fx->string),                    \
    fx->string == SENTINEL_PTR)                                                                    \
  X(TL_ERR_INVALID_KEY, tl_local_get_string(fx->local, NULL, &fx->string),                         \
    fx->string == SENTINEL_PTR)                                                                    \
  X(TL_ERR_INIT_FAILED, tl_local_get_bool(fx->failing, "present", &fx->b), fx->b == SENT_B)        \
  /* tl_local_get_scalar: every output untouched on error */                                       \
  X(TL_ERR_INVALID_ARGUMENT,                                                                       \
    tl_local_get_scalar(NULL, "present", &fx->i32, &fx->u64, &fx->string),                         \
    fx->i32 == SENT_I32 && fx->u64 == SENT_U64 && fx->string == SENTINEL_PTR)                      \
  X(TL_ERR_INVALID_ARGUMENT, tl_local_get_scalar(fx->local, "present", NULL, &fx->u64, NULL),      \
    fx->u64 == SENT_U64)                                                                           \
  X(TL_ERR_INVALID_KEY, tl_local_get_scalar(fx->local, BAD_UTF8, &fx->i32, NULL, NULL),            \
    fx->i32 == SENT_I32)                                                                           \
  X(TL_ERR_NOT_FOUND, tl_local_get_scalar(fx->empty, "present", &fx->i32, &fx->u64, &fx->string),  \
    fx->i32 == SENT_I32 && fx->u64 == SENT_U64 && fx->string == SENTINEL_PTR)                      \
  /* quarks */                                                                                     \
  X(TL_ERR_INVALID_KEY, QUARK(tl_quark_from_string(NULL)), 1)                                      \
  X(TL_ERR_INVALID_KEY, QUARK(tl_quark_from_string(BAD_UTF8)), 1)                                  \
  X(TL_ERR_INVALID_KEY, QUARK(tl_quark_from_string(SURROGATE_UTF8)), 1)                            \
  X(TL_ERR_INVALID_KEY, BORROWED(tl_quark_to_string(0)), 1)                                        \
  X(TL_ERR_INVALID_KEY, BORROWED(tl_quark_to_string(BEYOND_QUARKS)), 1)                            \
  X(TL_ERR_INVALID_ARGUMENT, BORROWED(tl_local_peek_quark(NULL, tl_quark_from_string("present"))), \
    1)                                                                                             \
  X(TL_ERR_INVALID_ARGUMENT,                                                                       \
    BORROWED(tl_local_peek_quark(fx->garbage, tl_quark_from_string("present"))), 1)                \
  X(TL_ERR_INVALID_KEY, BORROWED(tl_local_peek_quark(fx->local, 0)), 1)                            \
  X(TL_ERR_INVALID_KEY, BORROWED(tl_local_peek_quark(fx->local, BEYOND_QUARKS)), 1)                \
  X(TL_ERR_NOT_FOUND, BORROWED(tl_local_peek_quark(fx->local, tl_quark_from_string("absent"))), 1) \
  X(TL_ERR_NOT_FOUND, BORROWED(tl_local_peek_quark(fx->cleared, tl_quark_from_string("present"))), \
    1)                                                                                             \
  X(TL_ERR_INIT_FAILED,                                                                            \
    BORROWED(tl_local_peek_quark(fx->failing, tl_quark_from_string("present"))), 1)                \
  X(TL_ERR_INVALID_ARGUMENT, tl_local_get_quark(fx->local, tl_quark_from_string("present"), NULL), \
    1)                                                                                             \
  X(TL_ERR_INVALID_KEY, tl_local_get_quark(fx->local, BEYOND_QUARKS, &fx->out), fx->out == NULL)   \
  X(TL_ERR_NOT_FOUND, tl_local_get_quark(fx->empty, tl_quark_from_string("present"), &fx->out),    \
    fx->out == NULL)                                                                               \
  X(TL_ERR_INVALID_ARGUMENT, tl_local_set_quark(fx->fake, tl_quark_from_string("k"), fx->v_int32), \
    1)                                                                                             \
  X(TL_ERR_INVALID_ARGUMENT, tl_local_set_quark(fx->local, tl_quark_from_string("k"), NULL), 1)    \
  X(TL_ERR_INVALID_ARGUMENT,                                                                       \
    tl_local_set_quark(fx->local, tl_quark_from_string("k"), fx->fake_value), 1)                   \
  X(TL_ERR_INVALID_KEY, tl_local_set_quark(fx->local, 0, fx->v_int32), 1)                          \
  X(TL_ERR_INVALID_KEY, tl_local_set_quark(fx->empty, BEYOND_QUARKS, fx->v_int32), 1)              \
  X(TL_ERR_INIT_FAILED, tl_local_set_quark(fx->failing, tl_quark_from_string("k"), fx->v_int32),   \
    1)                                                                                             \
  X(TL_ERR_INVALID_ARGUMENT, tl_local_delete_quark(NULL, tl_quark_from_string("present")), 1)      \
  X(TL_ERR_INVALID_KEY, tl_local_delete_quark(fx->local, BEYOND_QUARKS), 1)                        \
  X(TL_ERR_NOT_FOUND, tl_local_delete_quark(fx->local, tl_quark_from_string("absent")), 1)         \
  X(TL_ERR_NOT_FOUND, tl_local_delete_quark(fx->cleared, tl_quark_from_string("present")), 1)      \
  /* tl_local_delete */                                                                            \
  X(TL_ERR_INVALID_ARGUMENT, tl_local_delete(NULL, "present"), 1)                                  \
  X(TL_ERR_INVALID_ARGUMENT, tl_local_delete(fx->fake, "present"), 1)                              \
  X(TL_ERR_INVALID_ARGUMENT, tl_local_delete(fx->garbage, "present"), 1)                           \
  X(TL_ERR_INVALID_KEY, tl_local_delete(fx->local, NULL), 1)                                       \
  X(TL_ERR_INVALID_KEY, tl_local_delete(fx->local, BAD_UTF8), 1)                                   \
  X(TL_ERR_INVALID_KEY, tl_local_delete(fx->local, TRUNCATED_UTF8), 1)                             \
  X(TL_ERR_NOT_FOUND, tl_local_delete(fx->local, "absent"), 1)                                     \
  X(TL_ERR_NOT_FOUND, tl_local_delete(fx->empty, "present"), 1)                                    \
  X(TL_ERR_NOT_FOUND, tl_local_delete(fx->local, "deleted"), 1)                                    \
  X(TL_ERR_NOT_FOUND, tl_local_delete(fx->cleared, "present"), 1)                                  \
  /* tl_local_contains: a negative status instead of 0 or 1 */                                     \
  X(TL_ERR_INVALID_ARGUMENT, tl_local_contains(NULL, "present"), 1)                                \
  X(TL_ERR_INVALID_ARGUMENT, tl_local_contains(fx->fake, "present"), 1)                            \
  X(TL_ERR_INVALID_ARGUMENT, tl_local_contains(fx->garbage, "present"), 1)                         \
  X(TL_ERR_INVALID_KEY, tl_local_contains(fx->local, NULL), 1)                                     \
  X(TL_ERR_INVALID_KEY, tl_local_contains(fx->local, BAD_UTF8), 1)                                 \
  X(TL_ERR_INVALID_KEY, tl_local_contains(fx->empty, TRUNCATED_UTF8), 1)                           \
  /* tl_local_size */                                                                              \
  X(TL_ERR_INVALID_ARGUMENT, tl_local_size(NULL, &fx->size), 1)                                    \
  X(TL_ERR_INVALID_ARGUMENT, tl_local_size(fx->fake, &fx->size), 1)                                \
  X(TL_ERR_INVALID_ARGUMENT, tl_local_size(fx->garbage, &fx->size), 1)                             \
  X(TL_ERR_INVALID_ARGUMENT, tl_local_size(fx->local, NULL), 1)                                    \
  X(TL_ERR_INVALID_ARGUMENT, tl_local_size(fx->empty, NULL), 1)                                    \
  /* tl_local_clear */                                                                             \
  X(TL_ERR_INVALID_ARGUMENT, tl_local_clear(NULL), 1)                                              \
  X(TL_ERR_INVALID_ARGUMENT, tl_local_clear(fx->fake), 1)                                          \
  X(TL_ERR_INVALID_ARGUMENT, tl_local_clear(fx->garbage), 1)                                       \
  X(TL_ERR_INVALID_ARGUMENT, tl_local_clear(fx->value_as_local), 1)                                \
  /* tl_local_keys: *out_keys is NULL on error */                                                  \
  X(TL_ERR_INVALID_ARGUMENT, tl_local_keys(NULL, &fx->keys, &fx->n), fx->keys == NULL)             \
  X(TL_ERR_INVALID_ARGUMENT, tl_local_keys(fx->fake, &fx->keys, &fx->n), fx->keys == NULL)         \
  X(TL_ERR_INVALID_ARGUMENT, tl_local_keys(fx->garbage, &fx->keys, NULL), fx->keys == NULL)        \
  X(TL_ERR_INVALID_ARGUMENT, tl_local_keys(fx->local, NULL, &fx->n), 1)                            \
  X(TL_ERR_INVALID_ARGUMENT, tl_local_keys(fx->empty, NULL, NULL), 1)                              \
  /* tl_local_foreach */                                                                           \
  X(TL_ERR_INVALID_ARGUMENT, tl_local_foreach(NULL, no_op_visit, NULL), 1)                         \
  X(TL_ERR_INVALID_ARGUMENT, tl_local_foreach(fx->fake, no_op_visit, NULL), 1)                     \
  X(TL_ERR_INVALID_ARGUMENT, tl_local_foreach(fx->garbage, no_op_visit, NULL), 1)                  \
  X(TL_ERR_INVALID_ARGUMENT, tl_local_foreach(fx->local, NULL, NULL), 1)                           \
  X(TL_ERR_INVALID_ARGUMENT, tl_local_foreach(fx->empty, NULL, NULL), 1)                           \
  /* tl_local_ref / tl_local_unref on something that is not a local (NULL is a no-op: below) */    \
  X(TL_ERR_INVALID_ARGUMENT, BORROWED(tl_local_ref(fx->fake)), 1)                                  \
  X(TL_ERR_INVALID_ARGUMENT, BORROWED(tl_local_ref(fx->garbage)), 1)                               \
  X(TL_ERR_INVALID_ARGUMENT, BORROWED(tl_local_ref(fx->value_as_local)), 1)                        \
  X(TL_ERR_INVALID_ARGUMENT, VOID_CALL(tl_local_unref(fx->fake)), 1)                               \
  X(TL_ERR_INVALID_ARGUMENT, VOID_CALL(tl_local_unref(fx->garbage)), 1)                            \
  X(TL_ERR_INVALID_ARGUMENT, VOID_CALL(tl_local_unref(fx->value_as_local)), 1)

/* Options, initializers, names, exit hooks, visits and the snapshot hand-off. */
#define LIFECYCLE_ROWS(X)                                                                          \
  /* tl_local_new_full: unknown flags */                                                           \
  X(TL_ERR_INVALID_ARGUMENT, NEW_LOCAL(tl_local_new_full(1u << 1, NULL, NULL, NULL)), 1)           \
  X(TL_ERR_INVALID_ARGUMENT, NEW_LOCAL(tl_local_new_full(0x80000000u, failing_init, NULL, NULL)),  \
    1)                                                                                             \
  X(TL_ERR_INVALID_ARGUMENT, NEW_LOCAL(tl_local_new_full(~0u, NULL, NULL, NULL)), 1)               \
  /* tl_local_new_with_args: arguments need a function and a tuple */                              \
  X(TL_ERR_INVALID_ARGUMENT, NEW_LOCAL(tl_local_new_with_args(0, NULL, 0, fx->unit)), 1)           \
  X(TL_ERR_INVALID_ARGUMENT, NEW_LOCAL(tl_local_new_with_args(0, NULL, 1, fx->tuple)), 1)          \
  X(TL_ERR_INVALID_ARGUMENT,                                                                       \
    NEW_LOCAL(tl_local_new_with_args(1u << 1, no_op_callback, 0, fx->unit)), 1)                    \
  X(TL_ERR_INVALID_ARGUMENT, NEW_LOCAL(tl_local_new_with_args(0, no_op_callback, 0, NULL)), 1)     \
  X(TL_ERR_INVALID_ARGUMENT,                                                                       \
    NEW_LOCAL(tl_local_new_with_args(0, no_op_callback, 0, fx->fake_value)), 1)                    \
  X(TL_ERR_WRONG_TYPE, NEW_LOCAL(tl_local_new_with_args(0, no_op_callback, 0, fx->v_int32)), 1)    \
  X(TL_ERR_WRONG_TYPE, NEW_LOCAL(tl_local_new_with_args(0, no_op_callback, 0, fx->int_array)), 1)  \
  X(TL_ERR_WRONG_TYPE, NEW_LOCAL(tl_local_new_with_args(0, no_op_callback, 0, fx->variant)), 1)    \
  X(TL_ERR_WRONG_TYPE, NEW_LOCAL(tl_local_new_with_args(0, no_op_callback, 0, fx->ptr)), 1)        \
  /* at most 126 arguments: libffi copies them onto the replaying thread's stack */                \
  X(TL_ERR_INVALID_ARGUMENT,                                                                       \
    NEW_LOCAL(tl_local_new_with_args(0, no_op_callback, 0, fx->args_127)), 1)                      \
  /* tl_local_open / tl_local_unregister: names are UTF-8 */                                       \
  X(TL_ERR_INVALID_KEY, NEW_LOCAL(tl_local_open(NULL)), 1)                                         \
  X(TL_ERR_INVALID_KEY, NEW_LOCAL(tl_local_open(BAD_UTF8)), 1)                                     \
  X(TL_ERR_INVALID_KEY, NEW_LOCAL(tl_local_open(TRUNCATED_UTF8)), 1)                               \
  X(TL_ERR_INVALID_KEY, NEW_LOCAL(tl_local_open(SURROGATE_UTF8)), 1)                               \
  X(TL_ERR_INVALID_KEY, tl_local_unregister(NULL), 1)                                              \
  X(TL_ERR_INVALID_KEY, tl_local_unregister(BAD_UTF8), 1)                                          \
  X(TL_ERR_INVALID_KEY, tl_local_unregister(LONG_TRUNCATED_UTF8), 1)                               \
  X(TL_ERR_NOT_FOUND, tl_local_unregister("check-errors: never registered"), 1)                    \
  X(TL_ERR_NOT_FOUND, tl_local_unregister(""), 1)                                                  \
  /* tl_local_set_exit_hook (a NULL hook is valid: it removes the hook) */                         \
  X(TL_ERR_INVALID_ARGUMENT, tl_local_set_exit_hook(NULL, no_op_hook, NULL, NULL), 1)              \
  X(TL_ERR_INVALID_ARGUMENT, tl_local_set_exit_hook(fx->fake, no_op_hook, NULL, NULL), 1)          \
  X(TL_ERR_INVALID_ARGUMENT, tl_local_set_exit_hook(fx->garbage, NULL, NULL, NULL), 1)             \
  X(TL_ERR_INVALID_ARGUMENT, tl_local_set_exit_hook(fx->value_as_local, no_op_hook, NULL, NULL),   \
    1)                                                                                             \
  /* tl_local_visit */                                                                             \
  X(TL_ERR_INVALID_ARGUMENT, tl_local_visit(NULL, NULL, no_op_visitor, NULL), 1)                   \
  X(TL_ERR_INVALID_ARGUMENT, tl_local_visit(fx->fake, NULL, no_op_visitor, NULL), 1)               \
  X(TL_ERR_INVALID_ARGUMENT, tl_local_visit(fx->garbage, "k", no_op_visitor, NULL), 1)             \
  X(TL_ERR_INVALID_ARGUMENT, tl_local_visit(fx->visitable, NULL, NULL, NULL), 1)                   \
  X(TL_ERR_INVALID_KEY, tl_local_visit(fx->visitable, BAD_UTF8, no_op_visitor, NULL), 1)           \
  X(TL_ERR_INVALID_KEY, tl_local_visit(fx->visitable, TRUNCATED_UTF8, no_op_visitor, NULL), 1)     \
  X(TL_ERR_UNSUPPORTED, tl_local_visit(fx->local, NULL, no_op_visitor, NULL), 1)                   \
  X(TL_ERR_UNSUPPORTED, tl_local_visit(fx->local, "present", no_op_visitor, NULL), 1)              \
  /* tl_local_snapshot: *out is NULL on error */                                                   \
  X(TL_ERR_INVALID_ARGUMENT, tl_local_snapshot(NULL, &fx->out), fx->out == NULL)                   \
  X(TL_ERR_INVALID_ARGUMENT, tl_local_snapshot(fx->fake, &fx->out), fx->out == NULL)               \
  X(TL_ERR_INVALID_ARGUMENT, tl_local_snapshot(fx->garbage, &fx->out), fx->out == NULL)            \
  X(TL_ERR_INVALID_ARGUMENT, tl_local_snapshot(fx->local, NULL), 1)                                \
  /* tl_local_apply: all or nothing, so "present" survives every row */                            \
  X(TL_ERR_INVALID_ARGUMENT, tl_local_apply(NULL, fx->dict, TL_APPLY_UPDATE), 1)                   \
  X(TL_ERR_INVALID_ARGUMENT, tl_local_apply(fx->fake, fx->dict, TL_APPLY_UPDATE), 1)               \
  X(TL_ERR_INVALID_ARGUMENT, tl_local_apply(fx->local, NULL, TL_APPLY_REPLACE), 1)                 \
  X(TL_ERR_INVALID_ARGUMENT, tl_local_apply(fx->local, fx->fake_value, TL_APPLY_REPLACE), 1)       \
  X(TL_ERR_INVALID_ARGUMENT, tl_local_apply(fx->local, fx->local_as_value, TL_APPLY_REPLACE), 1)   \
  X(TL_ERR_INVALID_ARGUMENT, tl_local_apply(fx->local, fx->dict, 2), 1)                            \
  X(TL_ERR_INVALID_ARGUMENT, tl_local_apply(fx->local, fx->dict, -1), 1)                           \
  X(TL_ERR_INVALID_ARGUMENT, tl_local_apply(fx->local, fx->bare_handle, TL_APPLY_REPLACE), 1)      \
  X(TL_ERR_INVALID_ARGUMENT, tl_local_apply(fx->empty, fx->bare_handle, TL_APPLY_UPDATE), 1)       \
  X(TL_ERR_WRONG_TYPE, tl_local_apply(fx->local, fx->v_int32, TL_APPLY_REPLACE), 1)                \
  X(TL_ERR_WRONG_TYPE, tl_local_apply(fx->local, fx->ptr, TL_APPLY_REPLACE), 1)                    \
  X(TL_ERR_WRONG_TYPE, tl_local_apply(fx->local, fx->tuple, TL_APPLY_REPLACE), 1)                  \
  X(TL_ERR_WRONG_TYPE, tl_local_apply(fx->local, fx->string_dict, TL_APPLY_REPLACE), 1)            \
  X(TL_ERR_WRONG_TYPE, tl_local_apply(fx->local, fx->int_dict, TL_APPLY_UPDATE), 1)                \
  X(TL_ERR_WRONG_TYPE, tl_local_apply(fx->empty, fx->empty_array, TL_APPLY_UPDATE), 1)             \
  /* A failing initializer fails every access, and leaves no dictionary behind */                  \
  X(TL_ERR_INIT_FAILED, tl_local_set(fx->failing, "k", fx->v_int32), 1)                            \
  X(TL_ERR_INIT_FAILED, tl_local_get(fx->failing, "k", &fx->out), fx->out == NULL)                 \
  X(TL_ERR_INIT_FAILED, BORROWED(tl_local_peek(fx->failing, "k")), 1)                              \
  X(TL_ERR_INIT_FAILED, tl_local_delete(fx->failing, "k"), 1)                                      \
  X(TL_ERR_INIT_FAILED, tl_local_contains(fx->failing, "k"), 1)                                    \
  X(TL_ERR_INIT_FAILED, tl_local_size(fx->failing, &fx->size), 1)                                  \
  X(TL_ERR_INIT_FAILED, tl_local_clear(fx->failing), 1)                                            \
  X(TL_ERR_INIT_FAILED, tl_local_keys(fx->failing, &fx->keys, &fx->n), fx->keys == NULL)           \
  X(TL_ERR_INIT_FAILED, tl_local_foreach(fx->failing, no_op_visit, NULL), 1)                       \
  X(TL_ERR_INIT_FAILED, tl_local_snapshot(fx->failing, &fx->out), fx->out == NULL)                 \
  X(TL_ERR_INIT_FAILED, tl_local_apply(fx->failing, fx->dict, TL_APPLY_UPDATE), 1)

#define CONSTRUCTOR_ROWS(X)                                                                        \
  /* tl_value_new_string */                                                                        \
  X(TL_ERR_INVALID_ARGUMENT, NEW_VALUE(tl_value_new_string(NULL)), 1)                              \
  X(TL_ERR_INVALID_UTF8, NEW_VALUE(tl_value_new_string(BAD_UTF8)), 1)                              \
  X(TL_ERR_INVALID_UTF8, NEW_VALUE(tl_value_new_string(TRUNCATED_UTF8)), 1)                        \
  X(TL_ERR_INVALID_UTF8, NEW_VALUE(tl_value_new_string(LONG_TRUNCATED_UTF8)), 1)                   \
  X(TL_ERR_INVALID_UTF8, NEW_VALUE(tl_value_new_string(OVERLONG_UTF8)), 1)                         \
  X(TL_ERR_INVALID_UTF8, NEW_VALUE(tl_value_new_string(SURROGATE_UTF8)), 1)                        \
  X(TL_ERR_INVALID_UTF8, NEW_VALUE(tl_value_new_string(BEYOND_UNICODE_UTF8)), 1)                   \
  /* tl_value_new_bytes: data may be NULL only with size 0 */                                      \
  X(TL_ERR_INVALID_ARGUMENT, NEW_VALUE(tl_value_new_bytes(NULL, 1)), 1)                            \
  X(TL_ERR_INVALID_ARGUMENT, NEW_VALUE(tl_value_new_bytes(NULL, SIZE_MAX)), 1)                     \
  /* tl_value_new_tuple */                                                                         \
  X(TL_ERR_INVALID_ARGUMENT, NEW_VALUE(tl_value_new_tuple(NULL, 1)), 1)                            \
  X(TL_ERR_INVALID_ARGUMENT, NEW_VALUE(tl_value_new_tuple(fx->items_null, 2)), 1)                  \
  X(TL_ERR_INVALID_ARGUMENT, NEW_VALUE(tl_value_new_tuple(fx->items_ptr, 2)), 1)                   \
  X(TL_ERR_INVALID_ARGUMENT, NEW_VALUE(tl_value_new_tuple(fx->items_ptr_first, 2)), 1)             \
  X(TL_ERR_INVALID_ARGUMENT, NEW_VALUE(tl_value_new_tuple(fx->items_fake, 2)), 1)                  \
  X(TL_ERR_INVALID_ARGUMENT, NEW_VALUE(tl_value_new_tuple(&fx->local_as_value, 1)), 1)             \
  X(TL_ERR_INVALID_ARGUMENT, NEW_VALUE(tl_value_new_tuple(&fx->ptr, 1)), 1)                        \
  X(TL_ERR_INVALID_ARGUMENT, NEW_VALUE(tl_value_new_tuple(&fx->deepest, 1)), 1)                    \
  /* tl_value_new_array */                                                                         \
  X(TL_ERR_INVALID_ARGUMENT, NEW_VALUE(tl_value_new_array(NULL, NULL, 0)), 1)                      \
  X(TL_ERR_INVALID_ARGUMENT, NEW_VALUE(tl_value_new_array("i", NULL, 2)), 1)                       \
  X(TL_ERR_INVALID_ARGUMENT, NEW_VALUE(tl_value_new_array("", fx->items_ok, 2)), 1)                \
  X(TL_ERR_INVALID_ARGUMENT, NEW_VALUE(tl_value_new_array("ii", fx->items_ok, 2)), 1)              \
  X(TL_ERR_INVALID_ARGUMENT, NEW_VALUE(tl_value_new_array("a", fx->items_ok, 2)), 1)               \
  X(TL_ERR_INVALID_ARGUMENT, NEW_VALUE(tl_value_new_array("z", fx->items_ok, 2)), 1)               \
  X(TL_ERR_INVALID_ARGUMENT, NEW_VALUE(tl_value_new_array("{vs}", fx->items_ok, 2)), 1)            \
  X(TL_ERR_INVALID_ARGUMENT, NEW_VALUE(tl_value_new_array(BAD_UTF8, fx->items_ok, 2)), 1)          \
  X(TL_ERR_INVALID_ARGUMENT, NEW_VALUE(tl_value_new_array("*", fx->items_ok, 2)), 1)               \
  X(TL_ERR_INVALID_ARGUMENT, NEW_VALUE(tl_value_new_array("a?", fx->items_ok, 2)), 1)              \
  X(TL_ERR_INVALID_ARGUMENT, NEW_VALUE(tl_value_new_array("*", NULL, 0)), 1)                       \
  X(TL_ERR_INVALID_ARGUMENT, NEW_VALUE(tl_value_new_array("i", fx->items_null, 2)), 1)             \
  X(TL_ERR_INVALID_ARGUMENT, NEW_VALUE(tl_value_new_array(NULL, fx->items_null, 2)), 1)            \
  X(TL_ERR_INVALID_ARGUMENT, NEW_VALUE(tl_value_new_array("i", fx->items_ptr, 2)), 1)              \
  X(TL_ERR_INVALID_ARGUMENT, NEW_VALUE(tl_value_new_array("v", fx->items_ptr, 2)), 1)              \
  X(TL_ERR_INVALID_ARGUMENT, NEW_VALUE(tl_value_new_array(NULL, fx->items_ptr_first, 2)), 1)       \
  X(TL_ERR_INVALID_ARGUMENT, NEW_VALUE(tl_value_new_array("i", fx->items_fake, 2)), 1)             \
  X(TL_ERR_INVALID_ARGUMENT, NEW_VALUE(tl_value_new_array(NULL, &fx->deepest, 1)), 1)              \
  X(TL_ERR_INVALID_ARGUMENT, NEW_VALUE(tl_value_new_array("v", &fx->deepest, 1)), 1)               \
  X(TL_ERR_WRONG_TYPE, NEW_VALUE(tl_value_new_array("s", fx->items_ok, 2)), 1)                     \
  X(TL_ERR_WRONG_TYPE, NEW_VALUE(tl_value_new_array("x", fx->items_ok, 2)), 1)                     \
  X(TL_ERR_WRONG_TYPE, NEW_VALUE(tl_value_new_array("i", fx->items_mixed, 2)), 1)                  \
  X(TL_ERR_WRONG_TYPE, NEW_VALUE(tl_value_new_array(NULL, fx->items_mixed, 2)), 1)                 \
  /* tl_value_new_maybe */                                                                         \
  X(TL_ERR_INVALID_ARGUMENT, NEW_VALUE(tl_value_new_maybe(NULL, NULL)), 1)                         \
  X(TL_ERR_INVALID_ARGUMENT, NEW_VALUE(tl_value_new_maybe("", NULL)), 1)                           \
  X(TL_ERR_INVALID_ARGUMENT, NEW_VALUE(tl_value_new_maybe("a?", NULL)), 1)                         \
  X(TL_ERR_INVALID_ARGUMENT, NEW_VALUE(tl_value_new_maybe("ii", NULL)), 1)                         \
  X(TL_ERR_INVALID_ARGUMENT, NEW_VALUE(tl_value_new_maybe(BAD_UTF8, NULL)), 1)                     \
  X(TL_ERR_INVALID_ARGUMENT, NEW_VALUE(tl_value_new_maybe(NULL, fx->ptr)), 1)                      \
  X(TL_ERR_INVALID_ARGUMENT, NEW_VALUE(tl_value_new_maybe("i", fx->fake_value)), 1)                \
  X(TL_ERR_INVALID_ARGUMENT, NEW_VALUE(tl_value_new_maybe("v", fx->local_as_value)), 1)            \
  X(TL_ERR_INVALID_ARGUMENT, NEW_VALUE(tl_value_new_maybe(NULL, fx->deepest)), 1)                  \
  X(TL_ERR_WRONG_TYPE, NEW_VALUE(tl_value_new_maybe("s", fx->v_int32)), 1)                         \
  X(TL_ERR_WRONG_TYPE, NEW_VALUE(tl_value_new_maybe("v", fx->v_int32)), 1)                         \
  /* tl_value_new_vardict */                                                                       \
  X(TL_ERR_INVALID_ARGUMENT, NEW_VALUE(tl_value_new_vardict(NULL, fx->items_ok, 2)), 1)            \
  X(TL_ERR_INVALID_ARGUMENT, NEW_VALUE(tl_value_new_vardict(keys_ok, NULL, 2)), 1)                 \
  X(TL_ERR_INVALID_ARGUMENT, NEW_VALUE(tl_value_new_vardict(keys_ok, fx->items_null, 2)), 1)       \
  X(TL_ERR_INVALID_ARGUMENT, NEW_VALUE(tl_value_new_vardict(keys_ok, fx->items_ptr, 2)), 1)        \
  X(TL_ERR_INVALID_ARGUMENT, NEW_VALUE(tl_value_new_vardict(keys_ok, fx->items_fake, 2)), 1)       \
  X(TL_ERR_INVALID_ARGUMENT, NEW_VALUE(tl_value_new_vardict(keys_ok, &fx->deepest, 1)), 1)         \
  X(TL_ERR_INVALID_KEY, NEW_VALUE(tl_value_new_vardict(keys_with_null, fx->items_ok, 2)), 1)       \
  X(TL_ERR_INVALID_KEY, NEW_VALUE(tl_value_new_vardict(keys_bad_utf8, fx->items_ok, 2)), 1)        \
  X(TL_ERR_INVALID_KEY, NEW_VALUE(tl_value_new_vardict(keys_truncated, fx->items_ok, 2)), 1)       \
  /* tl_value_new_from_gvariant (tlslocal-glib.h) */                                               \
  X(TL_ERR_INVALID_ARGUMENT, NEW_VALUE(tl_value_new_from_gvariant(NULL)), 1)                       \
  X(TL_ERR_INVALID_ARGUMENT, NEW_VALUE(tl_value_new_from_gvariant(fx->glib_128)), 1)

#define TEXT_ROWS(X)                                                                               \
  /* tl_value_serialize: both outputs untouched on error */                                        \
  X(TL_ERR_INVALID_ARGUMENT, tl_value_serialize(NULL, &fx->pointer, &fx->size),                    \
    fx->pointer == SENTINEL_PTR && fx->size == 4242)                                               \
  X(TL_ERR_INVALID_ARGUMENT, tl_value_serialize(fx->fake_value, &fx->pointer, &fx->size),          \
    fx->pointer == SENTINEL_PTR && fx->size == 4242)                                               \
  X(TL_ERR_INVALID_ARGUMENT, tl_value_serialize(fx->local_as_value, &fx->pointer, &fx->size),      \
    fx->pointer == SENTINEL_PTR && fx->size == 4242)                                               \
  X(TL_ERR_INVALID_ARGUMENT, tl_value_serialize(fx->v_int32, NULL, &fx->size), fx->size == 4242)   \
  X(TL_ERR_INVALID_ARGUMENT, tl_value_serialize(fx->dict, &fx->pointer, NULL),                     \
    fx->pointer == SENTINEL_PTR)                                                                   \
  X(TL_ERR_WRONG_TYPE, tl_value_serialize(fx->ptr, &fx->pointer, &fx->size),                       \
    fx->pointer == SENTINEL_PTR && fx->size == 4242)                                               \
  /* tl_value_deserialize: *out is NULL on error */                                                \
  X(TL_ERR_INVALID_ARGUMENT, tl_value_deserialize("x", "12345678", 8, NULL), 1)                    \
  X(TL_ERR_INVALID_ARGUMENT, tl_value_deserialize(NULL, "12345678", 8, &fx->out), fx->out == NULL) \
  X(TL_ERR_INVALID_ARGUMENT, tl_value_deserialize("x", NULL, 8, &fx->out), fx->out == NULL)        \
  X(TL_ERR_INVALID_ARGUMENT, tl_value_deserialize("", "", 0, &fx->out), fx->out == NULL)           \
  X(TL_ERR_INVALID_ARGUMENT, tl_value_deserialize("p", "12345678", 8, &fx->out), fx->out == NULL)  \
  X(TL_ERR_INVALID_ARGUMENT, tl_value_deserialize("m*", "", 0, &fx->out), fx->out == NULL)         \
  X(TL_ERR_INVALID_ARGUMENT, tl_value_deserialize("ii", "12345678", 8, &fx->out), fx->out == NULL) \
  X(TL_ERR_INVALID_ARGUMENT, tl_value_deserialize(BAD_UTF8, "1", 1, &fx->out), fx->out == NULL)    \
  X(TL_ERR_PARSE, tl_value_deserialize("x", "1234", 4, &fx->out), fx->out == NULL)                 \
  X(TL_ERR_PARSE, tl_value_deserialize("s", "abc", 3, &fx->out), fx->out == NULL)                  \
  X(TL_ERR_PARSE, tl_value_deserialize("s", BAD_UTF8, 3, &fx->out), fx->out == NULL)               \
  X(TL_ERR_PARSE, tl_value_deserialize("b", "\x02", 1, &fx->out), fx->out == NULL)                 \
  X(TL_ERR_PARSE, tl_value_deserialize("as", "a\0\x09", 3, &fx->out), fx->out == NULL)             \
  /* tl_value_parse: *out is NULL on error */                                                      \
  X(TL_ERR_INVALID_ARGUMENT, tl_value_parse(NULL, "5", NULL), 1)                                   \
  X(TL_ERR_INVALID_ARGUMENT, tl_value_parse("i", "5", NULL), 1)                                    \
  X(TL_ERR_INVALID_ARGUMENT, tl_value_parse(NULL, NULL, &fx->out), fx->out == NULL)                \
  X(TL_ERR_INVALID_ARGUMENT, tl_value_parse("x", NULL, &fx->out), fx->out == NULL)                 \
  X(TL_ERR_INVALID_ARGUMENT, tl_value_parse("", "5", &fx->out), fx->out == NULL)                   \
  X(TL_ERR_INVALID_ARGUMENT, tl_value_parse("ii", "(1, 2)", &fx->out), fx->out == NULL)            \
  X(TL_ERR_INVALID_ARGUMENT, tl_value_parse("z", "5", &fx->out), fx->out == NULL)                  \
  X(TL_ERR_INVALID_ARGUMENT, tl_value_parse("a", "[1]", &fx->out), fx->out == NULL)                \
  X(TL_ERR_INVALID_ARGUMENT, tl_value_parse("{vs}", "{<1>, 'a'}", &fx->out), fx->out == NULL)      \
  X(TL_ERR_INVALID_ARGUMENT, tl_value_parse(BAD_UTF8, "5", &fx->out), fx->out == NULL)             \
  X(TL_ERR_INVALID_UTF8, tl_value_parse(NULL, BAD_UTF8, &fx->out), fx->out == NULL)                \
  X(TL_ERR_INVALID_UTF8, tl_value_parse(NULL, "'" TRUNCATED_UTF8, &fx->out), fx->out == NULL)      \
  X(TL_ERR_INVALID_UTF8, tl_value_parse("s", "'" SURROGATE_UTF8 "'", &fx->out), fx->out == NULL)   \
  X(TL_ERR_PARSE, tl_value_parse(NULL, "", &fx->out), fx->out == NULL)                             \
  X(TL_ERR_PARSE, tl_value_parse(NULL, "[1,", &fx->out), fx->out == NULL)                          \
  X(TL_ERR_PARSE, tl_value_parse(NULL, "'unterminated", &fx->out), fx->out == NULL)                \
  X(TL_ERR_PARSE, tl_value_parse(NULL, "[1, 'a']", &fx->out), fx->out == NULL)                     \
  X(TL_ERR_PARSE, tl_value_parse(NULL, "1 2", &fx->out), fx->out == NULL)                          \
  X(TL_ERR_PARSE, tl_value_parse(NULL, "[]", &fx->out), fx->out == NULL)                           \
  X(TL_ERR_PARSE, tl_value_parse(NULL, "int64 99999999999999999999", &fx->out), fx->out == NULL)   \
  X(TL_ERR_PARSE, tl_value_parse("y", "300", &fx->out), fx->out == NULL)                           \
  X(TL_ERR_PARSE, tl_value_parse("s", "5", &fx->out), fx->out == NULL)                             \
  X(TL_ERR_PARSE, tl_value_parse("x", "'five'", &fx->out), fx->out == NULL)                        \
  X(TL_ERR_PARSE, tl_value_parse("(i)", "(1, 2)", &fx->out), fx->out == NULL)                      \
  X(TL_ERR_INVALID_ARGUMENT, tl_value_parse("*", "5", &fx->out), fx->out == NULL)                  \
  X(TL_ERR_INVALID_ARGUMENT, tl_value_parse("m*", "nothing", &fx->out), fx->out == NULL)           \
  X(TL_ERR_INVALID_ARGUMENT, tl_value_parse("a{?*}", "{}", &fx->out), fx->out == NULL)             \
  X(TL_ERR_PARSE, tl_value_parse(NULL, "'\\U22222222'", &fx->out), fx->out == NULL)                \
  X(TL_ERR_PARSE, tl_value_parse("s", "'\\ud800'", &fx->out), fx->out == NULL)                     \
  X(TL_ERR_PARSE, tl_value_parse("a{sv}", "{'a': 1}", &fx->out), fx->out == NULL)                  \
  X(TL_ERR_PARSE, tl_value_parse(NULL, fx->text_128, &fx->out), fx->out == NULL)                   \
  /* tl_value_print */                                                                             \
  X(TL_ERR_INVALID_ARGUMENT, NEW_STRING(tl_value_print(NULL, 0)), 1)                               \
  X(TL_ERR_INVALID_ARGUMENT, NEW_STRING(tl_value_print(fx->fake_value, 1)), 1)                     \
  X(TL_ERR_INVALID_ARGUMENT, NEW_STRING(tl_value_print(fx->local_as_value, 1)), 1)                 \
  X(TL_ERR_WRONG_TYPE, NEW_STRING(tl_value_print(fx->ptr, 0)), 1)                                  \
  X(TL_ERR_WRONG_TYPE, NEW_STRING(tl_value_print(fx->ptr, 1)), 1)                                  \
  /* tl_value_type */                                                                              \
  X(TL_ERR_INVALID_ARGUMENT, BORROWED(tl_value_type(NULL)), 1)                                     \
  X(TL_ERR_INVALID_ARGUMENT, BORROWED(tl_value_type(fx->fake_value)), 1)                           \
  X(TL_ERR_INVALID_ARGUMENT, BORROWED(tl_value_type(fx->local_as_value)), 1)                       \
  /* tl_value_equal */                                                                             \
  X(TL_ERR_INVALID_ARGUMENT, tl_value_equal(NULL, fx->v_int32), 1)                                 \
  X(TL_ERR_INVALID_ARGUMENT, tl_value_equal(fx->v_int32, NULL), 1)                                 \
  X(TL_ERR_INVALID_ARGUMENT, tl_value_equal(NULL, NULL), 1)                                        \
  X(TL_ERR_INVALID_ARGUMENT, tl_value_equal(fx->fake_value, fx->fake_value), 1)                    \
  X(TL_ERR_INVALID_ARGUMENT, tl_value_equal(fx->v_int32, fx->local_as_value), 1)                   \
  /* tl_value_ref / tl_value_unref on something that is not a value (NULL is a no-op: below) */    \
  X(TL_ERR_INVALID_ARGUMENT, BORROWED(tl_value_ref(fx->fake_value)), 1)                            \
  X(TL_ERR_INVALID_ARGUMENT, BORROWED(tl_value_ref(fx->local_as_value)), 1)                        \
  X(TL_ERR_INVALID_ARGUMENT, VOID_CALL(tl_value_unref(fx->fake_value)), 1)                         \
  X(TL_ERR_INVALID_ARGUMENT, VOID_CALL(tl_value_unref(fx->local_as_value)), 1)                     \
  /* tl_value_dup_gvariant (tlslocal-glib.h) */                                                    \
  X(TL_ERR_INVALID_ARGUMENT, NEW_GVARIANT(tl_value_dup_gvariant(NULL)), 1)                         \
  X(TL_ERR_INVALID_ARGUMENT, NEW_GVARIANT(tl_value_dup_gvariant(fx->fake_value)), 1)               \
  X(TL_ERR_WRONG_TYPE, NEW_GVARIANT(tl_value_dup_gvariant(fx->ptr)), 1)

/* The checked scalar accessors: NULL value, NULL out, and another type (out untouched). */
#define SCALAR_ROWS(X)                                                                             \
  X(TL_ERR_INVALID_ARGUMENT, tl_value_get_bool(NULL, &fx->b), 1)                                   \
  X(TL_ERR_INVALID_ARGUMENT, tl_value_get_bool(fx->fake_value, &fx->b), 1)                         \
  X(TL_ERR_INVALID_ARGUMENT, tl_value_get_bool(fx->v_bool, NULL), 1)                               \
  X(TL_ERR_WRONG_TYPE, tl_value_get_bool(fx->v_byte, &fx->b), fx->b == SENT_B)                     \
  X(TL_ERR_WRONG_TYPE, tl_value_get_bool(fx->ptr, &fx->b), fx->b == SENT_B)                        \
  X(TL_ERR_INVALID_ARGUMENT, tl_value_get_byte(NULL, &fx->y), 1)                                   \
  X(TL_ERR_INVALID_ARGUMENT, tl_value_get_byte(fx->v_byte, NULL), 1)                               \
  X(TL_ERR_WRONG_TYPE, tl_value_get_byte(fx->v_bool, &fx->y), fx->y == SENT_Y)                     \
  X(TL_ERR_WRONG_TYPE, tl_value_get_byte(fx->bytes, &fx->y), fx->y == SENT_Y)                      \
  X(TL_ERR_INVALID_ARGUMENT, tl_value_get_int16(NULL, &fx->i16), 1)                                \
  X(TL_ERR_INVALID_ARGUMENT, tl_value_get_int16(fx->v_int16, NULL), 1)                             \
  X(TL_ERR_WRONG_TYPE, tl_value_get_int16(fx->v_uint16, &fx->i16), fx->i16 == SENT_I16)            \
  X(TL_ERR_WRONG_TYPE, tl_value_get_int16(fx->v_int32, &fx->i16), fx->i16 == SENT_I16)             \
  X(TL_ERR_INVALID_ARGUMENT, tl_value_get_uint16(NULL, &fx->u16), 1)                               \
  X(TL_ERR_INVALID_ARGUMENT, tl_value_get_uint16(fx->v_uint16, NULL), 1)                           \
  X(TL_ERR_WRONG_TYPE, tl_value_get_uint16(fx->v_int16, &fx->u16), fx->u16 == SENT_U16)            \
  X(TL_ERR_INVALID_ARGUMENT, tl_value_get_int32(NULL, &fx->i32), 1)                                \
  X(TL_ERR_INVALID_ARGUMENT, tl_value_get_int32(fx->v_int32, NULL), 1)                             \
  X(TL_ERR_INVALID_ARGUMENT, tl_value_get_int32(fx->local_as_value, &fx->i32), 1)                  \
  X(TL_ERR_WRONG_TYPE, tl_value_get_int32(fx->v_int64, &fx->i32), fx->i32 == SENT_I32)             \
  X(TL_ERR_WRONG_TYPE, tl_value_get_int32(fx->v_uint32, &fx->i32), fx->i32 == SENT_I32)            \
  X(TL_ERR_WRONG_TYPE, tl_value_get_int32(fx->v_int16, &fx->i32), fx->i32 == SENT_I32)             \
  X(TL_ERR_WRONG_TYPE, tl_value_get_int32(fx->str, &fx->i32), fx->i32 == SENT_I32)                 \
  X(TL_ERR_WRONG_TYPE, tl_value_get_int32(fx->variant, &fx->i32), fx->i32 == SENT_I32)             \
  X(TL_ERR_INVALID_ARGUMENT, tl_value_get_uint32(NULL, &fx->u32), 1)                               \
  X(TL_ERR_INVALID_ARGUMENT, tl_value_get_uint32(fx->v_uint32, NULL), 1)                           \
  X(TL_ERR_WRONG_TYPE, tl_value_get_uint32(fx->v_int32, &fx->u32), fx->u32 == SENT_U32)            \
  X(TL_ERR_INVALID_ARGUMENT, tl_value_get_int64(NULL, &fx->i64), 1)                                \
  X(TL_ERR_INVALID_ARGUMENT, tl_value_get_int64(fx->v_int64, NULL), 1)                             \
  X(TL_ERR_WRONG_TYPE, tl_value_get_int64(fx->v_int32, &fx->i64), fx->i64 == SENT_I64)             \
  X(TL_ERR_WRONG_TYPE, tl_value_get_int64(fx->v_uint64, &fx->i64), fx->i64 == SENT_I64)            \
  X(TL_ERR_WRONG_TYPE, tl_value_get_int64(fx->v_double, &fx->i64), fx->i64 == SENT_I64)            \
  X(TL_ERR_WRONG_TYPE, tl_value_get_int64(fx->ptr, &fx->i64), fx->i64 == SENT_I64)                 \
  X(TL_ERR_INVALID_ARGUMENT, tl_value_get_uint64(NULL, &fx->u64), 1)                               \
  X(TL_ERR_INVALID_ARGUMENT, tl_value_get_uint64(fx->v_uint64, NULL), 1)                           \
  X(TL_ERR_WRONG_TYPE, tl_value_get_uint64(fx->v_int64, &fx->u64), fx->u64 == SENT_U64)            \
  X(TL_ERR_INVALID_ARGUMENT, tl_value_get_double(NULL, &fx->d), 1)                                 \
  X(TL_ERR_INVALID_ARGUMENT, tl_value_get_double(fx->v_double, NULL), 1)                           \
  X(TL_ERR_WRONG_TYPE, tl_value_get_double(fx->v_int64, &fx->d), fx->d == SENT_D)                  \
  X(TL_ERR_WRONG_TYPE, tl_value_get_double(fx->str, &fx->d), fx->d == SENT_D)                      \
  /* tl_value_get_handle accepts "h" only: an "i" is not a handle */                               \
  X(TL_ERR_INVALID_ARGUMENT, tl_value_get_handle(NULL, &fx->i32), 1)                               \
  X(TL_ERR_INVALID_ARGUMENT, tl_value_get_handle(fx->v_handle, NULL), 1)                           \
  X(TL_ERR_WRONG_TYPE, tl_value_get_handle(fx->v_int32, &fx->i32), fx->i32 == SENT_I32)            \
  X(TL_ERR_WRONG_TYPE, tl_value_get_handle(fx->bare_handle, &fx->i32), fx->i32 == SENT_I32)        \
  X(TL_ERR_WRONG_TYPE, tl_value_get_int32(fx->v_handle, &fx->i32), fx->i32 == SENT_I32)            \
  /* tl_value_get_string accepts "s", "o" and "g" only */                                          \
  X(TL_ERR_INVALID_ARGUMENT, tl_value_get_string(NULL, &fx->string), 1)                            \
  X(TL_ERR_INVALID_ARGUMENT, tl_value_get_string(fx->fake_value, &fx->string), 1)                  \
  X(TL_ERR_INVALID_ARGUMENT, tl_value_get_string(fx->str, NULL), 1)                                \
  X(TL_ERR_WRONG_TYPE, tl_value_get_string(fx->v_int32, &fx->string), fx->string == SENTINEL_PTR)  \
  X(TL_ERR_WRONG_TYPE, tl_value_get_string(fx->bytes, &fx->string), fx->string == SENTINEL_PTR)    \
  X(TL_ERR_WRONG_TYPE, tl_value_get_string(fx->ptr, &fx->string), fx->string == SENTINEL_PTR)      \
  X(TL_ERR_WRONG_TYPE, tl_value_get_string(fx->variant, &fx->string), fx->string == SENTINEL_PTR)  \
  /* tl_value_get_bytes accepts "ay" only; out_size may not be NULL */                             \
  X(TL_ERR_INVALID_ARGUMENT, tl_value_get_bytes(NULL, &fx->data, &fx->size), 1)                    \
  X(TL_ERR_INVALID_ARGUMENT, tl_value_get_bytes(fx->fake_value, &fx->data, &fx->size), 1)          \
  X(TL_ERR_INVALID_ARGUMENT, tl_value_get_bytes(fx->bytes, NULL, &fx->size), 1)                    \
  X(TL_ERR_INVALID_ARGUMENT, tl_value_get_bytes(fx->bytes, &fx->data, NULL), 1)                    \
  X(TL_ERR_WRONG_TYPE, tl_value_get_bytes(fx->str, &fx->data, &fx->size),                          \
    fx->data == SENTINEL_PTR && fx->size == 4242)                                                  \
  X(TL_ERR_WRONG_TYPE, tl_value_get_bytes(fx->int_array, &fx->data, &fx->size),                    \
    fx->data == SENTINEL_PTR && fx->size == 4242)                                                  \
  X(TL_ERR_WRONG_TYPE, tl_value_get_bytes(fx->ptr, &fx->data, &fx->size),                          \
    fx->data == SENTINEL_PTR && fx->size == 4242)                                                  \
  /* tl_value_get_pointer accepts "p" only */                                                      \
  X(TL_ERR_INVALID_ARGUMENT, tl_value_get_pointer(NULL, &fx->pointer), 1)                          \
  X(TL_ERR_INVALID_ARGUMENT, tl_value_get_pointer(fx->fake_value, &fx->pointer), 1)                \
  X(TL_ERR_INVALID_ARGUMENT, tl_value_get_pointer(fx->ptr, NULL), 1)                               \
  X(TL_ERR_WRONG_TYPE, tl_value_get_pointer(fx->v_int64, &fx->pointer),                            \
    fx->pointer == SENTINEL_PTR)                                                                   \
  X(TL_ERR_WRONG_TYPE, tl_value_get_pointer(fx->str, &fx->pointer), fx->pointer == SENTINEL_PTR)

#define CONTAINER_ROWS(X)                                                                          \
  /* tl_value_n_children */                                                                        \
  X(TL_ERR_INVALID_ARGUMENT, tl_value_n_children(NULL, &fx->n), 1)                                 \
  X(TL_ERR_INVALID_ARGUMENT, tl_value_n_children(fx->fake_value, &fx->n), 1)                       \
  X(TL_ERR_INVALID_ARGUMENT, tl_value_n_children(fx->tuple, NULL), 1)                              \
  X(TL_ERR_WRONG_TYPE, tl_value_n_children(fx->v_int32, &fx->n), 1)                                \
  X(TL_ERR_WRONG_TYPE, tl_value_n_children(fx->str, &fx->n), 1)                                    \
  X(TL_ERR_WRONG_TYPE, tl_value_n_children(fx->ptr, &fx->n), 1)                                    \
  /* tl_value_get_child */                                                                         \
  X(TL_ERR_INVALID_ARGUMENT, tl_value_get_child(NULL, 0, &fx->out), 1)                             \
  X(TL_ERR_INVALID_ARGUMENT, tl_value_get_child(fx->fake_value, 0, &fx->out), 1)                   \
  X(TL_ERR_INVALID_ARGUMENT, tl_value_get_child(fx->tuple, 0, NULL), 1)                            \
  X(TL_ERR_WRONG_TYPE, tl_value_get_child(fx->v_int32, 0, &fx->out), 1)                            \
  X(TL_ERR_WRONG_TYPE, tl_value_get_child(fx->str, 0, &fx->out), 1)                                \
  X(TL_ERR_WRONG_TYPE, tl_value_get_child(fx->ptr, 0, &fx->out), 1)                                \
  X(TL_ERR_OUT_OF_RANGE, tl_value_get_child(fx->tuple, 2, &fx->out), 1)                            \
  X(TL_ERR_OUT_OF_RANGE, tl_value_get_child(fx->tuple, SIZE_MAX, &fx->out), 1)                     \
  X(TL_ERR_OUT_OF_RANGE, tl_value_get_child(fx->unit, 0, &fx->out), 1)                             \
  X(TL_ERR_OUT_OF_RANGE, tl_value_get_child(fx->nothing, 0, &fx->out), 1)                          \
  X(TL_ERR_OUT_OF_RANGE, tl_value_get_child(fx->variant, 1, &fx->out), 1)                          \
  X(TL_ERR_OUT_OF_RANGE, tl_value_get_child(fx->dict, 1, &fx->out), 1)                             \
  X(TL_ERR_OUT_OF_RANGE, tl_value_get_child(fx->int_array, 3, &fx->out), 1)                        \
  X(TL_ERR_OUT_OF_RANGE, tl_value_get_child(fx->empty_array, 0, &fx->out), 1)                      \
  /* tl_value_lookup: string-keyed dictionaries only; *out is NULL on error */                     \
  X(TL_ERR_INVALID_ARGUMENT, tl_value_lookup(NULL, "a", &fx->out), fx->out == NULL)                \
  X(TL_ERR_INVALID_ARGUMENT, tl_value_lookup(fx->fake_value, "a", &fx->out), fx->out == NULL)      \
  X(TL_ERR_INVALID_ARGUMENT, tl_value_lookup(fx->dict, "a", NULL), 1)                              \
  X(TL_ERR_WRONG_TYPE, tl_value_lookup(fx->v_int32, "a", &fx->out), fx->out == NULL)               \
  X(TL_ERR_WRONG_TYPE, tl_value_lookup(fx->str, "a", &fx->out), fx->out == NULL)                   \
  X(TL_ERR_WRONG_TYPE, tl_value_lookup(fx->ptr, "a", &fx->out), fx->out == NULL)                   \
  X(TL_ERR_WRONG_TYPE, tl_value_lookup(fx->tuple, "a", &fx->out), fx->out == NULL)                 \
  X(TL_ERR_WRONG_TYPE, tl_value_lookup(fx->int_array, "a", &fx->out), fx->out == NULL)             \
  X(TL_ERR_WRONG_TYPE, tl_value_lookup(fx->int_dict, "a", &fx->out), fx->out == NULL)              \
  X(TL_ERR_WRONG_TYPE, tl_value_lookup(fx->variant, "a", &fx->out), fx->out == NULL)               \
  X(TL_ERR_INVALID_KEY, tl_value_lookup(fx->dict, NULL, &fx->out), fx->out == NULL)                \
  X(TL_ERR_INVALID_KEY, tl_value_lookup(fx->dict, BAD_UTF8, &fx->out), fx->out == NULL)            \
  X(TL_ERR_INVALID_KEY, tl_value_lookup(fx->dict, TRUNCATED_UTF8, &fx->out), fx->out == NULL)      \
  X(TL_ERR_NOT_FOUND, tl_value_lookup(fx->dict, "absent", &fx->out), fx->out == NULL)              \
  X(TL_ERR_NOT_FOUND, tl_value_lookup(fx->dict, "", &fx->out), fx->out == NULL)                    \
  X(TL_ERR_NOT_FOUND, tl_value_lookup(fx->dict, "A", &fx->out), fx->out == NULL)

/* ---- the row runner ---- */

typedef struct {
  int expected, status, post_ok;
  const char *call, *post;
} Row;

/* Fills row for row number index; runs the call only when run is nonzero. */
typedef void (*RowFunc)(Fx *fx, int index, int run, Row *row);

#define COUNT_ROW(expected, call, post) +1

/* Which row is running, for the GLib log handler's report. */
static const char *row_in_progress;

#define RUN_ROW(expected_, call_, post_)                                                           \
  if (index == n++) {                                                                              \
    row->expected = (expected_);                                                                   \
    row->call = #call_;                                                                            \
    row->post = #post_;                                                                            \
    if (run) {                                                                                     \
      row_in_progress = row->call;                                                                 \
      row->status = (call_);                                                                       \
      row->post_ok = (post_);                                                                      \
    }                                                                                              \
  }

#define DEFINE_ROWS(name, LIST)                                                                    \
  enum { name##_n_rows = 0 LIST(COUNT_ROW) };                                                      \
  static void name##_row(Fx *fx, int index, int run, Row *row)                                     \
  {                                                                                                \
    int n = 0;                                                                                     \
    LIST(RUN_ROW)                                                                                  \
  }

DEFINE_ROWS(local, LOCAL_ROWS)
DEFINE_ROWS(lifecycle, LIFECYCLE_ROWS)
DEFINE_ROWS(constructor, CONSTRUCTOR_ROWS)
DEFINE_ROWS(text, TEXT_ROWS)
DEFINE_ROWS(scalar, SCALAR_ROWS)
DEFINE_ROWS(container, CONTAINER_ROWS)

static int glib_messages;

static void
count_glib_message(const gchar *domain, GLogLevelFlags level, const gchar *message, gpointer data)
{
  glib_messages++;
  fprintf(stderr, "GLib message while running %s: %s-%d: %s\n",
          row_in_progress != NULL ? row_in_progress : "(no row)", domain != NULL ? domain : "",
          (int) level, message);
}

static GLogFunc saved_log_handler;
static gpointer saved_log_data;

static void
log_setup(void)
{
  glib_messages = 0;
  row_in_progress = NULL;
  saved_log_handler = g_log_set_default_handler(count_glib_message, NULL);
  saved_log_data = NULL;
}

static void
log_teardown(void)
{
  g_log_set_default_handler(saved_log_handler, saved_log_data);
}

/* Records a known failure with another code, so each row shows that it set the error itself. */
static void
prime_last_error(Fx *fx, int expected, char *message, size_t size)
{
  TlValue *child = NULL;
  int32_t i32;

  if (expected != TL_ERR_OUT_OF_RANGE)
    ck_assert_int_eq(tl_value_get_child(fx->tuple, 12345, &child), TL_ERR_OUT_OF_RANGE);
  else
    ck_assert_int_eq(tl_value_get_int32(fx->str, &i32), TL_ERR_WRONG_TYPE);
  g_strlcpy(message, tl_last_error_message(), size);
}

/* @return a description of what went wrong, or NULL. */
static char *
check_row(Fx *fx, const Row *row, const char *primed_message)
{
  const char *message = tl_last_error_message();
  int last = tl_last_error();
  TlValue *present;
  size_t size = 0;

  if (row->status != row->expected)
    return g_strdup_printf("returned %d (%s), expected %d (%s)", row->status,
                           tl_status_name(row->status), row->expected,
                           tl_status_name(row->expected));
  if (last != row->expected)
    return g_strdup_printf("tl_last_error() is %d (%s)", last, tl_status_name(last));
  if (message == NULL || message[0] == '\0')
    return g_strdup("tl_last_error_message() is empty");
  if (strcmp(message, primed_message) == 0)
    return g_strdup_printf("tl_last_error_message() still the earlier failure's: %s", message);
  if (!row->post_ok)
    return g_strdup_printf("afterwards, %s does not hold", row->post);
  if (glib_messages != 0)
    return g_strdup_printf("%d GLib message(s) logged", glib_messages);
  /* A failing call changes no state: no dictionary, local or thread state made or lost, and the
   * existing key keeps its value. */
  if (tl_stats_live_dicts() != fx->dicts_before || tl_stats_live_locals() != fx->locals_before ||
      tl_stats_live_threads() != fx->threads_before)
    return g_strdup_printf("library state changed: dicts %zu -> %zu, locals %zu -> %zu, threads "
                           "%zu -> %zu",
                           fx->dicts_before, tl_stats_live_dicts(), fx->locals_before,
                           tl_stats_live_locals(), fx->threads_before, tl_stats_live_threads());
  present = tl_local_peek(fx->local, "present");
  if (present != fx->present || tl_local_size(fx->local, &size) != TL_OK || size != 1)
    return g_strdup("the existing key \"present\" was changed");
  if (tl_local_size(fx->empty, &size) != TL_OK || size != 0)
    return g_strdup("a dictionary appeared in the empty local");
  if (tl_local_size(fx->cleared, &size) != TL_OK || size != 0)
    return g_strdup("a key appeared in the cleared local");
  return NULL;
}

static void
run_row(RowFunc func, int index)
{
  char primed[256];
  Row row = {0};
  Fx fx;
  char *problem;

  fx_init(&fx);
  func(&fx, index, 0, &row);
  ck_assert_ptr_nonnull(row.call);
  fx_reset_outs(&fx);
  prime_last_error(&fx, row.expected, primed, sizeof primed);
  func(&fx, index, 1, &row);
  row_in_progress = NULL;
  problem = check_row(&fx, &row, primed);
  fx_clear(&fx);
  if (problem != NULL) {
    char text[1024];

    g_snprintf(text, sizeof text, "row %d: %s: %s", index, row.call, problem);
    g_free(problem);
    ck_abort_msg("%s", text);
  }
}

START_TEST(test_local_rows)
{
  run_row(local_row, _i);
}
END_TEST

START_TEST(test_lifecycle_rows)
{
  run_row(lifecycle_row, _i);
}
END_TEST

START_TEST(test_constructor_rows)
{
  run_row(constructor_row, _i);
}
END_TEST

START_TEST(test_text_rows)
{
  run_row(text_row, _i);
}
END_TEST

START_TEST(test_scalar_rows)
{
  run_row(scalar_row, _i);
}
END_TEST

START_TEST(test_container_rows)
{
  run_row(container_row, _i);
}
END_TEST

/* ---- what is not a failure: NULL no-ops, unknown codes, per-thread errors ---- */

/* NULL is a documented no-op: no crash, no state change, and the last error is left alone. */
START_TEST(test_null_no_ops)
{
  TlValue *value = tl_value_new_string("x");
  TlValue *child = NULL;
  size_t dicts = tl_stats_live_dicts(), locals = tl_stats_live_locals();

  ck_assert_int_eq(tl_value_get_child(value, 0, &child), TL_ERR_WRONG_TYPE);
  ck_assert_ptr_null(tl_local_ref(NULL));
  tl_local_unref(NULL);
  ck_assert_ptr_null(tl_value_ref(NULL));
  tl_value_unref(NULL);
  tl_free(NULL);
  tl_strv_free(NULL);
  tl_thread_clear(); /* no state in this thread: nothing to do */
  ck_assert_int_eq(tl_last_error(), TL_ERR_WRONG_TYPE);
  ck_assert_uint_eq(tl_stats_live_dicts(), dicts);
  ck_assert_uint_eq(tl_stats_live_locals(), locals);
  ck_assert_int_eq(glib_messages, 0);
  tl_value_unref(value);
}
END_TEST

/* The boundary beside the errors: NULL with a count of 0 is valid, and so is a NULL pointer value
 * without a destroy function. */
START_TEST(test_null_with_zero_count)
{
  TlValue *values[] = {tl_value_new_bytes(NULL, 0), tl_value_new_tuple(NULL, 0),
                       tl_value_new_array("i", NULL, 0), tl_value_new_vardict(NULL, NULL, 0),
                       tl_value_new_pointer(NULL, NULL)};
  static const char *const types[] = {"ay", "()", "ai", "a{sv}", "p"};
  void *pointer = SENTINEL_PTR;
  size_t i, n = 99;

  for (i = 0; i < sizeof values / sizeof values[0]; i++) {
    ck_assert_ptr_nonnull(values[i]);
    ck_assert_str_eq(tl_value_type(values[i]), types[i]);
    if (i < 4) {
      ck_assert_int_eq(tl_value_n_children(values[i], &n), TL_OK);
      ck_assert_uint_eq(n, 0);
    }
  }
  ck_assert_int_eq(tl_value_get_pointer(values[4], &pointer), TL_OK);
  ck_assert_ptr_null(pointer);
  for (i = 0; i < sizeof values / sizeof values[0]; i++)
    tl_value_unref(values[i]);
  ck_assert_int_eq(glib_messages, 0);
}
END_TEST

/* Every code has a name and a sentence; anything else gets the documented fallbacks. */
START_TEST(test_status_text)
{
  static const struct {
    int status;
    const char *name;
  } known[] = {
#define KNOWN_STATUS_(name, value, text) {value, "TL_" #name},
      TL_STATUS_MAP(KNOWN_STATUS_)
#undef KNOWN_STATUS_
  };
  static const int unknown[] = {1, 2, 42, 1000, -1000, INT_MAX, INT_MIN, TL_STATUS_END_};
  size_t i, j;

  for (i = 0; i < sizeof known / sizeof known[0]; i++) {
    ck_assert_str_eq(tl_status_name(known[i].status), known[i].name);
    ck_assert_ptr_nonnull(tl_strerror(known[i].status));
    ck_assert_str_ne(tl_strerror(known[i].status), "");
    ck_assert_str_ne(tl_strerror(known[i].status), "unknown status");
  }
  for (i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
    for (j = 0; j < sizeof known / sizeof known[0]; j++)
      ck_assert_int_ne(unknown[i], known[j].status); /* keep the list unknown as codes are added */
    ck_assert_str_eq(tl_status_name(unknown[i]), "TL_UNKNOWN");
    ck_assert_str_eq(tl_strerror(unknown[i]), "unknown status");
  }
}
END_TEST

START_TEST(test_version_check_mismatch)
{
  ck_assert_int_ne(tl_version_check(TL_VERSION_MAJOR, TL_VERSION_MINOR, TL_VERSION_MICRO), 0);
  ck_assert_int_eq(tl_version_check(TL_VERSION_MAJOR + 1, 0, 0), 0);
  ck_assert_int_eq(tl_version_check(TL_VERSION_MAJOR - 1, TL_VERSION_MINOR, TL_VERSION_MICRO), 0);
  ck_assert_int_eq(tl_version_check(TL_VERSION_MAJOR, TL_VERSION_MINOR + 1, 0), 0);
  ck_assert_int_eq(tl_version_check(TL_VERSION_MAJOR, TL_VERSION_MINOR, TL_VERSION_MICRO + 1), 0);
  ck_assert_int_eq(tl_version_check(UINT_MAX, UINT_MAX, UINT_MAX), 0);
}
END_TEST

/* A success does not reset the last error: it is only meaningful right after a failure. */
START_TEST(test_success_keeps_last_error)
{
  TlLocal *local = tl_local_new();
  TlValue *value = tl_value_new_int32(1);

  ck_assert_int_eq(tl_local_delete(local, "absent"), TL_ERR_NOT_FOUND);
  ck_assert_int_eq(tl_local_set(local, "k", value), TL_OK);
  ck_assert_ptr_eq(tl_local_peek(local, "k"), value);
  ck_assert_int_eq(tl_last_error(), TL_ERR_NOT_FOUND);
  ck_assert_str_ne(tl_last_error_message(), "");
  tl_value_unref(value);
  tl_local_unref(local);
}
END_TEST

/* A message built from a long key is cut to fit, never overflows. */
START_TEST(test_long_message)
{
  char *key = g_malloc(4097);
  TlValue *dict, *out = SENTINEL_PTR;
  const char *message;

  memset(key, 'k', 4096);
  key[4096] = '\0';
  ck_assert_int_eq(tl_value_parse("a{sv}", "{'a': <1>}", &dict), TL_OK);
  ck_assert_int_eq(tl_value_lookup(dict, key, &out), TL_ERR_NOT_FOUND);
  ck_assert_ptr_null(out);
  message = tl_last_error_message();
  ck_assert_ptr_nonnull(message);
  ck_assert_uint_gt(strlen(message), 0);
  ck_assert_uint_lt(strlen(message), 4096);
  tl_value_unref(dict);
  g_free(key);
}
END_TEST

typedef struct {
  int fresh_status;
  const char *fresh_message;
  int own_status;
  int own_message_ok;
} ErrorThreadResult;

static void *
error_thread(void *data)
{
  ErrorThreadResult *result = data;

  /* A new thread has no failure yet, whatever other threads did. */
  result->fresh_status = tl_last_error();
  result->fresh_message = tl_last_error_message();
  result->fresh_message = result->fresh_message != NULL ? g_strdup(result->fresh_message) : NULL;
  result->own_status = tl_local_clear(NULL);
  result->own_message_ok = tl_last_error_message()[0] != '\0';
  return NULL;
}

/* The last error belongs to the calling thread. */
START_TEST(test_last_error_is_per_thread)
{
  ErrorThreadResult result = {0};
  TlValue *dict = NULL;
  pthread_t thread;

  ck_assert_int_eq(tl_value_parse(NULL, "[1,", &dict), TL_ERR_PARSE);
  ck_assert_int_eq(pthread_create(&thread, NULL, error_thread, &result), 0);
  ck_assert_int_eq(pthread_join(thread, NULL), 0);
  ck_assert_int_eq(result.fresh_status, TL_OK);
  ck_assert_ptr_nonnull(result.fresh_message);
  ck_assert_int_eq(result.own_status, TL_ERR_INVALID_ARGUMENT);
  ck_assert(result.own_message_ok);
  g_free((char *) result.fresh_message);
  /* The other thread's failure did not touch ours. */
  ck_assert_int_eq(tl_last_error(), TL_ERR_PARSE);
}
END_TEST

static TCase *
errors_case(const char *name)
{
  TCase *tcase = tl_test_case(name);

  tcase_add_checked_fixture(tcase, log_setup, log_teardown);
  tcase_add_unchecked_fixture(tcase, deep_setup, deep_teardown);
  return tcase;
}

Suite *
errors_suite(void)
{
  Suite *suite = suite_create("errors");
  TCase *tcase;

  tcase = errors_case("locals");
  tcase_add_loop_test(tcase, test_local_rows, 0, local_n_rows);
  suite_add_tcase(suite, tcase);

  tcase = errors_case("options, names, hooks, visits, hand-off");
  tcase_add_loop_test(tcase, test_lifecycle_rows, 0, lifecycle_n_rows);
  suite_add_tcase(suite, tcase);

  tcase = errors_case("constructors");
  tcase_add_loop_test(tcase, test_constructor_rows, 0, constructor_n_rows);
  suite_add_tcase(suite, tcase);

  tcase = errors_case("text and handles");
  tcase_add_loop_test(tcase, test_text_rows, 0, text_n_rows);
  suite_add_tcase(suite, tcase);

  tcase = errors_case("accessors");
  tcase_add_loop_test(tcase, test_scalar_rows, 0, scalar_n_rows);
  suite_add_tcase(suite, tcase);

  tcase = errors_case("containers");
  tcase_add_loop_test(tcase, test_container_rows, 0, container_n_rows);
  suite_add_tcase(suite, tcase);

  tcase = errors_case("no-ops and status text");
  tcase_add_test(tcase, test_null_no_ops);
  tcase_add_test(tcase, test_null_with_zero_count);
  tcase_add_test(tcase, test_status_text);
  tcase_add_test(tcase, test_version_check_mismatch);
  tcase_add_test(tcase, test_success_keeps_last_error);
  tcase_add_test(tcase, test_long_message);
  tcase_add_test(tcase, test_last_error_is_per_thread);
  suite_add_tcase(suite, tcase);
  return suite;
}
