#include "scheduler/capacity_report.h"

#include <algorithm>
#include <limits>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace tsp::scheduler {
namespace {

std::string MiB(int64_t bytes) { return absl::StrFormat("%.1f MiB", static_cast<double>(bytes) / 1048576.0); }

std::string Users(int64_t n) { return absl::StrCat(n, n == 1 ? " user" : " users"); }

std::string UsersWhy(const StageCapacityReport& s) {
  if (s.kv_bytes_per_user() == 0) return "no KV cache here: any number of users";
  return absl::StrFormat("%s free after one user / %s per user + 1 = %s", MiB(s.free_bytes()),
                         MiB(s.kv_bytes_per_user()), Users(s.users()));
}

// Whether two stages differ only in which layers they hold.
bool Alike(const StageCapacityReport& a, const StageCapacityReport& b) {
  return a.layers() == b.layers() && a.matrix_bytes() == b.matrix_bytes() &&
         a.kv_bytes_per_user() == b.kv_bytes_per_user() && a.capacity_bytes() == b.capacity_bytes() &&
         a.spread() == b.spread() && a.vector_bytes() == b.vector_bytes();
}

}  // namespace

int64_t SramBytesPerChip(const isa::ChipModel& chip) {
  return static_cast<int64_t>(chip.SlicesOfKind(isa::SLICE_MEM).size()) * chip.spec().mem().slice_bytes().value();
}

FitReport CapacityOf(const PartitionChoice& choice, const isa::ChipModel& chip) {
  FitReport report;
  report.set_chips(choice.chips_used);
  report.set_tensor_parallel(choice.partition.tensor_parallel);
  report.set_pipeline_stages(static_cast<int32_t>(choice.partition.stage_chips.size()));
  report.set_sram_bytes_per_chip(SramBytesPerChip(chip));
  report.set_concurrent_users(choice.max_users);
  report.set_limiting_stage(-1);
  for (const StageCapacity& c : choice.stages) {
    StageCapacityReport* s = report.add_stages();
    s->set_stage(c.stage);
    s->set_first_layer(c.first_layer);
    s->set_layers(c.layers);
    s->set_matrix_bytes(c.matrix_bytes);
    s->set_kv_bytes_per_user(c.kv_bytes_per_user);
    s->set_capacity_bytes(c.capacity_bytes);
    s->set_free_bytes(c.free_bytes());
    s->set_users(c.users);
    if (c.stage < static_cast<int>(choice.footprints.size())) {
      const StageFootprint& f = choice.footprints[c.stage];
      s->set_spread(f.spread);
      s->set_vector_bytes(f.activation_bytes);
      s->set_vector_capacity_bytes(f.activation_capacity);
    }
    if (report.limiting_stage() < 0 && c.users == choice.max_users) report.set_limiting_stage(c.stage);
  }
  return report;
}

std::string CapacityText(const FitReport& report, const std::string& indent) {
  std::string text = absl::StrFormat(
      "%sper chip: %s of SRAM; matrices and KV caches live in the streamed-matrix slices, constants and a "
      "step's vectors in the activation slices\n",
      indent, MiB(report.sram_bytes_per_chip()));
  const int n = report.stages_size();
  for (int i = 0; i < n;) {
    int j = i + 1;
    while (j < n && Alike(report.stages(i), report.stages(j))) ++j;
    const StageCapacityReport& s = report.stages(i);
    const StageCapacityReport& last = report.stages(j - 1);
    const std::string which =
        j - i == 1 ? absl::StrFormat("stage %d (layers %d..%d)", s.stage(), s.first_layer(),
                                     s.first_layer() + s.layers() - 1)
                   : absl::StrFormat("stages %d..%d (layers %d..%d, %d each)", s.stage(), last.stage(),
                                     s.first_layer(), last.first_layer() + last.layers() - 1, s.layers());
    absl::StrAppend(&text, absl::StrFormat("%s%s: matrices %s + KV %s per user of %s%s; %s; vectors %s of %s\n",
                                           indent, which, MiB(s.matrix_bytes()), MiB(s.kv_bytes_per_user()),
                                           MiB(s.capacity_bytes()),
                                           s.spread() ? " (spread over the activation slices' upper addresses)" : "",
                                           UsersWhy(s), MiB(s.vector_bytes()), MiB(s.vector_capacity_bytes())));
    i = j;
  }
  if (report.limiting_stage() >= 0) {
    absl::StrAppend(&text, absl::StrFormat("%s%s' caches fit on every stage (stage %d holds the fewest)\n", indent,
                                           Users(report.concurrent_users()), report.limiting_stage()));
  }
  return text;
}

}  // namespace tsp::scheduler
