/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Shared helpers for the Check suites. */
#ifndef TL_TEST_H
#define TL_TEST_H

#include <check.h>
#include <pthread.h>
#include <stddef.h>

#include <tlslocal.h>

#include "check-suites.h"

/* Each tests/check-<area>.c defines <area>_suite(). */
#define TL_DECLARE_SUITE_(area) Suite *area##_suite(void);
TL_CHECK_SUITES(TL_DECLARE_SUITE_)
#undef TL_DECLARE_SUITE_

#define N_ELEMENTS(array) (sizeof(array) / sizeof((array)[0]))

/* Whether this is a ThreadSanitizer or AddressSanitizer build, for tests that fork(): the sanitizer
 * runtimes of this toolchain (GCC 12's) are not fork-safe. A child of a fork that left other
 * threads busy may deadlock on the runtime's own locks that one of them held (ASan's allocator in
 * any malloc() or free(); TSan's too, which moreover stops checking such a child and kills it when
 * it starts a thread). Newer compiler-rt takes those locks around fork(). */
#if defined(__SANITIZE_THREAD__)
#  define TL_TEST_TSAN 1
#elif defined(__has_feature)
#  if __has_feature(thread_sanitizer)
#    define TL_TEST_TSAN 1
#  endif
#endif
#ifndef TL_TEST_TSAN
#  define TL_TEST_TSAN 0
#endif
#if defined(__SANITIZE_ADDRESS__)
#  define TL_TEST_ASAN 1
#elif defined(__has_feature)
#  if __has_feature(address_sanitizer)
#    define TL_TEST_ASAN 1
#  endif
#endif
#ifndef TL_TEST_ASAN
#  define TL_TEST_ASAN 0
#endif

/* Repetitions for stress loops: n normally, fewer (at least 1) when TL_TEST_SLOW=k is set, as the
 * valgrind setup does, because valgrind runs threads one at a time and some 50x slower. */
int tl_test_repeat(int n);

/* Start n_threads real threads running fn(arg) and join them all. */
void tl_test_run_threads(int n_threads, void *(*fn)(void *), void *arg);
/* One thread, started and joined, asserting both succeed (on the test's own thread). */
void tl_test_spawn(pthread_t *thread, void *(*fn)(void *), void *arg);
void tl_test_join(pthread_t thread);

/* Bytes of heap the process has in use, from whichever allocator serves malloc here: glibc's
 * (mallinfo2), valgrind's (its mallinfo) or a sanitizer's. 0 if none of them can tell. */
size_t tl_test_heap_in_use(void);

/* A destroy function for pointer values: atomically increments the int that ptr points to. */
void tl_test_count_destroy(void *ptr);

/* Failures seen where Check cannot report them: ck_assert may only fail on the test's own thread
 * (with CK_FORK=no it longjmps), and code that runs deep in the library (initializers, hooks,
 * destroy functions) or on worker threads must not jump out. Such code records failures with
 * TL_CHECK; the test calls tl_test_assert_no_failure() once its threads are joined. Each test
 * starts clean. */
void tl_test_record_failure(const char *file, int line, const char *what);
#define TL_CHECK(condition)                                                                        \
  ((condition) ? (void) 0 : tl_test_record_failure(__FILE__, __LINE__, #condition))
/* Asserts that nothing was recorded (reporting the count and the first), then forgets. */
void tl_test_assert_no_failure(void);
void tl_test_reset_failures(void);

/* Assertions about the calling thread's dictionary of local, for the test's own thread. */
void tl_test_set_int(TlLocal *local, const char *key, int32_t number);
int32_t tl_test_peek_int(TlLocal *local, const char *key);
size_t tl_test_local_size(TlLocal *local);
/* Asserts the keys are expected[0..n), in that order. */
void tl_test_assert_keys(TlLocal *local, const char *const *expected, size_t n);

/* A TCase whose teardown runs tl_thread_clear(), so the suites' tests (all in one process, since
 * CK_FORK=no) do not see each other's main-thread dictionaries, and checks no local leaked. */
TCase *tl_test_case(const char *name);

#endif /* TL_TEST_H */
