/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The other end of a context hand-off (check-binary.c): reads one value in binary form from stdin,
 * applies it into a local of this process and writes that local's snapshot back to stdout in the
 * same form. A message is the type string with its NUL, the size as 8 bytes little-endian, then
 * the bytes. Exit status: 0 done, 1 bad input or I/O, 2 a library call failed, 3 the bytes were
 * refused (TL_ERR_PARSE).
 *
 * Copyright the libtlslocal authors. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <tlslocal.h>

static int
read_exactly(void *buffer, size_t size)
{
  char *at = buffer;

  while (size > 0) {
    ssize_t n = read(STDIN_FILENO, at, size);

    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return -1;
    at += n;
    size -= (size_t) n;
  }
  return 0;
}

static int
write_all(const void *data, size_t size)
{
  const char *at = data;

  while (size > 0) {
    ssize_t n = write(STDOUT_FILENO, at, size);

    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return -1;
    at += n;
    size -= (size_t) n;
  }
  return 0;
}

static int
fail(int code, const char *what)
{
  fprintf(stderr, "binary-child: %s: %s\n", what, tl_last_error_message());
  return code;
}

int
main(void)
{
  char type[256];
  unsigned char size_bytes[8];
  uint64_t size = 0;
  size_t type_length = 0;
  void *data, *reply = NULL;
  size_t reply_size = 0;
  TlValue *context = NULL, *snapshot = NULL;
  TlLocal *local;
  int i, status;

  do {
    if (type_length == sizeof type || read_exactly(&type[type_length], 1) != 0)
      return fail(1, "reading the type");
  } while (type[type_length++] != '\0');
  if (read_exactly(size_bytes, sizeof size_bytes) != 0)
    return fail(1, "reading the size");
  for (i = 7; i >= 0; i--)
    size = size << 8 | size_bytes[i];
  if (size > SIZE_MAX / 2 || (data = malloc(size > 0 ? (size_t) size : 1)) == NULL ||
      read_exactly(data, (size_t) size) != 0)
    return fail(1, "reading the bytes");

  status = tl_value_deserialize(type, data, (size_t) size, &context);
  free(data);
  if (status != TL_OK)
    return fail(status == TL_ERR_PARSE ? 3 : 2, "tl_value_deserialize");
  local = tl_local_new();
  if (local == NULL || tl_local_apply(local, context, TL_APPLY_REPLACE) != TL_OK)
    return fail(2, "tl_local_apply");
  if (tl_local_snapshot(local, &snapshot) != TL_OK)
    return fail(2, "tl_local_snapshot");
  if (tl_value_serialize(snapshot, &reply, &reply_size) != TL_OK)
    return fail(2, "tl_value_serialize");
  for (i = 0; i < 8; i++)
    size_bytes[i] = (unsigned char) ((uint64_t) reply_size >> (8 * i));
  if (write_all("a{sv}", sizeof "a{sv}") != 0 || write_all(size_bytes, 8) != 0 ||
      write_all(reply, reply_size) != 0)
    return fail(1, "writing the reply");
  tl_free(reply);
  tl_value_unref(snapshot);
  tl_value_unref(context);
  tl_local_unref(local);
  return 0;
}
