/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* bench-hashflood: a dictionary under hash flooding. One local's dictionary of the calling thread
 * takes 8,000 keys (tl_local_set of one shared prebuilt value each), then a tl_local_peek of each,
 * then tl_local_clear; the figure is ns per key (insert + lookup), for two key sets of one format
 * and one length:
 *   ordinary      "user:0000000000" ... "user:0000007999"
 *   adversarial   8,000 keys "user:NNNNNNNNNN" whose hash, as the library computed it before the
 *                 hash was seeded per process, has the same low 16 bits: all of them start probing
 *                 at one slot of any index up to 65,536 slots (8,000 keys get 16,384 or 32,768), so
 *                 every insert and lookup walks one chain. Found by brute force before the timed
 *                 rounds, as an attacker could do offline.
 * Against the same two key sets in the hand-rolled pthread key -> GHashTable (g_str_hash, owned
 * keys) -> GVariant, which the adversarial keys do not target: a control.
 *
 *   bench-hashflood [--quick] [--csv PATH]
 *
 * Copyright the libtlslocal authors.
 */
#include <string.h>

#include "bench-common.h"

#define PROGRAM "bench-hashflood"
#define N_KEYS 8000
#define KEY_FORMAT "user:%010" G_GUINT32_FORMAT
#define KEY_LENGTH 15 /* "user:" and ten digits: inline in the item (under 16 bytes) */
#define COLLIDING_BITS 0xffffu

/* ---- the hash before per-process seeding ----
 * Copied from _tl_key_prepare() in libtlslocal/tl-dict-private.h as it stood before the seed (with
 * _tl_load_short and _tl_hash_mix), its validation left out: the keys are ASCII. Kept only to make
 * keys an attacker could precompute; the library no longer computes it. */

static inline guint64
unseeded_load_short_2026(const unsigned char *bytes, size_t n)
{
  if (n >= 4) {
    guint32 low, high;
    memcpy(&low, bytes, 4);
    memcpy(&high, bytes + n - 4, 4);
    return ((guint64) high << 32) | low;
  }
  return bytes[0] | ((guint64) bytes[n >> 1] << 8) | ((guint64) bytes[n - 1] << 16);
}

static inline guint64
unseeded_mix_2026(guint64 hash, guint64 word)
{
  hash = (hash ^ word) * G_GUINT64_CONSTANT(0xff51afd7ed558ccd);
  return hash ^ (hash >> 32);
}

static guint32
unseeded_hash_2026(const char *key)
{
  const unsigned char *bytes = (const unsigned char *) key;
  size_t len = strlen(key), left;
  guint64 hash = G_GUINT64_CONSTANT(0x9e3779b97f4a7c15) ^ len;

  for (left = len; left >= 8; left -= 8, bytes += 8) {
    guint64 word;
    memcpy(&word, bytes, sizeof word);
    hash = unseeded_mix_2026(hash, word);
  }
  if (left > 0)
    hash = unseeded_mix_2026(hash, unseeded_load_short_2026(bytes, left));
  hash *= G_GUINT64_CONSTANT(0xc4ceb9fe1a85ec53);
  return (guint32) (hash ^ (hash >> 32));
}

/* ---- the key sets ---- */

typedef struct {
  char buffer[N_KEYS][BENCH_KEY_BUFFER];
  const char *keys[N_KEYS];
} KeySet;

static KeySet ordinary, adversarial;

/* Candidates are the key format's counters in order, the first one included. Some 500 million of
 * them: calling unseeded_hash_2026() on each takes seconds, so the loop does the same arithmetic
 * with the first word's mix done once per ten candidates, which share it and differ only in their
 * last digit (the top byte of the last word); each key found is then checked with the function. */
