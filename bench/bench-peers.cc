// SPDX-License-Identifier: LGPL-2.1-or-later
/* bench-peers: libtlslocal against what a C++ programmer would pick instead, in one run.
 *
 * Every peer holds, per thread, an absl::flat_hash_map<std::string, int64_t> (looked up with an
 * absl::string_view, so no std::string is built per lookup) through its own thread-local slot:
 *   Boost thread_specific_ptr (get()), TBB enumerable_thread_specific (local()), a pthread key
 *   (pthread_getspecific) and a C++ thread_local (its TLS wrapper and init guard).
 * Rows, with 1, 8 and 64 keys per dictionary:
 *   peek/N        the same keyed read as bench-hotpath's peek: keys key0..keyN-1 cycled, from a
 *                 buffer neither side owns; libtlslocal's tl_local_peek against each peer's find()
 *   peek-quark/N  libtlslocal's tl_local_peek_quark of one well-known key in a hot loop
 *   slot get      each peer's bare single-value get, the slot alone (no map lookup)
 * A peer whose library was not found when this was built (see bench/meson.build) has no rows;
 * the first line of output names the peers present and their versions.
 *
 *   bench-peers [--quick] [--csv PATH]
 *
 * Copyright the libtlslocal authors.
 */
#include <cstdint>
#include <string>

#include <absl/base/config.h>
#include <absl/container/flat_hash_map.h>
#include <absl/strings/string_view.h>
#ifdef BENCH_HAVE_BOOST
#  include <boost/thread/tss.hpp>
#  include <boost/version.hpp>
#endif
#ifdef BENCH_HAVE_TBB
#  include <tbb/enumerable_thread_specific.h>
#  include <tbb/version.h>
#endif

#include "bench-common.h"

#define PROGRAM "bench-peers"

