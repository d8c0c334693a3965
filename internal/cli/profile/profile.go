// Package profilecmd is `mqttx profile`: save, list, show, remove and choose the
// connection profiles of the config file.
package profilecmd

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/mqttx/mqttx/internal/cli/cmdutil"
	"github.com/mqttx/mqttx/internal/output"
	"github.com/mqttx/mqttx/internal/profile"
)

type options struct {
	IO      *output.Streams
	Factory *cmdutil.Factory
	Getenv  func(string) string
	Output  cmdutil.OutputOptions
	Flags   *pflag.FlagSet // save's connection flags
	Config  string         // --config
	Name    string
}

// NewCmd returns the profile command and its subcommands. runF, when not nil, replaces
// the run function of every subcommand (for tests of flag parsing).
func NewCmd(f *cmdutil.Factory, runF func(action string, o *options) error) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "profile <command>",
		Short: "Save and choose connection profiles",
		Long: `Save connection settings under a name and use them with --profile NAME on conn, pub and
sub (or by default after 'mqttx profile use NAME'). Profiles live in --config FILE, else
$MQTTX_CONFIG, else $XDG_CONFIG_HOME/mqttx/config.yaml, else ~/.config/mqttx/config.yaml,
written with mode 0600 since they may hold passwords.`,
		Example: `  $ mqttx profile save prod -h broker.example.com -l mqtts -u alice -P s3cret
  $ mqttx profile ls
  $ mqttx profile show prod
  $ mqttx profile use prod
  $ mqttx pub -t hello -m world          # uses prod
  $ mqttx profile rm prod`,
		Args: cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	run := func(action string, o *options) error {
		if runF != nil {
			return runF(action, o)
		}
		return runAction(action, o)
	}
	sub := func(use, short, example string, nargs int, action string) *cobra.Command {
		o := &options{IO: f.IO, Factory: f, Getenv: f.Getenv}
		c := &cobra.Command{
			Use:     use,
			Short:   short,
			Example: example,
			Args: func(c *cobra.Command, args []string) error {
				if len(args) != nargs {
					if nargs == 0 {
						return cmdutil.FlagErrorf("unexpected argument %q: %s takes no arguments", args[0], c.CommandPath())
					}
					return cmdutil.FlagErrorf("%s needs a profile name: %s", c.CommandPath(), c.Use)
				}
				return nil
			},
			RunE: func(c *cobra.Command, args []string) error {
				if err := o.Output.Validate(); err != nil {
					return &cmdutil.FlagError{Err: err}
				}
				if o.Output.Format == "raw" {
					return cmdutil.FlagErrorf("invalid --output raw: %s prints text or json", c.CommandPath())
				}
				if nargs == 1 {
					o.Name = args[0]
					if err := validName(o.Name); err != nil {
						return &cmdutil.FlagError{Err: err}
					}
				}
				return run(action, o)
			},
		}
		c.Flags().StringVar(&o.Config, profile.FlagConfig, "", "config file (default: $MQTTX_CONFIG, else $XDG_CONFIG_HOME/mqttx/config.yaml)")
		if action == "save" {
			o.Flags = c.Flags()
			profile.AddSettingFlags(c.Flags())
		}
		cmdutil.AddOutputFlags(c.Flags(), &o.Output, "text")
		return c
	}
	cmd.AddCommand(
		sub("save <name> [connection flags]", "Save connection flags as a profile (replacing one of that name)",
			"  $ mqttx profile save local -h 127.0.0.1 -p 1883 -i laptop", 1, "save"),
		sub("ls", "List the saved profiles; * marks the default", "  $ mqttx profile ls", 0, "ls"),
		sub("show <name>", "Show a profile's settings, password masked", "  $ mqttx profile show prod", 1, "show"),
		sub("rm <name>", "Remove a profile", "  $ mqttx profile rm prod", 1, "rm"),
		sub("use <name>", "Make a profile the default for conn, pub and sub", "  $ mqttx profile use prod", 1, "use"),
	)
	return cmd
}

