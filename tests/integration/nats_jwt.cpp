#include "nats_jwt.hpp"

#include "base/rfc4648.hpp"
#include "crypto/random.hpp"
#include "crypto/sha256.hpp"

#include <array>
#include <atomic>
#include <cctype>
#include <chrono>
#include <fstream>
#include <stdexcept>

namespace stargate::testing {
namespace {

constexpr std::uint8_t kPrefixSeed = 18 << 3;

std::uint8_t prefix_of(NkeyType type) {
  switch (type) {
    case NkeyType::operator_key: return 14 << 3;
    case NkeyType::account: return 0;
    case NkeyType::user: return 20 << 3;
  }
  return 0;
}

std::string upper(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

// prefix bytes + 32 key bytes + CRC16 (little-endian), base32 uppercase without padding.
std::string encode_nkey(Bytes raw) {
  std::uint16_t crc = crc16_xmodem(raw);
  raw.push_back(static_cast<std::uint8_t>(crc & 0xff));
  raw.push_back(static_cast<std::uint8_t>(crc >> 8));
  return upper(base32_encode(raw));
}

std::string b64url(std::string_view text) { return base64url_encode(as_bytes(text)); }

}  // namespace

std::uint16_t crc16_xmodem(BytesView data) {
  std::uint16_t crc = 0;
  for (std::uint8_t byte : data) {
    crc = static_cast<std::uint16_t>(crc ^ (static_cast<std::uint16_t>(byte) << 8));
    for (int i = 0; i < 8; ++i) {
      crc = (crc & 0x8000) ? static_cast<std::uint16_t>((crc << 1) ^ 0x1021) : static_cast<std::uint16_t>(crc << 1);
    }
  }
  return crc;
}

Nkey Nkey::generate(NkeyType type) { return Nkey(type, Ed25519PrivateKey::generate()); }

std::string Nkey::public_key() const {
  Bytes raw{prefix_of(type_)};
  const auto& pk = key_.public_key().bytes();
  raw.insert(raw.end(), pk.begin(), pk.end());
  return encode_nkey(std::move(raw));
}

std::string Nkey::seed() const {
  std::uint8_t prefix = prefix_of(type_);
  Bytes raw{static_cast<std::uint8_t>(kPrefixSeed | (prefix >> 5)), static_cast<std::uint8_t>((prefix & 31) << 3)};
  auto s = key_.seed();
  raw.insert(raw.end(), s.begin(), s.end());
  return encode_nkey(std::move(raw));
}

std::string Nkey::sign_b64url(std::string_view data) const {
  auto signature = key_.sign(as_bytes(data));
  return base64url_encode(BytesView(signature.data(), signature.size()));
}

std::string make_jwt(const Nkey& issuer, const std::string& subject_public_key, const std::string& name,
                     const std::string& type, const std::string& claims_nats) {
  static std::atomic<unsigned> counter{0};
  auto iat = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  // jti: a unique id (nats-io/jwt uses a hash of the claims; the server does not check it).
  std::array<std::uint8_t, 16> nonce{};
  crypto::random_bytes(nonce);
  std::string unique = subject_public_key + std::to_string(counter++) + base16_encode(nonce);
  auto digest = crypto::sha256(as_bytes(unique));
  std::string jti = upper(base32_encode(BytesView(digest.data(), digest.size())));
  std::string nats = "{";
  if (!claims_nats.empty()) nats += claims_nats + ",";
  nats += "\"type\":\"" + type + "\",\"version\":2}";
  std::string claims = "{\"jti\":\"" + jti + "\",\"iat\":" + std::to_string(iat) + ",\"iss\":\"" + issuer.public_key() +
                       "\",\"name\":\"" + name + "\",\"sub\":\"" + subject_public_key + "\",\"nats\":" + nats + "}";
  std::string signing_input = b64url(R"({"typ":"JWT","alg":"ed25519-nkey"})") + "." + b64url(claims);
  return signing_input + "." + issuer.sign_b64url(signing_input);
}

NatsOperator make_operator(const std::string& name) {
  NatsOperator op;
  op.jwt = make_jwt(op.key, op.key.public_key(), name, "operator", "");
  return op;
}

NatsAccount make_account(const NatsOperator& op, const std::string& name) {
  NatsAccount account;
  account.jwt = make_jwt(op.key, account.key.public_key(), name, "account",
                         R"("limits":{"subs":-1,"data":-1,"payload":-1,"imports":-1,"exports":-1,)"
                         R"("wildcards":true,"conn":-1,"leaf":-1},"default_permissions":{"pub":{},"sub":{}})");
  return account;
}

NatsUser make_user(const NatsAccount& account, const std::string& name) {
  NatsUser user;
  user.jwt = make_jwt(account.key, user.key.public_key(), name, "user",
                      R"("pub":{},"sub":{},"subs":-1,"data":-1,"payload":-1)");
  return user;
}

std::string creds_text(const NatsUser& user) {
  return "-----BEGIN NATS USER JWT-----\n" + user.jwt +
         "\n------END NATS USER JWT------\n\n"
         "************************* IMPORTANT *************************\n"
         "NKEY Seed printed below can be used to sign and prove identity.\n"
         "NKEYs are sensitive and should be treated as secrets.\n\n"
         "-----BEGIN USER NKEY SEED-----\n" +
         user.key.seed() +
         "\n------END USER NKEY SEED------\n\n"
         "*************************************************************\n";
}

void write_creds(const std::filesystem::path& path, const NatsUser& user) {
  // Written aside and renamed over, so a reader never sees half a file.
  auto temporary = path;
  temporary += ".tmp";
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    out << creds_text(user);
    if (!out) throw std::runtime_error("cannot write " + temporary.string());
  }
  std::filesystem::rename(temporary, path);
}

std::string server_config(const NatsOperator& op, const std::filesystem::path& operator_jwt_path,
                          const std::vector<const NatsAccount*>& accounts) {
  {
    std::ofstream out(operator_jwt_path, std::ios::binary | std::ios::trunc);
    out << op.jwt << "\n";
    if (!out) throw std::runtime_error("cannot write " + operator_jwt_path.string());
  }
  std::string config = "operator: \"" + operator_jwt_path.string() + "\"\nresolver: MEMORY\nresolver_preload: {\n";
  for (const auto* account : accounts) config += "  " + account->key.public_key() + ": \"" + account->jwt + "\"\n";
  config += "}\n";
  return config;
}

}  // namespace stargate::testing
