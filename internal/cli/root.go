// Package cli is the mqttx command line: the root command, its subcommands and the one
// place that turns errors into exit codes.
package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/mqttx/mqttx/internal/build"
	"github.com/mqttx/mqttx/internal/cli/bench"
	"github.com/mqttx/mqttx/internal/cli/cmdutil"
	"github.com/mqttx/mqttx/internal/cli/conn"
	profilecmd "github.com/mqttx/mqttx/internal/cli/profile"
	"github.com/mqttx/mqttx/internal/cli/pub"
	"github.com/mqttx/mqttx/internal/cli/serve"
	"github.com/mqttx/mqttx/internal/cli/simulate"
	"github.com/mqttx/mqttx/internal/cli/sub"
	"github.com/mqttx/mqttx/internal/output"
)

// Main runs mqttx with args (without the program name) on streams and returns the exit
// code. SIGINT and SIGTERM cancel the command's context: long-running commands
// disconnect cleanly and exit 0, one-shot commands exit 130. A second signal kills the
// process. Main is the process's body: the process ends when it returns, so the signal
// handling it sets up is left in place (undoing it costs a one-shot command a hand-off
// to the runtime's signal thread per signal).
func Main(args []string, streams *output.Streams) int {
	// A closed stdout (| head -1) makes writes fail with EPIPE instead of killing the
	// process, so commands can end cleanly and exit 0.
	signal.Ignore(syscall.SIGPIPE)
	ctx, cancel := context.WithCancel(context.Background())
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sigs
		cancel()
		// Restore the default handling so that a second Ctrl-C ends the process at
		// once if the clean disconnect hangs.
		signal.Stop(sigs)
	}()
	return Run(ctx, args, cmdutil.New(streams))
}

// Run executes the command line args with f and returns the exit code, printing any
// error to f.IO.ErrOut.
func Run(ctx context.Context, args []string, f *cmdutil.Factory) int {
	root := newRootCmd(f, subcommandNamed(args))
	// MQTTX CLI's two-letter shorthands and long names, rewritten before pflag can
	// misread them (cmdutil.Aliases).
	args, sub, err := applyAliases(root, args)
	if err != nil {
		printError(f, sub, err, ExitUsage)
		return ExitUsage
	}
	root.SetArgs(args)
	root.SetIn(f.IO.In)
	root.SetOut(f.IO.Out)
	root.SetErr(f.IO.ErrOut)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil || cmdutil.IsClosedOutput(err) {
		// A reader that went away (| head -1) is not a failure, and there is nobody
		// to tell.
		return ExitOK
	}
	if cmd == nil {
		cmd = root
	}
	code := ExitCode(err, ctx.Err() != nil)
	if code == ExitInterrupted {
		err = errors.New("interrupted")
	}
	printError(f, cmd, err, code)
	return code
}

// subcommands are the commands under mqttx, each built by its package. Run builds only
// the one a command line names, so that `mqttx pub` does not pay for registering the
// flags of bench, serve and the rest.
var subcommands = []struct {
	name string
	new  func(f *cmdutil.Factory) *cobra.Command
}{
	{"conn", func(f *cmdutil.Factory) *cobra.Command { return conn.NewCmd(f, nil) }},
	{"pub", func(f *cmdutil.Factory) *cobra.Command { return pub.NewCmd(f, nil) }},
	{"sub", func(f *cmdutil.Factory) *cobra.Command { return sub.NewCmd(f, nil) }},
	{"serve", func(f *cmdutil.Factory) *cobra.Command { return serve.NewCmd(f, nil) }},
	{"bench", func(f *cmdutil.Factory) *cobra.Command { return bench.NewCmd(f, nil) }},
	{"simulate", func(f *cmdutil.Factory) *cobra.Command { return simulate.NewCmd(f, nil) }},
	{"profile", func(f *cmdutil.Factory) *cobra.Command { return profilecmd.NewCmd(f, nil) }},
}

// subcommandNamed returns the subcommand args start with, by its exact name, or ""
// when they start otherwise (a flag, help, completion, an alias or a typo): those need
// the whole command tree.
func subcommandNamed(args []string) string {
	if len(args) == 0 {
		return ""
	}
	if len(args) == 1 && args[0] == "--version" {
		return versionOnly
	}
	for _, s := range subcommands {
		if s.name == args[0] {
			return s.name
		}
	}
	return ""
}

