//go:build unix && !linux

package broker

import "syscall"

// sysRead and sysWrite are the plain system calls off Linux, where the
// system call numbers are not the interface (see trywrite_unix.go).
func sysRead(fd uintptr, b []byte) (uintptr, syscall.Errno) {
	n, err := syscall.Read(int(fd), b)
	return uintptr(max(n, 0)), errnoOf(err)
}

func sysWrite(fd uintptr, b []byte) (uintptr, syscall.Errno) {
	n, err := syscall.Write(int(fd), b)
	return uintptr(max(n, 0)), errnoOf(err)
}

func errnoOf(err error) syscall.Errno {
	if err == nil {
		return 0
	}
	if e, ok := err.(syscall.Errno); ok {
		return e
	}
	return syscall.EIO
}
