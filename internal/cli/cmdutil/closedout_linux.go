package cmdutil

import (
	"io"
	"os"
	"sync"

	"golang.org/x/sys/unix"
)

// watchClosed polls a pipe's write end for POLLERR, which Linux reports once the
// last reader closed it, together with a pipe of its own that stop closes to end the
// poll.
func watchClosed(w io.Writer) (<-chan struct{}, func(), bool) {
	f, ok := w.(*os.File)
	if !ok {
		return nil, nil, false
	}
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFIFO {
		return nil, nil, false
	}
	wake, wakeW, err := os.Pipe()
	if err != nil {
		return nil, nil, false
	}
	fd := int(f.Fd())
	closed := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer wake.Close()
		fds := []unix.PollFd{{Fd: int32(fd)}, {Fd: int32(wake.Fd()), Events: unix.POLLIN}}
		for {
			fds[0].Revents, fds[1].Revents = 0, 0
			_, err := unix.Poll(fds, -1)
			if err == unix.EINTR {
				continue
			}
			if err != nil || fds[1].Revents != 0 {
				return
			}
			if fds[0].Revents&(unix.POLLERR|unix.POLLHUP|unix.POLLNVAL) != 0 {
				close(closed)
				return
			}
		}
	}()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			_ = wakeW.Close()
			<-done
		})
	}
	return closed, stop, true
}
