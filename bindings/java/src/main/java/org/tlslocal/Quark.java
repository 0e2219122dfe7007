// SPDX-License-Identifier: LGPL-2.1-or-later
package org.tlslocal;

import static org.tlslocal.TlException.TL_ERR_INVALID_KEY;

/**
 * An interned key ({@code TlQuark}): a key's string interned once for the process
 * ({@code tl_quark_from_string}). A quark and its string name the same key: a value set by quark
 * is read by string and the other way round. Calls by quark skip the UTF-8 encoding and checks a
 * String key costs on every call: make one per well-known key, once (a {@code static final}
 * field), never from untrusted input (interned strings live as long as the process). Immutable;
 * share it between threads freely.
 */
public final class Quark {
  private final int id;
  private final String name;
  private final byte[] encoded; // NUL-terminated UTF-8, never changed once made

  private Quark(int id, String name, byte[] encoded) {
    this.id = id;
    this.name = name;
    this.encoded = encoded;
  }

  /**
   * The quark of name: the same name always gives an equal Quark. TL_ERR_INVALID_KEY for null, a
   * NUL character or an unpaired surrogate (no UTF-8 form).
   */
  public static Quark of(String name) {
    byte[] encoded = Utf8.encode(name, TL_ERR_INVALID_KEY, "key");
    int id = LibTlslocal.tl_quark_from_string(encoded);
    if (id == 0) {
      throw TlException.last(LibTlslocal.tl_last_error());
    }
    return new Quark(id, name, encoded);
  }

  /** The interned name. */
  public String name() {
    return name;
  }

  /** The library's number for this key (never 0; unsigned in C). */
  int id() {
    return id;
  }

  /** The name as the C string the calls pass (shared: callers must not change it). */
  byte[] encoded() {
    return encoded;
  }

  @Override
  public boolean equals(Object other) {
    return other instanceof Quark && ((Quark) other).id == id;
  }

  @Override
  public int hashCode() {
    return Integer.hashCode(id);
  }

  @Override
  public String toString() {
    return "Quark(" + name + ")";
  }
}
