/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* TlLocal on one thread: the dictionary operations, key handling, lifetimes of values and
 * dictionaries, destroy functions that call back into the library, and a million locals. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tl-test.h"

/* ---- helpers ---- */

/* Stores a pointer value whose destroy function increments *counter, keeping no reference. */
static void
set_counted(TlLocal *local, const char *key, int *counter)
{
  TlValue *value = tl_value_new_pointer(counter, tl_test_count_destroy);

  ck_assert_int_eq(tl_local_set(local, key, value), TL_OK);
  tl_value_unref(value);
}

/* ---- basic operations ---- */

START_TEST(test_reads_create_no_dict)
{
  size_t dicts = tl_stats_live_dicts();
  TlLocal *local = tl_local_new();
  TlValue *out = (TlValue *) 1;
  char **keys = NULL;
  size_t n_keys = 99;

  ck_assert_ptr_nonnull(local);
  ck_assert_uint_eq(tl_test_local_size(local), 0);
  ck_assert_int_eq(tl_local_contains(local, "k"), 0);
  ck_assert_ptr_null(tl_local_peek(local, "k"));
  ck_assert_int_eq(tl_last_error(), TL_ERR_NOT_FOUND);
  ck_assert_int_eq(tl_local_get(local, "k", &out), TL_ERR_NOT_FOUND);
  ck_assert_ptr_null(out);
  ck_assert_int_eq(tl_local_delete(local, "k"), TL_ERR_NOT_FOUND);
  ck_assert_int_eq(tl_local_clear(local), TL_OK);
  ck_assert_int_eq(tl_local_keys(local, &keys, &n_keys), TL_OK);
  ck_assert_ptr_nonnull(keys);
  ck_assert_ptr_null(keys[0]);
  ck_assert_uint_eq(n_keys, 0);
  tl_strv_free(keys);
  ck_assert_uint_eq(tl_stats_live_dicts(), dicts);

  /* The first write makes the dictionary. */
  tl_test_set_int(local, "k", 1);
  ck_assert_uint_eq(tl_stats_live_dicts(), dicts + 1);
  tl_local_unref(local);
  ck_assert_uint_eq(tl_stats_live_dicts(), dicts);
}
END_TEST

START_TEST(test_set_get_peek_delete)
{
  TlLocal *local = tl_local_new();
  TlValue *value = tl_value_new_string("v"), *out = NULL;

  ck_assert_int_eq(tl_local_set(local, "k", value), TL_OK);
  ck_assert_int_eq(tl_local_contains(local, "k"), 1);
  ck_assert_int_eq(tl_local_contains(local, "K"), 0);
  ck_assert_uint_eq(tl_test_local_size(local), 1);

  /* The dictionary holds the value itself, not a copy. */
  ck_assert_ptr_eq(tl_local_peek(local, "k"), value);
  ck_assert_int_eq(tl_local_get(local, "k", &out), TL_OK);
  ck_assert_ptr_eq(out, value);
  tl_value_unref(out);

  tl_test_set_int(local, "n", 2);
  ck_assert_uint_eq(tl_test_local_size(local), 2);
  ck_assert_int_eq(tl_test_peek_int(local, "n"), 2);

  ck_assert_int_eq(tl_local_delete(local, "k"), TL_OK);
  ck_assert_int_eq(tl_local_contains(local, "k"), 0);
  ck_assert_ptr_null(tl_local_peek(local, "k"));
  ck_assert_int_eq(tl_last_error(), TL_ERR_NOT_FOUND);
  out = value;
  ck_assert_int_eq(tl_local_get(local, "k", &out), TL_ERR_NOT_FOUND);
  ck_assert_ptr_null(out);
  ck_assert_int_eq(tl_local_delete(local, "k"), TL_ERR_NOT_FOUND);
  ck_assert_int_eq(tl_last_error(), TL_ERR_NOT_FOUND);
  ck_assert_uint_eq(tl_test_local_size(local), 1);
  ck_assert_int_eq(tl_test_peek_int(local, "n"), 2);

  /* One value under several keys. */
  ck_assert_int_eq(tl_local_set(local, "a", value), TL_OK);
  ck_assert_int_eq(tl_local_set(local, "b", value), TL_OK);
  ck_assert_ptr_eq(tl_local_peek(local, "a"), tl_local_peek(local, "b"));

  tl_value_unref(value);
  tl_local_unref(local);
}
END_TEST

START_TEST(test_get_returns_new_reference)
{
  TlLocal *local = tl_local_new();
  TlValue *out = NULL;
  void *ptr = NULL;
  int destroyed = 0;

  set_counted(local, "p", &destroyed);
  ck_assert_int_eq(tl_local_get(local, "p", &out), TL_OK);
  ck_assert_int_eq(tl_local_delete(local, "p"), TL_OK);
  ck_assert_int_eq(destroyed, 0); /* ours keeps it alive */
  ck_assert_int_eq(tl_value_get_pointer(out, &ptr), TL_OK);
  ck_assert_ptr_eq(ptr, &destroyed);
  tl_value_unref(out);
  ck_assert_int_eq(destroyed, 1);
  tl_local_unref(local);
}
END_TEST

START_TEST(test_peek_is_borrowed)
{
  TlLocal *local = tl_local_new();
  TlValue *peeked;
  void *ptr = NULL;
  int destroyed = 0, i;

  set_counted(local, "p", &destroyed);
  for (i = 0; i < 3; i++) {
    peeked = tl_local_peek(local, "p");
    ck_assert_ptr_nonnull(peeked);
    ck_assert_int_eq(tl_value_get_pointer(peeked, &ptr), TL_OK);
    ck_assert_ptr_eq(ptr, &destroyed);
  }
  /* No reference was taken: the delete drops the last one. */
  ck_assert_int_eq(tl_local_delete(local, "p"), TL_OK);
  ck_assert_int_eq(destroyed, 1);
  tl_local_unref(local);
}
END_TEST

START_TEST(test_overwrite_releases_old_value)
{
  static const char *const order[] = {"first", "p", "last"};
  TlLocal *local = tl_local_new();
  TlValue *second;
  int first_destroyed = 0, second_destroyed = 0;

  tl_test_set_int(local, "first", 0);
  set_counted(local, "p", &first_destroyed);
  tl_test_set_int(local, "last", 0);
  second = tl_value_new_pointer(&second_destroyed, tl_test_count_destroy);
  ck_assert_int_eq(tl_local_set(local, "p", second), TL_OK);
  ck_assert_int_eq(first_destroyed, 1);
  ck_assert_ptr_eq(tl_local_peek(local, "p"), second);
  ck_assert_uint_eq(tl_test_local_size(local), 3);
  tl_test_assert_keys(local, order, 3); /* an overwrite keeps the key's place */

  /* Storing the value a key already holds keeps it alive. */
  ck_assert_int_eq(tl_local_set(local, "p", second), TL_OK);
  tl_value_unref(second);
  ck_assert_int_eq(second_destroyed, 0);
  ck_assert_ptr_eq(tl_local_peek(local, "p"), second);
  ck_assert_int_eq(tl_local_set(local, "p", tl_local_peek(local, "p")), TL_OK);
  ck_assert_int_eq(second_destroyed, 0);

  tl_test_set_int(local, "p", 3);
  ck_assert_int_eq(second_destroyed, 1);
  ck_assert_int_eq(tl_test_peek_int(local, "p"), 3);
  tl_local_unref(local);
}
END_TEST

START_TEST(test_clear)
{
  TlLocal *local = tl_local_new();
  size_t dicts;
  int destroyed[3] = {0, 0, 0};

  set_counted(local, "a", &destroyed[0]);
  set_counted(local, "b", &destroyed[1]);
  set_counted(local, "c", &destroyed[2]);
  ck_assert_int_eq(tl_local_delete(local, "b"), TL_OK);
  dicts = tl_stats_live_dicts();
  ck_assert_int_eq(tl_local_clear(local), TL_OK);
  ck_assert_int_eq(destroyed[0], 1);
  ck_assert_int_eq(destroyed[1], 1);
  ck_assert_int_eq(destroyed[2], 1);
  ck_assert_uint_eq(tl_test_local_size(local), 0);
  ck_assert_int_eq(tl_local_contains(local, "a"), 0);
  tl_test_assert_keys(local, NULL, 0);
  ck_assert_uint_eq(tl_stats_live_dicts(), dicts); /* the dictionary stays */

  /* Usable again; clearing twice is fine. */
  tl_test_set_int(local, "a", 5);
  ck_assert_int_eq(tl_test_peek_int(local, "a"), 5);
  ck_assert_int_eq(tl_local_clear(local), TL_OK);
  ck_assert_int_eq(tl_local_clear(local), TL_OK);
  ck_assert_uint_eq(tl_test_local_size(local), 0);
  tl_local_unref(local);
}
END_TEST

