// SPDX-License-Identifier: BSL-1.0
// systemd::notifier in-process: the datagram a service manager receives on a path socket and
// on an abstract one, the disabled case, and the watchdog settings read from the environment.
#define BOOST_TEST_MODULE notify
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <cstdlib>
#include <string>

#include <unistd.h>

#include "asio_echo/errors.hpp"
#include "asio_echo/systemd/notify.hpp"
#include "sd_helpers.hpp"

using namespace asio_echo::test::sd;
using asio_echo::systemd::notifier;
using namespace std::chrono_literals;

namespace {

/// Sets or unsets the sd_notify variables for one test and restores "unset" afterwards (no
/// test in this module runs with them set by the caller).
struct notify_env {
    notify_env(const char* socket, const char* usec, const char* pid) {
        set("NOTIFY_SOCKET", socket);
        set("WATCHDOG_USEC", usec);
        set("WATCHDOG_PID", pid);
    }
    ~notify_env() {
        ::unsetenv("NOTIFY_SOCKET");
        ::unsetenv("WATCHDOG_USEC");
        ::unsetenv("WATCHDOG_PID");
    }
    static void set(const char* name, const char* value) {
        if (value) {
            ::setenv(name, value, 1);
        } else {
            ::unsetenv(name);
        }
    }
};

std::string abstract_name() {
    return "@asio-echo-notify-test-" + std::to_string(::getpid());
}

} // namespace

BOOST_AUTO_TEST_CASE(path_socket_receives_exactly_the_state_sent) {
    temp_dir dir;
    notify_listener manager(dir.path() + "/notify");
    notifier notify(manager.address());
    BOOST_TEST(notify.enabled());
    BOOST_TEST(notify.notify("READY=1\nSTATUS=serving"));
    BOOST_TEST(manager.receive(5s).value_or("<none>") == "READY=1\nSTATUS=serving");
    BOOST_TEST(notify.notify("WATCHDOG=1"));
    BOOST_TEST(manager.receive(5s).value_or("<none>") == "WATCHDOG=1");
}

BOOST_AUTO_TEST_CASE(abstract_socket_receives_exactly_the_state_sent) {
    notify_listener manager(abstract_name());
    notifier notify(manager.address());
    BOOST_TEST(notify.enabled());
    BOOST_TEST(notify.notify("STOPPING=1"));
    BOOST_TEST(manager.receive(5s).value_or("<none>") == "STOPPING=1");
}

BOOST_AUTO_TEST_CASE(environment_names_the_socket) {
    notify_listener manager(abstract_name() + "-env");
    notify_env env(manager.address().c_str(), nullptr, nullptr);
    notifier notify;
    BOOST_TEST(notify.enabled());
    BOOST_TEST(notify.notify("READY=1"));
    BOOST_TEST(manager.receive(5s).value_or("<none>") == "READY=1");
    BOOST_TEST(!notify.watchdog_interval().has_value());
}

BOOST_AUTO_TEST_CASE(without_notify_socket_it_is_disabled_and_notify_returns_false) {
    notify_env env(nullptr, "200000", nullptr);
    notifier from_env;
    BOOST_TEST(!from_env.enabled());
    BOOST_TEST(!from_env.notify("READY=1"));
    notifier empty{std::string()};
    BOOST_TEST(!empty.enabled());
    BOOST_TEST(!empty.notify("READY=1"));
}

BOOST_AUTO_TEST_CASE(a_vanished_manager_makes_notify_return_false) {
    temp_dir dir;
    auto path = dir.path() + "/gone";
    std::optional<notifier> notify;
    {
        notify_listener manager(path);
        notify.emplace(manager.address());
    }
    BOOST_TEST(notify->enabled());
    BOOST_TEST(!notify->notify("READY=1"));
}

BOOST_AUTO_TEST_CASE(relative_or_overlong_socket_names_are_refused) {
    BOOST_CHECK_THROW(notifier{std::string("relative/notify")}, asio_echo::usage_error);
    BOOST_CHECK_THROW(notifier{"/" + std::string(200, 'x')}, asio_echo::usage_error);
}

BOOST_AUTO_TEST_CASE(watchdog_is_half_of_watchdog_usec_when_watchdog_pid_is_unset) {
    notify_env env("@unused", "200000", nullptr);
    notifier notify;
    BOOST_REQUIRE(notify.watchdog_interval().has_value());
    BOOST_TEST(notify.watchdog_interval()->count() == 100000);
}

BOOST_AUTO_TEST_CASE(watchdog_applies_when_watchdog_pid_is_ours) {
    auto own = std::to_string(::getpid());
    notify_env env("@unused", "3000000", own.c_str());
    notifier notify;
    BOOST_REQUIRE(notify.watchdog_interval().has_value());
    BOOST_TEST(notify.watchdog_interval()->count() == 1500000);
}

BOOST_AUTO_TEST_CASE(watchdog_is_off_when_watchdog_pid_is_another_process) {
    auto other = std::to_string(::getpid() + 1);
    notify_env env("@unused", "200000", other.c_str());
    notifier notify;
    BOOST_TEST(!notify.watchdog_interval().has_value());
}

BOOST_AUTO_TEST_CASE(watchdog_is_off_when_watchdog_usec_is_unset_zero_or_malformed) {
    for (const char* usec : {static_cast<const char*>(nullptr), "0", "", "12x", "-5"}) {
        notify_env env("@unused", usec, nullptr);
        notifier notify;
        BOOST_TEST(!notify.watchdog_interval().has_value(),
                   "WATCHDOG_USEC=" << (usec ? usec : "unset"));
    }
}

BOOST_AUTO_TEST_CASE(a_tiny_watchdog_usec_gives_at_least_a_millisecond) {
    // WATCHDOG_USEC=1 must not make the server's status loop spin with a zero period.
    notify_env env("@unused", "1", nullptr);
    notifier notify;
    BOOST_REQUIRE(notify.watchdog_interval().has_value());
    BOOST_TEST(notify.watchdog_interval()->count() == 1000);
}
