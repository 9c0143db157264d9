// stargate_bench: raw TCP and Stargate (TCP+Noise+Yamux) side by side on loopback, in one run.
// The server side (raw TCP echo/bulk servers and a Stargate host) runs on its own io_context in
// its own thread; the client side runs on another io_context in the main thread, so every round
// trip pays the same cross-thread (usually cross-core) wake-up.
//
//   (a) raw TCP, TCP_NODELAY: 64-byte echo round trip
//   (b) Stargate: 64-byte echo round trip on one reused /echo/1.0.0 stream
//   (c) Stargate: new stream (multistream-select included) per 64-byte request
//   (d) Stargate: new connection (TCP connect + Noise XX + Yamux + identify) per 64-byte request
//   (e) throughput: /perf/1.0.0 download on one stream vs raw TCP bulk with 64 KiB writes
//   (f) the pipe limit: ChaCha20-Poly1305 sealing 65519-byte frames (Noise's largest), sent over
//       one loopback TCP connection, opened by a second thread
//
// Usage: stargate_bench [--quick] [--markdown]
#include "base/endian.hpp"
#include "bench_stats.hpp"
#include "crypto/chacha20poly1305.hpp"
#include "p2p/host/standard_protocols.hpp"
#include "p2p/protocols/echo/echo_io.hpp"
#include "p2p/protocols/perf/perf_io.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace {

using namespace stargate;
using namespace stargate::p2p;
using namespace stargate::bench;

constexpr std::size_t echo_size = 64;
constexpr std::size_t bulk_write = 64 * 1024;
constexpr std::size_t noise_plaintext = 65535 - 16;  // largest Noise transport payload

struct Counts {
  int rounds = 3;  // phases (a)-(d) are interleaved over this many rounds (load drifts)
  int echo = 20000;
  int new_stream = 3000;
  int new_connection = 300;
  int warmup = 500;
  std::uint64_t bulk_bytes = 256ull << 20;
  int bulk_runs = 5;
};


struct Throughput {
  std::vector<double> mbps;  // 1 MB = 10^6 bytes
  double median() const { return median_of(mbps); }
  double best() const { return mbps.empty() ? 0 : *std::max_element(mbps.begin(), mbps.end()); }
};

double rate(std::uint64_t bytes, BenchClock::duration d) {
  return static_cast<double>(bytes) / std::chrono::duration<double>(d).count() / 1e6;
}

// ---------------------------------------------------------------- raw TCP servers (server side)

awaitable<void> raw_echo_session(tcp::socket socket) {
  socket.set_option(tcp::no_delay(true));
  std::vector<std::uint8_t> buffer(64 * 1024);
  try {
    for (;;) {
      std::size_t n = co_await socket.async_read_some(asio::buffer(buffer), use_awaitable);
      co_await asio::async_write(socket, asio::buffer(buffer.data(), n), use_awaitable);
    }
  } catch (const SystemError&) {
  }
}

// Reads an 8-byte big-endian count, then writes that many bytes in 64 KiB writes and closes.
awaitable<void> raw_bulk_session(tcp::socket socket) {
  socket.set_option(tcp::no_delay(true));
  try {
    std::uint8_t header[8];
    co_await asio::async_read(socket, asio::buffer(header, sizeof header), use_awaitable);
    std::uint64_t count = load_be64(header);
    std::vector<std::uint8_t> chunk(bulk_write, 0x5a);
    while (count > 0) {
      auto n = static_cast<std::size_t>(std::min<std::uint64_t>(count, chunk.size()));
      co_await asio::async_write(socket, asio::buffer(chunk.data(), n), use_awaitable);
      count -= n;
    }
    socket.shutdown(tcp::socket::shutdown_send);
    // Wait for the client to close first, so the server side holds no TIME_WAIT state.
    co_await socket.async_read_some(asio::buffer(header, 1), use_awaitable);
  } catch (const SystemError&) {
  }
}

template <typename Session>
awaitable<void> accept_loop(std::shared_ptr<tcp::acceptor> acceptor, Session session) {
  for (;;) {
    auto socket = co_await acceptor->async_accept(use_awaitable);
    asio::co_spawn(acceptor->get_executor(), session(std::move(socket)), asio::detached);
  }
}

// ---------------------------------------------------------------- client side phases

tcp::endpoint loopback(unsigned short port) { return tcp::endpoint(asio::ip::make_address("127.0.0.1"), port); }

awaitable<void> raw_echo(unsigned short port, int warmup, int count, Latency& out) {
  auto executor = co_await asio::this_coro::executor;
  tcp::socket socket(executor);
  co_await socket.async_connect(loopback(port), use_awaitable);
  socket.set_option(tcp::no_delay(true));
  std::vector<std::uint8_t> request(echo_size, 0x42), reply(echo_size);
  for (int i = 0; i < warmup + count; ++i) {
    auto start = BenchClock::now();
    co_await asio::async_write(socket, asio::buffer(request), use_awaitable);
    co_await asio::async_read(socket, asio::buffer(reply), use_awaitable);
    if (i >= warmup) out.us.push_back(micros(BenchClock::now() - start));
  }
  socket.close();
}

