/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The C side of the Python binding's tests: a small shared module, loaded by the tests with ctypes,
 * that reads and writes locals the way C code in the same process would (tlslocal.h only; no
 * Python). It links the same libtlslocal.so.1 that the binding loads, so both see one library.
 *
 * Copyright the libtlslocal authors.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tlslocal.h>

#define HELPER_API __attribute__((visibility("default")))

static char *
dup_string(const char *text)
{
  size_t size = strlen(text) + 1;
  char *copy = malloc(size);

  if (copy != NULL)
    memcpy(copy, text, size);
  return copy;
}

/* "TYPE|TEXT" for key in the calling thread's dictionary (tl_local_get, as any C reader does):
 * TEXT is tl_value_print()'s unannotated form, or the pointer for a pointer value. NULL if the
 * thread has no such key. Free with helper_free(). */
HELPER_API char *helper_describe(TlLocal *local, const char *key);
char *
helper_describe(TlLocal *local, const char *key)
{
  TlValue *value = NULL;
  const char *type;
  char *text, *result;
  size_t size;

  if (tl_local_get(local, key, &value) != TL_OK)
    return NULL;
  type = tl_value_type(value);
  if (strcmp(type, "p") == 0) {
    void *pointer = NULL;
    char buffer[64];

    tl_value_get_pointer(value, &pointer);
    snprintf(buffer, sizeof buffer, "%p", pointer);
    text = dup_string(buffer);
  } else {
    char *printed = tl_value_print(value, 0);

    text = dup_string(printed);
    tl_free(printed);
  }
  size = strlen(type) + strlen(text) + 2;
  result = malloc(size);
  snprintf(result, size, "%s|%s", type, text);
  free(text);
  tl_value_unref(value);
  return result;
}

/* Store the value that text parses to (GVariant text format, type string or NULL) under key.
 * @return the library's status. */
HELPER_API int helper_set_text(TlLocal *local, const char *key, const char *type, const char *text);
int
helper_set_text(TlLocal *local, const char *key, const char *type, const char *text)
{
  TlValue *value = NULL;
  int status = tl_value_parse(type, text, &value);

  if (status != TL_OK)
    return status;
  status = tl_local_set(local, key, value);
  tl_value_unref(value);
  return status;
}

/* A native pointer value, as a C library would store its own object: destroy counts releases. */
static int destroyed;

static void
count_destroy(void *pointer)
{
  __atomic_fetch_add(&destroyed, 1, __ATOMIC_SEQ_CST);
}

HELPER_API int helper_set_pointer(TlLocal *local, const char *key, void *pointer);
int
helper_set_pointer(TlLocal *local, const char *key, void *pointer)
{
  TlValue *value = tl_value_new_pointer(pointer, count_destroy);
  int status = tl_local_set(local, key, value);

  tl_value_unref(value);
  return status;
}

/* A pointer value whose destroy function writes: it stores target = value (int64) in target_local,
 * on whatever thread releases the pointer value, as C code reacting to an overwrite may. */
typedef struct {
  TlLocal *local;
  char *target;
  int64_t value;
} WritingPointer;

static void
writing_destroy(void *pointer)
{
  WritingPointer *writer = pointer;

  tl_local_set_int64(writer->local, writer->target, writer->value);
  tl_local_unref(writer->local);
  free(writer->target);
  free(writer);
  __atomic_fetch_add(&destroyed, 1, __ATOMIC_SEQ_CST);
}

HELPER_API int helper_set_writing_pointer(TlLocal *local, const char *key, TlLocal *target_local,
                                          const char *target, int64_t value);
int
helper_set_writing_pointer(TlLocal *local, const char *key, TlLocal *target_local,
                           const char *target, int64_t value)
{
  WritingPointer *writer = malloc(sizeof *writer);
  TlValue *pointer;

  writer->local = tl_local_ref(target_local);
  writer->target = dup_string(target);
  writer->value = value;
  pointer = tl_value_new_pointer(writer, writing_destroy);
  return tl_local_set_take(local, key, pointer);
}

/* tl_thread_clear() on the calling thread: what a thread pool's C code does between tasks. */
HELPER_API void helper_thread_clear(void);
void
helper_thread_clear(void)
{
  tl_thread_clear();
}

/* Apply a snapshot given as GVariant text ("a{sv}") to the calling thread's dictionary.
 * @return the library's status. */
HELPER_API int helper_apply_text(TlLocal *local, const char *text, int mode);
int
helper_apply_text(TlLocal *local, const char *text, int mode)
{
  TlValue *snapshot = NULL;
  int status = tl_value_parse("a{sv}", text, &snapshot);

  if (status != TL_OK)
    return status;
  status = tl_local_apply(local, snapshot, mode);
  tl_value_unref(snapshot);
  return status;
}

HELPER_API int helper_pointers_destroyed(void);
int
helper_pointers_destroyed(void)
{
  return __atomic_load_n(&destroyed, __ATOMIC_SEQ_CST);
}

