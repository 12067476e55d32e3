#include "scheduler/lowering/step_lowering.h"

#include <algorithm>
#include <map>
#include <tuple>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "isa/status_macros.h"
#include "models/operator_graph.h"
#include "scheduler/lowering/attention.h"
#include "scheduler/lowering/embedding.h"
#include "scheduler/lowering/experts.h"
#include "scheduler/lowering/lm_head.h"
#include "scheduler/lowering/mlp.h"
#include "scheduler/lowering/projection.h"
#include "scheduler/lowering/residual_add.h"
#include "scheduler/lowering/rms_norm.h"
#include "scheduler/lowering/stage_state.h"

namespace tsp::scheduler::lowering {
namespace {

using models::Operator;
using models::OpKind;
using models::WeightKind;

bool IsEmbedding(const Operator& op) { return op.kind == OpKind::kEmbedding; }
bool IsNorm(const Operator& op) { return op.kind == OpKind::kRmsNorm; }
// Experts' projections read the route beside their input.
bool IsExpertsGate(const Operator& op) {
  return op.kind == OpKind::kMatMul && op.weight == WeightKind::kGate && op.inputs.size() == 2;
}
bool IsRowParallel(const Operator& op) {
  return op.kind == OpKind::kMatMul && op.inputs.size() == 1 &&
         (op.weight == WeightKind::kO || op.weight == WeightKind::kDown);
}
bool IsColumnParallel(const Operator& op) {
  return op.kind == OpKind::kMatMul && op.inputs.size() == 1 && !IsRowParallel(op);
}
bool IsRotary(const Operator& op) { return op.kind == OpKind::kRotary; }
bool IsResidualAdd(const Operator& op) { return op.kind == OpKind::kResidualAdd; }
bool IsSwiGlu(const Operator& op) { return op.kind == OpKind::kSwiGlu; }
bool IsRoute(const Operator& op) { return op.kind == OpKind::kRouter; }
bool IsArgmax(const Operator& op) { return op.kind == OpKind::kArgmax; }

struct LoweringPass {
  const char* name;  // Its file in scheduler/lowering/.
  bool (*lowers)(const Operator& first);
  int operators;  // Consecutive graph operators it lowers together.
  OperatorLowering lower;
  // Lowers every batch member at once (sharing each weight install); the
  // others are called once per member.
  bool batched = false;
};

// The passes of a decode step, in the order a layer meets them. Each
// operator goes to the one pass that lowers it.
constexpr LoweringPass kPasses[] = {
    {"embedding", IsEmbedding, 1, LowerEmbedding, true},
    {"rms_norm", IsNorm, 1, LowerRmsNorm},
    {"projection (column-parallel)", IsColumnParallel, 1, LowerColumnParallel, true},
    {"attention (rotary, KV update, attention)", IsRotary, 2, LowerAttention},
    {"projection (row-parallel)", IsRowParallel, 1, LowerRowParallel, true},
    {"residual_add", IsResidualAdd, 1, LowerResidualAdd},
    {"mlp (SwiGLU)", IsSwiGlu, 1, LowerSwiGlu},
    {"experts (route)", IsRoute, 1, LowerRoute},
    {"experts (gate, up, SwiGLU, down)", IsExpertsGate, 4, LowerExperts},
    {"lm_head (argmax)", IsArgmax, 1, LowerArgmax},
};

absl::StatusOr<const LoweringPass*> PassFor(const Operator& op) {
  const LoweringPass* found = nullptr;
  for (const LoweringPass& pass : kPasses) {
    if (!pass.lowers(op)) continue;
    if (found != nullptr) {
      return absl::InternalError(
          absl::StrCat("operator '", op.name, "' is claimed by the passes '", found->name, "' and '", pass.name, "'"));
    }
    found = &pass;
  }
  if (found == nullptr) {
    return absl::UnimplementedError(
        absl::StrCat("no lowering pass lowers operator '", op.name, "' (", models::OpKindName(op.kind), ")"));
  }
  return found;
}

// The vectors an operator's result has on chip `c`, from the model's shape
// alone (not from what the lowering made).
int64_t ExpectedVectors(const LoweringContext& ctx, const ChipResidents& c, const Operator& op) {
  const int64_t lanes = ctx.lanes();
  switch (op.kind) {
    case OpKind::kMatMul:
      switch (op.weight) {
        case WeightKind::kQ:
          return CeilDiv(ctx.LocalHeads() * ctx.head_dim(), lanes);
        case WeightKind::kK:
        case WeightKind::kV:
          return CeilDiv(ctx.LocalKvHeads() * ctx.head_dim(), lanes);
        case WeightKind::kGate:
        case WeightKind::kUp:
          return CeilDiv(ctx.FfnLocal(), lanes);
        case WeightKind::kRouter:
          return CeilDiv(ctx.config().experts(), lanes);
        case WeightKind::kLmHead:
          return CeilDiv(c.vocab_local, lanes);
        default:
          return ctx.HiddenVectors();  // o and down: the whole residual.
      }
    case OpKind::kAttention:
      return CeilDiv(ctx.LocalHeads() * ctx.head_dim(), lanes);
    case OpKind::kSwiGlu:
      return CeilDiv(ctx.FfnLocal(), lanes);
    case OpKind::kRouter:
      return ctx.config().experts();  // A weight per expert.
    case OpKind::kArgmax:
      return 0;  // Its result is the first stage's token slots.
    default:
      return ctx.HiddenVectors();  // Embedding, norms, residual adds.
  }
}

// One batch member's result of operator `index` (CheckResult).
absl::Status CheckMemberResult(const StageState& state, const LoweringPass& pass, const Operator& op, int index,
                               const std::map<int, RankVectors>& member_values) {
  auto it = member_values.find(index);
  if (it == member_values.end() || it->second.size() != state.group.size()) {
    return absl::InternalError(absl::StrCat("the '", pass.name, "' pass left no result of '", op.name,
                                            "' on every rank of stage ", state.stage));
  }
  for (size_t r = 0; r < state.group.size(); ++r) {
    const int64_t expected = ExpectedVectors(state.ctx, *state.group[r], op);
    const std::vector<Vec>& result = it->second[r];
    if (static_cast<int64_t>(result.size()) != expected) {
      return absl::InternalError(absl::StrCat("the '", pass.name, "' pass left ", result.size(), " vectors of '",
                                              op.name, "' on rank ", r, " of stage ", state.stage,
                                              "; the model's shape gives ", expected));
    }
    for (const Vec& v : result) {
      if (v.type != isa::FP32) {
        return absl::InternalError(
            absl::StrCat("the '", pass.name, "' pass left '", op.name, "' in a type other than fp32 on rank ", r));
      }
    }
  }
  return absl::OkStatus();
}

// The invariant between passes: the operator a pass lowered last has a
// result on every rank of the stage, for every batch member, of the shape
// the model gives, in fp32.
absl::Status CheckResult(const StageState& state, const LoweringPass& pass, int index) {
  const Operator& op = state.op(index);
  for (const std::map<int, RankVectors>& member_values : state.values) {
    RETURN_IF_ERROR(CheckMemberResult(state, pass, op, index, member_values));
  }
  return absl::OkStatus();
}

// The graph operators of a stage: [begin, end).
std::pair<int, int> StageOperators(const LoweringContext& ctx, const models::OperatorGraph& graph, int stage) {
  const int first_layer = ctx.FirstLayer(stage);
  const int end_layer = first_layer + ctx.partition().stage_layers[stage];
  const bool last = stage + 1 == ctx.stage_count();
  int begin = -1, end = 0;
  for (int i = 0; i < static_cast<int>(graph.ops.size()); ++i) {
    const Operator& op = graph.ops[i];
    const bool mine = op.layer >= 0 ? op.layer >= first_layer && op.layer < end_layer
                                    : (op.kind == OpKind::kEmbedding ? stage == 0 : last);
    if (!mine) continue;
    if (begin < 0) begin = i;
    end = i + 1;
  }
  return {begin, end};
}

}  // namespace

absl::Status CheckPassesCover(const models::OperatorGraph& graph) {
  const int count = static_cast<int>(graph.ops.size());
  for (int i = 0; i < count;) {
    ASSIGN_OR_RETURN(const LoweringPass* pass, PassFor(graph.ops[i]));
    const int last = i + pass->operators - 1;
    if (last >= count || graph.ops[last].layer != graph.ops[i].layer) {
      return absl::InternalError(absl::StrCat("the '", pass->name, "' pass lowers ", pass->operators,
                                              " operators from '", graph.ops[i].name, "', past the end of its layer"));
    }
    i = last + 1;
  }
  return absl::OkStatus();
}

absl::StatusOr<CompiledStep> StepLowering::LowerStep(int64_t position) {
  return LowerBatchStep({position});
}

absl::StatusOr<CompiledStep> StepLowering::LowerBatchStep(const std::vector<int64_t>& positions) {
  RETURN_IF_ERROR(SetMembers(positions));
  return Lower(0, ctx_.stage_count() - 1, /*whole_step=*/true);
}

absl::StatusOr<CompiledStep> StepLowering::LowerStageUnit(int stage, int64_t position) {
  return LowerBatchStageUnit(stage, {position});
}

absl::StatusOr<CompiledStep> StepLowering::LowerBatchStageUnit(int stage, const std::vector<int64_t>& positions) {
  if (stage < 0 || stage >= ctx_.stage_count()) {
    return absl::OutOfRangeError(absl::StrCat("stage ", stage, " of a partition of ", ctx_.stage_count(),
                                              " stages: give a stage from 0 to ", ctx_.stage_count() - 1));
  }
  RETURN_IF_ERROR(SetMembers(positions));
  return Lower(stage, stage, /*whole_step=*/false);
}

absl::Status StepLowering::SetMembers(const std::vector<int64_t>& positions) {
  const int64_t batch = std::max<int64_t>(1, ctx_.options().batch);
  if (positions.empty() || static_cast<int64_t>(positions.size()) > batch) {
    return absl::InvalidArgumentError(absl::StrCat("a step of ", positions.size(), " users' tokens, compiled for ",
                                                   batch, " (DecoderOptions::batch): give 1 to ", batch));
  }
  const int64_t context = ctx_.context_tokens();
  members_.clear();
  for (size_t m = 0; m < positions.size(); ++m) {
    const int64_t position = positions[m];
    if (position < 0 || position >= context) {
      return absl::OutOfRangeError(absl::StrCat("position ", position, " is outside the KV cache of ", context,
                                                " tokens: give a position from 0 to ", context - 1,
                                                " or a longer context"));
    }
    members_.push_back({position, static_cast<int>(m)});
  }
  return absl::OkStatus();
}

absl::StatusOr<StageFootprint> StepLowering::Footprint(int stage) {
  return MeasureStageFootprint(ctx_, stage, weight_images_);
}

absl::Status StepLowering::AllocateStages(const std::vector<bool>& needed) {
  const DecoderPartition& partition = ctx_.partition();
  stages_.assign(ctx_.stage_count(), {});
  for (int s = 0; s < ctx_.stage_count(); ++s) {
    for (size_t r = 0; r < partition.stage_chips[s].size(); ++r) {
      ChipResidents c;
      c.chip = partition.stage_chips[s][r];
      c.rank = static_cast<int>(r);
      c.stage = s;
      stages_[s].push_back(c);
    }
    if (!needed[s]) continue;
    for (ChipResidents& c : stages_[s]) RETURN_IF_ERROR(AllocateResidents(ctx_, c, weight_images_));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::map<int, std::vector<SramImage>>> StepLowering::CacheImages(int64_t tokens,
                                                                                const StoredKv& stored) {
  RETURN_IF_ERROR(AllocateStages(std::vector<bool>(ctx_.stage_count(), true)));
  std::map<int, std::vector<SramImage>> images;
  for (const auto& stage : stages_) {
    for (const ChipResidents& c : stage) {
      ASSIGN_OR_RETURN(images[c.chip], KvCacheImages(ctx_, c, tokens, stored));
    }
  }
  return images;
}

absl::StatusOr<CompiledStep> StepLowering::Lower(int first, int last, bool whole_step) {
  const int stage_count = ctx_.stage_count();
  const int lanes = ctx_.lanes();
  SystemScheduler& system = ctx_.system();
  // A stage unit holds its stage, the previous stage (which sends x) and,
  // for the last stage, the first (which receives the token).
  std::vector<bool> needed(stage_count, whole_step);
  if (!whole_step) {
    needed[first] = true;
    if (first > 0) needed[first - 1] = true;
    if (first == stage_count - 1) needed[0] = true;
  }
  RETURN_IF_ERROR(AllocateStages(needed));
  CompiledStep step;
  const int batch = static_cast<int>(members_.size());
  for (int m = 0; m < batch; ++m) {
    for (const ChipResidents& c : stages_[0]) {
      if (!c.tokens.empty()) step.token_slots.push_back({c.chip, c.tokens[m], m});  // Allocated: the unit uses it.
    }
  }
  // A cache's SRAM, left for the next step.
  auto keep_cache = [&](const ChipResidents& c, const KvCache& cache) {
    for (const StreamedMatrix* m : {&cache.keys, &cache.values}) {
      const int64_t addresses = static_cast<int64_t>(m->row_tiles) * m->column_tiles * m->loads;
      if (m->places != nullptr) {
        // A spread cache: each tile's streams where they lie.
        for (const StreamPlace& place : *m->places) step.persistent.push_back({c.chip, place.slice, place.address, m->loads});
        continue;
      }
      for (int r = 0; r < lanes; ++r) {
        const Vec row = system.ops(c.chip).MatrixRow(*m, r);
        for (int p = 0; p < row.planes(); ++p) step.persistent.push_back({c.chip, row.slices[p], m->base, addresses});
      }
    }
    for (const auto* scales : {&cache.key_scales, &cache.value_scales}) {
      for (const Vec& v : *scales) {
        for (int p = 0; p < 4; ++p) step.persistent.push_back({c.chip, v.slices[p], v.address, 1});
      }
    }
  };
  for (const auto& stage : stages_) {
    for (const ChipResidents& c : stage) {
      for (const Vec& token : c.tokens) {
        for (int p = 0; p < 4; ++p) step.persistent.push_back({c.chip, token.slices[p], token.address, 1});
      }
      for (const LayerResidents& layer : c.layers) {
        for (const Member& member : members_) {
          for (const KvCache& cache : layer.caches[member.user]) keep_cache(c, cache);
        }
      }
    }
  }
  // Duplicate regions (rows sharing a slice) collapse.
  std::sort(step.persistent.begin(), step.persistent.end(), [](const MemoryRegion& a, const MemoryRegion& b) {
    return std::tie(a.chip, a.slice, a.address, a.vectors) < std::tie(b.chip, b.slice, b.address, b.vectors);
  });
  step.persistent.erase(std::unique(step.persistent.begin(), step.persistent.end(),
                                    [](const MemoryRegion& a, const MemoryRegion& b) {
                                      return a.chip == b.chip && a.slice == b.slice && a.address == b.address &&
                                             a.vectors == b.vectors;
                                    }),
                        step.persistent.end());

  // The graph's shape does not depend on the position (only its MAC counts do).
  ASSIGN_OR_RETURN(const models::OperatorGraph graph, models::BuildDecodeGraph(ctx_.config(), members_[0].position));
  std::vector<std::map<int, RankVectors>> values(members_.size());
  if (first > 0) step.embedding_end_cycle = system.last_cycle();
  for (int s = first; s <= last; ++s) {
    const auto [begin, end] = StageOperators(ctx_, graph, s);
    StageState state{ctx_, graph, values, step, stages_.front(), {}, s, members_};
    for (ChipResidents& c : stages_[s]) state.group.push_back(&c);
    // The stage's output is its last residual add, unless it is the last stage.
    if (s + 1 < stage_count) state.stage_output = end - 1;
    if (s > 0) {
      // The previous stage's residual: there from the unit's start in a
      // stage unit, the previous stage's result in the whole step.
      const int residual = graph.ops[begin].inputs[0];
      if (s == first) {
        for (size_t m = 0; m < members_.size(); ++m) {
          RankVectors previous;
          for (const ChipResidents& c : stages_[s - 1]) previous.push_back(c.residual_outs[m]);
          values[m][residual] = previous;
        }
      }
      // Stages meet at a barrier: the handoff starts once the previous stage
      // is done, so stage units compose (DecoderCompiler::CompileStageUnit).
      int64_t done = 0;
      for (const ChipResidents& c : stages_[s - 1]) done = std::max(done, system.chip(c.chip).last_cycle());
      for (ChipResidents& c : stages_[s - 1]) system.chip(c.chip).set_earliest(done);
      for (std::map<int, RankVectors>& member_values : values) {
        RankVectors& x = member_values[residual];
        for (size_t r = 0; r < state.group.size(); ++r) {
          std::vector<Vec> moved;
          for (const Vec& v : x[r]) {
            ASSIGN_OR_RETURN(Vec in, system.Transfer(stages_[s - 1][r].chip, v, state.group[r]->chip, v.side));
            moved.push_back(in);
          }
          x[r] = moved;
        }
      }
    }
    for (int i = begin; i < end;) {
      ASSIGN_OR_RETURN(const LoweringPass* pass, PassFor(graph.ops[i]));
      const int last_operator = i + pass->operators - 1;
      if (last_operator >= end) {
        return absl::InternalError(absl::StrCat("the '", pass->name, "' pass would lower past stage ", s,
                                                "'s operators at '", graph.ops[i].name, "'"));
      }
      if (pass->batched) {
        RETURN_IF_ERROR(pass->lower(state, i));
      } else {
        for (state.member = 0; state.member < static_cast<int>(members_.size()); ++state.member) {
          RETURN_IF_ERROR(pass->lower(state, i));
        }
        state.member = 0;
      }
      RETURN_IF_ERROR(CheckResult(state, *pass, last_operator));
      if (i == begin && graph.ops[i].kind == OpKind::kEmbedding) step.embedding_end_cycle = system.last_cycle();
      const Operator& op = graph.ops[last_operator];
      const bool ends_layer =
          op.layer >= 0 && (last_operator + 1 == end || graph.ops[last_operator + 1].layer != op.layer);
      if (ends_layer) step.layer_end_cycles.push_back(system.last_cycle());
      i = last_operator + 1;
    }
  }
  step.predicted_last_cycle = system.last_cycle();
  for (const ChipResidents& c : stages_[last]) {
    step.stage_last_cycle = std::max(step.stage_last_cycle, system.chip(c.chip).last_cycle());
  }
  step.instructions = system.instruction_count();
  // What the step leaves behind must hold the values its last writes meant.
  // (Only on chips this step uses: a stage unit leaves the others alone.)
  for (const MemoryRegion& region : step.persistent) {
    if (!system.has_chip(region.chip)) continue;
    for (int64_t v = 0; v < region.vectors; ++v) system.chip(region.chip).DeclareOutput(region.slice, region.address + v);
  }
  auto declare = [&](int chip, const Vec& vec) {
    if (!system.has_chip(chip)) return;
    for (int p = 0; p < vec.planes(); ++p) system.chip(chip).DeclareOutput(vec.slices[p], vec.address);
  };
  for (const LogitsShard& shard : step.logits) {
    for (const Vec& vec : shard.vectors) declare(shard.chip, vec);
  }
  if (last + 1 < static_cast<int>(stages_.size())) {
    for (const ChipResidents& c : stages_[last]) {
      for (size_t m = 0; m < members_.size(); ++m) {
        for (const Vec& vec : c.residual_outs[m]) declare(c.chip, vec);
      }
    }
  }
  step.programs = system.Build();
  return step;
}

}  // namespace tsp::scheduler::lowering
