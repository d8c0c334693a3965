// Package serve is `mqttx serve`: run the mqttx broker engine on TCP, TLS, WebSocket and
// secure WebSocket listeners until Ctrl-C.
package serve

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"

	"github.com/mqttx/mqttx/internal/broker"
	"github.com/mqttx/mqttx/internal/broker/auth"
	"github.com/mqttx/mqttx/internal/broker/listener"
	"github.com/mqttx/mqttx/internal/broker/store"
	"github.com/mqttx/mqttx/internal/build"
	"github.com/mqttx/mqttx/internal/cli/cmdutil"
	"github.com/mqttx/mqttx/internal/mqttc"
	"github.com/mqttx/mqttx/internal/output"
	"github.com/mqttx/mqttx/internal/packet"
)

// eventQueueSize bounds the client events waiting for the printer. The engine's OnEvent
// must never block, so when the printer falls behind (a paused pipe) events are dropped
// and counted instead.
const eventQueueSize = 4096

// shutdownTimeout bounds the graceful part of shutdown: DISCONNECT to every client and
// waiting for their goroutines; what is left after it is closed.
const shutdownTimeout = 5 * time.Second

// drainTimeout bounds printing the events still queued at shutdown.
const drainTimeout = 2 * time.Second

// off marks a listener that was not asked for.
const off = -1

type options struct {
	IO     *output.Streams
	Output cmdutil.OutputOptions
	Now    func() time.Time

	Host      string
	Port      int
	TLSPort   int // off unless given
	WSPort    int // off unless given
	WSSPort   int // off unless given
	Cert      string
	Key       string
	ClientCA  string
	WSPath    string
	WSOrigins []string
	WSHosts   []string

	MaxKeepAlive     uint16
	MaxSessionExpiry uint32
	MaxOffline       int
	MaxOfflineAge    time.Duration
	MaxPacketSize    uint32
	MaxTopicAlias    uint16
	MaxTopicLevels   int
	MaxTopicLength   int
	MaxSubs          int
	MaxConnectBytes  int
	MaxQueueBytes    int
	MaxQueueMessages int
	SlowClientGrace  time.Duration
	ConnectTimeout   time.Duration
	UsersFile        string
	AllowAnonymous   bool
	ACLFile          string
	CertCNAsUsername bool
	SysInterval      time.Duration
	Metrics          string
	DataDir          string
	ConfigFile       string
	PrintConfig      bool

	// onListen, when set, is told each listener's kind and bound address (tests).
	onListen func(kind, addr string)
	// onMetrics, when set, is told the bound address of --metrics (tests).
	onMetrics func(addr string)
}

