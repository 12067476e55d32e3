#include "pipeline/trace_writer.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "isa/assembler.h"

namespace tsp::pipeline {

absl::string_view TraceUnitName(isa::SliceKind kind) {
  return kind == isa::SLICE_C2C ? "links" : isa::SliceKindName(kind);
}

std::string JsonQuoted(absl::string_view text) {
  std::string quoted = "\"";
  for (const char c : text) {
    if (c == '"' || c == '\\') {
      quoted.push_back('\\');
      quoted.push_back(c);
    } else if (static_cast<unsigned char>(c) < 0x20 || c == '<') {
      absl::StrAppendFormat(&quoted, "\\u%04x", static_cast<unsigned char>(c));
    } else {
      quoted.push_back(c);
    }
  }
  quoted.push_back('"');
  return quoted;
}

namespace {

// An instruction, or one with its Repeat: queue cycles [start, end).
struct Block {
  int64_t start = 0;
  int64_t end = 0;
  int64_t count = 1;
  const isa::Instruction* instruction = nullptr;
};

}  // namespace

TraceWriter::TraceWriter(std::ostream& out, const isa::ChipModel& chip, const Topology& topology,
                         TraceOptions options)
    : out_(out), chip_(chip), topology_(topology), options_(std::move(options)) {
  for (int port = 0; port < topology_.ports_per_chip(); ++port) {
    port_of_c2c_[{topology_.PortSlice(port), topology_.PortInSlice(port)}] = port;
  }
  int index = 0;
  for (int position : chip_.SlicesOfKind(isa::SLICE_C2C)) c2c_index_[position] = index++;
  out_ << absl::StrFormat(
      "{\"displayTimeUnit\":\"ns\",\"otherData\":{\"clock_hz\":%d,\"time\":\"microseconds at the chip clock\"},"
      "\"traceEvents\":[\n",
      chip_.clock_hz());
}

double TraceWriter::Micros(int64_t cycle) const { return static_cast<double>(cycle) * 1e6 / chip_.clock_hz(); }

bool TraceWriter::Shown(int chip, int64_t cycle) const {
  if (!options_.chips.empty() && options_.chips.count(chip) == 0) return false;
  return cycle >= options_.first_cycle && (options_.last_cycle <= 0 || cycle < options_.last_cycle);
}

void TraceWriter::Event(const std::string& json) {
  out_ << (events_ == 0 ? "" : ",\n") << json;
  ++events_;
}

std::string TraceWriter::TrackName(int track) const {
  if (options_.detail == TraceOptions::Detail::kUnits) return std::string(TraceUnitName(static_cast<isa::SliceKind>(track)));
  return track >= 0 && track < static_cast<int>(chip_.queues().size()) ? chip_.queues()[track].name : "?";
}

void TraceWriter::NameProcess(int chip) {
  if (!named_.insert(chip).second) return;
  Event(absl::StrFormat("{\"ph\":\"M\",\"name\":\"process_name\",\"pid\":%d,\"tid\":0,\"args\":{\"name\":\"chip %d\"}}",
                        chip, chip));
  Event(absl::StrFormat("{\"ph\":\"M\",\"name\":\"process_sort_index\",\"pid\":%d,\"tid\":0,\"args\":{\"sort_index\":%d}}",
                        chip, chip));
  auto thread = [&](int tid, const std::string& name) {
    Event(absl::StrFormat("{\"ph\":\"M\",\"name\":\"thread_name\",\"pid\":%d,\"tid\":%d,\"args\":{\"name\":%s}}", chip,
                          tid, JsonQuoted(name)));
  };
  if (options_.detail == TraceOptions::Detail::kUnits) {
    for (isa::SliceKind kind : {isa::SLICE_MEM, isa::SLICE_VXM, isa::SLICE_MXM, isa::SLICE_SXM, isa::SLICE_C2C}) {
      thread(kind, std::string(TraceUnitName(kind)));
    }
  } else {
    for (size_t q = 0; q < chip_.queues().size(); ++q) thread(static_cast<int>(q), chip_.queues()[q].name);
  }
}

TraceWriter::Summary TraceWriter::Summarize(const isa::Program& program) const {
  Summary summary;
  const bool units = options_.detail == TraceOptions::Detail::kUnits;
  std::map<int, std::vector<std::pair<int64_t, int64_t>>> busy;  // Per slice kind: intervals.
  for (const isa::QueueProgram& queue : program.queues()) {
    const std::optional<int> found = chip_.FindQueue(queue.queue());
    if (!found.has_value()) continue;
    const int q = *found;
    const int slice = chip_.queues()[q].slice;
    const isa::SliceKind kind = chip_.slices()[slice].kind;
    const int track = units ? static_cast<int>(kind) : q;
    std::vector<Block> blocks;
    for (const isa::Instruction& instruction : queue.instructions()) {
      const int64_t cycle = instruction.cycle();
      const bool repeat = isa::InstructionOpcode(instruction) == isa::Opcode::kRepeat;
      if (repeat && !blocks.empty()) {
        Block& b = blocks.back();
        b.end = cycle + (instruction.n() - 1) * std::max<int64_t>(1, instruction.every()) + 1;
        b.count += instruction.n();
      } else {
        blocks.push_back({cycle, cycle + 1, 1, &instruction});
      }
      // Link endpoints, each repetition its own transfer.
      const isa::Instruction& base = repeat && !blocks.empty() ? *blocks.back().instruction : instruction;
      const std::optional<isa::Opcode> base_opcode = isa::InstructionOpcode(base);
      const bool send = base_opcode == isa::Opcode::kSend;
      if ((send || base_opcode == isa::Opcode::kReceive) && kind == isa::SLICE_C2C) {
        auto c2c = c2c_index_.find(slice);
        if (c2c == c2c_index_.end()) continue;
        auto port = port_of_c2c_.find({c2c->second, static_cast<int>(base.port())});
        if (port == port_of_c2c_.end()) continue;
        auto& list = send ? summary.sends : summary.receives;
        const int64_t times = repeat ? instruction.n() : 1;
        for (int64_t k = 0; k < times; ++k) {
          const int64_t at = cycle + (repeat ? k * std::max<int64_t>(1, instruction.every()) : 0);
          list.push_back({port->second, Endpoint{-1, track, at}});
        }
      }
    }
    for (size_t i = 0; i < blocks.size(); ++i) {
      Block& b = blocks[i];
      if (i + 1 < blocks.size()) b.end = std::min(b.end, blocks[i + 1].start);  // Slices nest, never overlap.
      if (units) {
        busy[kind].emplace_back(b.start, b.end);
        continue;
      }
      std::string text = isa::PrintInstruction(*b.instruction);
      text = text.substr(text.find(' ') + 1);  // Without "@cycle".
      const std::string mnemonic = text.substr(0, text.find_first_of(". "));
      summary.slices.push_back({track, b.start, b.end, b.count, b.end - b.start,
                                b.count > 1 ? absl::StrCat(mnemonic, " x", b.count) : mnemonic, std::move(text)});
    }
  }
  for (auto& [kind, intervals] : busy) {
    std::sort(intervals.begin(), intervals.end());
    size_t i = 0;
    while (i < intervals.size()) {
      int64_t start = intervals[i].first, end = intervals[i].second, busy_cycles = 0, count = 0;
      for (; i < intervals.size() && intervals[i].first <= end + options_.merge_gap_cycles; ++i) {
        busy_cycles += intervals[i].second - intervals[i].first;
        end = std::max(end, intervals[i].second);
        ++count;
      }
      summary.slices.push_back({kind, start, end, count, busy_cycles,
                                std::string(TraceUnitName(static_cast<isa::SliceKind>(kind))), ""});
    }
  }
  return summary;
}

void TraceWriter::AddProgram(int chip, const isa::Program& program, int64_t offset) {
  if (!options_.chips.empty() && options_.chips.count(chip) == 0) return;
  NameProcess(chip);
  auto it = summaries_.find(&program);
  if (it == summaries_.end()) it = summaries_.emplace(&program, Summarize(program)).first;
  const Summary& summary = it->second;
  placed_.push_back({chip, &summary, offset});
  for (const auto& [port, e] : summary.sends) sends_[{chip, port}].push_back({chip, e.track, e.cycle + offset});
  for (const auto& [port, e] : summary.receives) receives_[{chip, port}].push_back({chip, e.track, e.cycle + offset});
  const bool units = options_.detail == TraceOptions::Detail::kUnits;
  for (const Slice& slice : summary.slices) {
    const int64_t start = slice.start + offset;
    if (!Shown(chip, start)) continue;
    if (units) {
      Event(absl::StrFormat(
          "{\"ph\":\"X\",\"cat\":\"unit\",\"name\":\"%s\",\"pid\":%d,\"tid\":%d,\"ts\":%.5f,\"dur\":%.5f,"
          "\"args\":{\"cycle\":%d,\"cycles\":%d,\"queue_busy_cycles\":%d,\"instructions\":%d}}",
          slice.name, chip, slice.track, Micros(start), Micros(slice.end - slice.start), start,
          slice.end - slice.start, slice.busy, slice.count));
    } else {
      Event(absl::StrFormat(
          "{\"ph\":\"X\",\"cat\":\"instruction\",\"name\":%s,\"pid\":%d,\"tid\":%d,\"ts\":%.5f,\"dur\":%.5f,"
          "\"args\":{\"text\":%s,\"cycle\":%d,\"count\":%d}}",
          JsonQuoted(slice.name), chip, slice.track, Micros(start), Micros(slice.end - slice.start), JsonQuoted(slice.text),
          start, slice.count));
    }
  }
}

void TraceWriter::AddSpan(const std::string& name, const std::string& category, int64_t id, int chip,
                          int64_t first_cycle, int64_t end_cycle) {
  if (!Shown(chip, first_cycle)) return;
  NameProcess(chip);
  spans_.push_back({name, id, chip, first_cycle, end_cycle});
  Event(absl::StrFormat("{\"ph\":\"b\",\"cat\":%s,\"name\":%s,\"id\":%d,\"pid\":%d,\"tid\":0,\"ts\":%.5f}",
                        JsonQuoted(category), JsonQuoted(name), id, chip, Micros(first_cycle)));
  Event(absl::StrFormat("{\"ph\":\"e\",\"cat\":%s,\"name\":%s,\"id\":%d,\"pid\":%d,\"tid\":0,\"ts\":%.5f}",
                        JsonQuoted(category), JsonQuoted(name), id, chip, Micros(end_cycle)));
}

absl::Status TraceWriter::Finish() {
  int64_t flow = 0;
  for (auto& [from, sends] : sends_) {
    const PortRef peer = topology_.Peer(from.first, from.second);
    if (peer.chip < 0) {
      return absl::InternalError(absl::StrCat("chip ", from.first, " sends on port ", from.second,
                                              ", which has no link"));
    }
    const std::vector<Endpoint>& receives = receives_[{peer.chip, peer.port}];
    const size_t pairs = std::min(sends.size(), receives.size());
    // One flow per burst: vectors sent one after another on the port (each
    // within merge_gap_cycles of the last, and so received), from the first
    // send to the first receive, with the count. A 576-chip step moves about
    // a million vectors; an arrow each made traces of 250 MB.
    for (size_t k = 0; k < pairs;) {
      size_t last = k;
      while (last + 1 < pairs && sends[last + 1].cycle - sends[last].cycle <= options_.merge_gap_cycles &&
             receives[last + 1].cycle - receives[last].cycle <= options_.merge_gap_cycles &&
             sends[last + 1].track == sends[k].track && receives[last + 1].track == receives[k].track) {
        ++last;
      }
      const Endpoint& s = sends[k];
      const Endpoint& r = receives[k];
      const int64_t vectors = static_cast<int64_t>(last - k + 1);
      const int64_t last_receive = receives[last].cycle;
      k = last + 1;
      if (!Shown(s.chip, s.cycle) || !Shown(r.chip, r.cycle)) continue;
      ++flow;
      const std::string name = vectors == 1 ? "transfer" : absl::StrCat("transfer x", vectors);
      Event(absl::StrFormat("{\"ph\":\"s\",\"cat\":\"link\",\"name\":\"%s\",\"id\":%d,\"pid\":%d,\"tid\":%d,"
                            "\"ts\":%.5f,\"args\":{\"vectors\":%d,\"first_send_cycle\":%d,\"last_receive_cycle\":%d}}",
                            name, flow, s.chip, s.track, Micros(s.cycle), vectors, s.cycle, last_receive));
      Event(absl::StrFormat("{\"ph\":\"f\",\"bp\":\"e\",\"cat\":\"link\",\"name\":\"%s\",\"id\":%d,\"pid\":%d,"
                            "\"tid\":%d,\"ts\":%.5f}",
                            name, flow, r.chip, r.track, Micros(r.cycle)));
    }
  }
  out_ << "\n]}\n";
  out_.flush();
  if (!out_) return absl::UnavailableError("could not write the trace");
  return absl::OkStatus();
}

}  // namespace tsp::pipeline
