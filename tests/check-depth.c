/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Depth: chains of snapshots a million deep (a context recording its parent) freed, compared and
 * printed without stack in proportion to their depth, on the main thread and at the exit of a
 * thread with a small stack; values nested past what a GVariant holds refused at the step that
 * would exceed the limit (constructors, parse, GLib interop), never kept with their inner levels
 * turned into "()"; and snapshots that keep a too-deep value intact by carrying it.
 *
 * Copyright the libtlslocal authors. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <glib.h>

#include <tlslocal-glib.h>

#include "tl-test.h"

/* The deepest value there is: every container level counted, from the outermost. */
#define MAX_DEPTH 127

/* A million, fewer under valgrind (TL_TEST_SLOW), and never so few that the old recursion (about
 * 100 bytes of stack a level) would have fit in a main thread's 8 MiB. */
static int
chain_length(void)
{
  int n = tl_test_repeat(1000000);

  return n < 100000 ? 100000 : n;
}

/* Makes local's "parent" the head of a chain of n snapshots, each carrying the one before (the
 * dictionary holds a pointer value, so every snapshot carries values and so is carried itself by
 * the next). */
static void
build_chain(TlLocal *local, int n, TlValue *pointer, const char *extra_at_bottom)
{
  int i;

  TL_CHECK(tl_local_set(local, "ptr", pointer) == TL_OK);
  if (extra_at_bottom != NULL)
    TL_CHECK(tl_local_set_int64(local, extra_at_bottom, 1) == TL_OK);
  for (i = 0; i < n; i++) {
    TlValue *snapshot = NULL;

    TL_CHECK(tl_local_snapshot(local, &snapshot) == TL_OK);
    TL_CHECK(tl_local_set_take(local, "parent", snapshot) == TL_OK);
    if (extra_at_bottom != NULL && i == 0)
      TL_CHECK(tl_local_delete(local, extra_at_bottom) == TL_OK);
  }
}

START_TEST(test_chain_freed_on_main_thread)
{
  size_t values_before = tl_stats_live_values();
  int destroyed = 0;
  TlLocal *local = tl_local_new();
  TlValue *pointer = tl_value_new_pointer(&destroyed, tl_test_count_destroy);
  int n = chain_length();

  build_chain(local, n, pointer, NULL);
  tl_value_unref(pointer);
  tl_test_assert_no_failure();
  ck_assert_uint_eq(tl_stats_live_values(), values_before + (size_t) n + 1);
  /* The last reference to every snapshot goes with the local: a recursive free overflowed here. */
  tl_local_unref(local);
  ck_assert_int_eq(destroyed, 1);
  ck_assert_uint_eq(tl_stats_live_values(), values_before);
}
END_TEST

START_TEST(test_chain_freed_by_clear_and_delete)
{
  size_t values_before = tl_stats_live_values();
  int destroyed = 0;
  TlLocal *local = tl_local_new();
  TlValue *pointer = tl_value_new_pointer(&destroyed, tl_test_count_destroy);
  int n = chain_length() / 4;

  build_chain(local, n, pointer, NULL);
  ck_assert_int_eq(tl_local_delete(local, "parent"), TL_OK);
  ck_assert_int_eq(destroyed, 0); /* the dictionary still holds the pointer value */
  ck_assert_uint_eq(tl_stats_live_values(), values_before + 1);
  build_chain(local, n, pointer, NULL);
  tl_value_unref(pointer);
  ck_assert_int_eq(tl_local_clear(local), TL_OK);
  ck_assert_int_eq(destroyed, 1);
  ck_assert_uint_eq(tl_stats_live_values(), values_before);
  tl_test_assert_no_failure();
  tl_local_unref(local);
}
END_TEST

typedef struct {
  TlLocal *local;
  int n;
  int destroyed;
} ChainJob;