static void
make_adversarial_keys(void)
{
  char candidate[BENCH_KEY_BUFFER];
  guint64 start = bench_now_ns(), tried = 0;
  guint32 target, found = 0;
  int i;

  G_STATIC_ASSERT(KEY_LENGTH > 8 && KEY_LENGTH < 16);
  g_snprintf(candidate, sizeof candidate, KEY_FORMAT, (guint32) 0);
  g_assert(strlen(candidate) == KEY_LENGTH);
  target = unseeded_hash_2026(candidate) & COLLIDING_BITS;
  while (found < N_KEYS) {
    const unsigned char *bytes = (const unsigned char *) candidate;
    guint64 first, last, state;
    guint digit;

    memcpy(&first, bytes, sizeof first);
    last = unseeded_load_short_2026(bytes + 8, KEY_LENGTH - 8) & ~(G_GUINT64_CONSTANT(0xff) << 56);
    state = unseeded_mix_2026(G_GUINT64_CONSTANT(0x9e3779b97f4a7c15) ^ KEY_LENGTH, first);
    for (digit = 0; digit < 10 && found < N_KEYS; digit++) {
      guint64 hash = unseeded_mix_2026(state, last | (guint64) ('0' + digit) << 56);

      hash *= G_GUINT64_CONSTANT(0xc4ceb9fe1a85ec53);
      tried++;
      if (((guint32) (hash ^ (hash >> 32)) & COLLIDING_BITS) != target)
        continue;
      candidate[KEY_LENGTH - 1] = (char) ('0' + digit);
      if ((unseeded_hash_2026(candidate) & COLLIDING_BITS) != target)
        bench_die(PROGRAM, "the key search disagrees with unseeded_hash_2026()");
      memcpy(adversarial.buffer[found++], candidate, KEY_LENGTH + 1);
    }
    candidate[KEY_LENGTH - 1] = '0';
    for (i = KEY_LENGTH - 2; i >= 5 && candidate[i] == '9'; i--)
      candidate[i] = '0';
    if (i < 5)
      bench_die(PROGRAM, "the key format ran out of counters");
    candidate[i]++;
  }
  printf("%d adversarial keys (low 16 bits of the unseeded hash all 0x%04x) in %.2f s, "
         "%.0f million candidates tried\n",
         N_KEYS, target, (double) (bench_now_ns() - start) / 1e9, (double) tried / 1e6);
}

static void
make_key_sets(void)
{
  guint32 i;

  for (i = 0; i < N_KEYS; i++) {
    g_snprintf(ordinary.buffer[i], BENCH_KEY_BUFFER, KEY_FORMAT, i);
    ordinary.keys[i] = ordinary.buffer[i];
  }
  make_adversarial_keys();
  for (i = 0; i < N_KEYS; i++)
    adversarial.keys[i] = adversarial.buffer[i];
}

/* ---- the measured loops: one iteration = every key inserted, looked up, then all removed ---- */

static TlLocal *local;
static TlValue *shared_value;
static pthread_key_t table_key; /* hand-rolled: the thread's GHashTable of key -> GVariant */
static GVariant *shared_variant;

static guint64
loop_tl(gconstpointer data, guint64 iterations)
{
  const KeySet *set = data;
  guint64 found = 0, i;
  guint k;

  for (i = 0; i < iterations; i++) {
    for (k = 0; k < N_KEYS; k++)
      if (tl_local_set(local, set->keys[k], shared_value) != TL_OK)
        bench_die(PROGRAM, tl_last_error_message());
    for (k = 0; k < N_KEYS; k++)
      found += tl_local_peek(local, set->keys[k]) != NULL;
    tl_local_clear(local);
  }
  if (found != iterations * N_KEYS)
    bench_die(PROGRAM, "libtlslocal lost a key");
  return found;
}

static guint64
loop_hand_rolled(gconstpointer data, guint64 iterations)
{
  const KeySet *set = data;
  guint64 found = 0, i;
  guint k;

  for (i = 0; i < iterations; i++) {
    for (k = 0; k < N_KEYS; k++)
      g_hash_table_insert(pthread_getspecific(table_key), g_strdup(set->keys[k]),
                          g_variant_ref(shared_variant));
    for (k = 0; k < N_KEYS; k++)
      found += g_hash_table_lookup(pthread_getspecific(table_key), set->keys[k]) != NULL;
    g_hash_table_remove_all(pthread_getspecific(table_key));
  }
  if (found != iterations * N_KEYS)
    bench_die(PROGRAM, "the hand-rolled table lost a key");
  return found;
}

