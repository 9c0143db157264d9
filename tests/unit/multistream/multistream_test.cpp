#include "p2p/multistream/multistream.hpp"

#include <gtest/gtest.h>

#include <random>
#include <stdexcept>

#include "base/varint.hpp"
#include "p2p/multistream/message.hpp"

namespace stargate::p2p::multistream {
namespace {

Bytes hex(std::string_view h) {
  Bytes out;
  EXPECT_TRUE(from_hex(h, out)) << h;
  return out;
}

Bytes msg(std::string_view line) {
  Bytes out;
  append_message(out, line);
  return out;
}

Bytes concat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const auto& p : parts) append(out, p);
  return out;
}

// A raw message whose body is given exactly (no newline added).
Bytes raw(std::string_view body) {
  Bytes out;
  append_uvarint(out, body.size());
  append(out, as_bytes(body));
  return out;
}

const Bytes kHeader = msg("/multistream/1.0.0");

// ---- codec: published wire examples ----

TEST(MultistreamCodec, NaMatchesSpecBytes) {
  // libp2p/specs connections/README.md and multistream-select README: "na" is 0x036e610a.
  EXPECT_EQ(msg("na"), hex("036e610a"));
}

TEST(MultistreamCodec, LsMatchesSpecBytes) {
  // multistream-select README: "ls" is 0x036c730a.
  EXPECT_EQ(msg("ls"), hex("036c730a"));
}

TEST(MultistreamCodec, EchoHeaderMatchesSpecBytes) {
  // multistream README: "/echo/1.0" header is 0a 2f 65 63 68 6f 2f 31 2e 30 0a.
  EXPECT_EQ(msg("/echo/1.0"), hex("0a2f6563686f2f312e300a"));
}

TEST(MultistreamCodec, ProtocolIdHeader) {
  EXPECT_EQ(kHeader, concat({hex("13"), to_bytes("/multistream/1.0.0\n")}));
}

TEST(MultistreamCodec, LongMessageUsesTwoByteLength) {
  const std::string line(200, 'a');
  const Bytes m = msg(line);
  ASSERT_EQ(m.size(), 2 + 201u);
  EXPECT_EQ(m[0], 0xC9);  // 201 = 0x49 | 0x80, then 0x01
  EXPECT_EQ(m[1], 0x01);
}

TEST(MultistreamCodec, ListResponseLikeJsAndRust) {
  Bytes out;
  append_list_response(out, {"/a", "/bc"});
  // body: 03 "/a\n" 04 "/bc\n" "\n" = 4 + 5 + 1 = 10 bytes
  EXPECT_EQ(out, concat({hex("0a"), hex("03"), to_bytes("/a\n"), hex("04"), to_bytes("/bc\n\n")}));
}

TEST(MultistreamCodec, LineValidation) {
  EXPECT_FALSE(invalid_line_reason("/ipfs/id/1.0.0"));
  EXPECT_FALSE(invalid_line_reason(""));
  EXPECT_FALSE(invalid_line_reason("/caf\xC3\xA9/\xE2\x82\xAC/\xF0\x9F\x98\x80"));  // é € 😀
  EXPECT_FALSE(invalid_line_reason(std::string(1023, 'x')));
  EXPECT_TRUE(invalid_line_reason(std::string(1024, 'x')));
  EXPECT_TRUE(invalid_line_reason("a\nb"));
  EXPECT_TRUE(invalid_line_reason(std::string("a\0b", 3)));
  EXPECT_TRUE(invalid_line_reason("tab\there"));
  EXPECT_TRUE(invalid_line_reason("del\x7F"));
  EXPECT_TRUE(invalid_line_reason("c1\xC2\x85"));         // U+0085 NEL
  EXPECT_TRUE(invalid_line_reason("\xC0\xAF"));           // overlong '/'
  EXPECT_TRUE(invalid_line_reason("\xED\xA0\x80"));       // surrogate
  EXPECT_TRUE(invalid_line_reason("\xF4\x90\x80\x80"));   // above U+10FFFF
  EXPECT_TRUE(invalid_line_reason("\xE2\x82"));           // truncated
  EXPECT_TRUE(invalid_line_reason("\xFF"));
}

// ---- LineReader ----

