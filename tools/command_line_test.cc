#include "tools/command_line.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "isa/status_matchers.h"
#include "tools/usage_error.h"

namespace tsp::tools {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;
using ::tsp::testing::StatusIs;

CommandLine Parse(const std::vector<std::string>& args) {
  absl::StatusOr<CommandLine> line = ParseCommandLine(args);
  EXPECT_TRUE(line.ok()) << line.status();
  return line.ok() ? *line : CommandLine();
}

// The usage error's message, and that it is one.
std::string Error(const std::vector<std::string>& args) {
  absl::StatusOr<CommandLine> line = ParseCommandLine(args);
  EXPECT_FALSE(line.ok());
  if (line.ok()) return "";
  EXPECT_TRUE(IsUsageError(line.status())) << line.status();
  return std::string(line.status().message());
}

TEST(CommandLineTest, NoArgumentsRunTheDemo) {
  const CommandLine line = Parse({});
  EXPECT_EQ(line.action, CommandLine::Action::kRun);
  EXPECT_EQ(line.request.command(), "");
  EXPECT_EQ(Parse({"--rows=640", "--weights", "fp16"}).request.rows(), 640);
  EXPECT_EQ(Parse({"--rows=640", "--weights", "fp16"}).request.weights(), "fp16");
}

TEST(CommandLineTest, FlagsFillTheRequest) {
  const CommandLine line = Parse({"run", "--model=llama2_70b", "--chips", "576", "-context=4096", "--weights=fp16",
                                  "--format=json", "--set=chip.a=1,system.b=2", "--set=chip.c=3"});
  EXPECT_EQ(line.request.command(), "run");
  EXPECT_EQ(line.request.model(), "llama2_70b");
  EXPECT_EQ(line.request.chips(), 576);
  EXPECT_EQ(line.request.context(), 4096);
  EXPECT_EQ(line.request.weights(), "fp16");
  EXPECT_EQ(line.request.format(), "json");
  ASSERT_EQ(line.request.set_size(), 3);
  EXPECT_EQ(line.request.set(2), "chip.c=3");
  // One flag name, another field per subcommand.
  EXPECT_EQ(Parse({"plan", "--model=x", "--chips=64,128"}).request.chip_counts(), "64,128");
  EXPECT_TRUE(Parse({"plan", "--model=x", "--no_emulate"}).request.no_emulate());
  EXPECT_FALSE(Parse({"plan", "--model=x", "--no_emulate=false"}).request.no_emulate());
  EXPECT_FALSE(Parse({"trace", "--model=x", "--out=a.json"}).request.has_position());
  const CommandLine zero = Parse({"trace", "--model=x", "--out=a.json", "--position=0"});
  EXPECT_TRUE(zero.request.has_position());
  EXPECT_EQ(zero.request.position(), 0);
}

TEST(CommandLineTest, HelpAndVersionInEveryUsualSpelling) {
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{{"help"}, {"--help"}, {"-h"}, {"-help"}}) {
    const CommandLine line = Parse(args);
    EXPECT_EQ(line.action, CommandLine::Action::kHelp);
    EXPECT_EQ(line.request.command(), "");
  }
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {"help", "plan"}, {"plan", "--help"}, {"plan", "-h"}, {"plan", "--model=x", "--help"}}) {
    const CommandLine line = Parse(args);
    EXPECT_EQ(line.action, CommandLine::Action::kHelp);
    EXPECT_EQ(line.request.command(), "plan");
  }
  EXPECT_EQ(Parse({"--version"}).action, CommandLine::Action::kVersion);
  EXPECT_EQ(Parse({"version"}).action, CommandLine::Action::kVersion);
  EXPECT_THAT(Error({"help", "plna"}), HasSubstr("unknown subcommand 'plna'; did you mean 'plan'?"));
}

TEST(CommandLineTest, OverviewListsEverySubcommandOnALine) {
  const std::string help = OverviewHelp();
  for (const std::string& name : SubcommandNames()) EXPECT_THAT(help, HasSubstr("\n  " + name + " ")) << name;
  EXPECT_THAT(help, HasSubstr("2 a usage error"));
}

TEST(CommandLineTest, SubcommandHelpShowsItsOwnFlagsWithDefaults) {
  absl::StatusOr<std::string> plan = SubcommandHelp("plan");
  TSP_ASSERT_OK(plan.status());
  EXPECT_THAT(*plan, HasSubstr("--chips=FIRST:LAST:STEP|A,B,..."));
  EXPECT_THAT(*plan, HasSubstr("(default: 128:2304:8)"));
  EXPECT_THAT(*plan, HasSubstr("--weights=int8,fp16 "));
  EXPECT_THAT(*plan, HasSubstr("--model=NAME|FILE"));
  EXPECT_THAT(*plan, HasSubstr("(required)"));
  // Not the demo's or the trace's flags.
  EXPECT_THAT(*plan, AllOf(Not(HasSubstr("--rows")), Not(HasSubstr("--detail")), Not(HasSubstr("--program"))));
  // run: its two forms, each with its flags.
  absl::StatusOr<std::string> run = SubcommandHelp("run");
  TSP_ASSERT_OK(run.status());
  EXPECT_THAT(*run, HasSubstr("Flags of run --program:"));
  EXPECT_THAT(*run, HasSubstr("Flags of run --model:"));
  EXPECT_THAT(*run, HasSubstr("--chips=N"));
  EXPECT_THAT(*run, HasSubstr("KV cache length per user, in tokens"));
}

