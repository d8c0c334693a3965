// Package pub is `mqttx pub`: publish one or more messages and disconnect.
package pub

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/mqttx/mqttx/internal/cli/cmdutil"
	"github.com/mqttx/mqttx/internal/mqttc"
	"github.com/mqttx/mqttx/internal/output"
	"github.com/mqttx/mqttx/internal/payload"
)

type options struct {
	IO          *output.Streams
	Connect     func(mqttc.Options) (mqttc.Client, error)
	ConnOptions func() (mqttc.Options, error) // resolved only when run
	Output      cmdutil.OutputOptions
	Factory     *cmdutil.Factory

	Topic   string
	Message string
	File    string
	Stdin   bool // -s: all of stdin is one message
	Lines   bool // -l: one message per line of stdin
	Null    bool // -n: empty message
	QoS     int
	Retain  bool
	Count   int
	Size    string           // -S: a random payload of this size
	Delay   cmdutil.Duration // --repeat-delay between publishes
	Format  string           // --format of the input
	Quiet   bool

	// set tells which message sources were given; filled from the flag set.
	set map[string]bool

	// MQTT 5 PUBLISH properties.
	MessageExpiry   uint32
	ContentType     string
	ResponseTopic   string
	CorrelationData string
	PayloadFormat   bool
	TopicAlias      uint16
	UserProperties  []string
}

// v5Flags are PUBLISH property flags that need MQTT 5.
var v5Flags = []string{"message-expiry-interval", "content-type", "response-topic", "correlation-data", "payload-format-indicator", "topic-alias", "user-property"}

