// Package cmdutil holds what every mqttx command shares: the Factory that wires a command
// to its streams, environment and client constructor, the error types the exit-code
// mapping understands, and parsers for flags used by several commands.
package cmdutil

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/mqttx/mqttx/internal/mqttc"
	"github.com/mqttx/mqttx/internal/output"
)

// Factory carries the dependencies of a command. Tests build one with output.Test()
// streams; Main builds one with the system streams.
type Factory struct {
	IO     *output.Streams
	Getenv func(string) string
	Now    func() time.Time
	// Connect builds an unconnected client; mqttc.New unless replaced. It keeps the
	// wiring in one place; tests still talk to real brokers.
	Connect func(mqttc.Options) (mqttc.Client, error)
}

// New returns a Factory for streams with the process environment, the wall clock and
// mqttc.New.
func New(streams *output.Streams) *Factory {
	return &Factory{IO: streams, Getenv: os.Getenv, Now: time.Now, Connect: mqttc.New}
}

// FlagError is a usage error: a bad flag value or a missing or conflicting flag. The
// command line exits 2 and prints the error with a hint to run --help.
type FlagError struct{ Err error }

// Error returns the wrapped error's message.
func (e *FlagError) Error() string { return e.Err.Error() }

// Unwrap returns the wrapped error.
func (e *FlagError) Unwrap() error { return e.Err }

// FlagErrorf returns a *FlagError formatted like fmt.Errorf.
func FlagErrorf(format string, args ...any) error {
	return &FlagError{Err: fmt.Errorf(format, args...)}
}

// TimeoutError says that -W expired before anything was received; exit code 27, as
// mosquitto_sub.
type TimeoutError struct {
	Timeout time.Duration
	What    string // "message", "subscription"...
}

// Error says how long was waited and for what.
func (e *TimeoutError) Error() string {
	what := e.What
	if what == "" {
		what = "message"
	}
	return fmt.Sprintf("timed out after %s: no %s received", e.Timeout, what)
}

// IsTimeout reports whether err is or wraps a *TimeoutError.
func IsTimeout(err error) bool {
	var te *TimeoutError
	return errors.As(err, &te)
}

// ConnectionLost describes a dropped connection once: "connection lost: <cause>".
func ConnectionLost(err error) error {
	if err == nil {
		return errors.New("connection lost")
	}
	if strings.HasPrefix(err.Error(), "connection lost") {
		return err
	}
	return fmt.Errorf("connection lost: %w", err)
}

// ConnectError names the broker in a failed connect unless the error already does.
func ConnectError(o mqttc.Options, err error) error {
	addr := net.JoinHostPort(o.Host, strconv.Itoa(o.Port))
	if strings.Contains(err.Error(), addr) || strings.Contains(err.Error(), o.Host) {
		return err
	}
	return fmt.Errorf("connect to %s: %w", addr, err)
}

// IsClosedOutput reports whether err comes from writing to a stdout whose reader has
// gone (EPIPE, as after | head -1): commands stop quietly and exit 0.
func IsClosedOutput(err error) bool {
	return errors.Is(err, syscall.EPIPE)
}

// OnceString is a string flag that may be given once: a second -m is an error rather
// than silently replacing the first.
type OnceString struct {
	Value *string
	set   bool
}

// String implements pflag.Value.
func (o *OnceString) String() string {
	if o.Value == nil {
		return ""
	}
	return *o.Value
}

// Set implements pflag.Value.
func (o *OnceString) Set(s string) error {
	if o.set {
		return errors.New("given more than once: give it once")
	}
	o.set = true
	*o.Value = s
	return nil
}

// Type implements pflag.Value.
func (o *OnceString) Type() string { return "string" }
