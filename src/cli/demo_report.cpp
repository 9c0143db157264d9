#include "cli/demo_report.hpp"

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <charconv>
#include <cstdio>
#include <iostream>

namespace stargate::cli {
namespace {

namespace json = boost::json;

// json::serialize, but numbers as a person writes them: Boost 1.81 prints 304.8 as 3.048E2.
void write_json(std::string& out, const json::value& value) {
  switch (value.kind()) {
    case json::kind::double_: {
      char buffer[32];
      auto end = std::to_chars(buffer, buffer + sizeof buffer, value.get_double()).ptr;
      out.append(buffer, end);
      break;
    }
    case json::kind::array: {
      out += '[';
      for (std::size_t i = 0; i < value.get_array().size(); ++i) {
        if (i) out += ',';
        write_json(out, value.get_array()[i]);
      }
      out += ']';
      break;
    }
    case json::kind::object: {
      out += '{';
      bool first = true;
      for (const auto& [key, item] : value.get_object()) {
        if (!first) out += ',';
        first = false;
        out += json::serialize(json::string(key)) + ':';
        write_json(out, item);
      }
      out += '}';
      break;
    }
    default: out += json::serialize(value);
  }
}

}  // namespace

void DemoReport::section(std::string_view title) const {
  if (!json_) std::cout << "\n== " << title << std::endl;
}

void DemoReport::event(const boost::json::object& event, std::string_view human) const {
  if (json_) {
    std::string line;
    write_json(line, event);
    std::cout << line << std::endl;
  } else {
    std::cout << human << std::endl;
  }
}

std::string format_ms(double ms) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.1f", ms);
  return buffer;
}

}  // namespace stargate::cli
