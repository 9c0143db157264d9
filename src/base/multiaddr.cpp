#include "base/multiaddr.hpp"

#include "base/quote.hpp"
#include "base/varint.hpp"

namespace stargate {

namespace {

void append_component(Bytes& out, const ProtocolInfo& info, BytesView value) {
  append_uvarint(out, static_cast<std::uint64_t>(info.protocol));
  if (!fixed_value_size(info.format)) append_uvarint(out, value.size());
  append(out, value);
}

// Next '/'-separated segment starting at `pos`; moves `pos` past the segment and its '/'.
// `ended` tells whether the text ran out before a '/' was found.
std::string_view next_segment(std::string_view text, std::size_t& pos, bool& ended) {
  const std::size_t slash = text.find('/', pos);
  ended = slash == std::string_view::npos;
  const std::size_t end = ended ? text.size() : slash;
  std::string_view segment = text.substr(pos, end - pos);
  pos = ended ? text.size() : slash + 1;
  return segment;
}

}  // namespace

Result<Multiaddr> Multiaddr::parse(std::string_view text) {
  auto fail = [&](const std::string& detail) {
    return make_error("multiaddr " + quote(text) + ": " + detail);
  };
  if (text.size() > kMaxMultiaddrText) {
    return fail("too long (" + std::to_string(text.size()) + " characters, max " +
                std::to_string(kMaxMultiaddrText) + ")");
  }
  if (text.empty() || text == "/") return fail("empty");
  if (text.front() != '/') return fail("must start with '/'");

  Multiaddr out;
  std::size_t pos = 1;
  while (pos < text.size()) {
    bool ended = false;
    const std::size_t name_pos = pos;
    const std::string_view name = next_segment(text, pos, ended);
    if (name.empty()) return fail("empty protocol name at position " + std::to_string(name_pos));
    const ProtocolInfo* info = find_protocol(name);
    if (info == nullptr) return fail("unknown protocol " + quote(name));
    if (out.components_.size() == kMaxMultiaddrComponents) {
      return fail("more than " + std::to_string(kMaxMultiaddrComponents) + " components");
    }

    Bytes value;
    if (info->format != ValueFormat::none) {
      const std::string_view value_text = ended ? std::string_view{} : next_segment(text, pos, ended);
      if (value_text.empty()) return fail("missing value for " + std::string(info->name));
      auto parsed = value_from_text(*info, value_text);
      if (!parsed) return fail(parsed.error().message);
      value = std::move(*parsed);
    }
    append_component(out.bytes_, *info, value);
    out.components_.push_back({info->protocol, std::move(value)});
  }
  if (out.bytes_.size() > kMaxMultiaddrBytes) {
    return fail("binary form too long (" + std::to_string(out.bytes_.size()) + " bytes, max " +
                std::to_string(kMaxMultiaddrBytes) + ")");
  }
  return out;
}

Result<Multiaddr> Multiaddr::from_bytes(BytesView binary) {
  auto fail = [](std::size_t offset, const std::string& detail) {
    return make_error("multiaddr bytes: " + detail + " at offset " + std::to_string(offset));
  };
  if (binary.empty()) return make_error("multiaddr bytes: empty");
  if (binary.size() > kMaxMultiaddrBytes) {
    return make_error("multiaddr bytes: too long (" + std::to_string(binary.size()) + " bytes, max " +
                      std::to_string(kMaxMultiaddrBytes) + ")");
  }

  Multiaddr out;
  std::size_t offset = 0;
  while (offset < binary.size()) {
    if (out.components_.size() == kMaxMultiaddrComponents) {
      return fail(offset, "more than " + std::to_string(kMaxMultiaddrComponents) + " components");
    }
    auto code = decode_uvarint(binary.subspan(offset));
    if (!code) return fail(offset, "bad protocol code (" + code.error().message + ")");
    if (!*code) return fail(offset, "truncated protocol code");
    const ProtocolInfo* info = find_protocol((*code)->value);
    if (info == nullptr) return fail(offset, "unknown protocol code " + std::to_string((*code)->value));
    const std::string name(info->name);
    offset += (*code)->length;

    std::size_t value_size = 0;
    if (auto fixed = fixed_value_size(info->format)) {
      value_size = *fixed;
    } else {
      auto length = decode_uvarint(binary.subspan(offset));
      if (!length) return fail(offset, "bad " + name + " value length (" + length.error().message + ")");
      if (!*length) return fail(offset, "truncated " + name + " value length");
      offset += (*length)->length;
      if ((*length)->value > binary.size() - offset) {
        return fail(offset, "truncated " + name + " value (need " + std::to_string((*length)->value) +
                                " bytes, have " + std::to_string(binary.size() - offset) + ")");
      }
      value_size = static_cast<std::size_t>((*length)->value);
    }
    if (value_size > binary.size() - offset) {
      return fail(offset, "truncated " + name + " value (need " + std::to_string(value_size) +
                              " bytes, have " + std::to_string(binary.size() - offset) + ")");
    }
    const BytesView value = binary.subspan(offset, value_size);
    if (auto ok = validate_value(*info, value); !ok) return fail(offset, ok.error().message);
    out.components_.push_back({info->protocol, Bytes(value.begin(), value.end())});
    offset += value_size;
  }
  out.bytes_.assign(binary.begin(), binary.end());
  return out;
}

Result<Multiaddr> Multiaddr::from_component(Protocol protocol, BytesView value) {
  const ProtocolInfo* info = find_protocol(static_cast<std::uint64_t>(protocol));
  if (info == nullptr) {
    return make_error("multiaddr: unknown protocol code " + std::to_string(static_cast<std::uint32_t>(protocol)));
  }
  Bytes binary;
  append_component(binary, *info, value);
  return from_bytes(binary);
}

std::string Multiaddr::to_string() const {
  std::string out;
  for (const auto& c : components_) {
    const ProtocolInfo* info = find_protocol(static_cast<std::uint64_t>(c.protocol));
    if (info == nullptr) continue;  // components only ever come from the table
    out.push_back('/');
    out += info->name;
    if (info->format != ValueFormat::none) {
      out.push_back('/');
      out += value_to_text(*info, c.value);
    }
  }
  return out;
}

Multiaddr Multiaddr::encapsulate(const Multiaddr& other) const {
  Multiaddr out = *this;
  append(out.bytes_, other.bytes_);
  out.components_.insert(out.components_.end(), other.components_.begin(), other.components_.end());
  return out;
}

std::optional<Bytes> Multiaddr::peer_id_bytes() const {
  if (components_.empty() || components_.back().protocol != Protocol::p2p) return std::nullopt;
  return components_.back().value;
}

Multiaddr Multiaddr::without_peer_id() const {
  if (components_.empty() || components_.back().protocol != Protocol::p2p) return *this;
  Multiaddr out;
  out.components_.assign(components_.begin(), components_.end() - 1);
  // The trailing component's encoded size is known, so the prefix of bytes_ is the answer.
  const auto& last = components_.back();
  const std::size_t tail = uvarint_size(static_cast<std::uint64_t>(last.protocol)) +
                           uvarint_size(last.value.size()) + last.value.size();
  out.bytes_.assign(bytes_.begin(), bytes_.end() - static_cast<std::ptrdiff_t>(tail));
  return out;
}

bool Multiaddr::is_circuit() const {
  for (const auto& c : components_) {
    if (c.protocol == Protocol::p2p_circuit) return true;
  }
  return false;
}

}  // namespace stargate
