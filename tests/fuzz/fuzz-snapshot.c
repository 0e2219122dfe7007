/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target: snapshots and apply, as a small program of operations on two locals.
 *
 * Input: a sequence of operations, each an opcode byte (taken modulo N_OPS) and its operands. A
 * KEY operand is one byte naming one of a few keys, or (from 240 up) a raw string of up to 6 bytes
 * that may not be UTF-8; a TEXT operand is a length byte (modulo 64) and that many bytes; SLOT and
 * MODE operands are one byte each. The operations:
 *   SET KEY TYPE TEXT       parse TEXT (as one of a few types, or NULL) and store it under KEY
 *   SET_POINTER KEY         store a new pointer value (its destroy function counts)
 *   DELETE KEY              CLEAR
 *   SNAPSHOT SLOT           keep tl_local_snapshot() of the local in SLOT (one of 4)
 *   REPARSE SLOT SLOT MODE  print a slot (annotated or not), parse the text into the other slot
 *   PARSE SLOT TYPE TEXT    parse any text into a slot, to apply it
 *   APPLY SLOT MODE         apply a slot with TL_APPLY_UPDATE, TL_APPLY_REPLACE or a bad mode
 *   LOOKUP SLOT KEY         SET_SLOT KEY SLOT (a slot's value stored as a value)
 *   SWITCH                  act on the other local from now on
 * Checked: every call returns a status, never crashes or logs a GLib critical; apply is all or
 * nothing (the dictionary unchanged on failure, and after success it holds every key of the
 * snapshot with its value, and after REPLACE nothing else); a snapshot lists the dictionary;
 * printed snapshots of GVariant values parse back to equal ones; every value and pointer value is
 * released by the end. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include <tlslocal-glib.h>

#include "fuzz-common.h"

enum {
  OP_SET,
  OP_SET_POINTER,
  OP_DELETE,
  OP_CLEAR,
  OP_SNAPSHOT,
  OP_REPARSE,
  OP_PARSE,
  OP_APPLY,
  OP_LOOKUP,
  OP_SET_SLOT,
  OP_SWITCH,
  N_OPS
};

#define N_SLOTS 4
#define MAX_KEYS 64

static const char *const keys[] = {"a", "b", "key", "ключ", "", "a b"};
static const char *const types[] = {NULL,    "i",    "s", "x",  "d",  "v",     "ay",
                                    "a{sv}", "(is)", "h", "mi", "as", "a{ss}", "a{sv}"};

typedef struct {
  const uint8_t *data;
  size_t size;
} Reader;

typedef struct {
  TlLocal *locals[2];
  int current;
  TlValue *slots[N_SLOTS];
  int created, destroyed;
} Program;

static int
read_byte(Reader *reader)
{
  int byte;

  if (reader->size == 0)
    return 0;
  byte = reader->data[0];
  reader->data++;
  reader->size--;
  return byte;
}

/* A new NUL-terminated string of up to max bytes from the input (any bytes but NUL). */
static char *
read_string(Reader *reader, size_t max)
{
  size_t length = (size_t) read_byte(reader) % (max + 1);
  char *string;

  if (length > reader->size)
    length = reader->size;
  string = g_strndup((const char *) reader->data, length);
  reader->data += length;
  reader->size -= length;
  return string;
}

static char *
read_key(Reader *reader)
{
  int byte = read_byte(reader);

  if (byte < 240)
    return g_strdup(keys[byte % G_N_ELEMENTS(keys)]);
  return read_string(reader, 6);
}

static void
count_destroy(void *ptr)
{
  ++*(int *) ptr;
}

/* The calling thread's dictionary of local: its keys in order and their values (borrowed). */
typedef struct {
  char **keys;
  size_t n;
  TlValue *values[MAX_KEYS];
} State;

static void
state_take(TlLocal *local, State *state)
{
  size_t i, size = 0;

  FUZZ_CHECK(tl_local_keys(local, &state->keys, &state->n) == TL_OK);
  FUZZ_CHECK(tl_local_size(local, &size) == TL_OK && size == state->n);
  for (i = 0; i < state->n && i < MAX_KEYS; i++) {
    state->values[i] = tl_local_peek(local, state->keys[i]);
    FUZZ_CHECK(state->values[i] != NULL);
  }
}

static void
state_free(State *state)
{
  tl_strv_free(state->keys);
}

static int
state_find(const State *state, const char *key)
{
  size_t i;

  for (i = 0; i < state->n && i < MAX_KEYS; i++)
    if (strcmp(state->keys[i], key) == 0)
      return (int) i;
  return -1;
}

static int
states_equal(const State *a, const State *b)
{
  size_t i;

  if (a->n != b->n)
    return 0;
  for (i = 0; i < a->n && i < MAX_KEYS; i++)
    if (strcmp(a->keys[i], b->keys[i]) != 0 || a->values[i] != b->values[i])
      return 0;
  return 1;
}

/* The keys of an "a{sv}" value, in order (duplicates included), as new strings. */
static char **
vardict_keys(const TlValue *dict, size_t *out_n)
{
  size_t n = 0, i;
  char **result;

  FUZZ_CHECK(tl_value_n_children(dict, &n) == TL_OK);
  result = g_new0(char *, n + 1);
  for (i = 0; i < n; i++) {
    TlValue *entry = NULL, *key = NULL;
    const char *string = NULL;

    FUZZ_CHECK(tl_value_get_child(dict, i, &entry) == TL_OK);
    FUZZ_CHECK(tl_value_get_child(entry, 0, &key) == TL_OK);
    FUZZ_CHECK(tl_value_get_string(key, &string) == TL_OK);
    result[i] = g_strdup(string);
    tl_value_unref(key);
    tl_value_unref(entry);
  }
  *out_n = n;
  return result;
}

static int
count_key(char **list, size_t n, const char *key)
{
  size_t i;
  int count = 0;

  for (i = 0; i < n; i++)
    count += strcmp(list[i], key) == 0;
  return count;
}

/* value (in a dictionary after an apply) is what the snapshot holds under key: the very value for
 * pointers and handles, an equal one otherwise. */
static void
check_applied_value(const TlValue *snapshot, const char *key, TlValue *value)
{
  TlValue *expected = NULL;
  const char *type = tl_value_type(value);

  FUZZ_CHECK(tl_value_lookup(snapshot, key, &expected) == TL_OK);
  if (strcmp(type, "p") == 0 || strcmp(type, "h") == 0)
    FUZZ_CHECK(expected == value);
  else
    FUZZ_CHECK(tl_value_equal(expected, value) == 1);
  tl_value_unref(expected);
}

static int
holds_handles(const TlValue *snapshot)
{
  char *text = tl_value_print(snapshot, 1);
  int found = text != NULL && strstr(text, "handle") != NULL;

  tl_free(text);
  return found;
}

static void
op_apply(Program *program, TlValue *snapshot, int mode_byte)
{
  static const int modes[] = {TL_APPLY_UPDATE, TL_APPLY_REPLACE, 7, -1};
  TlLocal *local = program->locals[program->current];
  int mode = modes[mode_byte % 4];
  State before, after;
  char **snapshot_keys = NULL;
  size_t n_snapshot_keys = 0, i;
  int status;

  state_take(local, &before);
  status = tl_local_apply(local, snapshot, mode);
  state_take(local, &after);
  if (snapshot == NULL || (mode != TL_APPLY_UPDATE && mode != TL_APPLY_REPLACE))
    FUZZ_CHECK(status == TL_ERR_INVALID_ARGUMENT);
  else if (strcmp(tl_value_type(snapshot), "a{sv}") != 0)
    FUZZ_CHECK(status == TL_ERR_WRONG_TYPE);
  else if (status != TL_OK)
    FUZZ_CHECK(status == TL_ERR_INVALID_ARGUMENT && holds_handles(snapshot)); /* not carried */
  if (status != TL_OK) {
    FUZZ_CHECK(tl_last_error() == status);
    FUZZ_CHECK(states_equal(&before, &after)); /* all or nothing */
    goto out;
  }

  FUZZ_CHECK(strcmp(tl_value_type(snapshot), "a{sv}") == 0);
  snapshot_keys = vardict_keys(snapshot, &n_snapshot_keys);
  for (i = 0; i < n_snapshot_keys; i++) {
    int position = state_find(&after, snapshot_keys[i]);

    FUZZ_CHECK(position >= 0);
    /* A key given twice keeps its last value: compare only keys given once. */
    if (count_key(snapshot_keys, n_snapshot_keys, snapshot_keys[i]) == 1 && position < MAX_KEYS)
      check_applied_value(snapshot, snapshot_keys[i], after.values[position]);
  }
  for (i = 0; i < after.n && i < MAX_KEYS; i++) {
    int in_snapshot = count_key(snapshot_keys, n_snapshot_keys, after.keys[i]) > 0;
    int position = state_find(&before, after.keys[i]);

    if (mode == TL_APPLY_REPLACE)
      FUZZ_CHECK(in_snapshot); /* the dictionary became the snapshot */
    else if (!in_snapshot)
      FUZZ_CHECK(position >= 0 && before.values[position] == after.values[i]); /* kept as it was */
  }
  if (mode == TL_APPLY_UPDATE)
    for (i = 0; i < before.n && i < MAX_KEYS; i++)
      FUZZ_CHECK(state_find(&after, before.keys[i]) >= 0);
  g_strfreev(snapshot_keys);

out:
  state_free(&before);
  state_free(&after);
}

/* A snapshot lists the dictionary: the same keys, each value the very one (pointers, handles) or
 * an equal one. */
static void
check_snapshot(TlLocal *local, const TlValue *snapshot)
{
  State state;
  size_t n = 0, i;
  char **snapshot_keys;

  state_take(local, &state);
  snapshot_keys = vardict_keys(snapshot, &n);
  FUZZ_CHECK(n == state.n);
  for (i = 0; i < n && i < MAX_KEYS; i++) {
    FUZZ_CHECK(strcmp(snapshot_keys[i], state.keys[i]) == 0);
    check_applied_value(snapshot, state.keys[i], state.values[i]);
  }
  g_strfreev(snapshot_keys);
  state_free(&state);
}

static void
set_slot(Program *program, int slot, TlValue *value)
{
  tl_value_unref(program->slots[slot]);
  program->slots[slot] = value;
}

/* A dictionary holding one slot under two keys, snapshotted into that slot, doubles its size each
 * round: a run would grow exponentially with its length and time out testing nothing. So a value
 * is stored again only while it is small (pointer values always are). */
static gboolean
small_enough(const TlValue *value)
{
  GVariant *variant = tl_value_dup_gvariant(value);
  gboolean small = variant == NULL || g_variant_get_size(variant) <= 16 * 1024;

  if (variant != NULL)
    g_variant_unref(variant);
  return small;
}

static void
run_op(Program *program, Reader *reader)
{
  TlLocal *local = program->locals[program->current];
  int op = read_byte(reader) % N_OPS;

  switch (op) {
  case OP_SET: {
    char *key = read_key(reader);
    const char *type = types[read_byte(reader) % G_N_ELEMENTS(types)];
    char *text = read_string(reader, 63);
    TlValue *value = NULL;

    if (tl_value_parse(type, text, &value) == TL_OK) {
      int status = tl_local_set(local, key, value);

      FUZZ_CHECK(status == TL_OK || status == TL_ERR_INVALID_KEY);
      FUZZ_CHECK((status == TL_OK) == g_utf8_validate(key, -1, NULL));
      if (status == TL_OK)
        FUZZ_CHECK(tl_local_peek(local, key) == value);
    }
    tl_value_unref(value);
    g_free(text);
    g_free(key);
    break;
  }
  case OP_SET_POINTER: {
    char *key = read_key(reader);
    TlValue *value = tl_value_new_pointer(&program->destroyed, count_destroy);

    program->created++;
    FUZZ_CHECK(tl_local_set(local, key, value) ==
               (g_utf8_validate(key, -1, NULL) ? TL_OK : TL_ERR_INVALID_KEY));
    tl_value_unref(value);
    g_free(key);
    break;
  }
  case OP_DELETE: {
    char *key = read_key(reader);
    int present = tl_local_contains(local, key);
    int status = tl_local_delete(local, key);

    FUZZ_CHECK(present == 1 ? status == TL_OK : status != TL_OK);
    FUZZ_CHECK(tl_local_contains(local, key) != 1);
    g_free(key);
    break;
  }
  case OP_CLEAR: {
    size_t size = 1;

    FUZZ_CHECK(tl_local_clear(local) == TL_OK);
    FUZZ_CHECK(tl_local_size(local, &size) == TL_OK && size == 0);
    break;
  }
  case OP_SNAPSHOT: {
    int slot = read_byte(reader) % N_SLOTS;
    TlValue *snapshot = NULL;

    FUZZ_CHECK(tl_local_snapshot(local, &snapshot) == TL_OK && snapshot != NULL);
    FUZZ_CHECK(strcmp(tl_value_type(snapshot), "a{sv}") == 0);
    check_snapshot(local, snapshot);
    set_slot(program, slot, snapshot);
    break;
  }
  case OP_REPARSE: {
    int from = read_byte(reader) % N_SLOTS, to = read_byte(reader) % N_SLOTS;
    int annotate = read_byte(reader) % 2;
    TlValue *source = program->slots[from], *parsed = NULL;
    char *text;

    if (source == NULL)
      break;
    text = tl_value_print(source, annotate);
    if (strcmp(tl_value_type(source), "p") == 0) {
      FUZZ_CHECK(text == NULL && tl_last_error() == TL_ERR_WRONG_TYPE);
      break;
    }
    FUZZ_CHECK(text != NULL);
    if (tl_value_parse(tl_value_type(source), text, &parsed) == TL_OK) {
      /* Equal as GVariants; a snapshot's handles do not travel in text. */
      if (!holds_handles(source))
        FUZZ_CHECK(tl_value_equal(source, parsed) == 1 || strstr(text, "e-3") != NULL);
      set_slot(program, to, parsed);
    } else {
      FUZZ_CHECK(strstr(text, "e-3") != NULL); /* only a subnormal double may fail */
    }
    tl_free(text);
    break;
  }
  case OP_PARSE: {
    int slot = read_byte(reader) % N_SLOTS;
    const char *type = types[read_byte(reader) % G_N_ELEMENTS(types)];
    char *text = read_string(reader, 63);
    TlValue *parsed = NULL;

    if (tl_value_parse(type, text, &parsed) == TL_OK)
      set_slot(program, slot, parsed);
    g_free(text);
    break;
  }
  case OP_APPLY: {
    int slot = read_byte(reader) % N_SLOTS;

    op_apply(program, program->slots[slot], read_byte(reader));
    break;
  }
  case OP_LOOKUP: {
    int slot = read_byte(reader) % N_SLOTS;
    char *key = read_key(reader);
    TlValue *found = NULL;
    int status = program->slots[slot] != NULL ? tl_value_lookup(program->slots[slot], key, &found)
                                              : TL_ERR_INVALID_ARGUMENT;

    FUZZ_CHECK((status == TL_OK) == (found != NULL));
    if (status == TL_OK)
      FUZZ_CHECK(tl_value_type(found) != NULL);
    tl_value_unref(found);
    g_free(key);
    break;
  }
  case OP_SET_SLOT: {
    char *key = read_key(reader);
    int slot = read_byte(reader) % N_SLOTS;

    if (program->slots[slot] != NULL && small_enough(program->slots[slot])) {
      int status = tl_local_set(local, key, program->slots[slot]);
      FUZZ_CHECK(status == TL_OK || status == TL_ERR_INVALID_KEY);
    }
    g_free(key);
    break;
  }
  case OP_SWITCH: program->current = !program->current; break;
  default: abort();
  }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  Reader reader = {data, size};
  Program program;
  int i, n_ops = 0;

  memset(&program, 0, sizeof program);
  program.locals[0] = tl_local_new();
  program.locals[1] = tl_local_new_full(TL_LOCAL_VISITABLE, NULL, NULL, NULL);
  FUZZ_CHECK(program.locals[0] != NULL && program.locals[1] != NULL);

  while (reader.size > 0 && n_ops++ < 256)
    run_op(&program, &reader);

  for (i = 0; i < N_SLOTS; i++)
    tl_value_unref(program.slots[i]);
  tl_local_unref(program.locals[0]);
  tl_local_unref(program.locals[1]);
  FUZZ_CHECK(program.destroyed == program.created);
  FUZZ_CHECK(tl_stats_live_dicts() == 0);
  FUZZ_CHECK(tl_stats_live_values() == 0);
  return 0;
}
