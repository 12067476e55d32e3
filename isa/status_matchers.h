#ifndef TSP_ISA_STATUS_MATCHERS_H_
#define TSP_ISA_STATUS_MATCHERS_H_

// GoogleTest matchers for absl::Status that print the message on failure.

#include <ostream>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gmock/gmock.h"

namespace tsp::testing {

inline const absl::Status& GetStatus(const absl::Status& status) { return status; }
template <typename T>
const absl::Status& GetStatus(const absl::StatusOr<T>& status_or) {
  return status_or.status();
}

MATCHER(IsOk, "is OK") {
  const absl::Status& status = GetStatus(arg);
  if (!status.ok()) *result_listener << "status: " << status;
  return status.ok();
}

MATCHER_P2(StatusIs, code, message_matcher, "") {
  const absl::Status& status = GetStatus(arg);
  *result_listener << "status: " << status;
  return status.code() == code &&
         ::testing::ExplainMatchResult(message_matcher, std::string(status.message()),
                                       result_listener);
}

}  // namespace tsp::testing

#define TSP_ASSERT_OK(expr) ASSERT_THAT((expr), ::tsp::testing::IsOk())
#define TSP_EXPECT_OK(expr) EXPECT_THAT((expr), ::tsp::testing::IsOk())

#define TSP_ASSERT_OK_AND_ASSIGN(lhs, rexpr) \
  TSP_ASSERT_OK_AND_ASSIGN_IMPL_(TSP_STATUS_MATCHER_CONCAT_(tsp_or_, __LINE__), lhs, rexpr)
#define TSP_STATUS_MATCHER_CONCAT_INNER_(a, b) a##b
#define TSP_STATUS_MATCHER_CONCAT_(a, b) TSP_STATUS_MATCHER_CONCAT_INNER_(a, b)
#define TSP_ASSERT_OK_AND_ASSIGN_IMPL_(statusor, lhs, rexpr) \
  auto statusor = (rexpr);                                   \
  TSP_ASSERT_OK(statusor);                                   \
  lhs = std::move(statusor).value()

#endif  // TSP_ISA_STATUS_MATCHERS_H_
