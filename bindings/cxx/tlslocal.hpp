// SPDX-License-Identifier: LGPL-2.1-or-later
// tlslocal.hpp: the C++17 binding of libtlslocal, header-only, over tlslocal.h (installed beside
// it). In the manner of cppzmq: classes owning the C handles (copy = ref, move, destructor =
// unref), one exception type carrying the C status, and a direct mapping of the C calls. Every
// call acts on the calling OS thread's dictionary, as in C; raw() reaches the rest of tlslocal.h.
//
// Not wrapped (call them through raw() and tlslocal.h; the prototypes meta test reads this list):
//   tl_version_check: a compile-time TL_VERSION_* comparison or tl::version() serves C++ users
//   tl_strerror: Error::what() carries the status's name and the call's own message
//   tl_local_new_full: its initializer is a C callback, and no exception may cross one
//   tl_local_new_with_args: calls a C function through libffi; a C-side feature
//   tl_local_peek: a borrowed pointer; get() reads typed values in one call, or takes a reference
//   tl_local_get_uint64: integers are read with tl_local_get_scalar, which takes every width
//   tl_local_foreach: a C callback, across which no exception may pass; keys() and get() serve
//   tl_local_set_exit_hook: a C callback, across which no exception may pass
//   tl_local_visit: a C callback, across which no exception may pass
//   tl_value_new_pointer: a destroy callback; pointer values go through raw() and Value::adopt()
//   tl_value_new_byte: integers map to int64/uint64 (Local::set); narrower types via raw()
//   tl_value_new_int16: integers map to int64/uint64 (Local::set); narrower types via raw()
//   tl_value_new_uint16: integers map to int64/uint64 (Local::set); narrower types via raw()
//   tl_value_new_int32: integers map to int64/uint64 (Local::set); narrower types via raw()
//   tl_value_new_uint32: integers map to int64/uint64 (Local::set); narrower types via raw()
//   tl_value_new_handle: "h" is a D-Bus index, not an integer a C++ type maps to
//   tl_value_new_tuple: containers are built with Value::parse() or through raw()
//   tl_value_new_array: containers are built with Value::parse() or through raw()
//   tl_value_new_maybe: containers are built with Value::parse() or through raw()
//   tl_value_new_vardict: containers are built with Value::parse() or through raw()
//   tl_value_get_handle: "h" is a D-Bus index, not an integer a C++ type maps to
//   tl_value_get_pointer: pointer values go through raw()
//   tl_stats_live_locals: introspection for tests; call it directly
//   tl_stats_live_dicts: introspection for tests; call it directly
//   tl_stats_live_threads: introspection for tests; call it directly
//   tl_stats_live_values: introspection for tests; call it directly
//   tl_thread_change_counter: a cache aid for bindings that cache; this one does not
//   tl_thread_id: the library's thread id matters to exit hooks and visits, not wrapped here
//   tl_value_serialize: the binary form is for another process; call it through raw()
//   tl_value_deserialize: the binary form is for another process; Value::adopt() its result
// (end of the list)
//
// Copyright the libtlslocal authors.
#ifndef TLSLOCAL_HPP
#define TLSLOCAL_HPP

#if __cplusplus < 201703L && !(defined(_MSVC_LANG) && _MSVC_LANG >= 201703L)
#  error "tlslocal.hpp needs C++17 (-std=c++17)"
#endif

#include "tlslocal.h"

#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace tl {

// A failed call: status() is the negative TL_ERR_* code; message() the library's
// tl_last_error_message() for that call, read at once on the failing thread (or, for the few
// errors the binding finds itself, its own sentence); what() is "NAME (code): message".
class Error : public std::runtime_error {
public:
  // The calling thread's last error message for status: construct it right after the failed call.
  explicit Error(int status) : Error(status, tl_last_error_message())
  {
  }
  Error(int status, const std::string &message)
      : std::runtime_error(std::string(tl_status_name(status)) + " (" + std::to_string(status) +
                           "): " + message),
        status_(status), message_(message)
  {
  }
  int status() const noexcept
  {
    return status_;
  }
  const char *name() const noexcept
  {
    return tl_status_name(status_);
  }
  const std::string &message() const noexcept
  {
    return message_;
  }

private:
  int status_;
  std::string message_;
};

// The library's version at run time ("MAJOR.MINOR.MICRO"); TL_VERSION_STRING is the header's.
inline const char *
version() noexcept
{
  return tl_version();
}

