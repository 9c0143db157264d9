#include "agent/settings.hpp"
#include "env_support.hpp"
#include "settings_support.hpp"
#include "stargate/node.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <string>

namespace stargate::agent {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using testing::Env;
using testing::TempDir;

std::string error_of(const Result<void>& r) { return r ? std::string("<no error>") : r.error().message; }

Result<void> apply_text(Settings& s, std::string_view text) { return apply_toml_text(s, text, "test.toml"); }

const char* kFullExample = R"(
allow_any = false

[agent]
name = "summarizer"
capabilities = ["summarize", "translate"]

[nats]
urls = ["nats://10.0.0.1:4222", "nats://10.0.0.2:4222"]
user = "agent"
password = "hunter2"
token_file = "/run/secrets/nats-token"
creds_file = "/etc/stargate/agent.creds"
connect_timeout_ms = 5000

[calls]
timeout_ms = 12000

[announce]
interval_s = 20
ttl_s = 60

[log]
level = "warn,nats=debug"

[serve]
summarize = "python3 summarize.py"
"text.translate" = "./translate --json"

[allow]
"*" = ["231cfb892e800b2602b69deab977a76c"]
summarize = ["12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo", "planner"]
)";

TEST(Settings, Defaults) {
  Settings s = defaults();
  EXPECT_EQ(s.nats_urls, std::vector<std::string>{"nats://127.0.0.1:4222"});
  EXPECT_EQ(s.connect_timeout, 2000ms);
  EXPECT_EQ(s.call_timeout, 30s);
  EXPECT_EQ(s.announce_interval, 30s);
  EXPECT_EQ(s.announce_ttl, 90s);
  EXPECT_EQ(s.log_level, "info");
  EXPECT_FALSE(s.allow_any);
  EXPECT_TRUE(s.allow.empty());
  EXPECT_TRUE(s.serve.empty());
  EXPECT_TRUE(validate(s).has_value());
}

TEST(Settings, FullExampleParses) {
  Settings s = defaults();
  auto r = apply_text(s, kFullExample);
  ASSERT_TRUE(r.has_value()) << error_of(r);
  EXPECT_EQ(s.display_name, "summarizer");
  EXPECT_EQ(s.capabilities, (std::vector<std::string>{"summarize", "translate"}));
  EXPECT_EQ(s.nats_urls, (std::vector<std::string>{"nats://10.0.0.1:4222", "nats://10.0.0.2:4222"}));
  EXPECT_EQ(s.nats_user, "agent");
  EXPECT_EQ(s.nats_password, "hunter2");
  EXPECT_EQ(s.nats_token_file, "/run/secrets/nats-token");
  EXPECT_EQ(s.nats_creds_file, "/etc/stargate/agent.creds");
  EXPECT_EQ(s.connect_timeout, 5000ms);
  EXPECT_EQ(s.call_timeout, 12s);
  EXPECT_EQ(s.announce_interval, 20s);
  EXPECT_EQ(s.announce_ttl, 60s);
  EXPECT_EQ(s.log_level, "warn,nats=debug");
  ASSERT_EQ(s.serve.size(), 2u);
  EXPECT_EQ(s.serve[0], (std::pair<std::string, std::string>{"summarize", "python3 summarize.py"}));
  EXPECT_EQ(s.serve[1], (std::pair<std::string, std::string>{"text.translate", "./translate --json"}));
  EXPECT_TRUE(validate(s).has_value());
}

TEST(Settings, PrecedenceDefaultsFileEnvOverrides) {
  TempDir dir;
  dir.write("config.toml", R"(
[agent]
name = "from-file"
capabilities = ["file-cap"]
[nats]
urls = ["nats://file:4222"]
user = "file-user"
connect_timeout_ms = 3000
[calls]
timeout_ms = 7000
[announce]
interval_s = 10
[log]
level = "debug"
)");
  Env env{{"STARGATE_NAME", "from-env"},
          {"STARGATE_NATS_URL", "nats://env:4222"},
          {"STARGATE_CALL_TIMEOUT", "9"},
          {"STARGATE_LOG_LEVEL", "trace"}};
  SettingOverrides flags;
  flags.display_name = "from-flag";
  flags.call_timeout = 11s;

  auto r = load_settings(dir.path(), flags, testing::getenv_from(env));
  ASSERT_TRUE(r.has_value()) << r.error().message;
  const Settings& s = *r;
  EXPECT_EQ(s.display_name, "from-flag");                                     // flag > env > file
  EXPECT_EQ(s.call_timeout, 11s);                                              // flag > env > file
  EXPECT_EQ(s.log_level, "trace");                                             // env > file
  EXPECT_EQ(s.nats_urls, std::vector<std::string>{"nats://env:4222"});        // env > file
  EXPECT_EQ(s.capabilities, std::vector<std::string>{"file-cap"});            // file > default
  EXPECT_EQ(s.nats_user, "file-user");                                         // file > default
  EXPECT_EQ(s.connect_timeout, 3000ms);                                        // file > default
  EXPECT_EQ(s.announce_interval, 10s);                                         // file > default
  EXPECT_EQ(s.announce_ttl, 90s);                                              // default kept

  // Without the flags, the environment wins over the file.
  auto r2 = load_settings(dir.path(), {}, testing::getenv_from(env));
  ASSERT_TRUE(r2.has_value()) << r2.error().message;
  EXPECT_EQ(r2->display_name, "from-env");
  EXPECT_EQ(r2->call_timeout, 9s);

  // Without the environment either, the file wins over the defaults.
  Env none;
  auto r3 = load_settings(dir.path(), {}, testing::getenv_from(none));
  ASSERT_TRUE(r3.has_value()) << r3.error().message;
  EXPECT_EQ(r3->display_name, "from-file");
  EXPECT_EQ(r3->call_timeout, 7s);
  EXPECT_EQ(r3->log_level, "debug");
  EXPECT_EQ(r3->nats_urls, std::vector<std::string>{"nats://file:4222"});
}

