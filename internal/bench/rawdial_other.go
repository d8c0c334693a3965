//go:build !linux

package bench

import (
	"context"
	"io"

	"github.com/mqttx/mqttx/internal/packet"
)

type rawDialer struct{}

func newRawDialer(string) (*rawDialer, bool) { return nil, false }

func (d *rawDialer) clone() *rawDialer { return d }

func (*rawDialer) handshake(context.Context, string, []byte, packet.Version, []byte) (io.Closer, error) {
	panic("unreachable")
}