static const struct {
  const char *label;
  const KeySet *set;
} key_sets[] = {
    {"insert+lookup/ordinary", &ordinary},
    {"insert+lookup/adversarial", &adversarial},
};

static const struct {
  const char *impl;
  BenchLoop loop;
} impls[] = {
    {"libtlslocal", loop_tl},
    {"hand-rolled", loop_hand_rolled},
};

/* The loops time whole key sets; every figure from here on is per key. */
static void
per_key(BenchVariant *variant, guint rounds)
{
  guint r;

  for (r = 0; r < rounds; r++)
    variant->samples[r] /= N_KEYS;
  bench_variant_summarise(variant, rounds);
}

static void
bench_body(gboolean quick, FILE *csv)
{
  guint64 start;
  BenchRun run;
  gsize s, m;
  const BenchVariant *v[2][2];

  bench_print_machine(PROGRAM);
  make_key_sets();
  local = tl_local_new();
  shared_value = tl_value_new_int64(7);
  shared_variant = g_variant_ref_sink(g_variant_new_int64(7));
  if (local == NULL || shared_value == NULL || pthread_key_create(&table_key, NULL) != 0)
    bench_die(PROGRAM, "cannot create the local, its value or the pthread key");
  pthread_setspecific(table_key, g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                                       (GDestroyNotify) g_variant_unref));

  start = bench_now_ns();
  bench_run_init(&run, PROGRAM, quick);
  for (s = 0; s < G_N_ELEMENTS(key_sets); s++)
    for (m = 0; m < G_N_ELEMENTS(impls); m++)
      bench_run_add(&run, "hashflood", key_sets[s].label, impls[m].impl, impls[m].loop,
                    key_sets[s].set);
  bench_run_measure(&run);
  for (s = 0; s < G_N_ELEMENTS(key_sets); s++) {
    for (m = 0; m < G_N_ELEMENTS(impls); m++) {
      BenchVariant *variant = bench_run_find(&run, key_sets[s].label, impls[m].impl);

      per_key(variant, run.rounds);
      v[s][m] = variant;
    }
  }

  printf("%u rounds, median; %.1f s\n", run.rounds, (double) (bench_now_ns() - start) / 1e9);
  printf("\n%-22s %12s %12s %8s\n", "keys (8,000)", "libtlslocal", "hand-rolled", "tl/hand");
  printf("%-22s %12s %12s\n", "", "ns/key", "ns/key");
  for (s = 0; s < G_N_ELEMENTS(key_sets); s++)
    printf("%-22s %12.1f %12.1f %8.2f\n", key_sets[s].label + strlen("insert+lookup/"),
           v[s][0]->median, v[s][1]->median, v[s][0]->median / v[s][1]->median);
  printf("%-22s %12.2f %12.2f\n", "adversarial/ordinary", v[1][0]->median / v[0][0]->median,
         v[1][1]->median / v[0][1]->median);
  printf("Per key: one set of a prebuilt value, one lookup, and 1/8,000 of the clear. The\n"
         "adversarial keys collide in the hash the library used before per-process seeding;\n"
         "g_str_hash, the control, spreads them as it does any keys.\n");
  bench_csv_run(csv, &run);

  bench_run_clear(&run);
  g_hash_table_unref(pthread_getspecific(table_key));
  pthread_setspecific(table_key, NULL);
  pthread_key_delete(table_key);
  g_variant_unref(shared_variant);
  tl_value_unref(shared_value);
  tl_local_unref(local);
}

int
main(int argc, char **argv)
{
  return bench_main(argc, argv, PROGRAM, NULL, bench_body);
}
