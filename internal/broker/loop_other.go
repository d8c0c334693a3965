//go:build !linux

package broker

import "net"

const loopSupported = false

func (s *Server) serveLoop(*net.TCPListener) (bool, error) { return false, nil }
