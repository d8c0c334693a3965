// Package bench is `mqttx bench conn|pub|sub|merge`: load generation on the lean
// engine in internal/bench, with live progress and a summary.
package bench

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/mqttx/mqttx/internal/bench"
	"github.com/mqttx/mqttx/internal/cli/cmdutil"
	"github.com/mqttx/mqttx/internal/mqttc"
	"github.com/mqttx/mqttx/internal/output"
	"github.com/mqttx/mqttx/internal/profile"
)

type options struct {
	IO          *output.Streams
	Factory     *cmdutil.Factory
	ConnOptions func() (mqttc.Options, error) // resolved only when run
	Output      cmdutil.OutputOptions
	set         map[string]bool

	Command         string // conn, pub or sub
	Count           int
	Start           int
	ConnectInterval cmdutil.Millis
	ConnectRate     float64
	IfAddrs         []string
	Duration        cmdutil.Duration
	Prefix          string
	ClientID        string

	Topic       string   // pub
	Topics      []string // sub
	Share       string
	Interval    cmdutil.Millis
	Rate        float64
	Limit       int64
	Size        int
	Message     string
	File        string
	QoS         int
	Retain      bool
	Inflight    int
	Subscribers int

	ifaddrs []net.IP
}

// NewCmd returns the bench command and its subcommands. runF, when not nil, replaces
// the run of conn, pub and sub (for tests of flag parsing).
func NewCmd(f *cmdutil.Factory, runF func(*options) error) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bench <command>",
		Short: "Benchmark a broker: connections, publishing, subscribing",
		Long: `Benchmark an MQTT broker with many connections from one process.

bench conn opens connections and holds them, bench pub publishes and bench sub
subscribes; bench merge combines the JSON summaries of runs split over several
machines. Publishers stamp each payload with its send time and sequence number, so
subscribers (bench sub, or pub --sub) report end-to-end latency, loss, duplicates and
reordering per publisher.

On a terminal a live line on stderr shows progress each second, and a summary table
follows at the end (also after Ctrl-C). With -o json, stdout gets one
{"type":"progress"} object per second and a final {"type":"summary"} that carries the
latency histograms, so that bench merge gets exact percentiles.

Short flags follow emqtt-bench: -c count, -i connect interval, -I message interval,
-L limit, -s size, -F inflight, -n start index. The shared flags they shadow are
long-only here: --client-id (elsewhere -i) and --url (elsewhere -L).`,
		Example: `  $ mqttx bench conn -c 1000 -R 500 -d 30s
  $ mqttx bench pub -c 10 -t bench/%i -s 256 -q 1 -L 100000 --sub 1
  $ mqttx bench sub -c 10 -t 'bench/#' -q 1
  $ mqttx bench pub -c 100 -n 100 --rate 5000 -d 1m -t bench/%i -o json > b.jsonl
  $ mqttx bench merge a.jsonl b.jsonl`,
		Args: cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(
		newRunCmd(f, runF, "conn"),
		newRunCmd(f, runF, "pub"),
		newRunCmd(f, runF, "sub"),
		newMergeCmd(f),
	)
	return cmd
}

var uses = map[string]struct{ use, short, example string }{
	"conn": {"conn [-c <count>] [-i <interval> | -R <rate>] [-d <duration>]", "Open connections and hold them",
		`  $ mqttx bench conn -c 1000 -R 500 -d 30s
  $ mqttx bench conn -c 50000 --ifaddr 127.0.0.1,127.0.0.2 -h 127.0.0.1`},
	"pub": {"pub -t <topic> [-c <count>] [-I <interval> | --rate <msg/s>] [-L <limit>] [-d <duration>]", "Publish from many connections",
		`  $ mqttx bench pub -c 10 -t bench/%i -s 256 -q 1 -L 100000 --sub 1
  $ mqttx bench pub -c 100 -I 100ms -t 'sensor/%i/%rand_10' -d 1m`},
	"sub": {"sub -t <filter>... [-c <count>] [-q <qos>] [--share <group>]", "Subscribe from many connections",
		`  $ mqttx bench sub -c 10 -t 'bench/#' -q 1
  $ mqttx bench sub -c 4 -t 'bench/+' --share g -o json`},
}