static void *
build_chain_and_exit(void *data)
{
  ChainJob *job = data;
  TlValue *pointer = tl_value_new_pointer(&job->destroyed, tl_test_count_destroy);

  build_chain(job->local, job->n, pointer, NULL);
  tl_value_unref(pointer);
  return NULL; /* the thread-exit cleanup frees the chain, on this thread's small stack */
}

START_TEST(test_chain_freed_at_small_stack_thread_exit)
{
  size_t values_before = tl_stats_live_values();
  ChainJob job = {tl_local_new(), chain_length(), 0};
  pthread_attr_t attributes;
  pthread_t thread;

  /* musl's default thread stack: glibc's is 8 MiB, but a library cannot count on that. */
  ck_assert_int_eq(pthread_attr_init(&attributes), 0);
  ck_assert_int_eq(pthread_attr_setstacksize(&attributes, 128 * 1024), 0);
  ck_assert_int_eq(pthread_create(&thread, &attributes, build_chain_and_exit, &job), 0);
  ck_assert_int_eq(pthread_join(thread, NULL), 0);
  pthread_attr_destroy(&attributes);
  tl_test_assert_no_failure();
  ck_assert_int_eq(__atomic_load_n(&job.destroyed, __ATOMIC_SEQ_CST), 1);
  ck_assert_uint_eq(tl_stats_live_values(), values_before);
  ck_assert_uint_eq(tl_stats_live_dicts(), 0);
  tl_local_unref(job.local);
}
END_TEST

START_TEST(test_chains_compared_and_printed)
{
  int destroyed = 0, n = chain_length() / 4;
  TlLocal *a = tl_local_new(), *b = tl_local_new(), *c = tl_local_new();
  TlValue *pointer = tl_value_new_pointer(&destroyed, tl_test_count_destroy);
  TlValue *head_a = NULL, *head_b = NULL, *head_c = NULL;
  char *text;

  build_chain(a, n, pointer, NULL);
  build_chain(b, n, pointer, NULL);
  build_chain(c, n, pointer, "odd"); /* the same but for one key at the bottom */
  tl_value_unref(pointer);
  tl_test_assert_no_failure();
  ck_assert_int_eq(tl_local_get(a, "parent", &head_a), TL_OK);
  ck_assert_int_eq(tl_local_get(b, "parent", &head_b), TL_OK);
  ck_assert_int_eq(tl_local_get(c, "parent", &head_c), TL_OK);
  ck_assert_ptr_ne(head_a, head_b);
  /* Carried values are compared all the way down, n levels of them. */
  ck_assert_int_eq(tl_value_equal(head_a, head_b), 1);
  ck_assert_int_eq(tl_value_equal(head_b, head_a), 1);
  ck_assert_int_eq(tl_value_equal(head_a, head_c), 0);
  ck_assert_int_eq(tl_value_equal(head_c, head_a), 0);
  ck_assert_int_eq(tl_value_equal(head_c, head_c), 1);
  /* Printing shows the carried values by name only. */
  text = tl_value_print(head_a, 0);
  ck_assert_ptr_nonnull(text);
  ck_assert_str_eq(text, "{'ptr': <handle 0>, 'parent': <handle 1>}");
  tl_free(text);
  tl_value_unref(head_a);
  tl_value_unref(head_b);
  tl_value_unref(head_c);
  tl_local_unref(a);
  tl_local_unref(b);
  tl_local_unref(c);
  ck_assert_int_eq(destroyed, 1);
}
END_TEST

/* ---- the nesting limit ---- */

/* Text of value printed, parsed back, is an equal value. */
static void
assert_text_round_trip(const TlValue *value)
{
  char *text = tl_value_print(value, 1);
  TlValue *again = NULL;

  ck_assert_ptr_nonnull(text);
  ck_assert_msg(tl_value_parse(NULL, text, &again) == TL_OK, "does not parse back: %.200s: %s",
                text, tl_last_error_message());
  ck_assert_int_eq(tl_value_equal(value, again), 1);
  tl_value_unref(again);
  tl_free(text);
}

