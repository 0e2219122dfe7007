// SPDX-License-Identifier: LGPL-2.1-or-later
package org.tlslocal;

import com.sun.jna.Callback;
import com.sun.jna.IntegerType;
import com.sun.jna.Native;
import com.sun.jna.Pointer;
import com.sun.jna.PointerType;
import com.sun.jna.Structure;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.lang.reflect.Parameter;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Prints the binding's table of C prototypes as JSON for tests/check-binding-prototypes.py's
 * {@code table} mode: every native method of {@link LibTlslocal} (by reflection, after JNA bound
 * them all: loading the class registers them), each Java type turned into the kind it passes as,
 * and {@link LibTlslocal#NOT_BOUND}. A Java integer is signed unless a {@link CType} annotation
 * names an unsigned C type; the annotation's width must match the Java type's, or the kind printed
 * says the mismatch (and the check fails).
 */
public final class DumpPrototypes {
  private DumpPrototypes() {}

  public static void main(String[] args) throws Exception {
    Class.forName(LibTlslocal.class.getName(), true, DumpPrototypes.class.getClassLoader());
    Map<String, String> functions = new TreeMap<>();
    List<Method> methods = new ArrayList<>(List.of(LibTlslocal.class.getDeclaredMethods()));
    methods.sort(Comparator.comparing(Method::getName));
    for (Method method : methods) {
      if (!Modifier.isNative(method.getModifiers())) {
        continue;
      }
      List<String> arguments = new ArrayList<>();
      for (Parameter parameter : method.getParameters()) {
        arguments.add(quote(kind(parameter.getType(), parameter.getAnnotation(CType.class))));
      }
      String result = kind(method.getReturnType(), method.getAnnotation(CType.class));
      String previous = functions.put(method.getName(), "{\"result\": " + quote(result)
          + ", \"arguments\": [" + String.join(", ", arguments) + "]}");
      if (previous != null) {
        throw new IllegalStateException(method.getName() + " is declared twice");
      }
    }
    Map<String, String> notBound = new TreeMap<>();
    for (String[] entry : LibTlslocal.NOT_BOUND) {
      notBound.put(entry[0], quote(entry[1]));
    }
    System.out.println("{\"functions\": " + object(functions) + ",\n \"not_bound\": "
        + object(notBound) + "}");
  }

  /** The kind a Java type passes as, with the C type named by its annotation (if any). */
  static String kind(Class<?> type, CType annotation) throws ReflectiveOperationException {
    String java = javaKind(type);
    if (annotation == null) {
      return java;
    }
    String c = cKind(annotation.value());
    // The annotation gives the sign only: its width and class must be the Java type's.
    if (!c.replaceFirst("^uint", "int").equals(java.replaceFirst("^uint", "int"))) {
      return "mismatch: Java " + type.getSimpleName() + " (" + java + ") annotated "
          + annotation.value() + " (" + c + ")";
    }
    return c;
  }

  static String javaKind(Class<?> type) throws ReflectiveOperationException {
    if (type == void.class) {
      return "void";
    } else if (type == byte.class) {
      return "int8";
    } else if (type == short.class) {
      return "int16";
    } else if (type == int.class) {
      return "int32";
    } else if (type == long.class) {
      return "int64";
    } else if (type == double.class) {
      return "double";
    } else if (type == float.class) {
      return "float";
    } else if (type.isArray() || type == String.class || Pointer.class.isAssignableFrom(type)
        || PointerType.class.isAssignableFrom(type) || Callback.class.isAssignableFrom(type)
        || Structure.class.isAssignableFrom(type)) {
      return "pointer";
    } else if (IntegerType.class.isAssignableFrom(type)) {
      IntegerType instance = (IntegerType) type.getDeclaredConstructor().newInstance();
      Field unsigned = IntegerType.class.getDeclaredField("unsigned");
      unsigned.setAccessible(true);
      return (unsigned.getBoolean(instance) ? "uint" : "int")
          + Native.getNativeSize(type, instance) * 8;
    }
    return "unknown Java type " + type.getName(); // boolean among them: tlslocal.h has no bool
  }

  /** The kind of a C type named in a CType annotation (the names tlslocal.h uses). */
  static String cKind(String c) {
    if (c.contains("*")) {
      return "pointer";
    }
    switch (c) {
      case "int": case "int32_t": return "int32";
      case "unsigned int": case "uint32_t": return "uint32";
      case "int8_t": return "int8";
      case "uint8_t": return "uint8";
      case "int16_t": return "int16";
      case "uint16_t": return "uint16";
      case "int64_t": return "int64";
      case "uint64_t": return "uint64";
      case "size_t": return "uint" + Native.SIZE_T_SIZE * 8;
      case "double": return "double";
      default: return "unknown C type " + c;
    }
  }

  private static String object(Map<String, String> entries) {
    List<String> lines = new ArrayList<>();
    entries.forEach((key, value) -> lines.add("  " + quote(key) + ": " + value));
    return "{\n" + String.join(",\n", lines) + "}";
  }

  private static String quote(String text) {
    return "\"" + text.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
  }
}
