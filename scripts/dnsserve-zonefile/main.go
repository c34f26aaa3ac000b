// Command dnsserve-zonefile serves one zone file with package dnsserver
// alone (no etcd, no API), for measuring the query path apart from the rest
// of `healthdns serve`:
//
//	go build -o bin/ ./scripts/dnsserve-zonefile
//	PROJECT_CMD='bin/dnsserve-zonefile -miekg-udp' ../shared/bench/anchors.sh 10 healthdns
//
// It reads ZONE and PORT from the environment as anchors.sh sets them.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"github.com/healthdns/healthdns/dnsserver"
	"github.com/healthdns/healthdns/zones"
)

func main() {
	sockets := flag.Int("udp-sockets", 0, "UDP sockets (0: GOMAXPROCS)")
	miekg := flag.Bool("miekg-udp", false, "serve UDP with miekg/dns's server loop and Answer (the path before the fast path)")
	noBatch := flag.Bool("udp-no-batch", false, "read and write one datagram per system call, not recvmmsg/sendmmsg batches")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	flag.Parse()
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "dnsserve-zonefile:", err)
			os.Exit(1)
		}
		defer pprof.StopCPUProfile()
	}
	if err := run(*sockets, *miekg, *noBatch); err != nil {
		fmt.Fprintln(os.Stderr, "dnsserve-zonefile:", err)
		os.Exit(1)
	}
}

func run(sockets int, miekg, noBatch bool) error {
	path, port := os.Getenv("ZONE"), os.Getenv("PORT")
	if path == "" || port == "" {
		return fmt.Errorf("set ZONE and PORT")
	}
	text, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	origin := ""
	for _, l := range strings.Split(string(text), "\n") {
		if fs := strings.Fields(l); len(fs) == 2 && strings.EqualFold(fs[0], "$ORIGIN") {
			origin = fs[1]
			break
		}
	}
	sets, err := zones.ParseZoneFile(strings.NewReader(string(text)), origin)
	if err != nil {
		return err
	}
	tb := dnsserver.NewTable()
	if err := tb.Apply([]zones.ZoneDelta{{Origin: origin, Reset: true, Put: sets}}); err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	srv, err := dnsserver.New(dnsserver.Options{Addr: "127.0.0.1:" + port, Table: tb, Logger: log,
		UDPSockets: sockets, MiekgUDP: miekg, UDPNoBatch: noBatch})
	if err != nil {
		return err
	}
	if err := srv.Start(); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	<-ctx.Done()
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return srv.Shutdown(sctx)
}