namespace {

using Map = absl::flat_hash_map<std::string, std::int64_t>;

constexpr guint32 key_counts[] = {1, 8, 64};
constexpr unsigned n_sizes = sizeof key_counts / sizeof key_counts[0];

/* One slot per key count and peer, each a global as a user would declare it; the loops index
 * them with a constant K. (Arrays, not variable templates: GCC 12 never runs the initialiser of a
 * thread_local variable template.) */
#ifdef BENCH_HAVE_BOOST
boost::thread_specific_ptr<Map> boost_maps[n_sizes];
#endif
#ifdef BENCH_HAVE_TBB
tbb::enumerable_thread_specific<Map> tbb_maps[n_sizes];
#endif
pthread_key_t pthread_maps[n_sizes];
thread_local Map cxx_maps[n_sizes];

/* The same loop as bench-common's KEYED_LOOP, with the peer's slot read every iteration. */
template <typename Slot>
guint64
keyed_loop(gconstpointer data, guint64 iterations, Slot slot)
{
  const auto *fixture = static_cast<const BenchFixture *>(data);
  const char *const *keys = fixture->lookup_keys;
  const guint64 mask = fixture->n_keys - 1;
  guint64 sum = 0;

  for (guint64 i = 0; i < iterations; i++) {
    const char *key = keys[i & mask];
    const Map &map = slot();
    auto found = map.find(absl::string_view(key));

    sum += found != map.end() ? reinterpret_cast<uintptr_t>(&found->second) : 0;
    BENCH_BARRIER();
  }
  return sum;
}

template <typename Get>
guint64
slot_loop(guint64 iterations, Get get)
{
  guint64 sum = 0;

  for (guint64 i = 0; i < iterations; i++) {
    sum += reinterpret_cast<uintptr_t>(get());
    BENCH_BARRIER();
  }
  return sum;
}

#ifdef BENCH_HAVE_BOOST
template <unsigned K>
guint64
loop_boost_peek(gconstpointer data, guint64 iterations)
{
  return keyed_loop(data, iterations, []() -> const Map & { return *boost_maps[K].get(); });
}
guint64
loop_boost_get(gconstpointer, guint64 iterations)
{
  return slot_loop(iterations, []() { return boost_maps[0].get(); });
}
#endif

#ifdef BENCH_HAVE_TBB
template <unsigned K>
guint64
loop_tbb_peek(gconstpointer data, guint64 iterations)
{
  return keyed_loop(data, iterations, []() -> const Map & { return tbb_maps[K].local(); });
}
guint64
loop_tbb_get(gconstpointer, guint64 iterations)
{
  return slot_loop(iterations, []() { return &tbb_maps[0].local(); });
}
#endif

template <unsigned K>
guint64
loop_pthread_peek(gconstpointer data, guint64 iterations)
{
  return keyed_loop(data, iterations, []() -> const Map & {
    return *static_cast<const Map *>(pthread_getspecific(pthread_maps[K]));
  });
}
guint64
loop_pthread_get(gconstpointer, guint64 iterations)
{
  return slot_loop(iterations, []() { return pthread_getspecific(pthread_maps[0]); });
}

template <unsigned K>
guint64
loop_cxx_peek(gconstpointer data, guint64 iterations)
{
  return keyed_loop(data, iterations, []() -> const Map & { return cxx_maps[K]; });
}
guint64
loop_cxx_get(gconstpointer, guint64 iterations)
{
  return slot_loop(iterations, []() { return &cxx_maps[0]; });
}

struct Peer {
  const char *impl; /* the CSV's impl column; bench/run-all.py knows these names */
  BenchLoop peek[n_sizes];
  BenchLoop get;
};

const Peer peers[] = {
#ifdef BENCH_HAVE_BOOST
    {"Boost thread_specific_ptr",
     {loop_boost_peek<0>, loop_boost_peek<1>, loop_boost_peek<2>},
     loop_boost_get},
#endif
#ifdef BENCH_HAVE_TBB
    {"TBB enumerable_thread_specific",
     {loop_tbb_peek<0>, loop_tbb_peek<1>, loop_tbb_peek<2>},
     loop_tbb_get},
#endif
    {"pthread key",
     {loop_pthread_peek<0>, loop_pthread_peek<1>, loop_pthread_peek<2>},
     loop_pthread_get},
    {"C++ thread_local", {loop_cxx_peek<0>, loop_cxx_peek<1>, loop_cxx_peek<2>}, loop_cxx_get},
};

/* This thread's maps for key count K, holding exactly the fixture's keys. */
template <unsigned K>
void
fill_maps(const BenchFixture &fixture)
{
  Map *maps[] = {
#ifdef BENCH_HAVE_BOOST
      new Map,
#endif
#ifdef BENCH_HAVE_TBB
      &tbb_maps[K].local(),
#endif
      new Map,
      &cxx_maps[K],
  };
  unsigned m = 0;

  for (Map *map : maps)
    for (guint32 i = 0; i < fixture.n_keys; i++)
      map->emplace(fixture.lookup_keys[i], i);
#ifdef BENCH_HAVE_BOOST
  boost_maps[K].reset(maps[m++]);
#endif
#ifdef BENCH_HAVE_TBB
  m++;
#endif
  if (pthread_key_create(&pthread_maps[K], nullptr) != 0)
    bench_die(PROGRAM, "pthread_key_create failed");
  pthread_setspecific(pthread_maps[K], maps[m]);
}

template <unsigned K>
void
clear_maps()
{
#ifdef BENCH_HAVE_BOOST
  boost_maps[K].reset();
#endif
#ifdef BENCH_HAVE_TBB
  tbb_maps[K].clear();
#endif
  delete static_cast<Map *>(pthread_getspecific(pthread_maps[K]));
  pthread_key_delete(pthread_maps[K]);
  Map().swap(cxx_maps[K]);
}

/* Every peer finds every key of its dictionary, and no miss key. */
void
check_peers(const BenchFixture *fixtures)
{
  for (const Peer &peer : peers) {
    for (unsigned k = 0; k < n_sizes; k++) {
      BenchFixture probe = fixtures[k];

      if (peer.peek[k](&probe, probe.n_keys) == 0)
        bench_die(PROGRAM, "a peer's dictionary lacks a key");
      for (guint32 i = 0; i < probe.n_keys; i++)
        probe.lookup_keys[i] = probe.miss_keys[i];
      if (peer.peek[k](&probe, probe.n_keys) != 0)
        bench_die(PROGRAM, "a peer's dictionary holds a key it should not");
    }
  }
}

void
print_peers_line()
{
  printf("peers: Abseil %d",
         ABSL_LTS_RELEASE_VERSION); /* flat_hash_map, the map of every C++ peer */
#ifdef BENCH_HAVE_BOOST
  printf(", Boost %s", BOOST_LIB_VERSION);
#else
  printf(", Boost absent");
#endif
#ifdef BENCH_HAVE_TBB
  printf(", oneTBB %s", TBB_VERSION_STRING);
#else
  printf(", TBB absent");
#endif
  printf(", pthread key, C++ thread_local; compiler %s\n", __VERSION__);
}

void
print_table(const BenchRun *run)
{
  const BenchVariant *getspecific = bench_run_find(run, "slot get", "pthread key");

  printf("\n%-32s %12s %12s %12s\n", "keyed read (ns/op)", "1 key", "8 keys", "64 keys");
  auto row = [&](const char *name, const char *op, const char *impl) {
    printf("%-32s", name);
    for (guint32 keys : key_counts) {
      char *label = g_strdup_printf("%s/%" G_GUINT32_FORMAT, op, keys);
      printf(" %12.2f", bench_run_find(run, label, impl)->median);
      g_free(label);
    }
    printf("\n");
  };
  row("libtlslocal tl_local_peek", "peek", "libtlslocal");
  for (const Peer &peer : peers)
    row(peer.impl, "peek", peer.impl);
  row("libtlslocal tl_local_peek_quark", "peek-quark", "libtlslocal");

  printf("\n%-32s %12s %12s\n", "single-value get", "ns/op", "/getspec");
  for (const Peer &peer : peers) {
    const BenchVariant *get = bench_run_find(run, "slot get", peer.impl);
    printf("%-32s %12.2f %12.2f\n", peer.impl, get->median, get->median / getspecific->median);
  }
  printf(
      "\nMedian of %u rounds. Every C++ peer holds an absl::flat_hash_map<std::string, int64_t>,\n"
      "looked up by absl::string_view; peek cycles the keys, peek-quark reads one key by quark.\n"
      "single-value get: the peer's slot alone (Boost get(), TBB local(), "
      "pthread_getspecific,\n"
      "the address of a thread_local through its wrapper).\n",
      run->rounds);
}

void
bench_body(gboolean quick, FILE *csv)
{
  BenchFixture fixtures[n_sizes];
  guint64 start = bench_now_ns();
  BenchRun run;

  for (unsigned k = 0; k < n_sizes; k++)
    bench_fixture_init(&fixtures[k], nullptr, key_counts[k]);
  fill_maps<0>(fixtures[0]);
  fill_maps<1>(fixtures[1]);
  fill_maps<2>(fixtures[2]);
  check_peers(fixtures);

  bench_run_init(&run, PROGRAM, quick);
  for (unsigned k = 0; k < n_sizes; k++) {
    char *peek = g_strdup_printf("peek/%" G_GUINT32_FORMAT, key_counts[k]);
    char *quark = g_strdup_printf("peek-quark/%" G_GUINT32_FORMAT, key_counts[k]);

    bench_run_add(&run, "peers", peek, "libtlslocal", bench_loop_tl_peek, &fixtures[k]);
    for (const Peer &peer : peers)
      bench_run_add(&run, "peers", peek, peer.impl, peer.peek[k], &fixtures[k]);
    bench_run_add(&run, "peers", quark, "libtlslocal", bench_loop_tl_peek_quark, &fixtures[k]);
    g_free(peek);
    g_free(quark);
  }
  for (const Peer &peer : peers)
    bench_run_add(&run, "peers", "slot get", peer.impl, peer.get, nullptr);

  bench_run_measure(&run);
  for (unsigned k = 0; k < n_sizes; k++)
    bench_fixture_check(&fixtures[k]);

  bench_print_machine(PROGRAM);
  print_peers_line();
  printf("%u rounds x %.0f ms per variant, %.1f s\n", run.rounds, run.target_ns / 1e6,
         static_cast<double>(bench_now_ns() - start) / 1e9);
  print_table(&run);
  bench_csv_run(csv, &run);

  clear_maps<0>();
  clear_maps<1>();
  clear_maps<2>();
  for (BenchFixture &fixture : fixtures)
    bench_fixture_clear(&fixture);
  bench_run_clear(&run);
}

} // namespace

int
main(int argc, char **argv)
{
  return bench_main(argc, argv, PROGRAM, nullptr, bench_body);
}