// Free every dictionary of the calling thread, in every local, as its exit would: call it between
// tasks on a reused thread (pools), and in main() before exit().
inline void
thread_clear() noexcept
{
  tl_thread_clear();
}

namespace detail {

inline int
check(int status)
{
  if (status < 0) {
    throw Error(status);
  }
  return status;
}

template <class P>
P *
check_pointer(P *pointer)
{
  if (pointer == nullptr) {
    throw Error(tl_last_error() < 0 ? tl_last_error() : TL_ERR_INVALID_ARGUMENT);
  }
  return pointer;
}

template <class T> struct is_char : std::false_type {
};
template <> struct is_char<char> : std::true_type {
};
template <> struct is_char<wchar_t> : std::true_type {
};
template <> struct is_char<char16_t> : std::true_type {
};
template <> struct is_char<char32_t> : std::true_type {
};
#if defined(__cpp_char8_t)
template <> struct is_char<char8_t> : std::true_type {
};
#endif

// Integers of every width (signed char and unsigned char included); not bool, not characters.
template <class T>
constexpr bool is_integer_v =
    std::is_integral_v<T> && !std::is_same_v<T, bool> && !is_char<T>::value;

template <class T> constexpr bool dependent_false_v = false;

// A C string a TlValue can hold: no NUL inside (GVariant strings end at the first).
inline std::string
c_string(std::string_view text)
{
  if (text.find('\0') != std::string_view::npos) {
    throw Error(TL_ERR_INVALID_ARGUMENT, "the string holds a NUL byte, which a TlValue cannot");
  }
  return std::string(text);
}

// An integer of the C side into T, whose range is checked: a "t" payload as unsigned, the other
// integer types' as the int64_t they widen to.
template <class T>
T
fit_integer(bool is_uint64, std::uint64_t bits)
{
  using limits = std::numeric_limits<T>;
  auto s = static_cast<std::int64_t>(bits);
  bool fits;
  if (is_uint64) {
    fits = bits <= static_cast<std::uint64_t>(limits::max());
  } else if constexpr (std::is_signed_v<T>) {
    fits = s >= static_cast<std::int64_t>(limits::min()) &&
           s <= static_cast<std::int64_t>(limits::max());
  } else {
    fits = s >= 0 && bits <= static_cast<std::uint64_t>(limits::max());
  }
  if (fits) {
    return is_uint64 ? static_cast<T>(bits) : static_cast<T>(s);
  }
  throw Error(TL_ERR_OUT_OF_RANGE, "the integer " +
                                       (is_uint64 ? std::to_string(bits) : std::to_string(s)) +
                                       " does not fit in the C++ type asked for (" +
                                       (std::is_signed_v<T> ? "signed, " : "unsigned, ") +
                                       std::to_string(sizeof(T) * 8) + " bits)");
}

} // namespace detail

// An interned key: a key's string interned once for the process (tl_quark_from_string), then
// named by a number. Reads and writes by quark skip the string key's length, UTF-8 check and hash
// on every call: make one per well-known key, once (e.g. a static const tl::Quark), never from
// untrusted input (interned strings live as long as the process). A quark and its string name the
// same key. Cheap to copy; usable from any thread.
class Quark {
public:
  // Throws TL_ERR_INVALID_KEY for nullptr or a string that is not UTF-8, TL_ERR_INVALID_ARGUMENT
  // for a NUL inside a string_view.
  explicit Quark(const char *name) : id_(tl_quark_from_string(name))
  {
    if (id_ == 0) {
      throw Error(tl_last_error() < 0 ? tl_last_error() : TL_ERR_INVALID_KEY);
    }
  }
  explicit Quark(std::string_view name) : Quark(detail::c_string(name).c_str())
  {
  }

  // The library's number for this key (never 0), for tlslocal.h's *_quark calls.
  TlQuark id() const noexcept
  {
    return id_;
  }
  // The interned string: valid until the process ends.
  const char *name() const noexcept
  {
    return tl_quark_to_string(id_);
  }

  friend bool operator==(Quark a, Quark b) noexcept
  {
    return a.id_ == b.id_;
  }
  friend bool operator!=(Quark a, Quark b) noexcept
  {
    return a.id_ != b.id_;
  }

private:
  TlQuark id_;
};

class Local;

// An immutable typed value (RAII over TlValue*: copy = tl_value_ref, move, destructor = unref).
// A default-constructed or moved-from Value is empty (raw() == nullptr).
class Value {
public:
  Value() noexcept = default;

