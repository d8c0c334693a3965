// Package config reads and writes serve's YAML configuration file. Every
// field is a pointer: a key absent from the file leaves the setting to its
// flag's default, and a flag given on the command line wins over the file.
// serve binds each field to its flag in one table (internal/cli/serve).
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"go.yaml.in/yaml/v3"
)

// Config is serve's configuration file.
type Config struct {
	// Listeners.
	Host     *string `yaml:"host,omitempty"`
	Port     *int    `yaml:"port,omitempty"`
	TLSPort  *int    `yaml:"tls_port,omitempty"`
	WSPort   *int    `yaml:"ws_port,omitempty"`
	WSSPort  *int    `yaml:"wss_port,omitempty"`
	Cert     *string `yaml:"cert,omitempty"`
	Key      *string `yaml:"key,omitempty"`
	ClientCA *string `yaml:"client_ca,omitempty"`
	WSPath   *string `yaml:"ws_path,omitempty"`
	// WSOrigins lists the WebSocket origins accepted beside the listener's own.
	WSOrigins *[]string `yaml:"ws_origins,omitempty"`
	// WSHosts lists the Host header names accepted beside the listener's address and
	// localhost.
	WSHosts *[]string `yaml:"ws_hosts,omitempty"`

	// Access.
	Users            *string `yaml:"users,omitempty"`
	AllowAnonymous   *bool   `yaml:"allow_anonymous,omitempty"`
	ACL              *string `yaml:"acl,omitempty"`
	CertCNAsUsername *bool   `yaml:"cert_cn_as_username,omitempty"`

	// Limits.
	MaxKeepAlive       *uint16 `yaml:"max_keepalive,omitempty"`
	MaxSessionExpiry   *uint32 `yaml:"max_session_expiry,omitempty"`
	MaxOfflineMessages *int    `yaml:"max_offline_messages,omitempty"`
	MaxPacketSize      *uint32 `yaml:"max_packet_size,omitempty"`
	MaxTopicAlias      *uint16 `yaml:"max_topic_alias,omitempty"`
	MaxTopicLevels     *int    `yaml:"max_topic_levels,omitempty"`
	MaxTopicLength     *int    `yaml:"max_topic_length,omitempty"`
	MaxSubscriptions   *int    `yaml:"max_subscriptions,omitempty"`
	MaxConnectBytes    *int    `yaml:"max_connect_bytes,omitempty"`
	MaxQueueBytes      *int    `yaml:"max_queue_bytes,omitempty"`
	MaxQueueMessages   *int    `yaml:"max_queue_messages,omitempty"`
	// SlowClientGrace is how long a client may keep QoS 1/2 messages waiting for
	// queue room, as "30s".
	SlowClientGrace *Duration `yaml:"slow_client_grace,omitempty"`
	// MaxOfflineAge drops the messages queued for an offline session longer, as
	// "5m"; "0" keeps them however old.
	MaxOfflineAge *Duration `yaml:"max_offline_age,omitempty"`
	// ConnectTimeout is how long a new connection may take to send CONNECT, as "10s".
	ConnectTimeout *Duration `yaml:"connect_timeout,omitempty"`

	// SysInterval is how often the $SYS topics are published, as "10s".
	SysInterval *Duration `yaml:"sys_interval,omitempty"`

	// Metrics is the address of the Prometheus /metrics endpoint.
	Metrics *string `yaml:"metrics,omitempty"`

	// Persistence: the directory of the store; none keeps state in memory.
	DataDir *string `yaml:"data_dir,omitempty"`

	// Events.
	Verbose *bool   `yaml:"verbose,omitempty"`
	Output  *string `yaml:"output,omitempty"`
}

// Load reads a configuration file. Unknown keys are errors (a misspelt key
// would otherwise be ignored silently), and relative file names in it (cert,
// key, client_ca, users, acl, data_dir) are taken relative to the file's
// directory.
func Load(name string) (*Config, error) {
	b, err := os.ReadFile(name)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, fmt.Errorf("config file %s: %v", name, err)
	}
	c, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("config file %s: %w", name, err)
	}
	dir := filepath.Dir(name)
	for _, p := range []*string{c.Cert, c.Key, c.ClientCA, c.Users, c.ACL, c.DataDir} {
		if p != nil && *p != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(dir, *p)
		}
	}
	return c, nil
}

// Duration is a time.Duration written as "10s" or "1m30s".
type Duration time.Duration

// MarshalYAML writes d as Go writes durations.
func (d Duration) MarshalYAML() (any, error) { return time.Duration(d).String(), nil }

// UnmarshalYAML reads "10s", "1m30s" or "0".
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: invalid duration %q: write it as 10s or 1m30s", n.Line, n.Value)
	}
	*d = Duration(v)
	return nil
}

// unknownKey is compiled on first use, not at start-up of every mqttx command.
var unknownKey = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`field (\S+) not found in type \S+`) })

// Parse decodes the contents of a configuration file.
func Parse(b []byte) (*Config, error) {
	var c Config
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
		msg := strings.Join(strings.Fields(err.Error()), " ")
		msg = strings.TrimPrefix(msg, "yaml: ")
		msg = strings.TrimPrefix(msg, "unmarshal errors: ")
		if unknownKey().MatchString(msg) {
			msg = unknownKey().ReplaceAllString(msg, "unknown key $1") + "; mqttx serve --print-config shows every key"
		}
		return nil, errors.New(msg)
	}
	return &c, nil
}

// Marshal encodes c as a file Load accepts.
func (c *Config) Marshal() ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteString("# mqttx serve --config: flags given on the command line win over these\n")
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(c); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