// NewCmd returns the serve command. runF, when not nil, replaces run.
func NewCmd(f *cmdutil.Factory, runF func(*options) error) *cobra.Command {
	opts := &options{IO: f.IO, Now: f.Now}
	cmd := &cobra.Command{
		Use:   "serve [flags]",
		Short: "Run an MQTT broker",
		Long: `Run mqttx's MQTT 3.1, 3.1.1 and 5.0 broker until Ctrl-C.

It listens on 127.0.0.1:1883 (loopback only) unless told otherwise; -h 0.0.0.0 opens
it to the network. --tls-port, --ws-port and --wss-port add TLS, WebSocket and secure
WebSocket listeners on the same host; port 0 picks a free port, and the bound
addresses are printed on stderr ("Listening on 127.0.0.1:1883"). Without --users every
client may connect (anonymous access): keep it on loopback or a trusted network.

--users takes mosquitto's password file as it is ("alice:$7$101$..." lines, written by
mosquitto_passwd or "mqttx serve passwd"; $7$, $6$ and bcrypt hashes), or a YAML
mapping of username to hash. Clients must then log in, unless --allow-anonymous admits
those that give no username. A persistent session belongs to the user that created it:
another user presenting its client id is refused (CONNACK 0x85, 3.1.1: 0x02). With
--cert-cn-as-username a client with a verified certificate is the user its CN names.

--acl takes mosquitto's acl_file as it is: "topic [read|write|readwrite|deny] FILTER"
lines (those before the first "user NAME" line are for anonymous clients), "user NAME"
sections and "pattern" lines with %c (client id) and %u (username) for everyone; what
no line allows is denied. A denied SUBSCRIBE gets 0x87 (3.1.1: 0x80) when the filter
can match no readable topic; otherwise messages on topics the client may not read are
held back on delivery. A denied PUBLISH is dropped (MQTT 5 QoS 1/2: acknowledged with
0x87), and a will on such a topic is never published.

Every --sys-interval the broker publishes retained $SYS/broker topics as mosquitto does
(version, uptime, clients/connected, clients/disconnected, clients/total,
messages/received, messages/sent, publish/messages/received, publish/messages/sent,
publish/messages/dropped, bytes/received, bytes/sent, "retained messages/count",
subscriptions/count);
with --acl only clients it lets read them receive them. --metrics serves the same
counters, and the process's, in Prometheus text format at /metrics.

--data-dir keeps persistent sessions (MQTT 3 clean session 0, MQTT 5 session expiry
above 0) with their subscriptions, queued and unacknowledged QoS 1 and 2 messages in
both directions, delayed wills and retained messages in DIR/mqttx.db, so a restart,
even after kill -9 or a power cut, loses nothing the broker acknowledged: PUBACK and
PUBREC go out only once the message is on disk (commits are shared by all publishers
waiting at that moment), or, for QoS 1, once every persistent session it was queued
for has acknowledged it. Without it the broker keeps everything in memory. A file in
DIR that is damaged or not an mqttx store stops serve with an error rather than a
fresh start, and so does a DIR another serve is using.

--config reads the settings from a YAML file whose keys are the flags' names with
underscores (tls_port, max_offline_messages, ...); relative file names in it are relative
to its directory, and flags given on the command line win. --print-config prints the
effective configuration in that form.

Offline sessions keep at most --max-offline-messages QoS 1 and 2 messages (QoS 0 is
not queued); newer ones are dropped, and so are those older than --max-offline-age
when the client comes back (both counted as dropped in $SYS and --metrics). A client that falls behind while online keeps at
most --max-queue-bytes and --max-queue-messages waiting to be written: QoS 0 messages
beyond them are dropped (counted, and logged with -v), QoS 1 and 2 wait in the
session's queue, and a client that keeps them waiting longer than --slow-client-grace
is disconnected (MQTT 5: 0x97 quota exceeded), so a slow subscriber never slows the
others. Retained messages go to a new subscriber as fast as it takes them, all of
them. The other limits (packet size, topic depth and length, subscriptions, CONNECT
bytes in flight, --connect-timeout) have safe defaults; clients may not publish under $SYS/. WebSocket
requests must name the listener's address, localhost or a --ws-host in their Host
header, so a web page cannot reach the broker through DNS rebinding. With -v each
client event is printed on stdout, as text or, with -o json, as JSON Lines.`,
		Example: `  $ mqttx serve
  $ mqttx serve -p 0 -v
  $ mqttx serve --ws-port 8083 --ws-origin https://app.example.com
  $ mqttx serve --tls-port 8883 --cert server.pem --key server-key.pem --client-ca ca.pem
  $ mqttx serve passwd -c passwd alice
  $ mqttx serve --users passwd --tls-port 8883 --cert s.pem --key k.pem --print-config > serve.yaml
  $ mqttx serve --config serve.yaml -v
  $ mqttx serve --data-dir /var/lib/mqttx -v
  $ mqttx serve --users passwd --acl acl -v
  $ mqttx serve -h 0.0.0.0 --users /etc/mosquitto/passwd --acl /etc/mosquitto/acl -v -o json`,
		Args: cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fs := cmd.Flags()
			for name, p := range map[string]*int{"tls-port": &opts.TLSPort, "ws-port": &opts.WSPort, "wss-port": &opts.WSSPort} {
				if !fs.Changed(name) {
					*p = off
				}
			}
			if err := opts.applyConfig(fs); err != nil {
				return err
			}
			if err := opts.validate(); err != nil {
				return &cmdutil.FlagError{Err: err}
			}
			if opts.PrintConfig {
				b, err := opts.effectiveConfig()
				if err != nil {
					return err
				}
				_, err = opts.IO.Out.Write(b)
				return err
			}
			if runF != nil {
				return runF(opts)
			}
			return run(cmd.Context(), opts)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&opts.ConfigFile, "config", "", "YAML configuration `file` (keys as --print-config shows them); flags given win")
	fs.BoolVar(&opts.PrintConfig, "print-config", false, "print the effective configuration as a file --config accepts, and exit")
	fs.StringVarP(&opts.Host, "host", "h", "127.0.0.1", "`address` to listen on (0.0.0.0 or :: for every interface)")
	fs.IntVarP(&opts.Port, "port", "p", 1883, "MQTT (TCP) `port`; 0 picks a free port")
	fs.IntVar(&opts.TLSPort, "tls-port", 0, "also listen for MQTT over TLS on `port` (needs --cert and --key)")
	fs.IntVar(&opts.WSPort, "ws-port", 0, "also listen for MQTT over WebSocket on `port`")
	fs.IntVar(&opts.WSSPort, "wss-port", 0, "also listen for MQTT over secure WebSocket on `port` (needs --cert and --key)")
	fs.StringVar(&opts.Cert, "cert", "", "server certificate `file` (PEM) for --tls-port and --wss-port")
	fs.StringVar(&opts.Key, "key", "", "server private key `file` (PEM) for --tls-port and --wss-port")
	fs.StringVar(&opts.ClientCA, "client-ca", "", "require client certificates signed by the CA in `file` (PEM) on TLS listeners")
	fs.StringVar(&opts.WSPath, "ws-path", listener.DefaultWSPath, "HTTP `path` of the WebSocket endpoint")
	fs.StringArrayVar(&opts.WSOrigins, "ws-origin", nil, "also accept WebSocket requests from `origin` (https://host[:port], host[:port] or *); repeatable")
	fs.StringArrayVar(&opts.WSHosts, "ws-host", nil, "also accept WebSocket requests whose Host header names `host` (besides the listener's address and localhost; * for any); repeatable")
	fs.Uint16Var(&opts.MaxKeepAlive, "max-keepalive", 0, "cap clients' keep alive at `seconds` (0: no cap)")
	fs.Uint32Var(&opts.MaxSessionExpiry, "max-session-expiry", 86400, "cap session expiry at `seconds`, also for MQTT 3 persistent sessions (0: no cap)")
	fs.IntVar(&opts.MaxOffline, "max-offline-messages", 1000, "keep at most `n` QoS 1/2 messages per offline session")
	fs.DurationVar(&opts.MaxOfflineAge, "max-offline-age", broker.DefaultMaxOfflineAge, "drop QoS 1/2 messages queued for an offline session longer than `duration` (0: no limit)")
	fs.Uint32Var(&opts.MaxPacketSize, "max-packet-size", broker.DefaultMaxPacketSize, "largest packet accepted from clients, in `bytes` (0: protocol maximum, 256 MiB)")
	fs.IntVar(&opts.MaxTopicLevels, "max-topic-levels", broker.DefaultMaxTopicLevels, "most `levels` in a topic name or filter from clients")
	fs.IntVar(&opts.MaxTopicLength, "max-topic-length", broker.DefaultMaxTopicLength, "longest topic name or filter from clients, in `bytes` (at most 65535)")
	fs.IntVar(&opts.MaxSubs, "max-subscriptions", broker.DefaultMaxSubscriptions, "most subscriptions per client (`n`)")
	fs.IntVar(&opts.MaxConnectBytes, "max-connect-bytes", broker.DefaultMaxConnectBytes, "most CONNECT `bytes` read at once across all connecting clients")
	fs.IntVar(&opts.MaxQueueBytes, "max-queue-bytes", broker.DefaultMaxOutboundBytes, "most `bytes` waiting to be written to one client")
	fs.IntVar(&opts.MaxQueueMessages, "max-queue-messages", broker.DefaultMaxOutboundQueue, "most packets waiting to be written to one client (`n`)")
	fs.DurationVar(&opts.SlowClientGrace, "slow-client-grace", broker.DefaultSlowClientGrace, "disconnect a client that keeps QoS 1/2 messages waiting for queue room longer than `duration`")
	fs.DurationVar(&opts.ConnectTimeout, "connect-timeout", broker.DefaultConnectTimeout, "close a connection that has not sent CONNECT within `duration` of being accepted")
	fs.Uint16Var(&opts.MaxTopicAlias, "max-topic-alias", 10, "topic aliases each MQTT 5 client may set (0: none), as mosquitto's max_topic_alias")
	fs.DurationVar(&opts.SysInterval, "sys-interval", 10*time.Second, "publish the $SYS/broker topics every `interval` (0: never)")
	fs.StringVar(&opts.Metrics, "metrics", "", "serve Prometheus metrics at http://`addr`/metrics (a port alone: on 127.0.0.1)")
	fs.StringVar(&opts.DataDir, "data-dir", "", "keep sessions, queued messages and retained messages in `dir` across restarts (default: memory only)")
	fs.StringVar(&opts.UsersFile, "users", "", "password `file` (mosquitto's user:hash lines, or YAML); clients must then log in")
	fs.BoolVar(&opts.AllowAnonymous, "allow-anonymous", false, "with --users, also admit clients that give no username")
	fs.BoolVar(&opts.CertCNAsUsername, "cert-cn-as-username", false, "with --client-ca, a client's certificate CN is its username (no password needed)")
	fs.StringVar(&opts.ACLFile, "acl", "", "`file` in mosquitto's acl_file syntax: what each client may publish and read")
	cmdutil.AddOutputFlags(fs, &opts.Output, "text")
	fs.Lookup("verbose").Usage = "print client events (connected, subscribed, disconnected, will)"
	fs.Lookup("output").Usage = "event format: text or json (JSON Lines)"
	_ = cmd.MarkFlagFilename("cert", "pem", "crt")
	_ = cmd.MarkFlagFilename("key", "pem", "key")
	_ = cmd.MarkFlagFilename("client-ca", "pem", "crt")
	_ = cmd.MarkFlagFilename("users")
	_ = cmd.MarkFlagFilename("acl")
	_ = cmd.MarkFlagFilename("config", "yaml", "yml")
	_ = cmd.MarkFlagDirname("data-dir")
	cmd.AddCommand(newPasswdCmd(f, nil))
	fs.SortFlags = false
	return cmd
}

