#pragma once
// Private helpers shared by the OpenSSL wrappers (not part of the crypto API).
#include <string>

namespace stargate::crypto::detail {

// Throws std::runtime_error naming `what` and OpenSSL's most recent error (and clears its queue).
[[noreturn]] void throw_openssl_error(const char* what);
// The most recent OpenSSL error as text (and clears the queue); "unknown OpenSSL error" if none.
std::string openssl_error_string();

}  // namespace stargate::crypto::detail
