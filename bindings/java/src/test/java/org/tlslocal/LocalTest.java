// SPDX-License-Identifier: LGPL-2.1-or-later
package org.tlslocal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.util.List;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;

/** One thread: the value mapping, errors, the dictionary calls, close, and named locals with C. */
class LocalTest {
  private static final String NAME = "org.tlslocal.test.LocalTest";

  @Test
  void everyTypeRoundTrips() {
    try (Local local = new Local()) {
      for (long n : new long[] {0, 1, -1, Long.MIN_VALUE, Long.MAX_VALUE}) {
        local.set("long", n);
        assertEquals(OptionalLong.of(n), local.getLong("long"));
        assertEquals(n, local.get("long"));
      }
      local.set("int", Integer.MIN_VALUE); // stored as int64, as C's tl_local_set_int64 would
      assertEquals(Integer.MIN_VALUE, local.getLong("int").getAsLong());
      local.setUnsigned("u64", -1L);
      assertEquals(-1L, local.getUnsignedLong("u64").getAsLong());
      assertEquals("18446744073709551615", Long.toUnsignedString((Long) local.get("u64")));
      for (double d : new double[] {0.0, -0.0, 1.5, Double.MIN_VALUE, Double.MAX_VALUE,
          Double.NEGATIVE_INFINITY, Double.NaN}) {
        local.set("double", d);
        assertEquals(Double.doubleToRawLongBits(d),
            Double.doubleToRawLongBits(local.getDouble("double").getAsDouble()));
        assertEquals(d, local.get("double"));
      }
      local.set("yes", true);
      local.set("no", false);
      assertEquals(true, local.getBoolean("yes").get());
      assertEquals(false, local.getBoolean("no").get());
      assertEquals(Boolean.FALSE, local.get("no"));
      for (String s : new String[] {"", "plain", "grüße, 日本語, 🎉", "a\u0080b"}) {
        local.set("string", s);
        assertEquals(s, local.getString("string").get());
        assertEquals(s, local.get("string"));
      }
      byte[] bytes = {0, 1, (byte) 0xff, 0, 'a'};
      local.set("bytes", bytes);
      assertArrayEquals(bytes, local.getBytes("bytes").get());
      assertArrayEquals(bytes, (byte[]) local.get("bytes"));
      local.set("empty", new byte[0]);
      assertArrayEquals(new byte[0], local.getBytes("empty").get());
      // A key of any Unicode text.
      local.set("ключ 🔑", 7);
      assertEquals(7L, local.get("ключ 🔑"));
    }
  }

  @Test
  void absentKeysAreEmpty() {
    try (Local local = new Local()) {
      assertTrue(local.getLong("nothing").isEmpty());
      assertTrue(local.getUnsignedLong("nothing").isEmpty());
      assertTrue(local.getDouble("nothing").isEmpty());
      assertTrue(local.getBoolean("nothing").isEmpty());
      assertTrue(local.getString("nothing").isEmpty());
      assertTrue(local.getBytes("nothing").isEmpty());
      assertNull(local.get("nothing"));
      assertFalse(local.contains("nothing"));
      assertFalse(local.remove("nothing"));
      assertEquals(0, local.size());
      assertEquals(List.of(), local.keys());
    }
  }

  @Test
  void wrongTypeCarriesStatusAndCMessage() {
    try (Local local = new Local()) {
      local.set("s", "text");
      local.set("n", 5L);
      TlException e = assertThrows(TlException.class, () -> local.getLong("s"));
      assertEquals(TlException.TL_ERR_WRONG_TYPE, e.status());
      assertEquals("TL_ERR_WRONG_TYPE", e.statusName());
      // C's own message names both types, read on this thread right after the call.
      assertTrue(e.getMessage().contains("'s'") && e.getMessage().contains("'x'"), e.getMessage());
      assertEquals(TlException.TL_ERR_WRONG_TYPE,
          assertThrows(TlException.class, () -> local.getString("n")).status());
      assertEquals(TlException.TL_ERR_WRONG_TYPE,
          assertThrows(TlException.class, () -> local.getUnsignedLong("n")).status());
      assertEquals(TlException.TL_ERR_WRONG_TYPE,
          assertThrows(TlException.class, () -> local.getBytes("s")).status());
      assertEquals(TlException.TL_ERR_WRONG_TYPE,
          assertThrows(TlException.class, () -> local.getBoolean("n")).status());
      assertEquals(TlException.TL_ERR_WRONG_TYPE,
          assertThrows(TlException.class, () -> local.getDouble("n")).status());
      // A failed read leaves the value as it was.
      assertEquals("text", local.getString("s").get());
    }
  }

  @Test
  void badKeysAndStringsAreRefused() {
    try (Local local = new Local()) {
      TlException nul = assertThrows(TlException.class, () -> local.set("a\0b", 1));
      assertEquals(TlException.TL_ERR_INVALID_KEY, nul.status());
      assertTrue(nul.getMessage().contains("NUL"), nul.getMessage());
      assertEquals(TlException.TL_ERR_INVALID_KEY,
          assertThrows(TlException.class, () -> local.getLong("\ud800")).status());
      // A null key reaches C as NULL: C's status and message.
      TlException nullKey = assertThrows(TlException.class, () -> local.set((String) null, 1));
      assertEquals(TlException.TL_ERR_INVALID_KEY, nullKey.status());
      assertFalse(nullKey.getMessage().isEmpty());
      assertEquals(TlException.TL_ERR_INVALID_UTF8,
          assertThrows(TlException.class, () -> local.set("k", "a\0b")).status());
      assertEquals(TlException.TL_ERR_INVALID_UTF8,
          assertThrows(TlException.class, () -> local.set("k", "\udc00")).status());
      assertEquals(TlException.TL_ERR_INVALID_ARGUMENT,
          assertThrows(TlException.class, () -> local.set("k", (String) null)).status());
      assertEquals(TlException.TL_ERR_INVALID_ARGUMENT,
          assertThrows(TlException.class, () -> local.set("k", (byte[]) null)).status());
      assertEquals(0, local.size()); // nothing was stored by the failed calls
      assertEquals(TlException.TL_ERR_INVALID_KEY,
          assertThrows(TlException.class, () -> Local.open("x\0y")).status());
    }
  }

