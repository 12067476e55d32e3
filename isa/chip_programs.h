#ifndef TSP_ISA_CHIP_PROGRAMS_H_
#define TSP_ISA_CHIP_PROGRAMS_H_

// The programs of many chips, by chip id, all on one protobuf arena. A stage
// of a 70B model is millions of instructions; made, decoded and freed as
// separate heap objects they cost a fifth of compiling and emulating it, on
// an arena they are packed together and freed at once. Iterates in chip order
// as (id, program) pairs; move-only.

#include <map>
#include <memory>
#include <utility>

#include "google/protobuf/arena.h"
#include "isa/program.pb.h"

namespace tsp::isa {

class ChipPrograms {
 public:
  ChipPrograms() : arena_(std::make_unique<google::protobuf::Arena>()) {}
  ChipPrograms(ChipPrograms&&) = default;
  ChipPrograms& operator=(ChipPrograms&&) = default;

  // Messages made here and added to these programs are not copied.
  google::protobuf::Arena* arena() {
    if (arena_ == nullptr) arena_ = std::make_unique<google::protobuf::Arena>();  // Moved from.
    return arena_.get();
  }

  // The program of `chip`, empty when first asked for.
  Program& operator[](int chip) {
    Program*& program = programs_[chip];
    if (program == nullptr) program = google::protobuf::Arena::CreateMessage<Program>(arena());
    return *program;
  }
  const Program& at(int chip) const { return *programs_.at(chip); }
  bool contains(int chip) const { return programs_.count(chip) != 0; }
  size_t size() const { return programs_.size(); }
  bool empty() const { return programs_.empty(); }
  // Forgets every program (their memory stays on the arena until it goes).
  void clear() { programs_.clear(); }

  template <typename P>  // Program or const Program.
  class Iterator {
   public:
    using Inner = std::map<int, Program*>::const_iterator;
    explicit Iterator(Inner inner) : inner_(inner) {}
    std::pair<int, P&> operator*() const { return {inner_->first, *inner_->second}; }
    Iterator& operator++() {
      ++inner_;
      return *this;
    }
    bool operator==(const Iterator& other) const { return inner_ == other.inner_; }
    bool operator!=(const Iterator& other) const { return inner_ != other.inner_; }

   private:
    Inner inner_;
  };
  Iterator<const Program> begin() const { return Iterator<const Program>(programs_.begin()); }
  Iterator<const Program> end() const { return Iterator<const Program>(programs_.end()); }
  Iterator<Program> begin() { return Iterator<Program>(programs_.cbegin()); }
  Iterator<Program> end() { return Iterator<Program>(programs_.cend()); }

 private:
  std::unique_ptr<google::protobuf::Arena> arena_;
  std::map<int, Program*> programs_;  // On the arena.
};

}  // namespace tsp::isa

#endif  // TSP_ISA_CHIP_PROGRAMS_H_
