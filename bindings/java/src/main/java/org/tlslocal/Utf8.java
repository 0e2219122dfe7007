// SPDX-License-Identifier: LGPL-2.1-or-later
package org.tlslocal;

import com.sun.jna.Pointer;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/** Java strings to and from C's NUL-terminated UTF-8, whatever the platform's default charset. */
final class Utf8 {
  private Utf8() {}

  /**
   * {@code text} as UTF-8 with a terminating NUL, or null for null (C then reports the NULL).
   * A NUL inside, which C would read as the end, or an unpaired surrogate, which has no UTF-8
   * form, is refused with {@code status} before C is called.
   */
  static byte[] encode(String text, int status, String what) {
    if (text == null) {
      return null;
    }
    if (text.indexOf('\0') >= 0) {
      throw new TlException(status, what + " contains a NUL character, which a C string cannot "
          + "hold" + (what.startsWith("key") ? "" : " (store it as bytes)"));
    }
    ByteBuffer encoded;
    try {
      encoded = StandardCharsets.UTF_8.newEncoder()
          .onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT)
          .encode(CharBuffer.wrap(text));
    } catch (CharacterCodingException error) {
      throw new TlException(status, what + " is not valid Unicode (an unpaired surrogate): it "
          + "has no UTF-8 form");
    }
    byte[] bytes = new byte[encoded.remaining() + 1];
    encoded.get(bytes, 0, bytes.length - 1);
    return bytes;
  }

  /** The NUL-terminated UTF-8 string at {@code pointer} (null for NULL). */
  static String decode(Pointer pointer) {
    return pointer == null ? null : pointer.getString(0, "UTF-8");
  }
}
