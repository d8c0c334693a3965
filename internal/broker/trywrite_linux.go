package broker

import (
	"syscall"
	"unsafe"
)

// sysRead and sysWrite are raw system calls (see trywrite_unix.go); b is
// not empty.
func sysRead(fd uintptr, b []byte) (uintptr, syscall.Errno) {
	n, _, e := syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
	return n, e
}

func sysWrite(fd uintptr, b []byte) (uintptr, syscall.Errno) {
	n, _, e := syscall.RawSyscall(syscall.SYS_WRITE, fd, uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
	return n, e
}
