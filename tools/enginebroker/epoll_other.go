//go:build !linux

package main

import (
	"errors"
	"net"
)

func serveEpollFloor(ln net.Listener, stop <-chan struct{}) error {
	return errors.New("-floor epoll needs Linux")
}
