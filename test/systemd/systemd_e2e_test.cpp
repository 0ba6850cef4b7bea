// SPDX-License-Identifier: BSL-1.0
// End to end under a real systemd: a minimal Debian 12 booted with `systemd-nspawn -b`, the
// packages dpkg-buildpackage built installed in it with dpkg, and, from the host, what a user
// checks: echo over TCP and UDP on port 7, the package's own autopkgtest, the exposure
// systemd-analyze gives both services, the live status, the journal, reload, restart, an
// upgrade, the proxy socket, the watchdog restarting a frozen service, the standalone service
// taking over from the socket and back, and dpkg -r taking it all away. The container shares the
// host's network, so its port 7 is this host's.
//
// The root file system is made once with debootstrap (systemd, dbus and the Boost runtime
// the packages depend on) from the Debian mirror in this host's apt sources (or
// $ASIO_ECHO_E2E_MIRROR), and cached outside the build tree in
// ${ASIO_ECHO_E2E_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/asio-echo}/bookworm-rootfs. Each run
// boots it as a volatile overlay, so the cached tree is never written to. Commands inside
// run through nsenter into the namespaces of the container's PID 1.
//
// Skipped with a message when not root, when debootstrap, systemd-nspawn or nsenter is
// missing, when no user namespace can be made (as in a chroot: PrivateUsers=yes would fail
// in the container), or when port 7 is taken on this host. Every wait has a deadline; the
// container is powered off at the end, and ended by PID if it hangs.
#define BOOST_TEST_MODULE systemd_e2e
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <map>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include <poll.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include "child_process.hpp"
#include "net.hpp"
#include "package_layout.hpp"
#include "sd_helpers.hpp"
#include "test_pki.hpp"
#include "tls_peer.hpp"

using namespace asio_echo::test;
using namespace asio_echo::test::sd;
using namespace std::chrono_literals;
namespace fs = std::filesystem;
using steady = std::chrono::steady_clock;

