// SPDX-License-Identifier: BSL-1.0
#pragma once
// The threads and io_contexts that run everything: either one io_context per thread
// (shared-nothing, like muduo's EventLoopThreadPool or Asio's server2 example) or one
// io_context run by every thread.

#include <atomic>
#include <cstddef>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

namespace asio_echo {

/// Owns the io_contexts and their threads.
class io_pool {
public:
    /// contexts io_contexts, each run by threads_per_context threads once start() is called.
    io_pool(std::size_t contexts, std::size_t threads_per_context);
    ~io_pool();
    io_pool(const io_pool&) = delete;
    io_pool& operator=(const io_pool&) = delete;

    /// The number of io_contexts. Thread safe.
    std::size_t size() const noexcept { return contexts_.size(); }

    /// The i-th io_context. Thread safe.
    boost::asio::io_context& context(std::size_t i) { return *contexts_[i]; }

    /// True when one io_context is run by several threads, so per-connection work must be
    /// serialised on a strand. Thread safe.
    bool shared() const noexcept { return threads_per_context_ > 1; }

    /// The io_context for a new connection: the next one round-robin. Thread safe.
    boost::asio::io_context& next_context();

    /// Starts the threads; each calls on_start (if given) before it runs its io_context.
    /// Throws std::system_error when a thread cannot be created (the threads already
    /// started are stopped and joined first). Not thread safe.
    void start(std::function<void()> on_start = {});

    /// Lets the threads return once their io_context runs out of work. Thread safe.
    void release() noexcept;

    /// Waits for every thread to return. Not thread safe; not from a pool thread.
    void join();

private:
    using guard = boost::asio::executor_work_guard<boost::asio::io_context::executor_type>;

    std::vector<std::unique_ptr<boost::asio::io_context>> contexts_; ///< one per shard
    std::vector<guard> guards_;        ///< keep run() going until release()
    std::vector<std::thread> threads_; ///< threads_per_context_ per io_context
    std::size_t threads_per_context_;  ///< 1 except for the shared model
    std::atomic<std::size_t> next_{0}; ///< round-robin cursor
};

} // namespace asio_echo
