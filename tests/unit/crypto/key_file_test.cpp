#include "crypto/key_file.hpp"

#include "crypto/peer_id.hpp"
#include "test_util.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace stargate::crypto {
namespace {

namespace fs = std::filesystem;
using test::hex;

class KeyFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    static std::atomic<int> counter{0};
    dir_ = fs::path(::testing::TempDir()) /
           ("stargate-keyfile-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    ASSERT_EQ(::chmod(dir_.c_str(), 0700), 0);  // whatever the umask: an identity directory must be private
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  static mode_t mode_of(const fs::path& p) {
    struct stat st {};
    EXPECT_EQ(::stat(p.c_str(), &st), 0) << p;
    return st.st_mode & 07777;
  }
  static void write_file(const fs::path& p, const std::string& text, mode_t mode = 0600) {
    { std::ofstream(p, std::ios::binary | std::ios::trunc) << text; }
    ASSERT_EQ(::chmod(p.c_str(), mode), 0);
  }
  static std::string read_file(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  fs::path dir_;
};

TEST_F(KeyFileTest, MissingFileIsNulloptNotError) {
  auto r = load_identity(dir_ / "identity.key");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_FALSE(r->has_value());
}

TEST_F(KeyFileTest, SaveLoadRoundTripWithMode0600AndDir0700) {
  IdentityPaths paths{dir_ / "sub" / "dir"};  // created on demand
  auto key = Ed25519PrivateKey::generate();
  auto saved = save_identity(paths.key_file(), key, false);
  ASSERT_TRUE(saved) << saved.error().message;
  EXPECT_EQ(mode_of(paths.key_file()), 0600u);
  EXPECT_EQ(mode_of(paths.dir), 0700u);
  EXPECT_EQ(mode_of(dir_ / "sub"), 0700u);

  auto loaded = load_identity(paths.key_file());
  ASSERT_TRUE(loaded) << loaded.error().message;
  ASSERT_TRUE(loaded->has_value());
  EXPECT_EQ((*loaded)->seed(), key.seed());

  // The file is the documented format and names the peer for humans.
  std::string text = read_file(paths.key_file());
  EXPECT_TRUE(text.starts_with("stargate-identity-v1\n")) << text;
  EXPECT_NE(text.find("ed25519:" + to_hex(key.seed()) + "\n"), std::string::npos);
  EXPECT_NE(text.find(PeerId::from_public_key(key.public_key()).to_string()), std::string::npos);
  // No temporary files left behind.
  int entries = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(paths.dir)) ++entries;
  EXPECT_EQ(entries, 1);
}

TEST_F(KeyFileTest, KnownFileContentLoads) {
  // RFC 8032 TEST 1 seed, with CRLF line ends and extra comments: still the same key.
  fs::path p = dir_ / "identity.key";
  write_file(p,
             "stargate-identity-v1\r\n# hello\r\n\r\n"
             "ed25519:9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60\r\n");
  auto loaded = load_identity(p);
  ASSERT_TRUE(loaded) << loaded.error().message;
  ASSERT_TRUE(loaded->has_value());
  EXPECT_EQ(to_hex((*loaded)->public_key().bytes()), "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
}

TEST_F(KeyFileTest, RefusesGroupOrWorldAccessibleFileWithChmodHint) {
  fs::path p = dir_ / "identity.key";
  ASSERT_TRUE(save_identity(p, Ed25519PrivateKey::generate(), false));
  for (mode_t mode : {0644, 0640, 0604, 0620, 0602}) {
    ASSERT_EQ(::chmod(p.c_str(), mode), 0);
    auto r = load_identity(p);
    ASSERT_FALSE(r) << std::oct << mode;
    EXPECT_NE(r.error().message.find("chmod 600 " + p.string()), std::string::npos) << r.error().message;
  }
  ASSERT_EQ(::chmod(p.c_str(), 0400), 0);  // read-only for the owner is fine
  EXPECT_TRUE(load_identity(p));
}

TEST_F(KeyFileTest, CorruptFilesAreClearErrorsNamingThePath) {
  fs::path p = dir_ / "identity.key";
  const std::string good_hex = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
  struct Case {
    std::string text;
    std::string expect;
  };
  const Case cases[] = {
      {"", "is empty"},
      {"hello\n", "not a Stargate identity file"},
      {"stargate-identity-v2\ned25519:" + good_hex + "\n", "unsupported format version"},
      {"stargate-identity-v1\n", "no 'ed25519:' key line"},
      {"stargate-identity-v1\n# only a comment\n", "no 'ed25519:' key line"},
      {"stargate-identity-v1\ned25519:" + good_hex.substr(0, 62) + "\n", "64 hex characters"},
      {"stargate-identity-v1\ned25519:" + good_hex.substr(0, 63) + "z\n", "non-hex"},
      {"stargate-identity-v1\ned25519:" + good_hex + "\ned25519:" + good_hex + "\n", "more than one key line"},
      {"stargate-identity-v1\nrsa:" + good_hex + "\n", "unexpected content on line 2"},
      {"ed25519:" + good_hex + "\n", "not a Stargate identity file"},
  };
  for (const auto& c : cases) {
    write_file(p, c.text);
    auto r = load_identity(p);
    ASSERT_FALSE(r) << "accepted: " << c.text;
    EXPECT_NE(r.error().message.find(p.string()), std::string::npos) << r.error().message;
    EXPECT_NE(r.error().message.find(c.expect), std::string::npos) << r.error().message;
  }
}

TEST_F(KeyFileTest, LoadOrCreateNeverReplacesACorruptFile) {
  IdentityPaths paths{dir_};
  write_file(paths.key_file(), "garbage\n");
  bool created = true;
  auto r = load_or_create_identity(paths, created);
  ASSERT_FALSE(r);
  EXPECT_FALSE(created);
  EXPECT_EQ(read_file(paths.key_file()), "garbage\n");
}

TEST_F(KeyFileTest, LoadOrCreateCreatesOnceThenLoads) {
  IdentityPaths paths{dir_ / "home" / ".stargate"};
  bool created = false;
  auto first = load_or_create_identity(paths, created);
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_TRUE(created);
  EXPECT_EQ(mode_of(paths.key_file()), 0600u);
  auto second = load_or_create_identity(paths, created);
  ASSERT_TRUE(second) << second.error().message;
  EXPECT_FALSE(created);
  EXPECT_EQ(first->seed(), second->seed());
}

TEST_F(KeyFileTest, OverwriteRefusedWithoutForce) {
  fs::path p = dir_ / "identity.key";
  auto a = Ed25519PrivateKey::generate();
  auto b = Ed25519PrivateKey::generate();
  ASSERT_TRUE(save_identity(p, a, false));
  auto r = save_identity(p, b, false);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("--force"), std::string::npos) << r.error().message;
  EXPECT_EQ((*load_identity(p))->seed(), a.seed());

  auto forced = save_identity(p, b, true);
  ASSERT_TRUE(forced) << forced.error().message;
  EXPECT_EQ((*load_identity(p))->seed(), b.seed());
  EXPECT_EQ(mode_of(p), 0600u);
}

TEST_F(KeyFileTest, ResolveIdentityDirOrder) {
  const char* old_env = std::getenv(kIdentityDirEnv);
  std::optional<std::string> saved_env = old_env ? std::optional<std::string>(old_env) : std::nullopt;
  const char* old_home = std::getenv("HOME");
  std::optional<std::string> saved_home = old_home ? std::optional<std::string>(old_home) : std::nullopt;

  ::setenv("HOME", "/home/tester", 1);
  ::unsetenv(kIdentityDirEnv);
  EXPECT_EQ(resolve_identity_dir(std::nullopt).dir, fs::path("/home/tester/.stargate"));
  EXPECT_EQ(resolve_identity_dir(std::nullopt).key_file(), fs::path("/home/tester/.stargate/identity.key"));
  ::setenv(kIdentityDirEnv, "/from/env", 1);
  EXPECT_EQ(resolve_identity_dir(std::nullopt).dir, fs::path("/from/env"));
  EXPECT_EQ(resolve_identity_dir(fs::path("/from/flag")).dir, fs::path("/from/flag"));
  ::setenv(kIdentityDirEnv, "", 1);  // empty means unset
  EXPECT_EQ(resolve_identity_dir(std::nullopt).dir, fs::path("/home/tester/.stargate"));

  if (saved_env) ::setenv(kIdentityDirEnv, saved_env->c_str(), 1); else ::unsetenv(kIdentityDirEnv);
  if (saved_home) ::setenv("HOME", saved_home->c_str(), 1); else ::unsetenv("HOME");
}

// Issue 13, finding 6: a symlinked key file is refused, not followed.
TEST_F(KeyFileTest, SymlinkedKeyFileIsRefused) {
  const fs::path target = dir_ / "elsewhere.key";
  ASSERT_TRUE(save_identity(target, Ed25519PrivateKey::generate(), false));
  IdentityPaths paths{dir_};
  fs::create_symlink(target, paths.key_file());
  auto r = load_identity(paths.key_file());
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find(paths.key_file().string() + " is a symlink"), std::string::npos) << r.error().message;
  // Nor is it replaced by a new identity.
  bool created = true;
  EXPECT_FALSE(load_or_create_identity(paths, created));
  EXPECT_FALSE(created);
  EXPECT_TRUE(fs::is_symlink(paths.key_file()));