// validate checks flag values without touching files or the network.
func (o *options) validate() error {
	if err := o.Output.Validate(); err != nil {
		return err
	}
	if o.Output.Format == "raw" {
		return errors.New("invalid --output raw: serve prints events, use text or json")
	}
	if o.Host == "" {
		return errors.New("invalid --host \"\": give an address such as 127.0.0.1 or 0.0.0.0")
	}
	ports := []struct {
		name string
		v    int
		opt  bool
	}{{"port", o.Port, false}, {"tls-port", o.TLSPort, true}, {"ws-port", o.WSPort, true}, {"wss-port", o.WSSPort, true}}
	used := map[int]string{}
	for _, p := range ports {
		if p.opt && p.v == off {
			continue
		}
		if p.v < 0 || p.v > 65535 {
			return fmt.Errorf("invalid --%s %d: must be 0 to 65535 (0 picks a free port)", p.name, p.v)
		}
		if prev, dup := used[p.v]; dup && p.v != 0 {
			return fmt.Errorf("invalid --%s %d: already used by --%s", p.name, p.v, prev)
		}
		used[p.v] = p.name
	}
	secure := o.TLSPort != off || o.WSSPort != off
	if secure && (o.Cert == "" || o.Key == "") {
		which := "--tls-port"
		if o.TLSPort == off {
			which = "--wss-port"
		}
		return fmt.Errorf("%s needs --cert and --key (PEM files)", which)
	}
	if !secure && (o.Cert != "" || o.Key != "" || o.ClientCA != "") {
		return errors.New("--cert, --key and --client-ca need --tls-port or --wss-port")
	}
	if o.WSPort == off && o.WSSPort == off && len(o.WSOrigins) > 0 {
		return errors.New("--ws-origin needs --ws-port or --wss-port")
	}
	if o.WSPath == "" || o.WSPath[0] != '/' {
		return fmt.Errorf("invalid --ws-path %q: must start with /", o.WSPath)
	}
	if o.CertCNAsUsername && o.ClientCA == "" {
		return errors.New("--cert-cn-as-username needs --client-ca (clients must present certificates)")
	}
	if o.AllowAnonymous && o.UsersFile == "" {
		return errors.New("--allow-anonymous needs --users (without it every client may connect)")
	}
	if o.Metrics != "" {
		if _, err := metricsAddr(o.Metrics); err != nil {
			return err
		}
	}
	if o.SysInterval < 0 {
		return fmt.Errorf("invalid --sys-interval %v: must be 0 (never) or more", o.SysInterval)
	}
	if o.MaxOffline < 0 {
		return fmt.Errorf("invalid --max-offline-messages %d: must be 0 or more", o.MaxOffline)
	}
	if o.MaxOfflineAge < 0 {
		return fmt.Errorf("invalid --max-offline-age %v: must be 0 (no limit) or more, such as 5m", o.MaxOfflineAge)
	}
	if o.ConnectTimeout <= 0 {
		return fmt.Errorf("invalid --connect-timeout %v: must be more than 0, such as 10s", o.ConnectTimeout)
	}
	for _, l := range []struct {
		name string
		v    int
	}{{"max-topic-levels", o.MaxTopicLevels}, {"max-subscriptions", o.MaxSubs}, {"max-connect-bytes", o.MaxConnectBytes},
		{"max-queue-bytes", o.MaxQueueBytes}, {"max-queue-messages", o.MaxQueueMessages}} {
		if l.v < 1 {
			return fmt.Errorf("invalid --%s %d: must be 1 or more", l.name, l.v)
		}
	}
	if o.MaxTopicLength < 1 || o.MaxTopicLength > 65535 {
		return fmt.Errorf("invalid --max-topic-length %d: must be 1 to 65535", o.MaxTopicLength)
	}
	if o.SlowClientGrace <= 0 {
		return fmt.Errorf("invalid --slow-client-grace %v: must be more than 0, such as 30s", o.SlowClientGrace)
	}
	if o.WSPort == off && o.WSSPort == off && len(o.WSHosts) > 0 {
		return errors.New("--ws-host needs --ws-port or --wss-port")
	}
	return nil
}