TEST(MultistreamLineReader, ReadsOneMessageAndStops) {
  LineReader r;
  const Bytes in = concat({msg("/a"), msg("/b")});
  std::size_t used = 0;
  auto line = r.next(in, used);
  ASSERT_TRUE(line && *line);
  EXPECT_EQ(**line, "/a");
  EXPECT_EQ(used, 4u);
  line = r.next(in, used);
  ASSERT_TRUE(line && *line);
  EXPECT_EQ(**line, "/b");
  EXPECT_EQ(used, in.size());
}

TEST(MultistreamLineReader, AcceptsLargestMessage) {
  LineReader r;
  const Bytes in = msg(std::string(1023, 'x'));  // 1024 bytes with the newline
  std::size_t used = 0;
  auto line = r.next(in, used);
  ASSERT_TRUE(line && *line);
  EXPECT_EQ((*line)->size(), 1023u);
}

Error reader_error(const Bytes& in) {
  LineReader r;
  std::size_t used = 0;
  while (used < in.size()) {
    auto line = r.next(in, used);
    if (!line) return line.error();
  }
  ADD_FAILURE() << "no error for " << to_hex(in);
  return {};
}

TEST(MultistreamLineReader, Rejections) {
  // Length 1025 is refused from the prefix alone, before any body arrives.
  EXPECT_NE(reader_error(hex("8108")).message.find("longer"), std::string::npos);
  // A third length byte can only mean > 16383.
  EXPECT_NE(reader_error(hex("808080")).message.find("longer"), std::string::npos);
  EXPECT_NE(reader_error(hex("00")).message.find("empty"), std::string::npos);
  EXPECT_NE(reader_error(hex("8000")).message.find("length prefix"), std::string::npos);  // non-minimal
  EXPECT_NE(reader_error(raw("/a")).message.find("newline"), std::string::npos);
  EXPECT_NE(reader_error(raw("/a\n\n")).message.find("control"), std::string::npos);
  EXPECT_NE(reader_error(raw("/\x01\n")).message.find("control"), std::string::npos);
  EXPECT_NE(reader_error(raw("/\xFF\n")).message.find("UTF-8"), std::string::npos);
}

// ---- Initiator ----

TEST(MultistreamInitiator, FirstWriteHoldsHeaderAndFirstProposal) {
  Initiator ini({"/noise", "/tls/1.0.0"});
  EXPECT_EQ(ini.take_output(), concat({kHeader, msg("/noise")}));
  EXPECT_TRUE(ini.take_output().empty());
  EXPECT_EQ(ini.proposed(), "/noise");
  EXPECT_FALSE(ini.done());
}

TEST(MultistreamInitiator, PipelinedAnswerLeavesApplicationBytes) {
  Initiator ini({"/echo/1.0.0"});
  (void)ini.take_output();
  const Bytes app = to_bytes("hello after negotiation");
  const Bytes in = concat({kHeader, msg("/echo/1.0.0"), app});
  auto used = ini.receive(in);
  ASSERT_TRUE(used) << used.error().message;
  EXPECT_EQ(*used, in.size() - app.size());
  EXPECT_TRUE(ini.done());
  EXPECT_EQ(ini.selected(), "/echo/1.0.0");
  // Once done, nothing more is consumed.
  auto again = ini.receive(app);
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, 0u);
}

TEST(MultistreamInitiator, ByteAtATime) {
  Initiator ini({"/yamux/1.0.0"});
  (void)ini.take_output();
  const Bytes in = concat({kHeader, msg("/yamux/1.0.0"), to_bytes("X")});
  std::size_t total = 0;
  for (std::size_t i = 0; i < in.size() && !ini.done(); ++i) {
    auto used = ini.receive(BytesView(in).subspan(i, 1));
    ASSERT_TRUE(used) << used.error().message;
    EXPECT_EQ(*used, 1u);
    total += *used;
  }
  EXPECT_TRUE(ini.done());
  EXPECT_EQ(total, in.size() - 1);
}