awaitable<void> raw_bulk(unsigned short port, std::uint64_t bytes, Throughput& out) {
  auto executor = co_await asio::this_coro::executor;
  tcp::socket socket(executor);
  co_await socket.async_connect(loopback(port), use_awaitable);
  socket.set_option(tcp::no_delay(true));
  auto start = BenchClock::now();
  std::uint8_t header[8];
  store_be64(header, bytes);
  co_await asio::async_write(socket, asio::buffer(header, sizeof header), use_awaitable);
  std::vector<std::uint8_t> buffer(bulk_write);
  std::uint64_t received = 0;
  while (received < bytes) received += co_await socket.async_read_some(asio::buffer(buffer), use_awaitable);
  out.mbps.push_back(rate(received, BenchClock::now() - start));
  socket.close();
}

std::vector<std::string> echo_protocols() {
  std::vector<std::string> protocols;
  protocols.push_back(echo::protocol_id);
  return protocols;
}

awaitable<void> drain_to_eof(ByteStream& stream) {
  std::uint8_t sink[256];
  while (co_await stream.read_some(MutableBytesView(sink, sizeof sink)) > 0) {
  }
}

awaitable<void> stargate_reused_stream(Host& host, std::shared_ptr<MuxedConnection> connection, int warmup, int count,
                                       Latency& out) {
  auto protocols = echo_protocols();
  auto stream = co_await host.open_stream(connection, protocols);
  Bytes request(echo_size, 0x42), reply(echo_size);
  for (int i = 0; i < warmup + count; ++i) {
    auto start = BenchClock::now();
    co_await stream->write_all(request);
    co_await stream->read_exact(reply);
    if (i >= warmup) out.us.push_back(micros(BenchClock::now() - start));
  }
  co_await stream->close_write();
  co_await drain_to_eof(*stream);
}

// Timed: open (multistream-select included), write 64 bytes, read the 64 back. The close that
// follows (our FIN, the server's FIN) is not timed.
awaitable<void> stargate_new_streams(Host& host, std::shared_ptr<MuxedConnection> connection, int warmup, int count,
                                     Latency& out) {
  Bytes request(echo_size, 0x42), reply(echo_size);
  for (int i = 0; i < warmup + count; ++i) {
    auto start = BenchClock::now();
    auto protocols = echo_protocols();
    auto stream = co_await host.open_stream(connection, protocols);
    co_await stream->write_all(request);
    co_await stream->close_write();
    co_await stream->read_exact(reply);
    if (i >= warmup) out.us.push_back(micros(BenchClock::now() - start));
    co_await drain_to_eof(*stream);
  }
}

// Timed: a fresh client host (key made beforehand) connects (TCP + multistream + Noise XX +
// multistream + Yamux), opens /echo/1.0.0 and gets 64 bytes back. Identify runs as it does on
// every Stargate connection.
awaitable<void> stargate_new_connections(const Multiaddr& server, int warmup, int count, Latency& out,
                                         std::vector<std::unique_ptr<Host>>& keep) {
  auto executor = co_await asio::this_coro::executor;
  Bytes request(echo_size, 0x42), reply(echo_size);
  for (int i = 0; i < warmup + count; ++i) {
    auto host = std::make_unique<Host>(executor, crypto::Ed25519PrivateKey::generate());
    enable_standard_protocols(*host);
    auto start = BenchClock::now();
    auto connection = co_await host->connect(server);
    auto protocols = echo_protocols();
    auto stream = co_await host->open_stream(connection, protocols);
    co_await stream->write_all(request);
    co_await stream->close_write();
    co_await stream->read_exact(reply);
    if (i >= warmup) out.us.push_back(micros(BenchClock::now() - start));
    co_await drain_to_eof(*stream);
    host->close();
    keep.push_back(std::move(host));  // destroyed at exit: closing connections still refer to it
  }
}

awaitable<void> stargate_perf(Host& host, std::shared_ptr<MuxedConnection> connection, std::uint64_t bytes,
                              Throughput& out) {
  std::vector<std::string> protocols;
  protocols.push_back(perf::protocol_id);
  auto stream = co_await host.open_stream(connection, protocols);
  auto result = co_await perf::run(*stream, 0, bytes);
  if (result.downloaded != bytes) throw std::runtime_error("perf: short download");
  out.mbps.push_back(rate(result.downloaded, result.total_time));
}

// ---------------------------------------------------------------- (f) ChaCha20-Poly1305 pipe