// authorizer loads the users and ACL files; nil when everyone may connect and
// do anything.
func (o *options) authorizer() (*auth.Policy, error) {
	if o.UsersFile == "" && o.ACLFile == "" && !o.CertCNAsUsername {
		return nil, nil
	}
	p := &auth.Policy{AllowAnonymous: o.AllowAnonymous, CertCNAsUsername: o.CertCNAsUsername}
	if o.UsersFile != "" {
		u, err := auth.LoadUsers(o.UsersFile)
		if err != nil {
			return nil, err
		}
		p.Users = u
	}
	if o.ACLFile != "" {
		a, err := auth.LoadACL(o.ACLFile)
		if err != nil {
			return nil, err
		}
		p.ACL = a
	}
	return p, nil
}

// boundListener is one open listener and how to describe it.
type boundListener struct {
	ln   net.Listener
	kind string // mqtt, mqtts, ws, wss
	desc string // "" for plain mqtt, "mqtts", "websocket /mqtt", ...
}

// listen opens every requested listener, closing those already open when one fails.
func (o *options) listen() ([]boundListener, error) {
	var out []boundListener
	fail := func(err error) ([]boundListener, error) {
		for _, b := range out {
			b.ln.Close()
		}
		return nil, err
	}
	addr := func(port int) string { return net.JoinHostPort(o.Host, strconv.Itoa(port)) }
	wsOpts := listener.WSOptions{Path: o.WSPath, AllowedOrigins: o.WSOrigins, AllowedHosts: o.WSHosts}

	ln, err := listener.TCP(addr(o.Port))
	if err != nil {
		return fail(listenError("port", addr(o.Port), err))
	}
	out = append(out, boundListener{ln, "mqtt", ""})
	if o.TLSPort != off {
		ln, err := listener.TLS(addr(o.TLSPort), o.Cert, o.Key, o.ClientCA)
		if err != nil {
			return fail(listenError("tls-port", addr(o.TLSPort), err))
		}
		out = append(out, boundListener{ln, "mqtts", "mqtts"})
	}
	if o.WSPort != off {
		ln, err := listener.WebSocket(addr(o.WSPort), wsOpts)
		if err != nil {
			return fail(listenError("ws-port", addr(o.WSPort), err))
		}
		out = append(out, boundListener{ln, "ws", "websocket " + ln.Path()})
	}
	if o.WSSPort != off {
		ln, err := listener.WSS(addr(o.WSSPort), o.Cert, o.Key, o.ClientCA, wsOpts)
		if err != nil {
			return fail(listenError("wss-port", addr(o.WSSPort), err))
		}
		out = append(out, boundListener{ln, "wss", "secure websocket " + ln.Path()})
	}
	return out, nil
}

