// Package syncbuf holds Buffer, a bytes.Buffer that one goroutine may write
// while another reads it: for tests that capture what a server logs or a
// reporter prints from goroutines of its own.
package syncbuf