TEST(Settings, OverridesTouchOnlyWhatWasGiven) {
  Settings s = defaults();
  s.display_name = "kept";
  s.nats_token = "kept-token";
  SettingOverrides o;
  o.announce_ttl = 120s;
  o.allow_any = true;
  apply_overrides(s, o);
  EXPECT_EQ(s.display_name, "kept");
  EXPECT_EQ(s.nats_token, "kept-token");
  EXPECT_EQ(s.announce_ttl, 120s);
  EXPECT_TRUE(s.allow_any);
  // An explicitly given empty value is applied (the user asked for it).
  SettingOverrides clear;
  clear.capabilities = std::vector<std::string>{};
  s.capabilities = {"x"};
  apply_overrides(s, clear);
  EXPECT_TRUE(s.capabilities.empty());
}

TEST(Settings, MissingFileIsFine) {
  TempDir dir;
  Settings s = defaults();
  s.display_name = "unchanged";
  auto r = apply_toml_file(s, dir.path() / "config.toml");
  ASSERT_TRUE(r.has_value()) << error_of(r);
  EXPECT_EQ(s.display_name, "unchanged");
  Env none;
  EXPECT_TRUE(load_settings(dir.path() / "no-such-dir", {}, testing::getenv_from(none)).has_value());
}

TEST(Settings, SyntaxErrorNamesFileLineAndColumn) {
  TempDir dir;
  auto path = dir.write("config.toml", "[agent]\nname = \"ok\"\ncapabilities = [\"a\", \n\n[nats\n");
  Settings s = defaults();
  auto r = apply_toml_file(s, path);
  ASSERT_FALSE(r.has_value());
  const std::string msg = r.error().message;
  EXPECT_NE(msg.find(path.string() + ":"), std::string::npos) << msg;
  // line:column right after the file name
  auto after = msg.substr(path.string().size() + 1);
  ASSERT_FALSE(after.empty()) << msg;
  EXPECT_TRUE(std::isdigit(static_cast<unsigned char>(after[0]))) << msg;
  EXPECT_NE(after.find(':'), std::string::npos) << msg;
  EXPECT_NE(msg.find("syntax error"), std::string::npos) << msg;
  EXPECT_EQ(s.display_name, "");  // nothing applied

  // A precise position: the bad value is on line 2, column 8.
  Settings t = defaults();
  auto r2 = apply_text(t, "[agent]\nname = nope\n");
  ASSERT_FALSE(r2.has_value());
  EXPECT_EQ(r2.error().message.rfind("test.toml:2:", 0), 0u) << r2.error().message;
}

TEST(Settings, UnknownKeysAreErrors) {
  Settings s = defaults();
  auto r = apply_text(s, "[nats]\nurl = [\"nats://x:4222\"]\n");
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message.find("unknown key nats.url"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("urls"), std::string::npos) << r.error().message;  // says what is known
  EXPECT_EQ(r.error().message.rfind("test.toml:2:1:", 0), 0u) << r.error().message;  // where the key is

  auto r2 = apply_text(s, "[agnet]\nname = \"x\"\n");
  ASSERT_FALSE(r2.has_value());
  EXPECT_NE(r2.error().message.find("unknown key agnet"), std::string::npos) << r2.error().message;

  auto r3 = apply_text(s, "name = \"x\"\n");
  ASSERT_FALSE(r3.has_value());
  EXPECT_NE(r3.error().message.find("unknown key name"), std::string::npos) << r3.error().message;

  // allow_any after a [section] belongs to that section: the message says where it goes.
  auto r4 = apply_text(s, "[log]\nlevel = \"info\"\nallow_any = true\n");
  ASSERT_FALSE(r4.has_value());
  EXPECT_NE(r4.error().message.find("top of the file"), std::string::npos) << r4.error().message;
  EXPECT_EQ(s.log_level, "info");
}

TEST(Settings, WrongTypesAreErrors) {
  struct Case {
    const char* text;
    const char* key;
    const char* expected;
  };
  for (const Case& c : {
           Case{"[nats]\nconnect_timeout_ms = \"5s\"\n", "nats.connect_timeout_ms", "an integer"},
           Case{"[nats]\nurls = \"nats://x:4222\"\n", "nats.urls", "an array of strings"},
           Case{"[agent]\nname = 42\n", "agent.name", "a string"},
           Case{"[agent]\ncapabilities = [\"a\", 1]\n", "agent.capabilities entries", "strings"},
           Case{"[calls]\ntimeout_ms = 1.5\n", "calls.timeout_ms", "an integer"},
           Case{"[announce]\nttl_s = true\n", "announce.ttl_s", "an integer"},
           Case{"allow_any = \"yes\"\n", "allow_any", "a boolean"},
           Case{"[serve]\necho = [\"cat\"]\n", "serve.echo", "a string"},
           Case{"[allow]\necho = \"alice\"\n", "allow.echo", "an array of strings"},
           Case{"agent = \"x\"\n", "agent", "a table"},
       }) {
    Settings s = defaults();
    auto r = apply_text(s, c.text);
    ASSERT_FALSE(r.has_value()) << c.text;
    const auto& msg = r.error().message;
    EXPECT_NE(msg.find(std::string(c.key) + " must be " + c.expected), std::string::npos) << msg;
  }
  // Out of range.
  Settings s = defaults();
  auto r = apply_text(s, "[calls]\ntimeout_ms = 0\n");
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message.find("calls.timeout_ms must be between 1 and"), std::string::npos) << r.error().message;
  EXPECT_EQ(s.call_timeout, 30s);
}

