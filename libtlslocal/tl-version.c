/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The library's version at run time, to compare with the header a program was built with. */
#include "tlslocal.h"

const char *
tl_version(void)
{
  return TL_VERSION_STRING;
}

int
tl_version_check(unsigned int major, unsigned int minor, unsigned int micro)
{
  const unsigned int our_minor = TL_VERSION_MINOR, our_micro = TL_VERSION_MICRO;

  if (major != TL_VERSION_MAJOR)
    return 0;
  return our_minor > minor || (our_minor == minor && our_micro >= micro);
}
