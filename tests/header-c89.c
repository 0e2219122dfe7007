/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* tlslocal.h must compile as strict C89: it is the header every language's FFI reads. */
#include <tlslocal.h>

int
main(void)
{
  const char *version = tl_version();
  return version != 0 && tl_version_check(TL_VERSION_MAJOR, 0, 0) && TL_OK == 0 &&
                 TL_CHECK_VERSION(TL_VERSION_MAJOR, 0, 0)
             ? 0
             : 1;
}
