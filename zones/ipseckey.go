package zones

import (
	"bufio"
	"bytes"
	"io"
	"sort"
)

// ipseckeyReader works around a miekg/dns v1.1.73 parser bug: the line after
// an IPSECKEY record fails with "garbage after rdata" unless a blank line
// follows the record. It copies its input, adding an empty line after each
// record that mentions IPSECKEY, and remembers where, so that origLine maps
// the parser's line numbers back to the user's.
type ipseckeyReader struct {
	src      *bufio.Reader
	buf      []byte
	line     int   // output lines emitted so far
	injected []int // output line numbers of the added lines
	pending  bool  // an IPSECKEY record is open across lines
	depth    int
	err      error
}

func newIPSECKEYReader(r io.Reader) *ipseckeyReader {
	return &ipseckeyReader{src: bufio.NewReaderSize(r, 64<<10)}
}

func (r *ipseckeyReader) Read(p []byte) (int, error) {
	for len(r.buf) == 0 {
		if r.err != nil {
			return 0, r.err
		}
		line, err := r.src.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			// A very long line: pass it on in pieces; it cannot hold a
			// line end, so no injection decision is due yet.
			r.buf = append(r.buf[:0], line...)
			r.scan(line)
			break
		}
		r.err = err
		if len(line) == 0 {
			continue
		}
		r.buf = append(r.buf[:0], line...)
		r.scan(line)
		if line[len(line)-1] == '\n' {
			r.line++
			if r.pending && r.depth <= 0 {
				r.buf = append(r.buf, '\n')
				r.line++
				r.injected = append(r.injected, r.line)
				r.pending, r.depth = false, 0
			}
		}
	}
	n := copy(p, r.buf)
	r.buf = r.buf[n:]
	return n, nil
}

// scan tracks whether an IPSECKEY record is open and its parenthesis depth.
func (r *ipseckeyReader) scan(line []byte) {
	code := line
	inQuote := false
	for i, c := range line {
		if c == '"' {
			inQuote = !inQuote
		}
		if c == ';' && !inQuote {
			code = line[:i]
			break
		}
	}
	if bytes.Contains(bytes.ToUpper(code), []byte("IPSECKEY")) {
		r.pending = true
	}
	if !r.pending {
		return
	}
	inQuote = false
	for _, c := range code {
		switch {
		case c == '"':
			inQuote = !inQuote
		case c == '(' && !inQuote:
			r.depth++
		case c == ')' && !inQuote:
			r.depth--
		}
	}
}

// origLine maps a line number of the copied stream to the input's.
func (r *ipseckeyReader) origLine(n int) int {
	return n - sort.SearchInts(r.injected, n)
}