START_TEST(test_keys_order)
{
  static const char *const inserted[] = {"c", "a", "b"};
  static const char *const after_delete[] = {"c", "b"};
  static const char *const reinserted[] = {"c", "b", "a"};
  TlLocal *local = tl_local_new();
  char **keys = NULL;
  size_t i;

  for (i = 0; i < N_ELEMENTS(inserted); i++)
    tl_test_set_int(local, inserted[i], (int32_t) i);
  tl_test_assert_keys(local, inserted, 3);
  tl_test_set_int(local, "a", 10);
  tl_test_assert_keys(local, inserted, 3);
  ck_assert_int_eq(tl_local_delete(local, "a"), TL_OK);
  tl_test_assert_keys(local, after_delete, 2);
  tl_test_set_int(local, "a", 11); /* back in, at the end */
  tl_test_assert_keys(local, reinserted, 3);

  /* out_n_keys may be NULL; the strings are the caller's copies. */
  ck_assert_int_eq(tl_local_keys(local, &keys, NULL), TL_OK);
  ck_assert_str_eq(keys[0], "c");
  keys[0][0] = 'z';
  tl_strv_free(keys);
  ck_assert_int_eq(tl_local_contains(local, "c"), 1);
  ck_assert_int_eq(tl_local_contains(local, "z"), 0);
  tl_test_assert_keys(local, reinserted, 3);
  tl_local_unref(local);
}
END_TEST

/* ---- foreach ---- */

typedef struct {
  TlLocal *local;
  TlLocal *other;    /* for MUTATE_DELETE_OTHER */
  char keys[16][32]; /* visited, in order */
  int32_t numbers[16];
  size_t n_visited;
  size_t stop_at; /* return stop_value when visiting this index */
  int stop_value;
  int mutation;   /* what to do to the dictionary on the first visit */
  int *destroyed; /* destroyed[0..3): counters of pointer values, read while they are visited */
  int destroyed_seen[16];
} Walk;

enum {
  MUTATE_NONE,
  MUTATE_SET,
  MUTATE_DELETE,
  MUTATE_CLEAR,
  MUTATE_OVERWRITE,
  MUTATE_DELETE_SELF,
  MUTATE_DELETE_OTHER
};

static int
walk_visit(const char *key, TlValue *value, void *payload)
{
  Walk *walk = payload;
  size_t i = walk->n_visited++;
  int32_t number = -1;

  ck_assert_uint_lt(i, 16);
  if (walk->mutation == MUTATE_DELETE_SELF)
    tl_local_delete(walk->local, key); /* key and value are borrowed from the walk, not the dict */
  snprintf(walk->keys[i], sizeof walk->keys[i], "%s", key);
  if (tl_value_get_int32(value, &number) != TL_OK) {
    void *ptr = NULL;
    int k;

    /* A pointer value counting into destroyed[k] stands for the number k. */
    tl_value_get_pointer(value, &ptr);
    for (k = 0; walk->destroyed != NULL && k < 3; k++) {
      if (ptr == &walk->destroyed[k]) {
        number = k;
        walk->destroyed_seen[i] = walk->destroyed[k];
      }
    }
  }
  walk->numbers[i] = number;
  if (i == 0) {
    switch (walk->mutation) {
    case MUTATE_SET:
      tl_test_set_int(walk->local, "added-1", 100);
      tl_test_set_int(walk->local, "added-2", 101);
      break;
    case MUTATE_DELETE:
      tl_local_delete(walk->local, "b");
      tl_local_delete(walk->local, "c");
      break;
    case MUTATE_CLEAR: tl_local_clear(walk->local); break;
    case MUTATE_OVERWRITE: tl_test_set_int(walk->local, "b", 200); break;
    case MUTATE_DELETE_OTHER: tl_local_delete(walk->other, "p"); break;
    default: break;
    }
  }
  return i == walk->stop_at ? walk->stop_value : 0;
}

START_TEST(test_foreach_order_and_stop)
{
  static const char *const inserted[] = {"x", "y", "z", "w"};
  TlLocal *local = tl_local_new();
  Walk walk;
  size_t i;

  for (i = 0; i < N_ELEMENTS(inserted); i++)
    tl_test_set_int(local, inserted[i], (int32_t) i);
  ck_assert_int_eq(tl_local_delete(local, "y"), TL_OK);
  tl_test_set_int(local, "y", 9);

  memset(&walk, 0, sizeof walk);
  walk.local = local;
  walk.stop_at = (size_t) -1;
  ck_assert_int_eq(tl_local_foreach(local, walk_visit, &walk), TL_OK);
  ck_assert_uint_eq(walk.n_visited, 4);
  ck_assert_str_eq(walk.keys[0], "x");
  ck_assert_str_eq(walk.keys[1], "z");
  ck_assert_str_eq(walk.keys[2], "w");
  ck_assert_str_eq(walk.keys[3], "y");
  ck_assert_int_eq(walk.numbers[0], 0);
  ck_assert_int_eq(walk.numbers[1], 2);
  ck_assert_int_eq(walk.numbers[2], 3);
  ck_assert_int_eq(walk.numbers[3], 9);

  /* A nonzero return stops the walk and is returned, whatever its sign. */
  memset(&walk, 0, sizeof walk);
  walk.stop_at = 1;
  walk.stop_value = 7;
  ck_assert_int_eq(tl_local_foreach(local, walk_visit, &walk), 7);
  ck_assert_uint_eq(walk.n_visited, 2);
  memset(&walk, 0, sizeof walk);
  walk.stop_at = 0;
  walk.stop_value = -42;
  ck_assert_int_eq(tl_local_foreach(local, walk_visit, &walk), -42);
  ck_assert_uint_eq(walk.n_visited, 1);
  memset(&walk, 0, sizeof walk);
  walk.stop_at = 3;
  walk.stop_value = 1;
  ck_assert_int_eq(tl_local_foreach(local, walk_visit, &walk), 1);
  ck_assert_uint_eq(walk.n_visited, 4);

  ck_assert_int_eq(tl_local_foreach(local, NULL, NULL), TL_ERR_INVALID_ARGUMENT);
  tl_local_unref(local);
}
END_TEST

START_TEST(test_foreach_empty)
{
  TlLocal *local = tl_local_new();
  Walk walk;

  memset(&walk, 0, sizeof walk);
  walk.stop_at = (size_t) -1;
  ck_assert_int_eq(tl_local_foreach(local, walk_visit, &walk), TL_OK); /* no dictionary */
  tl_test_set_int(local, "a", 1);
  ck_assert_int_eq(tl_local_delete(local, "a"), TL_OK);
  ck_assert_int_eq(tl_local_foreach(local, walk_visit, &walk), TL_OK); /* empty dictionary */
  ck_assert_uint_eq(walk.n_visited, 0);
  tl_local_unref(local);
}
END_TEST

/* Runs a walk over a, b, c (pointer values counting into destroyed[0..3)) with mutation. */
static void
walk_mutating(TlLocal *local, TlLocal *other, Walk *walk, int mutation, int *destroyed)
{
  ck_assert_int_eq(tl_local_clear(local), TL_OK); /* first: it releases the last walk's values */
  memset(walk, 0, sizeof *walk);
  walk->other = other;
  memset(destroyed, 0, 3 * sizeof *destroyed);
  set_counted(local, "a", &destroyed[0]);
  set_counted(local, "b", &destroyed[1]);
  set_counted(local, "c", &destroyed[2]);
  walk->local = local;
  walk->stop_at = (size_t) -1;
  walk->mutation = mutation;
  walk->destroyed = destroyed;
  ck_assert_int_eq(tl_local_foreach(local, walk_visit, walk), TL_OK);
  /* The snapshot: exactly the three items present at the start, in order, with their values. */
  ck_assert_uint_eq(walk->n_visited, 3);
  ck_assert_str_eq(walk->keys[0], "a");
  ck_assert_str_eq(walk->keys[1], "b");
  ck_assert_str_eq(walk->keys[2], "c");
  ck_assert_int_eq(walk->numbers[0], 0);
  ck_assert_int_eq(walk->numbers[1], 1);
  ck_assert_int_eq(walk->numbers[2], 2);
}

