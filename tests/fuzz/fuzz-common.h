/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Shared by the libFuzzer targets and the corpus replay driver. */
#ifndef TL_FUZZ_COMMON_H
#define TL_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include <tlslocal.h>

/* The libFuzzer entry points, defined by each target (LLVMFuzzerInitialize in fuzz-common.c). */
int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Reports a failed check (with the text it concerns, if any) and aborts, so that libFuzzer saves
 * the input. */
void fuzz_fail(const char *file, int line, const char *what, const char *text)
    __attribute__((noreturn));

#define FUZZ_CHECK(cond)                                                                           \
  do {                                                                                             \
    if (!(cond))                                                                                   \
      fuzz_fail(__FILE__, __LINE__, #cond, NULL);                                                  \
  } while (0)

#endif /* TL_FUZZ_COMMON_H */