func newRunCmd(f *cmdutil.Factory, runF func(*options) error, which string) *cobra.Command {
	opts := &options{IO: f.IO, Factory: f, Command: which}
	u := uses[which]
	cmd := &cobra.Command{
		Use:     u.use,
		Short:   u.short,
		Example: u.example,
		Args:    cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.set = cmdutil.SetFlags(cmd.Flags())
			if which == "pub" && !opts.set["topic"] {
				t, err := cmdutil.URLTopic(cmd.Flags())
				if err != nil {
					return err
				}
				opts.Topic = t
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
	opts.ConnOptions = addConnFlags(cmd, f)
	fs := cmd.Flags()
	fs.IntVarP(&opts.Count, "count", "c", 1, "number of connections")
	fs.IntVarP(&opts.Start, "start", "n", 0, "index of the first connection, for %i and client ids (split a run over machines)")
	fs.VarP(&opts.ConnectInterval, "interval", "i", "time between connection starts: 10ms, 1s, or plain milliseconds as in MQTTX (default: as fast as the broker accepts)")
	fs.Float64VarP(&opts.ConnectRate, "connrate", "R", 0, "connections started per second, instead of -i")
	fs.StringSliceVar(&opts.IfAddrs, "ifaddr", nil, "local source addresses to connect from, in turn: `a,b,c` (mqtt only; past ~28k connections per address)")
	fs.VarP(&opts.Duration, "duration", "d", "stop after this long, e.g. 30s or 5m (default: until Ctrl-C or, for pub, the -L limit)")
	fs.StringVar(&opts.Prefix, "prefix", "", "client id prefix; the connection's index is appended (default: mqttx_bench_ and 4 random hex digits and _)")
	switch which {
	case "pub":
		fs.StringVarP(&opts.Topic, "topic", "t", "", "topic; placeholders %i index, %c client id, %u username, %s sequence, %rand_N random 1..N")
		fs.VarP(&opts.Interval, "interval-msg", "I", "time between messages of each publisher: 100ms, 2s, or plain milliseconds as in MQTTX (default: as fast as the inflight window allows)")
		fs.Float64Var(&opts.Rate, "rate", 0, "messages per second in total, spread over the publishers, instead of -I")
		fs.Int64VarP(&opts.Limit, "limit", "L", 0, "messages to publish in total, then wait for their acknowledgements and deliveries and stop")
		fs.IntVarP(&opts.Size, "size", "s", 256, "payload size in bytes; at least 24 carries the latency stamp")
		fs.StringVarP(&opts.Message, "message", "m", "", "literal payload instead of stamped ones (no latency)")
		fs.StringVarP(&opts.File, "file", "f", "", "send the contents of `FILE` as every payload (no latency)")
		fs.IntVarP(&opts.QoS, "qos", "q", 0, "QoS level: 0, 1 or 2")
		fs.BoolVarP(&opts.Retain, "retain", "r", false, "publish with the retain flag")
		fs.IntVarP(&opts.Inflight, "inflight", "F", 100, "QoS 1 and 2 messages each publisher keeps in flight")
		fs.IntVar(&opts.Subscribers, "sub", 0, "also run `N` subscribers on the topic (placeholders as +), for latency and loss")
	case "sub":
		fs.StringArrayVarP(&opts.Topics, "topic", "t", nil, "topic filter, repeatable; placeholders %i, %c, %u")
		fs.IntVarP(&opts.QoS, "qos", "q", 0, "QoS level: 0, 1 or 2")
		fs.StringVar(&opts.Share, "share", "", "subscribe as members of shared subscription `GROUP` ($share/GROUP/filter)")
	}
	cmdutil.AddOutputFlags(fs, &opts.Output, "text")
	return cmd
}

// addConnFlags registers the shared connection flags, with -i and -L left to bench
// (emqtt-bench's letters): --client-id and --url are long-only here.
func addConnFlags(cmd *cobra.Command, f *cmdutil.Factory) func() (mqttc.Options, error) {
	shared := pflag.NewFlagSet("shared", pflag.ContinueOnError)
	profile.AddConnFlags(shared)
	fs := cmd.Flags()
	shared.VisitAll(func(fl *pflag.Flag) {
		switch fl.Name {
		case "client-id":
			fl.Shorthand = ""
			fl.Usage = "client id template (-i is the connect interval here); the index is appended unless it has %i"
		case profile.FlagURL:
			fl.Shorthand = ""
			fl.Usage += " (-L is the limit here)"
		}
		fs.AddFlag(fl)
	})
	return func() (mqttc.Options, error) {
		p, err := profile.Resolve(fs, f.Getenv, "")
		if err != nil {
			return mqttc.Options{}, err
		}
		return p.Options()
	}
}

// validate checks the flags on their own, before anything is resolved or read.
func (o *options) validate() error {
	if o.Count < 1 {
		return fmt.Errorf("invalid --count %d: must be at least 1", o.Count)
	}
	if o.Start < 0 {
		return fmt.Errorf("invalid --start %d: must not be negative", o.Start)
	}
	if o.ConnectRate < 0 {
		return fmt.Errorf("invalid --connrate %v: must not be negative", o.ConnectRate)
	}
	if o.set["interval"] && o.set["connrate"] {
		return errors.New("conflicting --interval and --connrate: give one connection pace")
	}
	o.ifaddrs = nil
	for _, a := range o.IfAddrs {
		ip := net.ParseIP(strings.TrimSpace(a))
		if ip == nil {
			return fmt.Errorf("invalid --ifaddr %q: give IP addresses, comma separated", a)
		}
		o.ifaddrs = append(o.ifaddrs, ip)
	}
	if o.set["client-id"] && o.set["prefix"] {
		return errors.New("conflicting --client-id and --prefix: give one")
	}
	if err := cmdutil.ValidateQoS("qos", o.QoS); err != nil {
		return err
	}
	switch o.Command {
	case "pub":
		if err := o.validatePub(); err != nil {
			return err
		}
	case "sub":
		if len(o.Topics) == 0 {
			return errors.New("missing --topic: give -t <filter>")
		}
		for _, t := range o.Topics {
			if err := cmdutil.ValidateTopicFilter(t); err != nil {
				return err
			}
			tp, err := bench.ParseTemplate(t)
			if err != nil {
				return err
			}
			if tp.PerMessage() {
				return fmt.Errorf("invalid --topic %s: %%s and %%rand_N only work in published topics", t)
			}
		}
		if strings.ContainsAny(o.Share, "/+#") || (o.set["share"] && o.Share == "") {
			return fmt.Errorf("invalid --share %q: a group name without /, + or #", o.Share)
		}
	}
	return o.Output.Validate()
}

func (o *options) validatePub() error {
	if o.Topic == "" {
		return errors.New("missing --topic: give -t <topic>")
	}
	tp, err := bench.ParseTemplate(o.Topic)
	if err != nil {
		return err
	}
	if err := cmdutil.ValidateTopicName(tp.Expand(0, "c", "u")); err != nil {
		return err
	}
	if o.set["interval-msg"] && o.set["rate"] {
		return errors.New("conflicting --interval-msg and --rate: give one message pace")
	}
	if o.Rate < 0 {
		return fmt.Errorf("invalid --rate %v: must not be negative", o.Rate)
	}
	if o.Limit < 0 {
		return fmt.Errorf("invalid --limit %d: must not be negative", o.Limit)
	}
	if o.set["message"] && o.set["file"] {
		return errors.New("conflicting --message and --file: give one payload")
	}
	if (o.set["message"] || o.set["file"]) && o.set["size"] {
		return errors.New("conflicting --size with --message or --file: the payload has its own size")
	}
	if o.Size < 0 || o.Size > 256<<20 {
		return fmt.Errorf("invalid --size %d: must be 0 to 268435456", o.Size)
	}
	if o.Inflight < 1 || o.Inflight > 65535 {
		return fmt.Errorf("invalid --inflight %d: must be 1 to 65535", o.Inflight)
	}
	if o.Subscribers < 0 {
		return fmt.Errorf("invalid --sub %d: must not be negative", o.Subscribers)
	}
	return nil
}

// config completes the options into the engine's configuration: resolves the shared
// connection settings and reads the payload file.
func (o *options) config() (bench.Config, error) {
	co, err := o.ConnOptions()
	if err != nil {
		return bench.Config{}, err
	}
	if len(o.ifaddrs) > 0 && co.Scheme != "mqtt" {
		return bench.Config{}, &cmdutil.FlagError{Err: fmt.Errorf("invalid --ifaddr with --protocol %s: source addresses work with mqtt only", co.Scheme)}
	}
	prefix := o.Prefix
	switch {
	case o.set["client-id"]:
		prefix = co.ClientID
	case prefix == "":
		var b [2]byte
		_, _ = rand.Read(b[:])
		prefix = "mqttx_bench_" + hex.EncodeToString(b[:]) + "_"
	}
	c := bench.Config{
		Parameters: bench.Parameters{
			Command:         o.Command,
			Broker:          net.JoinHostPort(co.Host, strconv.Itoa(co.Port)),
			Protocol:        co.Scheme,
			Version:         co.Version.String(),
			Count:           o.Count,
			StartIndex:      o.Start,
			ClientID:        prefix,
			ConnectInterval: time.Duration(o.ConnectInterval),
			ConnectRate:     o.ConnectRate,
			IfAddrs:         o.IfAddrs,
			Duration:        time.Duration(o.Duration),
			QoS:             o.QoS,
		},
		Conn:           bench.ConnOptions{Client: co},
		LocalAddrs:     o.ifaddrs,
		ConnectTimeout: co.ConnectTimeout,
	}
	p := &c.Parameters
	switch o.Command {
	case "pub":
		p.Topic, p.Interval, p.Rate, p.Limit = o.Topic, time.Duration(o.Interval), o.Rate, o.Limit
		p.Size, p.Retain, p.Inflight, p.Subscribers = o.Size, o.Retain, o.Inflight, o.Subscribers
		switch {
		case o.set["message"]:
			c.Payload, p.PayloadFrom, p.Size = []byte(o.Message), "-m", len(o.Message)
		case o.set["file"]:
			data, err := os.ReadFile(o.File)
			if err != nil {
				return c, fmt.Errorf("read --file: %w", err)
			}
			c.Payload, p.PayloadFrom, p.Size = data, o.File, len(data)
		}
		if c.Payload == nil && o.Size < bench.StampSize && o.Size >= 0 {
			// Too small for a stamp: sent unstamped, as with -m.
			c.Payload = make([]byte, o.Size)
		}
	case "sub":
		p.Topics, p.Share = o.Topics, o.Share
	}
	return c, nil
}

func run(ctx context.Context, o *options) error {
	c, err := o.config()
	if err != nil {
		return err
	}
	_, format, err := o.Output.NewPrinter(o.Factory)
	if err != nil {
		return err
	}
	if format == output.FormatRaw {
		return &cmdutil.FlagError{Err: errors.New("invalid --output raw: bench prints text or json")}
	}
	p := output.NewBenchPrinter(o.IO, format)
	c.OnProgress = func(pr bench.Progress) { _ = p.Progress(pr) }
	sum, runErr := bench.Run(ctx, c)
	if sum != nil {
		if err := p.Summary(sum); err != nil && runErr == nil {
			runErr = err
		}
	}
	return runErr
}

func newMergeCmd(f *cmdutil.Factory) *cobra.Command {
	var out cmdutil.OutputOptions
	cmd := &cobra.Command{
		Use:   "merge <file>...",
		Short: "Merge the JSON summaries of runs made side by side",
		Long: `Merge the summaries of bench runs split over several machines or processes (-n
start index, -o json): counts, errors and rates add up, the elapsed time is the
longest, and latency percentiles come from the merged histograms, exactly. Each file
is the JSON Lines output of one run; its last "summary" object is used.`,
		Example: `  $ mqttx bench pub -c 100 -n 0 -t bench/%i -L 100000 -o json > a.jsonl
  $ mqttx bench pub -c 100 -n 100 -t bench/%i -L 100000 -o json > b.jsonl
  $ mqttx bench merge a.jsonl b.jsonl`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return cmdutil.FlagErrorf("missing files: give the JSON output of one or more bench runs")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := out.Validate(); err != nil {
				return &cmdutil.FlagError{Err: err}
			}
			var sums []*bench.Summary
			for _, name := range args {
				s, err := readSummary(name)
				if err != nil {
					return err
				}
				sums = append(sums, s)
			}
			m, err := bench.MergeSummaries(sums)
			if err != nil {
				return err
			}
			_, format, err := out.NewPrinter(f)
			if err != nil {
				return err
			}
			return output.NewBenchPrinter(f.IO, format).Summary(m)
		},
	}
	cmdutil.AddOutputFlags(cmd.Flags(), &out, "text")
	return cmd
}

// readSummary returns the last summary in a bench run's JSON Lines output.
func readSummary(name string) (*bench.Summary, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var last *bench.Summary
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 64<<20)
	line := 0
	for sc.Scan() {
		line++
		b := sc.Bytes()
		if !strings.Contains(string(b), `"summary"`) {
			continue
		}
		var head struct {
			Type string `json:"type"`
		}
		if json.Unmarshal(b, &head) != nil || head.Type != "summary" {
			continue
		}
		var s bench.Summary
		if err := json.Unmarshal(b, &s); err != nil {
			return nil, fmt.Errorf("%s:%d: invalid summary: %w", name, line, err)
		}
		last = &s
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	if last == nil {
		return nil, fmt.Errorf("%s: no bench summary: give the output of a bench run with -o json", name)
	}
	return last, nil
}
