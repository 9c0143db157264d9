#include "metrics/label_value.hpp"

#include "metrics/names.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

namespace stargate::metrics {
namespace {

TEST(LabelValueTest, ValidUtf8IsKept) {
  EXPECT_EQ(sanitize_label_value("plain"), "plain");
  EXPECT_EQ(sanitize_label_value("h\xC3\xA9llo \xE2\x82\xAC \xF0\x9F\x9A\x80"), "h\xC3\xA9llo \xE2\x82\xAC \xF0\x9F\x9A\x80");
  EXPECT_EQ(sanitize_label_value(""), "");
}

TEST(LabelValueTest, InvalidBytesBecomeReplacementCharacters) {
  const std::string fffd = "\xEF\xBF\xBD";
  EXPECT_EQ(sanitize_label_value("a\x80" "b"), "a" + fffd + "b");
  EXPECT_EQ(sanitize_label_value("\xC0\xAF"), fffd + fffd);        // overlong '/'
  EXPECT_EQ(sanitize_label_value("\xED\xA0\x80"), fffd + fffd + fffd);  // surrogate
  EXPECT_EQ(sanitize_label_value("\xE2\x82"), fffd + fffd);        // truncated sequence
}

TEST(LabelValueTest, LongValuesAreCutAtACharacterBoundary) {
  std::string euros;
  for (int i = 0; i < 100; ++i) euros += "\xE2\x82\xAC";  // 3 bytes each
  auto cut = sanitize_label_value(euros);
  EXPECT_EQ(cut.size(), 126u);  // 42 whole characters fit in 128 bytes
  EXPECT_EQ(cut, euros.substr(0, 126));
}

TEST(NamesTest, MetricAndLabelNamesAreChecked) {
  EXPECT_NO_THROW(check_metric_name("stargate_calls"));
  EXPECT_NO_THROW(check_metric_name("job:rate:5m"));
  EXPECT_THROW(check_metric_name(""), std::invalid_argument);
  EXPECT_THROW(check_metric_name("1abc"), std::invalid_argument);
  EXPECT_THROW(check_metric_name("a-b"), std::invalid_argument);
  EXPECT_NO_THROW(check_label_name("tier"));
  EXPECT_THROW(check_label_name("__reserved"), std::invalid_argument);
  EXPECT_THROW(check_label_name("le"), std::invalid_argument);
  EXPECT_THROW(check_label_name("a:b"), std::invalid_argument);
  const std::string_view twice[] = {"a", "a"};
  EXPECT_THROW(check_label_names(twice), std::invalid_argument);
  EXPECT_EQ(counter_base_name("x_total"), "x");
  EXPECT_EQ(counter_base_name("x"), "x");
  EXPECT_EQ(counter_base_name("_total"), "_total");
}

}  // namespace
}  // namespace stargate::metrics