TEST(Settings, GroupOrWorldWritableFileIsRefused) {
  TempDir dir;
  auto path = dir.write("config.toml", "[serve]\necho = \"cat\"\n", 0664);
  Settings s = defaults();
  auto r = apply_toml_file(s, path);
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message.find("writable by group or others"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("chmod go-w " + path.string()), std::string::npos) << r.error().message;
  EXPECT_TRUE(s.serve.empty());

  ASSERT_EQ(::chmod(path.c_str(), 0602), 0);
  EXPECT_FALSE(apply_toml_file(s, path).has_value());

  ASSERT_EQ(::chmod(path.c_str(), 0644), 0);  // readable, not writable: fine (no secrets in it)
  auto ok = apply_toml_file(s, path);
  ASSERT_TRUE(ok.has_value()) << error_of(ok);
  ASSERT_EQ(s.serve.size(), 1u);
}

TEST(Settings, SecretsInAReadableFileAreRefused) {
  TempDir dir;
  auto path = dir.write("config.toml", "[nats]\ntoken = \"s3cret\"\n", 0644);
  Settings s = defaults();
  auto r = apply_toml_file(s, path);
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message.find("chmod 600"), std::string::npos) << r.error().message;
  EXPECT_EQ(s.nats_token, "");
  ASSERT_EQ(::chmod(path.c_str(), 0600), 0);
  ASSERT_TRUE(apply_toml_file(s, path).has_value());
  EXPECT_EQ(s.nats_token, "s3cret");
}

TEST(Settings, EnvironmentLists) {
  Env env{{"STARGATE_CAPABILITIES", " summarize, translate ,,search "},
          {"NATS_URL", "nats://a:4222, nats://b:4222"}};
  Settings s = defaults();
  ASSERT_TRUE(apply_environment(s, testing::getenv_from(env)).has_value());
  EXPECT_EQ(s.capabilities, (std::vector<std::string>{"summarize", "translate", "search"}));
  EXPECT_EQ(s.nats_urls, (std::vector<std::string>{"nats://a:4222", "nats://b:4222"}));

  // STARGATE_NATS_URL comes before NATS_URL; an empty one is as good as unset.
  env["STARGATE_NATS_URL"] = "nats://c:4222";
  ASSERT_TRUE(apply_environment(s, testing::getenv_from(env)).has_value());
  EXPECT_EQ(s.nats_urls, std::vector<std::string>{"nats://c:4222"});
  env["STARGATE_NATS_URL"] = "";
  Settings t = defaults();
  ASSERT_TRUE(apply_environment(t, testing::getenv_from(env)).has_value());
  EXPECT_EQ(t.nats_urls, (std::vector<std::string>{"nats://a:4222", "nats://b:4222"}));
}

TEST(Settings, EnvironmentScalars) {
  Env env{{"STARGATE_NATS_TOKEN", "tok"},          {"STARGATE_NATS_TOKEN_FILE", "/t"},
          {"STARGATE_NATS_CREDS", "/c.creds"},     {"STARGATE_NATS_USER", "u"},
          {"STARGATE_NATS_PASSWORD", "p"},         {"STARGATE_CALL_TIMEOUT", "2.5"}};
  Settings s = defaults();
  ASSERT_TRUE(apply_environment(s, testing::getenv_from(env)).has_value());
  EXPECT_EQ(s.nats_token, "tok");
  EXPECT_EQ(s.nats_token_file, "/t");
  EXPECT_EQ(s.nats_creds_file, "/c.creds");
  EXPECT_EQ(s.nats_user, "u");
  EXPECT_EQ(s.nats_password, "p");
  EXPECT_EQ(s.call_timeout, 2500ms);

  for (const char* bad : {"abc", "0", "-3", "5s", "1e99"}) {
    Env e{{"STARGATE_CALL_TIMEOUT", bad}, {"STARGATE_NAME", "not-applied"}};
    Settings t = defaults();
    auto r = apply_environment(t, testing::getenv_from(e));
    ASSERT_FALSE(r.has_value()) << bad;
    EXPECT_NE(r.error().message.find("STARGATE_CALL_TIMEOUT"), std::string::npos) << r.error().message;
    EXPECT_EQ(t.display_name, "");  // nothing applied
  }
}

