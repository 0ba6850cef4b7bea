// SPDX-License-Identifier: BSL-1.0
#include "ws_peer.hpp"

#include <stdexcept>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <boost/beast/websocket/stream.hpp>

namespace asio_echo::test {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace ssl = asio::ssl;
using asio::ip::tcp;

struct ws_peer::impl {
    asio::io_context io;
    std::chrono::milliseconds timeout;
    std::unique_ptr<ssl::context> tls;
    std::unique_ptr<websocket::stream<tcp::socket>> plain;
    std::unique_ptr<websocket::stream<ssl::stream<tcp::socket>>> secure;
    beast::flat_buffer buffer;
    std::string pongs;
    bool deflating = false;

    /// f applied to the stream in use.
    template <class F>
    decltype(auto) with(F f) {
        if (plain) {
            return f(*plain);
        }
        return f(*secure);
    }

    tcp::socket& socket() {
        return with([](auto& ws) -> tcp::socket& { return beast::get_lowest_layer(ws); });
    }

    /// Runs the operation start(handler) begins to its end within the timeout; its error.
    template <class Start>
    boost::system::error_code wait(Start start, const char* what) {
        bool done = false;
        boost::system::error_code result;
        start([&](boost::system::error_code ec, auto&&...) {
            result = ec;
            done = true;
        });
        io.restart();
        auto until = std::chrono::steady_clock::now() + timeout;
        while (!done && io.run_one_until(until) > 0) {
        }
        if (!done) {
            boost::system::error_code ignored;
            socket().close(ignored); // ends the operation
            io.restart();
            io.run();
            throw std::runtime_error(std::string("websocket peer: ") + what +
                                     ": no answer within " + std::to_string(timeout.count()) +
                                     " ms");
        }
        return result;
    }

    void require(const boost::system::error_code& ec, const char* what) {
        if (ec) {
            throw std::runtime_error(std::string("websocket peer: ") + what + ": " + ec.message());
        }
    }
};

ws_peer::ws_peer(std::uint16_t port, const options& how) : impl_(std::make_unique<impl>()) {
    auto& m = *impl_;
    m.timeout = how.timeout;
    tcp::endpoint server(asio::ip::make_address("127.0.0.1"), port);
    if (how.ca.empty()) {
        m.plain = std::make_unique<websocket::stream<tcp::socket>>(m.io);
    } else {
        m.tls = std::make_unique<ssl::context>(ssl::context::tls_client);
        m.tls->load_verify_file(how.ca);
        m.tls->set_verify_mode(ssl::verify_peer);
        m.secure = std::make_unique<websocket::stream<ssl::stream<tcp::socket>>>(m.io, *m.tls);
    }
    m.require(m.wait([&](auto handler) { m.socket().async_connect(server, std::move(handler)); },
                     "connect"),
              "connect");
    if (m.secure) {
        m.require(m.wait(
                      [&](auto handler) {
                          m.secure->next_layer().async_handshake(ssl::stream_base::client,
                                                                 std::move(handler));
                      },
                      "TLS handshake"),
                  "TLS handshake");
    }
    websocket::response_type response;
    m.with([&](auto& ws) {
        if (how.deflate) {
            websocket::permessage_deflate deflate;
            deflate.client_enable = true;
            ws.set_option(deflate);
        }
        ws.control_callback([&m](websocket::frame_type kind, beast::string_view payload) {
            if (kind == websocket::frame_type::pong) {
                m.pongs += (m.pongs.empty() ? "" : "|") + std::string(payload);
            }
        });
        m.require(m.wait(
                      [&](auto handler) {
                          ws.async_handshake(response, "127.0.0.1:" + std::to_string(port),
                                             how.path, std::move(handler));
                      },
                      "upgrade"),
                  "upgrade");
    });
    m.deflating = response[beast::http::field::sec_websocket_extensions].find(
                      "permessage-deflate") != beast::string_view::npos;
}

ws_peer::~ws_peer() = default;

void ws_peer::send(const std::string& data, bool text) {
    auto& m = *impl_;
    m.with([&](auto& ws) {
        ws.text(text);
        m.require(m.wait([&](auto h) { ws.async_write(asio::buffer(data), std::move(h)); }, "send"),
                  "send");
    });
}

void ws_peer::send_fragmented(const std::string& data, bool text, std::size_t piece) {
    auto& m = *impl_;
    m.with([&](auto& ws) {
        ws.text(text);
        for (std::size_t at = 0; at < data.size(); at += piece) {
            bool last = at + piece >= data.size();
            auto part = asio::buffer(data.data() + at, std::min(piece, data.size() - at));
            m.require(m.wait([&](auto h) { ws.async_write_some(last, part, std::move(h)); },
                             "send a fragment"),
                      "send a fragment");
        }
    });
}

void ws_peer::ping(const std::string& payload) {
    auto& m = *impl_;
    m.with([&](auto& ws) {
        m.require(
            m.wait(
                [&](auto h) { ws.async_ping(websocket::ping_data(payload.c_str()), std::move(h)); },
                "ping"),
            "ping");
    });
}

ws_message ws_peer::receive() {
    auto& m = *impl_;
    m.buffer.clear();
    return m.with([&](auto& ws) {
        m.require(m.wait([&](auto h) { ws.async_read(m.buffer, std::move(h)); }, "receive"),
                  "receive");
        return ws_message{beast::buffers_to_string(m.buffer.data()), ws.got_text()};
    });
}

boost::system::error_code ws_peer::receive_until_closed() {
    auto& m = *impl_;
    return m.with([&](auto& ws) {
        for (;;) {
            m.buffer.clear();
            auto ec =
                m.wait([&](auto h) { ws.async_read(m.buffer, std::move(h)); }, "read until closed");
            if (ec) {
                return ec;
            }
        }
    });
}

unsigned ws_peer::close_code() const {
    return impl_->with([](auto& ws) { return static_cast<unsigned>(ws.reason().code); });
}

const std::string& ws_peer::pongs() const {
    return impl_->pongs;
}

void ws_peer::close(unsigned code) {
    auto& m = *impl_;
    m.with([&](auto& ws) {
        m.require(m.wait(
                      [&](auto h) {
                          ws.async_close(
                              websocket::close_reason(static_cast<websocket::close_code>(code)),
                              std::move(h));
                      },
                      "close"),
                  "close");
    });
}

bool ws_peer::deflating() const {
    return impl_->deflating;
}

std::string masked_frame(unsigned char first_byte, const std::string& payload) {
    std::string frame(1, static_cast<char>(first_byte));
    auto n = payload.size();
    if (n < 126) {
        frame += static_cast<char>(0x80 | n);
    } else if (n <= 0xffff) {
        frame += static_cast<char>(0x80 | 126);
        frame += static_cast<char>(n >> 8);
        frame += static_cast<char>(n & 0xff);
    } else {
        frame += static_cast<char>(0x80 | 127);
        for (int shift = 56; shift >= 0; shift -= 8) {
            frame += static_cast<char>((n >> shift) & 0xff);
        }
    }
    const char mask[4] = {0x12, 0x34, 0x56, 0x78};
    frame.append(mask, 4);
    for (std::size_t i = 0; i < n; ++i) {
        frame += static_cast<char>(payload[i] ^ mask[i % 4]);
    }
    return frame;
}

std::string upgrade_request(const std::string& path) {
    return "GET " + path +
           " HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
}

} // namespace asio_echo::test
