/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* bench-memory: heap bytes per value, per dictionary entry, per (thread, local) dictionary and per
 * thread, against the hand-rolled GHashTable equivalents, measured as mallinfo2() deltas (bytes in
 * use, chunk headers included, mmapped blocks too, every arena) over a million of each (threads: a
 * hundred). Not timed, so no rounds: the figures are exact for this glibc and this build.
 *
 *   values         1M tl_value_new_int64() / g_variant_new_int64(), distinct
 *   entries        1 local x 1M keys, and 1000 locals x 1000 keys, every entry pointing at one
 *   shared
 *                  value (so only the entry's own cost counts); hand-rolled: a GHashTable
 *                  (g_str_hash, g_strdup'd keys) per object, holding references to one shared
 *                  GVariant, and for 1000 objects a table of objects -> tables
 *   dictionaries   1M locals with a one-key dictionary each on this thread, beyond the locals
 *                  themselves; hand-rolled: 1M one-key tables in a table of objects -> tables
 *   threads        with 1M live locals, 100 threads that each set one key in the newest local and
 *                  wait: what each costs beyond that one dictionary (a thread's own library state,
 *                  which must not grow with the highest local id in the process)
 * Keys are "key0" ... "key999999", as short as real attribute names.
 *
 *   bench-memory [--csv PATH]
 *
 * Copyright the libtlslocal authors.
 */
#include <malloc.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench-common.h"

#define PROGRAM "bench-memory"
#define MILLION 1000000
#define THREADS 100

typedef char KeyBuffer[BENCH_KEY_BUFFER];
static KeyBuffer *keys;

static gint64
heap_in_use(void)
{
  struct mallinfo2 info = mallinfo2();

  return (gint64) (info.uordblks + info.hblkhd);
}

static gint64
rss_bytes(void)
{
  long pages = 0, resident = 0;
  FILE *statm = fopen("/proc/self/statm", "r");

  if (statm == NULL || fscanf(statm, "%ld %ld", &pages, &resident) != 2)
    resident = 0;
  if (statm != NULL)
    fclose(statm);
  return (gint64) resident * sysconf(_SC_PAGESIZE);
}

typedef struct {
  const char *label, *impl;
  double bytes; /* per item */
  double rss;   /* per item, from the resident set: a cross-check, coarse */
} Figure;

static GArray *figures;

/* A measurement: build() makes n items and returns what destroy() frees. */
typedef gpointer (*BuildFunc)(void);
typedef void (*DestroyFunc)(gpointer built);

static void
measure(const char *label, const char *impl, guint32 n, BuildFunc build, DestroyFunc destroy)
{
  gint64 heap_before, rss_before, heap_after, rss_after;
  Figure figure = {label, impl, 0, 0};
  gpointer built;

  malloc_trim(0);
  heap_before = heap_in_use();
  rss_before = rss_bytes();
  built = build();
  heap_after = heap_in_use();
  rss_after = rss_bytes();
  destroy(built);
  figure.bytes = (double) (heap_after - heap_before) / n;
  figure.rss = (double) (rss_after - rss_before) / n;
  g_array_append_val(figures, figure);
}

/* ---- values ---- */

static gpointer
build_tl_values(void)
{
  TlValue **values = g_new(TlValue *, MILLION);
  guint32 i;

  for (i = 0; i < MILLION; i++)
    values[i] = tl_value_new_int64(i);
  return values;
}

static void
destroy_tl_values(gpointer built)
{
  TlValue **values = built;
  guint32 i;

  for (i = 0; i < MILLION; i++)
    tl_value_unref(values[i]);
  g_free(values);
}

static gpointer
build_variants(void)
{
  GVariant **values = g_new(GVariant *, MILLION);
  guint32 i;

  for (i = 0; i < MILLION; i++)
    values[i] = g_variant_ref_sink(g_variant_new_int64(i));
  return values;
}

static void
destroy_variants(gpointer built)
{
  GVariant **values = built;
  guint32 i;

  for (i = 0; i < MILLION; i++)
    g_variant_unref(values[i]);
  g_free(values);
}

/* ---- entries: n_objects locals (or tables) x n_keys keys ---- */

static TlValue *shared_value;
static GVariant *shared_variant;
static guint32 n_objects, n_keys;

static gpointer
build_tl_entries(void)
{
  TlLocal **locals = g_new(TlLocal *, n_objects);
  guint32 o, k;

  for (o = 0; o < n_objects; o++) {
    locals[o] = tl_local_new();
    for (k = 0; k < n_keys; k++)
      if (tl_local_set(locals[o], keys[k], shared_value) != TL_OK)
        bench_die(PROGRAM, tl_last_error_message());
  }
  return locals;
}

static void
destroy_tl_locals(gpointer built)
{
  TlLocal **locals = built;
  guint32 o;

  for (o = 0; o < n_objects; o++)
    tl_local_unref(locals[o]);
  g_free(locals);
}

static GHashTable *
new_key_table(void)
{
  return g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify) g_variant_unref);
}

