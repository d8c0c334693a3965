package main

import (
	"errors"
	"net"
	"syscall"
)

// serveEpollFloor serves ln from one epoll loop until stop is closed: it accepts every
// pending connection, reads each CONNECT when it arrives, answers it with a fixed
// CONNACK and closes connections whose clients close. There is no goroutine per
// connection and no Go netpoller on the path: per connect it costs accept4, epoll_ctl,
// read and write, plus a share of one epoll_wait.
func serveEpollFloor(ln net.Listener, stop <-chan struct{}) error {
	tl, ok := ln.(*net.TCPListener)
	if !ok {
		return errors.New("-floor epoll needs a TCP listener")
	}
	rc, err := tl.SyscallConn()
	if err != nil {
		return err
	}
	lfd := -1
	if err := rc.Control(func(fd uintptr) { lfd = int(fd) }); err != nil {
		return err
	}
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return err
	}
	defer syscall.Close(epfd)
	if err := syscall.EpollCtl(epfd, syscall.EPOLL_CTL_ADD, lfd, &syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: int32(lfd)}); err != nil {
		return err
	}
	open := make(map[int]struct{})
	defer func() {
		for fd := range open {
			syscall.Close(fd)
		}
	}()
	events := make([]syscall.EpollEvent, 256)
	buf := make([]byte, 512)
	for {
		select {
		case <-stop:
			return nil
		default:
		}
		n, err := syscall.EpollWait(epfd, events, 100)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		for _, ev := range events[:n] {
			fd := int(ev.Fd)
			if fd == lfd {
				for {
					nfd, _, err := syscall.Accept4(lfd, syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC)
					if err != nil {
						break // EAGAIN: no more pending connections
					}
					if syscall.EpollCtl(epfd, syscall.EPOLL_CTL_ADD, nfd, &syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: int32(nfd)}) != nil {
						syscall.Close(nfd)
						continue
					}
					open[nfd] = struct{}{}
				}
				continue
			}
			m, err := syscall.Read(fd, buf)
			if err == syscall.EAGAIN || err == syscall.EINTR {
				continue
			}
			if m <= 0 {
				delete(open, fd)
				syscall.Close(fd) // closing also removes it from the epoll set
				continue
			}
			if connack := floorConnack(buf[:m]); connack != nil {
				syscall.Write(fd, connack)
			}
		}
	}
}
