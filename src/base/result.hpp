#pragma once
// Result<T>: a value or an Error that says what went wrong, for decoders and parsers that face
// hostile input (errors are expected there, so they are values, not exceptions).
#include <boost/system/result.hpp>

#include <stdexcept>
#include <string>
#include <utility>

namespace stargate {

struct Error {
  std::string message;
};

class ErrorException : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Called by boost::system::result<T, Error>::value() when it holds an error.
[[noreturn]] inline void throw_exception_from_error(const Error& e, const boost::source_location&) {
  throw ErrorException(e.message);
}

template <class T>
using Result = boost::system::result<T, Error>;

inline Error make_error(std::string message) { return Error{std::move(message)}; }

}  // namespace stargate
