// A real SqliteStore in a fresh temporary directory, removed afterwards (tests of the
// daemon's parts).
#pragma once

#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>

#include "io/store.h"

namespace cuifu::testing {

class TempStore {
 public:
  explicit TempStore(const std::string& name)
      : dir_(std::filesystem::temp_directory_path() /
             ("cuifu-" + name + "-" + std::to_string(::getpid()) + "-" + std::to_string(counter()++))) {
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    store_ = std::make_unique<SqliteStore>((dir_ / "state.db").string(), ShopZone("Asia/Shanghai"));
  }
  ~TempStore() {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  SqliteStore& operator*() { return *store_; }
  SqliteStore* operator->() { return store_.get(); }

 private:
  static int& counter() {
    static int n = 0;
    return n;
  }
  std::filesystem::path dir_;
  std::unique_ptr<SqliteStore> store_;
};

// A planned reminder for `buyer`'s order `order` at `send_at` on `channel`.
inline PlannedReminder planned(LocalTime send_at, std::string buyer, std::string order, Channel channel, int step = 1) {
  PlannedReminder r;
  r.send_at = send_at;
  r.buyer = std::move(buyer);
  r.order_ids = {std::move(order)};
  r.segment = "everyone";
  r.channel = channel;
  r.step = step;
  r.template_name = "t";
  r.message = "您好，订单还未付款";
  r.contact = channel == Channel::email ? "a@example.com" : "13812341234";
  return r;
}

}  // namespace cuifu::testing
