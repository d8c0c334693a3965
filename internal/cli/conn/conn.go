// Package conn is `mqttx conn`: connect, show what the broker granted, and stay connected.
package conn

import (
	"context"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/mqttx/mqttx/internal/cli/cmdutil"
	"github.com/mqttx/mqttx/internal/mqttc"
	"github.com/mqttx/mqttx/internal/output"
)

type options struct {
	IO          *output.Streams
	Connect     func(mqttc.Options) (mqttc.Client, error)
	ConnOptions func() (mqttc.Options, error)
	Output      cmdutil.OutputOptions
	Factory     *cmdutil.Factory

	Timeout   cmdutil.Duration
	Reconnect cmdutil.ReconnectOptions
}

// NewCmd returns the conn command. runF, when not nil, replaces run.
func NewCmd(f *cmdutil.Factory, runF func(*options) error) *cobra.Command {
	opts := &options{IO: f.IO, Connect: f.Connect, Factory: f}
	cmd := &cobra.Command{
		Use:   "conn [flags]",
		Short: "Connect to a broker and stay connected",
		Long: `Connect to a broker, print what it granted (session present, client id and, with
MQTT 5, every CONNACK property), and stay connected until Ctrl-C or -W: both end
with a clean DISCONNECT, so no will message is published. If the broker closes the
connection, mqttx conn reconnects ("Reconnecting... [n]" on stderr, waiting
--reconnect-period, doubled per failed attempt up to 30s, with jitter) unless
--no-reconnect is given or --max-reconnects attempts failed (exit 1); a broker that
refuses the connection is not asked again (exit 3).`,
		Example: `  $ mqttx conn -h broker.example.com -V 3.1.1
  $ mqttx conn -i dying --will-topic status/dying --will-message offline --will-retain
  $ mqttx conn -o json -W 1`,
		Args: cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
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
	// conn has no PUBLISH or SUBSCRIBE, so its --user-property is CONNECT's.
	fs.SetNormalizeFunc(func(_ *pflag.FlagSet, name string) pflag.NormalizedName {
		if name == "user-property" {
			name = "conn-user-property"
		}
		return pflag.NormalizedName(name)
	})
	fs.VarP(&opts.Timeout, "timeout", "W", "disconnect cleanly and exit 0 after `DURATION` (seconds or 1m30s)")
	cmdutil.AddReconnectFlags(fs, &opts.Reconnect)
	cmdutil.GroupFlagsInHelp(cmd)
	cmdutil.AddOutputFlags(fs, &opts.Output, "text")
	return cmd
}

func (o *options) validate() error {
	if err := o.Reconnect.Validate(); err != nil {
		return err
	}
	return o.Output.Validate()
}

func run(ctx context.Context, o *options) error {
	co, err := o.ConnOptions()
	if err != nil {
		return err
	}
	p, _, err := o.Output.NewPrinter(o.Factory)
	if err != nil {
		return err
	}
	c, err := cmdutil.Connect(ctx, o.Connect, p, co)
	if err != nil {
		return err
	}
	defer func() { _ = c.Disconnect(context.Background()) }()
	if err := p.Result(connAckEvent(co, c.Ack)); err != nil {
		return err
	}

	var timeout <-chan time.Time
	if o.Timeout > 0 {
		t := time.NewTimer(time.Duration(o.Timeout))
		defer t.Stop()
		timeout = t.C
	}
wait:
	for {
		select {
		case <-ctx.Done():
			break wait
		case <-timeout:
			break wait
		case err := <-c.Lost:
			nc, rerr := cmdutil.Recover(ctx, o.Reconnect, p, err, o.Connect, co)
			if nc == nil {
				return rerr
			}
			c = nc
			_ = p.Status(output.Connected(c.Ack.ClientID, c.Ack.SessionPresent))
		}
	}
	dctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Disconnect(dctx); err != nil {
		return err // the client's error says "disconnect: ..."
	}
	_ = p.Status(output.Disconnected())
	return nil
}

// connAckEvent describes what the broker granted: the session, the client id in use
// and, for MQTT 5, every CONNACK property it sent.
func connAckEvent(co mqttc.Options, ack *mqttc.ConnAck) output.Event {
	fields := map[string]any{
		"mqtt_version":    co.Version.String(),
		"session_present": ack.SessionPresent,
		"client_id":       ack.ClientID,
	}
	if ack.AssignedID {
		fields["assigned_client_id"] = true
	}
	if pr := ack.Properties; pr != nil {
		put := func(name string, v any, ok bool) {
			if ok {
				fields[name] = v
			}
		}
		put("session_expiry_interval", deref(pr.SessionExpiryInterval), pr.SessionExpiryInterval != nil)
		put("receive_maximum", deref(pr.ReceiveMaximum), pr.ReceiveMaximum != nil)
		put("maximum_qos", deref(pr.MaximumQoS), pr.MaximumQoS != nil)
		put("retain_available", deref(pr.RetainAvailable), pr.RetainAvailable != nil)
		put("maximum_packet_size", deref(pr.MaximumPacketSize), pr.MaximumPacketSize != nil)
		put("topic_alias_maximum", deref(pr.TopicAliasMaximum), pr.TopicAliasMaximum != nil)
		put("wildcard_subscription_available", deref(pr.WildcardSubAvailable), pr.WildcardSubAvailable != nil)
		put("subscription_identifier_available", deref(pr.SubIDAvailable), pr.SubIDAvailable != nil)
		put("shared_subscription_available", deref(pr.SharedSubAvailable), pr.SharedSubAvailable != nil)
		put("server_keep_alive", deref(pr.ServerKeepAlive), pr.ServerKeepAlive != nil)
		put("reason_string", pr.ReasonString, pr.ReasonString != "")
		put("response_information", pr.ResponseInformation, pr.ResponseInformation != "")
		put("server_reference", pr.ServerReference, pr.ServerReference != "")
		put("authentication_method", pr.AuthenticationMethod, pr.AuthenticationMethod != "")
		put("user_properties", pr.UserProperties, len(pr.UserProperties) > 0)
		if pr.AssignedClientID != "" {
			fields["client_id"] = pr.AssignedClientID
			fields["assigned_client_id"] = true
		}
	}
	return output.ConnectedDetails(fields)
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
