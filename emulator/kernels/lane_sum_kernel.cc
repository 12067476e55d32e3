#include "emulator/kernels/lane_sum_kernel.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "isa/opcode.h"
#include "isa/program_builder.h"
#include "isa/timing.h"

namespace tsp::kernels {

using isa::Opcode;

absl::StatusOr<std::vector<LaneSumStep>> LaneSumSteps(int lanes) {
  int odd = lanes;
  while (odd > 1 && odd % 2 == 0) odd /= 2;
  if (lanes < 1 || (odd != 1 && odd != 5)) {
    return absl::InvalidArgumentError(
        absl::StrCat("a lane sum by rotations needs 2^a or 2^a x 5 lanes, not ", lanes));
  }
  std::vector<LaneSumStep> steps;
  for (int rotation = lanes / 2; rotation >= odd && rotation * 2 <= lanes && lanes % (2 * rotation) == 0;
       rotation /= 2) {
    steps.push_back({rotation, -1});
  }
  if (odd == 5) {
    // Each lane holds its class mod 5; add the neighbouring classes 1, 2 (and
    // 3) away, then the class 4 away from the value before those two steps.
    const int classes = static_cast<int>(steps.size());
    steps.push_back({1, -1});
    steps.push_back({2, -1});
    steps.push_back({4, classes});
  }
  return steps;
}

absl::StatusOr<LaneSumKernel> BuildLaneSumKernel(const isa::ChipModel& chip,
                                                 const std::vector<uint32_t>& x) {
  const int lanes = chip.lanes();
  if (!x.empty() && static_cast<int>(x.size()) != lanes) {
    return absl::InvalidArgumentError(absl::StrCat("x must have ", lanes, " values"));
  }
  std::vector<LaneSumStep> steps;
  {
    absl::StatusOr<std::vector<LaneSumStep>> planned = LaneSumSteps(lanes);
    if (!planned.ok()) return planned.status();
    steps = *std::move(planned);
  }
  const std::vector<int> vxms = chip.SlicesOfKind(isa::SLICE_VXM);
  const std::vector<int> sxms = chip.SlicesOfKind(isa::SLICE_SXM);
  if (vxms.empty() || sxms.empty() || sxms.front() > vxms.front()) {
    return absl::InvalidArgumentError("the lane sum needs an SXM west of the VXM");
  }
  const int vxm = vxms.front();
  const int sxm = sxms.front();
  constexpr int kPlanes = 4;  // fp32.
  if (static_cast<int64_t>(steps.size()) + 1 > chip.mem_addresses_per_bank() ||
      chip.streams_per_direction() < 2 * kPlanes) {
    return absl::InvalidArgumentError("the chip is too small for the lane sum");
  }
  // Byte plane p of every value lives in the MEM slice at vxm - 1 - p, at the
  // address of its step (x at 0).
  std::vector<int> planes;
  for (int p = 0; p < kPlanes; ++p) {
    const int slice = vxm - 1 - p;
    if (slice <= sxm || chip.slices()[slice].kind != isa::SLICE_MEM) {
      return absl::InvalidArgumentError("the lane sum needs four MEM slices west of the VXM");
    }
    planes.push_back(slice);
  }
  const int64_t read = chip.latency_cycles(Opcode::kRead);
  const int64_t write = chip.latency_cycles(Opcode::kWrite);
  const int64_t rotate = chip.latency_cycles(Opcode::kRotate);
  const int64_t add = chip.latency_cycles(Opcode::kAdd);
  auto mem_queue = [&](int p) { return chip.queues()[chip.slices()[planes[p]].first_queue].name; };
  const std::string sxm_queue = chip.queues()[chip.slices()[sxm].first_queue].name;
  const std::string vxm_queue = chip.queues()[chip.slices()[vxm].first_queue].name;

  LaneSumKernel kernel;
  kernel.program.set_chip(chip.name());
  isa::ProgramBuilder builder;
  if (!x.empty()) {
    for (int p = 0; p < kPlanes; ++p) {
      isa::MemoryImage* image = kernel.program.add_memory();
      image->set_slice(chip.slices()[planes[p]].name);
      image->set_address(0);
      std::string data(lanes, 0);
      for (int lane = 0; lane < lanes; ++lane) data[lane] = static_cast<char>(x[lane] >> (8 * p));
      image->set_data(data);
    }
  }
  // Streams: W0..3 carry a value to the SXM, E0..3 its rotation to the VXM,
  // E4..7 the current value to the VXM, W4..7 the sum back to SRAM.
  int64_t ready = 0;  // Cycle from which every stored value may be read.
  for (size_t k = 0; k < steps.size(); ++k) {
    const int64_t source = steps[k].source_step < 0 ? static_cast<int64_t>(k) : steps[k].source_step;
    // The rotation's operand must reach the SXM in one cycle from all planes,
    // each read after its value landed (the cycle after, so no bank conflict).
    int64_t rotate_cycle = 0;
    for (int p = 0; p < kPlanes; ++p) {
      rotate_cycle = std::max(rotate_cycle, ready + read + (planes[p] - sxm));
    }
    const int64_t add_cycle = isa::StreamArrivalCycle(isa::EAST, sxm, rotate_cycle + rotate, vxm);
    for (int p = 0; p < kPlanes; ++p) {
      isa::Instruction& to_sxm =
          builder.Add(mem_queue(p), rotate_cycle - read - (planes[p] - sxm), "Read");
      to_sxm.set_address(source);
      *to_sxm.mutable_dst() = isa::Stream(isa::WEST, p);
      isa::Instruction& to_vxm = builder.Add(mem_queue(p), add_cycle - read - (vxm - planes[p]), "Read");
      to_vxm.set_address(static_cast<int64_t>(k));
      *to_vxm.mutable_dst() = isa::Stream(isa::EAST, kPlanes + p);
    }
    isa::Instruction& rotation = builder.Add(sxm_queue, rotate_cycle, "Rotate");
    rotation.set_type(isa::FP32);
    rotation.set_amount(steps[k].rotation);
    *rotation.mutable_a() = isa::Stream(isa::WEST, 0);
    *rotation.mutable_dst() = isa::Stream(isa::EAST, 0);
    isa::Instruction& sum = builder.Add(vxm_queue, add_cycle, "Add");
    sum.set_type(isa::FP32);
    *sum.mutable_a() = isa::Stream(isa::EAST, kPlanes);
    *sum.mutable_b() = isa::Stream(isa::EAST, 0);
    *sum.mutable_dst() = isa::Stream(isa::WEST, kPlanes);
    ready = 0;
    for (int p = 0; p < kPlanes; ++p) {
      const int64_t store = isa::StreamArrivalCycle(isa::WEST, vxm, add_cycle + add, planes[p]);
      isa::Instruction& write_instruction = builder.Add(mem_queue(p), store, "Write");
      write_instruction.set_address(static_cast<int64_t>(k) + 1);
      *write_instruction.mutable_a() = isa::Stream(isa::WEST, kPlanes + p);
      ready = std::max(ready, store + write + 1);
      kernel.predicted_last_event_cycle = std::max(kernel.predicted_last_event_cycle, store + write);
    }
  }
  for (int p = 0; p < kPlanes; ++p) kernel.output_slices.push_back(chip.slices()[planes[p]].name);
  kernel.output_address = static_cast<int64_t>(steps.size());
  builder.Emit(chip, &kernel.program);
  return kernel;
}

}  // namespace tsp::kernels
