package cmdutil

import (
	"context"

	"github.com/mqttx/mqttx/internal/mqttc"
	"github.com/mqttx/mqttx/internal/output"
)

// Conn is a connected client with what the broker granted and a channel that receives
// the error once if the connection drops without Disconnect.
type Conn struct {
	mqttc.Client
	Ack  *mqttc.ConnAck
	Lost <-chan error
}

// Connect builds a client for co with newClient (a Factory's Connect), prints "Connecting..." and connects.
// It sets co.OnConnectionLost; every other callback (OnMessage) must be set by the caller
// before. A connect interrupted by ctx returns ctx's error, so the exit code says
// "interrupted" rather than a network failure.
func Connect(ctx context.Context, newClient func(mqttc.Options) (mqttc.Client, error), p output.Printer, co mqttc.Options) (*Conn, error) {
	_ = p.Status(output.Connecting(co.Host, co.Port))
	return dial(ctx, newClient, co)
}

// dial is Connect without the status line.
func dial(ctx context.Context, newClient func(mqttc.Options) (mqttc.Client, error), co mqttc.Options) (*Conn, error) {
	lost := make(chan error, 1)
	co.OnConnectionLost = func(err error) {
		select {
		case lost <- err:
		default:
		}
	}
	c, err := newClient(co)
	if err != nil {
		return nil, &FlagError{Err: err}
	}
	ack, err := c.Connect(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, ConnectError(co, err)
	}
	return &Conn{Client: c, Ack: ack, Lost: lost}, nil
}

// RequireV5 returns a usage error naming the first of the MQTT 5-only flags in names
// that the user set (set[name]) when version is not 5.
func RequireV5(version mqttc.Version, set map[string]bool, names []string) error {
	if version == mqttc.V5 {
		return nil
	}
	for _, name := range names {
		if set[name] {
			return FlagErrorf("--%s needs --mqtt-version 5 (got %s)", name, version)
		}
	}
	return nil
}
