#include "crypto/openssl_util.hpp"

#include <openssl/err.h>

#include <stdexcept>

namespace stargate::crypto::detail {

std::string openssl_error_string() {
  unsigned long code = ERR_get_error();
  unsigned long last = code;
  while (code != 0) {  // keep the oldest (root cause), drain the rest
    code = ERR_get_error();
  }
  if (last == 0) return "unknown OpenSSL error";
  char buf[256];
  ERR_error_string_n(last, buf, sizeof buf);
  return buf;
}

void throw_openssl_error(const char* what) {
  throw std::runtime_error(std::string(what) + ": " + openssl_error_string());
}

}  // namespace stargate::crypto::detail
