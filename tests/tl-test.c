/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tl-test.h"

int
tl_test_repeat(int n)
{
  const char *slow = getenv("TL_TEST_SLOW");
  int divisor = slow != NULL ? atoi(slow) : 1;

  if (divisor <= 1)
    return n;
  return n / divisor > 0 ? n / divisor : 1;
}

void
tl_test_run_threads(int n_threads, void *(*fn)(void *), void *arg)
{
  pthread_t *threads = calloc((size_t) n_threads, sizeof *threads);
  int i;

  ck_assert_ptr_nonnull(threads);
  for (i = 0; i < n_threads; i++)
    ck_assert_int_eq(pthread_create(&threads[i], NULL, fn, arg), 0);
  for (i = 0; i < n_threads; i++)
    ck_assert_int_eq(pthread_join(threads[i], NULL), 0);
  free(threads);
}

/* The ASan and TSan runtimes define it (declared in sanitizer/allocator_interface.h, which GCC does
 * not install); weak, so that elsewhere it is NULL and the plain build links. */
extern size_t __sanitizer_get_current_allocated_bytes(void) __attribute__((weak));

size_t
tl_test_heap_in_use(void)
{
  struct mallinfo2 info2;
  struct mallinfo info;

  /* The sanitizers bring their own allocator; glibc's arenas would show nothing. */
  if (__sanitizer_get_current_allocated_bytes != NULL)
    return __sanitizer_get_current_allocated_bytes();
  info2 = mallinfo2();
  if (info2.arena != 0 || info2.hblkhd != 0)
    return info2.uordblks + info2.hblkhd;
    /* glibc's malloc never ran: something replaced it. Valgrind 3.19 intercepts mallinfo(), giving
   * its own bytes on loan less its freed-block queue, but not mallinfo2(). Its fields are int: a
   * cast to unsigned reads right up to 4 GiB. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
  info = mallinfo();
#pragma GCC diagnostic pop
  return (size_t) (unsigned int) info.uordblks + (size_t) (unsigned int) info.hblkhd;
}

void
tl_test_spawn(pthread_t *thread, void *(*fn)(void *), void *arg)
{
  ck_assert_int_eq(pthread_create(thread, NULL, fn, arg), 0);
}

void
tl_test_join(pthread_t thread)
{
  ck_assert_int_eq(pthread_join(thread, NULL), 0);
}

void
tl_test_count_destroy(void *ptr)
{
  __atomic_fetch_add((int *) ptr, 1, __ATOMIC_SEQ_CST);
}

static pthread_mutex_t failure_mutex = PTHREAD_MUTEX_INITIALIZER;
static int n_failures;
static char first_failure[512];

void
tl_test_record_failure(const char *file, int line, const char *what)
{
  pthread_mutex_lock(&failure_mutex);
  if (n_failures++ == 0)
    snprintf(first_failure, sizeof first_failure, "%s:%d: %s", file, line, what);
  pthread_mutex_unlock(&failure_mutex);
}

void
tl_test_reset_failures(void)
{
  pthread_mutex_lock(&failure_mutex);
  n_failures = 0;
  first_failure[0] = '\0';
  pthread_mutex_unlock(&failure_mutex);
}

void
tl_test_assert_no_failure(void)
{
  char first[sizeof first_failure];
  int n;

  pthread_mutex_lock(&failure_mutex);
  n = n_failures;
  memcpy(first, first_failure, sizeof first);
  pthread_mutex_unlock(&failure_mutex);
  tl_test_reset_failures();
  ck_assert_msg(n == 0, "%d check(s) failed where Check cannot report; the first at %s", n, first);
}

void
tl_test_set_int(TlLocal *local, const char *key, int32_t number)
{
  TlValue *value = tl_value_new_int32(number);

  ck_assert_int_eq(tl_local_set(local, key, value), TL_OK);
  tl_value_unref(value);
}

int32_t
tl_test_peek_int(TlLocal *local, const char *key)
{
  TlValue *value = tl_local_peek(local, key);
  int32_t number = 0;

  ck_assert_msg(value != NULL, "no key '%s'", key);
  ck_assert_int_eq(tl_value_get_int32(value, &number), TL_OK);
  return number;
}

size_t
tl_test_local_size(TlLocal *local)
{
  size_t size = 12345;

  ck_assert_int_eq(tl_local_size(local, &size), TL_OK);
  return size;
}

void
tl_test_assert_keys(TlLocal *local, const char *const *expected, size_t n)
{
  char **keys = NULL;
  size_t n_keys = 12345, i;

  ck_assert_int_eq(tl_local_keys(local, &keys, &n_keys), TL_OK);
  ck_assert_ptr_nonnull(keys);
  ck_assert_uint_eq(n_keys, n);
  for (i = 0; i < n; i++) {
    ck_assert_ptr_nonnull(keys[i]);
    ck_assert_str_eq(keys[i], expected[i]);
  }
  ck_assert_ptr_null(keys[n]);
  tl_strv_free(keys);
}

static size_t locals_at_setup;

static void
case_setup(void)
{
  tl_test_reset_failures();
  locals_at_setup = tl_stats_live_locals();
}

static void
case_teardown(void)
{
  tl_thread_clear();
  ck_assert_uint_eq(tl_stats_live_dicts(), 0);
  ck_assert_uint_eq(tl_stats_live_locals(), locals_at_setup);
}

TCase *
tl_test_case(const char *name)
{
  TCase *tcase = tcase_create(name);

  tcase_add_checked_fixture(tcase, case_setup, case_teardown);
  tcase_set_timeout(tcase, 0); /* meson's per-test timeout governs */
  return tcase;
}
