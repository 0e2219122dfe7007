// SPDX-License-Identifier: LGPL-2.1-or-later
package org.tlslocal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import org.junit.jupiter.api.Test;

/** Interned keys: one key with their string both ways, errors, and many threads at once. */
class QuarkTest {
  private static final String NAME = "org.tlslocal.test.QuarkTest";
  private static final Quark REQUEST_ID = Quark.of("java-request-id");

  @Test
  void aQuarkAndItsStringAreOneKey() {
    assertEquals(REQUEST_ID, Quark.of("java-request-id"));
    assertEquals(REQUEST_ID.hashCode(), Quark.of("java-request-id").hashCode());
    assertNotEquals(REQUEST_ID, Quark.of("java-other"));
    assertEquals("java-request-id", REQUEST_ID.name());
    assertEquals("Quark(java-request-id)", REQUEST_ID.toString());
    try (Local local = new Local()) {
      local.set(REQUEST_ID, "req-1 ✓");
      assertEquals("req-1 ✓", local.getString("java-request-id").get());
      assertEquals("req-1 ✓", local.get(REQUEST_ID));
      local.set("java-request-id", 42L);
      assertEquals(OptionalLong.of(42), local.getLong(REQUEST_ID));
      assertEquals(42L, local.get(REQUEST_ID));
      local.set(REQUEST_ID, Long.MIN_VALUE);
      assertEquals(Long.MIN_VALUE, local.getLong("java-request-id").getAsLong());
      local.set(REQUEST_ID, 7);
      assertEquals(7L, local.get("java-request-id"));
      local.set(REQUEST_ID, 0.25);
      assertEquals(0.25, local.getDouble("java-request-id").getAsDouble());
      assertEquals(0.25, local.get(REQUEST_ID));
      local.set(REQUEST_ID, true);
      assertEquals(true, local.getBoolean("java-request-id").get());
      assertEquals(Boolean.TRUE, local.get(REQUEST_ID));
      local.set("java-request-id", new byte[] {0, 1, (byte) 0xff});
      assertArrayEquals(new byte[] {0, 1, (byte) 0xff}, (byte[]) local.get(REQUEST_ID));
      assertEquals(1, local.size());

      assertTrue(local.remove(REQUEST_ID));
      assertFalse(local.remove(REQUEST_ID));
      assertFalse(local.contains("java-request-id"));
      assertNull(local.get(REQUEST_ID));
      assertEquals(OptionalLong.empty(), local.getLong(REQUEST_ID));
      assertTrue(local.getString(REQUEST_ID).isEmpty());
    }
  }

  @Test
  void errorsByQuarkAreThoseOfStringKeys() {
    for (String bad : new String[] {null, "a\0b", "\uD800"}) {
      TlException e = assertThrows(TlException.class, () -> Quark.of(bad));
      assertEquals(TlException.TL_ERR_INVALID_KEY, e.status(), String.valueOf(bad));
      assertFalse(e.getMessage().isEmpty());
    }
    try (Local local = Local.open(NAME)) {
      local.set(REQUEST_ID, "text");
      TlException wrong = assertThrows(TlException.class, () -> local.getLong(REQUEST_ID));
      assertEquals(TlException.TL_ERR_WRONG_TYPE, wrong.status());
      // C's own message, naming both types, as for a string key.
      assertTrue(wrong.getMessage().contains("'s'") && wrong.getMessage().contains("'x'"),
          wrong.getMessage());
      assertEquals(TlException.TL_ERR_INVALID_UTF8,
          assertThrows(TlException.class, () -> local.set(REQUEST_ID, "a\0b")).status());
      assertEquals("text", local.getString(REQUEST_ID).get());
      Helper.writeParsed(NAME, "java-request-id", null, "[1, 2]");
      TlException unmapped = assertThrows(TlException.class, () -> local.get(REQUEST_ID));
      assertEquals(TlException.TL_ERR_WRONG_TYPE, unmapped.status());
      assertTrue(unmapped.getMessage().contains("'ai'"), unmapped.getMessage());
      Helper.writeParsed(NAME, "java-request-id", "h", "3");
      assertEquals(TlException.TL_ERR_WRONG_TYPE,
          assertThrows(TlException.class, () -> local.get(REQUEST_ID)).status());
      local.clear();
    } finally {
      assertTrue(Local.unregister(NAME));
    }
  }

  @Test
  void manyThreadsInternAndWriteAtOnce() throws Exception {
    try (Local local = new Local()) {
      for (int round = 0; round < 20; round++) {
        Set<Quark> common = ConcurrentHashMap.newKeySet();
        ConcurrentLinkedQueue<Throwable> failures = new ConcurrentLinkedQueue<>();
        List<Thread> threads = new ArrayList<>();
        for (int t = 0; t < 8; t++) {
          int index = t;
          String own = "java-quark-r" + round + "-t" + t;
          threads.add(new Thread(() -> {
            try {
              Quark key = Quark.of("java-quark-common");
              common.add(key);
              Quark mine = Quark.of(own);
              for (long i = 0; i < 20; i++) {
                local.set(key, index * 1000 + i);
                local.set(mine, own);
                assertEquals(index * 1000 + i, local.getLong("java-quark-common").getAsLong());
                assertEquals(own, local.getString(own).get());
                assertEquals(own, local.get(mine));
              }
              assertTrue(local.remove(mine));
              assertEquals(List.of("java-quark-common"), local.keys());
            } catch (Throwable failure) {
              failures.add(failure);
            }
          }));
        }
        threads.forEach(Thread::start);
        for (Thread thread : threads) {
          thread.join();
        }
        if (!failures.isEmpty()) {
          AssertionError error = new AssertionError(failures.size() + " thread(s) failed");
          failures.forEach(error::addSuppressed);
          throw error;
        }
        assertEquals(1, common.size(), "one name, one quark, whichever thread interned it first");
      }
      assertNull(local.get(Quark.of("java-quark-common"))); // this thread never wrote it
    }
  }
}