/* Follows the first child (a dict entry's value) down levels times and checks an int32 7 is
 * there: nothing became "()". */
static void
assert_innermost_seven(const TlValue *value, int levels)
{
  TlValue *current = tl_value_ref((TlValue *) value), *child;
  int32_t number = 0;
  int i;

  for (i = 0; i < levels; i++) {
    child = NULL;
    ck_assert_msg(tl_value_get_child(current, tl_value_type(current)[0] == '{', &child) == TL_OK,
                  "level %d of %d: type %s", i, levels, tl_value_type(current));
    tl_value_unref(current);
    current = child;
  }
  ck_assert_str_eq(tl_value_type(current), "i");
  ck_assert_int_eq(tl_value_get_int32(current, &number), TL_OK);
  ck_assert_int_eq(number, 7);
  tl_value_unref(current);
}

typedef TlValue *(*WrapFunc)(TlValue *inner);

static TlValue *
wrap_in_array_of_variants(TlValue *inner)
{
  return tl_value_new_array("v", &inner, 1);
}

static TlValue *
wrap_in_tuple(TlValue *inner)
{
  return tl_value_new_tuple(&inner, 1);
}

static TlValue *
wrap_in_maybe(TlValue *inner)
{
  return tl_value_new_maybe(NULL, inner);
}

static TlValue *
wrap_in_array(TlValue *inner)
{
  return tl_value_new_array(NULL, &inner, 1);
}

static TlValue *
wrap_in_vardict(TlValue *inner)
{
  const char *key = "inner";

  return tl_value_new_vardict(&key, &inner, 1);
}

/* Wraps an int32 7 again and again: every step within the limit works and keeps the innermost
 * value; the first step past it is refused, and so is every attempt after it. */
static void
assert_limit(WrapFunc wrap, int levels_per_step, const char *what)
{
  TlValue *value = tl_value_new_int32(7), *wrapped;
  int steps = 0;

  while ((steps + 1) * levels_per_step <= MAX_DEPTH) {
    wrapped = wrap(value);
    ck_assert_msg(wrapped != NULL, "%s: step %d refused: %s", what, steps + 1,
                  tl_last_error_message());
    tl_value_unref(value);
    value = wrapped;
    steps++;
  }
  assert_innermost_seven(value, steps * levels_per_step);
  assert_text_round_trip(value);
  ck_assert_ptr_null(wrap(value));
  ck_assert_int_eq(tl_last_error(), TL_ERR_INVALID_ARGUMENT);
  ck_assert_ptr_nonnull(strstr(tl_last_error_message(), "127"));
  tl_value_unref(value);
}

START_TEST(test_constructors_refuse_past_the_limit)
{
  assert_limit(wrap_in_array_of_variants, 2, "av");
  assert_limit(wrap_in_tuple, 1, "tuple");
  assert_limit(wrap_in_maybe, 1, "maybe");
  assert_limit(wrap_in_array, 1, "array");
  assert_limit(wrap_in_vardict, 3, "a{sv}");
}
END_TEST

/* "a" repeated n times, then "i". */
static char *
array_type(int n)
{
  char *type = g_malloc((gsize) n + 2);

  memset(type, 'a', (size_t) n);
  type[n] = 'i';
  type[n + 1] = '\0';
  return type;
}

START_TEST(test_empty_containers_count_their_type)
{
  char *type = array_type(MAX_DEPTH - 1);
  TlValue *value = tl_value_new_array(type, NULL, 0);

  /* An empty array of "a...ai" nests as deep as its type says: its printed annotation must
   * parse. */
  ck_assert_ptr_nonnull(value);
  assert_text_round_trip(value);
  tl_value_unref(value);
  g_free(type);
  type = array_type(MAX_DEPTH);
  ck_assert_ptr_null(tl_value_new_array(type, NULL, 0));
  ck_assert_int_eq(tl_last_error(), TL_ERR_INVALID_ARGUMENT);
  ck_assert_ptr_null(tl_value_new_maybe(type, NULL));
  ck_assert_int_eq(tl_last_error(), TL_ERR_INVALID_ARGUMENT);
  g_free(type);
}
END_TEST