TEST(Settings, AllowListsPerMethod) {
  Settings s = defaults();
  auto r = apply_text(s, R"(
[serve]
summarize = "sum.sh"
translate = "tr.sh"
[allow]
"*" = ["admin-agent"]
summarize = ["alice", "12D3KooWAlice"]
)");
  ASSERT_TRUE(r.has_value()) << error_of(r);
  ASSERT_EQ(s.allow.size(), 2u);
  EXPECT_EQ(s.allow.at("*"), std::vector<std::string>{"admin-agent"});
  EXPECT_EQ(s.allow.at("summarize"), (std::vector<std::string>{"alice", "12D3KooWAlice"}));

  EXPECT_TRUE(is_caller_allowed(s, "summarize", {"aaaa", "12D3KooWAlice", "someone"}));
  EXPECT_TRUE(is_caller_allowed(s, "summarize", {"admin-agent"}));
  EXPECT_FALSE(is_caller_allowed(s, "translate", {"alice"}));  // alice is allowed summarize only
  EXPECT_TRUE(is_caller_allowed(s, "translate", {"admin-agent"}));
  EXPECT_FALSE(is_caller_allowed(s, "summarize", {"mallory", ""}));

  // --allow on the command line replaces "*" and leaves per-method lists of the file alone.
  SettingOverrides flags;
  flags.allow["*"] = {"bob"};
  apply_overrides(s, flags);
  EXPECT_FALSE(is_caller_allowed(s, "translate", {"admin-agent"}));
  EXPECT_TRUE(is_caller_allowed(s, "translate", {"bob"}));
  EXPECT_TRUE(is_caller_allowed(s, "summarize", {"alice"}));

  // allow_any, at the top level or under [allow].
  EXPECT_FALSE(is_caller_allowed(s, "translate", {"mallory"}));
  Settings any = s;
  ASSERT_TRUE(apply_text(any, "allow_any = true\n").has_value());
  EXPECT_TRUE(is_caller_allowed(any, "translate", {"mallory"}));
  Settings any2 = s;
  ASSERT_TRUE(apply_text(any2, "[allow]\nallow_any = true\n").has_value());
  EXPECT_TRUE(any2.allow_any);

  // Empty entries are refused.
  Settings bad = defaults();
  auto r2 = apply_text(bad, "[allow]\nsummarize = [\"alice\", \"\"]\n");
  ASSERT_FALSE(r2.has_value());
  EXPECT_NE(r2.error().message.find("allow.summarize has an empty entry"), std::string::npos) << r2.error().message;
}

TEST(Settings, ServeMergesPerMethod) {
  Settings s = defaults();
  ASSERT_TRUE(apply_text(s, "[serve]\na = \"a.sh\"\nb = \"b.sh\"\n").has_value());
  SettingOverrides flags;
  flags.serve = {{"b", "b2.sh"}, {"c", "c.sh"}};
  apply_overrides(s, flags);
  EXPECT_EQ(s.serve, (std::vector<std::pair<std::string, std::string>>{{"a", "a.sh"}, {"b", "b2.sh"}, {"c", "c.sh"}}));
  Settings bad = defaults();
  EXPECT_FALSE(apply_text(bad, "[serve]\na = \"\"\n").has_value());
}

TEST(Settings, ValidateCrossField) {
  Settings s = defaults();
  s.announce_ttl = 30s;  // == interval
  auto r = validate(s);
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message.find("TTL"), std::string::npos);
  Settings t = defaults();
  t.nats_urls.clear();
  EXPECT_FALSE(validate(t).has_value());

  // load_settings runs validate().
  TempDir dir;
  dir.write("config.toml", "[announce]\ninterval_s = 100\n");
  Env none;
  auto loaded = load_settings(dir.path(), {}, testing::getenv_from(none));
  ASSERT_FALSE(loaded.has_value());
  EXPECT_NE(loaded.error().message.find("TTL"), std::string::npos) << loaded.error().message;
}

TEST(Settings, P2pSectionAndNatsSwitch) {
  Settings s = defaults();
  EXPECT_TRUE(s.use_nats);
  EXPECT_TRUE(s.listen_addrs.empty());
  auto r = apply_text(s,
                      "[nats]\nenabled = false\n"
                      "[p2p]\nlisten = [\"/ip4/0.0.0.0/tcp/4001\"]\n"
                      "relays = [\"/ip4/198.51.100.1/tcp/4001/p2p/12D3KooWGsUPE814N8ons6XNM8C7iuEneGBTDxW92NazvBP4eXiu\"]\n"
                      "announce = [\"/ip4/203.0.113.9/tcp/4001\"]\n");
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_FALSE(s.use_nats);
  EXPECT_EQ(s.listen_addrs, std::vector<std::string>{"/ip4/0.0.0.0/tcp/4001"});
  EXPECT_EQ(s.relays.size(), 1u);
  EXPECT_EQ(s.announce_addrs, std::vector<std::string>{"/ip4/203.0.113.9/tcp/4001"});
  EXPECT_TRUE(validate(s).has_value());
  auto unknown = apply_text(s, "[p2p]\nlisten_on = []\n");
  ASSERT_FALSE(unknown.has_value());
  EXPECT_NE(unknown.error().message.find("listen, relays, announce"), std::string::npos) << unknown.error().message;
}

TEST(Settings, P2pEnvironment) {
  Env env{{"STARGATE_LISTEN", "/ip4/127.0.0.1/tcp/0, /ip6/::1/tcp/0"},
          {"STARGATE_RELAYS", "/ip4/127.0.0.1/tcp/4001/p2p/12D3KooWGsUPE814N8ons6XNM8C7iuEneGBTDxW92NazvBP4eXiu"},
          {"STARGATE_ANNOUNCE_ADDRS", "/dns4/agent.example.com/tcp/4001"}};
  Settings s = defaults();
  ASSERT_TRUE(apply_environment(s, testing::getenv_from(env)).has_value());
  EXPECT_EQ(s.listen_addrs, (std::vector<std::string>{"/ip4/127.0.0.1/tcp/0", "/ip6/::1/tcp/0"}));
  EXPECT_EQ(s.relays.size(), 1u);
  EXPECT_EQ(s.announce_addrs, std::vector<std::string>{"/dns4/agent.example.com/tcp/4001"});
}

