// SPDX-License-Identifier: LGPL-2.1-or-later
// The C++ binding's tests (suite 'cxx'): every set/get mapping, errors with their status and the
// library's message, RAII and refcounts, Value text, named locals shared with C code on the same
// thread (the C API called directly), real std::threads many times over, thread_clear, and the
// library's live counts back to where they started once every handle is gone.
// TL_TEST_SLOW (valgrind: 20) divides the thread rounds.
#include "tlslocal.hpp"

#include <atomic>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace {

std::atomic<int> failures{0};

void
fail(const char *file, int line, const char *what)
{
  std::fprintf(stderr, "%s:%d: check failed: %s\n", file, line, what);
  failures++;
}

#define CHECK(condition)                                                                           \
  do {                                                                                             \
    if (!(condition)) {                                                                            \
      fail(__FILE__, __LINE__, #condition);                                                        \
    }                                                                                              \
  } while (0)

// statement must throw tl::Error with status; the message must be the library's (non-empty).
#define CHECK_THROWS(statement, expected_status)                                                   \
  do {                                                                                             \
    try {                                                                                          \
      statement;                                                                                   \
      fail(__FILE__, __LINE__, #statement " did not throw");                                       \
    } catch (const tl::Error &error_) {                                                            \
      if (error_.status() != (expected_status) || error_.message().empty()) {                      \
        std::fprintf(stderr, "  threw %s\n", error_.what());                                       \
        fail(__FILE__, __LINE__, #statement " threw another status");                              \
      }                                                                                            \
    }                                                                                              \
  } while (0)

const char NAMED[] = "cxx-test-named";

int
rounds(int n)
{
  const char *slow = std::getenv("TL_TEST_SLOW");
  int divisor = slow != nullptr ? std::atoi(slow) : 1;
  return divisor > 1 ? (n / divisor > 0 ? n / divisor : 1) : n;
}

// The type string C sees for key in the calling thread's dictionary ("" if absent).
std::string
c_type(const tl::Local &local, const char *key)
{
  TlValue *value = tl_local_peek(local.raw(), key);
  return value != nullptr ? tl_value_type(value) : "";
}

void
test_round_trips()
{
  tl::Local local;
  local.set("b", true);
  CHECK(local.get<bool>("b") == true);
  CHECK(c_type(local, "b") == "b");
  local.set("b", false);
  CHECK(local.get<bool>("b") == false);

  local.set("int", -42);
  CHECK(c_type(local, "int") == "x");
  CHECK(local.get<int>("int") == -42);
  CHECK(local.get<long>("int") == -42L);
  CHECK(local.get<std::int8_t>("int") == -42);
  local.set("sc", static_cast<signed char>(-5));
  CHECK(c_type(local, "sc") == "x" && local.get<signed char>("sc") == -5);
  local.set("uc", static_cast<unsigned char>(250));
  CHECK(c_type(local, "uc") == "t" && local.get<unsigned char>("uc") == 250);
  local.set("short", static_cast<short>(-30000));
  CHECK(local.get<short>("short") == -30000);
  local.set("ushort", static_cast<unsigned short>(65000));
  CHECK(local.get<unsigned short>("ushort") == 65000);
  local.set("u", 7u);
  CHECK(c_type(local, "u") == "t" && local.get<unsigned>("u") == 7u);
  CHECK(local.get<int>("u") == 7); // a "t" read as a signed type that holds it
  local.set("ll", -1234567890123LL);
  CHECK(local.get<long long>("ll") == -1234567890123LL);
  local.set("min", INT64_MIN);
  CHECK(local.get<std::int64_t>("min") == INT64_MIN);
  local.set("max", INT64_MAX);
  CHECK(local.get<std::int64_t>("max") == INT64_MAX);
  local.set("umax", UINT64_MAX);
  CHECK(c_type(local, "umax") == "t" && local.get<std::uint64_t>("umax") == UINT64_MAX);
  local.set("ul", 99ul);
  CHECK(local.get<unsigned long>("ul") == 99ul);

  local.set("d", 2.5);
  CHECK(c_type(local, "d") == "d" && local.get<double>("d") == 2.5);
  local.set("f", 0.5f);
  CHECK(local.get<float>("f") == 0.5f);

  local.set("literal", "héllo");
  CHECK(c_type(local, "literal") == "s" && local.get<std::string>("literal") == "héllo");
  const char *pointer = "ptr";
  local.set("pointer", pointer);
  CHECK(local.get<std::string>("pointer") == "ptr");
  local.set("string", std::string("std"));
  CHECK(local.get<std::string>("string") == "std");
  local.set("view", std::string_view("view-and-more").substr(0, 4));
  CHECK(local.get<std::string>("view") == "view");
  local.set("empty", std::string());
  CHECK(local.get<std::string>("empty") == "");

  std::vector<std::uint8_t> bytes{0, 1, 2, 255};
  local.set("bytes", bytes);
  CHECK(c_type(local, "bytes") == "ay" && local.get<std::vector<std::uint8_t>>("bytes") == bytes);

  tl::Value list = tl::Value::parse("[int32 1, 2, 3]");
  local.set("value", list);
  CHECK(c_type(local, "value") == "ai");
  CHECK(local.get<tl::Value>("value") == list);
  CHECK(local.get<tl::Value>("value")->raw() == list.raw()); // the very value, by reference
  local.set("v64", tl::Value(std::int64_t{5}));
  CHECK(local.get<int>("v64") == 5);

  // Narrower integer types a C user stores, read as any C++ integer type that holds them.
  struct {
    const char *key;
    TlValue *value;
  } narrow[] = {{"y", tl_value_new_byte(200)},
                {"n", tl_value_new_int16(-300)},
                {"q", tl_value_new_uint16(60000)},
                {"i", tl_value_new_int32(-70000)},
                {"u32", tl_value_new_uint32(4000000000u)}};
  for (auto &entry : narrow) {
    CHECK(tl_local_set_take(local.raw(), entry.key, entry.value) == TL_OK);
  }
  CHECK(local.get<int>("y") == 200 && local.get<int>("n") == -300);
  CHECK(local.get<int>("q") == 60000 && local.get<long>("i") == -70000);
  CHECK(local.get<std::uint32_t>("u32") == 4000000000u);

  CHECK(!local.get<int>("absent").has_value());
  CHECK(!local.get<tl::Value>("absent").has_value());
}

void
test_errors()
{
  tl::Local local;
  local.set("s", "text");
  local.set("n", 300);
  local.set("neg", -1);
  local.set("big", UINT64_MAX);

  // Wrong type: the C getter's own status and message.
  TlValue *text = tl_local_peek(local.raw(), "s");
  std::int64_t ignored = 0;
  CHECK(tl_value_get_int64(text, &ignored) == TL_ERR_WRONG_TYPE);
  std::string c_message = tl_last_error_message();
  try {
    (void) local.get<std::int64_t>("s");
    CHECK(!"get<int64_t> of a string did not throw");
  } catch (const tl::Error &error) {
    CHECK(error.status() == TL_ERR_WRONG_TYPE);
    CHECK(error.message() == c_message);
    CHECK(std::string(error.name()) == "TL_ERR_WRONG_TYPE");
    CHECK(std::string(error.what()).find("TL_ERR_WRONG_TYPE (-4): ") == 0);
  }
  CHECK_THROWS(local.get<bool>("n"), TL_ERR_WRONG_TYPE);
  CHECK_THROWS(local.get<double>("n"), TL_ERR_WRONG_TYPE);
  CHECK_THROWS(local.get<std::string>("n"), TL_ERR_WRONG_TYPE);
  CHECK_THROWS(local.get<std::vector<std::uint8_t>>("s"), TL_ERR_WRONG_TYPE);
  CHECK_THROWS(local.get<int>("s"), TL_ERR_WRONG_TYPE);

  // Integers that do not fit the type asked for.
  CHECK_THROWS(local.get<std::int8_t>("n"), TL_ERR_OUT_OF_RANGE);
  CHECK_THROWS(local.get<std::uint8_t>("n"), TL_ERR_OUT_OF_RANGE);
  CHECK_THROWS(local.get<unsigned>("neg"), TL_ERR_OUT_OF_RANGE);
  CHECK_THROWS(local.get<std::int64_t>("big"), TL_ERR_OUT_OF_RANGE);
  CHECK(local.get<std::int16_t>("n") == 300);

  // Bad input, reported by the library.
  CHECK_THROWS(local.set("bad", static_cast<const char *>(nullptr)), TL_ERR_INVALID_ARGUMENT);
  CHECK_THROWS(local.set(nullptr, 1), TL_ERR_INVALID_KEY);
  CHECK_THROWS(local.set("\xff", 1), TL_ERR_INVALID_KEY);
  CHECK_THROWS(local.set("bad", "\xff"), TL_ERR_INVALID_UTF8);
  CHECK_THROWS(local.get<int>(nullptr), TL_ERR_INVALID_KEY);
  CHECK_THROWS(tl::Local::open(static_cast<const char *>(nullptr)), TL_ERR_INVALID_KEY);
  // ...and by the binding: a NUL inside a std::string would be cut short in C.
  CHECK_THROWS(local.set("bad", std::string("a\0b", 3)), TL_ERR_INVALID_ARGUMENT);
  CHECK(!local.contains("bad"));
  CHECK(local.size() == 4); // a failed call leaves the dictionary as it was
}

void
test_dictionary()
{
  tl::Local local;
  CHECK(local.size() == 0 && local.keys().empty());
  CHECK(!local.contains("a") && !local.erase("a"));
  local.set("a", 1);
  local.set("b", 2);
  local.set("c", 3);
  CHECK(local.size() == 3 && local.contains("b"));
  CHECK((local.keys() == std::vector<std::string>{"a", "b", "c"}));
  CHECK(local.erase("b") && !local.erase("b") && !local.contains("b"));
  CHECK(local.size() == 2);
  local.clear();
  CHECK(local.size() == 0 && !local.get<int>("a"));
}

void
test_handles()
{
  std::size_t locals_before = tl_stats_live_locals();
  {
    tl::Local a;
    a.set("x", 1);
    {
      tl::Local copy = a; // tl_local_ref: the same local
      CHECK(copy.raw() == a.raw() && copy.get<int>("x") == 1);
      copy.set("y", 2);
    }
    CHECK(a.get<int>("y") == 2); // still alive after the copy went
    tl::Local moved = std::move(a);
    CHECK(!a && a.raw() == nullptr && moved.get<int>("x") == 1);
    CHECK_THROWS(a.set("x", 1), TL_ERR_INVALID_ARGUMENT); // moved-from: empty, safe
    CHECK_THROWS(a.size(), TL_ERR_INVALID_ARGUMENT);
    tl::Local other;
    other = moved; // copy assignment
    CHECK(other.raw() == moved.raw());
    tl::Local &same = other;
    other = same; // self-assignment keeps its reference
    CHECK(other.get<int>("x") == 1);
    a = std::move(other); // a moved-from Local takes a new handle
    CHECK(a.get<int>("x") == 1 && !other);
    CHECK(tl_stats_live_locals() == locals_before + 1);
    TlLocal *raw = tl_local_ref(a.raw());
    tl::Local adopted = tl::Local::adopt(raw);
    CHECK(adopted.get<int>("y") == 2);
  }
  CHECK(tl_stats_live_locals() == locals_before);

  std::size_t values_before = tl_stats_live_values();
  {
    tl::Value v = tl::Value::parse("'kept'");
    tl::Value copy = v;
    CHECK(copy.raw() == v.raw());
    tl::Value moved = std::move(v);
    CHECK(!v && v.type() == nullptr && moved.as<std::string>() == "kept");
    v = moved;
    v = std::move(moved);
    CHECK(v.as<std::string>() == "kept" && !moved);
    TlValue *released = v.release();
    CHECK(!v);
    tl::Value back = tl::Value::adopt(released);
    CHECK(back == copy);
    tl::Value shared = tl::Value::share(back.raw());
    CHECK(shared.raw() == back.raw());
  }
  CHECK(tl_stats_live_values() == values_before);
}

void
test_values()
{
  const char *text = "{'a': <int64 1>, 'b': <'x'>, 'c': <[1.5, 2.0]>}";
  tl::Value dict = tl::Value::parse(text);
  CHECK(std::string(dict.type()) == "a{sv}");
  std::string printed = dict.print();
  CHECK(tl::Value::parse(printed.c_str()) == dict);
  CHECK(tl::Value::parse(dict.print(true).c_str()) == dict);
  CHECK(dict.n_children() == 3);
  CHECK(dict.lookup("a")->as<std::int64_t>() == 1);
  CHECK(dict.lookup("b")->as<std::string>() == "x");
  CHECK(!dict.lookup("z").has_value());
  CHECK(dict.lookup("c")->child(1).as<double>() == 2.0);
  CHECK_THROWS(dict.child(9), TL_ERR_OUT_OF_RANGE);
  CHECK(tl::Value::parse("x", "5").type() == std::string("x"));
  CHECK(tl::Value(3u).print(true) == "uint64 3");
  CHECK(tl::Value("s") == tl::Value(std::string("s")));
  CHECK(tl::Value(1) != tl::Value(2));
  CHECK(tl::Value::bytes("ab", 2).as<std::vector<std::uint8_t>>().size() == 2);
  CHECK_THROWS(tl::Value::parse("[1,"), TL_ERR_PARSE);
  CHECK_THROWS(tl::Value::parse("'not an int'").as<int>(), TL_ERR_WRONG_TYPE);
  CHECK_THROWS(tl::Value::parse("x", "'s'"), TL_ERR_PARSE);
  CHECK_THROWS(tl::Value().print(), TL_ERR_INVALID_ARGUMENT);
  TlValue *pointer = tl_value_new_pointer(&failures, nullptr);
  CHECK_THROWS(tl::Value::adopt(pointer).print(), TL_ERR_WRONG_TYPE);
}

// Named locals: C code on this very thread (the C API, as a C library would call it) and C++ see
// one dictionary.
void
test_named_with_c()
{
  tl::Local named = tl::Local::open(NAMED);
  named.set("request_id", "req-1");
  TlLocal *c_local = tl_local_open(NAMED);
  TlValue *value = nullptr;
  const char *c_text = nullptr;
  CHECK(tl_local_get(c_local, "request_id", &value) == TL_OK);
  CHECK(tl_value_get_string(value, &c_text) == TL_OK && std::strcmp(c_text, "req-1") == 0);
  tl_value_unref(value);
  CHECK(tl_local_set_int64(c_local, "from_c", 77) == TL_OK);
  tl_local_unref(c_local);
  CHECK(named.get<int>("from_c") == 77);
  CHECK(tl::Local::open(std::string(NAMED)).raw() == named.raw());
  named.clear();
}

// Threads: each sees only its own dictionary of one shared local and of the named local, which C
// code on the same thread reads and answers; a thread that never wrote finds nothing.
void
test_threads()
{
  const int n_threads = 8;
  const int n_rounds = rounds(200);
  std::size_t dicts_before = tl_stats_live_dicts();
  tl::Local shared;
  shared.set("who", "main");
  std::atomic<int> bad{0};
  for (int round = 0; round < n_rounds; round++) {
    std::vector<std::thread> threads;
    for (int t = 0; t < n_threads; t++) {
      threads.emplace_back([&shared, &bad, t, round] {
        try {
          if (shared.get<std::string>("who").has_value()) {
            bad++; // main's value leaked into this thread
          }
          if (t == 0) {
            return; // never writes: no dictionary, nothing found
          }
          std::string id = "t" + std::to_string(t) + "-r" + std::to_string(round);
          shared.set("who", id);
          shared.set("n", t);
          tl::Local named = tl::Local::open(NAMED);
          named.set("request_id", id);
          std::this_thread::yield();
          // The C side, on this thread: read request_id, answer in reply.
          TlLocal *c_local = tl_local_open(NAMED);
          TlValue *value = tl_local_peek(c_local, "request_id");
          const char *c_read = nullptr;
          if (value == nullptr || tl_value_get_string(value, &c_read) != TL_OK || id != c_read) {
            bad++;
          }
          std::string reply = "ack " + id;
          tl_local_set_string(c_local, "reply", reply.c_str());
          tl_local_unref(c_local);
          std::this_thread::yield();
          if (shared.get<std::string>("who") != id || shared.get<int>("n") != t ||
              named.get<std::string>("reply") != reply || named.size() != 2) {
            bad++;
          }
          if (t % 2 == 1) {
            tl::thread_clear(); // the rest free theirs at exit
            if (shared.contains("who") || named.size() != 0) {
              bad++;
            }
          }
        } catch (const tl::Error &error) {
          std::fprintf(stderr, "thread %d: %s\n", t, error.what());
          bad++;
        }
      });
    }
    for (auto &thread : threads) {
      thread.join();
    }
  }
  CHECK(bad == 0);
  CHECK(shared.get<std::string>("who") == "main"); // the main thread's own, untouched
  CHECK(!tl::Local::open(NAMED).contains("request_id"));
  // Every worker's dictionaries were freed (at exit or by thread_clear): only main's remains.
  CHECK(tl_stats_live_dicts() == dicts_before + 1);
}

// Quarks: the same key as their string, both ways, with the typed mapping of set/get.
void
test_quarks()
{
  tl::Local local;
  const tl::Quark request_id("cxx-request-id");
  CHECK(request_id == tl::Quark(std::string("cxx-request-id")));
  CHECK(request_id.id() == tl_quark_from_string("cxx-request-id"));
  CHECK(std::string(request_id.name()) == "cxx-request-id");
  CHECK(request_id != tl::Quark("cxx-other"));

  local.set(request_id, "r-1");
  CHECK(c_type(local, "cxx-request-id") == "s");
  CHECK(local.get<std::string>("cxx-request-id") == "r-1");
  local.set("cxx-request-id", 42);
  CHECK(local.get<int>(request_id) == 42);
  local.set(request_id, true);
  CHECK(local.get<bool>(request_id) == true && local.get<bool>("cxx-request-id") == true);
  local.set(request_id, UINT64_MAX);
  CHECK(local.get<std::uint64_t>(request_id) == UINT64_MAX);
  local.set(request_id, 0.25);
  CHECK(local.get<double>(request_id) == 0.25);
  tl::Value list = tl::Value::parse("[1, 2]");
  local.set(request_id, list);
  CHECK(local.get<tl::Value>(request_id)->raw() == list.raw());
  CHECK(local.get<tl::Value>("cxx-request-id") == list);
  CHECK(local.size() == 1);

  CHECK(local.erase(request_id) && !local.erase(request_id));
  CHECK(!local.contains("cxx-request-id"));
  CHECK(!local.get<int>(request_id).has_value() && !local.get<tl::Value>(request_id));
  local.set("cxx-request-id", "back");
  CHECK(local.erase(request_id) && local.size() == 0);

  // Wrong types and ranges as for string keys; invalid names refused by the library.
  local.set(request_id, "text");
  CHECK_THROWS(local.get<int>(request_id), TL_ERR_WRONG_TYPE);
  local.set(request_id, 300);
  CHECK_THROWS(local.get<std::int8_t>(request_id), TL_ERR_OUT_OF_RANGE);
  CHECK_THROWS(tl::Quark(static_cast<const char *>(nullptr)), TL_ERR_INVALID_KEY);
  CHECK_THROWS(tl::Quark("\xff"), TL_ERR_INVALID_KEY);
  CHECK_THROWS(tl::Quark(std::string_view("a\0b", 3)), TL_ERR_INVALID_ARGUMENT);
  CHECK_THROWS(local.set(request_id, std::string("a\0b", 3)), TL_ERR_INVALID_ARGUMENT);
  CHECK(local.get<int>(request_id) == 300); // the failed set left it as it was
  local.clear();
}

// Many threads interning the same and distinct names at once: one quark per name, and each
// thread's value by quark is its own, read back by string.
void
test_quarks_threads()
{
  const int n_threads = 8;
  const int n_rounds = rounds(100);
  tl::Local shared;
  std::atomic<int> bad{0};
  for (int round = 0; round < n_rounds; round++) {
    std::vector<TlQuark> common(n_threads);
    std::vector<std::thread> threads;
    for (int t = 0; t < n_threads; t++) {
      threads.emplace_back([&, t, round] {
        try {
          tl::Quark key("cxx-quark-common");
          common[t] = key.id();
          std::string own_name = "cxx-quark-r" + std::to_string(round) + "-t" + std::to_string(t);
          tl::Quark own(own_name);
          for (int i = 0; i < 20; i++) {
            shared.set(key, t * 1000 + i);
            shared.set(own, std::to_string(i));
            if (shared.get<int>("cxx-quark-common") != t * 1000 + i ||
                shared.get<std::string>(own) != std::to_string(i) ||
                shared.get<std::string>(own_name.c_str()) != std::to_string(i)) {
              bad++;
            }
          }
          if (!shared.erase(own) || shared.contains(own_name.c_str()) || shared.size() != 1) {
            bad++;
          }
        } catch (const tl::Error &error) {
          std::fprintf(stderr, "thread %d: %s\n", t, error.what());
          bad++;
        }
      });
    }
    for (auto &thread : threads) {
      thread.join();
    }
    for (TlQuark id : common) {
      if (id != common[0]) {
        bad++;
      }
    }
  }
  CHECK(bad == 0);
  CHECK(!shared.get<int>(tl::Quark("cxx-quark-common"))); // main never wrote it
}

// Hand-off: a snapshot of one thread's dictionary applied in another.
void
test_snapshot()
{
  tl::Local local;
  local.set("user", "linus");
  local.set("depth", 3);
  tl::Value snapshot = local.snapshot();
  std::string user;
  std::thread worker([&] {
    local.set("stale", true);
    local.apply(snapshot, true);
    user = local.get<std::string>("user").value_or("") + ":" +
           std::to_string(local.get<int>("depth").value_or(0)) +
           (local.contains("stale") ? ":stale" : "");
  });
  worker.join();
  CHECK(user == "linus:3");
}

void
test_thread_clear()
{
  tl::Local a;
  tl::Local named = tl::Local::open(NAMED);
  a.set("x", 1);
  named.set("y", 2);
  std::size_t dicts = tl_stats_live_dicts();
  tl::thread_clear();
  CHECK(tl_stats_live_dicts() + 2 <= dicts);
  CHECK(a.size() == 0 && !named.get<int>("y"));
  a.set("x", 3); // usable again at once
  CHECK(a.get<int>("x") == 3);
}

} // namespace

int
main()
{
  std::size_t locals = tl_stats_live_locals();
  std::size_t values = tl_stats_live_values();
  std::size_t dicts = tl_stats_live_dicts();

  std::printf("libtlslocal %s (header %s)\n", tl::version(), TL_VERSION_STRING);
  test_round_trips();
  test_errors();
  test_dictionary();
  test_handles();
  test_values();
  test_named_with_c();
  test_threads();
  test_snapshot();
  test_thread_clear();
  test_quarks();
  test_quarks_threads();

  // No handle is left: every local, value and dictionary they made is gone once the named local
  // is unregistered and this thread cleared.
  CHECK(tl::Local::unregister(NAMED));
  CHECK(!tl::Local::unregister(NAMED));
  tl::thread_clear();
  CHECK(tl_stats_live_locals() == locals);
  CHECK(tl_stats_live_values() == values);
  CHECK(tl_stats_live_dicts() == dicts);
  std::printf("live: %zu locals, %zu values, %zu dicts (at start: %zu, %zu, %zu)\n",
              tl_stats_live_locals(), tl_stats_live_values(), tl_stats_live_dicts(), locals, values,
              dicts);

  if (failures != 0) {
    std::printf("%d checks failed\n", failures.load());
    return 1;
  }
  std::printf("all checks passed\n");
  return 0;
}
