/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Recording failures: the per-thread last error (tl-error.c). Not installed. */
#ifndef TL_ERROR_PRIVATE_H
#define TL_ERROR_PRIVATE_H

#include <glib.h>

#include "tlslocal.h"

/* Record a failure for the calling thread and return status, so callers can `return _tl_fail(...)`.
 * message is a static string: no formatting cost on paths that fail often (a peek miss). */
int _tl_fail(int status, const char *message);
/* The same with a message formatted into a per-thread buffer. Only for messages that have
 * something to format: the macro makes a call without arguments a compile error (that is
 * _tl_fail's job, which costs no formatting). */
int _tl_failf_(int status, const char *format, ...) G_GNUC_PRINTF(2, 3);
#define _tl_failf(status, format, ...) _tl_failf_((status), format, __VA_ARGS__)

/* The calling thread's last error, kept across user code (a destroy function) that may fail calls
 * of its own. */
typedef struct {
  int status;
  const char *message;
  char text[256];
} TlSavedError;
void _tl_error_save(TlSavedError *saved);
void _tl_error_restore(const TlSavedError *saved);

#endif /* TL_ERROR_PRIVATE_H */
