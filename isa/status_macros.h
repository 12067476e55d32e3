#ifndef TSP_ISA_STATUS_MACROS_H_
#define TSP_ISA_STATUS_MACROS_H_

// Error propagation for absl::Status / absl::StatusOr (Debian's Abseil has no
// macros of its own).

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"

#define TSP_STATUS_CONCAT_INNER_(a, b) a##b
#define TSP_STATUS_CONCAT_(a, b) TSP_STATUS_CONCAT_INNER_(a, b)

// Returns from the enclosing function when `expr` (an absl::Status) is not ok.
#define RETURN_IF_ERROR(expr)                        \
  do {                                               \
    ::absl::Status tsp_status_ = (expr);             \
    if (!tsp_status_.ok()) return tsp_status_;       \
  } while (false)

// `lhs = value of rexpr` (an absl::StatusOr<T>), or returns its error.
#define ASSIGN_OR_RETURN(lhs, rexpr) \
  ASSIGN_OR_RETURN_IMPL_(TSP_STATUS_CONCAT_(tsp_statusor_, __LINE__), lhs, rexpr)

#define ASSIGN_OR_RETURN_IMPL_(statusor, lhs, rexpr) \
  auto statusor = (rexpr);                           \
  if (!statusor.ok()) return statusor.status();      \
  lhs = std::move(statusor).value()

// Returns an internal error naming the broken invariant when `cond` is false.
// For the project's own invariants only; user input gets a specific message.
#define RET_CHECK(cond)                                                        \
  do {                                                                         \
    if (!(cond)) {                                                             \
      return ::absl::InternalError(                                            \
          ::absl::StrCat(__FILE__, ":", __LINE__, ": check failed: " #cond)); \
    }                                                                          \
  } while (false)

#endif  // TSP_ISA_STATUS_MACROS_H_
