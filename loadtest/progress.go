package loadtest

import (
	"fmt"
	"io"
	"time"
)

// reportProgress writes a line a second until stop is closed: the totals so
// far, the average qps since the start and over the last second.
func reportProgress(out io.Writer, start time.Time, workers []*worker, stop <-chan struct{}) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	var lastRecv uint64
	last := start
	for {
		var now time.Time
		select {
		case <-stop:
			return
		case now = <-t.C:
		}
		var sent, recv, lost uint64
		for _, w := range workers {
			// received and lost first: sent then cannot be behind them.
			recv += w.tr.received.Load()
			lost += w.tr.lost.Load()
			sent += w.tr.sent.Load()
		}
		el := now.Sub(start).Seconds()
		fmt.Fprintf(out, "dnsload: %4.0fs sent %d received %d lost %d qps %.0f (last second %.0f)\n",
			el, sent, recv, lost, float64(recv)/el, float64(recv-lastRecv)/now.Sub(last).Seconds())
		lastRecv, last = recv, now
	}
}
