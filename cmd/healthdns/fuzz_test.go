package main

import (
	"bytes"
	"flag"
	"io"
	"strings"
	"testing"
)

// FuzzReadBatch: any input is a batch or one usage error line, never a panic.
func FuzzReadBatch(f *testing.F) {
	f.Add(`{"comment":"c","changes":[{"action":"UPSERT","recordSet":{"name":"a.","type":"A","ttl":60,"values":["192.0.2.1"]}}]}`)
	f.Add(`{"changes":[]}`)
	f.Add(`{"changes":`)
	f.Fuzz(func(t *testing.T, in string) {
		c := &cli{stdin: strings.NewReader(in), stdout: io.Discard, stderr: io.Discard}
		b, err := c.readBatch("-")
		switch {
		case err == nil && (b == nil || len(b.Changes) == 0):
			t.Fatalf("accepted an empty batch: %+v", b)
		case err != nil && strings.Contains(err.Error(), "\n"):
			t.Fatalf("usage error of several lines: %q", err)
		}
	})
}

// FuzzParseInterspersed: positional arguments keep their order and no
// argument is invented.
func FuzzParseInterspersed(f *testing.F) {
	f.Add("a\x00--json\x00b\x00--name\x00x")
	f.Add("--\x00-x")
	f.Fuzz(func(t *testing.T, joined string) {
		args := strings.Split(joined, "\x00")
		fs := flag.NewFlagSet("fuzz", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		fs.Bool("json", false, "")
		fs.String("name", "", "")
		pos, err := parseInterspersed(fs, args)
		if err != nil {
			return
		}
		if len(pos) > len(args) {
			t.Fatalf("%q gave %d positional arguments", args, len(pos))
		}
		i := 0
		for _, a := range args {
			if i < len(pos) && a == pos[i] {
				i++
			}
		}
		if i != len(pos) {
			t.Fatalf("positional %q are not a subsequence of %q", pos, args)
		}
	})
}

// FuzzQualify: the result is always fully qualified and lower-case.
func FuzzQualify(f *testing.F) {
	f.Add("www", "example.test")
	f.Add("@", "example.test.")
	f.Fuzz(func(t *testing.T, name, zone string) {
		got := qualify(name, zone)
		if !strings.HasSuffix(got, ".") || !bytes.Equal([]byte(got), bytes.ToLower([]byte(got))) {
			t.Fatalf("qualify(%q, %q) = %q", name, zone, got)
		}
	})
}
