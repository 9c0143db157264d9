#pragma once
// What `stargate demo` prints: a line a person reads per step, or with --json one JSON object per
// line ({"event":"call",…}), flushed at once so that a reader sees each step as it happens.
#include <boost/json/object.hpp>

#include <string>
#include <string_view>

namespace stargate::cli {

class DemoReport {
 public:
  explicit DemoReport(bool json) : json_(json) {}
  bool json() const { return json_; }
  // A heading between steps (human output only).
  void section(std::string_view title) const;
  // One event: `event` as a JSON line, or `human` as a text line.
  void event(const boost::json::object& event, std::string_view human) const;

 private:
  bool json_;
};

// "12.3" for a duration in milliseconds (one decimal), for the human lines.
std::string format_ms(double ms);

}  // namespace stargate::cli
