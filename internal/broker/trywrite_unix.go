//go:build unix

package broker

import "syscall"

// tryWrite makes one non-blocking write attempt of b on rc and reports how
// many bytes went out; 0 with a nil error means the socket buffer is full.
func tryWrite(rc syscall.RawConn, b []byte) (int, error) {
	var n int
	var werr error
	err := rc.Write(func(fd uintptr) bool {
		n, werr = syscall.Write(int(fd), b)
		return true // never wait: the writer goroutine does that
	})
	if err != nil {
		return 0, err
	}
	if werr == syscall.EAGAIN || werr == syscall.EWOULDBLOCK || werr == syscall.EINTR {
		return 0, nil
	}
	if werr != nil {
		return 0, werr
	}
	return max(n, 0), nil
}

const canTryWrite = true
