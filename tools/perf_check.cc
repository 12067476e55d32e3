// Checks a model's run on a system against bounds (tools/defs.bzl,
// tsp_performance_test): compiles and emulates as `tsp run --model` does,
// requires predicted == emulated, and fails with the measured value beside
// each bound that does not hold.

#include <iostream>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_format.h"
#include "tools/model_command.h"
#include "tools/tsp_request.pb.h"

ABSL_FLAG(std::string, model, "", "a built-in model name or a ModelConfig textproto");
ABSL_FLAG(std::string, system, "", "SystemSpec textproto (default: groq_576)");
ABSL_FLAG(std::string, weights, "int8", "int8 or fp16");
ABSL_FLAG(int64_t, chips, 0, "chips to use (default: the whole system)");
ABSL_FLAG(int64_t, context, 0, "KV cache tokens per user (default: the model's)");
ABSL_FLAG(int64_t, prompt_tokens, 2048, "prompt tokens for the time to first token");
ABSL_FLAG(double, min_tokens_per_s_per_user, 0, "lower bound (0: none)");
ABSL_FLAG(double, max_ttft_s, 0, "upper bound on the time to first token in seconds (0: none)");
ABSL_FLAG(int64_t, max_chips, 0, "upper bound on the chips used (0: none)");
ABSL_FLAG(int64_t, min_concurrent_users, 0, "lower bound on the users whose caches fit (0: none)");

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  tsp::tools::TspRequest request;
  request.set_command("run");
  request.set_model(absl::GetFlag(FLAGS_model));
  request.set_system(absl::GetFlag(FLAGS_system));
  request.set_weights(absl::GetFlag(FLAGS_weights));
  request.set_chips(absl::GetFlag(FLAGS_chips));
  request.set_context(absl::GetFlag(FLAGS_context));
  request.set_prompt_tokens(absl::GetFlag(FLAGS_prompt_tokens));
  absl::StatusOr<tsp::scheduler::RunReport> report = tsp::tools::RunModelReport(request, std::cerr);
  if (!report.ok()) {
    std::cout << "FAILED: " << report.status().message() << "\n";
    return 1;
  }
  int failures = 0;
  auto check = [&](bool holds, const std::string& what) {
    std::cout << (holds ? "ok     " : "FAILED ") << what << "\n";
    failures += holds ? 0 : 1;
  };
  check(report->cycles_per_token_predicted() == report->cycles_per_token_emulated(),
        absl::StrFormat("cycles per token: predicted %d, emulated %d", report->cycles_per_token_predicted(),
                        report->cycles_per_token_emulated()));
  if (const double bound = absl::GetFlag(FLAGS_min_tokens_per_s_per_user); bound > 0) {
    check(report->tokens_per_s_per_user() >= bound,
          absl::StrFormat("tokens/s per user: measured %.2f, bound >= %.2f", report->tokens_per_s_per_user(), bound));
  }
  if (const double bound = absl::GetFlag(FLAGS_max_ttft_s); bound > 0) {
    check(report->ttft_s() <= bound,
          absl::StrFormat("time to first token: measured %.4f s, bound <= %.4f s", report->ttft_s(), bound));
  }
  if (const int64_t bound = absl::GetFlag(FLAGS_max_chips); bound > 0) {
    check(report->chips() <= bound, absl::StrFormat("chips: measured %d, bound <= %d", report->chips(), bound));
  }
  if (const int64_t bound = absl::GetFlag(FLAGS_min_concurrent_users); bound > 0) {
    check(report->concurrent_users() >= bound, absl::StrFormat("concurrent users: measured %d, bound >= %d",
                                                               report->concurrent_users(), bound));
  }
  std::cout << report->model() << " on " << report->chips() << " chips: " << (failures == 0 ? "PASSED" : "FAILED")
            << "\n";
  return failures == 0 ? 0 : 1;
}
