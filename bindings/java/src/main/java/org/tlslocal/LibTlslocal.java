// SPDX-License-Identifier: LGPL-2.1-or-later
package org.tlslocal;

import com.sun.jna.Native;
import com.sun.jna.NativeLibrary;
import com.sun.jna.Pointer;
import com.sun.jna.ptr.PointerByReference;

/**
 * The one table of C prototypes: JNA's direct mapping ({@link Native#register}) of the functions
 * of tlslocal.h this binding calls, in the header's order and under its names. Marshalling only.
 *
 * <p>Strings go in as {@code byte[]}, NUL-terminated UTF-8 made by {@link Utf8}, and come out as
 * {@link Pointer}s read as UTF-8, so the JVM's default charset and {@code jna.encoding} never
 * decide how a key travels. {@code size_t} is {@link SizeT}; unsigned integers are Java's signed
 * types of the same width, their C type in a {@link CType} annotation. The functions of the header
 * left out, and why, are listed in {@link #NOT_BOUND} (the prototypes check compares both with the
 * header).
 *
 * <p>The library: {@code $TLSLOCAL_LIBRARY} (a path) when set, else {@code tlslocal} through
 * JNA's search ({@code -Djna.library.path}, then the system's: {@code libtlslocal.so}).
 */
final class LibTlslocal {
  private LibTlslocal() {}

  /** Where the library came from, for error messages and the README's "which library?" */
  static final String LIBRARY;

  static {
    String path = System.getenv("TLSLOCAL_LIBRARY");
    NativeLibrary library =
        NativeLibrary.getInstance(path != null && !path.isEmpty() ? path : "tlslocal");
    Native.register(LibTlslocal.class, library);
    LIBRARY = library.getFile() != null ? library.getFile().getPath() : library.getName();
    // The same ABI (major version) as the binding was written for: 1.1.0 or newer, 1.x.
    if (tl_version_check(1, 1, 0) == 0) {
      throw new UnsatisfiedLinkError(LIBRARY + " is libtlslocal "
          + tl_version().getString(0, "UTF-8") + ", this binding needs 1.x (x >= 1)");
    }
  }

  // ---- Version and errors ----
  static native Pointer tl_version();

  static native int tl_version_check(@CType("unsigned int") int major,
      @CType("unsigned int") int minor, @CType("unsigned int") int micro);

  static native Pointer tl_strerror(int status);

  static native Pointer tl_status_name(int status);

  static native Pointer tl_last_error_message();

  static native int tl_last_error();

  // ---- Locals ----
  static native Pointer tl_local_new();

  static native Pointer tl_local_open(byte[] name);

  static native int tl_local_unregister(byte[] name);

  static native Pointer tl_local_ref(Pointer local);

  static native void tl_local_unref(Pointer local);

  static native int tl_local_set_take(Pointer local, byte[] key, Pointer value);

  static native int tl_local_set_bool(Pointer local, byte[] key, int value);

  static native int tl_local_set_int64(Pointer local, byte[] key, long value);

  static native int tl_local_set_uint64(Pointer local, byte[] key, @CType("uint64_t") long value);

  static native int tl_local_set_double(Pointer local, byte[] key, double value);

  static native int tl_local_set_string(Pointer local, byte[] key, byte[] value);

  static native Pointer tl_local_peek(Pointer local, byte[] key);

  static native int tl_local_get_bool(Pointer local, byte[] key, int[] out);

  static native int tl_local_get_int64(Pointer local, byte[] key, long[] out);

  static native int tl_local_get_uint64(
      Pointer local, byte[] key, @CType("uint64_t *") long[] out);

  static native int tl_local_get_double(Pointer local, byte[] key, double[] out);

  static native int tl_local_get_string(Pointer local, byte[] key, PointerByReference out);

  static native int tl_local_get_scalar(Pointer local, byte[] key, int[] outType,
      @CType("uint64_t *") long[] outBits, PointerByReference outString);

  static native int tl_local_delete(Pointer local, byte[] key);

  static native int tl_local_contains(Pointer local, byte[] key);

  static native int tl_local_size(Pointer local, Pointer outSize);

  static native int tl_local_clear(Pointer local);

  static native int tl_local_keys(Pointer local, PointerByReference outKeys, Pointer outNKeys);

  // ---- Interned keys ----
  @CType("uint32_t")
  static native int tl_quark_from_string(byte[] string);

  static native int tl_local_delete_quark(Pointer local, @CType("uint32_t") int key);

  // ---- Values: the one constructor the setters lack, and the checked accessors ----
  static native Pointer tl_value_new_bytes(byte[] data, SizeT size);

  static native void tl_value_unref(Pointer value);

  static native Pointer tl_value_type(Pointer value);

  static native int tl_value_get_bytes(
      Pointer value, PointerByReference outData, Pointer outSize);

  // ---- Introspection, threads and memory ----
  static native SizeT tl_stats_live_locals();

  static native SizeT tl_stats_live_dicts();

  static native SizeT tl_stats_live_threads();

  static native SizeT tl_stats_live_values();

  @CType("uint64_t")
  static native long tl_thread_id();

  static native void tl_thread_clear();

