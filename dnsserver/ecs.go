package dnsserver

import (
	"net/netip"

	"github.com/miekg/dns"
)

// clientSubnet returns the query's EDNS Client Subnet option (RFC 7871), if
// any. bad reports an option to answer with FORMERR: more than one, an
// unknown family, a SOURCE PREFIX-LENGTH beyond the family's length, or
// ADDRESS bits set beyond SOURCE PREFIX-LENGTH (section 7.1.2).
func clientSubnet(opt *dns.OPT) (ecs *dns.EDNS0_SUBNET, bad bool) {
	if opt == nil {
		return nil, false
	}
	for _, o := range opt.Option {
		e, ok := o.(*dns.EDNS0_SUBNET)
		if !ok {
			continue
		}
		if ecs != nil {
			return nil, true
		}
		ecs = e
	}
	if ecs == nil {
		return nil, false
	}
	switch ecs.Family {
	case 0:
		// dig's "+subnet=0": no address, no prefix.
		return ecs, ecs.SourceNetmask != 0
	case 1, 2:
	default:
		return nil, true
	}
	a, ok := ecsAddr(ecs)
	if !ok || int(ecs.SourceNetmask) > a.BitLen() {
		return nil, true
	}
	p := netip.PrefixFrom(a, int(ecs.SourceNetmask))
	if p.Masked().Addr() != a {
		return nil, true
	}
	return ecs, false
}

// ecsAddr returns the option's address in its family's form.
func ecsAddr(ecs *dns.EDNS0_SUBNET) (netip.Addr, bool) {
	if ecs.Family == 1 {
		ip4 := ecs.Address.To4()
		if ip4 == nil {
			return netip.Addr{}, false
		}
		return netip.AddrFrom4([4]byte(ip4)), true
	}
	if len(ecs.Address) != 16 {
		return netip.Addr{}, false
	}
	return netip.AddrFrom16([16]byte(ecs.Address)), true
}

// ecsPrefix returns the client subnet of an option clientSubnet accepted.
func ecsPrefix(ecs *dns.EDNS0_SUBNET) netip.Prefix {
	a, _ := ecsAddr(ecs)
	return netip.PrefixFrom(a, int(ecs.SourceNetmask))
}