  // The same mapping as Local::set(): bool "b", signed integers "x", unsigned "t", float and
  // double "d", strings "s", std::vector<std::uint8_t> "ay".
  template <class T, class = std::enable_if_t<!std::is_same_v<std::decay_t<T>, Value> &&
                                              !std::is_same_v<std::decay_t<T>, TlValue *>>>
  explicit Value(const T &value) : handle_(detail::check_pointer(make(value)))
  {
  }

  // Takes over the caller's reference (a new reference from a tl_value_* call); nullptr gives an
  // empty Value.
  static Value adopt(TlValue *value) noexcept
  {
    Value result;
    result.handle_ = value;
    return result;
  }
  // Takes a reference of its own to a borrowed value.
  static Value share(TlValue *value) noexcept
  {
    return adopt(tl_value_ref(value));
  }

  // GVariant text format, e.g. "int64 5", "'hi'", "[1, 2]", "{'a': <1>}"; type (a GVariant type
  // string such as "x", or nullptr) fixes the result's type. Throws TL_ERR_PARSE.
  static Value parse(const char *text)
  {
    return parse(nullptr, text);
  }
  static Value parse(const char *type, const char *text)
  {
    TlValue *out = nullptr;
    detail::check(tl_value_parse(type, text, &out));
    return adopt(out);
  }
  // "ay": a copy of size bytes.
  static Value bytes(const void *data, std::size_t size)
  {
    return adopt(detail::check_pointer(tl_value_new_bytes(data, size)));
  }

  Value(const Value &other) noexcept : handle_(tl_value_ref(other.handle_))
  {
  }
  Value(Value &&other) noexcept : handle_(std::exchange(other.handle_, nullptr))
  {
  }
  Value &operator=(const Value &other) noexcept
  {
    if (this != &other) {
      TlValue *old = std::exchange(handle_, tl_value_ref(other.handle_));
      tl_value_unref(old);
    }
    return *this;
  }
  Value &operator=(Value &&other) noexcept
  {
    if (this != &other) {
      tl_value_unref(std::exchange(handle_, std::exchange(other.handle_, nullptr)));
    }
    return *this;
  }
  ~Value()
  {
    tl_value_unref(handle_);
  }

  // The C++ value for T (the types Local::get() accepts but std::optional): throws
  // TL_ERR_WRONG_TYPE for another type, TL_ERR_OUT_OF_RANGE for an integer T cannot hold.
  template <class T> T as() const;

  // GVariant text, parseable by parse(); throws TL_ERR_WRONG_TYPE for a pointer value.
  std::string print(bool type_annotate = false) const
  {
    char *text = detail::check_pointer(tl_value_print(handle_, type_annotate ? 1 : 0));
    std::string result(text);
    tl_free(text);
    return result;
  }
  // The GVariant type string ("x", "s", "a{sv}"; "p" for a pointer value); nullptr when empty.
  const char *type() const noexcept
  {
    return tl_value_type(handle_);
  }

  // Containers: the number of children, child index (a variant's one child is its contents), and
  // a string-keyed dictionary's value for key (nullopt if absent).
  std::size_t n_children() const
  {
    std::size_t n = 0;
    detail::check(tl_value_n_children(handle_, &n));
    return n;
  }
  Value child(std::size_t index) const
  {
    TlValue *out = nullptr;
    detail::check(tl_value_get_child(handle_, index, &out));
    return adopt(out);
  }
  std::optional<Value> lookup(const char *key) const
  {
    TlValue *out = nullptr;
    int status = tl_value_lookup(handle_, key, &out);
    if (status == TL_ERR_NOT_FOUND) {
      return std::nullopt;
    }
    detail::check(status);
    return adopt(out);
  }

  // Same type and contents (tl_value_equal).
  friend bool operator==(const Value &a, const Value &b)
  {
    return detail::check(tl_value_equal(a.handle_, b.handle_)) == 1;
  }
  friend bool operator!=(const Value &a, const Value &b)
  {
    return !(a == b);
  }

  TlValue *raw() const noexcept
  {
    return handle_;
  }
  // Gives the caller this Value's reference; the Value becomes empty.
  TlValue *release() noexcept
  {
    return std::exchange(handle_, nullptr);
  }
  explicit operator bool() const noexcept
  {
    return handle_ != nullptr;
  }

private:
  template <class T> static TlValue *make(const T &value);
  template <class T> static T integer(const TlValue *value);
  // T from a borrowed value, at once (the rules of as()).
  template <class T> static T read(TlValue *value);

  TlValue *handle_ = nullptr;
  friend class Local;
};