START_TEST(test_foreach_mutations)
{
  static const char *const after_set[] = {"a", "b", "c", "added-1", "added-2"};
  static const char *const after_delete[] = {"a"};
  static const char *const after_overwrite[] = {"a", "b", "c"};
  TlLocal *local = tl_local_new();
  Walk walk;
  int destroyed[3];

  walk_mutating(local, NULL, &walk, MUTATE_SET, destroyed);
  tl_test_assert_keys(local, after_set, 5);
  ck_assert_int_eq(tl_test_peek_int(local, "added-2"), 101);

  /* Deleted mid-walk, b and c are still visited alive, and released after the walk. */
  walk_mutating(local, NULL, &walk, MUTATE_DELETE, destroyed);
  ck_assert_int_eq(walk.destroyed_seen[1], 0);
  ck_assert_int_eq(walk.destroyed_seen[2], 0);
  ck_assert_int_eq(destroyed[0], 0);
  ck_assert_int_eq(destroyed[1], 1);
  ck_assert_int_eq(destroyed[2], 1);
  tl_test_assert_keys(local, after_delete, 1);

  walk_mutating(local, NULL, &walk, MUTATE_CLEAR, destroyed);
  ck_assert_int_eq(walk.destroyed_seen[1], 0);
  ck_assert_int_eq(walk.destroyed_seen[2], 0);
  ck_assert_int_eq(destroyed[0] + destroyed[1] + destroyed[2], 3);
  ck_assert_uint_eq(tl_test_local_size(local), 0);

  /* Overwritten mid-walk, b is visited with the value it had when the walk began. */
  walk_mutating(local, NULL, &walk, MUTATE_OVERWRITE, destroyed);
  ck_assert_int_eq(walk.destroyed_seen[1], 0);
  ck_assert_int_eq(destroyed[1], 1);
  tl_test_assert_keys(local, after_overwrite, 3);
  ck_assert_int_eq(tl_test_peek_int(local, "b"), 200);

  /* Deleting the key being visited: the walk's own key and value stay valid. */
  walk_mutating(local, NULL, &walk, MUTATE_DELETE_SELF, destroyed);
  ck_assert_int_eq(walk.destroyed_seen[2], 0);
  ck_assert_uint_eq(tl_test_local_size(local), 0);
  ck_assert_int_eq(destroyed[0] + destroyed[1] + destroyed[2], 3);

  tl_local_unref(local);
}
END_TEST

/* ---- several locals ---- */

START_TEST(test_locals_independent)
{
  TlLocal *a = tl_local_new(), *b = tl_local_new();
  size_t dicts = tl_stats_live_dicts();

  ck_assert_ptr_ne(a, b);
  tl_test_set_int(a, "k", 1);
  tl_test_set_int(b, "k", 2);
  tl_test_set_int(a, "only-a", 3);
  ck_assert_uint_eq(tl_stats_live_dicts(), dicts + 2);
  ck_assert_int_eq(tl_test_peek_int(a, "k"), 1);
  ck_assert_int_eq(tl_test_peek_int(b, "k"), 2);
  ck_assert_int_eq(tl_local_contains(b, "only-a"), 0);
  ck_assert_uint_eq(tl_test_local_size(a), 2);
  ck_assert_uint_eq(tl_test_local_size(b), 1);
  ck_assert_int_eq(tl_local_delete(a, "k"), TL_OK);
  ck_assert_int_eq(tl_test_peek_int(b, "k"), 2);
  ck_assert_int_eq(tl_local_clear(b), TL_OK);
  ck_assert_int_eq(tl_test_peek_int(a, "only-a"), 3);
  tl_local_unref(a);
  ck_assert_uint_eq(tl_stats_live_dicts(), dicts + 1);
  ck_assert_uint_eq(tl_test_local_size(b), 0);
  tl_test_set_int(b, "k", 4);
  ck_assert_int_eq(tl_test_peek_int(b, "k"), 4);
  tl_local_unref(b);
}
END_TEST

/* A new local never sees a destroyed one's keys, though it may reuse its slot. */
START_TEST(test_new_local_starts_empty)
{
  TlLocal *locals[8];
  int i, round;

  for (round = 0; round < 50; round++) {
    for (i = 0; i < 8; i++) {
      locals[i] = tl_local_new();
      ck_assert_uint_eq(tl_test_local_size(locals[i]), 0);
      ck_assert_int_eq(tl_local_contains(locals[i], "k"), 0);
      tl_test_set_int(locals[i], "k", round * 8 + i);
    }
    for (i = 0; i < 8; i++)
      ck_assert_int_eq(tl_test_peek_int(locals[i], "k"), round * 8 + i);
    for (i = 0; i < 8; i++)
      tl_local_unref(locals[(i * 5) % 8]); /* out of order */
  }
}
END_TEST

START_TEST(test_value_shared_by_locals)
{
  TlLocal *a = tl_local_new(), *b = tl_local_new();
  TlValue *value;
  int destroyed = 0;

  value = tl_value_new_pointer(&destroyed, tl_test_count_destroy);
  ck_assert_int_eq(tl_local_set(a, "p", value), TL_OK);
  ck_assert_int_eq(tl_local_set(b, "p", value), TL_OK);
  ck_assert_int_eq(tl_local_set(b, "q", value), TL_OK);
  tl_value_unref(value);
  tl_local_unref(a);
  ck_assert_int_eq(destroyed, 0);
  ck_assert_ptr_eq(tl_local_peek(b, "p"), value);
  ck_assert_int_eq(tl_local_delete(b, "p"), TL_OK);
  ck_assert_int_eq(destroyed, 0);
  tl_local_unref(b);
  ck_assert_int_eq(destroyed, 1);
}
END_TEST

/* ---- many keys and key shapes ---- */

START_TEST(test_many_keys)
{
  const int n = 10000;
  TlLocal *local = tl_local_new();
  size_t dicts = tl_stats_live_dicts();
  char key[32];
  char **keys = NULL;
  size_t n_keys = 0, k;
  int i;

  for (i = 0; i < n; i++) {
    snprintf(key, sizeof key, "key:%d", i);
    tl_test_set_int(local, key, i);
  }
  ck_assert_uint_eq(tl_test_local_size(local), (size_t) n);
  for (i = 0; i < n; i += 2) {
    snprintf(key, sizeof key, "key:%d", i);
    ck_assert_int_eq(tl_local_delete(local, key), TL_OK);
  }
  ck_assert_uint_eq(tl_test_local_size(local), (size_t) n / 2);
  for (i = 0; i < n; i++) {
    snprintf(key, sizeof key, "key:%d", i);
    if (i % 2 == 0)
      ck_assert_int_eq(tl_local_contains(local, key), 0);
    else
      ck_assert_int_eq(tl_test_peek_int(local, key), i);
  }

  /* The deleted ones come back at the end, after the survivors, still in order. */
  for (i = 0; i < n; i += 2) {
    snprintf(key, sizeof key, "key:%d", i);
    tl_test_set_int(local, key, -i);
  }
  ck_assert_int_eq(tl_local_keys(local, &keys, &n_keys), TL_OK);
  ck_assert_uint_eq(n_keys, (size_t) n);
  for (k = 0; k < n_keys; k++) {
    int expected = k < (size_t) n / 2 ? (int) k * 2 + 1 : (int) (k - n / 2) * 2;

    snprintf(key, sizeof key, "key:%d", expected);
    ck_assert_str_eq(keys[k], key);
    ck_assert_int_eq(tl_test_peek_int(local, key), expected % 2 ? expected : -expected);
  }
  tl_strv_free(keys);

  /* Empty it from the back, then use it again. */
  for (i = n - 1; i >= 0; i--) {
    snprintf(key, sizeof key, "key:%d", i);
    ck_assert_int_eq(tl_local_delete(local, key), TL_OK);
  }
  ck_assert_uint_eq(tl_test_local_size(local), 0);
  tl_test_set_int(local, "key:0", 7);
  ck_assert_int_eq(tl_test_peek_int(local, "key:0"), 7);
  ck_assert_uint_eq(tl_stats_live_dicts(), dicts + 1); /* one dictionary all along */
  tl_local_unref(local);
}
END_TEST

/* A deleted item survives a growth that does not compact (under a quarter deleted) while the index
 * is rebuilt for the larger array: the rebuilt index must not point at it. It did once (the
 * snapshot fuzzer found it): the empty key, deleted, then set again after the growth, landed in
 * the dead item, uncounted, and tl_local_keys() wrote past its array. */