TEST(Settings, RelayHealthAndTransportOrder) {
  Settings s = defaults();
  EXPECT_EQ(s.relay_health_interval, std::chrono::seconds(30));
  EXPECT_EQ(s.relay_reservations, 2u);
  EXPECT_EQ(s.transports, (std::vector<std::string>{"libp2p", "nats"}));
  auto r = apply_text(s, "[p2p]\nrelay_health_interval_s = 5\nrelay_reservations = 1\n[calls]\ntransports = [\"nats\", \"libp2p\"]\n");
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(s.relay_health_interval, std::chrono::seconds(5));
  EXPECT_EQ(s.relay_reservations, 1u);
  EXPECT_EQ(s.transports, (std::vector<std::string>{"nats", "libp2p"}));
  EXPECT_TRUE(validate(s).has_value());
  auto zero = apply_text(s, "[p2p]\nrelay_reservations = 0\n");
  ASSERT_FALSE(zero.has_value());
  EXPECT_NE(zero.error().message.find("relay_reservations must be between 1 and 16"), std::string::npos) << zero.error().message;

  Env env{{"STARGATE_RELAY_HEALTH_INTERVAL", "0.5"}, {"STARGATE_RELAY_RESERVATIONS", "3"}, {"STARGATE_TRANSPORTS", "libp2p"}};
  ASSERT_TRUE(apply_environment(s, testing::getenv_from(env)).has_value());
  EXPECT_EQ(s.relay_health_interval, std::chrono::milliseconds(500));
  EXPECT_EQ(s.relay_reservations, 3u);
  EXPECT_EQ(s.transports, std::vector<std::string>{"libp2p"});
  EXPECT_FALSE(nats_enabled(s));  // leaving NATS out of the transports turns it off
  Env bad{{"STARGATE_RELAY_HEALTH_INTERVAL", "soon"}};
  auto e = apply_environment(s, testing::getenv_from(bad));
  ASSERT_FALSE(e.has_value());
  EXPECT_NE(e.error().message.find("STARGATE_RELAY_HEALTH_INTERVAL='soon'"), std::string::npos) << e.error().message;

  Settings t = defaults();
  t.transports = {"libp2p", "carrier-pigeon"};
  ASSERT_FALSE(validate(t).has_value());
  EXPECT_NE(validate(t).error().message.find("unknown transport 'carrier-pigeon'"), std::string::npos);
  t.transports = {"nats", "nats"};
  EXPECT_NE(validate(t).error().message.find("listed twice"), std::string::npos);
  t.transports = {"nats"};
  t.listen_addrs = {"/ip4/0.0.0.0/tcp/4001"};
  EXPECT_NE(validate(t).error().message.find("need the libp2p transport"), std::string::npos);
}

TEST(Settings, TreatAsPublic) {
  Settings s = defaults();
  auto r = apply_text(s, "[p2p]\ntreat_as_public = [\"198.51.100.0/24\", \"2001:db8::/32\"]\n");
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(s.treat_as_public, (std::vector<std::string>{"198.51.100.0/24", "2001:db8::/32"}));
  EXPECT_TRUE(validate(s).has_value());
  Env env{{"STARGATE_TREAT_AS_PUBLIC", "127.0.0.0/8, 203.0.113.0/24"}};
  ASSERT_TRUE(apply_environment(s, testing::getenv_from(env)).has_value());
  EXPECT_EQ(s.treat_as_public, (std::vector<std::string>{"127.0.0.0/8", "203.0.113.0/24"}));
  s.treat_as_public = {"198.51.100.0/33"};
  auto bad = validate(s);
  ASSERT_FALSE(bad.has_value());
  EXPECT_NE(bad.error().message.find("treat_as_public"), std::string::npos) << bad.error().message;
}

TEST(Settings, MetricsListenFromFileEnvironmentAndFlags) {
  Settings s = defaults();
  EXPECT_TRUE(s.metrics_listen.empty());  // off by default for agents
  ASSERT_TRUE(apply_text(s, "[metrics]\nlisten = \"127.0.0.1:9464\"\n").has_value());
  EXPECT_EQ(s.metrics_listen, "127.0.0.1:9464");
  Env env{{"STARGATE_METRICS_LISTEN", "127.0.0.1:9500"}};
  ASSERT_TRUE(apply_environment(s, testing::getenv_from(env)).has_value());
  EXPECT_EQ(s.metrics_listen, "127.0.0.1:9500");
  SettingOverrides flags;
  flags.metrics_listen = "[::1]:9600";
  apply_overrides(s, flags);
  EXPECT_EQ(s.metrics_listen, "[::1]:9600");
  auto unknown = apply_text(s, "[metrics]\nport = 1\n");
  ASSERT_FALSE(unknown.has_value());
  EXPECT_NE(unknown.error().message.find("listen"), std::string::npos);
}

TEST(Settings, ValidateP2p) {
  Settings s = defaults();
  s.use_nats = false;
  auto no_way_in = validate(s);
  ASSERT_FALSE(no_way_in.has_value());
  EXPECT_NE(no_way_in.error().message.find("--listen"), std::string::npos);
  s.listen_addrs = {"/ip4/1.2.3/tcp/1"};
  auto bad = validate(s);
  ASSERT_FALSE(bad.has_value());
  EXPECT_NE(bad.error().message.find("listen address"), std::string::npos) << bad.error().message;
  s.listen_addrs = {"/ip4/127.0.0.1/tcp/0"};
  s.relays = {"/ip4/127.0.0.1/tcp/4001"};
  auto no_id = validate(s);
  ASSERT_FALSE(no_id.has_value());
  EXPECT_NE(no_id.error().message.find("/p2p/"), std::string::npos) << no_id.error().message;
  s.relays.clear();
  EXPECT_TRUE(validate(s).has_value());
  // With NATS off, no NATS URL is needed.
  s.nats_urls.clear();
  EXPECT_TRUE(validate(s).has_value());
}

TEST(Settings, PoolDefaultsAreThePoolsOwn) {
  Settings s = defaults();
  EXPECT_EQ(s.pool_max_connections, p2p::pool::PoolConfig{}.max_connections);
  EXPECT_EQ(s.pool_max_connections, 100u);
  EXPECT_EQ(s.pool_idle_timeout, 300s);
}

