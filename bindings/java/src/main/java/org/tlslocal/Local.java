// SPDX-License-Identifier: LGPL-2.1-or-later
package org.tlslocal;

import static org.tlslocal.TlException.TL_ERR_INVALID_ARGUMENT;
import static org.tlslocal.TlException.TL_ERR_INVALID_KEY;
import static org.tlslocal.TlException.TL_ERR_INVALID_UTF8;
import static org.tlslocal.TlException.TL_ERR_NOT_FOUND;
import static org.tlslocal.TlException.TL_ERR_WRONG_TYPE;
import static org.tlslocal.TlException.TL_OK;

import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.Pointer;
import com.sun.jna.ptr.PointerByReference;
import java.lang.ref.Cleaner;
import java.lang.ref.Reference;
import java.util.List;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.OptionalLong;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A libtlslocal local (a {@code TlLocal *}): one dictionary per OS thread, string keys to typed
 * values. Every read and write acts on the <em>calling</em> thread's dictionary, the one C code
 * called on that thread sees through the same local.
 *
 * <p>A {@code Local} holds one reference to the C local; {@link #close()} drops it (idempotent).
 * The last reference gone, every thread's dictionary of the local is freed at once. A Local that
 * becomes unreachable unclosed is closed by a {@link Cleaner} (a safety net, at a time the garbage
 * collector picks). A Local may be shared by any number of threads; {@code close()} while another
 * thread is inside a call waits for nothing: the C reference is dropped when that call returns.
 * Use after {@code close()} throws {@link IllegalStateException}.
 *
 * <p>Failures throw {@link TlException} with C's status and message.
 */
public final class Local implements AutoCloseable {
  private static final Cleaner CLEANER = Cleaner.create();
  /**
   * Each thread's out-parameter for the borrowed strings reads return, read at once: a
   * PointerByReference per read would allocate native memory and a cleaner every time.
   */
  private static final ThreadLocal<PointerByReference> OUT_STRING =
      ThreadLocal.withInitial(PointerByReference::new);

  private final Handle handle;
  private final Cleaner.Cleanable cleanable;

  /** A new local, in no thread's dictionary yet ({@code tl_local_new}). */
  public Local() {
    this(checked(LibTlslocal.tl_local_new()));
  }

  private Local(Pointer pointer) {
    handle = new Handle(pointer);
    cleanable = CLEANER.register(this, handle);
  }

  /**
   * The process-wide local registered under {@code name} ({@code tl_local_open}), created on first
   * use: C code calling {@code tl_local_open(name)} gets the same local. Each call returns a new
   * Local with its own reference; close each.
   */
  public static Local open(String name) {
    byte[] encoded = Utf8.encode(name, TL_ERR_INVALID_KEY, "local name");
    return new Local(checked(LibTlslocal.tl_local_open(encoded)));
  }

  /**
   * Forget a name ({@code tl_local_unregister}): open Locals stay valid, a later {@code open(name)}
   * makes a new local. @return false if no local had that name.
   */
  public static boolean unregister(String name) {
    int status = LibTlslocal.tl_local_unregister(Utf8.encode(name, TL_ERR_INVALID_KEY, "name"));
    if (status == TL_ERR_NOT_FOUND) {
      return false;
    }
    check(status);
    return true;
  }

  /**
   * Free every dictionary of the calling thread, in every local ({@code tl_thread_clear}), as the
   * thread's exit would: call it between two tasks on a reused thread (an ExecutorService's).
   */
  public static void threadClear() {
    LibTlslocal.tl_thread_clear();
  }

  /** The version of the C library loaded ({@code tl_version}), e.g. "1.0.0". */
  public static String libraryVersion() {
    return Utf8.decode(LibTlslocal.tl_version());
  }

  /** The file (or name) of the C library loaded: $TLSLOCAL_LIBRARY or JNA's search. */
  public static String libraryPath() {
    return LibTlslocal.LIBRARY;
  }

  // ---- Writes: each is one typed setter of C; by quark, with the quark's name encoded once ----

  /** Store a long as int64 ("x"). */
  public void set(String key, long value) {
    setLong(key(key), value);
  }

  /** As {@link #set(String, long)}, by quark. */
  public void set(Quark key, long value) {
    setLong(key.encoded(), value);
  }

  /** Store an int as int64 ("x"), as {@code set(key, (long) value)}: C reads int64 either way. */
  public void set(String key, int value) {
    setLong(key(key), value);
  }

  /** As {@link #set(String, int)}, by quark. */
  public void set(Quark key, int value) {
    setLong(key.encoded(), value);
  }

  /** Store value's 64 bits as uint64 ("t"), Java's unsigned convention (Long.toUnsignedString). */
  public void setUnsigned(String key, long value) {
    byte[] k = key(key);
    Pointer local = handle.acquire();
    try {
      check(LibTlslocal.tl_local_set_uint64(local, k, value));
    } finally {
      release();
    }
  }

  /** Store a double ("d"). */
  public void set(String key, double value) {
    setDouble(key(key), value);
  }

  /** As {@link #set(String, double)}, by quark. */
  public void set(Quark key, double value) {
    setDouble(key.encoded(), value);
  }

  /** Store a boolean ("b"). */
  public void set(String key, boolean value) {
    setBoolean(key(key), value);
  }

  /** As {@link #set(String, boolean)}, by quark. */
  public void set(Quark key, boolean value) {
    setBoolean(key.encoded(), value);
  }

  /**
   * Store a string ("s"), as UTF-8. A NUL character or an unpaired surrogate cannot travel as a C
   * string: TL_ERR_INVALID_UTF8 (store such data as bytes). null: C's TL_ERR_INVALID_ARGUMENT.
   */
  public void set(String key, String value) {
    setString(key(key), value);
  }

  /** As {@link #set(String, String)}, by quark. */
  public void set(Quark key, String value) {
    setString(key.encoded(), value);
  }

  /** Store a copy of the bytes ("ay"), NULs included. null: TL_ERR_INVALID_ARGUMENT. */
  public void set(String key, byte[] value) {
    byte[] k = key(key);
    if (value == null) {
      throw new TlException(TL_ERR_INVALID_ARGUMENT, "byte[] value is null");
    }
    Pointer local = handle.acquire();
    try {
      Pointer made = LibTlslocal.tl_value_new_bytes(value, new SizeT(value.length));
      if (made == null) {
        throw TlException.last();
      }
      check(LibTlslocal.tl_local_set_take(local, k, made)); // takes made, even on failure
    } finally {
      release();
    }
  }

  private void setLong(byte[] k, long value) {
    Pointer local = handle.acquire();
    try {
      check(LibTlslocal.tl_local_set_int64(local, k, value));
    } finally {
      release();
    }
  }

  private void setDouble(byte[] k, double value) {
    Pointer local = handle.acquire();
    try {
      check(LibTlslocal.tl_local_set_double(local, k, value));
    } finally {
      release();
    }
  }

  private void setBoolean(byte[] k, boolean value) {
    Pointer local = handle.acquire();
    try {
      check(LibTlslocal.tl_local_set_bool(local, k, value ? 1 : 0));
    } finally {
      release();
    }
  }

  private void setString(byte[] k, String value) {
    byte[] v = Utf8.encode(value, TL_ERR_INVALID_UTF8, "string value");
    Pointer local = handle.acquire();
    try {
      check(LibTlslocal.tl_local_set_string(local, k, v));
    } finally {
      release();
    }
  }

  // ---- Reads: empty when this thread has no such key; TL_ERR_WRONG_TYPE for another type. Each
  // is one C call (tl_local_get_<type>, tl_local_get_scalar), the value copied out at once. ----

  /**
   * A signed integer: int64 ("x"), or one of the narrower types every value of which a long holds
   * (byte "y", int16 "n", uint16 "q", int32 "i", uint32 "u"). A uint64 ("t") is
   * TL_ERR_WRONG_TYPE: read it with {@link #getUnsignedLong}.
   */
  public OptionalLong getLong(String key) {
    return getLong(key(key));
  }

  /** As {@link #getLong(String)}, by quark. */
  public OptionalLong getLong(Quark key) {
    return getLong(key.encoded());
  }

  /** A uint64 ("t") as a long holding its 64 bits (Java's unsigned convention). */
  public OptionalLong getUnsignedLong(String key) {
    byte[] k = key(key);
    Pointer local = handle.acquire();
    try {
      long[] out = new long[1];
      return found(LibTlslocal.tl_local_get_uint64(local, k, out))
          ? OptionalLong.of(out[0]) : OptionalLong.empty();
    } finally {
      release();
    }
  }

  /** A double ("d"). */
  public OptionalDouble getDouble(String key) {
    byte[] k = key(key);
    Pointer local = handle.acquire();
    try {
      double[] out = new double[1];
      return found(LibTlslocal.tl_local_get_double(local, k, out))
          ? OptionalDouble.of(out[0]) : OptionalDouble.empty();
    } finally {
      release();
    }
  }

  /** A boolean ("b"). */
  public Optional<Boolean> getBoolean(String key) {
    byte[] k = key(key);
    Pointer local = handle.acquire();
    try {
      int[] out = new int[1];
      return found(LibTlslocal.tl_local_get_bool(local, k, out))
          ? Optional.of(out[0] != 0) : Optional.empty();
    } finally {
      release();
    }
  }

  /** A string ("s", or a D-Bus object path "o" or signature "g"), decoded from UTF-8. */
  public Optional<String> getString(String key) {
    return getString(key(key));
  }

  /** As {@link #getString(String)}, by quark. */
  public Optional<String> getString(Quark key) {
    return getString(key.encoded());
  }

  /** A byte string ("ay"), copied. */
  public Optional<byte[]> getBytes(String key) {
    byte[] k = key(key);
    Pointer local = handle.acquire();
    try {
      Pointer value = peek(local, k);
      return value == null ? Optional.empty() : Optional.of(readBytes(value));
    } finally {
      release();
    }
  }

  /**
   * The value under key as the Java object of its type, or null when this thread has no such key:
   * Boolean ("b"), Long (every integer type; a uint64 "t" as its 64 bits), Double ("d"), String
   * ("s", "o", "g"), byte[] ("ay"). Any other type (containers, maybes, pointer values, handles)
   * has no Java mapping here: TL_ERR_WRONG_TYPE naming it.
   */
  public Object get(String key) {
    return get(key(key), key);
  }

  /** As {@link #get(String)}, by quark. */
  public Object get(Quark key) {
    return get(key.encoded(), key.name());
  }

  /** Remove key from this thread's dictionary by quark. @return false if it was not there. */
  public boolean remove(Quark key) {
    Pointer local = handle.acquire();
    try {
      return found(LibTlslocal.tl_local_delete_quark(local, key.id()));
    } finally {
      release();
    }
  }

  private OptionalLong getLong(byte[] k) {
    Pointer local = handle.acquire();
    try {
      int[] type = new int[1];
      long[] bits = new long[1];
      if (!found(LibTlslocal.tl_local_get_scalar(local, k, type, bits, null))) {
        return OptionalLong.empty();
      }
      switch (type[0]) {
        case 'y': case 'n': case 'q': case 'i': case 'u': case 'x':
          return OptionalLong.of(bits[0]); // each widened to int64 by C, unsigned ones unsigned
        default: // not a signed integer: C's own TL_ERR_WRONG_TYPE and message
          check(LibTlslocal.tl_local_get_int64(local, k, bits));
          throw new TlException(TL_ERR_WRONG_TYPE, "the value is not an integer");
      }
    } finally {
      release();
    }
  }

  private Optional<String> getString(byte[] k) {
    Pointer local = handle.acquire();
    try {
      PointerByReference out = OUT_STRING.get();
      // Borrowed until this thread changes the key: decoded (copied) at once.
      return found(LibTlslocal.tl_local_get_string(local, k, out))
          ? Optional.of(Utf8.decode(out.getValue())) : Optional.empty();
    } finally {
      release();
    }
  }

  /** get() of k (name for messages): a basic value in one call, bytes in two. */
  private Object get(byte[] k, String name) {
    Pointer local = handle.acquire();
    try {
      int[] type = new int[1];
      long[] bits = new long[1];
      PointerByReference string = OUT_STRING.get();
      if (!found(LibTlslocal.tl_local_get_scalar(local, k, type, bits, string))) {
        return null;
      }
      switch (type[0]) {
        case 'b':
          return bits[0] != 0;
        case 'y': case 'n': case 'q': case 'i': case 'u': case 'x': case 't':
          return bits[0];
        case 'd':
          return Double.longBitsToDouble(bits[0]);
        case 's': case 'o': case 'g':
          return Utf8.decode(string.getValue()); // borrowed: decoded at once
        case 'h':
          throw unmapped(name, "h");
        default: // not a basic value: bytes, or what Java does not map
          Pointer value = peek(local, k);
          String typeString = Utf8.decode(LibTlslocal.tl_value_type(value));
          if (!typeString.equals("ay")) {
            throw unmapped(name, typeString);
          }
          return readBytes(value);
      }
    } finally {
      release();
    }
  }

  private static TlException unmapped(String key, String type) {
    return new TlException(TL_ERR_WRONG_TYPE, "value of key '" + key + "' has type '" + type
        + "', which has no Java mapping in this binding");
  }

  // ---- The dictionary ----

  /** Whether this thread's dictionary has key. */
  public boolean contains(String key) {
    byte[] k = key(key);
    Pointer local = handle.acquire();
    try {
      int result = LibTlslocal.tl_local_contains(local, k);
      check(result < 0 ? result : TL_OK);
      return result == 1;
    } finally {
      release();
    }
  }

  /** Remove key from this thread's dictionary. @return false if it was not there. */
  public boolean remove(String key) {
    byte[] k = key(key);
    Pointer local = handle.acquire();
    try {
      return found(LibTlslocal.tl_local_delete(local, k));
    } finally {
      release();
    }
  }

  /** The number of keys in this thread's dictionary. */
  public long size() {
    Pointer local = handle.acquire();
    try {
      Memory out = new Memory(Native.SIZE_T_SIZE);
      check(LibTlslocal.tl_local_size(local, out));
      return readSize(out);
    } finally {
      release();
    }
  }

  /** Remove every key of this thread's dictionary. */
  public void clear() {
    Pointer local = handle.acquire();
    try {
      check(LibTlslocal.tl_local_clear(local));
    } finally {
      release();
    }
  }

  /** This thread's keys, in insertion order (a copy). */
  public List<String> keys() {
    Pointer local = handle.acquire();
    try {
      PointerByReference out = new PointerByReference();
      check(LibTlslocal.tl_local_keys(local, out, null));
      Pointer strings = out.getValue();
      try {
        return List.of(strings.getStringArray(0, "UTF-8"));
      } finally {
        LibTlslocal.tl_strv_free(strings);
      }
    } finally {
      release();
    }
  }

  /** Whether close() was called (or the Cleaner ran). */
  public boolean isClosed() {
    return handle.isClosed();
  }

  /** Drop this Local's reference to the C local ({@code tl_local_unref}). Idempotent. */
  @Override
  public void close() {
    cleanable.clean(); // runs Handle.run() at most once
  }

  // ---- Marshalling ----

  private void release() {
    handle.release();
    Reference.reachabilityFence(this); // no Cleaner run while a call is inside C
  }

  private static byte[] key(String key) {
    return Utf8.encode(key, TL_ERR_INVALID_KEY, "key");
  }

  private static Pointer checked(Pointer made) {
    if (made == null) {
      throw TlException.last();
    }
    return made;
  }

  private static void check(int status) {
    if (status != TL_OK) {
      throw TlException.last(status);
    }
  }

  /** false for TL_ERR_NOT_FOUND, true for TL_OK; throws for any other status. */
  private static boolean found(int status) {
    if (status == TL_ERR_NOT_FOUND) {
      return false;
    }
    check(status);
    return true;
  }

  /** The borrowed value under key, or null when absent; valid until this thread changes it. */
  private static Pointer peek(Pointer local, byte[] key) {
    Pointer value = LibTlslocal.tl_local_peek(local, key);
    if (value == null) {
      int status = LibTlslocal.tl_last_error();
      if (status != TL_ERR_NOT_FOUND) {
        throw TlException.last(status);
      }
    }
    return value;
  }

  private static byte[] readBytes(Pointer value) {
    PointerByReference data = new PointerByReference();
    Memory size = new Memory(Native.SIZE_T_SIZE);
    check(LibTlslocal.tl_value_get_bytes(value, data, size));
    long n = readSize(size);
    return n == 0 ? new byte[0] : data.getValue().getByteArray(0, Math.toIntExact(n));
  }

  private static long readSize(Memory out) {
    return Native.SIZE_T_SIZE == 8 ? out.getLong(0) : out.getInt(0) & 0xFFFFFFFFL;
  }

  /**
   * The C reference and the calls inside C now: bit CLOSED once closed, below it the number of
   * calls in progress. The reference is dropped by whoever leaves the state at exactly CLOSED
   * (close() with no call in progress, or the last such call), so exactly once and never under a
   * running call. Holds no reference to the Local, as the Cleaner's action must not.
   */
  private static final class Handle implements Runnable {
    private static final long CLOSED = 1L << 62;
    private final Pointer pointer;
    private final AtomicLong state = new AtomicLong();

    Handle(Pointer pointer) {
      this.pointer = pointer;
    }

    Pointer acquire() {
      while (true) {
        long now = state.get();
        if ((now & CLOSED) != 0) {
          throw new IllegalStateException("this tlslocal Local is closed");
        }
        if (state.compareAndSet(now, now + 1)) {
          return pointer;
        }
      }
    }

    void release() {
      if (state.decrementAndGet() == CLOSED) {
        LibTlslocal.tl_local_unref(pointer);
      }
    }

    boolean isClosed() {
      return (state.get() & CLOSED) != 0;
    }

    @Override
    public void run() { // close(), or the Cleaner
      long before = state.getAndUpdate(now -> now | CLOSED);
      if (before == 0) {
        LibTlslocal.tl_local_unref(pointer);
      }
    }
  }
}
