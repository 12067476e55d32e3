#include "pipeline/worker_pool.h"

namespace tsp::pipeline {

WorkerPool::WorkerPool(int threads) : threads_(threads < 1 ? 1 : threads) {
  if (threads_ == 1) return;
  for (int worker = 0; worker < threads_; ++worker) {
    workers_.emplace_back([this, worker] { Work(worker); });
  }
}

WorkerPool::~WorkerPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  start_.notify_all();
  for (std::thread& worker : workers_) worker.join();
}

void WorkerPool::Run(int tasks, const std::function<void(int)>& task) {
  if (threads_ == 1) {
    for (int i = 0; i < tasks; ++i) task(i);
    return;
  }
  std::unique_lock<std::mutex> lock(mutex_);
  task_ = &task;
  tasks_ = tasks;
  running_ = threads_;
  ++generation_;
  start_.notify_all();
  done_.wait(lock, [this] { return running_ == 0; });
  task_ = nullptr;
}

void WorkerPool::Work(int worker) {
  long seen = 0;
  while (true) {
    const std::function<void(int)>* task;
    int tasks;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      start_.wait(lock, [&] { return stopping_ || generation_ != seen; });
      if (stopping_) return;
      seen = generation_;
      task = task_;
      tasks = tasks_;
    }
    for (int i = worker; i < tasks; i += threads_) (*task)(i);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (--running_ == 0) done_.notify_one();
    }
  }
}

}  // namespace tsp::pipeline
