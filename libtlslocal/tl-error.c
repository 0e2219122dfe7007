/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Status codes, their names and messages, and the per-thread last error. */
#include <stdarg.h>
#include <stdio.h>

#include "tl-error-private.h"

typedef struct {
  int status;
  const char *message; /* static, or points into last_error_buffer */
} TlLastError;

/* Initial-exec for the 16 bytes a peek miss writes (no __tls_get_addr call); global-dynamic for the
 * formatting buffer, which would eat into the small static TLS surplus that initial-exec variables
 * of dlopen()ed libraries share, and which only detailed failures touch. */
static _Thread_local TlLastError last_error __attribute__((tls_model("initial-exec")));
static _Thread_local char last_error_buffer[256];
G_STATIC_ASSERT(sizeof(((TlSavedError *) NULL)->text) == sizeof last_error_buffer);

const char *
tl_strerror(int status)
{
  switch (status) {
#define TL_STRERROR_CASE_(name, value, text)                                                       \
  case TL_##name: return text;
    TL_STATUS_MAP(TL_STRERROR_CASE_)
#undef TL_STRERROR_CASE_
  default: return "unknown status";
  }
}

const char *
tl_status_name(int status)
{
  switch (status) {
#define TL_STATUS_NAME_CASE_(name, value, text)                                                    \
  case TL_##name: return "TL_" #name;
    TL_STATUS_MAP(TL_STATUS_NAME_CASE_)
#undef TL_STATUS_NAME_CASE_
  default: return "TL_UNKNOWN";
  }
}

int
_tl_fail(int status, const char *message)
{
  last_error.status = status;
  last_error.message = message;
  return status;
}

int
_tl_failf_(int status, const char *format, ...)
{
  va_list args;

  va_start(args, format);
  vsnprintf(last_error_buffer, sizeof last_error_buffer, format, args);
  va_end(args);
  last_error.status = status;
  last_error.message = last_error_buffer;
  return status;
}

void
_tl_error_save(TlSavedError *saved)
{
  saved->status = last_error.status;
  saved->message = last_error.message;
  if (last_error.message == last_error_buffer)
    memcpy(saved->text, last_error_buffer, sizeof saved->text);
}

void
_tl_error_restore(const TlSavedError *saved)
{
  last_error.status = saved->status;
  last_error.message = saved->message;
  if (saved->message == last_error_buffer)
    memcpy(last_error_buffer, saved->text, sizeof last_error_buffer);
}

const char *
tl_last_error_message(void)
{
  return last_error.message != NULL ? last_error.message : "no error";
}

int
tl_last_error(void)
{
  return last_error.status;
}
