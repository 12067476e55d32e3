#ifndef TSP_SCHEDULER_CAPACITY_REPORT_H_
#define TSP_SCHEDULER_CAPACITY_REPORT_H_

// A partition's SRAM account as reports carry it (capacity_report.proto) and
// as text: per stage what fills a chip and why N users fit. Stages with the
// same figures print as one line.

#include <cstdint>
#include <string>

#include "isa/chip_model.h"
#include "scheduler/capacity_report.pb.h"
#include "scheduler/partitioner.h"

namespace tsp::scheduler {

// The SRAM of one chip: its MEM slices' bytes.
int64_t SramBytesPerChip(const isa::ChipModel& chip);

// Every stage of `choice`, the concurrent users and the stage that limits
// them; the model, format and sizes are the caller's to fill.
FitReport CapacityOf(const PartitionChoice& choice, const isa::ChipModel& chip);

// Lines of text, each starting with `indent`: a header, then one line per run
// of like stages ("stages 1..26 (3 layers each): ...").
std::string CapacityText(const FitReport& report, const std::string& indent);

}  // namespace tsp::scheduler

#endif  // TSP_SCHEDULER_CAPACITY_REPORT_H_
