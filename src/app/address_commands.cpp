// `cuifu explain --address "…"`: how the rules read one address and which segment it gets;
// `cuifu segments --eval FILE`: how well they read a labelled set of real addresses.
#include <fmt/format.h>

#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>

#include "app/commands.h"
#include "app/paths.h"
#include "core/address_eval.h"
#include "core/planner.h"
#include "io/rules_loader.h"

namespace cuifu {

namespace {

struct ExplainOptions {
  std::string address;
  std::string rules_dir;
  double amount = 0;
  int closed_unpaid = 0;
};

std::string or_dash(const std::string& s) {
  return s.empty() ? "-" : s;
}

int run_explain(const ExplainOptions& o) {
  const Rules rules = load_rules(o.rules_dir.empty() ? default_dir("rules") : o.rules_dir);
  const AddressReading r = read_address(rules, o.address);
  const ParsedAddress& p = r.parsed;
  std::cout << fmt::format("address:    {}\n", o.address);
  std::cout << fmt::format("province:   {}\ncity:       {}\ncounty:     {}\nrest:       {}\n", or_dash(p.province),
                           or_dash(p.city), or_dash(p.county), or_dash(p.rest));
  std::cout << fmt::format("overseas:   {}{}\n", p.overseas ? "yes, " : "no", p.overseas ? p.outside : "");
  std::cout << "  because   " << p.why_text() << "\n";
  if (!p.overseas) {
    std::cout << fmt::format("occupation: {}\n", or_dash(r.occupation.occupation));
    for (const auto& w : r.occupation.why) std::cout << "  " << w << "\n";
  }
  Order order;
  order.id = "explain";
  order.buyer = "explain";
  order.address = o.address;
  order.amount = static_cast<Money>(o.amount * 100 + 0.5);
  const SegmentMatch m = classify(rules, {&order}, o.closed_unpaid);
  if (m.rule) {
    std::cout << fmt::format("segment:    {} ({}) for an order of {} yuan, {} earlier orders closed unpaid\n",
                             m.rule->name, m.rule->source.str(), format_money(order.amount), o.closed_unpaid);
    std::cout << "  because   " << m.because << "\n";
  } else {
    std::cout << "segment:    none matches\n";
  }
  return kExitOk;
}

struct EvalOptions {
  std::string file;
  std::string rules_dir;
  bool misses = false;
};

int run_eval(const EvalOptions& o) {
  const Rules rules = load_rules(o.rules_dir.empty() ? default_dir("rules") : o.rules_dir);
  std::ifstream in(o.file, std::ios::binary);
  if (!in) throw std::runtime_error(fmt::format("{}: cannot read", o.file));
  std::stringstream ss;
  ss << in.rdbuf();
  std::vector<std::string> errors;
  const auto set = parse_labelled_addresses(ss.str(), o.file, errors);
  for (const auto& e : errors) std::cerr << e << "\n";
  const AddressEval e = evaluate_addresses(rules, set);
  std::cout << fmt::format("{}: {} labelled addresses\n\n", o.file, set.size()) << e.table();
  if (o.misses) {
    std::cout << "\nmisread (line, true -> predicted, address):\n";
    for (const auto& [a, predicted] : e.misses) {
      std::cout << fmt::format("{}:{}\t{} -> {}\t{}\n", o.file, a->line, a->label, predicted, a->address);
    }
  }
  return errors.empty() ? kExitOk : kExitInput;
}

}  // namespace

void add_address_commands(CLI::App& app, CommandAction& action) {
  auto e = std::make_shared<ExplainOptions>();
  auto* explain = app.add_subcommand("explain", "Show how an address is read and which segment it gets, and why");
  explain->add_option("--address", e->address, "The shipping address (收货地址)")->required();
  explain->add_option("--rules", e->rules_dir, "Rules directory (default: ./rules)");
  explain->add_option("--amount", e->amount, "Order amount in yuan, for amount-based segments (default 0)");
  explain->add_option("--closed-unpaid", e->closed_unpaid, "Earlier orders of the buyer that closed unpaid");
  explain->callback([e, &action] { action = [e] { return run_explain(*e); }; });

  auto v = std::make_shared<EvalOptions>();
  auto* segments = app.add_subcommand("segments", "Measure how the rules read addresses");
  segments
      ->add_option("--eval", v->file, "Tab-separated label<TAB>address file (labels: student, office, home, overseas)")
      ->required();
  segments->add_option("--rules", v->rules_dir, "Rules directory (default: ./rules)");
  segments->add_flag("--misses", v->misses, "Also list every address read as the wrong class");
  segments->callback([v, &action] { action = [v] { return run_eval(*v); }; });
}

}  // namespace cuifu