/* open + "7" + close, each repeated n times. */
static char *
nested_text(const char *open, const char *close, int n)
{
  GString *text = g_string_new(NULL);
  int i;

  for (i = 0; i < n; i++)
    g_string_append(text, open);
  g_string_append(text, "7");
  for (i = 0; i < n; i++)
    g_string_append(text, close);
  return g_string_free(text, FALSE);
}

START_TEST(test_vardict_counts_the_values_it_keeps)
{
  const char *same[] = {"a", "a"}, *different[] = {"a", "b"};
  char *text = nested_text("[", "]", MAX_DEPTH - 2); /* 125 levels: a dictionary's value, 128 */
  TlValue *items[2], *dict;

  ck_assert_int_eq(tl_value_parse(NULL, text, &items[0]), TL_OK);
  items[1] = tl_value_new_int32(1);
  ck_assert_ptr_null(tl_value_new_vardict(different, items, 2));
  ck_assert_int_eq(tl_last_error(), TL_ERR_INVALID_ARGUMENT);
  /* A key given twice keeps its last value: the deep one is not in this dictionary. */
  dict = tl_value_new_vardict(same, items, 2);
  ck_assert_ptr_nonnull(dict);
  assert_text_round_trip(dict);
  tl_value_unref(dict);
  tl_value_unref(items[0]);
  tl_value_unref(items[1]);
  g_free(text);
}
END_TEST

START_TEST(test_parse_refuses_past_the_limit)
{
  static const struct {
    const char *open, *close;
    int levels; /* per pair */
  } forms[] = {{"[", "]", 1},        {"<", ">", 1},    {"(", ",)", 1},   {"[<", ">]", 2},
               {"{'k': <", ">}", 3}, {"{1: ", "}", 2}, {"{1, ", "}", 1}, /* lone dict entries */
               {"just ", "", 1}};
  size_t f;

  for (f = 0; f < N_ELEMENTS(forms); f++) {
    int deepest = MAX_DEPTH / forms[f].levels, n;

    for (n = deepest - 1; n <= deepest + 1; n++) {
      char *text = nested_text(forms[f].open, forms[f].close, n);
      TlValue *value = NULL;
      int status = tl_value_parse(NULL, text, &value);

      if (n * forms[f].levels <= MAX_DEPTH) {
        ck_assert_msg(status == TL_OK, "%s x%d: %s", forms[f].open, n, tl_last_error_message());
        assert_text_round_trip(value);
        tl_value_unref(value);
      } else {
        ck_assert_msg(status == TL_ERR_PARSE, "%s x%d parsed", forms[f].open, n);
        ck_assert_ptr_null(value);
      }
      g_free(text);
    }
  }
}
END_TEST

/* A GVariant built with GLib alone, n arrays of variants deep around an int32 7: GLib keeps it in
 * tree form, whole, until something serialises it. */
static GVariant *
glib_nested(int n)
{
  GVariant *variant = g_variant_new_int32(7);
  int i;

  for (i = 0; i < n; i++) {
    GVariant *boxed = g_variant_new_variant(variant);

    variant = g_variant_new_array(G_VARIANT_TYPE_VARIANT, &boxed, 1);
  }
  return g_variant_ref_sink(variant);
}