// One thread seals frames (2-byte length + ciphertext, as Noise frames them) and writes each to a
// loopback TCP socket; another reads and opens them. Blocking sockets, one frame per write.
double chacha_pipe(std::uint64_t bytes) {
  asio::io_context io(1);
  tcp::acceptor acceptor(io, loopback(0));
  tcp::socket server(io), client(io);
  client.connect(acceptor.local_endpoint());
  acceptor.accept(server);
  client.set_option(tcp::no_delay(true));
  server.set_option(tcp::no_delay(true));
  crypto::ChaCha20Poly1305::Key key{};
  std::mt19937 rng(1);
  for (auto& b : key) b = static_cast<std::uint8_t>(rng());
  auto nonce_for = [](std::uint64_t n) {
    crypto::ChaCha20Poly1305::Nonce nonce{};
    for (int i = 0; i < 8; ++i) nonce[4 + i] = static_cast<std::uint8_t>(n >> (8 * i));
    return nonce;
  };
  const std::uint64_t frames = (bytes + noise_plaintext - 1) / noise_plaintext;
  std::atomic<bool> ok{true};
  auto start = BenchClock::now();
  std::thread receiver([&] {
    crypto::ChaCha20Poly1305 aead(key);
    std::vector<std::uint8_t> frame(65535);
    for (std::uint64_t n = 0; n < frames; ++n) {
      std::uint8_t length[2];
      asio::read(server, asio::buffer(length, 2));
      std::size_t size = load_be16(length);
      asio::read(server, asio::buffer(frame.data(), size));
      if (!aead.open(nonce_for(n), BytesView(), BytesView(frame.data(), size), frame.data())) ok = false;
    }
  });
  {
    crypto::ChaCha20Poly1305 aead(key);
    std::vector<std::uint8_t> plaintext(noise_plaintext, 0x5a);
    std::vector<std::uint8_t> frame(2 + noise_plaintext + 16);
    store_be16(frame.data(), static_cast<std::uint16_t>(noise_plaintext + 16));
    for (std::uint64_t n = 0; n < frames; ++n) {
      aead.seal(nonce_for(n), BytesView(), plaintext, frame.data() + 2);
      asio::write(client, asio::buffer(frame));
    }
  }
  receiver.join();
  auto elapsed = BenchClock::now() - start;
  if (!ok) throw std::runtime_error("chacha pipe: a tag did not verify");
  return rate(frames * noise_plaintext, elapsed);
}

// ---------------------------------------------------------------- report

void print_report(const Counts& counts, const Latency& raw, const Latency& reused, const Latency& new_stream,
                  const Latency& new_connection, const Throughput& raw_bulk_mbps, const Throughput& perf_mbps,
                  const Throughput& chacha_mbps) {
  std::printf("| measurement | samples | median | p99 | median vs raw TCP |\n");
  std::printf("|---|---:|---:|---:|---:|\n");
  auto row = [&](const char* name, const Latency& l) {
    std::printf("| %s | %zu | %.1f µs | %.1f µs | %.2f× |\n", name, l.us.size(), l.median(), l.p99(),
                l.median() / raw.median());
  };
  row("(a) raw TCP, TCP_NODELAY, 64 B echo round trip", raw);
  row("(b) Stargate 64 B echo, reused `/echo/1.0.0` stream", reused);
  row("(c) Stargate new stream per 64 B request", new_stream);
  row("(d) Stargate new connection per 64 B request (connect + Noise + Yamux + echo)", new_connection);
  std::printf("\n| throughput (one stream / connection, %llu MiB per run) | runs | median | best | vs raw TCP | vs ChaCha pipe |\n",
              static_cast<unsigned long long>(counts.bulk_bytes >> 20));
  std::printf("|---|---:|---:|---:|---:|---:|\n");
  auto trow = [&](const char* name, const Throughput& t) {
    std::printf("| %s | %zu | %.0f MB/s | %.0f MB/s | %.0f%% | %.0f%% |\n", name, t.mbps.size(), t.median(), t.best(),
                100.0 * t.median() / raw_bulk_mbps.median(), 100.0 * t.median() / chacha_mbps.median());
  };
  trow("(e) raw TCP bulk, 64 KiB writes", raw_bulk_mbps);
  trow("(e) Stargate `/perf/1.0.0` download", perf_mbps);
  trow("(f) ChaCha20-Poly1305 pipe, 65519 B frames, 2 threads", chacha_mbps);
  std::printf("\nMB = 10^6 bytes. Latencies are per request, measured on the client with steady_clock.\n");

  auto verdict = [](bool ok) { return ok ? "met" : "**not met**"; };
  double reused_ratio = reused.median() / raw.median();
  double stream_ratio = new_stream.median() / raw.median();
  double perf_share = perf_mbps.median() / chacha_mbps.median();
  std::printf("\n| aim | this run | verdict |\n|---|---|---|\n");
  std::printf("| reused stream within 2× raw TCP (median) | %.2f× | %s |\n", reused_ratio, verdict(reused_ratio <= 2.0));
  std::printf("| new stream within 3× raw TCP (median) | %.2f× | %s |\n", stream_ratio, verdict(stream_ratio <= 3.0));
  std::printf("| new connection < 1 ms (median) | %.0f µs | %s |\n", new_connection.median(),
              verdict(new_connection.median() < 1000.0));
  std::printf("| single-stream throughput ≥ 85%% of the ChaCha pipe limit (medians) | %.0f%% | %s |\n",
              100.0 * perf_share, verdict(perf_share >= 0.85));
  std::printf("\n<!-- raw_tcp_median_us=%.3f -->\n", raw.median());
}

}  // namespace

