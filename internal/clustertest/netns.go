package clustertest

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// NetNS is a network namespace made for one test, joined to the host by two
// veth links on private /30 subnets: the etcd link, over which a node in the
// namespace reaches etcd (members also listen on EtcdHost, see
// EtcdOptions.ExtraClientHosts), and the client link, over which the test
// reaches the node's DNS and API at NodeIP. Cut takes the etcd link down
// (packets are dropped, as in a partition, not refused); the client link
// stays up so the test keeps querying the node.
type NetNS struct {
	Name     string
	EtcdHost string // host end of the etcd link
	NodeIP   string // namespace end of the client link
	etcdVeth string // host-side name of the etcd link
	etcdNSIP string // namespace end of the etcd link
	rules    [][]string
}

// NewNetNS creates a namespace and its links, removed in t.Cleanup. It
// skips the test when the machine does not allow it: not root, no `ip`,
// or namespaces refused (e.g. inside an unprivileged container).
func NewNetNS(t testing.TB) *NetNS {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("network namespaces need root; skipping the network cut test")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("`ip` (iproute2) not found; skipping the network cut test")
	}
	// A random 10.x.y.0/29 not used on this host: .1/.2 the etcd link,
	// .5/.6 the client link.
	var base net.IP
	for range 20 {
		cand := net.IPv4(10, byte(200+rand.IntN(50)), byte(rand.IntN(256)), byte(8*rand.IntN(32)))
		if !addrInUse(cand) {
			base = cand.To4()
			break
		}
	}
	if base == nil {
		t.Skip("no free 10.x address block for the namespace links")
	}
	ip := func(last byte) string { return net.IPv4(base[0], base[1], base[2], base[3]+last).String() }
	tag := fmt.Sprintf("%04x", rand.IntN(1<<16))
	ns := &NetNS{
		Name:     fmt.Sprintf("hdnstest-%d-%s", os.Getpid(), tag),
		EtcdHost: ip(1),
		NodeIP:   ip(6),
		etcdVeth: "hdte" + tag,
		etcdNSIP: ip(2),
	}
	cliVeth := "hdtc" + tag
	if out, err := exec.Command("ip", "netns", "add", ns.Name).CombinedOutput(); err != nil {
		t.Skipf("cannot create a network namespace here (%v: %s); skipping the network cut test", err, strings.TrimSpace(string(out)))
	}
	t.Cleanup(func() {
		// The host's rules outlive the namespace: remove them first.
		for _, del := range ns.rules {
			exec.Command("ip", del...).Run()
		}
		// Deleting the namespace deletes its veth ends and so both links.
		exec.Command("ip", "link", "del", ns.etcdVeth).Run()
		exec.Command("ip", "link", "del", cliVeth).Run()
		exec.Command("ip", "netns", "del", ns.Name).Run()
	})
	run := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("clustertest: ip %s: %v: %s", strings.Join(args, " "), err, out)
		}
	}
	inNS := func(args ...string) { run(append([]string{"-n", ns.Name}, args...)...) }
	run("link", "add", ns.etcdVeth, "type", "veth", "peer", "name", ns.etcdVeth+"n", "netns", ns.Name)
	run("link", "add", cliVeth, "type", "veth", "peer", "name", cliVeth+"n", "netns", ns.Name)
	run("addr", "add", ip(1)+"/30", "dev", ns.etcdVeth)
	run("addr", "add", ip(5)+"/30", "dev", cliVeth)
	run("link", "set", ns.etcdVeth, "up")
	run("link", "set", cliVeth, "up")
	inNS("addr", "add", ip(2)+"/30", "dev", ns.etcdVeth+"n")
	inNS("addr", "add", ip(6)+"/30", "dev", cliVeth+"n")
	inNS("link", "set", "lo", "up")
	inNS("link", "set", ns.etcdVeth+"n", "up")
	inNS("link", "set", cliVeth+"n", "up")
	return ns
}

// addrInUse reports whether any local interface has an address in the /24
// of ip.
func addrInUse(ip net.IP) bool {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return true
	}
	block := &net.IPNet{IP: ip.Mask(net.CIDRMask(24, 32)), Mask: net.CIDRMask(24, 32)}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && (block.Contains(n.IP) || n.Contains(ip)) {
			return true
		}
	}
	return false
}

// EtcdEndpoints returns the client URLs of e's members as seen from inside
// the namespace (e must have been started with ns.EtcdHost among its
// ExtraClientHosts).
func (ns *NetNS) EtcdEndpoints(e *Etcd) []string {
	var out []string
	for _, m := range e.Members {
		out = append(out, fmt.Sprintf("http://%s:%d", ns.EtcdHost, m.Port()))
	}
	return out
}

// Cut takes the etcd link down: the node in the namespace can no longer
// reach etcd, and its packets are dropped rather than refused.
func (ns *NetNS) Cut(t testing.TB) {
	t.Helper()
	if out, err := exec.Command("ip", "link", "set", ns.etcdVeth, "down").CombinedOutput(); err != nil {
		t.Fatalf("clustertest: cut: %v: %s", err, out)
	}
}

// Restore brings the etcd link back up.
func (ns *NetNS) Restore(t testing.TB) {
	t.Helper()
	if out, err := exec.Command("ip", "link", "set", ns.etcdVeth, "up").CombinedOutput(); err != nil {
		t.Fatalf("clustertest: restore: %v: %s", err, out)
	}
}

// CutPort drops, in both directions, the TCP traffic between the namespace
// and one port of EtcdHost (one etcd member's client port), leaving the rest
// of the etcd link up: a partition from one member only. It adds blackhole
// policy-routing rules (ip rule ... blackhole), in the namespace for the
// node's packets and on the host for the member's replies to the namespace.
func (ns *NetNS) CutPort(t testing.TB, port int) {
	t.Helper()
	p := fmt.Sprint(port)
	inNS := []string{"-n", ns.Name, "rule", "add", "to", ns.EtcdHost, "ipproto", "tcp", "dport", p, "blackhole"}
	onHost := []string{"rule", "add", "to", ns.etcdNSIP, "ipproto", "tcp", "sport", p, "blackhole"}
	for _, args := range [][]string{inNS, onHost} {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("clustertest: ip %s: %v: %s", strings.Join(args, " "), err, out)
		}
		del := append([]string(nil), args...)
		for i, a := range del {
			if a == "add" {
				del[i] = "del"
			}
		}
		ns.rules = append(ns.rules, del)
	}
}

// RestorePorts removes every cut CutPort made.
func (ns *NetNS) RestorePorts(t testing.TB) {
	t.Helper()
	for _, del := range ns.rules {
		if out, err := exec.Command("ip", del...).CombinedOutput(); err != nil {
			t.Errorf("clustertest: ip %s: %v: %s", strings.Join(del, " "), err, out)
		}
	}
	ns.rules = nil
}