  @Test
  void dictionaryCalls() {
    try (Local local = new Local()) {
      local.set("b", 1);
      local.set("a", "two");
      local.set("c", true);
      assertEquals(List.of("b", "a", "c"), local.keys()); // insertion order
      assertEquals(3, local.size());
      assertTrue(local.contains("a"));
      assertTrue(local.remove("a"));
      assertFalse(local.contains("a"));
      assertEquals(List.of("b", "c"), local.keys());
      local.clear();
      assertEquals(0, local.size());
    }
  }

  @Test
  void closeTwiceIsSafeAndUseAfterCloseThrows() {
    Stats before = Stats.current();
    Local local = new Local();
    local.set("k", 1);
    assertEquals(before.locals() + 1, Stats.current().locals());
    local.close();
    assertTrue(local.isClosed());
    local.close();
    assertEquals(before.locals(), Stats.current().locals());
    assertEquals(before.values(), Stats.current().values());
    assertThrows(IllegalStateException.class, () -> local.set("k", 2));
    assertThrows(IllegalStateException.class, () -> local.getLong("k"));
    assertThrows(IllegalStateException.class, local::size);
    assertThrows(IllegalStateException.class, local::keys);
  }

  @Test
  void namedLocalSharedWithC() {
    try (Local a = Local.open(NAME); Local b = Local.open(NAME)) {
      a.set("request_id", "req-42 ✓");
      assertEquals("req-42 ✓", b.getString("request_id").get()); // one local, two handles
      assertEquals("req-42 ✓", Helper.readString(NAME, "request_id"));
      a.set("count", 41L);
      assertEquals(41L, Helper.readInt64(NAME, "count"));
      a.set("small", 3); // an int is an int64 to C too
      assertEquals(3L, Helper.readInt64(NAME, "small"));

      Helper.writeString(NAME, "reply", "ack from C");
      assertEquals("ack from C", a.getString("reply").get());
      Helper.writeParsed(NAME, "i32", null, "int32 -7");
      assertEquals(-7L, a.getLong("i32").getAsLong());
      assertEquals(-7L, a.get("i32"));
      Helper.writeParsed(NAME, "u32", null, "uint32 4294967295");
      assertEquals(4294967295L, a.getLong("u32").getAsLong());
      Helper.writeParsed(NAME, "byte", null, "byte 0xff");
      assertEquals(255L, a.getLong("byte").getAsLong());
      Helper.writeParsed(NAME, "u16", null, "uint16 65535");
      assertEquals(65535L, a.getLong("u16").getAsLong());
      Helper.writeParsed(NAME, "i16", null, "int16 -32768");
      assertEquals(-32768L, a.getLong("i16").getAsLong());
      Helper.writeParsed(NAME, "t", null, "uint64 18446744073709551615");
      assertEquals(-1L, a.getUnsignedLong("t").getAsLong());
      assertEquals(TlException.TL_ERR_WRONG_TYPE,
          assertThrows(TlException.class, () -> a.getLong("t")).status());
      Helper.writeParsed(NAME, "path", null, "objectpath '/org/x'");
      assertEquals("/org/x", a.getString("path").get());
      Helper.writeParsed(NAME, "list", null, "[1, 2]");
      TlException unmapped = assertThrows(TlException.class, () -> a.get("list"));
      assertEquals(TlException.TL_ERR_WRONG_TYPE, unmapped.status());
      assertTrue(unmapped.getMessage().contains("'ai'"), unmapped.getMessage());
      assertTrue(a.remove("list"));
    } finally {
      assertTrue(Local.unregister(NAME));
    }
    assertFalse(Local.unregister(NAME));
    try (Local fresh = Local.open(NAME)) { // a new local under the old name: empty
      assertEquals(0, fresh.size());
    } finally {
      Local.unregister(NAME);
    }
  }

  @Test
  void statusConstantsAreTheHeaders() throws IllegalAccessException {
    int seen = 0;
    for (Field field : TlException.class.getFields()) {
      if (Modifier.isStatic(field.getModifiers()) && field.getName().startsWith("TL_")) {
        assertEquals(field.getName(), Utf8.decode(LibTlslocal.tl_status_name(field.getInt(null))));
        seen++;
      }
    }
    assertEquals(11, seen);
    assertEquals("TL_UNKNOWN", Utf8.decode(LibTlslocal.tl_status_name(-11)));
  }

  @Test
  void library() {
    assertTrue(Local.libraryVersion().matches("1\\.\\d+\\.\\d+"), Local.libraryVersion());
    assertEquals(System.getenv("TLSLOCAL_LIBRARY"), Local.libraryPath());
    assertInstanceOf(Stats.class, Stats.current());
  }
}
