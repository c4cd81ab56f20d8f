// A feed snapshot's orders: read like a std::vector<Order> (size, [], iteration), held in
// immutable chunks that snapshots share. A parse with the memo of the last export (FeedMemo)
// points at the unchanged orders of the snapshot before it instead of copying them: a
// 1M-order export in which 1 % changed copies ~10,000 orders, not a million, and dropping the
// snapshot before frees only what changed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <iterator>
#include <memory>
#include <string_view>
#include <utility>
#include <vector>

#include "core/order.h"

namespace cuifu {

class OrderList {
 public:
  using Chunk = std::vector<Order>;
  // Order id -> index: open addressing over (std::hash of the id, index + 1) slots, index 0 free,
  // a power of two in size and at most half full (the table a parse finds repeated ids with).
  using IdTable = std::vector<std::pair<std::uint64_t, std::uint32_t>>;

  OrderList() = default;
  // The orders, held by this list alone (implicit: `snapshot.orders = {...}`).
  OrderList(std::vector<Order> orders) { adopt(std::move(orders)); }  // NOLINT(google-explicit-constructor)
  OrderList(std::initializer_list<Order> orders) : OrderList(std::vector<Order>(orders)) {}

  std::size_t size() const { return at_.size(); }
  bool empty() const { return at_.empty(); }
  const Order& operator[](std::size_t i) const { return *at_[i]; }
  const Order& front() const { return *at_.front(); }
  const Order& back() const { return *at_.back(); }

  // The order with this id (the first, were there several), or nullptr. Through the id table the
  // parse made (or one made with the list): no tree of a million ids for the send gate.
  const Order* find(std::string_view id) const {
    if (!ids_ || ids_->empty()) return nullptr;
    const IdTable& slots = *ids_;
    const std::uint64_t hash = std::hash<std::string_view>{}(id);
    const std::size_t mask = slots.size() - 1;
    for (std::size_t i = hash & mask;; i = (i + 1) & mask) {
      const auto& [h, row] = slots[i];
      if (row == 0) return nullptr;
      if (h == hash && at_[row - 1]->id == id) return at_[row - 1];
    }
  }

  // Calls f(index) for each order of the id table whose id hashes (std::hash) to `hash`: every
  // order with such an id (the first, were there several) and perhaps others (a collision).
  template <class F>
  void each_with_hash(std::uint64_t hash, F&& f) const {
    if (!ids_ || ids_->empty()) return;
    const IdTable& slots = *ids_;
    const std::size_t mask = slots.size() - 1;
    for (std::size_t i = hash & mask;; i = (i + 1) & mask) {
      const auto& [h, row] = slots[i];
      if (row == 0) return;
      if (h == hash) f(static_cast<std::size_t>(row - 1));
    }
  }
  class const_iterator {
   public:
    using iterator_category = std::random_access_iterator_tag;
    using value_type = Order;
    using difference_type = std::ptrdiff_t;
    using pointer = const Order*;
    using reference = const Order&;
    const_iterator() = default;
    explicit const_iterator(std::vector<const Order*>::const_iterator it) : it_(it) {}
    reference operator*() const { return **it_; }
    pointer operator->() const { return *it_; }
    reference operator[](difference_type n) const { return *it_[n]; }
    const_iterator& operator++() { return ++it_, *this; }
    const_iterator operator++(int) { return const_iterator(it_++); }
    const_iterator& operator--() { return --it_, *this; }
    const_iterator operator--(int) { return const_iterator(it_--); }
    const_iterator& operator+=(difference_type n) { return it_ += n, *this; }
    const_iterator& operator-=(difference_type n) { return it_ -= n, *this; }
    friend const_iterator operator+(const_iterator a, difference_type n) { return a += n; }
    friend const_iterator operator+(difference_type n, const_iterator a) { return a += n; }
    friend const_iterator operator-(const_iterator a, difference_type n) { return a -= n; }
    friend difference_type operator-(const const_iterator& a, const const_iterator& b) { return a.it_ - b.it_; }
    friend bool operator==(const const_iterator& a, const const_iterator& b) { return a.it_ == b.it_; }
    friend auto operator<=>(const const_iterator& a, const const_iterator& b) { return a.it_ <=> b.it_; }

   private:
    std::vector<const Order*>::const_iterator it_;
  };
  using iterator = const_iterator;
  const_iterator begin() const { return const_iterator(at_.begin()); }
  const_iterator end() const { return const_iterator(at_.end()); }

  // The orders as a vector: a copy, or (an rvalue list that alone holds its orders, in their
  // order, as a parse without memo leaves them) the orders themselves, moved.
  std::vector<Order> to_vector() const& { return std::vector<Order>(begin(), end()); }
  std::vector<Order> to_vector() && {
    if (adopted_ && chunks_.size() == 1 && chunks_[0].use_count() == 1) {
      // The chunk was made non-const (adopt/Builder) and no other list holds it.
      auto& orders = const_cast<Chunk&>(*chunks_[0]);
      std::vector<Order> out = std::move(orders);
      *this = OrderList();
      return out;
    }
    return static_cast<const OrderList&>(*this).to_vector();
  }

  // Orders held by the chunks this list keeps alive (some perhaps no longer in it); at most about
  // twice size(): see Builder.
  std::size_t held() const { return held_; }
  // True when the i-th orders of this list and `other` are the same object (shared, not copied).
  bool shares(std::size_t i, const OrderList& other, std::size_t j) const { return at_[i] == other.at_[j]; }

