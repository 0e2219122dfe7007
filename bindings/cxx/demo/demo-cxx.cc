// SPDX-License-Identifier: LGPL-2.1-or-later
// tlslocal-demo, step 4, the C++ side: run by the demo as
//     demo-cxx HELPER LOCAL_NAME REQUEST_ID
// On its one thread it sets request_id in the named local, lets the C helper (dlopen()ed: the demo
// gives its path) read it and answer in `reply`, and reads that reply back. Prints one
// tab-separated line for the demo: RESULT wrote c_read c_reply read_back, or ERROR why (exit 1).
// It links the library itself (the build's, as the helper does), so TLSLOCAL_LIBRARY is not read.
#include "tlslocal.hpp"

#include <cstdio>
#include <dlfcn.h>
#include <string>

namespace {

using Acknowledge = int (*)(const char *, char *, std::size_t, char *, std::size_t);

std::string
run(const char *helper_path, const char *local_name, const char *request_id)
{
  void *helper = dlopen(helper_path, RTLD_NOW | RTLD_LOCAL);
  if (helper == nullptr) {
    return std::string("cannot load the C helper: ") + dlerror();
  }
  auto acknowledge = reinterpret_cast<Acknowledge>(dlsym(helper, "tldemo_acknowledge"));
  if (acknowledge == nullptr) {
    return std::string("no tldemo_acknowledge in the C helper: ") + dlerror();
  }

  tl::Local ctx = tl::Local::open(local_name); // the C local that tl_local_open(local_name) gives C
  ctx.set("request_id", request_id);
  char c_read[128] = "";
  char c_reply[128] = "";
  int status = acknowledge(local_name, c_read, sizeof c_read, c_reply, sizeof c_reply);
  if (status != 0) {
    return "the C helper failed: status " + std::to_string(status) + " (" + tl_status_name(status) +
           ")";
  }
  std::string read_back = ctx.get<std::string>("reply").value_or("(nothing)");
  std::printf("RESULT\t%s\t%s\t%s\t%s\n", request_id, c_read, c_reply, read_back.c_str());
  return "";
}

} // namespace

int
main(int argc, char **argv)
{
  std::string why;
  if (argc != 4) {
    why = "usage: demo-cxx HELPER LOCAL_NAME REQUEST_ID";
  } else {
    try {
      why = run(argv[1], argv[2], argv[3]);
    } catch (const tl::Error &error) {
      why = error.what();
    }
  }
  tl::thread_clear(); // main's own dictionaries: its thread-exit cleanup never runs
  if (!why.empty()) {
    for (char &c : why) {
      c = (c == '\t' || c == '\n') ? ' ' : c;
    }
    std::printf("ERROR\t%s\n", why.c_str());
    return 1;
  }
  return 0;
}
