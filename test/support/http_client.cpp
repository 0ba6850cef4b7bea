// SPDX-License-Identifier: BSL-1.0
#include "http_client.hpp"

#include <stdexcept>

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

namespace asio_echo::test {

namespace http = boost::beast::http;

http_reply http_exchange(plain_socket& socket, const std::string& raw_request, bool head) {
    socket.send_all(raw_request);
    http::response_parser<http::string_body> parser;
    parser.skip(head);
    parser.eager(true);
    std::string pending;
    boost::system::error_code ec;
    while (!parser.is_done()) {
        auto chunk = socket.receive_some();
        if (!chunk) {
            throw std::runtime_error("no complete HTTP response before the timeout");
        }
        if (chunk->empty()) {
            if (!parser.got_some()) {
                // Beast's put_eof() asserts that something came first.
                throw std::runtime_error("connection closed before any response");
            }
            parser.put_eof(ec);
            if (ec) {
                throw std::runtime_error("connection closed mid-response: " + ec.message());
            }
            break;
        }
        pending += *chunk;
        while (!pending.empty() && !parser.is_done()) {
            auto used = parser.put(boost::asio::buffer(pending), ec);
            pending.erase(0, used);
            if (ec == http::error::need_more) {
                break;
            }
            if (ec) {
                throw std::runtime_error("malformed HTTP response: " + ec.message());
            }
        }
    }
    auto& message = parser.get();
    http_reply reply;
    reply.status = message.result_int();
    reply.content_type = std::string(message[http::field::content_type]);
    reply.content_length = std::string(message[http::field::content_length]);
    reply.body = message.body();
    reply.keep_alive = message.keep_alive();
    return reply;
}

std::string get_request(const std::string& target, bool keep_alive) {
    return "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" +
           (keep_alive ? "" : "Connection: close\r\n") + "\r\n";
}

http_reply http_get(std::uint16_t port, const std::string& target) {
    auto socket = plain_socket::tcp("127.0.0.1", port);
    return http_exchange(socket, get_request(target));
}

} // namespace asio_echo::test
