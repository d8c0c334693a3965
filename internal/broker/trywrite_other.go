//go:build !unix

package broker

import (
	"io"
	"net"
	"syscall"
)

// rawWriter is never made here (canTryWrite is false).
type rawWriter struct{}

func newRawWriter(syscall.RawConn) *rawWriter { return nil }

func (w *rawWriter) try(b []byte) (int, error) { return 0, nil }

const canTryWrite = false

func inputOf(nc net.Conn) io.Reader { return nc }

func outputOf(nc net.Conn) io.Writer { return nc }
