#include "p2p/protocols/autonat/address_classifier.hpp"

#include "base/endian.hpp"

#include <algorithm>

namespace stargate::p2p::autonat {
namespace {

// Ranges that are not public, by family (IANA special-purpose registries, as go-multiaddr lists them).
const std::vector<Cidr>& non_public_ranges() {
  static const std::vector<Cidr> ranges = [] {
    std::vector<Cidr> out;
    for (const char* text : {"0.0.0.0/8",       "10.0.0.0/8",      "100.64.0.0/10",  "127.0.0.0/8",
                             "169.254.0.0/16",  "172.16.0.0/12",   "192.0.0.0/24",   "192.0.2.0/24",
                             "192.88.99.0/24",  "192.168.0.0/16",  "198.18.0.0/15",  "198.51.100.0/24",
                             "203.0.113.0/24",  "224.0.0.0/4",     "240.0.0.0/4",    "::/128",
                             "::1/128",         "100::/64",        "2001:db8::/32",  "fc00::/7",
                             "fe80::/10",       "ff00::/8"})
      out.push_back(Cidr::parse(text).value());
    return out;
  }();
  return ranges;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

std::string IpAddress::to_string() const {
  auto addr = v6 ? Multiaddr::from_component(Protocol::ip6, BytesView(bytes.data(), 16))
                 : Multiaddr::from_component(Protocol::ip4, BytesView(bytes.data(), 4));
  if (!addr) return "?";
  auto text = addr->to_string();  // "/ip4/1.2.3.4"
  return text.substr(text.find('/', 1) + 1);
}

std::optional<IpAddress> ip_of(const Multiaddr& addr) {
  if (addr.empty()) return std::nullopt;
  const auto& first = addr.components().front();
  IpAddress ip;
  if (first.protocol == Protocol::ip4 && first.value.size() == 4) {
    std::copy(first.value.begin(), first.value.end(), ip.bytes.begin());
    return ip;
  }
  if (first.protocol == Protocol::ip6 && first.value.size() == 16) {
    static constexpr std::uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (std::equal(first.value.begin(), first.value.begin() + 12, mapped)) {
      std::copy(first.value.begin() + 12, first.value.end(), ip.bytes.begin());
      return ip;
    }
    ip.v6 = true;
    std::copy(first.value.begin(), first.value.end(), ip.bytes.begin());
    return ip;
  }
  return std::nullopt;
}

std::optional<std::uint16_t> tcp_port_of(const Multiaddr& addr) {
  const auto& c = addr.components();
  if (c.size() < 2 || !ip_of(addr) || c[1].protocol != Protocol::tcp || c[1].value.size() != 2) return std::nullopt;
  if (c.size() > 3 || (c.size() == 3 && c[2].protocol != Protocol::p2p)) return std::nullopt;
  return load_be16(c[1].value.data());
}

Result<Cidr> Cidr::parse(std::string_view text) {
  text = trim(text);
  auto slash = text.find('/');
  auto ip_text = text.substr(0, slash);
  const bool v6 = ip_text.find(':') != std::string_view::npos;
  auto addr = Multiaddr::parse(std::string(v6 ? "/ip6/" : "/ip4/") + std::string(ip_text));
  if (!addr || addr->components().size() != 1) return make_error("bad CIDR \"" + std::string(text) + "\": not an IP address");
  Cidr out;
  out.network.v6 = v6;
  const auto& value = addr->components().front().value;
  std::copy(value.begin(), value.end(), out.network.bytes.begin());
  const unsigned max = v6 ? 128 : 32;
  out.prefix = max;
  if (slash != std::string_view::npos) {
    auto bits = text.substr(slash + 1);
    if (bits.empty() || bits.size() > 3 || !std::all_of(bits.begin(), bits.end(), [](char c) { return c >= '0' && c <= '9'; }))
      return make_error("bad CIDR \"" + std::string(text) + "\": bad prefix length");
    out.prefix = static_cast<unsigned>(std::stoul(std::string(bits)));
    if (out.prefix > max) return make_error("bad CIDR \"" + std::string(text) + "\": prefix over " + std::to_string(max));
  }
  // Clear the host bits, so "10.1.2.3/8" means 10.0.0.0/8.
  for (unsigned bit = out.prefix; bit < max; ++bit) out.network.bytes[bit / 8] &= static_cast<std::uint8_t>(~(0x80u >> (bit % 8)));
  return out;
}

Result<std::vector<Cidr>> Cidr::parse_list(std::string_view text) {
  std::vector<Cidr> out;
  while (!text.empty()) {
    auto comma = text.find(',');
    auto item = trim(text.substr(0, comma));
    text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
    if (item.empty()) continue;
    auto cidr = parse(item);
    if (!cidr) return cidr.error();
    out.push_back(*cidr);
  }
  return out;
}

bool Cidr::contains(const IpAddress& ip) const {
  if (ip.v6 != network.v6) return false;
  for (unsigned bit = 0; bit < prefix; ++bit) {
    const std::uint8_t mask = static_cast<std::uint8_t>(0x80u >> (bit % 8));
    if ((ip.bytes[bit / 8] & mask) != (network.bytes[bit / 8] & mask)) return false;
  }
  return true;
}

std::string Cidr::to_string() const { return network.to_string() + "/" + std::to_string(prefix); }

bool AddressClassifier::is_public(const IpAddress& ip) const {
  auto covers = [&ip](const Cidr& range) { return range.contains(ip); };
  if (std::any_of(treat_as_public_.begin(), treat_as_public_.end(), covers)) return true;
  return std::none_of(non_public_ranges().begin(), non_public_ranges().end(), covers);
}

bool AddressClassifier::is_public(const Multiaddr& addr) const {
  if (addr.is_circuit()) return false;
  auto ip = ip_of(addr);
  return ip && is_public(*ip);
}

}  // namespace stargate::p2p::autonat