namespace {

const std::string binary_dir = PROJECT_BINARY_DIR;
#ifdef ECHO_CLIENT_PATH
const std::string client_path = ECHO_CLIENT_PATH;
#else
const std::string client_path; // echo-client is not built in this tree: the test skips
#endif
const std::string suite = "bookworm";
const std::string package = "asio-echo";
const std::string client_package = "asio-echo-client";

/// A short pause between two checks of a condition polled against a deadline.
void pause_between_checks() {
    ::poll(nullptr, 0, 100);
}

/// Checks condition until it holds (true) or the deadline passes (false).
template <class Condition>
bool eventually(std::chrono::milliseconds timeout, Condition condition) {
    auto deadline = steady::now() + timeout;
    for (;;) {
        if (condition()) {
            return true;
        }
        if (steady::now() >= deadline) {
            return false;
        }
        pause_between_checks();
    }
}

double seconds_since(steady::time_point start) {
    return std::chrono::duration<double>(steady::now() - start).count();
}

/// Seconds with one decimal, for the messages.
std::string seconds_text(double seconds) {
    std::ostringstream text;
    text << std::fixed << std::setprecision(1) << seconds << " s";
    return text.str();
}

std::string trimmed(std::string text) {
    text.erase(text.find_last_not_of(" \t\n") + 1);
    text.erase(0, text.find_first_not_of(" \t\n"));
    return text;
}

std::vector<std::string> words(const std::string& text) {
    std::istringstream in(text);
    std::vector<std::string> result;
    for (std::string word; in >> word;) {
        result.push_back(word);
    }
    return result;
}

/// A tool debootstrap and systemd-container install in sbin, found there too when $PATH
/// lacks it (as for a user who is not root).
std::optional<std::string> find_tool(const std::string& name) {
    if (auto found = find_program(name)) {
        return found;
    }
    for (const char* dir : {"/usr/sbin/", "/sbin/"}) {
        if (::access((dir + name).c_str(), X_OK) == 0) {
            return dir + name;
        }
    }
    return std::nullopt;
}

//----------------------------------------------------------------------------------------------
// The Debian mirror and the cached root file system.

bool is_mirror_uri(const std::string& uri) {
    return uri.rfind("http://", 0) == 0 || uri.rfind("https://", 0) == 0 ||
           uri.rfind("file:/", 0) == 0;
}

/// The first URI of a one-line source ("deb [options] URI SUITE COMPONENT...") for suite.
std::optional<std::string> mirror_in_list(const std::string& text) {
    std::istringstream lines(text);
    for (std::string line; std::getline(lines, line);) {
        line = line.substr(0, line.find('#'));
        if (auto open = line.find('['); open != std::string::npos) {
            line.erase(open, line.find(']', open) - open + 1);
        }
        auto w = words(line);
        if (w.size() >= 3 && w[0] == "deb" && w[2] == suite && is_mirror_uri(w[1])) {
            return w[1];
        }
    }
    return std::nullopt;
}

/// The first URI of a deb822 stanza (Types: deb, Suites: holding suite, not Enabled: no).
std::optional<std::string> mirror_in_sources(const std::string& text) {
    std::vector<std::map<std::string, std::string>> stanzas(1);
    std::string last_key;
    std::istringstream lines(text);
    for (std::string line; std::getline(lines, line);) {
        if (!line.empty() && line.front() == '#') {
            continue;
        }
        if (trimmed(line).empty()) {
            stanzas.emplace_back();
            continue;
        }
        if (line.front() == ' ' || line.front() == '\t') {
            stanzas.back()[last_key] += " " + trimmed(line); // a continuation line
            continue;
        }
        auto colon = line.find(':');
        if (colon == std::string::npos) {
            continue;
        }
        last_key = line.substr(0, colon);
        std::transform(last_key.begin(), last_key.end(), last_key.begin(),
                       [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
        stanzas.back()[last_key] = trimmed(line.substr(colon + 1));
    }
    for (auto& stanza : stanzas) {
        auto types = words(stanza["types"]);
        auto suites = words(stanza["suites"]);
        auto uris = words(stanza["uris"]);
        if (trimmed(stanza["enabled"]) != "no" &&
            std::find(types.begin(), types.end(), "deb") != types.end() &&
            std::find(suites.begin(), suites.end(), suite) != suites.end() && !uris.empty() &&
            is_mirror_uri(uris.front())) {
            return uris.front();
        }
    }
    return std::nullopt;
}

/// $ASIO_ECHO_E2E_MIRROR, else the first Debian mirror for the suite in this host's apt
/// sources (sources.list, then sources.list.d/*.list and *.sources in name order).
std::optional<std::string> debian_mirror() {
    if (const char* mirror = std::getenv("ASIO_ECHO_E2E_MIRROR"); mirror && *mirror) {
        return std::string(mirror);
    }
    std::vector<fs::path> files{"/etc/apt/sources.list"};
    std::vector<fs::path> parts;
    std::error_code ignored;
    for (const auto& entry : fs::directory_iterator("/etc/apt/sources.list.d", ignored)) {
        parts.push_back(entry.path());
    }
    std::sort(parts.begin(), parts.end());
    files.insert(files.end(), parts.begin(), parts.end());
    for (const auto& file : files) {
        if (!fs::is_regular_file(file, ignored)) {
            continue;
        }
        auto text = read_file(file.string());
        auto found = file.extension() == ".sources" ? mirror_in_sources(text)
                     : file.extension() == ".list" || file.filename() == "sources.list"
                         ? mirror_in_list(text)
                         : std::nullopt;
        if (found) {
            return found;
        }
    }
    return std::nullopt;
}

/// ${ASIO_ECHO_E2E_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/asio-echo}; nothing without any.
std::optional<std::string> cache_dir() {
    auto env = [](const char* name) -> std::string {
        const char* value = std::getenv(name);
        return value ? value : "";
    };
    if (!env("ASIO_ECHO_E2E_CACHE").empty()) {
        return env("ASIO_ECHO_E2E_CACHE");
    }
    if (!env("XDG_CACHE_HOME").empty()) {
        return env("XDG_CACHE_HOME") + "/asio-echo";
    }
    if (!env("HOME").empty()) {
        return env("HOME") + "/.cache/asio-echo";
    }
    return std::nullopt;
}

/// The Boost runtime packages in a Depends field ("libboost-x1.81.0 (>= 1.81.0), libc6 ...").
std::vector<std::string> boost_packages(const std::string& depends) {
    std::vector<std::string> result;
    std::istringstream items(depends);
    for (std::string item; std::getline(items, item, ',');) {
        auto first = words(item.substr(0, item.find('|')));
        if (!first.empty() && first.front().rfind("libboost", 0) == 0) {
            result.push_back(first.front());
        }
    }
    return result;
}

/// Which of packages the root file system at root lacks (all of them when it has no dpkg
/// database).
std::vector<std::string> missing_packages(const std::string& root,
                                          const std::vector<std::string>& packages) {
    std::string names;
    for (const auto& name : packages) {
        names += " " + sh_quoted(name);
    }
    auto query = run_shell("exec dpkg-query --admindir=" + sh_quoted(root + "/var/lib/dpkg") +
                               " -W -f='${Package} ${Status}\\n'" + names + " 2>/dev/null",
                           30s);
    std::vector<std::string> missing;
    for (const auto& name : packages) {
        if (query.out.find(name + " install ok installed\n") == std::string::npos) {
            missing.push_back(name);
        }
    }
    return missing;
}

/// Mount points at or below path (debootstrap mounts /proc and /sys in its target while it
/// works, and leaves them when it is ended midway).
std::vector<std::string> mounts_under(const std::string& path) {
    std::vector<std::string> result;
    std::ifstream mountinfo("/proc/self/mountinfo");
    for (std::string line; std::getline(mountinfo, line);) {
        auto w = words(line);
        if (w.size() < 5) {
            continue;
        }
        std::string point; // octal escapes (\040 for a space) undone
        for (std::size_t i = 0; i < w[4].size(); ++i) {
            if (w[4][i] == '\\' && i + 3 < w[4].size()) {
                point += static_cast<char>(std::stoi(w[4].substr(i + 1, 3), nullptr, 8));
                i += 3;
            } else {
                point += w[4][i];
            }
        }
        if (point == path || point.rfind(path + "/", 0) == 0) {
            result.push_back(point);
        }
    }
    return result;
}

/// Removes a tree that debootstrap made: first detaches what is still mounted below it, and
/// deletes nothing while anything stays mounted there (never a file through a mount).
void remove_tree(const std::string& path) {
    auto mounted = mounts_under(path);
    std::sort(mounted.rbegin(), mounted.rend()); // deepest first
    for (const auto& point : mounted) {
        ::umount2(point.c_str(), MNT_DETACH);
    }
    if (!mounts_under(path).empty()) {
        BOOST_TEST_MESSAGE("left " << path << " in place: something is still mounted below it");
        return;
    }
    std::error_code ignored;
    fs::remove_all(path, ignored);
}

/// Removes a folder at destruction unless released.
struct tree_guard {
    std::string path;
    ~tree_guard() {
        if (!path.empty()) {
            remove_tree(path);
        }
    }
};

/// The cached root file system with systemd and packages, made now with debootstrap when
/// missing or lacking a package: into a sibling temporary folder (mode 0755: a 0700 root
/// makes every unprivileged service fail with 200/CHDIR), then renamed into place at once.
std::string cached_root_fs(const std::string& cache, const std::vector<std::string>& packages,
                           const std::string& log) {
    auto root = cache + "/" + suite + "-rootfs";
    auto usable = [&] {
        return fs::exists(root + "/usr/lib/systemd/systemd") &&
               missing_packages(root, packages).empty();
    };
    if (usable()) {
        BOOST_TEST_MESSAGE("root file system: " << root << " (cached)");
        return root;
    }
    auto mirror = debian_mirror();
    BOOST_REQUIRE_MESSAGE(mirror, "no Debian mirror for "
                                      << suite << " in /etc/apt/sources.list{,.d/*}: set "
                                      << "ASIO_ECHO_E2E_MIRROR to one");
    fs::create_directories(cache);
    std::string pattern = root + ".new-XXXXXX";
    BOOST_REQUIRE_MESSAGE(::mkdtemp(pattern.data()),
                          "mkdtemp " << pattern << ": " << std::strerror(errno));
    tree_guard fresh{pattern};
    fs::permissions(pattern, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                                 fs::perms::others_read | fs::perms::others_exec);

    std::string include = "systemd,systemd-sysv,dbus";
    for (const auto& name : packages) {
        include += "," + name;
    }
    BOOST_TEST_MESSAGE("making the root file system (once): debootstrap --variant=minbase "
                       << "--include=" << include << " " << suite << " into " << root << " from "
                       << *mirror);
    auto start = steady::now();
    auto debootstrap = run_shell("exec " + sh_quoted(*find_tool("debootstrap")) +
                                     " --variant=minbase --include=" + sh_quoted(include) + " " +
                                     suite + " " + sh_quoted(pattern) + " " + sh_quoted(*mirror) +
                                     " >" + sh_quoted(log) + " 2>&1",
                                 420s);
    auto output = read_file(log);
    BOOST_REQUIRE_MESSAGE(debootstrap.code == 0,
                          "debootstrap exited "
                              << debootstrap.code << ":\n"
                              << output.substr(output.size() > 4000 ? output.size() - 4000 : 0));
    BOOST_TEST_MESSAGE("debootstrap took " << seconds_text(seconds_since(start)));

    // Into place: a stale tree (without a package) moves aside first. Another run that
    // renamed its own tree in meanwhile wins; this one is then dropped.
    if (fs::exists(root)) {
        std::string aside = root + ".old-XXXXXX";
        BOOST_REQUIRE(::mkdtemp(aside.data()));
        fs::rename(root, aside + "/rootfs");
        tree_guard old{aside};
    }
    std::error_code renamed;
    fs::rename(pattern, root, renamed);
    if (!renamed) {
        fresh.path.clear();
    }
    BOOST_REQUIRE_MESSAGE(usable(), root << " lacks systemd or one of the packages");
    return root;
}

//----------------------------------------------------------------------------------------------
// The container.

/// A container booted by systemd-nspawn from root as a volatile overlay (the tree itself is
/// never written), its output in log. The container's PID 1 is nspawn's child. At
/// destruction, if it still runs: SIGTERM to nspawn (which halts the container), then SIGKILL
/// to the container's PID 1 (which ends everything in it) and to nspawn, each by its PID,
/// each with a deadline. Not thread safe.
class booted_container {
public:
    booted_container(const std::string& root, const std::string& name, const std::string& log)
        : nspawn_("/bin/sh", nspawn_command(root, name, log)), log_(log) {}

    /// Waits until nspawn's child, the container's PID 1, runs systemd; false at the
    /// deadline. nspawn forks it, and it then executes systemd.
    bool find_leader(std::chrono::milliseconds timeout) {
        return eventually(timeout, [&] {
            for (pid_t child : nspawn_children()) {
                std::ifstream comm("/proc/" + std::to_string(child) + "/comm");
                std::string name;
                if (comm >> name && name == "systemd") {
                    leader_ = child;
                    return true;
                }
            }
            return false;
        });
    }

    ~booted_container() {
        if (nspawn_.wait_exit(0ms)) {
            return;
        }
        nspawn_.send_signal(SIGTERM);
        if (nspawn_.wait_exit(30s)) {
            return;
        }
        // Still nspawn's child, so the PID is still the container's PID 1.
        auto children = nspawn_children();
        if (leader_ > 0 && std::find(children.begin(), children.end(), leader_) != children.end()) {
            BOOST_TEST_MESSAGE("the container did not halt within 30 s; killing its PID 1 "
                               << leader_);
            ::kill(leader_, SIGKILL);
        }
        nspawn_.wait_exit(10s); // else child_process kills nspawn by its PID
    }

    booted_container(const booted_container&) = delete;
    booted_container& operator=(const booted_container&) = delete;

    /// The container's PID 1, as this host numbers it.
    pid_t leader() const { return leader_; }

    /// A path inside the container, as this host reaches it.
    std::string path(const std::string& inside) const {
        return "/proc/" + std::to_string(leader_) + "/root" + inside;
    }

    /// Runs a command inside the container (nsenter into the namespaces, root and working
    /// folder of its PID 1) with a clean environment; throws when it does not finish.
    run_result run(const std::vector<std::string>& command,
                   std::chrono::milliseconds timeout = 60s) const {
        std::vector<std::string> args{"--target",
                                      std::to_string(leader_),
                                      "--all",
                                      "--root",
                                      "--wd",
                                      "--",
                                      "/usr/bin/env",
                                      "-i",
                                      "PATH=/usr/sbin:/usr/bin:/sbin:/bin",
                                      "LC_ALL=C",
                                      "SYSTEMD_COLORS=0",
                                      "SYSTEMD_PAGER="};
        args.insert(args.end(), command.begin(), command.end());
        child_process child(*find_tool("nsenter"), args);
        auto code = child.wait_exit(timeout);
        if (!code) {
            std::string line;
            for (const auto& word : command) {
                line += " " + word;
            }
            throw std::runtime_error("in the container, did not finish within " +
                                     std::to_string(timeout.count() / 1000) + " s:" + line);
        }
        return {*code, child.out(), child.err()};
    }

    /// One property of a unit (`systemctl show -p NAME --value UNIT`).
    std::string property(const std::string& unit, const std::string& name) const {
        return trimmed(run({"systemctl", "show", "-p", name, "--value", unit}).out);
    }

    /// Waits for nspawn to exit; its exit code, or nothing at the deadline.
    std::optional<int> wait_exit(std::chrono::milliseconds timeout) {
        return nspawn_.wait_exit(timeout);
    }

    /// nspawn's output so far.
    std::string log() const {
        try {
            return read_file(log_);
        } catch (const std::exception&) {
            return "";
        }
    }

private:
    std::vector<pid_t> nspawn_children() const {
        auto pid = std::to_string(nspawn_.pid());
        std::ifstream list("/proc/" + pid + "/task/" + pid + "/children");
        std::vector<pid_t> children;
        for (pid_t child; list >> child;) {
            children.push_back(child);
        }
        return children;
    }

    static std::vector<std::string> nspawn_command(const std::string& root, const std::string& name,
                                                   const std::string& log) {
        // sh only redirects the output to the log and execs: the child's PID is nspawn's.
        std::vector<std::string> args{
            "-c", "exec \"$@\" >\"$0\" 2>&1", log, *find_tool("systemd-nspawn"), "--boot",
            "--directory=" + root, "--volatile=overlay", "--machine=" + name,
            // No machined, and the container's output to the log, not a terminal.
            "--register=no", "--link-journal=no", "--console=pipe"};
        // Without systemd on this host there is no manager to ask for a scope unit: the
        // container stays in this process's cgroup.
        if (!fs::exists("/run/systemd/system")) {
            args.push_back("--keep-unit");
        }
        return args;
    }

    child_process nspawn_;
    std::string log_;
    pid_t leader_ = -1;
};

//----------------------------------------------------------------------------------------------
// What a user sees from the host.

/// echo-client against 127.0.0.1:7 (UDP with --udp among args); its result.
run_result echo_client(const std::vector<std::string>& args) {
    std::vector<std::string> all{"--connect", "127.0.0.1:7"};
    all.insert(all.end(), args.begin(), args.end());
    return run_program(client_path, all);
}

/// Echoes message over TCP and over UDP on port 7; checks the exact replies.
void check_echo(const std::string& message) {
    auto tcp = echo_client({"--timeout", "5", message});
    BOOST_TEST(tcp.code == 0, "tcp: " << tcp.err);
    BOOST_TEST(tcp.out == message + "\n");
    auto udp = echo_client({"--udp", "--timeout", "1", "--retries", "4", message});
    BOOST_TEST(udp.code == 0, "udp: " << udp.err);
    BOOST_TEST(udp.out == message + "\n");
}

/// The counters in the service's StatusText.
struct status_figures {
    long active = -1, accepted = -1, datagrams = -1, bytes = -1;
};

std::optional<status_figures> parse_status(const std::string& text) {
    static const std::regex figures(
        R"((\d+) active connections, (\d+) accepted, (\d+) datagrams, (\d+) bytes echoed)");
    std::smatch m;
    if (!std::regex_search(text, m, figures)) {
        return std::nullopt;
    }
    return status_figures{std::stol(m[1]), std::stol(m[2]), std::stol(m[3]), std::stol(m[4])};
}

/// A journal entry's MESSAGE and PRIORITY (from `journalctl -o json`; no nested quotes
/// in the lines read here).
struct journal_entry {
    std::string message;
    std::string priority;
};

std::string json_field(const std::string& object, const std::string& name) {
    auto key = "\"" + name + "\":\"";
    auto at = object.find(key);
    if (at == std::string::npos) {
        return "";
    }
    at += key.size();
    return object.substr(at, object.find('"', at) - at);
}

std::vector<journal_entry> journal(const booted_container& box,
                                   const std::string& unit = "echo-server") {
    auto out = box.run({"journalctl", "-u", unit, "-o", "json", "--output-fields=MESSAGE,PRIORITY",
                        "--no-pager"})
                   .out;
    std::vector<journal_entry> entries;
    std::istringstream lines(out);
    for (std::string line; std::getline(lines, line);) {
        entries.push_back({json_field(line, "MESSAGE"), json_field(line, "PRIORITY")});
    }
    return entries;
}

bool journal_has(const booted_container& box, const std::string& message_part) {
    auto entries = journal(box);
    return std::any_of(entries.begin(), entries.end(), [&](const journal_entry& e) {
        return e.message.find(message_part) != std::string::npos;
    });
}

/// The overall exposure `systemd-analyze security` gives a loaded unit in the box.
std::optional<double> exposure(const booted_container& box, const std::string& unit) {
    auto analyze = box.run({"systemd-analyze", "security", "--no-pager", unit}, 60s);
    auto line = "Overall exposure level for " + unit + ": ";
    auto at = analyze.out.find(line);
    if (at == std::string::npos) {
        BOOST_TEST_MESSAGE("systemd-analyze security " << unit << ":\n"
                                                       << analyze.out << analyze.err);
        return std::nullopt;
    }
    return std::stod(analyze.out.substr(at + line.size()));
}

/// A systemd time span ("10s", "1min 30s", "500ms") in milliseconds.
std::chrono::milliseconds parse_timespan(const std::string& text) {
    static const std::regex part(R"((\d+)(us|ms|s|min|h))");
    std::chrono::milliseconds total{0};
    for (std::sregex_iterator it(text.begin(), text.end(), part), end; it != end; ++it) {
        long n = std::stol((*it)[1]);
        auto unit = (*it)[2].str();
        total += unit == "us"    ? std::chrono::milliseconds(n / 1000)
                 : unit == "ms"  ? std::chrono::milliseconds(n)
                 : unit == "s"   ? std::chrono::milliseconds(n * 1000)
                 : unit == "min" ? std::chrono::milliseconds(n * 60000)
                                 : std::chrono::milliseconds(n * 3600000);
    }
    return total;
}

/// The errno of unshare(CLONE_NEWUSER) in a child of this process; 0 when it succeeds. The
/// container inherits what the kernel decides here: the shipped echo-server.service has
/// PrivateUsers=yes, which systemd sets up with exactly that call.
int user_namespace_errno() {
    pid_t child = ::fork();
    if (child < 0) {
        return errno;
    }
    if (child == 0) {
        ::_exit(::unshare(CLONE_NEWUSER) == 0 ? 0 : errno);
    }
    int status = 0;
    while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : EINVAL;
}

/// Skips (with a message) unless this host can boot the container and give it port 7.
bool host_can_boot_a_container() {
    if (client_path.empty()) {
        BOOST_TEST_MESSAGE("skipped: echo-client is not built in this tree");
        return false;
    }
    if (::geteuid() != 0) {
        BOOST_TEST_MESSAGE("skipped: booting a container needs root");
        return false;
    }
    for (const char* tool :
         {"debootstrap", "systemd-nspawn", "nsenter", "dpkg-deb", "dpkg-query"}) {
        if (!find_tool(tool)) {
            BOOST_TEST_MESSAGE("skipped: " << tool << " is not installed (Debian packages "
                                           << "debootstrap, systemd-container, util-linux)");
            return false;
        }
    }
    if (int error = user_namespace_errno()) {
        BOOST_TEST_MESSAGE("skipped: no user namespace can be made here (unshare(CLONE_NEWUSER): "
                           << std::strerror(error) << "), so systemd in the container would fail "
                           << "echo-server.service (PrivateUsers=yes) with 217/USER"
                           << (error == EPERM
                                   ? ". In a chroot the kernel refuses user namespaces to every "
                                     "process below it, a booted container included: run this "
                                     "test outside the chroot"
                                   : ""));
        return false;
    }
    if (!ipv6_loopback_available()) {
        BOOST_TEST_MESSAGE("skipped: no IPv6 here, and echo-server.socket listens on [::]:7");
        return false;
    }
    if (auto busy = port_in_use(7)) {
        BOOST_TEST_MESSAGE("skipped: port 7 is taken on this host ("
                           << *busy << "); the container's echo-server.socket needs it");
        return false;
    }
    if (!cache_dir()) {
        BOOST_TEST_MESSAGE("skipped: no cache folder for the root file system (set "
                           << "ASIO_ECHO_E2E_CACHE, XDG_CACHE_HOME or HOME)");
        return false;
    }
    return true;
}

/// echo-server-tls.socket set up as its comment says, used and rotated; then taken away
/// again (the config's TLS lines removed, the socket stopped).
void check_tls_socket(const booted_container& box, const std::string& scratch) {
    test_pki pki(scratch);
    auto in_box = [&](const std::string& script) {
        auto r = box.run({"/bin/sh", "-ec", script});
        BOOST_REQUIRE_MESSAGE(r.code == 0, script << ":\n" << r.out << r.err);
    };
    in_box("getent group ssl-cert >/dev/null || groupadd --system ssl-cert; "
           "install -d -m 0755 /etc/echo-server/tls");
    fs::copy_file(pki.server_cert, box.path("/etc/echo-server/tls/cert.pem"));
    fs::copy_file(pki.server_key, box.path("/etc/echo-server/tls/key.pem"));
    in_box("chmod 0644 /etc/echo-server/tls/cert.pem; "
           "chgrp ssl-cert /etc/echo-server/tls/key.pem; chmod 0640 /etc/echo-server/tls/key.pem; "
           "install -d /etc/systemd/system/echo-server.service.d; "
           "printf '[Service]\\nSupplementaryGroups=ssl-cert\\n' "
           ">/etc/systemd/system/echo-server.service.d/tls.conf; "
           "printf 'tls-cert = /etc/echo-server/tls/cert.pem\\n"
           "tls-key = /etc/echo-server/tls/key.pem\\n' >>" +
           std::string(packaged::config) +
           "; systemctl daemon-reload; systemctl stop echo-server.service; "
           "systemctl start echo-server-tls.socket");

    // From this host, as a user would: verified against the test CA, the first client
    // starting the service with both sockets.
    auto hello = run_program(client_path, {"--connect", "127.0.0.1:7443", "--tls", "--tls-ca",
                                           pki.ca_cert, "--timeout", "10", "hello over tls"});
    BOOST_TEST(hello.code == 0,
               "echo-client --tls: "
                   << hello.err << "\njournal:\n"
                   << box.run({"journalctl", "-u", "echo-server", "--no-pager", "-n", "20"}).out);
    BOOST_TEST(hello.out == "hello over tls\n");
    BOOST_TEST(eventually(10s, [&] { return journal_has(box, "listening tls [::]:7443"); }),
               "no 'listening tls [::]:7443' line in the journal");
    check_echo("beside the TLS socket");

    // Rotation: the same files rewritten (owner and mode kept), then reload.
    tls_peer open(7443, {pki.ca_cert, "", "", 0});
    BOOST_REQUIRE_MESSAGE(open.handshake_error().empty(), open.handshake_error());
    BOOST_TEST(open.server_common_name() == "echo-server");
    auto pid = box.property("echo-server", "MainPID");
    pki.issue_server(scratch + "/rotated.pem", scratch + "/rotated.key", "rotated");
    write_file(box.path("/etc/echo-server/tls/cert.pem"), read_file(scratch + "/rotated.pem"));
    write_file(box.path("/etc/echo-server/tls/key.pem"), read_file(scratch + "/rotated.key"));
    auto reload = box.run({"systemctl", "reload", "echo-server"});
    BOOST_TEST(reload.code == 0, "systemctl reload: " << reload.err);
    BOOST_TEST(eventually(10s,
                          [&] {
                              return journal_has(box, "re-read the TLS certificate "
                                                      "'/etc/echo-server/tls/cert.pem'");
                          }),
               "no TLS reload line in the journal");
    BOOST_TEST(box.property("echo-server", "MainPID") == pid);
    tls_peer fresh(7443, {pki.ca_cert, "", "", 0});
    BOOST_TEST(fresh.server_common_name() == "rotated");
    open.write_all("still open");
    BOOST_TEST(open.read_exactly(10) == "still open");

    // The WebSocket sockets as their comments say (wss with the same certificate), started
    // with the service stopped: the first client starts it with all four sockets.
    auto busy_ws = port_in_use(7080);
    auto busy_wss = port_in_use(7444);
    if (busy_ws || busy_wss) {
        BOOST_TEST_MESSAGE("not checking echo-server-ws.socket and echo-server-wss.socket: port "
                           << (busy_ws ? "7080 (" + *busy_ws : "7444 (" + *busy_wss)
                           << ") is taken on this host");
    } else {
        in_box("systemctl stop echo-server.service; "
               "systemctl start echo-server-ws.socket echo-server-wss.socket");
        auto ws = run_program(
            client_path, {"--connect", "ws://127.0.0.1:7080/", "--timeout", "10", "hello over ws"});
        BOOST_TEST(ws.code == 0, "echo-client ws://: " << ws.err);
        BOOST_TEST(ws.out == "hello over ws\n");
        auto wss = run_program(client_path, {"--connect", "wss://[::1]:7444/", "--tls-ca",
                                             pki.ca_cert, "--timeout", "10", "hello over wss"});
        BOOST_TEST(wss.code == 0, "echo-client wss://: " << wss.err);
        BOOST_TEST(wss.out == "hello over wss\n");
        for (const char* line : {"listening ws [::]:7080", "listening wss [::]:7444"}) {
            BOOST_TEST(eventually(10s, [&] { return journal_has(box, line); }),
                       "no '" << line << "' line in the journal");
        }
        check_echo("beside the WebSocket sockets");
        in_box("systemctl stop echo-server-ws.socket echo-server-wss.socket");
    }

    // Back as installed: no TLS socket, no TLS lines (the standalone service is not given
    // the group); the next step restarts the service.
    in_box("systemctl stop echo-server-tls.socket; sed -i '/^tls-/d' " +
           std::string(packaged::config));
}

} // namespace

BOOST_AUTO_TEST_CASE(installed_deb_serves_port_7_under_a_booted_systemd) {
    if (!host_can_boot_a_container()) {
        return;
    }
    auto start = steady::now();
    auto step = [&](const std::string& what) {
        BOOST_TEST_MESSAGE("[" << seconds_text(seconds_since(start)) << "] " << what);
    };
    auto debs = find_built_packages(ASIO_ECHO_DEB_DIR);
    if (!debs) {
        BOOST_TEST_MESSAGE("skipped: no packages in " ASIO_ECHO_DEB_DIR
                           " (deb_build skipped: no dpkg-buildpackage here)");
        return;
    }
    temp_dir dir;
    auto depends = deb_field(debs->server, "Depends");
    step("installing " + fs::path(debs->server).filename().string() + " (" +
         std::to_string(fs::file_size(debs->server)) + " bytes) and " +
         fs::path(debs->client).filename().string() + " (" +
         std::to_string(fs::file_size(debs->client)) + " bytes), Depends: " + depends);
    auto root =
        cached_root_fs(*cache_dir(), boost_packages(depends), dir.path() + "/debootstrap.log");
    // The trap the issue names: a root folder of mode 0700 fails every DynamicUser service.
    BOOST_REQUIRE_MESSAGE((fs::status(root).permissions() & fs::perms::all) ==
                              (fs::perms::owner_all | fs::perms::group_read |
                               fs::perms::group_exec | fs::perms::others_read |
                               fs::perms::others_exec),
                          root << " is not mode 0755: remove it to have it made again");

    // Boot, and wait until systemd is up.
    step("booting " + root);
    booted_container box(root, "asio-echo-e2e-" + std::to_string(::getpid()),
                         dir.path() + "/nspawn.log");
    BOOST_REQUIRE_MESSAGE(box.find_leader(30s), "no systemd in the container within 30 s:\n"
                                                    << box.log());
    std::string state;
    BOOST_REQUIRE_MESSAGE(
        eventually(90s,
                   [&] {
                       auto r = box.run({"systemctl", "is-system-running", "--wait"}, 90s);
                       state = trimmed(r.out);
                       return state == "running" || state == "degraded";
                   }),
        "the container's systemd is " << state << "\n"
                                      << box.log());
    if (state == "degraded") {
        BOOST_TEST_MESSAGE("degraded; failed units:\n"
                           << box.run({"systemctl", "--failed", "--no-legend"}).out);
    }
    step("systemd in the container is " + state + ": " +
         trimmed(box.run({"systemctl", "--version"}).out.substr(0, 20)));

    // Install: the postinst enables and starts the socket, which now holds port 7 here.
    fs::copy_file(debs->server, box.path("/tmp/asio-echo.deb"));
    fs::copy_file(debs->client, box.path("/tmp/asio-echo-client.deb"));
    auto install = box.run({"dpkg", "-i", "/tmp/asio-echo.deb", "/tmp/asio-echo-client.deb"}, 120s);
    BOOST_REQUIRE_MESSAGE(install.code == 0, "dpkg -i:\n" << install.out << install.err);
    BOOST_TEST(trimmed(box.run({"systemctl", "is-enabled", "echo-server.socket"}).out) ==
               "enabled");
    BOOST_TEST(trimmed(box.run({"systemctl", "is-active", "echo-server.socket"}).out) == "active");
    BOOST_TEST(port_in_use(7).has_value(), "port 7 is free after the install");
    step("checked the install: dpkg -i, echo-server.socket enabled and listening");

    // The package's own as-installed test (autopkgtest's debian/tests/smoke), run as
    // autopkgtest would on this testbed; the first connection starts the service.
    fs::copy_file(std::string(PROJECT_SOURCE_DIR) + "/debian/tests/smoke", box.path("/tmp/smoke"));
    auto smoke = box.run({"/bin/sh", "/tmp/smoke"}, 120s);
    BOOST_TEST(smoke.code == 0, "debian/tests/smoke:\n" << smoke.out << smoke.err);
    BOOST_TEST(smoke.err == "");
    step("ran debian/tests/smoke in the container:\n" + smoke.out);

    // Exposure as systemd itself rates the installed units.
    auto activated = exposure(box, "echo-server.service");
    auto standalone = exposure(box, "echo-server-standalone.service");
    BOOST_TEST((activated && *activated <= 0.5 + 1e-9), "echo-server.service");
    BOOST_TEST((standalone && *standalone <= 1.5 + 1e-9), "echo-server-standalone.service");
    if (activated && standalone) {
        std::ostringstream figures;
        figures << std::fixed << std::setprecision(1) << *activated << " (echo-server.service), "
                << *standalone << " (echo-server-standalone.service)";
        step("systemd-analyze security in the container: " + figures.str());
    }

    // Echo over TCP and UDP from the host: the first client starts the service.
    const std::string greeting = "hello over tcp and udp";
    check_echo(greeting);
    auto v6 = run_program(client_path, {"--connect", "[::1]:7", "--timeout", "5", "v6"});
    BOOST_TEST(v6.code == 0, "[::1]:7: " << v6.err);
    BOOST_TEST(v6.out == "v6\n");
    BOOST_TEST(box.property("echo-server", "ActiveState") == "active");
    auto first_pid = box.property("echo-server", "MainPID");
    BOOST_REQUIRE(first_pid != "0");
    // Unprivileged: DynamicUser gives it a user of its own.
    auto status_file = box.run({"cat", "/proc/" + first_pid + "/status"}).out;
    std::smatch uid;
    BOOST_TEST(
        (std::regex_search(status_file, uid, std::regex(R"(\nUid:\s+(\d+))")) && uid[1] != "0"),
        "the service runs as root:\n"
            << status_file);
    step("checked echo over TCP (IPv4, IPv6) and UDP on port 7; service PID " + first_pid +
         " (in the container)");

    // The status line shows live counters (refreshed every few seconds).
    std::string status_text;
    bool counted = eventually(20s, [&] {
        status_text = box.property("echo-server", "StatusText");
        auto figures = parse_status(status_text);
        // Two connections (IPv4 and IPv6) and one datagram so far.
        return figures && figures->accepted >= 2 && figures->datagrams >= 1 &&
               figures->bytes >= static_cast<long>(2 * greeting.size() + 2);
    });
    BOOST_TEST(counted, "StatusText: " << status_text);
    step("StatusText=" + status_text);

    // The journal holds the listening lines as notices (priority 5), the <5> prefix parsed.
    std::vector<journal_entry> entries;
    auto has = [&](const std::string& message, const std::string& priority) {
        return std::any_of(entries.begin(), entries.end(), [&](const journal_entry& e) {
            return e.message == message && e.priority == priority;
        });
    };
    bool logged = eventually(10s, [&] {
        entries = journal(box);
        return has("listening tcp [::]:7", "5") && has("listening udp [::]:7", "5");
    });
    BOOST_TEST(logged,
               "journalctl -u echo-server -o json:\n"
                   << box.run({"journalctl", "-u", "echo-server", "-o", "json", "--no-pager"}).out);
    for (const auto& e : entries) {
        BOOST_TEST(e.message.rfind("<", 0) != 0u, "a raw priority prefix: " << e.message);
    }
    step("checked the journal: listening tcp/udp [::]:7 at priority 5 (notice)");

    // Reload (SIGHUP: the config is re-read), same process, still serving.
    auto reload = box.run({"systemctl", "reload", "echo-server"});
    BOOST_TEST(reload.code == 0, "systemctl reload: " << reload.err);
    BOOST_TEST(box.property("echo-server", "MainPID") == first_pid);
    BOOST_TEST(eventually(10s, [&] { return journal_has(box, "received SIGHUP"); }),
               "no 'received SIGHUP' line in the journal");
    check_echo("after reload");
    step("checked reload: same PID, SIGHUP in the journal, echo");

    // Upgrade (the same packages again, as dpkg upgrades): the running service is restarted
    // on the new binary; the socket is not, so nothing queued in it is lost; still enabled.
    auto socket_since = box.property("echo-server.socket", "ActiveEnterTimestampMonotonic");
    auto upgrade = box.run({"dpkg", "-i", "/tmp/asio-echo.deb", "/tmp/asio-echo-client.deb"}, 120s);
    BOOST_REQUIRE_MESSAGE(upgrade.code == 0, "dpkg -i again:\n" << upgrade.out << upgrade.err);
    auto upgraded_pid = box.property("echo-server", "MainPID");
    BOOST_TEST((upgraded_pid != first_pid && upgraded_pid != "0"),
               "not restarted by the upgrade: MainPID " << first_pid << " -> " << upgraded_pid);
    BOOST_TEST(box.property("echo-server.socket", "ActiveEnterTimestampMonotonic") == socket_since);
    BOOST_TEST(trimmed(box.run({"systemctl", "is-enabled", "echo-server.socket"}).out) ==
               "enabled");
    check_echo("after the upgrade");
    step("checked an upgrade: service PID " + first_pid + " -> " + upgraded_pid +
         ", the socket kept (active since the install), echo");

    // Behind a load balancer on this host: the proxy socket joins the service's sockets at
    // its next start (systemd starts no socket of a running service: stop it first, as the
    // unit says); a PROXY header on it is taken, never echoed; port 7 stays plain.
    if (auto busy = port_in_use(8007)) {
        BOOST_TEST_MESSAGE("not checking echo-server-proxy.socket: port 8007 is taken on this "
                           "host ("
                           << *busy << ")");
    } else {
        BOOST_REQUIRE(box.run({"systemctl", "stop", "echo-server.service"}, 60s).code == 0);
        auto proxy_start = box.run({"systemctl", "start", "echo-server-proxy.socket"});
        BOOST_REQUIRE_MESSAGE(proxy_start.code == 0, "start the proxy socket: " << proxy_start.err);
        auto behind = plain_socket::tcp("127.0.0.1", 8007);
        behind.set_timeout(10s);
        behind.send_all("PROXY TCP4 203.0.113.7 192.0.2.1 5555 7\r\nbehind a balancer");
        BOOST_TEST(behind.receive_exactly(17) == "behind a balancer");
        BOOST_TEST(
            eventually(
                10s, [&] { return journal_has(box, "listening tcp 127.0.0.1:8007 accept-proxy"); }),
            "no accept-proxy listening line in the journal");
        check_echo("beside the proxy socket");
        BOOST_TEST(box.run({"systemctl", "stop", "echo-server-proxy.socket"}).code == 0);
        step("checked echo-server-proxy.socket: passed as 'proxy' when its first client started "
             "the service, a v1 header taken and the payload echoed, port 7 plain");
    }

    // Over TLS, as echo-server-tls.socket's comment says to set it up: the key readable by
    // the group ssl-cert only, that group given to the transient user in a drop-in, the files
    // named in the config. Rotation is `systemctl reload`: the files are read in place, so
    // new connections get the new certificate while an open one goes on.
    if (auto busy = port_in_use(7443)) {
        BOOST_TEST_MESSAGE("not checking echo-server-tls.socket: port 7443 is taken on this "
                           "host ("
                           << *busy << ")");
    } else {
        check_tls_socket(box, dir.path());
        step("checked echo-server-tls.socket: the key readable by ssl-cert only, "
             "SupplementaryGroups=ssl-cert, echo-client --tls verified and echoed, "
             "systemctl reload rotated the certificate under an open connection, "
             "echo-server-ws.socket and echo-server-wss.socket echoed ws:// and wss://");
    }

    // Restart: a new process serves the same sockets.
    auto restart = box.run({"systemctl", "restart", "echo-server"});
    BOOST_TEST(restart.code == 0, "systemctl restart: " << restart.err);
    auto second_pid = box.property("echo-server", "MainPID");
    BOOST_TEST(second_pid != upgraded_pid);
    BOOST_TEST(second_pid != "0");
    check_echo("after restart");
    step("checked restart: PID " + upgraded_pid + " -> " + second_pid + ", echo");

    // Watchdog: a frozen service stops sending WATCHDOG=1; systemd kills and restarts it.
    auto watchdog = parse_timespan(box.property("echo-server", "WatchdogUSec"));
    auto abort_timeout = parse_timespan(box.property("echo-server", "TimeoutAbortUSec"));
    BOOST_REQUIRE(watchdog.count() > 0);
    auto restarts_before = std::stol(box.property("echo-server", "NRestarts"));
    auto frozen_at = steady::now();
    auto freeze = box.run({"/bin/sh", "-c", "kill -STOP \"$1\"", "sh", second_pid});
    BOOST_REQUIRE_MESSAGE(freeze.code == 0, "kill -STOP: " << freeze.err);
    auto frozen = echo_client({"--timeout", "1", "while frozen"});
    BOOST_TEST(frozen.code == 1, "a frozen service answered: " << frozen.out << frozen.err);
    std::string third_pid;
    auto bound = 2 * watchdog + abort_timeout + 30s;
    bool restarted = eventually(bound, [&] {
        third_pid = box.property("echo-server", "MainPID");
        return third_pid != second_pid && third_pid != "0" &&
               std::stol(box.property("echo-server", "NRestarts")) > restarts_before &&
               box.property("echo-server", "SubState") == "running";
    });
    BOOST_REQUIRE_MESSAGE(restarted, "no restart within " << bound.count() / 1000 << " s; MainPID "
                                                          << third_pid);
    auto restart_seconds = seconds_since(frozen_at);
    BOOST_TEST(journal_has(box, "Watchdog timeout"), "the restart was not the watchdog's");
    check_echo("after the watchdog");
    step("checked the watchdog (WatchdogSec " +
         seconds_text(static_cast<double>(watchdog.count()) / 1000) +
         ") restarted the frozen PID " + second_pid + " as " + third_pid + " after " +
         seconds_text(restart_seconds) + "; NRestarts " + box.property("echo-server", "NRestarts"));

    // Stop with a client waiting in the backlog. With max-connections = 1 and one client
    // served, a second one is connected by the kernel and waits in the listen queue. The
    // listener is systemd's: the stopping service closes only its own copy, the waiting
    // client stays queued in systemd's socket, and systemd starts the service again for it.
    // Nothing it sent is lost, nothing is reset.
    auto limit =
        box.run({"/bin/sh", "-c", "echo 'max-connections = 1' >>\"$1\"", "sh", packaged::config});
    BOOST_REQUIRE_MESSAGE(limit.code == 0, "editing the config: " << limit.err);
    BOOST_REQUIRE(box.run({"systemctl", "restart", "echo-server"}).code == 0);
    auto limited_pid = box.property("echo-server", "MainPID");
    auto served = plain_socket::tcp("127.0.0.1", 7);
    served.send_all("served");
    BOOST_REQUIRE(served.receive_exactly(6) == "served");
    const std::string queued_message = "queued across a stop";
    auto queued = plain_socket::tcp("127.0.0.1", 7);
    queued.set_timeout(60s);
    queued.send_all(queued_message);
    queued.shutdown_send();
    auto stop = box.run({"systemctl", "stop", "echo-server.service"}, 60s);
    BOOST_TEST(stop.code == 0, "systemctl stop: " << stop.err);
    std::string queued_back;
    try {
        queued_back = queued.receive_until_eof();
    } catch (const std::exception& e) {
        BOOST_TEST_MESSAGE("the queued client: " << e.what());
    }
    BOOST_TEST(queued_back == queued_message, "the client queued across the stop");
    auto next_pid = box.property("echo-server", "MainPID");
    BOOST_TEST((next_pid != limited_pid && next_pid != "0"),
               "not served by a new start: MainPID " << limited_pid << " -> " << next_pid);
    step("checked a stop with a client in the backlog: it stayed queued in systemd's socket"
         " and the next start (MainPID " +
         limited_pid + " -> " + next_pid + ") served it");

    // Standalone: the service binds what the config says (here a free port) and takes over
    // from the socket units, which it conflicts with; starting the socket takes port 7 back.
    auto own_port =
        box.run({"/bin/sh", "-c", "echo 'listen = 127.0.0.1:0' >>\"$1\"", "sh", packaged::config});
    BOOST_REQUIRE_MESSAGE(own_port.code == 0, "editing the config: " << own_port.err);
    auto take_over = box.run({"systemctl", "start", "echo-server-standalone.service"}, 60s);
    BOOST_REQUIRE_MESSAGE(take_over.code == 0,
                          "systemctl start echo-server-standalone: " << take_over.err);
    BOOST_TEST(box.property("echo-server-standalone.service", "ActiveState") == "active");
    // The conflicting units' stop jobs are of the same transaction, but `systemctl start`
    // waits only for the start: they may still be running when it returns.
    BOOST_TEST(eventually(
        10s, [&] { return box.property("echo-server.socket", "ActiveState") == "inactive"; }));
    BOOST_TEST(eventually(
        10s, [&] { return box.property("echo-server.service", "ActiveState") == "inactive"; }));
    std::uint16_t standalone_port = 0;
    BOOST_TEST(eventually(10s,
                          [&] {
                              for (const auto& e : journal(box, "echo-server-standalone")) {
                                  static const std::regex line(
                                      R"(^listening tcp 127\.0\.0\.1:(\d+)$)");
                                  std::smatch m;
                                  if (std::regex_match(e.message, m, line)) {
                                      standalone_port = static_cast<std::uint16_t>(std::stoi(m[1]));
                                  }
                              }
                              return standalone_port != 0;
                          }),
               "no listening line from echo-server-standalone");
    if (standalone_port != 0) {
        auto endpoint = "127.0.0.1:" + std::to_string(standalone_port);
        auto tcp = run_program(client_path, {"--connect", endpoint, "--timeout", "5", "alone"});
        BOOST_TEST(tcp.code == 0, "standalone tcp: " << tcp.err);
        BOOST_TEST(tcp.out == "alone\n");
        auto udp = run_program(client_path, {"--connect", endpoint, "--udp", "--timeout", "1",
                                             "--retries", "4", "alone"});
        BOOST_TEST(udp.code == 0, "standalone udp: " << udp.err);
        BOOST_TEST(udp.out == "alone\n");
    }
    BOOST_TEST(!port_in_use(7).has_value(), "port 7 is still taken under the standalone service");
    auto back = box.run({"systemctl", "start", "echo-server.socket"}, 60s);
    BOOST_TEST(back.code == 0, "systemctl start echo-server.socket: " << back.err);
    // systemctl waits for the socket's start job; the standalone service's stop (draining,
    // up to its drain timeout) may still be running.
    BOOST_TEST(eventually(30s,
                          [&] {
                              return box.property("echo-server-standalone.service",
                                                  "ActiveState") == "inactive";
                          }),
               "echo-server-standalone is still "
                   << box.property("echo-server-standalone.service", "ActiveState"));
    check_echo("back on the socket");
    step("checked the standalone service: it took over from the socket (serving 127.0.0.1:" +
         std::to_string(standalone_port) + ", port 7 free) and gave way to it again");

    // Remove with the standalone service running again: the package stops it too.
    BOOST_REQUIRE(box.run({"systemctl", "start", "echo-server-standalone.service"}, 60s).code == 0);
    // Remove: the units stop, the files go (all but the conffile), port 7 is free again.
    auto remove = box.run({"dpkg", "-r", package, client_package}, 120s);
    BOOST_REQUIRE_MESSAGE(remove.code == 0, "dpkg -r:\n" << remove.out << remove.err);
    BOOST_TEST(trimmed(box.run({"systemctl", "is-active", "echo-server.socket"}).out) ==
               "inactive");
    BOOST_TEST(trimmed(box.run({"systemctl", "is-active", "echo-server.service"}).out) ==
               "inactive");
    BOOST_TEST(trimmed(box.run({"systemctl", "is-active", "echo-server-standalone.service"}).out) ==
               "inactive");
    BOOST_TEST(box.run({"systemctl", "is-enabled", "echo-server.socket"}).code != 0);
    for (const auto& file : packaged::files()) {
        BOOST_TEST(fs::exists(box.path(file)) == (file == packaged::config), file);
    }
    auto still_taken = port_in_use(7);
    BOOST_TEST(!still_taken.has_value(), "port 7 is still taken: " << still_taken.value_or(""));
    auto refused = echo_client({"--timeout", "2", "gone"});
    BOOST_TEST(refused.code == 69, "after dpkg -r: " << refused.out << refused.err);
    auto purge = box.run({"dpkg", "-P", package, client_package}, 120s);
    BOOST_TEST(purge.code == 0, "dpkg -P:\n" << purge.out << purge.err);
    BOOST_TEST(!fs::exists(box.path(packaged::config)));
    step("checked dpkg -r and -P: units inactive, files gone, port 7 free");

    // Power off, bounded.
    auto poweroff = box.run({"systemctl", "poweroff"});
    BOOST_TEST(poweroff.code == 0, "systemctl poweroff: " << poweroff.err);
    auto exit_code = box.wait_exit(60s);
    BOOST_TEST(exit_code.value_or(-1) == 0, "systemd-nspawn did not end cleanly:\n" << box.log());
    auto taken_after = port_in_use(7);
    BOOST_TEST(!taken_after.has_value(), "port 7 after power-off: " << taken_after.value_or(""));
    // The cached tree was only the overlay's lower layer: nothing of the run is in it.
    BOOST_TEST(!fs::exists(root + packaged::bin_dir + "/echo-server"));
    BOOST_TEST(missing_packages(root, {package}) == std::vector<std::string>{package},
               boost::test_tools::per_element());
    step("powered off; " + seconds_text(seconds_since(start)) + " in all");
}
