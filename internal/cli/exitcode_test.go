package cli

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/mqttx/mqttx/internal/cli/cmdutil"
	"github.com/mqttx/mqttx/internal/mqttc"
	"github.com/mqttx/mqttx/internal/profile"
)

func TestExitCode(t *testing.T) {
	tests := []struct {
		name        string
		err         error
		interrupted bool
		want        int
	}{
		{"nil", nil, false, 0},
		{"plain", errors.New("connect: connection refused"), false, 1},
		{"flag error", cmdutil.FlagErrorf("invalid --qos 3"), false, 2},
		{"wrapped flag error", fmt.Errorf("pub: %w", cmdutil.FlagErrorf("x")), false, 2},
		{"profile usage", &profile.UsageError{Err: errors.New("profile \"x\" not found")}, false, 2},
		{"cobra unknown flag", errors.New("unknown flag: --nope"), false, 2},
		{"cobra unknown shorthand", errors.New("unknown shorthand flag: 'z' in -z"), false, 2},
		{"cobra missing argument", errors.New("flag needs an argument: -t"), false, 2},
		{"cobra unknown command", errors.New(`unknown command "x" for "mqttx"`), false, 2},
		{"refused", fmt.Errorf("connect: %w", &mqttc.RefusedError{Op: "connect", Code: 0x86}), false, 3},
		{"timeout", &cmdutil.TimeoutError{Timeout: time.Second}, false, 27},
		{"interrupted", fmt.Errorf("publish: %w", context.Canceled), true, 130},
		{"cancelled without a signal", context.Canceled, false, 1},
		{"refused beats interrupt", &mqttc.RefusedError{Op: "subscribe", Code: 0x87}, true, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ExitCode(tt.err, tt.interrupted); got != tt.want {
				t.Errorf("ExitCode(%v, %v) = %d, want %d", tt.err, tt.interrupted, got, tt.want)
			}
		})
	}
}
