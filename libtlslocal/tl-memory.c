/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Memory the library hands to callers (freed with tl_free(), tl_strv_free()), and its string copy.
 * The allocation helpers themselves are inline, in tl-memory-private.h. */
#include <string.h>

#include "tl-memory-private.h"
#include "tlslocal.h"

char *
_tl_strndup(const char *string, size_t len)
{
  char *copy = len < G_MAXSIZE ? malloc(len + 1) : NULL;

  if (copy != NULL) {
    memcpy(copy, string, len);
    copy[len] = '\0';
  }
  return copy;
}

void
tl_free(void *memory)
{
  g_free(memory);
}

void
tl_strv_free(char **strings)
{
  g_strfreev(strings);
}