int main(int argc, char** argv) {
  Counts counts;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--quick") == 0) {
      counts.rounds = 1;
      counts.echo = 2000;
      counts.new_stream = 300;
      counts.new_connection = 30;
      counts.warmup = 50;
      counts.bulk_bytes = 32ull << 20;
      counts.bulk_runs = 1;
    }
  }

  // Server side: its own io_context and thread.
  asio::io_context server_io(1);
  auto work = asio::make_work_guard(server_io);
  auto echo_acceptor = std::make_shared<tcp::acceptor>(server_io, loopback(0));
  auto bulk_acceptor = std::make_shared<tcp::acceptor>(server_io, loopback(0));
  auto echo_port = echo_acceptor->local_endpoint().port();
  auto bulk_port = bulk_acceptor->local_endpoint().port();
  asio::co_spawn(server_io, accept_loop(echo_acceptor, raw_echo_session), asio::detached);
  asio::co_spawn(server_io, accept_loop(bulk_acceptor, raw_bulk_session), asio::detached);
  Host server(server_io.get_executor(), crypto::Ed25519PrivateKey::generate());
  enable_standard_protocols(server);
  auto server_addr = server.listen(Multiaddr::parse("/ip4/127.0.0.1/tcp/0").value())
                         .encapsulate(Multiaddr::parse("/p2p/" + server.peer_id().to_string()).value());
  std::thread server_thread([&] { server_io.run(); });

  // Client side: the main thread's io_context.
  asio::io_context client_io(1);
  Host client(client_io.get_executor(), crypto::Ed25519PrivateKey::generate());
  enable_standard_protocols(client);
  std::vector<std::unique_ptr<Host>> spent_hosts;

  Latency raw, reused, new_stream, new_connection;
  Throughput raw_bulk_mbps, perf_mbps, chacha_mbps;
  std::exception_ptr failure;

  asio::co_spawn(
      client_io,
      [&]() -> awaitable<void> {
        auto connection = co_await client.connect(server_addr);
        for (int round = 0; round < counts.rounds; ++round) {
          std::fprintf(stderr, "round %d/%d: raw echo, reused stream, new stream, new connection\n", round + 1,
                       counts.rounds);
          co_await raw_echo(echo_port, counts.warmup, counts.echo / counts.rounds, raw);
          co_await stargate_reused_stream(client, connection, counts.warmup, counts.echo / counts.rounds, reused);
          co_await stargate_new_streams(client, connection, counts.warmup / 10, counts.new_stream / counts.rounds,
                                        new_stream);
          co_await stargate_new_connections(server_addr, 3, counts.new_connection / counts.rounds, new_connection,
                                            spent_hosts);
        }
        std::fprintf(stderr, "throughput: raw TCP bulk, /perf/1.0.0 and the ChaCha20-Poly1305 pipe\n");
        for (int run = 0; run < counts.bulk_runs; ++run) {
          co_await raw_bulk(bulk_port, counts.bulk_bytes, raw_bulk_mbps);
          co_await stargate_perf(client, connection, counts.bulk_bytes, perf_mbps);
          // Blocks this thread (its own two threads do the work); interleaved with (e) for the same load.
          chacha_mbps.mbps.push_back(chacha_pipe(counts.bulk_bytes));
        }
      },
      [&](std::exception_ptr e) {
        failure = e;
        client_io.stop();
      });
  client_io.run();
  server_io.stop();
  server_thread.join();
  if (failure) {
    try {
      std::rethrow_exception(failure);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "stargate_bench: %s\n", e.what());
    }
    std::fflush(stdout);
    std::_Exit(1);
  }

  print_report(counts, raw, reused, new_stream, new_connection, raw_bulk_mbps, perf_mbps, chacha_mbps);
  std::fflush(stdout);
  // The hosts still own coroutines on stopped io_contexts: skip their teardown.
  std::_Exit(0);
}