// listenError turns a listen failure into one line naming the address and the fix.
func listenError(flag, addr string, err error) error {
	if listener.IsAddrInUse(err) {
		f := "--" + flag
		if flag == "port" {
			f = "-p"
		}
		return fmt.Errorf("listen on %s: address already in use; use %s 0 for a free port or choose another %s", addr, f, f)
	}
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Err != nil {
		return fmt.Errorf("listen on %s: %v", addr, oe.Err)
	}
	return err
}

func run(ctx context.Context, o *options) error {
	printer, format, err := o.Output.NewPrinter(&cmdutil.Factory{IO: o.IO, Now: o.Now})
	if err != nil {
		return err
	}
	policy, err := o.authorizer()
	if err != nil {
		return err
	}
	var authz auth.Authorizer
	if policy != nil {
		authz = policy
	}
	if (policy == nil || policy.Users == nil || policy.AllowAnonymous) && !isLoopback(o.Host) {
		fix := "use --users to require logins"
		if policy != nil && policy.Users != nil {
			fix = "drop --allow-anonymous to require logins"
		}
		_ = printer.Status(statusEvent(format, "warning",
			"Warning: anyone who can reach "+o.Host+" may connect without a password; "+fix,
			map[string]any{"warning": "anonymous access on a non-loopback address", "host": o.Host}))
	}

	st, err := o.openStore()
	if err != nil {
		return err
	}
	if st != nil {
		defer st.Close()
	}
	lns, err := o.listen()
	if err != nil {
		return err
	}
	var metricsLn net.Listener
	if o.Metrics != "" {
		addr, _ := metricsAddr(o.Metrics)
		if metricsLn, err = net.Listen("tcp", addr); err != nil {
			for _, b := range lns {
				b.ln.Close()
			}
			return listenError("metrics", addr, err)
		}
	}

	ev := newEventPump(printer, format == output.FormatJSON)
	bopts := broker.Options{
		MaxKeepAlive:      o.MaxKeepAlive,
		MaxSessionExpiry:  o.MaxSessionExpiry,
		MaxOfflineQueue:   o.MaxOffline,
		MaxPacketSize:     o.MaxPacketSize,
		MaxTopicLevels:    o.MaxTopicLevels,
		MaxTopicLength:    o.MaxTopicLength,
		MaxSubscriptions:  o.MaxSubs,
		MaxConnectBytes:   o.MaxConnectBytes,
		MaxOutboundBytes:  o.MaxQueueBytes,
		MaxOutboundQueue:  o.MaxQueueMessages,
		SlowClientGrace:   o.SlowClientGrace,
		ConnectTimeout:    o.ConnectTimeout,
		MaxOfflineAge:     o.MaxOfflineAge,
		TopicAliasMaximum: o.MaxTopicAlias,
		SysInterval:       o.SysInterval,
		Version:           build.VersionString(),
		Authorizer:        authz,
	}
	if st != nil {
		bopts.Store = st
		_ = printer.Status(statusEvent(format, "store", "Keeping sessions in "+filepath.Join(o.DataDir, store.FileName),
			map[string]any{"file": filepath.Join(o.DataDir, store.FileName)}))
	}
	if o.Output.Verbose {
		bopts.OnEvent = ev.push
		bopts.Logger = slog.New(slog.NewTextHandler(o.IO.ErrOut, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	if bopts.MaxPacketSize == 0 {
		bopts.MaxPacketSize = packet.MaxPacketSize
	}
	srv := broker.New(bopts)

	serveErr := make(chan error, len(lns))
	var wg sync.WaitGroup
	for _, b := range lns {
		addr := b.ln.Addr().String()
		text := "Listening on " + addr
		if b.desc != "" {
			text += " (" + b.desc + ")"
		}
		fields := map[string]any{"address": addr, "protocol": b.kind}
		if ws, ok := b.ln.(*listener.WSListener); ok {
			fields["path"] = ws.Path()
		}
		_ = printer.Status(statusEvent(format, "listening", text, fields))
		if o.onListen != nil {
			o.onListen(b.kind, addr)
		}
		wg.Add(1)
		go func(ln net.Listener) {
			defer wg.Done()
			if err := srv.Serve(ln); err != nil && !errors.Is(err, broker.ErrServerClosed) {
				serveErr <- fmt.Errorf("serve %s: %w", ln.Addr(), err)
			}
		}(b.ln)
	}

	if metricsLn != nil {
		addr := metricsLn.Addr().String()
		_ = printer.Status(statusEvent(format, "metrics", "Metrics on http://"+addr+"/metrics", map[string]any{"address": addr, "path": "/metrics"}))
		if o.onMetrics != nil {
			o.onMetrics(addr)
		}
		stop := serveMetrics(metricsLn, srv)
		defer stop()
	}

	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-serveErr:
	}
	_ = printer.Status(statusEvent(format, "stopping", "Shutting down...", nil))
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	err = srv.Shutdown(sctx)
	cancel()
	for _, b := range lns {
		b.ln.Close() // Serve closes them too; this covers a listener whose Serve has not started
	}
	wg.Wait()
	if !ev.close(drainTimeout) {
		_ = printer.Status(statusEvent(format, "events_dropped", "client events not printed: output is blocked", nil))
	}
	if err != nil && runErr == nil && !errors.Is(err, context.DeadlineExceeded) {
		runErr = fmt.Errorf("shutdown: %w", err)
	}
	if n := ev.dropped.Load(); n > 0 {
		_ = printer.Status(statusEvent(format, "events_dropped", fmt.Sprintf("%d client events were not printed (output too slow)", n), map[string]any{"count": n}))
	}
	_ = printer.Status(statusEvent(format, "stopped", "Stopped", nil))
	return runErr
}

// statusEvent is an output.Event for stderr: fixed words in text (so "Listening on ..."
// reads the same with -v), the fields as JSON keys in JSON.
func statusEvent(format output.Format, typ, text string, fields map[string]any) output.Event {
	if format == output.FormatJSON {
		return output.Event{Type: typ, Fields: fields}
	}
	return output.Event{Type: typ, Text: text}
}

// eventPump carries broker events from the engine's goroutines to the printer through a
// bounded queue, so a slow stdout never blocks a client connection.
type eventPump struct {
	ch      chan broker.Event
	done    chan struct{}
	dropped atomic.Int64
	closed  atomic.Bool
	mu      sync.RWMutex // push holds it shared; close exclusively, so no send on a closed channel
}

func newEventPump(p output.Printer, jsonOut bool) *eventPump {
	e := &eventPump{ch: make(chan broker.Event, eventQueueSize), done: make(chan struct{})}
	go func() {
		defer close(e.done)
		for be := range e.ch {
			_ = p.Result(formatEvent(be, jsonOut))
		}
	}()
	return e
}

// push queues be or drops it when the queue is full; it never blocks.
func (e *eventPump) push(be broker.Event) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	if e.closed.Load() {
		return
	}
	select {
	case e.ch <- be:
	default:
		e.dropped.Add(1)
	}
}

// close stops accepting events and waits until the queued ones are printed, or until
// timeout when the output is stuck (a paused pipe must not keep serve from exiting).
// It reports whether everything was printed.
func (e *eventPump) close(timeout time.Duration) bool {
	e.mu.Lock()
	if !e.closed.Swap(true) {
		close(e.ch)
	}
	e.mu.Unlock()
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-e.done:
		return true
	case <-t.C:
		return false
	}
}

