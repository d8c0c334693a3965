package cmdutil

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/mqttx/mqttx/internal/mqttc"
	"github.com/mqttx/mqttx/internal/output"
)

// MaxReconnectDelay caps the backoff between reconnect attempts.
const MaxReconnectDelay = 30 * time.Second

// ReconnectOptions are the reconnect flags of the long-running commands (conn, sub).
type ReconnectOptions struct {
	Disabled bool          // --no-reconnect
	Period   time.Duration // --reconnect-period: the first delay, doubled per attempt
	Max      int           // --max-reconnects: attempts in a row before giving up; 0 forever
	// Rand returns a number in [0, 1) for jitter; rand.Float64 unless replaced.
	Rand func() float64
}

// AddReconnectFlags registers --no-reconnect, --reconnect-period and --max-reconnects.
func AddReconnectFlags(fs *pflag.FlagSet, r *ReconnectOptions) {
	r.Period = time.Second
	fs.BoolVar(&r.Disabled, "no-reconnect", false, "exit 1 when the connection is lost instead of reconnecting")
	fs.Var((*periodValue)(&r.Period), "reconnect-period", "first wait before reconnecting, doubled per failed attempt up to 30s, with jitter: a duration (2s) or milliseconds (MQTTX: 1000)")
	fs.IntVar(&r.Max, "max-reconnects", 0, "give up after `N` failed reconnects in a row (0: never)")
	fs.Lookup("reconnect-period").DefValue = "1s"
	for _, name := range []string{"no-reconnect", "reconnect-period", "max-reconnects"} {
		_ = fs.SetAnnotation(name, "group", []string{GroupReconnect})
	}
}

// Validate checks the flag values.
func (r ReconnectOptions) Validate() error {
	if r.Max < 0 {
		return fmt.Errorf("invalid --max-reconnects %d: must be 0 (forever) or more", r.Max)
	}
	return nil
}

// Delay is the wait before reconnect attempt n (1, 2, ...): Period doubled per attempt,
// at most MaxReconnectDelay (or Period when larger), then between 75% and 125% of that,
// so that many clients dropped at once do not come back at once.
func (r ReconnectOptions) Delay(n int) time.Duration {
	d := r.Period
	if d <= 0 {
		d = time.Second
	}
	ceiling := max(MaxReconnectDelay, d)
	for i := 1; i < n && d < ceiling; i++ {
		d *= 2
	}
	d = min(d, ceiling)
	rnd := r.Rand
	if rnd == nil {
		rnd = rand.Float64
	}
	return time.Duration(float64(d) * (0.75 + 0.5*rnd()))
}

// Recover handles a lost connection for a long-running command (conn, sub): without
// --no-reconnect it reconnects as Reconnect does. It returns the new connection, or nil
// and the error the command ends with: the loss itself under --no-reconnect, nil when
// ctx was cancelled meanwhile (Ctrl-C), else why reconnecting failed.
func Recover(ctx context.Context, r ReconnectOptions, p output.Printer, lost error, newClient func(mqttc.Options) (mqttc.Client, error), co mqttc.Options) (*Conn, error) {
	if r.Disabled {
		return nil, ConnectionLost(lost)
	}
	c, err := Reconnect(ctx, r, p, ConnectionLost(lost), newClient, co)
	if err != nil {
		if ctx.Err() != nil {
			return nil, nil
		}
		return nil, err
	}
	return c, nil
}

// Reconnect connects again after the connection was lost with cause, printing
// "Reconnecting... [n]" before each attempt and waiting Delay(n) first. A broker that
// refuses the connection (bad credentials, banned) is not asked again: its
// *mqttc.RefusedError is returned. After Max failed attempts the last error is
// returned. A cancelled ctx returns ctx.Err().
func Reconnect(ctx context.Context, r ReconnectOptions, p output.Printer, cause error, newClient func(mqttc.Options) (mqttc.Client, error), co mqttc.Options) (*Conn, error) {
	var last error
	for n := 1; r.Max == 0 || n <= r.Max; n++ {
		d := r.Delay(n)
		_ = p.Status(output.Reconnecting(n, d, cause))
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		}
		c, err := dial(ctx, newClient, co)
		if err == nil {
			return c, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		var refused *mqttc.RefusedError
		var flagErr *FlagError
		if errors.As(err, &refused) || errors.As(err, &flagErr) {
			return nil, ConnectError(co, err)
		}
		last, cause = ConnectError(co, err), err
	}
	return nil, fmt.Errorf("gave up after %d reconnect attempts: %w", r.Max, last)
}

// periodValue is --reconnect-period: a Go duration, or a plain number of milliseconds as
// MQTTX's --reconnect-period (-rp) takes.
type periodValue time.Duration

func (v *periodValue) String() string { return time.Duration(*v).String() }

func (v *periodValue) Set(s string) error {
	d, err := ParsePeriod(s)
	if err != nil {
		return err
	}
	*v = periodValue(d)
	return nil
}

func (v *periodValue) Type() string { return "duration" }

// ParsePeriod parses a --reconnect-period: "500ms", "2s", or plain milliseconds ("1000",
// as MQTTX). It must be more than zero and at most an hour.
func ParsePeriod(s string) (time.Duration, error) {
	d, err := ParseMillis(s)
	if err != nil {
		return 0, err
	}
	if d <= 0 || d > time.Hour {
		return 0, fmt.Errorf("%q must be more than 0 and at most 1h", strings.TrimSpace(s))
	}
	return d, nil
}