/* The hand-rolled per-object dictionaries of one thread: object -> (key -> GVariant). The objects
 * are stand-ins (their addresses); a table with one object is still a table, as the real code
 * would have it. */
static gpointer
build_hand_rolled_entries(void)
{
  GHashTable *objects = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL,
                                              (GDestroyNotify) g_hash_table_unref);
  guint32 o, k;

  for (o = 0; o < n_objects; o++) {
    GHashTable *table = new_key_table();

    for (k = 0; k < n_keys; k++)
      g_hash_table_insert(table, g_strdup(keys[k]), g_variant_ref(shared_variant));
    g_hash_table_insert(objects, GUINT_TO_POINTER(o + 1), table);
  }
  return objects;
}

static void
destroy_hash_table(gpointer built)
{
  g_hash_table_unref(built);
}

/* ---- the locals alone, for the dictionary figure ---- */

static gpointer
build_tl_locals(void)
{
  TlLocal **locals = g_new(TlLocal *, n_objects);
  guint32 o;

  for (o = 0; o < n_objects; o++)
    locals[o] = tl_local_new();
  return locals;
}

/* ---- threads, with a million live locals ---- */

static TlLocal *newest;
static pthread_t threads[THREADS]; /* static: the measurement must not count the array */
static pthread_barrier_t written, release;

static void *
thread_writes_newest(void *data)
{
  if (tl_local_set(newest, "k", shared_value) != TL_OK)
    bench_die(PROGRAM, tl_last_error_message());
  pthread_barrier_wait(&written);
  pthread_barrier_wait(&release);
  return data;
}

/* Returns once every thread has written and waits: the heap is measured with all of them alive.
 * Their stacks are mmapped by pthread_create, not malloc'd, so mallinfo2 does not see them; the
 * heap it does see per thread is the library's state plus glibc's own (tcache, DTV, a share of an
 * arena's header). */
static gpointer
build_threads(void)
{
  guint32 i;

  for (i = 0; i < THREADS; i++)
    if (pthread_create(&threads[i], NULL, thread_writes_newest, NULL) != 0)
      bench_die(PROGRAM, "pthread_create failed");
  pthread_barrier_wait(&written);
  return threads;
}

static void
destroy_threads(gpointer built)
{
  guint32 i;

  pthread_barrier_wait(&release);
  for (i = 0; i < THREADS; i++)
    pthread_join(threads[i], NULL);
}

/* In a child process forked before any other figure. Its registry never released an id, so ids are
 * handed out in order and the newest local has the highest id: the worst case for a slot table
 * indexed by id. And the hundred threads' arenas, and the holes they would leave in this thread's,
 * stay out of the heap the other figures are measured in. */