// eventTypes maps engine event kinds to output event types.
var eventTypes = map[string]string{
	broker.EventConnected:    "client_connected",
	broker.EventDisconnected: "client_disconnected",
	broker.EventSubscribed:   "client_subscribed",
	broker.EventUnsubscribed: "client_unsubscribed",
	broker.EventWill:         "will_published",
	broker.EventRefused:      "client_refused",
	broker.EventTakenOver:    "client_taken_over",
}

// formatEvent renders a broker event: one line of text such as
// "client connected id=sensor-1 from 127.0.0.1:5555 v5", or JSON fields.
func formatEvent(be broker.Event, jsonOut bool) output.Event {
	typ, ok := eventTypes[be.Kind]
	if !ok {
		typ = "client_" + be.Kind
	}
	version := ""
	if be.Version != 0 {
		version = mqttc.Version(be.Version).String()
	}
	if jsonOut {
		f := map[string]any{"client_id": be.ClientID}
		if be.Remote != "" {
			f["remote"] = be.Remote
		}
		if version != "" {
			f["mqtt_version"] = version
		}
		switch be.Kind {
		case broker.EventSubscribed, broker.EventWill:
			f["topic"] = be.Topic
			f["qos"] = be.QoS
		case broker.EventUnsubscribed:
			f["topic"] = be.Topic
		}
		if be.Reason != "" {
			f["reason"] = be.Reason
		}
		return output.Event{Type: typ, Time: be.Time, Fields: f}
	}
	return output.Event{Type: typ, Time: be.Time, Text: eventText(typ, be, version)}
}