START_TEST(test_growth_keeps_deleted_items_unindexed)
{
  const char *expected[16];
  char names[16][8];
  int n_first, i;

  for (n_first = 2; n_first <= 14; n_first++) {
    TlLocal *local = tl_local_new();
    size_t n = 0;

    tl_test_set_int(local, "", -1);
    for (i = 1; i < n_first; i++) {
      snprintf(names[i], sizeof names[i], "k%d", i);
      tl_test_set_int(local, names[i], i);
    }
    ck_assert_int_eq(tl_local_delete(local, ""), TL_OK);
    ck_assert_int_eq(tl_local_delete(local, "k1"), TL_OK);
    for (i = n_first; i < 16; i++) { /* growth, and at some sizes an index rebuild */
      snprintf(names[i], sizeof names[i], "k%d", i);
      tl_test_set_int(local, names[i], i);
    }
    ck_assert_int_eq(tl_local_contains(local, ""), 0);
    ck_assert_int_eq(tl_local_contains(local, "k1"), 0);
    tl_test_set_int(local, "", -2);
    tl_test_set_int(local, "k1", -3);
    for (i = 2; i < 16; i++)
      expected[n++] = names[i];
    expected[n++] = "";
    expected[n++] = "k1";
    ck_assert_uint_eq(tl_test_local_size(local), n);
    tl_test_assert_keys(local, expected, n);
    ck_assert_int_eq(tl_test_peek_int(local, ""), -2);
    ck_assert_int_eq(tl_test_peek_int(local, "k1"), -3);
    tl_local_unref(local);
  }
}
END_TEST

/* Inserting and deleting without growth leaves tombstones behind; lookups must still end and the
 * surviving keys keep their order. */
START_TEST(test_churn)
{
  static const char *const stable[] = {"first", "second"};
  TlLocal *local = tl_local_new();
  int n = tl_test_repeat(200000), i;
  char key[32];

  tl_test_set_int(local, "first", 1);
  tl_test_set_int(local, "second", 2);
  for (i = 0; i < n; i++) {
    snprintf(key, sizeof key, "churn:%d", i % 3 == 0 ? 0 : i);
    tl_test_set_int(local, key, i);
    ck_assert_int_eq(tl_local_contains(local, key), 1);
    ck_assert_int_eq(tl_local_delete(local, key), TL_OK);
    ck_assert_int_eq(tl_local_contains(local, key), 0);
  }
  ck_assert_uint_eq(tl_test_local_size(local), 2);
  tl_test_assert_keys(local, stable, 2);
  ck_assert_int_eq(tl_test_peek_int(local, "second"), 2);
  ck_assert_int_eq(tl_local_contains(local, "churn:1"), 0);
  tl_local_unref(local);
}
END_TEST

typedef struct {
  const char *const *expected;
  size_t n_seen;
} KeyWalk;

static int
key_walk_visit(const char *key, TlValue *value, void *payload)
{
  KeyWalk *walk = payload;
  int32_t number = -1;

  ck_assert_str_eq(key, walk->expected[walk->n_seen]);
  ck_assert_int_eq(tl_value_get_int32(value, &number), TL_OK);
  ck_assert_int_eq(number, (int32_t) walk->n_seen);
  walk->n_seen++;
  return 0;
}

START_TEST(test_key_shapes)
{
  /* Lengths around the hash's 8-byte words, prefixes of one another, keys differing only in their
   * last byte or past the first word, and multibyte UTF-8. */
  static const char *const fixed[] = {
      "",
      "a",
      "abcdefg",
      "abcdefgh",
      "abcdefghi",
      "abcdefgi",
      "abcdefghijklmno",
      "abcdefghijklmnop",
      "abcdefghijklmnopq",
      "abcdefgh1",
      "abcdefgh2",
      "bbcdefgh1",
      "\xd0\xba\xd0\xbb\xd1\x8e\xd1\x87",
      "\xe9\x8d\xb5",
      "\xf0\x9f\x94\x91",
      "\xc3\xa9",
      "e\xcc\x81",
      "12345678\xc3\xa9",
      " ",
      "  ",
      "key with spaces",
      "tab\tnewline\n",
      "\x7f",
      "A",
      "a\xc2\x80",
  };
  enum { N_FIXED = N_ELEMENTS(fixed), N_REPEATED = 40 };
  const char *all[N_FIXED + N_REPEATED + 1];
  char repeated[N_REPEATED][N_REPEATED + 1];
  size_t long_len = 100000, n = 0, i;
  char *long_key = malloc(long_len + 1), *long_key_2 = malloc(long_len + 1);
  TlLocal *local = tl_local_new();

  for (i = 0; i < N_FIXED; i++)
    all[n++] = fixed[i];
  for (i = 0; i < N_REPEATED; i++) {
    memset(repeated[i], 'x', i + 1);
    repeated[i][i + 1] = '\0';
    all[n++] = repeated[i];
  }
  memset(long_key, 'L', long_len);
  long_key[long_len] = '\0';
  memcpy(long_key_2, long_key, long_len + 1);
  long_key_2[long_len - 1] = 'M';
  all[n++] = long_key;

  for (i = 0; i < n; i++)
    tl_test_set_int(local, all[i], (int32_t) i);
  ck_assert_uint_eq(tl_test_local_size(local), n);
  for (i = 0; i < n; i++)
    ck_assert_msg(tl_test_peek_int(local, all[i]) == (int32_t) i, "key %zu", i);
  ck_assert_int_eq(tl_local_contains(local, long_key_2), 0);
  tl_test_assert_keys(local, all, n);
  {
    /* foreach hands out the keys of its own copy: short ones kept inline in the items, long ones
     * allocated (tl-dict-private.h, TL_DICT_INLINE_KEY). */
    KeyWalk walk = {all, 0};

    ck_assert_int_eq(tl_local_foreach(local, key_walk_visit, &walk), TL_OK);
    ck_assert_uint_eq(walk.n_seen, n);
  }

  /* The empty key is an ordinary key. */
  ck_assert_int_eq(tl_local_contains(local, ""), 1);
  ck_assert_int_eq(tl_local_delete(local, ""), TL_OK);
  ck_assert_int_eq(tl_local_contains(local, ""), 0);
  ck_assert_int_eq(tl_local_contains(local, " "), 1);
  tl_test_set_int(local, "", -1);
  ck_assert_int_eq(tl_test_peek_int(local, ""), -1);

  for (i = 0; i < n; i++)
    ck_assert_int_eq(tl_local_delete(local, all[i]), TL_OK);
  ck_assert_uint_eq(tl_test_local_size(local), 0);
  free(long_key);
  free(long_key_2);
  tl_local_unref(local);
}
END_TEST

/* Keys of every length up to three words that differ from one another in a single byte, at every
 * position: a hash or comparison that skipped a byte would merge two of them. */
START_TEST(test_keys_differing_in_one_byte)
{
  enum { MAX_LEN = 24 };
  TlLocal *local = tl_local_new();
  char key[MAX_LEN + 1];
  size_t len, position, n = 0;
  int32_t expected = 0;

  for (len = 1; len <= MAX_LEN; len++) {
    memset(key, 'k', len);
    key[len] = '\0';
    tl_test_set_int(local, key, (int32_t) (len * 100 + 99));
    n++;
    for (position = 0; position < len; position++) {
      key[position] = 'j';
      tl_test_set_int(local, key, (int32_t) (len * 100 + position));
      key[position] = 'k';
      n++;
    }
  }
  ck_assert_uint_eq(tl_test_local_size(local), n);
  for (len = 1; len <= MAX_LEN; len++) {
    memset(key, 'k', len);
    key[len] = '\0';
    ck_assert_int_eq(tl_test_peek_int(local, key), (int32_t) (len * 100 + 99));
    for (position = 0; position < len; position++) {
      key[position] = 'j';
      expected = (int32_t) (len * 100 + position);
      ck_assert_msg(tl_test_peek_int(local, key) == expected, "key '%s'", key);
      key[position] = 'k';
    }
  }
  tl_local_unref(local);
}
END_TEST

START_TEST(test_key_is_copied)
{
  TlLocal *local = tl_local_new();
  char key[] = "mutable-key-longer-than-a-word";

  tl_test_set_int(local, key, 1);
  key[0] = 'M';
  ck_assert_int_eq(tl_local_contains(local, "mutable-key-longer-than-a-word"), 1);
  ck_assert_int_eq(tl_local_contains(local, key), 0);
  tl_test_set_int(local, key, 2);
  ck_assert_uint_eq(tl_test_local_size(local), 2);
  tl_local_unref(local);
}
END_TEST