// versionOnly builds the root command alone, for `mqttx --version`.
const versionOnly = "--version"

// NewRootCmd returns the mqttx command with every subcommand.
func NewRootCmd(f *cmdutil.Factory) *cobra.Command {
	return newRootCmd(f, "")
}

// newRootCmd returns the mqttx command with the subcommand only, or with every
// subcommand and shell completion when only is "".
func newRootCmd(f *cmdutil.Factory, only string) *cobra.Command {
	root := &cobra.Command{
		Use:   "mqttx",
		Short: "A command-line MQTT toolkit",
		Long: `mqttx connects, publishes and subscribes to MQTT 5, 3.1.1 and 3.1 brokers
over TCP, TLS and WebSocket.

` + exitCodeHelp,
		Example: `  $ mqttx sub -t 'sensor/+/temperature' -h broker.example.com
  $ mqttx pub -t sensor/1/temperature -m 21.5 -q 1
  $ mqttx conn -h localhost -V 3.1.1`,
		Version:       build.Current().String(),
		SilenceErrors: true,
		SilenceUsage:  true,
		Args:          cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return cmdutil.FlagErrorf("unknown command %q for %q", args[0], cmd.CommandPath())
			}
			return cmd.Help()
		},
	}
	// --help has no shorthand so that -h can be the host, as in mosquitto and MQTTX.
	root.PersistentFlags().Bool("help", false, "show help for a command")
	// --version without shorthand: -v is --verbose on the client commands.
	root.Flags().Bool("version", false, "print the mqttx version")
	root.SetVersionTemplate("mqttx {{.Version}}\n")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
		return &cmdutil.FlagError{Err: err}
	})
	for _, s := range subcommands {
		if only == "" || only == s.name {
			root.AddCommand(s.new(f))
		}
	}
	for _, c := range root.Commands() {
		if c.Long == "" {
			c.Long = c.Short + "."
		}
		c.Long += "\n\n" + exitCodeHelp
	}
	if only != "" {
		// Completion asks through "__complete", which builds the whole tree.
		root.CompletionOptions.DisableDefaultCmd = true
		return root
	}
	addCompletions(root, f)
	return root
}

// printError writes err as one line to stderr: JSON when the command prints JSON,
// otherwise "Error: ..." and, for usage errors, always text, a hint to run --help.
func printError(f *cmdutil.Factory, cmd *cobra.Command, err error, code int) {
	if code != ExitUsage && jsonOutput(f, cmd.Flags()) {
		p := output.NewPrinter(f.IO, output.Format("json"), output.PrinterOptions{Now: f.Now})
		if p.Error(err) == nil {
			return
		}
	}
	fmt.Fprintf(f.IO.ErrOut, "Error: %s\n", output.EscapeControl(err.Error()))
	if code == ExitUsage {
		fmt.Fprintf(f.IO.ErrOut, "Run '%s --help' for usage.\n", cmd.CommandPath())
	}
}

// jsonOutput reports whether the command's -o flag selects JSON.
func jsonOutput(f *cmdutil.Factory, fs *pflag.FlagSet) bool {
	fl := fs.Lookup("output")
	if fl == nil {
		return false
	}
	format, err := output.ParseFormat(fl.Value.String(), f.IO)
	return err == nil && format == output.Format("json")
}

// applyAliases rewrites the MQTTX CLI spellings in args for the command they name
// ("pub", "bench pub"), also when shell completion asks about them. It returns the
// command found, for an error's usage hint.
func applyAliases(root *cobra.Command, args []string) ([]string, *cobra.Command, error) {
	skip := 0
	if len(args) > 0 && (args[0] == cobra.ShellCompRequestCmd || args[0] == cobra.ShellCompNoDescRequestCmd) {
		skip = 1
	}
	cmd := root
	for skip < len(args) {
		next, _, err := cmd.Find(args[skip : skip+1])
		if err != nil || next == cmd {
			break
		}
		cmd = next
		skip++
	}
	if cmd == root {
		return args, root, nil
	}
	path := strings.TrimPrefix(cmd.CommandPath(), root.Name()+" ")
	rest, err := cmdutil.ApplyAliases(path, args[skip:], cmd.Flags())
	if err != nil {
		return nil, cmd, err
	}
	return append(slices.Clone(args[:skip]), rest...), cmd, nil
}
