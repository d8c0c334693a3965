package cli

import (
	"context"
	"errors"
	"strings"

	"github.com/mqttx/mqttx/internal/cli/cmdutil"
	"github.com/mqttx/mqttx/internal/mqttc"
	"github.com/mqttx/mqttx/internal/profile"
)

// Exit codes of the mqttx binary, listed in `mqttx --help`.
const (
	ExitOK          = 0   // success; also Ctrl-C on a long-running command after a clean DISCONNECT
	ExitFailure     = 1   // runtime failure: network, TLS, file, connection lost
	ExitUsage       = 2   // usage error: bad flag, bad value, missing profile
	ExitRefused     = 3   // refused by the broker: CONNACK, SUBACK or PUBACK reason code
	ExitTimeout     = 27  // -W expired with nothing received, as mosquitto_sub
	ExitInterrupted = 130 // a one-shot command interrupted by Ctrl-C or SIGTERM
)

const exitCodeHelp = `Exit codes:
  0    success (also Ctrl-C on conn and sub, after a clean disconnect)
  1    runtime failure: network, TLS, file, connection lost
  2    usage error: bad flag or value, unknown profile
  3    refused by the broker (CONNACK, SUBACK or PUBACK reason code)
  27   -W timeout with nothing received
  130  one-shot command interrupted`

// ExitCode maps an error returned by a command to the process exit code. interrupted
// says whether the command's context was cancelled by a signal.
func ExitCode(err error, interrupted bool) int {
	if err == nil {
		return ExitOK
	}
	var (
		flagErr    *cmdutil.FlagError
		usageErr   *profile.UsageError
		refusedErr *mqttc.RefusedError
		tooLarge   *mqttc.TooLargeError
	)
	switch {
	case errors.As(err, &flagErr), errors.As(err, &usageErr), errors.As(err, &tooLarge), isCobraUsageError(err):
		return ExitUsage
	case errors.As(err, &refusedErr):
		return ExitRefused
	case cmdutil.IsTimeout(err):
		return ExitTimeout
	case interrupted && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)):
		return ExitInterrupted
	}
	return ExitFailure
}

// isCobraUsageError recognises the errors cobra returns before a command runs (flag
// errors are wrapped by the root's FlagErrorFunc; these are the rest).
func isCobraUsageError(err error) bool {
	msg := err.Error()
	for _, p := range []string{"unknown command ", "unknown flag: ", "unknown shorthand flag: ", "flag needs an argument", "invalid argument ", "required flag(s) "} {
		if strings.HasPrefix(msg, p) {
			return true
		}
	}
	return false
}
