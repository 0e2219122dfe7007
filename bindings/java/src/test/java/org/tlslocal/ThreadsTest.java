// SPDX-License-Identifier: LGPL-2.1-or-later
package org.tlslocal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** Platform threads, which are OS threads: each sees its own dictionary, as C on it does. */
class ThreadsTest {
  private static final int THREADS = 8;
  private static final int ROUNDS = 20;

  interface Body {
    void run(int index) throws Exception;
  }

  /** Run body(index) on THREADS new platform threads; rethrow the first failure. */
  private static void onThreads(Body body) throws InterruptedException {
    ConcurrentLinkedQueue<Throwable> failures = new ConcurrentLinkedQueue<>();
    List<Thread> threads = new ArrayList<>();
    for (int i = 0; i < THREADS; i++) {
      int index = i;
      threads.add(new Thread(() -> {
        try {
          body.run(index);
        } catch (Throwable failure) {
          failures.add(failure);
        }
      }, "tlslocal-test-" + i));
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
  }

  /**
   * Wait (up to 10 s) for the count of threads holding library state to fall to at most limit: a
   * thread's exit cleanup runs after Thread.join() returns, and threads of earlier tests may still
   * be exiting when a test starts (so its starting count is an upper bound, not exact).
   */
  private static void threadsFallTo(long limit) {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (Stats.current().threads() > limit && System.nanoTime() < deadline) {
      try {
        Thread.sleep(5);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
    }
    long now = Stats.current().threads();
    assertTrue(now <= limit, "live threads: " + now + ", expected at most " + limit);
  }

  @Test
  void eachThreadSeesItsOwnDictionary() throws Exception {
    for (int round = 0; round < ROUNDS; round++) {
      try (Local local = new Local()) {
        local.set("who", "main");
        CyclicBarrier allSet = new CyclicBarrier(THREADS);
        onThreads(index -> {
          assertTrue(local.getString("who").isEmpty(), "a new thread starts empty");
          for (int i = 0; i < 50; i++) {
            local.set("who", "thread " + index);
            local.set("n", (long) index * 1000 + i);
            if (i == 0) {
              allSet.await(); // every thread has written before any reads
            }
            assertEquals("thread " + index, local.getString("who").get());
            assertEquals((long) index * 1000 + i, local.getLong("n").getAsLong());
          }
          assertEquals(2, local.size());
        });
        assertEquals("main", local.getString("who").get());
        assertEquals(1, local.size());
      }
    }
  }

  @Test
  void namedLocalSharedWithCOnEachThread() throws Exception {
    String name = "org.tlslocal.test.ThreadsTest";
    try {
      for (int round = 0; round < ROUNDS; round++) {
        onThreads(index -> {
          try (Local ctx = Local.open(name)) {
            for (int i = 0; i < 20; i++) {
              String id = "req-" + index + "-" + i;
              ctx.set("request_id", id);
              assertEquals(id, Helper.readString(name, "request_id")); // C, this thread
              Helper.writeString(name, "reply", "ack " + id);
              assertEquals("ack " + id, ctx.getString("reply").get());
            }
          }
        });
      }
    } finally {
      Local.unregister(name);
    }
  }

  @Test
  void errorMessagesArePerThread() throws Exception {
    try (Local local = new Local()) {
      onThreads(index -> {
        if (index % 2 == 0) {
          local.set("k", "text");
        } else {
          local.set("k", 1.5);
        }
        for (int i = 0; i < 200; i++) {
          TlException e = org.junit.jupiter.api.Assertions.assertThrows(TlException.class,
              () -> local.getLong("k"));
          assertEquals(TlException.TL_ERR_WRONG_TYPE, e.status());
          String mine = index % 2 == 0 ? "'s'" : "'d'";
          assertTrue(e.getMessage().contains(mine), e.getMessage());
        }
      });
    }
  }

  @Test
  void poolThreadsKeepTheirDictionaryUntilThreadClear() throws Exception {
    ExecutorService pool = Executors.newSingleThreadExecutor();
    try (Local local = new Local()) {
      for (int round = 0; round < ROUNDS; round++) {
        long firstThread = pool.submit(() -> {
          local.set("user", "alice");
          return LibTlslocal.tl_thread_id();
        }).get();
        // The next task runs on the same OS thread and sees the previous task's values.
        Optional<String> leaked = pool.submit(() -> local.getString("user")).get();
        assertEquals(Optional.of("alice"), leaked);
        assertEquals(firstThread, (long) pool.submit(LibTlslocal::tl_thread_id).get());
        // The rule: Local.threadClear() between tasks.
        pool.submit(Local::threadClear).get();
        assertEquals(Optional.empty(), pool.submit(() -> local.getString("user")).get());
        assertEquals(firstThread, (long) pool.submit(LibTlslocal::tl_thread_id).get());
      }
    } finally {
      pool.shutdown();
      assertTrue(pool.awaitTermination(10, TimeUnit.SECONDS));
    }
  }

  @Test
  void threadClearEmptiesEveryLocalOfTheThread() throws Exception {
    try (Local a = new Local(); Local b = new Local()) {
      onThreads(index -> {
        for (int i = 0; i < 20; i++) {
          a.set("x", i);
          b.set("y", "v" + i);
          Local.threadClear();
          assertFalse(a.contains("x"));
          assertFalse(b.contains("y"));
          assertEquals(0, a.size());
        }
        b.set("after", true); // usable again after a clear
        assertTrue(b.getBoolean("after").get());
      });
    }
  }

  @Test
  void nothingLeaksAfterCloseAndThreadExit() throws Exception {
    Local.threadClear(); // this thread's own leftovers from other tests
    try {
      threadsFallTo(1); // let earlier tests' threads finish exiting, for a tight baseline
    } catch (AssertionError stillExiting) {
      // the baseline is then an upper bound, which the checks below allow for
    }
    Stats before = Stats.current();
    for (int round = 0; round < ROUNDS; round++) {
      try (Local kept = new Local(); Local local = Local.open("org.tlslocal.test.leak")) {
        onThreads(index -> {
          local.set("s", "value " + index);
          local.set("b", new byte[] {1, 2, 3});
          kept.set("n", index);
        });
        local.set("main", 1);
        // Threads gone: their dictionaries go with them (the exit runs after join returns).
        threadsFallTo(Math.max(before.threads(), 1));
        assertEquals(before.dicts() + 1, Stats.current().dicts()); // main's, of local
      } finally {
        Local.unregister("org.tlslocal.test.leak");
      }
      Local.threadClear();
    }
    Stats after = Stats.current();
    assertEquals(before.locals(), after.locals(), "live locals");
    assertEquals(before.dicts(), after.dicts(), "live dictionaries");
    assertEquals(before.values(), after.values(), "live values");
    threadsFallTo(before.threads());
  }

  @Test
  void closeWhileOtherThreadsUseItNeverCrashes() throws Exception {
    Stats before = Stats.current();
    for (int round = 0; round < ROUNDS; round++) {
      Local local = new Local();
      CyclicBarrier start = new CyclicBarrier(THREADS + 1);
      List<Thread> users = new ArrayList<>();
      ConcurrentLinkedQueue<Throwable> failures = new ConcurrentLinkedQueue<>();
      for (int i = 0; i < THREADS; i++) {
        Thread thread = new Thread(() -> {
          try {
            start.await();
            for (int n = 0; ; n++) {
              local.set("n", n);
              local.getLong("n");
            }
          } catch (IllegalStateException closed) {
            // expected once close() ran
          } catch (Throwable failure) {
            failures.add(failure);
          }
        });
        users.add(thread);
        thread.start();
      }
      start.await();
      Thread.sleep(2);
      local.close();
      for (Thread thread : users) {
        thread.join();
      }
      assertTrue(failures.isEmpty(), failures.toString());
    }
    assertEquals(before.locals(), Stats.current().locals(), "live locals");
  }

  @Test
  void anUnclosedLocalIsReleasedByTheCleaner() {
    long locals = Stats.current().locals();
    for (int i = 0; i < 10; i++) {
      new Local().set("k", i); // never closed
    }
    assertNotEquals(locals, Stats.current().locals());
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (Stats.current().locals() != locals && System.nanoTime() < deadline) {
      System.gc();
      try {
        Thread.sleep(20);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        break;
      }
    }
    assertEquals(locals, Stats.current().locals());
  }
}
