/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Runs a fuzz target's LLVMFuzzerTestOneInput over every file of the given corpus directories (or
 * files), once each, with the ordinary compiler and no libFuzzer: the seed corpora, and the inputs
 * that once found a bug, as a regression test in the normal build. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz-common.h"

static int
replay_file(const char *path)
{
  FILE *file = fopen(path, "rb");
  unsigned char *data = NULL;
  size_t size = 0, capacity = 0, n;

  if (file == NULL) {
    perror(path);
    return 0;
  }
  do {
    if (size == capacity) {
      capacity = capacity * 2 + 4096;
      data = realloc(data, capacity);
      if (data == NULL)
        abort();
    }
    n = fread(data + size, 1, capacity - size, file);
    size += n;
  } while (n > 0);
  fclose(file);
  LLVMFuzzerTestOneInput(data, size);
  free(data);
  return 1;
}

static int
compare_names(const void *a, const void *b)
{
  return strcmp(*(char *const *) a, *(char *const *) b);
}

/* @return the number of inputs run, or -1 on an unreadable path. */
static int
replay_path(const char *path)
{
  struct stat info;
  struct dirent *entry;
  char **names = NULL;
  size_t n_names = 0, i;
  DIR *dir;
  int n_run = 0;

  if (stat(path, &info) != 0) {
    perror(path);
    return -1;
  }
  if (!S_ISDIR(info.st_mode))
    return replay_file(path) ? 1 : -1;
  if ((dir = opendir(path)) == NULL) {
    perror(path);
    return -1;
  }
  while ((entry = readdir(dir)) != NULL) {
    if (entry->d_name[0] == '.')
      continue;
    names = realloc(names, (n_names + 1) * sizeof *names);
    if (names == NULL)
      abort();
    names[n_names] = malloc(strlen(path) + strlen(entry->d_name) + 2);
    if (names[n_names] == NULL)
      abort();
    sprintf(names[n_names++], "%s/%s", path, entry->d_name);
  }
  closedir(dir);
  qsort(names, n_names, sizeof *names, compare_names); /* the same order every run */
  for (i = 0; i < n_names; i++) {
    if (n_run >= 0)
      n_run = replay_file(names[i]) ? n_run + 1 : -1;
    free(names[i]);
  }
  free(names);
  return n_run;
}

int
main(int argc, char **argv)
{
  int i, total = 0;

  LLVMFuzzerInitialize(&argc, &argv);
  for (i = 1; i < argc; i++) {
    int n = replay_path(argv[i]);

    if (n < 0)
      return 1;
    total += n;
  }
  tl_thread_clear(); /* the main thread's exit never runs the thread-exit cleanup */
  if (total == 0) {
    fprintf(stderr, "no input to replay\n");
    return 1;
  }
  printf("%d inputs replayed\n", total);
  return 0;
}
