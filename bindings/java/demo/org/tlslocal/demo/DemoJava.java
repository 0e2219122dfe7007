// SPDX-License-Identifier: LGPL-2.1-or-later
package org.tlslocal.demo;

import com.sun.jna.Function;
import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.NativeLibrary;
import java.nio.charset.StandardCharsets;
import org.tlslocal.Local;

/**
 * tlslocal-demo, step 4, the Java side: run by the demo as
 * {@code java -cp CLASSPATH org.tlslocal.demo.DemoJava HELPER LOCAL_NAME REQUEST_ID} with
 * TLSLOCAL_LIBRARY set. On its one thread it sets request_id in the named local, lets the C helper
 * (loaded with JNA) read it and answer in {@code reply}, and reads that reply back. Prints one
 * tab-separated line for the demo: RESULT wrote c_read c_reply read_back, or ERROR why (exit 1).
 */
public final class DemoJava {
  private DemoJava() {}

  public static void main(String[] args) {
    String why;
    try {
      why = args.length == 3 ? run(args[0], args[1], args[2])
                             : "usage: DemoJava HELPER LOCAL_NAME REQUEST_ID";
    } catch (Throwable error) { // a missing library or jar included: the demo reports it
      why = error.toString();
    }
    if (why != null) {
      System.out.println("ERROR\t" + String.join(" ", why.trim().split("\\s+")));
      System.exit(1);
    }
  }

  private static String run(String helperPath, String localName, String requestId) {
    Function acknowledge = NativeLibrary.getInstance(helperPath).getFunction("tldemo_acknowledge");
    try (Local ctx = Local.open(localName)) { // the local tl_local_open(localName) gives C
      ctx.set("request_id", requestId);
      Memory read = new Memory(128);
      Memory reply = new Memory(128);
      read.setByte(0, (byte) 0);
      reply.setByte(0, (byte) 0);
      byte[] name = (localName + "\0").getBytes(StandardCharsets.UTF_8);
      Object size = Native.SIZE_T_SIZE == 8 ? (Object) 128L : (Object) 128; // a size_t
      int status = acknowledge.invokeInt(new Object[] {name, read, size, reply, size});
      if (status != 0) {
        return "the C helper failed: status " + status;
      }
      String readBack = ctx.getString("reply").orElse("(nothing)");
      System.out.println(String.join("\t", "RESULT", requestId, read.getString(0, "UTF-8"),
          reply.getString(0, "UTF-8"), readBack));
      return null;
    }
  }
}
