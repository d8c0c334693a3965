package profile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	iofs "io/fs"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"sync"

	"github.com/spf13/pflag"
	"go.yaml.in/yaml/v3"
)

// Config is the config file: named profiles and the one used when none is named.
//
//	default: local
//	profiles:
//	  local: {host: 127.0.0.1, port: 1883}
//	  prod: {protocol: mqtts, host: broker.example.com, username: alice, ca: /etc/ssl/ca.pem}
type Config struct {
	Default  string             `yaml:"default,omitempty"`
	Profiles map[string]Profile `yaml:"profiles,omitempty"`
}

// ConfigPath returns the config file to use: $MQTTX_CONFIG, else
// $XDG_CONFIG_HOME/mqttx/config.yaml, else the user config directory's
// mqttx/config.yaml (~/.config on Unix, %AppData% on Windows, as os.UserConfigDir), else
// ".mqttx.yaml" when no home directory is known.
func ConfigPath(getenv func(string) string) string {
	if v := getenv(EnvConfig); v != "" {
		return v
	}
	if v := getenv("XDG_CONFIG_HOME"); v != "" && filepath.IsAbs(v) {
		return filepath.Join(v, "mqttx", "config.yaml")
	}
	switch runtime.GOOS {
	case "windows":
		if v := getenv("AppData"); v != "" {
			return filepath.Join(v, "mqttx", "config.yaml")
		}
	case "darwin", "ios", "plan9":
		if dir, err := os.UserConfigDir(); err == nil {
			return filepath.Join(dir, "mqttx", "config.yaml")
		}
	default:
		if h := getenv("HOME"); h != "" {
			return filepath.Join(h, ".config", "mqttx", "config.yaml")
		}
	}
	if h, err := os.UserHomeDir(); err == nil {
		return filepath.Join(h, ".config", "mqttx", "config.yaml")
	}
	return ".mqttx.yaml"
}