  // Makes a list from orders built anew (`own`) and orders of `base` shared. Entries are added
  // in the list's order; an entry refers to an own order by its index in `own` or to a base
  // order by its index in `base`. Own orders may be changed until finish().
  class Builder {
   public:
    explicit Builder(const OrderList* base = nullptr) : base_(base) {}
    void reserve(std::size_t n) { own_.reserve(n); }
    // The memory reserved for own orders, to have its pages made present at once.
    std::pair<void*, std::size_t> reserved() { return {own_.data(), own_.capacity() * sizeof(Order)}; }
    std::size_t size() const { return entries_.size(); }
    // The index of the new entry.
    std::uint32_t add(Order order) {
      own_.push_back(std::move(order));
      entries_.push_back(Entry{nullptr, static_cast<std::uint32_t>(own_.size() - 1)});
      return static_cast<std::uint32_t>(entries_.size() - 1);
    }
    std::uint32_t add_shared(std::uint32_t base_index) {
      entries_.push_back(Entry{base_->at_[base_index], 0});
      return static_cast<std::uint32_t>(entries_.size() - 1);
    }
    const Order& operator[](std::size_t i) const {
      const Entry& e = entries_[i];
      return e.shared ? *e.shared : own_[e.own];
    }
    bool shared(std::size_t i) const { return entries_[i].shared != nullptr; }
    // Entry i, made an own order first if it was shared (a copy), for changing it.
    Order& edit(std::size_t i) {
      Entry& e = entries_[i];
      if (e.shared) {
        own_.push_back(*e.shared);
        e = Entry{nullptr, static_cast<std::uint32_t>(own_.size() - 1)};
      }
      return own_[e.own];
    }
    // Replaces entry i with an own order.
    void replace(std::size_t i, Order order) {
      Entry& e = entries_[i];
      if (e.shared) {
        own_.push_back(std::move(order));
        e = Entry{nullptr, static_cast<std::uint32_t>(own_.size() - 1)};
      } else {
        own_[e.own] = std::move(order);
      }
    }
    // The list. When the chunks it would keep alive hold more than twice its orders (orders
    // of older snapshots no longer in it), the shared orders are copied into one chunk, so
    // that memory stays within twice what the list shows, as when two snapshots held copies.
    // `ids`: the entries' id table (IdTable), or empty (then made here).
    OrderList finish(IdTable ids = {}) && {
      OrderList out;
      std::size_t inherited = 0;
      for (const Entry& e : entries_) inherited += e.shared != nullptr;
      const bool compact = base_ && inherited > 0 && base_->held_ + own_.size() > 2 * entries_.size() + 1024;
      if (compact) {
        std::vector<Order> all;
        all.reserve(entries_.size());
        for (std::size_t i = 0; i < entries_.size(); ++i) all.push_back((*this)[i]);
        out.adopt(std::move(all), std::move(ids));
        return out;
      }
      if (inherited == 0) {
        // Own orders only, in the list's order: one chunk in that order (to_vector() moves it).
        bool in_order = own_.size() == entries_.size();
        for (std::size_t i = 0; in_order && i < entries_.size(); ++i) in_order = entries_[i].own == i;
        if (in_order) {
          out.adopt(std::move(own_), std::move(ids));
          return out;
        }
      }
      if (own_.capacity() > own_.size() * 2 + 64) own_.shrink_to_fit();  // reserved for a whole export
      auto chunk = std::make_shared<Chunk>(std::move(own_));
      out.at_.reserve(entries_.size());
      for (const Entry& e : entries_) out.at_.push_back(e.shared ? e.shared : &(*chunk)[e.own]);
      if (inherited > 0) {
        out.chunks_ = base_->chunks_;
        out.held_ = base_->held_;
      }
      if (!chunk->empty()) {
        out.held_ += chunk->size();
        out.chunks_.push_back(std::move(chunk));
      }
      out.index(std::move(ids));
      return out;
    }

   private:
    struct Entry {
      const Order* shared;  // a base order, or nullptr: own_[own]
      std::uint32_t own;
    };
    const OrderList* base_;
    std::vector<Order> own_;
    std::vector<Entry> entries_;
  };

 private:
  void adopt(std::vector<Order> orders, IdTable ids = {}) {
    at_.clear();
    chunks_.clear();
    ids_.reset();
    held_ = orders.size();
    adopted_ = !orders.empty();
    if (orders.empty()) return;
    auto chunk = std::make_shared<Chunk>(std::move(orders));
    at_.reserve(chunk->size());
    for (const Order& o : *chunk) at_.push_back(&o);
    chunks_.push_back(std::move(chunk));
    index(std::move(ids));
  }
  // Sets the id table: `ids`, or (empty) one made here.
  void index(IdTable ids) {
    if (ids.empty() && !at_.empty()) {
      std::size_t capacity = 16;
      while (capacity < at_.size() * 2) capacity *= 2;
      ids.assign(capacity, {});
      const std::size_t mask = capacity - 1;
      for (std::size_t k = 0; k < at_.size(); ++k) {
        const std::uint64_t hash = std::hash<std::string_view>{}(at_[k]->id);
        std::size_t i = hash & mask;
        bool seen = false;  // the first of an id is found
        for (; ids[i].second != 0; i = (i + 1) & mask) {
          if (ids[i].first == hash && at_[ids[i].second - 1]->id == at_[k]->id) {
            seen = true;
            break;
          }
        }
        if (!seen) ids[i] = {hash, static_cast<std::uint32_t>(k + 1)};
      }
    }
    ids_ = std::make_shared<const IdTable>(std::move(ids));
  }

  std::vector<const Order*> at_;
  // What at_ points into: the chunks of the snapshots it shares orders with, and its own.
  std::vector<std::shared_ptr<const Chunk>> chunks_;
  std::shared_ptr<const IdTable> ids_;  // find()
  std::size_t held_ = 0;
  bool adopted_ = false;  // at_ is chunks_[0] in its order (adopt())
};

}  // namespace cuifu
