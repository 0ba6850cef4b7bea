// SPDX-License-Identifier: BSL-1.0
// The real echo-server's ws and wss endpoints with clients nobody here wrote: Python's
// websockets, Node's ws, and the page in headless Chromium running its own self-test (a
// screenshot of it lands in the build folder). Each is skipped with a message where missing.
// Then the WebSocket options' start-up errors. Loopback, port 0, processes ended by PID.
#define BOOST_TEST_MODULE websocket_process
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "child_process.hpp"
#include "sd_helpers.hpp"
#include "test_pki.hpp"
#include "ws_peer.hpp"

using namespace asio_echo::test;
using namespace std::chrono_literals;

namespace {

const std::string server_path = ECHO_SERVER_PATH;

struct ws_server_fixture {
    sd::temp_dir dir;
    test_pki pki{dir.path()};
    child_process server{server_path,
                         {"--websocket", "127.0.0.1:0", "--websocket-tls", "127.0.0.1:0",
                          "--tls-cert", pki.server_cert, "--tls-key", pki.server_key, "--threads",
                          "1"}};
    std::uint16_t ws_port = 0;
    std::uint16_t wss_port = 0;

    ws_server_fixture() {
        auto ws = server.wait_for_stderr_line("listening ws 127.0.0.1:", 10s);
        auto wss = server.wait_for_stderr_line("listening wss 127.0.0.1:", 10s);
        BOOST_REQUIRE_MESSAGE(ws && wss, server.err());
        ws_port = port_of(*ws);
        wss_port = port_of(*wss);
    }
    ~ws_server_fixture() {
        server.send_signal(SIGTERM);
        BOOST_TEST(server.wait_exit(10s).value_or(-1) == 0, server.err());
    }

    std::string ws_url() const { return "ws://127.0.0.1:" + std::to_string(ws_port) + "/"; }
    std::string wss_url() const { return "wss://127.0.0.1:" + std::to_string(wss_port) + "/"; }
};

/// Runs program to its end (60 s at most: a browser starts slowly on busy cores).
run_result run_slow(const std::string& program, const std::vector<std::string>& args,
                    const std::vector<std::string>& env = {}) {
    child_process child(program, args, env);
    auto code = child.wait_exit(60s);
    if (!code) {
        child.send_signal(SIGKILL);
        child.wait_exit(5s);
    }
    return {code.value_or(-1), child.out(), child.err()};
}

/// Debian's python3 (where python3-websockets installs), else the first on PATH.
std::optional<std::string> python_with_websockets() {
    std::optional<std::string> python;
    if (std::filesystem::exists("/usr/bin/python3")) {
        python = "/usr/bin/python3";
    } else {
        python = sd::find_program("python3");
    }
    if (python && run_program(*python, {"-c", "import websockets"}).code == 0) {
        return python;
    }
    return std::nullopt;
}

/// Text, 1 MiB of binary, a message in fragments, a ping, and a close whose code comes back.
const char* python_client = R"(
import asyncio, ssl, sys, websockets
async def main(url, ca):
    context = ssl.create_default_context(cafile=ca) if ca else None
    async with websockets.connect(url, ssl=context, max_size=2**21) as ws:
        await ws.send("hello from python websockets \u2713")
        assert await ws.recv() == "hello from python websockets \u2713", "text differs"
        data = bytes(range(256)) * 4096
        await ws.send(data)
        back = await ws.recv()
        assert isinstance(back, bytes) and back == data, "binary differs"
        await ws.send(["frag", "mented ", "text"])
        assert await ws.recv() == "fragmented text", "fragmented message differs"
        await asyncio.wait_for(await ws.ping(b"py"), 5)
        await ws.close(4001, "done")
        assert ws.close_code == 4001, "close code %s" % ws.close_code
    print("python websockets: ok")
asyncio.run(asyncio.wait_for(main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else None), 20))
)";