HELPER_API int helper_delete(TlLocal *local, const char *key);
int
helper_delete(TlLocal *local, const char *key)
{
  return tl_local_delete(local, key);
}

/* The calling thread's keys, comma-separated, in the dictionary's order. Free with
 * helper_free(). */
HELPER_API char *helper_keys(TlLocal *local);
char *
helper_keys(TlLocal *local)
{
  char **keys = NULL, *joined;
  size_t n = 0, i, size = 1;

  if (tl_local_keys(local, &keys, &n) != TL_OK)
    return NULL;
  for (i = 0; i < n; i++)
    size += strlen(keys[i]) + 1;
  joined = calloc(1, size);
  for (i = 0; i < n; i++) {
    if (i > 0)
      strcat(joined, ",");
    strcat(joined, keys[i]);
  }
  tl_strv_free(keys);
  return joined;
}

/* A C logging library: it prefixes each line with the request id that the calling thread stored in
 * the named local "request", whoever stored it (C, or Python through tlslocal.open("request")). */
HELPER_API char *helper_log_line(const char *message);
char *
helper_log_line(const char *message)
{
  static TlLocal *request_context;
  const char *request_id = "-";
  TlValue *value;
  char *line;
  size_t size;

  if (__atomic_load_n(&request_context, __ATOMIC_ACQUIRE) == NULL) {
    TlLocal *opened = tl_local_open("request"), *expected = NULL;

    if (!__atomic_compare_exchange_n(&request_context, &expected, opened, 0, __ATOMIC_ACQ_REL,
                                     __ATOMIC_ACQUIRE))
      tl_local_unref(opened);
  }
  value = tl_local_peek(request_context, "request_id");
  if (value != NULL)
    tl_value_get_string(value, &request_id);
  size = strlen(request_id) + strlen(message) + 4;
  line = malloc(size);
  snprintf(line, size, "[%s] %s", request_id, message);
  return line;
}

/* A local made by C, for tlslocal.wrap(). The caller owns the reference (helper_unref). */
HELPER_API TlLocal *helper_new_local(void);
TlLocal *
helper_new_local(void)
{
  return tl_local_new();
}

static int
c_initializer(TlLocal *local, void *user_data)
{
  TlValue *value = tl_value_new_string(user_data);
  int status = tl_local_set(local, "from_c_init", value);

  tl_value_unref(value);
  return status;
}

/* A local whose C initializer stores "from_c_init" = tag in each thread's first access. */
HELPER_API TlLocal *helper_new_local_with_init(void);
TlLocal *
helper_new_local_with_init(void)
{
  return tl_local_new_full(TL_LOCAL_DEFAULT, c_initializer, (void *) "set by C", NULL);
}

HELPER_API void helper_unref(TlLocal *local);
void
helper_unref(TlLocal *local)
{
  tl_local_unref(local);
}

typedef struct {
  TlLocal *local;
  const char *key;
  char *result;
} ThreadCall;

static void *
describe_thread(void *data)
{
  ThreadCall *call = data;

  call->result = helper_describe(call->local, call->key);
  tl_local_unref(call->local);
  return NULL;
}

/* helper_describe() run on a new C thread (which has no dictionaries): must report absent. */
HELPER_API char *helper_describe_in_new_thread(TlLocal *local, const char *key);
char *
helper_describe_in_new_thread(TlLocal *local, const char *key)
{
  ThreadCall call = {tl_local_ref(local), key, NULL};
  pthread_t thread;

  if (pthread_create(&thread, NULL, describe_thread, &call) != 0)
    return dup_string("pthread_create failed");
  pthread_join(thread, NULL);
  return call.result;
}

typedef void (*HelperCallback)(int call);

typedef struct {
  HelperCallback callback;
  int calls;
} CallPlan;

static void *
call_repeatedly(void *data)
{
  const CallPlan *plan = data;
  int call;

  for (call = 0; call < plan->calls; call++)
    plan->callback(call);
  return NULL;
}

/* Start n_threads C threads at once, each calling callback(0) ... callback(calls - 1) and then
 * exiting, and join them. Each call gets a temporary Python thread state, as a C library's worker
 * thread calling a Python callback does. @return 0, or -1 if not every thread could start. */
HELPER_API int helper_call_in_new_threads(HelperCallback callback, int n_threads, int calls);
int
helper_call_in_new_threads(HelperCallback callback, int n_threads, int calls)
{
  CallPlan plan = {callback, calls};
  pthread_t threads[64];
  int started, i, status = 0;

  if (n_threads < 0 || n_threads > 64)
    return -1;
  for (started = 0; started < n_threads; started++)
    if (pthread_create(&threads[started], NULL, call_repeatedly, &plan) != 0) {
      status = -1;
      break;
    }
  for (i = 0; i < started; i++)
    pthread_join(threads[i], NULL);
  return status;
}

HELPER_API void helper_free(void *memory);
void
helper_free(void *memory)
{
  free(memory);
}
