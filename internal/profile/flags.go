package profile

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/pflag"
)

// Flag names registered by AddConnFlags that commands may need to look up.
const (
	FlagProfile = "profile"
	FlagConfig  = "config"
	FlagURL     = "url"
)

// AddConnFlags registers the connection flags of Settings shared by every client
// command. Their defaults only show in help: FromFlags reads a flag only when the user
// set it. -h is --host, so commands must declare --help without a shorthand.
func AddConnFlags(fs *pflag.FlagSet) {
	AddSettingFlags(fs)
	fs.String(FlagProfile, "", "saved connection profile to use (default: $MQTTX_PROFILE, else the config's default)")
	fs.String(FlagConfig, "", "config file (default: $MQTTX_CONFIG, else $XDG_CONFIG_HOME/mqttx/config.yaml)")
	_ = fs.SetAnnotation(FlagProfile, "group", []string{GroupConnection})
	_ = fs.SetAnnotation(FlagConfig, "group", []string{GroupConnection})
}

// AddSettingFlags registers a flag per row of Settings and -L/--url: the flags a
// profile is made of (profile save).
func AddSettingFlags(fs *pflag.FlagSet) {
	for _, s := range Settings {
		s.Register(fs)
	}
	fs.StringP(FlagURL, "L", "", "broker URL mqtt[s]|ws[s]://[user[:password]@]host[:port][/topic]; other flags override its parts")
	_ = fs.SetAnnotation(FlagURL, "group", []string{GroupConnection})
}

// changed reports whether flag name exists in fs and was set by the user.
func changed(fs *pflag.FlagSet, name string) bool {
	f := fs.Lookup(name)
	return f != nil && f.Changed
}

// FromFlags returns the settings the user gave on the command line: only flags with
// fs.Changed(name) count, and flags that fs does not define are skipped. An -L/--url is
// applied first and explicit flags override its parts. --no-clean sets Clean to false
// (--no-clean=false sets it to true). Errors are *UsageError.
func FromFlags(fs *pflag.FlagSet) (Profile, error) {
	var p Profile
	if changed(fs, FlagURL) {
		raw, err := fs.GetString(FlagURL)
		if err != nil {
			return Profile{}, usageErr(fmt.Errorf("invalid --url: %v", err))
		}
		u, _, err := ParseURL(raw)
		if err != nil {
			return Profile{}, err
		}
		p = u
	}
	for _, s := range Settings {
		fl := fs.Lookup(s.Flag)
		if fl == nil || !fl.Changed {
			continue
		}
		if err := s.parse(&p, flagValues(fl)); err != nil {
			return Profile{}, usageErr(fmt.Errorf("invalid --%s: %v", s.Flag, err))
		}
	}
	return p, nil
}

// URLTopic returns the topic part of -L/--url ("" when -L is unset or has no topic), so
// pub and sub can use it when -t is not given.
func URLTopic(fs *pflag.FlagSet) (string, error) {
	if !changed(fs, FlagURL) {
		return "", nil
	}
	raw, err := fs.GetString(FlagURL)
	if err != nil {
		return "", usageErr(fmt.Errorf("invalid --url: %v", err))
	}
	_, topic, err := ParseURL(raw)
	return topic, err
}

// Environment variables read by FromEnv and Resolve.
const (
	EnvHost     = "MQTTX_HOST"
	EnvPort     = "MQTTX_PORT"
	EnvUsername = "MQTTX_USERNAME"
	EnvPassword = "MQTTX_PASSWORD"
	EnvProfile  = "MQTTX_PROFILE"
	EnvConfig   = "MQTTX_CONFIG"
)

// FromEnv reads the settings that have an environment variable (MQTTX_HOST,
// MQTTX_PORT, MQTTX_USERNAME, MQTTX_PASSWORD). An empty variable counts as unset. A bad
// MQTTX_PORT is a *UsageError.
func FromEnv(getenv func(string) string) (Profile, error) {
	var p Profile
	for _, s := range Settings {
		if s.Env == "" {
			continue
		}
		v := getenv(s.Env)
		if v == "" {
			continue
		}
		if s.Env == EnvPort {
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil || n < 1 || n > 65535 {
				return Profile{}, usageErr(fmt.Errorf("invalid %s %s: must be a port number 1-65535", EnvPort, quoteIfNeeded(v)))
			}
		}
		if err := s.parse(&p, []string{v}); err != nil {
			return Profile{}, usageErr(fmt.Errorf("invalid %s: %v", s.Env, err))
		}
	}
	return p, nil
}
