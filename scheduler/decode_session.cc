#include "scheduler/decode_session.h"

#include <algorithm>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "isa/status_macros.h"

namespace tsp::scheduler {

DecodeSession::DecodeSession(const DecoderCompiler& compiler, const isa::ChipModel& chip,
                             const pipeline::SystemModel& system, const pipeline::Topology& topology,
                             pipeline::SystemRunOptions options)
    : compiler_(compiler), chip_(chip), system_(system), topology_(topology), options_(options) {}

absl::Status DecodeSession::StartAt(int64_t position, const lowering::StoredKv& stored) {
  if (position_ != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("the session is at position ", position_, ": start it at another position before its first step"));
  }
  if (!options_.functional) {
    return absl::FailedPreconditionError(
        "a timing-only session carries no values, so starting it with filled caches does not apply: run it "
        "functionally or step it from position 0");
  }
  if (position <= 0 || position >= compiler_.context_tokens()) {
    return absl::OutOfRangeError(absl::StrCat("cannot start at position ", position, " of a ",
                                              compiler_.context_tokens(), "-token context: give 1 to ",
                                              compiler_.context_tokens() - 1));
  }
  ASSIGN_OR_RETURN(auto images, compiler_.KvCacheImages(position, stored));
  for (auto& [chip, chip_images] : images) {
    for (SramImage& image : chip_images) carried_[{chip, image.slice, image.address}] = std::move(image.bytes);
  }
  position_ = position;
  return absl::OkStatus();
}

absl::StatusOr<StepRun> RunCompiledStep(CompiledStep& step, const std::vector<int64_t>& host_tokens,
                                        const isa::ChipModel& chip, const pipeline::SystemModel& system,
                                        const pipeline::Topology& topology, const pipeline::SystemRunOptions& options,
                                        CarriedSram& carried) {
  const int lanes = chip.lanes();
  for (const auto& [key, bytes] : carried) {
    const auto& [id, slice, address] = key;
    isa::MemoryImage* image = step.programs[id].add_memory();
    image->set_slice(chip.slices()[slice].name);
    image->set_address(address);
    image->set_data(bytes);
  }
  if (options.functional) {
    for (const TokenSlot& token : step.token_slots) {
      if (token.member >= static_cast<int>(host_tokens.size()) || host_tokens[token.member] < 0) continue;
      const float value = static_cast<float>(host_tokens[token.member]);
      uint32_t bits;
      std::memcpy(&bits, &value, sizeof(bits));
      for (int p = 0; p < 4; ++p) {
        isa::MemoryImage* image = step.programs[token.chip].add_memory();
        image->set_slice(chip.slices()[token.slot.slices[p]].name);
        image->set_address(token.slot.address);
        image->set_data(std::string(lanes, static_cast<char>(bits >> (8 * p))));
      }
    }
  }
  ASSIGN_OR_RETURN(std::unique_ptr<pipeline::SystemEmulator> emulator,
                   pipeline::SystemEmulator::Create(chip, system, topology, step.programs, options));
  ASSIGN_OR_RETURN(pipeline::SystemRunResult run, emulator->Run());
  StepRun result;
  result.emulated_last_cycle = run.last_event_cycle;
  result.emulated_completion_cycle = run.completion_cycle;
  result.instructions_issued = run.instructions_issued;
  if (!options.functional) return result;
  carried.clear();
  for (const MemoryRegion& region : step.persistent) {
    ASSIGN_OR_RETURN(std::string bytes, emulator->ReadMemory(region.chip, chip.slices()[region.slice].name,
                                                             region.address, region.vectors));
    carried[{region.chip, region.slice, region.address}] = std::move(bytes);
  }
  auto read_float = [&](int id, const Vec& v) -> absl::StatusOr<std::vector<float>> {
    std::vector<uint32_t> bits(lanes, 0);
    for (int p = 0; p < v.planes(); ++p) {
      ASSIGN_OR_RETURN(std::string plane, emulator->ReadMemory(id, chip.slices()[v.slices[p]].name, v.address, 1));
      for (int lane = 0; lane < lanes; ++lane) {
        bits[lane] |= static_cast<uint32_t>(static_cast<uint8_t>(plane[lane])) << (8 * p);
      }
    }
    std::vector<float> values(lanes);
    std::memcpy(values.data(), bits.data(), sizeof(float) * lanes);
    return values;
  };
  int members = 0;
  for (const TokenSlot& token : step.token_slots) members = std::max(members, token.member + 1);
  result.logits.resize(members);
  result.next_tokens.assign(members, -1);
  for (const LogitsShard& shard : step.logits) {
    std::vector<float>& logits = result.logits[shard.member];
    if (logits.size() < static_cast<size_t>(shard.first_token + shard.tokens)) {
      logits.resize(shard.first_token + shard.tokens);
    }
    for (size_t k = 0; k < shard.vectors.size(); ++k) {
      ASSIGN_OR_RETURN(std::vector<float> values, read_float(shard.chip, shard.vectors[k]));
      for (int i = 0; i < lanes; ++i) {
        const int64_t token = static_cast<int64_t>(k) * lanes + i;
        if (token < shard.tokens) logits[shard.first_token + token] = values[i];
      }
    }
  }
  for (const TokenSlot& token : step.token_slots) {  // Every chip of a member's stage 0 holds the same token.
    if (result.next_tokens[token.member] >= 0) continue;
    ASSIGN_OR_RETURN(std::vector<float> value, read_float(token.chip, token.slot));
    result.next_tokens[token.member] = static_cast<int64_t>(value[0]);
  }
  return result;
}

absl::StatusOr<StepResult> DecodeSession::Step(int64_t host_token) {
  if (host_token < 0 && !token_in_slot_) {
    return absl::FailedPreconditionError("the first step needs a token from the host");
  }
  const absl::Time start = absl::Now();
  ASSIGN_OR_RETURN(CompiledStep step, compiler_.CompileStep(position_));
  const absl::Time compiled = absl::Now();
  ASSIGN_OR_RETURN(StepRun run, RunCompiledStep(step, {host_token}, chip_, system_, topology_, options_, carried_));
  StepResult result;
  result.compile_seconds = absl::ToDoubleSeconds(compiled - start);
  result.emulate_seconds = absl::ToDoubleSeconds(absl::Now() - compiled);
  result.position = position_;
  result.predicted_last_cycle = step.predicted_last_cycle;
  result.emulated_last_cycle = run.emulated_last_cycle;
  result.emulated_completion_cycle = run.emulated_completion_cycle;
  result.instructions_issued = run.instructions_issued;
  if (options_.functional) {
    result.logits = std::move(run.logits[0]);
    result.next_token = run.next_tokens[0];
  }
  ++position_;
  token_in_slot_ = true;
  return result;
}

}  // namespace tsp::scheduler
