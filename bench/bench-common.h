/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What every C benchmark shares: the interleaved-rounds timer, the result file, and the hot-path
 * fixture with its measured loops (libtlslocal against the hand-rolled pthread key + GHashTable).
 *
 * Copyright the libtlslocal authors.
 */
#ifndef BENCH_COMMON_H
#define BENCH_COMMON_H

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>

#include <glib.h>
#include <tlslocal.h>

/* C++ benchmarks (bench-peers) share the timer, the CSV schema and the fixture. */
#ifdef __cplusplus
extern "C" {
#endif

/* The compiler must assume memory changed: every iteration redoes its loads. Costs no
 * instruction. */
#define BENCH_BARRIER() __asm__ volatile("" ::: "memory")

/* Results land here, so no loop's work is dead code. */
extern volatile guint64 bench_sink;

guint64 bench_now_ns(void);
/* The calling thread's CPU time: what a sample costs when the thread is descheduled, or its vCPU
 * stolen by the host, part of the time (a shared machine). Only for samples that run on one
 * thread and never block. */
guint64 bench_thread_cpu_ns(void);
/* Set by bench_main's --cpu-time: runs initialised after it time their samples by
 * bench_thread_cpu_ns(). */
extern gboolean bench_cpu_time;
G_GNUC_NORETURN void bench_die(const char *program, const char *what);

/* ---- interleaved rounds ----
 * A variant is one (case, implementation) pair with a loop doing `iterations` operations. Every
 * variant of a run is sampled once per round, the order rotated by one each round, so drift in
 * clock speed or machine load spreads over all of them; each reports the median of its rounds. */

typedef guint64 (*BenchLoop)(gconstpointer data, guint64 iterations);

typedef struct {
  char *section; /* "hotpath", "scaling", ...: the CSV's first column */
  char *label;   /* the case, e.g. "peek/8 keys" */
  char *impl;    /* "libtlslocal", "hand-rolled", ... */
  BenchLoop loop;
  gconstpointer data;
  gboolean cpu_time;  /* the run's clock, when this was added */
  guint64 iterations; /* per sample, from calibration */
  double *samples;    /* ns per operation, one per round */
  double median, p25, p75, min, max;
} BenchVariant;

typedef struct {
  const char *program; /* for messages */
  GPtrArray *variants; /* of BenchVariant *, owned */
  guint rounds;
  double target_ns; /* time of one sample */
  /* Time samples by the thread's CPU clock, not the monotonic one: bench_cpu_time at init. A run
   * whose samples wait on other threads sets it FALSE before adding variants. */
  gboolean cpu_time;
} BenchRun;

/* quick: 5 rounds of 2 ms samples for smoke runs; else 11 rounds of 20 ms. */
void bench_run_init(BenchRun *run, const char *program, gboolean quick);
void bench_run_clear(BenchRun *run);
BenchVariant *bench_run_add(BenchRun *run, const char *section, const char *label, const char *impl,
                            BenchLoop loop, gconstpointer data);
/* Calibrate every variant, sample them all in interleaved rounds, summarise. */
void bench_run_measure(BenchRun *run);
/* The pieces of bench_run_measure(), for runs that change state between groups of variants. */
void bench_variant_calibrate(BenchVariant *variant, double target_ns);
double bench_variant_sample(BenchVariant *variant); /* ns per operation */
void bench_variant_summarise(BenchVariant *variant, guint rounds);
/* NULL if absent. */
BenchVariant *bench_run_find(const BenchRun *run, const char *label, const char *impl);

/* ---- the result file ----
 * One CSV schema for every program, so bench/run-all.py reads them alike:
 * section,case,impl,median,p25,p75,min,max,unit,rounds */

FILE *bench_csv_open(const char *program, const char *path); /* NULL path: NULL (no file) */
void bench_csv_variant(FILE *csv, const BenchVariant *variant, guint rounds);
void bench_csv_run(FILE *csv, const BenchRun *run); /* every variant of run */
void bench_csv_value(FILE *csv, const char *section, const char *label, const char *impl,
                     double value, const char *unit);
void bench_csv_close(const char *program, FILE *csv, const char *path);

/* The whole program: parses [--quick] [--cpu-time] [--csv PATH] [--help] (usage_extra, if not
 * NULL, adds lines to the usage), then runs body on a freshly created thread, so TLS behaves as it
 * does in a worker, with csv NULL unless a path was given. @return main's exit status. */
typedef void (*BenchBody)(gboolean quick, FILE *csv);
int bench_main(int argc, char **argv, const char *program, const char *usage_extra, BenchBody body);

/* ---- the hot-path fixture ----
 * One dictionary of n_keys keys, on the calling thread, built three ways: a libtlslocal local, and
 * the hand-rolled pthread key -> GHashTable (g_str_hash, owned keys) -> GVariant, plus the same
 * with each value in a box, for the tuned set that swaps the value in place. A fixture belongs to
 * the thread that initialised it. */

#define BENCH_MAX_KEYS 64
#define BENCH_KEY_BUFFER 16

typedef struct {
  guint32 n_keys;    /* a power of two, so the key in use cycles with a mask */
  TlLocal *local;    /* a reference */
  TlValue *tl_value; /* prebuilt value that set stores; this fixture's own */
  pthread_key_t table_key;
  pthread_key_t box_key;
  GVariant *variant; /* prebuilt value that the baseline sets store */
  /* Lookup keys live in a buffer neither side owns: no pointer-equality shortcut for anyone. */
  char lookup_buffer[BENCH_MAX_KEYS][BENCH_KEY_BUFFER];
  const char *lookup_keys[BENCH_MAX_KEYS];
  /* As many keys that no dictionary holds, for the failure path of peek. */
  char miss_buffer[BENCH_MAX_KEYS][BENCH_KEY_BUFFER];
  const char *miss_keys[BENCH_MAX_KEYS];
  /* The well-known key a hot loop reads by quark: the dictionary's last key, interned once. */
  TlQuark hot_quark;
} BenchFixture;

/* local: NULL for a new one, else the fixture takes a reference (several threads may share one). */
void bench_fixture_init(BenchFixture *fixture, TlLocal *local, guint32 n_keys);
/* Every implementation holds exactly the keys, and none of the misses; dies otherwise. */
void bench_fixture_check(const BenchFixture *fixture);
void bench_fixture_clear(BenchFixture *fixture);

/* The measured operations, on a BenchFixture. Each sums what it read into its result; the set loops
 * of libtlslocal sum their statuses, which bench_variant_sample() checks are 0. */
guint64 bench_loop_tl_peek(gconstpointer fixture, guint64 iterations);
/* The one well-known key by quark, every iteration: no key cycling, as a program that reads its
 * request id in a hot loop would. */
guint64 bench_loop_tl_peek_quark(gconstpointer fixture, guint64 iterations);
guint64 bench_loop_tl_peek_miss(gconstpointer fixture, guint64 iterations);
guint64 bench_loop_tl_get(gconstpointer fixture, guint64 iterations);
guint64 bench_loop_tl_set(gconstpointer fixture, guint64 iterations);
guint64 bench_loop_base_lookup(gconstpointer fixture, guint64 iterations);
guint64 bench_loop_base_lookup_miss(gconstpointer fixture, guint64 iterations);
guint64 bench_loop_base_get(gconstpointer fixture, guint64 iterations);
guint64 bench_loop_base_set(gconstpointer fixture, guint64 iterations);
guint64 bench_loop_base_set_steal(gconstpointer fixture, guint64 iterations);
guint64 bench_loop_base_set_inplace(gconstpointer fixture, guint64 iterations);
guint64 bench_loop_overhead(gconstpointer fixture, guint64 iterations);

/* One line naming the machine, its load and the clock, for the top of every program's output. */
void bench_print_machine(const char *program);

#ifdef __cplusplus
}
#endif

#endif /* BENCH_COMMON_H */
