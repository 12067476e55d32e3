#include "scheduler/lowering/lowering_test_harness.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "isa/status_macros.h"
#include "models/model_registry.h"

namespace tsp::scheduler::lowering {

absl::StatusOr<std::unique_ptr<LoweringHarness>> LoweringHarness::Create(const std::string& model,
                                                                         models::NumberFormat format,
                                                                         int tensor_parallel, int64_t context_tokens) {
  std::unique_ptr<LoweringHarness> h(new LoweringHarness());
  h->test_system_ = MakeTestSystem(1);
  ASSIGN_OR_RETURN(h->config_, models::LoadModel(model));
  h->weights_ = models::SyntheticWeights(h->config_, format, 11);
  ASSIGN_OR_RETURN(h->partition_, EvenPartition(h->config_, tensor_parallel, 1, tensor_parallel));
  h->options_.format = format;
  h->options_.weights = &h->weights_;
  h->options_.context_tokens = context_tokens;
  h->ctx_ = std::make_unique<LoweringContext>(h->config_, *h->test_system_.chip, *h->test_system_.system,
                                              *h->test_system_.topology, h->partition_, h->options_, context_tokens);
  h->ranks_.resize(tensor_parallel);
  for (int r = 0; r < tensor_parallel; ++r) {
    ChipResidents& c = h->ranks_[r];
    c.chip = h->partition_.stage_chips[0][r];
    c.rank = r;
    c.stage = 0;
    RETURN_IF_ERROR(AllocateResidents(*h->ctx_, c, h->images_));
  }
  return h;
}

StageGroup LoweringHarness::group() {
  StageGroup group;
  for (ChipResidents& c : ranks_) group.push_back(&c);
  return group;
}

absl::StatusOr<std::vector<Vec>> LoweringHarness::Input(int r, const std::vector<float>& values) {
  return ctx_->FloatVectors(ranks_[r], values, static_cast<int64_t>(values.size()), Side::kWest);
}

absl::Status LoweringHarness::Run() {
  const int64_t predicted = ctx_->system().last_cycle();
  programs_ = ctx_->system().Build();
  const isa::ChipModel& chip = *test_system_.chip;
  for (const auto& [r, token] : tokens_) {
    const float value = static_cast<float>(token);
    uint32_t bits;
    std::memcpy(&bits, &value, sizeof(bits));
    const Vec& slot = ranks_[r].tokens[0];
    for (int p = 0; p < 4; ++p) {
      isa::MemoryImage* image = programs_[ranks_[r].chip].add_memory();
      image->set_slice(chip.slices()[slot.slices[p]].name);
      image->set_address(slot.address);
      image->set_data(std::string(chip.lanes(), static_cast<char>(bits >> (8 * p))));
    }
  }
  pipeline::SystemRunOptions options;
  options.functional = true;
  ASSIGN_OR_RETURN(emulator_, pipeline::SystemEmulator::Create(chip, *test_system_.system, *test_system_.topology,
                                                               programs_, options));
  ASSIGN_OR_RETURN(pipeline::SystemRunResult run, emulator_->Run());
  if (run.last_event_cycle != predicted) {
    return absl::InternalError(absl::StrCat("the scheduler predicted the last event at cycle ", predicted,
                                            "; the emulator ran it at ", run.last_event_cycle));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<float>> LoweringHarness::Read(int r, const std::vector<Vec>& vectors, int64_t count) {
  const isa::ChipModel& chip = *test_system_.chip;
  const int lanes = chip.lanes();
  std::vector<float> out;
  for (const Vec& v : vectors) {
    std::vector<uint32_t> bits(lanes, 0);
    for (int p = 0; p < v.planes(); ++p) {
      ASSIGN_OR_RETURN(std::string plane,
                       emulator_->ReadMemory(ranks_[r].chip, chip.slices()[v.slices[p]].name, v.address, 1));
      for (int lane = 0; lane < lanes; ++lane) {
        bits[lane] |= static_cast<uint32_t>(static_cast<uint8_t>(plane[lane])) << (8 * p);
      }
    }
    for (int lane = 0; lane < lanes && static_cast<int64_t>(out.size()) < count; ++lane) {
      float value;
      std::memcpy(&value, &bits[lane], sizeof(value));
      out.push_back(value);
    }
  }
  if (static_cast<int64_t>(out.size()) < count) {
    return absl::InvalidArgumentError(absl::StrCat(count, " values asked of ", vectors.size(), " vectors"));
  }
  return out;
}

double RelativeError(const std::vector<float>& a, const std::vector<float>& b) {
  double worst = 0.0, scale = 0.0;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) {
    worst = std::max(worst, std::fabs(static_cast<double>(a[i]) - b[i]));
    scale = std::max(scale, std::fabs(static_cast<double>(b[i])));
  }
  if (a.size() != b.size()) return INFINITY;
  return scale == 0.0 ? worst : worst / scale;
}

}  // namespace tsp::scheduler::lowering