static Figure
measure_threads(void)
{
  int pipe_fds[2], status = 0;
  Figure figure = {"thread/1M live locals", "libtlslocal", 0, 0};
  pid_t pid;

  if (pipe(pipe_fds) != 0 || (pid = fork()) < 0)
    bench_die(PROGRAM, "cannot fork the threads' measurement");
  if (pid == 0) {
    TlLocal **locals = g_new(TlLocal *, MILLION);
    guint32 i;

    for (i = 0; i < MILLION; i++)
      if ((locals[i] = tl_local_new()) == NULL)
        bench_die(PROGRAM, "cannot create the locals");
    newest = locals[MILLION - 1];
    pthread_barrier_init(&written, NULL, THREADS + 1);
    pthread_barrier_init(&release, NULL, THREADS + 1);
    measure(figure.label, figure.impl, THREADS, build_threads, destroy_threads);
    figure = g_array_index(figures, Figure, figures->len - 1);
    if (tl_stats_live_dicts() != 0)
      bench_die(PROGRAM, "an exited thread's dictionary is still alive");
    if (write(pipe_fds[1], &figure, sizeof figure) != sizeof figure)
      bench_die(PROGRAM, "cannot pass the threads' figure on");
    _exit(0); /* the locals die with the process */
  }
  close(pipe_fds[1]);
  /* The child's labels are the same string literals, at the same addresses. */
  if (read(pipe_fds[0], &figure, sizeof figure) != sizeof figure ||
      waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
    bench_die(PROGRAM, "the threads' measurement failed");
  close(pipe_fds[0]);
  return figure;
}

static const Figure *
find_figure(const char *label, const char *impl)
{
  guint i;

  for (i = 0; i < figures->len; i++) {
    const Figure *figure = &g_array_index(figures, Figure, i);
    if (strcmp(figure->label, label) == 0 && strcmp(figure->impl, impl) == 0)
      return figure;
  }
  bench_die(PROGRAM, "a figure is missing");
}

static void
print_row(FILE *csv, const char *label, const char *what, double tl, double hand)
{
  printf("%-34s %12.1f %12.1f %8.2f\n", what, tl, hand, tl / hand);
  bench_csv_value(csv, "memory", label, "libtlslocal", tl, "bytes");
  bench_csv_value(csv, "memory", label, "hand-rolled", hand, "bytes");
}

static void
bench_body(gboolean quick, FILE *csv)
{
  static const struct {
    guint32 objects, keys;
    const char *label;
  } shapes[] = {
      {1, MILLION, "entry/1 x 1M"},
      {1000, 1000, "entry/1000 x 1000"},
  };
  Figure thread_figure;
  double thread_bytes;
  guint32 i;
  gsize s;

  keys = g_new(KeyBuffer, MILLION);
  for (i = 0; i < MILLION; i++)
    g_snprintf(keys[i], BENCH_KEY_BUFFER, "key%" G_GUINT32_FORMAT, i);
  shared_value = tl_value_new_int64(-1);
  shared_variant = g_variant_ref_sink(g_variant_new_int64(-1));
  figures = g_array_new(FALSE, FALSE, sizeof(Figure));

  thread_figure = measure_threads();
  measure("value/int64", "libtlslocal", MILLION, build_tl_values, destroy_tl_values);
  measure("value/int64", "hand-rolled", MILLION, build_variants, destroy_variants);
  for (s = 0; s < G_N_ELEMENTS(shapes); s++) {
    n_objects = shapes[s].objects;
    n_keys = shapes[s].keys;
    measure(shapes[s].label, "libtlslocal", MILLION, build_tl_entries, destroy_tl_locals);
    measure(shapes[s].label, "hand-rolled", MILLION, build_hand_rolled_entries, destroy_hash_table);
  }
  n_objects = MILLION;
  n_keys = 1;
  measure("local", "libtlslocal", MILLION, build_tl_locals, destroy_tl_locals);
  measure("dict+entry/1M x 1", "libtlslocal", MILLION, build_tl_entries, destroy_tl_locals);
  measure("dict+entry/1M x 1", "hand-rolled", MILLION, build_hand_rolled_entries,
          destroy_hash_table);
  if (tl_stats_live_locals() != 0 || tl_stats_live_dicts() != 0)
    bench_die(PROGRAM, "a local or dictionary outlived its measurement");
  /* Only now: an earlier append would move where the array of figures is reallocated, and with it
   * the dictionary figure by a byte or two. */
  g_array_append_val(figures, thread_figure);

  bench_print_machine(PROGRAM);
  printf("\n%-34s %12s %12s %8s\n", "heap bytes (mallinfo2 delta)", "libtlslocal", "hand-rolled",
         "tl/hand");
  print_row(csv, "value/int64", "per int64 value", find_figure("value/int64", "libtlslocal")->bytes,
            find_figure("value/int64", "hand-rolled")->bytes);
  for (s = 0; s < G_N_ELEMENTS(shapes); s++) {
    char *what = g_strdup_printf("per entry, %s locals x keys", shapes[s].label + strlen("entry/"));

    print_row(csv, shapes[s].label, what, find_figure(shapes[s].label, "libtlslocal")->bytes,
              find_figure(shapes[s].label, "hand-rolled")->bytes);
    g_free(what);
  }
  /* The dictionary figure is a one-key dictionary, entry included, without the local it belongs
   * to. */
  printf("%-34s %12.1f %12s\n", "per local (TlLocal, no dictionary)",
         find_figure("local", "libtlslocal")->bytes, "-");
  bench_csv_value(csv, "memory", "local", "libtlslocal", find_figure("local", "libtlslocal")->bytes,
                  "bytes");
  print_row(csv, "dict/1 key", "per (thread, local) dict, 1 key",
            find_figure("dict+entry/1M x 1", "libtlslocal")->bytes -
                find_figure("local", "libtlslocal")->bytes,
            find_figure("dict+entry/1M x 1", "hand-rolled")->bytes);
  /* Less the one-key dictionary each thread made, as measured just above on this thread. */
  thread_bytes = find_figure("thread/1M live locals", "libtlslocal")->bytes -
                 (find_figure("dict+entry/1M x 1", "libtlslocal")->bytes -
                  find_figure("local", "libtlslocal")->bytes);
  printf("%-34s %12.1f %12s\n", "per thread, 1M live locals [1]", thread_bytes, "-");
  bench_csv_value(csv, "memory", "thread/1M live locals", "libtlslocal", thread_bytes, "bytes");
  printf("\nresident set growth per item (cross-check, pages touched):\n");
  for (i = 0; i < figures->len; i++) {
    const Figure *figure = &g_array_index(figures, Figure, i);
    printf("  %-22s %-12s %8.1f\n", figure->label, figure->impl, figure->rss);
  }
  printf("Entries point at one shared value: the per-entry figure is the dictionary's overhead "
         "beyond\n"
         "the value itself (key copy, item, index slot, growth slack). GLib %u.%u's GVariants come "
         "from\n"
         "GSlice, whose slabs mallinfo2 counts as they are carved from malloc.\n"
         "[1] %d threads alive at once, each having set one key in the newest of 1M live locals:\n"
         "heap per thread beyond that one dictionary (thread stacks are mmapped, not counted).\n",
         glib_major_version, glib_minor_version, THREADS);

  tl_value_unref(shared_value);
  g_variant_unref(shared_variant);
  g_array_unref(figures);
  g_free(keys);
}

int
main(int argc, char **argv)
{
  return bench_main(argc, argv, PROGRAM, NULL, bench_body);
}
