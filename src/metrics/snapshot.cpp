#include "metrics/snapshot.hpp"

namespace stargate::metrics {

std::string_view to_string(Type type) {
  switch (type) {
    case Type::counter: return "counter";
    case Type::gauge: return "gauge";
    case Type::histogram: return "histogram";
  }
  return "untyped";
}

std::string FamilyMeta::exposed_name() const { return type == Type::counter ? name + "_total" : name; }

}  // namespace stargate::metrics
