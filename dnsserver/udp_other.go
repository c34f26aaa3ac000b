//go:build !linux

package dnsserver

import (
	"errors"
	"net/netip"
	"syscall"
)

// Elsewhere than Linux the server binds one UDP socket and, on a wildcard
// address, serves UDP with miekg/dns (which knows each system's packet
// info).
const reusePortSupported = false

var errNoPacketInfo = errors.New("dnsserver: packet info not supported here")

func setReusePort(syscall.RawConn) error {
	return errors.New("dnsserver: SO_REUSEPORT not supported here")
}

func setPacketInfo(syscall.RawConn) error { return errNoPacketInfo }

var oobSize = 0

func packetDst([]byte) (netip.Addr, bool) { return netip.Addr{}, false }

func appendSourceOOB(b []byte, _ netip.Addr) []byte { return b }

const batchSupported = false

func (l *udpLoop) runBatch(syscall.RawConn) {}