// unknownField is compiled on first use: only a bad config file needs it, and every
// command's start would pay for it otherwise.
var unknownField = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^field (.*) not found in type [\w.]+$`)
})

// yamlError turns a yaml error into one line: "config FILE: line N: ...".
func yamlError(path string, err error) error {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		msgs := make([]string, 0, len(te.Errors))
		for _, m := range te.Errors {
			line, rest, ok := strings.Cut(m, ": ")
			if ok && strings.HasPrefix(line, "line ") {
				if sm := unknownField().FindStringSubmatch(rest); sm != nil {
					rest = fmt.Sprintf("unknown key %q", sm[1])
				}
				m = line + ": " + rest
			}
			msgs = append(msgs, m)
		}
		return fmt.Errorf("config %s: %s", path, oneLine(strings.Join(msgs, "; ")))
	}
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	return fmt.Errorf("config %s: %s", path, oneLine(msg))
}

// oneLine keeps an error on one line: yaml quotes offending values verbatim, line breaks
// included.
var oneLine = strings.NewReplacer("\n", `\n`, "\r", `\r`).Replace

// LoadConfig reads the config file at path. A missing file is an empty config and no
// error. Unknown keys are errors; errors name the file and line. A world-readable file is
// read as is (SaveConfig writes 0600).
func LoadConfig(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, iofs.ErrNotExist) {
		return &Config{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	c, err := parseConfig(path, data)
	if err != nil {
		// A config file that does not parse is bad input, like a bad flag.
		return nil, usageErr(err)
	}
	return c, nil
}

// parseConfig decodes one YAML document strictly.
func parseConfig(path string, data []byte) (c *Config, err error) {
	defer func() {
		// The YAML decoder has panicked on hostile input in the past; a config file must
		// never crash the program.
		if r := recover(); r != nil {
			c, err = nil, fmt.Errorf("config %s: cannot parse: %v", path, r)
		}
	}()
	c = &Config{}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(c); err != nil {
		if errors.Is(err, io.EOF) {
			return &Config{}, nil
		}
		return nil, yamlError(path, err)
	}
	for name, p := range c.Profiles {
		if strings.TrimSpace(name) == "" {
			return nil, fmt.Errorf("config %s: a profile name must not be empty", path)
		}
		c.Profiles[name] = normalize(p)
	}
	if len(c.Profiles) == 0 {
		c.Profiles = nil
	}
	return c, nil
}

// normalize makes empty lists unset, as they are saved (omitempty) and as Merge treats
// them is irrelevant: an empty list in a file means nothing to override.
func normalize(p Profile) Profile {
	for _, s := range []*[]string{&p.WillUserProperties, &p.ALPN, &p.WSHeaders, &p.UserProperties} {
		if len(*s) == 0 {
			*s = nil
		}
	}
	return p
}

// SaveConfig writes c to path with mode 0600, creating missing directories with mode
// 0700. It writes a temporary file and renames it, so a crash never leaves half a file.
func SaveConfig(path string, c *Config) error {
	data, err := marshalConfig(c)
	if err != nil {
		return fmt.Errorf("config %s: %w", path, err)
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("config %s: %w", path, err)
	}
	f, err := os.CreateTemp(dir, ".config-*.yaml")
	if err != nil {
		return fmt.Errorf("config %s: %w", path, err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // no-op after a successful rename
	if err := f.Chmod(0o600); err != nil && runtime.GOOS != "windows" {
		f.Close()
		return fmt.Errorf("config %s: %w", path, err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("config %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("config %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("config %s: %w", path, err)
	}
	return nil
}

// marshalConfig encodes c as YAML with two-space indentation.
func marshalConfig(c *Config) ([]byte, error) {
	var buf bytes.Buffer
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

// Names returns the profile names in c, sorted.
func (c *Config) Names() []string {
	names := make([]string, 0, len(c.Profiles))
	for n := range c.Profiles {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Resolve is the one place precedence is implemented: defaults < saved profile <
// environment < flags.
//
// The config file is configPath, else --config, else ConfigPath(getenv); a missing file
// is fine unless it was named by --config. The profile is --profile, else $MQTTX_PROFILE,
// else the config's default; a named profile that does not exist is an error. fs may be
// nil (no flags). The result still needs Options() to be validated.
func Resolve(fs *pflag.FlagSet, getenv func(string) string, configPath string) (Profile, error) {
	return ResolveWarn(fs, getenv, configPath, nil)
}

// ResolveWarn is Resolve that passes warnings to warn: a default config file (not named
// by --config or $MQTTX_CONFIG) that exists but cannot be read is a warning, and the
// settings resolve without it; a named one is an error.
func ResolveWarn(fs *pflag.FlagSet, getenv func(string) string, configPath string, warn func(string)) (Profile, error) {
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	var flagConfig, flagProfile string
	if fs != nil {
		if changed(fs, FlagConfig) {
			flagConfig, _ = fs.GetString(FlagConfig)
		}
		if changed(fs, FlagProfile) {
			flagProfile, _ = fs.GetString(FlagProfile)
		}
	}
	path := configPath
	if path == "" && flagConfig != "" {
		path = flagConfig
		if _, err := os.Stat(path); errors.Is(err, iofs.ErrNotExist) {
			return Profile{}, usageErr(fmt.Errorf("invalid --config %s: no such file", quoteIfNeeded(path)))
		}
	}
	named := path != "" || getenv(EnvConfig) != ""
	if path == "" {
		path = ConfigPath(getenv)
	}
	cfg, err := LoadConfig(path)
	var pe *iofs.PathError
	if err != nil && !named && warn != nil && errors.As(err, &pe) {
		warn(fmt.Sprintf("ignoring config %s: %v", path, pe.Err))
		cfg, err = &Config{}, nil
	}
	if err != nil {
		return Profile{}, err
	}

	p := Defaults()
	name, from := flagProfile, "--profile"
	if name == "" {
		name, from = getenv(EnvProfile), "$"+EnvProfile
	}
	if name == "" {
		name, from = cfg.Default, "default in config "+path
	}
	if name != "" {
		saved, ok := cfg.Profiles[name]
		if !ok {
			avail := "none saved"
			if names := cfg.Names(); len(names) > 0 {
				avail = "have " + strings.Join(names, ", ")
			}
			return Profile{}, usageErr(fmt.Errorf("profile %q (from %s) not found in %s: %s", name, from, path, avail))
		}
		p.Merge(saved)
	}

	env, err := FromEnv(getenv)
	if err != nil {
		return Profile{}, err
	}
	p.Merge(env)

	if fs != nil {
		fl, err := FromFlags(fs)
		if err != nil {
			return Profile{}, err
		}
		p.Merge(fl)
	}
	return p, nil
}
