package serve

import (
	"path/filepath"

	"github.com/spf13/pflag"

	"github.com/mqttx/mqttx/internal/broker/config"
)

// setting binds one flag to its key in the configuration file: the one table
// that --config, the flags' precedence and --print-config read.
type setting struct {
	flag string
	// load copies the file's value into the options when the file has one.
	load func(*config.Config, *options)
	// save copies the options' value into the file's field.
	save func(*options, *config.Config)
}

// bind makes a setting of a config field and an options field of the same type.
// A setting whose options value is off (unset listener ports) is not saved.
func bind[T any](flag string, cf func(*config.Config) **T, of func(*options) *T, isOff ...func(T) bool) setting {
	return setting{
		flag: flag,
		load: func(c *config.Config, o *options) {
			if p := *cf(c); p != nil {
				*of(o) = *p
			}
		},
		save: func(o *options, c *config.Config) {
			v := *of(o)
			for _, f := range isOff {
				if f(v) {
					return
				}
			}
			*cf(c) = &v
		},
	}
}

func portOff(p int) bool { return p == off }

var settings = []setting{
	bind("host", func(c *config.Config) **string { return &c.Host }, func(o *options) *string { return &o.Host }),
	bind("port", func(c *config.Config) **int { return &c.Port }, func(o *options) *int { return &o.Port }),
	bind("tls-port", func(c *config.Config) **int { return &c.TLSPort }, func(o *options) *int { return &o.TLSPort }, portOff),
	bind("ws-port", func(c *config.Config) **int { return &c.WSPort }, func(o *options) *int { return &o.WSPort }, portOff),
	bind("wss-port", func(c *config.Config) **int { return &c.WSSPort }, func(o *options) *int { return &o.WSSPort }, portOff),
	bind("cert", func(c *config.Config) **string { return &c.Cert }, func(o *options) *string { return &o.Cert }),
	bind("key", func(c *config.Config) **string { return &c.Key }, func(o *options) *string { return &o.Key }),
	bind("client-ca", func(c *config.Config) **string { return &c.ClientCA }, func(o *options) *string { return &o.ClientCA }),
	bind("ws-path", func(c *config.Config) **string { return &c.WSPath }, func(o *options) *string { return &o.WSPath }),
	bind("ws-origin", func(c *config.Config) **[]string { return &c.WSOrigins }, func(o *options) *[]string { return &o.WSOrigins }),
	bind("ws-host", func(c *config.Config) **[]string { return &c.WSHosts }, func(o *options) *[]string { return &o.WSHosts }),
	bind("users", func(c *config.Config) **string { return &c.Users }, func(o *options) *string { return &o.UsersFile }),
	bind("allow-anonymous", func(c *config.Config) **bool { return &c.AllowAnonymous }, func(o *options) *bool { return &o.AllowAnonymous }),
	bind("acl", func(c *config.Config) **string { return &c.ACL }, func(o *options) *string { return &o.ACLFile }),
	bind("cert-cn-as-username", func(c *config.Config) **bool { return &c.CertCNAsUsername }, func(o *options) *bool { return &o.CertCNAsUsername }),
	bind("max-keepalive", func(c *config.Config) **uint16 { return &c.MaxKeepAlive }, func(o *options) *uint16 { return &o.MaxKeepAlive }),
	bind("max-session-expiry", func(c *config.Config) **uint32 { return &c.MaxSessionExpiry }, func(o *options) *uint32 { return &o.MaxSessionExpiry }),
	bind("max-offline-messages", func(c *config.Config) **int { return &c.MaxOfflineMessages }, func(o *options) *int { return &o.MaxOffline }),
	bind("max-offline-age", func(c *config.Config) **config.Duration { return &c.MaxOfflineAge }, func(o *options) *config.Duration { return (*config.Duration)(&o.MaxOfflineAge) }),
	bind("max-packet-size", func(c *config.Config) **uint32 { return &c.MaxPacketSize }, func(o *options) *uint32 { return &o.MaxPacketSize }),
	bind("max-topic-alias", func(c *config.Config) **uint16 { return &c.MaxTopicAlias }, func(o *options) *uint16 { return &o.MaxTopicAlias }),
	bind("max-topic-levels", func(c *config.Config) **int { return &c.MaxTopicLevels }, func(o *options) *int { return &o.MaxTopicLevels }),
	bind("max-topic-length", func(c *config.Config) **int { return &c.MaxTopicLength }, func(o *options) *int { return &o.MaxTopicLength }),
	bind("max-subscriptions", func(c *config.Config) **int { return &c.MaxSubscriptions }, func(o *options) *int { return &o.MaxSubs }),
	bind("max-connect-bytes", func(c *config.Config) **int { return &c.MaxConnectBytes }, func(o *options) *int { return &o.MaxConnectBytes }),
	bind("max-queue-bytes", func(c *config.Config) **int { return &c.MaxQueueBytes }, func(o *options) *int { return &o.MaxQueueBytes }),
	bind("max-queue-messages", func(c *config.Config) **int { return &c.MaxQueueMessages }, func(o *options) *int { return &o.MaxQueueMessages }),
	bind("slow-client-grace", func(c *config.Config) **config.Duration { return &c.SlowClientGrace }, func(o *options) *config.Duration { return (*config.Duration)(&o.SlowClientGrace) }),
	bind("connect-timeout", func(c *config.Config) **config.Duration { return &c.ConnectTimeout }, func(o *options) *config.Duration { return (*config.Duration)(&o.ConnectTimeout) }),
	bind("sys-interval", func(c *config.Config) **config.Duration { return &c.SysInterval }, func(o *options) *config.Duration { return (*config.Duration)(&o.SysInterval) }),
	bind("metrics", func(c *config.Config) **string { return &c.Metrics }, func(o *options) *string { return &o.Metrics }),
	bind("data-dir", func(c *config.Config) **string { return &c.DataDir }, func(o *options) *string { return &o.DataDir }),
	bind("verbose", func(c *config.Config) **bool { return &c.Verbose }, func(o *options) *bool { return &o.Output.Verbose }),
	bind("output", func(c *config.Config) **string { return &c.Output }, func(o *options) *string { return &o.Output.Format }),
}

// applyConfig loads o.ConfigFile, when given, into the settings whose flags
// were not set on the command line.
func (o *options) applyConfig(fs *pflag.FlagSet) error {
	if o.ConfigFile == "" {
		return nil
	}
	c, err := config.Load(o.ConfigFile)
	if err != nil {
		return err
	}
	for _, s := range settings {
		if !fs.Changed(s.flag) {
			s.load(c, o)
		}
	}
	return nil
}

// effectiveConfig is the configuration o runs with, as a file --config accepts.
func (o *options) effectiveConfig() ([]byte, error) {
	var c config.Config
	for _, s := range settings {
		s.save(o, &c)
	}
	// Absolute file names: the printed file may be kept anywhere.
	for _, p := range []*string{c.Cert, c.Key, c.ClientCA, c.Users, c.ACL, c.DataDir} {
		if p != nil && *p != "" {
			if abs, err := filepath.Abs(*p); err == nil {
				*p = abs
			}
		}
	}
	return c.Marshal()
}
