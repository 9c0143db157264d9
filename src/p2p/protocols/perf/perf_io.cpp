#include "p2p/protocols/perf/perf_io.hpp"

#include "base/endian.hpp"

#include <algorithm>

namespace stargate::p2p::perf {
namespace {

constexpr std::size_t chunk_size = 256 * 1024;

awaitable<void> send_bytes(ByteStream& stream, std::uint64_t count) {
  Bytes chunk(chunk_size, 0);
  while (count > 0) {
    auto n = static_cast<std::size_t>(std::min<std::uint64_t>(count, chunk.size()));
    co_await stream.write_all(BytesView(chunk.data(), n));
    count -= n;
  }
}

awaitable<std::uint64_t> drain(ByteStream& stream) {
  Bytes buffer(chunk_size);
  std::uint64_t total = 0;
  for (;;) {
    std::size_t n = co_await stream.read_some(buffer);
    if (n == 0) co_return total;
    total += n;
  }
}

}  // namespace

void enable(Host& host) {
  host.resources().set_service(protocol_id, "perf");
  host.set_handler(protocol_id, [](std::shared_ptr<MuxedStream> stream) -> awaitable<void> {
    std::uint8_t header[8];
    co_await stream->read_exact(MutableBytesView(header, sizeof header));
    const std::uint64_t to_send = load_be64(header);
    co_await drain(*stream);
    co_await send_bytes(*stream, to_send);
    co_await stream->close_write();
  });
}

awaitable<Result> run(ByteStream& stream, std::uint64_t upload_bytes, std::uint64_t download_bytes) {
  Result result;
  auto start = Clock::now();
  std::uint8_t header[8];
  store_be64(header, download_bytes);
  co_await stream.write_all(BytesView(header, sizeof header));
  co_await send_bytes(stream, upload_bytes);
  co_await stream.close_write();
  result.uploaded = upload_bytes;
  result.upload_time = Clock::now() - start;
  result.downloaded = co_await drain(stream);
  result.total_time = Clock::now() - start;
  co_return result;
}

}  // namespace stargate::p2p::perf
