// Keeps the address figures from regressing: the shipped rules on the committed evaluation set
// of real addresses (data/eval/, see its SOURCES.md) must meet the targets of issue 7.
#include "core/address_eval.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "test_rules.h"

namespace cuifu {
namespace {

std::vector<LabelledAddress> load(const char* name) {
  const std::string path = testing::source_path(std::string("data/eval/") + name);
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  std::vector<std::string> errors;
  auto set = parse_labelled_addresses(ss.str(), path, errors);
  EXPECT_TRUE(errors.empty()) << errors.front();
  return set;
}

void expect_targets(const std::vector<LabelledAddress>& set) {
  const AddressEval e = evaluate_addresses(testing::default_rules(), set);
  std::string misses;
  for (std::size_t i = 0; i < e.misses.size() && i < 40; ++i) {
    misses += e.misses[i].first->label + " -> " + e.misses[i].second + "\t" + e.misses[i].first->address + "\n";
  }
  EXPECT_GE(e.recall(0), 0.97) << "student recall\n" << e.table() << misses;
  EXPECT_GE(e.home_kept_apart(), 0.97) << "home kept out of student/office\n" << e.table() << misses;
  EXPECT_GE(e.precision(3), 0.99) << "overseas precision\n" << e.table() << misses;
  // Office: company registered addresses (data/eval/SOURCES.md); each half holds 200.
  EXPECT_GE(e.total(1), 150) << "the office class is missing from the set\n" << e.table();
  EXPECT_GE(e.recall(1), 0.90) << "office recall\n" << e.table() << misses;
}

TEST(AddressEval, SetHoldsAtLeast1500RealAddresses) {
  EXPECT_GE(load("tune.tsv").size() + load("holdout.tsv").size(), 1500u);
}

TEST(AddressEval, TargetsHoldOnTheTuningHalf) {
  expect_targets(load("tune.tsv"));
}

TEST(AddressEval, TargetsHoldOnTheHeldOutHalf) {
  expect_targets(load("holdout.tsv"));
}

TEST(AddressEval, AnEmptyClassPrintsADashNotAFigure) {
  std::vector<std::string> errors;
  const auto set = parse_labelled_addresses(
      "student\t驻马店市黄淮学院\nhome\t辽宁省沈阳市和平区南京南街77号枫林小区4栋702\n", "t.tsv", errors);
  const std::string t = evaluate_addresses(testing::default_rules(), set).table();
  // No office address and none predicted as office: nothing measured, not "0.0 % / 100.0 %".
  EXPECT_NE(t.find("| office | 0 | — | — |"), std::string::npos) << t;
  EXPECT_NE(t.find("| overseas | 0 | — | — |"), std::string::npos) << t;
  EXPECT_NE(t.find("| student | 1 | 100.0 % | 100.0 % |"), std::string::npos) << t;
  EXPECT_EQ(t.find("100.0 % | 0.0 %"), std::string::npos) << t;
}

TEST(AddressEval, ReportsPrecisionRecallAndConfusions) {
  std::vector<std::string> errors;
  const auto set = parse_labelled_addresses(
      "label\taddress\nstudent\t驻马店市黄淮学院\nhome\t辽宁省沈阳市和平区南京南街77号枫林小区4栋702\n"
      "overseas\t香港九龍旺角彌敦道123號\nhome\t建华南路商通大厦8层\nbogus\tx\n",
      "t.tsv", errors);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].find("t.tsv:6:"), std::string::npos) << errors[0];
  const AddressEval e = evaluate_addresses(testing::default_rules(), set);
  EXPECT_EQ(e.confusion[0][0], 1);  // student read as student
  EXPECT_EQ(e.confusion[2][2], 1);  // the 小区 is home
  EXPECT_EQ(e.confusion[2][1], 1);  // the office building labelled home is a confusion
  EXPECT_EQ(e.confusion[3][3], 1);
  EXPECT_DOUBLE_EQ(e.home_kept_apart(), 0.5);
  EXPECT_NE(e.table().find("| home | 2 |"), std::string::npos) << e.table();
}

}  // namespace
}  // namespace cuifu
