// SPDX-License-Identifier: LGPL-2.1-or-later
package org.tlslocal;

/**
 * libtlslocal's process-wide live counts (tl_stats_live_*): locals not yet destroyed, per-thread
 * dictionaries, threads holding library state, values not yet freed. Exact when no other thread
 * changes them meanwhile; for tests and leak hunts.
 */
public record Stats(long locals, long dicts, long threads, long values) {
  /** The counts now. */
  public static Stats current() {
    return new Stats(LibTlslocal.tl_stats_live_locals().longValue(),
        LibTlslocal.tl_stats_live_dicts().longValue(),
        LibTlslocal.tl_stats_live_threads().longValue(),
        LibTlslocal.tl_stats_live_values().longValue());
  }
}
