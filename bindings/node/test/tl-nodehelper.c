/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The C side of the Node binding's tests: a small shared module, loaded by the tests with koffi,
 * that reads and writes locals the way C code in the same process would (tlslocal.h only). It links
 * the same libtlslocal.so.1 that the binding loads, so both see one library. Every function acts on
 * the calling thread, which is the JavaScript thread (main or Worker) that calls it.
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

/* Free a string returned by this helper. */
HELPER_API void helper_free(void *memory);
void
helper_free(void *memory)
{
  free(memory);
}

/* The string that key holds in the calling thread's dictionary of the named local, as C code reads
 * it (tl_local_open + tl_local_peek + tl_value_get_string). NULL if absent or not a string. Free
 * with helper_free(). */
HELPER_API char *helper_read_string(const char *local_name, const char *key);
char *
helper_read_string(const char *local_name, const char *key)
{
  TlLocal *local = tl_local_open(local_name);
  const char *text = NULL;
  char *result = NULL;

  if (local == NULL)
    return NULL;
  if (tl_value_get_string(tl_local_peek(local, key), &text) == TL_OK)
    result = dup_string(text);
  tl_local_unref(local);
  return result;
}

/* "TYPE|TEXT" for key in the calling thread's dictionary of local: TEXT is tl_value_print()'s
 * type-annotated form, or "pointer" for a pointer value. NULL if absent. Free with
 * helper_free(). */
HELPER_API char *helper_describe_address(TlLocal *local, const char *key);
char *
helper_describe_address(TlLocal *local, const char *key)
{
  TlValue *value = NULL;
  const char *type;
  char *text, *result;
  size_t size;

  if (tl_local_get(local, key, &value) != TL_OK)
    return NULL;
  type = tl_value_type(value);
  text = strcmp(type, "p") == 0 ? dup_string("pointer") : tl_value_print(value, 1);
  size = strlen(type) + strlen(text) + 2;
  result = malloc(size);
  if (result != NULL)
    snprintf(result, size, "%s|%s", type, text);
  if (strcmp(type, "p") == 0)
    free(text);
  else
    tl_free(text);
  tl_value_unref(value);
  return result;
}

/* helper_describe_address() on the named local. */
HELPER_API char *helper_describe(const char *local_name, const char *key);
char *
helper_describe(const char *local_name, const char *key)
{
  TlLocal *local = tl_local_open(local_name);
  char *result;

  if (local == NULL)
    return NULL;
  result = helper_describe_address(local, key);
  tl_local_unref(local);
  return result;
}

/* Store the value that text parses to (GVariant text format; type string or NULL) under key in
 * the named local. @return the library's status. */
HELPER_API int helper_set_text(const char *local_name, const char *key, const char *type,
                               const char *text);
int
helper_set_text(const char *local_name, const char *key, const char *type, const char *text)
{
  TlLocal *local = tl_local_open(local_name);
  TlValue *value = NULL;
  int status;

  if (local == NULL)
    return tl_last_error();
  status = tl_value_parse(type, text, &value);
  if (status == TL_OK)
    status = tl_local_set(local, key, value);
  tl_value_unref(value);
  tl_local_unref(local);
  return status;
}

/* A native pointer value, as a C library would store its own object: destroy counts releases. */
static int destroyed;

static void
count_destroy(void *ptr)
{
  __atomic_add_fetch(&destroyed, 1, __ATOMIC_SEQ_CST);
}

/* Store a pointer value for ptr, whose destroy function counts, under key in the named local. */
HELPER_API int helper_set_pointer(const char *local_name, const char *key, void *ptr);
int
helper_set_pointer(const char *local_name, const char *key, void *ptr)
{
  TlLocal *local = tl_local_open(local_name);
  TlValue *value = tl_value_new_pointer(ptr, count_destroy);
  int status = tl_local_set(local, key, value);

  tl_value_unref(value);
  tl_local_unref(local);
  return status;
}

/* How many pointer values stored by helper_set_pointer() have been released. */
HELPER_API int helper_pointers_destroyed(void);
int
helper_pointers_destroyed(void)
{
  return __atomic_load_n(&destroyed, __ATOMIC_SEQ_CST);
}

struct describe_job {
  const char *local_name;
  const char *key;
  char *result;
};

static void *
describe_thread(void *data)
{
  struct describe_job *job = data;

  job->result = helper_describe(job->local_name, job->key);
  return NULL;
}

/* helper_describe() run on a new C thread (joined before returning): what another thread sees. */
HELPER_API char *helper_describe_in_new_thread(const char *local_name, const char *key);
char *
helper_describe_in_new_thread(const char *local_name, const char *key)
{
  struct describe_job job = {local_name, key, NULL};
  pthread_t thread;

  if (pthread_create(&thread, NULL, describe_thread, &job) != 0)
    return NULL;
  pthread_join(thread, NULL);
  return job.result;
}
