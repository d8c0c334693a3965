//go:build !unix

package broker

import "syscall"

func tryWrite(rc syscall.RawConn, b []byte) (int, error) { return 0, nil }

const canTryWrite = false
