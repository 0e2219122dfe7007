/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target: values read from untrusted bytes (tl_value_deserialize), and everything that
 * reads such a value.
 *
 * Input: the first byte chooses the type. Below the size of types[] it indexes that table and the
 * rest of the input is the data; otherwise the type string follows up to a NUL (at most 128 bytes;
 * no NUL: all of it, and no data) and the data after the NUL. Either the call fails (TL_ERR_PARSE
 * for data; TL_ERR_INVALID_ARGUMENT only for a type string outside the table) with no value, or the
 * value has the type, serialises back to exactly the data (the data was in normal form), reads back
 * from that as an equal value, answers its accessors and prints; an "a{sv}" is applied to a local
 * and looked up key by key. Any GLib critical or warning aborts, as does a failed check. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "fuzz-common.h"

#define MAX_TYPE 128
#define MAX_NODES 2048 /* per input: a long array is walked in part, not in full */

static const char *const types[] = {
    "b",     "y",         "n",   "q",   "i",         "u",         "x",      "t",     "d",
    "h",     "s",         "o",   "g",   "v",         "ay",        "as",     "a{sv}", "a{ss}",
    "av",    "aay",       "mi",  "ms",  "mv",        "()",        "(is)",   "(yx)",  "(sv)",
    "a(sv)", "a{sa{sv}}", "aas", "mmi", "(ayasmib)", "a{ia(sv)}", "m(iis)",
};

/* Reads value node by node: every accessor succeeds on its own type only, children and lookups
 * answer. */
static void
walk(const TlValue *value, int *nodes)
{
  const char *type = tl_value_type(value);
  size_t n_children = 0, i, size = 0;
  const void *bytes = NULL;
  const char *string = NULL;
  int64_t x;
  TlValue *child = NULL;

  FUZZ_CHECK(type != NULL);
  if (++*nodes > MAX_NODES)
    return;
  FUZZ_CHECK((tl_value_get_int64(value, &x) == TL_OK) == (strcmp(type, "x") == 0));
  FUZZ_CHECK((tl_value_get_string(value, &string) == TL_OK) ==
             (strcmp(type, "s") == 0 || strcmp(type, "o") == 0 || strcmp(type, "g") == 0));
  if (string != NULL)
    FUZZ_CHECK(g_utf8_validate(string, -1, NULL));
  FUZZ_CHECK((tl_value_get_bytes(value, &bytes, &size) == TL_OK) == (strcmp(type, "ay") == 0));
  if (tl_value_n_children(value, &n_children) != TL_OK) {
    FUZZ_CHECK(tl_last_error() == TL_ERR_WRONG_TYPE);
    return;
  }
  FUZZ_CHECK(tl_value_get_child(value, n_children, &child) == TL_ERR_OUT_OF_RANGE && child == NULL);
  for (i = 0; i < n_children && *nodes <= MAX_NODES; i++) {
    FUZZ_CHECK(tl_value_get_child(value, i, &child) == TL_OK && child != NULL);
    walk(child, nodes);
    tl_value_unref(child);
  }
}

/* A dictionary read from bytes applies like any other: all of it, or (a <handle N> that no value
 * is carried for) none. */
static void
check_apply(const TlValue *dict)
{
  TlLocal *local = tl_local_new();
  size_t n_children = 0, size = 0;
  int status;

  FUZZ_CHECK(local != NULL);
  FUZZ_CHECK(tl_local_set_int64(local, "fuzz-before", 1) == TL_OK);
  status = tl_local_apply(local, dict, TL_APPLY_REPLACE);
  FUZZ_CHECK(status == TL_OK || status == TL_ERR_INVALID_ARGUMENT);
  FUZZ_CHECK(tl_value_n_children(dict, &n_children) == TL_OK);
  FUZZ_CHECK(tl_local_size(local, &size) == TL_OK);
  if (status == TL_OK) {
    FUZZ_CHECK(size <= n_children); /* a key given twice is kept once */
  } else {
    FUZZ_CHECK(size == 1 && tl_local_peek(local, "fuzz-before") != NULL);
  }
  tl_local_unref(local);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  char type_buffer[MAX_TYPE + 1];
  const char *type;
  const uint8_t *bytes;
  size_t n_bytes, type_length;
  TlValue *value = (TlValue *) &value, *again = NULL;
  void *out = NULL;
  size_t out_size = 0;
  char *text;
  int nodes = 0, from_table, status;

  if (size == 0)
    return 0;
  from_table = data[0] < G_N_ELEMENTS(types);
  if (from_table) {
    type = types[data[0]];
    bytes = data + 1;
    n_bytes = size - 1;
  } else {
    const uint8_t *nul = memchr(data + 1, '\0', size - 1);

    type_length = nul != NULL ? (size_t) (nul - data - 1) : size - 1;
    if (type_length > MAX_TYPE)
      return 0;
    memcpy(type_buffer, data + 1, type_length);
    type_buffer[type_length] = '\0';
    type = type_buffer;
    bytes = nul != NULL ? nul + 1 : data + size;
    n_bytes = nul != NULL ? size - (size_t) (nul + 1 - data) : 0;
  }

  status = tl_value_deserialize(type, bytes, n_bytes, &value);
  if (status != TL_OK) {
    FUZZ_CHECK(value == NULL);
    FUZZ_CHECK(status == TL_ERR_PARSE || (status == TL_ERR_INVALID_ARGUMENT && !from_table));
    FUZZ_CHECK(tl_last_error() == status && tl_last_error_message() != NULL);
    return 0;
  }
  FUZZ_CHECK(value != NULL && strcmp(tl_value_type(value), type) == 0);

  /* Normal form: the bytes serialise back exactly, and read back to an equal value. */
  FUZZ_CHECK(tl_value_serialize(value, &out, &out_size) == TL_OK && out != NULL);
  FUZZ_CHECK(out_size == n_bytes && (n_bytes == 0 || memcmp(out, bytes, n_bytes) == 0));
  FUZZ_CHECK(tl_value_deserialize(type, out, out_size, &again) == TL_OK);
  tl_free(out);
  FUZZ_CHECK(tl_value_equal(value, again) == 1);
  tl_value_unref(again);

  walk(value, &nodes);
  text = tl_value_print(value, 1);
  FUZZ_CHECK(text != NULL);
  tl_free(text);
  if (strcmp(type, "a{sv}") == 0)
    check_apply(value);
  tl_value_unref(value);
  FUZZ_CHECK(tl_stats_live_values() == 0);
  return 0;
}