  // A dangling symlink too: it is not "no file".
  fs::remove(target);
  auto dangling = load_identity(paths.key_file());
  ASSERT_FALSE(dangling);
  EXPECT_NE(dangling.error().message.find("is a symlink"), std::string::npos) << dangling.error().message;
}

// A FIFO as the key file: refused at once. Without O_NONBLOCK the open() in load_identity blocks
// until a writer appears, i.e. this test never returns (ctest's timeout then fails it).
TEST_F(KeyFileTest, FifoKeyFileIsRefusedPromptly) {
  IdentityPaths paths{dir_};
  ASSERT_EQ(::mkfifo(paths.key_file().c_str(), 0600), 0);
  auto r = load_identity(paths.key_file());  // in the test thread, on purpose
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("is not a regular file (it is a FIFO)"), std::string::npos) << r.error().message;
  bool created = true;
  EXPECT_FALSE(load_or_create_identity(paths, created));
  EXPECT_FALSE(created);
}

TEST_F(KeyFileTest, DirectoryAsKeyFileIsRefused) {
  IdentityPaths paths{dir_};
  fs::create_directory(paths.key_file());
  auto r = load_identity(paths.key_file());
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("is not a regular file (it is a directory)"), std::string::npos) << r.error().message;
}

// An identity directory others can write is refused, with the fix, before any key is read or made.
TEST_F(KeyFileTest, GroupOrWorldWritableDirectoryIsRefused) {
  IdentityPaths paths{dir_};
  for (mode_t mode : {0777, 0770, 0730, 0703, 01777}) {
    ASSERT_EQ(::chmod(dir_.c_str(), mode), 0);
    auto checked = check_identity_dir(dir_);
    ASSERT_FALSE(checked) << std::oct << mode;
    EXPECT_NE(checked.error().message.find("chmod 700 " + dir_.string()), std::string::npos) << checked.error().message;
    EXPECT_NE(checked.error().message.find("writable by group or others"), std::string::npos) << checked.error().message;

    // A missing key is not replaced by a new identity: nothing is created.
    bool created = true;
    auto r = load_or_create_identity(paths, created);
    ASSERT_FALSE(r) << std::oct << mode;
    EXPECT_FALSE(created);
    EXPECT_NE(r.error().message.find("chmod 700 " + dir_.string()), std::string::npos) << r.error().message;
    EXPECT_FALSE(fs::exists(paths.key_file()));
    EXPECT_TRUE(fs::is_empty(dir_)) << "no temporary file either";
    auto saved = save_identity(paths.key_file(), Ed25519PrivateKey::generate(), false);
    ASSERT_FALSE(saved);
    EXPECT_NE(saved.error().message.find("chmod 700"), std::string::npos) << saved.error().message;
    EXPECT_TRUE(fs::is_empty(dir_));
  }
  // An existing good key in such a directory is refused too (someone may have swapped it).
  ASSERT_EQ(::chmod(dir_.c_str(), 0700), 0);
  ASSERT_TRUE(save_identity(paths.key_file(), Ed25519PrivateKey::generate(), false));
  ASSERT_EQ(::chmod(dir_.c_str(), 0777), 0);
  auto loaded = load_identity(paths.key_file());
  ASSERT_FALSE(loaded);
  EXPECT_NE(loaded.error().message.find("chmod 700 " + dir_.string()), std::string::npos) << loaded.error().message;
}