func eventText(typ string, be broker.Event, version string) string {
	words := []byte(typ)
	for i := range words {
		if words[i] == '_' {
			words[i] = ' '
		}
	}
	s := string(words) + " id=" + quoteIfNeeded(be.ClientID)
	switch be.Kind {
	case broker.EventSubscribed, broker.EventWill:
		s += " topic=" + quoteIfNeeded(be.Topic) + " qos=" + strconv.Itoa(int(be.QoS))
	case broker.EventUnsubscribed:
		s += " topic=" + quoteIfNeeded(be.Topic)
	}
	if be.Remote != "" && be.Kind != broker.EventSubscribed && be.Kind != broker.EventUnsubscribed {
		s += " from " + be.Remote
	}
	if version != "" && (be.Kind == broker.EventConnected || be.Kind == broker.EventRefused) {
		s += " v" + version
	}
	if be.Reason != "" {
		s += " reason=" + quoteIfNeeded(be.Reason)
	}
	return s
}

// quoteIfNeeded leaves plain words alone and quotes values that are empty or contain
// spaces, quotes or control characters, so a line stays one line and splits cleanly.
func quoteIfNeeded(v string) string {
	if v == "" {
		return `""`
	}
	for _, r := range v {
		if r <= ' ' || r == '"' || r == '=' || r == 0x7f || r > 0x7e {
			return strconv.Quote(v)
		}
	}
	return v
}

// isLoopback reports whether host only accepts connections from this machine.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
