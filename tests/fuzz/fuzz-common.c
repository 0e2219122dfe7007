/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>
#include <stdlib.h>

#include <glib.h>

#include "fuzz-common.h"

/* GLib's own fatal path raises SIGTRAP, which libFuzzer does not catch: abort instead, so that it
 * saves the input. */
static void
abort_on_log(const char *domain, GLogLevelFlags level, const char *message, gpointer user_data)
{
  g_log_default_handler(domain, level, message, user_data);
  if (level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING))
    abort();
}

/* Bad input must give an error status, never a GLib critical or warning. */
int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
  g_log_set_default_handler(abort_on_log, NULL);
  return 0;
}

void
fuzz_fail(const char *file, int line, const char *what, const char *text)
{
  fprintf(stderr, "%s:%d: check failed: %s\n", file, line, what);
  if (text != NULL)
    fprintf(stderr, "  text: %s\n", text);
  fprintf(stderr, "  last error: %s: %s\n", tl_status_name(tl_last_error()),
          tl_last_error_message());
  abort();
}