template <class T>
TlValue *
Value::make(const T &value)
{
  using D = std::decay_t<T>;
  if constexpr (std::is_same_v<D, bool>) {
    return tl_value_new_bool(value ? 1 : 0);
  } else if constexpr (detail::is_integer_v<D> && std::is_signed_v<D>) {
    return tl_value_new_int64(static_cast<std::int64_t>(value));
  } else if constexpr (detail::is_integer_v<D>) {
    return tl_value_new_uint64(static_cast<std::uint64_t>(value));
  } else if constexpr (std::is_floating_point_v<D>) {
    return tl_value_new_double(static_cast<double>(value));
  } else if constexpr (std::is_same_v<D, const char *> || std::is_same_v<D, char *>) {
    return tl_value_new_string(value);
  } else if constexpr (std::is_convertible_v<const T &, std::string_view>) {
    return tl_value_new_string(detail::c_string(value).c_str());
  } else if constexpr (std::is_same_v<D, std::vector<std::uint8_t>>) {
    return tl_value_new_bytes(value.data(), value.size());
  } else {
    static_assert(detail::dependent_false_v<T>,
                  "tl: no TlValue mapping for this type (a char is neither a string nor an "
                  "integer here: pass std::string(1, c) or an integer type)");
    return nullptr;
  }
}

// Any integer type ("y", "n", "q", "i", "u", "x", "t") into T, whose range is checked.
template <class T>
T
Value::integer(const TlValue *value)
{
  const char *type = tl_value_type(value);
  if (type != nullptr && type[0] == 't' && type[1] == '\0') {
    std::uint64_t u = 0;
    detail::check(tl_value_get_uint64(value, &u));
    return detail::fit_integer<T>(true, u);
  }
  std::int64_t s = 0;
  int status = TL_ERR_WRONG_TYPE;
  if (type != nullptr && type[0] != '\0' && type[1] == '\0') {
    switch (type[0]) {
    case 'y': {
      std::uint8_t v = 0;
      status = tl_value_get_byte(value, &v);
      s = v;
      break;
    }
    case 'n': {
      std::int16_t v = 0;
      status = tl_value_get_int16(value, &v);
      s = v;
      break;
    }
    case 'q': {
      std::uint16_t v = 0;
      status = tl_value_get_uint16(value, &v);
      s = v;
      break;
    }
    case 'i': {
      std::int32_t v = 0;
      status = tl_value_get_int32(value, &v);
      s = v;
      break;
    }
    case 'u': {
      std::uint32_t v = 0;
      status = tl_value_get_uint32(value, &v);
      s = v;
      break;
    }
    default: status = tl_value_get_int64(value, &s); break;
    }
  } else {
    status = tl_value_get_int64(value, &s); // the library's own TL_ERR_WRONG_TYPE and message
  }
  detail::check(status);
  return detail::fit_integer<T>(false, static_cast<std::uint64_t>(s));
}

template <class T>
T
Value::as() const
{
  return read<T>(handle_);
}

template <class T>
T
Value::read(TlValue *handle)
{
  if constexpr (std::is_same_v<T, Value>) {
    return share(handle);
  } else if constexpr (std::is_same_v<T, bool>) {
    int out = 0;
    detail::check(tl_value_get_bool(handle, &out));
    return out != 0;
  } else if constexpr (detail::is_integer_v<T>) {
    return integer<T>(handle);
  } else if constexpr (std::is_floating_point_v<T>) {
    double out = 0;
    detail::check(tl_value_get_double(handle, &out));
    return static_cast<T>(out);
  } else if constexpr (std::is_same_v<T, std::string>) {
    const char *out = nullptr;
    detail::check(tl_value_get_string(handle, &out));
    return std::string(out);
  } else if constexpr (std::is_same_v<T, std::vector<std::uint8_t>>) {
    const void *data = nullptr;
    std::size_t size = 0;
    detail::check(tl_value_get_bytes(handle, &data, &size));
    const auto *first = static_cast<const std::uint8_t *>(data);
    return std::vector<std::uint8_t>(first, first + size);
  } else {
    static_assert(detail::dependent_false_v<T>,
                  "tl: get<T>/as<T> reads bool, integers, float, double, std::string, "
                  "std::vector<std::uint8_t> or tl::Value (no const char * or string_view: "
                  "they would outlive the value)");
    return T();
  }
}

