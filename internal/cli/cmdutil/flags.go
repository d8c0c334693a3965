package cmdutil

import (
	"fmt"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/mqttx/mqttx/internal/mqttc"
	"github.com/mqttx/mqttx/internal/output"
	"github.com/mqttx/mqttx/internal/profile"
)

// OutputOptions are the -o/--output, --color and -v/--verbose flags of a command.
type OutputOptions struct {
	Format  string // "text", "json", "raw", or "" / "auto": text on a terminal, json otherwise
	Color   string // "auto", "always" or "never"
	Verbose bool
}

// AddOutputFlags registers -o/--output (default def), --color and -v/--verbose on fs.
func AddOutputFlags(fs *pflag.FlagSet, o *OutputOptions, def string) {
	help := "output format: text, json (JSON Lines) or raw (payloads only)"
	if def == "auto" {
		help = "output format: text, json (JSON Lines) or raw (payloads only); default: text on a terminal, json otherwise"
	}
	fs.StringVarP(&o.Format, "output", "o", def, help)
	fs.StringVar(&o.Color, "color", "auto", "colour: auto, always or never (auto honours NO_COLOR)")
	fs.BoolVarP(&o.Verbose, "verbose", "v", false, "print more detail: properties, timestamps")
	for _, name := range []string{"output", "color", "verbose"} {
		_ = fs.SetAnnotation(name, "group", []string{GroupOutput})
	}
}

// Validate checks the flag values without touching the streams.
func (o OutputOptions) Validate() error {
	switch o.Format {
	case "", "auto", "text", "json", "raw":
	default:
		return fmt.Errorf("invalid --output %s: must be text, json or raw", o.Format)
	}
	switch o.Color {
	case "", "auto", "always", "never":
	default:
		return fmt.Errorf("invalid --color %s: must be auto, always or never", o.Color)
	}
	return nil
}

// NewPrinter applies --color to the streams and returns the printer for --output.
func (o OutputOptions) NewPrinter(f *Factory, tune ...func(*output.PrinterOptions)) (output.Printer, output.Format, error) {
	if o.Color != "" {
		if err := f.IO.SetColor(o.Color); err != nil {
			return nil, "", &FlagError{Err: err}
		}
	}
	format, err := output.ParseFormat(o.Format, f.IO)
	if err != nil {
		return nil, "", &FlagError{Err: err}
	}
	po := output.PrinterOptions{Verbose: o.Verbose, Now: f.Now}
	for _, t := range tune {
		t(&po)
	}
	return output.NewPrinter(f.IO, format, po), format, nil
}

// AddConnFlags registers the shared connection flags (see profile.AddConnFlags) and
// returns a function resolving them, when the command runs, into client options:
// defaults < saved profile < environment < flags.
func AddConnFlags(cmd *cobra.Command, f *Factory) func() (mqttc.Options, error) {
	fs := cmd.Flags()
	profile.AddConnFlags(fs)
	return func() (mqttc.Options, error) {
		p, err := profile.ResolveWarn(fs, f.Getenv, "", func(msg string) {
			fmt.Fprintln(f.IO.ErrOut, "Warning: "+output.EscapeControl(msg))
		})
		if err != nil {
			return mqttc.Options{}, err
		}
		return p.Options()
	}
}

// NoArgs rejects positional arguments with a usage error.
func NoArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return FlagErrorf("unexpected argument %q: %s takes flags only", args[0], cmd.CommandPath())
	}
	return nil
}

// SetFlags returns the names of the flags given on the command line, so a
// command can tell a value given from its default.
func SetFlags(fs *pflag.FlagSet) map[string]bool {
	set := map[string]bool{}
	fs.Visit(func(fl *pflag.Flag) { set[fl.Name] = true })
	return set
}

// URLTopic returns the topic in -L/--url, or "" when there is none.
func URLTopic(fs *pflag.FlagSet) (string, error) {
	return profile.URLTopic(fs)
}
