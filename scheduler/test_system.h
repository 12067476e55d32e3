#ifndef TSP_SCHEDULER_TEST_SYSTEM_H_
#define TSP_SCHEDULER_TEST_SYSTEM_H_

// The default chip and the default system cut to `nodes` nodes, for tests.

#include <memory>

#include "isa/chip_model.h"
#include "isa/spec_loader.h"
#include "pipeline/system_model.h"
#include "pipeline/topology.h"

namespace tsp::scheduler {

struct TestSystem {
  std::unique_ptr<isa::ChipModel> chip;
  std::unique_ptr<pipeline::SystemModel> system;
  std::unique_ptr<pipeline::Topology> topology;
};

// Aborts on a broken checkout (the specs are data of every test using it).
inline TestSystem MakeTestSystem(int nodes) {
  TestSystem t;
  t.chip = std::make_unique<isa::ChipModel>(*isa::DefaultChipModel());
  pipeline::SystemSpec spec;
  if (!pipeline::LoadSystemSpec(pipeline::kDefaultSystemName, &spec).ok()) std::abort();
  spec.mutable_nodes()->set_value(nodes);
  t.system = std::make_unique<pipeline::SystemModel>(*pipeline::SystemModel::Create(spec, *t.chip));
  t.topology = std::make_unique<pipeline::Topology>(*pipeline::Topology::Create(*t.system, *t.chip));
  return t;
}

// A fixture holding such a system; Build(nodes) makes it.
template <typename Base>
class SystemFixture : public Base {
 protected:
  void Build(int nodes) {
    system_under_test_ = MakeTestSystem(nodes);
    chip_ = system_under_test_.chip.get();
    system_ = system_under_test_.system.get();
    topology_ = system_under_test_.topology.get();
  }
  TestSystem system_under_test_;
  const isa::ChipModel* chip_ = nullptr;
  const pipeline::SystemModel* system_ = nullptr;
  const pipeline::Topology* topology_ = nullptr;
};

}  // namespace tsp::scheduler

#endif  // TSP_SCHEDULER_TEST_SYSTEM_H_
