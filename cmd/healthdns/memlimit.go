package main

import (
	"bufio"
	"fmt"
	"log/slog"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
)

// applyMemoryLimit sets the Go runtime's soft memory limit (GOMEMLIMIT) as
// --memory-limit says: "auto" is 3/4 of the memory the process may use (its
// cgroup's memory.max, else the machine's), so that the collector works
// harder before the kernel's OOM killer does; "off" sets none; anything else
// is a size such as 512MiB or 2GiB. GOMEMLIMIT in the environment wins over
// the flag, as it does for every Go program.
func applyMemoryLimit(v string, log *slog.Logger) error {
	if env := os.Getenv("GOMEMLIMIT"); env != "" {
		log.Info("memory limit from GOMEMLIMIT", "limit", env)
		return nil
	}
	var limit int64
	switch v {
	case "off", "":
		return nil
	case "auto":
		total := memoryAvailable()
		if total <= 0 {
			log.Info("memory limit: none (cannot tell the memory available)")
			return nil
		}
		limit = total / 4 * 3
	default:
		n, err := parseSize(v)
		if err != nil {
			return err
		}
		limit = n
	}
	debug.SetMemoryLimit(limit)
	log.Info("memory limit set", "bytes", limit, "from", v)
	return nil
}

// parseSize reads 123, 512KiB, 64MiB, 2GiB (also KB, MB, GB as powers of 2).
func parseSize(s string) (int64, error) {
	units := []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40}, {"KB", 1 << 10}, {"MB", 1 << 20}, {"GB", 1 << 30}, {"B", 1}}
	mult := int64(1)
	num := s
	for _, u := range units {
		if strings.HasSuffix(s, u.suffix) {
			num, mult = strings.TrimSuffix(s, u.suffix), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(strings.TrimSpace(num), 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("%q: want auto, off, or a size such as 512MiB or 2GiB", s)
	}
	return n * mult, nil
}

// memoryAvailable returns the cgroup v2 memory.max, or MemTotal, in bytes;
// 0 when neither is known.
func memoryAvailable() int64 {
	if b, err := os.ReadFile("/sys/fs/cgroup/memory.max"); err == nil {
		if n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64); err == nil && n > 0 {
			return n
		}
	}
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var kb int64
		if _, err := fmt.Sscanf(sc.Text(), "MemTotal: %d kB", &kb); err == nil {
			return kb << 10
		}
	}
	return 0
}
