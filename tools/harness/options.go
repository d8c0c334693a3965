package harness

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/mqttx/mqttx/internal/bench"
)

// Options configures a scenario run. Zero fields take the scenario's defaults (see each
// runner); the Addr is required.
type Options struct {
	// Addr is the broker's host:port.
	Addr string
	// PID is the broker's process id on this machine; when set, the run reports the
	// broker's CPU time (and, for IdleConns, its resident memory). 0 measures nothing.
	PID int
	// Conn is the template for every connection: protocol version, credentials, keep
	// alive, dialer. Its ClientID, when set, prefixes the generated client ids.
	Conn bench.ConnOptions

	QoS byte // 0 or 1
	// Messages is, for FanIn and FanOut, the delivered messages in total (rounded down to
	// a multiple of Publishers x Subscribers); for Latency, the messages sent.
	Messages    int
	PayloadSize int // bytes per message (default 256, at least 20)
	Publishers  int
	Subscribers int
	// Window is how many messages each publisher may have in flight: published but not
	// yet received by every subscriber (and, at QoS 1, not yet acknowledged). Default 100.
	Window int
	// Rate is the Latency scenario's send rate in messages per second (default 1000).
	Rate float64
	// Connections is the IdleConns and ConnectRate connection count (default 5000).
	Connections int
	// Concurrency is how many dialers IdleConns and ConnectRate run (default 4).
	Concurrency int
	// Settle is how long IdleConns waits before and after connecting before it samples
	// the broker's memory (default 500ms).
	Settle time.Duration
	// Hold keeps IdleConns' connections open this long after the memory sample, for
	// inspecting the broker meanwhile (default 0).
	Hold time.Duration
	// Timeout bounds the whole run (default 2 minutes).
	Timeout time.Duration
	// Topic is the topic prefix (default "bench"); subscribers use Topic + "/#".
	Topic string
	// Persistent subscribers keep their session after they disconnect (MQTT 3 clean
	// session 0, MQTT 5 session expiry of an hour), so a broker that persists keeps
	// their queue and inflight messages on disk. The broker must start without them.
	Persistent bool
}

func (o Options) withDefaults(pubs, subs, msgs int) (Options, error) {
	if o.Addr == "" {
		return o, fmt.Errorf("no broker address: set Options.Addr to host:port")
	}
	if o.QoS > 1 {
		return o, fmt.Errorf("invalid QoS %d: the load engine supports 0 and 1", o.QoS)
	}
	if o.Publishers <= 0 {
		o.Publishers = pubs
	}
	if o.Subscribers <= 0 {
		o.Subscribers = subs
	}
	if o.Messages <= 0 {
		o.Messages = msgs
	}
	if o.PayloadSize == 0 {
		o.PayloadSize = 256
	}
	if o.PayloadSize < bench.StampSize {
		return o, fmt.Errorf("invalid payload size %d: must be at least %d bytes", o.PayloadSize, bench.StampSize)
	}
	if o.Window <= 0 {
		o.Window = 100
	}
	if o.Rate <= 0 {
		o.Rate = 1000
	}
	if o.Connections <= 0 {
		o.Connections = 5000
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 4
	}
	if o.Settle <= 0 {
		o.Settle = 500 * time.Millisecond
	}
	if o.Timeout <= 0 {
		o.Timeout = 2 * time.Minute
	}
	if o.Topic == "" {
		o.Topic = "bench"
	}
	// Every run starts from fresh sessions.
	o.Conn.Client.CleanStart = true
	if o.Conn.Client.ClientID == "" {
		var b [4]byte
		_, _ = rand.Read(b[:])
		o.Conn.Client.ClientID = "mqttx-bench-" + hex.EncodeToString(b[:])
	}
	return o, nil
}

func (o *Options) clientID(role string, i int) string {
	return fmt.Sprintf("%s-%s%d", o.Conn.Client.ClientID, role, i)
}

