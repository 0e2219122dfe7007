/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Runs one Check suite, named on the command line: `check-runner values`. */
#include <stdio.h>
#include <string.h>

#include "tl-test.h"

static const struct {
  const char *name;
  Suite *(*make)(void);
} suites[] = {
#define TL_SUITE_ENTRY_(area) {#area, area##_suite},
    TL_CHECK_SUITES(TL_SUITE_ENTRY_)
#undef TL_SUITE_ENTRY_
};

int
main(int argc, char **argv)
{
  size_t i;

  if (argc != 2) {
    fprintf(stderr, "usage: %s SUITE\n", argv[0]);
    return 2;
  }
  for (i = 0; i < sizeof suites / sizeof suites[0]; i++) {
    if (strcmp(argv[1], suites[i].name) == 0) {
      SRunner *runner = srunner_create(suites[i].make());
      int n_failed;

      srunner_run_all(runner, CK_ENV);
      n_failed = srunner_ntests_failed(runner);
      srunner_free(runner);
      tl_thread_clear(); /* the main thread's exit never runs the thread-exit cleanup */
      return n_failed == 0 ? 0 : 1;
    }
  }
  fprintf(stderr, "%s: no suite named '%s'\n", argv[0], argv[1]);
  return 2;
}
