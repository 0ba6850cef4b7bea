// SPDX-License-Identifier: BSL-1.0
#include "asio_echo/io_pool.hpp"

#include "asio_echo/log.hpp"

namespace asio_echo {

io_pool::io_pool(std::size_t contexts, std::size_t threads_per_context)
    : threads_per_context_(threads_per_context) {
    for (std::size_t i = 0; i < contexts; ++i) {
        // The concurrency hint lets a single-threaded io_context skip its internal locking.
        int hint = threads_per_context == 1 ? 1 : static_cast<int>(threads_per_context);
        contexts_.push_back(std::make_unique<boost::asio::io_context>(hint));
        guards_.emplace_back(contexts_.back()->get_executor());
    }
}

io_pool::~io_pool() {
    release();
    for (auto& context : contexts_) {
        context->stop();
    }
    join();
}

boost::asio::io_context& io_pool::next_context() {
    return *contexts_[next_.fetch_add(1, std::memory_order_relaxed) % contexts_.size()];
}

void io_pool::start(std::function<void()> on_start) {
    try {
        for (auto& context : contexts_) {
            for (std::size_t t = 0; t < threads_per_context_; ++t) {
                threads_.emplace_back([&context, on_start] {
                    if (on_start) {
                        on_start();
                    }
                    // Handlers report their own errors; anything escaping is a bug we log
                    // and survive rather than let std::terminate end every connection.
                    for (;;) {
                        try {
                            context->run();
                            return;
                        } catch (const std::exception& e) {
                            log(log_level::error, std::string("unexpected exception: ") + e.what());
                        }
                    }
                });
            }
        }
    } catch (...) {
        release();
        for (auto& context : contexts_) {
            context->stop();
        }
        join();
        throw;
    }
}

void io_pool::release() noexcept {
    for (auto& g : guards_) {
        g.reset();
    }
}

void io_pool::join() {
    for (auto& t : threads_) {
        if (t.joinable()) {
            t.join();
        }
    }
    threads_.clear();
}

} // namespace asio_echo
