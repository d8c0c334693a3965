package cli

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mqttx/mqttx/internal/cli/cmdutil"
	"github.com/mqttx/mqttx/internal/profile"
)

// completionHelp says how to turn completion on in each shell; `mqttx completion --help`
// and README's Install section carry the same words.
const completionHelp = `Print the script that makes the shell complete mqttx's commands, flags and
values: profile names for --profile, 5 3.1.1 3.1 for -V, mqtt mqtts ws wss for -l,
text json raw for -o.

The release archives, the deb and rpm packages and the Homebrew cask install these
scripts already (they are in the archive's completions/ folder). To enable completion
for a binary you built or installed with go install:

    bash (needs the bash-completion package):
      $ echo 'source <(mqttx completion bash)' >> ~/.bashrc
    zsh:
      $ echo 'autoload -U compinit && compinit' >> ~/.zshrc   # once
      $ echo 'source <(mqttx completion zsh)' >> ~/.zshrc
    fish:
      $ mqttx completion fish > ~/.config/fish/completions/mqttx.fish
    powershell (add the line to $PROFILE to keep it):
      PS> mqttx completion powershell | Out-String | Invoke-Expression

Then start a new shell.`

// shells lists the shells `completion` writes scripts for, each with its generator.
var shells = []struct {
	name  string
	short string
	gen   func(root *cobra.Command, w io.Writer, desc bool) error
}{
	{"bash", "Print the bash completion script", func(root *cobra.Command, w io.Writer, desc bool) error {
		return root.GenBashCompletionV2(w, desc)
	}},
	{"zsh", "Print the zsh completion script", func(root *cobra.Command, w io.Writer, desc bool) error {
		if desc {
			return root.GenZshCompletion(w)
		}
		return root.GenZshCompletionNoDesc(w)
	}},
	{"fish", "Print the fish completion script", func(root *cobra.Command, w io.Writer, desc bool) error {
		return root.GenFishCompletion(w, desc)
	}},
	{"powershell", "Print the PowerShell completion script", func(root *cobra.Command, w io.Writer, desc bool) error {
		if desc {
			return root.GenPowerShellCompletionWithDesc(w)
		}
		return root.GenPowerShellCompletion(w)
	}},
}

// newCompletionCmd returns `mqttx completion <shell>`, which replaces cobra's default
// (hidden) completion command so that help can say how to enable it.
func newCompletionCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "completion <shell>",
		Short: "Print a shell completion script (bash, zsh, fish, powershell)",
		Long:  completionHelp,
		Example: `  $ source <(mqttx completion bash)
  $ mqttx completion fish > ~/.config/fish/completions/mqttx.fish`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return cmdutil.FlagErrorf("missing shell: use mqttx completion bash, zsh, fish or powershell")
			}
			return cmdutil.FlagErrorf("unknown shell %q: use bash, zsh, fish or powershell", args[0])
		},
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE:              func(*cobra.Command, []string) error { return nil },
	}
	for _, sh := range shells {
		var noDesc bool
		sub := &cobra.Command{
			Use:               sh.name,
			Short:             sh.short,
			Long:              sh.short + ".\n\n" + completionHelp,
			Args:              cmdutil.NoArgs,
			ValidArgsFunction: cobra.NoFileCompletions,
			RunE: func(c *cobra.Command, _ []string) error {
				return sh.gen(c.Root(), c.OutOrStdout(), !noDesc)
			},
		}
		sub.Flags().BoolVar(&noDesc, "no-descriptions", false, "leave flag and command descriptions out of the completions")
		cmd.AddCommand(sub)
	}
	return cmd
}

// flagValues are the values offered for a flag, by flag name, on every command that has
// it. A command's own completion function for the flag wins.
var flagValues = map[string][]cobra.Completion{
	"mqtt-version": {
		cobra.CompletionWithDesc("5", "MQTT 5.0"),
		cobra.CompletionWithDesc("3.1.1", "MQTT 3.1.1"),
		cobra.CompletionWithDesc("3.1", "MQTT 3.1"),
	},
	"protocol": {
		cobra.CompletionWithDesc("mqtt", "TCP, port 1883"),
		cobra.CompletionWithDesc("mqtts", "TLS, port 8883"),
		cobra.CompletionWithDesc("ws", "WebSocket, port 8083"),
		cobra.CompletionWithDesc("wss", "secure WebSocket, port 8084"),
	},
	"output": {
		cobra.CompletionWithDesc("text", "human-readable lines"),
		cobra.CompletionWithDesc("json", "JSON Lines"),
		cobra.CompletionWithDesc("raw", "payloads only"),
	},
	"color": {"auto", "always", "never"},
	"qos":   {"0", "1", "2"},
}

// addCompletions adds the completion command to root and registers value completions on
// every flag of the command tree that flagValues or profileNames covers. It runs after
// the tree is built, so command packages need not know about completion.
func addCompletions(root *cobra.Command, f *cmdutil.Factory) {
	root.CompletionOptions.DisableDefaultCmd = true
	root.AddCommand(newCompletionCmd())
	funcs := make(map[string]cobra.CompletionFunc, len(flagValues)+1)
	for name, values := range flagValues {
		funcs[name] = func(_ *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
			return withPrefix(values, toComplete), cobra.ShellCompDirectiveNoFileComp
		}
	}
	funcs["profile"] = func(c *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		return profileNames(c, f, toComplete), cobra.ShellCompDirectiveNoFileComp
	}
	walk(root, func(c *cobra.Command) {
		for name, fn := range funcs {
			register(c, name, fn)
		}
	})
}

// withPrefix returns the completions in list whose value starts with prefix.
func withPrefix(list []cobra.Completion, prefix string) []cobra.Completion {
	var out []cobra.Completion
	for _, c := range list {
		if strings.HasPrefix(c, prefix) {
			out = append(out, c)
		}
	}
	return out
}

// register sets fn as the completion of c's flag name when c has that flag and no
// completion for it yet.
func register(c *cobra.Command, name string, fn cobra.CompletionFunc) {
	if c.Flags().Lookup(name) == nil {
		return
	}
	if _, ok := c.GetFlagCompletionFunc(name); ok {
		return
	}
	// The only error is "already registered", checked above.
	_ = c.RegisterFlagCompletionFunc(name, fn)
}

// walk calls fn on c and every command below it.
func walk(c *cobra.Command, fn func(*cobra.Command)) {
	fn(c)
	for _, sub := range c.Commands() {
		walk(sub, fn)
	}
}

// profileNames returns the saved profiles whose names start with prefix, read from the
// config file the command would use (--config, else $MQTTX_CONFIG and the default path).
// An unreadable config completes nothing: completion must never print errors.
func profileNames(c *cobra.Command, f *cmdutil.Factory, prefix string) []cobra.Completion {
	path := profile.ConfigPath(f.Getenv)
	if fl := c.Flags().Lookup("config"); fl != nil && fl.Changed {
		path = fl.Value.String()
	}
	cfg, err := profile.LoadConfig(path)
	if err != nil {
		cobra.CompDebugln(fmt.Sprintf("profile names: %v", err), false)
		return nil
	}
	var names []cobra.Completion
	for _, n := range cfg.Names() {
		if !strings.HasPrefix(n, prefix) {
			continue
		}
		if n == cfg.Default {
			names = append(names, cobra.CompletionWithDesc(n, "default profile"))
			continue
		}
		names = append(names, n)
	}
	return names
}
