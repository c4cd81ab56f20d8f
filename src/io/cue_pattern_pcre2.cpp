#include "io/cue_pattern_pcre2.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <fmt/format.h>
#include <pcre2.h>

#include <optional>
#include <utility>

namespace cuifu {

namespace {

struct CodeFree {
  void operator()(pcre2_code* c) const { pcre2_code_free(c); }
};
struct MatchContextFree {
  void operator()(pcre2_match_context* c) const { pcre2_match_context_free(c); }
};
struct CompileContextFree {
  void operator()(pcre2_compile_context* c) const { pcre2_compile_context_free(c); }
};
struct MatchDataFree {
  void operator()(pcre2_match_data* d) const { pcre2_match_data_free(d); }
};

// One match-data block per thread, reused by every search (only the whole match is read, so
// one pair of offsets is enough whatever groups a pattern has).
pcre2_match_data* thread_match_data() {
  thread_local const std::unique_ptr<pcre2_match_data, MatchDataFree> data(pcre2_match_data_create(1, nullptr));
  return data.get();
}

class Pcre2Pattern final : public CuePattern {
 public:
  Pcre2Pattern(std::unique_ptr<pcre2_code, CodeFree> code, std::unique_ptr<pcre2_match_context, MatchContextFree> ctx,
               bool jit)
      : code_(std::move(code)), ctx_(std::move(ctx)), jit_(jit) {}

  std::optional<std::pair<std::size_t, std::size_t>> search(std::string_view text) const override {
    pcre2_match_data* data = thread_match_data();
    if (!data) return std::nullopt;
    // rc 0: matched, with too few offset pairs for the groups; the whole match is still there.
    // pcre2_match would run the same JIT code, after checks that cost as much as a short search.
    const auto subject = reinterpret_cast<PCRE2_SPTR>(text.data());
    const int rc = jit_ ? pcre2_jit_match(code_.get(), subject, text.size(), 0, 0, data, ctx_.get())
                        : pcre2_match(code_.get(), subject, text.size(), 0, 0, data, ctx_.get());
    if (rc < 0) return std::nullopt;  // no match, or a limit reached
    const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(data);
    return std::make_pair(static_cast<std::size_t>(ov[0]), static_cast<std::size_t>(ov[1]));
  }

 private:
  std::unique_ptr<pcre2_code, CodeFree> code_;
  std::unique_ptr<pcre2_match_context, MatchContextFree> ctx_;  // shared read-only by all threads
  bool jit_;                                                    // compiled to machine code
};

}  // namespace

std::shared_ptr<const CuePattern> compile_pcre2_pattern(const std::string& pattern, std::string* error) {
  const std::unique_ptr<pcre2_compile_context, CompileContextFree> cctx(pcre2_compile_context_create(nullptr));
  if (!cctx) {
    if (error) *error = "out of memory";
    return nullptr;
  }
  // ECMAScript's `.` stops at CR and LF both.
  pcre2_set_newline(cctx.get(), PCRE2_NEWLINE_ANYCRLF);
  int code = 0;
  PCRE2_SIZE offset = 0;
  std::unique_ptr<pcre2_code, CodeFree> re(pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                                                         PCRE2_DOLLAR_ENDONLY, &code, &offset, cctx.get()));
  if (!re) {
    if (error) {
      PCRE2_UCHAR buf[256];
      pcre2_get_error_message(code, buf, sizeof buf);
      *error = fmt::format("not a valid pattern at byte {}: {}", offset, reinterpret_cast<const char*>(buf));
    }
    return nullptr;
  }
  // Without JIT support (some architectures) the interpreter gives the same matches.
  const bool jit = pcre2_jit_compile(re.get(), PCRE2_JIT_COMPLETE) == 0;
  std::unique_ptr<pcre2_match_context, MatchContextFree> mctx(pcre2_match_context_create(nullptr));
  if (!mctx) {
    if (error) *error = "out of memory";
    return nullptr;
  }
  pcre2_set_match_limit(mctx.get(), kCuePatternMatchLimit);
  pcre2_set_depth_limit(mctx.get(), kCuePatternMatchLimit);
  return std::make_shared<const Pcre2Pattern>(std::move(re), std::move(mctx), jit);
}

}  // namespace cuifu
