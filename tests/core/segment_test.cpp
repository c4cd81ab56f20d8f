// Who is this buyer: segments from the default rules (reasons: chat_test.cpp),
// mainland vs overseas addresses, and the holdout group.
#include <gtest/gtest.h>

#include <map>

#include "core/planner.h"
#include "generated_orders.h"
#include "test_rules.h"

namespace cuifu {
namespace {

using testing::at;
using testing::default_rules;
using testing::make_order;

std::string segment_of(const std::vector<Order>& orders, int closed_unpaid_before = 0) {
  std::vector<const Order*> ptrs;
  for (const auto& o : orders) ptrs.push_back(&o);
  const SegmentMatch m = classify(default_rules(), ptrs, closed_unpaid_before);
  return m.rule ? m.rule->name : "<none>";
}

Order order_at(const char* address, Money amount = 19900) {
  Order o = make_order("A1", "buyer", at("2026-11-23 10:00"));
  o.address = address;
  o.amount = amount;
  return o;
}

TEST(Segment, DefaultRulesNameTheSegmentsOfTheTrainingMaterial) {
  std::vector<std::string> names;
  for (const auto& s : default_rules().segments) names.push_back(s.name);
  const auto has = [&](std::string_view part) {
    return std::any_of(names.begin(), names.end(),
                       [&](const std::string& n) { return n.find(part) != std::string::npos; });
  };
  EXPECT_TRUE(has("office"));
  EXPECT_TRUE(has("student"));
  EXPECT_TRUE(has("big"));
  EXPECT_TRUE(has("foreign"));
  EXPECT_TRUE(default_rules().segments.back().when.empty()) << "the last segment is the catch-all";
}

TEST(Segment, OfficeBuildingAddressIsAnOfficeWorker) {
  EXPECT_EQ(segment_of({order_at(testing::kOfficeAddress)}), "office_worker");
  EXPECT_EQ(segment_of({order_at("上海 上海市 浦东新区 张江高科技园区 博云路2号 浦软大厦 5楼")}), "office_worker");
  EXPECT_EQ(segment_of({order_at("广东省 深圳市 南山区 科技园 腾讯滨海大厦")}), "office_worker");
}

TEST(Segment, UniversityDormitoryAddressIsAStudent) {
  EXPECT_EQ(segment_of({order_at(testing::kStudentAddress)}), "student");
  EXPECT_EQ(segment_of({order_at("北京 北京市 海淀区 学院路 37号 北京航空航天大学 学生宿舍 6号楼")}), "student");
}

TEST(Segment, OrderOfOneThousandYuanOrMoreIsBigTicket) {
  EXPECT_EQ(segment_of({order_at(testing::kHomeAddress, 100000)}), "big_ticket");
  EXPECT_EQ(segment_of({order_at(testing::kHomeAddress, 99999)}), "default");
}

TEST(Segment, StudentBuyingALaptopIsBigTicketBecauseBigTicketComesFirst) {
  EXPECT_EQ(segment_of({order_at(testing::kStudentAddress, 399900)}), "big_ticket");
  EXPECT_EQ(segment_of({order_at(testing::kOfficeAddress, 399900)}), "big_ticket");
}

TEST(Segment, CombinedUnpaidAmountOfABuyerDecidesBigTicket) {
  Order a = order_at(testing::kHomeAddress, 60000);
  Order b = order_at(testing::kHomeAddress, 50000);
  b.id = "A2";
  EXPECT_EQ(segment_of({a}), "default");
  EXPECT_EQ(segment_of({a, b}), "big_ticket");
}

TEST(Segment, AddressOutsideMainlandChinaIsForeign) {
  EXPECT_EQ(segment_of({order_at(testing::kHongKongAddress)}), "foreign");
  EXPECT_EQ(segment_of({order_at(testing::kSingaporeAddress)}), "foreign");
  EXPECT_EQ(segment_of({order_at("台湾 台北市 信义区 信义路五段7号")}), "foreign");
  EXPECT_EQ(segment_of({order_at("澳门特别行政区 氹仔 花城大马路 100号")}), "foreign");
}

TEST(Segment, BuyerWithTwoOrdersClosedUnpaidIsAHabitualNonPayer) {
  EXPECT_EQ(segment_of({order_at(testing::kOfficeAddress)}, 2), "habitual_nonpayer");
  EXPECT_EQ(segment_of({order_at(testing::kOfficeAddress)}, 1), "office_worker");
}

TEST(Segment, PlainResidentialAddressIsDefault) {
  EXPECT_EQ(segment_of({order_at(testing::kHomeAddress)}), "default");
  EXPECT_EQ(segment_of({order_at("辽宁省 沈阳市 和平区 南京南街 77号 枫林小区 4栋 702")}), "default");
}

TEST(Segment, TheNewestOrdersAddressDecides) {
  Order old_home = order_at(testing::kHomeAddress);
  Order new_office = order_at(testing::kOfficeAddress);
  new_office.id = "A2";
  new_office.created_at = old_home.created_at + Minutes{30};
  EXPECT_EQ(segment_of({old_home, new_office}), "office_worker");
}

TEST(Segment, ClassifyExplainsWhichWordsDecided) {
  const Order o = order_at(testing::kOfficeAddress);
  const SegmentMatch m = classify(default_rules(), {&o}, 0);
  ASSERT_NE(m.rule, nullptr);
  EXPECT_NE(m.because.find("大厦"), std::string::npos) << m.because;
  const Order big = order_at(testing::kHomeAddress, 399900);
  const SegmentMatch mb = classify(default_rules(), {&big}, 0);
  EXPECT_NE(mb.because.find("3999.00"), std::string::npos) << mb.because;
}

TEST(Segment, TellsMainlandAddressesFromOverseasOnes) {
  EXPECT_FALSE(is_overseas_address(default_rules(), testing::kOfficeAddress));
  EXPECT_FALSE(is_overseas_address(default_rules(), "北京 北京市 朝阳区 望京街道 望京西园三区"));
  EXPECT_FALSE(is_overseas_address(default_rules(), "内蒙古自治区 呼和浩特市 新城区"));
  EXPECT_FALSE(is_overseas_address(default_rules(), "新疆维吾尔自治区 乌鲁木齐市 天山区"));
  EXPECT_FALSE(is_overseas_address(default_rules(), ""));  // unknown counts as domestic
  EXPECT_TRUE(is_overseas_address(default_rules(), testing::kHongKongAddress));
  EXPECT_TRUE(is_overseas_address(default_rules(), "Flat 3B, 132 Nathan Road, Kowloon, Hong Kong"));
  EXPECT_TRUE(is_overseas_address(default_rules(), testing::kSingaporeAddress));
  EXPECT_TRUE(is_overseas_address(default_rules(), "台湾 台北市 信义区"));
  EXPECT_TRUE(is_overseas_address(default_rules(), "1-1 Marunouchi, Chiyoda-ku, Tokyo, Japan"));
}

TEST(Segment, MainlandStreetsNamedAfterHongKongMacauOrTaiwanStayDomestic) {
  // Many mainland cities have a 香港路 / 澳门路 / 台湾路; the province the export starts with decides.
  EXPECT_FALSE(is_overseas_address(default_rules(), "山东省 青岛市 市南区 香港中路 10号 颐和国际大厦"));
  EXPECT_FALSE(is_overseas_address(default_rules(), "上海 上海市 普陀区 澳门路 168号"));
  EXPECT_FALSE(is_overseas_address(default_rules(), "湖北省 武汉市 江岸区 香港路 58号"));
  EXPECT_FALSE(is_overseas_address(default_rules(), "福建省 厦门市 思明区 台湾街 12号"));
  EXPECT_EQ(segment_of({order_at("山东省 青岛市 市南区 香港中路 10号 颐和国际大厦")}), "office_worker");
}

TEST(Segment, HoldoutMembershipIsStableForABuyer) {
  Rules rules = default_rules();
  rules.holdout_percent = 10;
  for (const char* buyer : {"tb_xiaoming88", "森林里的鹿", "mike_hk", "小鱼儿~"}) {
    const bool first = in_holdout(rules, buyer);
    for (int i = 0; i < 5; ++i) EXPECT_EQ(in_holdout(rules, buyer), first) << buyer;
  }
  rules.holdout_percent = 0;
  EXPECT_FALSE(in_holdout(rules, "tb_xiaoming88"));
  rules.holdout_percent = 100;
  EXPECT_TRUE(in_holdout(rules, "tb_xiaoming88"));
}

TEST(Segment, HoldoutTakesAboutTheConfiguredShareOfBuyers) {
  Rules rules = default_rules();
  rules.holdout_percent = 10;
  int held = 0;
  const int n = 10000;
  for (int i = 0; i < n; ++i) held += in_holdout(rules, "tb_buyer_" + std::to_string(i));
  EXPECT_GE(held, n * 8 / 100);
  EXPECT_LE(held, n * 12 / 100);
}

TEST(Segment, HoldoutGroupChangesWithTheSalt) {
  Rules a = default_rules();
  a.holdout_percent = 50;
  Rules b = a;
  b.holdout_salt = "another-campaign";
  int differ = 0;
  for (int i = 0; i < 1000; ++i) {
    const std::string buyer = "tb_buyer_" + std::to_string(i);
    differ += in_holdout(a, buyer) != in_holdout(b, buyer);
  }
  EXPECT_GT(differ, 300);
}

// The backtest classifies a buyer at every event of its log and reads its address once, through
// AddressReadings: the segment and the words that decided it are those of a fresh reading.
TEST(Segment, ClassifyingThroughAddressReadingsGivesTheSameSegmentAndWords) {
  const Rules& rules = default_rules();
  const auto orders = testing::generated_orders(600, at("2026-11-23 21:00"));
  AddressReadings readings(rules);
  std::map<std::string, int> segments;
  for (const auto& o : orders) {
    const std::vector<const Order*> one{&o};
    const SegmentMatch fresh = classify(rules, one, 0);
    for (int again = 0; again < 2; ++again) {
      const SegmentMatch kept = classify(rules, one, 0, &readings);
      ASSERT_EQ(fresh.rule, kept.rule) << o.address;
      EXPECT_EQ(fresh.because, kept.because) << o.address;
    }
    if (fresh.rule) ++segments[fresh.rule->name];
    readings.clear();
  }
  EXPECT_GE(segments.size(), 4u) << "the generated orders reach several segments";
  // One buyer's two addresses are read once each and kept apart.
  const AddressReading& office = readings.read("上海市浦东新区世纪大道100号环球金融中心45层");
  const AddressReading& campus = readings.read("北京市海淀区中关村大街59号中国人民大学东区宿舍3号楼");
  EXPECT_EQ(&office, &readings.read("上海市浦东新区世纪大道100号环球金融中心45层"));
  EXPECT_EQ(office.occupation.occupation,
            read_address(rules, "上海市浦东新区世纪大道100号环球金融中心45层").occupation.occupation);
  EXPECT_EQ(campus.occupation.occupation,
            read_address(rules, "北京市海淀区中关村大街59号中国人民大学东区宿舍3号楼").occupation.occupation);
  EXPECT_NE(office.occupation.occupation, campus.occupation.occupation);
}

// classify reads an address's occupation only when a segment asks for it; read first without
// it (a segment before asked where the address is only), an address then read with it is read
// in full, as read_address reads it, with or without why lines.
TEST(Segment, AnAddressReadWithoutItsOccupationFirstIsReadInFullWhenAskedAgain) {
  const Rules& rules = default_rules();
  const auto orders = testing::generated_orders(300, at("2026-11-23 21:00"));
  int occupations = 0;
  for (const bool explain : {true, false}) {
    AddressReadings readings(rules, explain);
    for (const auto& o : orders) {
      const AddressReading full = read_address(rules, o.address, explain);
      const AddressReading& where = readings.read(o.address, false);
      EXPECT_EQ(where.parsed.why, full.parsed.why) << o.address;
      EXPECT_EQ(where.parsed.overseas, full.parsed.overseas) << o.address;
      const AddressReading& all = readings.read(o.address);
      EXPECT_EQ(&all, &where);
      EXPECT_EQ(all.occupation.occupation, full.occupation.occupation) << o.address;
      EXPECT_EQ(all.occupation.scores, full.occupation.scores) << o.address;
      EXPECT_EQ(all.occupation.why, full.occupation.why) << o.address;
      occupations += !full.occupation.occupation.empty();
      // A buyer classified after a segment read the address without its occupation.
      const std::vector<const Order*> one{&o};
      const SegmentMatch kept = classify(rules, one, 0, &readings, explain);
      const SegmentMatch fresh = classify(rules, one, 0, nullptr, explain);
      ASSERT_EQ(kept.rule, fresh.rule) << o.address;
      EXPECT_EQ(kept.because, fresh.because) << o.address;
      readings.clear();
    }
  }
  EXPECT_GT(occupations, 50);
}

}  // namespace
}  // namespace cuifu