// A local: one dictionary per OS thread (RAII over TlLocal*: copy = tl_local_ref, move, destructor
// = tl_local_unref). Every call acts on the calling thread's dictionary. A moved-from Local is
// empty: destroying it is safe, and any other call throws TL_ERR_INVALID_ARGUMENT.
class Local {
public:
  // tl_local_new: a new local with no dictionary in any thread.
  Local() : handle_(detail::check_pointer(tl_local_new()))
  {
  }
  // tl_local_open: the process-wide local registered under name, shared with C and every other
  // binding in the process that opens the same name.
  static Local open(const char *name)
  {
    return adopt(detail::check_pointer(tl_local_open(name)));
  }
  static Local open(const std::string &name)
  {
    return open(detail::c_string(name).c_str());
  }
  // tl_local_unregister: false if no local had that name.
  static bool unregister(const char *name)
  {
    int status = tl_local_unregister(name);
    if (status == TL_ERR_NOT_FOUND) {
      return false;
    }
    detail::check(status);
    return true;
  }
  // Takes over the caller's reference (e.g. from tl_local_new_full() through tlslocal.h).
  static Local adopt(TlLocal *local) noexcept
  {
    return Local(local);
  }

  Local(const Local &other) noexcept : handle_(tl_local_ref(other.handle_))
  {
  }
  Local(Local &&other) noexcept : handle_(std::exchange(other.handle_, nullptr))
  {
  }
  Local &operator=(const Local &other) noexcept
  {
    if (this != &other) {
      TlLocal *old = std::exchange(handle_, tl_local_ref(other.handle_));
      tl_local_unref(old);
    }
    return *this;
  }
  Local &operator=(Local &&other) noexcept
  {
    if (this != &other) {
      tl_local_unref(std::exchange(handle_, std::exchange(other.handle_, nullptr)));
    }
    return *this;
  }
  ~Local()
  {
    tl_local_unref(handle_);
  }

  // Store value under key in the calling thread's dictionary: bool "b"; signed integers of any
  // width "x" (int64); unsigned "t" (uint64); float, double "d"; const char *, std::string,
  // std::string_view "s"; std::vector<std::uint8_t> "ay"; tl::Value as it is. A char is refused
  // at compile time (a character or a small integer? say which).
  template <class T> void set(const char *key, const T &value)
  {
    using D = std::decay_t<T>;
    if constexpr (std::is_same_v<D, Value>) {
      detail::check(tl_local_set(handle_, key, value.raw()));
    } else if constexpr (std::is_same_v<D, bool>) {
      detail::check(tl_local_set_bool(handle_, key, value ? 1 : 0));
    } else if constexpr (detail::is_integer_v<D> && std::is_signed_v<D>) {
      detail::check(tl_local_set_int64(handle_, key, static_cast<std::int64_t>(value)));
    } else if constexpr (detail::is_integer_v<D>) {
      detail::check(tl_local_set_uint64(handle_, key, static_cast<std::uint64_t>(value)));
    } else if constexpr (std::is_floating_point_v<D>) {
      detail::check(tl_local_set_double(handle_, key, static_cast<double>(value)));
    } else if constexpr (std::is_same_v<D, const char *> || std::is_same_v<D, char *>) {
      detail::check(tl_local_set_string(handle_, key, value));
    } else if constexpr (std::is_convertible_v<const T &, std::string_view>) {
      detail::check(tl_local_set_string(handle_, key, detail::c_string(value).c_str()));
    } else {
      // Bytes and what static_assert refuses: tl_local_set_take steals even a failed value.
      detail::check(tl_local_set_take(handle_, key, Value::make(value)));
    }
  }

  // The calling thread's value of key as T (the types Value::as() reads), std::nullopt if this
  // thread has no such key. Throws TL_ERR_WRONG_TYPE for a value of another type (as the C
  // getters), TL_ERR_OUT_OF_RANGE for an integer T cannot hold.
  // Scalars are read in one C call (tl_local_get_<type>, tl_local_get_scalar for integers).
  template <class T> std::optional<T> get(const char *key) const
  {
    if constexpr (std::is_same_v<T, bool>) {
      int out = 0;
      return found(tl_local_get_bool(handle_, key, &out)) ? std::optional<T>(out != 0)
                                                          : std::nullopt;
    } else if constexpr (detail::is_integer_v<T>) {
      int type = 0;
      std::uint64_t bits = 0;
      if (!found(tl_local_get_scalar(handle_, key, &type, &bits, nullptr))) {
        return std::nullopt;
      }
      switch (type) {
      case 'y':
      case 'n':
      case 'q':
      case 'i':
      case 'u':
      case 'x': return detail::fit_integer<T>(false, bits);
      case 't': return detail::fit_integer<T>(true, bits);
      default: {
        std::int64_t ignored = 0; // not an integer: the library's own TL_ERR_WRONG_TYPE and message
        detail::check(tl_local_get_int64(handle_, key, &ignored));
        throw Error(TL_ERR_WRONG_TYPE, "the value is not an integer");
      }
      }
    } else if constexpr (std::is_floating_point_v<T>) {
      double out = 0;
      return found(tl_local_get_double(handle_, key, &out)) ? std::optional<T>(out) : std::nullopt;
    } else if constexpr (std::is_same_v<T, std::string>) {
      const char *out = nullptr; // borrowed: copied before any other call
      return found(tl_local_get_string(handle_, key, &out)) ? std::optional<T>(out) : std::nullopt;
    } else {
      TlValue *out = nullptr;
      if (!found(tl_local_get(handle_, key, &out))) {
        return std::nullopt;
      }
      Value value = Value::adopt(out);
      return value.as<T>();
    }
  }

