// Package sub is `mqttx sub`: subscribe to topic filters and print what arrives.
package sub

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"

	"github.com/mqttx/mqttx/internal/cli/cmdutil"
	"github.com/mqttx/mqttx/internal/mqttc"
	"github.com/mqttx/mqttx/internal/output"
	"github.com/mqttx/mqttx/internal/packet"
	"github.com/mqttx/mqttx/internal/payload"
)

// queueSize bounds the messages waiting between the client's network goroutine and the
// printer. When the printer cannot keep up (a paused pipe), further messages are dropped
// and counted rather than stalling the connection's keepalive.
const queueSize = 1024

type options struct {
	IO          *output.Streams
	Connect     func(mqttc.Options) (mqttc.Client, error)
	ConnOptions func() (mqttc.Options, error)
	Output      cmdutil.OutputOptions
	Factory     *cmdutil.Factory

	Topics            []string
	QoS               []int
	Count             int
	Timeout           cmdutil.Duration
	NoRetained        bool
	NoLocal           bool
	RetainAsPublished bool
	RetainHandling    int
	SubscriptionID    int
	UserProperties    []string
	Reconnect         cmdutil.ReconnectOptions

	FormatString   string   // -F
	NoNewline      bool     // -N
	Display        string   // --format
	RetainedOnly   bool     // --retained-only
	RemoveRetained bool     // --remove-retained
	FilterOut      []string // -T
	Unsubscribe    []string // -U
	FileWrite      string   // --file-write
	Delimiter      string   // --delimiter
	FileSave       string   // --file-save
	Debug          bool     // -d

	set map[string]bool
}

var v5Flags = []string{"no-local", "retain-as-published", "retain-handling", "subscription-identifier", "user-property"}

