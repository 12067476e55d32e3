#ifndef TSP_SCHEDULER_LOWERING_LOWERING_CONTEXT_H_
#define TSP_SCHEDULER_LOWERING_LOWERING_CONTEXT_H_

// What every operator's lowering shares: the model, the partition and the
// options being compiled, the system scheduler the instructions go to, the
// model's shape per chip, and the vector arithmetic the lowerings are
// written in (on the VXM and SXM, fp32).

#include <cstdint>
#include <map>
#include <tuple>
#include <vector>

#include "absl/status/statusor.h"
#include "isa/chip_model.h"
#include "isa/opcode.h"
#include "models/model_config.pb.h"
#include "scheduler/decoder_partition.h"
#include "scheduler/lowering/chip_residents.h"
#include "scheduler/system_scheduler.h"
#include "scheduler/vector_ops.h"

namespace tsp::scheduler::lowering {

// a / b rounded up, for positive b.
inline int64_t CeilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }
// The other side of the VXM.
inline Side Other(Side side) { return side == Side::kWest ? Side::kEast : Side::kWest; }

class LoweringContext {
 public:
  // Requires a partition DecoderCompiler::Create accepted; `context_tokens`
  // is the KV room per user and chip.
  LoweringContext(const models::ModelConfig& config, const isa::ChipModel& chip, const pipeline::SystemModel& system,
                  const pipeline::Topology& topology, const DecoderPartition& partition, const DecoderOptions& options,
                  int64_t context_tokens);

  const models::ModelConfig& config() const { return config_; }
  const isa::ChipModel& chip() const { return chip_; }
  const DecoderPartition& partition() const { return partition_; }
  const DecoderOptions& options() const { return options_; }
  int64_t context_tokens() const { return context_; }
  bool int8() const { return int8_; }
  bool with_data() const { return options_.weights != nullptr; }
  int lanes() const { return lanes_; }
  int64_t head_dim() const { return head_dim_; }
  int stage_count() const { return static_cast<int>(partition_.stage_chips.size()); }
  // The model layer a stage's first layer is.
  int FirstLayer(int stage) const;

  // The model's shape on one chip of a stage.
  int LocalHeads() const { return static_cast<int>(config_.heads() / partition_.tensor_parallel); }
  int LocalKvHeads() const {
    return static_cast<int>(std::max<int64_t>(1, config_.kv_heads() / partition_.tensor_parallel));
  }
  // The model's first query head and first KV head on a chip of rank
  // `rank` (a KV head shared by chips is on each of them).
  int64_t FirstHead(int rank) const { return static_cast<int64_t>(rank) * LocalHeads(); }
  int64_t FirstKvHead(int rank) const { return FirstHead(rank) / (config_.heads() / config_.kv_heads()); }
  int64_t HiddenVectors() const { return CeilDiv(config_.hidden_size(), lanes_); }
  int64_t FfnLocal() const { return config_.ffn_size() / partition_.tensor_parallel; }

  SystemScheduler& system() { return system_; }
  VectorOps& Ops(const ChipResidents& c) { return system_.ops(c.chip); }

  // dst = op(in...) in fp32 on the VXM, the result on `side`.
  absl::StatusOr<Vec> Op(ChipResidents& c, isa::Opcode op, const std::vector<Vec>& in, Side side) {
    return Ops(c).Vxm(op, isa::FP32, in, side);
  }
  // `value` in every lane; one vector per chip, value and side, reused.
  absl::StatusOr<Vec> Splat(ChipResidents& c, float value, Side side);
  // Every lane gets op over all lanes of `v`.
  absl::StatusOr<Vec> AllLanes(ChipResidents& c, isa::Opcode op, const Vec& v);
  // op over every lane of every vector, in every lane (vectors in order, then
  // lanes).
  absl::StatusOr<Vec> Reduce(ChipResidents& c, isa::Opcode op, const std::vector<Vec>& vectors);
  // Lanes [0, valid) of v, `fill` in the others.
  absl::StatusOr<Vec> Masked(ChipResidents& c, const Vec& v, int64_t valid, float fill);
  // Lane `lane` of v in every lane.
  absl::StatusOr<Vec> Broadcast(ChipResidents& c, const Vec& v, int lane, Side side);
  // `count` values as constant fp32 vectors (zeros when `values` is empty, a
  // timing-only compile), alternating sides from `side`.
  absl::StatusOr<std::vector<Vec>> FloatVectors(ChipResidents& c, const std::vector<float>& values, int64_t count,
                                                Side side);

 private:
  const models::ModelConfig& config_;
  const isa::ChipModel& chip_;
  const DecoderPartition& partition_;
  const DecoderOptions& options_;
  int64_t context_;
  bool int8_;
  int lanes_;
  int64_t head_dim_;
  SystemScheduler system_;
  std::map<std::tuple<int, uint32_t, int>, Vec> splats_;
};

}  // namespace tsp::scheduler::lowering

#endif  // TSP_SCHEDULER_LOWERING_LOWERING_CONTEXT_H_
