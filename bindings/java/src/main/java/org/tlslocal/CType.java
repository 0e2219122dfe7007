// SPDX-License-Identifier: LGPL-2.1-or-later
package org.tlslocal;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * The C type of a native method's result or parameter in {@link LibTlslocal}, where the Java type
 * alone does not say it: Java has no unsigned integers, so a {@code uint64_t} travels as a
 * {@code long} and an {@code unsigned int} as an {@code int}. The prototypes dumper
 * (DumpPrototypes, in the tests) reads it, so the table it prints says what the binding passes.
 * Its width must match the Java type's; only the signedness comes from here.
 */
@Retention(RetentionPolicy.RUNTIME)
@Target({ElementType.METHOD, ElementType.PARAMETER})
@interface CType {
  String value();
}
