package mqttc

import (
	"context"
	"errors"
)

// pending is a placeholder until the protocol adapters land; every method fails.
type pending struct{}

var errPending = errors.New("mqtt client not implemented yet")

func newV5(Options) Client { return pending{} }
func newV3(Options) Client { return pending{} }

func (pending) Connect(context.Context) (*ConnAck, error) { return nil, errPending }
func (pending) Publish(context.Context, Message) error    { return errPending }
func (pending) Subscribe(context.Context, []Subscription, SubscribeOptions) ([]byte, error) {
	return nil, errPending
}
func (pending) Unsubscribe(context.Context, ...string) error { return errPending }
func (pending) Disconnect(context.Context) error              { return errPending }
func (pending) Kill() error                                   { return errPending }