const char* node_client = R"(
const WebSocket = require('ws');
const fs = require('fs');
const [url, ca] = process.argv.slice(1);
const fail = (why) => { console.error('node ws: ' + why); process.exit(1); };
setTimeout(() => fail('no answer within 20 s'), 20000);
const bytes = Buffer.from([...Array(256).keys()]);
const expected = [['hello from node ws', false], [bytes, true], ['fragmented', false]];
let pong = '';
const ws = new WebSocket(url, ca ? { ca: fs.readFileSync(ca) } : {});
ws.on('open', () => {
  ws.send('hello from node ws');
  ws.send(bytes);
  ws.send('frag', { fin: false });
  ws.send('mented', { fin: true });
  ws.ping('nd');
});
ws.on('pong', (data) => { pong = data.toString(); });
ws.on('message', (data, isBinary) => {
  const [want, binary] = expected.shift();
  if (isBinary !== binary || !Buffer.from(want).equals(data)) fail('echo differs: ' + data);
  if (expected.length === 0) ws.close(4002, 'done');
});
ws.on('close', (code) => {
  if (code !== 4002) fail('close code ' + code);
  if (expected.length !== 0) fail(expected.length + ' echoes missing');
  if (pong !== 'nd') fail('no pong');
  console.log('node ws: ok');
  process.exit(0);
});
ws.on('error', (e) => fail(e.message));
)";

/// Where the screenshot goes: the build folder.
const std::string build_dir = TEST_BUILD_DIR;

} // namespace

BOOST_FIXTURE_TEST_SUITE(websocket_process, ws_server_fixture)

BOOST_AUTO_TEST_CASE(python_websockets_over_ws_and_wss) {
    auto python = python_with_websockets();
    if (!python) {
        BOOST_TEST_MESSAGE("skipped: no python3 with websockets (Debian: apt install "
                           "python3-websockets)");
        return;
    }
    auto plain = run_slow(*python, {"-c", python_client, ws_url()});
    BOOST_TEST(plain.code == 0, plain.out << plain.err);
    BOOST_TEST(plain.out == "python websockets: ok\n");
    auto secure = run_slow(*python, {"-c", python_client, wss_url(), pki.ca_cert});
    BOOST_TEST(secure.code == 0, secure.out << secure.err);
    BOOST_TEST(secure.out == "python websockets: ok\n");
}

BOOST_AUTO_TEST_CASE(node_ws_over_ws_and_wss) {
    auto node = sd::find_program("node");
    // Debian's node-ws lives beside Debian's other Node modules.
    std::vector<std::string> env = {"NODE_PATH=/usr/share/nodejs"};
    if (!node || run_program(*node, {"-e", "require('ws')"}, env).code != 0) {
        BOOST_TEST_MESSAGE("skipped: no node with the ws module (Debian: apt install node-ws)");
        return;
    }
    auto plain = run_slow(*node, {"-e", node_client, ws_url()}, env);
    BOOST_TEST(plain.code == 0, plain.out << plain.err);
    BOOST_TEST(plain.out == "node ws: ok\n");
    auto secure = run_slow(*node, {"-e", node_client, wss_url(), pki.ca_cert}, env);
    BOOST_TEST(secure.code == 0, secure.out << secure.err);
    BOOST_TEST(secure.out == "node ws: ok\n");
}