TEST(MultistreamInitiator, NaThenFallback) {
  // The upgrade example of libp2p/specs connections: TLS refused, Noise accepted.
  Initiator ini({"/tls/1.0.0", "/noise"});
  EXPECT_EQ(ini.take_output(), concat({kHeader, msg("/tls/1.0.0")}));
  auto used = ini.receive(concat({kHeader, msg("na")}));
  ASSERT_TRUE(used);
  EXPECT_FALSE(ini.done());
  EXPECT_EQ(ini.take_output(), msg("/noise"));
  EXPECT_EQ(ini.proposed(), "/noise");
  used = ini.receive(msg("/noise"));
  ASSERT_TRUE(used);
  EXPECT_TRUE(ini.done());
  EXPECT_EQ(ini.selected(), "/noise");
}

TEST(MultistreamInitiator, AllRefusedFailsNamingProtocols) {
  Initiator ini({"/a/1", "/b/2"});
  (void)ini.take_output();
  auto used = ini.receive(concat({kHeader, msg("na"), msg("na")}));
  ASSERT_FALSE(used);
  EXPECT_NE(used.error().message.find("/a/1"), std::string::npos);
  EXPECT_NE(used.error().message.find("/b/2"), std::string::npos);
  EXPECT_TRUE(ini.failed());
  EXPECT_FALSE(ini.done());
  // Sticky.
  EXPECT_FALSE(ini.receive(msg("/b/2")));
}

TEST(MultistreamInitiator, WrongHeaderFails) {
  Initiator ini({"/a"});
  auto used = ini.receive(msg("/multistream/2.0.0"));
  ASSERT_FALSE(used);
  EXPECT_TRUE(ini.failed());
}

TEST(MultistreamInitiator, UnexpectedAnswerFails) {
  Initiator ini({"/a"});
  auto used = ini.receive(concat({kHeader, msg("/b")}));
  ASSERT_FALSE(used);
  EXPECT_NE(used.error().message.find("\"/b\""), std::string::npos);
  EXPECT_TRUE(ini.failed());
}

TEST(MultistreamInitiator, MalformedAnswerFails) {
  for (const Bytes& bad : {raw("/a"), hex("00"), hex("8108"), raw("/a\x07\n")}) {
    Initiator ini({"/a"});
    EXPECT_FALSE(ini.receive(concat({kHeader, bad}))) << to_hex(bad);
    EXPECT_TRUE(ini.failed());
  }
}

TEST(MultistreamInitiator, RejectsBadProtocolList) {
  EXPECT_THROW(Initiator({}), std::invalid_argument);
  EXPECT_THROW(Initiator({"/a\n"}), std::invalid_argument);
  EXPECT_THROW(Initiator({std::string(1024, 'a')}), std::invalid_argument);
  EXPECT_THROW(Initiator({"/a", "na"}), std::invalid_argument);
  EXPECT_THROW(Initiator({"ls"}), std::invalid_argument);
  EXPECT_THROW(Initiator({"/multistream/1.0.0"}), std::invalid_argument);
}

// ---- Responder ----

TEST(MultistreamResponder, SendsHeaderAtOnce) {
  Responder resp(std::vector<std::string>{"/a"});
  EXPECT_EQ(resp.take_output(), kHeader);
  EXPECT_TRUE(resp.take_output().empty());
}

TEST(MultistreamResponder, PipelinedHeaderProposalAndData) {
  // A lazy initiator writes header, proposal and its first application bytes in one go.
  Responder resp(std::vector<std::string>{"/ipfs/ping/1.0.0"});
  const Bytes app(32, 0xAB);
  const Bytes in = concat({kHeader, msg("/ipfs/ping/1.0.0"), app});
  auto used = resp.receive(in);
  ASSERT_TRUE(used) << used.error().message;
  EXPECT_EQ(*used, in.size() - app.size());
  EXPECT_TRUE(resp.done());
  EXPECT_EQ(resp.selected(), "/ipfs/ping/1.0.0");
  EXPECT_EQ(resp.take_output(), concat({kHeader, msg("/ipfs/ping/1.0.0")}));
}

TEST(MultistreamResponder, ByteAtATime) {
  Responder resp(std::vector<std::string>{"/b"});
  const Bytes in = concat({kHeader, msg("/a"), msg("/b"), to_bytes("tail")});
  std::size_t total = 0;
  for (std::size_t i = 0; i < in.size() && !resp.done(); ++i) {
    auto used = resp.receive(BytesView(in).subspan(i, 1));
    ASSERT_TRUE(used) << used.error().message;
    total += *used;
  }
  EXPECT_TRUE(resp.done());
  EXPECT_EQ(total, in.size() - 4);
  EXPECT_EQ(resp.take_output(), concat({kHeader, msg("na"), msg("/b")}));
}

