// SPDX-License-Identifier: BSL-1.0
#include "asio_echo/datagram_batch.hpp"

#include <cerrno>
#include <cstring>

namespace asio_echo {

namespace {

/// The packet info control message of a received header, or nothing (the option is off, or
/// the kernel reported none).
const cmsghdr* packet_info(const msghdr& header) {
    for (auto* c = CMSG_FIRSTHDR(&header); c != nullptr;
         c = CMSG_NXTHDR(const_cast<msghdr*>(&header), c)) {
        if ((c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) ||
            (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO)) {
            return c;
        }
    }
    return nullptr;
}

boost::system::error_code last_error() {
    int e = errno;
    if (e == EAGAIN || e == EWOULDBLOCK) {
        return boost::asio::error::would_block;
    }
    return {e, boost::system::system_category()};
}

/// Writes value as header's one control message (its msg_control has room for it).
template <typename Value>
void put_control(msghdr& header, int level, int type, const Value& value) {
    auto* message = static_cast<cmsghdr*>(header.msg_control);
    header.msg_controllen = CMSG_SPACE(sizeof value);
    message->cmsg_level = level;
    message->cmsg_type = type;
    message->cmsg_len = CMSG_LEN(sizeof value);
    std::memcpy(CMSG_DATA(message), &value, sizeof value);
}

} // namespace

void datagram_batch::ask_for_destinations(boost::asio::ip::udp::socket& socket) {
    int on = 1;
    bool v6 = socket.local_endpoint().address().is_v6();
    int result =
        v6 ? ::setsockopt(socket.native_handle(), IPPROTO_IPV6, IPV6_RECVPKTINFO, &on, sizeof on)
           : ::setsockopt(socket.native_handle(), IPPROTO_IP, IP_PKTINFO, &on, sizeof on);
    if (result != 0) {
        throw boost::system::system_error(last_error(), v6 ? "setsockopt IPV6_RECVPKTINFO"
                                                           : "setsockopt IP_PKTINFO");
    }
}

datagram_batch::datagram_batch(std::size_t capacity, std::size_t slot_size)
    : slot_size_(slot_size), storage_(std::make_unique_for_overwrite<char[]>(capacity * slot_size)),
      peers_(capacity), slots_(capacity), msgs_(capacity), controls_(capacity),
      reply_controls_(capacity), reply_iov_(capacity), reply_msgs_(capacity) {
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
    // The kernel overwrites each header's address and control lengths (and msg_len,
    // msg_flags): give every slot its whole room for both again.
    for (std::size_t i = 0; i < msgs_.size(); ++i) {
        msgs_[i].msg_hdr.msg_namelen = static_cast<socklen_t>(peers_[i].capacity());
        msgs_[i].msg_hdr.msg_control = controls_[i].bytes;
        msgs_[i].msg_hdr.msg_controllen = sizeof controls_[i].bytes;
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

    // Answer from the address the datagram was sent to. IPv4: the kernel's ipi_spec_dst is
    // that local address (for a broadcast, the interface's own); the interface is left to
    // routing. IPv6: the destination, unless it was a multicast group, which is no source;
    // the interface only for a link-local address, which needs it.
    const cmsghdr* info = packet_info(msgs_[i].msg_hdr);
    if (info == nullptr) {
        return;
    }
    auto& room = reply_controls_[r];
    std::memset(room.bytes, 0, sizeof room.bytes);
    auto& header = reply_msgs_[r].msg_hdr;
    header.msg_control = room.bytes;
    if (info->cmsg_level == IPPROTO_IP) {
        in_pktinfo received{};
        std::memcpy(&received, CMSG_DATA(info), sizeof received);
        in_pktinfo source{};
        source.ipi_spec_dst = received.ipi_spec_dst;
        if (source.ipi_spec_dst.s_addr == 0) {
            // Queued before the option was set (the first datagram of a socket-activated
            // start): the kernel filled in only the header's destination. Right for unicast;
            // a broadcast or multicast destination is no source, so routing decides then.
            auto to = ntohl(received.ipi_addr.s_addr);
            if (IN_MULTICAST(to) || to == INADDR_BROADCAST) {
                header.msg_control = nullptr;
                return;
            }
            source.ipi_spec_dst = received.ipi_addr;
        }
        put_control(header, IPPROTO_IP, IP_PKTINFO, source);
        return;
    }
    in6_pktinfo received{};
    std::memcpy(&received, CMSG_DATA(info), sizeof received);
    if (IN6_IS_ADDR_MULTICAST(&received.ipi6_addr)) {
        header.msg_control = nullptr;
        return;
    }
    in6_pktinfo source{};
    source.ipi6_addr = received.ipi6_addr;
    if (IN6_IS_ADDR_LINKLOCAL(&received.ipi6_addr)) {
        source.ipi6_ifindex = received.ipi6_ifindex;
    }
    put_control(header, IPPROTO_IPV6, IPV6_PKTINFO, source);
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
