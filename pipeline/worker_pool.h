#ifndef TSP_PIPELINE_WORKER_POOL_H_
#define TSP_PIPELINE_WORKER_POOL_H_

// A fixed set of threads that run one batch of independent tasks at a time.
// Task i always runs on thread i % threads, and tasks share no state, so what
// they compute does not depend on the number of threads.

#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace tsp::pipeline {

class WorkerPool {
 public:
  // threads <= 1 runs every batch on the calling thread.
  explicit WorkerPool(int threads);
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Runs task(0) .. task(tasks - 1) and returns when all are done.
  void Run(int tasks, const std::function<void(int)>& task);

 private:
  void Work(int worker);

  int threads_;
  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable start_;
  std::condition_variable done_;
  const std::function<void(int)>* task_ = nullptr;
  int tasks_ = 0;
  long generation_ = 0;
  int running_ = 0;
  bool stopping_ = false;
};

}  // namespace tsp::pipeline

#endif  // TSP_PIPELINE_WORKER_POOL_H_