START_TEST(test_gvariant_interop_refuses_past_the_limit)
{
  GVariant *deep = glib_nested(300), *fits = glib_nested(MAX_DEPTH / 2);
  TlValue *value;

  ck_assert_ptr_null(tl_value_new_from_gvariant(deep));
  ck_assert_int_eq(tl_last_error(), TL_ERR_INVALID_ARGUMENT);
  ck_assert_ptr_null(tl_value_new_from_gvariant(g_variant_new_variant(deep))); /* floating: taken */
  value = tl_value_new_from_gvariant(fits);
  ck_assert_ptr_nonnull(value);
  assert_innermost_seven(value, (MAX_DEPTH / 2) * 2);
  assert_text_round_trip(value);
  tl_value_unref(value);
  g_variant_unref(deep);
  g_variant_unref(fits);
}
END_TEST

/* ---- snapshots of a context that records its parent, with no pointer value ---- */

#define PARENT_STEPS 60

START_TEST(test_parent_chain_kept_intact)
{
  TlLocal *producer = tl_local_new(), *consumer = tl_local_new();
  TlValue *snapshot = NULL, *current;
  int step, n_by_text = 0;

  for (step = 1; step <= PARENT_STEPS; step++) {
    char *text;

    ck_assert_int_eq(tl_local_set_int64(producer, "step", step), TL_OK);
    ck_assert_int_eq(tl_local_snapshot(producer, &snapshot), TL_OK);
    /* Within the limit a snapshot is plain text that parses back equal; past it, the parent that
     * could no longer be boxed travels by reference instead, named by a handle. */
    text = tl_value_print(snapshot, 1);
    ck_assert_ptr_nonnull(text);
    if (strstr(text, "<handle") == NULL) {
      assert_text_round_trip(snapshot);
      n_by_text++;
    }
    tl_free(text);
    ck_assert_int_eq(tl_local_set_take(producer, "parent", snapshot), TL_OK);
  }
  ck_assert_int_eq(n_by_text, 42); /* 3 levels a step: 42 * 3 = 126 */

  /* Handed to another local, every level reads back whole. */
  ck_assert_int_eq(tl_local_snapshot(producer, &snapshot), TL_OK);
  ck_assert_int_eq(tl_local_apply(consumer, snapshot, TL_APPLY_REPLACE), TL_OK);
  tl_value_unref(snapshot);
  current = tl_value_ref(tl_local_peek(consumer, "parent"));
  for (step = PARENT_STEPS; step >= 1; step--) {
    TlValue *number = NULL, *parent = NULL;
    int64_t seen = 0;

    ck_assert_msg(tl_value_lookup(current, "step", &number) == TL_OK, "step %d: %s", step,
                  tl_last_error_message());
    ck_assert_int_eq(tl_value_get_int64(number, &seen), TL_OK);
    ck_assert_int_eq(seen, step);
    tl_value_unref(number);
    ck_assert_int_eq(tl_value_lookup(current, "parent", &parent),
                     step > 1 ? TL_OK : TL_ERR_NOT_FOUND);
    tl_value_unref(current);
    current = parent;
  }
  ck_assert_ptr_null(current);
  tl_local_unref(producer);
  tl_local_unref(consumer);
}
END_TEST

Suite *
depth_suite(void)
{
  Suite *suite = suite_create("depth");
  TCase *tcase = tl_test_case("depth");

  tcase_add_test(tcase, test_chain_freed_on_main_thread);
  tcase_add_test(tcase, test_chain_freed_by_clear_and_delete);
  tcase_add_test(tcase, test_chain_freed_at_small_stack_thread_exit);
  tcase_add_test(tcase, test_chains_compared_and_printed);
  tcase_add_test(tcase, test_constructors_refuse_past_the_limit);
  tcase_add_test(tcase, test_empty_containers_count_their_type);
  tcase_add_test(tcase, test_vardict_counts_the_values_it_keeps);
  tcase_add_test(tcase, test_parse_refuses_past_the_limit);
  tcase_add_test(tcase, test_gvariant_interop_refuses_past_the_limit);
  tcase_add_test(tcase, test_parent_chain_kept_intact);
  suite_add_tcase(suite, tcase);
  return suite;
}
