#ifndef TSP_SCHEDULER_LOWERING_LOWERING_TEST_HARNESS_H_
#define TSP_SCHEDULER_LOWERING_LOWERING_TEST_HARNESS_H_

// For the lowerings' tests: a tiny model's one stage on `tensor_parallel`
// chips of one node, its residents allocated with synthetic weights (seed
// 11), so a test lowers an operator on given vectors, runs the programs on
// the system emulator with data (predicted == emulated checked) and reads the
// results back, to compare with the reference arithmetic (models/).

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "models/model_config.pb.h"
#include "models/reference_decoder.h"
#include "pipeline/system_emulator.h"
#include "scheduler/decoder_partition.h"
#include "scheduler/lowering/chip_residents.h"
#include "scheduler/lowering/lowering_context.h"
#include "scheduler/lowering/weight_allocation.h"
#include "scheduler/test_system.h"

namespace tsp::scheduler::lowering {

class LoweringHarness {
 public:
  // `model`: a built-in model's name. Errors as DecoderCompiler::Create would.
  static absl::StatusOr<std::unique_ptr<LoweringHarness>> Create(const std::string& model, models::NumberFormat format,
                                                                 int tensor_parallel, int64_t context_tokens = 24);

  LoweringContext& ctx() { return *ctx_; }
  const models::ModelConfig& config() const { return config_; }
  const models::ModelWeights& weights() const { return weights_; }
  int lanes() const { return test_system_.chip->lanes(); }
  ChipResidents& rank(int r) { return ranks_[r]; }
  StageGroup group();

  // `values` (zero-padded to whole vectors) as fp32 constants on rank r's chip.
  absl::StatusOr<std::vector<Vec>> Input(int r, const std::vector<float>& values);
  // The token rank r's chip finds in its token slot when the run starts.
  void SetToken(int r, int64_t token) { tokens_[r] = token; }

  // Builds every chip's program, runs it, and checks the emulated last event
  // cycle against the scheduler's prediction. Call once.
  absl::Status Run();
  // The first `count` fp32 lanes of `vectors` on rank r's chip after Run.
  absl::StatusOr<std::vector<float>> Read(int r, const std::vector<Vec>& vectors, int64_t count);

 private:
  LoweringHarness() = default;

  TestSystem test_system_;
  models::ModelConfig config_;
  models::ModelWeights weights_;
  DecoderPartition partition_;
  DecoderOptions options_;
  std::unique_ptr<LoweringContext> ctx_;
  WeightImages images_;
  std::vector<ChipResidents> ranks_;
  std::map<int, int64_t> tokens_;
  isa::ChipPrograms programs_;
  std::unique_ptr<pipeline::SystemEmulator> emulator_;
};

// Largest |a - b| relative to the largest |b| (0 when b is all zeros and a
// equals it).
double RelativeError(const std::vector<float>& a, const std::vector<float>& b);

}  // namespace tsp::scheduler::lowering

#endif  // TSP_SCHEDULER_LOWERING_LOWERING_TEST_HARNESS_H_
