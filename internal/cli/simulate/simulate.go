// Package simulate is `mqttx simulate`: fleets of devices publishing realistic data
// from declarative scenarios, plus `simulate ls` and `simulate show`.
package simulate

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/mqttx/mqttx/internal/cli/cmdutil"
	"github.com/mqttx/mqttx/internal/mqttc"
	"github.com/mqttx/mqttx/internal/output"
	"github.com/mqttx/mqttx/internal/profile"
	"github.com/mqttx/mqttx/internal/simulate"
	"github.com/mqttx/mqttx/scenarios"
)

type options struct {
	IO      *output.Streams
	Factory *cmdutil.Factory
	Output  cmdutil.OutputOptions
	flags   *pflag.FlagSet

	Scenario string
	File     string
	Count    int
	Interval string
	Limit    int64
	Duration cmdutil.Duration
	Topic    string
	QoS      int
	Retain   bool
	Seed     uint64
	DryRun   bool
	Start    string

	set map[string]bool
}

// longOnly are shared flags whose letters simulate uses for something else (-i, -L).
var longOnly = map[string]string{
	"client-id": "client id prefix: device n is PREFIX_n (default: mqttx_ and 8 hex digits, from --seed when given)",
	"url":       "broker URL mqtt[s]|ws[s]://[user[:password]@]host[:port]; other flags override its parts",
}

// NewCmd returns the simulate command with its ls and show subcommands. runF, when not
// nil, replaces run (for tests of flag parsing).
func NewCmd(f *cmdutil.Factory, runF func(*options) error) *cobra.Command {
	opts := &options{IO: f.IO, Factory: f}
	cmd := &cobra.Command{
		Use:   "simulate (-sc <name> | -f <file.yaml>) [-c <devices>] [flags]",
		Short: "Simulate a fleet of devices publishing realistic data",
		Long: `Simulate devices that publish realistic data, each on its own connection, from a
scenario: a built-in (-sc NAME, see 'mqttx simulate ls') or a YAML file (-f). The
scenario format and its template functions are documented in scenarios/README.md.

Every device keeps its own state (ids, names, values that drift, counters that only
grow) and publishes every interval; the first messages are spread over one interval.
Devices reconnect with backoff when the broker goes away; a message that falls due
while its device is offline, or while 32 of its QoS 1/2 messages await acknowledgement,
is skipped and counted. The run ends after -L messages, after -d, or on Ctrl-C, and
prints a summary. With more than 10 devices, -v prints each device's reconnects.

--seed N makes the data repeatable: the same seed gives the same values (and, without
--client-id, the same client ids). --dry-run prints the messages as JSON Lines without
a broker, on a virtual clock that does not wait (from --start, else now); without
-L or -d it prints one message per device.

-t overrides the scenario's topic: %i is the device number, %c its client id, %u the
user name, %sc the scenario name. -I is the interval: a duration (500ms, 2s) or plain
milliseconds as in MQTTX.

Template functions (arguments and examples in scenarios/README.md):
` + funcList(),
		Example: `  $ mqttx simulate -sc tesla -c 10
  $ mqttx simulate -sc sensor -c 3 -L 30 -h broker.example.com
  $ mqttx simulate -f fleet.yaml -c 1000 -I 1s -d 5m -q 1
  $ mqttx simulate -sc weather -c 2 --seed 7 --dry-run -L 4 --start 2026-06-01T12:00:00Z
  $ mqttx simulate -sc smart_home -t 'home/%i/state' -o json
  $ mqttx simulate ls
  $ mqttx simulate show tesla > my-car.yaml`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.flags = cmd.Flags()
			opts.set = cmdutil.SetFlags(cmd.Flags())
			if err := opts.fixScenarioShorthand(args); err != nil {
				return err
			}
			if err := opts.validate(); err != nil {
				return &cmdutil.FlagError{Err: err}
			}
			if runF != nil {
				return runF(opts)
			}
			return run(cmd.Context(), opts)
		},
	}
	fs := cmd.Flags()
	// pflag has one-letter shorthands only: -sc NAME parses as -s with the value "c"
	// followed by NAME, which fixScenarioShorthand puts back together.
	fs.StringVarP(&opts.Scenario, "scenario", "s", "", "built-in or user scenario `NAME` (-sc NAME, as in MQTTX; see 'mqttx simulate ls')")
	fs.StringVarP(&opts.File, "file", "f", "", "scenario `FILE` (YAML)")
	_ = cmd.RegisterFlagCompletionFunc("scenario", func(c *cobra.Command, _ []string, prefix string) ([]cobra.Completion, cobra.ShellCompDirective) {
		list, err := catalog(c.Flags(), f.Getenv).List()
		if err != nil {
			cobra.CompDebugln(fmt.Sprintf("scenario names: %v", err), false)
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		var names []cobra.Completion
		for _, e := range list {
			if strings.HasPrefix(e.Name, prefix) {
				names = append(names, cobra.CompletionWithDesc(e.Name, e.Description))
			}
		}
		return names, cobra.ShellCompDirectiveNoFileComp
	})
	fs.IntVarP(&opts.Count, "count", "c", 1, "number of devices, each with its own connection")
	fs.StringVarP(&opts.Interval, "interval", "I", "", "time between two messages of one device: 500ms, 2s, or plain milliseconds (default: the scenario's)")
	fs.Int64VarP(&opts.Limit, "limit", "L", 0, "stop after `N` messages in all (0: no limit)")
	fs.VarP(&opts.Duration, "duration", "d", "stop after this long: seconds or a duration such as 5m (0: until Ctrl-C)")
	fs.StringVarP(&opts.Topic, "topic", "t", "", "topic instead of the scenario's: %i device number, %c client id, %u user name, %sc scenario")
	fs.IntVarP(&opts.QoS, "qos", "q", 0, "QoS level: 0, 1 or 2")
	fs.BoolVarP(&opts.Retain, "retain", "r", false, "ask the broker to retain the messages")
	fs.Uint64Var(&opts.Seed, "seed", 0, "seed for repeatable data (default: random, printed in the summary)")
	fs.BoolVar(&opts.DryRun, "dry-run", false, "print the messages as JSON Lines instead of connecting")
	fs.StringVar(&opts.Start, "start", "", "with --dry-run: start the virtual clock at this RFC 3339 `time` (default: now)")
	addConnFlags(fs)
	cmdutil.AddOutputFlags(fs, &opts.Output, "text")
	cmd.AddCommand(newLsCmd(f), newShowCmd(f))
	return cmd
}

