// SPDX-License-Identifier: LGPL-2.1-or-later
package org.tlslocal;

/**
 * A failed libtlslocal call: {@link #status()} is the C status (one of the {@code TL_ERR_*}
 * constants below, the values of tlslocal.h, pinned there), {@link #getMessage()} the calling
 * thread's {@code tl_last_error_message()}, read right after the call failed. The few checks the
 * binding makes before calling C (a NUL or unpaired surrogate in a string, a null byte[], a type
 * get() cannot map) use the same statuses with a message of their own. (Using a closed
 * {@link Local} is an IllegalStateException, as for other closed Java resources.)
 */
public class TlException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public static final int TL_OK = 0;
  public static final int TL_ERR_INVALID_ARGUMENT = -1;
  public static final int TL_ERR_INVALID_KEY = -2;
  public static final int TL_ERR_NOT_FOUND = -3;
  public static final int TL_ERR_WRONG_TYPE = -4;
  public static final int TL_ERR_PARSE = -5;
  public static final int TL_ERR_NO_MEMORY = -6;
  public static final int TL_ERR_INVALID_UTF8 = -7;
  public static final int TL_ERR_OUT_OF_RANGE = -8;
  public static final int TL_ERR_INIT_FAILED = -9;
  public static final int TL_ERR_UNSUPPORTED = -10;

  private final int status;

  public TlException(int status, String message) {
    super(message);
    this.status = status;
  }

  /** The TL_ERR_* code. */
  public int status() {
    return status;
  }

  /** The status's symbolic name, such as "TL_ERR_WRONG_TYPE" (C's tl_status_name). */
  public String statusName() {
    return Utf8.decode(LibTlslocal.tl_status_name(status));
  }

  @Override
  public String toString() {
    return getClass().getName() + ": " + statusName() + ": " + getMessage();
  }

  /** For a call that just failed with status: C's message for it, read before any other call. */
  static TlException last(int status) {
    return new TlException(status, Utf8.decode(LibTlslocal.tl_last_error_message()));
  }

  /** For a call that returned NULL: C's status and message of the failure. */
  static TlException last() {
    String message = Utf8.decode(LibTlslocal.tl_last_error_message());
    return new TlException(LibTlslocal.tl_last_error(), message);
  }
}