TEST(CommandLineTest, UnknownNamesSuggestTheNearest) {
  EXPECT_THAT(Error({"plna"}), HasSubstr("unknown subcommand 'plna'; did you mean 'plan'?"));
  EXPECT_THAT(Error({"run", "--model=x", "--contex=5"}),
              HasSubstr("unknown flag --contex; did you mean 'context'? (tsp run --help lists its flags)"));
  EXPECT_THAT(Error({"run", "--program=p.tsp", "--frobnicate"}), HasSubstr("unknown flag --frobnicate ("));
}

TEST(CommandLineTest, FlagsThatDoNotApplyNameWhereTheyDo) {
  EXPECT_EQ(Error({"fit", "--model=x", "--rows=5"}), "--rows does not apply to fit; it applies to: matvec");
  EXPECT_EQ(Error({"run", "--model=x", "--trace=t.txt"}),
            "--trace does not apply to run --model; it applies to: run --program");
  EXPECT_THAT(Error({"asm", "--program=p", "--chips=8"}), HasSubstr("it applies to: run --model, fit, plan"));
  EXPECT_THAT(Error({"run", "--model=x", "--program=p"}), HasSubstr("not both"));
  EXPECT_THAT(Error({"run"}), HasSubstr("run needs --program=FILE"));
}

TEST(CommandLineTest, ValuesAreCheckedNeverChanged) {
  EXPECT_EQ(Error({"run", "--model=x", "--chips=0"}), "--chips=0: must be at least 1");
  EXPECT_EQ(Error({"run", "--model=x", "--chips=abc"}), "--chips=abc: 'abc' is not a whole number");
  EXPECT_EQ(Error({"run", "--model=x", "--chips=-8"}), "--chips=-8: must be at least 1");
  EXPECT_EQ(Error({"compare", "--model=x", "--efficiency=1.5"}), "--efficiency=1.5: must be at most 1");
  EXPECT_EQ(Error({"run", "--model=x", "--weights=int4"}), "--weights=int4: 'int4' is not one of: int8, fp16; did you mean 'int8'?");
  EXPECT_EQ(Error({"plan", "--model=x", "--weights=int8,fp61"}),
            "--weights=int8,fp61: 'fp61' is not one of: int8, fp16; did you mean 'fp16'?");
  EXPECT_EQ(Error({"plan", "--model=x", "--format=xml"}), "--format=xml: 'xml' is not one of: table, csv, json");
  EXPECT_EQ(Error({"run", "--model=x", "--mode=fast"}), "--mode=fast: 'fast' is not one of: timing, functional");
  EXPECT_EQ(Error({"plan", "--model=x", "--no_emulate=maybe"}),
            "--no_emulate=maybe: 'maybe' is not true or false (or give --no_emulate alone)");
  EXPECT_EQ(Error({"run", "--model=x", "--chips=8", "--chips=16"}), "--chips is given twice; give it once");
  EXPECT_EQ(Error({"run", "--model=x", "--chips"}), "--chips needs a value (--chips=...)");
}

TEST(CommandLineTest, RequiredFlagsAndStrayWords) {
  EXPECT_EQ(Error({"fit"}), "fit needs --model=NAME|FILE (a built-in model (llama2_70b, llama3_8b, mixtral_8x7b, "
                            "tiny_dense, ...) or a ModelConfig textproto)");
  EXPECT_THAT(Error({"trace", "--model=x"}), HasSubstr("trace needs --out=FILE"));
  EXPECT_THAT(Error({"sweep", "--model=x", "--field=chip.a"}), HasSubstr("sweep needs --values=A,B,..."));
  EXPECT_THAT(Error({"plan", "llama2_70b"}), HasSubstr("expected one subcommand, got 'plan' 'llama2_70b'"));
}

// The commit (or "unknown" outside a git checkout) and the compilation mode
// as the version's own file was compiled: Bazel's mode, whether optimized
// (the compiler's __OPTIMIZE__; .bazelrc optimizes our sources even in
// fastbuild) and whether assertions are on.
TEST(CommandLineTest, VersionSaysTheBuildMode) {
  EXPECT_THAT(VersionText(),
              ::testing::MatchesRegex("tsp unreleased, commit ([0-9a-f]+(-dirty)? \\([0-9-]+\\)|unknown), "
                                      "(fastbuild|dbg|opt) \\((not )?optimized, assertions (on|off)[^)]*\\) build\n"));
}

}  // namespace
}  // namespace tsp::tools
