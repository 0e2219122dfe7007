// SPDX-License-Identifier: LGPL-2.1-or-later
package org.tlslocal;

import com.sun.jna.Library;
import com.sun.jna.Native;

/**
 * The C side of the tests: test-helper/tl-javahelper.c ($TLSLOCAL_TEST_HELPER), which links the
 * same libtlslocal and reads and writes named locals on the calling thread as C code would.
 * Strings travel as NUL-terminated UTF-8 byte arrays, as in the binding.
 */
final class Helper {
  private Helper() {}

  interface Raw extends Library {
    int tljava_read_string(byte[] localName, byte[] key, byte[] out, SizeT size);

    int tljava_read_int64(byte[] localName, byte[] key, long[] out);

    int tljava_write_string(byte[] localName, byte[] key, byte[] value);

    int tljava_write_parsed(byte[] localName, byte[] key, byte[] type, byte[] text);
  }

  private static final Raw RAW = Native.load(System.getenv("TLSLOCAL_TEST_HELPER"), Raw.class);

  private static byte[] utf8(String text) {
    return Utf8.encode(text, TlException.TL_ERR_INVALID_ARGUMENT, "text");
  }

  /** What C reads from key as a string on this thread (throws with C's status when it cannot). */
  static String readString(String local, String key) {
    byte[] out = new byte[256];
    int status = RAW.tljava_read_string(utf8(local), utf8(key), out, new SizeT(out.length));
    if (status != 0) {
      throw new TlException(status, "helper read_string");
    }
    int n = 0;
    while (out[n] != 0) {
      n++;
    }
    return new String(out, 0, n, java.nio.charset.StandardCharsets.UTF_8);
  }

  static long readInt64(String local, String key) {
    long[] out = new long[1];
    int status = RAW.tljava_read_int64(utf8(local), utf8(key), out);
    if (status != 0) {
      throw new TlException(status, "helper read_int64");
    }
    return out[0];
  }

  static void writeString(String local, String key, String value) {
    int status = RAW.tljava_write_string(utf8(local), utf8(key), utf8(value));
    if (status != 0) {
      throw new TlException(status, "helper write_string");
    }
  }

  /** Store the GVariant text as C would (type may be null). */
  static void writeParsed(String local, String key, String type, String text) {
    int status = RAW.tljava_write_parsed(utf8(local), utf8(key), utf8(type), utf8(text));
    if (status != 0) {
      throw new TlException(status, "helper write_parsed");
    }
  }
}