// NewCmd returns the sub command. runF, when not nil, replaces run.
func NewCmd(f *cmdutil.Factory, runF func(*options) error) *cobra.Command {
	opts := &options{IO: f.IO, Connect: f.Connect, Factory: f}
	cmd := &cobra.Command{
		Use:   "sub -t <filter>... [flags]",
		Short: "Subscribe to topics and print the messages",
		Long: `Subscribe to one or more topic filters and print every message received: text on a
terminal, JSON Lines when stdout is not a terminal (-o to choose). Runs until Ctrl-C
(clean disconnect, exit 0), until -C messages were printed, or until -W expires: exit
27 if nothing was received by then, 0 if something was.

-C N is exact: the first N messages are printed and acknowledged, and nothing after
them is acknowledged, so with a persistent session (--no-clean) the broker keeps the
rest for the next sub. Retained messages skipped by -R are acknowledged and do not
count. If output cannot keep up, messages beyond a queue of 1024 are dropped (and
acknowledged) with a note on stderr; a dropped message counts towards -C.

A lost connection is re-established ("Reconnecting... [n]" on stderr, waiting
--reconnect-period, doubled per failed attempt up to 30s, with jitter) and the filters
subscribed again, unless --no-reconnect is given or --max-reconnects attempts failed
(exit 1); a broker that refuses the connection is not asked again (exit 3).

-F prints each message with a mosquitto_sub format string (a newline follows unless -N):
` + output.FormatDirectives + `

--format shows payloads decoded (base64, hex, json indented, cbor or msgpack as JSON); a
payload that is not in that format is shown as received, with a warning on stderr.
--file-write and --file-save keep the payloads as received.`,
		Example: `  $ mqttx sub -t 'sensor/+/temperature'
  $ mqttx sub -t a/# -q 1 -t b/+ -q 2
  $ mqttx sub -t status -C 1 -W 5 -o raw
  $ mqttx sub -t jobs -i worker1 --no-clean -x 3600 -q 1
  $ mqttx sub -t 'sensor/#' -F '%I %t %p'
  $ mqttx sub -t 'config/#' --retained-only --remove-retained`,
		Args: cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.set = cmdutil.SetFlags(cmd.Flags())
			if len(opts.Topics) == 0 {
				t, err := cmdutil.URLTopic(cmd.Flags())
				if err != nil {
					return err
				}
				if t != "" {
					opts.Topics = []string{t}
				}
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
	opts.ConnOptions = cmdutil.AddConnFlags(cmd, f)
	fs := cmd.Flags()
	fs.StringArrayVarP(&opts.Topics, "topic", "t", nil, "topic `filter` to subscribe to (repeatable)")
	fs.IntSliceVarP(&opts.QoS, "qos", "q", nil, "QoS: one for all filters, or one per -t in order (default 0)")
	fs.IntVarP(&opts.Count, "count", "C", 0, "exit after `N` messages were printed; later ones stay unacknowledged")
	fs.VarP(&opts.Timeout, "timeout", "W", "exit after `DURATION` (seconds or 1m30s): 27 if nothing was received, else 0")
	fs.BoolVarP(&opts.NoRetained, "no-retained", "R", false, "do not print retained messages (the retain flag is set)")
	fs.BoolVar(&opts.NoLocal, "no-local", false, "MQTT 5: do not receive messages published by this client")
	fs.BoolVar(&opts.RetainAsPublished, "retain-as-published", false, "MQTT 5: keep the retain flag as published")
	fs.IntVar(&opts.RetainHandling, "retain-handling", 0, "MQTT 5: retained messages at subscribe: 0 send, 1 send if new subscription, 2 never")
	fs.IntVar(&opts.SubscriptionID, "subscription-identifier", 0, "MQTT 5: subscription identifier `N` (1 to 268435455)")
	fs.StringArrayVar(&opts.UserProperties, "user-property", nil, "MQTT 5: SUBSCRIBE user property `key=value` (repeatable)")
	fs.StringVarP(&opts.FormatString, "format-string", "F", "", "print each message with a mosquitto_sub format `STRING`, e.g. '%t %p' (directives below)")
	fs.BoolVarP(&opts.NoNewline, "no-newline", "N", false, "no newline after a raw payload (-o raw) or an -F line")
	fs.StringVar(&opts.Display, "format", "", "show payloads decoded: base64, hex, json (indented), cbor or msgpack (as JSON)")
	fs.BoolVar(&opts.RetainedOnly, "retained-only", false, "print only retained messages and exit at the first message that is not retained")
	fs.BoolVar(&opts.RemoveRetained, "remove-retained", false, "clear each retained message received (publish an empty retained message to its topic)")
	fs.StringArrayVarP(&opts.FilterOut, "filter-out", "T", nil, "do not print messages whose topic matches `FILTER` (repeatable)")
	fs.StringArrayVarP(&opts.Unsubscribe, "unsubscribe", "U", nil, "unsubscribe from `FILTER` first, e.g. a subscription left in a persistent session (repeatable)")
	fs.StringVar(&opts.FileWrite, "file-write", "", "also append each payload to `FILE`, followed by --delimiter")
	fs.StringVar(&opts.Delimiter, "delimiter", `\n`, `what --file-write writes after each payload (\n, \t and \\ are understood)`)
	fs.BoolVarP(&opts.Debug, "debug", "d", false, "print every MQTT packet sent (->) and received (<-) on stderr")
	fs.StringVar(&opts.FileSave, "file-save", "", "also save each payload as its own file in `DIR`")
	cmdutil.AddReconnectFlags(fs, &opts.Reconnect)
	cmdutil.GroupFlagsInHelp(cmd)
	cmdutil.AddOutputFlags(fs, &opts.Output, "auto")
	return cmd
}

func (o *options) validate() error {
	if len(o.Topics) == 0 && len(o.Unsubscribe) == 0 {
		return errors.New("missing --topic: give at least one -t filter")
	}
	for _, t := range append(append([]string{}, o.FilterOut...), o.Unsubscribe...) {
		if err := cmdutil.ValidateTopicFilter(t); err != nil {
			return err
		}
	}
	if o.FormatString != "" {
		if _, err := output.ParseMessageFormat(o.FormatString); err != nil {
			return err
		}
	}
	if _, err := payload.ParseFormat(o.Display); err != nil {
		return err
	}
	if o.RetainedOnly && o.NoRetained {
		return errors.New("conflicting --retained-only and --no-retained: nothing would be printed")
	}
	for _, t := range o.Topics {
		if err := cmdutil.ValidateTopicFilter(t); err != nil {
			return err
		}
	}
	for _, q := range o.QoS {
		if err := cmdutil.ValidateQoS("qos", q); err != nil {
			return err
		}
	}
	if len(o.QoS) > 1 && len(o.QoS) != len(o.Topics) {
		return fmt.Errorf("invalid --qos: %d values for %d topics: give one -q for all or one per -t", len(o.QoS), len(o.Topics))
	}
	if o.Count < 0 {
		return fmt.Errorf("invalid --count %d: must not be negative", o.Count)
	}
	if o.RetainHandling < 0 || o.RetainHandling > 2 {
		return fmt.Errorf("invalid --retain-handling %d: must be 0, 1 or 2", o.RetainHandling)
	}
	if o.set["subscription-identifier"] && (o.SubscriptionID < 1 || o.SubscriptionID > 268435455) {
		return fmt.Errorf("invalid --subscription-identifier %d: must be between 1 and 268435455", o.SubscriptionID)
	}
	if _, err := cmdutil.ParseUserProperties("user-property", o.UserProperties); err != nil {
		return err
	}
	if err := o.Reconnect.Validate(); err != nil {
		return err
	}
	return o.Output.Validate()
}

// subscriptions returns one Subscription per -t with its QoS.
func (o *options) subscriptions() []mqttc.Subscription {
	subs := make([]mqttc.Subscription, len(o.Topics))
	for i, t := range o.Topics {
		q := 0
		switch len(o.QoS) {
		case 0:
		case 1:
			q = o.QoS[0]
		default:
			q = o.QoS[i]
		}
		subs[i] = mqttc.Subscription{
			Topic:             t,
			QoS:               byte(q),
			NoLocal:           o.NoLocal,
			RetainAsPublished: o.RetainAsPublished,
			RetainHandling:    byte(o.RetainHandling),
		}
	}
	return subs
}

func (o *options) subscribeOptions() mqttc.SubscribeOptions {
	var so mqttc.SubscribeOptions
	if o.set["subscription-identifier"] {
		id := o.SubscriptionID
		so.SubscriptionID = &id
	}
	so.UserProperties, _ = cmdutil.ParseUserProperties("user-property", o.UserProperties)
	return so
}

func run(ctx context.Context, o *options) error {
	co, err := o.ConnOptions()
	if err != nil {
		return err
	}
	if err := cmdutil.RequireV5(co.Version, o.set, v5Flags); err != nil {
		return err
	}
	tmpl, _ := output.ParseMessageFormat(o.FormatString)
	if o.FormatString == "" {
		tmpl = nil
	} else if !o.set["output"] {
		// -F chooses the message layout; status lines stay plain text.
		o.Output.Format = "text"
	}
	display, _ := payload.ParseFormat(o.Display)
	// displayErr is why the last payload could not be shown in --format; the printer
	// calls Display from this goroutine, and handle reports it after printing.
	var displayErr error
	p, _, err := o.Output.NewPrinter(o.Factory, func(po *output.PrinterOptions) {
		po.Template, po.NoNewline = tmpl, o.NoNewline
		if display != payload.Text {
			po.Display = func(b []byte) []byte {
				shown, err := payload.Show(display, b)
				if err != nil {
					displayErr = err
					return b
				}
				return shown
			}
		}
	})
	if err != nil {
		return err
	}
	out, err := openOutputs(o)
	if err != nil {
		return err
	}
	defer out.close()

	msgs := make(chan mqttc.Message, queueSize)
	var dropped atomic.Int64
	// With -C N the handler accepts exactly N printable messages and declines the next
	// one, so the client acknowledges nothing after the Nth and a persistent session
	// delivers the rest on the next connection. full is closed once N were accepted.
	var accepted atomic.Int64
	full := make(chan struct{})
	// -d: packets are queued by the network goroutines and printed by this one.
	traces := make(chan mqttc.PacketTrace, queueSize)
	if o.Debug {
		co.OnPacket = func(t mqttc.PacketTrace) {
			select {
			case traces <- t:
			default:
			}
		}
	}
	drainTraces := func() {
		for {
			select {
			case t := <-traces:
				_ = p.Status(output.Packet(t))
			default:
				return
			}
		}
	}
	defer drainTraces()
	// --retained-only ends at the first message that is not retained.
	notRetained := make(chan struct{})
	var notRetainedOnce sync.Once
	co.OnMessage = func(m mqttc.Message) bool {
		if o.NoRetained && m.Retain {
			return true // accepted (and acknowledged), just not printed
		}
		if o.RetainedOnly && !m.Retain {
			notRetainedOnce.Do(func() { close(notRetained) })
			return false
		}
		for _, f := range o.FilterOut {
			if packet.MatchTopic(f, m.Topic) {
				return true // -T: acknowledged, not printed
			}
		}
		if o.Count > 0 && accepted.Load() >= int64(o.Count) {
			return false
		}
		select {
		case msgs <- m:
		default:
			dropped.Add(1)
		}
		if n := accepted.Add(1); o.Count > 0 && n == int64(o.Count) {
			close(full)
		}
		return true
	}
	c, err := cmdutil.Connect(ctx, o.Connect, p, co)
	if err != nil {
		return err
	}
	disconnect := func() error {
		dctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := c.Disconnect(dctx); err != nil {
			return err // the client's error says "disconnect: ..."
		}
		return nil
	}
	defer func() { _ = c.Disconnect(context.Background()) }()

	subs := o.subscriptions()
	if len(o.Unsubscribe) > 0 {
		if err := c.Unsubscribe(ctx, o.Unsubscribe...); err != nil {
			return err
		}
		for _, t := range o.Unsubscribe {
			_ = p.Status(output.Unsubscribed(t))
		}
		if len(subs) == 0 {
			_ = p.Status(output.Connected(c.Ack.ClientID, c.Ack.SessionPresent))
			return disconnect()
		}
	}
	subscribe := func() error {
		drainTraces()
		_ = p.Status(output.Connected(c.Ack.ClientID, c.Ack.SessionPresent))
		codes, err := c.Subscribe(ctx, subs, o.subscribeOptions())
		drainTraces()
		if err != nil {
			return err // the client's error says "subscribe: ..."
		}
		for i, s := range subs {
			var granted *byte
			if i < len(codes) {
				granted = &codes[i]
			}
			_ = p.Status(output.Subscribed(s.Topic, s.QoS, granted))
		}
		return nil
	}
	if err := subscribe(); err != nil {
		if ctx.Err() != nil {
			return disconnect()
		}
		return err
	}

	var timeout <-chan time.Time
	if o.Timeout > 0 {
		t := time.NewTimer(time.Duration(o.Timeout))
		defer t.Stop()
		timeout = t.C
	}
	// handle prints m, writes it to the --file-* outputs and clears it with
	// --remove-retained.
	handle := func(m mqttc.Message) error {
		if err := p.Message(m); err != nil {
			return err
		}
		if displayErr != nil {
			_ = p.Status(output.Warning(fmt.Sprintf("%v on %s: shown as received", displayErr, m.Topic)))
			displayErr = nil
		}
		if err := out.write(m); err != nil {
			return err
		}
		if o.RemoveRetained && m.Retain && len(m.Payload) > 0 {
			if err := c.Publish(ctx, mqttc.Message{Topic: m.Topic, Retain: true, QoS: m.QoS}); err != nil {
				return err
			}
		}
		return nil
	}
	printed := 0
	var reported int64
	reportDropped := func() {
		if d := dropped.Load(); d > reported {
			_ = p.Status(output.Dropped(d - reported))
			reported = d
		}
	}
	defer reportDropped()
	// A reader that goes away between messages (| head -1) ends sub now, not at the
	// next message.
	outClosed, stopWatch := cmdutil.WatchClosed(o.IO.Out)
	defer stopWatch()
	for {
		select {
		case <-outClosed:
			return disconnect()
		case t := <-traces:
			_ = p.Status(output.Packet(t))
		case <-ctx.Done():
			return disconnect()
		case <-notRetained:
			// Print what is queued (all retained), then leave.
			for {
				select {
				case m := <-msgs:
					if err := handle(m); err != nil {
						return err
					}
				default:
					return disconnect()
				}
			}
		case err := <-c.Lost:
			// Reconnect and subscribe again; a session the broker kept still has the
			// subscriptions, but subscribing again is harmless and covers a broker that
			// lost it.
			nc, rerr := cmdutil.Recover(ctx, o.Reconnect, p, err, o.Connect, co)
			if nc == nil {
				return rerr
			}
			c = nc
			if err := subscribe(); err != nil {
				if ctx.Err() != nil {
					return disconnect()
				}
				return err
			}
		case <-timeout:
			if err := disconnect(); err != nil {
				return err
			}
			if printed == 0 {
				return &cmdutil.TimeoutError{Timeout: time.Duration(o.Timeout)}
			}
			return nil
		case m := <-msgs:
			if err := handle(m); err != nil {
				if cmdutil.IsClosedOutput(err) {
					return disconnect()
				}
				return err
			}
			printed++
			reportDropped()
			if o.Count > 0 && printed >= o.Count {
				return disconnect()
			}
		case <-full:
			// Every accepted message is queued or was dropped: print what is queued.
			for {
				select {
				case m := <-msgs:
					if err := handle(m); err != nil {
						if cmdutil.IsClosedOutput(err) {
							return disconnect()
						}
						return err
					}
					printed++
				default:
					reportDropped()
					return disconnect()
				}
			}
		}
	}
}
