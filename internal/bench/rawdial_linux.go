//go:build linux

package bench

import (
	"context"
	"fmt"
	"io"
	"net"
	"syscall"
	"time"

	"github.com/mqttx/mqttx/internal/packet"
)

// rawDialer completes CONNECT/CONNACK handshakes on blocking sockets with plain system
// calls: socket, two timeouts, connect, write, read. It bypasses the Go netpoller, whose
// registration and goroutine wake-ups would cost the load generator more CPU per
// connection than the broker spends accepting it.
type rawDialer struct {
	sa     syscall.Sockaddr
	family int
	local  syscall.Sockaddr // source address to bind, or nil
}

func newRawDialer(addr string, local net.IP) (*rawDialer, bool) {
	d, ok := newRawDialerTo(addr)
	if !ok || local == nil {
		return d, ok
	}
	if ip4 := local.To4(); ip4 != nil && d.family == syscall.AF_INET {
		sa := &syscall.SockaddrInet4{}
		copy(sa.Addr[:], ip4)
		d.local = sa
		return d, true
	}
	if ip6 := local.To16(); ip6 != nil && d.family == syscall.AF_INET6 {
		sa := &syscall.SockaddrInet6{}
		copy(sa.Addr[:], ip6)
		d.local = sa
		return d, true
	}
	return nil, false
}

func newRawDialerTo(addr string) (*rawDialer, bool) {
	ta, err := net.ResolveTCPAddr("tcp", addr)
	if err != nil {
		return nil, false
	}
	if ip4 := ta.IP.To4(); ip4 != nil {
		sa := &syscall.SockaddrInet4{Port: ta.Port}
		copy(sa.Addr[:], ip4)
		return &rawDialer{sa: sa, family: syscall.AF_INET}, true
	}
	if ip6 := ta.IP.To16(); ip6 != nil && ta.Zone == "" {
		sa := &syscall.SockaddrInet6{Port: ta.Port}
		copy(sa.Addr[:], ip6)
		return &rawDialer{sa: sa, family: syscall.AF_INET6}, true
	}
	return nil, false
}

// clone returns a dialer for one goroutine: syscall.Connect caches the raw address
// inside the Sockaddr, so dialers must not share one.
func (d *rawDialer) clone() *rawDialer {
	c := *d
	switch sa := d.local.(type) {
	case *syscall.SockaddrInet4:
		cp := *sa
		c.local = &cp
	case *syscall.SockaddrInet6:
		cp := *sa
		c.local = &cp
	}
	switch sa := d.sa.(type) {
	case *syscall.SockaddrInet4:
		cp := *sa
		c.sa = &cp
	case *syscall.SockaddrInet6:
		cp := *sa
		c.sa = &cp
	}
	return &c
}

type fdConn int

func (f fdConn) Close() error { return syscall.Close(int(f)) }

func (f fdConn) Ping() error {
	for {
		n, err := syscall.Write(int(f), pingreq)
		if err == syscall.EINTR {
			continue
		}
		if err == nil && n != len(pingreq) {
			err = io.ErrShortWrite
		}
		return err
	}
}

func (d *rawDialer) handshake(ctx context.Context, addr string, connect []byte, v packet.Version, buf []byte, keepAlive *uint16) (IdleConn, error) {
	fd, err := syscall.Socket(d.family, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("connect %s: socket: %w", addr, err)
	}
	fail := func(step string, err error) (IdleConn, error) {
		syscall.Close(fd)
		return nil, fmt.Errorf("connect %s: %s: %w", addr, step, err)
	}
	timeout := 10 * time.Second
	if dl, ok := ctx.Deadline(); ok {
		timeout = max(time.Until(dl), time.Millisecond)
	}
	tv := syscall.NsecToTimeval(int64(timeout))
	// SO_SNDTIMEO bounds connect as well as write.
	if err := syscall.SetsockoptTimeval(fd, syscall.SOL_SOCKET, syscall.SO_SNDTIMEO, &tv); err != nil {
		return fail("setsockopt", err)
	}
	if err := syscall.SetsockoptTimeval(fd, syscall.SOL_SOCKET, syscall.SO_RCVTIMEO, &tv); err != nil {
		return fail("setsockopt", err)
	}
	if d.local != nil {
		if err := syscall.Bind(fd, d.local); err != nil {
			return fail("bind", err)
		}
	}
	if err := d.connect(fd, timeout); err != nil {
		return fail("connect", err)
	}
	for {
		n, err := syscall.Write(fd, connect)
		if err == syscall.EINTR {
			continue
		}
		if err != nil || n != len(connect) {
			if err == nil {
				err = io.ErrShortWrite
			}
			return fail("write CONNECT", err)
		}
		break
	}
	have := 0
	for {
		n, err := syscall.Read(fd, buf[have:])
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return fail("read CONNACK", err)
		}
		if n == 0 {
			return fail("read CONNACK", fmt.Errorf("broker closed the connection before CONNACK"))
		}
		have += n
		if have < 2 {
			continue
		}
		rem, vn, err := packet.DecodeVarInt(buf[1:have])
		if err != nil {
			if have < 5 {
				continue // the length may be incomplete
			}
			return fail("read CONNACK", err)
		}
		total := 1 + vn + int(rem)
		if total > len(buf) {
			return fail("read CONNACK", fmt.Errorf("CONNACK of %d bytes is too long", total))
		}
		if have < total {
			continue
		}
		if packet.Type(buf[0]>>4) != packet.CONNACK {
			return fail("read CONNACK", fmt.Errorf("expected CONNACK, got %v", packet.Type(buf[0]>>4)))
		}
		var ca packet.Connack
		if err := ca.DecodeInto(buf[0], buf[1+vn:total], v); err != nil {
			return fail("decode CONNACK", err)
		}
		if ca.ReasonCode != 0 {
			syscall.Close(fd)
			return nil, refused(&ca, v)
		}
		*keepAlive = serverKeepAlive(&ca)
		return fdConn(fd), nil
	}
}

// connect connects fd, riding out the EINTR that the Go runtime's preemption signals
// cause in a blocking connect: the connection then completes in the background, and
// repeating connect reports EALREADY until it is done (EISCONN) or failed.
func (d *rawDialer) connect(fd int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	err := syscall.Connect(fd, d.sa)
	for err == syscall.EINTR || err == syscall.EALREADY || err == syscall.EINPROGRESS {
		if time.Now().After(deadline) {
			return syscall.ETIMEDOUT
		}
		if err != syscall.EINTR {
			time.Sleep(50 * time.Microsecond)
		}
		err = syscall.Connect(fd, d.sa)
	}
	if err == syscall.EISCONN {
		return nil
	}
	return err
}