START_TEST(test_invalid_keys)
{
  static const char *const invalid[] = {
      "\xff",         "abc\xff",          "\xc3", "\xc0\x80",     "\xc1\xbf",
      "\xed\xa0\x80", "\xf4\x90\x80\x80", "\x80", "abcdefgh\xfe", "abcdefghijklmnop\xc3",
      "\xe2\x82",     "ok\xf0\x9f\x94",
  };
  TlLocal *local = tl_local_new();
  TlValue *value = tl_value_new_int32(1), *out;
  size_t i;

  tl_test_set_int(local, "abc", 0); /* the valid prefix of one of them */
  for (i = 0; i < N_ELEMENTS(invalid) + 1; i++) {
    const char *key = i < N_ELEMENTS(invalid) ? invalid[i] : NULL;

    ck_assert_msg(tl_local_set(local, key, value) == TL_ERR_INVALID_KEY, "set key %zu", i);
    ck_assert_int_eq(tl_last_error(), TL_ERR_INVALID_KEY);
    ck_assert_uint_gt(strlen(tl_last_error_message()), 0);
    out = value;
    ck_assert_int_eq(tl_local_get(local, key, &out), TL_ERR_INVALID_KEY);
    ck_assert_ptr_null(out);
    ck_assert_ptr_null(tl_local_peek(local, key));
    ck_assert_int_eq(tl_last_error(), TL_ERR_INVALID_KEY);
    ck_assert_int_eq(tl_local_delete(local, key), TL_ERR_INVALID_KEY);
    ck_assert_int_eq(tl_local_contains(local, key), TL_ERR_INVALID_KEY);
  }
  ck_assert_uint_eq(tl_test_local_size(local), 1);
  ck_assert_int_eq(tl_test_peek_int(local, "abc"), 0);
  tl_value_unref(value);
  tl_local_unref(local);
}
END_TEST

