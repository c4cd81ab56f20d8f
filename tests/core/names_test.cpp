// Names as a person would write them: annotations cleaned off the receiver field, compound
// surnames, names with ·, Latin names, and a salutation that never guesses a gender.
#include "core/names.h"

#include <gtest/gtest.h>

namespace cuifu {
namespace {

TEST(Names, CleaningDropsAnnotationsPhoneNumbersAndNotes) {
  EXPECT_EQ(clean_receiver_name("张三（公司前台代收）"), "张三");
  EXPECT_EQ(clean_receiver_name("李四(代收)"), "李四");
  EXPECT_EQ(clean_receiver_name("王五 13812345678"), "王五");
  EXPECT_EQ(clean_receiver_name("王五13812345678"), "王五");
  EXPECT_EQ(clean_receiver_name("赵六/前台"), "赵六");
  EXPECT_EQ(clean_receiver_name("孙七-代收"), "孙七");
  EXPECT_EQ(clean_receiver_name("周八代收"), "周八");
  EXPECT_EQ(clean_receiver_name("【加急】吴九"), "吴九");
  EXPECT_EQ(clean_receiver_name("  郑十　"), "郑十");
  EXPECT_EQ(clean_receiver_name("13812345678"), "");
  EXPECT_EQ(clean_receiver_name("（前台）"), "");
}

TEST(Names, CleaningKeepsLatinNamesAndNamesWithAMiddleDot) {
  EXPECT_EQ(clean_receiver_name("Chan Tai Man"), "Chan Tai Man");
  EXPECT_EQ(clean_receiver_name("Chan  Tai Man (office)"), "Chan Tai Man");
  EXPECT_EQ(clean_receiver_name("阿卜杜拉·买买提"), "阿卜杜拉·买买提");
  EXPECT_EQ(clean_receiver_name("阿卜杜拉•买买提"), "阿卜杜拉·买买提");  // a bullet typed for the dot
}

TEST(Names, CompoundSurnamesAreRecognised) {
  for (const char* s : {"欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "令狐", "慕容", "司徒", "夏侯"}) {
    EXPECT_EQ(chinese_surname(std::string(s) + "明"), s) << s;
  }
  EXPECT_EQ(chinese_surname("欧阳"), "欧");  // a two-character name is surname + given name
  EXPECT_EQ(chinese_surname("王芳"), "王");
  EXPECT_EQ(chinese_surname("阿卜杜拉·买买提"), "");
  EXPECT_EQ(chinese_surname("Chan Tai Man"), "");
}

Order receiver(std::string name, std::string buyer = "tb_buyer") {
  Order o;
  o.receiver_name = std::move(name);
  o.buyer = std::move(buyer);
  return o;
}

TEST(Names, SalutationNeverGuessesAGender) {
  const SegmentRule plain;
  const NameRules none;
  EXPECT_EQ(salutation_for(receiver("王芳"), plain, none), "王芳");
  EXPECT_EQ(salutation_for(receiver("张三（公司前台代收）"), plain, none), "张三");
  EXPECT_EQ(salutation_for(receiver(""), plain, none), "");  // 您好 without a name, not the nickname
  EXPECT_EQ(salutation_for(receiver("13812345678"), plain, none), "");
}

TEST(Names, SalutationUsesSirOrMadamOnlyWhenTheRulesKnowTheGender) {
  const SegmentRule plain;
  NameRules names;
  names.gender["欧阳娜娜"] = Gender::female;
  names.gender["tb_laowang"] = Gender::male;
  EXPECT_EQ(salutation_for(receiver("欧阳娜娜"), plain, names), "欧阳女士");
  EXPECT_EQ(salutation_for(receiver("王建国", "tb_laowang"), plain, names), "王先生");
  EXPECT_EQ(salutation_for(receiver("王建华", "tb_other"), plain, names), "王建华");
  EXPECT_EQ(salutation_for(receiver("李先生"), plain, names), "李先生");  // the buyer's own words
}

TEST(Names, SegmentSuffixFollowsTheSurname) {
  SegmentRule student;
  student.name_suffix = "同学";
  const NameRules none;
  EXPECT_EQ(salutation_for(receiver("欧阳娜娜"), student, none), "欧阳同学");
  EXPECT_EQ(salutation_for(receiver("司马光明"), student, none), "司马同学");
  EXPECT_EQ(salutation_for(receiver("李四(代收)"), student, none), "李同学");
}

TEST(Names, LatinAndDottedNamesAreWrittenInFull) {
  const SegmentRule plain;
  SegmentRule student;
  student.name_suffix = "同学";
  const NameRules none;
  EXPECT_EQ(salutation_for(receiver("Chan Tai Man"), plain, none), "Chan Tai Man");
  EXPECT_EQ(salutation_for(receiver("Chan Tai Man"), student, none), "Chan Tai Man");
  EXPECT_EQ(salutation_for(receiver("阿卜杜拉·买买提"), plain, none), "阿卜杜拉·买买提");
  EXPECT_EQ(salutation_for(receiver("阿卜杜拉·买买提"), student, none), "阿卜杜拉·买买提");
}

}  // namespace
}  // namespace cuifu
