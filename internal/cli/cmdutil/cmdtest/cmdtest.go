// Package cmdtest helps command packages test their flag parsing and validation without
// the network: it runs a command with its runF hook and returns the options it built.
package cmdtest

import (
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/mqttx/mqttx/internal/cli/cmdutil"
	"github.com/mqttx/mqttx/internal/output"
)

// Parse builds the command with newCmd on test streams and an empty environment, runs it
// with args, and returns the options its runF received (nil if parsing or validation
// failed) and the error. Flag errors are usage errors (*cmdutil.FlagError), as the root
// command makes them.
func Parse[O any](t testing.TB, newCmd func(*cmdutil.Factory, func(*O) error) *cobra.Command, args ...string) (*O, error) {
	t.Helper()
	streams, _, _, _ := output.Test()
	f := cmdutil.New(streams)
	f.Getenv = func(string) string { return "" }
	var got *O
	cmd := newCmd(f, func(o *O) error { got = o; return nil })
	cmd.Flags().Bool("help", false, "")
	cmd.SetArgs(args)
	cmd.SetOut(io.Discard)
	cmd.SetErr(io.Discard)
	cmd.SilenceErrors, cmd.SilenceUsage = true, true
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &cmdutil.FlagError{Err: err} })
	err := cmd.Execute()
	return got, err
}

// CheckUsageError fails t unless err is nil when want is "", or else a usage error
// (*cmdutil.FlagError) whose message contains want.
func CheckUsageError(t testing.TB, err error, want string) {
	t.Helper()
	if want == "" {
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return
	}
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("error %v, want one containing %q", err, want)
	}
	var fe *cmdutil.FlagError
	if !errors.As(err, &fe) {
		t.Errorf("error %T is not a usage error", err)
	}
}