START_TEST(test_invalid_arguments)
{
  TlLocal *local = tl_local_new();
  TlValue *value = tl_value_new_int32(1), *out = value;
  char **keys = (char **) &out;
  size_t size = 0;

  ck_assert_int_eq(tl_local_set(NULL, "k", value), TL_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(tl_local_set(local, "k", NULL), TL_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(tl_local_get(NULL, "k", &out), TL_ERR_INVALID_ARGUMENT);
  ck_assert_ptr_null(out);
  ck_assert_int_eq(tl_local_get(local, "k", NULL), TL_ERR_INVALID_ARGUMENT);
  ck_assert_ptr_null(tl_local_peek(NULL, "k"));
  ck_assert_int_eq(tl_last_error(), TL_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(tl_local_delete(NULL, "k"), TL_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(tl_local_contains(NULL, "k"), TL_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(tl_local_size(NULL, &size), TL_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(tl_local_size(local, NULL), TL_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(tl_local_clear(NULL), TL_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(tl_local_keys(NULL, &keys, NULL), TL_ERR_INVALID_ARGUMENT);
  ck_assert_ptr_null(keys);
  ck_assert_int_eq(tl_local_keys(local, NULL, NULL), TL_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(tl_local_foreach(NULL, NULL, NULL), TL_ERR_INVALID_ARGUMENT);
  ck_assert_ptr_null(tl_local_ref(NULL));
  tl_local_unref(NULL);
  ck_assert_uint_eq(tl_test_local_size(local), 0);
  tl_value_unref(value);
  tl_local_unref(local);
}
END_TEST

/* ---- lifetimes of dictionaries ---- */

START_TEST(test_unref_frees_dict)
{
  size_t locals = tl_stats_live_locals(), dicts = tl_stats_live_dicts();
  TlLocal *local = tl_local_new();
  int destroyed[2] = {0, 0};

  ck_assert_uint_eq(tl_stats_live_locals(), locals + 1);
  set_counted(local, "a", &destroyed[0]);
  set_counted(local, "b", &destroyed[1]);
  tl_test_set_int(local, "c", 3);
  ck_assert_uint_eq(tl_stats_live_dicts(), dicts + 1);

  /* Not the last reference: nothing happens. */
  ck_assert_ptr_eq(tl_local_ref(local), local);
  tl_local_unref(local);
  ck_assert_int_eq(destroyed[0] + destroyed[1], 0);
  ck_assert_uint_eq(tl_stats_live_dicts(), dicts + 1);
  ck_assert_int_eq(tl_test_peek_int(local, "c"), 3);

  tl_local_unref(local);
  ck_assert_int_eq(destroyed[0], 1);
  ck_assert_int_eq(destroyed[1], 1);
  ck_assert_uint_eq(tl_stats_live_dicts(), dicts);
  ck_assert_uint_eq(tl_stats_live_locals(), locals);
}
END_TEST

START_TEST(test_thread_clear)
{
  TlLocal *a = tl_local_new(), *b = tl_local_new();
  size_t locals = tl_stats_live_locals(), threads;
  int destroyed[2] = {0, 0};

  set_counted(a, "p", &destroyed[0]);
  set_counted(b, "p", &destroyed[1]);
  tl_test_set_int(b, "n", 1);
  ck_assert_uint_eq(tl_stats_live_dicts(), 2);
  threads = tl_stats_live_threads();
  ck_assert_uint_ge(threads, 1);

  tl_thread_clear();
  ck_assert_int_eq(destroyed[0], 1);
  ck_assert_int_eq(destroyed[1], 1);
  ck_assert_uint_eq(tl_stats_live_dicts(), 0);
  ck_assert_uint_eq(tl_stats_live_threads(), threads - 1); /* this thread holds nothing now */
  ck_assert_uint_eq(tl_stats_live_locals(), locals);       /* the locals themselves live on */
  ck_assert_uint_eq(tl_test_local_size(a), 0);
  ck_assert_int_eq(tl_local_contains(b, "n"), 0);
  ck_assert_ptr_null(tl_local_peek(b, "p"));

  /* Harmless when there is nothing to clear. */
  tl_thread_clear();
  tl_thread_clear();

  /* The thread starts over. */
  tl_test_set_int(a, "n", 2);
  tl_test_set_int(b, "n", 3);
  ck_assert_uint_eq(tl_stats_live_dicts(), 2);
  ck_assert_uint_eq(tl_stats_live_threads(), threads);
  ck_assert_int_eq(tl_test_peek_int(a, "n"), 2);
  ck_assert_int_eq(tl_test_peek_int(b, "n"), 3);
  tl_local_unref(a);
  ck_assert_uint_eq(tl_stats_live_dicts(), 1);
  tl_thread_clear();
  ck_assert_uint_eq(tl_stats_live_dicts(), 0);
  tl_test_set_int(b, "n", 4);
  tl_local_unref(b);
  ck_assert_uint_eq(tl_stats_live_dicts(), 0);
}
END_TEST

/* ---- destroy functions that call back into the library ---- */

/* The native pointer of a pointer value whose destroy function uses the library. Statuses are
 * recorded, not asserted, inside the destroy function: it runs deep in library code. */
typedef struct {
  TlLocal *local; /* the local the destroy function acts on */
  const char *key;
  int n_keys;     /* set key-0 .. key-(n_keys-1), enough to make the dictionary grow */
  TlValue *value; /* (nullable) set this instead of an int; a reference this struct owns */
  int calls;
  int status;
  int32_t seen;
} Reentry;

static void
destroy_sets(void *ptr)
{
  Reentry *reentry = ptr;
  char key[64];
  int i;

  reentry->calls++;
  reentry->status = TL_OK;
  for (i = 0; i < (reentry->n_keys > 0 ? reentry->n_keys : 1); i++) {
    TlValue *value = reentry->value != NULL ? tl_value_ref(reentry->value) : tl_value_new_int32(i);
    int status;

    if (reentry->n_keys > 0)
      snprintf(key, sizeof key, "%s-%d", reentry->key, i);
    else
      snprintf(key, sizeof key, "%s", reentry->key);
    status = tl_local_set(reentry->local, key, value);
    if (status != TL_OK)
      reentry->status = status;
    tl_value_unref(value);
  }
  tl_value_unref(reentry->value);
  reentry->value = NULL;
}

static void
destroy_reads(void *ptr)
{
  Reentry *reentry = ptr;
  TlValue *value = NULL;

  reentry->calls++;
  reentry->status = tl_local_get(reentry->local, reentry->key, &value);
  if (reentry->status == TL_OK)
    reentry->status = tl_value_get_int32(value, &reentry->seen);
  tl_value_unref(value);
}

static void
destroy_unrefs(void *ptr)
{
  Reentry *reentry = ptr;

  reentry->calls++;
  tl_local_unref(reentry->local);
  reentry->local = NULL;
}

static void
destroy_clears_thread(void *ptr)
{
  Reentry *reentry = ptr;

  reentry->calls++;
  tl_thread_clear();
}

static void
destroy_creates_local(void *ptr)
{
  Reentry *reentry = ptr;
  TlValue *value = tl_value_new_int32(1);

  reentry->calls++;
  reentry->local = tl_local_new();
  reentry->status = tl_local_set(reentry->local, "fresh", value);
  tl_value_unref(value);
}

static void
set_reentrant(TlLocal *local, const char *key, Reentry *reentry, TlDestroyFunc destroy)
{
  TlValue *value = tl_value_new_pointer(reentry, destroy);

  ck_assert_int_eq(tl_local_set(local, key, value), TL_OK);
  tl_value_unref(value);
}

START_TEST(test_destroy_sets_same_local)
{
  TlLocal *local = tl_local_new();
  Reentry reentry;
  char key[32];
  int i;

  /* During a delete: the dictionary grows under the destroy function, other keys stay intact. */
  memset(&reentry, 0, sizeof reentry);
  reentry.local = local;
  reentry.key = "after-delete";
  reentry.n_keys = 100;
  for (i = 0; i < 10; i++) {
    snprintf(key, sizeof key, "k%d", i);
    tl_test_set_int(local, key, i);
  }
  set_reentrant(local, "p", &reentry, destroy_sets);
  ck_assert_int_eq(tl_local_delete(local, "p"), TL_OK);
  ck_assert_int_eq(reentry.calls, 1);
  ck_assert_int_eq(reentry.status, TL_OK);
  ck_assert_uint_eq(tl_test_local_size(local), 110);
  ck_assert_int_eq(tl_local_contains(local, "p"), 0);
  ck_assert_int_eq(tl_test_peek_int(local, "after-delete-99"), 99);
  for (i = 0; i < 10; i++) {
    snprintf(key, sizeof key, "k%d", i);
    ck_assert_int_eq(tl_test_peek_int(local, key), i);
  }

  /* During an overwrite of another key. */
  ck_assert_int_eq(tl_local_clear(local), TL_OK);
  memset(&reentry, 0, sizeof reentry);
  reentry.local = local;
  reentry.key = "after-overwrite";
  reentry.n_keys = 100;
  set_reentrant(local, "p", &reentry, destroy_sets);
  tl_test_set_int(local, "p", 7);
  ck_assert_int_eq(reentry.calls, 1);
  ck_assert_int_eq(reentry.status, TL_OK);
  ck_assert_int_eq(tl_test_peek_int(local, "p"), 7);
  ck_assert_uint_eq(tl_test_local_size(local), 101);

  /* During an overwrite of the same key: either write may win, but the dictionary stays whole. */
  ck_assert_int_eq(tl_local_clear(local), TL_OK);
  memset(&reentry, 0, sizeof reentry);
  reentry.local = local;
  reentry.key = "p";
  reentry.value = tl_value_new_int32(99);
  set_reentrant(local, "p", &reentry, destroy_sets);
  tl_test_set_int(local, "p", 7);
  ck_assert_int_eq(reentry.calls, 1);
  ck_assert_int_eq(reentry.status, TL_OK);
  ck_assert_uint_eq(tl_test_local_size(local), 1);
  ck_assert(tl_test_peek_int(local, "p") == 7 || tl_test_peek_int(local, "p") == 99);

  /* During a clear: what the destroy function sets is what remains. */
  ck_assert_int_eq(tl_local_clear(local), TL_OK);
  memset(&reentry, 0, sizeof reentry);
  reentry.local = local;
  reentry.key = "after-clear";
  reentry.n_keys = 100;
  tl_test_set_int(local, "x", 1);
  set_reentrant(local, "p", &reentry, destroy_sets);
  tl_test_set_int(local, "y", 2);
  ck_assert_int_eq(tl_local_clear(local), TL_OK);
  ck_assert_int_eq(reentry.calls, 1);
  ck_assert_int_eq(reentry.status, TL_OK);
  ck_assert_uint_eq(tl_test_local_size(local), 100);
  ck_assert_int_eq(tl_local_contains(local, "x"), 0);
  ck_assert_int_eq(tl_local_contains(local, "y"), 0);
  ck_assert_int_eq(tl_test_peek_int(local, "after-clear-0"), 0);

  tl_local_unref(local);
}
END_TEST

START_TEST(test_destroy_uses_other_local)
{
  TlLocal *a = tl_local_new(), *b = tl_local_new();
  Reentry setter, reader;

  tl_test_set_int(b, "k", 5);
  memset(&reader, 0, sizeof reader);
  reader.local = b;
  reader.key = "k";
  memset(&setter, 0, sizeof setter);
  setter.local = b;
  setter.key = "from-destroy";

  /* On delete, on overwrite and on the destruction of the local holding the value. */
  set_reentrant(a, "r", &reader, destroy_reads);
  ck_assert_int_eq(tl_local_delete(a, "r"), TL_OK);
  ck_assert_int_eq(reader.calls, 1);
  ck_assert_int_eq(reader.status, TL_OK);
  ck_assert_int_eq(reader.seen, 5);

  set_reentrant(a, "s", &setter, destroy_sets);
  tl_test_set_int(a, "s", 0);
  ck_assert_int_eq(setter.calls, 1);
  ck_assert_int_eq(setter.status, TL_OK);
  ck_assert_int_eq(tl_local_contains(b, "from-destroy"), 1);
  ck_assert_int_eq(tl_local_delete(b, "from-destroy"), TL_OK);

  set_reentrant(a, "r", &reader, destroy_reads);
  set_reentrant(a, "s", &setter, destroy_sets);
  tl_local_unref(a);
  ck_assert_int_eq(reader.calls, 2);
  ck_assert_int_eq(reader.status, TL_OK);
  ck_assert_int_eq(setter.calls, 2);
  ck_assert_int_eq(setter.status, TL_OK);
  ck_assert_int_eq(tl_local_contains(b, "from-destroy"), 1);
  ck_assert_int_eq(tl_test_peek_int(b, "k"), 5);
  tl_local_unref(b);
}
END_TEST

/* tl_thread_clear() frees dictionaries that destroy functions recreate while it runs: here a
 * chain a -> b -> c, each freed value setting the next local. */
START_TEST(test_destroy_sets_during_thread_clear)
{
  TlLocal *a = tl_local_new(), *b = tl_local_new(), *c = tl_local_new();
  Reentry to_b, to_c;

  memset(&to_c, 0, sizeof to_c);
  to_c.local = c;
  to_c.key = "chain";
  memset(&to_b, 0, sizeof to_b);
  to_b.local = b;
  to_b.key = "chain";
  to_b.value = tl_value_new_pointer(&to_c, destroy_sets);
  set_reentrant(a, "chain", &to_b, destroy_sets);

  tl_thread_clear();
  ck_assert_int_eq(to_b.calls, 1);
  ck_assert_int_eq(to_b.status, TL_OK);
  ck_assert_int_eq(to_c.calls, 1);
  ck_assert_int_eq(to_c.status, TL_OK);
  ck_assert_uint_eq(tl_stats_live_dicts(), 0);
  ck_assert_int_eq(tl_local_contains(b, "chain"), 0);
  ck_assert_int_eq(tl_local_contains(c, "chain"), 0);
  tl_local_unref(a);
  tl_local_unref(b);
  tl_local_unref(c);
}
END_TEST

/* A destroy function may drop the last reference to another local, on every path that frees. */
START_TEST(test_destroy_unrefs_local)
{
  size_t locals = tl_stats_live_locals();
  int path;

  for (path = 0; path < 4; path++) {
    TlLocal *holder = tl_local_new(), *victim = tl_local_new();
    Reentry reentry;
    int destroyed = 0;

    set_counted(victim, "p", &destroyed);
    tl_test_set_int(victim, "n", 1);
    memset(&reentry, 0, sizeof reentry);
    reentry.local = victim;
    set_reentrant(holder, "p", &reentry, destroy_unrefs);
    tl_test_set_int(holder, "n", 2);
    ck_assert_uint_eq(tl_stats_live_dicts(), 2);

    switch (path) {
    case 0: ck_assert_int_eq(tl_local_delete(holder, "p"), TL_OK); break;
    case 1: tl_test_set_int(holder, "p", 0); break;
    case 2: ck_assert_int_eq(tl_local_clear(holder), TL_OK); break;
    default:
      tl_local_unref(holder);
      holder = NULL;
      break;
    }
    ck_assert_int_eq(reentry.calls, 1);
    ck_assert_int_eq(destroyed, 1);
    ck_assert_uint_eq(tl_stats_live_dicts(), holder != NULL ? 1 : 0);
    ck_assert_uint_eq(tl_stats_live_locals(), locals + (holder != NULL ? 1 : 0));
    if (holder != NULL) {
      ck_assert_int_eq(tl_local_contains(holder, "n"), path != 2);
      tl_local_unref(holder);
    }
  }

  /* And during tl_thread_clear(), whichever dictionary it frees first. */
  {
    TlLocal *holder = tl_local_new(), *victim = tl_local_new();
    Reentry reentry;
    int destroyed = 0;

    set_counted(victim, "p", &destroyed);
    memset(&reentry, 0, sizeof reentry);
    reentry.local = victim;
    set_reentrant(holder, "p", &reentry, destroy_unrefs);
    tl_thread_clear();
    ck_assert_int_eq(reentry.calls, 1);
    ck_assert_int_eq(destroyed, 1);
    ck_assert_uint_eq(tl_stats_live_dicts(), 0);
    ck_assert_uint_eq(tl_stats_live_locals(), locals + 1);
    tl_local_unref(holder);
  }
  ck_assert_uint_eq(tl_stats_live_locals(), locals);
}
END_TEST

/* A local made by a destroy function while another is being destroyed may get the dying one's
 * slot; it must still start empty, and tl_thread_clear() must free its dictionary too. */
START_TEST(test_destroy_creates_local)
{
  static const char *const fresh[] = {"fresh"};
  size_t locals = tl_stats_live_locals();
  TlLocal *dying = tl_local_new();
  Reentry reentry;

  memset(&reentry, 0, sizeof reentry);
  tl_test_set_int(dying, "x", 1);
  set_reentrant(dying, "p", &reentry, destroy_creates_local);
  tl_test_set_int(dying, "y", 2);
  tl_local_unref(dying);
  ck_assert_int_eq(reentry.calls, 1);
  ck_assert_int_eq(reentry.status, TL_OK);
  ck_assert_uint_eq(tl_stats_live_locals(), locals + 1);
  ck_assert_uint_eq(tl_stats_live_dicts(), 1);
  tl_test_assert_keys(reentry.local, fresh, 1);
  ck_assert_int_eq(tl_local_contains(reentry.local, "x"), 0);
  tl_local_unref(reentry.local);

  dying = tl_local_new();
  memset(&reentry, 0, sizeof reentry);
  set_reentrant(dying, "p", &reentry, destroy_creates_local);
  tl_thread_clear();
  ck_assert_int_eq(reentry.calls, 1);
  ck_assert_int_eq(reentry.status, TL_OK);
  ck_assert_uint_eq(tl_stats_live_dicts(), 0);
  ck_assert_uint_eq(tl_test_local_size(reentry.local), 0);
  tl_local_unref(reentry.local);
  tl_local_unref(dying);
  ck_assert_uint_eq(tl_stats_live_locals(), locals);
}
END_TEST

/* A destroy function that clears the whole thread while a delete or a walk is under way. */
START_TEST(test_destroy_clears_thread)
{
  TlLocal *a = tl_local_new(), *b = tl_local_new();
  Reentry reentry;
  Walk walk;
  int destroyed[3] = {0, 0, 0};

  memset(&reentry, 0, sizeof reentry);
  set_reentrant(a, "p", &reentry, destroy_clears_thread);
  set_counted(a, "q", &destroyed[0]);
  set_counted(b, "q", &destroyed[1]);
  ck_assert_int_eq(tl_local_delete(a, "p"), TL_OK);
  ck_assert_int_eq(reentry.calls, 1);
  ck_assert_int_eq(destroyed[0], 1);
  ck_assert_int_eq(destroyed[1], 1);
  ck_assert_uint_eq(tl_stats_live_dicts(), 0);
  ck_assert_uint_eq(tl_test_local_size(a), 0);
  tl_test_set_int(a, "again", 1);
  ck_assert_int_eq(tl_test_peek_int(a, "again"), 1);

  /* Mid-walk over a, a value of b is released and clears the thread, a's dictionary included:
   * the walk goes on over its snapshot, whose values are released after it. */
  memset(&reentry, 0, sizeof reentry);
  set_reentrant(b, "p", &reentry, destroy_clears_thread);
  walk_mutating(a, b, &walk, MUTATE_DELETE_OTHER, destroyed);
  ck_assert_int_eq(reentry.calls, 1);
  ck_assert_int_eq(walk.destroyed_seen[1], 0);
  ck_assert_int_eq(walk.destroyed_seen[2], 0);
  ck_assert_int_eq(destroyed[0] + destroyed[1] + destroyed[2], 3);
  ck_assert_uint_eq(tl_test_local_size(a), 0);
  ck_assert_uint_eq(tl_stats_live_dicts(), 0);

  tl_local_unref(a);
  tl_local_unref(b);
}
END_TEST

/* ---- scale ---- */

START_TEST(test_million_locals)
{
  const int n = tl_test_repeat(1000000);
  size_t locals_before = tl_stats_live_locals(), dicts_before = tl_stats_live_dicts();
  TlLocal **locals = malloc((size_t) n * sizeof *locals);
  int destroyed = 0, i;
  TlValue *shared = tl_value_new_pointer(&destroyed, tl_test_count_destroy);

  ck_assert_ptr_nonnull(locals);
  for (i = 0; i < n; i++) {
    locals[i] = tl_local_new();
    ck_assert_ptr_nonnull(locals[i]);
    ck_assert_int_eq(tl_local_set(locals[i], "k", shared), TL_OK);
  }
  ck_assert_uint_eq(tl_stats_live_locals(), locals_before + (size_t) n);
  ck_assert_uint_eq(tl_stats_live_dicts(), dicts_before + (size_t) n);

  for (i = 0; i < n; i += 997)
    ck_assert_ptr_eq(tl_local_peek(locals[i], "k"), shared);
  ck_assert_ptr_eq(tl_local_peek(locals[n - 1], "k"), shared);

  /* Still one dictionary per local. */
  tl_test_set_int(locals[0], "only-first", 1);
  if (n > 1) {
    ck_assert_int_eq(tl_local_contains(locals[n - 1], "only-first"), 0);
    ck_assert_int_eq(tl_local_delete(locals[n - 1], "k"), TL_OK);
    ck_assert_ptr_eq(tl_local_peek(locals[n / 2], "k"), shared);
  }

  for (i = 0; i < n; i++)
    tl_local_unref(locals[i]);
  free(locals);
  ck_assert_uint_eq(tl_stats_live_locals(), locals_before);
  ck_assert_uint_eq(tl_stats_live_dicts(), dicts_before);
  ck_assert_int_eq(destroyed, 0);
  tl_value_unref(shared);
  ck_assert_int_eq(destroyed, 1);
}
END_TEST

/* ---- one-call setters and the change counter ---- */

START_TEST(test_set_take_steals_the_reference)
{
  TlLocal *local = tl_local_new();
  int destroyed = 0;

  ck_assert_int_eq(
      tl_local_set_take(local, "p", tl_value_new_pointer(&destroyed, tl_test_count_destroy)),
      TL_OK);
  ck_assert_int_eq(destroyed, 0);
  ck_assert_int_eq(tl_local_delete(local, "p"), TL_OK);
  ck_assert_int_eq(destroyed, 1); /* the dictionary held the only reference */

  /* On failure the value is released too, not leaked. */
  ck_assert_int_eq(
      tl_local_set_take(local, NULL, tl_value_new_pointer(&destroyed, tl_test_count_destroy)),
      TL_ERR_INVALID_KEY);
  ck_assert_int_eq(destroyed, 2);
  tl_local_unref(local);
}
END_TEST

START_TEST(test_typed_setters)
{
  TlLocal *local = tl_local_new();
  int b = 0;
  int64_t x = 0;
  uint64_t t = 0;
  double d = 0;
  const char *s = NULL;

  ck_assert_int_eq(tl_local_set_bool(local, "b", 7), TL_OK);
  ck_assert_int_eq(tl_local_set_int64(local, "x", INT64_MIN), TL_OK);
  ck_assert_int_eq(tl_local_set_uint64(local, "t", UINT64_MAX), TL_OK);
  ck_assert_int_eq(tl_local_set_double(local, "d", -2.5), TL_OK);
  ck_assert_int_eq(tl_local_set_string(local, "s", "h\xc3\xa9llo"), TL_OK);
  ck_assert_str_eq(tl_value_type(tl_local_peek(local, "b")), "b");
  ck_assert_str_eq(tl_value_type(tl_local_peek(local, "x")), "x");
  ck_assert_str_eq(tl_value_type(tl_local_peek(local, "t")), "t");
  ck_assert_str_eq(tl_value_type(tl_local_peek(local, "d")), "d");
  ck_assert_str_eq(tl_value_type(tl_local_peek(local, "s")), "s");
  ck_assert_int_eq(tl_value_get_bool(tl_local_peek(local, "b"), &b), TL_OK);
  ck_assert_int_eq(tl_value_get_int64(tl_local_peek(local, "x"), &x), TL_OK);
  ck_assert_int_eq(tl_value_get_uint64(tl_local_peek(local, "t"), &t), TL_OK);
  ck_assert_int_eq(tl_value_get_double(tl_local_peek(local, "d"), &d), TL_OK);
  ck_assert_int_eq(tl_value_get_string(tl_local_peek(local, "s"), &s), TL_OK);
  ck_assert_int_eq(b, 1);
  ck_assert(x == INT64_MIN);
  ck_assert(t == UINT64_MAX);
  ck_assert(d == -2.5);
  ck_assert_str_eq(s, "h\xc3\xa9llo");
  /* Overwriting through a typed setter replaces in place, keeping the key's position. */
  ck_assert_int_eq(tl_local_set_int64(local, "b", 5), TL_OK);
  ck_assert_str_eq(tl_value_type(tl_local_peek(local, "b")), "x");
  ck_assert_int_eq(tl_local_set_string(local, "s", NULL), TL_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(tl_value_get_string(tl_local_peek(local, "s"), &s), TL_OK); /* unchanged */
  tl_local_unref(local);
}
END_TEST

static void *
write_in_another_thread(void *arg)
{
  tl_local_set_int64(arg, "other", 1);
  tl_local_delete(arg, "other");
  tl_thread_clear();
  return NULL;
}

START_TEST(test_change_counter)
{
  TlLocal *local = tl_local_new(), *other = tl_local_new();
  const volatile uint64_t *counter = tl_thread_change_counter();
  TlValue *snapshot = NULL, *got = NULL;
  char **keys = NULL;
  size_t size;
  uint64_t before;

  ck_assert(counter != NULL);
  ck_assert(counter == tl_thread_change_counter()); /* one per thread, stable */

  /* Every change moves it. */
  before = *counter;
  ck_assert_int_eq(tl_local_set_int64(local, "a", 1), TL_OK);
  ck_assert_uint_gt(*counter, before);
  before = *counter;
  ck_assert_int_eq(tl_local_set_int64(local, "a", 2), TL_OK);
  ck_assert_uint_gt(*counter, before);
  before = *counter;
  ck_assert_int_eq(tl_local_delete(local, "a"), TL_OK);
  ck_assert_uint_gt(*counter, before);
  ck_assert_int_eq(tl_local_set_int64(local, "a", 3), TL_OK);
  before = *counter;
  ck_assert_int_eq(tl_local_snapshot(local, &snapshot), TL_OK);
  ck_assert_int_eq(tl_local_apply(other, snapshot, TL_APPLY_REPLACE), TL_OK);
  ck_assert_uint_gt(*counter, before);
  before = *counter;
  ck_assert_int_eq(tl_local_clear(other), TL_OK);
  ck_assert_uint_gt(*counter, before);

  /* Reads do not. */
  before = *counter;
  ck_assert_ptr_nonnull(tl_local_peek(local, "a"));
  ck_assert_int_eq(tl_local_get(local, "a", &got), TL_OK);
  ck_assert_int_eq(tl_local_contains(local, "a"), 1);
  ck_assert_int_eq(tl_local_size(local, &size), TL_OK);
  ck_assert_int_eq(tl_local_keys(local, &keys, NULL), TL_OK);
  ck_assert_uint_eq(*counter, before);

  /* Another thread's writes move its own counter, not ours. */
  tl_test_run_threads(2, write_in_another_thread, local);
  ck_assert_uint_eq(*counter, before);

  /* tl_thread_clear frees this thread's dictionaries: a change. */
  tl_thread_clear();
  ck_assert_uint_gt(*counter, before);
  ck_assert(counter == tl_thread_change_counter()); /* survives the clear */

  tl_strv_free(keys);
  tl_value_unref(got);
  tl_value_unref(snapshot);
  tl_local_unref(local);
  tl_local_unref(other);
}
END_TEST

/* The last reference dropped on this thread frees this thread's dictionary of the local: a change
 * a binding's cache must see, or it would go on answering from the freed dictionary's values. */
START_TEST(test_change_counter_last_unref)
{
  TlLocal *local = tl_local_new();
  const volatile uint64_t *counter = tl_thread_change_counter();
  uint64_t before;

  ck_assert_int_eq(tl_local_set_int64(local, "a", 1), TL_OK);
  before = *counter;
  tl_local_unref(local);
  ck_assert_uint_gt(*counter, before);
}
END_TEST

/* A failed tl_local_set_take releases the stolen value after recording its failure: a destroy
 * function that fails a call of its own (a lookup that misses) must not replace the failure the
 * caller reads, which bindings turn into the exception they raise. */
typedef struct {
  TlLocal *local;
  int destroyed;
} MissingLookup;

static void
destroy_looks_up_missing(void *ptr)
{
  MissingLookup *lookup = ptr;

  lookup->destroyed++;
  TL_CHECK(tl_local_peek(lookup->local, "cache") == NULL);
}

START_TEST(test_set_take_failure_keeps_its_error)
{
  MissingLookup lookup = {tl_local_new(), 0};

  ck_assert_int_eq(tl_local_set_take(lookup.local, "bad\xff",
                                     tl_value_new_pointer(&lookup, destroy_looks_up_missing)),
                   TL_ERR_INVALID_KEY);
  tl_test_assert_no_failure();
  ck_assert_int_eq(lookup.destroyed, 1);
  ck_assert_int_eq(tl_last_error(), TL_ERR_INVALID_KEY);
  ck_assert_ptr_nonnull(strstr(tl_last_error_message(), "UTF-8"));
  tl_local_unref(lookup.local);
}
END_TEST

Suite *
locals_suite(void)
{
  Suite *suite = suite_create("locals");
  TCase *tcase;

  tcase = tl_test_case("operations");
  tcase_add_test(tcase, test_reads_create_no_dict);
  tcase_add_test(tcase, test_set_get_peek_delete);
  tcase_add_test(tcase, test_get_returns_new_reference);
  tcase_add_test(tcase, test_peek_is_borrowed);
  tcase_add_test(tcase, test_overwrite_releases_old_value);
  tcase_add_test(tcase, test_clear);
  tcase_add_test(tcase, test_keys_order);
  tcase_add_test(tcase, test_invalid_arguments);
  suite_add_tcase(suite, tcase);

  tcase = tl_test_case("foreach");
  tcase_add_test(tcase, test_foreach_order_and_stop);
  tcase_add_test(tcase, test_foreach_empty);
  tcase_add_test(tcase, test_foreach_mutations);
  suite_add_tcase(suite, tcase);

  tcase = tl_test_case("several locals");
  tcase_add_test(tcase, test_locals_independent);
  tcase_add_test(tcase, test_new_local_starts_empty);
  tcase_add_test(tcase, test_value_shared_by_locals);
  suite_add_tcase(suite, tcase);

  tcase = tl_test_case("keys");
  tcase_add_test(tcase, test_many_keys);
  tcase_add_test(tcase, test_churn);
  tcase_add_test(tcase, test_growth_keeps_deleted_items_unindexed);
  tcase_add_test(tcase, test_key_shapes);
  tcase_add_test(tcase, test_keys_differing_in_one_byte);
  tcase_add_test(tcase, test_key_is_copied);
  tcase_add_test(tcase, test_invalid_keys);
  suite_add_tcase(suite, tcase);

  tcase = tl_test_case("lifetimes");
  tcase_add_test(tcase, test_unref_frees_dict);
  tcase_add_test(tcase, test_thread_clear);
  suite_add_tcase(suite, tcase);

  tcase = tl_test_case("reentrant destroy");
  tcase_add_test(tcase, test_destroy_sets_same_local);
  tcase_add_test(tcase, test_destroy_uses_other_local);
  tcase_add_test(tcase, test_destroy_sets_during_thread_clear);
  tcase_add_test(tcase, test_destroy_unrefs_local);
  tcase_add_test(tcase, test_destroy_creates_local);
  tcase_add_test(tcase, test_destroy_clears_thread);
  suite_add_tcase(suite, tcase);

  tcase = tl_test_case("one-call setters and change counter");
  tcase_add_test(tcase, test_set_take_steals_the_reference);
  tcase_add_test(tcase, test_typed_setters);
  tcase_add_test(tcase, test_change_counter);
  tcase_add_test(tcase, test_change_counter_last_unref);
  tcase_add_test(tcase, test_set_take_failure_keeps_its_error);
  suite_add_tcase(suite, tcase);

  tcase = tl_test_case("scale");
  tcase_add_test(tcase, test_million_locals);
  suite_add_tcase(suite, tcase);

  return suite;
}
