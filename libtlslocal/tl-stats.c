/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The counts tl_stats_live_*() report: changed on slow paths only (values: at creation and free),
 * read without the lock. */
#include "tl-registry-private.h"
#include "tl-thread-private.h"

gsize _tl_stats_locals, _tl_stats_dicts, _tl_stats_threads;

/* Values are made and freed on every thread: one shared counter would be a contended cache line,
 * so each thread adds to one of several padded stripes, picked by its id. */
#define TL_VALUE_COUNT_STRIPES 16
static struct {
  gssize count;
  char padding[64 - sizeof(gssize)];
} value_counts[TL_VALUE_COUNT_STRIPES];

void
_tl_stats_values_add(int delta)
{
  __atomic_fetch_add(&value_counts[_tl_thread_id() % TL_VALUE_COUNT_STRIPES].count, delta,
                     __ATOMIC_RELAXED);
}

size_t
tl_stats_live_values(void)
{
  gssize total = 0;
  int i;

  _tl_fork_release_orphans();
  for (i = 0; i < TL_VALUE_COUNT_STRIPES; i++)
    total += __atomic_load_n(&value_counts[i].count, __ATOMIC_RELAXED);
  return total > 0 ? (size_t) total : 0;
}

size_t
tl_stats_live_locals(void)
{
  _tl_fork_release_orphans();
  return __atomic_load_n(&_tl_stats_locals, __ATOMIC_RELAXED);
}

size_t
tl_stats_live_dicts(void)
{
  _tl_fork_release_orphans();
  return __atomic_load_n(&_tl_stats_dicts, __ATOMIC_RELAXED);
}

size_t
tl_stats_live_threads(void)
{
  _tl_fork_release_orphans();
  return __atomic_load_n(&_tl_stats_threads, __ATOMIC_RELAXED);
}