TEST_F(KeyFileTest, PrivateDirectoriesAreAccepted) {
  IdentityPaths paths{dir_};
  ASSERT_EQ(::chmod(dir_.c_str(), 0700), 0);
  bool created = false;
  auto first = load_or_create_identity(paths, created);
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_TRUE(created);
  ASSERT_EQ(::chmod(dir_.c_str(), 0755), 0);  // readable by others is fine: the key file itself is 0600
  auto again = load_or_create_identity(paths, created);
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_FALSE(created);
  EXPECT_EQ(first->seed(), again->seed());
  EXPECT_TRUE(check_identity_dir(dir_ / "not-yet"));  // missing: created 0700 when needed
}

TEST_F(KeyFileTest, DirectoryOfAnotherUserIsRefused) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to give a directory to another user";
  IdentityPaths paths{dir_};
  ASSERT_EQ(::chown(dir_.c_str(), 65534, 65534), 0);  // nobody
  auto checked = check_identity_dir(dir_);
  ASSERT_FALSE(checked);
  EXPECT_NE(checked.error().message.find("belongs to another user (uid 65534)"), std::string::npos)
      << checked.error().message;
  bool created = true;
  EXPECT_FALSE(load_or_create_identity(paths, created));
  EXPECT_FALSE(created);
  EXPECT_FALSE(fs::exists(paths.key_file()));
}

