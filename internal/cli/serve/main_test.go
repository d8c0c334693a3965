package serve

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"testing"

	"go.uber.org/goleak"

	"github.com/mqttx/mqttx/internal/cli/cmdutil"
	"github.com/mqttx/mqttx/internal/output"
)

// childEnv, set to the arguments one per line, makes the test binary run
// serve with them as a process of its own (see TestKill9KeepsAcknowledged).
const childEnv = "MQTTX_SERVE_CHILD_ARGS"

// TestMain fails the package if a test leaves goroutines behind: listeners, the event
// printer and every client connection must end with serve.
func TestMain(m *testing.M) {
	if args, ok := os.LookupEnv(childEnv); ok {
		os.Exit(runChild(strings.Split(args, "\n")))
	}
	goleak.VerifyTestMain(m)
}

// runChild runs serve with args until SIGINT or SIGTERM, as mqttx serve does.
func runChild(args []string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cmd := NewCmd(cmdutil.New(output.System()), nil)
	cmd.SetArgs(args)
	cmd.SilenceUsage = true
	cmd.SilenceErrors = true
	cmd.Flags().Bool("help", false, "")
	if err := cmd.ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "Error:", err)
		return 1
	}
	return 0
}