TEST(MultistreamResponder, NaThenAccept) {
  Responder resp(std::vector<std::string>{"/noise"});
  (void)resp.take_output();
  ASSERT_TRUE(resp.receive(concat({kHeader, msg("/tls/1.0.0")})));
  EXPECT_EQ(resp.take_output(), msg("na"));
  EXPECT_FALSE(resp.done());
  ASSERT_TRUE(resp.receive(msg("/noise")));
  EXPECT_TRUE(resp.done());
  EXPECT_EQ(resp.take_output(), msg("/noise"));
}

TEST(MultistreamResponder, LsAnswersWithList) {
  Responder resp(std::vector<std::string>{"/ipfs/id/1.0.0", "/ipfs/ping/1.0.0"});
  (void)resp.take_output();
  ASSERT_TRUE(resp.receive(concat({kHeader, msg("ls")})));
  Bytes expected;
  append_list_response(expected, {"/ipfs/id/1.0.0", "/ipfs/ping/1.0.0"});
  EXPECT_EQ(resp.take_output(), expected);
  EXPECT_FALSE(resp.done());
  ASSERT_TRUE(resp.receive(msg("/ipfs/ping/1.0.0")));
  EXPECT_TRUE(resp.done());
}

TEST(MultistreamResponder, PredicateAndListedProtocols) {
  Responder resp([](std::string_view p) { return p.starts_with("/stargate/"); },
                 std::vector<std::string>{"/stargate/a2a/1.0.0"});
  (void)resp.take_output();
  ASSERT_TRUE(resp.receive(concat({kHeader, msg("ls")})));
  Bytes expected;
  append_list_response(expected, {"/stargate/a2a/1.0.0"});
  EXPECT_EQ(resp.take_output(), expected);
  ASSERT_TRUE(resp.receive(msg("/stargate/kad/1.0.0")));
  EXPECT_EQ(resp.selected(), "/stargate/kad/1.0.0");
}

TEST(MultistreamResponder, ReservedWordsAreNeverSelected) {
  Responder resp([](std::string_view) { return true; });
  (void)resp.take_output();
  ASSERT_TRUE(resp.receive(concat({kHeader, msg("na"), msg("/multistream/1.0.0"), msg("ls")})));
  EXPECT_FALSE(resp.done());
  EXPECT_EQ(resp.take_output(), concat({msg("na"), msg("na"), hex("01"), to_bytes("\n")}));
}

TEST(MultistreamResponder, BoundsProposals) {
  Responder resp(std::vector<std::string>{"/yes"});
  (void)resp.take_output();
  Bytes in = kHeader;
  for (int i = 0; i < 15; ++i) append(in, msg("/no/" + std::to_string(i)));
  append(in, msg("ls"));  // ls counts too: it makes us write
  ASSERT_TRUE(resp.receive(in));
  auto used = resp.receive(msg("/no/again"));
  ASSERT_FALSE(used);
  EXPECT_NE(used.error().message.find("16"), std::string::npos);
  EXPECT_TRUE(resp.failed());
  EXPECT_FALSE(resp.receive(msg("/yes")));  // sticky
}

TEST(MultistreamResponder, LimitIsConfigurable) {
  Responder resp(std::vector<std::string>{"/yes"}, ResponderLimits{.max_rejections = 1});
  ASSERT_TRUE(resp.receive(concat({kHeader, msg("/no")})));
  EXPECT_FALSE(resp.receive(msg("/no")));
}

TEST(MultistreamResponder, Rejections) {
  const std::vector<Bytes> bad = {
      msg("/a"),                       // first message is not the header
      concat({msg("/multistream/1.0.1")}),
      concat({kHeader, raw("/a")}),    // no newline
      concat({kHeader, hex("00")}),    // empty
      concat({kHeader, hex("8108")}),  // 1025 bytes announced
      concat({kHeader, hex("ffff7f")}),
      concat({kHeader, raw("/a\r\n")}),
      concat({kHeader, raw("/\xC3\n")}),
  };
  for (const auto& in : bad) {
    Responder resp(std::vector<std::string>{"/a"});
    auto used = resp.receive(in);
    EXPECT_FALSE(used) << to_hex(in);
    EXPECT_TRUE(resp.failed());
    EXPECT_FALSE(resp.done());
  }
}