// defaults < config.toml [pool] < STARGATE_POOL_* < --pool-max / --pool-idle, field by field.
TEST(Settings, PoolSettingsThroughTheChain) {
  TempDir dir;
  dir.write("config.toml", "[pool]\nmax_connections = 20\nidle_timeout = 60\n");
  Env none;
  auto from_file = load_settings(dir.path(), {}, testing::getenv_from(none));
  ASSERT_TRUE(from_file.has_value()) << from_file.error().message;
  EXPECT_EQ(from_file->pool_max_connections, 20u);
  EXPECT_EQ(from_file->pool_idle_timeout, 60s);

  Env env{{"STARGATE_POOL_MAX_CONNECTIONS", " 30 "}};
  auto from_env = load_settings(dir.path(), {}, testing::getenv_from(env));
  ASSERT_TRUE(from_env.has_value()) << from_env.error().message;
  EXPECT_EQ(from_env->pool_max_connections, 30u);
  EXPECT_EQ(from_env->pool_idle_timeout, 60s);  // the file's, the environment said nothing

  env["STARGATE_POOL_IDLE_TIMEOUT"] = "5";
  SettingOverrides flags;
  flags.pool_max_connections = 2;
  auto from_flags = load_settings(dir.path(), flags, testing::getenv_from(env));
  ASSERT_TRUE(from_flags.has_value()) << from_flags.error().message;
  EXPECT_EQ(from_flags->pool_max_connections, 2u);
  EXPECT_EQ(from_flags->pool_idle_timeout, 5s);
  flags.pool_idle_timeout = 1s;
  auto all_flags = load_settings(dir.path(), flags, testing::getenv_from(env));
  ASSERT_TRUE(all_flags.has_value());
  EXPECT_EQ(all_flags->pool_idle_timeout, 1s);
}

TEST(Settings, BadPoolValuesNameTheirSource) {
  // The config file: file, line and column, the key, and what it wants.
  struct FileCase {
    const char* text;
    const char* expected;
  };
  for (const auto& c : {FileCase{"[pool]\nmax_connections = 0\n", "test.toml:2:19: pool.max_connections must be between 1 and 10000 connections, not 0"},
                        FileCase{"[pool]\nmax_connections = 10001\n", "pool.max_connections must be between 1 and 10000"},
                        FileCase{"[pool]\nmax_connections = \"100\"\n", "pool.max_connections must be an integer (connections), not a string"},
                        FileCase{"[pool]\nidle_timeout = -1\n", "pool.idle_timeout must be between 1 and 86400 seconds, not -1"},
                        FileCase{"[pool]\nidle_timeout = 1.5\n", "pool.idle_timeout must be an integer (seconds)"},
                        FileCase{"[pool]\nidle = 5\n", "unknown key pool.idle (known keys in [pool]: max_connections, idle_timeout)"}}) {
    Settings s = defaults();
    auto r = apply_text(s, c.text);
    ASSERT_FALSE(r.has_value()) << c.text;
    EXPECT_NE(r.error().message.find(c.expected), std::string::npos) << r.error().message;
    EXPECT_EQ(s.pool_max_connections, 100u);  // nothing applied
  }
  // The environment: the variable, its value, and what it wants; nothing applied.
  for (const char* bad : {"0", "-3", "abc", "12x", "10001", "2.5", ""}) {
    for (const char* name : {"STARGATE_POOL_MAX_CONNECTIONS", "STARGATE_POOL_IDLE_TIMEOUT"}) {
      Env e{{name, bad}, {"STARGATE_NAME", "not-applied"}};
      Settings t = defaults();
      auto r = apply_environment(t, testing::getenv_from(e));
      if (std::string_view(bad).empty()) {  // empty: unset
        EXPECT_TRUE(r.has_value());
        continue;
      }
      if (std::string_view(name) == "STARGATE_POOL_IDLE_TIMEOUT" && std::string_view(bad) == "10001") {
        EXPECT_TRUE(r.has_value());  // 10001 s is a fine idle timeout
        continue;
      }
      ASSERT_FALSE(r.has_value()) << name << "=" << bad;
      EXPECT_NE(r.error().message.find(std::string(name) + "='" + bad + "'"), std::string::npos) << r.error().message;
      EXPECT_NE(r.error().message.find("whole number between 1 and"), std::string::npos) << r.error().message;
      EXPECT_EQ(t.display_name, "");
    }
  }
  // The API / flags layer: validate() names the setting and where it can be set.
  Settings s = defaults();
  s.pool_max_connections = 0;
  auto zero = validate(s);
  ASSERT_FALSE(zero.has_value());
  EXPECT_NE(zero.error().message.find("max_connections must be between 1 and 10000, not 0"), std::string::npos)
      << zero.error().message;
  EXPECT_NE(zero.error().message.find("--pool-max"), std::string::npos);
  s = defaults();
  s.pool_idle_timeout = 0s;
  auto no_idle = validate(s);
  ASSERT_FALSE(no_idle.has_value());
  EXPECT_NE(no_idle.error().message.find("idle_timeout"), std::string::npos) << no_idle.error().message;
  EXPECT_NE(no_idle.error().message.find("--pool-idle"), std::string::npos);
}

}  // namespace
}  // namespace stargate::agent