// NewCmd returns the pub command. runF, when not nil, replaces run (for tests of flag
// parsing).
func NewCmd(f *cmdutil.Factory, runF func(*options) error) *cobra.Command {
	opts := &options{IO: f.IO, Connect: f.Connect, Factory: f}
	cmd := &cobra.Command{
		Use:   "pub -t <topic> [-m <message> | -f <file> | -s | -M | -n]",
		Short: "Publish a message",
		Long: `Publish a message to a topic, wait for the acknowledgement at QoS 1 and 2, and
disconnect. The message comes from exactly one of -m, -f, -s (all of stdin), -M (one
message per line of stdin, published as each line arrives), -n (an empty message) or
-S SIZE (random bytes). --format converts the input first: base64 and hex are decoded
to bytes, json is checked, cbor and msgpack are converted from JSON. A message larger
than MQTT allows, or than the broker's Maximum Packet Size, is refused before sending
(exit 2). "Published" is printed once the broker acknowledged the message (QoS 1 and 2)
or it was written (QoS 0).`,
		Example: `  $ mqttx pub -t sensor/1/temperature -m 21.5 -q 1
  $ mqttx pub -t config/device7 -f device7.json -r
  $ tail -f log.txt | mqttx pub -t logs -M
  $ mqttx pub -t blob -S 1KB --repeat 10 --repeat-delay 0.5
  $ mqttx pub -t cfg -m '{"on":true}' --format cbor
  $ mqttx pub -t status -n -r   # clear a retained message`,
		Args: cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.set = cmdutil.SetFlags(cmd.Flags())
			if !opts.set["topic"] {
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
	opts.ConnOptions = cmdutil.AddConnFlags(cmd, f)
	fs := cmd.Flags()
	fs.VarP(&cmdutil.OnceString{Value: &opts.Topic}, "topic", "t", "topic to publish to (no wildcards)")
	fs.VarP(&cmdutil.OnceString{Value: &opts.Message}, "message", "m", "message payload")
	fs.VarP(&cmdutil.OnceString{Value: &opts.File}, "file", "f", "send the contents of `FILE` as the message")
	fs.BoolVarP(&opts.Stdin, "stdin", "s", false, "read the whole of stdin as one message")
	// -l is --protocol (MQTTX), so line mode takes MQTTX's -M/--multiline.
	fs.BoolVarP(&opts.Lines, "multiline", "M", false, "read stdin and send one message per line (mosquitto_pub -l)")
	fs.BoolVarP(&opts.Null, "null-message", "n", false, "send an empty (zero-length) message")
	fs.IntVarP(&opts.QoS, "qos", "q", 0, "QoS level: 0, 1 or 2")
	fs.BoolVarP(&opts.Retain, "retain", "r", false, "ask the broker to retain the message")
	fs.IntVarP(&opts.Count, "count", "C", 1, "publish the message `N` times")
	fs.IntVar(&opts.Count, "repeat", 1, "publish the message `N` times (mosquitto_pub's name for -C)")
	fs.Var(&opts.Delay, "repeat-delay", "wait `DURATION` (seconds or 500ms) between repeated publishes")
	fs.StringVarP(&opts.Size, "size", "S", "", "send a random payload of `SIZE` bytes: 512, 512B, 1KB, 2MB")
	fs.StringVar(&opts.Format, "format", "", "convert the input before sending: base64 and hex are decoded, json is checked, cbor and msgpack are converted from JSON")
	fs.BoolVar(&opts.Quiet, "quiet", false, "print nothing but errors")
	fs.Uint32Var(&opts.MessageExpiry, "message-expiry-interval", 0, "MQTT 5: message expiry interval in `seconds`")
	fs.StringVar(&opts.ContentType, "content-type", "", "MQTT 5: content type of the payload")
	fs.StringVar(&opts.ResponseTopic, "response-topic", "", "MQTT 5: response topic")
	fs.StringVar(&opts.CorrelationData, "correlation-data", "", "MQTT 5: correlation data")
	fs.BoolVar(&opts.PayloadFormat, "payload-format-indicator", false, "MQTT 5: mark the payload as UTF-8 text")
	fs.Uint16Var(&opts.TopicAlias, "topic-alias", 0, "MQTT 5: topic alias to use (1 to the broker's maximum)")
	fs.StringArrayVar(&opts.UserProperties, "user-property", nil, "MQTT 5: PUBLISH user property `key=value` (repeatable)")
	cmdutil.GroupFlagsInHelp(cmd)
	cmdutil.AddOutputFlags(fs, &opts.Output, "text")
	return cmd
}

// validate checks the flags on their own, before anything is resolved or read.
func (o *options) validate() error {
	if o.Topic == "" && !o.set["topic"] {
		return errors.New("missing --topic: give -t <topic>")
	}
	if err := cmdutil.ValidateTopicName(o.Topic); err != nil {
		return err
	}
	if err := cmdutil.ValidateQoS("qos", o.QoS); err != nil {
		return err
	}
	var sources []string
	for _, s := range []string{"message", "file", "stdin", "multiline", "null-message", "size"} {
		if o.set[s] {
			sources = append(sources, "--"+s)
		}
	}
	switch len(sources) {
	case 0:
		return errors.New("missing message: give one of -m, -f, -s, -M, -n or -S")
	case 1:
	default:
		return fmt.Errorf("conflicting %s: give only one message source", strings.Join(sources, " and "))
	}
	if o.set["count"] && o.set["repeat"] {
		return errors.New("conflicting --count and --repeat: they are the same; give one")
	}
	if o.Count < 1 {
		name := "count"
		if o.set["repeat"] {
			name = "repeat"
		}
		return fmt.Errorf("invalid --%s %d: must be at least 1", name, o.Count)
	}
	if o.set["size"] {
		if _, err := payload.ParseSize(o.Size); err != nil {
			return fmt.Errorf("invalid --size: %v", err)
		}
	}
	if _, err := payload.ParseFormat(o.Format); err != nil {
		return err
	}
	if o.set["size"] && o.Format != "" {
		return errors.New("conflicting --size and --format: a random payload has no format to convert")
	}
	if o.set["topic-alias"] && o.TopicAlias == 0 {
		return errors.New("invalid --topic-alias 0: must be at least 1")
	}
	if _, err := cmdutil.ParseUserProperties("user-property", o.UserProperties); err != nil {
		return err
	}
	return o.Output.Validate()
}

// properties returns the PUBLISH properties given by flags, or nil.
func (o *options) properties() *mqttc.PublishProperties {
	var p mqttc.PublishProperties
	has := false
	if o.set["message-expiry-interval"] {
		v := o.MessageExpiry
		p.MessageExpiry, has = &v, true
	}
	if o.set["payload-format-indicator"] {
		var v byte
		if o.PayloadFormat {
			v = 1
		}
		p.PayloadFormat, has = &v, true
	}
	if o.set["topic-alias"] {
		v := o.TopicAlias
		p.TopicAlias, has = &v, true
	}
	if o.ContentType != "" {
		p.ContentType, has = o.ContentType, true
	}
	if o.ResponseTopic != "" {
		p.ResponseTopic, has = o.ResponseTopic, true
	}
	if o.set["correlation-data"] {
		p.CorrelationData, has = []byte(o.CorrelationData), true
	}
	if props, _ := cmdutil.ParseUserProperties("user-property", o.UserProperties); len(props) > 0 {
		p.UserProperties, has = props, true
	}
	if !has {
		return nil
	}
	return &p
}

func run(ctx context.Context, o *options) error {
	co, err := o.ConnOptions()
	if err != nil {
		return err
	}
	if err := cmdutil.RequireV5(co.Version, o.set, v5Flags); err != nil {
		return err
	}
	p, format, err := o.Output.NewPrinter(o.Factory)
	if err != nil {
		return err
	}
	if o.Quiet {
		p = output.Quiet(p)
	}
	pf, _ := payload.ParseFormat(o.Format)
	pack := func(b []byte) ([]byte, error) {
		out, err := payload.Pack(pf, b)
		if err != nil {
			return nil, &cmdutil.FlagError{Err: fmt.Errorf("invalid --format %s input: %v", pf, err)}
		}
		return out, nil
	}

	// Read a file or all of stdin before connecting, so a bad file fails fast.
	var body []byte
	switch {
	case o.set["message"]:
		body = []byte(o.Message)
	case o.File != "":
		body, err = readLimited(o.File, nil, o.Topic)
		if err != nil {
			return err
		}
	case o.Stdin:
		body, err = readLimited("", o.IO.In, o.Topic)
		if err != nil {
			return err
		}
	case o.set["size"]:
		n, _ := payload.ParseSize(o.Size)
		if body, err = payload.Random(rand.Reader, n); err != nil {
			return err
		}
	}
	if !o.Lines {
		if body, err = pack(body); err != nil {
			return err
		}
		// A message MQTT cannot carry is bad input: say so before connecting.
		if _, err := mqttc.PublishSize(co.Version, mqttc.Message{Topic: o.Topic, Payload: body, QoS: byte(o.QoS), Properties: o.properties()}); err != nil {
			return &cmdutil.FlagError{Err: err}
		}
	}

	c, err := cmdutil.Connect(ctx, o.Connect, p, co)
	if err != nil {
		return err
	}
	defer c.Disconnect(context.Background())
	_ = p.Status(output.Connected(c.Ack.ClientID, c.Ack.SessionPresent))

	msg := mqttc.Message{Topic: o.Topic, QoS: byte(o.QoS), Retain: o.Retain, Properties: o.properties()}
	first := true
	publish := func(body []byte) error {
		msg.Payload = body
		for range o.Count {
			if !first && o.Delay > 0 {
				t := time.NewTimer(time.Duration(o.Delay))
				select {
				case <-ctx.Done():
					t.Stop()
					return ctx.Err()
				case <-t.C:
				}
			}
			first = false
			if err := publishOne(ctx, c, msg); err != nil {
				return err
			}
			ev := output.Published(msg.Topic, msg.QoS, msg.Retain, len(body))
			if format == output.Format("json") {
				if err := p.Result(ev); err != nil {
					return err
				}
			} else {
				_ = p.Status(ev)
			}
		}
		return nil
	}
	if o.Lines {
		sc := bufio.NewScanner(o.IO.In)
		sc.Buffer(make([]byte, 64*1024), 256*1024*1024)
		for sc.Scan() {
			line, err := pack(bytes.TrimSuffix(sc.Bytes(), []byte("\r")))
			if err != nil {
				return err
			}
			if err := publish(line); err != nil {
				return err
			}
		}
		if err := sc.Err(); err != nil {
			return fmt.Errorf("read stdin: %w", err)
		}
	} else if err := publish(body); err != nil {
		return err
	}
	dctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Disconnect(dctx); err != nil {
		return err
	}
	return nil
}

// publishOne publishes m, failing early when the connection drops meanwhile.
func publishOne(ctx context.Context, c *cmdutil.Conn, m mqttc.Message) error {
	select {
	case err := <-c.Lost:
		return cmdutil.ConnectionLost(err)
	default:
	}
	if err := c.Publish(ctx, m); err != nil {
		var tl *mqttc.TooLargeError
		if errors.As(err, &tl) {
			return &cmdutil.FlagError{Err: err}
		}
		select {
		case lerr := <-c.Lost:
			return fmt.Errorf("publish to %s: %w", output.EscapeControl(m.Topic), cmdutil.ConnectionLost(lerr))
		default:
		}
		// The client's errors already name the topic.
		return err
	}
	return nil
}

// readLimited reads the file name (or r when name is "") whole, refusing one larger than
// any MQTT message before reading it all.
func readLimited(name string, r io.Reader, topic string) ([]byte, error) {
	what := "stdin"
	if name != "" {
		what = "--file " + name
		f, err := os.Open(name)
		if err != nil {
			return nil, fmt.Errorf("read --file: %w", err)
		}
		defer f.Close()
		if st, err := f.Stat(); err == nil && st.Mode().IsRegular() && st.Size() > payload.MaxSize {
			return nil, &cmdutil.FlagError{Err: &mqttc.TooLargeError{Topic: topic, Size: int(min(st.Size(), 1<<62)), Limit: payload.MaxSize}}
		}
		r = f
	}
	b, err := io.ReadAll(io.LimitReader(r, payload.MaxSize+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", what, err)
	}
	if len(b) > payload.MaxSize {
		return nil, &cmdutil.FlagError{Err: fmt.Errorf("message from %s too large: more than MQTT's limit of %d bytes per packet; send a smaller payload", what, payload.MaxSize)}
	}
	return b, nil
}
