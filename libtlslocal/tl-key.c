/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The key hash's secret keys: drawn once per process, when the library is loaded. The hash itself
 * is inline (_tl_key_prepare), on every access's path. */
#include <string.h>
#ifdef __linux__
#  include <sys/random.h>
#  include <unistd.h>
#endif

#include "tl-dict-private.h"

/* A cache line of their own (three used, the rest padding): read by every lookup of every thread,
 * they must not share one with data that slow paths write (the registry lock was next to them). */
guint64 _tl_hash_keys[8] __attribute__((aligned(64)));

static guint64
splitmix64(guint64 *state)
{
  guint64 z = (*state += G_GUINT64_CONSTANT(0x9e3779b97f4a7c15));

  z = (z ^ (z >> 30)) * G_GUINT64_CONSTANT(0xbf58476d1ce4e5b9);
  z = (z ^ (z >> 27)) * G_GUINT64_CONSTANT(0x94d049bb133111eb);
  return z ^ (z >> 31);
}

/* Drawn when the library is loaded, before any dictionary can exist, so the hot path reads them
 * without a check. getrandom() without waiting for the pool: early in boot a weaker key beats a
 * process that hangs; where it is missing or fails, the clock, the process id and where the system
 * placed this code and stack (address space randomisation) are mixed instead. A fork() child keeps
 * its parent's keys, as it keeps its parent's dictionaries. */
__attribute__((constructor)) static void
hash_keys_init(void)
{
  guint64 state = (guint64) g_get_real_time() ^ ((guint64) g_get_monotonic_time() << 20) ^
                  ((guint64) (guintptr) &state << 8) ^ (guint64) (guintptr) &_tl_hash_keys;
  gsize i;

#ifdef __linux__
  guint64 random_keys[G_N_ELEMENTS(_tl_hash_keys)];

  if (getrandom(random_keys, sizeof random_keys, GRND_NONBLOCK) == (ssize_t) sizeof random_keys) {
    memcpy(_tl_hash_keys, random_keys, sizeof random_keys);
    return;
  }
  state ^= (guint64) getpid() << 40;
#endif
  for (i = 0; i < G_N_ELEMENTS(_tl_hash_keys); i++)
    _tl_hash_keys[i] = splitmix64(&state);
}