// validName refuses names that cannot be typed back or that YAML would mangle.
func validName(name string) error {
	if strings.TrimSpace(name) == "" || strings.ContainsAny(name, "\n\r\t\x00") || strings.HasPrefix(name, "-") {
		return fmt.Errorf("invalid profile name %q: use letters, digits, - and _", name)
	}
	return nil
}

func (o *options) path() string {
	if o.Config != "" {
		return o.Config
	}
	return profile.ConfigPath(o.Getenv)
}

func runAction(action string, o *options) error {
	path := o.path()
	cfg, err := profile.LoadConfig(path)
	if err != nil {
		return err
	}
	out := o.IO.Out
	p, format, err := o.Output.NewPrinter(o.Factory)
	if err != nil {
		return err
	}
	asJSON := format == output.FormatJSON
	switch action {
	case "save":
		saved, err := profile.FromFlags(o.Flags)
		if err != nil {
			return err
		}
		// Check the values as a command would use them, so a saved profile never fails
		// later for a reason known now.
		if _, err := saved.Options(); err != nil {
			return err
		}
		if cfg.Profiles == nil {
			cfg.Profiles = map[string]profile.Profile{}
		}
		_, existed := cfg.Profiles[o.Name]
		cfg.Profiles[o.Name] = saved
		if err := profile.SaveConfig(path, cfg); err != nil {
			return err
		}
		return p.Status(output.ProfileSaved(o.Name, path, existed))
	case "ls":
		for _, name := range cfg.Names() {
			if asJSON {
				if err := p.Result(output.Profile(name, name == cfg.Default, nil)); err != nil {
					return err
				}
				continue
			}
			mark := " "
			if name == cfg.Default {
				mark = "*"
			}
			if _, err := fmt.Fprintf(out, "%s %s\n", mark, name); err != nil {
				return err
			}
		}
		return nil
	case "show":
		pr, err := lookup(cfg, path, o.Name)
		if err != nil {
			return err
		}
		if asJSON {
			return p.Result(output.Profile(o.Name, o.Name == cfg.Default, settings(pr)))
		}
		return show(out, pr)
	case "rm":
		if _, err := lookup(cfg, path, o.Name); err != nil {
			return err
		}
		delete(cfg.Profiles, o.Name)
		if cfg.Default == o.Name {
			cfg.Default = ""
		}
		if err := profile.SaveConfig(path, cfg); err != nil {
			return err
		}
		return p.Status(output.ProfileRemoved(o.Name, path))
	case "use":
		if _, err := lookup(cfg, path, o.Name); err != nil {
			return err
		}
		cfg.Default = o.Name
		if err := profile.SaveConfig(path, cfg); err != nil {
			return err
		}
		return p.Status(output.ProfileDefault(o.Name))
	}
	return errors.New("unknown profile action " + action)
}

func lookup(cfg *profile.Config, path, name string) (profile.Profile, error) {
	p, ok := cfg.Profiles[name]
	if !ok {
		avail := "none saved"
		if names := cfg.Names(); len(names) > 0 {
			avail = "have " + strings.Join(names, ", ")
		}
		return profile.Profile{}, &cmdutil.FlagError{Err: fmt.Errorf("profile %q not found in %s: %s", name, path, avail)}
	}
	return p, nil
}

// show writes one "key: value" line per set setting, in the table's order, with the
// password masked.
func show(w io.Writer, p profile.Profile) error {
	var b strings.Builder
	for _, s := range profile.Settings {
		v, ok := shown(s, &p)
		if !ok {
			continue
		}
		fmt.Fprintf(&b, "%s: %s\n", s.Key, output.EscapeControl(v))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// settings returns the set settings by YAML key, password masked, for JSON.
func settings(p profile.Profile) map[string]string {
	m := map[string]string{}
	for _, s := range profile.Settings {
		if v, ok := shown(s, &p); ok {
			m[s.Key] = v
		}
	}
	return m
}

// shown is a setting's value as show prints it: secrets masked.
func shown(s profile.Setting, p *profile.Profile) (string, bool) {
	v, ok := s.Value(p)
	if ok && s.Secret {
		v = "********"
	}
	return v, ok
}