// The libp2p PrivateKey protobuf, as go-libp2p writes it: the all-zero seed (go-libp2p's tests).
constexpr const char* kZeroSeedPrivateKeyProto =
    "08011240"
    "0000000000000000000000000000000000000000000000000000000000000000"
    "3b6a27bcceb6a42d62a3a8d02a6f0d73653215771de243a63ac048a18b59da29";

TEST(Libp2pPrivateKey, SpecTestVector) {
  // libp2p/specs peer-ids/peer-ids.md test vectors: ED25519 private key and its public key.
  auto key = import_libp2p_private_key(hex(
      "080112407e0830617c4a7de83925dfb2694556b12936c477a0e1feb2e148ec9da60fee7d"
      "1ed1e8fae2c4a144b8be8fd4b47bf3d3b34b871c3cacf6010f0e42d474fce27e"));
  ASSERT_TRUE(key) << key.error().message;
  EXPECT_EQ(to_hex(encode_public_key_proto(key->public_key())),
            "080112201ed1e8fae2c4a144b8be8fd4b47bf3d3b34b871c3cacf6010f0e42d474fce27e");
  EXPECT_EQ(PeerId::from_public_key(key->public_key()).to_string(), "12D3KooWBtg3aaRMjxwedh83aGiUkwSxDwUZkzuJcfaqUmo7R3pq");
  EXPECT_EQ(to_hex(export_libp2p_private_key(*key)),
            "080112407e0830617c4a7de83925dfb2694556b12936c477a0e1feb2e148ec9da60fee7d"
            "1ed1e8fae2c4a144b8be8fd4b47bf3d3b34b871c3cacf6010f0e42d474fce27e");
}

TEST(Libp2pPrivateKey, ExportImportRoundTrip) {
  auto zero = Ed25519PrivateKey::from_seed(Bytes(32, 0));
  ASSERT_TRUE(zero);
  EXPECT_EQ(to_hex(export_libp2p_private_key(*zero)), kZeroSeedPrivateKeyProto);

  auto key = Ed25519PrivateKey::generate();
  auto back = import_libp2p_private_key(export_libp2p_private_key(key));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->seed(), key.seed());
}

TEST(Libp2pPrivateKey, Accepts32And96ByteForms) {
  Bytes seed_only = hex("08011220");
  append(seed_only, Bytes(32, 0));
  auto a = import_libp2p_private_key(seed_only);
  ASSERT_TRUE(a) << a.error().message;
  EXPECT_EQ(to_hex(a->public_key().bytes()), "3b6a27bcceb6a42d62a3a8d02a6f0d73653215771de243a63ac048a18b59da29");

  Bytes legacy = hex("08011260");
  append(legacy, Bytes(32, 0));
  append(legacy, hex("3b6a27bcceb6a42d62a3a8d02a6f0d73653215771de243a63ac048a18b59da29"));
  append(legacy, hex("3b6a27bcceb6a42d62a3a8d02a6f0d73653215771de243a63ac048a18b59da29"));
  EXPECT_TRUE(import_libp2p_private_key(legacy));
  legacy.back() ^= 1;  // second copy differs
  EXPECT_FALSE(import_libp2p_private_key(legacy));
}

TEST(Libp2pPrivateKey, RejectsMismatchWrongTypeAndGarbage) {
  Bytes bad = hex(kZeroSeedPrivateKeyProto);
  bad.back() ^= 1;  // embedded public key no longer matches the seed
  auto r = import_libp2p_private_key(bad);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("does not match"), std::string::npos);

  // The spec's secp256k1 private key.
  auto secp = import_libp2p_private_key(hex("0802122053DADF1D5A164D6B4ACDB15E24AA4C5B1D3461BDBD42ABEDB0A4404D56CED8FB"));
  ASSERT_FALSE(secp);
  EXPECT_NE(secp.error().message.find("only Ed25519"), std::string::npos);

  EXPECT_FALSE(import_libp2p_private_key({}));
  EXPECT_FALSE(import_libp2p_private_key(hex("0801")));
  EXPECT_FALSE(import_libp2p_private_key(hex("0801121f" + std::string(62, '0'))));  // 31 bytes
  EXPECT_FALSE(import_libp2p_private_key(hex("deadbeef")));
}

}  // namespace
}  // namespace stargate::crypto
