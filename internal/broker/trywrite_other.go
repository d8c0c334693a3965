//go:build !unix

package broker

import (
	"io"
	"net"
	"syscall"
)

func tryWrite(rc syscall.RawConn, b []byte) (int, error) { return 0, nil }

const canTryWrite = false

func inputOf(nc net.Conn) io.Reader { return nc }

func outputOf(nc net.Conn) io.Writer { return nc }