TEST(MultistreamResponder, PartialMessageIsConsumedAndKept) {
  Responder resp(std::vector<std::string>{"/abc"});
  const Bytes in = concat({kHeader, msg("/abc")});
  auto used = resp.receive(BytesView(in).first(in.size() - 2));
  ASSERT_TRUE(used);
  EXPECT_EQ(*used, in.size() - 2);
  EXPECT_FALSE(resp.done());
  used = resp.receive(BytesView(in).last(2));
  ASSERT_TRUE(used);
  EXPECT_EQ(*used, 2u);
  EXPECT_TRUE(resp.done());
}

// ---- both ends together ----

struct Outcome {
  bool initiator_done, responder_done;
  std::string initiator_selected, responder_selected;
  Bytes initiator_leftover, responder_leftover;  // application bytes each side saw after negotiating
};

// Moves bytes between the two machines in random-sized chunks, with application data written
// optimistically by the initiator right after its first output.
Outcome run(std::vector<std::string> proposals, std::vector<std::string> supported, unsigned seed,
            bool optimistic) {
  Initiator ini(std::move(proposals));
  Responder resp(std::move(supported));
  std::mt19937 rng(seed);
  Bytes to_resp, to_ini;
  Outcome out{};
  append(to_resp, ini.take_output());
  if (optimistic) append(to_resp, to_bytes("PING"));
  append(to_ini, resp.take_output());
  for (int round = 0; round < 10000 && (!to_resp.empty() || !to_ini.empty()); ++round) {
    auto deliver = [&](Bytes& wire, auto& machine, Bytes& leftover) {
      if (wire.empty()) return;
      const std::size_t n = std::uniform_int_distribution<std::size_t>(1, wire.size())(rng);
      BytesView chunk = BytesView(wire).first(n);
      std::size_t used = 0;
      if (!machine.done() && !machine.failed()) {
        auto r = machine.receive(chunk);
        if (!r) {
          wire.clear();
          return;
        }
        used = *r;
      }
      if (machine.done()) append(leftover, chunk.subspan(used));
      wire.erase(wire.begin(), wire.begin() + static_cast<std::ptrdiff_t>(n));
    };
    deliver(to_resp, resp, out.responder_leftover);
    append(to_ini, resp.take_output());
    deliver(to_ini, ini, out.initiator_leftover);
    append(to_resp, ini.take_output());
  }
  out.initiator_done = ini.done();
  out.responder_done = resp.done();
  if (ini.done()) out.initiator_selected = ini.selected();
  if (resp.done()) out.responder_selected = resp.selected();
  return out;
}

TEST(MultistreamBothEnds, AgreeUnderAnyChunking) {
  for (unsigned seed = 0; seed < 200; ++seed) {
    auto o = run({"/tls/1.0.0", "/noise", "/plaintext/2.0.0"}, {"/plaintext/2.0.0", "/noise"}, seed, false);
    ASSERT_TRUE(o.initiator_done && o.responder_done) << seed;
    EXPECT_EQ(o.initiator_selected, "/noise");
    EXPECT_EQ(o.responder_selected, "/noise");
    EXPECT_TRUE(o.initiator_leftover.empty());
    EXPECT_TRUE(o.responder_leftover.empty());
  }
}

TEST(MultistreamBothEnds, OptimisticDataReachesTheApplication) {
  for (unsigned seed = 0; seed < 200; ++seed) {
    auto o = run({"/echo/1.0.0"}, {"/echo/1.0.0"}, seed, true);
    ASSERT_TRUE(o.initiator_done && o.responder_done) << seed;
    EXPECT_EQ(o.responder_leftover, to_bytes("PING")) << seed;
  }
}

TEST(MultistreamBothEnds, NoCommonProtocol) {
  auto o = run({"/a", "/b"}, {"/c"}, 1, false);
  EXPECT_FALSE(o.initiator_done);
  EXPECT_FALSE(o.responder_done);
}

}  // namespace
}  // namespace stargate::p2p::multistream