namespace stargate::agent {
namespace {

TEST(Settings, RateLimitDefaultsMatchTheNodes) {
  Settings s = defaults();
  EXPECT_EQ(s.limits.calls_per_second, 100);
  EXPECT_EQ(s.limits.calls_burst, 1000);
  EXPECT_EQ(s.limits.calls_per_ip_per_second, 500);
  EXPECT_EQ(s.limits.calls_per_ip_burst, 5000);
  EXPECT_EQ(s.limits.announcements_per_second, 1);
  EXPECT_EQ(s.limits.announcements_burst, 10);
  EXPECT_EQ(s.limits.strikes_before_backoff, 100);
  EXPECT_EQ(s.limits.backoff_s, 60);
  const NodeOptions::RateLimits node;
  EXPECT_EQ(s.limits.calls_in_flight, static_cast<double>(node.calls_in_flight));
  EXPECT_EQ(s.limits.calls_in_flight_per_peer, static_cast<double>(node.calls_in_flight_per_peer));
  EXPECT_EQ(s.limits.calls_in_flight_per_ip, static_cast<double>(node.calls_in_flight_per_ip));
  EXPECT_EQ(s.limits.request_header_timeout_s * 1000, static_cast<double>(node.request_header_timeout.count()));
  EXPECT_EQ(s.limits.request_timeout_s * 1000, static_cast<double>(node.request_timeout.count()));
  EXPECT_EQ(s.resources.max_pending_handshakes_per_ip, ResourceLimits{}.max_pending_handshakes_per_ip);
  EXPECT_TRUE(validate(s).has_value());
}

TEST(Settings, CallsInFlightAndRequestDeadlinesThroughTheChain) {
  TempDir dir;
  dir.write("config.toml",
            "[limits]\ncalls_in_flight_per_peer = 4\nrequest_header_timeout_s = 0.5\n"
            "[resources]\nmax_pending_handshakes_per_ip = 3\n");
  Env env{{"STARGATE_LIMITS_CALLS_IN_FLIGHT", "128"}};
  auto loaded = load_settings(dir.path(), {}, testing::getenv_from(env));
  ASSERT_TRUE(loaded.has_value()) << loaded.error().message;
  EXPECT_EQ(loaded->limits.calls_in_flight, 128);
  EXPECT_EQ(loaded->limits.calls_in_flight_per_peer, 4);
  EXPECT_EQ(loaded->limits.request_header_timeout_s, 0.5);
  EXPECT_EQ(loaded->resources.max_pending_handshakes_per_ip, 3u);
  dir.write("config.toml", "[limits]\ncalls_in_flight_per_ip = 2.5\n");
  auto fractional = load_settings(dir.path(), {}, testing::getenv_from(env));
  ASSERT_FALSE(fractional.has_value());
  EXPECT_NE(fractional.error().message.find("whole number"), std::string::npos) << fractional.error().message;
}

// defaults < config.toml [limits] < STARGATE_LIMITS_* < --limit, field by field.
TEST(Settings, RateLimitsThroughTheChain) {
  TempDir dir;
  dir.write("config.toml", "[limits]\ncalls_per_second = 20\ncalls_burst = 40.5\nannouncements_per_second = 0.5\n");
  Env none;
  auto from_file = load_settings(dir.path(), {}, testing::getenv_from(none));
  ASSERT_TRUE(from_file.has_value()) << from_file.error().message;
  EXPECT_EQ(from_file->limits.calls_per_second, 20);
  EXPECT_EQ(from_file->limits.calls_burst, 40.5);
  EXPECT_EQ(from_file->limits.announcements_per_second, 0.5);
  EXPECT_EQ(from_file->limits.calls_per_ip_burst, 5000);  // the default

  Env env{{"STARGATE_LIMITS_CALLS_PER_SECOND", " 30 "}, {"STARGATE_LIMITS_BACKOFF_S", "2.5"}};
  auto from_env = load_settings(dir.path(), {}, testing::getenv_from(env));
  ASSERT_TRUE(from_env.has_value()) << from_env.error().message;
  EXPECT_EQ(from_env->limits.calls_per_second, 30);
  EXPECT_EQ(from_env->limits.calls_burst, 40.5);  // the file's
  EXPECT_EQ(from_env->limits.backoff_s, 2.5);

  SettingOverrides flags;
  flags.limits["calls_per_second"] = 7;
  auto from_flags = load_settings(dir.path(), flags, testing::getenv_from(env));
  ASSERT_TRUE(from_flags.has_value()) << from_flags.error().message;
  EXPECT_EQ(from_flags->limits.calls_per_second, 7);
  EXPECT_EQ(from_flags->limits.backoff_s, 2.5);
}

TEST(Settings, BadRateLimitsNameTheirSource) {
  struct FileCase {
    const char* text;
    const char* expected;
  };
  for (const auto& c : {FileCase{"[limits]\ncalls_per_second = 0\n",
                                 "test.toml:2:20: limits.calls_per_second must be between 0.001 and 1e+06"},
                        FileCase{"[limits]\ncalls_burst = 0.5\n", "limits.calls_burst must be between 1 and"},
                        FileCase{"[limits]\nstrikes_before_backoff = 2.5\n", "must be a whole number between 1 and"},
                        FileCase{"[limits]\ncalls_burst = \"9\"\n", "limits.calls_burst must be a number (calls per caller), not a string"},
                        FileCase{"[limits]\ncalls = 5\n", "unknown key limits.calls (known keys in [limits]: calls_per_second, calls_burst"}}) {
    Settings s = defaults();
    auto r = apply_text(s, c.text);
    ASSERT_FALSE(r.has_value()) << c.text;
    EXPECT_NE(r.error().message.find(c.expected), std::string::npos) << r.error().message;
    EXPECT_EQ(s.limits.calls_per_second, 100);  // nothing applied
  }
  for (const char* bad : {"0", "-3", "abc", "12x", "2e7"}) {
    Env e{{"STARGATE_LIMITS_CALLS_BURST", bad}, {"STARGATE_NAME", "not-applied"}};
    Settings t = defaults();
    auto r = apply_environment(t, testing::getenv_from(e));
    ASSERT_FALSE(r.has_value()) << bad;
    EXPECT_NE(r.error().message.find(std::string("STARGATE_LIMITS_CALLS_BURST='") + bad + "'"), std::string::npos)
        << r.error().message;
    EXPECT_EQ(t.display_name, "");
  }
  Settings s = defaults();
  s.limits.announcements_burst = 0;
  auto r = validate(s);
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message.find("limits.announcements_burst"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("STARGATE_LIMITS_ANNOUNCEMENTS_BURST"), std::string::npos) << r.error().message;
}

// Issue 13, finding 6: durations from outside are range-checked before any conversion.
TEST(CheckedSeconds, ConvertsAndRounds) {
  auto half = checked_seconds(0.5);
  ASSERT_TRUE(half.has_value()) << half.error().message;
  EXPECT_EQ(*half, 500ms);
  EXPECT_EQ(checked_seconds(2.0004).value(), 2000ms);
  EXPECT_EQ(checked_seconds(0.001).value(), 1ms);
  EXPECT_EQ(checked_seconds(86'400).value(), kMaxDuration);  // 24 hours: the documented maximum
  EXPECT_EQ(kMaxDuration, std::chrono::milliseconds(24h));
  EXPECT_EQ(checked_seconds(0, 0ms).value(), 0ms);  // a caller may allow 0
  EXPECT_EQ(checked_seconds(30, 1ms, 60s).value(), 30s);
}

TEST(CheckedSeconds, RefusesNanInfinitiesNegativeAndHugeValues) {
  const double bad[] = {std::numeric_limits<double>::quiet_NaN(),
                        std::numeric_limits<double>::infinity(),
                        -std::numeric_limits<double>::infinity(),
                        -1,
                        -0.5,
                        0,       // below the default minimum of 1 ms
                        0.0004,  // rounds to 0 ms
                        86'400.001,
                        1e300,
                        std::numeric_limits<double>::max(),
                        static_cast<double>(std::numeric_limits<std::int64_t>::max()),          // as seconds
                        static_cast<double>(std::numeric_limits<std::int64_t>::max()) / 1000};  // INT64_MAX ms
  for (double seconds : bad) {
    auto r = checked_seconds(seconds);
    ASSERT_FALSE(r.has_value()) << seconds << " gave " << r->count() << " ms";
    EXPECT_NE(r.error().message.find("must be a number of seconds between 0.001 and 86400"), std::string::npos)
        << r.error().message;
  }
  auto nan = checked_seconds(std::numeric_limits<double>::quiet_NaN());
  ASSERT_FALSE(nan.has_value());
  EXPECT_NE(nan.error().message.find("not nan"), std::string::npos) << nan.error().message;
  EXPECT_FALSE(checked_seconds(61, 1ms, 60s).has_value());
  EXPECT_FALSE(checked_seconds(-0.001, 0ms).has_value());
}

TEST(CheckedSeconds, EnvironmentDurationsUseIt) {
  for (const char* bad : {"nan", "inf", "-inf", "1e300", "9223372036854775807", "-1"}) {
    for (const char* name : {"STARGATE_CALL_TIMEOUT", "STARGATE_RELAY_HEALTH_INTERVAL"}) {
      Env e{{name, bad}};
      Settings t = defaults();
      auto r = apply_environment(t, testing::getenv_from(e));
      ASSERT_FALSE(r.has_value()) << name << "=" << bad;
      EXPECT_NE(r.error().message.find(std::string(name) + "='" + bad + "'"), std::string::npos) << r.error().message;
      EXPECT_NE(r.error().message.find("between 0.001 and 86400"), std::string::npos) << r.error().message;
    }
  }
  Env ok{{"STARGATE_RELAY_HEALTH_INTERVAL", "0.25"}};
  Settings t = defaults();
  ASSERT_TRUE(apply_environment(t, testing::getenv_from(ok)).has_value());
  EXPECT_EQ(t.relay_health_interval, 250ms);
}

// The identity directory holds config.toml: one others can write is refused before it is read.
TEST(Settings, GroupOrWorldWritableIdentityDirIsRefused) {
  TempDir dir;
  dir.write("config.toml", "[agent]\nname = \"from-file\"\n");
  Env none;
  for (mode_t mode : {0777, 0770, 0720, 0702, 01777}) {
    ASSERT_EQ(::chmod(dir.path().c_str(), mode), 0);
    auto r = load_settings(dir.path(), {}, testing::getenv_from(none));
    ASSERT_FALSE(r.has_value()) << std::oct << mode;
    EXPECT_NE(r.error().message.find("chmod 700 " + dir.path().string()), std::string::npos) << r.error().message;
  }
  for (mode_t mode : {0700, 0755}) {
    ASSERT_EQ(::chmod(dir.path().c_str(), mode), 0);
    auto r = load_settings(dir.path(), {}, testing::getenv_from(none));
    ASSERT_TRUE(r.has_value()) << std::oct << mode << ": " << r.error().message;
    EXPECT_EQ(r->display_name, "from-file");
  }
}

// A FIFO named config.toml is refused at once instead of blocking the open until a writer comes.
TEST(Settings, ConfigFifoIsRefusedWithoutBlocking) {
  TempDir dir;
  const fs::path path = dir.path() / "config.toml";
  ASSERT_EQ(::mkfifo(path.c_str(), 0600), 0);
  Settings s = defaults();
  auto r = apply_toml_file(s, path);  // in this thread: without O_NONBLOCK this never returns
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message.find("is not a regular file"), std::string::npos) << r.error().message;
}

}  // namespace
}  // namespace stargate::agent
