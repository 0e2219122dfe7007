/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The key hash is keyed per process: the same key hashes alike within a process and in its fork()
 * children (whose dictionaries came from the parent), and differently in every new process, so
 * keys chosen to collide in one process collide in no other. Links the library's objects
 * statically, to reach the hash itself (_tl_key_prepare).
 *
 *   hash-seed            the test: runs itself 8 times with --print and compares
 *   hash-seed --print    prints the hash of one key, and the secret keys
 *
 * Copyright the libtlslocal authors. */
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tl-dict-private.h"

#define KEY "request_id"
#define N_PROCESSES 8

static int failures;

#define CHECK(condition)                                                                           \
  ((condition) ? (void) 0                                                                          \
               : (void) (failures++, fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__,        \
                                             __LINE__, #condition)))

static guint32
hash_of(const char *key)
{
  TlKey prepared = {NULL, 0, 0};

  if (_tl_key_prepare(key, &prepared) != TL_OK) {
    fprintf(stderr, "cannot hash '%s'\n", key);
    _exit(2);
  }
  return prepared.hash;
}

/* The hash of KEY as another run of this program computes it. */
static guint32
hash_in_new_process(const char *self, guint64 *out_keys)
{
  char *output = NULL;
  int status = 0;
  unsigned int hash = 0;
  const char *argv[] = {self, "--print", NULL};

  CHECK(g_spawn_sync(NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &output, NULL,
                     &status, NULL));
  CHECK(g_spawn_check_wait_status(status, NULL));
  CHECK(output != NULL &&
        sscanf(output, "%x %" G_GINT64_MODIFIER "x %" G_GINT64_MODIFIER "x %" G_GINT64_MODIFIER "x",
               &hash, &out_keys[0], &out_keys[1], &out_keys[2]) == 4);
  g_free(output);
  return hash;
}

int
main(int argc, char **argv)
{
  guint32 hashes[N_PROCESSES], here = hash_of(KEY);
  guint64 keys[N_PROCESSES][3];
  pid_t child;
  int i, j, status = 0;

  if (argc == 2 && strcmp(argv[1], "--print") == 0) {
    printf("%x %" G_GINT64_MODIFIER "x %" G_GINT64_MODIFIER "x %" G_GINT64_MODIFIER "x\n", here,
           _tl_hash_keys[0], _tl_hash_keys[1], _tl_hash_keys[2]);
    return 0;
  }

  /* Stable within the process, and in a fork() child. */
  CHECK(hash_of(KEY) == here);
  CHECK(hash_of("another key") != here);
  child = fork();
  if (child == 0)
    _exit(hash_of(KEY) == here ? 0 : 1);
  CHECK(child > 0 && waitpid(child, &status, 0) == child && WIFEXITED(status) &&
        WEXITSTATUS(status) == 0);

  /* Different in every new process: 8 random 32-bit hashes agree by chance with odds of about
   * one in 150 million. */
  for (i = 0; i < N_PROCESSES; i++)
    hashes[i] = hash_in_new_process(argv[0], keys[i]);
  for (i = 0; i < N_PROCESSES; i++) {
    CHECK(hashes[i] != here);
    CHECK(keys[i][0] != 0 || keys[i][1] != 0 || keys[i][2] != 0);
    for (j = 0; j < i; j++) {
      CHECK(hashes[i] != hashes[j]);
      CHECK(memcmp(keys[i], keys[j], sizeof keys[i]) != 0);
    }
  }
  if (failures > 0)
    fprintf(stderr, "%d check(s) failed\n", failures);
  return failures > 0;
}