  // By quark: the same reads, writes and removal, for a well-known key.
  template <class T> void set(Quark key, const T &value)
  {
    if constexpr (std::is_same_v<std::decay_t<T>, Value>) {
      detail::check(tl_local_set_quark(handle_, key.id(), value.raw()));
    } else {
      Value made(value);
      detail::check(tl_local_set_quark(handle_, key.id(), made.raw()));
    }
  }
  template <class T> std::optional<T> get(Quark key) const
  {
    if constexpr (std::is_same_v<T, Value>) {
      TlValue *out = nullptr;
      return found(tl_local_get_quark(handle_, key.id(), &out))
                 ? std::optional<T>(Value::adopt(out))
                 : std::nullopt;
    } else {
      // Borrowed until this thread changes the key: converted (strings copied) at once.
      TlValue *value = tl_local_peek_quark(handle_, key.id());
      if (value == nullptr && !found(tl_last_error())) {
        return std::nullopt;
      }
      return Value::read<T>(value);
    }
  }
  bool erase(Quark key)
  {
    return found(tl_local_delete_quark(handle_, key.id()));
  }

  bool contains(const char *key) const
  {
    return detail::check(tl_local_contains(handle_, key)) == 1;
  }
  // Remove key from the calling thread's dictionary: false if it had no such key.
  bool erase(const char *key)
  {
    int status = tl_local_delete(handle_, key);
    if (status == TL_ERR_NOT_FOUND) {
      return false;
    }
    detail::check(status);
    return true;
  }
  // The number of keys in the calling thread's dictionary.
  std::size_t size() const
  {
    std::size_t n = 0;
    detail::check(tl_local_size(handle_, &n));
    return n;
  }
  void clear()
  {
    detail::check(tl_local_clear(handle_));
  }
  // The calling thread's keys, in insertion order.
  std::vector<std::string> keys() const
  {
    char **names = nullptr;
    std::size_t n = 0;
    detail::check(tl_local_keys(handle_, &names, &n));
    std::vector<std::string> result;
    try {
      result.assign(names, names + n);
    } catch (...) {
      tl_strv_free(names);
      throw;
    }
    tl_strv_free(names);
    return result;
  }

  // The calling thread's dictionary as an "a{sv}" value, to hand to another thread's apply().
  Value snapshot() const
  {
    TlValue *out = nullptr;
    detail::check(tl_local_snapshot(handle_, &out));
    return Value::adopt(out);
  }
  // Apply a snapshot to the calling thread's dictionary; replace drops the keys it lacks.
  void apply(const Value &snapshot, bool replace = false)
  {
    detail::check(
        tl_local_apply(handle_, snapshot.raw(), replace ? TL_APPLY_REPLACE : TL_APPLY_UPDATE));
  }

  TlLocal *raw() const noexcept
  {
    return handle_;
  }
  // Gives the caller this Local's reference; the Local becomes empty.
  TlLocal *release() noexcept
  {
    return std::exchange(handle_, nullptr);
  }
  explicit operator bool() const noexcept
  {
    return handle_ != nullptr;
  }

private:
  explicit Local(TlLocal *local) noexcept : handle_(local)
  {
  }
  // false for TL_ERR_NOT_FOUND; throws any other error.
  static bool found(int status)
  {
    if (status == TL_ERR_NOT_FOUND) {
      return false;
    }
    detail::check(status);
    return true;
  }

  TlLocal *handle_;
};

} // namespace tl

#endif // TLSLOCAL_HPP