// funcList wraps the template function names into indented lines.
func funcList() string {
	var b strings.Builder
	line := " "
	for _, f := range simulate.FuncNames() {
		if len(line)+len(f)+1 > 80 {
			b.WriteString(line + "\n")
			line = " "
		}
		line += " " + f
	}
	b.WriteString(line)
	return b.String()
}

// addConnFlags registers the shared connection flags simulate supports, without the -i
// and -L letters, which are --interval and --limit here.
func addConnFlags(fs *pflag.FlagSet) {
	all := pflag.NewFlagSet("conn", pflag.ContinueOnError)
	profile.AddConnFlags(all)
	all.VisitAll(func(fl *pflag.Flag) {
		if help, ok := longOnly[fl.Name]; ok {
			fl.Shorthand = ""
			fl.Usage = help
		}
		fs.AddFlag(fl)
	})
}

// fixScenarioShorthand turns "-sc NAME" (parsed as -s c, then NAME) and "-sc=NAME"
// back into the scenario name; other arguments are usage errors.
func (o *options) fixScenarioShorthand(args []string) error {
	switch {
	case o.Scenario == "c" && len(args) >= 1:
		o.Scenario, args = args[0], args[1:]
	case strings.HasPrefix(o.Scenario, "c=") && len(o.Scenario) > 2:
		o.Scenario = o.Scenario[2:]
	}
	if len(args) > 0 {
		if o.Scenario == "" && o.File == "" {
			return cmdutil.FlagErrorf("unexpected argument %q: give the scenario as -sc %s", args[0], args[0])
		}
		return cmdutil.FlagErrorf("unexpected argument %q: simulate takes flags only (or ls, show)", args[0])
	}
	return nil
}

// validate checks the flags on their own, before anything is read or connected.
func (o *options) validate() error {
	switch {
	case o.Scenario == "" && o.File == "":
		return errors.New("missing scenario: give -sc NAME (see 'mqttx simulate ls') or -f FILE.yaml")
	case o.Scenario != "" && o.File != "":
		return errors.New("conflicting --scenario and --file: give only one")
	}
	if o.Count < 1 || o.Count > 1_000_000 {
		return fmt.Errorf("invalid --count %d: must be 1 to 1000000", o.Count)
	}
	if o.set["interval"] {
		if _, err := parseInterval(o.Interval); err != nil {
			return err
		}
	}
	if o.Limit < 0 {
		return fmt.Errorf("invalid --limit %d: must be 0 (no limit) or more", o.Limit)
	}
	if err := cmdutil.ValidateQoS("qos", o.QoS); err != nil {
		return err
	}
	if o.Topic != "" || o.set["topic"] {
		probe := simulate.ExpandTopic(o.Topic, 1, "id", "user", "sc")
		if err := cmdutil.ValidateTopicName(probe); err != nil {
			return err
		}
	}
	if o.set["start"] {
		if !o.DryRun {
			return errors.New("--start needs --dry-run: a live run uses the clock")
		}
		if _, err := time.Parse(time.RFC3339, o.Start); err != nil {
			return fmt.Errorf("invalid --start %q: use RFC 3339, e.g. 2026-06-01T12:00:00Z", o.Start)
		}
	}
	return o.Output.Validate()
}