// Summary is the outcome of one scenario run. Rates and per-unit costs are zero when not
// measured; CPU and memory figures are the broker process's (Options.PID).
type Summary struct {
	Scenario    string `json:"scenario"`
	Target      string `json:"target,omitempty"` // a label for the broker, set by the caller
	Addr        string `json:"addr"`
	Version     string `json:"mqtt_version"` // "3.1", "3.1.1" or "5"
	QoS         int    `json:"qos"`
	Publishers  int    `json:"publishers,omitempty"`
	Subscribers int    `json:"subscribers,omitempty"`
	PayloadSize int    `json:"payload_size,omitempty"`

	Published   int64 `json:"published,omitempty"`
	Delivered   int64 `json:"delivered,omitempty"`
	Acked       int64 `json:"acked,omitempty"`        // PUBACKs received by publishers
	OutOfOrder  int64 `json:"out_of_order,omitempty"` // deliveries not in a publisher's order
	Connections int   `json:"connections,omitempty"`

	Elapsed     time.Duration `json:"elapsed_ns"`
	MsgsPerSec  float64       `json:"msgs_per_sec,omitempty"` // deliveries per second
	ConnsPerSec float64       `json:"conns_per_sec,omitempty"`

	BrokerCPU    time.Duration `json:"broker_cpu_ns,omitempty"`
	CPUPerMsgUs  float64       `json:"cpu_per_msg_us,omitempty"` // per delivered message
	CPUPerConnUs float64       `json:"cpu_per_conn_us,omitempty"`
	// ClientCPUPerMsgUs is this process's own CPU time per delivered message: the load
	// generator's cost, to check it is not the bottleneck.
	ClientCPUPerMsgUs float64 `json:"client_cpu_per_msg_us,omitempty"`
	// ClientCPUPerConnUs is the same for ConnectRate, per connection.
	ClientCPUPerConnUs float64               `json:"client_cpu_per_conn_us,omitempty"`
	RSSBefore          int64                 `json:"rss_before_bytes,omitempty"`
	RSSAfter           int64                 `json:"rss_after_bytes,omitempty"`
	BytesPerConn       float64               `json:"bytes_per_conn,omitempty"`
	Latency            *bench.LatencySummary `json:"latency,omitempty"`
}

// Text returns a one-line human-readable account of the run.
func (s *Summary) Text() string {
	var parts []string
	if s.Delivered > 0 {
		parts = append(parts, fmt.Sprintf("delivered %d in %v (%.0f msg/s)", s.Delivered, s.Elapsed.Round(time.Millisecond), s.MsgsPerSec))
	}
	if s.BrokerCPU > 0 {
		parts = append(parts, fmt.Sprintf("broker CPU %v", s.BrokerCPU))
	}
	if s.CPUPerMsgUs > 0 {
		parts = append(parts, fmt.Sprintf("%.2f us/msg (load generator %.2f)", s.CPUPerMsgUs, s.ClientCPUPerMsgUs))
	}
	if s.OutOfOrder > 0 {
		parts = append(parts, fmt.Sprintf("%d out of order", s.OutOfOrder))
	}
	if s.Latency != nil {
		parts = append(parts, fmt.Sprintf("latency p50 %dus p99 %dus max %dus", s.Latency.P50, s.Latency.P99, s.Latency.Max))
	}
	if s.RSSAfter > 0 {
		parts = append(parts, fmt.Sprintf("RSS %.1f -> %.1f MiB, %.2f KiB/conn", float64(s.RSSBefore)/(1<<20), float64(s.RSSAfter)/(1<<20), s.BytesPerConn/1024))
	}
	if s.ConnsPerSec > 0 {
		parts = append(parts, fmt.Sprintf("%d conns in %v (%.0f/s", s.Connections, s.Elapsed.Round(time.Millisecond), s.ConnsPerSec))
		if s.CPUPerConnUs > 0 {
			parts[len(parts)-1] += fmt.Sprintf(", %.1f us CPU each", s.CPUPerConnUs)
		}
		parts[len(parts)-1] += fmt.Sprintf(", load generator %.1f)", s.ClientCPUPerConnUs)
	} else if s.Connections > 0 && s.RSSAfter == 0 {
		parts = append(parts, fmt.Sprintf("%d connections in %v", s.Connections, s.Elapsed.Round(time.Millisecond)))
	}
	return s.Scenario + ": " + strings.Join(parts, ", ")
}
