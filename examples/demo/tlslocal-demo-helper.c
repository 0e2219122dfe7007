/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The C side of tlslocal-demo's cross-language step: a tiny shared library standing for C code that
 * shares a named local with Python, Node and C callers. It knows nothing of them: it opens the
 * local by name and reads and writes the *calling* thread's dictionary with tlslocal.h alone, so it
 * sees exactly what the language that called it wrote on that thread.
 *
 * Copyright the libtlslocal authors.
 */
#include <stdio.h>

#include <tlslocal.h>

#include "tlslocal-demo-helper.h"

int
tldemo_acknowledge(const char *local_name, char *read_out, size_t read_size, char *reply_out,
                   size_t reply_size)
{
  TlLocal *local;
  TlValue *value;
  const char *request_id;
  int status;

  if (read_out == NULL || read_size == 0 || reply_out == NULL || reply_size == 0)
    return TL_ERR_INVALID_ARGUMENT;
  read_out[0] = reply_out[0] = '\0';
  if ((local = tl_local_open(local_name)) == NULL)
    return tl_last_error();
  if ((value = tl_local_peek(local, "request_id")) == NULL)
    status = tl_last_error();
  else
    status = tl_value_get_string(value, &request_id);
  if (status == TL_OK) {
    snprintf(read_out, read_size, "%s", request_id);
    snprintf(reply_out, reply_size, "ack %s", read_out);
    status = tl_local_set_string(local, "reply", reply_out);
  }
  tl_local_unref(local);
  return status;
}