  static native void tl_strv_free(Pointer strings);

  /** The header's functions this binding leaves out, each with the reason. */
  static final String[][] NOT_BOUND = {
    {"tl_local_new_full", "per-thread initializers are C callbacks run on whatever thread first "
        + "touches the local; a Java one would attach foreign threads to the JVM: not offered"},
    {"tl_local_new_with_args", "an initializer of C's own, called through libffi: not offered"},
    {"tl_local_set", "the binding stores with the typed setters and tl_local_set_take; it never "
        + "keeps a TlValue of its own"},
    {"tl_local_get", "reads copy the value out at once, on the same thread: no reference needed"},
    {"tl_local_foreach", "a callback; keys() and the getters give the same"},
    {"tl_local_set_exit_hook", "a callback run on exiting threads: not offered"},
    {"tl_local_visit", "a callback across threads: not offered"},
    {"tl_local_snapshot", "context hand-off (snapshot/apply) is not in the Java API"},
    {"tl_local_apply", "context hand-off (snapshot/apply) is not in the Java API"},
    {"tl_value_new_bool", "the Java API stores scalars with the typed tl_local_set_* setters"},
    {"tl_value_new_byte", "Java integers are stored as int64 (tl_local_set_int64)"},
    {"tl_value_new_int16", "Java integers are stored as int64 (tl_local_set_int64)"},
    {"tl_value_new_uint16", "Java integers are stored as int64 (tl_local_set_int64)"},
    {"tl_value_new_int32", "Java integers are stored as int64 (tl_local_set_int64)"},
    {"tl_value_new_uint32", "Java integers are stored as int64 (tl_local_set_int64)"},
    {"tl_value_new_int64", "the typed setter tl_local_set_int64 does it in one call"},
    {"tl_value_new_uint64", "the typed setter tl_local_set_uint64 does it in one call"},
    {"tl_value_new_double", "the typed setter tl_local_set_double does it in one call"},
    {"tl_value_new_handle", "D-Bus handles have no Java mapping"},
    {"tl_value_new_string", "the typed setter tl_local_set_string does it in one call"},
    {"tl_value_new_pointer", "a destroy callback; Java objects cannot be handed to C this way"},
    {"tl_value_new_tuple", "containers have no Java mapping in this binding"},
    {"tl_value_new_array", "containers have no Java mapping in this binding"},
    {"tl_value_new_maybe", "containers have no Java mapping in this binding"},
    {"tl_value_new_vardict", "containers have no Java mapping in this binding"},
    {"tl_value_parse", "GVariant text has no Java mapping in this binding"},
    {"tl_value_print", "GVariant text has no Java mapping in this binding"},
    {"tl_value_ref", "values are only peeked (borrowed) and copied out"},
    {"tl_value_equal", "values are compared as Java objects once copied out"},
    {"tl_value_get_bool", "reads are one call each: tl_local_get_<type>, tl_local_get_scalar"},
    {"tl_value_get_byte", "reads are one call each: tl_local_get_<type>, tl_local_get_scalar"},
    {"tl_value_get_int16", "reads are one call each: tl_local_get_<type>, tl_local_get_scalar"},
    {"tl_value_get_uint16", "reads are one call each: tl_local_get_<type>, tl_local_get_scalar"},
    {"tl_value_get_int32", "reads are one call each: tl_local_get_<type>, tl_local_get_scalar"},
    {"tl_value_get_uint32", "reads are one call each: tl_local_get_<type>, tl_local_get_scalar"},
    {"tl_value_get_int64", "reads are one call each: tl_local_get_<type>, tl_local_get_scalar"},
    {"tl_value_get_uint64", "reads are one call each: tl_local_get_<type>, tl_local_get_scalar"},
    {"tl_value_get_double", "reads are one call each: tl_local_get_<type>, tl_local_get_scalar"},
    {"tl_value_get_string", "reads are one call each: tl_local_get_<type>, tl_local_get_scalar"},
    {"tl_value_get_handle", "D-Bus handles have no Java mapping"},
    {"tl_value_get_pointer", "pointer values have no Java mapping"},
    {"tl_value_n_children", "containers have no Java mapping in this binding"},
    {"tl_value_get_child", "containers have no Java mapping in this binding"},
    {"tl_value_lookup", "containers have no Java mapping in this binding"},
    {"tl_thread_change_counter", "no read cache in this binding: every read asks C"},
    {"tl_free", "only tl_value_print's strings need it, and that is not bound"},
    {"tl_quark_to_string", "a Quark keeps its Java name"},
    {"tl_local_peek_quark", "reads by quark are the one-call typed reads with the quark's name "
        + "encoded once: a second JNA call costs more than C's hash of a short key"},
    {"tl_local_get_quark", "reads copy the value out at once, on the same thread: no reference "
        + "needed"},
    {"tl_local_set_quark", "writes by quark are the one-call typed setters with the quark's name "
        + "encoded once, where set_quark needs a TlValue made and released (three calls)"},
    {"tl_value_serialize", "containers have no Java mapping in this binding"},
    {"tl_value_deserialize", "containers have no Java mapping in this binding"},
  };
}
