package clustertest

import (
	"fmt"
	"net"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/healthdns/healthdns/internal/syncbuf"
)

// logBuffer collects a process's output across restarts.
type logBuffer struct{ syncbuf.Buffer }

// tail returns the last n bytes of the output, from a line start.
func (b *logBuffer) tail(n int) string {
	s := b.String()
	if len(s) <= n {
		return s
	}
	s = s[len(s)-n:]
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	return "...\n" + s
}

// proc is one run of a child process.
type proc struct {
	cmd  *exec.Cmd
	done chan struct{}
}

// startProc starts name with args, its output appended to out.
func startProc(out *logBuffer, name string, args ...string) (*proc, error) {
	fmt.Fprintf(out, "--- %s: %s %s\n", time.Now().Format(time.RFC3339Nano), name, strings.Join(args, " "))
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = out, out
	setDeathSignal(cmd)
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &proc{cmd: cmd, done: make(chan struct{})}
	go func() {
		cmd.Wait()
		fmt.Fprintf(out, "--- %s: exited: %v\n", time.Now().Format(time.RFC3339Nano), cmd.ProcessState)
		close(p.done)
	}()
	return p, nil
}

func (p *proc) running() bool {
	if p == nil {
		return false
	}
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// kill sends SIGKILL and waits for the process to be gone.
func (p *proc) kill() {
	if !p.running() {
		return
	}
	p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// stop sends SIGTERM and waits up to d, then kills. It returns the exit
// code (-1 when killed by a signal).
func (p *proc) stop(d time.Duration) int {
	if p.running() {
		p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(d):
			p.kill()
		}
	}
	return p.cmd.ProcessState.ExitCode()
}

// pid returns the process id.
func (p *proc) pid() int { return p.cmd.Process.Pid }

// FreeAddr reserves a loopback TCP port and returns "127.0.0.1:port". The
// port is released before return, so a clash with another process is
// possible; the starters here retry on one.
func FreeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("clustertest: %v", err)
	}
	defer l.Close()
	return l.Addr().String()
}

// freeDNSAddr returns a loopback address whose port is free for both TCP
// and UDP at the time of the call.
func freeDNSAddr(t testing.TB) string {
	t.Helper()
	for range 50 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("clustertest: %v", err)
		}
		addr := l.Addr().String()
		u, err := net.ListenPacket("udp", addr)
		l.Close()
		if err == nil {
			u.Close()
			return addr
		}
	}
	t.Fatal("clustertest: no loopback port free for both TCP and UDP")
	return ""
}

// waitFor polls cond every 20ms until it holds or d passes; it reports
// whether cond held.
func waitFor(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// WaitFor polls cond until it holds, failing the test after d with what.
func WaitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	if !waitFor(d, cond) {
		t.Fatalf("timed out after %s waiting for %s", d, what)
	}
}
