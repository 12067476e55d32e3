#include "emulator/kernels/matvec_kernel.h"

#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "isa/element_type.h"
#include "isa/opcode.h"
#include "isa/program_builder.h"
#include "isa/timing.h"

namespace tsp::kernels {
namespace {

using isa::ChipModel;
using isa::Instruction;
using isa::Opcode;

using isa::ProgramBuilder;
using isa::Stream;

}  // namespace

absl::StatusOr<MatvecKernel> BuildMatvecKernel(const ChipModel& chip, const MatvecShape& shape,
                                               const std::vector<uint16_t>& weights,
                                               const std::vector<uint16_t>& x) {
  const int n = chip.lanes();
  if (shape.type != isa::INT8 && shape.type != isa::FP16) {
    return absl::InvalidArgumentError("the matvec kernel takes int8 or fp16");
  }
  if (shape.row_tiles < 1 || shape.column_tiles < 1) {
    return absl::InvalidArgumentError("the matvec kernel needs at least one tile each way");
  }
  const int64_t rows = static_cast<int64_t>(shape.row_tiles) * n;
  const int64_t columns = static_cast<int64_t>(shape.column_tiles) * n;
  // Without data (both empty) the program has no memory images: for
  // timing-only runs, where values are never computed.
  const bool with_data = !weights.empty() || !x.empty();
  if (with_data && (static_cast<int64_t>(weights.size()) != rows * columns ||
                    static_cast<int64_t>(x.size()) != columns)) {
    return absl::InvalidArgumentError(absl::StrCat("weights must have ", rows * columns,
                                                   " elements and x ", columns));
  }
  const int width = isa::ElementBytes(shape.type);
  const int rows_per_load =
      std::min(chip.max_weight_rows_per_load(), chip.streams_per_direction() / width);
  if (rows_per_load < 1 || n % rows_per_load != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the matvec kernel needs the plane's ", n, " rows to split into loads of ", rows_per_load));
  }
  const int loads = n / rows_per_load;      // LoadWeights per tile.
  const int weight_streams = rows_per_load * width;
  const int64_t tiles = static_cast<int64_t>(shape.row_tiles) * shape.column_tiles;

  // The westmost MXM plane; weights, outputs and x in the MEM slices east of it.
  const std::vector<int> planes = chip.SlicesOfKind(isa::SLICE_MXM);
  if (planes.empty()) return absl::InvalidArgumentError("the chip has no MXM");
  const isa::SliceInfo& plane = chip.slices()[planes[0]];
  std::vector<int> mem;
  for (int slice : chip.SlicesOfKind(isa::SLICE_MEM)) {
    if (slice > plane.position) mem.push_back(slice);
  }
  if (static_cast<int>(mem.size()) < weight_streams + 4 + width) {
    return absl::InvalidArgumentError("not enough MEM slices east of the MXM for the kernel");
  }
  if (tiles * loads > chip.mem_addresses() || shape.column_tiles > chip.mem_addresses() ||
      shape.row_tiles > chip.mem_addresses()) {
    return absl::InvalidArgumentError(absl::StrCat("a ", rows, " x ", columns,
                                                   " matrix does not fit the kernel's SRAM slices"));
  }
  auto weight_slice = [&](int s) { return mem[s]; };
  auto output_slice = [&](int q) { return mem[weight_streams + q]; };
  auto x_slice = [&](int p) { return mem[weight_streams + 4 + p]; };
  const std::string weight_queue = chip.queues()[plane.first_queue].name;
  const std::string install_queue = chip.queues()[plane.first_queue + 1].name;
  const std::string accumulate_queue = chip.queues()[plane.first_queue + 2].name;

  const int64_t read_latency = chip.latency_cycles(Opcode::kRead);
  const int64_t load_latency = chip.latency_cycles(Opcode::kLoadWeights);
  const int64_t install_latency = chip.latency_cycles(Opcode::kInstallWeights);
  const int64_t multiply_latency = chip.latency_cycles(Opcode::kMultiply);
  const int64_t accumulate_latency = chip.latency_cycles(Opcode::kAccumulate);
  const int64_t write_latency = chip.latency_cycles(Opcode::kWrite);
  // Cycles from a Read at `slice` to its value reaching the plane (westward).
  auto lead = [&](int slice) {
    return isa::StreamArrivalCycle(isa::WEST, slice, read_latency, plane.position);
  };

  // Tile t's rows reach the plane in cycles L_t .. L_t + loads - 1; the cycle
  // after them carries x for an earlier tile. The install takes the buffer
  // once the last row has landed; the multiply uses the first x slot after
  // the install lands, which comes before the next tile's install lands.
  const int64_t period = loads + 1;
  int64_t first_load = 0;
  for (int s = 0; s < weight_streams; ++s) first_load = std::max(first_load, lead(weight_slice(s)));
  for (int p = 0; p < width; ++p) first_load = std::max(first_load, lead(x_slice(p)) - loads);
  const int64_t install_offset = loads - 1 + load_latency;
  const int64_t ready_offset = install_offset + install_latency;
  const int64_t multiply_offset =
      loads + ((std::max<int64_t>(ready_offset - loads, 0) + period - 1) / period) * period;

  MatvecKernel kernel;
  kernel.shape = shape;
  kernel.program.set_chip(chip.name());
  ProgramBuilder builder;

  // Weights: slice s holds, at address t * loads + i, byte plane s % width of
  // row rows_per_load * i + s / width of tile t.
  for (int s = 0; s < weight_streams; ++s) {
    std::string data;
    if (with_data) data.resize(static_cast<size_t>(tiles * loads) * n);
    const int byte_plane = s % width;
    for (int64_t t = 0; t < tiles; ++t) {
      const int64_t m = t / shape.column_tiles;
      const int64_t k = t % shape.column_tiles;
      for (int i = 0; with_data && i < loads; ++i) {
        const int64_t row = m * n + static_cast<int64_t>(rows_per_load) * i + s / width;
        char* vector = &data[static_cast<size_t>(t * loads + i) * n];
        for (int j = 0; j < n; ++j) {
          vector[j] = static_cast<char>(weights[row * columns + k * n + j] >> (8 * byte_plane));
        }
      }
      builder.ReadRun(chip.slices()[weight_slice(s)].name,
                      first_load + t * period - lead(weight_slice(s)), t * loads, loads,
                      Stream(isa::WEST, s));
    }
    if (with_data) {
      isa::MemoryImage* image = kernel.program.add_memory();
      image->set_slice(chip.slices()[weight_slice(s)].name);
      image->set_address(0);
      *image->mutable_data() = std::move(data);
    }
  }
  // x: slice x_slice(p) holds byte plane p of x's tile k at address k.
  for (int p = 0; with_data && p < width; ++p) {
    isa::MemoryImage* image = kernel.program.add_memory();
    image->set_slice(chip.slices()[x_slice(p)].name);
    image->set_address(0);
    std::string& data = *image->mutable_data();
    data.resize(static_cast<size_t>(shape.column_tiles) * n);
    for (int64_t j = 0; j < columns; ++j) data[j] = static_cast<char>(x[j] >> (8 * p));
  }

  for (int64_t t = 0; t < tiles; ++t) {
    const int64_t load_cycle = first_load + t * period;
    Instruction& load = builder.Add(weight_queue, load_cycle, "LoadWeights");
    load.set_type(shape.type);
    load.set_row(0);
    load.set_rows(rows_per_load);
    *load.mutable_a() = Stream(isa::WEST, 0);
    if (loads > 1) {
      Instruction& repeat = builder.Add(weight_queue, load_cycle + 1, "Repeat");
      repeat.set_n(loads - 1);
      repeat.set_every(1);
      repeat.set_stride(rows_per_load);
    }
    builder.Add(install_queue, load_cycle + install_offset, "InstallWeights");
    const int64_t multiply_cycle = load_cycle + multiply_offset;
    Instruction& multiply = builder.Add(install_queue, multiply_cycle, "Multiply");
    multiply.set_type(shape.type);
    *multiply.mutable_a() = Stream(isa::WEST, 0);
    const int64_t k = t % shape.column_tiles;
    for (int p = 0; p < width; ++p) {
      Instruction& read = builder.Add(chip.slices()[x_slice(p)].name,
                                      multiply_cycle - lead(x_slice(p)), "Read");
      read.set_address(k);
      *read.mutable_dst() = Stream(isa::WEST, p);
    }
    if (k == shape.column_tiles - 1) {
      const int64_t m = t / shape.column_tiles;
      const int64_t accumulate_cycle = multiply_cycle + multiply_latency;
      Instruction& accumulate = builder.Add(accumulate_queue, accumulate_cycle, "Accumulate");
      *accumulate.mutable_dst() = Stream(isa::EAST, 0);
      for (int q = 0; q < 4; ++q) {
        const int slice = output_slice(q);
        const int64_t arrival = isa::StreamArrivalCycle(
            isa::EAST, plane.position, accumulate_cycle + accumulate_latency, slice);
        Instruction& write = builder.Add(chip.slices()[slice].name, arrival, "Write");
        write.set_address(kernel.output_address_base + m);
        *write.mutable_a() = Stream(isa::EAST, q);
        kernel.predicted_last_event_cycle =
            std::max(kernel.predicted_last_event_cycle, arrival + write_latency);
      }
    }
  }
  for (int q = 0; q < 4; ++q) kernel.output_slices.push_back(chip.slices()[output_slice(q)].name);
  builder.Emit(chip, &kernel.program);
  return kernel;
}

std::vector<uint32_t> AssembleMatvecOutput(const MatvecKernel& kernel, int lanes,
                                           const std::vector<std::string>& planes) {
  std::vector<uint32_t> y(static_cast<size_t>(kernel.shape.row_tiles) * lanes, 0);
  for (size_t i = 0; i < y.size(); ++i) {
    for (int q = 0; q < 4; ++q) {
      y[i] |= static_cast<uint32_t>(static_cast<uint8_t>(planes[q][i])) << (8 * q);
    }
  }
  return y;
}

}  // namespace tsp::kernels
