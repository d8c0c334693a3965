package cmdutil

import (
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/mqttx/mqttx/internal/profile"
)

// flagGroups are the help sections of a client command, in order, after the command's
// own flags. A flag's group is its "group" annotation (set by the settings table,
// AddOutputFlags and AddReconnectFlags).
var flagGroups = []struct{ id, title string }{
	{"", "Flags"},
	{GroupReconnect, "Reconnect flags"},
	{GroupOutput, "Output flags"},
	{profile.GroupConnection, "Connection flags"},
	{profile.GroupTLS, "TLS flags"},
	{profile.GroupWebSocket, "WebSocket flags"},
	{profile.GroupWill, "Will flags"},
	{profile.GroupMQTT5, "MQTT 5 connection flags"},
}

// Help groups of the flags cmdutil registers.
const (
	GroupOutput    = "output"
	GroupReconnect = "reconnect"
)

// usageTemplate is cobra's default with the flags in groups.
const usageTemplate = `Usage:{{if .Runnable}}
  {{.UseLine}}{{end}}{{if .HasExample}}

Examples:
{{.Example}}{{end}}{{if .HasAvailableLocalFlags}}{{groupedFlagUsages .}}{{end}}{{if .HasAvailableInheritedFlags}}

Global Flags:
{{.InheritedFlags.FlagUsages | trimTrailingWhitespaces}}{{end}}
`

// GroupFlagsInHelp makes cmd's --help list its flags in sections: its own, then
// reconnect, output, connection, TLS, WebSocket, will and MQTT 5 connection flags.
func GroupFlagsInHelp(cmd *cobra.Command) {
	cmd.SetUsageTemplate(usageTemplate)
}

// cobra's template functions are one global map, read when any help is printed: ours is
// added once, before any command can run (commands run concurrently in tests).
func init() { cobra.AddTemplateFunc("groupedFlagUsages", groupedFlagUsages) }

func groupedFlagUsages(cmd *cobra.Command) string {
	sets := map[string]*pflag.FlagSet{}
	cmd.LocalFlags().VisitAll(func(f *pflag.Flag) {
		if f.Hidden {
			return
		}
		g := ""
		if a := f.Annotations["group"]; len(a) > 0 {
			g = a[0]
		}
		if sets[g] == nil {
			sets[g] = pflag.NewFlagSet(g, pflag.ContinueOnError)
			sets[g].SortFlags = false
		}
		sets[g].AddFlag(f)
	})
	var b strings.Builder
	for _, g := range flagGroups {
		fs := sets[g.id]
		if fs == nil {
			continue
		}
		b.WriteString("\n\n" + g.title + ":\n")
		b.WriteString(strings.TrimRight(fs.FlagUsages(), " \n"))
		delete(sets, g.id)
	}
	for id, fs := range sets { // a group without a section of its own
		b.WriteString("\n\n" + id + " flags:\n")
		b.WriteString(strings.TrimRight(fs.FlagUsages(), " \n"))
	}
	return b.String()
}