BOOST_AUTO_TEST_CASE(the_page_passes_its_self_test_in_headless_chromium) {
    auto chromium = sd::find_program("chromium");
    if (!chromium) {
        BOOST_TEST_MESSAGE("skipped: no chromium (Debian: apt install chromium)");
        return;
    }
    auto browse = [&](const std::string& url, std::vector<std::string> extra) {
        std::vector<std::string> args = {"--headless",
                                         "--no-sandbox", // as root, and in containers
                                         "--disable-gpu",
                                         "--disable-dev-shm-usage",
                                         "--no-first-run",
                                         "--user-data-dir=" + dir.path() + "/chromium",
                                         "--virtual-time-budget=20000"};
        args.insert(args.end(), extra.begin(), extra.end());
        args.push_back(url);
        return run_slow(*chromium, args);
    };
    auto plain =
        browse("http://127.0.0.1:" + std::to_string(ws_port) + "/?selftest=50", {"--dump-dom"});
    BOOST_TEST(plain.code == 0, plain.err);
    BOOST_TEST(plain.out.find("selftest passed: 50 of 50 messages echoed exactly") !=
                   std::string::npos,
               "the page says: " << plain.out.substr(0, 4000));
    // Over https the page opens wss; the test CA is not the browser's.
    auto secure = browse("https://127.0.0.1:" + std::to_string(wss_port) + "/?selftest=20",
                         {"--ignore-certificate-errors", "--dump-dom"});
    BOOST_TEST(secure.code == 0, secure.err);
    BOOST_TEST(secure.out.find("selftest passed: 20 of 20 messages echoed exactly") !=
                   std::string::npos,
               "the page says: " << secure.out.substr(0, 4000));
    BOOST_TEST(secure.out.find("wss://127.0.0.1:") != std::string::npos);

    auto shot = build_dir + "/websocket-page.png";
    std::filesystem::remove(shot);
    auto taken = browse("http://127.0.0.1:" + std::to_string(ws_port) + "/?selftest=6",
                        {"--hide-scrollbars", "--window-size=900,640", "--screenshot=" + shot});
    BOOST_TEST(taken.code == 0, taken.err);
    std::ifstream png(shot, std::ios::binary);
    std::string signature(8, '\0');
    png.read(signature.data(), 8);
    BOOST_TEST(signature == "\x89PNG\r\n\x1a\n", "no PNG at " << shot);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_CASE(bad_websocket_options_exit_64_naming_them) {
    struct bad {
        std::vector<std::string> args;
        std::string line;
    };
    const std::vector<bad> cases = {
        {{"--websocket-tls", "127.0.0.1:0"},
         "echo-server: --websocket-tls needs --tls-cert and --tls-key\n"},
        {{"--websocket", "127.0.0.1:70000"}, "--websocket"},
        {{"--websocket", "127.0.0.1:0", "--websocket-max-message", "0"}, "--websocket-max-message"},
        {{"--websocket", "127.0.0.1:0", "--websocket-max-message", "lots"},
         "--websocket-max-message"},
        {{"--websocket", "127.0.0.1:0", "--websocket-handshake-timeout", "0"},
         "--websocket-handshake-timeout"},
    };
    for (const auto& c : cases) {
        auto result = run_program(server_path, c.args);
        BOOST_TEST(result.code == 64, c.args.back() << ": " << result.err);
        BOOST_TEST(result.err.find(c.line) != std::string::npos, result.err);
        BOOST_TEST(std::count(result.err.begin(), result.err.end(), '\n') == 1, result.err);
    }
}

BOOST_AUTO_TEST_CASE(passed_sockets_named_ws_and_wss_serve_websocket) {
    sd::temp_dir dir;
    test_pki pki(dir.path());
    sd::bound_socket ws(true, "127.0.0.1");
    sd::bound_socket wss(true, "127.0.0.1");
    // As systemd passes the descriptors of sockets with FileDescriptorName=ws and =wss.
    sd::activated_child server(
        server_path, {"--threads", "1", "--tls-cert", pki.server_cert, "--tls-key", pki.server_key},
        {ws.fd, wss.fd}, {"LISTEN_FDS=2", "LISTEN_FDNAMES=ws:wss"});
    auto line = server.wait_for_stderr_line("listening wss ", 10s);
    BOOST_REQUIRE_MESSAGE(line, server.err());
    BOOST_TEST(*line == "notice: listening wss 127.0.0.1:" + std::to_string(wss.port));
    BOOST_TEST(server.err().find("notice: listening ws 127.0.0.1:" + std::to_string(ws.port)) !=
               std::string::npos);
    ws_peer plain(ws.port);
    plain.send("over a passed socket", true);
    BOOST_TEST(plain.receive().data == "over a passed socket");
    ws_peer secure(wss.port, {"/", pki.ca_cert, false, 5000ms});
    secure.send("and over tls", false);
    BOOST_TEST(secure.receive().data == "and over tls");
    server.send_signal(SIGTERM);
    BOOST_TEST(server.wait_exit(10s).value_or(-1) == 0, server.err());
}

BOOST_AUTO_TEST_CASE(a_passed_socket_named_wss_without_a_certificate_exits_64_saying_so) {
    sd::bound_socket wss(true, "127.0.0.1");
    sd::activated_child server(server_path, {"--threads", "1"}, {wss.fd},
                               {"LISTEN_FDS=1", "LISTEN_FDNAMES=wss"});
    auto code = server.wait_exit(10s);
    BOOST_REQUIRE(code.has_value());
    BOOST_TEST(*code == 64);
    BOOST_TEST(server.err() == "echo-server: a socket named 'wss' was passed, but no --tls-cert "
                               "and --tls-key were given\n");
}
