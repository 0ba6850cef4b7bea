// SPDX-License-Identifier: BSL-1.0
#include "asio_echo/datagram_batch.hpp"

#include <cerrno>

namespace asio_echo {

namespace {

boost::system::error_code last_error() {
    int e = errno;
    if (e == EAGAIN || e == EWOULDBLOCK) {
        return boost::asio::error::would_block;
    }
    return {e, boost::system::system_category()};
}

} // namespace

datagram_batch::datagram_batch(std::size_t capacity, std::size_t slot_size)
    : slot_size_(slot_size), storage_(std::make_unique_for_overwrite<char[]>(capacity * slot_size)),
      peers_(capacity), slots_(capacity), msgs_(capacity), reply_iov_(capacity),
      reply_msgs_(capacity) {
    for (std::size_t i = 0; i < capacity; ++i) {
        slots_[i] = {storage_.get() + i * slot_size, slot_size};
        msgs_[i] = {};
        msgs_[i].msg_hdr.msg_name = peers_[i].data();
        msgs_[i].msg_hdr.msg_iov = &slots_[i];
        msgs_[i].msg_hdr.msg_iovlen = 1;
    }
}

std::size_t datagram_batch::receive(boost::asio::ip::udp::socket& socket,
                                    boost::system::error_code& ec) {
    // The kernel overwrites each header's address length (and msg_len, msg_flags): give every
    // slot its whole room for an address again.
    for (std::size_t i = 0; i < msgs_.size(); ++i) {
        msgs_[i].msg_hdr.msg_namelen = static_cast<socklen_t>(peers_[i].capacity());
    }
    int n;
    do {
        n = ::recvmmsg(socket.native_handle(), msgs_.data(), static_cast<unsigned>(msgs_.size()),
                       MSG_DONTWAIT, nullptr);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        ec = last_error();
        return 0;
    }
    for (int i = 0; i < n; ++i) {
        peers_[i].resize(msgs_[i].msg_hdr.msg_namelen);
    }
    ec = {};
    return static_cast<std::size_t>(n);
}

std::span<char> datagram_batch::payload(std::size_t i) noexcept {
    std::size_t n = msgs_[i].msg_len < slot_size_ ? msgs_[i].msg_len : slot_size_;
    return {static_cast<char*>(slots_[i].iov_base), n};
}

bool datagram_batch::truncated(std::size_t i) const noexcept {
    return (msgs_[i].msg_hdr.msg_flags & MSG_TRUNC) != 0;
}

void datagram_batch::add_reply(std::size_t i, std::size_t size) noexcept {
    std::size_t r = replies_++;
    reply_iov_[r] = {slots_[i].iov_base, size};
    reply_msgs_[r] = {};
    reply_msgs_[r].msg_hdr.msg_name = msgs_[i].msg_hdr.msg_name;
    reply_msgs_[r].msg_hdr.msg_namelen = msgs_[i].msg_hdr.msg_namelen;
    reply_msgs_[r].msg_hdr.msg_iov = &reply_iov_[r];
    reply_msgs_[r].msg_hdr.msg_iovlen = 1;
}

std::size_t datagram_batch::send(boost::asio::ip::udp::socket& socket, std::size_t first,
                                 boost::system::error_code& ec) {
    if (first >= replies_) {
        ec = {};
        return 0;
    }
    int n;
    do {
        n = ::sendmmsg(socket.native_handle(), reply_msgs_.data() + first,
                       static_cast<unsigned>(replies_ - first), MSG_DONTWAIT | MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        ec = last_error();
        return 0;
    }
    ec = {};
    return static_cast<std::size_t>(n);
}

} // namespace asio_echo
