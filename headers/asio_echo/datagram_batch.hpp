// SPDX-License-Identifier: BSL-1.0
#pragma once
// Several datagrams per system call: recvmmsg(2) and sendmmsg(2) over an Asio UDP socket's
// native handle. Asio has no batched datagram call; one receive and one send per datagram
// costs two system calls each, where a busy socket needs two per batch. Each datagram comes
// with the address it was sent to (IP_PKTINFO, IPV6_PKTINFO), and its reply goes out from
// that address: on a wildcard or dual-stack socket of a multi-homed host the kernel would
// otherwise pick a source of its own, which a connected client or a NAT drops.

#include <cstddef>
#include <memory>
#include <span>
#include <vector>

#include <netinet/in.h>
#include <sys/socket.h>

#include <boost/asio/ip/udp.hpp>
#include <boost/system/error_code.hpp>

namespace asio_echo {

/// A fixed set of slots, each with room for one datagram of up to slot_size bytes and its
/// peer's address. Not thread safe: one batch per datagram loop.
class datagram_batch {
public:
    /// Asks socket to report each datagram's destination address (IP_PKTINFO on IPv4,
    /// IPV6_RECVPKTINFO on IPv6, which covers IPv4-mapped traffic on a dual-stack socket).
    /// Call once per socket, passed or bound, before its first receive; throws
    /// boost::system::system_error when the option is refused.
    static void ask_for_destinations(boost::asio::ip::udp::socket& socket);

    /// capacity slots of slot_size bytes each. The memory is reserved, and only the pages
    /// datagrams touch become resident.
    datagram_batch(std::size_t capacity, std::size_t slot_size);

    std::size_t capacity() const noexcept { return slots_.size(); }

    /// Receives what is queued on the socket, up to capacity() datagrams, without waiting.
    /// Returns how many; 0 with would_block when none was queued. A datagram longer than
    /// the slot is received truncated and flagged (see truncated()).
    std::size_t receive(boost::asio::ip::udp::socket& socket, boost::system::error_code& ec);

    /// The i-th datagram received: its bytes (writable in place), its sender, whether it
    /// was longer than the slot.
    std::span<char> payload(std::size_t i) noexcept;
    const boost::asio::ip::udp::endpoint& peer(std::size_t i) const noexcept { return peers_[i]; }
    bool truncated(std::size_t i) const noexcept;

    /// Marks the i-th datagram to be sent back to its sender with the first `size` bytes of
    /// its payload, from the address it was sent to. Call in receive order; clear_replies()
    /// forgets them.
    void add_reply(std::size_t i, std::size_t size) noexcept;
    void clear_replies() noexcept { replies_ = 0; }
    std::size_t replies() const noexcept { return replies_; }

    /// Sends the marked replies from the first-th on, without waiting. Returns how many
    /// went; 0 with an error when the first-th could not (would_block: the socket is full;
    /// another error concerns that datagram alone, say a refused peer).
    std::size_t send(boost::asio::ip::udp::socket& socket, std::size_t first,
                     boost::system::error_code& ec);

    /// Bytes of the reply at position r (among the marked replies).
    std::size_t reply_size(std::size_t r) const noexcept { return reply_iov_[r].iov_len; }

private:
    /// Room for one control message: an IPv6 packet info, the larger of the two kinds.
    struct control_room {
        alignas(cmsghdr) unsigned char bytes[CMSG_SPACE(sizeof(in6_pktinfo))];
    };

    std::size_t slot_size_;
    std::unique_ptr<char[]> storage_;                   ///< capacity * slot_size bytes
    std::vector<boost::asio::ip::udp::endpoint> peers_; ///< msg_name of each slot
    std::vector<iovec> slots_;                          ///< receive buffers
    std::vector<mmsghdr> msgs_;                         ///< receive headers
    std::vector<control_room> controls_;                ///< what each receive reported
    std::vector<control_room> reply_controls_;          ///< the source of each reply
    std::vector<iovec> reply_iov_;                      ///< send buffers
    std::vector<mmsghdr> reply_msgs_;                   ///< send headers
    std::size_t replies_ = 0;
};

} // namespace asio_echo
