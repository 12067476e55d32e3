#include "isa/hazards.h"

namespace tsp::isa {

absl::string_view HazardKindName(HazardKind kind) {
  switch (kind) {
    case HazardKind::kNone:
      return "none";
    case HazardKind::kQueueSameCycle:
      return "two issues in one queue cycle";
    case HazardKind::kQueueOutOfOrder:
      return "queue issue out of program order";
    case HazardKind::kQueueBusy:
      return "queue busy";
    case HazardKind::kBankReadMeetsWrite:
      return "bank read meets a landing write";
    case HazardKind::kBankWriteMeetsRead:
      return "bank write lands on a read";
    case HazardKind::kBankWritesMeet:
      return "two writes land in one bank";
    case HazardKind::kStreamSlotTaken:
      return "stream-register slot taken";
    case HazardKind::kInstallBeforeLoadLanded:
      return "install before its LoadWeights landed";
    case HazardKind::kMultiplyBeforeInstall:
      return "Multiply before its weights are installed";
    case HazardKind::kAccumulateBeforeProducts:
      return "Accumulate before any product landed";
    case HazardKind::kLinkBusy:
      return "link still serializing";
    case HazardKind::kReceiveBeforeArrival:
      return "Receive before the vector arrived";
    case HazardKind::kReceiveBufferOverflow:
      return "Receive after the port's buffer overflowed";
  }
  return "?";
}

}  // namespace tsp::isa
