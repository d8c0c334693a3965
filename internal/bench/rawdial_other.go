//go:build !linux

package bench

import (
	"context"
	"net"

	"github.com/mqttx/mqttx/internal/packet"
)

type rawDialer struct{}

func newRawDialer(string, net.IP) (*rawDialer, bool) { return nil, false }

func (d *rawDialer) clone() *rawDialer { return d }

func (*rawDialer) handshake(context.Context, string, []byte, packet.Version, []byte, *uint16) (IdleConn, error) {
	panic("unreachable")
}
