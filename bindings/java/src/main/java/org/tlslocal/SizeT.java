// SPDX-License-Identifier: LGPL-2.1-or-later
package org.tlslocal;

import com.sun.jna.IntegerType;
import com.sun.jna.Native;

/**
 * C's {@code size_t}: unsigned, as wide as the platform's (JNA's {@link Native#SIZE_T_SIZE}).
 * Public only because JNA makes its instances reflectively; not part of the binding's API.
 */
public final class SizeT extends IntegerType {
  private static final long serialVersionUID = 1L;

  public SizeT() {
    this(0);
  }

  public SizeT(long value) {
    super(Native.SIZE_T_SIZE, value, true);
  }
}
