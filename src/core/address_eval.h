// Measuring how well the rules read addresses: a labelled set of real addresses in, per-class
// precision / recall and the confusion matrix out. Used by `cuifu segments --eval` and by
// the regression test on data/eval/.
#pragma once

#include <array>
#include <string>
#include <string_view>
#include <vector>

#include "core/rules.h"

namespace cuifu {

// The classes an address is labelled with (and predicted as). `home` is every mainland
// address that reads as neither office nor student.
inline constexpr std::array<std::string_view, 4> kAddressClasses = {"student", "office", "home", "overseas"};

struct LabelledAddress {
  std::string label;  // one of kAddressClasses
  std::string address;
  int line = 0;  // in the file it came from
};

// Tab-separated `label<TAB>address[<TAB>anything]`, '#' lines and a `label` header skipped.
// Bad rows are reported as "file:line: ..." in `errors` and left out.
std::vector<LabelledAddress> parse_labelled_addresses(std::string_view text, const std::string& file,
                                                      std::vector<std::string>& errors);

// The class the rules give an address (overseas, else the occupation, else home).
std::string predicted_class(const Rules& rules, std::string_view address);

struct AddressEval {
  // confusion[true][predicted], indexes into kAddressClasses.
  std::array<std::array<int, 4>, 4> confusion{};
  std::vector<std::pair<const LabelledAddress*, std::string>> misses;  // address, predicted class
  int total(std::size_t true_class) const;
  int predicted(std::size_t c) const;     // addresses predicted as c
  double recall(std::size_t c) const;     // 0..1; 1 when the class is empty
  double precision(std::size_t c) const;  // 0..1; 1 when nothing was predicted as c
  // Home addresses predicted as neither student nor office.
  double home_kept_apart() const;
  // The printed report; a figure with nothing to measure (no address of the class, none
  // predicted as it) is printed as "—", not as 0 % or 100 %.
  std::string table() const;
};

AddressEval evaluate_addresses(const Rules& rules, const std::vector<LabelledAddress>& set);

}  // namespace cuifu
