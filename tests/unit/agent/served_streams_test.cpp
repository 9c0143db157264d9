// The registry of streams a node serves: its bounds (streams, windows granted, per caller), who
// may find a stream, and what happens to a stream whose caller does not come back.
#include "agent/served_stream.hpp"
#include "agent/stream_frames.hpp"

#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

namespace stargate::agent {
namespace {

std::shared_ptr<ServedStream> served_by(boost::asio::io_context& io, const std::string& caller, const std::string& id,
                                        std::uint64_t window = kMinStreamWindow) {
  return std::make_shared<ServedStream>(io.get_executor(), caller, id, window);
}

TEST(ServedStreamsTest, WindowsGrantedAreBoundedInAllAndPerCaller) {
  boost::asio::io_context io;
  ServedStreamLimits limits;
  limits.max_window_bytes = 5 * kMinStreamWindow;
  limits.max_window_bytes_per_caller = 3 * kMinStreamWindow;
  ServedStreams streams(limits);
  for (int i = 0; i < 3; ++i) {
    ASSERT_FALSE(streams.full("alice", kMinStreamWindow));
    streams.add(ServedStreams::key("alice", std::to_string(i)), served_by(io, "alice", std::to_string(i)));
  }
  EXPECT_TRUE(streams.full("alice", kMinStreamWindow));  // her share is taken
  EXPECT_FALSE(streams.full("bob", kMinStreamWindow));
  streams.add(ServedStreams::key("bob", "0"), served_by(io, "bob", "0"));
  streams.add(ServedStreams::key("bob", "1"), served_by(io, "bob", "1"));
  EXPECT_TRUE(streams.full("carol", kMinStreamWindow));  // the node's is taken
  EXPECT_EQ(streams.window_bytes(), 5 * kMinStreamWindow);
  streams.remove(ServedStreams::key("alice", "0"));
  EXPECT_FALSE(streams.full("carol", kMinStreamWindow));
  EXPECT_FALSE(streams.full("alice", kMinStreamWindow));
  EXPECT_EQ(streams.window_bytes(), 4 * kMinStreamWindow);
}

TEST(ServedStreamsTest, StreamsAreFoundOnlyUnderTheirCallersIdentity) {
  boost::asio::io_context io;
  ServedStreams streams;
  streams.add(ServedStreams::key("alice", "c1"), served_by(io, "alice", "c1"));
  EXPECT_TRUE(streams.find(ServedStreams::key("alice", "c1")));
  EXPECT_FALSE(streams.find(ServedStreams::key("mallory", "c1")));
  // A caller or call ID with the separator in it cannot name another caller's stream.
  EXPECT_NE(ServedStreams::key("alice\nc1", ""), ServedStreams::key("alice", "c1"));
}

TEST(ServedStreamsTest, AStreamWhoseCallerDoesNotComeBackIsCancelledAfterTheResumeWindow) {
  boost::asio::io_context io;
  ServedStreamLimits limits;
  limits.resume_window = std::chrono::seconds(30);
  ServedStreams streams(limits);
  auto stream = served_by(io, "alice", "c1");
  std::uint64_t attachment = 0;
  ASSERT_TRUE(stream->attach(0, attachment));
  streams.add(ServedStreams::key("alice", "c1"), stream);
  const auto t0 = std::chrono::steady_clock::now();
  stream->detach(attachment, t0);
  streams.expire(t0 + std::chrono::seconds(29));
  EXPECT_FALSE(stream->cancelled());
  streams.expire(t0 + std::chrono::seconds(31));
  EXPECT_TRUE(stream->cancelled());
  EXPECT_EQ(streams.size(), 1u);  // kept until its handler has ended with a final frame
  stream->finish(R"({"jsonrpc":"2.0","error":{"code":-32000,"message":"cancelled"},"id":"c1"})");
  streams.expire(t0 + std::chrono::seconds(32));
  EXPECT_EQ(streams.size(), 0u);
}

}  // namespace
}  // namespace stargate::agent
