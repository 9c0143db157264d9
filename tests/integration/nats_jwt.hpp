#pragma once
// Test support: NATS decentralized authentication (operator / account / user JWTs and nkeys) made
// in C++ with the project's own crypto, since no `nsc` is installed.
//
// nkeys (github.com/nats-io/nkeys): a public key is base32 (RFC 4648, uppercase, no padding) of
// [prefix byte] + 32-byte Ed25519 key + CRC16-XMODEM (little-endian) of what precedes it; prefix
// bytes: operator 'O' = 14<<3, account 'A' = 0, user 'U' = 20<<3. A seed is base32 of
// [18<<3 | prefix>>5, (prefix & 31)<<3] + 32-byte Ed25519 seed + CRC16, so it begins "SO", "SA",
// "SU".
//
// JWTs (github.com/nats-io/jwt v2): base64url (no padding) of {"typ":"JWT","alg":"ed25519-nkey"},
// ".", base64url of the claims JSON, ".", base64url of the issuer nkey's Ed25519 signature over
// "header.claims". Claims: jti, iat, iss, sub, name, nats{type, version: 2, ...}.
#include "base/bytes.hpp"
#include "crypto/ed25519.hpp"

#include <filesystem>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace stargate::testing {

using crypto::Ed25519PrivateKey;

enum class NkeyType { operator_key, account, user };

// An Ed25519 key pair with its nkey encodings.
class Nkey {
 public:
  static Nkey generate(NkeyType type);
  NkeyType type() const { return type_; }
  std::string public_key() const;  // "O…", "A…", "U…" (56 characters)
  std::string seed() const;        // "SO…", "SA…", "SU…" (58 characters)
  // base64url of the Ed25519 signature over `data`.
  std::string sign_b64url(std::string_view data) const;

 private:
  Nkey(NkeyType type, Ed25519PrivateKey key) : type_(type), key_(std::move(key)) {}
  NkeyType type_;
  Ed25519PrivateKey key_;
};

std::uint16_t crc16_xmodem(BytesView data);

// A signed JWT: `claims_nats` is the body of the "nats" object without type and version (e.g.
// "\"limits\":{...}"), may be empty.
std::string make_jwt(const Nkey& issuer, const std::string& subject_public_key, const std::string& name,
                     const std::string& type, const std::string& claims_nats);

// An operator (self-signed), an account signed by it, users signed by the account.
struct NatsOperator {
  Nkey key = Nkey::generate(NkeyType::operator_key);
  std::string jwt;
};
struct NatsAccount {
  Nkey key = Nkey::generate(NkeyType::account);
  std::string jwt;
};
struct NatsUser {
  Nkey key = Nkey::generate(NkeyType::user);
  std::string jwt;
};

NatsOperator make_operator(const std::string& name = "stargate-test-operator");
NatsAccount make_account(const NatsOperator& op, const std::string& name = "stargate-test-account");
NatsUser make_user(const NatsAccount& account, const std::string& name = "stargate-test-user");

// The text of a .creds file (as `nsc generate creds` writes it).
std::string creds_text(const NatsUser& user);
void write_creds(const std::filesystem::path& path, const NatsUser& user);

// nats-server configuration: operator mode, memory resolver with `accounts` preloaded. The
// operator JWT is written to `operator_jwt_path` (the config names it).
std::string server_config(const NatsOperator& op, const std::filesystem::path& operator_jwt_path,
                          const std::vector<const NatsAccount*>& accounts);

}  // namespace stargate::testing
