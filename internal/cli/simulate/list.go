package simulate

import (
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/mqttx/mqttx/internal/cli/cmdutil"
	"github.com/mqttx/mqttx/internal/output"
	"github.com/mqttx/mqttx/internal/profile"
)

func newLsCmd(f *cmdutil.Factory) *cobra.Command {
	var out cmdutil.OutputOptions
	cmd := &cobra.Command{
		Use:   "ls",
		Short: "List the built-in scenarios and your own",
		Long: `List the scenarios -sc accepts: the built-ins and the YAML files in the scenarios
folder beside the config file (~/.config/mqttx/scenarios by default), where a file
NAME.yaml adds a scenario or replaces the built-in of that name.`,
		Example: "  $ mqttx simulate ls\n  $ mqttx simulate ls -o json",
		Args:    cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := out.Validate(); err != nil {
				return &cmdutil.FlagError{Err: err}
			}
			list, err := catalog(cmd.Flags(), f.Getenv).List()
			if err != nil {
				return err
			}
			p, format, err := out.NewPrinter(f)
			if err != nil {
				return err
			}
			return output.NewSimulatePrinter(f.IO, format, p, f.Now).ScenarioList(list)
		},
	}
	addConfigFlag(cmd.Flags())
	cmdutil.AddOutputFlags(cmd.Flags(), &out, "text")
	return cmd
}

func newShowCmd(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "show <name>",
		Short:   "Print a scenario's file",
		Long:    "Print the YAML file of a built-in or user scenario, to read it or to start your own from it.",
		Example: "  $ mqttx simulate show sensor\n  $ mqttx simulate show tesla > ~/.config/mqttx/scenarios/my-car.yaml",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return cmdutil.FlagErrorf("show needs one scenario name: see 'mqttx simulate ls'")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			data, _, err := catalog(cmd.Flags(), f.Getenv).Read(args[0])
			if err != nil {
				return &cmdutil.FlagError{Err: err}
			}
			_, err = f.IO.Out.Write(data)
			return err
		},
	}
	addConfigFlag(cmd.Flags())
	return cmd
}

func addConfigFlag(fs *pflag.FlagSet) {
	fs.String(profile.FlagConfig, "", "config file; its folder's scenarios/ holds your scenarios (default: $MQTTX_CONFIG, else $XDG_CONFIG_HOME/mqttx/config.yaml)")
}