// parseInterval reads -I: a Go duration, or plain milliseconds as MQTTX's -I.
func parseInterval(s string) (time.Duration, error) {
	d, err := cmdutil.ParseMillis(s)
	if err != nil {
		return 0, fmt.Errorf("invalid --interval: %w", err)
	}
	if d < time.Millisecond || d > 24*time.Hour {
		return 0, fmt.Errorf("invalid --interval %s: must be 1ms to a day", strings.TrimSpace(s))
	}
	return d, nil
}

// configPath is --config, else the default config file.
func configPath(fs *pflag.FlagSet, getenv func(string) string) string {
	if fl := fs.Lookup(profile.FlagConfig); fl != nil && fl.Changed {
		return fl.Value.String()
	}
	return profile.ConfigPath(getenv)
}

// catalog is the built-ins plus the scenarios folder beside the config file.
func catalog(fs *pflag.FlagSet, getenv func(string) string) simulate.Catalog {
	return simulate.Catalog{Builtin: scenarios.FS, UserDir: filepath.Join(filepath.Dir(configPath(fs, getenv)), "scenarios")}
}

// loadScenario reads -sc or -f. A bad scenario is a usage error with file:line.
func (o *options) loadScenario() (*simulate.Scenario, error) {
	if o.File != "" {
		data, err := os.ReadFile(o.File)
		if err != nil {
			return nil, fmt.Errorf("read scenario: %w", err)
		}
		sc, err := simulate.Load(o.File, data)
		if err != nil {
			return nil, &cmdutil.FlagError{Err: err}
		}
		return sc, nil
	}
	sc, err := catalog(o.flags, o.Factory.Getenv).Find(o.Scenario)
	if err != nil {
		return nil, &cmdutil.FlagError{Err: err}
	}
	return sc, nil
}

func randomSeed() uint64 {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return binary.LittleEndian.Uint64(b[:]) >> 11 // fits a JSON number exactly
}

func run(ctx context.Context, o *options) error {
	sc, err := o.loadScenario()
	if err != nil {
		return err
	}
	p, format, err := o.Output.NewPrinter(o.Factory)
	if err != nil {
		return err
	}
	sp := output.NewSimulatePrinter(o.IO, format, p, o.Factory.Now)

	prof, err := profile.Resolve(o.flags, o.Factory.Getenv, "")
	if err != nil {
		return err
	}
	co, err := prof.Options()
	if err != nil {
		return err
	}
	seed := o.Seed
	if !o.set["seed"] {
		seed = randomSeed()
	}
	prefix := co.ClientID
	if prof.ClientID == nil && o.set["seed"] {
		prefix = fmt.Sprintf("mqttx_%08x", uint32(simulate.DeviceSeed(seed, 0)))
	}
	so := simulate.Options{
		Scenario: sc,
		Devices:  o.Count,
		Limit:    o.Limit,
		Duration: time.Duration(o.Duration),
		Topic:    o.Topic,
		Username: co.Username,
		ClientID: prefix,
		QoS:      byte(o.QoS),
		Retain:   o.Retain,
		Seed:     seed,
		Now:      o.Factory.Now,
	}
	if o.set["interval"] {
		so.Interval, _ = parseInterval(o.Interval)
	}
	if o.DryRun {
		if o.set["start"] {
			start, _ := time.Parse(time.RFC3339, o.Start)
			so.Now = func() time.Time { return start }
		}
		_, err := simulate.DryRun(so, func(m simulate.Message) error {
			return sp.DryRunMessage(m, so.QoS, so.Retain)
		})
		return err
	}
	return live(ctx, sp, so, co, o.Output.Verbose)
}

func live(ctx context.Context, sp *output.SimulatePrinter, so simulate.Options, co mqttc.Options, verbose bool) error {
	so.Transport = &simulate.BenchTransport{Options: co}
	so.KeepAlive = time.Duration(co.KeepAlive) * time.Second
	so.OnProgress = func(pr simulate.Progress) { _ = sp.Progress(so.Scenario.Name, pr) }
	// One line per device is noise in a large fleet: the progress line and the summary
	// count reconnects; -v shows every device's.
	so.OnEvent = func(e simulate.Event) {
		if e.Type == "connected" || verbose || so.Devices <= 10 {
			_ = sp.Event(e)
		}
	}
	port := co.Port
	if port == 0 {
		port = mqttc.DefaultPort(co.Scheme)
	}
	devices := "device"
	if so.Devices != 1 {
		devices = "devices"
	}
	_ = sp.Status(output.Event{Type: "connecting", Text: fmt.Sprintf("Connecting %d %s to %s:%d...", so.Devices, devices, co.Host, port),
		Fields: map[string]any{"host": co.Host, "port": port, "devices": so.Devices, "scenario": so.Scenario.Name}})
	s, err := simulate.Run(ctx, so)
	if s == nil {
		if err != nil && ctx.Err() != nil {
			return ctx.Err()
		}
		return err
	}
	if perr := sp.Summary(s); perr != nil && err == nil {
		err = perr
	}
	return err
}
