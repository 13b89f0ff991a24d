#pragma once
#include <sstream>
#include <stdexcept>
#include <string>

namespace seqrec {

/// Bad user data, configuration or arguments: the message says what, where and how to fix it.
class InvalidInput : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

/// A broken invariant inside seqrec: a bug, not the user's fault.
class InternalError : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

namespace detail {
template <typename... Parts>
std::string concat(const Parts&... parts) {
  std::ostringstream out;
  (out << ... << parts);
  return out.str();
}
}  // namespace detail

}  // namespace seqrec

/// Throws seqrec::InvalidInput with the parts streamed together when cond is false.
#define SEQREC_CHECK(cond, ...)                                           \
  do {                                                                    \
    if (!(cond)) throw ::seqrec::InvalidInput(::seqrec::detail::concat(__VA_ARGS__)); \
  } while (0)

/// Throws seqrec::InternalError naming the failed condition and source location.
#define SEQREC_ASSERT(cond, ...)                                                      \
  do {                                                                                \
    if (!(cond))                                                                      \
      throw ::seqrec::InternalError(::seqrec::detail::concat(                         \
          "internal error at ", __FILE__, ":", __LINE__, ": ", #cond, " ", ##__VA_ARGS__)); \
  } while (0)
