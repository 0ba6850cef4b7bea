// SPDX-License-Identifier: BSL-1.0
#pragma once
// A minimal HTTP/1.1 client for tests over plain_socket (so every read has a deadline), with
// Beast's parser reading the responses: raw requests in, parsed responses out.

#include <cstdint>
#include <string>

#include "net.hpp"

namespace asio_echo::test {

/// One parsed response.
struct http_reply {
    unsigned status = 0;        ///< 200, 404, ...
    std::string content_type;   ///< the Content-Type field, empty when absent
    std::string content_length; ///< the Content-Length field, empty when absent
    std::string body;           ///< the body (empty for HEAD)
    bool keep_alive = false;    ///< the server keeps the connection open
};

/// Sends raw_request as is and reads one response (head: a response to HEAD, without body).
/// Throws on a timeout, an early close or a malformed response.
http_reply http_exchange(plain_socket& socket, const std::string& raw_request, bool head = false);

/// "GET target HTTP/1.1" with Host and, unless keep_alive, "Connection: close".
std::string get_request(const std::string& target, bool keep_alive = false);

/// GET target on a fresh loopback connection to port.
http_reply http_get(std::uint16_t port, const std::string& target = "/metrics");

} // namespace asio_echo::test
