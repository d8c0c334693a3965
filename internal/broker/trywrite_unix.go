//go:build unix

package broker

import (
	"io"
	"net"
	"os"
	"syscall"
)

// The message path reads and writes its sockets with raw system calls on
// non-blocking descriptors, waiting (when there is nothing to read, or no
// room to write) on Go's netpoller through syscall.RawConn. A raw call does
// not return at once any less than a plain one on a non-blocking socket,
// but it skips the runtime's system call bookkeeping, and with it the
// wake-up of the runtime's monitor thread that the first plain system call
// after an idle spell costs: at a few thousand messages a second, that
// wake-up (a futex call on the message path, then the monitor polling
// every 20 µs until the process is idle again) was a quarter of the
// broker's CPU per message.

// rawWrite makes one write attempt of b on descriptor fd.
func rawWrite(fd uintptr, b []byte) (int, syscall.Errno) {
	if len(b) == 0 {
		return 0, 0
	}
	n, e := sysWrite(fd, b)
	return int(n), e
}

const canTryWrite = true

// rawReader reads a connection through its RawConn (see above); Read
// behaves as the connection's own: it waits for input, honours the read
// deadline (a timeout error), and reports a closed connection as
// net.ErrClosed and the end of input as io.EOF. Only one goroutine reads
// at a time. (Every wait starts with a read, which may find nothing: the
// netpoller forgets an event that came before the wait began.)
type rawReader struct {
	rc    syscall.RawConn
	b     []byte
	n     uintptr
	errno syscall.Errno
	fn    func(fd uintptr) bool // r.read, bound once: no closure per Read
}

func newRawReader(rc syscall.RawConn) *rawReader {
	r := &rawReader{rc: rc}
	r.fn = r.read
	return r
}

func (r *rawReader) read(fd uintptr) bool {
	for {
		r.n, r.errno = sysRead(fd, r.b)
		switch r.errno {
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			return false // wait on the netpoller
		}
		return true
	}
}

func (r *rawReader) Read(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	r.b = b
	err := r.rc.Read(r.fn)
	r.b = nil
	if err != nil {
		if isTimeout(err) {
			return 0, err
		}
		// RawConn.Read fails only on a closed connection or a passed
		// deadline.
		return 0, net.ErrClosed
	}
	if r.errno != 0 {
		return 0, os.NewSyscallError("read", r.errno)
	}
	if r.n == 0 {
		return 0, io.EOF
	}
	return int(r.n), nil
}

// inputOf returns what the reader reads nc through: nc itself, or a
// rawReader on a plain TCP connection.
func inputOf(nc net.Conn) io.Reader {
	if tc, ok := nc.(*net.TCPConn); ok {
		if rc, err := tc.SyscallConn(); err == nil {
			return newRawReader(rc)
		}
	}
	return nc
}

// rawWriter writes a connection through its RawConn (see above). Write
// behaves as the connection's own: it writes all of b, waiting for room,
// honours the write deadline (a timeout error), and reports a closed
// connection as net.ErrClosed; try makes one non-blocking attempt. A
// connection has one rawWriter, used by whoever holds its writer role: its
// callback is bound once, so a write allocates nothing.
type rawWriter struct {
	rc      syscall.RawConn
	b       []byte
	written int
	errno   syscall.Errno
	once    bool                  // one attempt, never wait (try)
	fn      func(fd uintptr) bool // w.write, bound once
}

func newRawWriter(rc syscall.RawConn) *rawWriter {
	w := &rawWriter{rc: rc}
	w.fn = w.write
	return w
}

func (w *rawWriter) write(fd uintptr) bool {
	for w.written < len(w.b) {
		n, e := rawWrite(fd, w.b[w.written:])
		switch e {
		case 0:
			w.written += n
			if w.once {
				return true
			}
		case syscall.EINTR:
		case syscall.EAGAIN:
			// try never waits: the writer goroutine does that. Write
			// waits on the netpoller for room.
			return w.once
		default:
			w.errno = e
			return true
		}
	}
	return true
}

// call runs one write of b and returns what was written, the write's own
// error (0 if none) and RawConn.Write's (a closed connection or a passed
// deadline).
func (w *rawWriter) call(b []byte, once bool) (int, syscall.Errno, error) {
	w.b, w.written, w.errno, w.once = b, 0, 0, once
	err := w.rc.Write(w.fn)
	n, errno := w.written, w.errno
	w.b = nil
	return n, errno, err
}

func (w *rawWriter) Write(b []byte) (int, error) {
	written, werr, err := w.call(b, false)
	if err != nil {
		if isTimeout(err) {
			return written, err
		}
		return written, net.ErrClosed
	}
	if werr != 0 {
		return written, os.NewSyscallError("write", werr)
	}
	return written, nil
}

// try makes one non-blocking write attempt of b and reports how many bytes
// went out; 0 with a nil error means the socket buffer is full.
func (w *rawWriter) try(b []byte) (int, error) {
	n, werr, err := w.call(b, true)
	if err != nil {
		return 0, err
	}
	if werr != 0 {
		return 0, os.NewSyscallError("write", werr)
	}
	return n, nil
}

// outputOf returns what the writer writes nc through: nc itself, or a
// rawWriter on a plain TCP connection.
func outputOf(nc net.Conn) io.Writer {
	if tc, ok := nc.(*net.TCPConn); ok {
		if rc, err := tc.SyscallConn(); err == nil {
			return newRawWriter(rc)
		}
	}
	return nc
}
